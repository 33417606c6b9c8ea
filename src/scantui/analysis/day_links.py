"""A day state's own table linked into a rollup, one folder a day, and read back with its day.

A rollup holds such a table as ``TABLE/day=D/00000000.parquet`` (a hard link to the day state's
file, a copy where links fail): only when every day state has the file, so a table read back
covers the data or is absent. A :class:`DayTable` whose file a day state can make from the
state's other files (a day built before the table existed) writes it there first. Used by the
bursts (:mod:`~scantui.analysis.bursts`), the days' destinations
(:mod:`~scantui.analysis.day_destinations`), their probes per port (:mod:`~scantui.analysis.day_ports`) and
their packets per kind and protocol (:mod:`~scantui.analysis.day_protocols`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from scantui.fsutil import atomic_path

Link = Callable[[Path, Path], None]


def link_days(days: Sequence[tuple[dt.date, Path]], out: Path, link: Link, table: str, day_file: str) -> None:
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


@dataclass(frozen=True)
class DayTable:
    """A small per-day table: its folder in a rollup, its file in a day state, its columns (``day`` first), and
    how a state without it makes it from its file *source* (``from_source``: that file's rows -> the table)."""

    table: str
    day_file: str
    columns: tuple[str, ...]
    source: str
    from_source: Callable[[pl.LazyFrame], pl.LazyFrame]

    def link(self, days: Sequence[tuple[dt.date, Path]], out: Path, link: Link) -> None:
        """Linked for each (day, state folder); a state built before the table gets it first (once)."""
        for _day, state in days:
            self._backfill(state)
        link_days(days, out, link, self.table, self.day_file)

    def scan(self, rollup: Path) -> pl.LazyFrame | None:
        """The rollup's days of the table, or None (a rollup merged before it existed)."""
        return scan_days(rollup, self.table, self.columns)

    def _backfill(self, state: Path) -> None:
        target, source = state / self.day_file, state / self.source
        if target.is_file() or not source.is_file():
            return
        try:
            with atomic_path(target) as tmp:  # a new file beside the state's: none of them changes
                self.from_source(pl.scan_parquet(source, glob=False)).collect(engine="streaming").write_parquet(tmp)
        except OSError:  # a day store it may not write (read-only, full): no table, the readers fall back
            pass
