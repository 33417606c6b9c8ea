"""The rollup: compact aggregates of the packet table, built once, read by everything after.

:func:`build_rollup` rolls the canonical table (with the per-packet ``tool``
from :func:`scantui.analysis.fingerprints.with_tool`) up day by day and merges
the days (:mod:`scantui.analysis.rollup_days`) into these Parquet outputs in one folder:

``port_day/``                 hive-partitioned by ``day=YYYY-MM-DD``; one row per
                              (day, sensor, src, proto, dport, kind)
``src_totals.parquet``        one row per (src, kind), exact distinct counts over the whole input
``src_profile.parquet``       one row per (src, kind): the raw per-source aggregates of the
                              scanner list (volume, tool counts, port classes, scan intervals,
                              best one-day coverage counts, schedule over the data's day range,
                              top ports); the list adds window share and telescope size per row
``day_totals.parquet``        one row per (day, sensor)
``src_day_enrichment/``       one row per (src, day), only when the input has enrichment columns: parts by
                              source range in (src, day) order and each source's latest fields
                              (:mod:`~scantui.analysis.enrichment_overlay`)
``meta.json``                 written last: layout version, row counts, time range, ...

The layout (names, dtypes, partitioning) is a contract: it is where data too
large for one machine will be rolled up by a distributed engine, so it is
versioned by :data:`LAYOUT_VERSION` and documented in the README. This module
holds the tables' definitions and the aggregates (lazy, pure); nothing here
knows about caching; see :mod:`scantui.analysis.rollup_cache`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from scantui.analysis.fingerprints import TOOLS, UNICORN_MIN_PACKETS, with_tool
from scantui.analysis import behaviour as bh
from scantui.analysis.schedule import source_schedules
from scantui.analysis.telescope import estimate_size_from_daily
from scantui.analysis.traffic import traffic_kind
from scantui.fsutil import write_bytes_atomic
from scantui.io.schema import ENRICHMENT, TS_DTYPE
from scantui.io.stats import LoadStats

#: Bumped on any change to the tables' names, columns, dtypes or meaning.
LAYOUT_VERSION = 7  # 7: day packet tables of captures carry ref_file/ref_off
#: The merged rollup folder's own layout, apart from the days' (a bump makes new rollups from the same day states):
#: 2: ``src_day_enrichment/`` by source range (was one file sorted at once).
ROLLUP_VERSION = 2

KINDS = ("probe", "backscatter", "other_tcp", "udp", "icmp", "other")
KIND_DTYPE = pl.Enum(KINDS)
TOOL_COLUMNS = tuple(f"tool_{t}" for t in TOOLS)

PORT_DAY = "port_day"
#: The same rows as ``port_day``, each day's file sorted by (kind, dport, src): a port filter reads only its row groups.
PORT_DAY_BY_PORT = "port_day_by_port"
SRC_TOTALS = "src_totals.parquet"
DAY_TOTALS = "day_totals.parquet"
ENRICHMENT_DIR = "src_day_enrichment"
SRC_PROFILE = "src_profile.parquet"
META = "meta.json"

PORT_DAY_KEYS = ("day", "sensor", "src", "proto", "dport", "kind")

#: The contract, table by table (``day`` in ``port_day`` is the hive partition key).
PORT_DAY_SCHEMA = pl.Schema(
    {
        "day": pl.Date(), "sensor": pl.String(), "src": pl.UInt32(), "proto": pl.UInt8(), "dport": pl.UInt16(),
        "kind": KIND_DTYPE, "packets": pl.UInt32(), "dsts": pl.UInt32(), "first_ts": TS_DTYPE, "last_ts": TS_DTYPE,
        **{c: pl.UInt32() for c in TOOL_COLUMNS},
    }
)
SRC_TOTALS_SCHEMA = pl.Schema(
    {
        "src": pl.UInt32(), "kind": KIND_DTYPE, "packets": pl.UInt64(), "dsts": pl.UInt32(), "ports": pl.UInt32(),
        "days": pl.UInt16(), "first_ts": TS_DTYPE, "last_ts": TS_DTYPE,
    }
)
DAY_TOTALS_SCHEMA = pl.Schema(
    {
        "day": pl.Date(), "sensor": pl.String(), "packets": pl.UInt64(), "probes": pl.UInt64(),
        "backscatter": pl.UInt64(), "srcs": pl.UInt32(), "dsts": pl.UInt32(),
    }
)
ENRICHMENT_SCHEMA = pl.Schema({"src": pl.UInt32(), "day": pl.Date(), **ENRICHMENT})
TOP_PORT_DTYPE = pl.Struct({"port": pl.UInt16(), "proto": pl.UInt8(), "packets": pl.UInt64(), "scans": pl.UInt32(), "dsts": pl.UInt32()})
SRC_PROFILE_SCHEMA = pl.Schema(
    {
        "src": pl.UInt32(), "kind": KIND_DTYPE, "packets": pl.UInt64(), "first_seen": TS_DTYPE, "last_seen": TS_DTYPE,
        **{c: pl.UInt64() for c in TOOL_COLUMNS},
        "days_active": pl.UInt32(), "ports": pl.UInt32(), **{c: pl.UInt32() for c in bh.PORT_CLASS_COUNTS},
        "avg_scan_interval_days": pl.Float64(), "ports_rescanned": pl.UInt32(),
        "coverage_dsts_max": pl.UInt32(), "coverage_dsts_mean": pl.Float64(),
        "schedule": pl.String(), "period_days": pl.Int64(), "schedule_strength": pl.Float64(),
        "top_ports": pl.List(TOP_PORT_DTYPE),
    }
)

#: ``progress(message, fraction)``; fraction is None when unknown.
Progress = Callable[[str, float | None], None]


# ---------------------------------------------------------------- the aggregates (lazy, pure)


def classify(lf: pl.LazyFrame) -> pl.LazyFrame:
    """The canonical table with ``day``, ``kind`` and a ``sensor`` column (null if absent)."""
    names = lf.collect_schema().names()
    sensor = pl.col("sensor") if "sensor" in names else pl.lit(None, dtype=pl.String)
    return lf.with_columns(
        pl.col("ts").dt.date().alias("day"),
        sensor.cast(pl.String).alias("sensor"),
        traffic_kind(KIND_DTYPE).alias("kind"),
    )


def prepare(
    lf: pl.LazyFrame, *, unicorn_min_packets: int = UNICORN_MIN_PACKETS, sessions: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """:func:`classify` plus ``tool``.

    *sessions*: the Unicorn session keys when already collected (see :func:`with_tool`).
    """
    return classify(with_tool(lf, sessions=sessions, unicorn_min_packets=unicorn_min_packets))


def port_day(packets: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (day, sensor, src, proto, dport, kind) of a :func:`prepare`-d table."""
    return packets.group_by(*PORT_DAY_KEYS).agg(*port_day_aggregates()).select(PORT_DAY_SCHEMA.names())


def port_day_aggregates() -> list[pl.Expr]:
    """``port_day``'s columns after its keys, each an aggregate of one group of a :func:`prepare`-d table."""
    tool_counts = [(pl.col("tool") == t).sum().cast(pl.UInt32).alias(c) for t, c in zip(TOOLS, TOOL_COLUMNS)]
    return [
        pl.len().cast(pl.UInt32).alias("packets"),
        pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts"),
        pl.col("ts").min().alias("first_ts"),
        pl.col("ts").max().alias("last_ts"),
        *tool_counts,
    ]


def src_totals(packets: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (src, kind) with exact distinct destinations, ports and days over the whole input."""
    return packets.group_by("src", "kind").agg(
        pl.len().cast(pl.UInt64).alias("packets"),
        pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts"),
        pl.col("dport").drop_nulls().n_unique().cast(pl.UInt32).alias("ports"),
        pl.col("day").n_unique().cast(pl.UInt16).alias("days"),
        pl.col("ts").min().alias("first_ts"),
        pl.col("ts").max().alias("last_ts"),
    ).select(SRC_TOTALS_SCHEMA.names())


def day_totals(packets: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (day, sensor): packets, probes, backscatter, distinct sources and destinations."""
    return packets.group_by("day", "sensor").agg(
        pl.len().cast(pl.UInt64).alias("packets"),
        (pl.col("kind") == "probe").sum().cast(pl.UInt64).alias("probes"),
        (pl.col("kind") == "backscatter").sum().cast(pl.UInt64).alias("backscatter"),
        pl.col("src").n_unique().cast(pl.UInt32).alias("srcs"),
        pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts"),
    ).select(DAY_TOTALS_SCHEMA.names())


def enrichment_columns(lf: pl.LazyFrame) -> list[str]:
    names = set(lf.collect_schema().names())
    return [c for c in ENRICHMENT if c in names]


def src_day_enrichment(packets: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """One row per (src, day): the first non-null value of each enrichment column (null where none)."""
    present = [pl.col(c).first(ignore_nulls=True).cast(ENRICHMENT[c]).alias(c) for c in columns]
    missing = [pl.lit(None, dtype=ENRICHMENT[c]).alias(c) for c in ENRICHMENT if c not in columns]
    return packets.group_by("src", "day").agg(*present).with_columns(*missing).select(ENRICHMENT_SCHEMA.names())


def src_profile(rows: pl.DataFrame, first_day: dt.date | None, n_days: int) -> pl.DataFrame:
    """One row per (src, kind) of ``port_day`` rows (with ``day``; all of each source's rows):
    what the unfiltered scanner list needs, raw (see :mod:`scantui.analysis.behaviour`).

    Volume and tool counts, the raw behaviour columns, the schedule over the
    window *first_day* + *n_days* (the data's whole day range) and the busiest
    ports with their best one-day distinct destinations. Nothing here depends
    on the telescope size.
    """
    out = [pl.DataFrame(schema=SRC_PROFILE_SCHEMA)]
    for kind in rows["kind"].unique().sort():
        lf = rows.filter(pl.col("kind") == kind).lazy()
        parts = pl.collect_all([bh.volume(lf, TOOL_COLUMNS), *bh.behaviour_counts(lf), bh.top_ports_counts(lf, bh.TOP_PORTS)])
        joined = bh.join_parts([*parts, source_schedules(lf, first_day, n_days)])
        joined = joined.with_columns(pl.lit(kind, KIND_DTYPE).alias("kind"), pl.col("ports", "ports_rescanned").fill_null(0))
        out.append(joined.select(SRC_PROFILE_SCHEMA.names())
                   .cast(dict(SRC_PROFILE_SCHEMA)))
    return pl.concat(out)


# ---------------------------------------------------------------- building on disk

#: Kept for callers that size the build; the tables do not depend on it (see :mod:`scantui.analysis.rollup_days`).
DEFAULT_BUCKETS = 1


@dataclass(frozen=True)
class BuildResult:
    path: Path
    meta: dict[str, Any]


def build_rollup(
    lf: pl.LazyFrame,
    out_dir: str | os.PathLike[str],
    *,
    unicorn_min_packets: int = UNICORN_MIN_PACKETS,
    buckets: int = DEFAULT_BUCKETS,
    stats: LoadStats | None = None,
    meta: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Stream the canonical table *lf* into the rollup tables under *out_dir* (created; must not exist).

    The build is made of days (:mod:`scantui.analysis.rollup_days`): one
    streaming pass splits the packets by UTC day, each day is rolled up on its
    own (peak memory: one day's groups), and the whole-input tables are merged
    from the days' state. The cache builds the same way, but keeps the days
    (:mod:`scantui.analysis.rollup_cache`).

    ``meta.json`` is written last, so a folder without it is an unfinished
    build. *stats* (the loader's counters) are read after the reading pass, when
    streaming loaders have filled them; *meta* is merged into ``meta.json``;
    *buckets* is the least number of source ranges the merge uses.
    """
    from scantui.analysis import rollup_days as rd

    out = Path(out_dir)
    out.mkdir(parents=True)
    report = progress or (lambda _msg, _frac: None)
    started = time.perf_counter()

    def read(split: Callable[[], list[dt.date]]) -> list[dt.date]:
        with poll_loader_progress(stats, "reading packets", report):
            return split()

    rd.build_days(lf, out / ".days", out, unicorn_min_packets=unicorn_min_packets, buckets=buckets, read=read,
                  progress=progress)
    finish(out, {
        "unicorn_min_packets": unicorn_min_packets,
        "enrichment_columns": enrichment_columns(lf),
        **(dict(meta) if meta else {}),
        "skipped": dict(sorted(stats.skipped().items())) if stats is not None else {},
        "files": [f.to_dict() for f in stats.files()] if stats is not None else [],
    }, started, report)
    return BuildResult(out, read_meta(out))


def finish(out: Path, meta: Mapping[str, Any], started: float, report: Progress) -> None:
    """Write ``meta.json`` (the layout version, row counts and time range, *meta*): the build's last step."""
    report("writing rollup metadata", None)
    full = {
        "layout_version": LAYOUT_VERSION,
        "scantui_version": _scantui_version(),
        **_describe(out),
        **meta,
        "build_seconds": round(time.perf_counter() - started, 3),
    }
    write_meta(out, full)
    report("rollup done", 1.0)


@contextmanager
def poll_loader_progress(stats: LoadStats | None, message: str, report: Progress, every: float = 0.5) -> Iterator[None]:
    """While the body runs, report the streaming loaders' byte progress (pcap, pcapng) every *every* s."""
    report(message, None)
    if stats is None:
        yield
        return
    done = threading.Event()

    def poll() -> None:
        while not done.wait(every):
            parts = stats.progress().values()
            total = sum(t for _, t in parts)
            if total:
                report(message, min(1.0, sum(d for d, _ in parts) / total))

    thread = threading.Thread(target=poll, name="rollup-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _describe(out: Path) -> dict[str, Any]:
    """Row counts per table and the time range, from the written files (metadata reads only)."""
    rows = {
        PORT_DAY: _rows(scan_port_day(out)),
        SRC_TOTALS: _rows(pl.scan_parquet(out / SRC_TOTALS, glob=False)),
        DAY_TOTALS: _rows(pl.scan_parquet(out / DAY_TOTALS, glob=False)),
        SRC_PROFILE: _rows(pl.scan_parquet(out / SRC_PROFILE, glob=False)),
    }
    if (out / ENRICHMENT_DIR).is_dir():
        from scantui.analysis.enrichment_overlay import scan

        rows[ENRICHMENT_DIR] = _rows(scan(out / ENRICHMENT_DIR))
    span = pl.scan_parquet(out / SRC_TOTALS, glob=False).select(
        pl.col("first_ts").min(), pl.col("last_ts").max(), pl.col("packets").sum()
    ).collect().row(0)
    days = pl.scan_parquet(out / DAY_TOTALS, glob=False).select(pl.col("day").n_unique()).collect().item()
    return {
        "rows": rows,
        "packets": int(span[2] or 0),
        "first_ts": span[0].isoformat() if span[0] else None,
        "last_ts": span[1].isoformat() if span[1] else None,
        "days": int(days),
    }


def _rows(lf: pl.LazyFrame) -> int:
    return int(lf.select(pl.len()).collect().item())


def write_meta(out: Path, meta: Mapping[str, Any]) -> None:
    """Write ``meta.json`` atomically and durably (its presence marks a finished build)."""
    text = json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(out / META, text.encode("utf-8"))


def read_meta(folder: str | os.PathLike[str]) -> dict[str, Any]:
    with open(Path(folder) / META, encoding="utf-8") as fh:
        return json.load(fh)


def _scantui_version() -> str:
    try:
        from importlib.metadata import version

        return version("scantui")
    except Exception:  # noqa: BLE001 - an uninstalled checkout still builds
        return "unknown"


# ---------------------------------------------------------------- reading


def scan_port_day(folder: str | os.PathLike[str], table: str = PORT_DAY) -> pl.LazyFrame:
    """``port_day`` as a LazyFrame with the contract's column order (``day`` typed as Date); *table*
    :data:`PORT_DAY_BY_PORT` reads the same rows from the copy sorted by port."""
    root = Path(folder) / table
    if not any(root.glob("day=*/*.parquet")):
        return pl.LazyFrame(schema=PORT_DAY_SCHEMA)
    lf = pl.scan_parquet(root, hive_partitioning=True, hive_schema={"day": pl.Date()}, glob=False)
    return lf.select(PORT_DAY_SCHEMA.names())


def daily_destinations(day_totals_lf: pl.LazyFrame) -> pl.DataFrame:
    """Distinct destinations per day across sensors, from ``day_totals``.

    With several sensors, each sensor's telescope is distinct, so per-day
    counts add up across sensors.
    """
    return day_totals_lf.group_by("day").agg(pl.col("dsts").sum().cast(pl.Int64)).collect()


def telescope_size_from_day_totals(day_totals_lf: pl.LazyFrame) -> int:
    """Median over days of distinct destinations (see :mod:`scantui.analysis.telescope`)."""
    return estimate_size_from_daily(daily_destinations(day_totals_lf))
