"""Condition 4 says the members reach every address N times: a botnet whose sources reach the telescope at random
(each address a Poisson number of times) passes the union and Σ bounds once Σ is many times the telescope, and was
reported as N-fold covers in every window kind; it is not a cover (``collab_cover.EXACT_SHARE_MIN``), while exact
N-fold covers among such noise still are."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from scantui.analysis import collab as cb
from scantui.analysis import collab_cover as cc

T = 5000
T0 = int(dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc).timestamp() * 1e6)
DAY = 86_400 * 10**6
QUERIES = {"burst": cb.CollabQuery(bursts=True, by=("asn",)), "day": cb.CollabQuery(by=("asn",)),
           "24h": cb.CollabQuery(window_us=cb.parse_window("24h"), by=("asn",))}


def probes(src, dst, ts) -> pl.DataFrame:
    n = len(src)
    return pl.DataFrame({
        "ts": pl.Series(np.asarray(ts, dtype=np.int64)).cast(pl.Datetime("us", "UTC")),
        "src": np.asarray(src, dtype=np.uint32), "dst": (10**8 + np.asarray(dst)).astype(np.uint32),
        "proto": pl.Series([6] * n, dtype=pl.UInt8), "sport": pl.Series([40000] * n, dtype=pl.UInt16),
        "dport": pl.Series([23] * n, dtype=pl.UInt16), "tcp_flags": pl.Series([2] * n, dtype=pl.UInt8),
        "asn": pl.Series([4134] * n, dtype=pl.UInt32)})


def botnet(rng, bots: int, draws: int, days: int, first: int = 1) -> pl.DataFrame:
    """*bots* sources of one AS, each *draws* probes at random times over *days* to random addresses."""
    n = bots * draws
    return probes(np.repeat(np.arange(first, first + bots) * 977 + 10**9, draws), rng.integers(0, T, n),
                  T0 + rng.integers(0, days * DAY, n))


@pytest.mark.parametrize("window", sorted(QUERIES))
def test_a_botnet_reaching_addresses_at_random_is_no_cover(window, monkeypatch):
    lf = botnet(np.random.default_rng(1), 200, 1500, 2).sort("ts").lazy()
    assert cb.collab_scans(lf, telescope_size=T, query=QUERIES[window]).candidates == []
    # without the condition, the same sources are reported as N-fold covers (what the test guards)
    monkeypatch.setattr(cc, "EXACT_SHARE_MIN", 0.0)
    found = cb.collab_scans(lf, telescope_size=T, query=QUERIES[window]).candidates
    assert found and all(c.cover_multiple >= 4 and c.overlap > 0.7 for c in found)


@pytest.mark.parametrize("folds", [2, 3])
def test_exact_covers_among_random_sources_are_still_found(folds):
    rng = np.random.default_rng(folds)
    parts = []
    for run in range(folds):  # each run: 4 members splitting the telescope, in parallel over 3 hours of day 1
        for m, chunk in enumerate(np.array_split(rng.permutation(T), 4)):
            parts.append(probes(np.full(len(chunk), 2 * 10**9 + 16 * run + m), chunk,
                                T0 + DAY + rng.integers(0, 3 * 3600 * 10**6, len(chunk))))
    noise = botnet(rng, 3, 1500, 2)
    lf = pl.concat([*parts, noise]).sort("ts").lazy()
    members = {int(s) for p in parts for s in p["src"].unique()}
    for window, query in QUERIES.items():
        found = cb.collab_scans(lf, telescope_size=T, query=query).candidates
        covered = {s for c in found for s in c.sources}
        assert covered == members, window
        assert all(c.union == T and c.total == c.cover_multiple * T for c in found), window
        assert sum(c.cover_multiple for c in found) == folds, window


def test_the_search_rejects_random_multisets_and_keeps_exact_ones():
    rng = np.random.default_rng(7)
    lim = cc.Limits(T, 1000 / 61000, 1500 / 61000, 2)
    bots, draws = 30, 3000
    src = np.repeat(np.arange(bots, dtype=np.uint32) + 1, draws)
    t = np.sort(rng.integers(0, 28 * DAY, bots * draws))
    assert cc.scans_in_window(t, src, rng.integers(0, T, bots * draws).astype(np.uint32), lim) == []
    exact = np.concatenate([rng.permutation(T), rng.permutation(T)]).astype(np.uint32)  # 2 runs, 5 members each
    src = np.repeat(np.arange(10, dtype=np.uint32) + 1, T // 5)
    (scan,) = cc.scans_in_window(np.sort(rng.integers(0, DAY, 2 * T)), src, exact, lim)
    assert scan["cover_multiple"] == 2 and len(scan["sources"]) == 10 and scan["union"] == T


def test_packets_sorted_by_source_and_destination_give_the_same_scans():
    """``window_packets`` hands each window sorted by (source, destination, time): the pairs' sort is skipped."""
    rng = np.random.default_rng(3)
    lim = cc.Limits(T, 1000 / 61000, 1500 / 61000, 2)
    dst = np.concatenate([rng.permutation(T), rng.permutation(T), rng.integers(0, T, 3000),
                          rng.integers(0, T, 2000)]).astype(np.uint32)  # a 2-fold cover, noise, repeats
    src = np.concatenate([np.repeat(np.arange(1, 11, dtype=np.uint32), T // 5),
                          np.full(3000, 20, dtype=np.uint32), np.repeat(np.arange(1, 5, dtype=np.uint32), 500)])
    t = rng.integers(0, DAY, len(src))
    order = np.lexsort((t, dst, src))
    want = cc.scans_in_window(t, src, dst, lim)
    got = cc.scans_in_window(t[order], src[order], dst[order], lim, presorted=True)
    assert want and got == want
