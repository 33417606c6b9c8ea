"""A port's scanner list kept beside the rollup: the per-source aggregates of ``scanners --port P``, computed once.

A port filter selects rows below the source, so :func:`~scantui.analysis.scanners.scanner_list`
recomputes every per-source aggregate from the port's ``port_day`` rows and recounts the sources'
exact destinations from the day packet tables (at 200 M packets: 16 M packets of port 443, FFT
schedules of 66 k activity rows; ~3 CPU s). What that computes depends only on the rollup and the
ports, so the first such query writes it here, one Parquet file per port set, and later ones read it:

``<rollup>/port_lists/v<VERSION>-<port>[-<port>...].parquet``: one row per source with probes to
those ports over the whole data, the raw columns of the row path (volume, tools, active days, ports,
intervals, coverage, schedule; before the per-source filters ``--tool``/``--min-packets``, applied on
reading), ``dsts`` (exact distinct destinations over those ports) and ``top_ports``.

Only the pure port selection is kept (:func:`kept_path`): no ``--since/--until``, ``--include-udp``,
``--cidr`` or ``--asn``, and destinations recounted from the rollup's own day tables. Enrichment,
organization rules, known-scanner lists and the telescope size are applied after reading, as on the
computed path, so a rules or list change needs no new file. A rollup folder is never changed in place
(a new day or a rebuild makes a new folder), so a file here stays exact for its folder; :data:`VERSION`
is bumped when what the file holds changes. Written to a temporary name and renamed (a reader never sees
half a file; two processes writing it race harmlessly: same content); a folder that cannot be written, or
a file that cannot be read, means computing the list as before.

Kept by every build (``scantui rollup``, ``--follow`` in the CLI and the TUI, any command that builds): the ports
of config ``rollup.keep_ports``, and by default the data's busiest destination ports by probe packets whose lists
together hold at most :data:`TOP_PORTS_SHARE` of the packets (:func:`busiest_ports`; config
``rollup.keep_top_ports``, default 2, 0 for none), so the first ``--port`` query of the ports most asked about is
fast without asking, at a bounded cost to every build. A build's list is kept with a state beside it
(:mod:`~scantui.analysis.port_list_state`: per-source activity bits, scan rows and the port's distinct (src, dst) keys),
so the next build that extends the rollup brings it up to date from the days it adds (their rows and keys of the
port) rather than from every day: at 200 M, 83 days, port 443's ~1.1-1.2 CPU s against ~2.5-2.9 computed, the rest
growing with the port's sources and the day range (every schedule is rescored), not its packets. Where the state
does not apply (a held day removed or changed, no state) the list is computed from every day, its state written with
it (+15-20 %). A list a query wrote has no state and is not carried into the next rollup folder.

Memory: a list holds its port's packet keys (for the exact destinations), ``port_day`` rows and activity
rows; above a budget of the port's packets it is computed one source range at a time (:func:`source_ranges`; a
source's columns depend on its own rows only), so its memory is bounded by the range, not the data. A build that
keeps a port uses :data:`PACKETS_PER_RANGE` (4 M: the add-a-day peak stays the day's); the first query of a port
uses :data:`QUERY_PACKETS_PER_RANGE` (24 M: each range re-reads its part of every day's files, so fewer, larger
ranges answer sooner, for a bounded peak of its own).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from scantui.analysis.scanners import ScannerQuery

FOLDER = "port_lists"
#: Bumped when the columns kept, or how they are computed, change.
VERSION = 1


#: Packets of the port(s) whose keys one source range of a list holds at most (8 bytes each, sorted in place;
#: with the rows read, their ``port_day`` rows and schedules ~0.45 GiB; 16 M a range took 0.75 GiB, and a build
#: that keeps a port computes it after the merge, in the same process): the list is computed one range at a
#: time above it. 4 M: port 443 of the 200 M benchmark set (16 M packets) in 5 ranges, ~+1 CPU s.
PACKETS_PER_RANGE = 4_000_000

#: The same for a list computed by a query (``scanners --port P``, the TUI's port filter), which runs alone rather
#: than after a day's merge: each range re-reads its rows and keys from every day's files, so at 200 M packets
#: port 443's 16 M packets in one range took 2.1-2.3 CPU s for the table against 2.8-3.2 in 4 M ranges, its process
#: peak 0.77-0.84 GiB against 0.42-0.45 (a range's keys are counted while its rows are aggregated: ~48 bytes a
#: packet together); a full range of 24 M ~1.2 GiB (extrapolated), whatever the days held.
QUERY_PACKETS_PER_RANGE = 24_000_000


def source_ranges(rows: pl.LazyFrame, budget: int | None = None,
                  total_first: bool = False) -> list[tuple[int, int] | None]:
    """Source ranges (first, last address, inclusive) of about *budget* (:data:`PACKETS_PER_RANGE`) packets each of
    the ``port_day`` *rows* (one port selection), cut between sources; ``[None]`` (every source at once) when all
    fit in one. *total_first*: when they likely do (a query's budget), their total is summed first, and the sources
    grouped only when it is over (port 443 at 200 M: 0.06-0.07 CPU s for the sum against 0.10-0.14 for the group-by)."""
    budget = budget or PACKETS_PER_RANGE
    if total_first and (rows.select(pl.col("packets").sum()).collect().item() or 0) <= budget:
        return [None]
    # one pass (a separate total first read the port's rows twice at 200 M packets: ~0.1 CPU s more)
    per_src = rows.group_by("src").agg(pl.col("packets").sum()).sort("src").collect()
    srcs, sums = per_src["src"].to_numpy(), per_src["packets"].cum_sum().to_numpy()
    if not len(sums) or int(sums[-1]) <= budget:
        return [None]
    # greedy, one range at a time: a range ends before the first source whose running total passes *budget*
    # (a source above the budget alone is a range of its own); a search per range, not a step per source
    ranges, first, start = [], 0, 0
    while True:
        end = max(int(np.searchsorted(sums, start + budget, side="right")), first + 1)
        if end >= len(srcs):
            ranges.append((int(srcs[first]), int(srcs[-1])))
            return ranges
        ranges.append((int(srcs[first]), int(srcs[end - 1])))
        first, start = end, int(sums[end - 1])


#: The share of the rollup's packets that the lists kept by default (:func:`busiest_ports`) may hold together. A list
#: costs a build ~0.15-0.2 CPU s a million of its port's packets (200 M: port 443's 16 M 2.4-2.6 CPU s, port 80's
#: 49 M 5.3-6.2), a full build ~2.5 CPU s a million packets: 10 % keeps them under ~0.8 % of a full build's CPU,
#: so adding a day (~4 % of a full build without them) stays under 5 %. A port above it is left to its first query
#: (or config ``rollup.keep_ports``).
TOP_PORTS_SHARE = 0.10

#: How far down the busiest ports :func:`busiest_ports` looks for ones that fit :data:`TOP_PORTS_SHARE`.
TOP_PORTS_LOOKED_AT = 20


def busiest_ports(profile: pl.LazyFrame | None, k: int, total: int, share: float = TOP_PORTS_SHARE,
                  per_port: pl.LazyFrame | None = None) -> list[tuple[int, int, bool]]:
    """The data's busiest destination ports by probe packets, (port, packets, kept), busiest first (ties: the lower
    port), down to the *k*-th kept: a port is kept when the kept ones' packets with its own stay within *share* of
    the rollup's *total* packets (their lists' cost to every build), else passed over (``kept`` False). Ranked from
    the rollup's exact packets per port (*per_port*, :mod:`~scantui.analysis.port_sources`: one row a port), else
    from its ``src_profile`` (every source's top ten ports: all of a busy port's packets but those of sources with
    ten busier ports; ~0.2 CPU s at 200 M, where summing the ``port_day`` rows takes ~1.6); [] for *k* 0 or a
    rollup without either table."""
    if not k or (profile is None and per_port is None):
        return []
    if per_port is not None:
        ports = per_port.select(pl.col("dport").alias("port"), "packets")
    else:
        ports = (profile.filter(pl.col("kind") == "probe").select("top_ports").explode("top_ports")
                 .select(pl.col("top_ports").struct.field("port"), pl.col("top_ports").struct.field("packets"))
                 .drop_nulls())
    top = (ports.group_by("port").agg(pl.col("packets").cast(pl.UInt64).sum())
           .sort(["packets", "port"], descending=[True, False]).head(TOP_PORTS_LOOKED_AT).collect())
    out, held, kept = [], 0, 0
    for port, packets in top.iter_rows():
        fits = held + packets <= share * total
        out.append((int(port), int(packets), fits))
        if fits:
            held, kept = held + packets, kept + 1
            if kept == k:
                break
    return out


def kept_path(rollup: Path | None, q: ScannerQuery) -> Path | None:
    """Where the list of *q*'s ports is kept in the rollup folder *rollup*, or None when *q* is not a pure port
    selection (the per-source filters ``--tool``/``--min-packets``, sort and cut are fine: applied after)."""
    if rollup is None or not q.ports or q.include_udp or q.since or q.until or q.cidrs or q.asns:
        return None
    return rollup / FOLDER / f"v{VERSION}-{'-'.join(str(p) for p in q.ports)}.parquet"


def read_kept(path: Path) -> pl.DataFrame | None:
    """The kept table, or None when there is none (or it cannot be read: then it is computed again)."""
    try:
        return pl.read_parquet(path, glob=False)
    except Exception:  # noqa: BLE001 - missing, damaged or foreign: the caller computes the list
        return None


def write_kept(path: Path, table: pl.DataFrame) -> None:
    """*table* at *path*, sorted by source (its group-bys' order varies run to run: the same rollup keeps the same
    bytes), renamed into place once written; nothing when the folder cannot be written."""
    table = table.sort("src")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        table.write_parquet(tmp, compression="zstd", statistics=False)
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - a read-only or full cache: the list was computed, only not kept
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
