"""The candidate scans as the watch sees them: :class:`~scantui.analysis.collab_types.CandidateScan` ->
:class:`~scantui.labels.watch.Seen` (the labels layer does not know the search's types), the hits of a
search result against a labels file (what ``scantui watch`` and the TUI's ``--follow`` both call), and the
rows of the watched saved views (``watch: true`` in the config file: :class:`ViewHit`, one per source or
candidate scan the view's query matches; ``scantui watch`` reports those it did not match before)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scantui.errors import InputError
from scantui.labels.watch import Hit, Seen, hits
from scantui.safetext import safe_line


def seen_scan(candidate: Any) -> Seen:
    """One candidate scan as a :class:`Seen` (its key first, then the other keys that found it)."""
    from scantui.analysis.collab_types import iso_us_z

    keys = tuple((str(k.kind), k.text) for k in (candidate.key, *candidate.also_keys))
    return Seen(candidate.port, candidate.day, candidate.source_ips, keys, iso_us_z(candidate.start_us),
                iso_us_z(candidate.end_us), candidate.asn, candidate.as_name)


def seen_scans(candidates: Iterable[Any]) -> list[Seen]:
    return [seen_scan(c) for c in candidates]


def watch_hits(groups: Iterable[Any], candidates: Sequence[Any], *, since: dt.date | None = None) -> list[Hit]:
    """The hits of the candidate scans against the labelled *groups* (:func:`scantui.labels.watch.hits`)."""
    return hits(groups, seen_scans(candidates), since=since)


# ---------------------------------------------------------------- watched saved views


@dataclass(frozen=True)
class ViewHit:
    """A row a watched saved view (``watch: true`` in the config) matches: a source of the scanner list
    (*key* its IP) or a candidate scan (*key* ``PORT|DAY|KEY``, *scan* the scan)."""

    view: str
    area: str
    key: str
    sources: tuple[str, ...]
    scan: Seen | None = None
    asn: int | None = None
    as_name: str | None = None

    kind = "view"

    @property
    def id(self) -> str:
        """``view|NAME|192.0.2.10`` or ``view|NAME|8080|2024-02-20|185.180.143.0/24``: one hit per row."""
        return f"view|{self.view}|{self.key}"

    def _what(self) -> str:
        asn = f" (AS{self.asn}{' ' + self.as_name if self.as_name else ''})" if self.asn else ""
        if self.scan is None:
            return f"scanner {self.key}{asn}"
        n = len(self.sources)
        return (f"candidate port {self.scan.port} {self.scan.day.isoformat()} {n} source{'s' if n != 1 else ''}{asn}"
                f" key {self.scan.key}")

    def line(self) -> str:
        """``view triage scanner 192.0.2.10 (AS64500 NAME)``: one safe line."""
        return safe_line(f"view {self.view} {self._what()}")

    def notice(self) -> str:
        return safe_line(f"view {self.view} matches a new {self._what()}")

    def to_json(self) -> dict[str, Any]:
        """The ``scantui watch --json`` shape of a view's row (group fields null)."""
        s = self.scan
        return {
            "id": self.id, "kind": "view", "group": None, "title": None, "verdict": None,
            "port": s.port if s else None, "day": s.day.isoformat() if s else None,
            "start": s.start if s else None, "end": s.end if s else None,
            "sources": list(self.sources), "n_sources": len(self.sources),
            "key_kind": s.key_kind if s else None, "key": s.key if s else None,
            "asn": self.asn, "as_name": self.as_name, "via": "query", "share": None,
            "view": self.view, "area": self.area,
        }


def _span(view: Any) -> tuple[dt.date | None, dt.date | None] | None:
    if view.time_range is None:
        return None
    return tuple(dt.date.fromisoformat(d) if d else None for d in view.time_range)  # type: ignore[return-value]


def _bad_query(view: Any, exc: Exception) -> InputError:
    return InputError(f"saved view {view.name!r}: {exc}", where="views")


def candidate_view_hits(view: Any, candidates: Sequence[Any], store: Any = None) -> list[ViewHit]:
    """The candidate scans the saved *view* (area ``candidates``) matches: its query and time range, review words
    and labelled groups from *store* (the labels file; None: every scan is new)."""
    from scantui.analysis.query import Query, QueryError, RECORD_FIELDS, filter_records, parse_query, review_of, with_span
    from scantui.labels.match import ScanIndex, scan_key

    try:
        query = with_span(parse_query(view.query, RECORD_FIELDS) if view.query else Query(), _span(view))
    except QueryError as exc:
        raise _bad_query(view, exc) from None
    candidates = list(candidates)
    if store is not None:
        index, titles = ScanIndex(store.groups), {g.id: g.title or "" for g in store.groups}
        reviews = [review_of(*index.review(list(c.source_ips), [scan_key(c.port, c.day, c.source_ips)]), titles)
                   for c in candidates]
    else:
        reviews = [("new", []) for _ in candidates]
    kept = [candidates[i] for i in filter_records(query, candidates, reviews)] if query else candidates
    out = []
    for c in kept:
        seen = seen_scan(c)
        out.append(ViewHit(view.name, "candidates", f"{c.port}|{c.day.isoformat()}|{seen.key}", seen.sources, seen,
                           c.asn, c.as_name))
    return out


def scanner_view_hits(view: Any, ws: Any, store: Any = None, rules: Any = None) -> list[ViewHit]:
    """The sources the saved *view* (area ``scanners``) matches in the workspace *ws*'s scanner list (its query
    as the TUI's query bar reads it, its time range as the list's days, UDP probes counted with ``udp: true``)."""
    from scantui.analysis.query import QueryError, filter_scanners, parse_query
    from scantui.analysis.scanners import ScannerQuery

    try:
        query = parse_query(view.query)
    except QueryError as exc:
        raise _bad_query(view, exc) from None
    first, last = _span(view) or (None, None)
    listing = ScannerQuery(since=first, until=last, include_udp=bool(getattr(view, "udp", False)))
    frame = ws.scanners(listing, rules=rules).frame
    if query:
        if store is not None:
            from scantui.workspace.source_notes import annotate_sources

            frame = annotate_sources(frame, store)
        days = (first or dt.date.min, last or dt.date.max) if first or last else None
        frame, _notes = filter_scanners(frame, query, lambda r: ws.sources_on_ports(r, days=days, kinds=listing.kinds),
                                        lambda spans: ws.sources_on_days(spans, kinds=listing.kinds))
    from scantui.analysis.collab_types import dotted

    out = []
    for row in frame.select("src", *(c for c in ("asn", "as_name") if c in frame.columns)).iter_rows(named=True):
        ip = row["src"] if isinstance(row["src"], str) else dotted(row["src"])
        out.append(ViewHit(view.name, "scanners", ip, (ip,), None, row.get("asn"), row.get("as_name")))
    return sorted(out, key=lambda h: ipaddress.IPv4Address(h.key))
