"""The cover search stops where the union of the sources left is below the cover minimum (dropping sources never
grows it), and keeps its counts up to date as sources drop instead of recounting every pair: the same covers as
the search without either, on random windows (a reference copy of it below), random botnet-like windows too."""

from __future__ import annotations

import numpy as np
import pytest

from scantui.analysis import collab_cover as cc
from scantui.analysis.collab_cover import Limits, search_cover


def _excess(sidx, dst, alive, multiple, n_src):
    """The recount at every drop, as it was (session 28 keeps the counts up to date instead)."""
    m = alive[sidx]
    s, d = sidx[m], dst[m]
    _, inv, counts = np.unique(d, return_inverse=True, return_counts=True)
    per_src = np.bincount(s, minlength=n_src)
    over = np.bincount(s, weights=(counts[inv] > multiple).astype(np.float64), minlength=n_src)
    excess = np.where(per_src > 0, over / np.maximum(per_src, 1), 0.0)
    return excess, per_src, len(counts), int(m.sum())


def exact_share(sidx, dst, alive, multiple):
    _, counts = np.unique(dst[alive[sidx]], return_counts=True)
    return float(np.mean(counts == multiple))


def reference(sidx, dst, alive0, lim):
    """search_cover as it was before the union stop and the kept counts."""
    n_src = len(alive0)
    total0 = int(np.bincount(sidx, minlength=n_src)[alive0].sum())
    if total0 < lim.cover_min or alive0.sum() < lim.min_sources:
        return None
    for multiple in range(max(1, round(total0 / lim.size)), 0, -1):
        alive = alive0.copy()
        excess, per_src, union, total = _excess(sidx, dst, alive, multiple, n_src)
        redundant = alive & (excess >= cc.EXCESS_REDUNDANT)
        if redundant.any() and (alive & ~redundant).sum() >= lim.min_sources:
            trial = alive & ~redundant
            ex2, ps2, u2, t2 = _excess(sidx, dst, trial, multiple, n_src)
            if u2 >= lim.cover_min:
                alive, excess, per_src, union, total = trial, ex2, ps2, u2, t2
        while alive.sum() >= lim.min_sources:
            worst_excess = excess[alive].max()
            if lim.valid(union, total, int(alive.sum()), multiple) and worst_excess <= cc.EXCESS_DROP and (
                    exact_share(sidx, dst, alive, multiple) >= cc.EXACT_SHARE_MIN):
                return alive, multiple
            if worst_excess <= cc.EXCESS_DROP:
                break
            tied = np.flatnonzero(alive & (excess >= worst_excess - 1e-9))
            drop = tied[np.argmin(np.abs(total - per_src[tied] - multiple * lim.size))]
            alive[drop] = False
            excess, per_src, union, total = _excess(sidx, dst, alive, multiple, n_src)
    return None


def window(rng, size):
    """Distinct (source index, destination) pairs: a partition of the telescope (maybe with a gap, doubled, or
    missing) among noise sources and partial scanners."""
    parts = []
    n = int(rng.integers(2, 6))
    cover = rng.permutation(size)[: int(size * rng.choice([1.0, 0.99, 0.98, 0.978, 0.9, 0.7]))]
    for i, chunk in enumerate(np.array_split(cover, n)):
        parts.append((np.full(len(chunk), i), chunk))
    if rng.random() < 0.3:  # a second cover
        for i, chunk in enumerate(np.array_split(rng.permutation(size), 2)):
            parts.append((np.full(len(chunk), n + i), chunk))
        n += 2
    for k in range(int(rng.integers(0, 5))):  # noise and partial scanners
        d = rng.choice(size, int(rng.integers(1, size)), replace=False)
        parts.append((np.full(len(d), n + k), d))
    sidx = np.concatenate([p[0] for p in parts]).astype(np.int64)
    dst = np.concatenate([p[1] for p in parts]).astype(np.uint32)
    pairs = np.unique((sidx.astype(np.uint64) << np.uint64(32)) | dst.astype(np.uint64))
    sidx = (pairs >> np.uint64(32)).astype(np.int64)
    _, sidx = np.unique(sidx, return_inverse=True)
    return sidx, (pairs & np.uint64(0xFFFFFFFF)).astype(np.uint32)


@pytest.mark.parametrize("seed", range(4))
def test_the_union_stop_finds_what_the_full_search_finds(seed):
    rng = np.random.default_rng(seed)
    size = 500
    lim = Limits(size, 10 / size, 15 / size, 2)
    outcomes = {"cover": 0, "none": 0}
    for _ in range(60):
        sidx, dst = window(rng, size)
        alive = np.ones(int(sidx.max()) + 1, dtype=bool)
        want, got = reference(sidx, dst, alive, lim), search_cover(sidx, dst, alive, lim)
        assert (want is None) == (got is None)
        if want is not None:
            assert want[1] == got[1] and np.array_equal(want[0], got[0])
        outcomes["none" if want is None else "cover"] += 1
    assert min(outcomes.values()) > 5  # both outcomes drawn


def botnet(rng, size):
    """Distinct (source index, destination) pairs of many sources each reaching a random share of the telescope (a
    botnet's cluster: every address reached a Poisson-like number of times), sometimes with an exact cover among them."""
    n = int(rng.integers(10, 60))
    parts = [(np.full(k, i), rng.choice(size, k, replace=False))
             for i, k in enumerate(rng.integers(1, size // 3, n).tolist())]
    if rng.random() < 0.7:
        for i, chunk in enumerate(np.array_split(rng.permutation(size), int(rng.integers(2, 5)))):
            parts.append((np.full(len(chunk), n + i), chunk))
    sidx = np.concatenate([p[0] for p in parts]).astype(np.int64)
    dst = np.concatenate([p[1] for p in parts]).astype(np.uint32)
    pairs = np.unique((sidx.astype(np.uint64) << np.uint64(32)) | dst.astype(np.uint64))
    _, sidx = np.unique((pairs >> np.uint64(32)).astype(np.int64), return_inverse=True)
    return sidx, (pairs & np.uint64(0xFFFFFFFF)).astype(np.uint32)


@pytest.mark.parametrize("seed", range(3))
def test_the_kept_counts_find_what_recounting_finds_on_botnet_windows(seed):
    rng = np.random.default_rng(100 + seed)
    size = 400
    lim = Limits(size, 8 / size, 12 / size, 2)
    outcomes, drops = {"cover": 0, "none": 0}, 0
    for _ in range(40):
        sidx, dst = botnet(rng, size)
        alive = rng.random(int(sidx.max()) + 1) < 0.9  # some sources already taken or standalone
        want, got = reference(sidx, dst, alive, lim), search_cover(sidx, dst, alive, lim)
        assert (want is None) == (got is None)
        if want is not None:
            assert want[1] == got[1] and np.array_equal(want[0], got[0])
            drops += int(alive.sum() - got[0].sum())
        outcomes["none" if want is None else "cover"] += 1
    assert min(outcomes.values()) > 3 and drops > 20  # covers found after many drops, and none found


def test_the_pairs_must_come_sorted_by_source():
    sidx, dst = np.array([1, 0], dtype=np.int64), np.array([5, 6], dtype=np.uint32)
    with pytest.raises(ValueError, match="sorted by source"):
        search_cover(sidx, dst, np.ones(2, dtype=bool), Limits(2, 0.0, 0.0, 2))
