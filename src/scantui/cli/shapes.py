"""The results of ``collab``, ``groups`` and ``track`` in their output shape (JSON, JSON Lines, CSV).

The results are typed values (:mod:`scantui.analysis.collab_types`, :mod:`~scantui.analysis.track_types`); their
``to_json()`` writes the
schema of each command (``scantui/schemas/*.schema.json``): a field named ``asn`` is an integer
or null with ``as_name`` beside it (``key`` stays the display label, ``AS202425``), a list of
AS numbers holds integers, and per-source values are lists of ``{"src", "dsts"}`` objects,
never maps keyed by IP (a map keyed by IP loads as a struct of one field per IP).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup

__all__ = ["collab_rows", "group_rows", "info_doc", "utc_z"]


def utc_z(text: str | None) -> str | None:
    """An ISO 8601 UTC time written with ``+00:00`` as RFC 3339 with ``Z``; None stays None."""
    return text[:-6] + "Z" if text is not None and text.endswith("+00:00") else text


def collab_rows(candidates: Iterable[CandidateScan]) -> list[dict[str, Any]]:
    """Candidate scans as ``collab`` writes them."""
    return [c.to_json() for c in candidates]


def group_rows(groups: Iterable[SuggestedGroup],
               reviews: Sequence[tuple[str, list[dict[str, Any]]]] | None = None) -> list[dict[str, Any]]:
    """Suggested groups as ``groups`` writes them; with *reviews* (one ``(state, matches)`` per group)
    each row ends with its ``review`` and matching ``labels``."""
    rows = [g.to_json() for g in groups]
    for row, (state, matches) in zip(rows, reviews or ()):
        row["review"], row["labels"] = str(state), matches
    return rows


def info_doc(summary: dict[str, Any]) -> dict[str, Any]:
    """An ``info`` document as written: times with ``Z``; ``sensors`` (keys are sensor names from the data) a list
    of ``{"sensor", "packets"}``."""
    doc = {**summary, "first_seen": utc_z(summary.get("first_seen")), "last_seen": utc_z(summary.get("last_seen"))}
    if "sensors" in doc:
        doc["sensors"] = [{"sensor": k, "packets": n} for k, n in doc["sensors"].items()]
    return doc
