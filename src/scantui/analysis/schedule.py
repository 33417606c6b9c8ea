"""A scanner's schedule (periodic / continuous / sporadic / acyclic) by FFT of its daily activity.

domain.md gives the honeypot study's rule: FFT of the daily packet-count
series; strongest peak magnitude < 0.05 -> sporadic; strongest / second > 3 ->
periodic (continuous when the peak is the DC / 1-day term); > 1.5 -> periodic;
else acyclic. Applied literally to a short series it fails: a comb of scan days
has harmonics as strong as its fundamental (and as the DC term), so the ratio is
~1 for a scanner active every 5 or 7 days, and spectral leakage puts a 5-day
cycle between bins of a 21-point FFT. What is computed here, precisely:

1. **Series.** ``a[d]`` = 1 if the source sent at least one (selected) packet on
   day ``d`` of the observation window (``N`` days, inactive days 0), else 0: the
   binary activity series, not packet counts, since daily volume varies for
   reasons unrelated to when a scanner runs (sampling, ports per day).
   ``n`` = active days.
2. **Spectrum.** ``A = rfft(a, M)`` zero-padded to ``M`` = the next power of two
   >= 8 N points, so the frequency ``k / P`` of any integer period ``P`` falls
   within ``1 / (2M)`` of a bin (magnitude error < 1 %). ``A`` is read at
   those nearest bins.
3. **Harmonic folding.** For each candidate period ``P`` = 1 .. N // 2 (at least
   two full cycles in the window) the score is the mean magnitude of its
   harmonics, normalized by what a perfect comb of period ``P`` would give::

       score(P) = mean_{k in H(P)} |A(k / P)| / max(n, N / P)
       H(1) = {0} (the DC term)      H(P) = {1 .. P // 2} for P >= 2

   A source active on exactly every ``P``-th day scores 1 at ``P``; a source
   active every day scores 1 at ``P = 1`` (DC = n / N, the share of days
   active). The ``max(n, N / P)`` denominator also scores how many of the
   ``N / P`` cycles were filled, so a divisor of the true period (whose cycles
   are mostly empty) and a random coincidence of a few days score low.
4. **Peaks.** strongest = the highest score, at period ``P*``; second = the
   highest score among periods not harmonically related to ``P*`` (neither a
   divisor nor a multiple of it; ``P = 1`` is kept as a rival of every
   ``P* >= 2``, since the DC term is not a harmonic of a cycle).
5. **Rule.** ``n < 3`` -> sporadic (a cycle needs two repeats to be seen; this
   replaces the literal threshold, which on a 21-day window only catches
   one-day sources) or strongest < 0.05 -> sporadic (kept from the study; with
   this normalization it bites only on long windows); strongest / second > 1.5
   -> periodic with period ``P*``, reported as continuous when ``P* = 1``
   (the study's > 3 and > 1.5 branches both give periodic; the ratio is
   returned as ``schedule_strength`` so callers can apply 3); else acyclic.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import polars as pl

from scantui.analysis.sort_keys import sorted_u64

SCHEDULES = ("periodic", "continuous", "sporadic", "acyclic")
_PERIODIC, _CONTINUOUS, _SPORADIC, _ACYCLIC = range(len(SCHEDULES))

MIN_ACTIVE_DAYS = 3
SPORADIC_MAX_PEAK = 0.05
PERIODIC_RATIO = 1.5
#: Bound on the complex spectrum held at once (bytes; a chunk on each of two threads). Small: at 64 MiB the
#: two threads' chunks raised the peak of the 200 M-packet port-443 list by ~230 MiB, at 4 MiB by ~30 (no more CPU).
_CHUNK_BYTES = 4 << 20


def fft_size(n_days: int) -> int:
    """Zero-padded FFT length: the next power of two >= 8 * n_days."""
    return 1 << max(3, int(np.ceil(np.log2(max(1, 8 * n_days)))))


def candidate_periods(n_days: int) -> np.ndarray:
    """Periods with at least two full cycles in the window: 1 .. n_days // 2 (at least 1)."""
    return np.arange(1, max(1, n_days // 2) + 1)


@lru_cache(maxsize=8)
def _layout(n_days: int) -> tuple[np.ndarray, list[int], np.ndarray, list[np.ndarray], np.ndarray]:
    """What :func:`period_scores` reads for a window of *n_days*: the candidate periods, the spectrum bins
    some period reads (sorted), each period's harmonic count, the column (among those bins) of the k-th
    harmonic of every period that has one (:func:`_harmonic_sums`) and the cycles ``N / P`` in the window.
    Made once per window length (a merge scores each source range's sources over the same window)."""
    periods = candidate_periods(n_days)
    m = fft_size(n_days)
    bins = [[0] if p == 1 else [int(round(k * m / p)) for k in range(1, p // 2 + 1)] for p in periods]
    # only the bins some period reads get a magnitude (the same values: |A| of the same spectrum)
    read = sorted({b for period_bins in bins for b in period_bins})
    at = {b: i for i, b in enumerate(read)}
    columns = [[at[b] for b in period_bins] for period_bins in bins]
    harmonics = np.array([len(c) for c in columns], dtype=np.float64)
    # the k-th harmonics' columns: of the periods from 2k on (a suffix of the periods)
    kth = [np.array([c[k] for c in columns if len(c) > k]) for k in range(max(len(c) for c in columns))]
    return periods, read, harmonics, kth, n_days / periods


def period_scores(activity: np.ndarray) -> np.ndarray:
    """``score(P)`` for every candidate period, one row per activity row (see the module doc)."""
    act = np.asarray(activity, dtype=bool)
    rows, n_days = act.shape
    periods, read, harmonics, kth, cycles = _layout(n_days)
    m = fft_size(n_days)
    n = act.sum(axis=1).astype(np.float64)
    out = np.zeros((rows, len(periods)))
    step = max(1, _CHUNK_BYTES // (2 * 16 * (m // 2 + 1)))

    def chunk(lo: int) -> None:
        spec = np.abs(np.fft.rfft(act[lo:lo + step].astype(np.float64), n=m, axis=1)[:, read])
        out[lo:lo + step] = _harmonic_sums(spec, kth) / harmonics / np.maximum(n[lo:lo + step, None], cycles)

    starts = range(0, rows, step)
    if len(starts) < 2:
        for lo in starts:
            chunk(lo)
        return out
    # each row's scores are its own (the same values whatever the chunks), and numpy's FFT releases the GIL:
    # the chunks on two threads (a second core, when there is one free, halves the wall time)
    with ThreadPoolExecutor(2, thread_name_prefix="scantui-fft") as pool:
        for _ in pool.map(chunk, starts):
            pass
    return out


def _harmonic_sums(spec: np.ndarray, kth: list[np.ndarray]) -> np.ndarray:
    """Each period's harmonic magnitudes summed, one row per row of *spec*: the first harmonics' columns,
    then the second ones added to the periods having one, and so on (*kth*).

    Each period's sum is its harmonics added left to right, whatever the rows beside it, so a row's score
    is the same floats in any block: a ``mean(axis=1)`` over a period's columns adds them in that order
    over a block of rows but pairwise over a single row (8 columns or more), and ``np.add.reduceat`` pairwise
    over a block too (last-bit differences); one vector add per harmonic rank for every period at once
    (21 at 84 days) instead of a gather and a mean per period (42)."""
    total = spec[:, kth[0]]
    width = total.shape[1]
    for cols in kth[1:]:
        total[:, width - len(cols):] += spec[:, cols]
    return total


def _rivals(scores: np.ndarray, periods: np.ndarray, best_i: np.ndarray) -> np.ndarray:
    """Each row's highest score among the periods not harmonically related to its best (index *best_i*):
    neither that period itself nor, for ``P >= 2``, a divisor or multiple of it (-inf when none is left).
    The rows are taken by their best period (a mask of the periods each), not masked one by one."""
    rivals = np.full(len(scores), -np.inf)
    order = np.argsort(best_i, kind="stable")
    ranked = best_i[order]
    bounds = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1], [True])))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        b = periods[ranked[lo]]
        family = ((periods % b == 0) | (b % periods == 0)) & (periods >= 2) & (b >= 2)
        others = ~(family | (periods == b))
        if others.any():
            rivals[order[lo:hi]] = scores[order[lo:hi]][:, others].max(axis=1)
    return rivals


def unique_rows(act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(act, axis=0, return_inverse=True)`` of a boolean matrix: the same rows in the same
    (lexicographic) order, found by sorting the rows' packed bits as 64-bit words (``np.unique`` with an
    axis compares rows element by element: seconds on 100 k rows of 84 days)."""
    rows = act.shape[0]
    packed = np.packbits(act, axis=1)  # first day in the high bit: word order is the rows' lexicographic order
    width = packed.shape[1]
    words = np.pad(packed, ((0, 0), (0, -width % 8))).view(">u8").astype(np.uint64)
    order = np.lexsort(words.T[::-1]) if rows else np.arange(0)
    ranked = words[order]
    first = np.ones(rows, dtype=bool)
    first[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    inverse = np.empty(rows, dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return act[order[first]], inverse


def classify(activity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Schedule, period (days, 0 when none) and strength (strongest / second) per activity row.

    Identical activity rows are scored once.
    """
    code, period, strength = classify_codes(activity)
    return np.array(SCHEDULES, dtype=object)[code], period, strength


def classify_codes(activity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`classify` with the schedule as its index in :data:`SCHEDULES` (``int8``)."""
    act = np.asarray(activity, dtype=bool)
    rows = act.shape[0]
    code = np.full(rows, _SPORADIC, dtype=np.int8)
    period = np.zeros(rows, dtype=np.int64)
    strength = np.full(rows, np.nan)
    if rows == 0 or act.shape[1] == 0:
        return code, period, strength
    n_active = act.sum(axis=1)
    todo = np.flatnonzero(n_active >= MIN_ACTIVE_DAYS)
    if len(todo) == 0:
        return code, period, strength
    patterns, inverse = unique_rows(act[todo] if len(todo) < rows else act)
    cls, best, ratio = _score_patterns(patterns)
    code[todo] = cls[inverse]
    period[todo] = best[inverse]
    strength[todo] = ratio[inverse]
    return code, period, strength


def _score_patterns(patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Schedule code, period (0 unless periodic or continuous) and strength of distinct activity rows,
    each with :data:`MIN_ACTIVE_DAYS` or more active days (the module doc's steps 2 to 5)."""
    scores = period_scores(patterns)
    periods = candidate_periods(patterns.shape[1])
    best_i = scores.argmax(axis=1)
    strongest = scores[np.arange(len(patterns)), best_i]
    best = periods[best_i]
    rivals = _rivals(scores, periods, best_i)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rivals > 0, strongest / np.where(rivals > 0, rivals, 1), np.inf)
    cls = np.where(strongest < SPORADIC_MAX_PEAK, _SPORADIC,
                   np.where(ratio > PERIODIC_RATIO, np.where(best == 1, _CONTINUOUS, _PERIODIC), _ACYCLIC)).astype(np.int8)
    has_period = (cls == _PERIODIC) | (cls == _CONTINUOUS)
    return cls, np.where(has_period, best, 0), ratio


def keyed_schedules(keys: np.ndarray, cols: np.ndarray, n_days: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`classify_codes` of sources given as (key, day) pairs: *keys* (unsigned integers, one per
    source), *cols* (the day's index in the window; pairs outside it and repeated pairs are ignored).
    Returns the sources with a day in the window (ascending) and their code, period and strength.

    The pairs are sorted as one integer (key, day) (no frame sort); a source with fewer than
    :data:`MIN_ACTIVE_DAYS` days gets no row of the activity matrix (sporadic, as :func:`classify` makes it)."""
    keys = np.asarray(keys, dtype=np.uint64)
    cols = np.asarray(cols, dtype=np.int64)
    inside = (cols >= 0) & (cols < n_days)
    if not inside.all():
        keys, cols = keys[inside], cols[inside]
    if len(keys) == 0:
        return keys, *classify_codes(np.zeros((0, max(n_days, 0)), dtype=bool))
    width = np.uint64(n_days)
    if int(keys.max()) >= np.iinfo(np.uint64).max // n_days:  # (key, day) not one integer: sorted as two
        order = np.lexsort((cols, keys))
        keys, cols = keys[order], cols[order].astype(np.uint64)
        fresh = np.concatenate(([True], (keys[1:] != keys[:-1]) | (cols[1:] != cols[:-1])))
        keys, cols = keys[fresh], cols[fresh]
    else:
        pairs = sorted_u64(keys * width + cols.astype(np.uint64))  # (np.unique hashes: ~20x slower here)
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]  # repeats dropped
        keys, cols = pairs // width, pairs % width
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    days = np.diff(np.append(starts, len(keys)))
    srcs = keys[starts]
    code = np.full(len(srcs), _SPORADIC, dtype=np.int8)
    period = np.zeros(len(srcs), dtype=np.int64)
    strength = np.full(len(srcs), np.nan)
    scored = days >= MIN_ACTIVE_DAYS
    if scored.any():
        row = np.repeat(np.cumsum(scored) - 1, days)  # each pair's row among the scored sources
        of_scored = np.repeat(scored, days)
        act = np.zeros((int(scored.sum()), n_days), dtype=bool)
        act[row[of_scored], cols[of_scored].astype(np.intp)] = True
        patterns, inverse = unique_rows(act)
        cls, best, ratio = _score_patterns(patterns)
        code[scored], period[scored], strength[scored] = cls[inverse], best[inverse], ratio[inverse]
    return srcs, code, period, strength


def schedules(active_days: pl.DataFrame, first_day, n_days: int) -> pl.DataFrame:
    """Schedule per source from its active days.

    *active_days*: one row per (``src``, ``day``) with activity (duplicates ignored, and rows with a
    null source or day: no source or day to join or place); *first_day*/*n_days*: the observation window.
    Returns ``src``, ``schedule``, ``period_days`` (null unless periodic/continuous), ``schedule_strength``
    (strongest / second period score; null for sources with < 3 active days).
    """
    if active_days.height == 0:
        return pl.DataFrame(schema={"src": pl.UInt32, "schedule": pl.String, "period_days": pl.Int64,
                                    "schedule_strength": pl.Float64})
    pairs = active_days.select("src", (pl.col("day") - pl.lit(first_day)).dt.total_days().alias("col")).drop_nulls()
    srcs, code, period, strength = keyed_schedules(pairs["src"].cast(pl.UInt64).to_numpy(), pairs["col"].to_numpy(), n_days)
    return coded_frame(pl.Series("src", srcs).cast(active_days.schema["src"]), code, period, strength)


def schedule_frame(srcs: pl.Series, act: np.ndarray) -> pl.DataFrame:
    """:func:`schedules` of the sources *srcs* (ascending, each active in the window) from their activity rows
    *act* (sources x days of the window)."""
    return coded_frame(srcs, *classify_codes(act))


def coded_frame(srcs: pl.Series, code: np.ndarray, period: np.ndarray, strength: np.ndarray) -> pl.DataFrame:
    """The frame :func:`schedules` returns, from :func:`classify_codes`' arrays for the sources *srcs*."""
    return pl.DataFrame({
        "src": srcs,
        "schedule": pl.Series(SCHEDULES, dtype=pl.String).gather(code),
        "period_days": pl.Series(period).replace(0, None),
        # inf (no rival at all) and nan (not scored) become null: JSON has neither
        "schedule_strength": pl.Series(np.where(np.isfinite(strength), strength, np.nan)).fill_nan(None),
    })


def source_schedules(rows: pl.LazyFrame, first_day, n_days: int) -> pl.DataFrame:
    """:func:`schedules` of ``port_day``-shaped rows (``src``, ``day``) over the window; an empty
    frame when there is no window (no data)."""
    if first_day is None or n_days <= 0:
        return schedules(pl.DataFrame(), first_day, n_days)
    return schedules(rows.select("src", "day").unique().collect(), first_day, n_days)
