"""The finest exact cover: an N-fold cover (N ≥ 2) split into the exact covers its members form.

The subset search (:mod:`scantui.analysis.collab_cover`) finds the members of an N-fold
cover; they may be one scan that covers the telescope N times (every member's share
overlapping the others evenly) or several scans at once, e.g. two groups of one /24 on one
port at overlapping times (3 + 2 sources, N = 2). :func:`split_cover` tells them apart.

**The conflict graph.** Members of one exact 1-fold cover partition the telescope: their
destination sets are (nearly) disjoint. Members of different covers overlap about as much
as chance gives (``|A|·|B| / T`` shared addresses for independent shares, or not at all
for adjacent ranges). Two members *conflict* when they share more than
:data:`CONFLICT_FACTOR` × ``|A|·|B| / T`` addresses (and at least one): they cannot sit in
one 1-fold cover.

**The search.** The members are coloured into covers with target multiples: first N
covers of multiple 1 (each a conflict-free set), then, for N ≥ 3, two covers of
multiples m and N - m (m = 1 .. N/2; a cover of multiple 1 conflict-free, the others
free), each part of multiple ≥ 2 searched again the same way. A depth-first search
places the members (most conflicts first) into the covers, pruned by each cover's sum of
destinations (it must end inside ``[(1 - low)·m·T, (1 + high)·m·T]``); a complete
colouring is kept only when every cover passes :meth:`~scantui.analysis.collab_cover.Limits.valid`
on its own (exact union, sum and ``min_sources``), so every reported part is an exact
cover. Several exact colourings can exist (two covers holding members with the same
destinations, e.g. the same last range of adjacent shares): up to :data:`MAX_SPLIT_SOLUTIONS`
are collected (searching at most :data:`MAX_EXTRA_STEPS` further steps after the first) and
the one whose covers' members start and end closest together wins.

**Bounds.** Covers of more than :data:`MAX_SPLIT_MEMBERS` members are not searched, and one
search stops after :data:`MAX_SPLIT_STEPS` placements without an exact colouring; either
way the N-fold cover is reported whole and its ``reasons`` say so. Within the bounds a
split costs about 10-100 ms on a 61,000-address telescope (2-fold covers of 5 to 228
members, a 3-fold cover of 100).

**Two runs of one group.** Parts with the same timing and the same partition (the
``timing`` and ``partition`` criteria of :mod:`scantui.analysis.groups`, with its
thresholds) are joined again: concurrent runs of one group are one N-fold scan (as the
sample's double cover N2 is), and ``groups`` would tie them anyway. Parts that differ in
partition or timing are reported as separate scans. Each part (or the whole cover) gets
plain-sentence ``reasons`` explaining the choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scantui.analysis import collab_timing as ct
from scantui.analysis.groups import EQUAL_RATIO, MANY, MAX_DURATION_RATIO, MAX_PROBE_RATIO, SHARE_TOLERANCE

if TYPE_CHECKING:
    from scantui.analysis.collab_cover import Limits

CONFLICT_FACTOR = 0.5
MAX_SPLIT_MEMBERS = 256
MAX_SPLIT_STEPS = 20_000
MAX_SPLIT_SOLUTIONS = 16
MAX_EXTRA_STEPS = 2_000

WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


@dataclass(frozen=True)
class WindowFacts:
    """One window's distinct (source index, destination) pairs and per-source facts (indexed like its sources)."""

    sidx: np.ndarray
    pdst: np.ndarray
    dsts: np.ndarray  # distinct destinations per source
    first: np.ndarray  # µs of the first and last packet per source
    last: np.ndarray
    packets: np.ndarray

    def union(self, mask: np.ndarray) -> int:
        d = np.sort(self.pdst[mask[self.sidx]])
        return int(len(d) and 1 + np.count_nonzero(d[1:] != d[:-1]))


class _OutOfSteps(Exception):
    pass


def overlap_matrix(sidx: np.ndarray, pdst: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Shared destinations of every pair of the sources *idx* (k × k, zero diagonal)."""
    k = len(idx)
    local = np.full(int(sidx.max()) + 1, -1, dtype=np.int64)
    local[idx] = np.arange(k)
    ls = local[sidx]
    keep = ls >= 0
    s, d = ls[keep], pdst[keep]
    order = np.argsort(d, kind="stable")
    s, d = s[order], d[order]
    out = np.zeros((k, k), dtype=np.int64)
    step = 1
    while step < len(d):  # sorted by destination: the sources of one address are adjacent
        same = d[step:] == d[:-step]
        if not same.any():
            break
        np.add.at(out, (s[:-step][same], s[step:][same]), 1)
        step += 1
    return out + out.T


def conflicts(overlap: np.ndarray, sizes: np.ndarray, telescope: int) -> np.ndarray:
    """Pairs that share more than chance allows a 1-fold cover's members (bool k × k)."""
    expected = np.outer(sizes, sizes).astype(np.float64) / telescope
    return (overlap >= 1) & (overlap > CONFLICT_FACTOR * expected)


class _Colouring:
    """Depth-first placement of the members into covers of the given target multiples."""

    def __init__(self, conflict: np.ndarray, sizes: np.ndarray, targets: tuple[int, ...], lim: Limits, check) -> None:
        self.conflict, self.sizes, self.targets, self.check = conflict, sizes, targets, check
        self.lo = [(1 - lim.low) * lim.size * t for t in targets]
        self.hi = [(1 + lim.high) * lim.size * t for t in targets]
        self.min_sources = lim.min_sources
        self.order = sorted(range(len(sizes)), key=lambda v: (-int(conflict[v].sum()), -int(sizes[v]), v))
        self.rest = np.r_[np.cumsum(sizes[self.order][::-1])[::-1], 0].tolist()
        self.size = [int(x) for x in sizes]
        self.bits = [sum(1 << int(u) for u in np.flatnonzero(row)) for row in conflict]  # conflicts as int bitsets
        self.parts: list[list[int]] = [[] for _ in targets]
        self.held = [0] * len(targets)  # each cover's members as a bitset
        self.sums = [0] * len(targets)
        self.steps = 0
        self.limit = MAX_SPLIT_STEPS

    def run(self) -> list[list[list[int]]]:
        """Up to :data:`MAX_SPLIT_SOLUTIONS` exact colourings; :class:`_OutOfSteps` when none was found in time."""
        self.found: list[list[list[int]]] = []
        try:
            self._place(0)
        except _OutOfSteps:
            if not self.found:
                raise
        return self.found

    def _place(self, pos: int) -> None:
        self.steps += 1
        if self.steps > self.limit or len(self.found) >= MAX_SPLIT_SOLUTIONS:
            raise _OutOfSteps
        if pos == len(self.order):
            if all(len(p) >= self.min_sources for p in self.parts) and self.check(self.parts, self.targets):
                if not self.found:  # alternatives lie close to the first: look a little further only
                    self.limit = min(self.limit, self.steps + MAX_EXTRA_STEPS)
                self.found.append([list(p) for p in self.parts])
            return
        v = self.order[pos]
        size = self.size[v]
        opened: set[int] = set()
        for c, target in enumerate(self.targets):
            if not self.parts[c]:
                if target in opened:  # empty covers of one target are interchangeable
                    continue
                opened.add(target)
            if self.sums[c] + size > self.hi[c]:
                continue
            if target == 1 and self.bits[v] & self.held[c]:
                continue
            self.parts[c].append(v)
            self.held[c] |= 1 << v
            self.sums[c] += size
            try:
                if sum(max(0.0, lo - s) for lo, s in zip(self.lo, self.sums)) <= self.rest[pos + 1]:
                    self._place(pos + 1)
            finally:
                self.parts[c].pop()
                self.held[c] &= ~(1 << v)
                self.sums[c] -= size


@dataclass
class _Outcome:
    parts: list[tuple[np.ndarray, int]]  # (source indices, multiple)
    why: str  # "split", "overlap", "steps" or "members"


def _finest(idx: np.ndarray, multiple: int, facts: WindowFacts, lim: Limits) -> _Outcome:
    """The finest split of the members *idx* into exact covers (one part: no split)."""
    whole = _Outcome([(idx, multiple)], "overlap")
    if multiple < 2:
        return whole
    if len(idx) > MAX_SPLIT_MEMBERS:
        return _Outcome([(idx, multiple)], "members")
    sizes = facts.dsts[idx]
    conflict = conflicts(overlap_matrix(facts.sidx, facts.pdst, idx), sizes, lim.size)
    n_src = len(facts.dsts)

    def check(parts: list[list[int]], targets: tuple[int, ...]) -> bool:
        for part, target in zip(parts, targets):
            mask = np.zeros(n_src, dtype=bool)
            mask[idx[part]] = True
            if not lim.valid(facts.union(mask), int(sizes[part].sum()), len(part), target):
                return False
        return True

    tries = [(1,) * multiple] + [(m, multiple - m) for m in range(1, multiple // 2 + 1) if multiple >= 3]
    stopped = False
    for targets in tries:
        try:
            found = _Colouring(conflict, sizes, targets, lim, check).run()
        except _OutOfSteps:
            stopped = True
            continue
        if not found:
            continue
        parts = min(found, key=lambda ps: _spread(ps, idx, facts))
        out: list[tuple[np.ndarray, int]] = []
        for part, target in zip(parts, targets):
            sub = np.sort(idx[part])
            out.extend(_finest(sub, target, facts, lim).parts if target >= 2 else [(sub, target)])
        return _Outcome(out, "split")
    return _Outcome([(idx, multiple)], "steps") if stopped else whole


def _spread(parts: list[list[int]], idx: np.ndarray, facts: WindowFacts) -> int:
    """How far the members' starts and ends lie from their cover's median (µs, summed): the most coherent
    colouring wins when several are exact (members with the same destinations in two covers)."""
    total = 0
    for part in parts:
        first, last = facts.first[idx[part]], facts.last[idx[part]]
        total += int(np.abs(first - np.median(first)).sum() + np.abs(last - np.median(last)).sum())
    return total


# ---------------------------------------------------------------- alike parts: runs of one group


@dataclass
class _Shape:
    timing: str
    duration_s: float
    probes: float
    multiple: int
    shares: np.ndarray  # sorted descending


def _shape(idx: np.ndarray, multiple: int, facts: WindowFacts) -> _Shape:
    mask = np.zeros(len(facts.dsts), dtype=bool)
    mask[idx] = True
    timing, _clarity, _c = ct.classify_timing(facts.first[idx], facts.last[idx])
    duration = max((int(facts.last[idx].max()) - int(facts.first[idx].min())) / 1e6, 1.0)
    total = int(facts.dsts[idx].sum())
    union = facts.union(mask)
    return _Shape(timing, duration, int(facts.packets[idx].sum()) / max(total, 1), multiple,
                  np.sort(facts.dsts[idx] / max(union, 1))[::-1])


def _same_timing(a: _Shape, b: _Shape) -> bool:
    return (a.timing == b.timing and abs(math.log(a.duration_s / b.duration_s)) <= math.log(MAX_DURATION_RATIO) + 1e-9
            and abs(math.log(a.probes / b.probes)) <= math.log(MAX_PROBE_RATIO) + 1e-9)


def _same_partition(a: _Shape, b: _Shape) -> bool:
    if a.multiple != b.multiple:
        return False
    equal_a = a.shares[0] <= EQUAL_RATIO * a.shares[-1]
    equal_b = b.shares[0] <= EQUAL_RATIO * b.shares[-1]
    if equal_a and equal_b:
        return len(a.shares) == len(b.shares) or (len(a.shares) >= MANY and len(b.shares) >= MANY)
    if len(a.shares) != len(b.shares):
        return False
    return bool(np.all(np.abs(a.shares - b.shares) <= SHARE_TOLERANCE + 1e-9))


def _join_alike(parts: list[tuple[np.ndarray, int]], facts: WindowFacts) -> tuple[list[tuple[np.ndarray, int]], set[str]]:
    """Parts that look like runs of one group joined (union-find); what set the others apart."""
    shapes = [_shape(idx, m, facts) for idx, m in parts]
    root = list(range(len(parts)))

    def find(x: int) -> int:
        while root[x] != x:
            x = root[x]
        return x

    differ: set[str] = set()
    for i in range(len(parts)):
        for j in range(i + 1, len(parts)):
            timing, partition = _same_timing(shapes[i], shapes[j]), _same_partition(shapes[i], shapes[j])
            if timing and partition:
                root[find(j)] = find(i)
            else:
                differ |= ({"timing"} if not timing else set()) | ({"partition"} if not partition else set())
    joined: dict[int, list[int]] = {}
    for k in range(len(parts)):
        joined.setdefault(find(k), []).append(k)
    out = [(np.sort(np.concatenate([parts[k][0] for k in ks])), sum(parts[k][1] for k in ks)) for ks in joined.values()]
    return out, differ


# ---------------------------------------------------------------- the step and its reasons


def _count(n: int) -> str:
    return WORDS.get(n, str(n))


def _sizes(parts: list[tuple[np.ndarray, int]]) -> str:
    return " and ".join(str(len(idx)) for idx, _m in parts)


Piece = tuple[np.ndarray, int, list[str]]  # (member mask, cover multiple, reasons)


def split_cover(members: np.ndarray, multiple: int, facts: WindowFacts, lim: Limits) -> list[Piece]:
    """The finest exact covers of one found cover: ``(member mask, multiple, reasons)`` per reported scan."""
    idx = np.flatnonzero(members)
    n = len(idx)
    if multiple < 2:
        return [(members, multiple, [])]
    found = _finest(idx, multiple, facts, lim)
    head = f"{multiple}-fold cover of {n} sources"
    if found.why == "members":
        return [(members, multiple, [f"{head}: not searched for a split into exact covers "
                                     f"(more than {MAX_SPLIT_MEMBERS} members)"])]
    if found.why == "steps":
        return [(members, multiple, [f"{head}: no split into exact covers found within "
                                     f"{MAX_SPLIT_STEPS:,} search steps"])]
    if len(found.parts) < 2:
        return [(members, multiple, [f"{head}: no split into exact covers (members' destinations overlap evenly)"])]
    joined, differ = _join_alike(found.parts, facts)
    if len(joined) < 2:
        return [(members, multiple, [f"{head}: splits into {_count(len(found.parts))} exact covers "
                                     f"({_sizes(found.parts)} sources) with the same partition and timing, "
                                     "kept as one (concurrent runs of one group)"])]
    what = " and ".join(w for w in ("partition", "timing") if w in differ)
    joined.sort(key=lambda p: (-len(p[0]), int(p[0][0])))
    mults = "" if all(m == 1 for _i, m in joined) else " (multiples " + " and ".join(str(m) for _i, m in joined) + ")"
    why = (f"split from a {head} into {_count(len(joined))} exact covers{mults} ({_sizes(joined)} sources) "
           f"that differ in {what}")
    out = []
    for part, mult in joined:
        mask = np.zeros(len(members), dtype=bool)
        mask[part] = True
        out.append((mask, mult, [why]))
    return out
