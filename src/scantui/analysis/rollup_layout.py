"""The names, schemas and sizes the day store and the merged state share (:mod:`scantui.analysis.rollup_days`).

The per-day tables' file names and the order of ``port_day`` and its port-sorted copy; the merged
state's folder, tables and their schemas (what each holds: :mod:`~scantui.analysis.rollup_days`'s
design); the sizes that bound the merges' memory (rows per source range, key rows per session-key
range) and the day files' Parquet settings; the :data:`Mapper` a merge runs its ranges with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from scantui.analysis import rollup as ru


KEYS = "unicorn_keys.parquet"
GROUPS = "unicorn_groups.parquet"
PORT_DAY_BASE = "port_day.parquet"
#: ``port_day`` keys but the day: the rows a Unicorn session's packets are counted in.
GROUP_KEYS = ("sensor", "src", "proto", "dport", "kind")
PAIRS = "src_dsts.parquet"
DAY_TOTALS = "day_totals.parquet"
ENRICHMENT = "enrichment.parquet"
PAIRS_SCHEMA = pl.Schema({"src": pl.UInt32(), "kind": ru.KIND_DTYPE, "dst": pl.UInt32()})

#: Key-count rows one Unicorn merge range may hold (over all days).
KEYS_PER_RANGE = 4_000_000
#: Most key ranges a Unicorn merge reads (a year of 35 M-packet days: ~3,200 ranges of 4 M key rows).
MAX_KEY_RANGES = 4096
#: ``port_day`` plus ``src_dsts`` rows one source range may hold (over all days).
ROWS_PER_RANGE = 2_000_000
#: An extension that adds layers (:data:`LAYERED`: it rewrites no held ``ports`` or ``dsts`` file) plans ranges of this
#: many times :data:`ROWS_PER_RANGE` rows: it holds a range's held sources (``base``, the profile), the rows of the
#: ports the new days scanned and the new days' rows, never all of its held ``ports``/``dsts`` rows (streamed past the
#: new days' keys), and each range costs a fixed ~20 polars queries and 6 files (day 84 onto 83: 44 ranges -> 15,
#: the merge ~-12 % CPU, the same peak: ``benchmarks/RESULTS.md``, "Session 16", wt-grown16).
LAYERED_RANGE_SCALE = 3
#: New days' ``port_day`` rows of one source range read and grouped at once: a range over more (a busy /16,
#: which the plan cannot split, over many new days) reads its days in groups of about this many rows, each
#: group's partials folded before the next is read (84 full-size days: 2.6 M rows in one /16 peaked at 712 MiB).
DAY_ROWS_PER_PART = 1_000_000
#: Rows per row group of the day files read by range (small enough for ranges to skip most of a file).
ROW_GROUP = 65_536
#: Rows per row group of the day files read a narrow slice at a time: ``port_day`` and ``src_dsts`` by a
#: merge's source range (a few thousand rows of each day: ranges hold :data:`ROWS_PER_RANGE` rows over
#: every day) and the port-sorted ``port_day`` copy by port. Groups of :data:`ROW_GROUP` rows were decoded
#: mostly to be dropped (84 days: ~8x the rows a range kept); measured in ``benchmarks/RESULTS.md``, "Session 6".
NARROW_ROW_GROUP = 8_192
#: Parquet settings of the day state's per-day tables, the finished ``port_day`` and its port-sorted copy
#: (and the packet table, :mod:`~scantui.analysis.day_packets`): zstd at level 1 writes them ~20-25 % cheaper
#: than the default level 3 for files ~5 % larger (a 600 k-packet day: ``port_day`` 4.3 -> 4.5 MiB, 0.056 ->
#: 0.043 CPU s; the packet table 12.5 -> 13.3 MiB, 0.11 -> 0.09 s), and reads as fast or faster
#: (``benchmarks/RESULTS.md``, "Session 9").
DAY_CODEC: dict[str, Any] = {"compression": "zstd", "compression_level": 1}
#: Rows per row group of the rollup's ``src_profile``: an extending merge reads the older rollup's one source
#: range at a time (groups of ~100 k rows: each range of an 84-day full-size extension decoded ~10x its rows).
PROFILE_ROW_GROUP = 16_384

Progress = ru.Progress
#: ``map(fn, items, step=None) -> [fn(item) ...]``: how a merge runs its ranges (:mod:`scantui.analysis.runner`).
Mapper = Callable[..., list]


def serial(fn: Callable[[Any], Any], items: Sequence[Any], step: Callable[[int, int, Any], None] | None = None) -> list:
    """The default :data:`Mapper`: *fn* over *items* in a loop (``step(i, n, item)`` before each)."""
    out = []
    for i, item in enumerate(items):
        if step is not None:
            step(i, len(items), item)
        out.append(fn(item))
    return out


#: ``port_day``'s sort: by source (as the merge reads it), then the rest of its key: the group-by's rows come in
#: no set order, so rows of one (src, dport) (several sensors, protocols or kinds) were in a different order run
#: to run without the rest (a day of several inputs; ICMP rows, without a port).
PORT_DAY_ORDER = ("src", "dport", "proto", "kind", "sensor")
#: The port-sorted copy's (:func:`write_by_port`): by (kind, dport, src), then the rest of the key likewise.
BY_PORT_ORDER = ("kind", "dport", "src", "proto", "sensor")


#: The rollup's sub-folder holding the merged state (see :func:`merge_days`).
MERGE = "merge"
MERGE_DAYS = "days.json"
#: Bumped when what the merged state holds changes: an older state is then merged anew, never extended.
MERGE_VERSION = 3
#: Per (src, kind): volume, tool sums (Int64: a day's tool counts can be replaced), days, distinct destinations.
BASE = "base"
#: Per (src, kind, sensor, proto, dport): days scanned and the first and last of them.
PORTS = "ports"
#: Per (src, kind, proto, dport): packets, days and the best one-day distinct destinations (summed over sensors).
PORT_SCANS = "port_scans"
#: (src, kind, day): the days each source was active, for the schedules.
SRC_DAYS = "src_days"
#: Disjoint sorted files of distinct (src, kind, dst): their union is every source's destination set.
DSTS = "dsts"

_TOOLS_I64 = {c: pl.Int64() for c in ru.TOOL_COLUMNS}
BASE_SCHEMA = pl.Schema({"src": pl.UInt32(), "kind": ru.KIND_DTYPE, "packets": pl.UInt64(), "first_ts": ru.TS_DTYPE,
                         "last_ts": ru.TS_DTYPE, **_TOOLS_I64, "days": pl.UInt32(), "dsts": pl.UInt64()})
PORTS_SCHEMA = pl.Schema({"src": pl.UInt32(), "kind": ru.KIND_DTYPE, "sensor": pl.String(), "proto": pl.UInt8(),
                          "dport": pl.UInt16(), "scans": pl.UInt32(), "d0": pl.Date(), "d1": pl.Date()})
PORT_SCANS_SCHEMA = pl.Schema({"src": pl.UInt32(), "kind": ru.KIND_DTYPE, "proto": pl.UInt8(), "dport": pl.UInt16(),
                               "packets": pl.UInt64(), "scans": pl.UInt32(), "dsts": pl.UInt32()})
SRC_DAYS_SCHEMA = pl.Schema({"src": pl.UInt32(), "kind": ru.KIND_DTYPE, "day": pl.Date()})
#: Per (src, kind, gap, k): how many of the source's ports scanned on k + 1 days span ``gap`` days
#: (``d1 - d0`` of :data:`PORTS`): the scan intervals ``gap / k`` as exact integers.
INTERVALS = "intervals"
#: Per (src, kind): the :data:`PORT_SCANS` rows (``ports``) and the sum of their ``dsts`` (coverage mean).
COVER = "cover"
INTERVALS_SCHEMA = pl.Schema({"src": pl.UInt32(), "kind": ru.KIND_DTYPE, "gap": pl.Int64(), "k": pl.UInt32(),
                              "n": pl.Int64()})
COVER_SCHEMA = pl.Schema({"src": pl.UInt32(), "kind": ru.KIND_DTYPE, "ports": pl.Int64(), "dsts": pl.Int64()})
#: Tables an extending merge adds a layer to (the new days' rows, partial aggregates folded when read)
#: instead of rewriting them; the held layers are hard links.
LAYERED = ("ports", "port_scans", "src_days")
#: Extending merges in a row that add layers; the next one folds every table back into one file per range.
MAX_DELTAS = 8


_SCHEMAS = {BASE: BASE_SCHEMA, PORTS: PORTS_SCHEMA, PORT_SCANS: PORT_SCANS_SCHEMA}
#: The integer partials of the profile columns that need every port row of a source (rewritten by each merge).
_SUMS = {INTERVALS: INTERVALS_SCHEMA, COVER: COVER_SCHEMA}
_PORT_KEYS = ["src", "kind", "sensor", "proto", "dport"]
_SCAN_KEYS = ["src", "kind", "proto", "dport"]


#: Bits of a packed pair key (:func:`distinct_pairs`) below the source: the kind's index and the destination.
_KIND_BITS = max(1, (len(ru.KINDS) - 1).bit_length())
_PAIR_LOW_BITS = _KIND_BITS + 32
