"""Each day's packets per traffic kind and protocol: ``scantui info``'s protocols from small tables.

A day state holds ``protocols.parquet``: one row per (``kind``, ``proto``) of the day's packets
(``packets`` UInt64; ``proto`` null for a packet without one; sorted), written with its
``day_totals`` (:func:`day_table`). A rollup links the days' files as ``protocols/day=D/``
(:data:`TABLE`, a :class:`~scantui.analysis.day_links.DayTable`). ``info`` sums the ``other``
kind's rows per protocol over the days (the TCP kinds, UDP and ICMP are one protocol each):
exact, from a few rows a day, where it filtered every ``port_day`` row by kind (77.6 M at 200 M
packets, ~1 CPU s). A day built before the table gets it from its ``port_day`` rows when a
rollup is next merged from it; a rollup merged before has none, and ``info`` reads ``port_day``.
"""

from __future__ import annotations

import polars as pl

from scantui.analysis.day_links import DayTable
from scantui.analysis.rollup_layout import PORT_DAY_BASE


def day_table(packets: pl.LazyFrame) -> pl.LazyFrame:
    """The packets per (kind, protocol) of a day's classified *packets* (:func:`~scantui.analysis.rollup.classify`)."""
    return (packets.group_by("kind", "proto").agg(pl.len().cast(pl.UInt64).alias("packets"))
            .sort("kind", "proto", nulls_last=True))


def from_port_day(rows: pl.LazyFrame) -> pl.LazyFrame:
    """The same table from a day's ``port_day`` rows (a day state built before the table)."""
    return (rows.group_by("kind", "proto").agg(pl.col("packets").sum().cast(pl.UInt64).alias("packets"))
            .sort("kind", "proto", nulls_last=True))


TABLE = DayTable("protocols", "protocols.parquet", ("day", "kind", "proto", "packets"), PORT_DAY_BASE, from_port_day)


def other_per_protocol(days: pl.LazyFrame) -> pl.LazyFrame:
    """(``proto``, ``packets`` Int64) of the ``other`` kind over the days."""
    return (days.filter(pl.col("kind") == "other").group_by("proto")
            .agg(pl.col("packets").sum().cast(pl.Int64)))
