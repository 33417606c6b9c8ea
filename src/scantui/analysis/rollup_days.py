"""A rollup made of days: per-day state, built on its own, and the merges that make the whole-input tables.

Every step is a function of files to files, so the cache (:mod:`scantui.analysis.rollup_cache`)
can keep each day's state under a key of the input bytes that cover it, and a
distributed runner can call the same functions as tasks:

1. :func:`split_by_day` — one streaming pass over one input (a file, or a hive
   folder) writes its packets partitioned by UTC day (``day=YYYY-MM-DD/``). A
   file holding several days contributes to each; an hourly file to its day.
2. :func:`build_day_state` — one day's packets (all inputs' parts of that day,
   :func:`scan_day`) into every per-day table, none of which depends on another
   day: ``port_day.parquet`` (tool counts as if no key were a Unicorn session),
   ``unicorn_keys.parquet`` (SYN probes per session key, sorted by key),
   ``unicorn_groups.parquet`` (for keys seen at least twice that day: the
   Unicorn-eligible packets per key, ``port_day`` row and tool they got),
   ``day_totals.parquet``, ``enrichment.parquet`` (per (src, day)) and
   ``src_dsts.parquet`` (the distinct (src, kind, dst) of the day, sorted).
   Peak memory: that day's groups; a day of more than :data:`PASS_PACKETS`
   packets is built in passes, one source range and one session-key range at a
   time (the same tables: each is sorted by source or by key), so the peak is
   one pass's groups (measured: ``benchmarks/RESULTS.md``, "at the issue's sizes").
3. :func:`merge_sessions` — the Unicorn session keys over all days (see below).
4. :func:`day_files` — the day's ``port_day`` under those sessions: the base file
   when none of its keys is one, else :func:`port_day_with` (the base rows with
   the sessions' packets moved to ``tool_unicorn``), written once per session set.
   A day an extension holds keeps its file unless a key that became a session
   since is among its keys (:func:`held_port_day`).
5. :func:`merge_days` — the rollup folder from the days.

The merges, what is exact, and the memory they need:

``port_day``, ``day_totals``, enrichment
    per day already; the rollup's ``port_day/day=D/`` file is a hard link (or a
    copy) of the day's file (so are ``port_day_by_port``, collab's group sums,
    :mod:`~scantui.analysis.collab_sums`, written beside the day's ``port_day`` by
    :func:`build_day_state` from the rows it holds (by :func:`day_files` for a state built
    before), once per state, and the sources' fingerprints,
    :mod:`~scantui.analysis.fingerprint_keys`, likewise), the other two are concatenated. Exact; streaming.
``port_day`` tool counts
    exact: a packet is ``unicorn`` when its key is a session over the whole
    input, so a new day can change an old day's counts. The moved packets come
    from the day's ``unicorn_groups`` (small: keys seen twice or more in a day);
    only a session key seen once that day rereads the day's packets (rare: a key
    needs more than 150 packets over the input to be a session). Memory: one day.
Unicorn sessions
    exact: per-key counts are summed over the days and kept above the
    threshold, one key range at a time (the day files are sorted by key, so a
    range reads only its row groups). Memory: the distinct keys of one range;
    enough even ranges for each to hold about :data:`KEYS_PER_RANGE` key rows
    (counted over the days, an upper bound on its distinct keys; the keys are
    hash-like), up to :data:`MAX_KEY_RANGES` (whole powers of two before session 8:
    a range then held 5-10 M rows, so peaks varied by 2x with the data's size).
    Disk: one (key, count) row per distinct SYN session key per day (for random
    traffic about one per SYN probe: ~8 bytes before compression). An extension
    reads the held days' counts of its new keys from a memo of every key's held
    count (:mod:`~scantui.analysis.session_counts`: 4 GiB, from
    :data:`~scantui.analysis.session_counts.MEMO_MIN_ROWS` held rows on), so its
    work follows the new days, not the held ones.
``src_totals`` and ``src_profile`` (schedules, coverage, top ports)
    exact, from a *merged state* kept in the rollup's ``merge/`` folder
    (:func:`merge_days`), never from every day's ``port_day`` rows again:

    - ``base/``, per (src, kind): packets, first/last timestamp, tool
      counts (Int64), days active, distinct destinations;
    - ``ports/``, per (src, kind, sensor, proto, dport): days scanned,
      first and last of them (ports, port classes, scan intervals);
    - ``port_scans/``, per (src, kind, proto, dport): packets, days, the
      best one-day distinct destinations summed over sensors (coverage, top ports);
    - ``src_days/``, (src, kind, day): the compact table the schedules
      are computed from over the data's whole day range;
    - ``intervals/``, per (src, kind, gap, k): how many of the source's
      ports were scanned on k + 1 days spanning ``gap`` days (its scan
      intervals ``gap / k`` as integers), and ``cover/``, per (src, kind):
      the ``port_scans`` rows and the sum of their ``dsts`` (coverage mean);
    - ``dsts/``: disjoint, sorted files of distinct (src, kind, dst)
      whose union is every source's destination set;
    - ``days.json``: :data:`MERGE_VERSION`, the day states and ``port_day``
      files it holds, and the name of every file above (an extending merge
      reads those, so a file gone missing fails the extension, and the cache
      merges every day instead), with each file's lowest and highest source
      (``bounds``) and ``nets.parquet``, the rows per /16 of the ``ports`` and
      ``dsts`` files (:class:`_Catalog`: an extension sizes its ranges without
      reading the held files; a state without them has them read).

    Each table is one file per source range (``<range>.parquet``, sorted by
    source, so a later merge reads a range by row-group statistics whatever
    its own ranges are), plus the layers of extending merges (below).

    Each day contributes partial aggregates (sums, minima, maxima, a day count
    of 1) folded by the same group-by however they are grouped, so folding a
    new day into an older state equals folding every day at once (integers
    only; the float columns are computed from the folded integers, in the same
    order as :func:`~scantui.analysis.rollup.src_profile`).

    A full merge folds every day's partials and unions the destination sets, one
    source range at a time (below): the range's ``port_day`` rows of every day are
    read in one scan of all the day files (row groups of :data:`NARROW_ROW_GROUP`
    rows outside the range skipped by their statistics) and grouped once, which
    is itself a valid partial (the tables the merge then writes, it hands to
    :func:`finish_sources` as they are). *Extending*
    (:func:`extends`: every day of an older rollup's state is a day here with
    the same state folder; the cache passes the finished rollup holding the
    most such days) writes what the new days change, and hard-links the rest:

    - ``ports/``, ``port_scans/`` and ``src_days/`` are *layered* (:data:`LAYERED`):
      the held files are hard links, and each range gains one file of the new
      days' partial rows (``<days>-<range>.parquet``, the size of the new days).
      A reader folds a key's rows over the layers (only the keys a later layer
      holds are grouped; the first layer's other rows pass through). Every
      :data:`MAX_DELTAS` + 1-th extension folds the layers back into one file
      per range (``days.json``'s ``deltas`` counts them), so reads stay cheap
      and the cost is spread over the days;
    - ``base/`` (one row per source) is folded with the new days' partials and
      rewritten; a day whose ``port_day`` file changed (new Unicorn sessions)
      swaps its tool sums (minus the old file's, plus the new one's);
    - ``dsts/``: the new days' destination pairs of sources the held state
      knows are matched against the held pairs (a semi-join streaming the held
      files of that source span past them; new sources' pairs skip it) and the
      unseen ones written as one more disjoint file, their count added to ``dsts``
      (the folding extension writes each range's pairs back into one file);
    - ``intervals/`` and ``cover/`` (rewritten per range, a few % of ``ports/``
      rows) gain signed partials from the ports the new days scanned only
      (:func:`_grown_ports`): those ports' held rows (read by key) go out, their
      folded rows come in;
    - ``src_totals``/``src_profile``: only the sources with packets in the new
      days are re-profiled, from the older rollup's row of each updated by the
      ports the new days scanned: distinct ports and port classes gain the ports
      no held row has; ``ports_rescanned`` and the average scan interval come from
      ``intervals/`` (each interval ``gap / k`` repeated as often as ports have it,
      summed in sorted order as :func:`~scantui.analysis.rollup.src_profile`
      does: the same floats); the coverage mean is ``cover``'s integer sum over
      its count (what a mean of integers gives), its maximum the older one or a
      touched port's; the top ports are re-ranked from the older list and the
      touched ports (packets only grow, so a port below a source's tenth stays
      there). Every other source keeps its port-side columns from the older
      rollup and gets its volume anew (tool counts may have moved), and its
      schedule anew only when the data's day range changed (a day after the
      last or before the first; a day filling a gap keeps every other source's
      schedule).

    The Unicorn sessions of an extension (:func:`extend_sessions`) are the older
    rollup's plus the new days' keys whose count over every day now passes the
    threshold (the held days' counts are read only for those keys whose upper bound,
    from the held rows counting them twice or more, may pass), one key range
    at a time like the full merge of the sessions, the ranges planned on the new
    days' key rows (memory: one range's distinct new keys, whatever the number of
    days added in one run). A removed
    or changed day cannot be subtracted from a union, so it makes a full merge.

    Memory: one source range at a time (the new days' ``port_day`` rows of the
    range, its state rows, one per (source, port) over the data, and its pairs of
    the new days; at most about :data:`ROWS_PER_RANGE` rows each). A range the plan
    cannot cut further (one busy /16) over many new days reads them in runs of
    consecutive days of about :data:`DAY_ROWS_PER_PART` rows (:func:`_day_groups`),
    each run's partials folded before the next is read. Disk: about
    one state row per (source, port) and one pair per distinct (src, kind,
    dst) over the data, per kept rollup (the ``dsts`` files and the layers are
    hard links), plus a layer per extension until the layers are folded.

    An extension opens, per source range, only the held files whose sources overlap it (each file's
    lowest and highest source read once a merge, :func:`_src_bounds`; every held file of every table
    was opened once a range before, ~40 k footers for one full-size day onto 83).

    What still grows with the held state when a day is added (measured in
    ``benchmarks/RESULTS.md``): the held ``ports``/``port_scans`` layers are
    streamed past the new days' port keys (a semi-join: only matching rows are
    kept and folded); ``intervals/`` and ``cover/`` are rewritten; the schedules of
    every source with three or more active days are recomputed when the day
    range grows (the window is part of the score); the held pairs and key
    counts are streamed past the new day's; ``base/`` and the two profile
    tables are rewritten (one row per source).
telescope size
    the median over days of ``day_totals.dsts``: per day already.

Source ranges (:func:`plan_source_ranges`) cut the address space at /16
boundaries so that each holds at most :data:`ROWS_PER_RANGE` rows (a full
merge: every day's ``port_day`` and ``src_dsts`` rows; extending: the held
state's port rows and destination pairs plus the new days' rows; a single
busier /16 is a range of its own); the merge holds one range at a time: nothing of a
range is alive while the next one runs, and the plan's per-file counts are dropped once
planned (both grew with the days held: 84 full-size days onto 21 peaked 1.13-1.19x the
21-day merge, 1.09-1.11x since).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import operator
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from scantui.analysis import behaviour as bh
from scantui.analysis import bursts as bw
from scantui.analysis import collab_sums as cs
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import rollup as ru
from scantui.analysis import schedule as sch
from scantui.analysis import session_counts as sc
from scantui.analysis import zmap_rollup as zr
from scantui.analysis.fingerprints import (
    KEY_COUNTS_SCHEMA, SESSIONS_SCHEMA, TOOLS, unicorn_candidate, unicorn_eligible, unicorn_key,
)
from scantui.analysis.sort_keys import frame_hints, sort_by, sort_key, unpacked
from scantui.fsutil import atomic_path, parquet_files
from scantui.io.schema import TS_DTYPE, conform

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


# ---------------------------------------------------------------- 1. an input, split by day


def split_by_day(lf: pl.LazyFrame, folder: Path) -> list[dt.date]:
    """Stream the canonical table *lf* into ``folder/day=YYYY-MM-DD/*.parquet``; the days written, in order."""
    lf.with_columns(pl.col("ts").dt.date().alias("day")).sink_parquet(
        pl.PartitionBy(folder, key="day", include_key=False), mkdir=True, compression="lz4",
        row_group_size=ROW_GROUP, engine="streaming",
    )
    folder.mkdir(parents=True, exist_ok=True)  # an empty input writes no partition
    return days_in(folder)


def frame_days(lf: pl.LazyFrame) -> list[dt.date]:
    """The UTC days of the canonical table *lf*'s timestamps, sorted (a null timestamp is a ``None`` day).

    Usually one: the day of its first row, when no row lies outside that day, a filter that Parquet
    min/max statistics answer without reading the column (row groups within the day are skipped; a
    file without statistics reads it). Else every row's day is read (24 dev days: ~0.2 CPU s saved)."""
    ts = pl.col("ts")
    if lf.collect_schema().get("ts") == TS_DTYPE:
        first = lf.select(ts.first()).collect().item()
        if first is not None:
            day = first.date()
            lo = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
            outside = ts.is_null() | (ts < pl.lit(lo, TS_DTYPE)) | (ts >= pl.lit(lo + dt.timedelta(days=1), TS_DTYPE))
            if lf.filter(outside).select(pl.len()).collect().item() == 0:
                return [day]
    return lf.select(ts.dt.date().unique().sort()).collect()["ts"].to_list()


def days_in(folder: Path) -> list[dt.date]:
    return sorted(dt.date.fromisoformat(p.name.split("=", 1)[1]) for p in folder.glob("day=*"))


def day_part(folder: Path, day: dt.date) -> Path:
    """The folder holding one input's packets of *day* (written by :func:`split_by_day`)."""
    return folder / f"day={day.isoformat()}"


def scan_day(parts: Sequence[Path]) -> pl.LazyFrame:
    """One day's packets from the :func:`day_part` folders of the inputs that cover it (in input order)."""
    return concat_frames([pl.scan_parquet(parquet_files(part), glob=False) for part in parts])


def concat_frames(frames: Sequence[pl.LazyFrame]) -> pl.LazyFrame:
    """Canonical tables one after the other, as the loader joins its inputs."""
    frames = [conform(f) for f in frames]
    return frames[0] if len(frames) == 1 else conform(pl.concat(frames, how="diagonal_relaxed"))


# ---------------------------------------------------------------- 2.-4. per day


def build_day_state(packets: pl.LazyFrame, out: Path, *, pass_packets: int | None = None, held: bool = False) -> None:
    """One day's *packets* into the folder *out* (created): every per-day table, none of which
    depends on the other days (tool counts are those without Unicorn sessions; see :func:`port_day_with`).

    A day of more than *pass_packets* packets (default :data:`PASS_PACKETS`) is built in passes, one
    source range (``port_day``, ``src_dsts``) and one session-key range (``unicorn_keys``,
    ``unicorn_groups``) a pass, each written to a piece and the pieces concatenated in order:
    the same rows in the same order as one pass (every table is sorted by source or by key),
    with the memory of one pass's groups.

    *held*: *packets* are in memory (:func:`~scantui.analysis.day_packets.held_day`); a day of one pass is
    then classified and tooled once into a frame that every table groups (sharing the held columns; the
    new ones ~12 bytes a packet), not once per table (~0.02 CPU s of a 600 k-packet day's ~0.21)."""
    out.mkdir(parents=True, exist_ok=True)
    limit = PASS_PACKETS if pass_packets is None else pass_packets
    n = packets.select(pl.len()).collect().item()  # Parquet metadata for a day split
    passes = max(1, -(-n // limit))
    src_cuts = _source_cuts(packets, passes, n) if passes > 1 else []
    key_cuts = [(1 << 32) * i // passes for i in range(1, passes)]  # session keys are hash-like: even ranges
    tooled, packed, counted = None, None, None
    if held and passes == 1:
        prepared = ru.prepare(packets, sessions=pl.DataFrame(schema=SESSIONS_SCHEMA)).collect()
        packed = _packed_port_day(prepared)
        tooled = prepared.lazy()
        del prepared
        counted = _counted_keys(packets)
    classified = ru.classify(packets) if tooled is None else tooled  # (tool is one more column: unread here)
    # sorted by their keys: the same day makes the same bytes
    small = [ru.day_totals(classified).sort("day", "sensor", nulls_last=True).sink_parquet(out / DAY_TOTALS, lazy=True),
             ru.src_day_enrichment(classified, ru.enrichment_columns(packets)).sort("src", "day")
             .sink_parquet(out / ENRICHMENT, lazy=True)]
    names = (PORT_DAY_BASE, KEYS, GROUPS, PAIRS)
    pieces: dict[str, list[Path]] = {name: [] for name in names}
    for i in range(passes):
        by_src = packets if passes == 1 else packets.filter(_in_range("src", src_cuts, i))
        by_key = packets if passes == 1 else packets.filter(_in_range("unicorn_key", key_cuts, i, unicorn_key()))
        tables = _day_tables(by_src, by_key, tooled, counted)
        if packed is not None:
            tables[0] = packed[0]
        # sorted in memory after the streaming run: a streaming sort costs more than the rest of the day
        frames = pl.collect_all([*tables, *(small if i == 0 else [])], engine="streaming")
        for name, frame, (order, nulls_last) in zip(names, frames, _DAY_ORDER):
            target = out / name if passes == 1 else out / f"{name}.{i}.tmp"
            if name == PAIRS:
                frame = _distinct_pairs_sorted(frame)
            elif name == KEYS:  # held: counted in key order already
                frame = _keys_sorted(frame) if counted is None else frame
            elif packed is not None and name == PORT_DAY_BASE:  # grouped by its packed sort key: sorted by that
                frame = frame.sort(_PACKED).select(packed[1])
            elif name == PORT_DAY_BASE:  # its sort columns pack into one integer key: ~3x cheaper
                frame = sort_by(frame, order, nulls_last=nulls_last)
            else:
                frame = frame.sort(*order, nulls_last=nulls_last)
            frame.write_parquet(target, row_group_size=_row_group(name), **DAY_CODEC)
            pieces[name].append(target)
            if passes == 1 and name == PORT_DAY_BASE:  # collab's sums from the rows held (day_files' read saved)
                cs.write_day_sums(frame, out / ENRICHMENT, out / cs.DAY_FILE)
        del frames, tables, frame
    del tooled, classified, small, packed, counted
    if passes > 1:
        for name in names:  # streamed: one row group at a time, in pass order
            pl.scan_parquet(pieces[name], glob=False).sink_parquet(out / name, row_group_size=_row_group(name),
                                                                   engine="streaming", **DAY_CODEC)
            for piece in pieces[name]:
                piece.unlink()
        cs.write_day_sums(out / PORT_DAY_BASE, out / ENRICHMENT, out / cs.DAY_FILE)  # not held whole: read back
    zr.write_day(packets, out)  # the ZMap walk test on the day's pre-screened sources (after day_totals)


#: Packets one pass of :func:`build_day_state` groups at once. Measured on a 35 M-packet day (state
#: alone): one pass 3.5 GiB peak, 48.8 CPU s; passes of 18 M 1.9 GiB, 53.8 s; 12 M 1.5 GiB, 54.5 s;
#: 6 M 1.3 GiB, 63.9 s (every pass reads the whole day again).
PASS_PACKETS = 12_000_000


def _row_group(name: str) -> int:
    """Rows per row group of a per-day table: :data:`NARROW_ROW_GROUP` for those the merge reads by source range."""
    return NARROW_ROW_GROUP if name in (PORT_DAY_BASE, PAIRS) else ROW_GROUP


#: ``port_day``'s sort: by source (as the merge reads it), then the rest of its key: the group-by's rows come in
#: no set order, so rows of one (src, dport) (several sensors, protocols or kinds) were in a different order run
#: to run without the rest (a day of several inputs; ICMP rows, without a port).
PORT_DAY_ORDER = ("src", "dport", "proto", "kind", "sensor")
#: The port-sorted copy's (:func:`write_by_port`): by (kind, dport, src), then the rest of the key likewise.
BY_PORT_ORDER = ("kind", "dport", "src", "proto", "sensor")
#: Sort order (and nulls last?) of each per-day table (``port_day``, ``unicorn_keys``, ``unicorn_groups``, ``src_dsts``).
_DAY_ORDER = ((PORT_DAY_ORDER, False), (("unicorn_key",), False), (("unicorn_key", *GROUP_KEYS, "tool"), True),
              (("src", "kind", "dst"), False))


def _day_tables(by_src: pl.LazyFrame, by_key: pl.LazyFrame, tooled: pl.LazyFrame | None = None,
                counted: pl.DataFrame | None = None) -> list[pl.LazyFrame]:
    """``port_day`` and ``src_dsts`` of the packets *by_src*, session keys and groups of *by_key*; *tooled*: the
    packets (both) already through :func:`~scantui.analysis.rollup.prepare`, held in memory; *counted*: the
    session keys already counted (:func:`_counted_keys`)."""
    held = tooled is not None
    tooled = ru.prepare(by_src, sessions=pl.DataFrame(schema=SESSIONS_SCHEMA)) if tooled is None else tooled
    keyed = ru.prepare(by_key, sessions=pl.DataFrame(schema=SESSIONS_SCHEMA)) if by_key is not by_src else tooled
    keys = (by_key.filter(unicorn_candidate()).select(unicorn_key()).group_by("unicorn_key")
            .agg(pl.len().cast(pl.UInt32).alias("n"))) if counted is None else counted.lazy()
    shared = keys.filter(pl.col("n") >= 2).select("unicorn_key")
    groups = (keyed.filter(unicorn_eligible()).with_columns(unicorn_key()).join(shared, on="unicorn_key", how="semi")
              .group_by("unicorn_key", *GROUP_KEYS, "tool").agg(pl.len().cast(pl.UInt32).alias("packets")))
    # a held day's pairs are made distinct by their sort (_distinct_pairs_sorted), not by a unique() first; a day
    # not held keeps the unique() in its streaming run (one pass's distinct pairs held, not its packets)
    pairs = (tooled if held else ru.classify(by_src)).select("src", "kind", "dst")
    return [ru.port_day(tooled).drop("day"), keys, groups, pairs if held else pairs.unique()]


#: The packed key's column in the held day's ``port_day`` group-by (:func:`_packed_port_day`).
_PACKED = "_port_day_key"


def _packed_port_day(tooled: pl.DataFrame) -> tuple[pl.LazyFrame, list[pl.Expr]] | None:
    """The held day's ``port_day`` grouped by one ``UInt64``, the :func:`sort_key` of :data:`PORT_DAY_ORDER` (the
    day's ``String`` sensors as an enum, its columns without a null given no slot for one), not by the five columns
    and the day: the group-by (the key as :data:`_PACKED`) and the expressions taking its rows, sorted by the key,
    to ``port_day``'s columns (but the day). The same rows in the same order as :func:`~scantui.analysis.rollup.port_day`
    sorted by :func:`sort_by` (one integer hashed, and sorted, in place of six columns: a dev day's 266 k rows
    0.11 -> 0.08 CPU s). None (group by the columns) when the packets are not of one day, or the key would pass 64 bits."""
    day = tooled["day"]
    if tooled.height == 0 or day.null_count() or day.min() != day.max():
        return None
    enums, no_nulls = frame_hints(tooled, PORT_DAY_ORDER)
    columns = unpacked(pl.col(_PACKED), tooled.schema, PORT_DAY_ORDER, enums=enums, no_nulls=no_nulls)
    key = sort_key(tooled.schema, PORT_DAY_ORDER, enums=enums, no_nulls=no_nulls)
    if columns is None or key is None:
        return None
    unpack = {e.meta.output_name(): e for e in columns}
    grouped = tooled.lazy().group_by(key.alias(_PACKED)).agg(ru.port_day_aggregates())
    return grouped, [unpack.get(c, pl.col(c)) for c in ru.PORT_DAY_SCHEMA.names() if c != "day"]


def _distinct_pairs_sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """The distinct (src, kind, dst) rows of *frame* sorted by them, as :func:`sort_by` sorts its distinct rows.

    Each row is one ``UInt128`` (the source above the kind's index above the destination), sorted and kept
    where it differs from the one before, then unpacked: no hash ``unique`` and no gather of the rows by a
    sorted index (a dev day's 600 k packets: 0.067 -> 0.026 CPU s). A frame with a null takes
    ``unique`` and :func:`sort_by` instead (nulls sort first there; the same rows either way)."""
    if any(frame[c].null_count() for c in ("src", "kind", "dst")):
        return sort_by(frame.unique(), ("src", "kind", "dst"))
    u128 = pl.UInt128()
    high, low = pl.lit(1 << _PAIR_LOW_BITS, u128), pl.lit(1 << 32, u128)
    k = pl.col("k")
    kinds = pl.lit(pl.Series(ru.KINDS, dtype=ru.KIND_DTYPE))
    key = pl.col("src").cast(u128) * high + pl.col("kind").to_physical().cast(u128) * low + pl.col("dst").cast(u128)
    return (frame.lazy().select(key.alias("k")).sort("k").filter((k != k.shift(1)).fill_null(True))
            .select((k // high).cast(pl.UInt32).alias("src"),
                    kinds.gather((k // low % pl.lit(1 << _KIND_BITS, u128)).cast(pl.UInt32)).alias("kind"),
                    (k % low).cast(pl.UInt32).alias("dst"))
            .collect())


def _counted_keys(packets: pl.LazyFrame) -> pl.DataFrame | None:
    """The held day's key counts (``unicorn_keys``): its SYN probes' session keys sorted and counted in runs, not
    hashed by a group-by and then sorted (:func:`_keys_sorted`; a dev day's 528 k keys: 0.027 -> 0.016 CPU s).
    None when a key is null (the group-by and its sort then place it)."""
    keys = packets.filter(unicorn_candidate()).select(unicorn_key()).collect()["unicorn_key"]
    if keys.null_count():
        return None
    runs = keys.sort().rle().struct.unnest()
    return pl.DataFrame([runs["value"].alias("unicorn_key"), runs["len"].cast(pl.UInt32).alias("n")])


def _keys_sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """The day's key counts (distinct ``unicorn_key``, ``n``) sorted by key: each row packed into one ``UInt64``
    (key above count) and that one column sorted, not a sort of the frame by index and a gather (a dev day's
    516 k keys: 0.023 -> 0.013 CPU s). A null key (nulls first) takes the frame's sort."""
    if frame["unicorn_key"].null_count():
        return frame.sort("unicorn_key")
    s = (frame["unicorn_key"].cast(pl.UInt64) * (1 << 32) + frame["n"].cast(pl.UInt64)).sort()
    return pl.DataFrame([(s // (1 << 32)).cast(pl.UInt32).alias("unicorn_key"), (s % (1 << 32)).cast(pl.UInt32).alias("n")])


def _source_cuts(packets: pl.LazyFrame, passes: int, n: int) -> list[int]:
    """Source addresses cutting the day into *passes* ranges of about as many packets (from a sample)."""
    step = max(1, n // 200_000)
    sample = packets.select(pl.col("src").gather_every(step)).collect(engine="streaming")["src"].drop_nulls().sort()
    if sample.is_empty():
        return []
    cuts = [int(sample[len(sample) * i // passes]) for i in range(1, passes)]
    return sorted(set(cuts))


def _in_range(column: str, cuts: Sequence[int], i: int, expr: pl.Expr | None = None) -> pl.Expr:
    """Rows of range *i* of *column* cut at *cuts* (range ``i`` is ``[cuts[i-1], cuts[i])``; nulls in the last)."""
    col = pl.col(column) if expr is None else expr
    if i > len(cuts):
        return pl.lit(False)
    lower = None if i == 0 else col >= cuts[i - 1]
    upper = col.is_null() if i == len(cuts) else col < cuts[i]
    if i == len(cuts):
        return upper if lower is None else (lower | upper)
    return upper if lower is None else (lower & upper)


def port_day_with(state: Path, sessions: pl.DataFrame, packets: Callable[[], pl.LazyFrame], target: Path) -> None:
    """The day's ``port_day`` rows with the Unicorn *sessions* among its keys (:func:`day_sessions`,
    not empty) into *target* (:func:`port_day_rows`)."""
    port_day_rows(state, sessions, packets).write_parquet(target, row_group_size=NARROW_ROW_GROUP, **DAY_CODEC)


def port_day_rows(state: Path, sessions: pl.DataFrame, packets: Callable[[], pl.LazyFrame]) -> pl.DataFrame:
    """The day's ``port_day`` rows with the Unicorn *sessions* among its keys (not empty): the base rows,
    in their order (by source, as the merge reads them), with each session packet moved from the tool it
    had without sessions to ``unicorn``. The packets come from ``unicorn_groups`` (keys seen at least
    twice that day); only a session key seen once that day reads the day's *packets* again. Memory: the
    day's ``port_day`` rows, as :func:`write_by_port` (which then sorts these instead of reading them back)."""
    hits = pl.scan_parquet(state / GROUPS, glob=False).join(sessions.lazy(), on="unicorn_key", how="semi").drop("unicorn_key")
    singles = pl.scan_parquet(state / KEYS, glob=False).filter(pl.col("n") < 2).join(sessions.lazy(), on="unicorn_key", how="semi")
    singles = singles.select("unicorn_key").collect()
    frames = [hits]
    if singles.height:
        tooled = ru.prepare(packets(), sessions=pl.DataFrame(schema=SESSIONS_SCHEMA))
        frames.append(tooled.filter(unicorn_eligible()).with_columns(unicorn_key())
                      .join(singles.lazy(), on="unicorn_key", how="semi")
                      .group_by(*GROUP_KEYS, "tool").agg(pl.len().cast(pl.UInt32).alias("packets")))
    moved = pl.concat(frames).group_by(GROUP_KEYS).agg(
        [pl.col("packets").filter(pl.col("tool") == t).sum().cast(pl.UInt32).alias(f"moved_{t}") for t in TOOLS]
    )
    moved_cols = [f"moved_{t}" for t in TOOLS]
    moved = moved.collect()
    rows = pl.read_parquet(state / PORT_DAY_BASE, glob=False)
    # only the rows of a moved group change (~3,400 of a dev day's 266 k): found through their sources and
    # set in place, not a left join of every row (0.072-0.082 -> 0.028-0.037 CPU s a dev day)
    src = pl.col("src")
    hit = (rows.lazy().with_row_index("_row").filter(src.is_in(moved["src"].unique().implode()) | src.is_null())
           .join(moved.lazy(), on=list(GROUP_KEYS), how="inner", nulls_equal=True)
           .select("_row", *[(pl.col(c) - pl.col(f"moved_{t}")).alias(c) for t, c in zip(TOOLS, ru.TOOL_COLUMNS)
                             if t != "unicorn"],
                   (pl.col("tool_unicorn") + pl.sum_horizontal(moved_cols)).cast(pl.UInt32).alias("tool_unicorn"))
           .collect())
    if hit.height:
        rows = rows.with_columns(rows[c].clone().scatter(hit["_row"], hit[c]) for c in ru.TOOL_COLUMNS)
    return rows


def merge_sessions(key_files: Sequence[Path], min_packets: int, *, map: Mapper | None = None) -> pl.DataFrame:
    """The session keys shared by more than *min_packets* SYN probes over all the days' key counts.

    *map* runs :func:`session_range` over the key ranges (default: a loop; a Dask runner's map
    runs them as tasks)."""
    out = [pl.DataFrame(schema=SESSIONS_SCHEMA)]
    files = [str(f) for f in key_files]
    if not files:
        return out[0]
    ranges = key_ranges(files)
    jobs = [(files, r, ranges, min_packets) for r in range(ranges)]
    out.extend((map or serial)(session_range, jobs))
    return pl.concat(out).sort("unicorn_key")


def key_ranges(files: Sequence[str]) -> int:
    """How many even session-key ranges the key-count *files* are read in: enough for each to hold
    about :data:`KEYS_PER_RANGE` of their rows (an upper bound on its distinct keys; the keys are
    hash-like), up to :data:`MAX_KEY_RANGES`."""
    total = sum(_rows(f) for f in files)
    return max(1, min(MAX_KEY_RANGES, -(-total // KEYS_PER_RANGE)))


def _key_range(r: int, ranges: int) -> pl.Expr:
    """Rows of session-key range *r* of *ranges* (the key files are sorted by key: a range reads only
    its row groups); the last range runs to the largest key."""
    width = (1 << 32) // ranges
    key = pl.col("unicorn_key")
    return key >= r * width if r == ranges - 1 else (key >= r * width) & (key <= (r + 1) * width - 1)


def extend_sessions(sessions: pl.DataFrame, held: Sequence[Path], new: Sequence[Path], min_packets: int, *,
                    memo: Path | None = None, memo_min_rows: int | None = None) -> pl.DataFrame:
    """:func:`merge_sessions` of the key files *held* and *new* from *sessions*, those of *held*
    alone: a key's count only grows with more days, so they stay sessions, and only the keys of
    the *new* days can join them (their counts in *held* are read for those keys only).

    One key range at a time (:func:`extend_range`), as :func:`merge_sessions` does, the ranges planned
    on the *new* days' rows: memory is the distinct new keys of one range, at most :data:`KEYS_PER_RANGE`
    (all the new days' keys at once grew with the days added in one run: 63 full-size days, 7.75 GB).

    *memo*: the day store's folder of held-count memos (:mod:`~scantui.analysis.session_counts`): with one for the
    *held* days, or from *memo_min_rows* held key rows on (default :data:`~.session_counts.MEMO_MIN_ROWS`), the
    held counts come from it and no held file is read (the same sessions)."""
    sessions = sessions.cast(dict(SESSIONS_SCHEMA))
    new_files, held_files = [str(f) for f in new], [str(f) for f in held]
    out = [sessions]
    if new_files:
        ranges = key_ranges(new_files)
        found = None
        if memo is not None and held_files and min_packets < sc.CAP:
            found = _memo_sessions(memo, sessions, held_files, new_files, ranges, min_packets,
                                   sc.MEMO_MIN_ROWS if memo_min_rows is None else memo_min_rows)
        if found is None:
            found = [extend_range(new_files, held_files, sessions, r, ranges, min_packets) for r in range(ranges)]
        out.extend(found)
    return pl.concat(out).sort("unicorn_key")


def _memo_sessions(folder: Path, sessions: pl.DataFrame, held: Sequence[str], new: Sequence[str], ranges: int,
                   min_packets: int, min_rows: int) -> list[pl.DataFrame] | None:
    """:func:`extend_sessions` through the held days' memo, updated for the *new* days and renamed for every day
    (taken, or built from the held key files); None (read the held files) below *min_rows* held rows without a
    memo, when the memo cannot be written, or when a rebuilt one still disagrees with *sessions*."""
    states = [Path(f).parent.name for f in held]
    if not sc.memo_path(folder, states).is_file() and sum(_rows(f) for f in held) < min_rows:
        return None
    for _attempt in range(2):  # a memo that disagrees is removed; the second one is built from the key files
        try:
            memo = sc.Memo.take(folder, states, lambda: _held_counts(held))
        except OSError:
            return None  # e.g. a read-only or full cache
        try:
            found = [memo.add(_range_counts(new, r, ranges), sessions, min_packets) for r in range(ranges)]
            memo.commit([*states, *(Path(f).parent.name for f in new)])
            return found
        except (sc.Inconsistent, OSError):
            memo.discard()
        except BaseException:
            memo.discard()
            raise
    return None


def _held_counts(held: Sequence[str]) -> Iterator[pl.DataFrame]:
    """Every key's count over the *held* key files, one key range at a time (as :func:`merge_sessions` reads them)."""
    ranges = key_ranges(held)
    for r in range(ranges):
        yield _range_counts(held, r, ranges)


def _range_counts(files: Sequence[str], r: int, ranges: int) -> pl.DataFrame:
    """:func:`_range_sums`, sorted by key."""
    return _range_sums(files, r, ranges).sort("unicorn_key").collect(engine="streaming")


def _range_sums(files: Sequence[str], r: int, ranges: int) -> pl.LazyFrame:
    """Key range *r* of *ranges* of the key-count *files*: each key's count summed (``unicorn_key``, ``n``)."""
    lf = pl.scan_parquet(list(files), schema=KEY_COUNTS_SCHEMA, glob=False)
    if ranges > 1:
        lf = lf.filter(_key_range(r, ranges))
    return lf.group_by("unicorn_key").agg(pl.col("n").cast(pl.UInt64).sum())


def extend_range(new: Sequence[str], held: Sequence[str], sessions: pl.DataFrame, r: int, ranges: int,
                 min_packets: int) -> pl.DataFrame:
    """The new sessions of key range *r* of *ranges* (see :func:`extend_sessions`): the range's keys of
    the *new* key files not yet in *sessions*, whose count over *new* and *held* passes *min_packets*."""
    key = "unicorn_key"
    where = _key_range(r, ranges) if ranges > 1 else pl.lit(True)
    counts = _range_sums(new, r, ranges).join(sessions.lazy(), on=key, how="anti").collect(engine="streaming")
    if held and counts.height and len(held) < min_packets:  # else every new key's bound passes
        counts = counts.join(_maybe_sessions(held, where, counts, min_packets), on=key, how="semi")
    if held and counts.height:
        before = (pl.scan_parquet(list(held), schema=KEY_COUNTS_SCHEMA, glob=False).filter(where)
                  .join(counts.lazy().select(key), on=key, how="semi")
                  .group_by(key).agg(pl.col("n").cast(pl.UInt64).sum()))
        counts = pl.concat([counts.lazy(), before]).group_by(key).agg(pl.col("n").sum()).collect(engine="streaming")
    hot = counts.filter(pl.col("n") > min_packets).select(key, pl.lit(True).alias("unicorn_session"))
    return hot.cast(dict(SESSIONS_SCHEMA))


def _maybe_sessions(held: Sequence[str], where: pl.Expr, counts: pl.DataFrame, min_packets: int) -> pl.DataFrame:
    """The keys of *counts* (the new days' counts) whose count over the *held* days too may pass
    *min_packets*: an upper bound from the held rows counting a key twice or more, each other held day
    (one row a key a day) counting it at most once. Probing every held row for the new keys cost 2.4 of
    2.8 CPU s of adding day 84 at 200 M; the rows of two or more are few (57 k of 171 M there: 0.6 CPU s,
    mostly decoding the key column), and the exact counts are then read for the keys left (none there)."""
    key = "unicorn_key"
    heavy = (pl.scan_parquet(list(held), schema=KEY_COUNTS_SCHEMA, glob=False).filter(where & (pl.col("n") >= 2))
             .join(counts.lazy().select(key), on=key, how="semi")
             .group_by(key).agg(pl.col("n").cast(pl.UInt64).sum().alias("heavy"), pl.len().cast(pl.UInt64).alias("days")))
    bound = (counts.lazy().join(heavy, on=key, how="left")
             .select(key, pl.col("n") + pl.col("heavy").fill_null(0) + len(held) - pl.col("days").fill_null(0)))
    return bound.filter(pl.col("n") > min_packets).select(key).collect(engine="streaming")


def session_range(job: tuple[list[str], int, int, int]) -> pl.DataFrame:
    """The sessions of key range *r* of *ranges* (job: key files, r, ranges, min_packets)."""
    files, r, ranges, min_packets = job
    hot = (_range_sums(files, r, ranges).filter(pl.col("n") > min_packets)
           .select("unicorn_key", pl.lit(True).alias("unicorn_session")))
    return hot.collect(engine="streaming").cast(dict(SESSIONS_SCHEMA))


def day_sessions(keys_file: Path, sessions: pl.DataFrame) -> pl.DataFrame:
    """The sessions among one day's keys (sorted): all :func:`port_day_with` needs of them."""
    keys = pl.scan_parquet(keys_file, glob=False).select("unicorn_key").join(sessions.lazy(), on="unicorn_key", how="inner")
    return keys.collect().sort("unicorn_key").cast(dict(SESSIONS_SCHEMA))


def day_files(day: dt.date, state: Path, sessions: pl.DataFrame | None, packets: Callable[[], pl.LazyFrame], *,
              port_day: Path | None = None) -> DayFiles:
    """The day's finished files under the merged *sessions*: its base ``port_day`` when none of
    its keys is a session, else a ``port_day-<digest>.parquet`` beside it (written once per session set).
    *port_day*: the day's file, already known to be the one for *sessions* (see :func:`held_port_day`;
    *sessions* then unused)."""
    if port_day is not None:
        target = port_day
    elif (mine := day_sessions(state / KEYS, sessions)).height == 0:
        target = state / PORT_DAY_BASE
    else:
        target = state / f"port_day-{sessions_digest(mine)}.parquet"
        if not target.is_file():
            rows = port_day_rows(state, mine, packets)
            with atomic_path(target) as tmp:  # a concurrent writer's identical file may win; either is complete
                rows.write_parquet(tmp, row_group_size=NARROW_ROW_GROUP, **DAY_CODEC)
            write_by_port(target, rows)  # from the rows held, not read back
            del rows
    write_by_port(target)  # once per file: nothing to do when written above
    # from the base rows (sessions move tool counts only) and the day's own enrichment; once per state (a state
    # built since session 11 has it from build_day_state's rows in memory: nothing to do)
    cs.write_day_sums(state / PORT_DAY_BASE, state / ENRICHMENT, state / cs.DAY_FILE)
    fk.write_day_fingerprints(state, packets)  # collab's fingerprint keys, from the state's packet table; once per state
    return DayFiles(day, state, target)


#: Up to this many changed keys, :func:`held_port_day` looks each up (a day's key file is read only where its row
#: groups' bounds hold one: 83 days at 200 M, 0.06 CPU s for 1 key, 0.26 for 10); more are one ``is_in`` (~1 s).
FEW_CHANGED_KEYS = 16


def held_port_day(state: Path, name: str, changed: Sequence[int]) -> Path | None:
    """A held day's ``port_day`` file for an extension's sessions: *name*, the file the extended rollup
    merged (under its sessions), when none of the *changed* keys (those that became sessions since)
    is among the day's keys, so that its session set is the same; None when one is (or the file is
    gone): the day must be checked against every session (:func:`day_files`). Reads none of the day's
    keys when nothing changed."""
    target = state / name
    if not target.is_file():
        return None
    if changed:
        key = pl.col("unicorn_key")
        if len(changed) <= FEW_CHANGED_KEYS:  # the key file is sorted: equalities skip row groups by their statistics
            where = functools.reduce(operator.or_, [key == k for k in changed])
        else:
            where = key.is_in(pl.Series(list(changed), dtype=pl.UInt32).implode())
        if pl.scan_parquet(state / KEYS, glob=False).select(key).filter(where).head(1).collect().height:
            return None
    return target


def by_port(port_day: Path) -> Path:
    """The copy of a day's ``port_day`` file sorted by :data:`BY_PORT_ORDER`, beside it."""
    return port_day.with_name(f"by_port-{port_day.name}")


def write_by_port(port_day: Path, rows: pl.DataFrame | None = None) -> None:
    """Write :func:`by_port` of *port_day* once (from its *rows* when the caller holds them): the same rows,
    sorted by port so that a port filter skips the other row groups by their statistics (the file itself is
    sorted by source, as the merge reads it). Memory: the day's ``port_day`` rows."""
    target = by_port(port_day)
    if target.is_file():
        return
    with atomic_path(target) as tmp:
        rows = pl.read_parquet(port_day, glob=False) if rows is None else rows
        _by_port_sorted(rows).write_parquet(tmp, row_group_size=NARROW_ROW_GROUP, **DAY_CODEC)


def _by_port_sorted(rows: pl.DataFrame) -> pl.DataFrame:
    """A day's ``port_day`` *rows*, in :data:`PORT_DAY_ORDER` (as every ``port_day`` file is), sorted by
    :data:`BY_PORT_ORDER` (nulls last): the rows of one (kind, dport) are in (src, proto, sensor) order already, so
    a stable sort by (kind, dport) alone orders them (a smaller key: a dev day's 266 k rows ~0.022 -> 0.018 CPU s).
    Where src, proto or sensor holds nulls beside values (first there, last here), by the whole order."""
    if any(0 < rows[c].null_count() < rows.height for c in ("src", "proto", "sensor")):
        return sort_by(rows, BY_PORT_ORDER, nulls_last=True)
    return sort_by(rows, BY_PORT_ORDER[:2], nulls_last=True)


def sessions_digest(sessions: pl.DataFrame) -> str:
    """A short hash of a (sorted) session set, for file names."""
    data = sessions["unicorn_key"].cast(pl.UInt32).to_numpy().astype("<u4").tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


# ---------------------------------------------------------------- 5. the merge


@dataclass(frozen=True)
class DayFiles:
    """One day's finished state: the :func:`build_day_state` folder and its ``port_day`` file."""

    day: dt.date
    state: Path
    port_day: Path


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


def merge_days(days: Sequence[DayFiles], out: Path, *, enrich: bool, buckets: int = 1,
               progress: Progress | None = None, previous: Path | None = None, keep_state: bool = True) -> bool:
    """The rollup tables (all but ``meta.json``) and the merged state (``merge/``) into the
    existing, empty folder *out*; True when it extended *previous*' merged state.

    *enrich*: write ``src_day_enrichment.parquet`` (the inputs have enrichment
    columns). *buckets*: at least this many source ranges (the result does not
    depend on it). *previous*: an older rollup folder; when every day of its
    merged state is one of *days* with the same state (:func:`extends`), only
    the other days and the days whose ``port_day`` file changed are folded into
    it, else every day is merged. *keep_state*: False removes ``merge/`` at the end
    (a build that keeps no days: nothing could extend it).
    """
    report = progress or (lambda _m, _f: None)
    days = sorted(days, key=lambda d: d.day)
    (out / ru.PORT_DAY).mkdir()
    sorted_by_port = all(by_port(d.port_day).is_file() for d in days)
    with_sums = all((d.state / cs.DAY_FILE).is_file() for d in days)
    with_fps = all((d.state / fk.DAY_FILE).is_file() for d in days)
    for d in days:
        folder = out / ru.PORT_DAY / f"day={d.day.isoformat()}"
        folder.mkdir()
        _link_or_copy(d.port_day, folder / "00000000.parquet")
        if sorted_by_port:
            folder = out / ru.PORT_DAY_BY_PORT / f"day={d.day.isoformat()}"
            folder.mkdir(parents=True)
            _link_or_copy(by_port(d.port_day), folder / "00000000.parquet")
        if with_sums:
            folder = out / cs.TABLE / f"day={d.day.isoformat()}"
            folder.mkdir(parents=True)
            _link_or_copy(d.state / cs.DAY_FILE, folder / "00000000.parquet")
        if with_fps:
            folder = out / fk.TABLE / f"day={d.day.isoformat()}"
            folder.mkdir(parents=True)
            _link_or_copy(d.state / fk.DAY_FILE, folder / "00000000.parquet")
    bw.link_days([(d.day, d.state) for d in days], out, _link_or_copy)
    _concat([d.state / DAY_TOTALS for d in days], ru.DAY_TOTALS_SCHEMA, out / ru.DAY_TOTALS, ["day", "sensor"])
    if enrich:
        _concat([d.state / ENRICHMENT for d in days], ru.ENRICHMENT_SCHEMA, out / ru.ENRICHMENT_FILE, ["src", "day"])
    zr.merge([d.state for d in days], out)
    state = out / MERGE
    for sub in (*_SCHEMAS, SRC_DAYS, DSTS, *_SUMS):
        (state / sub).mkdir(parents=True)
    incremental = previous is not None and extends(previous, days) > 0
    old = previous / MERGE if incremental else None
    held_files: dict[str, list[Path]] | None = None
    layered: tuple[str, ...] = ()
    deltas = 0
    same_window = False
    if old is not None:
        index = _read_json_file(old / MERGE_DAYS)
        held = index["days"]
        # the files the index names, not a listing: a state folder missing one fails (and is merged anew)
        held_files = {t: [old / t / name for name in names] for t, names in index["files"].items()}
        new = [d for d in days if d.day.isoformat() not in held]
        changed = [(d, d.state / held[d.day.isoformat()][1]) for d in days
                   if d.day.isoformat() in held and held[d.day.isoformat()][1] != d.port_day.name]
        deltas = index.get("deltas", 0) + 1
        if deltas > MAX_DELTAS:  # fold the layers back into one file per range (and table)
            deltas = 0
        else:
            layered = (*LAYERED, DSTS)
        for t in layered:
            for f in held_files[t]:
                _link_or_copy(f, state / t / f.name)
        held_days = sorted(held)
        same_window = bool(days) and (held_days[0], held_days[-1]) == (days[0].day.isoformat(), days[-1].day.isoformat())
        sizing = [*held_files[PORTS], *held_files[DSTS]]
        # what the index says of its files (a state written before it did: read from the files)
        held_nets = _held_nets(old, index)
        sized = [] if held_nets is not None else [str(f) for f in sizing]
        sized += [str(d.port_day) for d in new] + [str(d.state / PAIRS) for d in new]
    else:
        new, changed = list(days), []
        held_nets = None
        sized = [str(d.port_day) for d in days] + [str(d.state / PAIRS) for d in days]
    first_day = days[0].day if days else None
    n_days = (days[-1].day - days[0].day).days + 1 if days else 0
    nets = _net_rows(sized)  # one read of the files' sources, for the ranges and for the runs of days
    ranges = _plan_rows([*nets.values(), *([held_nets] if held_nets is not None else [])], buckets)
    groups = _day_groups(new, ranges, nets)
    # the rows per /16 of the ports and dsts files the new index names: the held ones kept (layered), and
    # what each range writes (added by _merge_range)
    kept_nets = []
    if layered:
        kept_nets = [held_nets] if held_nets is not None else [nets[str(f)] for f in sizing]
    catalog = _Catalog(kept_nets)
    del nets  # a row per /16 per file: tens of MiB at 84 full-size days, not needed past the plan
    bounds = {}
    if held_files:
        bounds = _held_bounds(old, index, held_files)
        for t in layered:  # the files linked into the new state keep their bounds
            catalog.bounds[t].update({f.name: bounds[f] for f in held_files[t]})
    parts = out / ".parts"
    parts.mkdir()
    for i, (lo, hi) in enumerate(ranges):
        report(f"source totals and profiles, part {i + 1}/{len(ranges)}", i / len(ranges))
        r = _Range(i, len(days), lo, hi)
        # only the held files holding sources of the range: each is opened (its footer parsed) once a range
        mine = None if held_files is None else {t: [f for f in files if _overlaps(bounds[f], lo, hi)]
                                                for t, files in held_files.items()}
        touched, grown, written = _merge_range(r, new, changed, mine, state, layered, groups[i], catalog)
        layers = None
        if layered:
            layers = {t: [state / t / f.name for f in mine[t]] + [f for f in [state / t / r.delta] if f.is_file()]
                      for t in LAYERED}
        totals, profile = finish_sources(state, r, first_day, n_days,
                                         None if old is None else (previous, touched, same_window), layers, grown,
                                         tables=written if old is None else None)
        # scratch, read once by _concat below: not worth compressing
        totals.write_parquet(parts / f"{i:05d}-src_totals.parquet", compression="uncompressed")
        profile.write_parquet(parts / f"{i:05d}-src_profile.parquet", compression="uncompressed")
        # nothing of a range is needed by the next: freed before it starts (else its tables, held here, add
        # to the next range's peak)
        del touched, grown, written, layers, mine, totals, profile
    files = {t: sorted(f.name for f in (state / t).glob("*.parquet")) for t in (*_SCHEMAS, SRC_DAYS, DSTS, *_SUMS)}
    _write_json_file(state / MERGE_DAYS, {"version": MERGE_VERSION, "deltas": deltas,
                                          "days": {d.day.isoformat(): [d.state.name, d.port_day.name] for d in days},
                                          "files": files, **catalog.write(state, files)})
    # the ranges' parts in range order, each sorted by (src, kind) (finish_sources): sorted as they are
    _concat(sorted(parts.glob("*-src_totals.parquet")), ru.SRC_TOTALS_SCHEMA, out / ru.SRC_TOTALS, None)
    # lz4: the scanner list reads this table whole on every call; lz4 decodes ~1.5x faster than zstd here.
    # Row groups of PROFILE_ROW_GROUP rows: the next extension reads it one source range at a time
    _concat(sorted(parts.glob("*-src_profile.parquet")), ru.SRC_PROFILE_SCHEMA, out / ru.SRC_PROFILE, None,
            compression="lz4", row_group_size=PROFILE_ROW_GROUP)
    shutil.rmtree(parts)
    if not keep_state:
        shutil.rmtree(state)
    return incremental


def dst_pair_files(rollup: Path) -> list[Path] | None:
    """The files of a rollup's merged destination pairs (disjoint distinct (src, kind, dst) over the whole
    data), as its merged state's index names them; None for a rollup kept without its merged state."""
    index = rollup / MERGE / MERGE_DAYS
    if not index.exists():
        return None
    return [rollup / MERGE / DSTS / name for name in _read_json_file(index)["files"][DSTS]]


def scan_dst_pairs(rollup: Path) -> pl.LazyFrame | None:
    """:func:`dst_pair_files` as one LazyFrame (None without a merged state)."""
    files = dst_pair_files(rollup)
    if files is None:
        return None
    return pl.scan_parquet(files, glob=False) if files else pl.LazyFrame(schema=PAIRS_SCHEMA)


def held_days(previous: Path) -> set[str]:
    """The days (ISO dates) the merged state of the rollup folder *previous* holds (empty without one)."""
    try:
        return set(_read_json_file(previous / MERGE / MERGE_DAYS)["days"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def held_files(previous: Path) -> dict[str, tuple[str, str]]:
    """Per day the merged state of the rollup folder *previous* holds: its state folder's name and the
    ``port_day`` file name merged (empty without a readable index)."""
    try:
        held = _read_json_file(previous / MERGE / MERGE_DAYS)["days"]
        return {day: (str(entry[0]), str(entry[1])) for day, entry in held.items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {}


def extends(previous: Path, days: Sequence[DayFiles]) -> int:
    """How many of *days* the merged state of the rollup folder *previous* holds, when every day
    it holds is one of *days* with the same state folder; 0 when it cannot be extended."""
    try:
        index = _read_json_file(previous / MERGE / MERGE_DAYS)
    except (OSError, ValueError):
        return 0
    if not isinstance(index, dict) or index.get("version") != MERGE_VERSION:
        return 0
    held = index.get("days") or {}
    mine = {d.day.isoformat(): d.state.name for d in days}
    if not held or any(mine.get(day) != entry[0] for day, entry in held.items()):
        return 0
    return len(held)


@dataclass(frozen=True)
class _Range:
    """One source range of a merge: its number, the merge's day count (for file names) and its sources (inclusive)."""

    index: int
    days: int
    lo: int
    hi: int

    @property
    def where(self) -> pl.Expr:
        return pl.col("src").is_between(self.lo, self.hi)

    @property
    def name(self) -> str:
        return f"{self.index:05d}.parquet"

    @property
    def delta(self) -> str:
        """The name of the file an extending merge adds to a layered table (or ``dsts``) for this range."""
        return f"{self.days:05d}-{self.name}"


def _src_bounds(files: Sequence[Path]) -> dict[Path, tuple[int, int] | None]:
    """The lowest and highest source of each file (None: no rows), read once a merge: a file of the merged
    state holds the sources of one range of the merge that wrote it, so most source ranges of a later
    merge need a few of a table's files, not all of them (an extension read every held file's footer
    once per range and table: 84 full-size days, ~40 k footers for one added day)."""
    scans = [pl.scan_parquet(f, glob=False).select(pl.col("src").min().alias("lo"), pl.col("src").max().alias("hi")) for f in files]
    frames = [df for i in range(0, len(scans), 64) for df in pl.collect_all(scans[i:i + 64])]  # a few files' reads at once
    return {f: None if df["lo"][0] is None else (int(df["lo"][0]), int(df["hi"][0])) for f, df in zip(files, frames)}


def _overlaps(bounds: tuple[int, int] | None, lo: int, hi: int) -> bool:
    return bounds is not None and bounds[0] <= hi and bounds[1] >= lo


#: The merged state's rows per /16 of its :data:`PORTS` and :data:`DSTS` files summed (``net``, ``rows``): an
#: extension sizes its source ranges by them (as if it had counted the files' rows: :func:`_net_rows`).
NETS = "nets.parquet"


class _Catalog:
    """What a merge wrote, for its index: each merged-state file's lowest and highest source (``bounds``:
    :func:`_src_bounds` without reading the file again) and the rows per /16 of its :data:`PORTS` and
    :data:`DSTS` files (:data:`NETS`), so that an extension reads neither from the held files (at 84
    full-size days ~0.9 of its ~12 CPU s: ``benchmarks/RESULTS.md``, "Session 12", wt-extend12).
    *kept*: the rows per /16 of the held files an extension keeps."""

    def __init__(self, kept: Sequence[pl.DataFrame] = ()) -> None:
        self.bounds: dict[str, dict[str, list[int] | None]] = {t: {} for t in (*_SCHEMAS, SRC_DAYS, DSTS, *_SUMS)}
        self.nets = list(kept)

    def wrote(self, table: str, name: str, df: pl.DataFrame) -> None:
        src = df["src"]
        self.bounds[table][name] = None if src.len() == src.null_count() else [int(src.min()), int(src.max())]
        if table in (PORTS, DSTS):
            self.nets.append(df.group_by((pl.col("src") // 65536).alias("net")).agg(pl.len().alias("rows")))

    def write(self, state: Path, files: dict[str, list[str]]) -> dict:
        """:data:`NETS` into *state*; the index's entries (none when a file it names is not known here)."""
        if any(name not in self.bounds[t] for t, names in files.items() for name in names):
            return {}
        nets = (pl.concat(self.nets, how="vertical_relaxed") if self.nets
                else pl.DataFrame(schema={"net": pl.UInt32(), "rows": pl.Int64()}))
        nets.group_by("net").agg(pl.col("rows").cast(pl.Int64).sum()).sort("net").write_parquet(state / NETS)
        return {"nets": NETS, "bounds": {t: {name: self.bounds[t][name] for name in names} for t, names in files.items()}}


def _held_nets(old: Path, index: dict) -> pl.DataFrame | None:
    """The rows per /16 of the :data:`PORTS` and :data:`DSTS` files of the merged state *old* (*index*: its
    index), summed; None when it has none (written before the index held them)."""
    if index.get("nets") != NETS or not (old / NETS).is_file():
        return None
    return pl.read_parquet(old / NETS, glob=False)


def _held_bounds(old: Path, index: dict, files: dict[str, list[Path]]) -> dict[Path, tuple[int, int] | None]:
    """Each held file's lowest and highest source: from the index of the merged state *old* where it has them,
    else read (:func:`_src_bounds`)."""
    known = index.get("bounds") if isinstance(index.get("bounds"), dict) else {}
    out: dict[Path, tuple[int, int] | None] = {}
    missing = []
    for t, paths in files.items():
        for f in paths:
            entry = (known.get(t) or {}).get(f.name, False)
            if entry is False:
                missing.append(f)
            else:
                out[f] = None if entry is None else (int(entry[0]), int(entry[1]))
    return {**out, **(_src_bounds(missing) if missing else {})}


def _day_groups(days: Sequence[DayFiles], ranges: Sequence[tuple[int, int]],
                nets: dict[str, pl.DataFrame] | None = None) -> list[list[list[DayFiles]]]:
    """Per source range, *days* (sorted) cut into runs of consecutive days holding at most about
    :data:`DAY_ROWS_PER_PART` of the range's ``port_day`` rows each (a day more than that is a run of its
    own): one run for most ranges. From the days' ``port_day`` rows counted per /16 (:func:`_net_rows`;
    *nets*: already counted, by path)."""
    if not days or not ranges:
        return [[list(days)] if days else [] for _ in ranges]
    paths = [str(d.port_day) for d in days]
    nets = nets if nets is not None and all(f in nets for f in paths) else _net_rows(paths)
    counts = pl.concat([nets[f].with_columns(pl.lit(i, pl.Int64()).alias("i")) for i, f in enumerate(paths)])
    lows = np.array([lo // 65536 for lo, _ in ranges], dtype=np.int64)
    highs = np.array([hi // 65536 for _, hi in ranges], dtype=np.int64)
    net = counts["net"].cast(pl.Int64).to_numpy()
    k = np.searchsorted(lows, net, side="right") - 1  # the range whose first /16 is the last at or below net
    keep = (k >= 0) & (net <= highs[np.maximum(k, 0)])
    rows = np.zeros((len(ranges), len(days)), dtype=np.int64)
    np.add.at(rows, (k[keep], counts["i"].to_numpy()[keep]), counts["rows"].cast(pl.Int64).to_numpy()[keep])
    out = []
    for per_day in rows.tolist():
        runs, acc = [[]], 0
        for d, n in zip(days, per_day):
            if runs[-1] and acc + n > DAY_ROWS_PER_PART:
                runs.append([])
                acc = 0
            runs[-1].append(d)
            acc += n
        out.append(runs)
    return out


def _net_rows(files: Sequence[str]) -> dict[str, pl.DataFrame]:
    """Per file (any with a ``src`` column; one without counts its rows under a null ``net``): its rows
    counted per /16 of the source (``net``, ``rows``). One scan per file, a few at once."""
    scans = [pl.scan_parquet(f, schema=pl.Schema({"src": pl.UInt32()}), missing_columns="insert", extra_columns="ignore", glob=False)
             .group_by((pl.col("src") // 65536).alias("net")).agg(pl.len().alias("rows")) for f in files]
    frames = [df for i in range(0, len(scans), 64) for df in pl.collect_all(scans[i:i + 64])]
    return dict(zip(files, frames))


class _Partials(tuple):
    """The four partial frames of :func:`_day_partials`; ``ordered``: each in its table's :data:`_ORDER`."""

    ordered = False


def _day_partials(days: Sequence[DayFiles], where: pl.Expr, *, collect: bool = False) -> _Partials:
    """The contribution of *days* to :data:`BASE` (without ``dsts``), :data:`PORTS`, :data:`PORT_SCANS` and
    :data:`SRC_DAYS` in the source range *where*: already folded (one row per key), so a valid partial
    of each. Every day's ``port_day`` rows of the range are read in one scan of all their files (row
    groups outside the range skipped by statistics) and grouped in memory once: a group-by per day and
    file, folded after, cost ~8x as much (each of thousands of small scans has a fixed cost).
    *collect*: the partials are computed now and the rows dropped (one of several runs of days).
    Grouped by packed keys where the rows allow (:func:`_packed_partials`; rows of one sensor reduced in one
    sort, :func:`_sorted_partials`: then ``ordered``)."""
    paths = [str(d.port_day) for d in days]
    file_day = dict(zip(paths, [d.day for d in days]))
    # a scan per file with its day as a literal, collected together: ~20 % less CPU than one scan's file-path
    # column mapped to days, the same rows in the same order
    rows = (pl.concat(pl.collect_all([pl.scan_parquet(f, glob=False).filter(where).with_columns(pl.lit(day, pl.Date()).alias("day"))
                                      for f, day in file_day.items()]), rechunk=False) if days
            else pl.DataFrame(schema=ru.PORT_DAY_SCHEMA))
    names = rows["sensor"].unique()
    sensors = sorted(names.drop_nulls().to_list())
    span = (max(file_day.values()) - min(file_day.values())).days if days else 0
    packs = (bool(days) and span < 1 << _DAY_BITS and len(sensors) <= _PACKED_SENSORS
             and rows["src"].null_count() == 0 and rows["kind"].null_count() == 0)
    if packs and len(names) <= 1 and rows.height and not any(rows[c].null_count() for c in _SUMMED):
        out = [f.lazy() for f in _sorted_partials(rows, min(file_day.values()), sensors)]
    elif packs:
        out = _packed_partials(rows.lazy(), min(file_day.values()), sensors, len(names) <= 1)
    else:
        out = _plain_partials(rows.lazy())
    if collect:
        out = [f.lazy() for f in pl.collect_all(out)]
    parts = _Partials(out)
    parts.ordered = packs
    return parts


def _plain_partials(rows: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """:func:`_day_partials` of *rows* (``port_day`` rows with their ``day``) grouped by the key columns (the
    reference for :func:`_packed_partials`, and the path of rows it cannot pack)."""
    days_of = pl.col("day").n_unique().cast(pl.UInt32)
    base = rows.group_by("src", "kind").agg(
        pl.col("packets").cast(pl.UInt64).sum(), pl.col("first_ts").min(), pl.col("last_ts").max(),
        *[pl.col(c).cast(pl.Int64).sum() for c in ru.TOOL_COLUMNS], days_of.alias("days"),
    ).with_columns(pl.lit(0, pl.UInt64()).alias("dsts"))
    ports = rows.group_by(_PORT_KEYS).agg(
        days_of.alias("scans"), pl.col("day").min().alias("d0"), pl.col("day").max().alias("d1"))
    # a day's port scan sums its sensors; over the days: packets summed, days counted, the best day's dsts
    scans = (rows.group_by(*_SCAN_KEYS, "day")
             .agg(pl.col("packets").cast(pl.UInt64).sum(), pl.col("dsts").sum().cast(pl.UInt32))
             .group_by(_SCAN_KEYS)
             .agg(pl.col("packets").sum(), pl.len().cast(pl.UInt32).alias("scans"), pl.col("dsts").max()))
    src_days = rows.select("src", "kind", "day").unique()
    return (base.select(BASE_SCHEMA.names()), ports.select(PORTS_SCHEMA.names()),
            scans.select(PORT_SCANS_SCHEMA.names()), src_days.cast(dict(SRC_DAYS_SCHEMA)))


#: The packed keys of :func:`_packed_partials`: (src, kind) in 35 bits; with (proto, dport, sensor), each one
#: more than its value or index (0: null), in 64; with the day's offset from the first day in 55.
_U64 = pl.UInt64()
_PROTO_BITS, _DPORT_BITS, _SENSOR_BITS, _DAY_BITS = 9, 17, 3, 20
_PORT_BITS = _PROTO_BITS + _DPORT_BITS + _SENSOR_BITS
#: Sensors a source range's rows may name for :func:`_packed_partials` (one slot is for null).
_PACKED_SENSORS = (1 << _SENSOR_BITS) - 1


def _src_kind_key() -> pl.Expr:
    return pl.col("src").cast(_U64) * pl.lit(1 << _KIND_BITS, _U64) + pl.col("kind").to_physical().cast(_U64)


def _slot(value: pl.Expr) -> pl.Expr:
    return (value.cast(_U64) + pl.lit(1, _U64)).fill_null(pl.lit(0, _U64))


def _port_key(sensors: Sequence[str]) -> pl.Expr:
    """(src, kind, proto, dport, sensor) as one key; *sensors*: the sensor names, sorted (their index is packed)."""
    index = pl.col("sensor").replace_strict({name: i for i, name in enumerate(sensors)}, return_dtype=pl.UInt8)
    key = _src_kind_key()
    for value, bits in ((pl.col("proto"), _PROTO_BITS), (pl.col("dport"), _DPORT_BITS), (index, _SENSOR_BITS)):
        key = key * pl.lit(1 << bits, _U64) + _slot(value)
    return key


def _unpack(k: pl.Expr, sensors: Sequence[str] | None = None) -> list[pl.Expr]:
    """The key columns of a packed (src, kind) key, or of a port key (*sensors*: its sensor names)."""
    sk = k if sensors is None else k // pl.lit(1 << _PORT_BITS, _U64)
    kinds = pl.lit(pl.Series(ru.KINDS, dtype=ru.KIND_DTYPE))
    out = [(sk // pl.lit(1 << _KIND_BITS, _U64)).cast(pl.UInt32).alias("src"),
           kinds.gather(sk % pl.lit(1 << _KIND_BITS, _U64)).alias("kind")]
    if sensors is not None:
        def field(shift: int, bits: int) -> pl.Expr:
            return k // pl.lit(1 << shift, _U64) % pl.lit(1 << bits, _U64)
        proto, dport = field(_DPORT_BITS + _SENSOR_BITS, _PROTO_BITS), field(_SENSOR_BITS, _DPORT_BITS)
        names = pl.lit(pl.Series([None, *sensors], dtype=pl.String()))
        out += [pl.when(proto > 0).then(proto - 1).cast(pl.UInt8).alias("proto"),
                pl.when(dport > 0).then(dport - 1).cast(pl.UInt16).alias("dport"),
                names.gather(field(0, _SENSOR_BITS)).alias("sensor")]
    return out


def _packed_partials(rows: pl.LazyFrame, first: dt.date, sensors: Sequence[str], one_sensor: bool
                     ) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """:func:`_plain_partials` grouped by one packed integer key instead of two to five columns: the same rows
    (``benchmarks/RESULTS.md``, "Session 12", wt-merge12). *rows* hold no null source or kind, their days are
    fewer than 2^20 from *first*, and their sensors are the sorted *sensors* (at most :data:`_PACKED_SENSORS`)
    and null; *one_sensor*: all rows have the same sensor (or all none).

    A ``port_day`` file holds one row per (sensor, src, proto, dport, kind) of its day, so a port's days
    are its rows, and with one sensor a port scan's day is one row. Each frame comes out sorted by its
    key (:data:`_ORDER`; sensors by name): one integer sorted per table, not its columns when written."""
    days_of = pl.col("day").n_unique().cast(pl.UInt32)
    k = pl.col("_k")
    port_key = _port_key(sensors)
    base = rows.group_by(_src_kind_key().alias("_k")).agg(
        pl.col("packets").cast(pl.UInt64).sum(), pl.col("first_ts").min(), pl.col("last_ts").max(),
        *[pl.col(c).cast(pl.Int64).sum() for c in ru.TOOL_COLUMNS], days_of.alias("days"),
    ).sort("_k").with_columns(*_unpack(k), pl.lit(0, pl.UInt64()).alias("dsts"))
    ports = rows.group_by(port_key.alias("_k")).agg(
        pl.len().cast(pl.UInt32).alias("scans"), pl.col("day").min().alias("d0"), pl.col("day").max().alias("d1")
    ).sort("_k").with_columns(*_unpack(k, sensors))
    # a port scan (the port key less the sensor) of a day sums its sensors' rows
    scan_key = (port_key // pl.lit(1 << _SENSOR_BITS, _U64)).alias("_k")
    by_day = (rows.select(scan_key, "day", pl.col("packets").cast(pl.UInt64), pl.col("dsts").cast(pl.UInt32))
              if one_sensor else
              rows.group_by(scan_key, "day").agg(pl.col("packets").cast(pl.UInt64).sum(),
                                                 pl.col("dsts").sum().cast(pl.UInt32)))
    scans = (by_day.group_by("_k").agg(pl.col("packets").sum(), pl.len().cast(pl.UInt32).alias("scans"),
                                       pl.col("dsts").max())
             .sort("_k").with_columns(*_unpack(k * pl.lit(1 << _SENSOR_BITS, _U64), sensors)))
    offset = (pl.col("day") - pl.lit(first)).dt.total_days().cast(_U64)
    src_days = (rows.select((_src_kind_key() * pl.lit(1 << _DAY_BITS, _U64) + offset).alias("_k")).unique().sort("_k")
                .select(*_unpack(k // pl.lit(1 << _DAY_BITS, _U64)),
                        (pl.lit(first).cast(pl.Int32) + (k % pl.lit(1 << _DAY_BITS, _U64)).cast(pl.Int32))
                        .cast(pl.Date).alias("day")))
    return (base.select(BASE_SCHEMA.names()), ports.select(PORTS_SCHEMA.names()),
            scans.select(PORT_SCANS_SCHEMA.names()), src_days.cast(dict(SRC_DAYS_SCHEMA)))


#: The ``port_day`` columns :func:`_sorted_partials` reduces (none may hold a null there: the group-bys skip them).
_SUMMED = ("day", "packets", "dsts", "first_ts", "last_ts", *ru.TOOL_COLUMNS)


def _starts(keys: np.ndarray) -> np.ndarray:
    """The index of the first row of each run of equal *keys* (sorted, at least one)."""
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))


def _sorted_partials(rows: pl.DataFrame, first: dt.date, sensors: Sequence[str]
                     ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """:func:`_packed_partials` of *rows* of one sensor (or none), at least one, with no null in :data:`_SUMMED`:
    the rows ordered once by their port key, whose leading bits are the port scan's and the (src, kind)'s
    keys, so each table's groups are runs of that one order, reduced in place (``np.ufunc.reduceat``)
    instead of four hash group-bys and four sorts of their results (``benchmarks/RESULTS.md``, "Session
    15", wt-merge15). The same rows in the same order: a port scan's day is one row with one sensor, sums
    and extrema do not depend on the order of a run's rows, and the days of a (src, kind) are its distinct
    (key, day) pairs. numpy sorts one integer column several times faster than polars here (SIMD sorts)."""
    u64 = np.uint64
    keys = rows.select(_port_key(sensors)).to_series().to_numpy()
    order = np.argsort(keys)
    keys = keys[order]
    n = len(keys)

    def column(name: str) -> np.ndarray:
        return rows[name].to_physical().to_numpy()[order]

    def counts(starts: np.ndarray, total: int) -> np.ndarray:
        return np.diff(np.append(starts, total)).astype(np.uint32)

    day, packets = column("day"), column("packets").astype(u64)
    k = pl.col("_k")
    at = _starts(keys)
    ports = (pl.DataFrame({"_k": keys[at], "scans": counts(at, n), "d0": np.minimum.reduceat(day, at),
                           "d1": np.maximum.reduceat(day, at)})
             .with_columns(pl.col("d0", "d1").cast(pl.Date), *_unpack(k, sensors)).select(PORTS_SCHEMA.names()))
    scan_keys = keys >> u64(_SENSOR_BITS)
    at = _starts(scan_keys)
    scans = (pl.DataFrame({"_k": scan_keys[at] << u64(_SENSOR_BITS), "packets": np.add.reduceat(packets, at),
                           "scans": counts(at, n), "dsts": np.maximum.reduceat(column("dsts"), at)})
             .with_columns(*_unpack(k, sensors)).select(PORT_SCANS_SCHEMA.names()))
    src_kind = keys >> u64(_PORT_BITS)
    offset = (day - np.int32((first - dt.date(1970, 1, 1)).days)).astype(u64)
    day_keys = np.sort((src_kind << u64(_DAY_BITS)) + offset)  # (src, kind, day)
    day_keys = day_keys[_starts(day_keys)]
    at_days = _starts(day_keys >> u64(_DAY_BITS))
    at = _starts(src_kind)
    base = pl.DataFrame({
        "_k": src_kind[at], "packets": np.add.reduceat(packets, at),
        "first_ts": np.minimum.reduceat(column("first_ts"), at), "last_ts": np.maximum.reduceat(column("last_ts"), at),
        **{c: np.add.reduceat(column(c).astype(np.int64), at) for c in ru.TOOL_COLUMNS},
        "days": counts(at_days, len(day_keys))})
    base = base.with_columns(pl.col("first_ts", "last_ts").cast(ru.TS_DTYPE), *_unpack(k),
                             pl.lit(0, pl.UInt64()).alias("dsts")).select(BASE_SCHEMA.names())
    src_days = pl.DataFrame({"_k": day_keys}).select(
        *_unpack(k // pl.lit(1 << _DAY_BITS, _U64)),
        (pl.lit(first).cast(pl.Int32) + (k % pl.lit(1 << _DAY_BITS, _U64)).cast(pl.Int32)).cast(pl.Date).alias("day"))
    return base, ports, scans, src_days.cast(dict(SRC_DAYS_SCHEMA))


def _tool_sums(port_day: Path, sign: int, where: pl.Expr) -> pl.LazyFrame:
    """A :data:`BASE` row per (src, kind) holding *sign* times the file's tool counts and nothing else."""
    return pl.scan_parquet(port_day, glob=False).filter(where).group_by("src", "kind").agg(
        *[(pl.col(c).cast(pl.Int64).sum() * sign).alias(c) for c in ru.TOOL_COLUMNS]
    ).with_columns(pl.lit(0, pl.UInt64()).alias("packets"), pl.lit(None, ru.TS_DTYPE).alias("first_ts"),
                   pl.lit(None, ru.TS_DTYPE).alias("last_ts"), pl.lit(0, pl.UInt32()).alias("days"),
                   pl.lit(0, pl.UInt64()).alias("dsts")).select(BASE_SCHEMA.names())


def _fold(frames: Sequence[pl.LazyFrame], kind: str) -> pl.LazyFrame:
    """Partial aggregates of one kind (all of one schema) into one row per key: exact, and the
    same whatever the grouping of the partials (sums, minima, maxima)."""
    lf = pl.concat([f.cast(dict(_SCHEMAS[kind])) for f in frames])
    if kind == BASE:
        out = lf.group_by("src", "kind").agg(
            pl.col("packets").sum(), pl.col("first_ts").min(), pl.col("last_ts").max(),
            *[pl.col(c).sum() for c in ru.TOOL_COLUMNS], pl.col("days").sum(), pl.col("dsts").sum())
    elif kind == PORTS:
        out = lf.group_by("src", "kind", "sensor", "proto", "dport").agg(
            pl.col("scans").sum(), pl.col("d0").min(), pl.col("d1").max())
    else:
        out = lf.group_by("src", "kind", "proto", "dport").agg(
            pl.col("packets").sum(), pl.col("scans").sum(), pl.col("dsts").max())
    return out.select(_SCHEMAS[kind].names())


_SCHEMAS = {BASE: BASE_SCHEMA, PORTS: PORTS_SCHEMA, PORT_SCANS: PORT_SCANS_SCHEMA}
#: The integer partials of the profile columns that need every port row of a source (rewritten by each merge).
_SUMS = {INTERVALS: INTERVALS_SCHEMA, COVER: COVER_SCHEMA}
_PORT_KEYS = ["src", "kind", "sensor", "proto", "dport"]
_SCAN_KEYS = ["src", "kind", "proto", "dport"]


def _intervals(ports: pl.LazyFrame, sign: int = 1) -> pl.LazyFrame:
    """:data:`INTERVALS` rows (``n`` = *sign*) of folded :data:`PORTS` rows scanned on two days or more."""
    return ports.filter(pl.col("scans") >= 2).select(
        "src", "kind", (pl.col("d1") - pl.col("d0")).dt.total_days().cast(pl.Int64).alias("gap"),
        (pl.col("scans") - 1).cast(pl.UInt32).alias("k"), pl.lit(sign, pl.Int64()).alias("n"))


def _cover(scans: pl.LazyFrame, sign: int = 1) -> pl.LazyFrame:
    """:data:`COVER` rows (*sign* times one per row) of folded :data:`PORT_SCANS` rows."""
    return scans.select("src", "kind", pl.lit(sign, pl.Int64()).alias("ports"), (pl.col("dsts").cast(pl.Int64) * sign).alias("dsts"))


def _fold_sums(frames: Sequence[pl.LazyFrame], table: str) -> pl.LazyFrame:
    """Signed :data:`_SUMS` partials into one row per key (rows that sum to nothing dropped)."""
    keys = ["src", "kind", "gap", "k"] if table == INTERVALS else ["src", "kind"]
    value = "n" if table == INTERVALS else "ports"
    lf = pl.concat([f.cast(dict(_SUMS[table])) for f in frames])
    return lf.group_by(keys).agg(pl.all().sum()).filter(pl.col(value) != 0).select(_SUMS[table].names())


def _merge_range(r: _Range, new: Sequence[DayFiles], changed: Sequence[tuple[DayFiles, Path]],
                 old: dict[str, list[Path]] | None, state: Path, layered: Sequence[str] = (),
                 runs: Sequence[Sequence[DayFiles]] | None = None, catalog: _Catalog | None = None
                 ) -> tuple[pl.DataFrame, dict[str, pl.DataFrame] | None, dict[str, pl.DataFrame]]:
    """The merged state of one source range into ``state/<table>/<range>.parquet``; the (src,
    kind) with packets in *new* (the days not in *old*, all days in a full merge).

    *old*: the files of the merged state being extended, by table (None: a full merge). :data:`BASE`:
    its rows are folded with the new days' partials; each (day, old file) of *changed* swaps the
    old file's tool sums for the day's current ones. The tables in *layered* (held files already
    linked into *state*) gain one file, ``<range>``'s :attr:`_Range.delta`, holding the new days'
    partials alone; the other tables are folded whole (every held layer and the new days). The new
    days' distinct destination pairs not held in *old* go to one more disjoint ``dsts`` file when
    ``dsts`` is in *layered* (only the pairs of sources already held are matched, against the held
    pairs of those sources), else into one file with the range's held pairs.

    *runs*: *new* cut into runs of days (:func:`_day_groups`); each run's partials are computed on their
    own, one run's rows in memory at a time, and folded (sums, minima, maxima and day counts over disjoint
    days: the same rows). Default: one run.

    *catalog*: told of every file written (:class:`_Catalog`).

    Returns the touched (src, kind) (an extension; empty in a full merge), what :func:`_grown_ports`
    found (an extension) and, in a full merge, each table as written (for :func:`finish_sources`, which need
    not read them back; empty in an extension, whose finish reads only its layers).
    """
    where = r.where
    catalog = catalog or _Catalog()
    runs = [run for run in (runs or [new]) if run]
    parts = [_day_partials(run, where, collect=len(runs) > 1) for run in runs]
    keys = ["src", "kind"]
    # only an extension reads the touched sources (a full merge's would be every source of the range)
    touched = (pl.concat([p[3].select(keys) for p in parts]).unique().collect(engine="streaming")
               if parts and old is not None else pl.DataFrame(schema={"src": pl.UInt32(), "kind": ru.KIND_DTYPE}))

    def held(table: str) -> list[pl.LazyFrame]:
        files = [] if old is None else [str(f) for f in old[table]]
        schema = {SRC_DAYS: SRC_DAYS_SCHEMA, DSTS: PAIRS_SCHEMA, **_SUMS}.get(table) or _SCHEMAS[table]
        return [pl.scan_parquet(files, schema=schema, glob=False).filter(where)] if files else []

    counts = []
    wanted = pl.DataFrame(schema=PAIRS_SCHEMA)
    if new:  # sorted by (src, kind, dst)
        wanted = distinct_pairs([str(d.state / PAIRS) for d in new], r.lo, r.hi)
    pairs = ["src", "kind", "dst"]
    if old is not None and DSTS not in layered:  # fold the held pair files of the range back into one
        kept = (pl.concat(held(DSTS)) if old[DSTS] else pl.LazyFrame(schema=PAIRS_SCHEMA)).collect(engine="streaming")
        wanted = wanted.join(kept, on=pairs, how="anti")
        merged = pl.concat([kept, wanted])
        if merged.height:
            merged = sort_by(merged, pairs)
            merged.write_parquet(state / DSTS / r.name, row_group_size=ROW_GROUP)
            catalog.wrote(DSTS, r.name, merged)
        del kept, merged
    elif old is not None and old[DSTS] and wanted.height:
        # only sources held before can have held pairs: the others' pairs are all new
        known = pl.concat(held(BASE)).select(keys).join(touched.lazy(), on=keys, how="semi").collect(engine="streaming")
        if known.height:
            candidates = wanted.join(known, on=keys, how="semi")
            lo, hi = known["src"].min(), known["src"].max()  # the held files are sorted by source
            seen = (pl.scan_parquet([str(f) for f in old[DSTS]], schema=PAIRS_SCHEMA, glob=False)
                    .filter(where & pl.col("src").is_between(lo, hi))
                    .join(candidates.lazy(), on=pairs, how="semi").collect(engine="streaming"))
            wanted = wanted.join(seen, on=pairs, how="anti")
            del candidates, seen
        del known
    if wanted.height:
        if old is None:  # as distinct_pairs sorted them
            wanted.write_parquet(state / DSTS / r.name, row_group_size=ROW_GROUP)
            catalog.wrote(DSTS, r.name, wanted)
        elif DSTS in layered:
            wanted = sort_by(wanted, pairs)
            wanted.write_parquet(state / DSTS / r.delta, row_group_size=ROW_GROUP)
            catalog.wrote(DSTS, r.delta, wanted)
        counts.append(_as_base(wanted.lazy().group_by(keys).agg(pl.len().cast(pl.UInt64).alias("n"))))

    base = [*held(BASE), *[p[0] for p in parts], *counts]
    for d, before in changed:
        base += [_tool_sums(before, -1, where), _tool_sums(d.port_day, 1, where)]
    frames = [_fold(base, BASE) if base else pl.LazyFrame(schema=BASE_SCHEMA)]
    names = [r.name]
    # the tables whose frame is a full merge's one run of partials, already in order when packed
    ordered = set()
    grown = None if old is None else _grown_ports(parts, held)
    for table, i in ((PORTS, 1), (PORT_SCANS, 2), (SRC_DAYS, 3)):
        mine = [p[i] for p in parts]
        names.append(r.delta if table in layered else r.name)
        if old is None and len(parts) == 1 and parts[0].ordered:
            ordered.add(table)
        if table == SRC_DAYS:  # one row per day: nothing to fold
            mine = mine if table in layered else held(table) + mine
            frames.append(pl.concat(mine) if mine else pl.LazyFrame(schema=SRC_DAYS_SCHEMA))
        elif table in layered:  # the new days' partials, folded once for the layer and the profiles
            frames.append(grown[table].lazy())
        else:
            mine = held(table) + mine
            if len(mine) == 1 and old is None:  # a full merge: the new days' partials are folded already
                frames.append(mine[0].cast(dict(_SCHEMAS[table])))
            else:
                frames.append(_fold(mine, table) if mine else pl.LazyFrame(schema=_SCHEMAS[table]))
    if grown is not None:  # the held integer partials, plus what the new days changed (only the ports they scanned)
        frames += [_fold_sums([*held(INTERVALS), grown[INTERVALS].lazy()], INTERVALS),
                   _fold_sums([*held(COVER), grown[COVER].lazy()], COVER)]
    names += [r.name, r.name]
    results = pl.collect_all(frames, engine="streaming")
    del frames, parts, base, counts, wanted, mine  # the range's rows: only the results are needed from here
    if grown is None:  # a full merge: the integer partials of every port row
        results += pl.collect_all([_fold_sums([_intervals(results[1].lazy())], INTERVALS),
                                   _fold_sums([_cover(results[2].lazy())], COVER)])
    written = {}
    for i, (table, name) in enumerate(zip((BASE, PORTS, PORT_SCANS, SRC_DAYS, INTERVALS, COVER), names)):
        df, results[i] = results[i], None  # the unsorted frame goes as its sorted copy is made
        if table in layered and df.height == 0:
            continue
        # sorted by source first (a later range reads its rows by row-group statistics), then by the rest of
        # the table's key: a defined order, so that the same rows make the same bytes
        df = df if table in ordered else _key_sorted(df, _ORDER[table])
        df.write_parquet(state / table / name, compression="lz4", row_group_size=ROW_GROUP)
        catalog.wrote(table, name, df)
        if old is None:  # only a full merge's finish_sources takes them (an extension's would hold them for nothing)
            written[table] = df
        del df
    return touched, grown, written


#: The order of each merged-state table's rows: its key (unique in a file), source first.
_ORDER = {BASE: ("src", "kind"), PORTS: ("src", "kind", "proto", "dport", "sensor"), PORT_SCANS: tuple(_SCAN_KEYS),
          SRC_DAYS: ("src", "kind", "day"), INTERVALS: ("src", "kind", "gap", "k"), COVER: ("src", "kind")}


def _key_sorted(df: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """*df* sorted by *columns*, the longest leading run of them that packs (:func:`sort_key`) as one key."""
    for n in range(len(columns), 0, -1):
        key = sort_key(df.schema, columns[:n])
        if key is not None:
            return df.sort([key, *columns[n:]]) if n < len(columns) else df.sort(key)
    return df.sort(columns)


#: Bits of a packed pair key (:func:`distinct_pairs`) below the source: the kind's index and the destination.
_KIND_BITS = max(1, (len(ru.KINDS) - 1).bit_length())
_PAIR_LOW_BITS = _KIND_BITS + 32


def distinct_pairs(files: Sequence[str], lo: int, hi: int) -> pl.DataFrame:
    """The distinct (src, kind, dst) rows of the pair *files* (:data:`PAIRS_SCHEMA`) with a source in [*lo*,
    *hi*], sorted by (src, kind, dst) as :func:`~scantui.analysis.sort_keys.sort_by` sorts them.

    Each pair is one ``UInt64`` (the source less *lo*, above the kind's index, above the destination), sorted
    and kept where it differs from the one before: one sort of one integer column, where a three-column
    ``unique`` and then a sort of the distinct rows cost about twice as much (84 days' pairs of one range:
    ``benchmarks/RESULTS.md``, "Session 11", wt-merge11); numpy's sort of it, ~4x cheaper than polars'
    ("Session 15", wt-merge15). A range too wide for the key, or a null, takes
    that path instead (the same rows). Each file must hold distinct pairs (a day state's ``src_dsts``)."""
    lf = pl.scan_parquet(list(files), schema=PAIRS_SCHEMA, glob=False).filter(pl.col("src").is_between(lo, hi))
    if len(files) == 1:  # one day's pairs (an extension by a day): distinct and sorted already (build_day_state)
        return lf.collect()
    pairs = ["src", "kind", "dst"]
    if (hi - lo).bit_length() + _PAIR_LOW_BITS <= 64:
        u64 = pl.UInt64()
        high, low = pl.lit(1 << _PAIR_LOW_BITS, u64), pl.lit(1 << 32, u64)
        key = ((pl.col("src").cast(u64) - pl.lit(lo, u64)) * high + pl.col("kind").to_physical().cast(u64) * low
               + pl.col("dst").cast(u64))  # null when any column is
        k = pl.col("k")
        keys = lf.select(key.alias("k")).collect().to_series()
        if not keys.null_count():  # sorted by numpy (a SIMD sort: ~4x cheaper than polars' here), kept where it changes
            keys = np.sort(keys.to_numpy())
            kinds = pl.lit(pl.Series(ru.KINDS, dtype=ru.KIND_DTYPE))
            return pl.DataFrame({"k": keys[_starts(keys)] if len(keys) else keys}).select(
                (k // high + pl.lit(lo, u64)).cast(pl.UInt32).alias("src"),
                kinds.gather(k // low % pl.lit(1 << _KIND_BITS, u64)).alias("kind"), (k % low).cast(pl.UInt32).alias("dst"))
    return sort_by(lf.unique().collect(engine="streaming"), pairs)


def _grown_ports(parts: Sequence[tuple[pl.LazyFrame, ...]], held: Callable[[str], list[pl.LazyFrame]]) -> dict[str, pl.DataFrame]:
    """What the new days' *parts* change in the port tables of an extension, from the held rows of
    the ports they scanned only (never all of a source's rows):

    - :data:`PORTS`, :data:`PORT_SCANS`: the new days' partials folded (a layer's rows);
    - :data:`INTERVALS`, :data:`COVER`: signed partials (the touched ports' held rows out, their
      folded rows in);
    - ``new_ports``: per (src, kind), the distinct ports (and their classes) none of the held rows has;
    - ``scans``: the touched ports' folded :data:`PORT_SCANS` rows (coverage maximum, top ports).
    """
    def fold(frames: list[pl.LazyFrame], table: str) -> pl.LazyFrame:
        return _fold(frames, table) if frames else pl.LazyFrame(schema=_SCHEMAS[table])

    ports, scans = pl.collect_all([fold([p[1] for p in parts], PORTS), fold([p[2] for p in parts], PORT_SCANS)],
                                  engine="streaming")
    by_port = ["src", "kind", "dport"]
    day_ports = ports.select(by_port).unique()
    # the held rows of the new days' ports: first those of their port numbers (a filter the scan applies as it
    # reads: ~15 % of a range's held rows pass at dev size), then the joins
    dports = pl.col("dport").is_in(day_ports["dport"].unique().implode(), nulls_equal=True)
    held_ports = fold([pl.concat(held(PORTS)).filter(dports).join(day_ports.lazy(), on=by_port, how="semi", nulls_equal=True)]
                      if held(PORTS) else [], PORTS)
    held_scans = fold([pl.concat(held(PORT_SCANS)).filter(dports).join(scans.lazy().select(_SCAN_KEYS), on=_SCAN_KEYS,
                                                                       how="semi", nulls_equal=True)]
                      if held(PORT_SCANS) else [], PORT_SCANS)
    held_ports, held_scans = pl.collect_all([held_ports, held_scans], engine="streaming")
    before = held_ports.lazy().join(ports.lazy().select(_PORT_KEYS), on=_PORT_KEYS, how="semi", nulls_equal=True)
    after = _fold([before, ports.lazy()], PORTS)
    scans_after = _fold([held_scans.lazy(), scans.lazy()], PORT_SCANS)
    port = pl.col("dport")
    fresh = (ports.lazy().filter(port.is_not_null()).select(by_port).unique()
             .join(held_ports.lazy().select(by_port), on=by_port, how="anti", nulls_equal=True)
             .group_by("src", "kind").agg(
                 pl.len().cast(pl.UInt32).alias("ports"),
                 (port <= bh.WELL_KNOWN_MAX).sum().cast(pl.UInt32).alias(bh.PORT_CLASS_COUNTS[0]),
                 ((port > bh.WELL_KNOWN_MAX) & (port <= bh.REGISTERED_MAX)).sum().cast(pl.UInt32).alias(bh.PORT_CLASS_COUNTS[1]),
                 (port > bh.REGISTERED_MAX).sum().cast(pl.UInt32).alias(bh.PORT_CLASS_COUNTS[2])))
    intervals, cover, new_ports, scans_after = pl.collect_all([
        pl.concat([_intervals(before, -1), _intervals(after)]), pl.concat([_cover(held_scans.lazy(), -1), _cover(scans_after)]),
        fresh, scans_after])
    return {PORTS: ports, PORT_SCANS: scans, INTERVALS: intervals, COVER: cover, "new_ports": new_ports, "scans": scans_after}


def _as_base(counts: pl.LazyFrame) -> pl.LazyFrame:
    """Destination counts as :data:`BASE` rows that add to ``dsts`` only."""
    return counts.select(
        "src", "kind", pl.lit(0, pl.UInt64()).alias("packets"), pl.lit(None, ru.TS_DTYPE).alias("first_ts"),
        pl.lit(None, ru.TS_DTYPE).alias("last_ts"), *[pl.lit(0, pl.Int64()).alias(c) for c in ru.TOOL_COLUMNS],
        pl.lit(0, pl.UInt32()).alias("days"), pl.col("n").alias("dsts"))


#: ``src_profile`` columns that come from :data:`BASE` (the rest but the schedule come from the ports).
_VOLUME = ("packets", "first_seen", "last_seen", *ru.TOOL_COLUMNS, "days_active")
_SCHEDULE = ("schedule", "period_days", "schedule_strength")
_PORT_SIDE = tuple(c for c in ru.SRC_PROFILE_SCHEMA.names() if c not in ("src", "kind", *_VOLUME, *_SCHEDULE))


def finish_sources(state: Path, r: _Range, first_day: dt.date | None, n_days: int,
                   previous: tuple[Path, pl.DataFrame, bool] | None = None,
                   layers: dict[str, list[Path]] | None = None,
                   grown: dict[str, pl.DataFrame] | None = None,
                   tables: dict[str, pl.DataFrame] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``src_totals`` and ``src_profile`` rows of one source range from the merged state: the
    same columns :func:`~scantui.analysis.rollup.src_profile` computes from all of a source's
    ``port_day`` rows, from one row per (source, port) instead (see the module doc).

    *previous*: (an older rollup folder, the (src, kind) with packets in the days
    added since, whether the day range is the same): the port-side columns of every other source
    are that rollup's, its volume is recomputed (tool counts may have changed), and its schedule
    too unless the day range is the same. *layers*: the files of :data:`PORTS`, :data:`PORT_SCANS`
    and :data:`SRC_DAYS` holding this range's rows (partial aggregates, folded here; default: the
    range's own file of each). *grown* (with *previous*): what :func:`_grown_ports` found the added
    days changed; the touched sources' port-side columns are then the older rollup's updated by it
    and the range's :data:`INTERVALS` and :data:`COVER` rows, never read from all their port rows.
    *tables* (a full merge): the range's :data:`BASE`, :data:`PORTS`, :data:`PORT_SCANS` and
    :data:`SRC_DAYS` as :func:`_merge_range` just wrote them (the same rows in the same order), not read again.
    """
    base = tables[BASE] if tables else pl.read_parquet(state / BASE / r.name, glob=False)
    base = base.filter(pl.col("days") > 0)  # pairs-only sources have no port_day row
    keys = ["src", "kind"]
    own = layers is None  # the range's own files: no row outside it
    layers = layers or {t: [state / t / r.name] for t in LAYERED}

    def scan(table: str, files: Sequence[Path], only_touched: bool = True) -> pl.LazyFrame:
        schema = SRC_DAYS_SCHEMA if table == SRC_DAYS else _SCHEMAS[table]
        if not files:
            return pl.LazyFrame(schema=schema)
        lf = pl.scan_parquet([str(f) for f in files], schema=schema, glob=False)
        lf = lf if own else lf.filter(r.where)
        return lf if touched is None or not only_touched else lf.join(touched.lazy(), on=keys, how="semi")

    def folded(table: str) -> pl.LazyFrame:
        """The table's rows, a row per key: the layers' rows of a key that none but the first
        layer holds pass through, the others are folded (the later layers are small: a day each)."""
        first = [f for f in layers[table] if f.name == r.name or "-" not in f.name]
        deltas = [f for f in layers[table] if f not in first]
        rows = scan(table, first)
        if not deltas:
            return rows
        added = scan(table, deltas)
        port_keys = [c for c in _SCHEMAS[table].names() if c in ("src", "kind", "sensor", "proto", "dport")]
        again = added.select(port_keys).unique()
        return pl.concat([rows.join(again, on=port_keys, how="anti", nulls_equal=True),
                          _fold([rows.join(again, on=port_keys, how="semi", nulls_equal=True), added], table)])

    touched = None if previous is None else previous[1]
    old_totals = old_profile = None
    if previous is None:
        if tables:
            ports, scans = tables[PORTS], tables[PORT_SCANS]
        else:
            ports, scans = pl.collect_all([folded(PORTS), folded(PORT_SCANS)])
        port_counts = _port_counts(ports)
    else:
        folder, _touched, same_window = previous
        # read once: the untouched sources' rows are kept, the touched ones' updated (its ``ports`` are src_totals')
        # only the columns kept (the volume is recomputed), split by one packed-key mask (not two joins)
        kept = _PORT_SIDE + (_SCHEDULE if same_window else ())
        held_profile = pl.scan_parquet(folder / ru.SRC_PROFILE, glob=False).filter(r.where).select(*keys, *kept).collect()
        hit = held_profile.select(_src_kind_key().is_in(touched.select(_src_kind_key()).to_series().implode()).fill_null(False)).to_series()
        old_profile = held_profile.filter(~hit)
        old_totals = old_profile.select(*keys, "ports")
        classes = ["ports", *bh.PORT_CLASS_COUNTS]
        before = held_profile.filter(hit).lazy().select(*keys, *classes, "coverage_dsts_max", "top_ports")
        port_counts = (pl.concat([before.select(*keys, *classes), grown["new_ports"].lazy()])
                       .group_by(keys).agg(pl.col(classes).fill_null(0).sum()).filter(pl.col("ports") > 0)
                       .with_columns(pl.col(classes).cast(pl.UInt32)))
        intervals_all = pl.scan_parquet(state / INTERVALS / r.name, glob=False).join(touched.lazy(), on=keys, how="semi")
        cover = pl.scan_parquet(state / COVER / r.name, glob=False).join(touched.lazy(), on=keys, how="semi")
        # the held top ports the new days did not touch, beside the touched ones: packets only grow, so
        # a port below a source's tenth before stays below it
        held_top = (before.select(*keys, "top_ports").explode("top_ports").filter(pl.col("top_ports").is_not_null())
                    .unnest("top_ports").rename({"port": "dport"})
                    .join(grown["scans"].lazy().select(_SCAN_KEYS), on=_SCAN_KEYS, how="anti", nulls_equal=True))
        scans = pl.concat([held_top.select(PORT_SCANS_SCHEMA.names()).cast(dict(PORT_SCANS_SCHEMA)), grown["scans"].lazy()])
        best = pl.concat([before.select(*keys, pl.col("coverage_dsts_max").alias("dsts")), grown["scans"].lazy().select(*keys, "dsts")])
        coverage_all = (best.group_by(keys).agg(pl.col("dsts").max().alias("coverage_dsts_max"))
                        .join(cover.select(*keys, (pl.col("dsts") / pl.col("ports")).alias("coverage_dsts_mean")), on=keys, how="left"))
        port_counts, scans, intervals_all, coverage_all = pl.collect_all(
            [port_counts.lazy(), scans, intervals_all, coverage_all])
    # the same day range: only the touched sources' schedules can change; else every source's may
    src_days = (tables[SRC_DAYS] if tables and previous is None
                else scan(SRC_DAYS, layers[SRC_DAYS], only_touched=previous is not None and previous[2]).collect())
    port_totals = port_counts.select(*keys, "ports")
    if old_totals is not None:
        port_totals = pl.concat([port_totals, old_totals])
    totals = (base.join(port_totals, on=keys, how="left")
              .with_columns(pl.col("ports").fill_null(0))
              .select(ru.SRC_TOTALS_SCHEMA.names()).cast(dict(ru.SRC_TOTALS_SCHEMA)))
    # every kind's rows in one lazy plan (two in an extension), keyed by (src, kind), collected at once: not a plan
    # and a schedule call per kind, each with its fixed costs (benchmarks/RESULTS.md, "Session 12", wt-extend12)
    volume = base.lazy().select(
        *keys, "packets", pl.col("first_ts").alias("first_seen"), pl.col("last_ts").alias("last_seen"),
        *[pl.col(c).cast(pl.UInt64) for c in ru.TOOL_COLUMNS], pl.col("days").alias("days_active"))
    if previous is None:
        rescans = (ports.lazy().filter(pl.col("scans") >= 2)
                   .select(*keys, ((pl.col("d1") - pl.col("d0")).dt.total_days() / (pl.col("scans") - 1)).alias("interval")))
    else:  # each interval as often as ports have it: the same values, summed in the same (sorted) order
        rescans = (intervals_all.lazy()
                   .select(*keys, (pl.col("gap") / pl.col("k")).repeat_by(pl.col("n").cast(pl.UInt32)).alias("interval"))
                   .explode("interval"))
    intervals = rescans.group_by(keys).agg(
        (pl.col("interval").sort().cum_sum().last() / pl.len()).alias("avg_scan_interval_days"),
        pl.len().cast(pl.UInt32).alias("ports_rescanned"))
    per_port = scans.lazy()
    if previous is None:
        coverage = per_port.group_by(keys).agg(
            pl.col("dsts").max().alias("coverage_dsts_max"), pl.col("dsts").mean().alias("coverage_dsts_mean"))
    else:
        coverage = coverage_all.lazy()
    item = pl.struct(pl.col("dport").alias("port"), "proto", "packets", "scans", "dsts")
    top = (_top_sorted(per_port, scans).group_by(keys, maintain_order=True)
           .agg(item.head(bh.TOP_PORTS).alias("top_ports")))
    fresh = volume if previous is None else volume.join(previous[1].lazy(), on=keys, how="semi")
    sched = _schedules(src_days, first_day, n_days).lazy()
    joined = [_join_parts([fresh, port_counts.lazy(), intervals, coverage, top, sched])]
    if old_profile is not None:  # sources without a packet in the new days: new volume (and schedule)
        kept = old_profile.lazy()
        unchanged = [volume.join(kept.select(keys), on=keys, how="semi"), kept]
        joined.append(_join_parts(unchanged if previous[2] else [*unchanged, sched]))
    out = pl.collect_all([frame.with_columns(pl.col("ports", "ports_rescanned").fill_null(0))
                          .select(ru.SRC_PROFILE_SCHEMA.names()).cast(dict(ru.SRC_PROFILE_SCHEMA)) for frame in joined])
    # each sorted by (src, kind) here, one range's rows (cheaper than the sort of every range's at the end)
    return (sort_by(totals, keys, nulls_last=True),
            sort_by(pl.concat([pl.DataFrame(schema=ru.SRC_PROFILE_SCHEMA), *out]), keys, nulls_last=True))


def _port_counts(ports: pl.DataFrame) -> pl.DataFrame:
    """Per (src, kind) of folded :data:`PORTS` rows: its distinct ports (not null) and how many are of each class.
    Where no source or kind is null, each (src, kind, dport) is one ``UInt64`` sorted by numpy and kept where it
    changes, its runs counted (~4x cheaper than a three-column ``unique`` and a group-by); rows in key order
    (the group-by's are in hash order: the caller joins them by key)."""
    port = pl.col("dport")
    rows = ports.filter(port.is_not_null())
    if ports["src"].null_count() or ports["kind"].null_count() or not rows.height:
        return (rows.lazy().select("src", "kind", "dport").unique().group_by("src", "kind").agg(
            pl.len().cast(pl.UInt32).alias("ports"),
            (port <= bh.WELL_KNOWN_MAX).sum().cast(pl.UInt32).alias(bh.PORT_CLASS_COUNTS[0]),
            ((port > bh.WELL_KNOWN_MAX) & (port <= bh.REGISTERED_MAX)).sum().cast(pl.UInt32).alias(bh.PORT_CLASS_COUNTS[1]),
            (port > bh.REGISTERED_MAX).sum().cast(pl.UInt32).alias(bh.PORT_CLASS_COUNTS[2])).collect())
    keys = np.sort(rows.select(_src_kind_key() * pl.lit(1 << 16, _U64) + port.cast(_U64)).to_series().to_numpy())
    keys = keys[_starts(keys)]
    dport = keys & np.uint64(0xFFFF)
    src_kind = keys >> np.uint64(16)
    at = _starts(src_kind)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.add.reduceat(mask.astype(np.uint32), at, dtype=np.uint32)

    return pl.DataFrame({
        "_k": src_kind[at], "ports": np.diff(np.append(at, len(keys))).astype(np.uint32),
        bh.PORT_CLASS_COUNTS[0]: count(dport <= bh.WELL_KNOWN_MAX),
        bh.PORT_CLASS_COUNTS[1]: count((dport > bh.WELL_KNOWN_MAX) & (dport <= bh.REGISTERED_MAX)),
        bh.PORT_CLASS_COUNTS[2]: count(dport > bh.REGISTERED_MAX),
    }).select(*_unpack(pl.col("_k")), "ports", *bh.PORT_CLASS_COUNTS)


def _top_sorted(per_port: pl.LazyFrame, scans: pl.DataFrame) -> pl.LazyFrame:
    """*per_port* (the frame of *scans*: one row per (src, kind, proto, dport)) in the top ports' order: (src,
    kind), packets descending, then dport and proto (nulls first). As one ``UInt128`` key where no source or
    kind is null (35 + 64 + 17 + 9 bits: one integer sorted, ~20 % less CPU than five columns; the key is
    unique, so the order is the same)."""
    if scans["src"].null_count() or scans["kind"].null_count():
        return per_port.sort(["src", "kind", "packets", "dport", "proto"], descending=[False, False, True, False, False])
    u128 = pl.UInt128()
    key = _src_kind_key().cast(u128) * pl.lit(1 << 64, u128) + pl.lit((1 << 64) - 1, u128) - pl.col("packets").cast(u128)
    for value, bits in ((pl.col("dport"), _DPORT_BITS), (pl.col("proto"), _PROTO_BITS)):
        key = key * pl.lit(1 << bits, u128) + _slot(value).cast(u128)
    return per_port.sort(key)


def _schedules(src_days: pl.DataFrame, first_day: dt.date | None, n_days: int) -> pl.DataFrame:
    """:func:`~scantui.analysis.schedule.source_schedules` per (src, kind) of :data:`SRC_DAYS` rows: every kind's
    sources scored in one call, a (src, kind) keyed as one integer (each source's row is scored on its own:
    the same values as a call per kind)."""
    keyed = src_days.lazy().select(_src_kind_key().alias("src"), "day")
    return sch.source_schedules(keyed, first_day, n_days).with_columns(_unpack(pl.col("src").cast(_U64)))


def _join_parts(parts: Sequence[pl.LazyFrame]) -> pl.LazyFrame:
    """:func:`~scantui.analysis.behaviour.join_parts` of lazy parts by (src, kind) (the first lists every source)."""
    out = parts[0]
    for part in parts[1:]:
        out = out.join(part, on=["src", "kind"], how="left")
    return out


def plan_source_ranges(days: Sequence[DayFiles], buckets: int = 1) -> list[tuple[int, int]]:
    """Inclusive (low, high) source ranges cut at /16 boundaries, each with at most
    :data:`ROWS_PER_RANGE` (or the total / *buckets*) ``port_day`` plus ``src_dsts`` rows."""
    return _plan([str(d.port_day) for d in days] + [str(d.state / PAIRS) for d in days], buckets)


def _plan(files: Sequence[str], buckets: int = 1) -> list[tuple[int, int]]:
    """:func:`plan_source_ranges` over the rows of any files with a ``src`` column."""
    return _plan_rows(list(_net_rows(files).values()), buckets) if files else []


def _plan_rows(counts: Sequence[pl.DataFrame], buckets: int = 1) -> list[tuple[int, int]]:
    """:func:`_plan` from the files' rows per /16 (:func:`_net_rows`)."""
    if not counts:
        return []
    hist = pl.concat(counts, how="vertical_relaxed").group_by("net").agg(pl.col("rows").cast(pl.Int64).sum()).sort("net")
    if hist.height == 0:
        return []
    target = min(ROWS_PER_RANGE, max(1, -(-int(hist["rows"].sum()) // max(1, buckets))))
    ranges, start, acc, prev = [], None, 0, 0
    for net, rows in hist.iter_rows():
        if start is not None and acc + rows > target:
            ranges.append((start, prev))
            start, acc = None, 0
        if start is None:
            start = net
        acc += rows
        prev = net
    ranges.append((start, prev))
    return [(lo * 65536, hi * 65536 + 65535) for lo, hi in ranges]


def _write_json_file(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _read_json_file(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _concat(files: Sequence[Path], schema: pl.Schema, target: Path, sort: list[str] | None, *, compression: str = "zstd",
            row_group_size: int | None = None) -> None:
    """*files* into one, sorted by *sort* (None: the files' rows in the files' order)."""
    lf = pl.scan_parquet([str(f) for f in files], glob=False) if files else pl.LazyFrame(schema=schema)
    lf = lf.select(schema.names()).cast(dict(schema))
    (lf if sort is None else lf.sort(sort, nulls_last=True)).sink_parquet(
        target, compression=compression, row_group_size=row_group_size, engine="streaming")


def _link_or_copy(source: Path, target: Path) -> None:
    """Day files are never changed once written, so a hard link is as good as a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _rows(path: str) -> int:
    return int(pl.scan_parquet(path, glob=False).select(pl.len()).collect().item())


# ---------------------------------------------------------------- one input, start to end


def build_days(lf: pl.LazyFrame, work: Path, out: Path, *, unicorn_min_packets: int, buckets: int,
               read: Callable[[Callable[[], list[dt.date]]], list[dt.date]] = lambda f: f(),
               progress: Progress | None = None) -> None:
    """Every step above for one LazyFrame, with scratch files under *work* (removed after):
    the rollup tables (not ``meta.json``) into the existing folder *out*.

    *read* wraps the pass that reads *lf* (e.g. to poll the loader's progress).
    """
    report = progress or (lambda _m, _f: None)
    split = work / "input"
    days = read(lambda: split_by_day(lf, split))
    steps = 2 * len(days) + 1
    states = []
    for i, day in enumerate(days):
        report(f"rolling up {day.isoformat()}", i / steps)
        state = work / f"state-{day.isoformat()}"
        build_day_state(scan_day([day_part(split, day)]), state)
        states.append(state)
    sessions = merge_sessions([s / KEYS for s in states], unicorn_min_packets)
    files = []
    for i, (day, state) in enumerate(zip(days, states)):
        report(f"tool counts {day.isoformat()}", (len(days) + i) / steps)
        files.append(day_files(day, state, sessions, lambda day=day: scan_day([day_part(split, day)])))
    merge_days(files, out, enrich=bool(ru.enrichment_columns(lf)), buckets=buckets,
               progress=scaled(report, (2 * len(days)) / steps, 1 / steps), keep_state=False)
    shutil.rmtree(work)


def scaled(report: Progress, start: float, share: float) -> Progress:
    """*report* with fractions mapped into [*start*, *start* + *share*] (a step of a longer build)."""
    return lambda message, fraction: report(message, None if fraction is None else start + share * fraction)
