"""An extension's ``finish_sources`` shortcuts (:mod:`scantui.analysis.merge_sources`): the held profile read on
range after range, the scan intervals' means in numpy, the rows kept in base's order; each against the plain way."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from scantui.analysis import merge_sources as msr
from scantui.analysis import rollup as ru
from scantui.analysis.merge_plan import _Range


def _reference_means(rows: pl.DataFrame) -> pl.DataFrame:
    """finish_sources' polars way: each interval repeated n times, sorted, summed in order."""
    return (rows.lazy().select("src", "kind", (pl.col("gap") / pl.col("k")).repeat_by(pl.col("n").cast(pl.UInt32))
                               .alias("interval"))
            .explode("interval").group_by("src", "kind").agg(
                (pl.col("interval").sort().cum_sum().last() / pl.len()).alias("avg_scan_interval_days"),
                pl.len().cast(pl.UInt32).alias("ports_rescanned")).collect())


def _interval_rows(seed: int, n: int, sources: int, most: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({
        "src": rng.integers(0, sources, n).astype(np.uint32),
        "kind": pl.Series(rng.choice(ru.KINDS, n)).cast(ru.KIND_DTYPE),
        "gap": rng.integers(1, 90, n), "k": rng.integers(1, 30, n).astype(np.uint32), "n": rng.integers(1, most, n),
    }).unique(["src", "kind", "gap", "k"], maintain_order=True)


@pytest.mark.parametrize("seed, sources, most", [(1, 50, 3000), (2, 5000, 4), (3, 1, 200)])
def test_mean_intervals_are_the_same_floats_as_the_sorted_running_sum(seed, sources, most):
    rows = _interval_rows(seed, 4000, sources, most)
    mine = msr._mean_intervals(rows).collect().sort("src", "kind")
    theirs = _reference_means(rows).sort("src", "kind")
    assert mine.schema == theirs.schema and mine.height == theirs.height
    # bit for bit: a pairwise or reordered sum differs in the last bits for some of these
    assert (mine["avg_scan_interval_days"].to_numpy().view(np.uint64)
            == theirs["avg_scan_interval_days"].to_numpy().view(np.uint64)).all()
    assert mine.equals(theirs)


def test_mean_intervals_leave_what_they_cannot_take_to_polars():
    rows = _interval_rows(4, 50, 5, 9)
    assert msr._mean_intervals(rows.head(0)) is None
    assert msr._mean_intervals(rows.with_columns(pl.lit(0, pl.Int64).alias("n"))) is None
    assert msr._mean_intervals(rows.with_columns(pl.lit(None, pl.Int64).alias("gap"))) is None


def _profile(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    src = np.sort(rng.choice(10_000, n, replace=False)).astype(np.uint32)
    rows = pl.DataFrame({"src": src, "kind": pl.Series(["probe"] * n).cast(ru.KIND_DTYPE)})
    return pl.concat([pl.DataFrame(schema=ru.SRC_PROFILE_SCHEMA), rows], how="diagonal").with_columns(
        pl.int_ranges(pl.col("src").cast(pl.Int64) % 4).list.eval(pl.struct(
            pl.element().cast(pl.UInt16).alias("port"), pl.lit(6, pl.UInt8).alias("proto"),
            pl.lit(1, pl.UInt64).alias("packets"), pl.lit(1, pl.UInt32).alias("scans"),
            pl.lit(1, pl.UInt32).alias("dsts"))).alias("top_ports"),
        pl.col("src").alias("ports"))


@pytest.mark.parametrize("same_window", [False, True])
def test_the_held_profile_read_on_range_after_range_holds_each_ranges_rows(tmp_path, monkeypatch, same_window):
    monkeypatch.setattr(msr, "PROFILE_ROW_GROUP", 16)
    profile = _profile(300)
    profile.write_parquet(tmp_path / ru.SRC_PROFILE, row_group_size=16)
    held = msr.HeldProfile(tmp_path, same_window)
    assert held.src is not None
    reads = []
    scan = pl.scan_parquet
    monkeypatch.setattr(msr.pl, "scan_parquet", lambda *a, **k: reads.append(1) or scan(*a, **k))
    bounds = [(0, 999), (1000, 1000), (1001, 4999), (6000, 6500), (7000, 9999), (2000, 3000), (20_000, 30_000)]
    for i, (lo, hi) in enumerate(bounds):
        got = held.of(_Range(i, 3, lo, hi))
        want = profile.filter(pl.col("src").is_between(lo, hi)).select(held.columns)
        assert got.equals(want) and got.n_chunks() == 1
    assert ("schedule" in held.columns) == same_window
    # a range inside what the last read kept past its own end reads nothing more
    before = len(reads)
    held = msr.HeldProfile(tmp_path, same_window)
    held.of(_Range(0, 3, 0, 40))
    first = len(reads) - before
    held.of(_Range(1, 3, 41, 42))
    assert len(reads) - before == first


def test_rows_line_up_with_base_only_when_the_untouched_ones_are_the_held_ones():
    kind = ru.KIND_DTYPE

    def frame(pairs):
        return pl.DataFrame({"src": [p[0] for p in pairs], "kind": [p[1] for p in pairs]},
                            schema={"src": pl.UInt32(), "kind": kind})

    base = frame([(1, "probe"), (1, "udp"), (2, "probe"), (5, "icmp")])
    held = frame([(1, "probe"), (2, "probe"), (5, "icmp")])
    touched = frame([(1, "udp"), (2, "probe")])
    fresh, hit = msr._in_base_order(base, held, touched)
    assert fresh.tolist() == [False, True, True, False] and hit.tolist() == [False, True, False]
    assert msr._in_base_order(base, held.head(2), touched) is None  # (5, icmp) neither held nor touched
    assert msr._in_base_order(base.reverse(), held, touched) is None  # not in order
    assert msr._in_base_order(base, held, frame([(None, "udp")])) is None
