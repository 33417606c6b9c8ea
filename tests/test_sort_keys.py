"""A packed sort key orders rows exactly as the multi-column sort it stands for (the day tables' sorts)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from scantui.analysis.sort_keys import sort_by, sort_key

KIND = pl.Enum(["probe", "backscatter", "other_tcp", "udp", "icmp", "other"])
SCHEMA = pl.Schema({"dport": pl.UInt16(), "src": pl.UInt32(), "ts": pl.Datetime("us", "UTC"), "kind": KIND,
                    "tag": pl.UInt8(), "n": pl.Int64()})
T0 = dt.datetime(1960, 1, 1, tzinfo=dt.timezone.utc)


def _rows(draw_values):
    return st.lists(st.tuples(
        st.one_of(st.none(), st.sampled_from([0, 1, 80, 443, 65535])),
        st.one_of(st.none(), st.sampled_from([0, 7, 2**31, 2**32 - 1])),
        st.one_of(st.none(), st.integers(-3, 3).map(lambda d: T0 + dt.timedelta(days=40_000 * d))),
        st.one_of(st.none(), st.sampled_from(KIND.categories.to_list())),
        st.one_of(st.none(), st.sampled_from([0, 1, 255])),
        st.one_of(st.none(), st.sampled_from([-(2**63), -1, 0, 1, 2**63 - 1])),
    ), max_size=40)


ORDERS = [("dport", "src", "ts"), ("src", "kind", "tag"), ("kind", "dport", "src"), ("n", "tag"), ("ts",)]


@settings(max_examples=60, deadline=None)
@given(_rows(None), st.sampled_from(ORDERS), st.booleans())
def test_packed_key_sorts_as_the_columns(rows, order, nulls_last):
    df = pl.DataFrame(rows, schema=SCHEMA, orient="row").with_row_index("i")
    key = sort_key(df.schema, order, nulls_last=nulls_last)
    assert key is not None
    want = df.sort(*order, nulls_last=nulls_last, maintain_order=True)
    assert_frame_equal(df.sort(key, maintain_order=True), want)  # the same rows, ties in input order
    assert_frame_equal(sort_by(df.lazy(), order, nulls_last=nulls_last).collect(), want)


@settings(max_examples=60, deadline=None)
@given(_rows(None), st.lists(st.one_of(st.none(), st.sampled_from(["tel-1", "tel-2", "", "Z", "é", "tel-10"])),
                             min_size=40, max_size=40),
       st.sampled_from([("src", "dport", "tag", "kind", "s"), ("kind", "dport", "src", "tag", "s"), ("s", "ts")]),
       st.booleans())
def test_a_frame_sorts_with_its_strings_and_columns_without_nulls_packed(rows, strings, order, nulls_last):
    """``port_day``'s sorts: a ``String`` column packed as an enum of its sorted values, a column without a null
    (often all of them but ``dport``) without a slot for one: the same order as the columns."""
    df = pl.DataFrame(rows, schema=SCHEMA, orient="row").with_columns(
        pl.Series("s", strings[:len(rows)], pl.String)).with_row_index("i")
    enum = pl.Enum(df["s"].drop_nulls().unique().sort())
    assert sort_key(df.schema, order, enums={"s": enum}, no_nulls=("src",)) is not None  # packs (no fallback sort)
    for frame in (df, df.drop_nulls(["src", "tag", "s"])):
        want = frame.sort(*order, nulls_last=nulls_last, maintain_order=True)
        assert_frame_equal(sort_by(frame, order, nulls_last=nulls_last), want)


def test_what_does_not_pack():
    assert sort_key(pl.Schema({"a": pl.String()}), ["a"]) is None  # strings do not pack
    df = pl.DataFrame({"a": ["b", None, "a"], "b": [1, 2, 3]})
    assert sort_by(df, ["a"], nulls_last=True)["b"].to_list() == [3, 1, 2]  # by column then
    wide = pl.Schema({"a": pl.UInt64(), "b": pl.UInt64()})
    assert sort_key(wide, ["a", "b"]) is None  # 130 bits with the null slots
    assert sort_key(pl.Schema({"a": pl.UInt32(), "b": pl.UInt16()}), ["a", "b"]) is not None  # 50 bits: UInt64


@settings(max_examples=60, deadline=None)
@given(_rows(None), st.lists(st.one_of(st.none(), st.sampled_from(["tel-1", "tel-2", "", "é"])), min_size=40, max_size=40),
       st.sampled_from([("src", "dport", "kind", "s"), ("kind", "dport", "src", "tag"), ("s", "tag")]),
       st.booleans())
def test_unpacked_gives_back_the_columns_of_their_key(rows, strings, order, nulls_last):
    """Session 15: the columns read back from their ``UInt64`` key (``port_day``'s group-by on it), nulls and
    strings included, columns without a null packed without a slot; signed columns are not unpacked."""
    from scantui.analysis.sort_keys import frame_hints, unpacked

    df = pl.DataFrame(rows, schema=SCHEMA, orient="row").with_columns(pl.Series("s", strings[:len(rows)], pl.String))
    for frame in (df, df.drop_nulls(["src", "tag", "s"])):
        enums, no_nulls = frame_hints(frame, order)
        key = sort_key(frame.schema, order, nulls_last=nulls_last, enums=enums, no_nulls=no_nulls)
        columns = unpacked(pl.col("k"), frame.schema, order, nulls_last=nulls_last, enums=enums, no_nulls=no_nulls)
        assert key is not None and columns is not None
        back = frame.select(key.alias("k")).select(columns)
        assert_frame_equal(back, frame.select(order))
    assert unpacked(pl.col("k"), df.schema, ("n", "tag")) is None
