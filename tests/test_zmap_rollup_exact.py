"""The rollup's per-day ZMap walk step done cheaply gives the plain way's answers: the pre-screen (two
group-bys) against one group-by of every SYN, :func:`~scantui.analysis.zmap_rollup.first_hits` (one sort of
every pair's probes) against ``np.unique`` per pair, and the kept ``_needed`` against its computation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from scantui.analysis import zmap_rollup as zr
from scantui.analysis import zmap_walk as zw
from scantui.io.schema import conform


def _one_group_by(packets: pl.LazyFrame) -> pl.DataFrame:
    """The pre-screen as one group-by of every SYN probe (what it was before session 9)."""
    header = zr.zmap_header()
    return (packets.filter(zr._syn())
            .group_by("src", "dport")
            .agg(pl.len().alias("probes"), header.sum().alias("header"), (header & zr._tag()).sum().alias("tag"))
            .filter((pl.col("header") >= zr.MIN_HITS) & (pl.col("header") >= zr.HEADER_SHARE * pl.col("probes")))
            .select("src", "dport", "probes", (2 * pl.col("tag") > pl.col("header")).alias("tagged"))
            .collect())


def _packets(seed: int, n: int) -> pl.LazyFrame:
    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
    src = rng.integers(1, 40, n)
    dport = rng.choice([22, 80, 443], n).astype(object)
    dport[rng.random(n) < 0.03] = None  # a null port groups (and joins) as its own key
    # ZMap's header on ~92 % of a probe's fields (pairs on both sides of the 90 % share), none from sources
    # below 5; the IP-ID tag on most probes of even sources
    window = np.where((src >= 5) & (rng.random(n) < 0.97), 65535, 1024)
    return conform(pl.DataFrame({
        "ts": [t0 + dt.timedelta(milliseconds=int(x)) for x in np.sort(rng.integers(0, 86_400_000, n))],
        "src": src, "dst": rng.integers(0, 300, n), "proto": 6, "dport": list(dport),
        "tcp_flags": rng.choice([2] * 20 + [18, 16], n), "tcp_window": window,
        "tcp_mss": [None if x < 0.3 else 1460 if x < 0.98 else 536 for x in rng.random(n)],
        "ip_id": np.where((src % 2 == 0) & (rng.random(n) < 0.8), 54321, 7),
        "ip_len": rng.choice([44] * 30 + [80], n),
    }).lazy())


def test_prescreen_equals_one_group_by_of_every_syn():
    for seed in range(6):
        lf = _packets(seed, 4000)
        new = zr.prescreen(lf).collect().sort("src", "dport", nulls_last=True)
        old = _one_group_by(lf).sort("src", "dport", nulls_last=True)
        assert new.height > 10 and new["dport"].null_count() and new["tagged"].any() and old.height < 117  # some pairs kept, some dropped
        assert new.equals(old), seed


def test_first_hits_are_each_pairs_first_probes_in_time_order(monkeypatch):
    monkeypatch.setattr(zr, "MAX_TEST_HITS", 50)  # some pairs have more distinct destinations than that
    lf = _packets(7, 6000)
    groups = zr.candidate_probes(lf, zr.prescreen(lf).collect())
    dst, ts, bounds = zr.first_hits(groups)
    assert len(bounds) == groups.height + 1 and groups.height > 10
    capped = 0
    for (d, t), lo, hi in zip(groups.select("dst", "ts").iter_rows(), bounds[:-1], bounds[1:]):
        d, t = np.asarray(d, dtype=np.int64), np.asarray(t, dtype=np.float64) / 1e6
        first = np.sort(np.unique(d, return_index=True)[1])[:zr.MAX_TEST_HITS]
        capped += len(np.unique(d)) > zr.MAX_TEST_HITS
        assert np.array_equal(dst[lo:hi], d[first]) and np.array_equal(ts[lo:hi], t[first])
    assert capped


def test_needed_kept_equals_computed():
    for links, p0, cands, slope in ((31, 16 * 10 / 61000, 32768, 1.0), (31, 16 * 10 / 61000, 32768, 0.1),
                                    (11, 0.3, 1_109_646, 0.1), (31, 2.0, 128, 1.0)):
        assert zw._needed(links, p0, cands, slope) == zw._needed.__wrapped__(links, p0, cands, slope)
