"""The query syntax of every list: text -> a polars expression over the scanner list, or a test of a candidate or group.

One parser below both front ends: the TUI's query bars and the CLI's ``--query``
(``scanners``, ``collab``, ``groups``) read the same text the same way.
A query is whitespace-separated terms (double quotes keep spaces:
``as:"digital ocean"``); :data:`scantui.analysis.query_help.QUERY_HELP` lists them.
Each view has its own :class:`Fields` (the keys it knows): :data:`SCANNER_FIELDS`
for the scanner list (:func:`filter_scanners`), :data:`RECORD_FIELDS` for candidate
scans and suggested groups, which :func:`filter_records` tests
(``port:8080 as:14061 198.18.5.0/24 day:2024-02-06 timing:sequential review:new label:G01``).
``list:NAME`` keeps the scanners on a known-scanner list (:mod:`scantui.enrich.lists`), ``-list:NAME`` drops them.
``sensor:NAME`` (data with a ``sensor`` column, :mod:`scantui.analysis.sensors`) keeps the scanners that sensor saw
and the candidates (groups: any of their scans) covering its space; ``-sensor:NAME`` drops them; names are
case-insensitive and one no sensor has matches nothing.
On the scanner list, ``tag:``, ``note:`` (text contains), ``label:G01`` (a member of the
group) and ``review:new`` (no note, tag or label yet) read the labels file's source notes and
groups through columns :func:`scantui.workspace.source_notes.annotate_sources` adds (:data:`SOURCE_COLUMNS`);
on the candidates and groups, ``tag:``/``note:`` match a record when a member's source note does.
``day:`` takes days, spans and open spans (``2024-02-05..2024-02-09``, ``..2024-02-09``);
``seen:`` a span or a comparison (``seen:>2024-02-10``): active in it (a scanner between
its first and last packet, a candidate or group over its days).

Repeating a key (or listing values with commas) ORs the values; different
keys AND together; comparisons, bare words and negated terms each AND.
Matching text is case-insensitive and literal (no regex: the data is
untrusted). :func:`parse_query` raises :class:`QueryError` naming the bad term;
:func:`compile_query` turns the parsed terms into one expression over a scanner
frame, with notes for terms that cannot match (e.g. no AS data).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from scantui.analysis.behaviour import PICTURES, RANGE_CLASSES
from scantui.analysis.fingerprints import TOOLS
from scantui.analysis.schedule import SCHEDULES
from scantui.netaddr import ipv4_network
from scantui.utctime import next_day, previous_day

CATEGORIES = ("research", "commercial", "other", "unknown")

_ALIASES = {
    "port": "port", "ports": "port", "dport": "port", "p": "port",
    "tool": "tool", "tools": "tool", "t": "tool",
    "src": "src", "ip": "src", "cidr": "src", "net": "src",
    "as": "as", "asn": "as",
    "org": "org", "host": "host", "hostname": "host", "cc": "cc", "country": "cc",
    "cat": "cat", "category": "cat",
    "range": "range", "class": "range",
    "sched": "sched", "schedule": "sched",
    "pic": "pic", "picture": "pic",
    "day": "day", "date": "day", "seen": "seen", "list": "list", "lists": "list",
    "tag": "tag", "tags": "tag", "note": "note", "notes": "note",
    "label": "label", "labels": "label", "group": "label", "review": "review", "state": "review",
    "sensor": "sensor", "sensors": "sensor",
}
#: The scanner list's review states: ``new`` (no note, tag or label), ``noted`` (a note or tag on the source),
#: ``labelled`` (a member of a labelled group), ``reviewed`` (noted or labelled).
SCANNER_REVIEWS = ("new", "noted", "labelled", "reviewed")
#: Columns of the scanner list the labels file adds (lowercased, for the query): tags (list), note, the ids (list)
#: and the titles (joined) of the groups the source is a member of.
SOURCE_COLUMNS = ("src_tags", "src_note", "src_label_ids", "src_label_titles")
_SOURCE_KEYS = ("tag", "note", "label", "review")
#: Comparable names -> scanner list column.
NUMERIC = {
    "packets": "packets", "ports": "ports", "dsts": "dsts", "days": "days_active", "period": "period_days",
    "interval": "avg_scan_interval_days", "cover": "coverage_max", "strength": "schedule_strength",
}
#: Keys with a closed set of values -> (column, allowed values).
_ENUMS = {"tool": ("tool", TOOLS), "range": ("range_class", RANGE_CLASSES), "sched": ("schedule", SCHEDULES),
          "pic": ("picture", PICTURES), "cat": ("category", CATEGORIES)}
_TEXT_COLUMNS = ("as_name", "org", "hostname")
#: Which frame column a key reads, for the "no data" notes.
_NEEDS = {"as": "asn", "org": "org", "host": "hostname", "cc": "country", "cat": "category", "text": "as_name"}
#: A day span: (first, last) inclusive, None for an open end.
DaySpan = tuple["dt.date | None", "dt.date | None"]
_CMP = re.compile(r"^([a-z_]+)(>=|<=|!=|=|>|<)(.+)$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$")

TIMINGS = ("parallel", "sequential", "mixed")
#: Review states as the filter names them (``same``: same IPs as a labelled group, its scans not recorded).
REVIEWS = ("new", "same", "labelled", "unsure", "rejected", "reviewed", "todo")


@dataclass(frozen=True)
class Fields:
    """The keys one view's query bar knows: aliases -> canonical key, comparable names, closed value sets."""

    aliases: dict[str, str]
    numeric: dict[str, str]
    enums: dict[str, tuple[str, tuple[str, ...]]]

    @property
    def key_names(self) -> str:
        return " ".join(dict.fromkeys(self.aliases.values()))


SCANNER_FIELDS = Fields(_ALIASES, NUMERIC, {**_ENUMS, "review": ("review", SCANNER_REVIEWS)})
_RECORD_ALIASES = {"port": "port", "ports": "port", "dport": "port", "p": "port",
                   "src": "src", "ip": "src", "cidr": "src", "net": "src", "as": "as", "asn": "as",
                   "day": "day", "date": "day", "seen": "seen", "timing": "timing", "review": "review", "state": "review",
                   "label": "label", "labels": "label", "group": "label", "sensor": "sensor", "sensors": "sensor",
                   "tag": "tag", "tags": "tag", "note": "note", "notes": "note"}
_RECORD_ENUMS = {"timing": ("timing", TIMINGS), "review": ("review", REVIEWS)}
#: The candidates screen's two lists share one bar: a comparison only one list has (``n>=5`` for the scans,
#: ``scans>2``/``ips>10`` for the groups) filters that list and leaves the other as it is.
RECORD_FIELDS = Fields(_RECORD_ALIASES, {"n": "n_sources", "sources": "n_sources", "scans": "scans",
                                         "ips": "n_members", "score": "score"}, _RECORD_ENUMS)

PortRanges = tuple[tuple[int, int], ...]
#: ``resolver(ranges)`` -> the sources (a Series or integers) that probed any port in the ranges.
PortResolver = Callable[[PortRanges], pl.Series | Iterable[int]]
#: ``resolver(spans)`` -> the sources that probed on any day of the spans (the scanner list's ``day:``).
DayResolver = Callable[[tuple[DaySpan, ...]], pl.Series | Iterable[int]]
#: ``resolver(names)`` -> the sources seen by any of the sensors (lowercased names; the scanner list's ``sensor:``).
SensorResolver = Callable[[tuple[str, ...]], pl.Series | Iterable[int]]


class QueryError(ValueError):
    """A term the query bar cannot read; the message names it."""


@dataclass(frozen=True)
class Term:
    key: str  # a canonical key, "cmp" or "text"
    values: tuple[Any, ...]
    negate: bool = False
    raw: str = ""


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...] = ()
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def needs_ports(self) -> bool:
        return any(t.key == "port" for t in self.terms)


@dataclass
class Compiled:
    expr: pl.Expr | None  # None: everything matches
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- parsing


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        raise QueryError(f"unreadable query: {exc}") from None


def _port_ranges(raw: str, values: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in (p.strip() for p in values.split(",")):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise QueryError(f"{raw}: bad port {part!r} (a number 0-65535 or a range like 8000-8100)")
        a, b = int(lo), int(hi or lo)
        if a > 65535 or b > 65535 or a > b:
            raise QueryError(f"{raw}: bad port range {part!r}")
        out.append((a, b))
    if not out:
        raise QueryError(f"{raw}: no port given")
    return tuple(out)


def _network(raw: str, text: str) -> ipaddress.IPv4Network:
    try:
        return ipv4_network(text)
    except ValueError as why:
        raise QueryError(f"{raw}: {why}") from None


def _as_value(raw: str, part: str) -> int | str:
    digits = part[2:] if part[:2].lower() == "as" and part[2:].isdigit() else part
    if digits.isdigit():
        if int(digits) >= 2**32:
            raise QueryError(f"{raw}: AS number too large")
        return int(digits)
    return part.lower()


def _number(raw: str, text: str) -> float:
    scale = 100.0 if text.endswith("%") else 1.0
    try:
        return float(text.rstrip("%").replace(",", "").replace("_", "")) / scale
    except ValueError:
        raise QueryError(f"{raw}: {text!r} is not a number") from None


def _term(raw: str, fields: Fields = SCANNER_FIELDS) -> Term:
    negate = raw[:1] in "-!" and len(raw) > 1
    body = raw[1:] if negate else raw
    lowered = body.lower()
    if (m := _CMP.match(lowered)) and ":" not in lowered:
        name, op, value = m.groups()
        if fields.aliases.get(name) in ("day", "seen") and op != "!=":  # seen>2024-02-10 as seen:>2024-02-10
            return Term(fields.aliases[name], (parse_day_span(raw, value if op == "=" else op + value),), negate, raw)
        if name not in fields.numeric:
            raise QueryError(f"{raw}: cannot compare {name!r} (one of: {', '.join(fields.numeric)})")
        return Term("cmp", (fields.numeric[name], op, _number(raw, value)), negate, raw)
    if ":" in body:
        key, _, value = body.partition(":")
        canon = fields.aliases.get(key.lower())
        if canon is None:
            raise QueryError(f"{raw}: unknown key {key!r} (one of: {fields.key_names})")
        if not value.strip():
            raise QueryError(f"{raw}: no value after {key}:")
        return Term(canon, _values(raw, canon, value, fields), negate, raw)
    if _IPV4.match(body):
        return Term("src", (_network(raw, body),), negate, raw)
    if body.isdigit():
        raise QueryError(f"{raw}: a bare number is ambiguous; write port:{body} or as:{body}")
    return Term("text", (lowered,), negate, raw)


def _day(raw: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(f"{raw}: {text!r} is not a day (YYYY-MM-DD)") from None


def _outside(raw: str, side: str, day: dt.date, neighbour: dt.date | None) -> dt.date:
    if neighbour is None:
        raise QueryError(f"{raw}: there is no day {side} {day}")
    return neighbour


def parse_day_span(raw: str, text: str) -> DaySpan:
    """``2024-02-05``, ``2024-02-05..2024-02-09``, ``..2024-02-09``, ``2024-02-05..`` or a comparison
    (``>D``, ``>=D``, ``<D``, ``<=D``) -> (first, last) inclusive; raises :class:`QueryError` naming *raw*."""
    text = text.strip()
    for op in (">=", "<=", ">", "<"):
        if text.startswith(op):
            day = _day(raw, text[len(op):])
            if op == ">":
                return _outside(raw, "after", day, next_day(day)), None
            if op == "<":
                return None, _outside(raw, "before", day, previous_day(day))
            return (day, None) if op == ">=" else (None, day)
    if ".." in text:
        lo, _, hi = text.partition("..")
        if not lo.strip() and not hi.strip():
            raise QueryError(f"{raw}: '..' needs a day on at least one side")
        span = (_day(raw, lo) if lo.strip() else None, _day(raw, hi) if hi.strip() else None)
        if span[0] is not None and span[1] is not None and span[0] > span[1]:
            raise QueryError(f"{raw}: the span ends before it starts")
        return span
    day = _day(raw, text)
    return day, day


def with_span(query: Query, span: DaySpan | None) -> Query:
    """*query* and ``seen:`` *span* (the time range of every view: a candidate or group active in it)."""
    if span is None:
        return query
    lo, hi = span
    raw = f"seen:{lo.isoformat() if lo else ''}..{hi.isoformat() if hi else ''}"
    return Query((*query.terms, Term("seen", (span,), raw=raw)), query.text)


def _values(raw: str, key: str, value: str, fields: Fields = SCANNER_FIELDS) -> tuple[Any, ...]:
    if key == "port":
        return _port_ranges(raw, value)
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if key in ("day", "seen"):
        return tuple(parse_day_span(raw, p) for p in parts)
    if key in fields.enums:
        _column, allowed = fields.enums[key]
        bad = [p for p in parts if p.lower() not in allowed]
        if bad:
            raise QueryError(f"{raw}: unknown {key} {bad[0]!r} (one of: {', '.join(allowed)})")
        return tuple(p.lower() for p in parts)
    if key == "src":
        return tuple(_network(raw, p) for p in parts)
    if key == "as":
        return tuple(_as_value(raw, p) for p in parts)
    return tuple(p.lower() for p in parts)


def parse_query(text: str, fields: Fields = SCANNER_FIELDS) -> Query:
    """The terms of *text* with the keys of *fields* (the scanner list's by default); raises
    :class:`QueryError` on the first bad one."""
    return Query(tuple(_term(raw, fields) for raw in _split(text)), text)


# ---------------------------------------------------------------- compiling


def _contains(column: str, needle: str) -> pl.Expr:
    return pl.col(column).str.to_lowercase().str.contains(needle, literal=True)


def _in_net(net: ipaddress.IPv4Network) -> pl.Expr:
    return (pl.col("src").cast(pl.UInt32) & int(net.netmask)) == int(net.network_address)


def _any(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([e.fill_null(False) for e in exprs]) if exprs else pl.lit(False)


def _cmp(column: str, op: str, value: float) -> pl.Expr:
    col = pl.col(column)
    return {">": col > value, ">=": col >= value, "<": col < value, "<=": col <= value,
            "=": col == value, "!=": col != value}[op]


def _top_ports_match(ranges: PortRanges) -> pl.Expr:
    port = pl.element().struct.field("port")
    hit = pl.any_horizontal([port.is_between(lo, hi) for lo, hi in ranges])
    return pl.col("top_ports").list.eval(hit).list.any()


def _seen_overlaps(span: DaySpan) -> pl.Expr:
    lo, hi = span
    exprs = []
    if lo is not None:
        exprs.append(pl.col("last_seen").dt.date() >= lo)
    if hi is not None:
        exprs.append(pl.col("first_seen").dt.date() <= hi)
    return pl.all_horizontal(exprs) if exprs else pl.lit(True)


def _atom(term: Term, values: Sequence[Any], resolver: PortResolver | None,
          day_resolver: DayResolver | None = None, sensor_resolver: SensorResolver | None = None) -> pl.Expr:
    """Whether a row matches any of *values* of *term*'s key."""
    key = term.key
    if key == "sensor":  # without the per-sensor table nothing matches (a note says so)
        if sensor_resolver is None:
            return pl.lit(False)
        found = sensor_resolver(tuple(values))
        srcs = found if isinstance(found, pl.Series) else pl.Series("src", list(found))
        return pl.col("src").is_in(srcs.cast(pl.UInt32).implode())
    if key == "day" and day_resolver is not None:
        found = day_resolver(tuple(values))
        srcs = found if isinstance(found, pl.Series) else pl.Series("src", list(found))
        return pl.col("src").is_in(srcs.cast(pl.UInt32).implode())
    if key in ("day", "seen"):  # (day: without the per-day table: between the first and last packet)
        return _any([_seen_overlaps(span) for span in values])
    if key == "port":
        ranges = tuple(values)
        if resolver is None:
            return _top_ports_match(ranges)
        found = resolver(ranges)
        srcs = found if isinstance(found, pl.Series) else pl.Series("src", list(found))
        return pl.col("src").is_in(srcs.cast(pl.UInt32).implode())
    if key in _SOURCE_KEYS:
        return _source_atom(key, values)
    if key in _ENUMS:
        column, _allowed = _ENUMS[key]
        if key == "cat" and "unknown" in values:
            return _any([pl.col(column).is_in(list(values)), pl.col(column).is_null()])
        return pl.col(column).is_in(list(values))
    if key == "src":
        return _any([_in_net(n) for n in values])
    if key == "as":
        numbers = [v for v in values if isinstance(v, int)]
        names = [v for v in values if isinstance(v, str)]
        exprs = [_contains(c, n) for n in names for c in ("as_name", "org")]
        if numbers:
            exprs.append(pl.col("asn").is_in(numbers))
        return _any(exprs)
    if key in ("org", "host"):
        column = "org" if key == "org" else "hostname"
        return _any([_contains(column, v) for v in values])
    if key == "list":  # a known-scanner list's name, exactly (case-insensitive)
        return pl.col("list").list.eval(pl.element().str.to_lowercase().is_in(list(values))).list.any()
    if key == "cc":
        return pl.col("country").str.to_lowercase().is_in(list(values))
    if key == "text":
        return _any([_contains(c, v) for v in values for c in _TEXT_COLUMNS])
    if key == "cmp":
        column, op, value = values
        return _cmp(column, op, value)
    raise QueryError(f"{term.raw}: unsupported term")  # pragma: no cover - every key is handled above


def _source_atom(key: str, values: Sequence[Any]) -> pl.Expr:
    """``tag:``, ``note:``, ``label:``, ``review:`` on the columns of :data:`SOURCE_COLUMNS`."""
    if key == "tag":
        return _any([pl.col("src_tags").list.contains(v) for v in values])
    if key == "note":
        return _any([pl.col("src_note").str.contains(v, literal=True) for v in values])
    if key == "label":  # a group id (exactly) or a word of its title
        return _any([pl.col("src_label_ids").list.contains(v) for v in values]
                    + [pl.col("src_label_titles").str.contains(v, literal=True) for v in values])
    noted = (pl.col("src_tags").list.len() > 0) | pl.col("src_note").is_not_null()
    labelled = pl.col("src_label_ids").list.len() > 0
    states = {"new": ~noted & ~labelled, "noted": noted, "labelled": labelled, "reviewed": noted | labelled}
    return _any([states[v] for v in values])


def without_source_notes(frame: pl.DataFrame) -> pl.DataFrame:
    """*frame* with empty :data:`SOURCE_COLUMNS` where it has none (no labels file: every source is new)."""
    if all(c in frame.columns for c in SOURCE_COLUMNS):
        return frame
    return frame.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("src_tags"), pl.lit(None, dtype=pl.String).alias("src_note"),
                              pl.lit([], dtype=pl.List(pl.String)).alias("src_label_ids"),
                              pl.lit(None, dtype=pl.String).alias("src_label_titles"))


def _empty(frame: pl.DataFrame, column: str) -> bool:
    return column not in frame.columns or frame.height == 0 or frame[column].null_count() == frame.height


def compile_query(query: Query, frame: pl.DataFrame, port_sources: PortResolver | None = None,
                  day_sources: DayResolver | None = None, sensor_sources: SensorResolver | None = None) -> Compiled:
    """One filter expression for *query* over *frame* (a scanner list), and notes for the user.

    Same (non-negated) keys OR together, different keys AND; comparisons, bare
    words and negated terms each AND. Without *port_sources*, ``port:`` terms
    match each source's top ports only (a note says so); without *day_sources*,
    ``day:`` matches the sources seen between their first and last packet; without *sensor_sources*,
    ``sensor:`` matches nothing.
    """
    notes: list[str] = []
    groups: dict[str, list[Any]] = {}
    ands: list[pl.Expr] = []
    for term in query.terms:
        column = _NEEDS.get(term.key)
        unknown_cat = term.key == "cat" and "unknown" in term.values
        if column and not unknown_cat and _empty(frame, column):
            notes.append(f"{term.raw}: the data carries no {column} (no enrichment), so it matches nothing")
        if term.negate:
            ands.append(~_atom(term, term.values, port_sources, day_sources, sensor_sources).fill_null(False))
        elif term.key in ("cmp", "text"):
            ands.append(_atom(term, term.values, port_sources, day_sources, sensor_sources).fill_null(False))
        else:
            groups.setdefault(term.key, []).extend(term.values)
    firsts = {t.key: t for t in query.terms if not t.negate}
    for key, values in groups.items():
        ands.append(_atom(firsts[key], tuple(dict.fromkeys(values)), port_sources, day_sources,
                          sensor_sources).fill_null(False))
    if query.needs_ports and port_sources is None:
        notes.append("port: matched against each source's top ports only")
    if day_sources is None and any(t.key == "day" for t in query.terms):
        notes.append("day: matched against each source's first and last seen day only")
    if sensor_sources is None and any(t.key == "sensor" for t in query.terms):
        notes.append("sensor: no per-sensor table here, so it matches nothing")
    if not ands:
        return Compiled(None, notes)
    return Compiled(pl.all_horizontal(ands), notes)


def filter_scanners(frame: pl.DataFrame, query: Query, port_sources: PortResolver | None = None,
                    day_sources: DayResolver | None = None,
                    sensor_sources: SensorResolver | None = None) -> tuple[pl.DataFrame, list[str]]:
    """The rows of a scanner list *frame* that match *query*, in their order, and the notes (the TUI's query bar
    and ``scantui scanners --query``)."""
    if any(t.key in _SOURCE_KEYS for t in query.terms) and not all(c in frame.columns for c in SOURCE_COLUMNS):
        filled = without_source_notes(frame)
        compiled = compile_query(query, filled, port_sources, day_sources, sensor_sources)
        return (filled.filter(compiled.expr).select(frame.columns) if compiled.expr is not None else frame), compiled.notes
    compiled = compile_query(query, frame, port_sources, day_sources, sensor_sources)
    return (frame.filter(compiled.expr) if compiled.expr is not None else frame), compiled.notes


# ---------------------------------------------------------------- candidates and groups (records)


_VERDICT_WORD = {"collaborative": "labelled", "not_collaborative": "rejected", "unsure": "unsure"}


def review_word(state: str, matches: Sequence[dict[str, Any]]) -> str:
    """The filter's word of a review (a :class:`scantui.labels.match.Review` value and the matching labelled
    groups, best first): ``new``, ``same``, or the best group's verdict as ``labelled``, ``unsure``, ``rejected``."""
    if str(state) == "new" or not matches:
        return "new"
    if str(state) == "same_ips":
        return "same"
    verdict = str(matches[0]["verdict"])
    return _VERDICT_WORD.get(verdict, verdict)


def review_of(state: str, matches: Sequence[dict[str, Any]], titles: dict[str, str | None] | None = None
              ) -> tuple[str, list[tuple[str, str]]]:
    """(review word, (id, title) of each matching labelled group) of a record, for :func:`filter_records`."""
    titles = titles or {}
    return review_word(state, matches), [(m["id"], titles.get(m["id"]) or "") for m in matches]


def filter_records(query: Query, records: Sequence[Any], reviews: Sequence[tuple[str, Sequence[tuple[str, str]]]],
                   sources: Mapping[int, Any] | None = None) -> list[int]:
    """The indices of *records* (candidate scans or suggested groups) matching *query*; *reviews* gives each its
    review word and the (id, title) of the labelled groups it matches, *sources* the source notes by address
    (``tag:``, ``note:``: a member's) (the CLI's ``--query``, the watch). One implementation of the terms'
    meaning for every front end: :mod:`scantui.analysis.query_records` (the TUI keeps its frame of fields)."""
    from scantui.analysis.query_records import filter_record_fields

    return filter_record_fields(query, records, reviews, sources)
