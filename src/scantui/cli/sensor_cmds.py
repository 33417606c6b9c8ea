"""``scantui sensors``: the data's sensors compared (:mod:`scantui.analysis.sensors`).

Without ``--only``/``--not``: one row per sensor (packets, probes, sources, space, days). With
``--only A --not B``: also the sources seen by A but not by B and the candidate scans covering A's
space but not B's (the collab search run per sensor: :mod:`scantui.analysis.sensor_collab`).
``--json`` writes one document (``schemas/sensors.schema.json``); ``--csv`` the sensors, or with
``--only``/``--not`` the sources (the scans as CSV: ``collab --query 'sensor:A -sensor:B' --csv``).
Sensor names are data: printed through the safe-text helpers like every cell.
"""

from __future__ import annotations

import click

from scantui.cli.collab_cmds import search_options
from scantui.cli.data_cmds import PATHS, load_options, open_workspace, output_options, telescope_options
from scantui.cli.output import message, print_csv, print_json, print_table
from scantui.errors import InputError
from scantui.present import name_cell, sensors_cell

SENSOR_COLUMNS = ("sensor", "packets", "probes", "sources", "space", "days", "first_day", "last_day")
SOURCE_COLUMNS = ("src", "packets", "probes", "ports", "days", "first_day", "last_day")


@click.command("sensors")
@PATHS
@load_options
@telescope_options
@search_options
@click.option("--only", "only", default=None, metavar="A", help="With --not B: what sensor A saw and B did not.")
@click.option("--not", "not_", default=None, metavar="B", help="With --only A: the sensor that did not see it.")
@output_options
def sensors_cmd(paths, query, only, not_, load_opts, telescope, fmt):
    """The data's sensors compared: per-sensor figures; --only A --not B: sources and scans A saw and B did not."""
    if (only is None) != (not_ is None):
        raise click.UsageError("--only and --not go together")
    ws = open_workspace(paths, load_opts, telescope)
    summary = ws.sensor_summary()
    doc: dict = {"sensors": [s.to_json() for s in summary]}
    scans = []
    if only is not None:
        names = [s.sensor for s in summary]
        for option, name in (("--only", only), ("--not", not_)):
            if name not in names:
                known = ", ".join(map(name_cell, names)) if names else "none"
                raise InputError(f"no sensor {name!r} in the data (sensors: {known})", where=option)
        if only == not_:
            raise click.UsageError("--only and --not name the same sensor")
        from scantui.analysis.collab_types import dotted
        from scantui.analysis.sensor_collab import covering

        sources = ws.seen_by_not(only, not_)
        scans = covering(ws.collab(query).candidates, only, not_)
        doc.update({"only": only, "not": not_,
                    "sources": [{**row, "src": dotted(row["src"]), "first_day": row["first_day"].isoformat(),
                                 "last_day": row["last_day"].isoformat()} for row in sources.iter_rows(named=True)],
                    "scans": [c.to_json() for c in scans]})
    if fmt == "json":
        print_json(doc)
    elif fmt == "csv":
        print_csv(doc["sources"], SOURCE_COLUMNS) if only is not None else print_csv(doc["sensors"], SENSOR_COLUMNS)
    else:
        _print_tables(doc, scans)


def _print_tables(doc: dict, scans: list) -> None:
    # names cut in the table (name_cell); --json/--csv carry them whole
    rows = [["-" if r[c] is None else name_cell(r[c]) if c == "sensor" else str(r[c]) for c in SENSOR_COLUMNS]
            for r in doc["sensors"]]
    print_table(f"sensors: {len(rows)}", list(SENSOR_COLUMNS), rows)
    if "only" not in doc:
        if len(rows) < 2:
            message("scantui: note: fewer than two sensors in the data: nothing to compare")
        return
    only, not_ = name_cell(doc["only"]), name_cell(doc["not"])
    seen = f"seen by {only} but not by {not_}"
    print_table(f"sources {seen}: {len(doc['sources']):,}", list(SOURCE_COLUMNS),
                [[str(r[c]) for c in SOURCE_COLUMNS] for r in doc["sources"]])
    print_table(f"scans covering {only}'s space but not {not_}'s: {len(doc['scans']):,}",
                ["port", "day", "key", "n", "found on", "reached", "score"],
                [[str(c.port), c.day.isoformat(), c.key.text, str(c.n_sources), *sensors_cell(c), f"{c.score:.1f}"]
                 for c in scans])


COMMANDS = [sensors_cmd]
