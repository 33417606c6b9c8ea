"""Each day's distinct destinations: ``scantui info``'s destination count over the data, exact, from small tables.

A day state holds :data:`DAY_FILE`, the day's distinct destination addresses (every packet's,
as its (source, kind, destination) pairs hold them; sorted), written with its ``day_totals``
(:func:`day_table`). A rollup links the days' files as ``destinations/day=D/``
(:mod:`~scantui.analysis.day_links`). The data's distinct destinations are the distinct values
of their union (:func:`count`): exact, and a telescope's addresses a day (61 k here, ~1 M rows
for a /8's year of busy days) instead of every distinct (source, kind, destination) of the data
(156 M rows at 200 M packets: ~5 CPU s; ~10 G at a telescope-year). A rollup with a day built
before the table gets it from the day's pairs when a rollup is next merged from it (:func:`link_days`); a
rollup merged before has none, and ``info`` counts its merged pairs as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scantui.analysis import day_links
from scantui.analysis.rollup_layout import PAIRS
from scantui.fsutil import atomic_path

TABLE = "destinations"
DAY_FILE = "destinations.parquet"


def day_table(packets: pl.LazyFrame) -> pl.LazyFrame:
    """The distinct ``dst`` of a day's *packets*, sorted (the same bytes each build)."""
    return packets.select("dst").unique().sort("dst")


def link_days(days: Sequence[tuple[dt.date, Path]], out: Path, link) -> None:
    """``out/destinations/day=D/00000000.parquet`` for each (day, state folder); a state built before the table
    gets it first from its (source, kind, destination) pairs (~0.05 CPU s a 2.4 M-packet day, once)."""
    for _day, state in days:
        _backfill(state)
    day_links.link_days(days, out, link, TABLE, DAY_FILE)


def _backfill(state: Path) -> None:
    target, pairs = state / DAY_FILE, state / PAIRS
    if target.is_file() or not pairs.is_file():
        return
    with atomic_path(target) as tmp:  # a new file beside the state's: none of them changes
        day_table(pl.scan_parquet(pairs, glob=False)).collect(engine="streaming").write_parquet(tmp)


def scan_days(rollup: Path) -> pl.LazyFrame | None:
    """The rollup's days' destinations (``day``, ``dst``), or None when a day was built without them."""
    return day_links.scan_days(rollup, TABLE, ["day", "dst"])


def count(days: pl.LazyFrame) -> pl.LazyFrame:
    """One row, ``destinations``: the distinct destinations over the days."""
    return days.select(pl.col("dst").n_unique().alias("destinations"))
