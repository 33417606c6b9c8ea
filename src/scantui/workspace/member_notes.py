"""The labels file's notes on the members of a candidate scan or a suggested group (its ``sources:``).

:func:`notes_by_address` indexes a labels store's source notes by address, once per labels
change; :func:`noted_members` then finds a record's noted members with one dict lookup per
member, and :func:`notes_cell` is the compact cell the candidates screen's ``notes`` column
shows (``2 · benign, cdn``: how many members carry a note or tag, then their tags), as do the
``notes`` column of ``scantui collab``/``groups --labels FILE`` (:func:`member_notes` gives that cell and
the ``--json`` rows' ``notes`` field, :func:`notes_json`). The same
index is what the query terms ``tag:`` and ``note:`` read on the candidates and groups
(:func:`scantui.analysis.query.filter_records`, the TUI's bar and ``collab``/``groups --query``).
Tags and notes are returned as written: untrusted text, the front ends escape them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from scantui.labels.model import Source, ip_to_int


def notes_by_address(store: Any) -> dict[int, Source]:
    """Address (an integer) -> the store's note on that source; {} without a store or notes."""
    if store is None:
        return {}
    return {ip_to_int(s.ip): s for s in store.sources}


def record_addresses(record: Any) -> tuple[int, ...]:
    """The members of a suggested group or the sources of a candidate scan (integers)."""
    members = getattr(record, "members", None)
    return tuple(members if members is not None else record.sources)


def noted_members(record: Any, notes: Mapping[int, Source]) -> list[tuple[int, Source]]:
    """(address, note) of each member of *record* that carries a source note, in member order."""
    if not notes:
        return []
    return [(a, notes[a]) for a in record_addresses(record) if a in notes]


def notes_cell(noted: Iterable[tuple[int, Source]]) -> str | None:
    """``2 · benign, cdn``: how many members are noted, then their tags (most used first); ``1 · note``
    when they carry notes but no tag; None when none is noted."""
    noted = list(noted)
    if not noted:
        return None
    tags = Counter(t for _a, s in noted for t in s.tags)
    words = ", ".join(t for t, _n in sorted(tags.items(), key=lambda tn: (-tn[1], tn[0]))) or "note"
    return f"{len(noted)} · {words}"


def notes_json(noted: Iterable[tuple[int, Source]]) -> list[dict[str, Any]]:
    """``[{"ip", "tags", "note"}]`` of the noted members (``collab``/``groups --json --labels FILE``: ``notes``)."""
    return [{"ip": s.ip, "tags": list(s.tags), "note": s.note} for _a, s in noted]


def member_notes(record: Any, notes: Mapping[int, Source]) -> tuple[str | None, list[dict[str, Any]]]:
    """(the ``notes`` cell, the JSON ``notes`` field) of a candidate scan or a suggested group."""
    noted = noted_members(record, notes)
    return notes_cell(noted), notes_json(noted)
