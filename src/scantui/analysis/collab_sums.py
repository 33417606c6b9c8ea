"""Collab's pre-filter table: per day, the (port, key) groups of probing sources heavy enough to matter.

Each day state holds :data:`DAY_FILE`, written once from the day's base ``port_day``
and its own enrichment (:func:`write_day_sums`, nothing of another day), and a
rollup links the days' files as ``collab_sums_<FLOOR>/day=D/`` (like
``port_day_by_port``). A row is one (key_kind, dport, key) of TCP probes that day
(key: the sources' /24, or their AS from the day's own enrichment), with

* ``n``: the probing sources of the group, ``s``: the sum of their distinct
  destinations that day (each source's summed over sensors, as
  :func:`~scantui.analysis.collab_prune.day_rows` does), ``mx``: the largest of those;

and only the groups with ``s >= FLOOR`` are kept (a few thousand of the ~1 M rows of a
2.4 M-packet day: most groups are one source hitting one address).

**Why the pre-filter on it is a superset** (:func:`needed`). Stage 1
(:func:`~scantui.analysis.collab_prune.candidate_rows`) keeps a (port, key, day-block)
when its non-standalone sources (per-day destinations ``< cover_min``) number at least
``min_sources`` and sum to at least ``cover_min``. Every query option only removes
rows or sources from what the table summed: ``--tool`` drops ``port_day`` rows,
``--port`` drops ports, the standalone rule drops sources. So for one (day, port,
key) group, the query's non-standalone sum is at most ``s``, and without ``--tool`` at
most ``s - mx`` when ``mx >= cover_min`` (that source is standalone); the same for the
count with ``n`` / ``n - 1``. With ``--tool`` a standalone source may lose a sensor's
row and fall below ``cover_min``, becoming a member: then ``s`` and ``n`` are the bound. A group not in the table has ``s < FLOOR``, hence at most
``FLOOR - 1`` sources (each has a destination) and a sum of at most ``FLOOR - 1``.
A block of ``k + 1`` days therefore sums to at most its heavy groups' bounds plus
``FLOOR - 1`` for each other day. When ``(k + 1)(FLOOR - 1) < cover_min`` no block of
light groups alone can pass, so every block that can pass holds a heavy group and is
found from the table; otherwise (windows of hundreds of days, a tiny telescope)
the table cannot prune and the pre-filter reads every row as before.

The exact stage 1 then runs on the detailed rows (``port_day``, sorted by port
when the rollup has the copy) of only the needed days and ports, and for /24 keys
their source ranges: every block that can pass, all its days; and for the standalone
scanners it reports, the days where a passing (port, key) has ``mx >= cover_min``.
A block read only in part sums to no more than it truly does, so it fails as it
would on every row: the result is identical (tested against the full pre-filter).

**AS keys** come from the day's own enrichment (the data's ``asn`` column). Enrichment
tables laid over a rollup later (``scantui enrich``) can give AS numbers the table
never saw, so with an overlay only the /24 part of the day's table is used
(:attr:`CollabSums.kinds`); the AS part then comes from :func:`overlay_as_sums`: each
day state's AS rows under those tables (the same rule, from the overlay's rows of that
day), made once per day and tables on first use, so a new day adds one file (at 84 days
of the benchmark data with an AS table, ``collab --window day`` read every row in 40 s
and 6.7 GB; with the days' files 4.8 s and 0.39 GB). A rollup without the table (cached
before it existed) reads every row; its next merge writes the days' tables.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from scantui.analysis.collab_query import DAY_US, CollabQuery
from scantui.analysis.rollup_layout import PORT_DAY_BASE
from scantui.analysis.traffic import TCP
from scantui.fsutil import atomic_path

#: The key kinds the table holds (its own list: later key kinds are not summed here).
SUM_KINDS = ("prefix24", "asn")
#: Groups summing to fewer destinations in a day are left out of the table (the bound above uses FLOOR - 1).
FLOOR = 32
#: The rollup's folder of the days' tables (the floor is in the name: a table of another floor is not read).
TABLE = f"collab_sums_{FLOOR}"
#: The table's file in a day state.
DAY_FILE = f"{TABLE}.parquet"
SCHEMA = pl.Schema({"key_kind": pl.Enum(SUM_KINDS), "dport": pl.UInt16(), "key": pl.UInt32(), "n": pl.UInt32(),
                    "s": pl.UInt64(), "mx": pl.UInt32()})
ROW_GROUP = 65_536


@dataclass(frozen=True)
class CollabSums:
    """A rollup's tables (lazy, with ``day``) and the key kinds they hold right for its enrichment."""

    table: pl.LazyFrame
    kinds: tuple[str, ...] = SUM_KINDS


# ---------------------------------------------------------------- the day's table


def day_sums(port_day: pl.LazyFrame, enrichment: pl.LazyFrame | None, kinds: tuple[str, ...] = SUM_KINDS) -> pl.LazyFrame:
    """The table's rows of one day's ``port_day`` and own per-(src, day) enrichment (see the module doc), of *kinds*."""
    per_src = (port_day.filter((pl.col("kind") == "probe") & (pl.col("proto") == TCP))
               .group_by("dport", "src").agg(pl.col("dsts").sum().cast(pl.UInt32).alias("dsts")))
    frames = [per_src.with_columns((pl.col("src") // 256).cast(pl.UInt32).alias("key"),
                                   pl.lit("prefix24").alias("key_kind"))] if "prefix24" in kinds else []
    if "asn" in kinds and enrichment is not None and "asn" in enrichment.collect_schema().names():
        asn = (enrichment.select("src", pl.col("asn").cast(pl.UInt32).alias("key")).filter(pl.col("key").is_not_null())
               .unique("src"))
        frames.append(per_src.join(asn, on="src", how="inner").with_columns(pl.lit("asn").alias("key_kind")))
    if not frames:
        return pl.LazyFrame(schema=SCHEMA)
    groups = pl.concat(frames, how="diagonal").group_by("key_kind", "dport", "key").agg(
        pl.len().alias("n"), pl.col("dsts").cast(pl.UInt64).sum().alias("s"), pl.col("dsts").max().alias("mx"))
    return groups.filter(pl.col("s") >= FLOOR).select(SCHEMA.names()).cast(dict(SCHEMA))


def write_day_sums(port_day: Path | pl.DataFrame, enrichment: Path, target: Path) -> None:
    """Write the day's table to *target* once, sorted by (key_kind, dport, key) so that a port reads its row groups.
    *port_day*: the day's base ``port_day`` file, or its rows when the day build holds them (not read back).
    Memory: the day's probe (port, source) rows."""
    if target.is_file():
        return
    enrich = pl.scan_parquet(enrichment, glob=False) if enrichment.is_file() else None
    rows = port_day.lazy() if isinstance(port_day, pl.DataFrame) else pl.scan_parquet(port_day, glob=False)
    with atomic_path(target) as tmp:
        (day_sums(rows, enrich).collect(engine="streaming")
         .sort("key_kind", "dport", "key").write_parquet(tmp, row_group_size=ROW_GROUP))


def scan_sums(rollup: Path) -> pl.LazyFrame | None:
    """The rollup's tables with their ``day``, or None when it has none (built before them, or without days)."""
    root = rollup / TABLE
    if not root.is_dir() or not any(root.glob("day=*/*.parquet")):
        return None
    return pl.scan_parquet(root, hive_partitioning=True, hive_schema={"day": pl.Date()}, glob=False).select("day", *SCHEMA.names())


def overlay_day_file(tables_key: str) -> str:
    """A day state's file of the AS rows under enrichment tables laid over the data (*tables_key*: their identity)."""
    return f"{TABLE}_asn-{tables_key}.parquet"


#: Days whose overlay rows are read at a time when their AS rows are made (the overlay is sorted by source).
OVERLAY_DAYS_AT_ONCE = 32


def overlay_as_sums(states: dict[dt.date, Path], overlay: pl.LazyFrame, tables_key: str) -> pl.LazyFrame | None:
    """The table's AS rows (with ``day``) under an enrichment overlay (the rollup's per-(src, day) rows, *overlay*).

    The overlay of a day is the tables' row for each of that day's sources over the day's own enrichment, so a
    day's AS rows depend on its state and the tables alone: each state gets them once per tables
    (:func:`overlay_day_file`, from its base ``port_day`` and the overlay's rows of its day), and a new day adds
    one file. None without day states, or where one cannot be written (then the AS pre-filter reads every row).
    Memory: the overlay rows of :data:`OVERLAY_DAYS_AT_ONCE` days (three integer columns) and a day's probe rows."""
    if not states or not all(state.is_dir() for state in states.values()):  # none, or some pruned
        return None
    name = overlay_day_file(tables_key)
    todo = sorted((day, state) for day, state in states.items() if not (state / name).is_file())
    try:
        for start in range(0, len(todo), OVERLAY_DAYS_AT_ONCE):
            chunk = todo[start:start + OVERLAY_DAYS_AT_ONCE]
            rows = (overlay.filter(pl.col("day").is_in([d for d, _ in chunk]))
                    .select("day", "src", "asn").collect())
            by_day = rows.partition_by("day", as_dict=True, include_key=False)
            for day, state in chunk:
                asn = by_day.get((day,), rows.clear().drop("day"))
                with atomic_path(state / name) as tmp:  # a new file beside the state's: none of them changes
                    (day_sums(pl.scan_parquet(state / PORT_DAY_BASE, glob=False), asn.lazy(), ("asn",))
                     .collect(engine="streaming").sort("key_kind", "dport", "key").write_parquet(tmp, row_group_size=ROW_GROUP))
    except OSError:  # a day store it may not write (read-only, full): the pre-filter reads every row
        return None
    return pl.concat([pl.scan_parquet(state / name, glob=False).select(pl.lit(day).alias("day"), *SCHEMA.names())
                      for day, state in sorted(states.items())])


# ---------------------------------------------------------------- the query's superset


def needed(sums: pl.LazyFrame, kind: str, query: CollabQuery, cover_min: float) -> pl.DataFrame | None:
    """(day, dport, key) groups whose detailed rows stage 1 must read for *kind*; None when the table
    cannot prune this query (a block of light groups alone could pass: see the module doc) or does not
    hold the kind."""
    if kind not in SUM_KINDS:  # a later key kind: not summed here
        return None
    k = 0 if query.window_us is None else math.ceil(query.window_us / DAY_US)
    light = FLOOR - 1
    if (k + 1) * light >= cover_min:
        return None
    lf = sums.filter(pl.col("key_kind") == kind)
    if query.ports:
        ports = sorted(query.ports)
        lf = lf.filter(pl.col("dport").is_between(ports[0], ports[-1]) & pl.col("dport").is_in(ports))
    stand = pl.col("mx") >= cover_min
    drop = pl.lit(False) if query.tools else stand  # with --tool a standalone source may become a member
    heavy = lf.select(
        "day", "dport", "key", stand.alias("stand"),
        (pl.col("s").cast(pl.Int64) - pl.when(drop).then(pl.col("mx")).otherwise(0)).alias("s"),
        (pl.col("n").cast(pl.Int64) - drop.cast(pl.Int64)).alias("n"),
    ).collect()
    blocks = pl.concat([heavy.with_columns((pl.col("day") - pl.duration(days=j)).alias("block")) for j in range(k + 1)])
    other_days = (pl.lit(k + 1, pl.Int64) - pl.len().cast(pl.Int64)) * light  # days of the block without a heavy group
    ok = (blocks.group_by("dport", "key", "block").agg(
        (pl.col("s").sum() + other_days).alias("s"), (pl.col("n").sum() + other_days).alias("n"))
        .filter((pl.col("s") >= cover_min) & (pl.col("n") >= query.min_sources)).select("dport", "key", "block"))
    block_days = pl.concat([ok.select("dport", "key", (pl.col("block") + pl.duration(days=j)).alias("day"))
                            for j in range(k + 1)])
    standalone = heavy.filter("stand").join(ok.select("dport", "key").unique(), on=["dport", "key"], how="semi")
    return pl.concat([block_days, standalone.select("dport", "key", "day")]).unique().select("day", "dport", "key")


def read_needed(port_day: pl.LazyFrame, need: pl.DataFrame, kind: str) -> pl.LazyFrame:
    """*port_day*'s rows of the days and ports in *need* (and for /24 keys, the sources of its keys), lazily.

    One scan narrowed by the union of the days, ports and keys: a superset of the groups' rows (more real
    rows change nothing, see the module doc), read from only those days' files and, in a port-sorted
    copy, only the row groups of those ports and source ranges (one scan per day costs more in
    opening files than it saves). AS keys narrow by port only: finding an AS's sources would read the
    enrichment of every source and day, more than the ports' rows."""
    if need.is_empty():
        return port_day.filter(pl.lit(False))
    days = need["day"].unique().sort()
    ports = need["dport"].unique().sort()
    lf = port_day.filter(pl.col("day").is_in(days.implode()) & pl.col("dport").is_between(ports[0], ports[-1])
                         & pl.col("dport").is_in(ports.implode()))
    if kind == "prefix24":
        keys = need["key"].unique().sort()
        lf = lf.filter(pl.col("src").is_between(int(keys[0]) * 256, int(keys[-1]) * 256 + 255)
                       & (pl.col("src") // 256).is_in(keys.implode()))
    return lf
