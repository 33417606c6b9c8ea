"""Source notes beyond the scanner list: the candidates' ``notes`` column, the members' notes in a candidate's or
a group's facts, the packets' ``tags`` column (issue 15 part 3: "shown in every table and detail").

Every piece reads the labels file's ``sources:`` through one index by address
(:func:`scantui.workspace.member_notes.notes_by_address`), built once per labels change: one dict
lookup per member or per packet row. The columns join a table only when the labels file holds a
source note for some row (decided on the whole list, as the scanner list's ``list`` column), so a
team without source notes sees the screens as before. Tags and notes are untrusted text: cells go
through the columns' :func:`~scantui.safetext.safe_line`, facts lines through it here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from scantui.safetext import safe_line
from scantui.tui.columns import Column, ip_text

if TYPE_CHECKING:
    import polars as pl

    from scantui.labels.model import Source

#: The candidates screen's column: how many members carry a source note, and their tags (``2 · benign, cdn``).
NOTES_COLUMN = Column("notes", "notes", 16)
#: The packets table's column: the tags of the packet's source.
TAGS_COLUMN = Column("src_tags", "tags", 16, sortable=False)
FACTS_SHOWN = 4  # noted members listed in a detail's facts (the rest counted)
NOTE_CHARS = 60  # of a note's first line in the facts


def current_notes(app: Any) -> dict[int, Source]:
    """The open labels file's source notes by address ({} when none is open)."""
    from scantui.workspace.member_notes import notes_by_address

    labels = app.state.labels
    return notes_by_address(labels.store if labels is not None else None)


def with_notes_column(columns: Sequence[Column], frame: pl.DataFrame, after: str = "review") -> tuple[Column, ...]:
    """*columns* with :data:`NOTES_COLUMN` after column *after* when some row of *frame* has a ``notes`` cell."""
    if "notes" not in frame.columns or frame.height == 0 or frame["notes"].null_count() == frame.height:
        return tuple(columns)
    keys = [c.key for c in columns]
    at = keys.index(after) + 1 if after in keys else len(keys)
    return (*columns[:at], NOTES_COLUMN, *columns[at:])


def note_line(source: Source) -> str:
    """``[benign, cdn] first line of the note`` (escaped, the line cut to :data:`NOTE_CHARS`)."""
    parts = [f"[{safe_line(', '.join(source.tags))}]"] if source.tags else []
    if source.note and source.note.strip():
        parts.append(safe_line(source.note.strip().splitlines()[0], limit=NOTE_CHARS))
    return " ".join(parts)


def member_note_facts(record: Any, notes: Mapping[int, Source]) -> list[tuple[str, Text | str]]:
    """Facts lines of a candidate's or group's noted members: ``192.0.2.10 [benign] web page`` each (up to
    :data:`FACTS_SHOWN`, then how many more); nothing when no member is noted."""
    from scantui.workspace.member_notes import noted_members

    noted = noted_members(record, notes)
    rows: list[tuple[str, Text | str]] = [
        ("notes" if i == 0 else "", Text(f"{ip_text(a)} {note_line(s)}")) for i, (a, s) in enumerate(noted[:FACTS_SHOWN])]
    if len(noted) > FACTS_SHOWN:
        rows.append(("", Text(f"+{len(noted) - FACTS_SHOWN} more noted members", style="dim")))
    return rows


def tags_by_address(notes: Mapping[int, Source]) -> dict[int, str]:
    """Address -> its tags joined (``benign, cdn``), for the sources that have tags."""
    return {a: ", ".join(s.tags) for a, s in notes.items() if s.tags}


def with_source_tags(page: pl.DataFrame, tags: Mapping[int, str]) -> pl.DataFrame:
    """A page of packets with ``src_tags`` (its source's tags; a dict lookup per row of the page)."""
    import polars as pl

    if not tags or "src" not in page.columns:
        return page
    return page.with_columns(pl.Series("src_tags", [tags.get(s) for s in page["src"].to_list()], dtype=pl.String))
