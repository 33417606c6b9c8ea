"""When a group scans and how big it is: weekday and day-of-month bars, group-size histogram."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scantui.plots.bars import bucket, draw_bars
from scantui.plots.ticks import int_ticks

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHDAY_TICKS = (1, 5, 10, 15, 20, 25, 31)


def _check_length(counts: Sequence[int], n: int, what: str) -> None:
    if len(counts) != n:
        raise ValueError(f"expected {n} {what} counts, got {len(counts)}")


def weekday_bars(plt: Any, counts: Sequence[int], *, title: str = "scans per weekday") -> None:
    """Seven bars, Monday to Sunday."""
    _check_length(counts, 7, "weekday")
    draw_bars(plt, range(7), counts, title=title, ticks=range(7), tick_labels=WEEKDAYS)


def monthday_bars(plt: Any, counts: Sequence[int], *, title: str = "scans per day of month") -> None:
    """31 bars, day 1 to day 31 of the month."""
    _check_length(counts, 31, "day-of-month")
    draw_bars(plt, range(1, 32), counts, title=title, ticks=MONTHDAY_TICKS, tick_labels=[str(d) for d in MONTHDAY_TICKS])


def size_histogram(plt: Any, sizes: Sequence[int], *, title: str = "group size per scan") -> None:
    """How many scans had each group size: one bar per size from the smallest to the largest seen.

    Wider ranges than :data:`~scantui.plots.bars.MAX_BARS` sizes are summed into integer bins of *k* sizes.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if not sizes.size:
        draw_bars(plt, [], [], title=title, ylabel="scans")
        return
    if sizes.min() < 0:
        raise ValueError("group sizes cannot be negative")
    lo, hi = int(sizes.min()), int(sizes.max())
    counts, k = bucket(np.bincount(sizes - lo))
    ticks = int_ticks(lo, hi)
    draw_bars(
        plt,
        lo + np.arange(len(counts)) * k + (k - 1) / 2,
        counts,
        title=title if k == 1 else f"{title} (bins of {k})",
        ticks=ticks,
        tick_labels=[str(t) for t in ticks],
        xlabel="sources",
        ylabel="scans",
    )
