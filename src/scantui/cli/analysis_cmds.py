"""Commands over the rollup: ``scanners`` (one row per source with its behaviour).

Every option value is checked before any data is read, so a bad ``--sort``,
``--cidr`` or rules file is one line and exit 2 at once. The list comes from
:meth:`scantui.workspace.Workspace.scanners` (the rollup built on first use).
``org``, ``category`` and ``rule`` come from :mod:`scantui.enrich.rules` (an
enrichment table given as a PATH adds AS, hostname and company to match on).
"""

from __future__ import annotations

import click

from scantui.cli.data_cmds import PATHS, RULES_OPTION, list_output_options, load_options, on_rollup, open_workspace, scale_options, telescope_options
from scantui.cli.option_types import counts
from scantui.cli.output import fit_columns, growing_slices, message, print_table, say_left_out, write_out
from scantui.cli.query_opts import (DAY_OPTION, LABELS_OPTION, QUERY_OPTION, open_labels, parse_day_options,
                                    parse_query_option)

#: Rows shown by the terminal table when ``--top`` is not given (JSON/CSV list every source).
TABLE_DEFAULT_TOP = 50

# (column, header, priority): the table shows the highest-priority columns that fit the terminal,
# in this order; JSON and CSV carry every column.
_TABLE_COLUMNS = (
    ("src", "src", 0), ("packets", "packets", 0), ("ports", "ports", 1), ("dsts", "dsts", 2),
    ("days_active", "days", 4), ("tool", "tool", 0), ("range_class", "range", 1), ("schedule", "schedule", 1),
    ("period_days", "period", 5), ("picture", "picture", 3), ("avg_scan_interval_days", "interval", 6),
    ("coverage_max", "cover", 7), ("first_seen", "first seen", 9), ("last_seen", "last seen", 9),
    ("asn", "asn", 8), ("org", "org", 8), ("category", "category", 8), ("as_name", "as name", 10), ("country", "cc", 10),
    ("rule", "rule", 11),
)
#: Shown (after the tool) only when some listed source is on a known-scanner list (``scantui lists``).
_LIST_COLUMN = ("list", "list", 2)


@click.command("scanners")
@PATHS
@click.option("--port", "ports", default=None, metavar="N[,N...]", help="Only packets to these destination ports.")
@click.option("--tool", "tools", default=None, metavar="TOOL[,TOOL...]", help="Only sources whose dominant tool is one of these (zmap: also a ZMap found by its address walk).")
@click.option("--cidr", "cidrs", default=None, metavar="CIDR[,CIDR...]", help="Only sources inside these blocks.")
@click.option("--asn", "asns", default=None, metavar="N[,N...]", help="Only sources announced by these ASNs (needs enrichment).")
@click.option("--since", default=None, metavar="ISO", help="First UTC day to include (a time is rounded down to its day).")
@click.option("--until", default=None, metavar="ISO", help="Last UTC day to include (inclusive; a time selects its whole day).")
@click.option("--min-packets", type=counts(), default=0, help="Only sources with at least N selected packets.")
@click.option("--sort", "sort_by", default="packets", show_default=True, metavar="COL", help="Column to sort by (any listed column).")
@click.option("--desc/--asc", "descending", default=True, show_default=True, help="Sort order.")
@click.option("--top", type=counts(None, rows=True), default=None, metavar="N", help=f"Only the first N rows (the table defaults to {TABLE_DEFAULT_TOP}).")
@click.option("--include-udp", is_flag=True, help="Count UDP packets as well as TCP probes.")
@DAY_OPTION
@QUERY_OPTION
@LABELS_OPTION
@RULES_OPTION
@load_options
@telescope_options
@list_output_options
@scale_options
def scanners_cmd(paths, ports, tools, cidrs, asns, since, until, min_packets, sort_by, descending, top, include_udp,
                 day_span, query_text, labels_path, rules_path, load_opts, telescope, fmt):
    """One row per scanning source: volume, tools, range, schedule, picture, coverage."""
    from scantui.analysis import scanners as sc

    top_given = top is not None
    row_query = parse_query_option(query_text)
    first, last = parse_day_options(since, until, day_span) or (None, None)
    cut = top if top_given or fmt != "table" else TABLE_DEFAULT_TOP
    query = sc.ScannerQuery(
        ports=sc.parse_ports(ports) if ports else (),
        tools=tuple(t.strip().lower() for t in tools.split(",") if t.strip()) if tools else (),
        cidrs=sc.parse_source_cidrs(cidrs) if cidrs else (),
        asns=sc.parse_asns(asns) if asns else (),
        since=first,
        until=last,
        min_packets=min_packets,
        include_udp=include_udp,
        sort=sort_by,
        descending=descending,
        top=cut if row_query is None else None,  # (with --query: cut after the rows are filtered)
    )
    from scantui.enrich.rules import load_rules

    rules = load_rules(rules_path)  # a bad rules file fails before the data is read
    # tag: note: label: review: read the labels file (read before the data, so a bad file fails first)
    store = open_labels(labels_path) if row_query is not None and _needs_labels(row_query) else None
    if row_query is None:
        result = _run(paths, load_opts, telescope, query, rules)
    else:
        result = _run_query(paths, load_opts, telescope, query, rules, row_query, cut, store)
    for note in result.notes:
        message(f"scantui: note: {note}")
    if fmt in ("json", "jsonl", "csv"):
        from scantui.analysis.scanners_text import scanners_pieces

        # built in bulk from the frame (a per-row loop took most of the time on a large list), as UTF-8 bytes,
        # a slice of rows at a time: a reader that went away (| head -1) stops the encoding
        for piece in scanners_pieces(result.frame, fmt, sc.COLUMNS, growing_slices(result.frame.height)):
            write_out(piece)
    else:
        _print_scanner_table(result, query)
        if not top_given and result.total > result.frame.height:
            message(f"showing {result.frame.height} of {result.total:,} sources; use --top N or --json for more")


def _run(paths, load_opts, telescope, query, rules=None):
    ws = open_workspace(paths, load_opts, telescope)
    return on_rollup(ws, lambda: ws.scanners(query, rules=rules), "counting the scanner list")


def _needs_labels(row_query) -> bool:
    return any(t.key in ("tag", "note", "label", "review") for t in row_query.terms)


def _run_query(paths, load_opts, telescope, query, rules, row_query, cut, store=None):
    """The list of *query*, filtered by ``--query`` as the TUI's query bar does (ports and days from the
    rollup), then cut to *cut* rows; ``total`` counts the matching sources."""
    import dataclasses
    import datetime as dt

    from scantui.analysis.query import filter_scanners

    ws = open_workspace(paths, load_opts, telescope)
    result = on_rollup(ws, lambda: ws.scanners(query, rules=rules), "counting the scanner list")
    days = (query.since or dt.date.min, query.until or dt.date.max) if query.since or query.until else None
    frame = result.frame
    if _needs_labels(row_query):
        from scantui.workspace.source_notes import annotate_sources

        frame = annotate_sources(frame, store)
    # port: and day: match the sources of the list's kinds (UDP too under --include-udp)
    frame, notes = filter_scanners(frame, row_query, lambda r: ws.sources_on_ports(r, days=days, kinds=query.kinds),
                                   lambda spans: ws.sources_on_days(spans, kinds=query.kinds),
                                   ws.sources_of_sensors)
    frame = frame.select(result.frame.columns)
    return dataclasses.replace(result, frame=frame.head(cut) if cut is not None else frame, total=frame.height,
                               notes=[*result.notes, *notes])


def _cell(column: str, value) -> str:
    if value is None:
        return "-"
    if column == "list":
        return ", ".join(value) or "-"
    if column in ("first_seen", "last_seen"):
        return value.strftime("%Y-%m-%d %H:%M")
    if column == "coverage_max":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, int) and column != "asn":
        return f"{value:,}"
    return str(value)


def _tool_label(row: dict) -> str | None:
    """The tool column's text: ``zmap (walk)`` for a ZMap found by its address walk alone."""
    return "zmap (walk)" if row.get("variant") == "walk" else row["tool"]


def _print_scanner_table(result, query) -> None:
    from scantui.analysis.scanners import records
    from scantui.cli.output import stdout_console

    recs = records(result.frame)
    raw = result.frame.to_dicts()
    columns = _TABLE_COLUMNS
    if any(row.get("list") for row in raw):
        at = next(i for i, c in enumerate(columns) if c[0] == "tool") + 1
        columns = (*columns[:at], _LIST_COLUMN, *columns[at:])
    rows = [[_cell(c, rec[c] if c == "src" else _tool_label(raw_row) if c == "tool" else raw_row[c]) for c, _, _ in columns]
            for rec, raw_row in zip(recs, raw)]
    width = stdout_console().width
    show = fit_columns(rows, columns, width)
    kinds = " + ".join(query.kinds)
    window = f"{result.first_day} + {result.n_days} days" if result.first_day else "no data"
    title = (f"scanners: {result.frame.height:,} of {result.total:,} sources ({kinds}); "
             f"telescope {result.telescope_size:,} addresses; {window}")
    print_table(title, [columns[i][1] for i in show], ([r[i] for i in show] for r in rows))
    say_left_out("scanners", [c[1] for c in columns], show, width)


COMMANDS = [scanners_cmd]
