"""``scantui track`` in-process on the sample: a labelled group (CIDR members) from a real
labels file, a suggestion id, CSV/table, and one-line errors for unknown groups."""

from __future__ import annotations

import csv
import io
import json

import pytest

from clihelp import SAMPLE, run

pytestmark = pytest.mark.usefixtures("shared_rollup_cache")


@pytest.fixture
def labels(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups:\n  - id: STS\n    title: SecurityTrails\n    verdict: collaborative\n"
                    "    members: [80.82.77.128/29, 80.82.77.136, 80.82.77.137, 80.82.77.138]\n")
    return path


def test_labelled_group_json(capsys, labels):
    code, out, err = run(["track", SAMPLE, "--labels", str(labels), "--group", "STS", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["group"] == "STS" and doc["origin"] == "labels" and doc["title"] == "SecurityTrails"
    # 80.82.77.128/29 holds .130-.135 of the nine, and the standalone decoy .33 is outside
    assert doc["active_members"] == [f"80.82.77.{k}" for k in range(130, 139)]
    assert [(s["day"], s["port"]) for s in doc["scans"]] == [(d, p) for d in ("2024-02-05", "2024-02-12") for p in (3306, 27017, 9000)]
    assert doc["size_histogram"] == [{"size": 9, "scans": 6}] and doc["timing_counts"] == {"parallel": 6}
    assert all(m["stable"] for m in doc["member_split"]) and doc["day_of_week"]["Mon"] == 6
    assert doc["first_seen"].startswith("2024-02-05T09:00") and doc["active_days"] == 2 and doc["span_days"] == 8
    # who the members are, from the data's enrichment
    assert [m["member"] for m in doc["member_info"]] == doc["active_members"]
    assert {(m["asn"], m["as_name"]) for m in doc["member_info"]} == {(202425, "INT-NETWORK")}


def test_suggestion_id_csv_and_table(capsys, labels):
    code, out, err = run(["track", SAMPLE, "--labels", str(labels), "--group", "S02", "--window", "24h", "--csv"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 6 and {r["port"] for r in rows} == {"2375", "8081"} and {r["n_sources"] for r in rows} == {"2"}
    code, out, err = run(["track", SAMPLE, "--labels", str(labels), "--group", "STS"], capsys)
    assert code == 0 and "split per member" in out and "6 scans on 3 ports" in err and "AS202425 INT-NETWORK x9" in out


@pytest.mark.parametrize("group, message", [("NOPE", "no group 'NOPE' in the labels file (it has: STS)"),
                                            ("S42", "no suggestion S42 (15 suggested: S01..S15)")])
def test_unknown_group_is_one_line(capsys, labels, group, message):
    code, out, err = run(["track", SAMPLE, "--labels", str(labels), "--group", group], capsys)
    assert code == 2 and out == "" and message in err and err.startswith("scantui: error: ") and err.count("\n") == 1


def test_without_a_labels_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["track", SAMPLE, "--group", "AK01"], capsys)
    assert code == 2 and "scantui-labels.yaml" in err
    # it said "scantui-labels.yaml: no group 'AK01' in the labels file", of a file that is not there
    assert "in the labels file" not in err and "no labels file (scantui-labels.yaml is not here" in err
    code, out, err = run(["track", SAMPLE, "--group", "S01", "--json", "--telescope-size", "4096"], capsys)
    assert code == 0 and json.loads(out)["origin"] == "suggestion"
