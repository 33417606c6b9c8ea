"""The destination split: each member's share of the telescope, as horizontal bars.

Up to :data:`MAX_MEMBERS` members, one bar per member, the largest share on
top (the figure is as tall as it needs; the panel scrolls). Past that, a bar
per member is unreadable, and a top-N list would hide members: the figure is a
histogram of shares instead, one bar per share range with the number of members
in it, and the counts add up to the member count. Either way the title says how
many members there are. Labels (IPs, hostnames) are untrusted and go through
``safe_text``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from scantui.plots.bars import draw_bars

MAX_MEMBERS = 40
HISTOGRAM_BINS = 12
EXTRA_ROWS = 5  # title, frame top and bottom, tick labels, axis label


def _check(labels: Sequence[str], shares: Sequence[float]) -> np.ndarray:
    if len(labels) != len(shares):
        raise ValueError(f"{len(labels)} labels but {len(shares)} shares")
    return np.asarray(shares, dtype=np.float64)


def by_share(labels: Sequence[str], shares: Sequence[float]) -> tuple[list[str], list[float]]:
    """Every member, largest share first (stable among ties)."""
    values = _check(labels, shares)
    order = np.argsort(-values, kind="stable")
    return [str(labels[i]) for i in order], [float(values[i]) for i in order]


def _decimals(step: float) -> int:
    """Decimals of a percentage that tell edges *step* (a fraction) apart."""
    if step <= 0:
        return 1
    return min(6, max(1, 1 - math.floor(math.log10(step * 100))))


def share_histogram(shares: Sequence[float], bins: int = HISTOGRAM_BINS) -> tuple[list[str], list[int]]:
    """Members per share range, the largest shares first: ``(["0.48-0.50%", ...], [180, ...])``.

    Ranges are equal over [smallest, largest share] (the last one closed); every member is in exactly one, so
    the counts add up to ``len(shares)``. Empty ranges are kept, so gaps show.
    """
    values = np.asarray(shares, dtype=np.float64)
    if not values.size:
        return [], []
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return [f"{lo * 100:.{_decimals(abs(lo) or 0.01)}f}%"], [int(values.size)]
    bins = max(1, min(bins, int(np.unique(values).size)))
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    digits = _decimals((hi - lo) / bins)
    labels = [f"{a * 100:.{digits}f}-{b * 100:.{digits}f}%" for a, b in zip(edges[:-1], edges[1:])]
    return labels[::-1], [int(c) for c in counts[::-1]]


def split_rows(shares: Sequence[float]) -> int:
    """Rows the figure of :func:`split_bars` needs to draw every bar for *shares* (plot rows, no border)."""
    n = len(shares)
    bars = n if n <= MAX_MEMBERS else len(share_histogram(shares)[0])
    return max(bars, 1) + EXTRA_ROWS


def split_bars(plt: Any, labels: Sequence[str], shares: Sequence[float], *, title: str = "share of the telescope") -> None:
    """One horizontal bar per member, largest on top; past :data:`MAX_MEMBERS`, members per share range."""
    values = _check(labels, shares)
    n = len(values)
    head = f"{title} · " if title else ""
    if n <= MAX_MEMBERS:
        names, shares_ = by_share(labels, values)
        bars = [s * 100 for s in shares_]
        title, xlabel = f"{head}{n} member{'s' if n != 1 else ''}", "% of the telescope"
    else:
        names, counts = share_histogram(values)
        bars = [float(c) for c in counts]
        title, xlabel = f"{head}{n} members, by share of the telescope", "members"
    rows = np.arange(len(bars))[::-1]  # plotext draws the first bar at the bottom
    draw_bars(plt, rows, bars, title=title, ticks=rows, tick_labels=names, xlabel=xlabel, horizontal=True)
