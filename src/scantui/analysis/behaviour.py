"""How one scanner behaves, from rollup rows: range, port classes, days, intervals, coverage, picture.

Every function takes ``port_day`` rows (already narrowed to the traffic kinds,
ports, days and sources of interest) and returns one row per source. The rollup's
time resolution is one UTC day, so a **scan** of a port is defined here as a
day on which the source sent at least one selected packet to that port (at
that sensor):

- ``range_class``: ``focused`` < 30 distinct ports, ``wide`` >= 30,
  ``full`` > 99 % of 65,536 (>= 64,881 ports).
- ``well_known_share`` / ``registered_share`` / ``ephemeral_share``: shares of
  the source's distinct ports in 0-1023 / 1024-49151 / 49152-65535.
- ``days_scanned``: active days / days in the observation window.
- ``avg_scan_interval_days``: for each (sensor, protocol, port) scanned on at
  least two days, the mean gap between its scan days, ``(last - first) /
  (scans - 1)``; averaged over those ports. Null when no port was scanned twice.
- ``coverage_max`` / ``coverage_mean``: a port's coverage is the largest share
  of the telescope one scan of it reached (distinct destinations that day,
  summed over sensors, / telescope size; exact, since ``port_day.dsts`` is exact
  per day); max and mean over the source's ports. Multi-day scans count per day.
- ``picture``: ``background`` when ``avg_scan_interval_days * days_scanned``
  >= 2, i.e. a port comes back at most half as often as the scanner is active
  (the average gap between active days is about ``1 / days_scanned``): each day
  covers only a slice of the ports (Censys: daily, 57-day interval). Otherwise
  ``snapshot``: every scan day covers the same ports. Null when no port was
  scanned twice. This is per source: an organization that spreads one snapshot
  over many hosts (each host a slice per day) looks like background per host.
"""

from __future__ import annotations

import polars as pl

ALL_PORTS = 65536
FOCUSED_MAX_PORTS = 29
FULL_MIN_PORTS = 64881  # > 99 % of 65,536
WELL_KNOWN_MAX = 1023
REGISTERED_MAX = 49151
BACKGROUND_MIN_RATIO = 2.0
RANGE_CLASSES = ("focused", "wide", "full")
PICTURES = ("snapshot", "background")


def range_class(ports: pl.Expr) -> pl.Expr:
    """``focused`` / ``wide`` / ``full`` from a distinct-port count."""
    return (
        pl.when(ports >= FULL_MIN_PORTS).then(pl.lit("full"))
        .when(ports > FOCUSED_MAX_PORTS).then(pl.lit("wide"))
        .otherwise(pl.lit("focused"))
    )


def port_profile(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per source: ``ports`` (distinct destination ports), the three port-class shares, ``range_class``."""
    # one UInt64 key (src << 16 | port) makes the distinct pass a single-column unique (much faster)
    key = (pl.col("src").cast(pl.UInt64) * ALL_PORTS + pl.col("dport").cast(pl.UInt64)).alias("k")
    pairs = rows.filter(pl.col("dport").is_not_null()).select(key.unique()).select(
        (pl.col("k") // ALL_PORTS).cast(pl.UInt32).alias("src"), (pl.col("k") % ALL_PORTS).alias("dport"))
    port = pl.col("dport")
    return (
        pairs.group_by("src")
        .agg(
            pl.len().cast(pl.UInt32).alias("ports"),
            (port <= WELL_KNOWN_MAX).sum().alias("_wk"),
            ((port > WELL_KNOWN_MAX) & (port <= REGISTERED_MAX)).sum().alias("_reg"),
            (port > REGISTERED_MAX).sum().alias("_eph"),
        )
        .with_columns(
            (pl.col(c) / pl.col("ports")).alias(name)
            for c, name in (("_wk", "well_known_share"), ("_reg", "registered_share"), ("_eph", "ephemeral_share"))
        )
        .with_columns(range_class(pl.col("ports")).alias("range_class"))
        .drop("_wk", "_reg", "_eph")
    )


def scan_intervals(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per source: ``avg_scan_interval_days`` and ``ports_rescanned`` (ports scanned on >= 2 days)."""
    per_port = (
        rows.group_by("src", "sensor", "proto", "dport")
        .agg(pl.col("day").n_unique().alias("scans"), pl.col("day").min().alias("d0"), pl.col("day").max().alias("d1"))
        .filter(pl.col("scans") >= 2)
        .with_columns(((pl.col("d1") - pl.col("d0")).dt.total_days() / (pl.col("scans") - 1)).alias("interval"))
    )
    return per_port.group_by("src").agg(
        pl.col("interval").mean().alias("avg_scan_interval_days"),
        pl.len().cast(pl.UInt32).alias("ports_rescanned"),
    )


def port_coverage(rows: pl.LazyFrame, telescope_size: int) -> pl.LazyFrame:
    """Per (src, proto, dport): packets, scans (days) and coverage (best one-day share of the telescope)."""
    size = max(1, telescope_size)
    per_day = rows.group_by("src", "proto", "dport", "day").agg(pl.col("dsts").sum(), pl.col("packets").sum())
    return per_day.group_by("src", "proto", "dport").agg(
        pl.col("packets").sum().alias("packets"),
        pl.len().cast(pl.UInt32).alias("scans"),
        (pl.col("dsts").max() / size).alias("coverage"),
    )


def coverage_summary(rows: pl.LazyFrame, telescope_size: int) -> pl.LazyFrame:
    """Per source: ``coverage_max`` and ``coverage_mean`` over its ports."""
    return port_coverage(rows, telescope_size).group_by("src").agg(
        pl.col("coverage").max().alias("coverage_max"), pl.col("coverage").mean().alias("coverage_mean")
    )


def top_ports(rows: pl.LazyFrame, telescope_size: int, n: int = 10) -> pl.LazyFrame:
    """Per source: ``top_ports``, a list of {port, proto, packets, scans, coverage} for its *n* busiest ports."""
    item = pl.struct(
        pl.col("dport").alias("port"), pl.col("proto"), pl.col("packets"), pl.col("scans"), pl.col("coverage").round(4)
    )
    return (
        port_coverage(rows, telescope_size)
        .sort(["src", "packets", "dport"], descending=[False, True, False])
        .group_by("src", maintain_order=True)
        .agg(item.head(n).alias("top_ports"))
    )


def activity(rows: pl.LazyFrame, n_days: int) -> pl.LazyFrame:
    """Per source: ``days_active`` and ``days_scanned`` (share of the *n_days* window)."""
    return rows.group_by("src").agg(pl.col("day").n_unique().cast(pl.UInt32).alias("days_active")).with_columns(
        (pl.col("days_active") / max(1, n_days)).alias("days_scanned")
    )


def picture(interval: pl.Expr, days_scanned: pl.Expr) -> pl.Expr:
    """``background`` / ``snapshot`` (null without an interval); see the module doc."""
    ratio = interval * days_scanned
    return pl.when(interval.is_null()).then(None).when(ratio >= BACKGROUND_MIN_RATIO).then(
        pl.lit("background")).otherwise(pl.lit("snapshot"))


def behaviour(rows: pl.LazyFrame, n_days: int, telescope_size: int) -> pl.DataFrame:
    """All per-source behaviour columns of *rows* (``port_day`` rows) over an *n_days* window."""
    parts = pl.collect_all([
        activity(rows, n_days), port_profile(rows), scan_intervals(rows), coverage_summary(rows, telescope_size)
    ])
    out = parts[0]
    for part in parts[1:]:
        out = out.join(part, on="src", how="left")
    return out.with_columns(
        pl.col("ports").fill_null(0),
        pl.col("ports_rescanned").fill_null(0),
        range_class(pl.col("ports").fill_null(0)).alias("range_class"),
        picture(pl.col("avg_scan_interval_days"), pl.col("days_scanned")).alias("picture"),
    )
