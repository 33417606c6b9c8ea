"""Untrusted text made safe to show: AS names, hostnames and file content are data.

One sanitiser for every output. A character is *unsafe* when a terminal, an editor or
a spreadsheet could act on it instead of showing it: C0/C1 controls (ESC, BEL, CSI
U+009B ...), Unicode format characters (bidi overrides such as U+202E, zero-width
characters, the BOM), line/paragraph separators and lone surrogates.

- :func:`safe_text` shows each unsafe character as a visible escape (``\\x1b``,
  ``\\u202e``); newlines and tabs are kept for multi-line fields (notes).
- :func:`safe_line` does the same and escapes newlines and tabs too: one line, for
  titles, table cells and error messages (a file name holding a newline cannot forge a
  second ``scantui: error:`` line).
- :func:`safe_value` is :func:`safe_line` cut to :data:`SHOWN_CHARS` as shown: one value from the
  input (a hostname, an AS name, an org, a sensor) inside a line of prose (details, summaries).
- :func:`safe_markup` additionally escapes Rich markup for places that interpret it.
- :func:`json_safe` ``\\u``-escapes unsafe characters in an already encoded JSON
  document (the characters are kept, as data, but never raw).
- :func:`csv_safe` neutralises spreadsheet formulas (a cell starting ``= + - @``, TAB
  or CR gets a leading ``'``) after making the text safe; line breaks (LF and CR) are kept,
  as the CSV's quoting holds them (:func:`csv_writer`): a CSV reader gets the value back.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any, TextIO

# Cc (controls, TAB and LF handled apart), Cf (format: bidi, zero-width, BOM, tags),
# Zl/Zp (U+2028/U+2029) and Cs (surrogates). tests/test_safetext.py checks this class
# against unicodedata for every code point, so a new Unicode version cannot slip past.
_UNSAFE_CLASS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE = re.compile(f"[{_UNSAFE_CLASS}]")
_UNSAFE_OR_BREAK = re.compile(f"[{_UNSAFE_CLASS}\t\n]")
# in a CSV cell a CR is a line break like LF: kept, inside the cell's quotes
_UNSAFE_IN_CSV = re.compile(f"[{_UNSAFE_CLASS.replace(chr(0x0B) + '-' + chr(0x1F), chr(0x0B) + chr(0x0C) + chr(0x0E) + '-' + chr(0x1F), 1)}]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _cut(value: Any, limit: int | None) -> str:
    text = "" if value is None else str(value)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def is_safe(text: str) -> bool:
    """True when *text* holds no unsafe character (newlines and tabs allowed)."""
    return _UNSAFE.search(text) is None


def safe_text(value: Any, *, limit: int | None = None) -> str:
    """Printable text: unsafe characters shown as ``\\xNN``/``\\uNNNN``, never sent raw; cut to *limit* chars."""
    return _UNSAFE.sub(_visible, _cut(value, limit))


def safe_line(value: Any, *, limit: int | None = None) -> str:
    """Like :func:`safe_text`, on one line: newlines and tabs are escaped too."""
    return _UNSAFE_OR_BREAK.sub(_visible, _cut(value, limit))


#: The most characters of one untrusted value shown inside a line of prose. Enrichment answers are cut when
#: stored (:data:`scantui.enrich.answers.LIMITS`); the input's own columns are not (a 500-character hostname
#: filled 8 lines of a detail), so the views cut them when shown: the full value stays in the data (table
#: exports, ``--json``/``--csv``).
SHOWN_CHARS = 64


def safe_value(value: Any, *, limit: int = SHOWN_CHARS) -> str:
    """Like :func:`safe_line`, then cut to *limit* characters as shown (escapes count: a value of control
    characters cannot grow 4x), ending in ``…`` when cut."""
    text = safe_line(value)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def safe_markup(value: Any, *, limit: int | None = None) -> str:
    """Like :func:`safe_text`, with Rich markup escaped (``[bold]`` shows literally)."""
    from rich.markup import escape

    return escape(safe_text(value, limit=limit))


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_safe(encoded: str) -> str:
    """An encoded JSON document with every unsafe character ``\\u``-escaped (same value, nothing raw).

    Unsafe characters can only occur inside JSON strings, where ``\\uXXXX`` means the same
    character, so the document decodes to exactly what it did before.
    """
    return _UNSAFE.sub(_json_escape, encoded)


def csv_safe(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text: safe characters, formulas prefixed with ``'``. Line breaks
    (LF, CR) are kept like :func:`safe_text` keeps LF: written by :func:`csv_writer`, inside quotes, they are the
    value's and a CSV reader gets them back."""
    text = _UNSAFE_IN_CSV.sub(_visible, "" if value is None else str(value))
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


class _CsvWriter:
    """:func:`csv_writer`'s writer."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> Any:
        row = list(row)
        if any(isinstance(cell, str) and "\r" in cell for cell in row):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\r\n").writerow(row)  # a CR in the line end: cells holding one quoted
            return self._out.write(buf.getvalue()[:-2] + "\n")
        return self._writer.writerow(row)


def csv_writer(out: TextIO) -> _CsvWriter:
    """A :func:`csv.writer` of *out*, lines ending ``\n``, that quotes a cell holding a CR as it quotes one holding
    a LF: Python's own (3.11) leaves a lone CR unquoted, and a CSV reader then ends the row there."""
    return _CsvWriter(out)


def unsafe_class_for_polars() -> str:
    """The unsafe characters as a regex class for polars (Rust ``regex``), e.g. ``str.contains``.

    Rust strings cannot hold lone surrogates, so that range is left out; every other
    character is written as ``\\x{HEX}``.
    """
    body = _UNSAFE_CLASS.replace("\ud800-\udfff", "")
    return "[" + "".join("-" if c == "-" else f"\\x{{{ord(c):X}}}" for c in body) + "]"
