"""One day's packets, sorted for reads by port and source: the table every packet query reads.

:func:`write_day_packets` writes a day's packets (every canonical column, every
traffic kind) into its day state as ``packets.parquet``, sorted by
``(dport, src, ts)`` in row groups of :data:`~scantui.analysis.rollup_days.ROW_GROUP`
rows. A read filtered by port (and by source inside a port) then skips most row
groups by their Parquet statistics, so a query at a year reads the days and
ports it needs, never the whole data (:mod:`scantui.analysis.packet_source`).

Peak memory: the day's packets (the sort); the build of the day's other tables
already reads them (see :func:`~scantui.analysis.rollup_days.build_day_state`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from scantui.analysis import rollup_days as rd

DAY_PACKETS = "packets.parquet"
SORT = ("dport", "src", "ts")


def write_day_packets(packets: pl.LazyFrame, out: Path) -> Path:
    """The day's *packets* sorted by :data:`SORT` into ``out/packets.parquet``; its path."""
    target = out / DAY_PACKETS
    # maintain_order: packets equal in (dport, src, ts) keep the capture order
    packets.sort(*SORT, maintain_order=True, nulls_last=True).sink_parquet(
        target, compression="zstd", row_group_size=rd.ROW_GROUP, engine="streaming")
    return target
