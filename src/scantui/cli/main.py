"""The ``scantui`` console script.

A click group whose bare form (``scantui PATH...``) opens the TUI on the data,
with subcommands for headless work. Heavy modules (polars, numpy, the
loaders) are imported inside the commands, so ``--help`` answers at once.
Every expected failure prints one line, ``scantui: error: ...``, and exits 2.
"""

from __future__ import annotations

import errno
import faulthandler
import io
import json
import os
import sys

import click

from scantui import __version__
from scantui.cli import allocator
from scantui.cli.output import name_stdout_error, write_out
from scantui.cli.write_errors import os_error_message
from scantui.errors import ScantuiError
from scantui.io import native_stderr
from scantui.io.native_stderr import PanicFilter
from scantui.safetext import safe_line


class DefaultGroup(click.Group):
    """A group that runs ``open`` when the first argument is neither a subcommand nor one of the group's own
    options (``--help``, ``--version``): ``scantui --follow DIR`` and ``scantui DIR --follow`` are the same.

    A first word that is no command, no file and close to a command's name (``scantui scaners x``) is a usage
    error naming both, rather than a TUI opened on a missing file."""

    default_command = "open"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in self._own_options(ctx):
            self._check_mistyped(ctx, args[0])
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def _own_options(self, ctx: click.Context) -> set[str]:
        return {name for param in self.get_params(ctx) for name in (*param.opts, *param.secondary_opts)}

    def _check_mistyped(self, ctx: click.Context, word: str) -> None:
        import difflib
        import glob

        from scantui.io.stdin import is_stdin

        if word.startswith("-") or is_stdin(word) or glob.has_magic(word) or os.path.lexists(word):
            return
        names = [name for name, cmd in self.commands.items() if not cmd.hidden]
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.75)
        if close:
            raise click.UsageError(f"{word!r} is neither a command nor a file or folder; did you mean "
                                   f"'{ctx.info_name} {close[0]}'?", ctx)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scantui")
def cli() -> None:
    """Investigate Internet-wide scanning seen by a telescope or honeypot.

    \b
    scantui PATH...            open the TUI on the data
    scantui serve PATH...      the TUI in a web browser (loopback; --public to bind elsewhere)
    scantui info PATH...       what is in the data
    scantui rollup PATH...     build or update the rollup (only changed days are rebuilt)
    scantui scanners PATH...   one row per source: tools, ports, schedule
    scantui collab PATH...     candidate collaborative scans
    scantui groups PATH...     candidate scans tied into suggested groups
    scantui track PATH... --group ID   one group over the whole data
    scantui similar PATH... --src IP|--group ID   sources that behave like these, ranked
    scantui sensors PATH... [--only A --not B]   sensors compared: who A saw and B did not
    scantui packets PATH... [--src IP|CIDR] [--port N] [--day D] [--where FILTER] [-o OUT.pcap]
    scantui watch PATH... --labels FILE   say when a labelled group is back (cron; exit 1 when one is)
    scantui labels validate|list|sources FILE
    scantui lists [import FILE|show|export|remove]   known-scanner lists
    scantui enrich PATH... -o OUT.parquet   who is behind each source (IPinfo, MMDB, rules)
    scantui rules              the organization rules in force
    scantui ingest PATH... -o OUT.parquet
    scantui sample OUT_DIR     write the demo data set
    """


def _register() -> None:
    from scantui.cli import (analysis_cmds, collab_cmds, data_cmds, enrich_cmds, group_cmds, labels_cmds, packet_cmds,
                             serve_cmds, similar_cmds, watch_cmds)

    for command in (*data_cmds.COMMANDS, *analysis_cmds.COMMANDS, *collab_cmds.COMMANDS, *group_cmds.COMMANDS,
                    *labels_cmds.COMMANDS, *enrich_cmds.COMMANDS, *similar_cmds.COMMANDS, *packet_cmds.COMMANDS,
                    *serve_cmds.COMMANDS, *watch_cmds.COMMANDS):
        cli.add_command(command)
    from scantui.cli import lists_cmds, sensor_cmds

    cli.add_command(lists_cmds.lists_group)
    cli.add_command(sensor_cmds.sensors_cmd)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning expected failures into one line and exit 2."""
    allocator.settle()  # before polars loads (see scantui.cli.allocator)
    _closed_stderr_to_devnull()
    _closed_stdout_kept_unwritable()
    if not os.environ.get("SCANTUI_DEBUG"):  # a polars panic: Rust's own lines on stderr, not its backtrace
        os.environ["RUST_BACKTRACE"] = "0"
    _filter_native_stderr()
    try:
        _run(argv)
    finally:
        _end_native_stderr(drop_panics=False)  # (already ended by _fail)


def _closed_stderr_to_devnull() -> None:
    """``scantui ... 2>&-``: fd 2 opened on /dev/null, so the command does its work and exits as it would,
    its messages going nowhere. Python starts with ``sys.stderr`` None then (every message would fail), and
    the next file opened would get fd 2 and receive what native code writes there."""
    if _fill_closed_fd(2, os.O_WRONLY) and sys.stderr is None:
        sys.stderr = sys.__stderr__ = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True,
                                                       errors="backslashreplace")


def _closed_stdout_kept_unwritable() -> None:
    """``scantui ... >&-``: fd 1 taken by /dev/null opened read-only, so that a write to stdout fails as on
    the closed descriptor (one error line, exit 2, as ``ls >&-``) while a command writing no stdout
    (``-o FILE``) works, and the next file opened (an output, a cache) cannot become fd 1 and receive the
    table. Python starts with ``sys.stdout`` None then (a write was an AttributeError, a traceback)."""
    if _fill_closed_fd(1, os.O_RDONLY) and sys.stdout is None:
        sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), errors="backslashreplace")


def _fill_closed_fd(target: int, flags: int) -> bool:
    """*target* opened on /dev/null with *flags* when it is closed; True when it was filled."""
    try:
        os.fstat(target)
        return False
    except OSError:
        pass
    try:
        fd = os.open(os.devnull, flags)
        if fd != target:
            os.dup2(fd, target)
            os.close(fd)
    except OSError:
        return False
    return True


def _run(argv: list[str] | None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        if not args:  # bare ``scantui``: the help, not a usage error
            args = ["--help"]
        # make_context/invoke rather than cli.main(): click turns a closed pipe into exit 1 there
        with cli.make_context("scantui", args) as ctx:
            cli.invoke(ctx)
        write_out()  # a closed pipe or a full disk shows here, not at interpreter exit
    except click.exceptions.Exit as exc:
        _flush_or_quiet()
        sys.exit(exc.exit_code)
    except ScantuiError as exc:
        _fail(exc.message, exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.ClickException as exc:
        _fail(exc.format_message() + _usage_hint(exc), 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            _quiet_closed_pipe()
        if exc.errno == errno.EBADF and exc.filename is None:  # click's own echo (--help) to a closed stdout
            name_stdout_error(exc)
        _fail(os_error_message(exc), 2)
    except Exception as exc:  # noqa: BLE001 - last resort: stay one line unless debugging
        polars_error = _polars_error_type()
        if polars_error is not None and isinstance(exc, polars_error):
            _fail(_read_failure(exc) or _first_line(exc), 2)
        if isinstance(exc, json.JSONDecodeError) and (explained := _read_failure(exc)) is not None:
            _fail(explained, 2)  # a damaged cache index
        if os.environ.get("SCANTUI_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {_first_line(exc)} (set SCANTUI_DEBUG=1 for the traceback)", 70)
    except BaseException as exc:  # polars' PanicException is a BaseException; SystemExit and the like go on
        from scantui.io.read_panics import is_panic, panic_error

        if not is_panic(exc) or os.environ.get("SCANTUI_DEBUG"):
            raise

        _fail(_read_failure(exc) or panic_error(exc).message, 2)
    sys.exit(0)


def _quiet_closed_pipe() -> None:
    """The reader went away (``| head``): stop quietly, exit 0, no traceback at interpreter exit.

    Python flushes stdout again at exit and would report the same broken pipe, so stdout is
    pointed at /dev/null first (the recipe of the Python signal documentation).
    """
    _drop_stdout()
    sys.exit(0)


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what it still buffers cannot be written, and must not be retried at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _flush_or_quiet() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_closed_pipe()
    except OSError as exc:  # stdout closed (>&-), a full disk: --help's text could not be written
        name_stdout_error(exc)
        _fail(os_error_message(exc), 2)


def _usage_hint(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        hint = f" (see '{ctx.command_path} --help')"
        name = ctx.info_name or ""
        # ``scantui scanners`` beside a file named scanners: the command wins; say how to open the file
        if isinstance(exc, click.MissingParameter) and ctx.parent is not None and name and os.path.lexists(name):
            hint += f"; to open the file {name!r} here: '{ctx.parent.info_name} ./{name}'"
        return hint
    return ""


def _polars_error_type():
    mod = sys.modules.get("polars")
    return getattr(getattr(mod, "exceptions", None), "PolarsError", None) if mod else None


def _read_failure(exc: BaseException) -> str | None:
    """A polars error or panic (or a JSON parse error): the error of an input changed since it was opened, or of a
    damaged cache file (set aside), if one explains it."""
    from scantui.analysis.cache_damage import read_failure

    err = read_failure(exc)
    return err.message if err is not None else None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _fail(message: str, code: int) -> None:
    """One line on stderr: a newline or an escape in a file name cannot forge a second line. It is stderr's last:
    Rust's panic text held by the filter (see :func:`_filter_native_stderr`) is dropped when the line is an
    input's error (exit 2; a polars panic is one), written before it otherwise (an internal error, ctrl-c)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_closed_pipe()
    except (OSError, ValueError):
        _drop_stdout()
    _end_native_stderr(drop_panics=code == 2)
    click.echo(f"scantui: error: {safe_line(message)}", err=True)
    sys.exit(code)


_native: PanicFilter | None = None  # fd 2's filter while the command runs


def _filter_native_stderr() -> None:
    """Point fd 2 at :class:`~scantui.io.native_stderr.PanicFilter` for the command's life, so that Rust's
    panic lines (written below Python, before the exception reaches us) never precede the one error line;
    every other byte goes on to the terminal at once. Python's own ``sys.stderr`` (click's messages, the
    progress bar, which must still see a terminal) writes to the terminal directly. Not with ``SCANTUI_DEBUG``
    (everything kept), nor when the caller already redirected ``sys.stderr`` (a test's capture)."""
    global _native
    if os.environ.get("SCANTUI_DEBUG") or os.name != "posix" or sys.stderr is None or sys.stderr is not sys.__stderr__:
        return
    try:
        if sys.stderr.fileno() != 2:
            return
        sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return
    stream = io.TextIOWrapper(io.FileIO(terminal, "w", closefd=True), encoding=sys.stderr.encoding,
                              errors=sys.stderr.errors, line_buffering=True)  # whole lines: no mixing with native ones
    _native = PanicFilter(terminal)
    native_stderr.push(_native)
    sys.stderr = stream
    if faulthandler.is_enabled():  # (PYTHONFAULTHANDLER) its dump on a crash straight to the terminal: no thread
        faulthandler.enable(stream)  # is left to forward it once the process is dying


def _end_native_stderr(*, drop_panics: bool) -> None:
    """fd 2 back (to /dev/null when *drop_panics*: other polars threads may still be printing the same panic),
    what the pipe held written out, and the panic blocks dropped or written."""
    global _native
    panics, _native = _native, None
    if panics is None:
        return
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    native_stderr.pop(panics, then_devnull=drop_panics)
    panics.finish(drop_panics=drop_panics)
