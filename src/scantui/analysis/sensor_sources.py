"""Each named sensor's sources over the whole data, kept by the merge as distinct (source, sensor) pairs.

The merged state holds, per source range, the distinct (source, sensor) pairs of its sources
(``merge/src_sensors/``, named sensors only, sorted; rewritten by every merge, as small as the
sources: one row per source and sensor), hard-linked into the rollup folder as ``src_sensors/``
(a superseded rollup's merged state is removed; its own folder keeps them). A full merge takes
them from the range's folded ``ports`` rows; an extension adds the new days' pairs to the held
ones of the range (a state merged before the table: from its held ``ports`` rows, once
(:func:`~scantui.analysis.merge_state.merge_days`)). The ranges partition the sources, so the
pairs are distinct over all files: a sensor's distinct sources are its rows (:func:`counts`).

They answer the query's ``sensor:`` filter and the sensors' source counts (the overview's sensor
rows, ``scantui sensors``: :mod:`~scantui.analysis.sensors`), which without them read every
``port_day`` row (linear in the days).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

#: The merged state's (and the rollup folder's) table of distinct (src, sensor) pairs, one file per source range.
TABLE = "src_sensors"
PAIRS_SCHEMA = pl.Schema({"src": pl.UInt32(), "sensor": pl.String()})


def pairs(rows: pl.LazyFrame) -> pl.LazyFrame:
    """The distinct (src, sensor) of *rows* with a named sensor, sorted."""
    return (rows.filter(pl.col("sensor").is_not_null()).select(pl.col("src").cast(pl.UInt32), "sensor").unique()
            .sort("src", "sensor"))


def counts(pairs: pl.LazyFrame) -> pl.LazyFrame:
    """(``sensor``, ``sources``): each sensor's distinct sources, from the rollup's pairs (distinct over all files)."""
    return pairs.group_by("sensor").agg(pl.len().cast(pl.UInt32).alias("sources"))


def scan_pairs(folder: Path) -> pl.LazyFrame | None:
    """A rollup folder's distinct (src, sensor) pairs (``src_sensors/``, hard links of its merged state's files), or
    None when it was merged without them."""
    path = folder / TABLE
    if not path.is_dir():
        return None
    files = sorted(path.glob("*.parquet"))
    return pl.scan_parquet(files, schema=PAIRS_SCHEMA, glob=False) if files else pl.LazyFrame(schema=PAIRS_SCHEMA)
