"""The labels screen's details panel: one group's fields, members (and their notes on single sources), notes and
the scans that support it.

Titles, notes and tags are typed by analysts or read from a shared file: they go
into ``rich.text.Text`` through :func:`scantui.safetext.safe_text`, so nothing in
them is markup or a terminal sequence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group as RichGroup
from rich.table import Table
from rich.text import Text

from scantui.safetext import safe_line, safe_text
from scantui.tui.columns import time_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scantui.labels.model import Group, Source

MEMBERS_SHOWN = 200  # members listed in the details (the rest counted)
SCANS_SHOWN = 100
SOURCES_SHOWN = 6  # sources of one scan in the details
NOTED_SHOWN = 20  # members' source notes listed in the details


def _source_notes(group: Group, sources: Sequence[Source]) -> Text | None:
    """The notes on single sources (the file's ``sources:``) of the group's members, CIDR members included: one
    line each (``192.0.2.10 [benign] first line``, escaped); None when no member has one."""
    from scantui.tui.member_notes import note_line

    noted = [s for s in sources if group.contains(s.ip)]
    if not noted:
        return None
    text = Text("\n".join(f"{s.ip} {note_line(s)}" for s in noted[:NOTED_SHOWN]))
    if len(noted) > NOTED_SHOWN:
        text.append(f"\n… +{len(noted) - NOTED_SHOWN} more", style="dim")
    return text


def group_details(group: Group, sources: Sequence[Source] = ()) -> RichGroup:
    """The details panel of one group: fields, members, their source notes (of *sources*: the labels file's),
    notes, scans (all untrusted text shown literally)."""
    facts = Table.grid(padding=(0, 1))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    title = Text(safe_line(group.id), style="bold")
    if group.title:
        title.append(" · " + safe_line(group.title), style="not bold")
    facts.add_row("group", title)
    facts.add_row("verdict", Text(f"{group.verdict} · {group.category or 'no category'}"))
    if group.ports:
        facts.add_row("ports", Text(" ".join(map(str, group.ports))))
    if group.asns:
        facts.add_row("ASNs", Text(" ".join(f"AS{a}" for a in group.asns)))
    if group.tags:
        facts.add_row("tags", Text(" ".join(safe_line(t) for t in group.tags)))
    stamps = [" ".join(part for part in (name, time_text(value) if value else "", f"by {safe_line(who, limit=40)}" if who else "") if part)
              for name, value, who in (("created", group.created, group.created_by), ("updated", group.updated, group.updated_by))
              if value or who]
    if stamps:
        facts.add_row("times", Text(" · ".join(stamps)))
    members = Text(" ".join(group.members[:MEMBERS_SHOWN]))
    if len(group.members) > MEMBERS_SHOWN:
        members.append(f" … +{len(group.members) - MEMBERS_SHOWN} more", style="dim")
    facts.add_row(f"members ({len(group.members)})", members)
    noted = _source_notes(group, sources)
    if noted is not None:
        facts.add_row("source notes", noted)
    if group.notes:
        facts.add_row("notes", Text(safe_text(group.notes)))
    parts: list[Any] = [facts]
    if group.scans:
        scans = Table(title=f"the scans that support it ({len(group.scans)})", title_justify="left", box=None,
                      padding=(0, 1), show_edge=False, header_style="bold")
        scans.add_column("day", no_wrap=True)
        scans.add_column("port", justify="right", no_wrap=True)
        scans.add_column("sources", overflow="fold")
        for scan in group.scans[:SCANS_SHOWN]:
            sources = " ".join(scan.sources[:SOURCES_SHOWN])
            if len(scan.sources) > SOURCES_SHOWN:
                sources += f" … +{len(scan.sources) - SOURCES_SHOWN}"
            scans.add_row(scan.day.isoformat(), str(scan.port), Text(sources))
        if len(group.scans) > SCANS_SHOWN:
            scans.add_row("…", "", Text(f"+{len(group.scans) - SCANS_SHOWN} more scans", style="dim"))
        parts += [Text(""), scans]
    else:
        parts += [Text(""), Text("no scans recorded as evidence (l on a candidate adds them)", style="dim")]
    return RichGroup(*parts)
