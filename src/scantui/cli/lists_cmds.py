"""``scantui lists``: import known-scanner lists, show them, export a list or the team's labelled groups.

``lists import FILE`` reads a plain list, a maltrail ``mass_scanner.txt`` or a CSV
(:mod:`scantui.enrich.lists`) and stores it beside the configuration file; importing the same
name again replaces it. Bad lines: when none of the file is usable the command fails
(``scantui: error: FILE: line N: WHY``, exit 2, nothing stored); otherwise the good lines are
imported and each bad one is printed on stderr (``scantui: warning: FILE: line N: WHY``, the first
20 and a count), exit 0. ``--strict`` turns any bad line into the error (exit 2, nothing stored).

``lists`` / ``lists show`` lists them with their counts; ``lists export`` writes a list, or the
members of the labels file's groups of one verdict, as plain lines or CSV; ``lists remove NAME``
deletes one.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from scantui.cli.data_cmds import list_output_options
from scantui.cli.output import growing_slices, message, print_csv, print_json, print_jsonl, print_table, write_out
from scantui.cli.query_opts import LABELS_OPTION
from scantui.cli.write_errors import writes

#: Bad lines printed one by one before the rest are only counted.
SHOW_BAD = 20
SHOW_COLUMNS = ("name", "entries", "addresses", "category", "format", "imported", "source")


@click.group("lists", invoke_without_command=True)
@list_output_options
@click.pass_context
def lists_group(ctx: click.Context, fmt: str) -> None:
    """Known-scanner lists: import, show, export, remove (stored beside the config file).

    Bare `scantui lists [--json|--jsonl|--csv]` is `scantui lists show`."""
    if ctx.invoked_subcommand is None:
        _show(fmt)


@lists_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None, metavar="NAME", help="The list's name (default: the file name without its suffix).")
@click.option("--category", default=None, metavar="C", help="The category of entries that carry none (e.g. benign, research).")
@click.option("--strict", is_flag=True, help="Any bad line is an error and nothing is imported.")
@click.option("--json", "as_json", is_flag=True, help="Print the imported list's summary as JSON.")
def import_cmd(file: Path, name: str | None, category: str | None, strict: bool, as_json: bool) -> None:
    """Import FILE (plain, maltrail mass_scanner, or CSV) as a list, replacing one of the same name."""
    from scantui.enrich import lists as kl
    from scantui.errors import InputError

    name = kl.check_name(name) if name is not None else kl.name_from_path(file)
    parsed = kl.read_list_file(file, category)
    if parsed.bad and (strict or parsed.entries.height == 0):
        first = parsed.bad[0]
        more = f" (and {len(parsed.bad) - 1} more bad lines)" if len(parsed.bad) > 1 else ""
        raise InputError(first.why + more, path=file, where=f"line {first.line}")
    if parsed.entries.height == 0:
        raise InputError("no address or CIDR in the file", path=file)
    for bad in parsed.bad[:SHOW_BAD]:
        message(f"scantui: warning: {file}: line {bad.line}: {bad.why}")
    if len(parsed.bad) > SHOW_BAD:
        message(f"scantui: warning: {file}: {len(parsed.bad) - SHOW_BAD} more bad lines skipped")
    info = _saved(name, parsed, file, category)
    skipped = f", {len(parsed.bad):,} bad line{'s' * (len(parsed.bad) != 1)} skipped" if parsed.bad else ""
    entries = f"{info.entries:,} entr{'y' if info.entries == 1 else 'ies'}"
    message(f"list {info.name}: {entries} ({info.addresses:,} address{'es' * (info.addresses != 1)}, {info.format}){skipped}; "
            f"stored in {info.path}")
    if as_json:
        print_json({**info.as_dict(), "bad_lines": [{"line": b.line, "why": b.why} for b in parsed.bad]})


def _saved(name, parsed, file: Path, category):
    from scantui.enrich import lists as kl

    folder = kl.lists_folder()

    @writes("target")
    def save(target: str):
        return kl.save_list(name, parsed, os.path.abspath(file), category, folder)

    return save(target=str(folder / f"{name}.parquet"))


@lists_group.command("show")
@list_output_options
def show_cmd(fmt: str) -> None:
    """The stored lists: name, entries, addresses, category, format, import date, source file."""
    _show(fmt)


def _show(fmt: str) -> None:
    from scantui.enrich import lists as kl

    infos = [k.info.as_dict() for k in kl.load_lists()]
    if fmt == "json":
        print_json(infos)
    elif fmt == "jsonl":
        print_jsonl(infos)
    elif fmt == "csv":
        print_csv(infos, (*SHOW_COLUMNS, "path"))
    else:
        rows = ([f"{i[c]:,}" if isinstance(i[c], int) else (i[c] or "-") for c in SHOW_COLUMNS] for i in infos)
        print_table(f"lists: {len(infos)} in {kl.lists_folder()}", SHOW_COLUMNS, rows)


@lists_group.command("export")
@click.option("--name", default=None, metavar="LIST", help="The stored list to write.")
@click.option("--verdict", type=click.Choice(("collaborative", "not_collaborative", "unsure")), default=None,
              help="Write the members of the labels file's groups of this verdict instead.")
@click.option("--format", "fmt", type=click.Choice(("plain", "csv")), default="plain", show_default=True,
              help="plain: one address or CIDR a line; csv: ip,name,category.")
@LABELS_OPTION
@click.option("-o", "--output", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (atomically) instead of stdout.")
def export_cmd(name: str | None, verdict: str | None, fmt: str, labels_path: str | None, out: Path | None) -> None:
    """Write a list (--name) or the team's labelled groups of a verdict (--verdict) as plain lines or CSV."""
    from scantui.enrich import lists as kl

    if (name is None) == (verdict is None):
        raise click.UsageError("give exactly one of --name LIST and --verdict VERDICT")
    if name is not None:
        entries = kl.find_list(name).entries
    else:
        from scantui.cli.query_opts import open_labels

        store = open_labels(labels_path, required=True)
        rows = [(member, f"{g.id}: {g.title}" if g.title else g.id, g.category)
                for g in store.groups if g.verdict == verdict for member in g.members]
        entries = kl.entries_frame(rows)
    if out is None:  # in pieces: a reader that went away (| head -1) stops the rest being made
        for piece in kl.export_pieces(entries, fmt, growing_slices(entries.height)):
            write_out(piece)
    else:
        _write_file(out=out, text=kl.export_text(entries, fmt))
        message(f"wrote {entries.height:,} entries to {out}")


@writes("out")
def _write_file(*, out: Path, text: str) -> None:
    from scantui.errors import InputError
    from scantui.fsutil import write_bytes_atomic

    if not out.parent.exists():
        raise InputError("output folder does not exist", path=out.parent)
    write_bytes_atomic(out, text.encode("utf-8"))


@lists_group.command("remove")
@click.argument("name")
def remove_cmd(name: str) -> None:
    """Delete the stored list NAME."""
    from scantui.enrich import lists as kl

    path = kl.remove_list(name)
    message(f"removed list {name} ({path})")


COMMANDS = [lists_group]
