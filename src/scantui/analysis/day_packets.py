"""One day's packets, sorted for reads by port and source: the table every packet query reads.

:func:`write_day_packets` writes a day's packets (every canonical column, every
traffic kind) into its day state as the folder ``packets/``: files
``part-NNNNN.parquet`` holding ascending, disjoint destination-port ranges, each
sorted by ``(dport, src, ts)`` (ICMP and other packets, without a port, last) in
row groups of :data:`~scantui.analysis.rollup_layout.ROW_GROUP` rows. Read in name
order they are the day sorted by :data:`SORT`. A read filtered by port (and by
source inside a port) then skips most files and row groups by their Parquet
statistics, so a query at a year reads the days and ports it needs, never the
whole data (:mod:`scantui.analysis.packet_source`).

Peak memory: one part, at most :data:`ROWS_PER_PART` rows sorted at once (or the
day's busiest port when it alone holds more). A day of more rows than that is
first cut by port range in one streaming pass (a scratch copy, removed after),
then each range is sorted on its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from scantui.analysis import rollup_layout as rl
from scantui.analysis.sort_keys import sort_by
from scantui.fsutil import parquet_files

DAY_PACKETS = "packets"
#: A day state's table of capture files (:class:`~scantui.io.packet_refs.CaptureFile` dicts, JSON): the
#: packet table's ``ref_file`` indexes it (capture inputs only; see :mod:`scantui.io.packet_refs`).
DAY_CAPTURES = "captures.json"
SORT = ("dport", "src", "ts")
#: Rows sorted in memory at once (about 175 bytes each, with enrichment columns).
ROWS_PER_PART = 4_000_000
_NO_PORT = 65536  # where a packet without a port sorts: after every port


def day_packets_files(state: Path) -> list[Path]:
    """The files of a day state's packet table, in name order (sorted), for :func:`polars.scan_parquet` with
    ``glob=False`` (the cache folder's name may hold ``[`` or ``*``)."""
    return parquet_files(state / DAY_PACKETS)


def held_day(packets: pl.LazyFrame) -> pl.LazyFrame:
    """The day's *packets* read into memory once when they are at most :data:`ROWS_PER_PART` rows (as many as
    :func:`write_day_packets` sorts at once anyway), else *packets* as they are. A day state reads its
    packets ~9 times (its six group-bys, the walk pre-screen and probes, the packet table): held, it decodes
    them once (a 600 k-packet day: ~0.1 CPU s of ~1.5; ``benchmarks/RESULTS.md``, "Session 9"). Memory: the
    day's columns (~45 bytes a packet; 2.4 M packets: ~110 MiB) while the state is built."""
    if packets.select(pl.len()).collect().item() > ROWS_PER_PART:  # Parquet metadata for a day split
        return packets
    return packets.collect().lazy()


def write_day_packets(packets: pl.LazyFrame, out: Path) -> Path:
    """The day's *packets* sorted by :data:`SORT` into ``out/packets/``; that folder."""
    folder = out / DAY_PACKETS
    folder.mkdir()
    if packets.select(pl.len()).collect().item() <= ROWS_PER_PART:  # one part whatever the ports (Parquet metadata)
        _sorted_part(packets, folder, 0)
        return folder
    port = pl.col("dport").cast(pl.Int32).fill_null(_NO_PORT)
    counts = packets.group_by(port.alias("port")).agg(pl.len().alias("n")).sort("port").collect(engine="streaming")
    bounds = _bounds(counts, ROWS_PER_PART)
    if len(bounds) <= 1:
        _sorted_part(packets, folder, 0)
        return folder
    scratch = out / ".packets-by-range"
    which = pl.lit(pl.Series(bounds, dtype=pl.Int32)).search_sorted(port, side="left").alias("part")
    packets.with_columns(which).sink_parquet(pl.PartitionBy(scratch, key="part", include_key=False), mkdir=True,
                                             compression="lz4", engine="streaming")
    for i in range(len(bounds)):
        piece = scratch / f"part={i}"
        if piece.is_dir():
            _sorted_part(pl.scan_parquet(parquet_files(piece), glob=False), folder, i)
    shutil.rmtree(scratch)
    return folder


def _bounds(counts: pl.DataFrame, budget: int) -> list[int]:
    """Inclusive upper port bounds of consecutive ranges holding at most *budget* rows each
    (a port holding more is a range of its own); the last bound takes the packets without a port."""
    bounds, held = [], 0
    for port, n in counts.iter_rows():
        if held and held + n > budget:
            bounds.append(port - 1)
            held = 0
        held += n
    return [*bounds, _NO_PORT]


def _sorted_part(packets: pl.LazyFrame, folder: Path, i: int) -> None:
    # one packed key (dport, src, ts): ~4x cheaper than the three-column sort; the same order. Packets already in
    # time order (as captures are), without a null time, sort stably by (dport, src) alone into that same order:
    # a 64-bit key in place of a 128-bit one (a 600 k-packet day: 0.085 -> 0.060 CPU s)
    ts = pl.col("ts").to_physical()
    in_time = packets.select((ts.null_count() == 0) & (ts.diff().min() >= 0).fill_null(True)).collect().item()
    sort_by(packets, SORT[:2] if in_time else SORT, nulls_last=True).sink_parquet(
        folder / f"part-{i:05d}.parquet", row_group_size=rl.ROW_GROUP, engine="in-memory", **rl.DAY_CODEC)
