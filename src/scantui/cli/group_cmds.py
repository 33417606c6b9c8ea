"""``scantui groups`` and ``scantui track``: suggested groups, and one group over the whole data.

``groups`` runs the collaborative-scan search (same options as ``collab``) and
ties its scans into suggestions (:mod:`scantui.analysis.groups`); with a labels
file each suggestion says which labelled groups it matches and its review state.
``track`` describes one group, labelled (``--group ID`` from the labels file) or
suggested (``--group S03``), with the figures of :mod:`scantui.analysis.tracking`.
"""

from __future__ import annotations

import click

from scantui.cli.collab_cmds import add_notes_column, add_notes_field, member_notes_of, print_notes, search_options
from scantui.cli.data_cmds import PATHS, list_output_options, load_options, on_rollup, open_workspace, output_options, scale_options, telescope_options
from scantui.cli.option_types import counts
from scantui.cli.output import fit_columns, message, print_csv, print_json, print_jsonl, print_table, say_left_out, stdout_console, write_out
from scantui.cli.query_opts import DEFAULT_LABELS, LABELS_OPTION, open_labels, record_filter_options
from scantui.present import asns_cell, days_cell, list_cell, reasons_cell, split_cell

TABLE_DEFAULT_TOP = 50
# (key, header, priority): the table shows the highest-priority columns that fit the terminal (as ``scanners``);
# JSON and CSV carry every field. The notes column, when some row has one, comes last with priority 2.
_TABLE_COLUMNS = (
    ("group", "group", 0), ("scans", "scans", 0), ("ips", "ips", 0), ("ports", "ports", 1), ("days", "days", 2),
    ("reasons", "reasons", 3), ("timing", "timing", 5), ("split", "split", 6), ("AS", "AS", 4), ("review", "review", 1),
)


def reviews_of(groups: list, store) -> list[tuple[str, list[dict]]]:
    """Each suggestion's review state and matching labelled groups, as the TUI shows them: ``labelled``/``rejected``
    when its scans are recorded in a group, ``same_ips`` when a group only holds its IPs."""
    from scantui.labels.match import ScanIndex, scan_key

    index = ScanIndex(store.groups if store is not None else [])
    return [index.review(g.member_ips, [scan_key(c.port, c.day, c.source_ips) for c in g.scans]) for g in groups]


@click.command("groups")
@PATHS
@load_options
@telescope_options
@search_options
@click.option("--min-scans", type=counts(1), default=1, show_default=True,
              help="Fewest scans in a suggested group (1 keeps scans linked to nothing).")
@click.option("--top", type=counts(1, rows=True), default=None, metavar="N", help=f"Only the N first groups (the table defaults to {TABLE_DEFAULT_TOP}).")
@click.option("--pools", is_flag=True, help="After the table, a summary of each group of 100+ sources: members "
              "active per time bin, shares, members by /24 and AS (text only).")
@LABELS_OPTION
@record_filter_options("groups")
@list_output_options
@scale_options
def groups_cmd(paths, load_opts, telescope, query, min_scans, top, pools, labels_path, record_filter, fmt):
    """Candidate scans tied into suggested groups by shared IPs, timing and partition."""
    from scantui.analysis.groups import COLUMNS, GroupQuery

    if pools and fmt != "table":
        raise click.UsageError("--pools prints text after the table: not with --json, --jsonl or --csv")
    store = open_labels(labels_path)  # a broken labels file fails before the data is read
    notes = member_notes_of(store) if labels_path is not None else None
    ws = open_workspace(paths, load_opts, telescope)
    result = on_rollup(ws, lambda: ws.collab(query), "searching candidate scans")
    print_notes(result)
    groups = ws.groups(query, GroupQuery(min_scans=min_scans))
    found = len(groups)
    if record_filter is not None:
        groups = record_filter.keep(groups, store)
    shown = groups[:top] if top is not None else groups
    if fmt in ("json", "jsonl", "csv"):
        from scantui.cli.shapes import group_rows

        rows = group_rows(shown, reviews_of(shown, store))
        if notes is not None and fmt != "csv":
            add_notes_field(rows, shown, notes)
        print_json(rows) if fmt == "json" else print_jsonl(rows) if fmt == "jsonl" else print_csv(rows, (*COLUMNS, "labels", "review"))
    else:
        shown = shown[:TABLE_DEFAULT_TOP] if top is None else shown
        pool_text = ""
        if pools:  # read before the table is printed: a read that fails there leaves stdout empty
            from scantui.cli.pool_text import pools_text

            pool_text = pools_text(ws, shown)
        _print_table(groups, shown, reviews_of(shown, store), result, query, found, notes)
        if pool_text:
            write_out(pool_text)


def _print_table(groups, shown, reviews, result, query, found, notes=None) -> None:
    rows = [[
        g.group, str(g.n_scans), f"{g.n_members:,}", list_cell(g.ports, 4),
        days_cell(g.days), reasons_cell(g.reasons), g.timing or "",
        split_cell(g.split, g.cover_multiple), asns_cell(g.asns[:2]), review + (f" {labels[0]['id']}" if labels else ""),
    ] for g, (review, labels) in zip(shown, reviews)]
    matching = f"{len(groups):,} of {found:,}" if len(groups) != found else f"{found:,}"
    title = (f"groups: {matching} suggested from {len(result.candidates):,} candidate scans; "
             f"window {query.window_label}")
    columns = [header for _key, header, _priority in _TABLE_COLUMNS]
    add_notes_column(columns, rows, shown, notes)
    fit = [*_TABLE_COLUMNS, *(("notes", "notes", 2),) * (len(columns) - len(_TABLE_COLUMNS))]
    width = stdout_console().width
    show = fit_columns(rows, fit, width)
    print_table(title, [columns[i] for i in show], ([row[i] for i in show] for row in rows))
    say_left_out("groups", columns, show, width)
    if len(shown) < len(groups):
        message(f"showing {len(shown)} of {len(groups):,} groups; use --top N or --json for more")


@click.command("track")
@PATHS
@load_options
@telescope_options
@search_options
@click.option("--group", "group_id", required=True, metavar="ID", help="A group id of the labels file, or a suggestion id (S01...) of `scantui groups` run with the same options.")
@click.option("--min-cover", type=click.FloatRange(0.0, 10.0, min_open=True), default=0.5, show_default=True,
              help="A scan is a (day, port) where the members reach at least this share of the telescope.")
@LABELS_OPTION
@output_options
@scale_options
def track_cmd(paths, load_opts, telescope, query, group_id, min_cover, labels_path, fmt):
    """One group over the whole data: longevity, scans per day, weekday/monthday, ports, split, timing, sizes."""
    import functools

    from scantui.analysis.tracking import TrackQuery

    store = open_labels(labels_path)
    workspace = functools.cache(lambda: open_workspace(paths, load_opts, telescope))  # after the group is known
    origin, members, title = _resolve_group(group_id, store, labels_path, workspace, query)
    result = workspace().track(members, TrackQuery(min_cover=min_cover))
    if fmt == "json":
        print_json({"group": group_id, "origin": origin, "title": title, **result.to_json()})
    elif fmt == "csv":
        print_csv([s.to_json() for s in result.scans], ("day", "port", "start", "end", "n_sources", "union", "cover",
                                                        "cover_multiple", "timing", "packets", "sources", "split"))
    else:
        _print_track(group_id, origin, title, result)


def _resolve_group(group_id, store, labels_path, workspace, query):
    """(origin, members, title) of a labelled group or a suggestion (``workspace()`` opens the data for those)."""
    import re

    from scantui.errors import InputError

    if store is not None and group_id in store:
        group = store.get(group_id)
        return "labels", list(group.members), group.title
    if re.fullmatch(r"S\d+", group_id):
        groups = workspace().groups(query)
        found = next((g for g in groups if g.group == group_id), None)
        if found is None:
            raise InputError(f"no suggestion {group_id} ({len(groups)} suggested: "
                             f"{groups[0].group + '..' + groups[-1].group if groups else 'none'})", where="--group")
        return "suggestion", list(found.member_ips), None
    if store is None:  # (no labels file: saying "not in the labels file" sent users looking for one that is not there)
        raise InputError(f"no group {group_id!r}: no labels file ({DEFAULT_LABELS} is not here; --labels FILE names "
                         "one), and suggestion ids look like S01", where="--group")
    known = ", ".join(store.ids[:10])
    raise InputError(f"no group {group_id!r} in the labels file" + (f" (it has: {known})" if known else "")
                     + "; suggestion ids look like S01", path=str(store.path))


def _print_track(group_id, origin, title, doc) -> None:
    from scantui.analysis.collab_types import dotted
    from scantui.analysis.track_types import iso_z
    from scantui.analysis.tracking import summary_line, who_line
    from scantui.cli.output import print_mapping

    name = group_id + (f" ({title})" if title else "")
    message(f"{name}: {summary_line(doc)}")
    if not doc.seen:
        return
    print_mapping(f"track {name}", [
        ("from", origin), ("members listed", list_cell(doc.members, 6, ", ")),
        ("active members", len(doc.active_members)), ("first seen", iso_z(doc.first_seen_us)),
        ("last seen", iso_z(doc.last_seen_us)), ("active days", f"{doc.active_days} of {doc.span_days}"),
        ("packets", doc.packets), ("scans", doc.n_scans),
        ("timing", ", ".join(f"{k} {v}" for k, v in doc.timing_counts()) or "-"),
        ("group size", ", ".join(f"{k}: {v}" for k, v in doc.size_histogram()) or "-"),
        ("scans by day of month", " ".join(f"{d}:{n}" for d, n in enumerate(doc.day_of_month(), start=1) if n) or "-"),
        ("who", who_line(doc.member_info)),
    ])
    print_table("scans", ["day", "port", "n", "cover", "split", "timing", "start", "end"], [
        [f"{s.day:%m-%d}", str(s.port), str(s.n_sources), f"{s.cover_multiple}x {s.cover:.0%}",
         split_cell(sorted(s.split, reverse=True), s.cover_multiple), str(s.timing), f"{s.start:%H:%M}",
         f"{s.end:%m-%dT%H:%M}"]
        for s in doc.scans[:TABLE_DEFAULT_TOP]])
    weekdays = doc.day_of_week()
    print_table("scans per weekday", [d for d, _n in weekdays], [[str(n) for _d, n in weekdays]])
    print_table("ports", ["port", "scans", "packets", "days"],
                [[str(p.port), str(p.scans), f"{p.packets:,}", str(p.days)] for p in doc.ports[:10]])
    print_table("split per member", ["member", "scans", "mean", "min", "max", "same share"], [
        [dotted(m.member), str(m.scans), f"{m.mean_share:.3f}", f"{m.min_share:.3f}", f"{m.max_share:.3f}",
         "yes" if m.stable else "no"] for m in doc.member_split[:20]])


COMMANDS = [groups_cmd, track_cmd]
