"""Commands about data in and out: ``open``, ``info``, ``ingest``, ``sample``."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from scantui.cli.option_types import Finite, seconds
from scantui.cli.output import message, print_json, print_mapping, write_out
from scantui.cli.write_errors import writes
from scantui.errors import shown_path
from scantui.present import name_cell


def _known_zone(_ctx, _param, value: str) -> str:
    """A zone the loaders' polars knows, else a usage error before any data is read (it was the first input's
    error, as if the file were at fault, and no error at all for inputs whose times carry a zone)."""
    import polars as pl

    try:
        pl.Series([0], dtype=pl.Datetime("us")).dt.replace_time_zone(value)
    except (pl.exceptions.PolarsError, ValueError):
        raise click.BadParameter(f"{value!r} is not a known time zone (e.g. UTC, Europe/Berlin)") from None
    return value


# names of other formats: ``ingest`` and ``enrich`` write Parquet only, and a Parquet file under such a name misleads whoever opens it
_NOT_PARQUET = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".log", ".pcap", ".pcapng", ".cap",
                ".gz", ".zst", ".bz2", ".xz", ".ips", ".lst", ".arrow", ".feather")


def check_parquet_name(out: Path, command: str, *, folder: bool = False) -> None:
    """A usage error, before any input is read, when the Parquet output file's suffix names another format
    (``ingest``, ``enrich``). A *folder* (``ingest --partition-by``) is a folder whatever its name: ``-o x.csv`` is
    then a folder of Parquet files."""
    if not folder and out.suffix.lower() in _NOT_PARQUET:
        hint = "a .parquet name, or a folder with --partition-by" if command == "ingest" else "a .parquet name"
        raise click.BadParameter(f"{command} writes Parquet only; {out.suffix!r} names another format (use {hint})",
                                 ctx=click.get_current_context(), param_hint="'-o' / '--output'")


def load_options(func):
    """Options every command that reads data takes."""

    @click.option("--year", type=click.IntRange(1, 9999), default=None, metavar="N",
                  help="Year of the first line of a syslog LOG whose timestamps carry none (default: its last line is "
                       "taken to be of the past twelve months, and a note says which year).")
    @click.option("--tz", default="UTC", show_default=True, callback=_known_zone,
                  help="Time zone of timestamps that carry none.")
    @click.option("--allow-truncated", is_flag=True, help="Skip (and count) a record cut off at the end of a capture, or a CSV/LOG last line without a line end, instead of failing.")
    @click.option("--skip-bad-rows", is_flag=True, help="Skip (and count) CSV/LOG rows with unparseable values instead of failing.")
    @click.option("--sensor", default=None, help="Sensor name for inputs that carry none.")
    @functools.wraps(func)
    def wrapper(*args, year, tz, allow_truncated, skip_bad_rows, sensor, **kwargs):
        from scantui.io.options import LoadOptions

        opts = LoadOptions(year=year, tz=tz, allow_truncated=allow_truncated, skip_bad_rows=skip_bad_rows, sensor=sensor)
        return func(*args, load_opts=opts, **kwargs)

    return wrapper


#: Where :func:`scale_options` keeps the command's runner (``click.Context.meta``).
RUNNER_KEY = "scantui.runner"


def scale_options(func):
    """``--workers N`` / ``--scheduler ADDRESS``: build the rollup on Dask (:mod:`scantui.analysis.runner`).

    The runner is kept on the click context (:func:`command_runner`, read by :func:`open_workspace`)
    and closed with it; a ``--scheduler`` is connected here, so a wrong address fails before any
    data is read. Without either option nothing of Dask is imported.
    """
    @click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
                  help="Build the rollup on a local Dask cluster of N worker processes (needs scantui[scale]).")
    @click.option("--scheduler", default=None, metavar="ADDRESS",
                  help="Build the rollup on the Dask cluster at ADDRESS (tcp://HOST:8786); every worker must see "
                       "the inputs and the cache folder under the same paths.")
    @functools.wraps(func)
    def wrapper(*args, workers, scheduler, **kwargs):
        if workers is not None and scheduler is not None:
            raise click.UsageError("--workers and --scheduler exclude each other")
        if workers is not None or scheduler is not None:
            from scantui.analysis.runner import make_runner

            ctx = click.get_current_context()
            ctx.meta[RUNNER_KEY] = runner = make_runner(workers, scheduler)
            ctx.call_on_close(runner.close)
        return func(*args, **kwargs)

    return wrapper


def command_runner():
    """The runner :func:`scale_options` made for the running command (None: build in this process)."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(RUNNER_KEY) if ctx is not None else None


def output_options(func):
    """``--json`` and ``--csv``: *func* gets ``fmt`` (``json``, ``csv`` or ``table``)."""
    @click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
    @click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout.")
    @functools.wraps(func)
    def wrapper(*args, as_json, as_csv, **kwargs):
        if as_json and as_csv:
            raise click.UsageError("--json and --csv exclude each other")
        return func(*args, fmt="json" if as_json else "csv" if as_csv else "table", **kwargs)

    return wrapper


def list_output_options(func):
    """:func:`output_options` plus ``--jsonl`` (``fmt="jsonl"``: one JSON object per line), for list commands."""
    @click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
    @click.option("--jsonl", "as_jsonl", is_flag=True, help="One JSON object per line on stdout (JSON Lines).")
    @click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout.")
    @functools.wraps(func)
    def wrapper(*args, as_json, as_jsonl, as_csv, **kwargs):
        if as_json + as_jsonl + as_csv > 1:
            raise click.UsageError("--json, --jsonl and --csv exclude each other")
        fmt = "json" if as_json else "jsonl" if as_jsonl else "csv" if as_csv else "table"
        return func(*args, fmt=fmt, **kwargs)

    return wrapper


def telescope_options(func):
    @click.option("--telescope", default=None, metavar="CIDR[,CIDR...]", help="The telescope's address blocks (default: estimated from the data).")
    @click.option("--telescope-size", type=int, default=None, metavar="N", help="The telescope's address count, when the CIDRs are not to be named.")
    @functools.wraps(func)
    def wrapper(*args, telescope, telescope_size, **kwargs):
        if telescope and telescope_size is not None:
            raise click.UsageError("--telescope and --telescope-size exclude each other")
        if telescope:
            from scantui.analysis.telescope import parse_cidrs

            parse_cidrs(telescope)  # fail before any data is read
        return func(*args, telescope=(telescope, telescope_size), **kwargs)

    return wrapper


PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))

RULES_OPTION = click.option(
    "--rules", "rules_path", default=None, metavar="FILE",
    help="Your organization rules, merged over the shipped ones (default: enrich.rules in the config file, "
         "or rules.yaml beside it).")


def _open(paths, load_opts):
    from scantui.io.loader import open_inputs

    return open_inputs(paths, load_opts)


def open_workspace(paths, load_opts, telescope):
    """The :class:`~scantui.workspace.Workspace` of *paths* with its rollup open (built on first use,
    with a progress bar on a terminal); every command over the rollup starts here."""
    from scantui.cli.progress import run_with_progress
    from scantui.workspace import Task, Workspace

    task = Task()
    ws = Workspace.open(paths, load_opts, telescope, task=task, runner=command_runner())
    run_with_progress(ws.rollup, ws.dataset.stats, ws.dataset.total_bytes, "rolling up", task=task)
    _notes(ws.year_notes())
    return ws


def on_rollup(ws, work, label: str):
    """*work* (a list or search over *ws*'s built rollup) under a spinner naming its step on a terminal (a day span's
    scanner list at a year: minutes, ``source range 9 of 23``); ctrl-c stops it at its next checkpoint."""
    from scantui.cli.progress import run_with_progress

    ws.task.update(label)
    return run_with_progress(work, ws.dataset.stats, ws.dataset.total_bytes, label, task=ws.task, steps=True)


def _notes(notes, said: set[str] | None = None) -> None:
    """Each of *notes* on stderr as ``scantui: note: ...`` (never on stdout: ``--json`` stays one document); with
    *said*, only those not said before (``rollup --follow``)."""
    for note in notes:
        if said is None or note not in said:
            message(f"scantui: note: {note}")
            if said is not None:
                said.add(note)


@click.command("open", hidden=True)
@PATHS
@load_options
@telescope_options
@click.option("--labels", "labels_path", default=None, metavar="FILE", help="The labels file (default ./scantui-labels.yaml).")
@click.option("--window", default="burst", show_default=True, metavar="burst|day|SPAN",
              help="Collaborative-scan window: the sources' bursts, the UTC calendar day (the thesis'), or a rolling span (24h, 48h, 90m, 2d).")
@click.option("--tolerance", default=None, metavar="LOW,HIGH",
              help="Cover tolerance below/above N x telescope, as fractions or percentages (default: the study's 1.64%,2.46%).")
@click.option("--by", "by", default="all", show_default=True, metavar="prefix24|asn|zmap_generator|fingerprint|both|all",
              help="Group sources by /24, by AS, by ZMap generator, by a header-artifact fingerprint, both /24 and AS, "
                   "or all (the default; as scantui collab).")
@click.option("--follow", is_flag=True,
              help="Keep watching PATHS: fold each complete new file in while the app runs (as scantui rollup --follow).")
@click.option("--interval", type=seconds(0.05, 86_400), default=10.0, show_default=True, metavar="SECONDS",
              help="With --follow: seconds between looks.")
@click.option("--settle", type=seconds(0, 604_800), default=30.0, show_default=True, metavar="SECONDS",
              help="With --follow: a file is complete once unchanged for this long.")
@scale_options
def open_cmd(paths, load_opts, telescope, labels_path, window, tolerance, by, follow, interval, settle):
    """Open the TUI on PATHS (exit 2 when the data failed to load and the app was quit)."""
    from scantui.analysis.collab import make_query
    from scantui.tui.launch import run_tui

    cidrs, size = telescope
    make_query(by=by, window=window, tolerance=tolerance, telescope_cidrs=cidrs)  # a bad option: one line, exit 2, no TUI
    code = run_tui(list(paths), opts=load_opts, labels_path=labels_path or "scantui-labels.yaml",
                   telescope_size=size, telescope_cidrs_text=cidrs, window=window, tolerance=tolerance, by=by,
                   follow=follow, follow_interval=interval, follow_settle=settle, runner=command_runner())
    raise SystemExit(code)


@click.command("info")
@PATHS
@RULES_OPTION
@load_options
@telescope_options
@output_options
@scale_options
def info_cmd(paths, rules_path, load_opts, telescope, fmt):
    """Packets, sources, time range, telescope size, protocols, tools, organizations and skipped rows."""
    _info(paths, load_opts, fmt, telescope, rules_path)


def _info(paths, load_opts, fmt, telescope, rules_path=None):
    from scantui.analysis.telescope import resolve_size
    from scantui.cli.progress import run_with_progress
    from scantui.enrich.rules import load_rules
    from scantui.workspace import Task, Workspace

    rules = load_rules(rules_path)
    task = Task()
    ws = Workspace.open(paths, load_opts, telescope, task=task, runner=command_runner())
    dataset = ws.dataset
    summary = run_with_progress(lambda: ws.summary(rules), dataset.stats, dataset.total_bytes, "reading", task=task)
    _notes(ws.year_notes())
    if summary["organizations"]["known_from"] == ["rules"]:
        from scantui.analysis.scanners import NO_ENRICHMENT_NOTE

        message(f"scantui: note: {NO_ENRICHMENT_NOTE}")
    size, origin = resolve_size(*telescope, summary["telescope_size_estimate"])
    summary["telescope_size"], summary["telescope_size_from"] = size, origin
    summary["inputs"] = [{"path": shown_path(f.path), "format": f.format} for f in dataset.inputs]  # "<stdin>"
    summary["skipped"] = dict(sorted(ws.rollup(task).skipped.items()))  # recorded by the build, also on a cache hit
    summary = _with_walk(summary, ws.rollup(task))
    if fmt == "json":
        from scantui.cli.shapes import info_doc

        print_json(info_doc(summary))
        return
    from scantui.cli.shapes import utc_z

    # times as the JSON and every other table write them (``Z``, not ``+00:00``)
    summary = {**summary, "first_seen": utc_z(summary["first_seen"]), "last_seen": utc_z(summary["last_seen"])}
    if fmt == "csv":
        from scantui.cli.output import print_csv

        print_csv([{"key": k, "value": v} for k, v in _flatten(summary)], ("key", "value"))
    else:  # a sensor's name cut in the table (name_cell), whole in --json/--csv
        sensors = {f"sensors.{name}": f"sensors.{name_cell(name)}" for name in summary.get("sensors") or {}}
        print_mapping("scantui info", [(sensors.get(k, k), v) for k, v in _flatten(summary)])


def _with_walk(summary, rollup):
    """*summary* with ``zmap_walk`` (the ZMap found by its address walk alone) after ``tools``, when the rollup
    holds the walk results."""
    from scantui.analysis.zmap_rollup import walk_share

    walk = walk_share(rollup.port_day, rollup.zmap_walks, summary["traffic"]["probe"], rollup.port_day_by_port)
    if walk is None:
        return summary
    out = {}
    for key, value in summary.items():
        out[key] = value
        if key == "tools":
            out["zmap_walk"] = walk
    return out


def _flatten(doc, prefix=""):
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + ".") if value else [(name, "-")]
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from _flatten(item, f"{name}[{i}].") if isinstance(item, dict) else [(f"{name}[{i}]", item)]
        else:
            yield name, value


@click.command("ingest")
@PATHS
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="Output Parquet file, e.g. OUT.parquet (Parquet only: a file name ending .csv, .json, .pcap, ... is refused); with --partition-by the folder to write, whatever its name.")
@click.option("--partition-by", type=click.Choice(["day"]), default=None, help="Write a hive-partitioned folder, one partition per UTC day.")
@click.option("--sort", "sort_by_ts", is_flag=True, help="Sort packets by time (needs memory for the whole table).")
@load_options
@writes("out")
def ingest_cmd(paths, out, partition_by, sort_by_ts, load_opts):
    """Convert any accepted input to the canonical Parquet table."""
    import polars as pl

    from scantui.cli.progress import run_with_progress
    from scantui.io import netfilter_log
    from scantui.io.write import write_parquet

    check_parquet_name(out, "ingest", folder=partition_by is not None)
    dataset = _open(paths, load_opts)
    # a reader that fails ends its stream: the writer finishes before the error is raised and the file removed
    dataset.stats.defer_errors = True

    def write() -> None:
        with dataset.reading():  # a CSV, LOG or Parquet input cut or changed while read: its error, nothing written
            lf = dataset.lf
            dataset.check_unchanged()  # validated, then changed: its rows would come from other bytes
            write_parquet(lf, out, partition_by=partition_by, sort_by_ts=sort_by_ts,  # checked again before it is kept
                          check=lambda: (dataset.stats.raise_error(), dataset.check_unchanged()))

    run_with_progress(write, dataset.stats, dataset.total_bytes, "ingesting")
    _notes(netfilter_log.year_note(f.path, year) for f in dataset.inputs
           if f.format == netfilter_log.FORMAT and (year := netfilter_log.end_year(f.path, load_opts)) is not None)
    written = (pl.scan_parquet(str(out), hive_partitioning=partition_by is not None, glob=False)  # "[1]" is a name
               .select(pl.len()).collect().item())
    skipped = dataset.stats.skipped()
    note = ", ".join(f"{k} {v}" for k, v in sorted(skipped.items()))
    message(f"wrote {written:,} packets to {out}" + (f" (skipped: {note})" if note else ""))


@click.command("sample")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--days", type=click.IntRange(max=36_500), default=21, show_default=True,
              help="Days of data (14 to 36,500: a century).")
@click.option("--scale", type=Finite(), default=1.0, show_default=True, help="Multiply packet counts of background actors.")
@writes("out_dir")
def sample_cmd(out_dir, seed, days, scale):
    """Write the deterministic demo telescope data set and its ground truth."""
    from scantui.sample.generate import generate

    out_dir.mkdir(parents=True, exist_ok=True)
    truth = generate(out_dir, seed=seed, days=days, scale=scale)
    message(f"wrote {truth['packets']:,} packets and truth.json to {out_dir}")


@click.command("rollup")
@PATHS
@load_options
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None,
              help="The cache folder (default: $SCANTUI_CACHE_DIR, else the user cache dir).")
@click.option("--rebuild", is_flag=True, help="Rebuild every day instead of reusing the cached ones.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout: the rollup and what was built and reused.")
@click.option("--follow", is_flag=True,
              help="Keep running: fold each complete new file under PATHS in as it arrives (Ctrl-C ends).")
@click.option("--interval", type=seconds(0.05, 86_400), default=10.0, show_default=True, metavar="SECONDS", help="With --follow: seconds between looks.")
@click.option("--settle", type=seconds(0, 604_800), default=30.0, show_default=True, metavar="SECONDS",
              help="With --follow: a file is complete once unchanged for this long.")
@click.option("--keep-ports", "keep_ports", default=None, metavar="PORTS",
              help="Also compute and keep the scanner list of these ports (comma-separated: one list per port) "
                   "with the rollup, so `scanners --port P` reads it.")
@click.option("--prune", "prune_days", type=seconds(0, 36_500, min_open=True), default=None, metavar="DAYS",
              help="After each update, remove from the cache what no command used for DAYS days (rollups, day "
                   "states and splits, decoded copies, session memos); never a rollup a process is reading.")
@click.option("--check", is_flag=True,
              help="First check every Parquet and JSON file of the cache (after a crash, a restore, a full disk) and "
                   "set aside the damaged rollups, days and splits, which the update then builds anew.")
@scale_options
def rollup_cmd(paths, load_opts, cache_dir, rebuild, as_json, follow, interval, settle, keep_ports, prune_days, check):
    """Build or update the rollup of PATHS (for cron): only the days whose inputs changed are rebuilt.

    One line per step on stderr (built, reused, merged); the rollup's folder on stdout
    (with --follow, after each update).

    The Unicorn session threshold (a session key needs more SYN probes than this; default 150) is
    the config file's rollup: {unicorn_min_packets: N}, for this and every other command (another
    value builds another rollup).
    """
    import time

    from scantui.analysis.port_list_build import keep_port_list
    from scantui.analysis.scanners import parse_ports
    from scantui.errors import InputError

    try:
        ports = parse_ports(keep_ports) if keep_ports is not None else ()
    except InputError as exc:
        raise InputError(exc.why, where="--keep-ports") from None

    said: set[str] = set()
    checked = None
    if check:
        from scantui.analysis.cache_damage import check_cache
        from scantui.analysis.rollup_keys import cache_root

        t0 = time.perf_counter()
        checked = check_cache(cache_root(cache_dir).parent)
        if not as_json:
            for path, why in checked.damaged:
                message(f"damaged: {shown_path(path)}: {why}")
            message(f"{checked.summary()} ({time.perf_counter() - t0:.1f} s)")

    def say(update) -> None:
        from scantui.analysis.rollup_log_year import year_notes

        _notes(year_notes(update.rollup), said)
        for port in ports:  # the rollup folder gains port_lists/ (see scantui.analysis.port_lists)
            t0 = time.perf_counter()
            if keep_port_list(update.rollup, (port,)) is not None and not as_json:
                message(f"kept the scanner list of port {port} ({time.perf_counter() - t0:.1f} s)")
        pruned = None
        if prune_days is not None:  # the rollup just built or reused was opened now, and is read by this process
            from scantui.analysis.rollup_store import prune_cache

            pruned = prune_cache(cache_dir, max_age_days=prune_days)
        _say(update, as_json, pruned, prune_days, checked)

    if follow:
        from scantui.analysis.rollup_follow import follow as follow_paths

        try:
            follow_paths(list(paths), opts=load_opts, cache_dir=cache_dir, interval=interval, settle=settle,
                         on_update=say,
                         on_error=lambda exc: message(f"scantui: error: {exc.message}"), runner=command_runner())
        except KeyboardInterrupt:
            pass
        return
    from scantui.cli.progress import run_with_progress
    from scantui.workspace import Task, Workspace

    task = Task()
    ws = Workspace.open(paths, load_opts, cache_dir=cache_dir, task=task, runner=command_runner())
    update = run_with_progress(lambda: ws.update_rollup(rebuild=rebuild), ws.dataset.stats, ws.dataset.total_bytes,
                               "rolling up", task=task)
    say(update)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _say(update, as_json, pruned=None, prune_days=None, checked=None):
    """What an update built and reused (and *pruned*, the cache entries ``--prune`` removed): one line a step and a
    summary on stderr, the folder on stdout."""
    rollup = update.rollup
    if as_json:
        print_json({"path": str(rollup.path), "key": rollup.meta.get("key"), "days": rollup.meta.get("days"),
                    "packets": rollup.meta.get("packets"), "actions": [a.to_dict() for a in update.actions],
                    **({} if pruned is None else {"pruned": [str(p) for p in pruned]}),
                    **({} if checked is None else {"checked": {
                        "files": checked.files, "damaged": [{"path": str(p), "why": w} for p, w in checked.damaged],
                        "set_aside": checked.set_aside}})})
        return

    for action in update.actions:
        if action.verb != "reused" or action.what.startswith("rollup "):
            took = f" ({action.seconds:.1f} s)" if action.verb != "reused" else ""
            if action.cpu_seconds is not None:  # a kept port list: why, and what it cost
                took = f" ({action.why}; {action.seconds:.1f} s, {action.cpu_seconds:.1f} CPU s)"
            elif action.verb == "skipped":
                took = f" ({action.why})"
            message(f"{action.verb} {action.what}{took}")
    if update.count("reused", "rollup"):  # (a day state set aside as damaged is built again: cache_damage)
        again = f" (built {_n(update.count('built', 'day'), 'day state')} again)" if update.count("built", "day") else ""
        message(f"rollup of {_n(rollup.meta.get('days', 0), 'day')}, {_n(rollup.meta.get('packets', 0), 'packet')}: "
                f"unchanged{again}")
    else:
        message(f"rollup of {_n(rollup.meta.get('days', 0), 'day')}, {_n(rollup.meta.get('packets', 0), 'packet')}: "
                f"built {_n(update.count('built', 'input'), 'input')} and {_n(update.count('built', 'day'), 'day')}, "
                f"reused {_n(update.count('reused', 'input'), 'input')} and {_n(update.count('reused', 'day'), 'day')}")
    if pruned is not None:
        message(f"pruned {len(pruned):,} cache entr{'y' if len(pruned) == 1 else 'ies'} unused for {prune_days:g} "
                f"day{'' if prune_days == 1 else 's'}")
    write_out(f"{rollup.path}\n")


COMMANDS = [open_cmd, info_cmd, ingest_cmd, sample_cmd, rollup_cmd]
