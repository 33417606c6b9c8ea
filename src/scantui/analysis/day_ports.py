"""Each day's probe packets per destination port: the overview's busiest ports from small tables.

A day state holds ``ports.parquet``: one row per destination port of the day's TCP probes
(``dport``, ``packets``; sorted by port), written with its ``day_totals`` (:func:`day_table`).
A rollup links the days' files as ``ports/day=D/`` (:data:`TABLE`, a
:class:`~scantui.analysis.day_links.DayTable`); the probe packets of a port over the data are
the sum over the days: exact, from at most 65,536 rows a day, where the sums over ``port_day``
read every probe row (77.6 M at 200 M packets, 2-3 CPU s). A day built before the table gets
it from its ``port_day`` rows when a rollup is next merged from it; a rollup merged before has
none, and the overview sums ``port_day`` as before.
"""

from __future__ import annotations

import polars as pl

from scantui.analysis.day_links import DayTable
from scantui.analysis.rollup_layout import PORT_DAY_BASE


def day_table(packets: pl.LazyFrame) -> pl.LazyFrame:
    """The probe packets per port of a day's classified *packets* (``kind``: :func:`~scantui.analysis.rollup.classify`)."""
    return (packets.filter(pl.col("kind") == "probe").group_by("dport")
            .agg(pl.len().cast(pl.UInt64).alias("packets")).sort("dport"))


def from_port_day(rows: pl.LazyFrame) -> pl.LazyFrame:
    """The same table from a day's ``port_day`` rows (a day state built before the table)."""
    return (rows.filter(pl.col("kind") == "probe").group_by("dport")
            .agg(pl.col("packets").sum().cast(pl.UInt64).alias("packets")).sort("dport"))


TABLE = DayTable("ports", "ports.parquet", ("day", "dport", "packets"), PORT_DAY_BASE, from_port_day)


def busiest(days: pl.LazyFrame, n: int) -> pl.LazyFrame:
    """The *n* ports with the most probe packets over the days (``dport``, ``packets``; ties: the lower port)."""
    # UInt64 before the sum: polars sums a UInt32 column (port_day's) in UInt32, and a busy port's year passes 2^32
    return (days.group_by("dport").agg(pl.col("packets").cast(pl.UInt64).sum().alias("packets"))
            .sort(["packets", "dport"], descending=[True, False]).head(n))
