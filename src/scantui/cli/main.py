"""The ``scantui`` console script.

A click group whose bare form (``scantui PATH...``) opens the TUI on the data,
with subcommands for headless work. Heavy modules (polars, numpy, the
loaders) are imported inside the commands, so ``--help`` answers at once.
Every expected failure prints one line, ``scantui: error: ...``, and exits 2.
"""

from __future__ import annotations

import os
import sys

import click

from scantui import __version__
from scantui.errors import ScantuiError


class DefaultGroup(click.Group):
    """A group that runs ``open`` when the first argument is not a subcommand."""

    default_command = "open"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scantui")
def cli() -> None:
    """Investigate Internet-wide scanning seen by a telescope or honeypot.

    \b
    scantui PATH...            open the TUI on the data
    scantui info PATH...       what is in the data
    scantui scanners PATH...   one row per source: tools, ports, schedule
    scantui collab PATH...     candidate collaborative scans
    scantui groups PATH...     candidate scans tied into suggested groups
    scantui track PATH... --group ID   one group over the whole data
    scantui labels validate|list FILE
    scantui enrich PATH... -o OUT.parquet   who is behind each source (IPinfo, MMDB, rules)
    scantui rules              the organization rules in force
    scantui ingest PATH... -o OUT.parquet
    scantui sample OUT_DIR     write the demo data set
    """


def _register() -> None:
    from scantui.cli import analysis_cmds, collab_cmds, data_cmds, enrich_cmds, group_cmds, labels_cmds

    for command in (*data_cmds.COMMANDS, *analysis_cmds.COMMANDS, *collab_cmds.COMMANDS, *group_cmds.COMMANDS,
                    *labels_cmds.COMMANDS, *enrich_cmds.COMMANDS):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning expected failures into one line and exit 2."""
    try:
        cli.main(args=argv, prog_name="scantui", standalone_mode=False)
    except ScantuiError as exc:
        _fail(exc.message, exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.ClickException as exc:
        _fail(exc.format_message() + _usage_hint(exc), 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - last resort: stay one line unless debugging
        polars_error = _polars_error_type()
        if polars_error is not None and isinstance(exc, polars_error):
            _fail(_first_line(exc), 2)
        if os.environ.get("SCANTUI_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {_first_line(exc)} (set SCANTUI_DEBUG=1 for the traceback)", 70)
    sys.exit(0)


def _usage_hint(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        return f" (see '{ctx.command_path} --help')"
    return ""


def _polars_error_type():
    mod = sys.modules.get("polars")
    return getattr(getattr(mod, "exceptions", None), "PolarsError", None) if mod else None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _fail(message: str, code: int) -> None:
    sys.stdout.flush()
    click.echo(f"scantui: error: {message}", err=True)
    sys.exit(code)
