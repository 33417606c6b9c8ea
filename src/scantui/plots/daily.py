"""Packets (or scans) per day over months, as a plotext bar chart.

The whole calendar range is drawn: a day with no data is a bar of 0, so rests
show as gaps. Over more than :data:`~scantui.plots.bars.MAX_BARS` days, bars
become sums of *k* consecutive days and the title says so. Date labels are
ISO days at round steps (days, weeks, months).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from scantui.plots.bars import bucket, draw_bars
from scantui.plots.ticks import DAY_US, format_us, nice_ticks

ASSUMED_COLUMNS = 80  # the plot's width is not known until it renders; plotext drops labels that collide


def calendar_series(days: Sequence[dt.date], values: Sequence[float]) -> tuple[dt.date | None, np.ndarray]:
    """The first day and one value per calendar day from it to the last (missing days 0, repeats summed)."""
    if len(days) != len(values):
        raise ValueError(f"{len(days)} days but {len(values)} values")
    if not len(days):
        return None, np.zeros(0)
    ordinals = np.array([d.toordinal() for d in days], dtype=np.int64)
    first = int(ordinals.min())
    series = np.bincount(ordinals - first, weights=np.asarray(values, dtype=np.float64))
    return dt.date.fromordinal(first), series


def per_day(
    plt: Any,
    days: Sequence[dt.date],
    values: Sequence[float],
    *,
    title: str = "packets per day",
    ylabel: str = "packets",
) -> None:
    """Bars per calendar day from the first to the last of *days*; gaps are drawn as 0."""
    first, series = calendar_series(days, values)
    if first is None:
        draw_bars(plt, [], [], title=title, ylabel=ylabel)
        return
    sums, k = bucket(series)
    first_us = (first - dt.date(1970, 1, 1)).days * DAY_US
    ticks, fmt = nice_ticks(first_us, first_us + len(series) * DAY_US, room=ASSUMED_COLUMNS, min_step_us=DAY_US)
    draw_bars(
        plt,
        np.arange(len(sums)) * k + (k - 1) / 2,
        sums,
        title=title if k == 1 else f"{title} ({k}-day sums)",
        ticks=[(t - first_us) // DAY_US for t in ticks],
        tick_labels=[format_us(t, fmt) for t in ticks],
        ylabel=ylabel,
    )
