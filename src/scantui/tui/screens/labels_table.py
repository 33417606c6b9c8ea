"""The labels screen's group list: its columns, one row per group, the filter (run off the UI thread by the
screen), and the table widget."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from scantui.safetext import safe_line
from scantui.tui.columns import Column, int_text, time_text
from scantui.tui.widgets.table import VirtualTable

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl

    from scantui.labels.model import Group

_VERDICT_SHORT = {"not_collaborative": "not collab."}


def _verdict_text(value: Any) -> str:
    return _VERDICT_SHORT.get(value, safe_line(value))


GROUP_COLUMNS: tuple[Column, ...] = (
    Column("id", "id", 8),
    Column("title", "title", 24),
    Column("verdict", "verdict", 13, fmt=_verdict_text),
    Column("category", "category", 10),
    Column("members", "members", 7, "right", int_text),
    Column("ports", "ports", 16),
    Column("scans", "scans", 5, "right", int_text),
    Column("tags", "tags", 18),
    Column("updated", "updated", 16, fmt=time_text),
)


def groups_frame(groups: list[Group]) -> pl.DataFrame:
    """One row per group, in :data:`GROUP_COLUMNS` (lists joined as text)."""
    import polars as pl

    return pl.DataFrame(
        {
            "id": [g.id for g in groups],
            "title": [g.title for g in groups],
            "verdict": [g.verdict for g in groups],
            "category": [g.category for g in groups],
            "members": [len(g.members) for g in groups],
            "ports": [",".join(map(str, g.ports)) or None for g in groups],
            "scans": [len(g.scans) for g in groups],
            "tags": [" ".join(g.tags) or None for g in groups],
            "updated": [g.updated for g in groups],
        },
        schema={"id": pl.Utf8, "title": pl.Utf8, "verdict": pl.Utf8, "category": pl.Utf8, "members": pl.Int64,
                "ports": pl.Utf8, "scans": pl.Int64, "tags": pl.Utf8, "updated": pl.Datetime("us", "UTC")},
    )


def matches(group: Group, text: str) -> bool:
    """Whether every word of *text* is in the group's text fields, or (an IP) one of its members holds it."""
    return _matches(group, text.lower().split(), lambda word: group.contains(_address(word)))


def _matches(group: Group, words: list[str], holds: Callable[[str], bool]) -> bool:
    """:func:`matches` on lowered *words*; *holds(word)*: whether the group holds the IP *word* (a valid IPv4)."""
    haystack = " ".join([group.id, group.title or "", group.verdict, group.category or "", *group.tags, group.notes or "",
                         *map(str, group.ports), *group.members]).lower()
    for word in words:
        if word in haystack or (_address(word) is not None and holds(word)):
            continue
        return False
    return True


def _address(word: str) -> int | None:
    try:
        return int(ipaddress.IPv4Address(word))
    except ValueError:
        return None


def filtered_frame(groups: list[Group], text: str) -> tuple[list[Group], pl.DataFrame]:
    """The groups that match *text* (:func:`matches`) and their rows: what the labels screen's filter shows
    (a Python test per group: the screen runs it in a thread worker). The groups holding an IP of the filter
    come from the :class:`MemberIndex` of the groups (built only when the filter has an IP)."""
    words = text.lower().split()
    addresses = {word: value for word in words if (value := _address(word)) is not None}
    if addresses:
        from scantui.labels.member_index import MemberIndex

        index = MemberIndex.of(groups)
        held = {word: set(index.holders(value)) for word, value in addresses.items()}
        shown = [g for pos, g in enumerate(groups) if _matches(g, words, lambda word, pos=pos: pos in held[word])]
    else:
        shown = [g for g in groups if _matches(g, words, lambda word: False)]
    return shown, groups_frame(shown)


class GroupTable(VirtualTable):
    """The group list: a :class:`VirtualTable` with the labels screen's footer keys
    (its :class:`VirtualTable.CursorMoved` tells the screen which group to show)."""

    BINDINGS = [  # the footer has room for the labelling keys, not these (still in ? and the palette)
        Binding("enter", "select", "Track", id="table.open"),
        Binding("s", "sort_current", "Sort", show=False, id="table.sort"),
        Binding("r", "sort_reverse", "Reverse", show=False, id="table.reverse"),
    ]
