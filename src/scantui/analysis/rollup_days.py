"""A rollup made of days: per-day state, built on its own, and the merges that make the whole-input tables.

Every step is a function of files to files, so the cache (:mod:`scantui.analysis.rollup_cache`)
can keep each day's state under a key of the input bytes that cover it, and a
distributed runner can call the same functions as tasks. This module holds step 1 and
:func:`build_days` (every step for one input), and re-exports the names its callers share;
the steps live in the modules named below:

1. :func:`split_by_day` — one streaming pass over one input (a file, or a hive
   folder) writes its packets partitioned by UTC day (``day=YYYY-MM-DD/``). A
   file holding several days contributes to each; an hourly file to its day.
2. :func:`build_day_state` (:mod:`~scantui.analysis.day_state`) — one day's packets (all inputs'
   parts of that day, :func:`scan_day`) into every per-day table, none of which depends on another
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
3. :func:`merge_sessions` (:mod:`~scantui.analysis.unicorn_sessions`) — the Unicorn session keys over
   all days (see below).
4. :func:`day_files` (:mod:`~scantui.analysis.port_day_files`) — the day's ``port_day`` under those
   sessions: the base file when none of its keys is one, else :func:`port_day_with` (the base rows with
   the sessions' packets moved to ``tool_unicorn``), written once per session set.
   A day an extension holds keeps its file unless a key that became a session
   since is among its keys (:func:`held_port_day`).
5. :func:`merge_days` (:mod:`~scantui.analysis.merge_state`) — the rollup folder from the days: its source
   ranges and catalog in :mod:`~scantui.analysis.merge_plan`, the partials and their folds in
   :mod:`~scantui.analysis.merge_partials`, ``src_totals``/``src_profile`` in
   :mod:`~scantui.analysis.merge_sources`; the names, schemas and sizes every step shares in
   :mod:`~scantui.analysis.rollup_layout`.

The merges, what is exact, and the memory they need:

``port_day``, ``day_totals``, enrichment
    per day already; the rollup's ``port_day/day=D/`` file is a hard link (or a
    copy) of the day's file (so are ``port_day_by_port``, collab's group sums,
    :mod:`~scantui.analysis.collab_sums`, written beside the day's ``port_day`` by
    :func:`build_day_state` from the rows it holds (by :func:`day_files` for a state built
    before), once per state, and the sources' fingerprints,
    :mod:`~scantui.analysis.fingerprint_keys`, likewise), the other two are concatenated. Exact; streaming.
Fingerprint-keyed bursts (:mod:`~scantui.analysis.keyed_bursts`)
    every burst of every source a fingerprint keys on some day, rewritten whole by each merge from the linked
    day tables (a key is a day's, the keyed sources are the data's). Exact; memory: those rows.
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
      :data:`MAX_DELTAS` + 1-th extension folds the layers back (``days.json``'s
      ``deltas`` counts them), so reads stay cheap and the cost is spread over
      the days: the layers above the base files into one *middle* file per
      range (the base kept as links), and every :data:`~scantui.analysis.merge_fold.MIDDLE_FOLDS` + 1-th
      fold everything into one file per range (:mod:`~scantui.analysis.merge_fold`);
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
    or changed day cannot be subtracted from a union, so it makes a full merge; but the newest day changing (an
    hourly file updating it) extends the state of the days before it, which the cache keeps for that
    (:func:`~scantui.analysis.rollup_store.release_superseded`; the held key-count memo is put back through its
    undo file, :mod:`~scantui.analysis.session_counts`). Where an input holds the newest day and the day before
    (captures cut off UTC midnight), the cache first makes the rollup of every day but the newest, a stepping
    stone, and extends it by the newest day, so that the next file, changing the newest day and adding the next,
    extends that stone in turn; likewise when every day is merged anyway and the newest is held by several files
    (a first build of hourly files) (:meth:`~scantui.analysis.day_builder._DayBuilder.days_before_newest`). The
    cache also keeps the states of ``rollup.late_days`` older links of the chain (default 1), and the memo's undos
    back to them, so that a file for the day before the newest, late or delivered again, extends the state without
    that day instead of merging every day.

    Memory: one source range at a time (the new days' ``port_day`` rows of the
    range, its state rows, one per (source, port) over the data, and its pairs of
    the new days; at most about :data:`ROWS_PER_RANGE` rows each; an extension adding
    layers, which streams its range's held ``ports``/``dsts`` rows past the new days' keys
    instead of holding them, plans ranges of :data:`LAYERED_RANGE_SCALE` times as many:
    fewer ranges, each a fixed cost). A range the plan
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
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from scantui.analysis import rollup as ru
from scantui.analysis.day_state import build_day_state
from scantui.analysis.fingerprints import KEY_COUNTS_SCHEMA, SESSIONS_SCHEMA
from scantui.analysis.merge_state import held_files, merge_days
from scantui.analysis.port_day_files import DayFiles, by_port, day_files, held_port_day, write_by_port
from scantui.analysis.rollup_layout import (
    DAY_TOTALS, ENRICHMENT, GROUPS, KEYS, MERGE, PAIRS, PAIRS_SCHEMA, PORT_DAY_BASE, ROW_GROUP, Progress,
)
from scantui.analysis.unicorn_sessions import extend_sessions, merge_sessions
from scantui.fsutil import parquet_files
from scantui.io.schema import TS_DTYPE, conform

__all__ = ["build_day_state", "build_days", "by_port", "concat_frames", "day_files", "day_part", "DAY_TOTALS",
           "DayFiles", "days_in", "ENRICHMENT", "extend_sessions", "frame_days", "GROUPS", "held_files",
           "held_port_day", "KEY_COUNTS_SCHEMA", "KEYS", "MERGE", "merge_days", "merge_sessions", "PAIRS",
           "PAIRS_SCHEMA", "PORT_DAY_BASE", "scaled", "scan_day", "SESSIONS_SCHEMA", "split_by_day", "write_by_port"]


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
