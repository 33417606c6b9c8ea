"""Which packets a collaborative-scan search reads (stages 1 and 2 of :mod:`scantui.analysis.collab`).

Stage 1 prunes with the rollup's ``port_day`` (exact distinct destinations per day,
port and source) to the (port, key, day-block) groups that may hold a cover (given only
the rows :func:`scantui.analysis.collab_sums.needed` keeps, the same groups); stage 2
reads only the probes of those (day, port, source) rows, lazily and streamed: from
the rollup's day tables (:mod:`scantui.analysis.packet_source`), only those days'
files and, in each, the row groups of its ports and sources. Without
a rollup, the ``port_day`` and AS columns are computed from the packets here too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from scantui.analysis.collab_query import DAY_US, CollabQuery
from scantui.analysis.packet_source import PacketSource, as_source
from scantui.analysis.traffic import TCP, is_probe


# ---------------------------------------------------------------- fallbacks when there is no rollup


def port_day_from_packets(packets: pl.LazyFrame, tools: Sequence[str] = ()) -> pl.LazyFrame:
    """The columns of the rollup's ``port_day`` this module reads, computed from the packets (lazy)."""
    lf = packets.filter(is_probe())
    tool_cols = []
    if tools:
        from scantui.analysis.fingerprints import with_tool

        lf = with_tool(lf)
        tool_cols = [(pl.col("tool") == t).sum().cast(pl.UInt32).alias(f"tool_{t}") for t in tools]
    return lf.with_columns(pl.col("ts").dt.date().alias("day")).group_by("day", "src", "proto", "dport").agg(
        pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts"), pl.len().cast(pl.UInt32).alias("packets"), *tool_cols
    ).with_columns(pl.lit("probe").alias("kind"))


def enrichment_from_packets(packets: pl.LazyFrame) -> pl.LazyFrame | None:
    """Per-(src, day) first non-null ``asn`` from the packets, or None if they carry no ``asn``."""
    if "asn" not in packets.collect_schema().names():
        return None
    return (
        packets.filter(pl.col("asn").is_not_null())
        .group_by("src", pl.col("ts").dt.date().alias("day"))
        .agg(pl.col("asn").first())
    )


def estimate_telescope_size(packets: pl.LazyFrame) -> int:
    """Median over days of the distinct destinations seen that day (as the rollup estimates it)."""
    daily = packets.group_by(pl.col("ts").dt.date().alias("day")).agg(pl.col("dst").n_unique().alias("dsts"))
    return int(daily.collect(engine="streaming")["dsts"].median() or 0)


# ---------------------------------------------------------------- stage 1: prune with the rollup


def day_rows(port_day: pl.LazyFrame, query: CollabQuery, walks: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """(day, dport, src, dsts, packets) of probes, summed over sensors. With ``--tool zmap`` and the rollup's
    ZMap walk matches (*walks*), a (day, source, port) the walk test matched counts as ``zmap`` too."""
    lf = port_day.filter((pl.col("kind").cast(pl.String) == "probe") & (pl.col("proto") == TCP))
    if query.ports:
        lf = lf.filter(pl.col("dport").is_in(list(query.ports)))
    if query.tools:
        tagged = pl.any_horizontal([pl.col(f"tool_{t}") > 0 for t in query.tools])
        if "zmap" in query.tools and walks is not None:
            from scantui.analysis.zmap_rollup import walk_pairs

            lf = lf.join(walk_pairs(walks).with_columns(pl.lit(True).alias("_walk")), on=["day", "src", "dport"],
                         how="left")
            lf = lf.filter(tagged | pl.col("_walk").fill_null(False)).drop("_walk")
        else:
            lf = lf.filter(tagged)
    return lf.group_by("day", "dport", "src").agg(pl.col("dsts").sum().cast(pl.UInt32).alias("dsts"),
                                                  pl.col("packets").sum().cast(pl.UInt32).alias("packets"))


def rows_of_sources(port_day: pl.LazyFrame, keyed: pl.DataFrame) -> pl.LazyFrame:
    """*port_day*'s rows of the days and sources of *keyed* (day, src): a superset of the (day, src) pairs,
    read past row groups by the sources' range (``port_day``'s day files are sorted by source)."""
    if keyed.is_empty():
        return port_day.filter(pl.lit(False))
    days = keyed["day"].unique().sort()
    srcs = keyed["src"].unique().sort()
    return port_day.filter(pl.col("day").is_in(days.implode()) & pl.col("src").is_between(srcs[0], srcs[-1])
                           & pl.col("src").is_in(srcs.implode()))


def _keyed(rows: pl.LazyFrame, kind: str, enrichment: pl.LazyFrame | None,
           key_table: pl.LazyFrame | None = None) -> pl.LazyFrame:
    if kind == "prefix24":
        return rows.with_columns((pl.col("src") // 256).cast(pl.UInt32).alias("key"))
    if key_table is not None:  # another kind's (day, src[, dport], key) rows (scantui.analysis.collab_keys)
        on = [c for c in ("day", "src", "dport") if c in key_table.collect_schema().names()]
        return rows.join(key_table.select(*on, "key"), on=on, how="inner")
    asn = enrichment.select("src", "day", pl.col("asn").cast(pl.UInt32).alias("key")).filter(pl.col("key").is_not_null())
    return rows.join(asn.unique(["src", "day"]), on=["src", "day"], how="inner")


def _block_days(query: CollabQuery) -> int:
    """How many further calendar days a window starting on a day can reach."""
    return 0 if query.window_us is None else math.ceil(query.window_us / DAY_US)


def candidate_rows(rows: pl.LazyFrame, kind: str, enrichment: pl.LazyFrame | None, query: CollabQuery,
                   cover_min: float, key_table: pl.LazyFrame | None = None) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(day, dport, src, key, packets) rows of the (port, key, day-block) groups that may hold a cover, and
    the standalone scanners (same columns) of those (port, key) pairs, to report as excluded.
    *key_table*: the (day, src[, dport], key) rows of a kind keyed by a table (:mod:`~scantui.analysis.collab_keys`)."""
    all_keyed = _keyed(rows, kind, enrichment, key_table)
    keyed = all_keyed.filter(pl.col("dsts") < cover_min)  # standalone that day: never a member
    k = _block_days(query)
    blocks = pl.concat(
        [keyed.with_columns((pl.col("day") - pl.duration(days=j)).alias("block")) for j in range(k + 1)]
    )
    ok = (
        blocks.group_by("dport", "key", "block")
        .agg(pl.col("src").n_unique().alias("n"), pl.col("dsts").sum().alias("s"))
        .filter((pl.col("n") >= query.min_sources) & (pl.col("s") >= cover_min))
        .select("dport", "key", "block")
    )
    cand = (blocks.join(ok, on=["dport", "key", "block"], how="semi").select("day", "dport", "src", "key", "packets")
            .unique())
    standalone = all_keyed.filter(pl.col("dsts") >= cover_min).join(
        ok.select("dport", "key").unique(), on=["dport", "key"], how="semi"
    ).select("day", "dport", "src", "key")
    return cand, standalone


# ---------------------------------------------------------------- stage 2: read only those packets


def load_packets(packets: pl.LazyFrame | PacketSource, need: pl.DataFrame, query: CollabQuery,
                 walks: pl.LazyFrame | None = None, within: pl.DataFrame | None = None) -> pl.DataFrame:
    """Probes of the (day, dport, src) rows in *need*: ``t`` (µs), ``day``, ``dport``, ``src``, ``dst``;
    with *within* ((day, dport, src, start_us, end_us) spans that do not overlap per (day, dport, src): bursts),
    only those inside one of them.

    From the rollup's day tables only the days in *need* are read, each narrowed to its own ports
    and sources (row groups skipped by statistics); from a LazyFrame, one scan of it. With
    ``--tool zmap`` and *walks*, every probe of a (day, source, port) the walk test matched is kept
    (as :func:`day_rows` counts it)."""
    source = as_source(packets)
    per_day = need.group_by("day").agg(pl.col("dport").unique(), pl.col("src").unique())
    wanted = {day: (ports, srcs) for day, ports, srcs in per_day.iter_rows()}
    if not query.tools:  # a pool's keyed sources from their own small table (keyed_probes), the rest as below
        lf = source.probes_each(wanted)
    else:
        lf = source.read_each(wanted)
        from scantui.analysis.fingerprints import with_tool

        keep = pl.col("tool").cast(pl.String).is_in(list(query.tools))
        if "zmap" in query.tools and walks is not None:
            from scantui.analysis.zmap_rollup import walk_pairs

            walked = walk_pairs(walks).collect().with_columns(pl.lit(True).alias("_walk"))
            lf = lf.with_columns(pl.col("ts").dt.date().alias("_day")).join(
                walked.lazy().rename({"day": "_day"}), on=["_day", "src", "dport"], how="left")
            keep = keep | pl.col("_walk").fill_null(False)
        lf = with_tool(lf, sessions=source.sessions()).filter(keep).filter(is_probe())
    if query.telescope_ranges:
        lf = lf.filter(pl.any_horizontal([pl.col("dst").is_between(a, b) for a, b in query.telescope_ranges]))
    lf = lf.select(
        pl.col("ts").dt.epoch("us").alias("t"), pl.col("ts").dt.date().alias("day"), "dport", "src", "dst"
    )
    if within is None:
        lf = lf.join(need.lazy(), on=["day", "dport", "src"], how="semi")
    else:  # a probe is in at most one span of its (day, port, source): the join adds no row
        lf = (lf.join(within.lazy(), on=["day", "dport", "src"], how="inner")
              .filter(pl.col("t").is_between(pl.col("start_us"), pl.col("end_us"))).drop("start_us", "end_us"))
    return lf.collect(engine="streaming")
