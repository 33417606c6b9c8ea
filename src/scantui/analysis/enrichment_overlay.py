"""A rollup's per-(src, day) enrichment folders, written one source range at a time: memory a range's, not the data's.

Two folders of one layout (``part-NNNNN.parquet`` by source range, sorted by (src, day), and ``latest.parquet``):
the data's own enrichment, ``src_day_enrichment/`` (:func:`write_days`, by the merge, from the day states'
enrichment files), and the overlay of enrichment tables over it.

**The data's own** (:func:`write_days`, when the inputs carry enrichment columns): the days' rows (each day's file
sorted by source) are cut into ranges of about :data:`ROWS_PER_PART` rows at a sample of their sources, in one
streamed pass (each row to its range's file: polars' partitioned sink), then each range is sorted alone. One sort of
every row (as before) peaked at 1.7 GB at 84 days of the benchmark data with an AS column (6.6 M rows), growing with
the data; by ranges of 1 M rows ~0.4 GB whatever the days.

**The overlay**: enrichment tables given as PATHs are laid over the data's own per-(src, day) enrichment
(:func:`scantui.enrich.table.overlay`) in a folder of the rollup, ``enrichment-<key2>/``
(:mod:`scantui.analysis.rollup_cache` names it):

- ``part-NNNNN.parquet``: the overlay's rows (:data:`~scantui.enrich.table.OVERLAY_SCHEMA`) of one range
  of sources, sorted by (src, day), the parts in source order (read together, the whole overlay in
  (src, day) order). A source's rows depend on its own table rows, own enrichment and active days only,
  so each range is laid over alone and the parts are the overlay of the whole data. A range holds
  about :data:`PAIRS_PER_PART` of the data's (source, day) pairs (from the merged state's
  ``src_days``), so the build's memory is a range's pairs, table and own rows: at 84 days of the
  benchmark data with an AS table (6.6 M pairs) 1.39 GB as one frame, 0.5 GB by parts;
  a year of a large telescope holds a few hundred million pairs;
- ``latest.parquet``: each source's latest non-null fields over the whole data
  (:func:`~scantui.analysis.scanners.latest_enrichment` of each part, the ranges being disjoint), what
  the scanner list joins when it shows the data's whole day range, without reading every row.

The folder is written beside its final name (:func:`scantui.fsutil.atomic_path`) and renamed into place (a
concurrent builder's identical folder may win; either is complete).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scantui.analysis.source_cuts import source_cuts
from scantui.enrich.table import OVERLAY_SCHEMA, overlay
from scantui.fsutil import atomic_path

#: About this many (source, day) pairs of the data per part (a source's pairs are never split).
PAIRS_PER_PART = 1_000_000
#: About this many rows of the data's own enrichment per part (:func:`write_days`).
ROWS_PER_PART = 1_000_000
LATEST = "latest.parquet"


def _ranges(active: pl.LazyFrame) -> list[tuple[int, int]]:
    """Inclusive source ranges holding about :data:`PAIRS_PER_PART` pairs each (at least one range)."""
    counts = active.group_by("src").agg(pl.len().alias("n")).sort("src").collect()
    if counts.is_empty():
        return [(0, 2**32 - 1)]
    part = (counts["n"].cum_sum() - 1) // PAIRS_PER_PART  # a source's part: its pairs' first row's
    bounds = counts.with_columns(part.alias("part")).group_by("part", maintain_order=True).agg(
        pl.col("src").first().alias("lo"))
    los = bounds["lo"].to_list()
    los[0] = 0
    return [(lo, (los[i + 1] - 1) if i + 1 < len(los) else 2**32 - 1) for i, lo in enumerate(los)]


def build(target: Path, own: pl.LazyFrame | None, tables: pl.LazyFrame, active: pl.LazyFrame) -> None:
    """Write the overlay folder *target* of enrichment *tables* over the data's *own* enrichment, for the
    data's (src, day) pairs *active* (see the module doc)."""
    from scantui.analysis.scanners import latest_enrichment

    with atomic_path(target, commit=_unless_there) as tmp:
        tmp.mkdir()
        latest = []
        for i, (lo, hi) in enumerate(_ranges(active)):
            mine = pl.col("src").is_between(lo, hi)
            part = overlay(own.filter(mine) if own is not None else None, tables.filter(mine), active.filter(mine))
            part.write_parquet(tmp / f"part-{i:05d}.parquet")
            latest.append(latest_enrichment(part.lazy()).collect())
        pl.concat(latest, how="vertical_relaxed").write_parquet(tmp / LATEST)


def write_days(files: Sequence[Path], target: Path, schema: pl.Schema) -> None:
    """The data's own per-(src, day) enrichment (*schema*) from the days' files (*files*) into the new folder *target*
    (see the module doc): parts by source range, sorted by (src, day), and each source's latest fields."""
    from scantui.analysis.scanners import latest_enrichment

    lf = (pl.scan_parquet([str(f) for f in files], glob=False) if files else pl.LazyFrame(schema=schema)
          ).select(schema.names()).cast(dict(schema))
    n = lf.select(pl.len()).collect().item()
    cuts = source_cuts(lf, -(-n // ROWS_PER_PART), n)
    target.mkdir()
    if cuts:  # one streamed pass: each row to the file of its range (a null source in the last, as sorted)
        spread = target / "_ranges"
        index = pl.sum_horizontal([(pl.col("src") >= c).cast(pl.UInt32) for c in cuts]).fill_null(len(cuts))
        lf.with_columns(index.alias("_range")).sink_parquet(
            pl.PartitionBy(spread, key="_range", include_key=False), engine="streaming")
        ranges = {int(d.name.split("=", 1)[1]): d for d in spread.iterdir() if d.is_dir()}
        pieces = [pl.scan_parquet(sorted(ranges[i].rglob("*.parquet")), glob=False).select(schema.names())
                  for i in sorted(ranges)]
    else:
        spread, pieces = None, [lf]
    latest = []
    for i, piece in enumerate(pieces):
        path = target / f"part-{i:05d}.parquet"
        piece.sort("src", "day", nulls_last=True).sink_parquet(path, engine="streaming")
        latest.append(latest_enrichment(pl.scan_parquet(path, glob=False)).collect())
    if spread is not None:
        shutil.rmtree(spread)
    pl.concat(latest, how="vertical_relaxed").write_parquet(target / LATEST)


def _unless_there(tmp: Path, target: Path) -> None:
    """Rename the finished folder into place; one already there (a concurrent builder's, the same) stays."""
    try:
        os.rename(tmp, target)
    except OSError:
        if not target.is_dir():
            raise


def parts(folder: Path) -> list[Path]:
    """The overlay's part files in source order."""
    return sorted(folder.glob("part-*.parquet"))


def scan(folder: Path) -> pl.LazyFrame:
    """The overlay's rows (every part), in (src, day) order."""
    files = parts(folder)
    return pl.scan_parquet(files, glob=False) if files else pl.LazyFrame(schema=OVERLAY_SCHEMA)


def scan_latest(folder: Path) -> pl.LazyFrame | None:
    """Each source's latest fields over the whole data, or None in a folder without the file."""
    path = folder / LATEST
    return pl.scan_parquet(path, glob=False) if path.is_file() else None
