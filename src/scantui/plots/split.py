"""The destination split: each member's share of the telescope, as horizontal bars.

The largest share is on top; past :data:`MAX_MEMBERS` members the rest are
summed into one ``others (N)`` bar. Labels (IPs, hostnames) are untrusted and
go through ``safe_text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scantui.plots.bars import draw_bars

MAX_MEMBERS = 40


def top_shares(labels: Sequence[str], shares: Sequence[float], limit: int = MAX_MEMBERS) -> tuple[list[str], list[float]]:
    """The *limit* largest shares (stable among ties) and an ``others (N)`` entry for the rest, largest first."""
    if len(labels) != len(shares):
        raise ValueError(f"{len(labels)} labels but {len(shares)} shares")
    values = np.asarray(shares, dtype=np.float64)
    by_share = np.argsort(-values, kind="stable")
    top, rest = by_share[:limit], by_share[limit:]
    out_labels = [str(labels[i]) for i in top]
    out_shares = [float(values[i]) for i in top]
    if len(rest):
        out_labels.append(f"others ({len(rest)})")
        out_shares.append(float(values[rest].sum()))
    return out_labels, out_shares


def split_bars(plt: Any, labels: Sequence[str], shares: Sequence[float], *, title: str = "share of the telescope") -> None:
    """One horizontal bar per member (top :data:`MAX_MEMBERS`, then ``others``), largest on top."""
    names, values = top_shares(labels, shares)
    rows = np.arange(len(values))[::-1]  # plotext draws the first bar at the bottom
    draw_bars(plt, rows, values, title=title, ticks=rows, tick_labels=names, xlabel="share", horizontal=True)
