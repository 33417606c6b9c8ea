"""Rendering results for the terminal or for scripts.

Data goes to stdout (a Rich table, one JSON document with ``--json``, one JSON object per
line with ``--jsonl``, or CSV with ``--csv``), each written through one buffer, a long one in pieces of
:data:`CHUNK_ROWS` rows (a reader that went away, ``| head -1``, ends the command at the next piece, not after
the whole output was rendered); times are
RFC 3339 UTC ending in ``Z`` (:func:`utc_text`); messages go to stderr, one line each,
never wrapped. Untrusted text (AS names, hostnames, file content) goes through
:mod:`scantui.safetext` in every format: escaped visibly in tables, messages and CSV
(where formula cells also get a leading ``'``), ``\\u``-escaped in JSON; it is never
interpreted as Rich markup or terminal control sequences.

A table on a terminal fits the terminal (long cells fold); on a pipe or a file it is
printed at its natural width, every cell on one line, so nothing is cut or folded.
"""

from __future__ import annotations

import codecs
import errno
import io
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import click

from scantui.safetext import csv_safe, csv_writer, json_safe, safe_line
from scantui.utctime import rfc3339

__all__ = ["message", "print_csv", "print_csv_pieces", "print_json", "print_json_encoded", "print_jsonl",
           "print_mapping", "json_text", "growing_slices", "print_table", "stderr_console",
           "stdout_console", "utc_text", "name_stdout_error",
           "write_out"]


#: Rows rendered and written at a time by the printers below (a piece's bytes are what a closed pipe costs).
CHUNK_ROWS = 2000


def growing_slices(total: int, most: int = 64) -> Iterator[tuple[int, int]]:
    """(start, length) covering ``range(total)``: a first piece of :data:`CHUNK_ROWS` rows, each next one twice
    the last, up to *most* times the first: an early first byte, and few pieces where each costs a fixed
    overhead (a polars call per column)."""
    start, size = 0, CHUNK_ROWS
    while start < total:
        yield start, min(size, total - start)
        start += size
        size = min(size * 2, CHUNK_ROWS * most)


def utc_text(value: Any) -> str:
    """``value.isoformat()``, a UTC offset written ``Z`` (RFC 3339, as every output writes times)."""
    return rfc3339(value)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return utc_text(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_out(text: str | bytes = "") -> None:
    """Write *text* to stdout through one buffer and flush: a closed pipe or a full disk surfaces here.

    The bytes go to the binary buffer in a loop: on a short write (a disk filling up) the text
    layer would drop the rest silently. A write error other than a closed pipe is given the
    name ``<stdout>`` so that the CLI can say what could not be written. *text* may also be
    UTF-8 bytes (a large output built as bytes): written as they are where stdout is UTF-8,
    else decoded and written as text.
    """
    out = sys.stdout
    try:
        out.flush()
        raw = getattr(out, "buffer", None)
        if isinstance(text, bytes) and (raw is None or codecs.lookup(out.encoding or "utf-8").name != "utf-8"):
            text = text.decode()
        if raw is None:
            out.write(text)
            out.flush()
            return
        data = memoryview(text if isinstance(text, bytes) else text.encode(out.encoding or "utf-8", out.errors or "strict"))
        while data:
            n = raw.write(data)
            if not n:
                raise OSError(errno.EIO, "nothing written")
            data = data[n:]
        raw.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        name_stdout_error(exc)
        raise


def name_stdout_error(exc: OSError) -> None:
    """Name stdout in *exc*, a failed write to it, and say so where stdout is closed (``scantui ... >&-``)."""
    if exc.filename is None:
        exc.filename = "<stdout>"
    if exc.errno == errno.EBADF:
        exc.strerror = "cannot write: stdout is closed"


def message(text: str) -> None:
    """One line on stderr: never wrapped, whatever the terminal width; unsafe characters escaped."""
    click.echo(safe_line(text), err=True)


def print_json(doc: Any) -> None:
    """*doc* as one JSON document; control and format characters ``\\u``-escaped (values unchanged).

    A long list is written in pieces, the same bytes as ``json.dumps`` of the whole (``[a, b, ...]``)."""
    if not isinstance(doc, list) or len(doc) <= CHUNK_ROWS:
        write_out(json_text(doc) + "\n")
        return
    for start in range(0, len(doc), CHUNK_ROWS):
        items = ", ".join(json_text(item) for item in doc[start:start + CHUNK_ROWS])
        end = start + CHUNK_ROWS >= len(doc)
        write_out(("[" if start == 0 else ", ") + items + ("]\n" if end else ""))


def print_json_encoded(pieces: Iterable[Sequence[bytes]]) -> None:
    """:func:`print_json` of a list whose rows come already encoded (each one JSON value in UTF-8, escaped as
    :func:`print_json` escapes), in pieces, each taken when the one before was written: the same bytes, and a
    reader that went away (``| head -1``) ends the command before the rest is made. The rows should be read
    before (a failure half-way would leave half a list)."""
    first = True
    for piece in pieces:
        if not piece:
            continue
        write_out((b"[" if first else b", ") + b", ".join(piece))
        first = False
    write_out("[]\n" if first else "]\n")


def json_text(value: Any) -> str:
    """*value* as JSON text, escaped as :func:`print_json` writes it."""
    return json_safe(json.dumps(value, default=_json_default, ensure_ascii=False))


def print_jsonl(rows: Iterable[Any]) -> None:
    """One JSON object per line (JSON Lines), escaped as :func:`print_json` escapes; nothing for no rows."""
    for chunk in _chunks(_all(rows)):
        write_out("".join(json_text(r) + "\n" for r in chunk))


def print_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """CSV with a header; text cells made safe (:func:`scantui.safetext.csv_safe`), numbers left as numbers."""
    print_csv_pieces(_chunks(_all(rows)), columns)


def print_csv_pieces(pieces: Iterable[Sequence[Mapping[str, Any]]], columns: Sequence[str], *, header: bool = True) -> None:
    """:func:`print_csv` of the rows of *pieces*, each piece converted when the one before was written
    (without the header line when told: it was written already)."""
    buf = io.StringIO()
    writer = csv_writer(buf)
    if header:
        writer.writerow([csv_safe(c) for c in columns])
    for piece in pieces:
        for row in piece:
            writer.writerow([_csv_cell(row.get(c)) for c in columns])
        write_out(buf.getvalue())
        buf.seek(0)
        buf.truncate()
    if buf.tell():  # (no rows: the header alone)
        write_out(buf.getvalue())


def _all(rows: Iterable[Any]) -> list[Any]:
    """*rows* as a list: a generator runs to its end (whatever it reads, and may fail at) before the first piece."""
    return rows if isinstance(rows, list) else list(rows)


def _chunks(rows: Iterable[Any]) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _csv_cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (dict, list)):
        value = json.dumps(value, default=_json_default)
    elif hasattr(value, "isoformat"):
        value = utc_text(value)
    return csv_safe(value)


def stdout_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr_console():
    """For progress bars; one-line messages go through :func:`message`."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def fit_columns(rows: Sequence[Sequence[str]], columns: Sequence[tuple[str, str, int]], width: int) -> list[int]:
    """Indices of the table columns to show in *width* columns: *columns* are (key, header, priority), taken by
    priority (0: always) while the estimated width fits; ``scanners`` and ``groups`` (JSON/CSV keep them all)."""
    widths = [max([len(header)] + [len(r[i]) for r in rows]) + 3 for i, (_, header, _) in enumerate(columns)]
    chosen, used = [], 1
    for i in sorted(range(len(columns)), key=lambda i: (columns[i][2], i)):
        if used + widths[i] <= width or columns[i][2] == 0:
            chosen.append(i)
            used += widths[i]
    return sorted(chosen)


def say_left_out(command: str, headers: Sequence[str], show: Sequence[int], width: int) -> None:
    """One line on stderr naming the table columns :func:`fit_columns` left out of *width* (of *headers*, *show*
    kept); nothing when none was."""
    gone = [h for i, h in enumerate(headers) if i not in set(show)]
    if gone:
        many = "s" if len(gone) > 1 else ""
        message(f"{command}: {len(gone)} column{many} left out to fit {width} columns ({', '.join(gone)}): "
                f"--json/--csv or a wider COLUMNS shows them")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, show_header: bool = True) -> None:
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
    fold = console.is_terminal
    if not fold:
        _print_table_piped(console, title, columns, [[safe_line(v) for v in row] for row in rows], show_header)
        return
    table = Table(title=Text(safe_line(title)), title_justify="left", header_style="bold", show_header=show_header)
    for col in columns:
        table.add_column(Text(safe_line(col)), overflow="fold", no_wrap=False)
    for row in rows:
        table.add_row(*(Text(safe_line(v)) for v in row))
    with console.capture() as capture:
        console.print(table)
    write_out(capture.get())


def _print_table_piped(console, title: str, columns: Sequence[str], cells: list[list[str]], show_header: bool) -> None:
    """On a pipe or a file: the title on a line of its own (the table's width would wrap it), then the table at
    its natural width, every cell on one line, rendered and written :data:`CHUNK_ROWS` rows at a time: each
    piece is a table of the same column widths, its borders cut where the pieces meet."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    heads = [safe_line(c) for c in columns]
    widths = [cell_len(h) if show_header else 0 for h in heads]
    for row in cells:
        for i, cell in enumerate(row):
            n = cell_len(cell)
            if n > widths[i]:
                widths[i] = n
    console.width = max(sum(widths) + 3 * len(widths) + 1, 1)
    write_out(safe_line(title) + "\n")
    starts = range(0, max(len(cells), 1), CHUNK_ROWS)
    for start in starts:
        first, last = start == 0, start + CHUNK_ROWS >= len(cells)
        table = Table(header_style="bold", show_header=show_header and first)
        for head, width in zip(heads, widths):
            table.add_column(Text(head), overflow="ignore", no_wrap=True, width=width)
        for row in cells[start:start + CHUNK_ROWS]:
            table.add_row(*(Text(v) for v in row))
        with console.capture() as capture:
            console.print(table)
        lines = capture.get().splitlines(keepends=True)
        write_out("".join(lines[0 if first else 1:None if last else -1]))


def print_mapping(title: str, items: Sequence[tuple[str, Any]]) -> None:
    """A two-column key/value table (values are plain text)."""
    print_table(title, ("", ""), ((k, f"{v:,}" if isinstance(v, int) else v) for k, v in items), show_header=False)
