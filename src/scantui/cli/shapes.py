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

__all__ = ["asn_number", "collab_rows", "group_rows", "per_source", "track_doc"]


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
    """A ``track`` document as written: each scan's ``dsts_per_source`` a list of objects."""
    return {**doc, "scans": [{**s, "dsts_per_source": per_source(s.get("dsts_per_source") or {})}
                             for s in doc.get("scans") or []]}
