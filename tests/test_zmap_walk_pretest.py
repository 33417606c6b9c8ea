"""The walk test's sparse pre-test (:func:`scantui.analysis.zmap_walk.may_match`): in the 2-power groups of
the prefix test (257, 65537) it says no exactly when no candidate generator's links pass stage 2 (checked
against the dense links of every candidate), so the rollup's answers do not change; on the sample's pairs
it drops the IP-ID-tagged ones that do not walk and keeps the planted ZMap 4 walk."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json

import numpy as np
import polars as pl
import pytest

from scantui.analysis import zmap_rollup as zr
from scantui.analysis import zmap_walk as zw
from clihelp import SAMPLE, SAMPLE_DIR


def _dense_any(e, ts, p, limit, need_tight, need_slope) -> bool:
    """Stage 2 of match_walk on every candidate (not only stage 1's survivors): does any pass?"""
    n = p - 1
    cand = zw.candidates(p)
    E = zw.mulmod(e[:, None], cand.inv_log[None, :], n)
    dmin, _, dts = zw._links(E, ts, n, zw.WINDOW)
    tight = dmin < limit
    best, _ = zw._consistent(dmin.astype(np.float64), dts, tight)
    return bool(((tight.sum(axis=0) >= need_tight) | (best >= need_slope)).any())


def _hits(rng, n, h, walk_g=None):
    """h distinct logs in [0, n) (random, or steps along one thread of a walk) and rising times."""
    if walk_g is None:
        return rng.choice(n, size=h, replace=False).astype(np.uint64), np.cumsum(rng.uniform(0.01, 1.0, size=h))
    steps = np.cumsum(rng.integers(1, 6, size=h))  # one thread at a steady rate: consistent links
    e = (int(rng.integers(0, n)) + walk_g * steps) % n
    keep = np.sort(np.unique(e, return_index=True)[1])
    return e[keep].astype(np.uint64), 0.1 * steps[keep]


@pytest.mark.parametrize("p", [257, 65537])
def test_the_sparse_links_say_no_exactly_when_the_dense_ones_do(p):
    rng = np.random.default_rng(p)
    n = p - 1
    seen = set()
    cases = 120 if p == 257 else 6
    for i in range(cases):
        h = int(rng.integers(2, 33))
        walk = int(rng.integers(1, 8)) * (1 + 2 * int(rng.integers(0, n // 2))) % n if i % 3 == 0 else None
        e, ts = _hits(rng, n, h, walk)
        limit = float(rng.choice([4.0, 9.5, 10.0, 40.0]) if p == 257 else rng.choice([160.0, 162.66, 640.0]))
        need_tight, need_slope = int(rng.integers(2, 40)), int(rng.integers(2, 10))
        want = _dense_any(e, ts, p, limit, need_tight, need_slope)
        assert zw.may_match(e, ts, p, limit, need_tight, need_slope) == want, (i, h, limit, need_tight, need_slope)
        seen.add(want)
    assert seen == {True, False}


def test_other_groups_are_left_to_the_full_test():
    e = np.array([5, 9, 1000], dtype=np.uint64)
    assert zw.may_match(e, np.array([0.0, 1.0, 2.0]), 4294967311, 1e6, 2, 2)


def test_the_samples_pairs_of_one_day_keep_their_answers(monkeypatch):
    """One day of the sample with the planted ZMap 4 walk (ZMW-01): every pair the prefix test takes; a pair
    the pre-test drops has no match by the full test; the walk's shards pass it and match."""
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())
    (zmw,) = [c for c in truth["collab_scans"] if c["id"] == "ZMW-01"]
    day = dt.date.fromisoformat(zmw["day"])
    lf = pl.scan_parquet(SAMPLE).filter(pl.col("ts").dt.date() == day)
    groups = zr.candidate_probes(lf, zr.prescreen(lf).collect())
    said = []
    real = zw.may_match
    monkeypatch.setattr(zw, "may_match", lambda *a: said.append(real(*a)) or said[-1])
    dropped, kept, tagged_dropped = 0, set(), 0
    for src, dst, ts, tagged in groups.select("src", "dst", "ts", "tagged").iter_rows():
        dst, ts = np.asarray(dst, dtype=np.int64), np.asarray(ts, dtype=np.float64) / 1e6
        first = np.sort(np.unique(dst, return_index=True)[1])[:zr.MAX_TEST_HITS]
        said.clear()
        m = zr.match_span(dst[first], ts[first], 4096)
        if said == [False]:
            assert m is None
            full = zw.match_walk(dst[first], ts[first], 4096, zr.span_hypothesis(dst[first]), pretest=False)
            assert full is None, src
            dropped += 1
            tagged_dropped += bool(tagged)
        elif m is not None:
            kept.add(src)
    shards = {int(ipaddress.ip_address(s)) for s in zmw["sources"]}
    assert kept == shards
    assert tagged_dropped >= 20 and dropped >= tagged_dropped
