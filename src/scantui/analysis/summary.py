"""``scantui info``: the figures a first look needs, in one pass over the table.

Everything is one ``select`` so a streaming source (a pcap decoded on the fly)
is read once, not once per figure.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from scantui.analysis.fingerprints import TOOLS, with_tool
from scantui.analysis.telescope import estimate_size_from_daily
from scantui.analysis.traffic import PROTO_NAMES, is_probe, traffic_class

_DAY_SHIFT = 1 << 32
TRAFFIC_CLASSES = ("probe", "backscatter", "other_tcp", "udp", "icmp", "other")


def _counts(expr: pl.Expr, name: str) -> pl.Expr:
    return expr.value_counts(sort=True, name="n").implode().alias(name)


def summarize(lf: pl.LazyFrame) -> dict[str, Any]:
    """Packets, sources, time range, protocols, traffic classes, tools, telescope size.

    Tool shares are over probes (TCP SYN without ACK): packets and distinct sources per tool.
    """
    names = lf.collect_schema().names()
    lf = with_tool(lf)
    probe_tool = pl.when(is_probe()).then(pl.col("tool"))
    # one tool per (tool, src) pair: counting pairs per tool gives distinct sources per tool
    tool_src = pl.when(is_probe()).then(pl.col("tool").to_physical().cast(pl.UInt64) * (1 << 32) + pl.col("src").cast(pl.UInt64))
    day = pl.col("ts").dt.date()
    day_dst = day.cast(pl.Int64) * _DAY_SHIFT + pl.col("dst").cast(pl.Int64)
    exprs = [
        pl.len().alias("packets"),
        pl.col("src").n_unique().alias("sources"),
        pl.col("dst").n_unique().alias("destinations"),
        pl.col("ts").min().alias("first"),
        pl.col("ts").max().alias("last"),
        day.n_unique().alias("days"),
        _counts(pl.col("proto"), "protocols"),
        _counts(traffic_class(), "traffic"),
        _counts(day_dst.unique() // _DAY_SHIFT, "daily_dsts"),
        _counts(probe_tool.drop_nulls(), "tool_packets"),
        _counts(tool_src.drop_nulls().unique() // (1 << 32), "tool_sources"),
    ]
    if "sensor" in names:
        exprs.append(_counts(pl.col("sensor"), "sensors"))
    row = lf.select(exprs).collect().row(0, named=True)

    def pairs(key: str) -> list[tuple[Any, int]]:
        return [(item[next(k for k in item if k != "n")], item["n"]) for item in row[key]]

    daily = pl.DataFrame({"dsts": [n for _, n in pairs("daily_dsts")]}, schema={"dsts": pl.Int64})
    traffic = dict(pairs("traffic"))
    out: dict[str, Any] = {
        "packets": row["packets"],
        "sources": row["sources"],
        "destinations": row["destinations"],
        "first_seen": row["first"].isoformat() if row["first"] else None,
        "last_seen": row["last"].isoformat() if row["last"] else None,
        "days": row["days"],
        "telescope_size_estimate": estimate_size_from_daily(daily),
        "protocols": {PROTO_NAMES.get(p, "unknown" if p is None else str(p)): n for p, n in sorted(pairs("protocols"), key=lambda kv: (kv[0] is None, kv[0] or 0))},
        "traffic": {k: traffic.get(k, 0) for k in TRAFFIC_CLASSES},
    }
    tool_packets = {str(k): n for k, n in pairs("tool_packets")}
    tool_sources = {TOOLS[int(k)]: n for k, n in pairs("tool_sources")}
    probes = out["traffic"]["probe"]
    out["tools"] = {
        t: {"packets": tool_packets.get(t, 0), "share": round(tool_packets.get(t, 0) / probes, 4) if probes else 0.0, "sources": tool_sources.get(t, 0)}
        for t in TOOLS
    }
    if "sensors" in row:
        out["sensors"] = {("unknown" if k is None else k): n for k, n in pairs("sensors")}
    return out
