"""``scantui info`` from the rollup's tables: the figures of :func:`scantui.analysis.summary.summarize`
without a pass over the packets (a telescope-year is billions of them).

Where each figure comes from, and what is exact:

- packets per traffic class: sums of ``src_totals`` (one row per source and traffic class, every packet in
  one); per protocol: the TCP classes (probe, backscatter, other TCP), UDP and ICMP are one protocol each
  (:mod:`~scantui.analysis.traffic`), the ``other`` class summed by protocol (below);
- sources, first and last packet: ``src_totals``;
- destinations: the distinct destinations of the days' destination tables
  (:mod:`~scantui.analysis.day_destinations`, a telescope's addresses a day), exact; in a rollup with a day
  built before them, of the merged destination pairs (``merge/dsts``: distinct (src, kind, dst) over the data);
- the ``other`` class per protocol: the days' packets per kind and protocol (:mod:`~scantui.analysis.day_protocols`),
  or, in a rollup with a day built before them, its ``port_day`` rows;
- days and the telescope size estimate: ``day_totals`` (the median over days of the
  destinations seen that day, summed over sensors, as the rest of the rollup estimates it);
- probes per tool and distinct sources per tool: ``src_profile``'s probe rows (each source's probe tool counts,
  with the Unicorn sessions of the whole data, as :func:`~scantui.analysis.fingerprints.with_tool` gives;
  ``port_day``'s probe rows for a rollup without it);
- packets per sensor: ``day_totals`` (only when the data names a sensor);
- organizations: packets per (source, day) from ``port_day`` with that day's enrichment
  (the first non-null value of each column the data carries), then
  :func:`~scantui.analysis.summary.organization_shares`; packets per source from ``src_totals`` when the data
  carries no such column (the days then change nothing).

So ``port_day`` is read only for organizations the data names, and for the ``other`` class in a rollup without
the days' protocol tables (at 200 M packets, 77.6 M rows: each pass over it cost seconds and the (source, day)
groups ~2 GiB).

The result equals ``summarize`` of the same packets (tested on every sample input); the
differences are where the data is unusual: several sensors sharing destinations (the per-day
destinations are summed over sensors), a source whose enrichment changes within a day (the
day's first value counts for all its packets), and a ``sensor`` column that is null throughout
(no ``sensors`` figure instead of ``{"unknown": n}``).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from scantui.analysis.day_protocols import other_per_protocol
from scantui.analysis.fingerprints import TOOLS
from scantui.analysis.rollup import TOOL_COLUMNS, telescope_size_from_day_totals
from scantui.analysis.summary import _ORG_INPUT, TRAFFIC_CLASSES, organization_shares
from scantui.analysis.traffic import ICMP, PROTO_NAMES, TCP, UDP


def summarize_rollup(
    port_day: pl.LazyFrame,
    src_totals: pl.LazyFrame,
    day_totals: pl.LazyFrame,
    dst_pairs: pl.LazyFrame,  # any frame with a ``dst`` column: the days' destinations or the merged pairs
    own_enrichment: pl.LazyFrame | None,
    enrichment_columns: list[str],
    *,
    rules: Any = None,
    enrichment: pl.LazyFrame | None = None,
    src_profile: pl.LazyFrame | None = None,
    protocols: pl.LazyFrame | None = None,
) -> dict[str, Any]:
    """The dict :func:`~scantui.analysis.summary.summarize` returns, from the rollup's tables.

    *own_enrichment*: the rollup's per-(src, day) enrichment from the data's own columns (not the
    overlay of enrichment tables), *enrichment_columns* the columns the data carries;
    *enrichment*: the enrichment tables given as PATHs (for the organizations, as ``summarize``).
    """
    kind = pl.col("kind").cast(pl.String)
    probes = (src_profile if src_profile is not None else port_day).filter(kind == "probe")
    other, per_kind, totals, days, tools, tool_srcs, dsts = pl.collect_all([
        (port_day.filter(kind == "other").group_by("proto").agg(pl.col("packets").sum().cast(pl.Int64))
         if protocols is None else other_per_protocol(protocols)),
        src_totals.group_by(kind.alias("kind")).agg(pl.col("packets").sum().cast(pl.Int64)),
        src_totals.select(pl.col("src").n_unique().alias("sources"), pl.col("first_ts").min().alias("first"),
                          pl.col("last_ts").max().alias("last")),
        day_totals.select(pl.col("day").n_unique().alias("days"), pl.col("packets").sum().cast(pl.Int64).alias("packets"),
                          pl.col("sensor").is_not_null().any().alias("named")),
        probes.select(pl.col(c).sum().cast(pl.Int64) for c in TOOL_COLUMNS),
        probes.group_by("src").agg(pl.col(c).sum() for c in TOOL_COLUMNS)
        .select((pl.col(c) > 0).sum().cast(pl.Int64) for c in TOOL_COLUMNS),
        dst_pairs.select(pl.col("dst").n_unique().alias("destinations")),
    ])
    first, last = totals["first"][0], totals["last"][0]
    packets = int(days["packets"][0] or 0)
    traffic = dict(per_kind.iter_rows())
    per_proto = [(TCP, sum(int(traffic.get(k) or 0) for k in ("probe", "backscatter", "other_tcp"))),
                 (UDP, int(traffic.get("udp") or 0)), (ICMP, int(traffic.get("icmp") or 0)), *other.iter_rows()]
    out: dict[str, Any] = {
        "packets": packets,
        "sources": int(totals["sources"][0]),
        "destinations": int(dsts["destinations"][0]),
        "first_seen": first.isoformat() if first else None,
        "last_seen": last.isoformat() if last else None,
        "days": int(days["days"][0]),
        "telescope_size_estimate": telescope_size_from_day_totals(day_totals),
        "protocols": {PROTO_NAMES.get(p, "unknown" if p is None else str(p)): int(n)
                      for p, n in sorted(per_proto, key=lambda kv: (kv[0] is None, kv[0] or 0)) if n},
        "traffic": {k: int(traffic.get(k, 0) or 0) for k in TRAFFIC_CLASSES},
    }
    n_probes = out["traffic"]["probe"]
    out["tools"] = {
        t: {"packets": int(tools[c][0] or 0), "share": round(int(tools[c][0] or 0) / n_probes, 4) if n_probes else 0.0,
            "sources": int(tool_srcs[c][0] or 0)}
        for t, c in zip(TOOLS, TOOL_COLUMNS)
    }
    if packets and days["named"][0]:
        sensors = (day_totals.group_by("sensor").agg(pl.col("packets").sum().cast(pl.Int64))
                   .sort("packets", "sensor", descending=[True, False], nulls_last=True).collect())
        out["sensors"] = {("unknown" if k is None else k): int(n) for k, n in sensors.iter_rows()}
    if rules is not None:
        out["organizations"] = organization_shares(
            _per_source(port_day, src_totals, own_enrichment, enrichment_columns), rules, enrichment,
            has_columns=any(c in enrichment_columns for c in _ORG_INPUT))
    return out


#: (source, day) groups of ``port_day`` that :func:`_per_source` holds at once (a group ~100 bytes with its
#: enrichment values): above it, one source range at a time, each reduced to a row per source.
PAIRS_PER_RANGE = 4_000_000


def _per_source(port_day: pl.LazyFrame, src_totals: pl.LazyFrame, own: pl.LazyFrame | None,
                columns: list[str]) -> pl.DataFrame:
    """Packets per (source, day) with that day's values of the data's own organization columns; per source (from
    ``src_totals``) when there are none to join. Over :data:`PAIRS_PER_RANGE` (source, day) groups (each source's
    active days from ``src_totals``, summed over its kinds: at least its groups), one source range at a time, each
    range's rows reduced as :func:`~scantui.analysis.summary.organization_shares` reduces them (packets summed, each
    column's first value in descending packets), so what is held is a row per source, not per (source, day)."""
    from scantui.analysis.port_lists import source_ranges

    cols = [c for c in _ORG_INPUT if c in columns]
    if own is None or not cols:
        return src_totals.group_by("src").agg(pl.col("packets").sum().cast(pl.Int64)).collect()
    ranges = source_ranges(src_totals.select("src", pl.col("days").cast(pl.UInt64).alias("packets")), PAIRS_PER_RANGE,
                           total_first=True)
    frames = []
    for bounds in ranges:
        mine = pl.lit(True) if bounds is None else pl.col("src").is_between(*bounds)
        per_day = port_day.filter(mine).group_by("src", "day").agg(pl.col("packets").sum().cast(pl.Int64))
        per_day = per_day.join(own.filter(mine).select("src", "day", *cols), on=["src", "day"], how="left")
        rows = per_day.select("src", *cols, "packets")
        if len(ranges) > 1:
            rows = rows.sort("packets", descending=True).group_by("src").agg(
                pl.col("packets").sum(), *[pl.col(c).drop_nulls().first() for c in cols]).select("src", *cols, "packets")
        frames.append(rows.collect())
    return pl.concat(frames)
