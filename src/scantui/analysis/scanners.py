"""The scanner list: one row per source with its volume, tools and behaviour, from the rollup.

:func:`scanner_list` reads only the rollup tables (``port_day``, ``src_totals``,
``day_totals``, ``src_profile``, optionally the per-day enrichment) and returns a polars frame
with the contract's columns (``src``, ``packets``, ``ports``, ``dsts``,
``first_seen``, ``last_seen``, ``days_active``, ``tool``, ``tools``,
``range_class``, ``schedule``, enrichment) plus the behaviour of
:mod:`scantui.analysis.behaviour` and the schedule period of
:mod:`scantui.analysis.schedule`.

Selection: by default probes only (``kind == "probe"``); ``include_udp`` adds
UDP. Filters narrow the rollup rows (ports, whole UTC days ``since``..``until``,
CIDRs, ASNs) or the sources (dominant tool, minimum packets); every column is
computed over the selected rows.

Two paths, one set of metric functions (:mod:`scantui.analysis.behaviour`,
:mod:`scantui.analysis.schedule`): without a row-level narrowing the list is
the rollup's ``src_profile`` (raw per-source aggregates, built once) plus
per-row arithmetic for the window share and the telescope size, well under a
second for ~240 k sources. ``--port``, ``--since``/``--until`` and
``--include-udp`` select rows below the source, so every aggregate is
recomputed from the selected ``port_day`` rows (with ``--port``, read from the
port-sorted copy): one read, the distinct (source, day) pairs and the port scans
computed once for every column that needs them. Both paths give identical frames
(tested). A pure port selection (no day, UDP, CIDR or ASN narrowing) computes that for every source
of the ports once and keeps it in the rollup's folder (:mod:`~scantui.analysis.port_lists`, with each
source's exact destinations and top ports); later queries of those ports read it.

Organizations: after the enrichment is joined (each field's latest value in
the window), :func:`scantui.enrich.rules.classify` names ``org`` and
``category`` and says which ``rule`` fired. Organization and category the
data (or an enrichment table row marked ``input``) carries are kept; the rest
come from the current rules, so address ranges name known scanners even in
data without any enrichment.

Known-scanner lists: ``list`` names the lists (:mod:`scantui.enrich.lists`) holding each source
that made the cut, found by a range search over each list's sorted blocks (empty when none).

``dsts`` stays exact. Without a row-level narrowing (ports, days, UDP) it is
``src_totals.dsts`` (exact over the whole input). With one, distinct
destinations do not add up over rollup rows, so they are recounted for the
selected sources only (lazily, same selection) from the packets the caller
passes (a :class:`~scantui.analysis.packet_source.PacketSource` or a LazyFrame);
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
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from scantui.analysis import behaviour as bh
from scantui.analysis.fingerprints import TOOLS
from scantui.analysis.packet_source import PacketSource, as_source
from scantui.analysis.rollup import TOOL_COLUMNS, telescope_size_from_day_totals
from scantui.analysis.telescope import parse_cidrs
from scantui.analysis.port_list_state import ACTIVITY, SRC_DAYS, activity, packed, row_state
from scantui.analysis.schedule import schedule_frame, schedules
from scantui.analysis.traffic import UDP, is_probe, traffic_class
from scantui.errors import InputError

if TYPE_CHECKING:
    from concurrent.futures import Future

    from scantui.analysis.port_list_state import StateWriter

    from scantui.analysis.rollup_cache import Rollup
    from scantui.analysis.scanner_row import ScannerRow

ENRICHMENT_COLUMNS = ("asn", "as_name", "country", "hostname", "org", "category")
#: Read from the enrichment when present (an enrichment table's overlay carries them), for the rules.
_EXTRA_ENRICHMENT = ("company", "rule")

#: Every column of the list, in order (``tools`` is a struct of shares, ``top_ports`` a list of structs).
COLUMNS = (
    "src", "packets", "ports", "dsts", "first_seen", "last_seen", "days_active", "tool", "variant", "tools",
    "range_class", "schedule", "period_days", "schedule_strength",
    "well_known_share", "registered_share", "ephemeral_share", "days_scanned",
    "avg_scan_interval_days", "ports_rescanned", "coverage_max", "coverage_mean", "picture",
    *ENRICHMENT_COLUMNS, "rule", "top_ports", "list",
)
#: Columns ``sort`` accepts (everything scalar).
SORTABLE = tuple(c for c in COLUMNS if c not in ("tools", "top_ports", "list"))
TOP_PORTS = bh.TOP_PORTS


@dataclass(frozen=True)
class ScannerQuery:
    """What to list. Empty tuples / None mean no filter."""

    ports: tuple[int, ...] = ()
    tools: tuple[str, ...] = ()
    cidrs: tuple[ipaddress.IPv4Network, ...] = ()
    asns: tuple[int, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    min_packets: int = 0
    include_udp: bool = False
    sort: str = "packets"
    descending: bool = True
    top: int | None = None

    def __post_init__(self) -> None:
        if self.sort not in SORTABLE:
            raise InputError(f"unknown column {self.sort!r} (one of: {', '.join(SORTABLE)})", where="--sort")
        bad = [t for t in self.tools if t not in TOOLS]
        if bad:
            raise InputError(f"unknown tool {bad[0]!r} (one of: {', '.join(TOOLS)})", where="--tool")
        if self.top is not None and self.top < 0:
            raise InputError(f"must be >= 0, got {self.top}", where="--top")
        if self.since and self.until and self.since > self.until:
            raise InputError(f"--since {self.since} is after --until {self.until}", where="--since/--until")

    @property
    def kinds(self) -> tuple[str, ...]:
        return ("probe", "udp") if self.include_udp else ("probe",)

    @property
    def narrows_rows(self) -> bool:
        """True when rows are selected below the per-source level (so src_totals' dsts no longer apply)."""
        return bool(self.ports) or self.include_udp or self.since is not None or self.until is not None


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


# ---------------------------------------------------------------- parsing user values


def parse_ports(text: str) -> tuple[int, ...]:
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not part.isdigit() or int(part) > 65535:
            raise InputError(f"bad port {part!r} (0-65535)", where="--port")
        out.append(int(part))
    if not out:
        raise InputError("no port given", where="--port")
    return tuple(sorted(set(out)))


def parse_asns(text: str) -> tuple[int, ...]:
    out = []
    for part in (p.strip() for p in text.split(",")):
        digits = part[2:] if part.upper().startswith("AS") else part
        if not part:
            continue
        if not digits.isdigit() or int(digits) >= 2**32:
            raise InputError(f"bad ASN {part!r}", where="--asn")
        out.append(int(digits))
    if not out:
        raise InputError("no ASN given", where="--asn")
    return tuple(sorted(set(out)))


def parse_source_cidrs(text: str) -> tuple[ipaddress.IPv4Network, ...]:
    return tuple(parse_cidrs(text, "--cidr"))


def parse_day(text: str, where: str) -> dt.date:
    """An ISO date or date-time -> its UTC day (the rollup's resolution)."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an ISO 8601 date or time: {text!r}", where=where) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return value.date()


# ---------------------------------------------------------------- the list


def _in_cidrs(cidrs: tuple[ipaddress.IPv4Network, ...]) -> pl.Expr:
    src = pl.col("src").cast(pl.UInt32)
    return pl.any_horizontal([(src & int(n.netmask)) == int(n.network_address) for n in cidrs])


def _window(day_totals: pl.LazyFrame, q: ScannerQuery) -> tuple[dt.date | None, int]:
    lo, hi = day_totals.select(pl.col("day").min().alias("lo"), pl.col("day").max().alias("hi")).collect().row(0)
    if lo is None:
        return None, 0
    lo = max(lo, q.since) if q.since else lo
    hi = min(hi, q.until) if q.until else hi
    return lo, max(0, (hi - lo).days + 1)


def latest_enrichment(enrichment: pl.LazyFrame, first_day: dt.date | None = None, last_day: dt.date | None = None) -> pl.LazyFrame:
    """Per source, each enrichment field's most recent non-null value within the days (if given)."""
    lf = enrichment
    if first_day is not None:
        lf = lf.filter(pl.col("day") >= first_day)
    if last_day is not None:
        lf = lf.filter(pl.col("day") <= last_day)
    names = lf.collect_schema().names()
    cols = [*ENRICHMENT_COLUMNS, *(c for c in _EXTRA_ENRICHMENT if c in names)]
    return lf.sort("src", "day").group_by("src").agg(pl.col(c).drop_nulls().last().alias(c) for c in cols)


#: Said once when the data carries no enrichment at all.
NO_ENRICHMENT_NOTE = (
    "no AS or hostname enrichment in this data: organizations come from the rules' address ranges only; "
    "`scantui enrich PATH... -o enrich.parquet` (with IPINFO_TOKEN or --mmdb FILE) writes a table to add as one more PATH"
)

_IS_IN_MAX = 10_000
_ROW_COLUMNS = ("day", "sensor", "src", "proto", "dport", "packets", "dsts", "first_ts", "last_ts", *TOOL_COLUMNS)


def select_rows(port_day: pl.LazyFrame, q: ScannerQuery, srcs: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """The ``port_day`` rows the query selects (kinds, days, ports, CIDRs, optionally a source set)."""
    kind = pl.col("kind")
    rows = port_day.filter(pl.any_horizontal([kind == k for k in q.kinds]))  # Enum compares, no cast to string
    if q.since:
        rows = rows.filter(pl.col("day") >= q.since)
    if q.until:
        rows = rows.filter(pl.col("day") <= q.until)
    if q.ports:
        rows = rows.filter(pl.col("dport").is_in(q.ports))
    if q.cidrs:
        rows = rows.filter(_in_cidrs(q.cidrs))
    if srcs is not None:
        rows = _only_sources(rows, srcs)
    return rows


def _only_sources(lf: pl.LazyFrame, srcs: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of the given sources: a pushed-down ``is_in`` for a short list, else a semi join."""
    few = srcs.head(_IS_IN_MAX + 1).collect()["src"]
    if len(few) <= _IS_IN_MAX:
        return lf.filter(pl.col("src").is_in(few.cast(pl.UInt32).implode()))
    return lf.join(srcs, on="src", how="semi")


def _dominant_tool() -> pl.Expr:
    """The tool with the most packets (the first in :data:`TOOLS` order on a tie)."""
    top = pl.max_horizontal(TOOL_COLUMNS)
    expr = pl.when(pl.col(TOOL_COLUMNS[0]) == top).then(pl.lit(TOOLS[0]))
    for tool, col in zip(TOOLS[1:], TOOL_COLUMNS[1:]):
        expr = expr.when(pl.col(col) == top).then(pl.lit(tool))
    return expr.alias("tool")


def _tools_struct() -> pl.Expr:
    return pl.struct([(pl.col(c) / pl.col("packets")).alias(t) for t, c in zip(TOOLS, TOOL_COLUMNS)]).alias("tools")


def _source_filters(df: pl.DataFrame, q: ScannerQuery, walked: pl.DataFrame | None = None) -> pl.DataFrame:
    """Dominant tool (``zmap`` also for a source of *walked*, the walk-identified sources, whose dominant
    tool is ``other``; ``variant`` says which rule), then the per-source filters (``--tool``, ``--min-packets``)."""
    from scantui.analysis.zmap_rollup import with_variant

    return _keep_sources(with_variant(df.with_columns(_dominant_tool()), walked), q)


def _keep_sources(df: pl.DataFrame, q: ScannerQuery) -> pl.DataFrame:
    """The per-source filters (``--tool``, ``--min-packets``) of rows that have their ``tool``."""
    if q.tools:
        df = df.filter(pl.col("tool").is_in(q.tools))
    if q.min_packets:
        df = df.filter(pl.col("packets") >= q.min_packets)
    return df


def exact_dsts(packets: pl.LazyFrame | PacketSource, q: ScannerQuery, srcs: pl.Series | None,
               active: Collection[dt.date] | None = None, within: tuple[int, int] | None = None,
               sink: Callable[[np.ndarray | None], None] | None = None) -> pl.DataFrame:
    """Distinct destinations per source (``src``, ``dsts``) recounted from the packets, with the query's
    row selection, for the sources of *srcs* that have selected packets (None: every source that has, e.g.
    before the sources are known).

    *active*: the days the selected rows of *srcs* are on (from ``port_day``), when known: only they are read.
    *within*: (first, last) source address that *srcs* lie in, when known: only their packets are read.
    *sink*: with a port selection and every source (*srcs* None), given the distinct keys counted (sorted), or None
    when there are none to give (a packet without a destination): a kept list's state (:mod:`port_list_state`)."""
    source = as_source(packets)
    held = source.days()
    days = None if held is None else [d for d in held if (not q.since or d >= q.since) and (not q.until or d <= q.until)
                                      and (active is None or d in active)]
    wanted = None if srcs is None else pl.LazyFrame({"src": srcs.cast(pl.UInt32)})
    pairs = None if q.ports else source.pairs(days)
    if pairs is not None:  # distinct (src, kind, dst) per day: their union per source is exact
        pairs = pairs.filter(pl.col("kind").cast(pl.String).is_in(q.kinds))
        pairs = pairs if wanted is None else pairs.join(wanted, on="src", how="semi")
        return pairs.group_by("src").agg(pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts")).collect()
    # inside a port, row groups skipped by source too
    few = srcs if srcs is not None and srcs.len() <= _IS_IN_MAX else None
    lf = source.read_columns(_KEY_COLUMNS, days, ports=q.ports or None, srcs=few)  # only those ports (and few sources)
    if within is not None and few is None:  # a source range: row groups outside it skipped by their statistics
        lf = lf.filter(pl.col("src").is_between(*within))
    lf = lf.filter(_of_kinds(q.kinds))
    day = pl.col("ts").dt.date()
    if q.since:
        lf = lf.filter(day >= q.since)
    if q.until:
        lf = lf.filter(day <= q.until)
    key = (pl.col("src").cast(pl.UInt64) * (1 << 32) + pl.col("dst").cast(pl.UInt64)).alias("key")
    # streamed: the key columns read are not all held at once (16 M keys: 0.24 GiB peak against 0.38 in memory)
    keys = lf.select(key).collect(engine="streaming")["key"]
    if keys.null_count():  # a packet without a destination (not in canonical data): counted as one more value
        counts = lf.group_by("src").agg(pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts")).collect()
        if sink is not None:
            sink(None)
    else:
        # the keys as one numpy array of their own (polars' copy dropped), sorted in place: one copy held, not two
        owned = keys.to_numpy(writable=True)
        del keys
        counts = _distinct_per_source(owned, sink)
    # a source's count depends only on its own packets: the many-source case keeps the counts of *srcs*
    # after counting (one semi join of the counts, not of every packet read)
    return counts if few is not None or wanted is None else counts.join(wanted.collect(), on="src", how="semi")


#: What :func:`exact_dsts` reads of a packet: the key, the classes (:func:`_of_kinds`), the day.
_KEY_COLUMNS = ("ts", "src", "dst", "proto", "dport", "tcp_flags")


def _distinct_per_source(keys: np.ndarray, sink: Callable[[np.ndarray | None], None] | None = None) -> pl.DataFrame:
    """The distinct ``src << 32 | dst`` keys counted per source: numpy's (vectorised) sort of the keys,
    then their runs (a hashed ``n_unique`` per source took three times the CPU on 16 M packets); *sink* is
    given the distinct keys, sorted."""
    if len(keys) == 0:
        if sink is not None:
            sink(keys.astype(np.uint64))
        return pl.DataFrame(schema={"src": pl.UInt32, "dsts": pl.UInt32})
    if keys.flags.writeable and keys.flags.owndata:  # the caller's own array: sorted in place, no second copy
        keys.sort()
        ordered = keys
    else:
        ordered = np.sort(keys)
    new = np.empty(len(ordered), dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    if sink is not None:
        sink(ordered[new])
    # each key's source as a view of its high half (no copy of the distinct keys: 16 M keys, 0.13 GiB less peak),
    # and the new keys summed over each source's run
    src = ordered.view(np.uint32)[1 if np.little_endian else 0::2]
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(src[1:], src[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return pl.DataFrame({"src": src[starts], "dsts": np.add.reduceat(new, starts, dtype=np.uint32)})


def _of_kinds(kinds: Collection[str]) -> pl.Expr:
    """``traffic_class().is_in(kinds)`` without naming every packet's class: a probe is :func:`is_probe`,
    a ``udp`` packet any packet of protocol UDP (probe and backscatter are TCP)."""
    parts = [is_probe() if k == "probe" else (pl.col("proto") == UDP) if k == "udp" else traffic_class() == k
             for k in kinds]
    return pl.any_horizontal(parts) if parts else pl.lit(False)


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
    """
    from scantui.analysis.zmap_rollup import walk_sources

    q = query or ScannerQuery()
    walked = walk_sources(walks)
    size = telescope_size if telescope_size is not None else telescope_size_from_day_totals(day_totals)
    first_day, n_days = _window(day_totals, q)
    last_day = first_day + dt.timedelta(days=n_days - 1) if first_day and n_days else None
    notes: list[str] = []

    src_filter = None
    enrich = latest_enrichment(enrichment, first_day, last_day) if enrichment is not None else None
    if q.asns:
        if enrich is None:
            notes.append("--asn: the data carries no enrichment, so no source has an ASN")
            src_filter = pl.LazyFrame({"src": []}, schema={"src": pl.UInt32})
        else:
            src_filter = enrich.filter(pl.col("asn").is_in(q.asns)).select("src")

    rows = None
    cheap_total = None
    if src_profile is not None and not q.narrows_rows:
        raw = _from_profile(src_profile, q, src_filter, walked)
    else:
        if _cheap_cut(q):
            src_filter, cheap_total = _top_sources(src_totals, q, src_filter)
        kept = _kept(rollup, q, packets)
        if kept is not None:
            from scantui.analysis.port_lists import QUERY_PACKETS_PER_RANGE

            raw, rows = _from_kept(kept, port_day, q, first_day, n_days, as_source(packets), walked,
                                   QUERY_PACKETS_PER_RANGE)
        else:
            # every selected source's destinations are recounted (no cut before the recount): started at once
            every = packets is not None and q.narrows_rows and (q.top is None or q.sort == "dsts")
            raw, rows = _from_rows(port_day, q, src_filter, first_day, n_days, as_source(packets) if every else None,
                                   walked)
    try:
        return _finish(raw, rows, q, size, first_day, n_days, notes, enrich, src_totals, packets, rules, cheap_total,
                       lists)
    finally:
        if rows is not None:
            rows.cancel()


def _finish(raw: pl.DataFrame, rows: _Rows | None, q: ScannerQuery, size: int, first_day: dt.date | None, n_days: int,
            notes: list[str], enrich: pl.LazyFrame | None, src_totals: pl.LazyFrame,
            packets: pl.LazyFrame | PacketSource | None, rules: Any, cheap_total: int | None,
            lists: Any = None) -> ScannerList:
    """:func:`scanner_list` from the raw per-source columns on: enrichment, names, dsts, sort, cut, top ports."""
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
    if not q.narrows_rows:
        totals = src_totals.filter(pl.col("kind") == "probe").select("src", "dsts").collect()
        out = out.join(totals, on="src", how="left")
    else:
        packets = as_source(packets) if packets is not None else None
        dsts_from = packets.label if packets is not None else "unavailable"
        out = out.with_columns(pl.lit(None, pl.UInt32).alias("dsts"))
        if packets is None:
            notes.append("dsts: not recountable without the packet table under a port/day/UDP selection; left empty")

    total = out.height if cheap_total is None else cheap_total
    if packets is not None and q.narrows_rows and q.sort == "dsts":  # the sort needs every source's count before the cut
        out = _recount(out, packets, q, rows)
    out = _sort(out, q)
    if q.top is not None:
        out = out.head(q.top)
    if not named_early:  # only the sources that made the cut
        out = classify(out, rules)
    if packets is not None and q.narrows_rows and q.sort != "dsts":  # only the sources that made the cut
        out = _recount(out, packets, q, rows)
    if rows is not None and rows.top_ports is not None:  # kept for every source (:mod:`port_lists`)
        out = out.join(rows.top_ports, on="src", how="left")
    elif rows is not None:  # the port_day path: top ports of the sources that made the cut only
        ports = bh.top_ports_from_scans(rows.of(out)[0].lazy(), TOP_PORTS).collect().rechunk()  # (a join gathers
        out = out.join(ports, on="src", how="left")  # nested values from many chunks slowly)
    out = out.with_columns(bh.top_ports_shares(size))
    from scantui.enrich.lists import with_list_column

    out = with_list_column(out, lists)  # only the sources that made the cut
    return ScannerList(out.select(COLUMNS), total, size, first_day, n_days, dsts_from, notes)


def _from_profile(src_profile: pl.LazyFrame, q: ScannerQuery, src_filter: pl.LazyFrame | None,
                  walked: pl.DataFrame | None = None) -> pl.DataFrame:
    """The raw per-source columns of the probe sources, read from the rollup's ``src_profile``."""
    lf = src_profile.filter(pl.col("kind") == "probe")
    if q.cidrs:
        lf = lf.filter(_in_cidrs(q.cidrs))
    if src_filter is not None:
        lf = lf.join(src_filter, on="src", how="semi")
    return _source_filters(lf.drop("kind").collect(), q, walked)


@dataclass
class _Rows:
    """The selected ``port_day`` rows and what the list reads of them again after the cut."""

    rows: pl.DataFrame
    n_sources: int  # the distinct sources of the rows
    scans: pl.DataFrame  # :func:`behaviour.port_scans` of the rows (coverage, then the top ports)
    days: pl.Series  # the distinct days of the rows
    counted: Future[pl.DataFrame] | None = None  # every source's exact destinations, counted in the background
    exact: pl.DataFrame | None = None  # every source's exact destinations, known (kept: :mod:`port_lists`)
    top_ports: pl.DataFrame | None = None  # every source's top ports, known (kept)

    def cancel(self) -> None:
        if self.counted is not None:
            self.counted.cancel()
            self.counted = None

    def of(self, srcs: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
        """(port scans, distinct days) of the rows of the sources *srcs* (distinct, each one of the rows')."""
        if srcs.height == self.n_sources:  # every source of the rows (the whole list)
            return self.scans, self.days
        picked = srcs.select("src")
        return (self.scans.join(picked, on="src", how="semi"),
                self.rows.join(picked, on="src", how="semi")["day"].unique())


def _from_rows(
    port_day: pl.LazyFrame, q: ScannerQuery, src_filter: pl.LazyFrame | None, first_day: dt.date | None, n_days: int,
    recount: PacketSource | None = None, walked: pl.DataFrame | None = None, within: tuple[int, int] | None = None,
) -> tuple[pl.DataFrame, _Rows]:
    """The raw per-source columns computed from the selected ``port_day`` rows (and those rows).

    The rows are read once; the distinct (source, day) pairs (active days, schedule) and the port scans
    (coverage, top ports) are computed once, with the other aggregates, in one ``collect_all``. With
    *recount*, every selected source's exact destinations are counted from it meanwhile, in a thread
    started as soon as the sources are known (polars and numpy release the GIL while they work). *within*: only
    the sources from..to (inclusive), a range of :func:`~scantui.analysis.port_lists.source_ranges`."""
    if within is not None:
        port_day = port_day.filter(pl.col("src").is_between(*within))
    rows = select_rows(port_day, q, src_filter).select(_ROW_COLUMNS).collect()
    base = _source_filters(bh.volume(rows.lazy(), TOOL_COLUMNS).collect(), q, walked)
    if q.tools or q.min_packets:
        rows = rows.join(base.select("src"), on="src", how="semi")
    counted = None
    if recount is not None and base.height:
        pool = ThreadPoolExecutor(1, thread_name_prefix="scantui-dsts")
        counted = pool.submit(exact_dsts, recount, q, base["src"], set(rows["day"].unique().to_list()), within)
        pool.shutdown(wait=False)
    try:
        raw, kept = _aggregates(rows, base, first_day, n_days)
    except BaseException:
        if counted is not None:
            counted.cancel()
        raise
    kept.counted = counted
    return raw, kept


def _kept(rollup: Path | None, q: ScannerQuery, packets: pl.LazyFrame | PacketSource | None) -> Path | None:
    """Where *q*'s list is kept (:mod:`port_lists`), when it may be: a pure port selection whose destinations are
    recounted from the rollup's own day tables."""
    from scantui.analysis.port_lists import kept_path

    if packets is None or as_source(packets).label != "days":
        return None
    return kept_path(rollup, q)


#: The kept table's columns besides the raw ones.
_KEPT_EXTRA = ("dsts", "top_ports")


def _from_kept(path: Path, port_day: pl.LazyFrame, q: ScannerQuery, first_day: dt.date | None, n_days: int,
               recount: PacketSource, walked: pl.DataFrame | None, budget: int | None = None) -> tuple[pl.DataFrame, _Rows]:
    """:func:`_from_rows` of the pure port selection *q* from the table kept at *path* (computed and kept first
    when there is none, in source ranges of *budget* packets: :func:`_kept_table`): the raw columns of every source
    of those ports, then the per-source filters; the exact destinations and top ports of every source ride along in
    the returned :class:`_Rows`."""
    from scantui.analysis.port_lists import read_kept, write_kept

    table = read_kept(path)
    if table is None or not set(_KEPT_EXTRA) <= set(table.columns):
        table = _kept_table(port_day, q.ports, first_day, n_days, recount, walked, budget)
        write_kept(path, table)
    raw = _keep_sources(table.drop(_KEPT_EXTRA), q)
    picked = table.select("src", *_KEPT_EXTRA).join(raw.select("src"), on="src", how="semi")
    rows = _Rows(pl.DataFrame(), raw.height, pl.DataFrame(), pl.Series("day", [], pl.Date),
                 exact=picked.select("src", "dsts"), top_ports=picked.select("src", "top_ports").rechunk())
    return raw, rows


def _kept_table(port_day: pl.LazyFrame, ports: tuple[int, ...], first_day: dt.date | None, n_days: int,
                recount: PacketSource, walked: pl.DataFrame | None, budget: int | None = None,
                state: StateWriter | None = None) -> pl.DataFrame:
    """The table :mod:`port_lists` keeps for *ports*: every source's raw columns, exact ``dsts`` and ``top_ports``,
    computed one source range at a time when the port's packets are more than *budget* (default
    :data:`port_lists.PACKETS_PER_RANGE`; :func:`port_lists.source_ranges`: the keys, rows and schedules of one range
    held at once, not the data's); a source's columns are its own, so the table is the same whatever the ranges.
    *state*: given each range's distinct keys (one sorted run, the ranges in order) and state tables
    (:mod:`port_list_state`), for the next build to extend the list."""
    from scantui.analysis.port_lists import source_ranges

    every = ScannerQuery(ports=ports)
    ranges = source_ranges(select_rows(port_day, every), budget, total_first=budget is not None)
    # every range's destinations are counted in one thread, range after range, from the start (they need only the
    # range: a count of a source not in the rows is dropped by the left join), while the ranges' other columns are
    # computed here: the two never wait on each other, and one range's keys and one range's rows are held at once
    pool = ThreadPoolExecutor(1, thread_name_prefix="scantui-dsts")
    sink = None if state is None else (lambda keys: state.append(keys, new_run=False))
    counted = [pool.submit(exact_dsts, recount, every, None, None, within, sink) for within in ranges]
    pool.shutdown(wait=False)
    parts = []
    try:
        for within, count in zip(ranges, counted):
            raw, rows = _from_rows(port_day, every, None, first_day, n_days, None, walked, within)
            # rechunked: a join gathers the nested values from many chunks slowly (0.27 CPU s at 145 k sources, 0.02 so)
            top = bh.top_ports_from_scans(rows.scans.lazy(), TOP_PORTS).collect().rechunk()
            parts.append(raw.join(count.result(), on="src", how="left").join(top, on="src", how="left"))
            if state is not None:
                state.parts.append(row_state(rows.rows))
    finally:
        for count in counted:
            count.cancel()
    return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical_relaxed").rechunk()


def keep_port_list(rollup: Rollup, ports: tuple[int, ...], previous: Path | None = None) -> tuple[Path, bool] | None:
    """Compute and keep the list of *ports* in *rollup*'s folder (:mod:`port_lists`) unless kept already, for
    ``scantui rollup --keep-ports`` and every build (so the first ``--port`` query after a build reads it): (the
    file, whether it was brought up to date from *previous*'s), or None when the rollup has no day tables to recount
    destinations from. Kept with its state
    (:mod:`port_list_state`): a build that extends the rollup folder *previous* brings that folder's list up to
    date from the days it adds when its state allows, else computes it from every day."""
    from scantui.analysis.port_list_state import StateWriter, state_path
    from scantui.analysis.port_lists import kept_path, read_kept, write_kept
    from scantui.analysis.zmap_rollup import walk_sources

    source = rollup.packet_source()
    q = ScannerQuery(ports=ports)
    path = kept_path(rollup.path, q) if source is not None else None
    if path is None:
        return None
    if read_kept(path) is not None:
        return path, False
    first_day, n_days = _window(rollup.day_totals, q)
    by_port = rollup.port_day_by_port
    port_day = by_port if by_port is not None else rollup.port_day
    walked = walk_sources(rollup.zmap_walks)
    days = _state_days(rollup)
    state = None
    if days:
        try:
            state = StateWriter(state_path(path))
        except OSError:  # a read-only cache: the list alone (computed, and not kept: write_kept says nothing)
            pass
    try:
        table, extended = _kept_or_extended(rollup, path, port_day, ports, first_day, n_days, source, walked, days,
                                            state, previous)
    except BaseException:
        if state is not None:
            state.discard()
        raise
    write_kept(path, table)
    return path, extended


def _kept_or_extended(rollup: Rollup, path: Path, port_day: pl.LazyFrame, ports: tuple[int, ...],
                      first_day: dt.date | None, n_days: int, source: PacketSource, walked: pl.DataFrame | None,
                      days: dict[str, tuple[str, str]], state: StateWriter | None,
                      previous: Path | None) -> tuple[pl.DataFrame, bool]:
    """:func:`keep_port_list`'s table and whether it was brought up to date from *previous*'s list, its state (when
    *state*) put in place."""
    table = None
    if previous is not None and state is not None:
        try:
            table = _extended_table(rollup, previous / path.parent.name / path.name, ports, first_day, n_days, source,
                                    walked, days, state)
        except (pl.exceptions.PolarsError, OSError, ValueError, KeyError, TypeError):  # an old list or state not
            table = None  # as this code writes them (a foreign column set, a bad index): computed from every day
    extended = table is not None
    if table is None:
        if state is not None:
            state.reset()
        table = _kept_table(port_day, ports, first_day, n_days, source, walked, state=state)
        if state is not None and state.parts and first_day is not None and n_days > 0:
            tables = {name: pl.concat([part[name] for part in state.parts]) for name in state.parts[0]}
            made = activity(None, None, tables.pop(SRC_DAYS), first_day, n_days)
            state.tables = None if made is None else {**tables, ACTIVITY: packed(*made)}
    if state is not None:
        if state.tables is None:
            state.discard()
        else:
            state.fold()
            state.finish(state.tables, days, (first_day, n_days))
    return table, extended


def _state_days(rollup: Rollup) -> dict[str, tuple[str, str]]:
    """Per day of *rollup*, its day state and ``port_day`` file as its merge recorded them (what a kept list's state
    is valid for); empty when the merge's record is gone or is not of every day of the rollup."""
    from scantui.analysis.rollup_days import held_files

    days = held_files(rollup.path)
    keys = rollup.meta.get("day_keys") or {}
    return days if days and {d: e[0] for d, e in days.items()} == keys else {}


def _extended_table(rollup: Rollup, old_path: Path, ports: tuple[int, ...], first_day: dt.date | None, n_days: int,
                    source: PacketSource, walked: pl.DataFrame | None, days: dict[str, tuple[str, str]],
                    state: StateWriter) -> pl.DataFrame | None:
    """The kept table of *ports* brought up to date from the older rollup's list at *old_path* and its state
    (:mod:`port_list_state`) plus the days *rollup* adds (their ``port_day`` rows and packet keys only), with
    *state* filled for the next build; None when that state does not apply (missing, damaged, another version, or
    a day it covers removed or changed): then the list is computed from every day."""
    from scantui.analysis import port_list_state as st
    from scantui.analysis.port_lists import read_kept

    old_list = read_kept(old_path)
    folder = st.state_path(old_path)
    found = st.read_state(folder)
    if old_list is None or found is None or first_day is None or n_days <= 0:
        return None
    index, old = found
    held = index.get("days")
    if not isinstance(held, dict) or any(days.get(d) != tuple(e) for d, e in held.items()):
        return None
    added = [dt.date.fromisoformat(d) for d in sorted(days) if d not in held]
    every = ScannerQuery(ports=ports)
    by_port = rollup.port_day_by_port
    port_day = by_port if by_port is not None else rollup.port_day
    rows = select_rows(port_day.filter(pl.col("day").is_in(pl.Series(added, dtype=pl.Date).implode())), every)
    rows = rows.select(_ROW_COLUMNS).collect()
    lf = source.read_columns(_KEY_COLUMNS, added, ports=ports).filter(_of_kinds(every.kinds))
    keys = lf.select((pl.col("src").cast(pl.UInt64) * (1 << 32) + pl.col("dst").cast(pl.UInt64)).alias("key")).collect()["key"]
    if keys.null_count():
        return None
    try:
        fresh = st.new_keys(st.read_runs(folder, index["runs"]), np.unique(keys.to_numpy()))
    except (OSError, ValueError, TypeError):
        return None
    del keys
    # volume: summed over the old list's rows and the new days'; every other column from the merged state
    volume = ["src", "packets", "first_seen", "last_seen", *TOOL_COLUMNS]
    summed = pl.concat([old_list.select(volume), bh.volume(rows.lazy(), TOOL_COLUMNS).collect().select(volume)])
    summed = summed.group_by("src").agg(pl.col("packets").sum(), pl.col("first_seen").min(), pl.col("last_seen").max(),
                                        *(pl.col(c).sum() for c in TOOL_COLUMNS))
    base = _source_filters(summed, every, walked)
    new = st.row_state(rows)
    made = activity(old[ACTIVITY], index["window"], new[SRC_DAYS], first_day, n_days)
    if made is None:
        return None
    srcs, act = made
    tables = {**st.merge_state(old, new), ACTIVITY: packed(srcs, act)}
    scans = tables[st.SCANS].lazy()
    ports_, intervals, coverage, top = pl.collect_all([
        bh.port_counts(scans), bh.intervals_from(tables[st.INTERVALS].lazy()), bh.coverage_from_scans(scans),
        bh.top_ports_from_scans(scans, TOP_PORTS)])
    # the active days and schedules from the activity rows (what :func:`schedules` builds from (src, day) rows)
    active = pl.DataFrame({"src": srcs, "days_active": act.sum(axis=1, dtype=np.uint32)})
    sched = schedule_frame(srcs, act) if len(srcs) else schedules(pl.DataFrame(), first_day, n_days)
    raw = bh.join_parts([base, active, ports_, intervals, coverage, sched])
    dsts = old_list.select("src", "dsts").join(st.per_source(fresh), on="src", how="full", coalesce=True, suffix="_new")
    dsts = dsts.select("src", pl.when(pl.col("dsts").is_null() & pl.col("dsts_new").is_null()).then(None)
                       .otherwise(pl.col("dsts").fill_null(0) + pl.col("dsts_new").fill_null(0)).cast(pl.UInt32).alias("dsts"))
    table = raw.join(dsts, on="src", how="left").join(top.rechunk(), on="src", how="left")
    for run in index["runs"]:
        state.link(folder / run)
    state.append(fresh, new_run=True)
    state.tables = tables
    return table


def _aggregates(rows: pl.DataFrame, base: pl.DataFrame, first_day: dt.date | None, n_days: int) -> tuple[pl.DataFrame, _Rows]:
    """The behaviour and schedule columns of *rows* joined to *base* (the volume columns), and the rows kept."""
    lazy = rows.lazy()
    # with one sensor, a port's scan days (for the intervals) are its port scans' days: no pass of their own
    one_sensor = rows["sensor"].n_unique() <= 1
    src_days, scans, ports, *intervals = pl.collect_all([
        lazy.select("src", "day").unique(), bh.port_scans(lazy, with_days=one_sensor), bh.port_counts(lazy),
        *([] if one_sensor else [bh.scan_intervals(lazy)])])
    active, coverage, *intervals = pl.collect_all([
        bh.active_days_from(src_days.lazy()), bh.coverage_from_scans(scans.lazy()),
        *([bh.intervals_from(scans.lazy())] if one_sensor else [])]) + intervals
    window = first_day is not None and n_days > 0  # else no data: no schedule
    sched = schedules(src_days if window else pl.DataFrame(), first_day, n_days)
    raw = bh.join_parts([base, active, ports, intervals[0], coverage, sched])
    return raw, _Rows(rows, base.height, scans, src_days["day"].unique())


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
                value = value.isoformat()
                if value.endswith("+00:00"):  # RFC 3339 UTC, as every output writes times
                    value = value[:-6] + "Z"
            rec[key] = value
        out.append(rec)
    return out
