"""Each named sensor's distinct sources over the whole data, kept by the merge.

A rollup folder holds ``sensor_sources.parquet``: one row per named sensor (``sensor``,
``sources``: how many distinct sources it saw, over every day and traffic kind; sorted by name).
The overview's sensor rows read it (:func:`~scantui.analysis.sensors.sensor_summary`); without it
they counted each sensor's sources over every ``port_day`` row (linear in the days).

**Exact, from the merge's source ranges** (:func:`~scantui.analysis.merge_state.merge_days`): the
merged state holds, per source range, the distinct (source, sensor) pairs of its sources
(``merge/src_sensors/``, named sensors only, sorted; rewritten by every merge, as small as the
sources: one row per source and sensor; hard-linked into the rollup folder as ``src_sensors/``, where the
query's ``sensor:`` filter reads them, :func:`~scantui.analysis.sensors.sources_of_sensors`). A full merge takes them from the range's folded ``ports``
rows; an extension adds the new days' pairs to the held ones of the range (a state merged before
the table: from its held ``ports`` rows, once). The ranges partition the sources, so a sensor's
sources are the sum over the ranges of its pairs.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

FILE = "sensor_sources.parquet"
#: The merged state's table of distinct (src, sensor) pairs, one file per source range.
TABLE = "src_sensors"
PAIRS_SCHEMA = pl.Schema({"src": pl.UInt32(), "sensor": pl.String()})
SCHEMA = pl.Schema({"sensor": pl.String(), "sources": pl.UInt32()})


def pairs(rows: pl.LazyFrame) -> pl.LazyFrame:
    """The distinct (src, sensor) of *rows* with a named sensor, sorted."""
    return (rows.filter(pl.col("sensor").is_not_null()).select(pl.col("src").cast(pl.UInt32), "sensor").unique()
            .sort("src", "sensor"))


class Tally:
    """Sources per sensor, summed over the ranges' (disjoint) pair tables as they come."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, range_pairs: pl.DataFrame) -> None:
        for sensor, n in range_pairs.group_by("sensor").agg(pl.len()).iter_rows():
            self.counts[sensor] = self.counts.get(sensor, 0) + int(n)

    def frame(self) -> pl.DataFrame:
        names = sorted(self.counts)
        return pl.DataFrame({"sensor": names, "sources": [self.counts[n] for n in names]}, schema=SCHEMA)


def scan(folder: Path) -> pl.LazyFrame | None:
    """A rollup folder's table, or None when it was merged without it."""
    path = folder / FILE
    return pl.scan_parquet(path, glob=False) if path.is_file() else None


def scan_pairs(folder: Path) -> pl.LazyFrame | None:
    """A rollup folder's distinct (src, sensor) pairs (``src_sensors/``, hard links of its merged state's files), or
    None when it was merged without them."""
    path = folder / TABLE
    if not path.is_dir():
        return None
    files = sorted(path.glob("*.parquet"))
    return pl.scan_parquet(files, schema=PAIRS_SCHEMA, glob=False) if files else pl.LazyFrame(schema=PAIRS_SCHEMA)


def write(table: pl.DataFrame, folder: Path) -> None:
    table.write_parquet(folder / FILE, compression="zstd", statistics=True)
