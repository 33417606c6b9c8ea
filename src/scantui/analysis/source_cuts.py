"""Source addresses cutting a frame's rows into ranges of about as many rows each, from a sample of its sources.

What bounds a pass over a table by its sources: a day built in passes (:mod:`~scantui.analysis.day_state`), the
merge's own enrichment written by range (:mod:`~scantui.analysis.enrichment_overlay`), collab's AS pass
(:mod:`~scantui.analysis.collab_bursts`). The cuts come from every k-th source of the rows (about 200 k of them,
one streamed pass over the ``src`` column), so a range holds about its share of the rows, not exactly.
"""

from __future__ import annotations

import polars as pl

#: Sources sampled to place the cuts.
SAMPLE = 200_000


def source_cuts(lf: pl.LazyFrame, parts: int, rows: int) -> list[int]:
    """Sorted distinct sources (none 0) cutting *lf*'s *rows* rows into about *parts* ranges of about as many rows
    (range ``i`` is ``[cuts[i-1], cuts[i])``); none for one part or no source."""
    if parts <= 1:
        return []
    sample = (lf.select(pl.col("src").gather_every(max(1, rows // SAMPLE))).collect(engine="streaming")["src"]
              .drop_nulls().sort())
    if sample.is_empty():
        return []
    return sorted({int(sample[len(sample) * i // parts]) for i in range(1, parts)} - {0})
