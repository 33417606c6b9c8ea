"""The scanner list as JSON or CSV text, built column by column in polars.

Same text as serialising :func:`scantui.analysis.scanners.records` row by row with
:mod:`json`/:mod:`csv` (tested against it), minutes faster on a large list: dotted IPs,
RFC 3339 times (UTC written ``Z``), ``tools`` as ``{tool: share}`` (non-zero shares only), top-level
floats rounded to 4 digits, every float written as Python writes it (shortest repr; ``NaN`` and
``Infinity`` in JSON, ``nan`` and ``inf`` in CSV).

Untrusted text (AS names, hostnames ...) is made safe the way :mod:`scantui.safetext` does
for every output: in JSON every control/format character is ``\\u``-escaped
(:func:`~scantui.safetext.json_safe`), in CSV it is escaped visibly and a cell that a
spreadsheet would read as a formula gets a leading ``'`` (:func:`~scantui.safetext.csv_safe`).
Values needing that are rare, so polars finds them and Python converts only those.

A column of a type not handled here (none today) makes both functions fall back to the
row-by-row path, so the text never differs. :func:`scanners_output` gives what the CLI writes
as UTF-8 bytes, joined once from the rows' bytes (no copy of a 100 MB text through Python
strings); :func:`scanners_pieces` the same bytes a slice of rows at a time. :func:`frame_json_rows` and
:func:`frame_csv_bytes` write any frame the same way, no column named specially (``scantui packets``' rows).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence

import polars as pl

from scantui.safetext import csv_safe, csv_writer, json_safe, unsafe_class_for_polars

DIGITS = 4
_INTS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_UNSAFE = unsafe_class_for_polars()
#: A JSON string needs more than quotes around it: an escape (json.dumps) or a safe-escape.
_JSON_SPECIAL = '["\\\\\\x{0}-\\x{1F}]|' + _UNSAFE
#: A CSV cell needs csv_safe: an unsafe character, or a spreadsheet formula at the start.
_CSV_SPECIAL = r"^[=+\-@\t\r]|" + _UNSAFE


class _Unhandled(Exception):
    """A column type this module does not write; the caller falls back to the row-by-row path."""


def _patch(text: pl.Series, mask: pl.Series, source: pl.Series, convert: Callable) -> pl.Series:
    """*text* with the rows of *mask* replaced by ``convert(value)`` of *source* (rare rows, in Python)."""
    mask = mask.fill_null(False)
    if not mask.any():
        return text
    idx = mask.arg_true()
    return text.scatter(idx, [convert(v) for v in source.gather(idx).to_list()])


def _round(s: pl.Series, digits: int) -> pl.Series:
    """Python's ``round(x, digits)`` on a float column: polars rounds the scaled value, which can
    differ from Python's exact decimal rounding next to a tie, so those values are rounded in Python."""
    rounded = s.round(digits)
    scaled = s * 10.0**digits
    near_tie = ((scaled - scaled.floor() - 0.5).abs() < 1e-6) | (scaled.abs() >= 1e9)
    return _patch(rounded, near_tie & s.is_finite(), s, lambda v: round(v, digits))


def _float_text(s: pl.Series, fmt: str, digits: int | None) -> pl.Series:
    """Floats as Python writes them (``json.dumps``/``str``); nulls stay null."""
    s = s.cast(pl.Float64)
    if digits is not None:
        s = _round(s, digits)
    text = s.cast(pl.String)
    # polars writes 5e-05 as 0.00005 and NaN/inf its own way
    odd = ~s.is_finite() | ((s.abs() < 1e-4) & (s != 0)) | (s.abs() >= 1e16)
    return _patch(text, odd, s, json.dumps if fmt == "json" else str)


def _ip_text(s: pl.Series) -> pl.Series:
    v = s.cast(pl.UInt32).to_frame("v").lazy()
    return v.select(pl.format("{}.{}.{}.{}", *[(pl.col("v") // (1 << k)) % 256 for k in (24, 16, 8, 0)])).collect().to_series()


def _time_text(s: pl.Series) -> pl.Series:
    dtype = s.dtype
    if not isinstance(dtype, pl.Datetime) or dtype.time_unit != "us" or dtype.time_zone not in ("UTC", None):
        raise _Unhandled(str(dtype))
    suffix = "Z" if dtype.time_zone else ""
    frame = s.to_frame("t").lazy()
    whole = pl.col("t").dt.microsecond() == 0  # isoformat leaves out a zero fraction
    return frame.select(
        pl.when(whole).then(pl.col("t").dt.strftime(f"%Y-%m-%dT%H:%M:%S{suffix}"))
        .otherwise(pl.col("t").dt.strftime(f"%Y-%m-%dT%H:%M:%S%.6f{suffix}"))
    ).collect().to_series()


def _string_text(s: pl.Series, fmt: str) -> pl.Series:
    if fmt == "json":
        text = pl.select(pl.concat_str(pl.lit('"'), pl.lit(s), pl.lit('"'))).to_series()
        return _patch(text, s.str.contains(_JSON_SPECIAL), s, lambda v: json_safe(json.dumps(v, ensure_ascii=False)))
    text = _patch(s, s.str.contains(_CSV_SPECIAL), s, csv_safe)
    return text.replace("", None)  # csv writes an empty string as nothing, like None


def _members_text(fields: Sequence[tuple[str, pl.Series]]) -> pl.Series:
    """``{"k": v, ...}`` from already-encoded JSON fragments (null fragments left out)."""
    parts = [pl.concat_str(pl.lit(json.dumps(k) + ": "), pl.lit(v)) for k, v in fields]
    return pl.select(pl.concat_str(pl.lit("{"), pl.concat_str(parts, separator=", ", ignore_nulls=True), pl.lit("}"))).to_series()


def _tools_text(s: pl.Series) -> pl.Series:
    """``{tool: share}`` of the non-zero shares (rounded), ``{}`` for a null struct."""
    fields = []
    for f in s.struct.fields:
        v = s.struct.field(f).cast(pl.Float64)
        text = _float_text(v, "json", DIGITS)
        fields.append((f, pl.select(pl.when(pl.lit(v).fill_null(0) != 0).then(pl.lit(text))).to_series()))
    return _members_text(fields)


def _json_value(s: pl.Series, digits: int | None) -> pl.Series:
    """Any handled column as JSON fragments (null as ``null``); nested values are not rounded."""
    dtype = s.dtype
    if isinstance(dtype, (pl.Float32, pl.Float64)):
        text = _float_text(s, "json", digits)
    elif isinstance(dtype, _INTS):
        text = s.cast(pl.String)
    elif isinstance(dtype, pl.Boolean):
        text = s.cast(pl.String)  # "true" / "false"
    elif isinstance(dtype, pl.String):
        text = _string_text(s, "json")
    elif isinstance(dtype, pl.Datetime):
        text = pl.select(pl.concat_str(pl.lit('"'), pl.lit(_time_text(s)), pl.lit('"'))).to_series()
    elif isinstance(dtype, pl.Struct):
        text = _members_text([(f, _json_value(s.struct.field(f), None)) for f in s.struct.fields])
    elif isinstance(dtype, pl.List):
        text = _list_text(s)
    else:
        raise _Unhandled(str(dtype))
    return text.fill_null("null")


def _fast_list_text(s: pl.Series) -> pl.Series | None:
    """A list of structs of numbers whose floats polars writes as Python does, in one expression; else None."""
    inner = s.dtype.inner
    if not isinstance(inner, pl.Struct):
        return None
    flat = s.explode()
    fields = []
    for f in inner.fields:
        if isinstance(f.dtype, (pl.Float32, pl.Float64)):
            v = flat.struct.field(f.name).cast(pl.Float64)
            if (~v.is_finite() | ((v.abs() < 1e-4) & (v != 0)) | (v.abs() >= 1e16)).fill_null(False).any():
                return None
        elif not isinstance(f.dtype, _INTS):
            return None
        value = pl.element().struct.field(f.name).cast(pl.Float64 if isinstance(f.dtype, pl.Float32) else f.dtype)
        fields.append(pl.concat_str(pl.lit(json.dumps(f.name) + ": "), value.cast(pl.String).fill_null("null")))
    element = pl.when(pl.element().is_null()).then(pl.lit("null")).otherwise(
        pl.concat_str(pl.lit("{"), pl.concat_str(fields, separator=", "), pl.lit("}")))
    return s.to_frame("v").select(
        pl.concat_str(pl.lit("["), pl.col("v").list.eval(element).list.join(", "), pl.lit("]"))).to_series()


def _list_text(s: pl.Series) -> pl.Series:
    """``[a, b]`` per row: the elements encoded flat (one pass), joined back per row."""
    fast = _fast_list_text(s)
    if fast is not None:
        return fast
    flat = s.rename("v").to_frame().with_row_index("row").explode("v")
    inner = _json_value(flat["v"], None)
    empty = s.list.len().fill_null(0) == 0
    joined = (flat.select("row").with_columns(inner.alias("v"))
              .filter(pl.lit(~empty.gather(flat["row"])))
              .group_by("row", maintain_order=True).agg(pl.col("v").str.join(", "))
              .with_columns(pl.concat_str(pl.lit("["), pl.col("v"), pl.lit("]")).alias("v")))
    rows = pl.DataFrame({"row": pl.arange(0, s.len(), eager=True).cast(pl.UInt32)})
    out = rows.join(joined, on="row", how="left", maintain_order="left")["v"]
    out = pl.select(pl.when(pl.lit(empty)).then(pl.lit("[]")).otherwise(pl.lit(out))).to_series()
    return pl.select(pl.when(pl.lit(s.is_null())).then(None).otherwise(pl.lit(out))).to_series()


def _column_text(df: pl.DataFrame, name: str, fmt: str) -> pl.Series:
    s = df[name]
    if name == "src":
        return _ip_text(s) if fmt == "csv" else pl.select(pl.concat_str(pl.lit('"'), pl.lit(_ip_text(s)), pl.lit('"'))).to_series()
    if name == "tools":
        return _tools_text(s)
    if fmt == "json":
        return _json_value(s, DIGITS)
    dtype = s.dtype
    if isinstance(dtype, (pl.Float32, pl.Float64)):
        return _float_text(s, "csv", DIGITS)
    if isinstance(dtype, _INTS):
        return s
    if isinstance(dtype, pl.String):
        return _string_text(s, "csv")
    if isinstance(dtype, pl.Datetime):
        return _time_text(s)
    if isinstance(dtype, (pl.Struct, pl.List)):
        return _json_value(s, None).replace("null", None)  # json.dumps of the value; csv_safe leaves it as is
    raise _Unhandled(str(dtype))


def _json_rows(df: pl.DataFrame, value: Callable[[str], pl.Series] | None = None) -> pl.Series:
    """One JSON object per row of *df*, each column's values encoded by *value* (default: the scanner columns'
    rules, :func:`_column_text`; raises :class:`_Unhandled`)."""
    value = value or (lambda c: _column_text(df, c, "json"))
    # the encoded columns as one frame, joined by one concat_str over its columns (a literal Series per
    # column inside the expression was copied: most of the time on a 100 MB list)
    texts = pl.DataFrame([value(c).rename(f"c{i}") for i, c in enumerate(df.columns)])
    parts: list[pl.Expr] = []
    for i, c in enumerate(df.columns):
        key = json_safe(json.dumps(c, ensure_ascii=False))
        parts += [pl.lit(("{" if i == 0 else ", ") + key + ": "), pl.col(f"c{i}")]
    return texts.select(pl.concat_str([*parts, pl.lit("}")]).alias("row")).to_series()


def frame_json_rows(df: pl.DataFrame) -> list[bytes] | None:
    """Each row of *df* as one JSON object in UTF-8, exactly ``json_safe(json.dumps(row, ensure_ascii=False))``
    of ``df.to_dicts()`` (no column named specially, floats not rounded, times RFC 3339 ``Z`` as the CLI writes
    them; ~9x less CPU than that on the packets' columns); None when a column has a type not handled here (the caller serialises the dicts)."""
    if df.height == 0:
        return []
    try:
        rows = _json_rows(df, lambda c: _json_value(df[c], None))
    except _Unhandled:
        return None
    return rows.cast(pl.Binary).to_list()


def frame_csv_bytes(df: pl.DataFrame, *, header: bool) -> bytes | None:
    """*df*'s rows as CSV in UTF-8 (the header first when asked), exactly what :mod:`csv` writes for
    ``df.to_dicts()`` with text cells made safe (:func:`~scantui.safetext.csv_safe`, as the CLI's
    ``print_csv``); for integer and text columns only, else None (the caller writes the dicts)."""
    texts = []
    for name in df.columns:
        s = df[name]
        if isinstance(s.dtype, _INTS):
            texts.append(s)
        elif isinstance(s.dtype, pl.String):
            texts.append(_string_text(s, "csv").rename(name))
        else:
            return None
    head = _csv_line([csv_safe(c) for c in df.columns]).encode() if header else b""
    if not df.height:
        return head
    body = io.BytesIO()
    pl.DataFrame(texts).write_csv(body, include_header=False, quote_style="necessary", line_terminator="\n")
    return head + body.getvalue()


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
    try:
        data = {c: _column_text(df, c, "csv") if c in df.columns else pl.Series(c, [None] * df.height, pl.String)
                for c in columns}
        frame = pl.DataFrame([s.rename(c) for c, s in data.items()]) if columns else pl.DataFrame()
        header = _csv_line([csv_safe(c) for c in columns]).encode()
        if not frame.height:
            return header
        body = io.BytesIO()
        frame.write_csv(body, include_header=False, quote_style="necessary", line_terminator="\n")
        return header + body.getvalue()
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

