"""Each day's distinct destinations: ``scantui info``'s destination count over the data, exact, from small tables.

A day state holds ``destinations.parquet``, the day's distinct destination addresses (every
packet's, as its (source, kind, destination) pairs hold them; sorted), written with its
``day_totals`` (:func:`day_table`). A rollup links the days' files as ``destinations/day=D/``
(:data:`TABLE`, a :class:`~scantui.analysis.day_links.DayTable`). The data's distinct
destinations are the distinct values of their union: exact, and a telescope's
addresses a day (61 k here) instead of every distinct (source, kind, destination) of the data
(156 M rows at 200 M packets: ~5 CPU s; ~10 G at a telescope-year). A day built before the
table gets it from the day's pairs when a rollup is next merged from it (~0.065 CPU s a
2.4 M-packet day, once); a rollup merged before has none, and ``info`` counts its merged pairs.
"""

from __future__ import annotations

import polars as pl

from scantui.analysis.day_links import DayTable
from scantui.analysis.rollup_layout import PAIRS


def day_table(packets: pl.LazyFrame) -> pl.LazyFrame:
    """The distinct ``dst`` of a day's *packets* (or of its pairs), sorted (the same bytes each build)."""
    return packets.select("dst").unique().sort("dst")


TABLE = DayTable("destinations", "destinations.parquet", ("day", "dst"), PAIRS, day_table)
