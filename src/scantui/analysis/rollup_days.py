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
   Peak memory: that day's groups.
3. :func:`merge_sessions` — the Unicorn session keys over all days (see below).
4. :func:`day_files` — the day's ``port_day`` under those sessions: the base file
   when none of its keys is one, else :func:`port_day_with` (the base rows with
   the sessions' packets moved to ``tool_unicorn``), written once per session set.
5. :func:`merge_days` — the rollup folder from the days.

The merges, what is exact, and the memory they need:

``port_day``, ``day_totals``, enrichment
    per day already; the rollup's ``port_day/day=D/`` file is a hard link (or a
    copy) of the day's file, the other two are concatenated. Exact; streaming.
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
    ranges double until each holds at most :data:`KEYS_PER_RANGE` key rows
    (counted over the days, an upper bound on its distinct keys), up to 256.
    Disk: one (key, count) row per distinct SYN session key per day (for random
    traffic about one per SYN probe: ~8 bytes before compression).
``src_totals``
    exact. ``packets``, ``ports``, ``days``, ``first_ts``/``last_ts`` from all
    of a source's ``port_day`` rows; ``dsts`` from the union of its per-day
    distinct destinations (the sorted ``src_dsts`` runs), counted one source
    range at a time.
``src_profile`` (schedules, coverage, top ports)
    exact: the same :func:`~scantui.analysis.rollup.src_profile` over all of a
    source's ``port_day`` rows and the data's whole day range, one source range
    at a time.
telescope size
    the median over days of ``day_totals.dsts``: per day already.

Source ranges (:func:`plan_source_ranges`) cut the address space at /16
boundaries so that each holds at most :data:`ROWS_PER_RANGE` ``port_day`` plus
``src_dsts`` rows over all days (a single busier /16 is a range of its own);
the per-range merge holds that many rows, so its memory is bounded by that
figure, not by the data's size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from scantui.analysis import rollup as ru
from scantui.analysis.fingerprints import (
    KEY_COUNTS_SCHEMA, SESSIONS_SCHEMA, TOOLS, unicorn_candidate, unicorn_eligible, unicorn_key,
)
from scantui.fsutil import atomic_path
from scantui.io.schema import conform

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
KEYS_PER_RANGE = 50_000_000
#: ``port_day`` plus ``src_dsts`` rows one source range may hold (over all days).
ROWS_PER_RANGE = 5_000_000
#: Rows per row group of the day files read by range (small enough for ranges to skip most of a file).
ROW_GROUP = 65_536

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


def days_in(folder: Path) -> list[dt.date]:
    return sorted(dt.date.fromisoformat(p.name.split("=", 1)[1]) for p in folder.glob("day=*"))


def day_part(folder: Path, day: dt.date) -> Path:
    """The folder holding one input's packets of *day* (written by :func:`split_by_day`)."""
    return folder / f"day={day.isoformat()}"


def scan_day(parts: Sequence[Path]) -> pl.LazyFrame:
    """One day's packets from the :func:`day_part` folders of the inputs that cover it (in input order)."""
    return concat_frames([pl.scan_parquet(part / "*.parquet") for part in parts])


def concat_frames(frames: Sequence[pl.LazyFrame]) -> pl.LazyFrame:
    """Canonical tables one after the other, as the loader joins its inputs."""
    frames = [conform(f) for f in frames]
    return frames[0] if len(frames) == 1 else conform(pl.concat(frames, how="diagonal_relaxed"))


# ---------------------------------------------------------------- 2.-4. per day


def build_day_state(packets: pl.LazyFrame, out: Path) -> None:
    """One day's *packets* into the folder *out* (created): every per-day table, none of which
    depends on the other days (tool counts are those without Unicorn sessions; see :func:`port_day_with`)."""
    out.mkdir(parents=True, exist_ok=True)
    classified = ru.classify(packets)
    tooled = ru.prepare(packets, sessions=pl.DataFrame(schema=SESSIONS_SCHEMA))
    keys = packets.filter(unicorn_candidate()).select(unicorn_key()).group_by("unicorn_key").agg(pl.len().cast(pl.UInt32).alias("n"))
    shared = keys.filter(pl.col("n") >= 2).select("unicorn_key")
    groups = (tooled.filter(unicorn_eligible()).with_columns(unicorn_key()).join(shared, on="unicorn_key", how="semi")
              .group_by("unicorn_key", *GROUP_KEYS, "tool").agg(pl.len().cast(pl.UInt32).alias("packets")))
    # sorted in memory after the streaming run: a streaming sort costs more than the rest of the day
    rows, keys, groups, pairs, *_ = pl.collect_all([
        ru.port_day(tooled).drop("day"),
        keys,
        groups,
        classified.select("src", "kind", "dst").unique(),
        ru.day_totals(classified).sink_parquet(out / DAY_TOTALS, lazy=True),
        ru.src_day_enrichment(classified, ru.enrichment_columns(packets)).sink_parquet(out / ENRICHMENT, lazy=True),
    ], engine="streaming")
    rows.sort("src", "dport").write_parquet(out / PORT_DAY_BASE, row_group_size=ROW_GROUP)
    keys.sort("unicorn_key").write_parquet(out / KEYS, row_group_size=ROW_GROUP)
    groups.sort("unicorn_key", *GROUP_KEYS, "tool", nulls_last=True).write_parquet(out / GROUPS, row_group_size=ROW_GROUP)
    pairs.sort("src", "kind", "dst").write_parquet(out / PAIRS, row_group_size=ROW_GROUP)


def port_day_with(state: Path, sessions: pl.DataFrame, packets: Callable[[], pl.LazyFrame], target: Path) -> None:
    """The day's ``port_day`` rows with the Unicorn *sessions* among its keys (:func:`day_sessions`,
    not empty) into *target*: the base rows, with each session packet moved from the tool it had
    without sessions to ``unicorn``. The packets come from ``unicorn_groups`` (keys seen at
    least twice that day); only a session key seen once that day reads the day's *packets* again."""
    hits = pl.scan_parquet(state / GROUPS).join(sessions.lazy(), on="unicorn_key", how="semi").drop("unicorn_key")
    singles = pl.scan_parquet(state / KEYS).filter(pl.col("n") < 2).join(sessions.lazy(), on="unicorn_key", how="semi")
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
    base = pl.read_parquet(state / PORT_DAY_BASE)
    moved = moved.collect()
    rows = base.join(moved, on=list(GROUP_KEYS), how="left", nulls_equal=True, maintain_order="left")
    rows = rows.with_columns(pl.col(moved_cols).fill_null(0)).with_columns(
        *[(pl.col(c) - pl.col(f"moved_{t}")).alias(c) for t, c in zip(TOOLS, ru.TOOL_COLUMNS) if t != "unicorn"],
        (pl.col("tool_unicorn") + pl.sum_horizontal(moved_cols)).cast(pl.UInt32).alias("tool_unicorn"),
    ).drop(moved_cols)
    rows.write_parquet(target, row_group_size=ROW_GROUP)  # in the base's order (by source), as the merge reads it


def merge_sessions(key_files: Sequence[Path], min_packets: int, *, map: Mapper | None = None) -> pl.DataFrame:
    """The session keys shared by more than *min_packets* SYN probes over all the days' key counts.

    *map* runs :func:`session_range` over the key ranges (default: a loop; a Dask runner's map
    runs them as tasks)."""
    out = [pl.DataFrame(schema=SESSIONS_SCHEMA)]
    files = [str(f) for f in key_files]
    if not files:
        return out[0]
    total = sum(_rows(f) for f in files)
    ranges = 1
    while ranges < 256 and total > ranges * KEYS_PER_RANGE:
        ranges *= 2
    jobs = [(files, r, ranges, min_packets) for r in range(ranges)]
    out.extend((map or serial)(session_range, jobs))
    return pl.concat(out).sort("unicorn_key")


def session_range(job: tuple[list[str], int, int, int]) -> pl.DataFrame:
    """The sessions of key range *r* of *ranges* (job: key files, r, ranges, min_packets)."""
    files, r, ranges, min_packets = job
    width = (1 << 32) // ranges
    key = pl.col("unicorn_key")
    lf = pl.scan_parquet(files, schema=KEY_COUNTS_SCHEMA)
    if ranges > 1:
        lf = lf.filter((key >= r * width) & (key <= (r + 1) * width - 1))
    hot = (lf.group_by("unicorn_key").agg(pl.col("n").cast(pl.UInt64).sum())
           .filter(pl.col("n") > min_packets).select("unicorn_key", pl.lit(True).alias("unicorn_session")))
    return hot.collect(engine="streaming").cast(dict(SESSIONS_SCHEMA))


def day_sessions(keys_file: Path, sessions: pl.DataFrame) -> pl.DataFrame:
    """The sessions among one day's keys (sorted): all :func:`port_day_with` needs of them."""
    keys = pl.scan_parquet(keys_file).select("unicorn_key").join(sessions.lazy(), on="unicorn_key", how="inner")
    return keys.collect().sort("unicorn_key").cast(dict(SESSIONS_SCHEMA))


def day_files(day: dt.date, state: Path, sessions: pl.DataFrame, packets: Callable[[], pl.LazyFrame]) -> DayFiles:
    """The day's finished files under the merged *sessions*: its base ``port_day`` when none of
    its keys is a session, else a ``port_day-<digest>.parquet`` beside it (written once per session set)."""
    mine = day_sessions(state / KEYS, sessions)
    if mine.height == 0:
        return DayFiles(day, state, state / PORT_DAY_BASE)
    target = state / f"port_day-{sessions_digest(mine)}.parquet"
    if not target.is_file():
        with atomic_path(target) as tmp:  # a concurrent writer's identical file may win; either is complete
            port_day_with(state, mine, packets, tmp)
    return DayFiles(day, state, target)


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


def merge_days(days: Sequence[DayFiles], out: Path, *, enrich: bool, buckets: int = 1,
               progress: Progress | None = None, map: Mapper | None = None) -> None:
    """The rollup tables (all but ``meta.json``) into the existing, empty folder *out*.

    *enrich*: write ``src_day_enrichment.parquet`` (the inputs have enrichment
    columns). *buckets*: at least this many source ranges (the result does not
    depend on it). *map* runs :func:`merge_source_range` over the source ranges
    (default: a loop; a Dask runner's map runs them as tasks).
    """
    report = progress or (lambda _m, _f: None)
    days = sorted(days, key=lambda d: d.day)
    (out / ru.PORT_DAY).mkdir()
    for d in days:
        folder = out / ru.PORT_DAY / f"day={d.day.isoformat()}"
        folder.mkdir()
        _link_or_copy(d.port_day, folder / "00000000.parquet")
    _concat([d.state / DAY_TOTALS for d in days], ru.DAY_TOTALS_SCHEMA, out / ru.DAY_TOTALS, ["day", "sensor"])
    if enrich:
        _concat([d.state / ENRICHMENT for d in days], ru.ENRICHMENT_SCHEMA, out / ru.ENRICHMENT_FILE, ["src", "day"])
    first_day = days[0].day if days else None
    n_days = (days[-1].day - days[0].day).days + 1 if days else 0
    ranges = plan_source_ranges(days, buckets)
    parts = out / ".parts"
    parts.mkdir()
    jobs = [(days, lo, hi, str(parts / f"{i:05d}"), first_day, n_days) for i, (lo, hi) in enumerate(ranges)]
    (map or serial)(merge_source_range, jobs,
                    lambda i, n, _job: report(f"source totals and profiles, part {i + 1}/{n}", i / n))
    _concat(sorted(parts.glob("*-src_totals.parquet")), ru.SRC_TOTALS_SCHEMA, out / ru.SRC_TOTALS, ["src", "kind"])
    # lz4: the scanner list reads this table whole on every call; lz4 decodes ~1.5x faster than zstd here
    _concat(sorted(parts.glob("*-src_profile.parquet")), ru.SRC_PROFILE_SCHEMA, out / ru.SRC_PROFILE, ["src", "kind"],
            compression="lz4")
    shutil.rmtree(parts)


def plan_source_ranges(days: Sequence[DayFiles], buckets: int = 1) -> list[tuple[int, int]]:
    """Inclusive (low, high) source ranges cut at /16 boundaries, each with at most
    :data:`ROWS_PER_RANGE` (or the total / *buckets*) ``port_day`` plus ``src_dsts`` rows."""
    files = [str(d.port_day) for d in days] + [str(d.state / PAIRS) for d in days]
    if not files:
        return []
    hist = (pl.scan_parquet(files, schema=pl.Schema({"src": pl.UInt32()}), missing_columns="insert", extra_columns="ignore")
            .group_by((pl.col("src") // 65536).alias("net")).agg(pl.len().alias("rows")).sort("net").collect(engine="streaming"))
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


def merge_source_range(job: tuple[Sequence[DayFiles], int, int, str, dt.date | None, int]) -> None:
    """``src_totals`` and ``src_profile`` rows of the sources in [*lo*, *hi*] from every day's files
    (job: days, lo, hi, the output files' prefix, the first day, the number of days)."""
    days, lo, hi, prefix, first_day, n_days = job
    in_range = pl.col("src").is_between(lo, hi)
    rows = pl.concat(
        [pl.scan_parquet(d.port_day).filter(in_range).with_columns(pl.lit(d.day).alias("day")) for d in days]
    ).select(ru.PORT_DAY_SCHEMA.names()).collect(engine="streaming")
    if rows.height == 0:
        return
    dsts = (pl.scan_parquet([str(d.state / PAIRS) for d in days], schema=PAIRS_SCHEMA).filter(in_range)
            .group_by("src", "kind").agg(pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts")))
    totals = rows.lazy().group_by("src", "kind").agg(
        pl.col("packets").sum().cast(pl.UInt64).alias("packets"),
        pl.col("dport").drop_nulls().n_unique().cast(pl.UInt32).alias("ports"),
        pl.col("day").n_unique().cast(pl.UInt16).alias("days"),
        pl.col("first_ts").min().alias("first_ts"),
        pl.col("last_ts").max().alias("last_ts"),
    ).join(dsts, on=["src", "kind"], how="left").with_columns(pl.col("dsts").fill_null(0))
    totals.select(ru.SRC_TOTALS_SCHEMA.names()).collect(engine="streaming").write_parquet(f"{prefix}-src_totals.parquet")
    ru.src_profile(rows, first_day, n_days).write_parquet(f"{prefix}-src_profile.parquet")


def _concat(files: Sequence[Path], schema: pl.Schema, target: Path, sort: list[str], *, compression: str = "zstd") -> None:
    lf = pl.scan_parquet([str(f) for f in files]) if files else pl.LazyFrame(schema=schema)
    lf.select(schema.names()).cast(dict(schema)).sort(sort, nulls_last=True).sink_parquet(
        target, compression=compression, engine="streaming")


def _link_or_copy(source: Path, target: Path) -> None:
    """Day files are never changed once written, so a hard link is as good as a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _rows(path: str) -> int:
    return int(pl.scan_parquet(path).select(pl.len()).collect().item())


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
               progress=scaled(report, (2 * len(days)) / steps, 1 / steps))
    shutil.rmtree(work)


def scaled(report: Progress, start: float, share: float) -> Progress:
    """*report* with fractions mapped into [*start*, *start* + *share*] (a step of a longer build)."""
    return lambda message, fraction: report(message, None if fraction is None else start + share * fraction)
