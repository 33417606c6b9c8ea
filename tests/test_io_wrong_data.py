"""Inputs that used to be read as wrong data with exit 0: each is refused with its position now.

Timestamps that would wrap around (pcapng ``if_tsresol`` 10^0 with a huge
value), timestamp fractions of a second or more (classic pcap, every reading
path), a pcapng section of an unknown major version, and nulls in required
columns of canonical-typed Parquet (the rule the loosely typed path applies).
"""

from __future__ import annotations

import polars as pl
import pytest

from clihelp import run
from canonical import make_canonical
from pcapbuild import NgWriter, Rec, ether, ipv4, tcp, udp, write_pcap
from scantui.errors import InputError
from scantui.io.loader import open_inputs
from scantui.io.options import LoadOptions
from scantui.io.pcap import iter_pcap_batches
from scantui.io.pcapng import iter_pcapng_batches
from scantui.io.stats import LoadStats

T0 = 1_700_000_000


def read(path, reader=None, **kw) -> pl.DataFrame:
    reader = reader or (iter_pcapng_batches if str(path).endswith(".pcapng") else iter_pcap_batches)
    return pl.concat(list(reader(path, LoadOptions(**kw), LoadStats())))


def syn(i: int = 0) -> bytes:
    return ether(ipv4(src=i + 1, payload=tcp()))


# -- pcapng: timestamps that would wrap int64 ----------------------------------------------------


@pytest.mark.parametrize("packet_block", ["epb", "pb"])  # EPBs are found in bulk, PBs read one by one
def test_pcapng_seconds_resolution_huge_timestamp_is_refused(tmp_path, packet_block):
    w = NgWriter().shb().idb(tsresol=0)
    for i in range(40):
        getattr(w, packet_block)(syn(i), T0 + i)
    getattr(w, packet_block)(syn(), 1 << 62)  # about 1.5e11 years
    path = w.write(tmp_path / "huge.pcapng")
    with pytest.raises(InputError) as e:
        read(path)
    pos = len(NgWriter().shb().idb(tsresol=0).bytes()) + 40 * (len(w.parts[2]))
    assert e.value.where == f"block 43 at byte {pos}"
    assert e.value.why.startswith(f"bad block: timestamp {1 << 62} is out of range")


def test_pcapng_seconds_resolution_in_range_is_read(tmp_path):
    path = NgWriter().shb().idb(tsresol=0).epb(syn(), T0).pb(syn(), T0 + 1).write(tmp_path / "ok.pcapng")
    assert read(path)["ts"].dt.epoch("s").to_list() == [T0, T0 + 1]


def test_pcapng_huge_timestamp_exits_2_in_the_cli(tmp_path, capsys):
    path = NgWriter().shb().idb(tsresol=0).epb(syn(), T0).epb(syn(), 1 << 62).write(tmp_path / "huge.pcapng")
    code, out, err = run(["info", str(path)], capsys)
    assert code == 2
    assert err.startswith(f"scantui: error: {path}: block 4 at byte ")
    assert "out of range" in err and out == ""


# -- pcapng: a section of an unknown major version ------------------------------------------------


def test_pcapng_major_version_2_section_is_refused(tmp_path):
    first = NgWriter().shb().idb().epb(syn(), T0 * 10**6)
    pos = len(first.bytes())
    path = first.shb(version=(2, 0)).idb().epb(syn(), T0 * 10**6).write(tmp_path / "v2.pcapng")
    with pytest.raises(InputError) as e:
        read(path)
    assert (e.value.where, e.value.why) == (f"block 4 at byte {pos}", "unsupported pcapng version 2.0 (only 1.x is read)")


def test_pcapng_major_version_2_at_the_start_is_refused(tmp_path):
    path = NgWriter().shb(version=(2, 1)).idb().epb(syn(), T0 * 10**6).write(tmp_path / "v2.pcapng")
    with pytest.raises(InputError, match=r"unsupported pcapng version 2\.1") as e:
        read(path)
    assert e.value.where == "block 1 at byte 0"


def test_pcapng_minor_version_is_read(tmp_path):
    path = NgWriter().shb(version=(1, 2)).idb().epb(syn(), T0 * 10**6).write(tmp_path / "v12.pcapng")
    assert read(path).height == 1


# -- classic pcap: a timestamp fraction of a second or more, on every path ------------------------


def _records(n: int, bad: int, frac: int, sizes) -> list[Rec]:
    return [Rec(ether(ipv4(src=i + 1, payload=tcp() if sizes(i) == 0 else udp(payload=b"x" * sizes(i)))),
                ts=(T0 + i, frac if i == bad else 5)) for i in range(n)]


@pytest.mark.parametrize("nanos", [False, True])
@pytest.mark.parametrize("path_kind, n, bad, sizes", [
    ("one record at a time", 2, 1, lambda i: 0),
    ("fixed stride", 200, 150, lambda i: 0),  # equal records: found by stride
    ("candidates", 200, 150, lambda i: i % 7 + 1),  # mixed sizes: found by candidate search
])
def test_pcap_fraction_of_a_second_or_more_is_refused(tmp_path, nanos, path_kind, n, bad, sizes):
    limit = 10**9 if nanos else 10**6
    path = write_pcap(tmp_path / "frac.pcap", _records(n, bad, limit, sizes), nanos=nanos)
    with pytest.raises(InputError) as e:
        read(path)
    assert e.value.where.startswith(f"record {bad + 1} at byte ")
    unit = "nanoseconds" if nanos else "microseconds"
    assert e.value.why == f"bad record: timestamp fraction {limit} is not below {limit} ({unit})"


def test_pcap_fraction_just_below_a_second_is_read(tmp_path):
    path = write_pcap(tmp_path / "ok.pcap", _records(3, 1, 999_999, lambda i: 0))
    assert read(path)["ts"].dt.epoch("us").to_list() == [T0 * 10**6 + 5, (T0 + 1) * 10**6 + 999_999, (T0 + 2) * 10**6 + 5]


# -- Parquet: nulls in required columns, one rule for every typing ----------------------------------


def _with_null_src(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.when(pl.int_range(pl.len()).is_in([4, 9, 11])).then(None).otherwise(pl.col("src")).alias("src"))


@pytest.mark.parametrize("typing", ["canonical", "loose"])
def test_parquet_null_src_is_refused_with_its_row(tmp_path, typing, capsys):
    df = _with_null_src(make_canonical(20))
    if typing == "loose":
        df = df.with_columns(pl.col("src").cast(pl.Int64))
    path = tmp_path / "nulls.parquet"
    df.write_parquet(path)
    code, out, err = run(["info", str(path)], capsys)
    assert (code, err) == (2, f"scantui: error: {path}: row 5: missing value in column src\n")


@pytest.mark.parametrize("typing", ["canonical", "loose"])
def test_parquet_null_src_skipped_and_counted_with_skip_bad_rows(tmp_path, typing):
    df = _with_null_src(make_canonical(20))
    if typing == "loose":
        df = df.with_columns(pl.col("src").cast(pl.Int64))
    path = tmp_path / "nulls.parquet"
    df.write_parquet(path)
    dataset = open_inputs([path], LoadOptions(skip_bad_rows=True))
    assert dataset.lf.collect().height == 17
    assert dataset.stats.skipped() == {"bad_row": 3}


def _ts_before_year_1(df: pl.DataFrame, typing: str) -> pl.DataFrame:
    """Row 3's time in year -976 (a Datetime), or -9e10 epoch seconds (loose: year -882)."""
    if typing == "canonical":
        bad = pl.col("ts").dt.offset_by("-3000y")
    else:
        df, bad = df.with_columns(pl.col("ts").dt.epoch("s")), pl.lit(-9 * 10**10)
    return df.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(bad).otherwise(pl.col("ts")).alias("ts"))


@pytest.mark.parametrize("typing", ["canonical", "loose"])
def test_parquet_time_outside_years_1_to_9999_is_a_bad_value(tmp_path, typing, capsys):
    """It was 'internal error: ValueError: year -976 is out of range', exit 70, when the rollup listed the days."""
    path = tmp_path / "old.parquet"
    _ts_before_year_1(make_canonical(20), typing).write_parquet(path)
    code, out, err = run(["info", str(path)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"scantui: error: {path}: row 3: bad value ") and "in column ts" in err
    dataset = open_inputs([path], LoadOptions(skip_bad_rows=True))
    assert dataset.lf.collect().height == 19 and dataset.stats.skipped() == {"bad_row": 1}


def test_canonical_parquet_null_in_the_second_file_names_that_file(tmp_path):
    good, bad = tmp_path / "a.parquet", tmp_path / "b.parquet"
    make_canonical(20).write_parquet(good)
    make_canonical(20).with_columns(pl.when(pl.int_range(pl.len()) == 6).then(None).otherwise(pl.col("ts")).alias("ts")).write_parquet(bad)
    with pytest.raises(InputError) as e:
        open_inputs([good, bad]).lf
    assert (e.value.path, e.value.where, e.value.why) == (str(bad), "row 7", "missing value in column ts")
