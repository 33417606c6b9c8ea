"""The walk test's second stage (:func:`scantui.analysis.zmap_links.passing`) keeps exactly the candidates the
dense links (``zmap_walk._links`` plus ``_consistent`` on every candidate) keep: through tiny telescopes (the
tight distance a seventh of the cycle or more: only consistent links can match) and big ones, on walks that
match and orders that do not, in the Internet-wide group and the small ones; and a tiny view of a real walk
is decided in a fraction of the dense time's work (the rollup's day of 71 destinations)."""

from __future__ import annotations

import numpy as np
import pytest

from scantui.analysis import zmap_links as zl
from scantui.analysis import zmap_walk as zw

P32 = 2**32 + 15


def _dense(e, ts, inv, n, limit, need_tight, need_slope) -> list[int]:
    E = zw.mulmod(e[:, None], inv[None, :], n)
    dmin, _, dt = zw._links(E, ts, n, zw.WINDOW)
    tight = dmin < limit
    best, _ = zw._consistent(dmin.astype(np.float64), dt, tight)
    return np.flatnonzero((tight.sum(axis=0) >= need_tight) | (best >= need_slope)).tolist()


def _sparse(e, ts, inv, n, limit, need_tight, need_slope) -> list[int]:
    return sorted(zl.passing(lambda k, cols: zw.mulmod(e[k], inv[cols], n), len(e), ts, n, limit, need_tight,
                             need_slope, len(inv), window=zw.WINDOW, tol=zw.SLOPE_TOL).tolist())


def _hits(rng, n, h, inv, walk: bool, threads: int):
    """h distinct logs and rising times: random, or *threads* threads of the walk of the candidate whose
    inverse log is ``inv[0]`` (its exponents E = e * inv[0] climb at one rate per thread)."""
    if not walk:
        return rng.choice(n, size=h, replace=False).astype(np.uint64), np.sort(rng.uniform(0, 60, h))
    log_g = pow(int(inv[0]), -1, n)
    t = np.sort(rng.uniform(0, 60, h))
    thread = rng.integers(0, threads, h)
    base = rng.integers(0, n, threads)
    E = (base[thread] + (t * float(rng.uniform(1e3, 1e6))).astype(np.int64)) % n
    e = np.array([int(x) * log_g % n for x in E], dtype=np.uint64)
    keep = np.sort(np.unique(e, return_index=True)[1])
    return e[keep], t[keep]


@pytest.mark.parametrize("p,cases", [(P32, 24), (65537, 16), (257, 40)])
def test_passing_keeps_what_the_dense_links_keep(p, cases):
    n = p - 1
    cand = zw.candidates(p)
    rng = np.random.default_rng(p % 1000)
    seen_pass, seen_tiny = 0, 0
    for i in range(cases):
        pick = rng.choice(len(cand.inv_log), size=min(3000, len(cand.inv_log)), replace=False)
        inv = cand.inv_log[pick]
        h = int(rng.integers(3, zw.MAX_HITS + 1))
        e, ts = _hits(rng, n, h, inv, walk=i % 2 == 0, threads=int(rng.integers(1, 4)))
        m_tele = int(rng.choice([8, 40, 71, 150, 600, 4096, 65536]))
        limit = zw.TIGHT * n / m_tele
        need_tight = int(rng.integers(2, len(e) + 2))
        need_slope = int(rng.integers(2, max(3, len(e) // 2)))
        want = _dense(e, ts, inv, n, limit, need_tight, need_slope)
        assert _sparse(e, ts, inv, n, limit, need_tight, need_slope) == want, (i, len(e), m_tele, need_tight, need_slope)
        seen_pass += bool(want)
        seen_tiny += m_tele <= 150 and bool(want)
    assert seen_pass >= cases // 4 and seen_tiny >= 1


def test_fits_is_the_consistent_count_reaching_k():
    rng = np.random.default_rng(3)
    rates = rng.lognormal(0, 0.4, size=(18, 500))
    rates[rng.random(rates.shape) < 0.2] = np.nan
    rates[:, 7] = rates[:, 3]  # a tie
    best, _ = zw._consistent(np.nan_to_num(rates, nan=1.0), np.ones_like(rates), ~np.isnan(rates))
    for k in range(0, 20):
        assert (zl.fits(rates.T, k, zw.SLOPE_TOL) == (best >= k)).all(), k


def test_a_tiny_telescope_walk_matches_as_before():
    """The TUI detail test's scan (2 threads, one day's 31 hits) with the rollup's telescope of 71 distinct
    destinations: the same generator and the same 48 matching candidates as the dense stage gave."""
    from scantui.sample import zmap_walk as sim

    scan = sim.Scan.from_words(0x5EED, 0xF00D, sim.Allowed(), threads=2)
    ts, dst, _ = sim.probes(scan, rate=40_000.0, keep=sim.cidr_addresses("44.1.0.0/16"), limit=1_000_000, seed=1)
    m = zw.match_walk(dst, ts, 71)
    assert (m.generator, m.hits, m.tight, m.consistent, m.threads_seen, m.subshards, m.candidates) == (
        scan.generator, 31, 29, 29, 2, 2, 48)
