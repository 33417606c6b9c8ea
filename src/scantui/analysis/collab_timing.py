"""Timing pattern and score of one collaborative-scan candidate (pure numpy, no polars).

**Timing.** Each member has an active span ``[first packet, last packet]`` inside
the window (at least :data:`MIN_SPAN_US` long, so one-packet members are not
zero-length). For every pair of members the *containment* is
``|span_a ∩ span_b| / min(|span_a|, |span_b|)``: 1 when the shorter span lies
inside the longer one, 0 when they do not touch. It does not depend on the
split (a 1/6 member running alongside a 5/6 member for the same two hours is as
parallel as two halves). Over all pairs (a random sample of
:data:`MAX_PAIRS` pairs for very large scans):

* ``parallel``   — mean containment ≥ :data:`PARALLEL_MIN` (0.6): the spans mostly overlap;
* ``sequential`` — mean containment ≤ :data:`SEQUENTIAL_MAX` (0.15): members follow one
  another (with or without rests between them);
* ``mixed``      — anything between (bursts that partly overlap, staggered starts, ...).

``timing_clarity`` says how clearly the pattern shows: the mean containment for
parallel, one minus it for sequential, and the distance to the nearer threshold
(scaled to [0, 0.5]) for mixed.

**Score** (0-100, higher is more convincing), a weighted sum an analyst can read
back from ``score_parts`` (the weights are :data:`scantui.analysis.collab_types.WEIGHTS`):

* ``cover`` (weight 50): how exact the cover is, ``1 - err / band`` where ``err`` is
  the larger of ``|union / T - 1|`` and ``|Σ dsts / (N·T) - 1|`` and ``band`` the
  tolerance on that side (an exact partition scores 1, the edge of the tolerance 0);
* ``timing`` (weight 30): ``timing_clarity``;
* ``sources`` (weight 20): ``min(1, log2(n) / 3)`` — 2 sources 0.33, 4 sources 0.67,
  8 or more 1.0 (more members splitting one cover exactly is harder to get by chance).
"""

from __future__ import annotations

import math

import numpy as np

from scantui.analysis.collab_types import WEIGHTS

MIN_SPAN_US = 1_000_000  # one second
PARALLEL_MIN = 0.6
SEQUENTIAL_MAX = 0.15
MAX_PAIRS = 20_000


def mean_containment(first: np.ndarray, last: np.ndarray, *, seed: int = 0) -> float:
    """Mean over member pairs of overlap / shorter span (µs arrays, one entry per member)."""
    n = len(first)
    if n < 2:
        return 1.0
    lo = first.astype(np.int64)
    hi = np.maximum(last.astype(np.int64), lo + MIN_SPAN_US)
    i, j = np.triu_indices(n, k=1)
    if len(i) > MAX_PAIRS:
        pick = np.random.default_rng(seed).choice(len(i), MAX_PAIRS, replace=False)
        i, j = i[pick], j[pick]
    inter = np.clip(np.minimum(hi[i], hi[j]) - np.maximum(lo[i], lo[j]), 0, None)
    shorter = np.minimum(hi[i] - lo[i], hi[j] - lo[j])
    return float(np.mean(inter / shorter))


def classify_timing(first: np.ndarray, last: np.ndarray) -> tuple[str, float, float]:
    """``(timing, clarity, mean containment)`` of members with these active spans."""
    c = mean_containment(first, last)
    if c >= PARALLEL_MIN:
        return "parallel", c, c
    if c <= SEQUENTIAL_MAX:
        return "sequential", 1.0 - c, c
    return "mixed", min(c - SEQUENTIAL_MAX, PARALLEL_MIN - c) / (PARALLEL_MIN - SEQUENTIAL_MAX), c


def cover_exactness(union: int, total: int, multiple: int, size: int, low: float, high: float) -> float:
    """1 for an exact N-fold partition, falling to 0 at the edge of the tolerance band."""
    errs = []
    for ratio in (union / size, total / (multiple * size)):
        dev = ratio - 1.0
        band = high if dev > 0 else low
        errs.append(abs(dev) / band if band > 0 else (0.0 if dev == 0 else 1.0))
    return float(max(0.0, 1.0 - max(errs)))


def source_strength(n: int) -> float:
    return float(min(1.0, math.log2(max(n, 1)) / 3.0))


def score(cover: float, timing_clarity: float, n_sources: int) -> tuple[float, dict[str, float]]:
    """The 0-100 score and its parts (each part in [0, 1])."""
    parts = {"cover": round(cover, 3), "timing": round(timing_clarity, 3), "sources": round(source_strength(n_sources), 3)}
    total = sum(WEIGHTS[k] * v for k, v in parts.items())
    return round(total, 1), parts
