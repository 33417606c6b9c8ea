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

from scantui.analysis import collab_timing as ct
from scantui.analysis.collab_query import DAY_US
from scantui.analysis.collab_split import WindowFacts, split_cover

EXCESS_DROP = 0.5
EXCESS_REDUNDANT = 0.999
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
    anchors = _sorted_unique(ts[start])
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


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` by sorting: numpy 2.4's hash-based unique is ~10x slower on these arrays."""
    s = np.sort(a)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _excess(sidx: np.ndarray, dst: np.ndarray, alive: np.ndarray, multiple: int, n_src: int):
    """Per-source excess share, per-source distinct dsts, union and Σ of the alive sources."""
    m = alive[sidx]
    s, d = sidx[m], dst[m]
    _, inv, counts = np.unique(d, return_inverse=True, return_counts=True)
    per_src = np.bincount(s, minlength=n_src)
    over = np.bincount(s, weights=(counts[inv] > multiple).astype(np.float64), minlength=n_src)
    excess = np.where(per_src > 0, over / np.maximum(per_src, 1), 0.0)
    return excess, per_src, len(counts), int(m.sum())


def search_cover(sidx: np.ndarray, dst: np.ndarray, alive0: np.ndarray, lim: Limits) -> tuple[np.ndarray, int] | None:
    """Members (a mask over sources) forming a valid N-fold cover, and N; None if there is none.

    *sidx*/*dst* are the distinct (source index, destination) pairs of the window.
    """
    n_src = len(alive0)
    total0 = int(np.bincount(sidx, minlength=n_src)[alive0].sum())
    if total0 < lim.cover_min or alive0.sum() < lim.min_sources:
        return None
    # dropping sources never grows the union: below the cover minimum with every source, no subset is a cover (a
    # pool chaining bursts over weeks: its Σ passes, its union does not, and each N down to 1 searched it in vain)
    if len(_sorted_unique(dst[alive0[sidx]])) < lim.cover_min:
        return None
    for multiple in range(max(1, round(total0 / lim.size)), 0, -1):
        alive = alive0.copy()
        excess, per_src, union, total = _excess(sidx, dst, alive, multiple, n_src)
        redundant = alive & (excess >= EXCESS_REDUNDANT)
        if redundant.any() and (alive & ~redundant).sum() >= lim.min_sources:
            trial = alive & ~redundant
            ex2, ps2, u2, t2 = _excess(sidx, dst, trial, multiple, n_src)
            if u2 >= lim.cover_min:
                alive, excess, per_src, union, total = trial, ex2, ps2, u2, t2
        while alive.sum() >= lim.min_sources and union >= lim.cover_min:  # (the union only shrinks from here)
            worst_excess = excess[alive].max()
            if lim.valid(union, total, int(alive.sum()), multiple) and worst_excess <= EXCESS_DROP:
                return alive, multiple
            if worst_excess <= EXCESS_DROP:
                break
            tied = np.flatnonzero(alive & (excess >= worst_excess - 1e-9))
            drop = tied[np.argmin(np.abs(total - per_src[tied] - multiple * lim.size))]
            alive[drop] = False
            excess, per_src, union, total = _excess(sidx, dst, alive, multiple, n_src)
    return None


def scans_in_window(t: np.ndarray, src: np.ndarray, dst: np.ndarray, lim: Limits) -> list[dict[str, Any]]:
    """Every cover in one (key, port, window): raw stats with integer IPs and µs times."""
    pairs = _sorted_unique((src.astype(np.uint64) << np.uint64(32)) | dst.astype(np.uint64))
    psrc = (pairs >> np.uint64(32)).astype(np.uint32)
    pdst = (pairs & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    srcs, sidx = np.unique(psrc, return_inverse=True)
    per_src = np.bincount(sidx, minlength=len(srcs))
    standalone = per_src >= lim.cover_min
    alive = ~standalone
    facts = None
    found = []
    while len(found) < MAX_SCANS_PER_WINDOW:
        hit = search_cover(sidx, pdst, alive, lim)
        if hit is None:
            break
        members, multiple = hit
        left_out = int(alive.sum() - members.sum())
        base = [f"{left_out} other source{'s' if left_out != 1 else ''} on the port in this key and window "
                "left out by the subset search (destinations do not fit the cover)"] if left_out else []
        for part, mult, why in _split_in_time(t, src, srcs, sidx, pdst, members, multiple, lim):
            if mult >= 2:
                if facts is None:
                    facts = _facts(t, src, srcs, sidx, pdst, per_src)
                pieces = split_cover(part, mult, facts, lim)
            else:
                pieces = [(part, mult, [])]
            for piece, m, reasons in pieces:
                scan = _describe(t, src, srcs, per_src, piece, m, standalone, sidx, pdst, lim)
                found.append({**scan, "reasons": [*why, *reasons, *base]})
        alive = alive & ~members
    return found


def _facts(t, src, srcs, sidx, pdst, per_src) -> WindowFacts:
    pos = np.searchsorted(srcs, src)
    first = np.full(len(srcs), np.iinfo(np.int64).max)
    last = np.full(len(srcs), np.iinfo(np.int64).min)
    np.minimum.at(first, pos, t)
    np.maximum.at(last, pos, t)
    return WindowFacts(sidx, pdst, per_src, first, last, np.bincount(pos, minlength=len(srcs)))


def _split_in_time(t, src, srcs, sidx, pdst, members, multiple, lim) -> list[tuple[np.ndarray, int, list[str]]]:
    """An N-fold cover (N ≥ 2) made of member groups that run one after another, each a cover
    by itself, is that many scans (the same sources scanning the port twice a day), not one."""
    whole = [(members, multiple, [])]
    if multiple < 2:
        return whole
    idx = np.flatnonzero(members)
    pos = np.searchsorted(srcs, src)
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
        union = len(_sorted_unique(pdst[mask[sidx]]))
        total = int(np.bincount(sidx, minlength=len(srcs))[mask].sum())
        mult = max(1, round(total / lim.size))
        if not lim.valid(union, total, len(g), mult):
            return whole
        out.append((mask, mult))
    sizes = " and ".join(str(len(g)) for g in groups)
    why = (f"split in time from a {multiple}-fold cover of {int(members.sum())} sources: {len(groups)} groups of "
           f"members ({sizes} sources) ran one after another, each an exact cover")
    return [(mask, mult, [why]) for mask, mult in out]


def _describe(t, src, srcs, per_src, members, multiple, standalone, sidx, pdst, lim) -> dict[str, Any]:
    member_ips = srcs[members]
    in_scan = np.isin(src, member_ips)
    mt, ms = t[in_scan], src[in_scan]
    order = np.argsort(ms, kind="stable")
    ms_sorted, mt_sorted = ms[order], mt[order]
    bounds = np.flatnonzero(np.diff(ms_sorted)) + 1
    first = np.minimum.reduceat(mt_sorted, np.r_[0, bounds])
    last = np.maximum.reduceat(mt_sorted, np.r_[0, bounds])
    timing, clarity, containment = ct.classify_timing(first, last)
    dsts = per_src[members]
    union = int(len(_sorted_unique(pdst[members[sidx]])))
    total = int(dsts.sum())
    cover = ct.cover_exactness(union, total, multiple, lim.size, lim.low, lim.high)
    score, parts = ct.score(cover, clarity, len(member_ips))
    return {
        "sources": member_ips.tolist(), "dsts": dsts.tolist(), "union": union, "total": total,
        "cover_multiple": multiple, "timing": timing, "timing_containment": round(containment, 3),
        "start": int(mt.min()), "end": int(mt.max()), "packets": int(in_scan.sum()),
        "score": score, "score_parts": parts, "standalone": srcs[standalone].tolist(),
    }
