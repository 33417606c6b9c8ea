"""Collab's ``burst`` pre-filter for /24 keys from each day's (/24, port) sums of its bursts, not its every burst.

The /24 pass of :func:`~scantui.analysis.collab_bursts.burst_sources` keeps a (/24, port) pair when its day
tables' bursts, standalone ones left out, come from at least ``min_sources`` sources and their ``dsts``
sum to the cover minimum. It read every burst of the data for that (6.3 M rows at 200 M packets, 1.2 CPU s,
linear in the days). Each day state now also holds :data:`TABLE`'s file: one row per (/24, port) of the
day's burst table whose ``dsts`` sum to at least :data:`FLOOR` (``pair`` = /24 × 65536 + port, the sum
``s``, the smallest and largest source ``lo``, ``hi``), a :class:`~scantui.analysis.day_links.DayTable`
made from the day's bursts (a state built before gets it when a rollup is next merged from it).

**Why the pairs it passes are a superset** (:func:`passing_pairs`). A query only removes bursts from
what a day summed (the standalone rule, ``--port``; ``--tool`` and ``--telescope`` count every burst
there too), so on a day where a pair is in the table its sum is at most ``s``, and on any other day at
most ``FLOOR - 1``; over the data's ``D`` days a pair sums to at most ``Σ s + (D - days in the table) ×
(FLOOR - 1)``. Its sources are at least two only if ``lo < hi`` on some day in the table, or it has a day
not in the table (whose sources are unknown). When ``D × (FLOOR - 1)`` reaches the cover minimum, light
days alone could pass any pair: the table cannot prune and the pass reads every burst as before (a tiny
telescope, or thousands of days). Only the passing pairs' bursts are then read and tested exactly, so
the result is the same (tested against the pass over every burst); where none passes, none is read.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from scantui.analysis import bursts as bw
from scantui.analysis.day_links import DayTable

#: (/24, port) groups of a day summing to fewer destinations are left out of its table.
FLOOR = 32


def pair_of(src: pl.Expr, dport: pl.Expr) -> pl.Expr:
    """A (/24, port) pair as one integer: the /24 above the port (what the /24 pass groups by)."""
    return (src // 256).cast(pl.UInt64) * 65536 + dport.cast(pl.UInt64)


def day_table(rows: pl.LazyFrame) -> pl.LazyFrame:
    """A day's table from its bursts (:data:`~scantui.analysis.bursts.SCHEMA`), sorted by pair."""
    return (rows.group_by(pair_of(pl.col("src"), pl.col("dport")).alias("pair"))
            .agg(pl.col("dsts").cast(pl.UInt64).sum().alias("s"), pl.col("src").min().alias("lo"),
                 pl.col("src").max().alias("hi"))
            .filter(pl.col("s") >= FLOOR).sort("pair"))


TABLE = DayTable(f"burst_sums_{FLOOR}", f"burst_sums_{FLOOR}.parquet", ("day", "pair", "s", "lo", "hi"), bw.DAY_FILE,
                 day_table)


@dataclass(frozen=True)
class BurstSums:
    """A rollup's days' tables (lazy, with ``day``) and how many days the data has (each has its table)."""

    table: pl.LazyFrame
    days: int


def scan(rollup: Path) -> BurstSums | None:
    """The rollup's tables, or None in a rollup merged before them."""
    table = TABLE.scan(rollup)
    if table is None:
        return None
    return BurstSums(table, sum(1 for _ in (rollup / TABLE.table).glob("day=*")))


def passing_pairs(sums: BurstSums, ports: Collection[int] | None, cover_min: float,
                  min_sources: int) -> pl.Series | None:
    """The pairs (:func:`pair_of`) the /24 pass may keep (the bound in the module doc), or None when the table
    cannot prune (``days × (FLOOR - 1) ≥ cover_min``)."""
    if sums.days * (FLOOR - 1) >= cover_min:
        return None
    lf = sums.table
    if ports:
        lf = lf.filter((pl.col("pair") % 65536).is_in(pl.Series(sorted(ports), dtype=pl.UInt64).implode()))
    light = pl.lit(sums.days, pl.Int64) - pl.len().cast(pl.Int64)  # the days a pair is not in the table
    bound = pl.col("s").sum().cast(pl.Float64) + light.cast(pl.Float64) * (FLOOR - 1)
    sources = (pl.col("lo").min() < pl.col("hi").max()) | (light > 0) if min_sources >= 2 else pl.lit(True)
    return (lf.group_by("pair").agg(((bound >= cover_min) & sources).alias("ok"))
            .filter("ok").select("pair").sort("pair").collect()["pair"])
