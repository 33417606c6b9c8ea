"""The records of ``collab``, ``groups`` and ``track`` in their output shape (JSON, JSON Lines, CSV).

The in-memory records keep their own form (the TUI reads them); at the edge every command
writes one schema (``scantui/schemas/*.schema.json``): a field named ``asn`` is an integer
or null with ``as_name`` beside it (``key`` stays the display label, ``AS202425``), a list of
AS numbers holds integers, and per-source values are lists of ``{"src", "dsts"}`` objects,
never maps keyed by IP (a map keyed by IP loads as a struct of one field per IP).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["asn_number", "collab_rows", "group_rows", "info_doc", "per_source", "track_doc", "utc_z"]


def utc_z(text: str | None) -> str | None:
    """An ISO 8601 UTC time written with ``+00:00`` as RFC 3339 with ``Z``; None stays None."""
    return text[:-6] + "Z" if text is not None and text.endswith("+00:00") else text


def asn_number(value: Any) -> int | None:
    """``"AS202425"`` (or ``202425``) as ``202425``; None stays None."""
    if value is None:
        return None
    text = str(value)
    return int(text[2:] if text[:2].upper() == "AS" else text)


def per_source(dsts: Mapping[str, int] | Iterable[dict]) -> list[dict[str, Any]]:
    """``{ip: n}`` as ``[{"src": ip, "dsts": n}, ...]`` in the map's order (a list is returned as is)."""
    if isinstance(dsts, Mapping):
        return [{"src": ip, "dsts": n} for ip, n in dsts.items()]
    return list(dsts)


def collab_rows(candidates: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidate scans as ``collab`` writes them (same fields and order as the records)."""
    return [{**c, "asn": asn_number(c.get("asn")), "dsts_per_source": per_source(c.get("dsts_per_source") or {})}
            for c in candidates]


def group_rows(groups: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Suggested groups as ``groups`` writes them: ``asns`` as integers."""
    return [{**g, "asns": [asn_number(a) for a in g.get("asns") or []]} for g in groups]


def track_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """A ``track`` document as written: each scan's ``dsts_per_source`` a list of objects, ``size_histogram``
    a list of ``{"size", "scans"}`` (its keys are data, not names)."""
    return {**doc, "scans": [{**s, "dsts_per_source": per_source(s.get("dsts_per_source") or {})}
                             for s in doc.get("scans") or []],
            "size_histogram": [{"size": int(k), "scans": n} for k, n in (doc.get("size_histogram") or {}).items()]}


def info_doc(summary: dict[str, Any]) -> dict[str, Any]:
    """An ``info`` document as written: times with ``Z``; ``sensors`` (keys are sensor names from the data) a list
    of ``{"sensor", "packets"}``."""
    doc = {**summary, "first_seen": utc_z(summary.get("first_seen")), "last_seen": utc_z(summary.get("last_seen"))}
    if "sensors" in doc:
        doc["sensors"] = [{"sensor": k, "packets": n} for k, n in doc["sensors"].items()]
    return doc
