"""The scanner list as JSON or CSV text, built in polars: one expression per column, one select for all.

Same text as serialising :func:`scantui.analysis.scanners.records` row by row with
:mod:`json`/:mod:`csv` (tested against it), minutes faster on a large list: dotted IPs,
RFC 3339 times (UTC written ``Z``), ``tools`` as ``{tool: share}`` (non-zero shares only), top-level
floats rounded to 4 digits, every float written as Python writes it (shortest repr; ``NaN`` and
``Infinity`` in JSON, ``nan`` and ``inf`` in CSV).

Untrusted text (AS names, hostnames ...) is made safe the way :mod:`scantui.safetext` does
for every output: in JSON every control/format character is ``\\u``-escaped
(:func:`~scantui.safetext.json_safe`), in CSV it is escaped visibly and a cell that a
spreadsheet would read as a formula gets a leading ``'`` (:func:`~scantui.safetext.csv_safe`).
Values needing that are rare, so polars finds them and Python converts only those (the same for the
floats polars writes otherwise than Python: ties when rounding, tiny, huge, NaN, inf); they join the
select as extra columns, so the text of a slice of rows is one pass over it on every core.

A column of a type not handled here (none today) makes both functions fall back to the
row-by-row path, so the text never differs. :func:`scanners_output` gives what the CLI writes
as UTF-8 bytes, joined once from the rows' bytes (no copy of a 100 MB text through Python
strings); :func:`scanners_pieces` the same bytes a slice of rows at a time. :func:`frame_json_rows` and
:func:`frame_csv_bytes` write any frame the same way, no column named specially (``scantui packets``' rows).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import polars as pl

from scantui.safetext import csv_safe, csv_writer, json_safe, unsafe_class_for_polars
from scantui.utctime import rfc3339

DIGITS = 4
_INTS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_UNSAFE = unsafe_class_for_polars()
#: A JSON string needs more than quotes around it: an escape (json.dumps) or a safe-escape.
_JSON_SPECIAL = '["\\\\\\x{0}-\\x{1F}]|' + _UNSAFE
#: A CSV cell needs csv_safe: an unsafe character, or a spreadsheet formula at the start.
_CSV_SPECIAL = r"^[=+\-@\t\r]|" + _UNSAFE


class _Unhandled(Exception):
    """A column type this module does not write; the caller falls back to the row-by-row path."""


# Every column is one polars expression (a select over all of them runs on every core) plus, where polars may
# write a value otherwise than Python, an expression for the rows that do: those few values are encoded in Python
# and take the row's place.  ``mode``: "json" (a JSON value), "csv" (a CSV cell's text; null for an empty cell),
# "csv-json" (a value nested in a CSV cell: ``json.dumps`` with its default ASCII escapes).

def _repr_odd(e: pl.Expr) -> pl.Expr:
    """Floats polars writes otherwise than Python's shortest repr (5e-05 as 0.00005, NaN and inf its own way)."""
    return ~e.is_finite() | ((e.abs() < 1e-4) & (e != 0)) | (e.abs() >= 1e16)


def _float(e: pl.Expr, digits: int | None) -> tuple[pl.Expr, pl.Expr]:
    e = e.cast(pl.Float64)
    if digits is None:
        return e.cast(pl.String), _repr_odd(e)
    rounded = e.round(digits)
    # polars rounds the scaled value, which can differ from Python's exact decimal rounding next to a tie
    scaled = e * 10.0**digits
    near_tie = ((scaled - scaled.floor() - 0.5).abs() < 1e-6) | (scaled.abs() >= 1e9)
    return rounded.cast(pl.String), _repr_odd(rounded) | near_tie


def _quoted(e: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit('"'), e, pl.lit('"'))


def _time(e: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    """``isoformat()`` of each time, a UTC one ending in ``Z`` (a zero fraction left out, as isoformat does)."""
    if dtype.time_unit != "us" or dtype.time_zone not in ("UTC", None):
        raise _Unhandled(str(dtype))
    suffix = "Z" if dtype.time_zone else ""
    return (pl.when(e.dt.microsecond() == 0).then(e.dt.strftime(f"%Y-%m-%dT%H:%M:%S{suffix}"))
            .otherwise(e.dt.strftime(f"%Y-%m-%dT%H:%M:%S%.6f{suffix}")))


def _encode(e: pl.Expr, dtype: pl.DataType, mode: str, digits: int | None) -> tuple[pl.Expr, pl.Expr | None]:
    """(text, odd) of a value of *dtype*: its text (null for null), and the rows Python must write (or None)."""
    if isinstance(dtype, (pl.Float32, pl.Float64)):
        return _float(e, digits)
    if isinstance(dtype, _INTS) and mode == "csv":
        return e, None  # written by polars' CSV writer as it is (no text made first)
    if isinstance(dtype, _INTS) or (isinstance(dtype, pl.Boolean) and mode != "csv"):
        return e.cast(pl.String), None  # a boolean as "true" / "false"
    if isinstance(dtype, pl.Boolean):
        return pl.when(e).then(pl.lit("True")).when(e.not_()).then(pl.lit("False")), None  # as csv writes them
    if isinstance(dtype, pl.String):
        if mode == "json":
            return _quoted(e), e.str.contains(_JSON_SPECIAL)
        if mode == "csv":
            return pl.when(e != "").then(e), e.str.contains(_CSV_SPECIAL)  # csv writes "" as nothing, like None
        return _quoted(e), e.str.contains(r'[^\x20-\x7E]|["\\]')  # json.dumps escapes all of these
    if isinstance(dtype, pl.Datetime):
        return (_time(e, dtype) if mode == "csv" else _quoted(_time(e, dtype))), None
    inner_mode = "json" if mode == "json" else "csv-json"
    if isinstance(dtype, pl.Struct):
        members, odds = [], []
        for f in dtype.fields:
            text, odd = _encode(e.struct.field(f.name), f.dtype, inner_mode, None)
            members.append(pl.concat_str(pl.lit(json.dumps(f.name) + ": "), text.fill_null("null")))
            odds += [odd] if odd is not None else []
        text = pl.when(e.is_not_null()).then(pl.concat_str(pl.lit("{"), pl.concat_str(members, separator=", "), pl.lit("}")))
        return text, (pl.any_horizontal(odds) if odds else None)
    if isinstance(dtype, pl.List):
        text, odd = _encode(pl.element(), dtype.inner, inner_mode, None)
        joined = pl.concat_str(pl.lit("["), e.list.eval(text.fill_null("null")).list.join(", "), pl.lit("]"))
        return joined, (e.list.eval(odd.fill_null(False)).list.any() if odd is not None else None)
    raise _Unhandled(str(dtype))


def _plain(value: Any) -> Any:
    """A nested value as :mod:`json` writes it: times as RFC 3339 text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    return value


def _python(dtype: pl.DataType, mode: str, digits: int | None) -> Callable[[Any], str]:
    """A value of a column as Python writes it (for the rows :func:`_encode` leaves to Python)."""
    if isinstance(dtype, (pl.Float32, pl.Float64)):
        write = json.dumps if mode == "json" else str
        return write if digits is None else (lambda v: write(round(v, digits)))
    if isinstance(dtype, pl.String) and mode == "csv":
        return csv_safe
    if mode == "json":
        return lambda v: json_safe(json.dumps(_plain(v), ensure_ascii=False))
    return lambda v: json.dumps(_plain(v))  # a nested value in a CSV cell


def _tools(e: pl.Expr, dtype: pl.Struct) -> tuple[pl.Expr, pl.Expr | None, Callable[[Any], str]]:
    """``{tool: share}`` of the non-zero shares (rounded), ``{}`` for a null struct."""
    members, odds = [], []
    for f in dtype.fields:
        share = e.struct.field(f.name).cast(pl.Float64)
        text, odd = _float(share, DIGITS)
        members.append(pl.when(share.fill_null(0) != 0).then(pl.concat_str(pl.lit(json.dumps(f.name) + ": "), text)))
        odds.append(odd)
    text = pl.concat_str(pl.lit("{"), pl.concat_str(members, separator=", ", ignore_nulls=True), pl.lit("}"))
    return text, pl.any_horizontal(odds), lambda v: json.dumps({t: round(s, DIGITS) for t, s in (v or {}).items() if s})


def _column(name: str, dtype: pl.DataType, mode: str, scanner: bool) -> tuple[pl.Expr, pl.Expr | None, Callable[[Any], str]]:
    """(text, odd, python) of one column: the scanner list's (*scanner*: dotted ``src``, ``tools`` as
    ``{tool: share}``, top-level floats rounded to :data:`DIGITS`) or any frame's (nothing named specially)."""
    e = pl.col(name)
    if scanner and name == "src":
        ip = pl.format("{}.{}.{}.{}", *[(e.cast(pl.UInt32) // (1 << k)) % 256 for k in (24, 16, 8, 0)])
        return (ip if mode == "csv" else _quoted(ip)), None, str
    if scanner and name == "tools" and isinstance(dtype, pl.Struct):  # the same text in a CSV cell
        return _tools(e, dtype)
    digits = DIGITS if scanner else None
    text, odd = _encode(e, dtype, mode, digits)
    return text, odd, _python(dtype, mode, digits)


def _texts(df: pl.DataFrame, mode: str, scanner: bool) -> tuple[list[pl.Expr], pl.DataFrame]:
    """One text expression per column of *df* (null where the value is null), over *df* with the rows Python
    writes put in as extra columns ``__fix{i}`` (raises :class:`_Unhandled`): select them from the returned frame."""
    columns = [_column(name, dtype, mode, scanner) for name, dtype in df.schema.items()]
    odd = {i: o.fill_null(False).alias(f"o{i}") for i, (_, o, _) in enumerate(columns) if o is not None}
    fixes = []
    if odd:
        masks = df.lazy().select(odd.values()).collect()
        for i in odd:
            mask = masks[f"o{i}"]
            if mask.any():
                idx = mask.arg_true()
                values = [columns[i][2](v) for v in df[:, i].gather(idx).to_list()]
                fixes.append((i, pl.Series(f"__fix{i}", [None] * df.height, pl.String).scatter(idx, values)))
    fixed = dict(fixes)
    exprs = [pl.coalesce(pl.col(f"__fix{i}"), text) if i in fixed else text for i, (text, _, _) in enumerate(columns)]
    return exprs, (df.hstack(list(fixed.values())) if fixed else df)


def _json_rows(df: pl.DataFrame, scanner: bool = True) -> pl.Series:
    """One JSON object per row of *df* (raises :class:`_Unhandled`)."""
    exprs, frame = _texts(df, "json", scanner)
    parts: list[pl.Expr] = []
    for i, (c, text) in enumerate(zip(df.columns, exprs)):
        key = json_safe(json.dumps(c, ensure_ascii=False))
        parts += [pl.lit(("{" if i == 0 else ", ") + key + ": "), text.fill_null("null")]
    return frame.lazy().select(pl.concat_str([*parts, pl.lit("}")]).alias("row")).collect().to_series()


def frame_json_rows(df: pl.DataFrame) -> list[bytes] | None:
    """Each row of *df* as one JSON object in UTF-8, exactly ``json_safe(json.dumps(row, ensure_ascii=False))``
    of ``df.to_dicts()`` (no column named specially, floats not rounded, times RFC 3339 ``Z`` as the CLI writes
    them; ~9x less CPU than that on the packets' columns); None when a column has a type not handled here (the caller serialises the dicts)."""
    if df.height == 0:
        return []
    try:
        rows = _json_rows(df, scanner=False)
    except _Unhandled:
        return None
    return rows.cast(pl.Binary).to_list()


def frame_csv_bytes(df: pl.DataFrame, *, header: bool) -> bytes | None:
    """*df*'s rows as CSV in UTF-8 (the header first when asked), exactly what :mod:`csv` writes for
    ``df.to_dicts()`` with text cells made safe (:func:`~scantui.safetext.csv_safe`, as the CLI's
    ``print_csv``); for integer and text columns only, else None (the caller writes the dicts)."""
    if not all(isinstance(dtype, (*_INTS, pl.String)) for dtype in df.schema.values()):
        return None
    head = _csv_line([csv_safe(c) for c in df.columns]).encode() if header else b""
    if not df.height:
        return head
    return head + _csv_body(df, df.columns, scanner=False)


def _csv_body(df: pl.DataFrame, columns: Sequence[str], scanner: bool) -> bytes:
    """The rows of *df* as CSV lines, *columns* in order (one not in *df* empty; raises :class:`_Unhandled`)."""
    present = df.select([c for c in columns if c in df.columns])
    exprs, frame = _texts(present, "csv", scanner)
    text = dict(zip(present.columns, exprs))
    cells = [text[c].alias(f"c{i}") if c in text else pl.lit(None, pl.String).alias(f"c{i}") for i, c in enumerate(columns)]
    body = io.BytesIO()
    frame.lazy().select(cells).collect().write_csv(body, include_header=False, quote_style="necessary", line_terminator="\n")
    return body.getvalue()


def _joined(df: pl.DataFrame, before: str, separator: str, after: str) -> pl.Series:
    """The JSON rows of *df* joined into one string, between *before* and *after* (a one-row Series; raises
    :class:`_Unhandled`). Kept in polars until the caller takes it as text or as UTF-8 bytes."""
    joined = _json_rows(df).to_frame("rows").select(pl.col("rows").str.join(separator))
    return joined.select(pl.concat_str(pl.lit(before), pl.col("rows"), pl.lit(after))).to_series()


def scanners_json(df: pl.DataFrame) -> str:
    """The list as one JSON array (no trailing newline), exactly ``json_safe(json.dumps(records(df)))``."""
    try:
        if df.height == 0:
            return "[]"
        return _joined(df, "[", ", ", "]").item()
    except _Unhandled:
        from scantui.analysis.scanners import records

        return json_safe(json.dumps(records(df), ensure_ascii=False))


def scanners_jsonl(df: pl.DataFrame) -> str:
    """The list as JSON Lines: each row ``json_safe(json.dumps(record))`` and a newline ("" for no rows)."""
    try:
        if df.height == 0:
            return ""
        return _joined(df, "", "\n", "\n").item()
    except _Unhandled:
        from scantui.analysis.scanners import records

        return "".join(json_safe(json.dumps(r, ensure_ascii=False)) + "\n" for r in records(df))


def scanners_csv(df: pl.DataFrame, columns: Sequence[str]) -> str:
    """The list as CSV with a header, *columns* in order (a missing one empty); text cells made safe."""
    return _csv_bytes(df, columns).decode()


def scanners_output(df: pl.DataFrame, fmt: str, columns: Sequence[str]) -> bytes:
    """What ``scantui scanners`` writes for *fmt* (``json``, ``jsonl``, ``csv``: *columns* in order), as UTF-8:
    ``scanners_json(df) + "\\n"``, ``scanners_jsonl(df)`` or ``scanners_csv(df, columns)`` encoded, built
    without a copy of the whole text in Python (the bytes come from polars)."""
    if fmt == "csv":
        return _csv_bytes(df, columns)
    if df.height:
        try:
            rows = _json_rows(df).cast(pl.Binary).to_list()  # the rows' UTF-8, joined once below
        except _Unhandled:
            pass
        else:
            before, separator, after = (b"[", b", ", b"]\n") if fmt == "json" else (b"", b"\n", b"\n")
            rows[0] = before + rows[0]
            rows[-1] = rows[-1] + after  # (the same row when there is one)
            return separator.join(rows)
    return (scanners_json(df) + "\n" if fmt == "json" else scanners_jsonl(df)).encode()


def scanners_pieces(df: pl.DataFrame, fmt: str, columns: Sequence[str],
                    slices: Iterable[tuple[int, int]]) -> Iterator[bytes]:
    """:func:`scanners_output` in pieces, one for each (start, length) of *slices* (which cover the rows in
    order), each made only when the one before was taken: joined, the same bytes. A reader that went away
    (``| head -1``) then ends the command before the rest of a long list is encoded."""
    if df.height == 0:
        yield scanners_output(df, fmt, columns)
        return
    header = _csv_line([csv_safe(c) for c in columns]).encode() if fmt == "csv" else b""
    first = True
    for start, n in slices:
        part = df.slice(start, n)
        if fmt == "csv":
            data = _csv_bytes(part, columns)
            yield data if first else data[len(header):]
        else:
            try:
                rows = _json_rows(part).cast(pl.Binary).to_list()
            except _Unhandled:
                from scantui.analysis.scanners import records

                rows = [json_safe(json.dumps(r, ensure_ascii=False)).encode() for r in records(part)]
            if fmt == "json":
                last = start + n >= df.height
                yield (b"[" if first else b", ") + b", ".join(rows) + (b"]\n" if last else b"")
            else:
                yield b"".join(r + b"\n" for r in rows)
        first = False


def _csv_bytes(df: pl.DataFrame, columns: Sequence[str]) -> bytes:
    header = _csv_line([csv_safe(c) for c in columns]).encode()
    try:
        if not df.height or not columns:
            return header
        return header + _csv_body(df, columns, scanner=True)
    except _Unhandled:
        from scantui.analysis.scanners import records

        return _rows_csv(records(df), columns).encode()


def _csv_line(cells: Sequence[object]) -> str:
    buf = io.StringIO()
    csv_writer(buf).writerow(cells)
    return buf.getvalue()


def _rows_csv(rows: list[dict], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv_writer(buf)
    writer.writerow([csv_safe(c) for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def _csv_cell(value):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    return csv_safe(value)

