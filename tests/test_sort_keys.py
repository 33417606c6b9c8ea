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


def test_what_does_not_pack():
    assert sort_key(pl.Schema({"a": pl.String()}), ["a"]) is None  # strings do not pack
    df = pl.DataFrame({"a": ["b", None, "a"], "b": [1, 2, 3]})
    assert sort_by(df, ["a"], nulls_last=True)["b"].to_list() == [3, 1, 2]  # by column then
    wide = pl.Schema({"a": pl.UInt64(), "b": pl.UInt64()})
    assert sort_key(wide, ["a", "b"]) is None  # 130 bits with the null slots
    assert sort_key(pl.Schema({"a": pl.UInt32(), "b": pl.UInt16()}), ["a", "b"]) is not None  # 50 bits: UInt64
