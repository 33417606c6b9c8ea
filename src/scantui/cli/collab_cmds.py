"""``scantui collab``: candidate collaborative scans, ranked by score.

Every option is checked before any data is read (a bad ``--window`` or
``--tolerance`` is one line and exit 2 at once). The rollup is opened (built on
first use) for its ``port_day`` pre-filter, AS-per-day enrichment and telescope
estimate; only the packets of candidate groups are then read, lazily. The
algorithm is documented in :mod:`scantui.analysis.collab`.
"""

from __future__ import annotations

import functools

import click

from scantui.cli.data_cmds import PATHS, list_output_options, load_options, on_rollup, open_workspace, scale_options, telescope_options
from scantui.cli.option_types import counts
from scantui.cli.output import message, print_csv, print_json, print_jsonl, print_table
from scantui.cli.query_opts import LABELS_OPTION, open_labels, record_filter_options
from scantui.present import cover_cell

#: Rows shown by the terminal table when ``--top`` is not given (JSON/CSV list every candidate).
TABLE_DEFAULT_TOP = 50


def search_options(func):
    """The collaborative-scan search options, turned into a ``query`` (CollabQuery) before data is read.

    Goes below ``telescope_options`` (it needs the parsed ``telescope`` pair).
    """

    @click.option("--by", "by", default="all", show_default=True,
                  metavar="prefix24|asn|zmap_generator|fingerprint|both|all",
                  help="Group sources by /24, by AS (per day, from the data's asn column), by the generator of their "
                       "ZMap walk (zmap_generator: shards of one scan), by a rare header-artifact fingerprint (per day; "
                       "ties pools across ASes), both /24 and AS (the thesis' rule), or all (the default); kinds may be joined by commas.")
    @click.option("--window", default="burst", show_default=True, metavar="burst|day|SPAN",
                  help="The sources' bursts (default: scans at any hour, across midnight), the UTC calendar day (the thesis' definition), or a rolling span (24h, 48h, 90m, 2d) for scans running slowly.")
    @click.option("--tool", "tools", default=None, metavar="TOOL[,TOOL...]", help="Only probes fingerprinted as these tools (default: every tool; zmap: also the probes of a source and port whose ZMap walk matched that day).")
    @click.option("--port", "ports", default=None, metavar="N[,N...]", help="Only these destination ports.")
    @click.option("--min-sources", type=counts(2), default=2, show_default=True, help="Fewest members of a scan.")
    @click.option("--tolerance", default=None, metavar="LOW,HIGH",
                  help="Cover tolerance below/above N x telescope, as fractions or percentages (default: the study's 60,000-62,500 of 61,000, i.e. 1.64%,2.46%).")
    @functools.wraps(func)
    def wrapper(*args, by, window, tools, ports, min_sources, tolerance, telescope, **kwargs):
        query = _query(by, window, tools, ports, min_sources, tolerance, telescope)
        return func(*args, query=query, telescope=telescope, **kwargs)

    return wrapper


@click.command("collab")
@PATHS
@load_options
@telescope_options
@search_options
@click.option("--top", type=counts(1, rows=True), default=None, metavar="N", help=f"Only the N best candidates (the table defaults to {TABLE_DEFAULT_TOP}).")
@LABELS_OPTION
@record_filter_options("candidates")
@list_output_options
@scale_options
def collab_cmd(paths, query, top, load_opts, telescope, labels_path, record_filter, fmt):
    """Candidate collaborative scans: sources of one /24 or AS covering the telescope together."""
    from scantui.analysis import collab as cb

    # the labels file (review: and label: terms; --labels: the members' notes) fails before the data is read
    needs = labels_path is not None or (record_filter is not None and record_filter.needs_labels)
    store = open_labels(labels_path) if needs else None
    notes = member_notes_of(store) if labels_path is not None else None
    result = run_collab(paths, load_opts, telescope, query)
    print_notes(result)
    candidates = record_filter.keep(result.candidates, store) if record_filter is not None else result.candidates
    shown = candidates[:top] if top is not None else candidates
    if fmt in ("json", "jsonl", "csv"):
        from scantui.cli.shapes import collab_rows

        rows = collab_rows(shown)
        several = any(c.sensor_cover for c in result.candidates)  # several sensors: their columns too
        columns = (*cb.COLUMNS, "sensor", "sensors") if several else cb.COLUMNS
        if notes is not None and fmt != "csv":
            add_notes_field(rows, shown, notes)
        print_json(rows) if fmt == "json" else print_jsonl(rows) if fmt == "jsonl" else print_csv(rows, columns)
    else:
        shown = shown[:TABLE_DEFAULT_TOP] if top is None else shown
        _print_table(result, shown, query, len(candidates), notes)
        if len(shown) < len(candidates):
            message(f"showing {len(shown)} of {len(candidates):,} candidates; use --top N or --json for more")


def member_notes_of(store) -> dict:
    """The labels file's source notes by address, for the members' ``notes`` (``--labels FILE`` given)."""
    from scantui.workspace.member_notes import notes_by_address

    return notes_by_address(store)


def add_notes_field(rows: list, records, notes) -> None:
    """Each ``--json`` row gains ``notes``: its noted members (``[{"ip", "tags", "note"}]``, maybe empty)."""
    from scantui.workspace.member_notes import member_notes

    for row, record in zip(rows, records):
        row["notes"] = member_notes(record, notes)[1]


def add_notes_column(columns: list, rows: list, records, notes) -> None:
    """The table's ``notes`` column (noted members and their tags, ``2 · benign, cdn``), only when some row has one."""
    from scantui.workspace.member_notes import member_notes

    if not notes:
        return
    cells = [member_notes(record, notes)[0] for record in records]
    if any(cells):
        columns.append("notes")
        for row, cell in zip(rows, cells):
            row.append(cell or "")


def print_notes(result) -> None:
    for note in result.notes:
        message(f"scantui: note: {note}")


def _query(by, window, tools, ports, min_sources, tolerance, telescope):
    from scantui.analysis.collab_query import make_query

    cidrs, _size = telescope
    return make_query(by=by, window=window, tolerance=tolerance, tools=tools, ports=ports, min_sources=min_sources,
                      telescope_cidrs=cidrs)


def run_collab(paths, load_opts, telescope, query):
    """Every candidate (ranked) of the data at *paths*, from the cached rollup (:meth:`Workspace.collab`)."""
    ws = open_workspace(paths, load_opts, telescope)
    return on_rollup(ws, lambda: ws.collab(query), "searching candidate scans")


def _print_table(result, shown, query, matching, notes=None) -> None:
    rows = [
        [str(c.port), c.day.isoformat(), c.key.text, str(c.n_sources), cover_cell(c.cover_multiple, c.union, c.telescope_size),
         str(c.timing), f"{c.score:.1f}"]
        for c in shown
    ]
    columns = ["port", "day", "key", "n", "cover", "timing", "score"]
    if any(c.sensor_cover for c in result.candidates):  # several sensors: where it was found, what it reached
        from scantui.present import sensors_cell

        columns += ["found on", "reached"]
        for row, c in zip(rows, shown):
            row += sensors_cell(c)
    add_notes_column(columns, rows, shown, notes)
    found = len(result.candidates)
    count = f"{matching:,} of {found:,}" if matching != found else f"{found:,}"
    title = (f"collab: {count} candidates; telescope {result.telescope_size:,} "
             f"addresses; window {query.window_label}")
    print_table(title, columns, rows)


COMMANDS = [collab_cmd]
