"""``scantui similar``: the sources that behave like one source, several, or a labelled group's members.

Seeds come from ``--src IP[,IP|CIDR...]`` or ``--group ID`` of the labels file; both are checked
before any data is read (a bad address or an unknown group is one line and exit 2). The ranking is
:func:`scantui.analysis.similar.similar_sources` through the workspace; each row shows its score,
the parts it is made of and why, in words.
"""

from __future__ import annotations

import click

from scantui.cli.data_cmds import PATHS, list_output_options, load_options, open_workspace, scale_options, telescope_options
from scantui.cli.group_cmds import DEFAULT_LABELS, LABELS_OPTION, open_labels
from scantui.cli.output import message, print_csv, print_json, print_jsonl, print_table
from scantui.cli.option_types import counts


@click.command("similar")
@PATHS
@click.option("--src", "srcs", default=None, metavar="IP[,IP...]", help="The seed sources (IPs or CIDRs).")
@click.option("--group", "group_id", default=None, metavar="ID", help="Seed with a labelled group's members (the labels file).")
@click.option("--top", type=counts(1, rows=True), default=None, metavar="N",
              help="How many sources to rank (default 20).")
@LABELS_OPTION
@load_options
@telescope_options
@list_output_options
@scale_options
def similar_cmd(paths, srcs, group_id, top, labels_path, load_opts, telescope, fmt):
    """Sources that behave like the seeds (ports, tools, rate, coverage, timing, header artifacts), ranked."""
    from scantui.analysis.similar import DEFAULT_TOP, SimilarQuery, parse_seeds, seeds_of_members
    from scantui.analysis.similar_types import ROW_COLUMNS
    from scantui.errors import InputError

    if (srcs is None) == (group_id is None):
        raise click.UsageError("give either --src IP[,IP...] or --group ID")
    if srcs is not None:
        seeds = parse_seeds(srcs)
    else:
        store = open_labels(labels_path, required=True)
        if group_id not in store:
            known = ", ".join(store.ids[:10])
            raise InputError(f"no group {group_id!r} in the labels file" + (f" (it has: {known})" if known else ""),
                             path=str(store.path) if store is not None else (labels_path or DEFAULT_LABELS))
        seeds = seeds_of_members(store.get(group_id).members)
    query = SimilarQuery(seeds, top=top if top is not None else DEFAULT_TOP)
    result = open_workspace(paths, load_opts, telescope).similar(query)
    if fmt != "table":  # a table carries the summary as its title
        message(f"scantui: note: {result.summary()}")
    for note in result.notes:
        message(f"scantui: note: {note}")
    if fmt == "json":
        print_json(result.to_json())
    elif fmt == "jsonl":
        print_jsonl(result.to_json())
    elif fmt == "csv":
        print_csv([s.row() for s in result.sources], ROW_COLUMNS)
    else:
        _print_table(result)


def _part(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print_table(result) -> None:
    rows = [[str(s.rank), s.ip, f"{s.score:.3f}", s.ip_like, _part(s.ports), _part(s.tools), _part(s.rate),
             _part(s.coverage), _part(s.timing), _part(s.artifacts), s.tool, f"{s.packets:,}",
             " ".join(str(p) for p in s.top_ports), "; ".join(s.why)] for s in result.sources]
    print_table(f"similar: {result.summary()}",
                ["#", "src", "score", "like", "ports", "tools", "rate", "cover", "timing", "header", "tool", "packets",
                 "top ports", "why"], rows)


COMMANDS = [similar_cmd]
