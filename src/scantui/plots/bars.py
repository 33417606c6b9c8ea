"""The bar-chart call sequence every plotext builder shares, and bucketing to few bars.

``plt`` is anything plotext-like: the ``plotext`` module or textual-plotext's
``PlotextPlot.plt``. Only calls both offer are used (``bar``, ``xticks``,
``yticks``, ``xlim``, ``ylim``, ``vline``, ``title``, ``xlabel``, ``ylabel``);
nothing is cleared, shown or built here. Every text passes through
:func:`scantui.safetext.safe_text`, so an untrusted label cannot reach the
terminal as an escape sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scantui.plots.ticks import int_ticks
from scantui.safetext import safe_text

MAX_BARS = 400  # plotext redraws every point on each render: keep figures small
LABEL_LIMIT = 32  # characters of one tick label
VALUE_TICKS = 4  # ticks on a count axis: the figure's height is not known when it is built


def bucket(values: np.ndarray, max_bars: int = MAX_BARS) -> tuple[np.ndarray, int]:
    """*values* summed in runs of *k* consecutive items so at most *max_bars* remain; returns (sums, k)."""
    values = np.asarray(values)
    k = max(1, -(-len(values) // max_bars))
    if k == 1:
        return values, 1
    return np.add.reduceat(values, np.arange(0, len(values), k)), k


def count_ticks(top: int) -> list[int]:
    """Round integer ticks from 0 to *top* (at least 0 and 1), few enough for a short figure."""
    return int_ticks(0, max(int(top), 1), max_ticks=VALUE_TICKS)


def draw_bars(
    plt: Any,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    title: str,
    ticks: Sequence[float] = (),
    tick_labels: Sequence[str] = (),
    xlabel: str = "",
    ylabel: str = "",
    horizontal: bool = False,
) -> None:
    """Bars of height *y* at positions *x*, the value axis from 0, labelled ticks on the position axis.

    When every *y* is a whole number (counts: packets, scans, members), the value axis gets integer ticks
    (plotext's own ticks are fractions: ``0.33`` scans, ``3413.3`` packets).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(y):
        plt.bar(x.tolist(), y.tolist(), orientation="horizontal" if horizontal else "vertical")
        # Both limits explicit: plotext otherwise keeps ranges from an earlier, empty build
        # (textual-plotext builds on mount), which shifts horizontal bars off their labels.
        half = float(np.diff(np.unique(x)).min(initial=2.0)) / 2
        (plt.ylim if horizontal else plt.xlim)(float(x.min()) - half, float(x.max()) + half)
        if y.min() >= 0:
            (plt.xlim if horizontal else plt.ylim)(0, float(y.max()) if y.max() > 0 else 1.0)
            if np.all(y == np.round(y)):
                counts = count_ticks(int(y.max()))
                (plt.xticks if horizontal else plt.yticks)([float(t) for t in counts], [f"{t:,}" for t in counts])
    if len(ticks):
        labels = [safe_text(label, limit=LABEL_LIMIT) for label in tick_labels]
        (plt.yticks if horizontal else plt.xticks)([float(t) for t in ticks], labels)
    plt.title(safe_text(title))
    if xlabel:
        plt.xlabel(safe_text(xlabel))
    if ylabel:
        plt.ylabel(safe_text(ylabel))
