"""``scantui groups`` and ``scantui track``: suggested groups, and one group over the whole data.

``groups`` runs the collaborative-scan search (same options as ``collab``) and
ties its scans into suggestions (:mod:`scantui.analysis.groups`); with a labels
file each suggestion says which labelled groups it matches and its review state.
``track`` describes one group, labelled (``--group ID`` from the labels file) or
suggested (``--group S03``), with the figures of :mod:`scantui.analysis.tracking`.
"""

from __future__ import annotations

import click

from scantui.cli.collab_cmds import print_notes, run_collab, search_options
from scantui.cli.data_cmds import PATHS, load_options, output_options, telescope_options
from scantui.cli.output import print_csv, print_json, print_table, stderr_console

DEFAULT_LABELS = "scantui-labels.yaml"
TABLE_DEFAULT_TOP = 50

LABELS_OPTION = click.option("--labels", "labels_path", default=None, metavar="FILE",
                             help=f"The labels file (default ./{DEFAULT_LABELS}, when it exists).")


def open_labels(labels_path: str | None, *, required: bool = False):
    """The labels store of *labels_path* (or the default file when present); None when there is none."""
    from pathlib import Path

    from scantui.labels import LabelsStore

    path = labels_path or DEFAULT_LABELS
    if labels_path is None and not Path(path).exists():
        if required:
            from scantui.errors import InputError

            raise InputError("no labels file (give --labels FILE)", path=path)
        return None
    return LabelsStore.load(path, must_exist=True)


def with_review(groups: list[dict], store) -> list[dict]:
    from scantui.labels.match import label_matches, review_state

    labelled = store.groups if store is not None else []
    for g in groups:
        g["labels"] = label_matches(labelled, g["members"])
        g["review"] = review_state(g["labels"])
    return groups


@click.command("groups")
@PATHS
@load_options
@telescope_options
@search_options
@click.option("--min-scans", type=click.IntRange(min=1), default=1, show_default=True,
              help="Fewest scans in a suggested group (1 keeps scans linked to nothing).")
@click.option("--top", type=click.IntRange(min=1), default=None, metavar="N", help=f"Only the N first groups (the table defaults to {TABLE_DEFAULT_TOP}).")
@LABELS_OPTION
@output_options
def groups_cmd(paths, load_opts, telescope, query, min_scans, top, labels_path, fmt):
    """Candidate scans tied into suggested groups by shared IPs, timing and partition."""
    from scantui.analysis.groups import COLUMNS, GroupQuery, suggest_groups

    store = open_labels(labels_path)  # a broken labels file fails before the data is read
    result = run_collab(paths, load_opts, telescope, query)
    print_notes(result)
    groups = with_review(suggest_groups(result.candidates, GroupQuery(min_scans=min_scans)), store)
    shown = groups[:top] if top is not None else groups
    if fmt == "json":
        print_json(shown)
    elif fmt == "csv":
        print_csv(shown, (*COLUMNS, "labels", "review"))
    else:
        shown = shown[:TABLE_DEFAULT_TOP] if top is None else shown
        _print_table(groups, shown, result, query)


SHORT_REASONS = {"shared_ips": "ips", "timing": "time", "partition": "split"}


def days_cell(days: list[str]) -> str:
    """``02-05`` or ``02-05..02-12 (4)`` (month-day; the year is in the JSON)."""
    return days[0][5:] if len(days) == 1 else f"{days[0][5:]}..{days[-1][5:]} ({len(days)})"


def split_cell(split: list[float], cover: int = 1) -> str:
    """``1/9 each`` for an equal split (``1/2 each x2`` for a double cover), else percentages ``83:17``."""
    if not split:
        return ""
    times = f" x{cover}" if cover > 1 else ""
    if split[0] <= 1.25 * split[-1]:
        return f"1/{max(round(len(split) / cover), 1)} each{times}"
    return ":".join(f"{s * 100:.0f}" for s in split[:4]) + ("…" if len(split) > 4 else "") + times


def _print_table(groups, shown, result, query) -> None:
    rows = [[
        g["group"], str(g["scans"]), f"{g['n_members']:,}", ",".join(map(str, g["ports"][:4])) + ("…" if len(g["ports"]) > 4 else ""),
        days_cell(g["days"]), "+".join(SHORT_REASONS[r] for r in g["reasons"]) or "-", g["timing"] or "",
        split_cell(g["split"], g["cover_multiple"]), ",".join(g["asns"][:2]), g["review"] + (f" {g['labels'][0]['id']}" if g["labels"] else ""),
    ] for g in shown]
    title = (f"groups: {len(groups):,} suggested from {len(result.candidates):,} candidate scans; "
             f"window {query.window_label}")
    print_table(title, ["group", "scans", "ips", "ports", "days", "reasons", "timing", "split", "AS", "review"], rows)
    if len(shown) < len(groups):
        stderr_console().print(f"showing {len(shown)} of {len(groups):,} groups; use --top N or --json for more", markup=False)


COMMANDS = [groups_cmd]
