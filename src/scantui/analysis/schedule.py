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

import numpy as np
import polars as pl

SCHEDULES = ("periodic", "continuous", "sporadic", "acyclic")

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


def period_scores(activity: np.ndarray) -> np.ndarray:
    """``score(P)`` for every candidate period, one row per activity row (see the module doc)."""
    act = np.asarray(activity, dtype=bool)
    rows, n_days = act.shape
    periods = candidate_periods(n_days)
    m = fft_size(n_days)
    bins = [[0] if p == 1 else [int(round(k * m / p)) for k in range(1, p // 2 + 1)] for p in periods]
    # only the bins some period reads get a magnitude (the same values: |A| of the same spectrum)
    read = sorted({b for period_bins in bins for b in period_bins})
    at = {b: i for i, b in enumerate(read)}
    columns = [[at[b] for b in period_bins] for period_bins in bins]
    n = act.sum(axis=1).astype(np.float64)
    out = np.zeros((rows, len(periods)))
    step = max(1, _CHUNK_BYTES // (2 * 16 * (m // 2 + 1)))

    def chunk(lo: int) -> None:
        spec = np.abs(np.fft.rfft(act[lo:lo + step].astype(np.float64), n=m, axis=1)[:, read])
        for j, (p, c) in enumerate(zip(periods, columns)):
            out[lo:lo + step, j] = _row_means(spec, c) / np.maximum(n[lo:lo + step], n_days / p)

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


def _row_means(spec: np.ndarray, columns: list[int]) -> np.ndarray:
    """The mean of *columns* in each row of *spec*, the columns added left to right.

    ``spec[:, columns].mean(axis=1)`` adds them in that order over a block of rows but pairwise over a
    single row (8 columns or more): a row's score then depended on how many rows shared its block (the
    chunks here, the merge's source ranges), in the last bit. A single row is summed here in numpy's
    block order (a loop over the columns, slower than numpy's on a block: used only there)."""
    if spec.shape[0] != 1:
        return spec[:, columns].mean(axis=1)
    total = spec[:, columns[0]].copy()
    for c in columns[1:]:
        total += spec[:, c]
    return total / len(columns)


def _related(periods: np.ndarray, best: np.ndarray) -> np.ndarray:
    """rows x periods: True where the period is ``best`` itself or a divisor/multiple of it (P >= 2)."""
    p = periods[None, :]
    b = best[:, None]
    family = ((p % b == 0) | (b % p == 0)) & (p >= 2) & (b >= 2)
    return family | (p == b)


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
    act = np.asarray(activity, dtype=bool)
    rows = act.shape[0]
    schedule = np.full(rows, "sporadic", dtype=object)
    period = np.zeros(rows, dtype=np.int64)
    strength = np.full(rows, np.nan)
    if rows == 0 or act.shape[1] == 0:
        return schedule, period, strength
    n_active = act.sum(axis=1)
    todo = np.flatnonzero(n_active >= MIN_ACTIVE_DAYS)
    if len(todo) == 0:
        return schedule, period, strength
    patterns, inverse = unique_rows(act[todo])
    scores = period_scores(patterns)
    periods = candidate_periods(act.shape[1])
    best_i = scores.argmax(axis=1)
    strongest = scores[np.arange(len(patterns)), best_i]
    best = periods[best_i]
    rivals = np.where(_related(periods, best), -np.inf, scores).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rivals > 0, strongest / np.where(rivals > 0, rivals, 1), np.inf)
    cls = np.where(strongest < SPORADIC_MAX_PEAK, "sporadic",
                   np.where(ratio > PERIODIC_RATIO, np.where(best == 1, "continuous", "periodic"), "acyclic"))
    has_period = (cls == "periodic") | (cls == "continuous")
    schedule[todo] = cls[inverse]
    period[todo] = np.where(has_period, best, 0)[inverse]
    strength[todo] = ratio[inverse]
    return schedule, period, strength


def schedules(active_days: pl.DataFrame, first_day, n_days: int) -> pl.DataFrame:
    """Schedule per source from its active days.

    *active_days*: one row per (``src``, ``day``) with activity (duplicates ignored);
    *first_day*/*n_days*: the observation window. Returns ``src``, ``schedule``,
    ``period_days`` (null unless periodic/continuous), ``schedule_strength``
    (strongest / second period score; null for sources with < 3 active days).
    """
    if active_days.height == 0:
        return pl.DataFrame(schema={"src": pl.UInt32, "schedule": pl.String, "period_days": pl.Int64,
                                    "schedule_strength": pl.Float64})
    # sorted by source: a source's row in the activity matrix is its rank among the sources (ascending)
    idx = (
        active_days.lazy().select("src", (pl.col("day") - pl.lit(first_day)).dt.total_days().cast(pl.Int64).alias("col"))
        .filter(pl.col("col").is_between(0, n_days - 1))
        .sort("src")
        .with_columns((pl.col("src").diff().fill_null(1) != 0).alias("first"))
        .collect()
    )
    first = idx["first"]
    srcs = idx["src"].filter(first)
    act = np.zeros((len(srcs), n_days), dtype=bool)
    act[first.cum_sum().to_numpy() - 1, idx["col"].to_numpy()] = True
    return schedule_frame(srcs, act)


def schedule_frame(srcs: pl.Series, act: np.ndarray) -> pl.DataFrame:
    """:func:`schedules` of the sources *srcs* (ascending, each active in the window) from their activity rows
    *act* (sources x days of the window)."""
    schedule, period, strength = classify(act)
    return pl.DataFrame({
        "src": srcs,
        "schedule": schedule.astype(str),
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
