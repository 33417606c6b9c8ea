"""The scanner list's JSON/CSV text built in bulk is exactly the row-by-row text (plus safety).

The reference is what the CLI printed before: ``json.dumps(records(df))`` and ``csv.writer``
over the same records, with the shared sanitisers applied (``json_safe``, ``csv_safe``); JSON Lines
is ``json.dumps`` of each record on a line. Times are RFC 3339 UTC ending in ``Z``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from clihelp import SAMPLE
from scantui.analysis.scanners import COLUMNS, ScannerQuery, records, scanner_list
from scantui.analysis.scanners_text import (frame_csv_bytes, frame_json_rows, scanners_csv, scanners_json, scanners_jsonl,
                                           scanners_output, scanners_pieces)
from scantui.safetext import csv_safe, csv_writer, json_safe

HOSTILE = ("\x1b[31mred\x1b[0m", "\x1b]0;pwned\x07title", "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\",
           "bell\x07", "csi\x9b2J", "rtl\u202egnp.exe", "zero\u200bwidth", 'quote " and \\ back', "new\nline",
           "=HYPERLINK(\"http://evil.example\",\"x\")", "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "", "ünïcödé", "a,b")


def reference_json(df: pl.DataFrame) -> str:
    return json_safe(json.dumps(records(df), ensure_ascii=False))


def reference_jsonl(df: pl.DataFrame) -> str:
    return "".join(json_safe(json.dumps(r, ensure_ascii=False)) + "\n" for r in records(df))


def reference_csv(df: pl.DataFrame, columns) -> str:
    buf = io.StringIO()
    writer = csv_writer(buf)  # csv.writer, a cell holding a CR quoted (tests/test_safetext.py)
    writer.writerow(columns)
    for row in records(df):
        cells = []
        for c in columns:
            v = row.get(c)
            if isinstance(v, (dict, list)):
                v = json.dumps(v)
            cells.append(v if v is None or isinstance(v, (int, float)) else csv_safe(v))
        writer.writerow(cells)
    return buf.getvalue()


def edge_frame() -> pl.DataFrame:
    """Every awkward value: hostile text, formulas, empty strings, nulls, NaN/inf, ties, tiny floats."""
    n = len(HOSTILE)
    t0 = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
    floats = [0.25, 0.03125, 0.00025, 24.90475, 1 / 3, float("nan"), float("inf"), -float("inf"), -0.5, None,
              1e-7, 0.0, -0.0, 123456789.12345, 2.5e16, 0.99995, 0.00005, 58.31125]
    tools = [{"zmap": f, "masscan": 1.0 - (f or 0) if f == f else 0.5, "other": 0.0} for f in floats]
    tools[3] = None
    top = [[{"port": i, "proto": 6, "packets": 1, "scans": 1, "coverage": f}] for i, f in enumerate(floats)]
    top[1], top[2] = [], None
    return pl.DataFrame({
        "src": pl.Series(range(0, n * 16_777_259, 16_777_259), dtype=pl.UInt32),
        "packets": pl.Series([2**40 + i for i in range(n)], dtype=pl.UInt64),
        "first_seen": pl.Series([t0 + dt.timedelta(seconds=i, microseconds=(i % 3) * 7) for i in range(n)]).dt.replace_time_zone("UTC"),
        "last_seen": pl.Series([None] + [t0] * (n - 1), dtype=pl.Datetime("us", "UTC")),
        "tool": ["zmap"] * n,
        "tools": tools,
        "period_days": pl.Series([-3, None] + list(range(n - 2)), dtype=pl.Int64),
        "coverage_max": floats,
        "as_name": list(HOSTILE),
        "hostname": [None] + list(HOSTILE[1:]),
        "asn": pl.Series([64500] * (n - 1) + [None], dtype=pl.UInt32),
        "top_ports": top,
    }, schema_overrides={"tools": pl.Struct({"zmap": pl.Float64, "masscan": pl.Float64, "other": pl.Float64})})


def test_edge_values_give_the_row_by_row_text():
    df = edge_frame()
    assert scanners_json(df) == reference_json(df) and scanners_jsonl(df) == reference_jsonl(df)
    columns = (*df.columns, "not_in_frame")
    assert scanners_csv(df, columns) == reference_csv(df, columns)
    assert scanners_json(df.head(0)) == "[]" and scanners_csv(df.head(0), columns) == reference_csv(df.head(0), columns)
    assert scanners_jsonl(df.head(0)) == ""
    plain = df.head(5)  # no float polars writes otherwise: the one-expression path for top_ports (null, [], values)
    assert scanners_json(plain) == reference_json(plain) and scanners_csv(plain, columns) == reference_csv(plain, columns)
    assert scanners_jsonl(plain) == reference_jsonl(plain)
    for frame in (df, plain, df.head(1), df.head(0)):
        assert_output_bytes(frame, columns)


def assert_output_bytes(df: pl.DataFrame, columns) -> None:
    """What the CLI writes (bytes built in polars) is the reference text plus its newline, UTF-8 encoded."""
    assert scanners_output(df, "json", columns) == (reference_json(df) + "\n").encode()
    assert scanners_output(df, "jsonl", columns) == reference_jsonl(df).encode()
    assert scanners_output(df, "csv", columns) == reference_csv(df, columns).encode()
    for fmt in ("json", "jsonl", "csv"):  # in pieces of 1, 2, 4 ... rows: joined, the same bytes
        slices = [(start, n) for start, n in ((0, 1), (1, 2), (3, 4), (7, 8), (15, df.height)) if start < df.height]
        assert b"".join(scanners_pieces(df, fmt, columns, slices)) == scanners_output(df, fmt, columns)


def test_times_are_rfc3339_utc_with_z():
    df = edge_frame().head(3)
    rows = json.loads(scanners_json(df))
    assert [r["first_seen"] for r in rows] == ["2024-02-01T00:00:00Z", "2024-02-01T00:00:01.000007Z",
                                               "2024-02-01T00:00:02.000014Z"]
    assert rows[0]["last_seen"] is None and rows[1]["last_seen"] == "2024-02-01T00:00:00Z"
    assert "+00:00" not in scanners_csv(df, df.columns) and ",2024-02-01T00:00:00Z," in scanners_csv(df, df.columns)


def test_json_keeps_the_values_and_escapes_every_control_and_format_character():
    df = edge_frame()
    text = scanners_json(df)
    for ch in ("\x1b", "\x07", "\x9b", "\u202e", "\u200b", "\n"):
        assert ch not in text
    assert [r["as_name"] for r in json.loads(text)] == list(HOSTILE)  # values unchanged
    lines = scanners_jsonl(df).split("\n")
    assert lines[-1] == "" and len(lines) == df.height + 1  # hostile text never breaks a line in two
    assert [json.loads(line)["as_name"] for line in lines[:-1]] == list(HOSTILE)


def test_csv_cells_are_inert_text_and_numbers_stay_numbers():
    df = edge_frame()
    text = scanners_csv(df, df.columns)
    for ch in ("\x1b", "\x07", "\x9b", "\u202e", "\u200b"):
        assert ch not in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    names = [r["as_name"] for r in rows]
    assert names[9] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert names[10:15] == ["'+1", "'-2", "'@SUM(A1)", "'\tTAB", "'\rCR"]  # a line break is data, as LF: quoted
    assert names[8] == "new\nline"
    assert names[0] == "\\x1b[31mred\\x1b[0m" and names[5] == "rtl\\u202egnp.exe"
    assert all(not n.startswith(("=", "+", "-", "@")) for n in names)
    assert rows[0]["period_days"] == "-3"  # a negative number is a number, not a formula
    assert rows[8]["coverage_max"] == "-0.5"


@pytest.mark.usefixtures("shared_rollup_cache")
@pytest.mark.parametrize("query", [{}, {"ports": (80, 443)}])
def test_the_sample_list_gives_the_row_by_row_text(query):
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.io.loader import open_inputs

    dataset = open_inputs([SAMPLE])
    rollup = open_rollup(dataset)
    df = scanner_list(rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment,
                      query=ScannerQuery(**query), packets=dataset.lf, src_profile=rollup.src_profile).frame
    assert df.height > 1000
    assert scanners_json(df) == reference_json(df)
    assert scanners_jsonl(df) == reference_jsonl(df)
    assert scanners_csv(df, COLUMNS) == reference_csv(df, COLUMNS)
    assert_output_bytes(df, COLUMNS)


def test_the_polars_class_of_unsafe_characters_is_the_sanitisers_own():
    from scantui.safetext import is_safe, unsafe_class_for_polars

    chars = [chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF]
    hits = pl.Series(chars).str.contains(unsafe_class_for_polars()).to_list()
    assert [c for c, hit in zip(chars, hits) if hit == is_safe(c)] == []


def test_any_frames_rows_as_json_and_csv_are_what_json_and_csv_write():
    """frame_json_rows / frame_csv_bytes (``scantui packets``' rows): no column named specially, text made safe,
    nulls; a column type they do not write gives None (the caller serialises the dicts)."""
    n = len(HOSTILE)
    df = pl.DataFrame({
        "src": [f"192.0.2.{i}" for i in range(n)],  # text here, not an integer address
        "port": pl.Series(list(range(n - 1)) + [None], dtype=pl.UInt16),
        "seq": pl.Series([2**32 - 1 - i for i in range(n)], dtype=pl.UInt32),
        "as_name": list(HOSTILE),
        "hostname": [None] + list(HOSTILE[1:]),
        "empty": [""] * n,
    })
    rows = df.to_dicts()
    assert frame_json_rows(df) == [json_safe(json.dumps(r, ensure_ascii=False)).encode() for r in rows]
    buf = io.StringIO()
    writer = csv_writer(buf)
    writer.writerow(df.columns)
    for r in rows:
        writer.writerow([v if v is None or isinstance(v, int) else csv_safe(v) for v in r.values()])
    assert frame_csv_bytes(df, header=True) == buf.getvalue().encode()
    assert frame_csv_bytes(df.slice(3, 4), header=False) == "".join(buf.getvalue().splitlines(True)[4:8]).encode()
    assert frame_json_rows(df.head(0)) == [] and frame_csv_bytes(df.head(0), header=True) == buf.getvalue().splitlines(True)[0].encode()
    dated = df.with_columns(day=pl.lit(dt.date(2024, 2, 1)))
    assert frame_json_rows(dated) is None and frame_csv_bytes(dated, header=True) is None


def test_nested_values_booleans_and_a_null_struct_are_what_json_and_csv_write():
    """Structs, lists of text and of structs, booleans: a null struct is ``null`` (not its fields), nested text is
    escaped as json.dumps escapes it (ASCII-only in a CSV cell), and the bulk text is the reference's."""
    df = pl.DataFrame({"s": [{"a": 1, "b": "x\x1b"}, None, {"a": None, "b": "ü"}],
                       "l": [["a", "ü\u202e"], None, []], "f": [1e-5, 0.5, None], "ok": [True, None, False],
                       "ls": [[{"p": 1, "c": 0.1}], [None], None]})
    assert frame_json_rows(df) == [json_safe(json.dumps(r, ensure_ascii=False)).encode() for r in df.to_dicts()]
    assert frame_json_rows(df)[1].startswith(b'{"s": null, ')
    assert scanners_json(df) == reference_json(df) and scanners_jsonl(df) == reference_jsonl(df)
    assert scanners_csv(df, df.columns) == reference_csv(df, df.columns)
    assert ',True,' in scanners_csv(df, df.columns) and '\\u00fc' in scanners_csv(df, df.columns)


_FLOATS = hst.one_of(hst.floats(allow_nan=True, allow_infinity=True), hst.integers(-10**6, 10**6).map(lambda i: i / 32),
                     hst.sampled_from([0.00005, 0.00015, 24.90475, 1e16, 9.99995e15, 1e-300, 5e-324]), hst.none())


@settings(max_examples=60, deadline=None)
@given(values=hst.lists(_FLOATS, min_size=1, max_size=12), names=hst.lists(hst.text(max_size=6), min_size=12, max_size=12))
def test_any_floats_and_text_give_the_row_by_row_text(values, names):
    """Floats rounded at the top level (ties, tiny, huge, NaN, inf), raw inside lists and the tools struct's
    non-zero shares, and any text: the bulk encoders write what Python writes, in JSON and in CSV."""
    n = len(values)
    df = pl.DataFrame({
        "coverage_max": pl.Series(values, dtype=pl.Float64),
        "tools": [{"zmap": v, "other": 0.0} for v in values],
        "top_ports": [[{"port": 1, "coverage": v}] for v in values],
        "as_name": names[:n],
    }, schema_overrides={"tools": pl.Struct({"zmap": pl.Float64, "other": pl.Float64})})
    assert scanners_json(df) == reference_json(df)
    assert scanners_csv(df, df.columns) == reference_csv(df, df.columns)
