"""``scantui info``: one pass over the canonical table, the figures a first look needs."""

from __future__ import annotations

from typing import Any

import polars as pl

from scantui.analysis.telescope import daily_destinations, estimate_size_from_daily
from scantui.analysis.traffic import PROTO_NAMES, traffic_class


def summarize(lf: pl.LazyFrame) -> dict[str, Any]:
    """Packets, sources, time range, protocols, traffic classes, telescope size."""
    names = lf.collect_schema().names()
    base = lf.select(
        pl.len().alias("packets"),
        pl.col("src").n_unique().alias("sources"),
        pl.col("dst").n_unique().alias("destinations"),
        pl.col("ts").min().alias("first"),
        pl.col("ts").max().alias("last"),
        pl.col("ts").dt.date().n_unique().alias("days"),
    )
    protos = lf.group_by("proto").agg(pl.len().alias("n")).sort("proto")
    classes = lf.group_by(traffic_class()).agg(pl.len().alias("n")).sort("traffic")
    queries = [base, protos, classes, daily_destinations(lf)]
    if "sensor" in names:
        queries.append(lf.group_by("sensor").agg(pl.len().alias("n")).sort("sensor"))
    results = pl.collect_all(queries)
    row = results[0].row(0, named=True)
    protocols = {PROTO_NAMES.get(p, str(p) if p is not None else "unknown"): n for p, n in results[1].iter_rows()}
    traffic = dict(results[2].iter_rows())
    daily = results[3]
    out: dict[str, Any] = {
        "packets": row["packets"],
        "sources": row["sources"],
        "destinations": row["destinations"],
        "first_seen": row["first"].isoformat() if row["first"] else None,
        "last_seen": row["last"].isoformat() if row["last"] else None,
        "days": row["days"],
        "telescope_size_estimate": estimate_size_from_daily(daily),
        "protocols": protocols,
        "traffic": {k: traffic.get(k, 0) for k in ("probe", "backscatter", "other_tcp", "udp", "icmp", "other")},
    }
    if len(results) > 4:
        out["sensors"] = dict(results[4].iter_rows())
    return out
