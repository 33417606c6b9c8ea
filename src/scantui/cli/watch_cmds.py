"""``scantui watch PATH... --labels FILE``: say when a labelled group is back (for cron).

Runs the collaborative-scan search (the options of ``collab``) and prints one line per
*new* hit on stdout (:mod:`scantui.labels.watch`: a labelled group scanning again, a
rejected one returning in a new shape), or ``--json`` (one array) / ``--jsonl`` (one
object a line). What fired is remembered in the state file (``--state``, default
``FILE.watch.json`` beside the labels file), written after the output, so the next run on
the same data prints nothing. A run holds the state file's lock from reading it to writing it:
a second run at once waits for it (``--wait``, then one error line, exit 2) and reports only
what the first did not. Exit 1 when something fired, 0 when nothing did, 2 on bad input (the
labels file, the state file and its folder's writability, the saved views and the options are
checked before any data is read).

Saved views marked ``watch: true`` in the config file are watched too: each source (``scanners``
area) or candidate scan (``candidates``) its query matches that it did not match before is a line
``view NAME ...``; a view's first run is its baseline (remembered, one note on stderr, not reported).
"""

from __future__ import annotations

import click

from scantui.cli.collab_cmds import search_options
from scantui.cli.data_cmds import PATHS, load_options, open_workspace, scale_options, telescope_options
from scantui.cli.option_types import seconds
from scantui.cli.output import message, print_json, print_jsonl, write_out
from scantui.safetext import safe_line
from scantui.cli.query_opts import LABELS_OPTION, open_labels


@click.command("watch")
@PATHS
@load_options
@telescope_options
@search_options
@LABELS_OPTION
@click.option("--state", "state_path", default=None, metavar="FILE",
              help="What already fired (default: the labels file's name + .watch.json, beside it).")
@click.option("--since", default=None, metavar="ISO", help="Only scans on or after this UTC day.")
@click.option("--wait", default=300.0, type=seconds(0, 604_800), show_default=True, metavar="SECONDS",
              help="How long to wait for another watch run on the same state file (then exit 2).")
@click.option("--json", "as_json", is_flag=True, help="The new hits as one JSON array on stdout.")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="One JSON object per new hit (JSON Lines).")
@scale_options
@click.pass_context
def watch_cmd(ctx, paths, query, load_opts, telescope, labels_path, state_path, since, wait, as_json, as_jsonl):
    """Say when a labelled group is back: one line per new scan of it (exit 1 when something fired)."""
    from scantui.analysis.scanners import parse_day
    from scantui.labels.watch import default_state_path, locked_state

    if as_json and as_jsonl:
        raise click.UsageError("--json and --jsonl exclude each other")
    first = parse_day(since, "--since") if since is not None else None
    store = open_labels(labels_path, required=True)
    with locked_state(state_path or default_state_path(store.path), wait) as state:
        fired = _run(state, paths, query, load_opts, telescope, store, first, as_json, as_jsonl)
    ctx.exit(1 if fired else 0)


def _run(state, paths, query, load_opts, telescope, store, first, as_json, as_jsonl) -> list:
    """Compute, print and remember the new hits (under the state file's lock); the hits that fired."""
    from scantui.workspace.watch import watch_hits

    views = watched_views()
    ws = open_workspace(paths, load_opts, telescope)
    result = ws.collab(query)
    fired = state.fresh(watch_hits(store.groups, result.candidates, since=first))
    primed = False
    for view in views:
        rows = view_rows(view, ws, result.candidates, store)
        if not state.primed(view.name):
            state.prime(view.name, rows)
            primed = True
            message(f"scantui: note: saved view '{safe_line(view.name)}': watched from now on "
                    f"({len(rows)} row{'s' if len(rows) != 1 else ''} match it now)")
        else:
            fired += state.fresh(rows)
    if as_json:
        print_json([h.to_json() for h in fired])
    elif as_jsonl:
        print_jsonl(h.to_json() for h in fired)
    elif fired:
        write_out("".join(h.line() + "\n" for h in fired))
    if fired or primed:
        state.remember(fired)
        state.save()
    return fired


def watched_views() -> list:
    """The saved views marked ``watch: true`` in the config file, their queries checked (before any data is read)."""
    from scantui.analysis.query import QueryError, RECORD_FIELDS, SCANNER_FIELDS, parse_query
    from scantui.config import saved_views
    from scantui.errors import InputError

    views = [v for v in saved_views() if v.watch]
    for view in views:
        try:
            parse_query(view.query, RECORD_FIELDS if view.area == "candidates" else SCANNER_FIELDS)
        except QueryError as exc:
            raise InputError(f"saved view {view.name!r}: {exc}", where="views") from None
    return views


def view_rows(view, ws, candidates, store) -> list:
    from scantui.workspace.watch import candidate_view_hits, scanner_view_hits

    if view.area == "candidates":
        return candidate_view_hits(view, candidates, store)
    return scanner_view_hits(view, ws, store)


COMMANDS = [watch_cmd]
