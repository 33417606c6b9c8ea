"""Each destination port's probe packets and distinct probing sources over the whole data, kept by the merge.

A rollup folder holds ``port_sources.parquet``: one row per destination port (``dport``;
``packets``: its probe packets, ``sources``: how many distinct sources sent it a probe, over every
day; sorted by port; at most 65,536 rows). The overview's ten busiest ports and their sources read
it, whatever the data's size; without it they summed the days' port tables (84 days: 5.5 M rows,
0.13-0.16 CPU s) and counted the sources in ``port_day``'s rows of those ports (0.8-0.9 CPU s at
200 M packets): both linear in the data (about a minute at a telescope-year, extrapolated).

**Exact, from the merge's source ranges** (:func:`~scantui.analysis.merge_state.merge_days`): the
ranges partition the sources, so a port's distinct sources are the sum over the ranges of each
range's, counted from the range's folded ``ports`` rows (one per (source, kind, sensor,
protocol, port) over the data), and its packets the sum of the range's ``port_scans`` packets. An
extension adds to the previous rollup's table, per port, the (source, port) pairs none of the
held rows has (:func:`~scantui.analysis.merge_partials._grown_ports`' fresh pairs: each pair is
counted once, on the first day it appears) and the new days' packets. A previous rollup merged
before the file existed gets it counted once from the new merged state's files, range by range (≈ 2 CPU s more at
200 M packets, measured). Memory: 65,536 slots of two counters (1 MiB) beside the range's rows, held by the merge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

FILE = "port_sources.parquet"
SCHEMA = pl.Schema({"dport": pl.UInt16(), "packets": pl.UInt64(), "sources": pl.UInt32()})
_PROBES = (pl.col("kind") == "probe") & pl.col("dport").is_not_null()


def fresh_part(fresh: pl.LazyFrame, scans: pl.LazyFrame) -> pl.LazyFrame:
    """Per port, the sources of an extension's new (source, kind, port) pairs (*fresh*: distinct, none of them held)
    and the packets of its new days' *scans* rows (``dport``, ``packets``, ``sources``), of kind ``probe``."""
    sources = (fresh.filter(_PROBES).group_by("dport")
               .agg(pl.lit(0, pl.UInt64).alias("packets"), pl.len().cast(pl.UInt32).alias("sources")))
    packets = (scans.filter(_PROBES).group_by("dport")
               .agg(pl.col("packets").cast(pl.UInt64).sum(), pl.lit(0, pl.UInt32).alias("sources")))
    return pl.concat([sources, packets])


class Tally:
    """Parts over disjoint sets of (source, port) pairs and of packets, summed per port as they come: 65,536 slots
    of each (a list of the parts grew by up to 131,072 rows a source range: +150 MiB over a full 84-day merge of the
    benchmark data, whose every-port scanner puts every port in every range)."""

    def __init__(self) -> None:
        self.packets = np.zeros(65536, np.uint64)
        self.sources = np.zeros(65536, np.uint64)

    def add(self, part: pl.DataFrame) -> None:
        """Add a :func:`fresh_part` (or a table as :func:`read` returns it)."""
        port = part["dport"].to_numpy().astype(np.int64)
        np.add.at(self.packets, port, part["packets"].to_numpy().astype(np.uint64))
        np.add.at(self.sources, port, part["sources"].to_numpy().astype(np.uint64))

    def add_rows(self, ports: pl.DataFrame, scans: pl.DataFrame) -> None:
        """Add the distinct sources per port of the *ports* rows (``src``, ``kind``, ``dport``; repeats and other
        columns ignored) and the packets of the *scans* rows (``kind``, ``dport``, ``packets``), of kind ``probe``.

        Each (source, port) is one ``UInt64`` sorted (as :func:`~scantui.analysis.sort_keys.sorted_u64`) and counted where it changes; the packets summed by
        ``bincount`` (float64: exact below 2^53 a part, and a source range holds far fewer). 11-13 ms a source range of
        357 k rows, where a two-column ``unique`` and two group-bys took 20-25 ms."""
        keys = (ports.lazy().filter(_PROBES).select(pl.col("src").cast(pl.UInt64) * 65536 + pl.col("dport").cast(pl.UInt64))
                .collect().to_series().sort().to_numpy())
        if keys.size:
            keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
        self.sources += np.bincount((keys & np.uint64(0xFFFF)).astype(np.int64), minlength=65536).astype(np.uint64)
        rows = scans.lazy().filter(_PROBES).select("dport", "packets").collect()
        sums = np.bincount(rows["dport"].to_numpy().astype(np.int64), weights=rows["packets"].to_numpy(), minlength=65536)
        self.packets += np.rint(sums).astype(np.uint64)

    def frame(self) -> pl.DataFrame:
        """The table: the ports with a source, sorted."""
        at = np.flatnonzero(self.sources)
        return pl.DataFrame({"dport": at.astype(np.uint16), "packets": self.packets[at],
                             "sources": self.sources[at].astype(np.uint32)}, schema=SCHEMA)


def read(folder: Path) -> pl.DataFrame | None:
    """A rollup folder's table, or None when it was merged without it."""
    path = folder / FILE
    return pl.read_parquet(path, glob=False) if path.is_file() else None


def scan(folder: Path) -> pl.LazyFrame | None:
    path = folder / FILE
    return pl.scan_parquet(path, glob=False) if path.is_file() else None


def write(table: pl.DataFrame, folder: Path) -> None:
    table.write_parquet(folder / FILE, compression="zstd", statistics=True)
