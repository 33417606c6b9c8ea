"""Hostile text in the data reaches no output raw: tables, JSON, CSV, messages and error lines.

Escape sequences (colour, OSC window title, OSC 8 hyperlink), BEL, the one-byte CSI U+009B,
a right-to-left override and a zero-width space, in the data's AS names and hostnames and in a
labels file's title and notes; a file name holding a newline and an escape.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from clihelp import run
from test_enrich_table import write_packets

ESC = "\x1b"
HOSTILE = (f"{ESC}[31mred{ESC}[0m {ESC}]0;pwned\x07 {ESC}]8;;http://evil.example/{ESC}\\click{ESC}]8;;{ESC}\\"
           " bell\x07 csi\x9b2J rtl\u202egnp.exe zero\u200bwidth")
RAW = (ESC, "\x07", "\x9b", "\u202e", "\u200b")
FORMULA = '=HYPERLINK("http://evil.example","open me")'


def assert_inert(text: str) -> None:
    for ch in RAW:
        assert ch not in text, repr(ch)


@pytest.fixture
def hostile_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    enrichment = {"192.0.2.1": {"asn": 64500, "as_name": HOSTILE, "hostname": FORMULA, "country": "NL"},
                  "192.0.2.2": {"asn": 64501, "as_name": FORMULA, "hostname": HOSTILE}}
    return write_packets(tmp_path / "p.parquet", {1: list(enrichment), 2: list(enrichment)}, enrichment)


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--csv"]])
def test_scanners_outputs_carry_no_raw_control_or_format_character(hostile_data, capsys, monkeypatch, fmt):
    monkeypatch.setenv("COLUMNS", "400")
    code, out, err = run(["scanners", str(hostile_data), *fmt], capsys)
    assert code == 0, err
    assert_inert(out + err)
    if fmt == ["--json"]:
        by_src = {r["src"]: r for r in json.loads(out)}
        assert by_src["192.0.2.1"]["as_name"] == HOSTILE  # the value is kept, only escaped
        assert by_src["192.0.2.2"]["as_name"] == FORMULA
    elif fmt == ["--csv"]:
        by_src = {r["src"]: r for r in csv.DictReader(io.StringIO(out))}
        assert by_src["192.0.2.2"]["as_name"] == "'" + FORMULA
        assert by_src["192.0.2.1"]["hostname"] == "'" + FORMULA
        assert by_src["192.0.2.1"]["as_name"].startswith("\\x1b[31mred")
    else:
        assert "\\x1b[31mred" in out or "\\x1b[31" in out


NOTES = json.dumps("line one\n" + HOSTILE)
LABELS = f"""\
scantui_labels: 1
groups:
  - id: G01
    title: {json.dumps(HOSTILE)}
    verdict: collaborative
    members: [192.0.2.10]
    notes: {NOTES}
  - id: G02
    title: {json.dumps(FORMULA)}
    verdict: unsure
    members: [192.0.2.11]
    tags: ["-1+1", "@me"]
"""


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--csv"]])
def test_labels_list_outputs_carry_no_raw_control_or_format_character(tmp_path, capsys, fmt):
    path = tmp_path / "labels.yaml"
    path.write_text(LABELS)
    code, out, err = run(["labels", "list", str(path), *fmt], capsys)
    assert code == 0, err
    assert_inert(out + err)
    if fmt == ["--json"]:
        doc = json.loads(out)
        assert doc[0]["title"] == HOSTILE and doc[1]["title"] == FORMULA
    elif fmt == ["--csv"]:
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rows[1]["title"] == "'" + FORMULA
        assert rows[0]["notes"].startswith("line one\n\\x1b[31m")
        assert rows[1]["members_count"] == "1"


@pytest.mark.parametrize("command", [["labels", "list"], ["labels", "sources"]])
def test_labels_csv_line_breaks_come_back_through_the_csv_module(tmp_path, capsys, command):
    """A title's or note's CR is data like its LF (a CR was written ``\\x0d``, a LF raw): both inside the cell's
    quotes, so a CSV reader gets the value back and every row stays one row."""
    path = tmp_path / "labels.yaml"
    note, title = "first\r\nsecond\rthird\nfourth", "a\rb"
    path.write_text(f"""scantui_labels: 1
groups:
  - id: G01
    title: {json.dumps(title)}
    verdict: unsure
    members: [192.0.2.10]
    notes: {json.dumps(note)}
sources:
  - ip: 192.0.2.10
    note: {json.dumps(note)}
""")
    code, out, err = run([*command, str(path), "--csv"], capsys)
    assert code == 0, err
    [row] = list(csv.DictReader(io.StringIO(out, newline="")))
    if command[1] == "list":
        assert row["title"] == title and row["notes"] == note
    else:
        assert row["ip"] == "192.0.2.10" and row["note"] == note


def test_a_file_name_cannot_forge_a_second_error_line(tmp_path, capsys):
    name = tmp_path / f"x.yaml\nscantui: error: {ESC}[2Jforged"
    code, out, err = run(["labels", "list", str(name)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("scantui: error: ")
    assert ESC not in err and "x.yaml\\x0ascantui: error: \\x1b[2Jforged: " in err
    name.write_text("scantui_labels: 1\ngroups: []\n")
    code, out, err = run(["labels", "validate", str(name)], capsys)
    assert code == 0 and err.count("\n") == 1 and ESC not in err


@pytest.mark.parametrize("cut", ["iptables.csv", "iptables.log"])
def test_a_text_input_named_like_a_bad_glob_is_read(tmp_path, capsys, monkeypatch, cut):
    """A CSV or LOG input whose name holds an unclosed '[' (an escape sequence's ``ESC[31m``) was 'cannot read CSV:
    invalid glob pattern given': polars read the name as a pattern. It is a name: read as the plain-named copy."""
    import shutil

    from clihelp import SAMPLE_DIR

    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    plain = tmp_path / f"plain{cut[8:]}"
    odd = tmp_path / f"new\nline{ESC}[31m{cut[8:]}"
    for target in (plain, odd):
        shutil.copy(SAMPLE_DIR / "cuts" / cut, target)
    docs = []
    for path in (plain, odd):
        code, out, err = run(["scanners", str(path), "--year", "2024", "--json"], capsys)
        assert code == 0, err
        docs.append(json.loads(out))
    assert docs[1] == docs[0] and docs[0]
