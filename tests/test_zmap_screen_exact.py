"""The walk test's first verdict taken for every pair at once gives the per-pair answers: the day's matches
(:func:`~scantui.analysis.zmap_rollup.match_pairs`) against session 10's loop (a frozen copy below, the
oracle), and :func:`~scantui.analysis.zmap_walk.may_match_many` against :func:`may_match`'s first verdict
(a frozen copy of its start), on many cases: real simulated walks, random orders, wide and short pairs,
telescopes from tiny to large, repeated destinations, and rows that hit every early exit."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from scantui.analysis import zmap_rollup as zr
from scantui.analysis import zmap_group, zmap_link_rules, zmap_pretest
from scantui.analysis import zmap_walk as zw
from scantui.sample import zmap_walk as sim


def _old_match_pairs(groups: pl.DataFrame, telescope, day=None) -> pl.DataFrame:
    """Session 10's match_pairs: every pair through match_walk / match_span one by one."""
    rows = []
    tagged_col = groups["tagged"] if "tagged" in groups.columns else pl.Series([False] * groups.height)
    dst, ts, bounds = zr.first_hits(groups)
    for (src, dport, distinct), tagged, lo, hi in zip(
            groups.select("src", "dport", "distinct").iter_rows(), tagged_col, bounds[:-1], bounds[1:]):
        d, t = dst[lo:hi], ts[lo:hi]
        m = None if tagged else zw.match_walk(d, t, telescope, distinct=True)
        if m is None:
            m = zr.match_span(d, t, telescope, distinct=True)
        if m is not None:
            key = zr.generator_class(m.generator, m.prime) if tagged else m.generator
            rows.append((day, src, dport, m.generator, m.prime, m.hits, distinct, m.tight, m.consistent,
                         m.threads_seen, m.subshards, m.steps_per_s, bool(tagged), key))
    return pl.DataFrame(rows, schema=zr.SCHEMA, orient="row")


def _old_first_verdict(e: np.ndarray, p: int, limit: float, need: int) -> bool:
    """may_match up to its marks (session 10's code): False where it returns False there, else True."""
    if len(e) < 2 or not zmap_pretest._odd_inverses(p):
        return True
    n, h = p - 1, len(e)
    bits = n.bit_length() - 1
    top = min(math.ceil(limit) - 1, n - 1)
    k, j = zmap_link_rules._link_pairs(h)
    e = e.astype(np.int64)
    delta = (e[k] - e[k - j]) % n
    if not delta.all():
        return True
    a = np.frexp((delta & -delta).astype(np.float64))[1] - 1
    u = (delta >> a).astype(np.uint64)
    inv = u.copy()
    for _ in range(5):
        inv *= np.uint64(2) - u * inv
    inv = (inv & np.uint64(n - 1)).astype(np.int64)
    levels = [(lv, np.flatnonzero(a == lv)) for lv in range(bits) if (1 << lv) <= top]
    if sum((((top >> lv) + 1) // 2 << lv) * len(sel) for lv, sel in levels) > zmap_pretest.SPARSE_MAX:
        return True
    cs = []
    for lv, sel in levels:
        if not len(sel):
            continue
        odd = np.arange(1, (top >> lv) + 1, 2, dtype=np.int64)
        c = (inv[sel, None] * odd[None, :]) & ((1 << (bits - lv)) - 1)
        if lv:
            c = c[:, :, None] + (np.arange(1 << lv, dtype=np.int64) << (bits - lv))[None, None, :]
        cs.append(c.ravel())
    if not cs:
        return False
    return bool((np.bincount(np.concatenate(cs), minlength=n) >= need).any())


def _walk_rows(rng, p: int, count: int) -> np.ndarray:
    """Logs of hits that walk one generator in small steps (so one candidate collects many marks)."""
    n = p - 1
    out = []
    for _ in range(count):
        c = int(rng.integers(0, n // 2)) * 2 + 1
        steps = np.cumsum(rng.integers(1, 12, 32))
        out.append((steps * pow(c, -1, n) + int(rng.integers(0, n))) % n)
    return np.array(out, dtype=np.int64)


def test_may_match_many_equals_the_first_verdict_row_by_row(monkeypatch):
    monkeypatch.setattr(zmap_pretest, "DENSE_OVER", float("inf"))  # every row screened, however dense
    rng = np.random.default_rng(5)
    seen = {True: 0, False: 0}
    for p in (257, 65537):
        n = p - 1
        for limit in (1.5, 3.0, 10.744, 40.0, 300.0, 5000.0):  # the last ones over SPARSE_MAX on 65537
            rand = rng.integers(0, n, (60, 32))
            rand[:3, 5] = rand[:3, 4]  # a zero delta: True at once
            e = np.concatenate([rand, _walk_rows(rng, p, 20)])
            need = rng.choice([0, 1, 2, 3, 4, 6, 9], len(e))
            got = zmap_pretest.may_match_many(e.astype(np.uint64), p, np.full(len(e), limit), need)
            want = [_old_first_verdict(row.astype(np.uint64), p, limit, int(nd)) for row, nd in zip(e, need)]
            assert got.tolist() == want, (p, limit)
            for v in want:
                seen[v] += 1
    mixed = np.concatenate([rng.integers(0, 65536, (30, 32)), _walk_rows(rng, 65537, 10)])
    limits, need = rng.choice([2.0, 10.744, 21.5], len(mixed)), rng.choice([3, 4, 5], len(mixed))  # rows of several kinds at once
    got = zmap_pretest.may_match_many(mixed, 65537, limits, need)
    assert got.tolist() == [_old_first_verdict(r.astype(np.uint64), 65537, lm, int(nd)) for r, lm, nd in zip(mixed, limits, need)]
    assert seen[True] > 50 and seen[False] > 50
    monkeypatch.undo()  # rows of a dense kind are left to may_match (True): never a False it would not give
    e = np.concatenate([rng.integers(0, 65536, (30, 32)), _walk_rows(rng, 65537, 10)])
    assert zmap_pretest.may_match_many(e, 65537, np.full(40, 300.0), np.full(40, 4)).all()
    for limit, nd in ((10.744, 4), (40.0, 5), (80.0, 5), (80.0, 7)):
        got = zmap_pretest.may_match_many(e, 65537, np.full(40, limit), np.full(40, nd))
        assert all(g or not _old_first_verdict(r.astype(np.uint64), 65537, limit, nd) for g, r in zip(got, e))
    assert zmap_pretest.may_match_many(np.zeros((4, 32), np.int64), zmap_group.GROUPS and 4294967311, np.ones(4), np.ones(4)).all()


def _groups(rng) -> pl.DataFrame:
    """Candidate pairs as candidate_probes gives them: real 2.1.1 walks of small prefixes (seen whole and
    in part), random orders inside a prefix, wide and short pairs, repeated destinations."""
    rows = []

    def add(dst, ts, tagged):
        dst, ts = np.asarray(dst, dtype=np.int64), np.asarray(ts, dtype=np.float64)
        order = np.argsort(ts, kind="stable")
        rows.append({"src": len(rows) + 1, "dport": 443, "dst": dst[order].tolist(),
                     "ts": (ts[order] * 1e6).astype(np.int64).tolist(), "distinct": len(np.unique(dst)),
                     "tagged": tagged})

    for i, cidr in enumerate(("61.8.16.0/20", "10.1.2.0/24", "172.20.0.0/18", "100.64.7.0/25")):
        allowed = sim.Allowed((cidr,), (), radix=20)
        group = sim.group_for(allowed.count, version=2)
        g = pow(group.known_root, 1001 + 7 * i, group.prime)
        scan = sim.Scan(g, 77 + i, allowed, group, shard=0, shards=1, threads=1 + i % 2, version=2)
        ts, dst, _ = sim.probes(scan, rate=300.0, seed=i, limit=700)
        add(dst, ts, True)
        keep = rng.random(len(dst)) < 0.4  # a telescope that sees part of the prefix
        add(dst[keep], ts[keep], True)
        m = min(400, len(dst))
        add(rng.permutation(dst)[:m], np.sort(rng.random(m)) * 500, True)  # the prefix in random order
    base = int(np.uint32(0x2C010000))
    for size in (40, 31, 33, 120, 2000, 9000):  # random pairs, some below SPAN_MIN_HITS
        d = base + rng.integers(0, 1 << int(rng.integers(6, 17)), size)
        add(np.concatenate([d, d[:5]]), np.sort(rng.random(size + 5)) * 900, True)  # (repeats: first hits only)
    add(rng.integers(0, 1 << 32, 200), np.sort(rng.random(200)) * 100, True)  # wider than a /16: refused
    add(base + rng.integers(0, 1 << 14, 64), np.sort(rng.random(64)) * 100, False)  # untagged: match_walk first
    return pl.DataFrame(rows).with_columns(pl.col("src").cast(pl.UInt32), pl.col("dport").cast(pl.UInt16),
                                           pl.col("dst").cast(pl.List(pl.UInt32)), pl.col("distinct").cast(pl.UInt32))


def test_match_pairs_equals_the_per_pair_loop():
    rng = np.random.default_rng(11)
    groups = _groups(rng)
    matched = 0
    for telescope in (1500, 61_000, 0):
        new = zr.match_pairs(groups, telescope)
        old = _old_match_pairs(groups, telescope)
        assert new.equals(old), telescope
        matched += new.height
        dst, _, bounds = zr.first_hits(groups)
        screen = zr.span_screen(dst, bounds, telescope)
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):  # False only where match_span is None
            if not screen[i]:
                assert zr.match_span(dst[lo:hi], np.zeros(hi - lo), telescope, distinct=True) is None
        assert not screen.all() or telescope == 0
    assert matched >= 4  # the walks are found (and their rows equal)
    ranges = [(int(np.uint32(0x3D081000)), int(np.uint32(0x3D082000)))]  # a telescope of ranges: one by one
    assert zr.match_pairs(groups, ranges).equals(_old_match_pairs(groups, ranges))
