"""``scantui similar``: seeds from --src or a labelled group, JSON/JSONL/CSV rows, one-line errors (exit 2)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from clihelp import SAMPLE, run
from test_cli_schemas import valid

pytestmark = pytest.mark.usefixtures("shared_rollup_cache")

LABELS = """\
scantui_labels: 1
groups:
  - id: DOM
    verdict: collaborative
    members: [134.209.82.5, 134.209.150.23, 138.68.12.199, 138.68.101.88]
"""


def test_json_rows_validate_and_rank_the_group_first(capsys):
    code, out, err = run(["similar", SAMPLE, "--src", "45.79.128.33,139.162.99.12", "--top", "4", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    valid("similar", doc)
    assert [r["rank"] for r in doc] == [1, 2, 3, 4]
    assert {r["src"] for r in doc} <= {"45.79.128.71", "45.79.128.190", "139.162.99.203", "172.104.138.21",
                                       "172.104.138.87", "172.104.138.140"}
    assert "300 short-listed" in err and "with header artifacts" in err


def test_group_seeds_from_the_labels_file(capsys, tmp_path):
    labels = tmp_path / "team.yaml"
    labels.write_text(LABELS)
    code, out, err = run(["similar", SAMPLE, "--group", "DOM", "--labels", str(labels), "--top", "5", "--jsonl"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["src"] for r in rows} == {"159.89.33.140", "159.89.170.42", "167.99.40.17", "167.99.128.251", "167.99.201.66"}
    code, out, err = run(["similar", SAMPLE, "--group", "DOM", "--labels", str(labels), "--top", "2", "--csv"], capsys)
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == 2 and table[0]["rank"] == "1" and float(table[0]["part_ports"]) > 0.5


def test_the_table_carries_the_summary_once(capsys):
    code, out, err = run(["similar", SAMPLE, "--src", "45.79.128.33", "--top", "3"], capsys)
    assert code == 0, err
    assert "300 short-listed" in out and "300 short-listed" not in err


@pytest.mark.parametrize("argv, says", [
    (["--src", "45.79.128.300"], "scantui: error: --src: not an IPv4 address or CIDR: '45.79.128.300'"),
    (["--src", "192.0.2.1"], "scantui: error: --src: none of the seed sources sent probes in this data"),
    (["--src", "45.79.128.33", "--group", "DOM"], "give either --src"),
    ([], "give either --src"),
])
def test_bad_seeds_are_one_line_and_exit_2(capsys, argv, says):
    code, out, err = run(["similar", SAMPLE, *argv], capsys)
    assert code == 2 and out == "" and says in err and "Traceback" not in err


def test_unknown_group_is_one_line(capsys, tmp_path):
    labels = tmp_path / "team.yaml"
    labels.write_text(LABELS)
    code, out, err = run(["similar", SAMPLE, "--group", "[red]x\x1b", "--labels", str(labels)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no group" in err and "(it has: DOM)" in err and "\x1b" not in err
