"""The scanner list: one row per source with its volume, tools and behaviour, from the rollup.

:func:`scanner_list` reads only the rollup tables (``port_day``, ``src_totals``,
``day_totals``, ``src_profile``, optionally the per-day enrichment) and returns a polars frame
with the contract's columns (``src``, ``packets``, ``ports``, ``dsts``,
``first_seen``, ``last_seen``, ``days_active``, ``tool``, ``tools``,
``range_class``, ``schedule``, enrichment) plus the behaviour of
:mod:`scantui.analysis.behaviour` and the schedule period of
:mod:`scantui.analysis.schedule`.

Selection (:class:`~scantui.analysis.scanner_query.ScannerQuery`, with the CLI's parsers, in
:mod:`~scantui.analysis.scanner_query`): by default probes only (``kind == "probe"``); ``include_udp`` adds
UDP. Filters narrow the rollup rows (ports, whole UTC days ``since``..``until``,
CIDRs, ASNs) or the sources (dominant tool, minimum packets); every column is
computed over the selected rows.

Two paths, one set of metric functions (:mod:`scantui.analysis.behaviour`,
:mod:`scantui.analysis.schedule`): without a port or day narrowing the list is
the rollup's ``src_profile`` (raw per-source aggregates, built once) plus
per-row arithmetic for the window share and the telescope size, well under a
second for ~240 k sources; ``--include-udp`` too, but for the sources with both TCP
probes and UDP (:mod:`~scantui.analysis.scanner_profile`). ``--port`` and ``--since``/``--until``
select rows below the source, so every aggregate is
recomputed from the selected ``port_day`` rows (:mod:`~scantui.analysis.scanner_rows`; with
``--port``, read from the port-sorted copy): one read, the distinct (source, day) pairs and the port scans
computed once for every column that needs them. Both paths give identical frames
(tested). A pure port selection (no day, UDP, CIDR or ASN narrowing) computes that for every source
of the ports once and keeps it in the rollup's folder (:mod:`~scantui.analysis.port_lists`, with each
source's exact destinations and top ports; its table: :mod:`~scantui.analysis.port_list_build`); later
queries of those ports read it.

Organizations: after the enrichment is joined (each field's latest value in
the window), :func:`scantui.enrich.rules.classify` names ``org`` and
``category`` and says which ``rule`` fired. Organization and category the
data (or an enrichment table row marked ``input``) carries are kept; the rest
come from the current rules, so address ranges name known scanners even in
data without any enrichment.

Known-scanner lists: ``list`` names the lists (:mod:`scantui.enrich.lists`) holding each source
that made the cut, found by a range search over each list's sorted blocks (empty when none).

``dsts`` stays exact. Without a row-level narrowing (ports, days) it is
``src_totals.dsts`` (exact over the whole input; with ``--include-udp``, recounted as below for the sources with
both kinds only). With one, distinct
destinations do not add up over rollup rows, so they are recounted for the
selected sources only (lazily, same selection; :mod:`~scantui.analysis.dst_recount`) from the
packets the caller passes (a :class:`~scantui.analysis.packet_source.PacketSource` or a LazyFrame);
otherwise ``dsts`` is null and ``ScannerList.dsts_from`` says ``"unavailable"``.
From the rollup's day tables (``dsts_from == "days"``) a recount reads only
the window's days: with ``--port``, those days' packet tables filtered by port
(row groups skipped by statistics; only source, destination and the columns
that classify a packet), the distinct ``src << 32 | dst`` keys counted per source
by sorting them; without, their distinct (src, kind, dst) pairs. From a LazyFrame
(``"packets"``), one scan of it. When every selected source is recounted (no
``--top`` cut before it), the count starts in a thread as soon as the sources are
known and runs while the other columns are computed; a kept port list counts every
source range's destinations in one thread from the start (one Parquet scan of the days'
files, :meth:`~scantui.analysis.packet_source.PacketSource.read_columns`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from scantui.analysis import behaviour as bh
from scantui.analysis.dst_recount import exact_dsts
from scantui.analysis.fingerprints import TOOLS
from scantui.analysis.packet_source import PacketSource, as_source
from scantui.analysis.port_list_build import _from_kept, _kept
from scantui.analysis.rollup import TOOL_COLUMNS, Progress, telescope_size_from_day_totals
# The query, its columns and its parsers live in scanner_query; callers may keep importing them from here.
from scantui.analysis.scanner_query import (
    COLUMNS, ENRICHMENT_COLUMNS, TOP_PORTS, ScannerQuery, parse_asns, parse_day, parse_ports, parse_source_cidrs,
)
from scantui.analysis.scanner_profile import Profiled, from_profile, profile_answers
from scantui.analysis.scanner_rows import _from_rows, _in_cidrs, _Rows, _window, from_ranges
from scantui.enrich.table import src_day_key
from scantui.utctime import rfc3339

if TYPE_CHECKING:
    from scantui.analysis.scanner_row import ScannerRow

__all__ = [
    "COLUMNS", "NO_ENRICHMENT_NOTE", "ScannerList", "ScannerQuery", "latest_enrichment", "parse_asns", "parse_day",
    "parse_ports", "parse_source_cidrs", "records", "scanner_list",
]


#: Read from the enrichment when present (an enrichment table's overlay carries them), for the rules.
_EXTRA_ENRICHMENT = ("company", "rule")

#: Packets of the rows a row-level query (``--include-udp``, ``--since/--until``, ``--tool``...) selects that one
#: source range of :func:`~scantui.analysis.scanner_rows.from_ranges` holds at most: ~3 M ``port_day`` rows of the
#: benchmark data, with their aggregates and schedules ~0.5-0.7 GiB.
ROW_PACKETS_PER_RANGE = 8_000_000


@dataclass
class ScannerList:
    """The list and how it was computed."""

    frame: pl.DataFrame
    total: int  # sources matching, before ``top``
    telescope_size: int
    first_day: dt.date | None
    n_days: int
    dsts_from: str  # "src_totals" | "days" (the rollup's day tables) | "packets" (a LazyFrame) | "unavailable"
    notes: list[str] = field(default_factory=list)

    def row(self, src: int) -> ScannerRow | None:
        """The typed row of source *src* (an IPv4 integer), or None when it is not in the list."""
        from scantui.analysis.scanner_row import ScannerRow

        found = self.frame.filter(pl.col("src") == src)
        return ScannerRow.from_row(found.row(0, named=True)) if found.height else None


# ---------------------------------------------------------------- the list


def latest_enrichment(enrichment: pl.LazyFrame, first_day: dt.date | None = None, last_day: dt.date | None = None) -> pl.LazyFrame:
    """Per source, each enrichment field's most recent non-null value within the days (if given).

    Made at once (the returned frame is in memory): the rows in (src, day) order (an overlay is written so; other
    rows are sorted by one packed key), each field carried forward within its source, a source's last row kept.
    No group-by: at 84 days of the benchmark data with an AS table (6.6 M rows) 0.8 CPU s where sorting by
    (src, day) and taking each group's last non-null took 4.5 and 1.6 GB."""
    lf = enrichment
    if first_day is not None:
        lf = lf.filter(pl.col("day") >= first_day)
    if last_day is not None:
        lf = lf.filter(pl.col("day") <= last_day)
    names = lf.collect_schema().names()
    cols = [*ENRICHMENT_COLUMNS, *(c for c in _EXTRA_ENRICHMENT if c in names)]
    src = pl.col("src")
    key = src_day_key(src, pl.col("day")).fill_null(src.cast(pl.UInt64) * (1 << 32))  # a null day first, as a sort puts it
    df = lf.filter(src.is_not_null()).select(src, key.alias("_k"), *cols).collect()
    if not df.select((pl.col("_k") >= pl.col("_k").shift(1)).fill_null(True).all()).item():
        df = df.sort("_k", maintain_order=True)
    # a field's value carried forward from its source's last non-null row (the source it came from checked)
    carried = [pl.when(pl.when(pl.col(c).is_not_null()).then(src).forward_fill() == src).then(pl.col(c).forward_fill()).alias(c)
               for c in cols]
    return df.select(src, *carried).filter(src.ne_missing(src.shift(-1))).lazy()


def latest_by_parts(parts: Sequence[pl.LazyFrame], first_day: dt.date | None = None,
                    last_day: dt.date | None = None) -> pl.LazyFrame:
    """:func:`latest_enrichment` of enrichment cut into *parts* of disjoint source ranges (a rollup's enrichment
    folder, :mod:`~scantui.analysis.enrichment_overlay`), one part's rows in memory at a time, not the span's."""
    frames = [latest_enrichment(p, first_day, last_day).collect() for p in parts]
    return pl.concat(frames, how="vertical_relaxed").lazy()


#: Said once when the data carries no enrichment at all.
NO_ENRICHMENT_NOTE = (
    "no AS or hostname enrichment in this data: organizations come from the rules' address ranges only; "
    "`scantui enrich PATH... -o enrich.parquet` (with IPINFO_TOKEN or --mmdb FILE) writes a table to add as one more PATH"
)


def _tools_struct() -> pl.Expr:
    return pl.struct([(pl.col(c) / pl.col("packets")).alias(t) for t, c in zip(TOOLS, TOOL_COLUMNS)]).alias("tools")


def scanner_list(
    port_day: pl.LazyFrame,
    src_totals: pl.LazyFrame,
    day_totals: pl.LazyFrame,
    enrichment: pl.LazyFrame | None = None,
    *,
    query: ScannerQuery | None = None,
    telescope_size: int | None = None,
    packets: pl.LazyFrame | PacketSource | None = None,
    src_profile: pl.LazyFrame | None = None,
    rules: Any = None,
    walks: pl.LazyFrame | None = None,
    lists: Any = None,
    rollup: Path | None = None,
    enrichment_latest: pl.LazyFrame | None = None,
    enrichment_parts: Sequence[pl.LazyFrame] | None = None,
    progress: Progress | None = None,
) -> ScannerList:
    """One row per selected source, sorted and cut to ``query.top``; see the module doc.

    With *src_profile* (the rollup's per-source table) and no row-level
    narrowing, the list is that table's probe rows plus per-row arithmetic;
    otherwise every aggregate is computed from the selected ``port_day`` rows
    (slower: a pass over them). Both run the same :mod:`behaviour` functions.
    *rules* (:class:`scantui.enrich.rules.Rules`) default to the shipped rules
    merged with the user's. *walks*: the rollup's ZMap walk matches (:mod:`~scantui.analysis.zmap_rollup`):
    a source the walk test matched on some day whose dominant tool is ``other`` is ``zmap`` (``variant``
    ``walk``), also for ``--tool``. *lists*: the known-scanner lists (:mod:`scantui.enrich.lists`) whose names
    fill the ``list`` column; default: every list stored beside the configuration file. *rollup*: the rollup's
    folder, where a pure port selection's per-source aggregates are kept once computed (:mod:`port_lists`).
    *enrichment_latest*: each source's latest enrichment fields over the whole data (the rollup keeps them with an
    overlay of enrichment tables), used instead of reading every row of *enrichment* when the list spans every day.
    *enrichment_parts*: *enrichment* by disjoint source ranges (the rollup's folder), each source's latest fields in
    a day span taken one part at a time (:func:`latest_by_parts`). *progress*: told each source range of a list
    computed by ranges (``source range I of N``); it may raise there to stop the work (a cancelled task).
    """
    from scantui.analysis.zmap_rollup import walk_sources

    q = query or ScannerQuery()
    walked = walk_sources(walks)
    size = telescope_size if telescope_size is not None else telescope_size_from_day_totals(day_totals)
    first_day, n_days = _window(day_totals, q)
    last_day = first_day + dt.timedelta(days=n_days - 1) if first_day and n_days else None
    notes: list[str] = []

    src_filter = None
    whole_range = q.since is None and q.until is None
    if enrichment_latest is not None and whole_range:
        enrich = enrichment_latest
    elif enrichment_parts:
        enrich = latest_by_parts(enrichment_parts, first_day, last_day)
    else:
        enrich = latest_enrichment(enrichment, first_day, last_day) if enrichment is not None else None
    if q.asns:
        if enrich is None:
            notes.append("--asn: the data carries no enrichment, so no source has an ASN")
            src_filter = pl.LazyFrame({"src": []}, schema={"src": pl.UInt32})
        else:
            src_filter = enrich.filter(pl.col("asn").is_in(q.asns)).select("src")

    rows = None
    cheap_total = None
    profiled = None
    if src_profile is not None and profile_answers(q):
        profiled = from_profile(src_profile, src_totals, port_day, q, src_filter, first_day, n_days, walked,
                                as_source(packets) if packets is not None else None, ROW_PACKETS_PER_RANGE, progress)
        raw = profiled.raw
    else:
        if _cheap_cut(q):
            src_filter, cheap_total = _top_sources(src_totals, q, src_filter)
        kept = _kept(rollup, q, packets)
        if kept is not None:
            from scantui.analysis.port_lists import QUERY_PACKETS_PER_RANGE

            raw, rows = _from_kept(kept, port_day, q, first_day, n_days, as_source(packets), walked,
                                   QUERY_PACKETS_PER_RANGE)
        else:
            # above a budget of packets, one source range at a time (every source's destinations counted with it)
            ranged = from_ranges(port_day, q, src_filter, first_day, n_days,
                                 as_source(packets) if packets is not None and q.narrows_rows else None, walked,
                                 ROW_PACKETS_PER_RANGE, progress)
            if ranged is not None:
                raw, rows = ranged
            else:
                # every selected source's destinations are recounted (no cut before the recount): started at once
                every = packets is not None and q.narrows_rows and (q.top is None or q.sort == "dsts")
                raw, rows = _from_rows(port_day, q, src_filter, first_day, n_days,
                                       as_source(packets) if every else None, walked)
    try:
        return _finish(raw, rows, q, size, first_day, n_days, notes, enrich, src_totals, packets, rules, cheap_total,
                       lists, profiled)
    finally:
        if rows is not None:
            rows.cancel()


def _finish(raw: pl.DataFrame, rows: _Rows | None, q: ScannerQuery, size: int, first_day: dt.date | None, n_days: int,
            notes: list[str], enrich: pl.LazyFrame | None, src_totals: pl.LazyFrame,
            packets: pl.LazyFrame | PacketSource | None, rules: Any, cheap_total: int | None,
            lists: Any = None, profiled: Profiled | None = None) -> ScannerList:
    """:func:`scanner_list` from the raw per-source columns on: enrichment, names, dsts, sort, cut, top ports.
    *profiled*: *raw* came from the profile rows (:mod:`scanner_profile`) with its ``dsts`` and ``top_ports``; its
    mixed sources' ``dsts`` are recounted here."""
    out = bh.finish_behaviour(raw, n_days, size).with_columns(_tools_struct())
    if enrich is not None:
        out = out.join(enrich.collect(), on="src", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.String).alias(c) for c in ENRICHMENT_COLUMNS)
        out = out.with_columns(pl.col("asn").cast(pl.UInt32))
        notes.append(NO_ENRICHMENT_NOTE)
    from scantui.enrich.rules import WRITES, classify

    named_early = q.sort in WRITES  # sorting by org/category/rule needs every source named before the cut
    if named_early:
        out = classify(out, rules)

    dsts_from = "src_totals"
    mixed = profiled is not None and profiled.mixed is not None
    if profiled is not None:
        packets = as_source(packets) if packets is not None else None
        if mixed and packets is None:
            dsts_from = "unavailable"
            notes.append("dsts: not recountable without the packet table for a source with both TCP and UDP "
                         "probes; left empty")
        elif mixed or profiled.recounted:
            dsts_from = packets.label
    elif not q.narrows_rows:
        totals = src_totals.filter(pl.col("kind") == "probe").select("src", "dsts").collect()
        out = out.join(totals, on="src", how="left")
    else:
        packets = as_source(packets) if packets is not None else None
        dsts_from = packets.label if packets is not None else "unavailable"
        out = out.with_columns(pl.lit(None, pl.UInt32).alias("dsts"))
        if packets is None:
            notes.append("dsts: not recountable without the packet table under a port/day/UDP selection; left empty")

    total = out.height if cheap_total is None else cheap_total
    rowed = profiled is None and q.narrows_rows  # every source's dsts are recounted (those that make the cut)
    if packets is not None and q.sort == "dsts":  # the sort needs every source's count before the cut
        out = _recount(out, packets, q, rows) if rowed else _recount_mixed(out, packets, q, profiled)
    out = _sort(out, q)
    if q.top is not None:
        out = out.head(q.top)
    if not named_early:  # only the sources that made the cut
        out = classify(out, rules)
    if packets is not None and q.sort != "dsts":  # only the sources that made the cut
        out = _recount(out, packets, q, rows) if rowed else _recount_mixed(out, packets, q, profiled)
    if rows is not None and rows.top_ports is not None:  # kept for every source (:mod:`port_lists`)
        out = out.join(rows.top_ports, on="src", how="left")
    elif rows is not None:  # the port_day path: top ports of the sources that made the cut only
        ports = bh.top_ports_from_scans(rows.of(out)[0].lazy(), TOP_PORTS).collect().rechunk()  # (a join gathers
        out = out.join(ports, on="src", how="left")  # nested values from many chunks slowly)
    out = out.with_columns(bh.top_ports_shares(size))
    from scantui.enrich.lists import with_list_column

    out = with_list_column(out, lists)  # only the sources that made the cut
    return ScannerList(out.select(COLUMNS), total, size, first_day, n_days, dsts_from, notes)


#: Columns ``src_totals`` holds exactly for an unnarrowed probe selection.
_CHEAP_SORT = {"src": "src", "packets": "packets", "ports": "ports", "dsts": "dsts", "first_seen": "first_ts",
               "last_seen": "last_ts", "days_active": "days"}


def _cheap_cut(q: ScannerQuery) -> bool:
    """True when the top-N sources can be chosen from ``src_totals`` alone (then only they are analysed)."""
    return q.top is not None and not q.narrows_rows and not q.tools and q.sort in _CHEAP_SORT


def _top_sources(src_totals: pl.LazyFrame, q: ScannerQuery, src_filter: pl.LazyFrame | None) -> tuple[pl.LazyFrame, int]:
    """The top-N sources by a ``src_totals`` column (same order and ties as the final sort) and the match count."""
    cand = src_totals.filter(pl.col("kind") == "probe")
    if q.cidrs:
        cand = cand.filter(_in_cidrs(q.cidrs))
    if q.min_packets:
        cand = cand.filter(pl.col("packets") >= q.min_packets)
    if src_filter is not None:
        cand = cand.join(src_filter, on="src", how="semi")
    col = _CHEAP_SORT[q.sort]
    cand = cand.select(list(dict.fromkeys(["src", col]))).collect()
    top = cand.sort([col, "src"], descending=[q.descending, False], nulls_last=True).head(q.top)
    return top.lazy().select("src"), cand.height


def _recount(df: pl.DataFrame, packets: PacketSource, q: ScannerQuery, rows: _Rows | None) -> pl.DataFrame:
    if df.height == 0:
        return df
    if rows is not None and rows.exact is not None:  # kept for every source
        return df.drop("dsts").join(rows.exact, on="src", how="left", maintain_order="left")
    if rows is not None and rows.counted is not None and df.height == rows.n_sources:  # counted in the background
        exact, rows.counted = rows.counted.result(), None
        return df.drop("dsts").join(exact, on="src", how="left", maintain_order="left")
    active = None
    if rows is not None:  # the selected port_day rows: the days the sources' packets are on
        active = set(rows.of(df)[1].to_list())
    exact = exact_dsts(packets, q, df["src"], active)
    return df.drop("dsts").join(exact, on="src", how="left", maintain_order="left")


def _recount_mixed(df: pl.DataFrame, packets: PacketSource, q: ScannerQuery, profiled: Profiled | None) -> pl.DataFrame:
    """*df* with the ``dsts`` of its mixed sources (:class:`Profiled`) recounted; the others' are their totals'."""
    if profiled is None or profiled.mixed is None or profiled.rows is None:
        return df
    part = df.select("src", "dsts").join(profiled.mixed, on="src", how="semi")
    if part.height == 0:
        return df
    exact = _recount(part, packets, q, profiled.rows).rename({"dsts": "_exact"})
    return (df.join(exact, on="src", how="left", maintain_order="left")
            .with_columns(pl.coalesce("_exact", "dsts").alias("dsts")).drop("_exact"))


def _sort(df: pl.DataFrame, q: ScannerQuery) -> pl.DataFrame:
    return df.sort([q.sort, "src"], descending=[q.descending, False], nulls_last=True)


# ---------------------------------------------------------------- records for JSON/CSV


def ip_str(value: int | None) -> str | None:
    return None if value is None else str(ipaddress.IPv4Address(int(value)))


def records(df: pl.DataFrame, digits: int = 4) -> list[dict[str, Any]]:
    """JSON-ready rows: dotted IPs, RFC 3339 times (UTC as ``Z``), ``tools`` as {tool: share} (non-zero only), rounded floats."""
    out = []
    for row in df.iter_rows(named=True):
        rec: dict[str, Any] = {}
        for key, value in row.items():
            if key == "src":
                value = ip_str(value)
            elif key == "tools":
                value = {t: round(s, digits) for t, s in (value or {}).items() if s}
            elif isinstance(value, float):
                value = round(value, digits)
            elif isinstance(value, dt.datetime):
                value = rfc3339(value)  # RFC 3339 UTC, as every output writes times
            rec[key] = value
        out.append(rec)
    return out
