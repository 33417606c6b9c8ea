"""The candidates' and groups' filter as scantui had it in Python before session 10 (a test per record), kept as
the reference the vectorised filter (:mod:`scantui.analysis.query_records`, the one implementation) is checked
against: the property test in ``test_query_records.py`` and the TUI's list checks."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from scantui.analysis.collab_types import KeyKind, SuggestedGroup
from scantui.analysis.query import DaySpan, Query, QueryError


def span_overlaps(span: DaySpan, first: dt.date, last: dt.date) -> bool:
    """Whether days *first*..*last* meet *span*."""
    lo, hi = span
    return (lo is None or last >= lo) and (hi is None or first <= hi)


def _record_view(record: Any, review: str, labels: Sequence[str] = (),
                 sources: Mapping[int, Any] | None = None) -> dict[str, Any]:
    """What the keys test in a candidate scan or a suggested group, as plain values; ``tags``/``notes``: its
    members' source notes (lowercased) found in *sources* (address -> the labels file's note on it)."""
    if isinstance(record, SuggestedGroup):
        asns = [f"AS{a}" for a in record.asns]
        view = {"ports": list(record.ports), "ips": list(record.members), "asns": asns,
                "days": list(record.days), "timing": record.timing, "texts": [record.group, *asns],
                "review": review, "scans": record.n_scans, "n_members": record.n_members, "score": record.score,
                "labels": [t.lower() for t in labels],
                "sensors": {n.lower() for scan in record.scans for n in scan.covered_sensors}}
    else:
        keys = [record.key, *record.also_keys]
        asns = ([f"AS{record.asn}"] if record.asn else []) + [k.text for k in keys if k.kind is KeyKind.ASN]
        view = {"ports": [record.port], "ips": list(record.sources), "asns": asns, "days": [record.day],
                "timing": record.timing, "texts": [k.text for k in keys], "review": review,
                "n_sources": record.n_sources, "score": record.score, "labels": [t.lower() for t in labels],
                "sensors": {n.lower() for n in record.covered_sensors}}
    noted = [sources[ip] for ip in view["ips"] if ip in sources] if sources else []
    view["tags"] = [t.lower() for s in noted for t in s.tags]
    view["notes"] = [s.note.lower() for s in noted if s.note]
    return view


def _review_in(review: str, wanted: str) -> bool:
    """*review*: the word of the review cell (``new``, ``same``, ``labelled``, ``unsure``, ``rejected``)."""
    review = "same" if review == "same_ips" else review
    if wanted == "reviewed":
        return review in ("labelled", "unsure", "rejected")
    if wanted == "todo":
        return review in ("new", "same")
    return review == wanted


def _record_atom(key: str, values: Sequence[Any], view: dict[str, Any]) -> bool:
    if key == "port":
        return any(lo <= p <= hi for p in view["ports"] for lo, hi in values)
    if key == "src":
        addresses = [ipaddress.IPv4Address(ip) for ip in view["ips"]]
        return any(a in net for a in addresses for net in values)
    if key == "as":
        names = [a.lower() for a in view["asns"]]
        return any((f"as{v}" in names) if isinstance(v, int) else any(v in n for n in names) for v in values)
    if key == "day":
        return any(span_overlaps(span, d, d) for d in view["days"] for span in values)
    if key == "seen":
        days = view["days"]
        return bool(days) and any(span_overlaps(span, min(days), max(days)) for span in values)
    if key == "label":  # a group id (exactly) or a word of its title
        ids, titles = view["labels"][::2], view["labels"][1::2]
        return any(v in ids or any(v in t for t in titles) for v in values)
    if key == "tag":  # a member's tag (exactly) / text in a member's note (the labels file's sources:)
        return any(v in view["tags"] for v in values)
    if key == "note":
        return any(v in n for v in values for n in view["notes"])
    if key == "timing":
        return view["timing"] in values
    if key == "sensor":  # the sensors whose space the scan covers (a group: any of its scans')
        return any(v in view["sensors"] for v in values)
    if key == "review":
        return any(_review_in(view["review"], v) for v in values)
    if key == "text":
        return any(v in t.lower() for v in values for t in view["texts"])
    if key == "cmp":
        column, op, value = values
        got = view[column]
        if got is None:
            return False
        return {">": got > value, ">=": got >= value, "<": got < value, "<=": got <= value,
                "=": got == value, "!=": got != value}[op]
    raise QueryError(f"{key}: unsupported term")  # pragma: no cover - the record fields parse no other key


def record_matches(query: Query, record: Any, review: str = "new",
                   labels: Sequence[tuple[str, str]] = (), sources: Mapping[int, Any] | None = None) -> bool:
    """Whether a candidate or group *record* (with its review word: ``new``, ``same``, ``labelled``,
    ``unsure``, ``rejected``, and the (id, title) of the labelled groups it matches) matches *query*
    (parsed with :data:`RECORD_FIELDS`); ``tag:``/``note:`` match when a member's source note does
    (*sources*: address -> the labels file's note, with ``tags`` and ``note``; None: no notes).
    The same combination as the scanner list: one key's values OR, different keys AND, negations AND."""
    view = _record_view(record, review, [text or "" for pair in labels for text in pair], sources)
    groups: dict[str, list[Any]] = {}
    for term in query.terms:
        if term.key == "cmp" and term.values[0] not in view:
            continue  # a field of the other list (see RECORD_FIELDS)
        if term.negate:
            if _record_atom(term.key, term.values, view):
                return False
        elif term.key in ("cmp", "text"):
            if not _record_atom(term.key, term.values, view):
                return False
        else:
            groups.setdefault(term.key, []).extend(term.values)
    return all(_record_atom(key, values, view) for key, values in groups.items())


def filter_records(query: Query, records: Sequence[Any], reviews: Sequence[tuple[str, Sequence[tuple[str, str]]]],
                   sources: Mapping[int, Any] | None = None) -> list[int]:
    """The indices of *records* that :func:`record_matches`."""
    return [i for i, (record, (word, labels)) in enumerate(zip(records, reviews))
            if record_matches(query, record, word, labels, sources)]
