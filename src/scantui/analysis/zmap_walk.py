"""ZMap recognised from the order it visits addresses (the multiplicative-group walk).

ZMap >= 4.1 randomises the IP-ID, so :mod:`scantui.analysis.fingerprints`' IP-ID rule misses it.
Every ZMap walks the allowed targets as x, x*g, x*g**2, ... mod p (``../shared/docs/zmap4.md``;
the simulator :mod:`scantui.sample.zmap_walk` states the walk exactly, with what was checked).
This module inverts one source's probes:

1. Each destination -> its index in ZMap's constraint order under a hypothesis (allowlist,
   blocklist, radix /18 for >= 4.1 or /20 before; default: the whole Internet minus ZMap's
   shipped blocklist) -> element x = index + 1 -> e = log_r(x) mod p - 1 for the group's known
   root r (Pohlig-Hellman: p - 1 = 2 * 3**2 * 5 * 131 * 364289 for p = 2**32 + 15).
2. For every candidate generator g at once (>= 4.0 draws g < 2**22: the primitive roots below
   2**22, 1,109,646 of them for p = 2**32 + 15; all primitive roots in the small groups), the
   exponents along g's walk are E = e * log_r(g)**-1 mod p - 1. A thread walks E upwards; two hits
   of one thread are D = E_k - E_l steps apart, proportional to the time between them.
3. Each hit is linked to the earlier hit (among the last :data:`WINDOW`) with the smallest D. A
   link is *tight* when D < :data:`TIGHT` * (p - 1) / M, M the telescope's allowed addresses (a
   thread meets the telescope every (p - 1) / M steps on average; a wrong g makes D uniform). Tight
   links are *consistent* when their steps per second agree within :data:`SLOPE_TOL`.
4. g matches when the tight links, or the consistent ones, are more than chance allows for that
   many candidates: the counts required come from the binomial bound
   ``candidates * P(Bin(links, WINDOW*TIGHT/M) >= k) < FALSE_RATE`` (and the same times
   ``(2*SLOPE_TOL)**(k-1)`` for consistent links). Several matching g: the one with the smallest
   steps (a power of the true g walks in multiples of its steps). Over the candidates a first pass
   leaves (all of them through a tiny telescope), steps 3-4 run in :mod:`scantui.analysis.zmap_links`,
   which drops a candidate as soon as its links so far cannot reach those counts.

The recovered g is shared by every shard of one scan (one seed), so it ties sources together.
From the tight links: the threads seen (chains of linked hits) and, with two or more, the
subshard count S = round((p - 1) / spacing of the chains); 2.1.1's interleaved threads walk g's
exponents in turn, so they read as one thread of g (checked on a real two-thread capture). Limits: one port per scan (the
multi-port element packs the port in its low bits, in an order the telescope cannot know);
subshards fewer than about M / TIGHT (else hits of other subshards are as near as a thread's
own); ZMap <= 3.x draws a full-size g, found here only in groups small enough to try every root
(e.g. 2.1.1 over a /16 or less). Forks that keep ZMap's iterator match too: "ZMap-family walk".

The parts live beside it: :mod:`~scantui.analysis.zmap_group` (the groups, their arithmetic and discrete
logs, the candidate generators), :mod:`~scantui.analysis.zmap_targets` (step 1's hypothesis and index
map), :mod:`~scantui.analysis.zmap_link_rules` (the parameters, links and counts of steps 3-4) and
:mod:`~scantui.analysis.zmap_pretest` (:func:`may_match`: a source no candidate can match, dropped early).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from scantui.analysis import zmap_links
from scantui.analysis.zmap_group import Candidates, candidates, dlog, mulmod
from scantui.analysis.zmap_link_rules import (
    CHAIN_BACK, CHAIN_SHARE, CHUNK, MAX_HITS, SLOPE_TOL, STAGE1_HITS, TIGHT, WINDOW, _consistent, _links, _needed,
)
from scantui.analysis.zmap_pretest import may_match
from scantui.analysis.zmap_targets import Hypothesis, _intervals, group_prime, index_map


# -- the test -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkMatch:
    generator: int          # g (for 2.1.1: g**S, the factor its threads multiply by)
    prime: int
    hits: int               # distinct allowed destinations tested
    tight: int              # tight links of the matched g over all hits
    consistent: int         # tight links agreeing on one rate
    threads_seen: int       # chains of linked hits (a lower bound on threads)
    subshards: int | None   # S estimated from the chains' spacing (None with one chain)
    steps_per_s: float      # walk steps per second per thread
    candidates: int         # generators that matched (the smallest-step one is reported)
    hypothesis: str


@lru_cache(maxsize=None)
def _sorting_network(n: int) -> tuple[tuple[int, int], ...]:
    """Batcher's odd-even merge sort comparators for n values (the power of two above, cut to n:
    comparators against the padding are no-ops)."""
    size = 1 << max(n - 1, 1).bit_length()
    pairs: list[tuple[int, int]] = []

    def merge(lo: int, hi: int, r: int) -> None:
        step = r * 2
        if step < hi - lo:
            merge(lo, hi, step)
            merge(lo + r, hi, step)
            pairs.extend((i, i + r) for i in range(lo + r, hi - r, step))
        else:
            pairs.append((lo, lo + r))

    def sort(lo: int, hi: int) -> None:
        if hi - lo >= 1:
            mid = lo + (hi - lo) // 2
            sort(lo, mid)
            sort(mid + 1, hi)
            merge(lo, hi, 1)

    sort(0, size - 1)
    return tuple((i, k) for i, k in pairs if k < n)


def match_walk(dst, ts, telescope: Sequence[tuple[int, int]] | int, hyp: Hypothesis = Hypothesis(), *,
                version: int = 4, pretest: bool = True, distinct: bool = False) -> WalkMatch | None:
    """Whether one source's probes (destinations, timestamps in seconds, time-ordered) follow a
    ZMap walk under *hyp*, seen through a telescope of [lo, hi) address ranges (or of that many
    addresses, all allowed by *hyp*). *pretest*: :func:`may_match` first where it applies (same
    answers; False only to check that). *distinct*: the caller's *dst* holds each address once
    already (its first probes kept), so that step is skipped."""
    imap = index_map(hyp)
    p = group_prime(imap.count, version=version)
    n = p - 1
    dst = np.asarray(dst, dtype=np.int64)
    ts = np.asarray(ts, dtype=np.float64)
    if not distinct:
        _, first = np.unique(dst, return_index=True)
        first.sort()
        dst, ts = dst[first], ts[first]
    idx = imap.index(dst)
    ok = idx >= 0
    if ok.sum() < 0.9 * len(idx):  # ZMap never probes what its blocklist forbids
        return None
    idx, ts = idx[ok], ts[ok]
    m_tele = telescope if isinstance(telescope, int) else imap.allowed_count(telescope)
    if len(idx) < 3 or m_tele == 0:
        return None
    cand = candidates(p)
    p0 = WINDOW * TIGHT / m_tele
    h = min(len(idx), MAX_HITS)
    need_tight = _needed(h - 1, p0, len(cand.generators), 1.0)
    need_slope = _needed(h - 1, p0, len(cand.generators), 2 * SLOPE_TOL)
    if min(need_tight, need_slope) > h - 1:  # too few hits for this view: no logs taken
        return None
    e = dlog(p)((idx + 1).astype(np.uint64))
    limit = TIGHT * n / m_tele
    if pretest and not may_match(e[:h], ts[:h], p, limit, need_tight, need_slope):
        return None
    # stage 1, every candidate: the first hits' positions on g's cycle as fractions (float64: off
    # by ~2**-21 of a turn, far below a tight gap); a true g puts most of them in tight pairs
    h1 = min(h, STAGE1_HITS)
    gap = np.float32(TIGHT / m_tele)
    network = _sorting_network(h1)
    survivors = []
    for start in range(0, len(cand.generators), CHUNK):
        f = e[:h1, None].astype(np.float64) * cand.inv_frac[None, start:start + CHUNK]
        f -= np.floor(f)
        rows = list(f.astype(np.float32))
        for i, k in network:  # sort each candidate's positions, all candidates at once
            rows[i], rows[k] = np.minimum(rows[i], rows[k]), np.maximum(rows[i], rows[k])
        close = (rows[0] + np.float32(1) - rows[-1] < gap).astype(np.int32)
        for i in range(h1 - 1):
            close += rows[i + 1] - rows[i] < gap
        survivors.append(start + np.flatnonzero(close >= min(2, h1 - 1)))
    alive = np.concatenate(survivors)
    # stage 2, the survivors: up to MAX_HITS hits, the full window, the counts chance allows
    # (:mod:`~scantui.analysis.zmap_links`: the dense _links and _consistent's answer, pruned as links arrive)
    found = []
    for start in range(0, len(alive), zmap_links.CHUNK):
        sel = alive[start:start + zmap_links.CHUNK]
        keep = zmap_links.passing(lambda k, cols: mulmod(e[k], cand.inv_log[sel[cols]], n), h, ts[:h], n, limit,
                                  need_tight, need_slope, len(sel), window=WINDOW, tol=SLOPE_TOL)
        found.extend(int(k) for k in sel[keep])
    if not found:
        return None
    return _describe(found, cand, e, ts, n, limit, hyp, p)


def _describe(found: list[int], cand: Candidates, e: np.ndarray, ts: np.ndarray, n: int, limit: float,
              hyp: Hypothesis, p: int) -> WalkMatch:
    """All hits, for each matching g: the most consistent links win, then the most tight ones, then
    the smallest typical step (a power of the true g, or a g that folds its threads together,
    links some hits too, with other steps)."""
    E = mulmod(e[:, None], cand.inv_log[found][None, :], n)
    dmin, _, dt = _links(E, ts, n, WINDOW)
    tight = dmin < limit
    best_all, _ = _consistent(dmin.astype(np.float64), dt, tight)
    med = [np.median(dmin[tight[:, j], j]) if tight[:, j].any() else np.inf for j in range(len(found))]
    j = min(range(len(found)), key=lambda i: (-int(tight[:, i].sum()), -int(best_all[i]), med[i]))
    best, _ = _consistent(dmin[:, [j]].astype(np.float64), dt[:, [j]], tight[:, [j]])
    chains = _chains(E[:, j].astype(np.int64), ts, n, limit)
    real = [c for c in chains if len(c) >= max(2, math.ceil(CHAIN_SHARE * len(e)))]
    Ej = E[:, j].astype(np.float64)
    spans = [(float((Ej[c[-1]] - Ej[c[0]]) % n), float(ts[c[-1]] - ts[c[0]])) for c in real]
    if sum(t for _, t in spans) > 0:  # steps over time from end to end of each thread's chain
        rate = sum(d for d, _ in spans) / sum(t for _, t in spans)
    else:
        sel = tight[:, j] & (dt[:, j] > 0)
        rate = float(np.median(dmin[sel, j] / dt[sel, j])) if sel.any() else 0.0
    subshards = None
    if len(real) >= 2 and rate > 0:
        # each chain's exponent at the first hit's time, by its own rate (threads' rates differ by their
        # blocks' skipped shares; a small scan's blocks differ by some %): its subshard's base plus a common term
        t0 = float(ts.min())
        own = [d / t if t > 0 else rate for d, t in spans]
        bases = sorted(float(np.median((Ej[c] - r * (ts[c] - t0)) % n)) for c, r in zip(real, own))
        gaps = [b - a for a, b in zip(bases, bases[1:])] + [bases[0] + n - bases[-1]]
        spacing = min(gaps)
        if spacing > 0:
            subshards = int(round(n / spacing))
    return WalkMatch(
        generator=int(cand.generators[found[j]]), prime=p, hits=len(e), tight=int(tight[:, j].sum()),
        consistent=int(best[0]), threads_seen=max(len(real), 1), subshards=subshards, steps_per_s=rate,
        candidates=len(found), hypothesis=hyp.describe(),
    )


def _chains(E: np.ndarray, ts: np.ndarray, n: int, limit: float) -> list[np.ndarray]:
    """The threads' chains: hits next to each other on g's cycle (by exponent E) less than *limit*
    steps apart, the later one on the cycle not sent more than :data:`CHAIN_BACK` of the capture's
    time span before the earlier one (a thread walks its block upwards in send order; where one
    thread's block ends, the next one's began at the scan's start). Each chain's hits in cycle order.
    Not built from time-order links: ZMap >= 4.1 sends each thread's probes in batches of 64, so a
    view that sees every probe has a thread's previous hit more than :data:`WINDOW` hits back."""
    order = np.argsort(E, kind="stable")
    nxt = np.roll(order, -1)
    gap = (E[nxt] - E[order]) % n
    back = CHAIN_BACK * float(ts.max() - ts.min()) if len(ts) else 0.0
    join = (gap < limit) & (ts[nxt] >= ts[order] - back)
    cuts = np.flatnonzero(~join)
    if len(order) < 2 or not len(cuts):
        return [order]
    shift = int(cuts[0]) + 1  # the ring from just after a cut
    ring, joined = np.roll(order, -shift), np.roll(join, -shift)
    return np.split(ring, np.flatnonzero(~joined)[:-1] + 1)


# -- from the canonical table ---------------------------------------------------------------------


def telescope_ranges(cidrs: Iterable[str]) -> list[tuple[int, int]]:
    """``["198.18.0.0/16", ...]`` -> merged [lo, hi) ranges."""
    return _intervals(cidrs)


def source_probes(packets, src: int, *, port: int | None = None) -> tuple[np.ndarray, np.ndarray, int | None]:
    """One source's SYN probes from the canonical table (a polars LazyFrame or DataFrame): time-ordered
    destinations and timestamps (seconds) to *port*, by default the port it probed most."""
    import polars as pl

    from scantui.analysis.fingerprints import scan_candidate
    from scantui.io.schema import ACK, SYN

    lf = packets.lazy().filter((pl.col("src") == src) & scan_candidate()
                               & ((pl.col("tcp_flags") & (SYN | ACK)) == SYN))
    if port is None:
        top = lf.group_by("dport").agg(pl.len().alias("n")).sort(["n", "dport"], descending=[True, False]).head(1).collect()
        if top.height == 0:
            return np.zeros(0, np.int64), np.zeros(0), None
        port = int(top["dport"][0])
    df = lf.filter(pl.col("dport") == port).select("ts", "dst").sort("ts").collect()
    return df["dst"].to_numpy().astype(np.int64), df["ts"].dt.epoch("us").to_numpy() / 1e6, port


def match_source(packets, src: int, telescope: Sequence[tuple[int, int]] | int, hyp: Hypothesis = Hypothesis(), *,
                 port: int | None = None, version: int = 4) -> WalkMatch | None:
    """:func:`match_walk` on one source's probes to one port of the loaded table."""
    dst, ts, _ = source_probes(packets, src, port=port)
    return match_walk(dst, ts, telescope, hyp, version=version) if len(dst) else None


def detail_walk(packets, telescope: Sequence[tuple[int, int]] | int) -> WalkMatch | None:
    """The test on one source's probes as a detail view reads them (``ts``, ``dst``, ``dport``: e.g.
    :class:`scantui.analysis.detail.TimingPackets`' frame), on its most probed port."""
    if packets.height == 0:
        return None
    top = packets.group_by("dport").len().sort(["len", "dport"], descending=[True, False])["dport"][0]
    one = packets.filter(packets["dport"] == top).sort("ts")
    return match_walk(one["dst"].to_numpy().astype(np.int64), one["ts"].dt.epoch("us").to_numpy() / 1e6, telescope)


def telescope_arg(cidrs: str | None, size: int) -> Sequence[tuple[int, int]] | int:
    """The telescope as the test takes it: the ``--telescope`` CIDRs when given, else its size."""
    if cidrs:
        from scantui.analysis.telescope import parse_cidrs

        return telescope_ranges(str(n) for n in parse_cidrs(cidrs))
    return int(size)


def describe(m: WalkMatch) -> str:
    """One line for a detail view: ``zmap (walk) g=65520 · threads >= 2 · S ~ 4``."""
    parts = [f"g={m.generator}", f"{m.tight}/{m.hits - 1} links"]
    if m.threads_seen > 1:
        parts.append(f"threads >= {m.threads_seen}")
    if m.subshards:
        parts.append(f"S ~ {m.subshards}")
    return "zmap (walk) " + " · ".join(parts)


#: :func:`generator_keys`' columns: one row per (source, port) whose probes follow a ZMap walk.
KEYS_SCHEMA = {"src": "UInt32", "dport": "UInt16", "zmap_generator": "UInt32", "threads_seen": "UInt16",
               "subshards": "UInt32", "hits": "UInt32"}


def generator_keys(packets, telescope: Sequence[tuple[int, int]] | int, hyp: Hypothesis = Hypothesis(), *,
                   min_hits: int = 5, srcs: Sequence[int] | None = None):
    """The ``zmap_generator`` key: for every (source, port) with at least *min_hits* SYN probes (of
    *srcs*, or all), the g its walk recovers. Shards of one seeded scan get one g whatever their
    /24 or AS, so grouping rows by ``zmap_generator`` (and port) ties them; the collaborative-scan
    search can take it as a key beside /24 and AS (not wired there yet)."""
    import polars as pl

    from scantui.analysis.fingerprints import scan_candidate
    from scantui.io.schema import ACK, SYN

    lf = packets.lazy().filter(scan_candidate() & ((pl.col("tcp_flags") & (SYN | ACK)) == SYN))
    if srcs is not None:
        lf = lf.filter(pl.col("src").is_in(pl.Series(list(srcs), dtype=pl.UInt32).implode()))
    groups = (lf.select("src", "dport", "ts", "dst").sort("ts")
              .group_by("src", "dport", maintain_order=True)
              .agg(pl.col("dst"), pl.col("ts").dt.epoch("us"))
              .filter(pl.col("dst").list.len() >= min_hits).collect())
    rows = []
    for src, dport, dst, ts in groups.iter_rows():
        m = match_walk(np.asarray(dst, dtype=np.int64), np.asarray(ts, dtype=np.float64) / 1e6, telescope, hyp)
        if m is not None:
            rows.append((src, dport, m.generator, m.threads_seen, m.subshards, m.hits))
    schema = {k: getattr(pl, v) for k, v in KEYS_SCHEMA.items()}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("zmap_generator", "dport", "src")
