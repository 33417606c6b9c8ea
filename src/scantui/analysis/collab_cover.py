"""The cover search in one (key, port) group (stage 3 of :mod:`scantui.analysis.collab`): pure numpy.

:func:`cut_windows` cuts the group's windows (calendar days, or rolling spans anchored at
session starts); :func:`scans_in_window` finds every cover in one window with
:func:`search_cover` (the subset search by *excess*, see the algorithm in
:mod:`scantui.analysis.collab`), splits N-fold covers that run one after another
(:func:`_split_in_time`), splits the rest into the finest exact covers
(:func:`scantui.analysis.collab_split.split_cover`) and describes each found scan: members,
union, Σ, timing, score (:mod:`scantui.analysis.collab_timing`) and ``reasons``. :meth:`Limits.valid` is the cover
condition itself (condition 4 of the module doc of :mod:`scantui.analysis.collab`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from scantui.analysis import collab_timing as ct
from scantui.analysis.collab_query import DAY_US
from scantui.analysis.collab_split import WindowFacts, split_cover

EXCESS_DROP = 0.5
EXCESS_REDUNDANT = 0.999
#: An N-fold cover reaches "every address N times" (condition 4): at least this share of its union exactly N times.
#: Sources reaching addresses at random (a botnet of one AS over days: each address a Poisson number of times) reach
#: the whole telescope and, with some of them dropped, a Σ within N·T's bounds (for N ≥ 24 any Σ is: the bounds are
#: then wider than T), yet at most 27 % of the union exactly N times for N ≥ 2 (about 1/sqrt(2πN)); N exact covers
#: reach nearly every address N times. For N = 1 the union and Σ bounds already imply ≥ 95 %.
EXACT_SHARE_MIN = 0.5
ANCHOR_MERGE_FRACTION = 0.01
MAX_SCANS_PER_WINDOW = 8


# ---------------------------------------------------------------- stage 3: windows and the cover search


def cut_windows(t: np.ndarray, src: np.ndarray, window_us: int | None) -> list[tuple[int, int]]:
    """[start, end) windows of one (key, port) group; *t* sorted ascending."""
    if window_us is None:
        return [(int(d) * DAY_US, (int(d) + 1) * DAY_US) for d in _sorted_unique(t // DAY_US)]
    order = np.lexsort((t, src))
    s, ts = src[order], t[order]
    start = np.ones(len(ts), dtype=bool)
    start[1:] = (s[1:] != s[:-1]) | (ts[1:] - ts[:-1] >= window_us // 2)
    return rolling_windows(ts[start], window_us)


def rolling_windows(starts: np.ndarray, window_us: int) -> list[tuple[int, int]]:
    """The rolling [start, end) windows anchored at a group's session starts (a source's first probe, and each after
    a silence of half the window; any order, repeats allowed), anchors closer than ``ANCHOR_MERGE_FRACTION`` of the
    window to the last kept one merged into it."""
    anchors = _sorted_unique(starts)
    merge = int(window_us * ANCHOR_MERGE_FRACTION)
    kept: list[int] = []
    for a in anchors.tolist():
        if not kept or a - kept[-1] > merge:
            kept.append(a)
    return [(a, a + window_us) for a in kept]


@dataclass
class Limits:
    """The telescope size and the tolerances of one search: what counts as a cover."""

    size: int
    low: float
    high: float
    min_sources: int

    @property
    def cover_min(self) -> float:
        return (1 - self.low) * self.size

    def valid(self, union: int, total: int, n: int, multiple: int) -> bool:
        t = self.size
        return (
            n >= self.min_sources
            and (1 - self.low) * t <= union <= (1 + self.high) * t
            and (1 - self.low) * multiple * t <= total <= (1 + self.high) * multiple * t
        )


def _unique_of_sorted(s: np.ndarray) -> np.ndarray:
    """The distinct values of an ascending array."""
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` by sorting: numpy 2.4's hash-based unique is ~10x slower on these arrays; past ~10^5 values
    polars' unique and sort take ~0.6x numpy's sort (u64, this box)."""
    if len(a) > 100_000:
        return pl.Series(a).unique().sort().to_numpy()
    return _unique_of_sorted(np.sort(a))


class _Multiplicity:
    """How many alive sources reach each destination of a window, and per source how many of its destinations are
    reached more than *multiple* times, kept up to date as sources are dropped.

    Dropping a source lowers only its own destinations' counts, and a source's excess changes only where one of
    them falls to *multiple*: those destinations' other sources are found through a by-destination index, so a
    drop costs the dropped source's destinations and their sources, not every pair of the window (a botnet's
    week-long cluster, 500 sources and 700 k pairs, was ~100 s of recounting at every drop). The counts are
    integers, so every value is what a recount gives (``tests/test_collab_cover_union.py``: a reference copy)."""

    def __init__(self, sidx: np.ndarray, dinv: np.ndarray, n_dst: int, by_dst: tuple[np.ndarray, np.ndarray],
                 by_src: np.ndarray, alive: np.ndarray, multiple: int,
                 base: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """*base*: (each destination's count, each pair's destination's count) over *alive*, when already made
        (the same for every N of a window: one pass over the pairs instead of one for each N)."""
        self.sidx, self.dinv, self.by_dst, self.by_src, self.multiple = sidx, dinv, by_dst, by_src, multiple
        self.alive = alive.copy()
        counts, at_pairs = base if base is not None else _counts(sidx, dinv, n_dst, alive)
        self.counts = counts.copy()
        self.sizes = np.diff(by_src)  # each source's distinct destinations
        flags = at_pairs > multiple  # a dropped source's own count is never read: its pairs may count here
        if len(flags) and bool((self.sizes > 0).all()):
            self.over = np.add.reduceat(flags, by_src[:-1], dtype=np.int64)
        else:
            self.over = np.bincount(sidx, weights=flags, minlength=len(alive)).astype(np.int64)
        self.union = int(np.count_nonzero(self.counts))
        self.total = int(self.sizes[self.alive].sum())
        self.n_alive = int(self.alive.sum())
        # each source's excess (the share of its destinations reached more than N times), a dropped source's -1
        # (below every alive one's), kept up to date: a drop recomputes only the sources it touched, not every source
        # of the window (a botnet's window of 5,000 sources searched N by N drops thousands of them)
        self.ex = np.where(self.alive, self.over / np.maximum(self.sizes, 1), -1.0)

    def exact_share(self) -> float:
        """The share of the union reached exactly *multiple* times."""
        return int(np.count_nonzero(self.counts == self.multiple)) / max(self.union, 1)

    def drop(self, j: int) -> None:
        self.alive[j] = False
        self.n_alive -= 1
        self.ex[j] = -1.0
        mine = self.dinv[self.by_src[j]:self.by_src[j + 1]]
        self.counts[mine] -= 1
        self.union -= int(np.count_nonzero(self.counts[mine] == 0))
        self.total -= int(self.sizes[j])
        crossed = mine[self.counts[mine] == self.multiple]  # no longer reached more than N times
        if len(crossed):
            ptr, srcs = self.by_dst
            lens = ptr[crossed + 1] - ptr[crossed]
            at = np.repeat(ptr[crossed] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
            touched = srcs[at]
            np.subtract.at(self.over, touched, 1)  # a dropped source's own count is never read again
            touched = touched[self.alive[touched]]
            self.ex[touched] = self.over[touched] / np.maximum(self.sizes[touched], 1)


def _counts(sidx: np.ndarray, dinv: np.ndarray, n_dst: int, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many of the *alive* sources reach each destination, and that count at each pair."""
    counts = np.bincount(dinv[alive[sidx]], minlength=n_dst)
    return counts, counts[dinv]


def _index(sidx: np.ndarray, dst: np.ndarray, n_src: int):
    """The destinations' dense index, their count, the (offsets, sources) of each destination's pairs, and each
    source's offsets into *sidx* (sorted by source, as a window's distinct pairs are): one stable sort of the
    destinations (``np.unique`` with its inverse and a second sort of that cost twice as much)."""
    if len(sidx) > 1 and bool((sidx[1:] < sidx[:-1]).any()):
        raise ValueError("the pairs must be sorted by source")
    order = np.argsort(dst, kind="stable")
    ordered = dst[order]
    new = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    dinv = np.empty(len(dst), dtype=np.int64)
    dinv[order] = np.cumsum(new) - 1
    ptr = np.append(np.flatnonzero(new), len(ordered)).astype(np.int64)
    by_src = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(np.bincount(sidx, minlength=n_src), out=by_src[1:])
    return dinv, len(ptr) - 1, (ptr, sidx[order]), by_src


def search_cover(sidx: np.ndarray, dst: np.ndarray, alive0: np.ndarray, lim: Limits,
                 index: tuple | None = None) -> tuple[np.ndarray, int] | None:
    """Members (a mask over sources) forming a valid N-fold cover, and N; None if there is none.

    *sidx*/*dst* are the distinct (source index, destination) pairs of the window, sorted by source; *index*, their
    :func:`_index` when the caller searches the window more than once.
    """
    n_src = len(alive0)
    total0 = int(np.bincount(sidx, minlength=n_src)[alive0].sum())
    if total0 < lim.cover_min or alive0.sum() < lim.min_sources:
        return None
    dinv, n_dst, by_dst, by_src = index if index is not None else _index(sidx, dst, n_src)
    base = _counts(sidx, dinv, n_dst, alive0)
    # dropping sources never grows the union: below the cover minimum with every source, no subset is a cover (a
    # pool chaining bursts over weeks: its Σ passes, its union does not, and each N down to 1 searched it in vain)
    if int(np.count_nonzero(base[0])) < lim.cover_min:
        return None
    for multiple in range(max(1, round(total0 / lim.size)), 0, -1):
        state = _Multiplicity(sidx, dinv, n_dst, by_dst, by_src, alive0, multiple, base)
        redundant = state.alive & (state.ex >= EXCESS_REDUNDANT)
        if redundant.any() and (state.alive & ~redundant).sum() >= lim.min_sources:
            trial = _Multiplicity(sidx, dinv, n_dst, by_dst, by_src, state.alive & ~redundant, multiple)
            if trial.union >= lim.cover_min:
                state = trial
        excess, sizes = state.ex, state.sizes  # (updated in place by each drop; a dropped source's excess is -1)
        while state.n_alive >= lim.min_sources and state.union >= lim.cover_min:  # (the union only shrinks from here)
            worst_excess = excess.max()
            if (lim.valid(state.union, state.total, state.n_alive, multiple) and worst_excess <= EXCESS_DROP
                    and state.exact_share() >= EXACT_SHARE_MIN):
                return state.alive.copy(), multiple
            if worst_excess <= EXCESS_DROP:
                break
            tied = np.flatnonzero(excess >= worst_excess - 1e-9)
            drop = tied[np.argmin(np.abs(state.total - sizes[tied] - multiple * lim.size))]
            state.drop(int(drop))
    return None


def scans_in_window(t: np.ndarray, src: np.ndarray, dst: np.ndarray, lim: Limits,
                    presorted: bool = False) -> list[dict[str, Any]]:
    """Every cover in one (key, port, window): raw stats with integer IPs and µs times. *presorted*: the packets
    come sorted by source and destination (the pairs' sort, a quarter of the search, is then skipped)."""
    keys = (src.astype(np.uint64) << np.uint64(32)) | dst.astype(np.uint64)
    pairs = _unique_of_sorted(keys) if presorted else _sorted_unique(keys)
    psrc = (pairs >> np.uint64(32)).astype(np.uint32)
    pdst = (pairs & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    first = np.ones(len(psrc), dtype=bool)  # the pairs are sorted: each source's run starts where it changes
    np.not_equal(psrc[1:], psrc[:-1], out=first[1:])
    srcs, sidx = psrc[first], np.cumsum(first) - 1
    pos = np.searchsorted(srcs, src)  # each packet's source index
    per_src = np.bincount(sidx, minlength=len(srcs))
    standalone = per_src >= lim.cover_min
    alive = ~standalone
    facts = None
    found = []
    index = _index(sidx, pdst, len(srcs)) if per_src[alive].sum() >= lim.cover_min else None  # else no search
    while len(found) < MAX_SCANS_PER_WINDOW:
        hit = search_cover(sidx, pdst, alive, lim, index)
        if hit is None:
            break
        members, multiple = hit
        left_out = int(alive.sum() - members.sum())
        base = [f"{left_out} other source{'s' if left_out != 1 else ''} on the port in this key and window "
                "left out by the subset search (destinations do not fit the cover)"] if left_out else []
        for part, mult, why in _split_in_time(t, pos, srcs, sidx, members, multiple, lim, index):
            if mult >= 2:
                if facts is None:
                    facts = _facts(t, pos, srcs, sidx, pdst, per_src)
                pieces = split_cover(part, mult, facts, lim)
            else:
                pieces = [(part, mult, [])]
            for piece, m, reasons in pieces:
                scan = _describe(t, src, pos, srcs, per_src, piece, m, standalone, sidx, lim, index)
                found.append({**scan, "reasons": [*why, *reasons, *base]})
        alive = alive & ~members
    return found


def _facts(t, pos, srcs, sidx, pdst, per_src) -> WindowFacts:
    first = np.full(len(srcs), np.iinfo(np.int64).max)
    last = np.full(len(srcs), np.iinfo(np.int64).min)
    np.minimum.at(first, pos, t)
    np.maximum.at(last, pos, t)
    return WindowFacts(sidx, pdst, per_src, first, last, np.bincount(pos, minlength=len(srcs)))


def _union(sidx: np.ndarray, members: np.ndarray, index) -> int:
    """The distinct destinations of the *members* (a mask over sources), from the window's :func:`_index`."""
    dinv, n_dst = index[0], index[1]
    return int(np.count_nonzero(np.bincount(dinv[members[sidx]], minlength=n_dst)))


def _split_in_time(t, pos, srcs, sidx, members, multiple, lim, index) -> list[tuple[np.ndarray, int, list[str]]]:
    """An N-fold cover (N ≥ 2) made of member groups that run one after another, each a cover
    by itself, is that many scans (the same sources scanning the port twice a day), not one."""
    whole = [(members, multiple, [])]
    if multiple < 2:
        return whole
    idx = np.flatnonzero(members)
    first = np.full(len(srcs), np.iinfo(np.int64).max)
    last = np.full(len(srcs), np.iinfo(np.int64).min)
    np.minimum.at(first, pos, t)
    np.maximum.at(last, pos, t)
    idx = idx[np.argsort(first[idx], kind="stable")]
    groups, reach = [[idx[0]]], last[idx[0]]
    for i in idx[1:]:
        if first[i] > reach:
            groups.append([i])
        else:
            groups[-1].append(i)
        reach = max(reach, last[i])
    if len(groups) < 2:
        return whole
    out = []
    for g in groups:
        mask = np.zeros(len(members), dtype=bool)
        mask[g] = True
        union = _union(sidx, mask, index)
        total = int(np.bincount(sidx, minlength=len(srcs))[mask].sum())
        mult = max(1, round(total / lim.size))
        if not lim.valid(union, total, len(g), mult):
            return whole
        out.append((mask, mult))
    sizes = " and ".join(str(len(g)) for g in groups)
    why = (f"split in time from a {multiple}-fold cover of {int(members.sum())} sources: {len(groups)} groups of "
           f"members ({sizes} sources) ran one after another, each an exact cover")
    return [(mask, mult, [why]) for mask, mult in out]


def _describe(t, src, pos, srcs, per_src, members, multiple, standalone, sidx, lim, index) -> dict[str, Any]:
    member_ips = srcs[members]
    in_scan = members[pos]
    mt, ms = t[in_scan], src[in_scan]
    order = np.argsort(ms, kind="stable")
    ms_sorted, mt_sorted = ms[order], mt[order]
    bounds = np.flatnonzero(np.diff(ms_sorted)) + 1
    first = np.minimum.reduceat(mt_sorted, np.r_[0, bounds])
    last = np.maximum.reduceat(mt_sorted, np.r_[0, bounds])
    timing, clarity, containment = ct.classify_timing(first, last)
    dsts = per_src[members]
    union = _union(sidx, members, index)
    total = int(dsts.sum())
    cover = ct.cover_exactness(union, total, multiple, lim.size, lim.low, lim.high)
    score, parts = ct.score(cover, clarity, len(member_ips))
    return {
        "sources": member_ips.tolist(), "dsts": dsts.tolist(), "union": union, "total": total,
        "cover_multiple": multiple, "timing": timing, "timing_containment": round(containment, 3),
        "start": int(mt.min()), "end": int(mt.max()), "packets": int(in_scan.sum()),
        "score": score, "score_parts": parts, "standalone": srcs[standalone].tolist(),
    }
