"""A day state's own table linked into a rollup, one folder a day, and read back with its day.

A rollup holds such a table as ``TABLE/day=D/00000000.parquet`` (a hard link to the day state's
file, a copy where links fail): only when every day state has the file, so a table read back
covers the data or is absent (a day built before the table existed: the reader falls back).
Used by the bursts (:mod:`~scantui.analysis.bursts`) and the days' destinations
(:mod:`~scantui.analysis.day_destinations`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl


def link_days(days: Sequence[tuple[dt.date, Path]], out: Path, link: Callable[[Path, Path], None], table: str,
              day_file: str) -> None:
    """``out/TABLE/day=D/00000000.parquet`` for each (day, state folder), when every state has *day_file*."""
    if not days or not all((state / day_file).is_file() for _day, state in days):
        return
    for day, state in days:
        folder = out / table / f"day={day.isoformat()}"
        folder.mkdir(parents=True)
        link(state / day_file, folder / "00000000.parquet")


def scan_days(rollup: Path, table: str, columns: Sequence[str]) -> pl.LazyFrame | None:
    """The rollup's linked days of *table* (*columns*, ``day`` from the folder), or None when it has none."""
    root = rollup / table
    if not root.is_dir() or not any(root.glob("day=*/*.parquet")):
        return None
    return pl.scan_parquet(root, hive_partitioning=True, hive_schema={"day": pl.Date()}, glob=False).select(columns)
