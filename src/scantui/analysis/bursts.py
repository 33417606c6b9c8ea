"""Bursts: each source's probes to one port, cut at the silences that are long for that source.

Per UTC day and (source, destination port) of TCP probes (:func:`~scantui.analysis.traffic.is_probe`),
the probes in time order are cut wherever the silence between two of them exceeds the
source's own threshold on that day::

    threshold = clamp(GAP_FACTOR × median(inter-probe gaps), FLOOR_US, CEIL_US)

(no gap, a single probe: ``FLOOR_US``). Why these constants: a sweep sends at a steady rate,
so its median gap is its rate and a pause of 20 of them is a stop; a slow, Poisson-like
source (mean gap m, median 0.69 m) is cut with a chance of e^-13.9 per gap, i.e. never.
The floor (5 min) keeps a fast scanner's hiccups (rate limiting, a restart) inside its
burst; the ceiling (1 h) makes a source silent for an hour start a new burst whatever
its rate, so a trickle of probes does not become one day-long burst.

A row (:data:`SCHEMA`) is one burst: ``src, dport, day, start_us, end_us, packets``,
``dsts`` (distinct destinations in the burst) and ``thr_us`` (the threshold it was cut
with). A day state keeps the bursts of at least :data:`MIN_DSTS` destinations and every
burst within its threshold of the day's edges (:func:`day_bursts`, :func:`write_day_bursts`,
written from the day's packet table, which is sorted by port, source and time); single
probes (random bots, backscatter answers) are dropped, so the table is small.

**Across midnight** (:func:`merge_days`): the last burst of a (source, port) on day D and its
first on day D + 1 are one burst when the silence between them is at most the smaller of
the two days' thresholds: the within-day rule (cut when the silence exceeds the threshold),
with the threshold that is long for the source on either day. Chains run over several
days. A merged burst's ``dsts`` is the sum of its parts' (an upper bound of its distinct
destinations: exact unless a destination repeats across midnight), which is what the
collab pre-filter needs (:mod:`~scantui.analysis.collab_bursts`).

A rollup links the days' tables as ``bursts/day=D/`` (:func:`link_days`) and merges
across midnight when read (:func:`scan_bursts`: a pure function of the linked days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scantui.analysis import day_links
from scantui.analysis.traffic import is_probe
from scantui.fsutil import atomic_path

SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US
#: The threshold is this many times the source's median inter-probe gap ...
GAP_FACTOR = 20
#: ... but at least 5 minutes ...
FLOOR_US = 300 * SECOND_US
#: ... and at most one hour.
CEIL_US = 3600 * SECOND_US
#: Bursts of fewer distinct destinations are not kept (unless at a day's edge: they may join the next day's).
MIN_DSTS = 2
#: The rollup's folder of the days' tables, and the table's file in a day state.
TABLE = "bursts"
DAY_FILE = f"{TABLE}.parquet"
SCHEMA = pl.Schema({"src": pl.UInt32(), "dport": pl.UInt16(), "day": pl.Date(), "start_us": pl.Int64(),
                    "end_us": pl.Int64(), "packets": pl.UInt32(), "dsts": pl.UInt32(), "thr_us": pl.Int64()})
#: A merged burst: the first day it touches and the last.
MERGED_SCHEMA = pl.Schema({"src": pl.UInt32(), "dport": pl.UInt16(), "day": pl.Date(), "last_day": pl.Date(),
                           "start_us": pl.Int64(), "end_us": pl.Int64(), "packets": pl.UInt32(), "dsts": pl.UInt32()})
ROW_GROUP = 65_536


def probe_times(packets: pl.LazyFrame) -> pl.LazyFrame:
    """``src, dport, day, t, dst`` of the TCP probes in *packets* (``t`` in µs since the epoch)."""
    return packets.filter(is_probe()).select(
        "src", "dport", pl.col("ts").dt.date().alias("day"), pl.col("ts").dt.epoch("us").alias("t"), "dst")


def day_bursts(probes: pl.LazyFrame, *, presorted: bool = False) -> pl.LazyFrame:
    """The kept bursts (:data:`SCHEMA`) of :func:`probe_times` rows, per day; *presorted*: the rows are
    already in (day, dport, src, t) order (a day's packet table), so no sort is needed."""
    lf = probes if presorted else probes.sort("day", "dport", "src", "t")
    # ``_run`` and ``_b`` are running counts (never null), so ascending: flagged sorted, the median over a run and
    # the group-by of a burst take polars' sorted-key path (a dev day's bursts 0.061 -> 0.034 CPU s); the groups'
    # order may differ from a hashed group-by's, which callers never relied on (write_day_bursts sorts its rows)
    first = ((pl.col("src") != pl.col("src").shift()) | (pl.col("dport") != pl.col("dport").shift())
             | (pl.col("day") != pl.col("day").shift())).fill_null(True)
    lf = lf.with_columns(first.alias("_first")).with_columns(
        (pl.col("_first") & pl.col("_first").shift(-1).fill_null(True)).alias("_single"))
    edge = at_edge()
    # a (source, port)'s only probe of the day (most of them: random bots, backscatter): kept only at an edge
    singles = lf.filter("_single").select(
        "src", "dport", "day", pl.col("t").alias("start_us"), pl.col("t").alias("end_us"), pl.lit(1).alias("packets"),
        pl.lit(1).alias("dsts"), pl.lit(FLOOR_US, pl.Int64).alias("thr_us")).filter(edge)
    lf = lf.filter(~pl.col("_single")).with_columns(
        pl.when("_first").then(None).otherwise(pl.col("t") - pl.col("t").shift()).alias("_gap"),
        pl.col("_first").cum_sum().set_sorted().alias("_run"))
    thr = ((pl.col("_gap").median().over("_run") * GAP_FACTOR).fill_null(FLOOR_US)
           .clip(FLOOR_US, CEIL_US).cast(pl.Int64))
    lf = lf.with_columns(thr.alias("thr_us"))
    lf = lf.with_columns((pl.col("_first") | (pl.col("_gap") > pl.col("thr_us")).fill_null(False)).cum_sum().set_sorted()
                         .alias("_b"))
    bursts = lf.group_by("_b").agg(
        pl.col("src").first(), pl.col("dport").first(), pl.col("day").first(), pl.col("t").min().alias("start_us"),
        pl.col("t").max().alias("end_us"), pl.len().alias("packets"), pl.col("dst").n_unique().alias("dsts"),
        pl.col("thr_us").first())
    bursts = bursts.filter((pl.col("dsts") >= MIN_DSTS) | edge)
    return pl.concat([bursts.select(SCHEMA.names()).cast(dict(SCHEMA)), singles.cast(dict(SCHEMA))])


def write_day_bursts(files: Sequence[Path], target: Path) -> None:
    """A day's kept bursts into *target*, from its packet table's *files* (sorted by (dport, src, ts), each
    holding whole ports: :mod:`~scantui.analysis.day_packets`), one file at a time; sorted by (dport, src,
    start). Memory: one file's probes."""
    frames = [day_bursts(probe_times(pl.scan_parquet(f, glob=False)), presorted=True) for f in files]
    with atomic_path(target) as tmp:
        out = pl.concat(pl.collect_all(frames)) if frames else pl.DataFrame(schema=SCHEMA)
        out.sort("dport", "src", "start_us").write_parquet(tmp, row_group_size=ROW_GROUP)


def link_days(days: Sequence[tuple[dt.date, Path]], out: Path, link) -> None:
    """``out/bursts/day=D/00000000.parquet`` for each (day, state folder), when every state has its table."""
    day_links.link_days(days, out, link, TABLE, DAY_FILE)


def scan_days(rollup: Path) -> pl.LazyFrame | None:
    """The rollup's days' tables (:data:`SCHEMA`), or None when it has none (built before them)."""
    return day_links.scan_days(rollup, TABLE, SCHEMA.names())


def _late() -> pl.Expr:
    """A day table's burst that may join its (source, port)'s first burst of the next day."""
    return pl.col("day").cast(pl.Datetime("us")).dt.epoch("us") + DAY_US - pl.col("end_us") <= pl.col("thr_us")


def _early() -> pl.Expr:
    """A day table's burst that may join its (source, port)'s last burst of the day before."""
    return pl.col("start_us") - pl.col("day").cast(pl.Datetime("us")).dt.epoch("us") < pl.col("thr_us")


def at_edge() -> pl.Expr:
    """A day table's burst that may be part of a burst across midnight; any other merges with nothing."""
    return _early() | _late()


def merge_days(bursts: pl.LazyFrame) -> pl.LazyFrame:
    """Per-day bursts (:data:`SCHEMA`) joined across midnight (the rule in the module doc): :data:`MERGED_SCHEMA`.

    Only a burst within its threshold of a day's edge can join another (the silence across midnight is at most
    the smaller threshold), and only when its (source, port) has such a burst at the facing edge of the next or
    previous day: the others pass through, and only those are sorted and grouped."""
    late, early = _late(), _early()
    edges = bursts.filter(early | late)
    # an edge burst joins only when its (source, port) has an edge burst on the day before or after
    ends = edges.filter(late).select("src", "dport", (pl.col("day") + pl.duration(days=1)).alias("day"))
    starts = edges.filter(early).select("src", "dport", "day")
    pairs = ends.join(starts, on=["src", "dport", "day"], how="semi")
    both = pl.concat([pairs, pairs.with_columns(pl.col("day") - pl.duration(days=1))])
    joining = edges.join(both, on=["src", "dport", "day"], how="semi")
    alone = pl.concat([bursts.filter(~(early | late)), edges.join(both, on=["src", "dport", "day"], how="anti")])
    inner = alone.filter(pl.col("dsts") >= MIN_DSTS).with_columns(pl.col("day").alias("last_day"))
    lf = joining.sort("src", "dport", "start_us")
    prev = pl.col("end_us").shift()
    join = ((pl.col("src") == pl.col("src").shift()) & (pl.col("dport") == pl.col("dport").shift())
            & (pl.col("day") == pl.col("day").shift() + pl.duration(days=1))
            & (pl.col("start_us") - prev <= pl.min_horizontal("thr_us", pl.col("thr_us").shift()))).fill_null(False)
    merged = lf.with_columns((~join).cum_sum().alias("_m")).group_by("_m").agg(
        pl.col("src").first(), pl.col("dport").first(), pl.col("day").first(), pl.col("day").last().alias("last_day"),
        pl.col("start_us").first(), pl.col("end_us").last(), pl.col("packets").sum(), pl.col("dsts").sum())
    merged = merged.filter(pl.col("dsts") >= MIN_DSTS)
    return pl.concat([inner.select(MERGED_SCHEMA.names()).cast(dict(MERGED_SCHEMA)),
                      merged.select(MERGED_SCHEMA.names()).cast(dict(MERGED_SCHEMA))])


def bursts_of(packets: pl.LazyFrame) -> pl.LazyFrame:
    """Merged bursts computed from a packet table (no rollup): the same rows a rollup's tables give."""
    return merge_days(day_bursts(probe_times(packets)))
