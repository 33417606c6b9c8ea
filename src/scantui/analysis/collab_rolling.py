"""Collab's rolling windows (``--window 24h``...) over a (key, port) group too big for one read.

A rolling window is anchored where a source's session starts (:func:`~scantui.analysis.collab_cover.cut_windows`),
so a group's windows depend on all of its probes, and :mod:`~scantui.analysis.collab_batches` reads a group whole:
a busy AS's group on one port (bots every day) was one read of all its probes (1.4 GB at 112 days of a 500-bot
botnet). A group whose estimate is above the budget is read here in two passes over its days, each a batch of days
of at most the budget (a day above it alone):

1. its session starts, each source's last probe carried from one batch of days to the next: the group's anchors
   and windows, exactly as read whole;
2. its windows in time order, a batch of them read with every day they reach, each searched on its own probes.

The same windows and covers as the group read whole (``tests/test_collab_batches.py``); a window reaching days
above the budget is read with them (the budget bounds a batch of days, not one window)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from scantui.analysis.collab_cover import rolling_windows
from scantui.analysis.collab_query import DAY_US


def search_group(rows: pl.DataFrame, load: Callable[[pl.DataFrame], pl.DataFrame], window_us: int, budget: int,
                 search: Callable[[np.ndarray, np.ndarray, np.ndarray, int], list[dict[str, Any]]],
                 ) -> tuple[list[dict[str, Any]], int, int]:
    """(covers, windows searched, probes read) of one group: *rows* its (day, dport, src, packets) rows, *load*
    (need rows) -> their probes (``t``, ``src``, ``dst``...), *search* (t, src, dst, window start) -> covers."""
    per_day = rows.group_by("day").agg(pl.col("packets").cast(pl.Int64).sum()).sort("day")
    days = per_day["day"].cast(pl.Int32).to_numpy()  # days since the epoch
    cum = np.cumsum(per_day["packets"].to_numpy())
    read = 0

    def probes(lo: int, hi: int) -> pl.DataFrame:  # the group's probes of days[lo:hi]
        nonlocal read
        need = rows.filter(pl.col("day").cast(pl.Int32).is_between(int(days[lo]), int(days[hi - 1])))
        pk = load(need.select("day", "dport", "src").unique())
        read += pk.height
        return pk

    # 1. session starts, a batch of days at a time
    half = window_us // 2
    carry = pl.DataFrame(schema={"src": pl.UInt32, "last": pl.Int64})
    starts = []
    for lo, hi in _cuts(cum, budget):
        b = (probes(lo, hi).select(pl.col("src").cast(pl.UInt32), "t").sort("src", "t")
             .with_columns(pl.col("t").shift(1).over("src").alias("prev"))
             .join(carry, on="src", how="left").with_columns(pl.coalesce("prev", "last").alias("prev")))
        starts.append(b.filter(pl.col("prev").is_null() | (pl.col("t") - pl.col("prev") >= half))["t"].to_numpy())
        carry = (pl.concat([carry, b.group_by("src").agg(pl.col("t").max().alias("last"))])
                 .group_by("src").agg(pl.col("last").max()))
    windows = rolling_windows(np.concatenate(starts), window_us) if starts else []

    # 2. the windows, a batch of them with the days they reach
    out: list[dict[str, Any]] = []
    searched, i = 0, 0
    while i < len(windows):
        first = int(np.searchsorted(days, windows[i][0] // DAY_US, side="left"))
        j = i + 1
        while j < len(windows) and _span(cum, first, days, windows[j][1] - 1) <= budget:
            j += 1
        last = int(np.searchsorted(days, (windows[j - 1][1] - 1) // DAY_US, side="right"))
        pk = probes(first, max(last, first + 1)).sort("t")
        t, src, dst = pk["t"].to_numpy(), pk["src"].to_numpy(), pk["dst"].to_numpy()
        for a, e in windows[i:j]:
            x, y = np.searchsorted(t, [a, e], side="left")
            if y > x:
                searched += 1
                out.extend(search(t[x:y], src[x:y], dst[x:y], a))
        i = j
    return out, searched, read


def _cuts(cum: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """[lo, hi) runs of days whose packets sum to at most *budget* (a day above it alone), in order."""
    out, lo = [], 0
    while lo < len(cum):
        base = cum[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(cum, base + budget, side="right")))
        out.append((lo, hi))
        lo = hi
    return out


def _span(cum: np.ndarray, first: int, days: np.ndarray, end_us: int) -> int:
    """The packets of the days from index *first* to the day of *end_us*."""
    last = int(np.searchsorted(days, end_us // DAY_US, side="right"))
    return int(cum[max(last, first + 1) - 1] - (cum[first - 1] if first else 0))
