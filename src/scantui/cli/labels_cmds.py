"""``scantui labels validate|list|sources``: check and show a labels file.

``validate`` exits 0 when the file is valid, 1 when it is YAML but breaks the
labels format (every problem printed on stderr, one ``scantui: error:`` line
each), 2 when it cannot be read as YAML at all. ``list`` prints the groups as
a table, ``--json`` (one array, members as strings), ``--jsonl`` (one group a line) or ``--csv``;
``sources`` the notes on single sources (the file's ``sources:``) the same ways.
"""

from __future__ import annotations

import click

from scantui.cli.data_cmds import list_output_options
from scantui.cli.output import message, print_csv, print_json, print_jsonl, print_table

LIST_COLUMNS = ("id", "title", "verdict", "category", "members", "ports", "tags", "updated")
CSV_COLUMNS = ("id", "title", "verdict", "category", "members_count", "members", "ports", "asns", "scans_count", "tags", "notes", "created", "updated")

FILE = click.argument("file", type=click.Path(dir_okay=False, path_type=str))


@click.group("labels")
def labels_group() -> None:
    """Check and list a labels file (the groups analysts confirmed)."""


@labels_group.command("validate")
@FILE
def validate_cmd(file: str) -> None:
    """Check FILE; list every problem with its line and field (exit 1 when any)."""
    from scantui.labels.store import check_file_sources

    groups, sources, problems = check_file_sources(file)
    if problems:
        for problem in problems:
            message(f"scantui: error: {problem.message(file)}")
        raise SystemExit(1)
    members = sum(len(g.members) for g in groups)
    noted = f", {len(sources)} source note{'s' * (len(sources) != 1)}" if sources else ""
    message(f"{file}: valid, {len(groups)} group{'s' * (len(groups) != 1)}, {members} member{'s' * (members != 1)}{noted}")


@labels_group.command("list")
@FILE
@list_output_options
def list_cmd(file: str, fmt: str) -> None:
    """List the groups of FILE: id, title, verdict, category, members, ports, tags, updated."""
    from scantui.labels import LabelsStore

    groups = LabelsStore.load(file, must_exist=True).groups
    if fmt in ("json", "jsonl"):
        (print_json if fmt == "json" else print_jsonl)([g.to_dict() for g in groups])
    elif fmt == "csv":
        print_csv((_csv_row(g) for g in groups), CSV_COLUMNS)
    else:
        print_table("labels", LIST_COLUMNS, (_table_row(g) for g in groups))


SOURCE_COLUMNS = ("ip", "tags", "note", "created", "created_by", "updated", "updated_by")


@labels_group.command("sources")
@FILE
@list_output_options
def sources_cmd(file: str, fmt: str) -> None:
    """List the notes on single sources of FILE: ip, tags, note, created, updated and by whom."""
    from scantui.labels import LabelsStore

    sources = LabelsStore.load(file, must_exist=True).sources
    if fmt in ("json", "jsonl"):
        (print_json if fmt == "json" else print_jsonl)([s.to_dict() for s in sources])
    elif fmt == "csv":
        print_csv(({**s.to_dict(), "tags": ", ".join(s.tags)} for s in sources), SOURCE_COLUMNS)
    else:
        print_table("source notes", ("ip", "tags", "note", "updated", "by"),
                    ((s.ip, ", ".join(s.tags), (s.note or "").strip().replace("\n", " / "), s.to_dict()["updated"] or "",
                      s.updated_by or "") for s in sources))


def _table_row(group) -> tuple:
    doc = group.to_dict()
    return (
        group.id, group.title or "", group.verdict, group.category or "", f"{len(group.members):,}",
        ", ".join(map(str, group.ports)), ", ".join(group.tags), doc["updated"] or "",
    )


def _csv_row(group) -> dict:
    doc = group.to_dict()
    return {**doc, "members_count": len(group.members), "scans_count": len(group.scans)}


COMMANDS = [labels_group]
