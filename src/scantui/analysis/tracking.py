"""Tracking a group over the whole data: the domain.md figures for a known set of member IPs.

The group's members (IPs and CIDRs, from a labels file or a suggestion) filter the
packet table lazily to their probes (TCP SYN without ACK); from the rollup's day
tables only the days and ports ``port_day`` gives the members are read
(:func:`member_packets`). Two streamed aggregations then give everything, so
months of data are never held in memory:

* per (day, port, source): packets, distinct destinations, first and last packet;
* per (day, port): the members' union of distinct destinations.

A **scan** of the group is a (UTC day, port) where the members together reached at
least ``min_cover`` (default half) of the telescope: the group sweeping the
telescope on that port that day, whether or not the cover was exact (the analyst
tracks what the group does, not only what passed the collaborative-scan test).
Each scan has its members, their split (distinct destinations over the union),
the cover multiple, and the timing pattern of :mod:`scantui.analysis.collab_timing`.
A scan that crosses midnight (the members' activity on a port runs into the next
UTC day with less than :data:`MIDNIGHT_GAP` of silence on either side of midnight,
and lasts under a day in all) is one scan, dated by its start: its union is
recounted exactly over both days with one more lazy pass restricted to those
(port, day) pairs (a member's own destination count is summed over the two
days). Longer activity stays cut per day, so a group scanning a port
continuously shows one scan a day.

The figures: **longevity** (first/last seen, active days, span), **group timing**
(scans per day over the whole calendar range, by day of week and day of month),
**ports** (scans and packets per port, top first), **destination split** per
member (mean, min, max share and whether it is stable), **scan timing** (pattern
per scan and their counts), **size** (members per scan over time and its
histogram), and packets per day. With the data's enrichment (the rollup's per-day
table, or an enrichment table given as a PATH), ``member_info`` says who each
active member is (AS, AS name, country, hostname, and the organization, category and
rule from :mod:`scantui.enrich.rules`), as of the group's last active day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import ipaddress
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from scantui.analysis import collab_timing as ct
from scantui.analysis.collab_types import Timing
from scantui.analysis.packet_source import PacketSource, as_source
from scantui.analysis.track_types import MemberSplit, TrackDay, TrackPort, TrackResult, TrackScan
from scantui.analysis.traffic import is_probe
from scantui.safetext import safe_value

#: A member whose share varies less than this (max - min, in share of the union) keeps "the same share".
STABLE_SPREAD = 0.02
MIDNIGHT_GAP_US = 3600 * 1_000_000
DAY_US = 86400 * 1_000_000


@dataclass(frozen=True)
class TrackQuery:
    min_cover: float = 0.5
    top_ports: int = 20


def member_filter(members: Sequence[str]) -> pl.Expr:
    """``src`` inside any member (an address or a CIDR)."""
    hosts, terms, ends = [], [], []
    for m in members:
        net = ipaddress.IPv4Network(m, strict=False)
        ends += [int(net.network_address), int(net.broadcast_address)]
        if net.prefixlen == 32:
            hosts.append(int(net.network_address))
        else:
            terms.append(pl.col("src").is_between(int(net.network_address), int(net.broadcast_address)))
    if hosts:
        terms.append(pl.col("src").is_in(pl.Series(hosts, dtype=pl.UInt32).implode()))
    # the members' whole range first: a Parquet scan of port_day (sorted by source a day) skips the row groups
    # outside it by their statistics, which it cannot do for an any_horizontal of terms
    return pl.col("src").is_between(min(ends), max(ends)) & pl.any_horizontal(terms) if terms else pl.lit(False)


def aggregate(packets: pl.LazyFrame, members: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per day/port/source, per day/port) aggregates of the members' probes, streamed."""
    lf = packets.filter(is_probe() & member_filter(members)).select(
        pl.col("ts").dt.date().alias("day"), "dport", "src", "dst", pl.col("ts").dt.epoch("us").alias("t"))
    per_src = lf.group_by("day", "dport", "src").agg(
        pl.len().alias("packets"), pl.col("dst").n_unique().alias("dsts"),
        pl.col("t").min().alias("first"), pl.col("t").max().alias("last"))
    per_port = lf.group_by("day", "dport").agg(pl.col("dst").n_unique().alias("union"))
    a, b = pl.collect_all([per_src, per_port], engine="streaming")
    return a.sort("day", "dport", "src"), b.sort("day", "dport")


def _midnight_pairs(per_src: pl.DataFrame) -> list[tuple[int, dt.date]]:
    """(port, first day) of activity running across midnight into the next day, under a day long."""
    spans = per_src.group_by("dport", "day").agg(pl.col("first").min(), pl.col("last").max()).sort("dport", "day")
    # each (port, day) against the next row (a loop over the rows took 6 CPU s for a source on every port for 84 days)
    nxt = {c: pl.col(c).shift(-1) for c in ("dport", "day", "first", "last")}
    midnight = nxt["day"].cast(pl.Datetime("us")).dt.epoch("us")
    hit = ((nxt["dport"] == pl.col("dport")) & (nxt["day"] == pl.col("day") + pl.duration(days=1))
           & (midnight - pl.col("last") <= MIDNIGHT_GAP_US) & (nxt["first"] - midnight <= MIDNIGHT_GAP_US)
           & (nxt["last"] - pl.col("first") < DAY_US)).fill_null(False)
    return [(int(p), d) for p, d in spans.filter(hit).select("dport", "day").iter_rows()]


def member_aggregates(source: PacketSource, members: Sequence[str],
                      port_day: pl.LazyFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`aggregate`'s two tables for the members, with the rollup's *port_day*: a (day, port) where one
    member's probes are one ``port_day`` row (one source, one sensor) is that row (its packets, distinct
    destinations and first and last packet are the figures; its destinations the port's union); the packets
    are read only for the (day, port) pairs of several rows. Without *port_day*, every member packet."""
    if port_day is None or source.days() is None:
        return aggregate(member_packets(source, members, port_day), members)
    rows = (port_day.filter((pl.col("kind") == "probe") & member_filter(members))
            .select("day", "dport", "src", "packets", "dsts", "first_ts", "last_ts")
            .with_columns(pl.len().over("day", "dport").alias("_n")).collect())
    alone = rows.filter(pl.col("_n") == 1)
    per_src = alone.select("day", "dport", "src", pl.col("packets").cast(pl.UInt32), pl.col("dsts").cast(pl.UInt32),
                           pl.col("first_ts").dt.epoch("us").alias("first"), pl.col("last_ts").dt.epoch("us").alias("last"))
    per_port = alone.select("day", "dport", pl.col("dsts").cast(pl.UInt32).alias("union"))
    shared = rows.filter(pl.col("_n") > 1)
    if shared.height:
        keys = shared.select("day", "dport").unique()
        per_day = shared.group_by("day").agg(pl.col("dport").unique(), pl.col("src").unique())
        packets = source.read_each({day: (ports, srcs) for day, ports, srcs in per_day.iter_rows()})
        packets = packets.with_columns(pl.col("ts").dt.date().alias("_day")).join(
            keys.lazy().rename({"day": "_day"}), on=["_day", "dport"], how="semi").drop("_day")
        a, b = aggregate(packets, members)
        per_src, per_port = pl.concat([per_src, a.select(per_src.columns)]), pl.concat([per_port, b.select(per_port.columns)])
    return per_src.sort("day", "dport", "src"), per_port.sort("day", "dport")


def member_packets(source: PacketSource, members: Sequence[str], port_day: pl.LazyFrame | None,
                   days: Sequence[dt.date] | None = None, ports: Sequence[int] | None = None) -> pl.LazyFrame:
    """The packets to filter for the members' probes (of *days*, or all; of *ports*, or all).

    From the rollup's day tables with *port_day*: the (day, port, source) rows of the members'
    probes come from ``port_day`` first (sorted by source within a day), then only those days'
    tables are read, each narrowed to its ports and sources. Otherwise the whole table."""
    if port_day is None or source.days() is None:
        return source.read(days, ports)
    rows = port_day.filter((pl.col("kind") == "probe") & member_filter(members))
    if days is not None:
        rows = rows.filter(pl.col("day").is_in(pl.Series(list(days), dtype=pl.Date).implode()))
    if ports is not None:
        rows = rows.filter(pl.col("dport").is_in(pl.Series(list(ports), dtype=pl.UInt16).implode()))
    per_day = rows.group_by("day").agg(pl.col("dport").unique(), pl.col("src").unique()).collect()
    return source.read_each({day: (ports, srcs) for day, ports, srcs in per_day.iter_rows()})


def _merge_midnight(packets: Callable[[Sequence[dt.date], Sequence[int]], pl.LazyFrame], members: Sequence[str], per_src: pl.DataFrame,
                    per_port: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Re-date the second day of each midnight-crossing scan to its first day, with the exact union
    (*packets* reads the packets of some days)."""
    pairs = _midnight_pairs(per_src)
    if not pairs:
        return per_src, per_port
    moved = pl.DataFrame({"dport": [p for p, _ in pairs], "day": [d + dt.timedelta(days=1) for _, d in pairs],
                          "to": [d for _, d in pairs]}, schema={"dport": per_src.schema["dport"], "day": pl.Date, "to": pl.Date})
    both = pl.concat([moved.select("dport", pl.col("to").alias("day"), "to"), moved.select("dport", "day", "to")])
    days = sorted({d for _, d in pairs} | {d + dt.timedelta(days=1) for _, d in pairs})
    union = (packets(days, sorted({p for p, _ in pairs})).filter(is_probe() & member_filter(members))
             .select(pl.col("ts").dt.date().alias("day"), "dport", "dst")
             .join(both.lazy(), on=["dport", "day"], how="inner")
             .group_by("dport", "to").agg(pl.col("dst").n_unique().alias("union"))
             .collect(engine="streaming").rename({"to": "day"}))
    per_src = (per_src.join(moved, on=["dport", "day"], how="left")
               .with_columns(pl.coalesce("to", "day").alias("day")).drop("to")
               .group_by("day", "dport", "src").agg(pl.col("packets").sum(), pl.col("dsts").sum(),
                                                    pl.col("first").min(), pl.col("last").max()))
    per_port = (per_port.join(moved.select("dport", "day"), on=["dport", "day"], how="anti")
                .join(union.select("dport", "day", pl.col("union").alias("merged")), on=["dport", "day"], how="left")
                .with_columns(pl.coalesce("merged", "union").alias("union")).drop("merged"))
    return per_src.sort("day", "dport", "src"), per_port.sort("day", "dport")


def _scans(per_src: pl.DataFrame, per_port: pl.DataFrame, size: int, q: TrackQuery) -> list[TrackScan]:
    keep = per_port.filter(pl.col("union") >= q.min_cover * size)
    rows = per_src.join(keep, on=["day", "dport"], how="inner")
    scans = []
    for (day, port), part in rows.group_by("day", "dport", maintain_order=True):
        part = part.sort("src")
        union = int(part["union"][0])
        dsts = part["dsts"].to_numpy()
        first, last = part["first"].to_numpy(), part["last"].to_numpy()
        timing, _clarity, containment = ct.classify_timing(first, last)
        srcs = tuple(int(s) for s in part["src"])
        total = int(dsts.sum())
        scans.append(TrackScan(
            day=day, port=int(port), start_us=int(first.min()), end_us=int(last.max()), sources=srcs,
            dsts=tuple(int(d) for d in dsts), union=union, cover=round(union / size, 4),
            cover_multiple=max(1, round(total / size)), split=tuple(round(int(d) / union, 4) for d in dsts),
            timing=Timing(timing) if len(srcs) > 1 else Timing.SINGLE, timing_containment=round(containment, 3),
            packets=int(part["packets"].sum()),
        ))
    return sorted(scans, key=lambda s: s.start_us)


def _calendar(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def _member_split(scans: list[TrackScan]) -> list[MemberSplit]:
    shares: dict[int, list[float]] = {}
    for s in scans:
        for src, share in zip(s.sources, s.split):
            shares.setdefault(src, []).append(share)
    out = []
    for src, values in shares.items():
        arr = np.array(values)
        out.append(MemberSplit(src, len(values), round(float(arr.mean()), 4), round(float(arr.min()), 4),
                               round(float(arr.max()), 4), bool(arr.max() - arr.min() <= STABLE_SPREAD)))
    return sorted(out, key=lambda m: (-m.scans, -m.mean_share, m.member))


def member_info(enrichment: pl.LazyFrame | None, srcs: pl.Series, last_day: dt.date | None) -> list[dict[str, Any]]:
    """Who each member is (``member`` an IPv4 integer): enrichment fields as of *last_day*, organization named by the rules."""
    from scantui.analysis.scanners import latest_enrichment
    from scantui.enrich.rules import classify

    frame = pl.DataFrame({"src": srcs.cast(pl.UInt32)})
    if enrichment is not None:
        frame = frame.join(latest_enrichment(enrichment, None, last_day).collect(), on="src", how="left")
    named = classify(frame)
    frame = named.collect() if isinstance(named, pl.LazyFrame) else named
    keep = [c for c in ("asn", "as_name", "country", "hostname", "org", "category", "rule") if c in frame.columns]
    return [{"member": int(r["src"]), **{c: r[c] for c in keep}} for r in frame.sort("src").iter_rows(named=True)]


def track_group(packets: pl.LazyFrame | PacketSource, members: Sequence[str], *, telescope_size: int,
                query: TrackQuery = TrackQuery(), enrichment: pl.LazyFrame | None = None,
                port_day: pl.LazyFrame | None = None) -> TrackResult:
    """The tracking figures of the group whose members are *members* (IPs/CIDRs).

    *enrichment* (``src``, ``day``, enrichment columns) adds ``member_info``. With the rollup's
    day tables as *packets* and its *port_day*, only the members' days and ports are read.
    """
    source = as_source(packets)
    per_src, per_port = member_aggregates(source, members, port_day)
    read = functools.partial(member_packets, source, members, port_day)
    scans = _scans(*_merge_midnight(read, members, per_src, per_port), telescope_size, query)
    base = TrackResult(members=tuple(members), telescope_size=telescope_size, min_cover=query.min_cover)
    if per_src.is_empty():
        return base
    days = per_src.group_by("day").agg(pl.col("packets").sum(), pl.col("src").n_unique().alias("sources")).sort("day")
    first_day, last_day = days["day"][0], days["day"][-1]
    scan_days = Counter(s.day for s in scans)
    pk = dict(zip(days["day"], days["packets"]))
    srcs = dict(zip(days["day"], days["sources"]))
    ports = (per_src.group_by("dport").agg(pl.col("packets").sum(), pl.col("day").n_unique().alias("days"))
             .sort("packets", descending=True))
    port_scans = Counter(s.port for s in scans)
    port_rows = sorted((TrackPort(int(p), port_scans.get(int(p), 0), int(n), int(d)) for p, n, d in ports.iter_rows()),
                       key=lambda r: (-r.scans, -r.packets, r.port))
    active = per_src["src"].unique().sort()
    return dataclasses.replace(
        base, active_members=tuple(int(s) for s in active),
        first_seen_us=int(per_src["first"].min()), last_seen_us=int(per_src["last"].max()),
        packets=int(per_src["packets"].sum()), scans=tuple(scans),
        days=tuple(TrackDay(d, scan_days.get(d, 0), int(pk.get(d, 0)), int(srcs.get(d, 0)))
                   for d in _calendar(first_day, last_day)),
        ports=tuple(port_rows[: query.top_ports]), n_ports=len(port_rows), member_split=tuple(_member_split(scans)),
        member_info=tuple(member_info(enrichment, active, last_day)),
    )


def who_line(info: Sequence[dict[str, Any]]) -> str:
    """The members' organizations and ASes, most common first: ``Censys (commercial) x2; AS202425 INT-NETWORK x9``
    (the CLI's and the TUI's track; names from the input are data, escaped and cut: :func:`~scantui.safetext.safe_value`)."""
    names = Counter(" ".join(str(x) for x in (f"AS{m['asn']}" if m.get("asn") else None,
                                              safe_value(m["as_name"]) if m.get("as_name") else None) if x) for m in info)
    orgs = Counter(f"{safe_value(m['org'])} ({safe_value(m.get('category') or '?')})" for m in info if m.get("org"))
    parts = [f"{k} x{n}" for k, n in (orgs + Counter({k: v for k, v in names.items() if k})).most_common(4)]
    return "; ".join(parts) or "unknown (no enrichment; see scantui enrich)"


def summary_line(doc: TrackResult) -> str:
    """One sentence an analyst reads first."""
    if not doc.seen:
        return "no probes from the group's members in the data"
    sizes = doc.sizes
    mean = sum(sizes) / len(sizes) if sizes else math.nan
    return (f"{doc.n_scans} scans on {doc.n_ports} ports, active {doc.active_days} of {doc.span_days} days "
            f"({doc.first_seen:%Y-%m-%d} to {doc.last_seen:%Y-%m-%d}), {len(doc.active_members)} active members"
            + (f", {mean:.1f} per scan" if sizes else ""))
