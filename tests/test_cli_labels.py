"""``scantui labels validate|list`` in-process: exit codes 0/1/2, one-line errors, table/JSON/CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest

from clihelp import run

VALID = """\
scantui_labels: 1
groups:
  - id: AK01
    title: "AKAMAI-01 [bold]not markup[/bold]"
    verdict: collaborative
    category: other
    members: [192.0.2.10, 192.0.2.11, 198.51.100.0/28]
    ports: [8080, 8081]
    scans:
      - {port: 8080, day: 2024-02-06, sources: [192.0.2.10, 192.0.2.11]}
    tags: [hosting]
    notes: "ring the bell \\a and \\e[31m colour"
    updated: 2026-11-21T10:05:00Z
    x-extra: kept
  - id: DO25
    verdict: unsure
    members: [203.0.113.7]
"""

INVALID = """\
scantui_labels: 1
groups:
  - id: AK01
    verdict: collaborative
    members: [192.0.2.10, 10.0.0.300]
  - id: AK01
    verdict: sure
    members: []
"""



@pytest.fixture
def valid(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(VALID)
    return path


def test_validate_valid_file_exits_0(valid, capsys):
    code, out, err = run(["labels", "validate", str(valid)], capsys)
    assert code == 0 and out == ""
    assert "valid, 2 groups, 4 members" in err


def test_validate_lists_every_problem_and_exits_1(tmp_path, capsys):
    path = tmp_path / "labels.yaml"
    path.write_text(INVALID)
    code, out, err = run(["labels", "validate", str(path)], capsys)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"scantui: error: {path}: line 5: groups[0].members[1]: bad IP or CIDR '10.0.0.300'",
        f"scantui: error: {path}: line 6: groups[1].id: duplicate id 'AK01' (first at line 3)",
        f"scantui: error: {path}: line 7: groups[1].verdict: bad verdict 'sure' (one of collaborative, not_collaborative, unsure)",
        f"scantui: error: {path}: line 8: groups[1].members: a group needs at least one member (delete the group instead)",
    ]


@pytest.mark.parametrize(
    "content, code, message",
    [
        ("", 1, "empty file; a labels file starts with 'scantui_labels: 1'"),
        ("[1, 2]\n", 1, "line 1: not a labels file: the top level must be a mapping"),
        ("groups: []\n", 1, "line 1: scantui_labels: missing"),
        ("scantui_labels: 1\ngroups: [\n", 2, "YAML syntax error"),
        (None, 2, "no such file"),
    ],
    ids=["empty", "not-a-mapping", "no-version", "syntax", "missing"],
)
def test_validate_structural_and_unreadable_files(tmp_path, capsys, content, code, message):
    path = tmp_path / "labels.yaml"
    if content is not None:
        path.write_text(content)
    got, out, err = run(["labels", "validate", str(path)], capsys)
    assert got == code and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"scantui: error: {path}: ") and message in lines[0]


def test_list_table_prints_untrusted_text_as_data(valid, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run(["labels", "list", str(valid)], capsys)
    assert code == 0, err
    assert "AK01" in out and "DO25" in out and "collaborative" in out
    assert "[bold]" in out  # shown literally, not interpreted as markup
    assert "\x1b" not in out


def test_list_json_is_one_array_with_members_as_strings(valid, capsys):
    code, out, _ = run(["labels", "list", "--json", str(valid)], capsys)
    assert code == 0
    doc = json.loads(out)
    assert [g["id"] for g in doc] == ["AK01", "DO25"]
    ak = doc[0]
    assert ak["members"] == ["192.0.2.10", "192.0.2.11", "198.51.100.0/28"] and ak["ports"] == [8080, 8081]
    assert ak["scans"] == [{"port": 8080, "day": "2024-02-06", "sources": ["192.0.2.10", "192.0.2.11"]}]
    assert ak["updated"] == "2026-11-21T10:05:00Z" and ak["created"] is None and ak["x-extra"] == "kept"
    assert ak["notes"] == "ring the bell \x07 and \x1b[31m colour"  # JSON carries the data; the encoder escapes it
    assert "\x1b" not in out


def test_list_csv(valid, capsys):
    code, out, _ = run(["labels", "list", "--csv", str(valid)], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == ["AK01", "DO25"]
    assert rows[0]["members_count"] == "3" and json.loads(rows[0]["members"])[2] == "198.51.100.0/28"
    assert rows[1]["members"] == '["203.0.113.7"]'


def test_list_bad_input_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "labels.yaml"
    path.write_text(INVALID)
    code, out, err = run(["labels", "list", str(path)], capsys)
    assert code == 2 and out == ""
    assert err == f"scantui: error: {path}: line 5: groups[0].members[1]: bad IP or CIDR '10.0.0.300' (and 3 more problems; see 'scantui labels validate')\n"
    code, _, err = run(["labels", "list", str(tmp_path / "missing.yaml")], capsys)
    assert code == 2 and err.strip().endswith("missing.yaml: no such file")


def test_usage_errors_exit_2(valid, capsys):
    code, _, err = run(["labels", "list", "--json", "--csv", str(valid)], capsys)
    assert code == 2 and "exclude each other" in err
    code, _, err = run(["labels", "validate"], capsys)
    assert code == 2 and err.startswith("scantui: error: ")
