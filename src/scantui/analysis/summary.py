"""``scantui info``: the figures a first look needs, in one pass over the table.

Everything is one ``select`` so a streaming source (a pcap decoded on the fly)
is read once, not once per figure.

With *rules* the same pass also counts packets per source (with the data's
enrichment columns), and ``organizations`` reports the share of traffic
(packets) from identified organizations by category, as the honeypot study
did (30.3 % identified there): the data's own ``org``/``category`` first,
then enrichment tables given as PATHs, then the rules
(:func:`organization_shares`).
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


#: Enrichment columns the per-source counts keep (what the rules read).
_ORG_INPUT = ("asn", "as_name", "hostname", "org", "category")
CATEGORY_ORDER = ("research", "commercial", "other")
TOP_ORGS = 10


def summarize(lf: pl.LazyFrame, *, rules: Any = None, enrichment: pl.LazyFrame | None = None) -> dict[str, Any]:
    """Packets, sources, time range, protocols, traffic classes, tools, telescope size.

    Tool shares are over probes (TCP SYN without ACK): packets and distinct sources per tool.
    With *rules* (:class:`scantui.enrich.rules.Rules`) also ``organizations``
    (see :func:`organization_shares`; *enrichment* are the enrichment tables given).
    """
    names = lf.collect_schema().names()
    org_cols = [c for c in _ORG_INPUT if c in names]
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
    if rules is not None:
        exprs.append(pl.struct("src", *org_cols).value_counts(name="packets").implode().alias("per_source"))
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
    if rules is not None:
        flat = [{**item[next(k for k in item if k != "packets")], "packets": item["packets"]} for item in row["per_source"]]
        schema = {"src": pl.UInt32, **{c: lf.collect_schema()[c] for c in org_cols}, "packets": pl.Int64}
        per_source = pl.DataFrame(flat, schema=schema, orient="row")
        out["organizations"] = organization_shares(per_source, rules, enrichment, has_columns=bool(org_cols))
    return out


def organization_shares(per_source: pl.DataFrame, rules: Any, enrichment: pl.LazyFrame | None = None,
                        *, has_columns: bool = True) -> dict[str, Any]:
    """Share of packets from identified organizations, by category, and the top organizations.

    *per_source*: ``src``, ``packets`` and any of the data's enrichment columns
    (several rows per source are summed). *enrichment*: enrichment tables
    (:data:`scantui.enrich.table.TABLE_SCHEMA`), each source's latest row used
    under the data's own values.
    """
    from scantui.enrich.rules import classify, is_low_confidence
    from scantui.enrich.table import latest_per_source

    own = [c for c in per_source.columns if c not in ("src", "packets")]
    src = per_source.sort("packets", descending=True).group_by("src").agg(
        pl.col("packets").sum(), *[pl.col(c).drop_nulls().first() for c in own])
    known = []
    if has_columns:
        known.append("data columns")
    if enrichment is not None:
        known.append("enrichment table")
        latest = latest_per_source(enrichment).select("src", "asn", "as_name", "hostname", "company", "org", "category", "rule")
        src = src.join(latest.collect(), on="src", how="left", suffix="_table")
        has_own = pl.lit(False)
        for c in ("org", "category"):
            if c in own:
                has_own = has_own | pl.col(c).is_not_null()
        fills = []  # a column the data lacks came from the table under its own name
        for c in (c for c in ("asn", "as_name", "hostname", "org", "category") if c in own):
            if c in ("org", "category"):
                fills.append(pl.when(has_own).then(pl.col(c)).otherwise(pl.col(f"{c}_table")).alias(c))
            else:
                fills.append(pl.coalesce(c, f"{c}_table").alias(c))
        src = src.with_columns(*fills, pl.when(has_own).then(pl.lit("input")).otherwise(pl.col("rule")).alias("rule"))
    known.append("rules")
    named = classify(src, rules).with_columns(
        pl.when(pl.col("org").is_not_null() | pl.col("category").is_not_null())
        .then(pl.col("category").fill_null("other")).otherwise(pl.lit("unidentified")).alias("category"))
    total = int(named["packets"].sum() or 0)

    def share(n: int) -> float:
        return round(n / total, 4) if total else 0.0

    by = {c: {"packets": 0, "sources": 0, "organizations": 0} for c in (*CATEGORY_ORDER, "unidentified")}
    for cat, packets, sources, orgs in named.group_by("category").agg(
            pl.col("packets").sum(), pl.len(), pl.col("org").drop_nulls().n_unique()).iter_rows():
        by[cat] = {"packets": int(packets), "sources": int(sources), "organizations": int(orgs)}
    for item in by.values():
        item["share"] = share(item["packets"])
    del by["unidentified"]["organizations"]
    ident = named.filter(pl.col("category") != "unidentified")
    # the rule of an organization's busiest source (then its lowest address): the same on every run
    top = (ident.filter(pl.col("org").is_not_null()).sort(["packets", "src"], descending=[True, False])
           .group_by("org", maintain_order=True).agg(pl.col("category").first(), pl.col("packets").sum(), pl.len().alias("sources"),
                                pl.col("rule").first())
           .sort(["packets", "org"], descending=[True, False]).head(TOP_ORGS))
    identified = int(ident["packets"].sum() or 0)
    return {
        "identified_share": share(identified),
        "identified_packets": identified,
        "identified_sources": ident.height,
        "low_confidence_share": share(int(ident.filter(is_low_confidence(pl.col("rule")))["packets"].sum() or 0)),
        "by_category": by,
        "top": [{**r, "share": share(r["packets"])} for r in top.to_dicts()],
        "known_from": known,
    }
