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
#: Ports listed per source in ``top_ports``.
TOP_PORTS = 10
RANGE_CLASSES = ("focused", "wide", "full")
PICTURES = ("snapshot", "background")


def range_class(ports: pl.Expr) -> pl.Expr:
    """``focused`` / ``wide`` / ``full`` from a distinct-port count."""
    return (
        pl.when(ports >= FULL_MIN_PORTS).then(pl.lit("full"))
        .when(ports > FOCUSED_MAX_PORTS).then(pl.lit("wide"))
        .otherwise(pl.lit("focused"))
    )


PORT_CLASS_COUNTS = ("ports_well_known", "ports_registered", "ports_ephemeral")
PORT_CLASS_SHARES = ("well_known_share", "registered_share", "ephemeral_share")

# Each metric is computed in two steps so that the rollup can store the first:
# a *raw* per-source aggregate of port_day rows that depends on no query parameter,
# then a cheap per-row *finish* that brings in the window length and telescope size.
# The scanner list runs both steps over port_day rows (filtered queries) or only
# the finish over the rollup's ``src_profile`` table: same functions, same results.


def volume(rows: pl.LazyFrame, tool_columns: tuple[str, ...]) -> pl.LazyFrame:
    """Per source: ``packets``, ``first_seen``, ``last_seen`` and the summed *tool_columns* (packet counts)."""
    return rows.group_by("src").agg(
        pl.col("packets").sum().cast(pl.UInt64),
        pl.col("first_ts").min().alias("first_seen"),
        pl.col("last_ts").max().alias("last_seen"),
        *(pl.col(c).sum().cast(pl.UInt64).alias(c) for c in tool_columns),
    )


def port_counts(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per source: ``ports`` (distinct destination ports) and how many fall in each port class (raw)."""
    # one UInt64 key (src << 16 | port) makes the distinct pass a single-column unique (much faster)
    key = (pl.col("src").cast(pl.UInt64) * ALL_PORTS + pl.col("dport").cast(pl.UInt64)).alias("k")
    pairs = rows.filter(pl.col("dport").is_not_null()).select(key.unique()).select(
        (pl.col("k") // ALL_PORTS).cast(pl.UInt32).alias("src"), (pl.col("k") % ALL_PORTS).alias("dport"))
    return pairs.group_by("src").agg(*port_class_counts())


def port_classes(port):
    """The three port classes' masks of *port*, in :data:`PORT_CLASS_COUNTS` order: a polars expression or a numpy
    array of port numbers alike."""
    return port <= WELL_KNOWN_MAX, (port > WELL_KNOWN_MAX) & (port <= REGISTERED_MAX), port > REGISTERED_MAX


def port_class_counts() -> list[pl.Expr]:
    """Aggregates of a group of distinct ``dport`` rows (no null): ``ports`` and how many fall in each class."""
    return [pl.len().cast(pl.UInt32).alias("ports"),
            *(mask.sum().cast(pl.UInt32).alias(name) for mask, name in zip(port_classes(pl.col("dport")), PORT_CLASS_COUNTS))]


def port_shares() -> list[pl.Expr]:
    """Finish: the three port-class shares and ``range_class`` from :func:`port_counts`' columns."""
    shares = [(pl.col(c) / pl.col("ports")).alias(name) for c, name in zip(PORT_CLASS_COUNTS, PORT_CLASS_SHARES)]
    return [*shares, range_class(pl.col("ports").fill_null(0)).alias("range_class")]


def port_profile(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per source: ``ports``, the three port-class shares, ``range_class``."""
    return port_counts(rows).with_columns(port_shares()).drop(PORT_CLASS_COUNTS)


def scan_intervals(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per source: ``avg_scan_interval_days`` and ``ports_rescanned`` (ports scanned on >= 2 days).

    The mean is a sequential sum of the sorted intervals (``cum_sum``), so the
    float result does not depend on row order or chunking (a group-by ``mean``
    may sum in any order): the rollup and the scanner list agree exactly.
    """
    return intervals_from(rows.group_by("src", "sensor", "proto", "dport").agg(
        pl.col("day").n_unique().alias("scans"), pl.col("day").min().alias("d0"), pl.col("day").max().alias("d1")))


def intervals_from(per_port: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`scan_intervals` from one row per (source, sensor, protocol, port) with ``scans`` (its
    distinct days), ``d0`` and ``d1`` (the first and last); with a single sensor,
    ``port_scans(rows, with_days=True)`` is such a table."""
    per_port = (
        per_port.filter(pl.col("scans") >= 2)
        .with_columns(((pl.col("d1") - pl.col("d0")).dt.total_days() / (pl.col("scans") - 1)).alias("interval"))
    )
    return per_port.group_by("src").agg(
        (pl.col("interval").sort().cum_sum().last() / pl.len()).alias("avg_scan_interval_days"),
        pl.len().cast(pl.UInt32).alias("ports_rescanned"),
    )


def port_scans(rows: pl.LazyFrame, *, with_days: bool = False, one_per_day: bool = False) -> pl.LazyFrame:
    """Per (src, proto, dport): ``packets``, ``scans`` (days) and ``dsts``, the best one-day distinct
    destinations (summed over sensors; exact, since ``port_day.dsts`` is exact per day); *with_days*
    adds ``d0`` and ``d1``, the first and last of those days. *one_per_day*: the caller knows *rows* hold
    one row per (src, proto, dport, day) (one sensor, kinds of different protocols: the scanner list's probes
    and UDP), which makes the per-day sum a no-op, left out.

    Grouped by one ``UInt64``, the three columns packed (:func:`~scantui.analysis.sort_keys.sort_key`, nulls
    given a slot), then unpacked: a 78-day list's 8.4 M rows, 2.58 -> 0.82 CPU s with the per-day step left out."""
    from scantui.analysis.sort_keys import sort_key, unpacked

    columns = ("src", "proto", "dport")
    schema = rows.collect_schema()
    key = sort_key(schema, columns)
    back = unpacked(pl.col("_k"), schema, columns) if key is not None else None
    by: list[pl.Expr] = [key.alias("_k")] if key is not None and back is not None else [pl.col(c) for c in columns]
    if not one_per_day:
        rows = rows.group_by(*by, "day").agg(pl.col("dsts").sum(), pl.col("packets").sum())
        by = [pl.col(e.meta.output_name()) for e in by]
    days = [pl.col("day").min().alias("d0"), pl.col("day").max().alias("d1")] if with_days else []
    scans = rows.group_by(*by).agg(
        pl.col("packets").sum().cast(pl.UInt64).alias("packets"),
        pl.len().cast(pl.UInt32).alias("scans"),
        pl.col("dsts").max().cast(pl.UInt32).alias("dsts"),
        *days,
    )
    if len(by) == 1:
        scans = scans.select(*back, pl.exclude("_k"))
    return scans


def coverage_counts(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per source (raw): ``coverage_dsts_max`` / ``coverage_dsts_mean``, max and mean over ports of
    the best one-day distinct destinations."""
    return coverage_from_scans(port_scans(rows))


def coverage_from_scans(scans: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`coverage_counts` from :func:`port_scans`' rows (for a caller that needs them for more)."""
    return scans.group_by("src").agg(
        pl.col("dsts").max().alias("coverage_dsts_max"), pl.col("dsts").mean().alias("coverage_dsts_mean")
    )


def coverage_shares(telescope_size: int) -> list[pl.Expr]:
    """Finish: ``coverage_max`` / ``coverage_mean`` (shares of the telescope) from :func:`coverage_counts`."""
    size = max(1, telescope_size)
    return [(pl.col("coverage_dsts_max") / size).alias("coverage_max"),
            (pl.col("coverage_dsts_mean") / size).alias("coverage_mean")]


def coverage_summary(rows: pl.LazyFrame, telescope_size: int) -> pl.LazyFrame:
    """Per source: ``coverage_max`` and ``coverage_mean`` over its ports."""
    return coverage_counts(rows).select("src", *coverage_shares(telescope_size))


def top_ports_counts(rows: pl.LazyFrame, n: int = 10) -> pl.LazyFrame:
    """Per source (raw): ``top_ports``, a list of {port, proto, packets, scans, dsts} for its *n* busiest ports."""
    return top_ports_from_scans(port_scans(rows), n)


def top_ports_from_scans(scans: pl.LazyFrame, n: int = 10) -> pl.LazyFrame:
    """:func:`top_ports_counts` from :func:`port_scans`' rows, by source. Each source's ports are sorted within its
    group (by packets, then port and protocol, which tell every row apart), not every row by four columns first:
    a 78-day list's 3.1 M port scans, 0.65 -> 0.22 CPU s."""
    item = pl.struct(pl.col("dport").alias("port"), "proto", "packets", "scans", "dsts")
    top = item.sort_by(["packets", "dport", "proto"], descending=[True, False, False]).head(n)
    return scans.group_by("src").agg(top.alias("top_ports")).sort("src")


def top_ports_shares(telescope_size: int) -> pl.Expr:
    """Finish: each ``top_ports`` item's ``dsts`` becomes ``coverage`` (share of the telescope, 4 digits)."""
    size = max(1, telescope_size)
    field = pl.element().struct.field
    item = pl.struct(field("port"), field("proto"), field("packets"), field("scans"),
                     (field("dsts") / size).round(4).alias("coverage"))
    return pl.col("top_ports").list.eval(item).alias("top_ports")


def top_ports(rows: pl.LazyFrame, telescope_size: int, n: int = 10) -> pl.LazyFrame:
    """Per source: ``top_ports``, a list of {port, proto, packets, scans, coverage} for its *n* busiest ports."""
    return top_ports_counts(rows, n).with_columns(top_ports_shares(telescope_size))


def active_days(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per source (raw): ``days_active``, the distinct days with a selected packet."""
    return rows.group_by("src").agg(pl.col("day").n_unique().cast(pl.UInt32).alias("days_active"))


def active_days_from(src_days: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`active_days` from the distinct (``src``, ``day``) pairs of the rows."""
    return src_days.group_by("src").agg(pl.len().cast(pl.UInt32).alias("days_active"))


def activity(rows: pl.LazyFrame, n_days: int) -> pl.LazyFrame:
    """Per source: ``days_active`` and ``days_scanned`` (share of the *n_days* window)."""
    return active_days(rows).with_columns(days_share(n_days))


def days_share(n_days: int) -> pl.Expr:
    return (pl.col("days_active") / max(1, n_days)).alias("days_scanned")


def picture(interval: pl.Expr, days_scanned: pl.Expr) -> pl.Expr:
    """``background`` / ``snapshot`` (null without an interval); see the module doc."""
    ratio = interval * days_scanned
    return pl.when(interval.is_null()).then(None).when(ratio >= BACKGROUND_MIN_RATIO).then(
        pl.lit("background")).otherwise(pl.lit("snapshot"))


#: The raw per-source behaviour columns (:func:`behaviour_counts`), as stored in the rollup.
RAW_COLUMNS = ("days_active", "ports", *PORT_CLASS_COUNTS, "avg_scan_interval_days", "ports_rescanned",
               "coverage_dsts_max", "coverage_dsts_mean")


def behaviour_counts(rows: pl.LazyFrame) -> list[pl.LazyFrame]:
    """The raw per-source parts (to collect together, then :func:`join_parts`)."""
    return [active_days(rows), port_counts(rows), scan_intervals(rows), coverage_counts(rows)]


def join_parts(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Left-join per-source parts on ``src`` (the first lists every source)."""
    out = parts[0]
    for part in parts[1:]:
        out = out.join(part, on="src", how="left")
    return out


def finish_behaviour(raw: pl.DataFrame | pl.LazyFrame, n_days: int, telescope_size: int):
    """All behaviour columns from the raw ones (:data:`RAW_COLUMNS`), for an *n_days* window."""
    return raw.with_columns(
        pl.col("ports").fill_null(0), pl.col("ports_rescanned").fill_null(0), days_share(n_days),
        *coverage_shares(telescope_size),
    ).with_columns(
        *port_shares(), picture(pl.col("avg_scan_interval_days"), pl.col("days_scanned")).alias("picture"),
    )


def behaviour(rows: pl.LazyFrame, n_days: int, telescope_size: int) -> pl.DataFrame:
    """All per-source behaviour columns of *rows* (``port_day`` rows) over an *n_days* window."""
    return finish_behaviour(join_parts(pl.collect_all(behaviour_counts(rows))), n_days, telescope_size)
