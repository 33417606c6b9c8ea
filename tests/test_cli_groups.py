"""``scantui groups`` in-process: the contract JSON on the sample data, CSV and table,
review state from a real labels file on disk (labelled, rejected, new), and one-line
errors for a broken labels file before any data is read."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from clihelp import SAMPLE, left_out, run
from scantui.analysis.groups import COLUMNS

pytestmark = pytest.mark.usefixtures("shared_rollup_cache")

AK01 = ["45.79.128.33", "45.79.128.71", "45.79.128.190", "139.162.99.12", "139.162.99.203",
        "172.104.138.21", "172.104.138.87", "172.104.138.140"]


def test_json_contract_fields(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./scantui-labels.yaml: everything is new
    code, out, err = run(["groups", SAMPLE, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc) == 15 and [g["group"] for g in doc] == [f"S{k:02d}" for k in range(1, 16)]  # --by all: FPP, ZMW too
    for g in doc:
        assert {"group", "members", "ports", "days", "scans", "reasons"} <= set(g)
        assert set(g["reasons"]) <= {"shared_ips", "timing", "partition"} and g["review"] == "new"
        assert all(isinstance(ip, str) and ip.count(".") == 3 for ip in g["members"])
    ak = next(g for g in doc if g["asns"] == [63949])
    assert ak["members"] == sorted(AK01, key=lambda s: tuple(map(int, s.split(".")))) and ak["ports"] == [2375, 8081]
    assert ak["scans"] == 6 and ak["split"] == [0.8333, 0.1667]


def test_review_state_from_the_labels_file(capsys, tmp_path):
    labels = tmp_path / "team.yaml"
    labels.write_text(
        "scantui_labels: 1\n"
        "groups:\n"
        "  - id: AK01  # confirmed by eye\n"
        "    verdict: collaborative\n"
        "    members: [45.79.128.0/24, 139.162.99.12, 139.162.99.203, 172.104.138.0/24]\n"
        "  - id: noise\n"
        "    verdict: not_collaborative\n"
        "    members: [80.82.77.128/28]\n")
    before = labels.read_bytes()
    code, out, err = run(["groups", SAMPLE, "--labels", str(labels), "--json"], capsys)
    assert code == 0, err
    doc = {tuple(g["asns"]): g for g in json.loads(out)}
    # the labelled groups hold the IPs but record none of the scans: not reviewed (what the TUI says too)
    assert doc[(63949,)]["review"] == "same_ips" and doc[(63949,)]["labels"] == [
        {"id": "AK01", "verdict": "collaborative", "share": 1.0, "recorded": 0, "scans": 6}]
    assert doc[(202425,)]["review"] == "same_ips"
    assert doc[(14061,)]["review"] == "new" and doc[(14061,)]["labels"] == []
    assert labels.read_bytes() == before  # groups never writes the labels file

    # once the scans are recorded (as the TUI's l/a/x/e do), the suggestion is reviewed
    from scantui.labels import LabelsStore
    from scantui.labels.match import scan_key

    code, out, _err = run(["collab", SAMPLE, "--json"], capsys)
    cands = {(c["port"], c["start"], c["key"]): c for c in json.loads(out)}
    store = LabelsStore.load(labels)
    for gid, asn in (("AK01", 63949), ("noise", 202425)):
        for ref in doc[(asn,)]["scan_refs"]:
            c = cands[(ref["port"], ref["start"], ref["key"])]
            port, day, sources = scan_key(c["port"], c["day"], c["sources"])
            store.record_scan(gid, port, dt.date.fromisoformat(day), sources)
    store.save()
    code, out, err = run(["groups", SAMPLE, "--labels", str(labels), "--json"], capsys)
    assert code == 0, err
    doc = {tuple(g["asns"]): g for g in json.loads(out)}
    assert doc[(63949,)]["review"] == "labelled" and doc[(63949,)]["labels"][0]["recorded"] == 6
    assert doc[(202425,)]["review"] == "rejected"


def test_csv_and_table(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["groups", SAMPLE, "--csv", "--window", "24h", "--min-scans", "2"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 12 and list(rows[0]) == [*COLUMNS, "labels", "review"]  # ZMW's two days by its generator
    assert json.loads(rows[0]["members"])[0].count(".") == 3
    code, out, err = run(["groups", SAMPLE, "--top", "2"], capsys)
    assert code == 0 and "S01" in out and "S03" not in out and "showing 2 of 15 groups" in err


@pytest.mark.parametrize("content, message", [
    ("scantui_labels: 1\ngroups:\n  - id: X\n    verdict: maybe\n    members: [192.0.2.1]\n", "verdict"),
    ("groups: [\n", "line"),
])
def test_broken_labels_file_is_one_line_before_reading_data(capsys, tmp_path, content, message):
    labels = tmp_path / "bad.yaml"
    labels.write_text(content)
    code, out, err = run(["groups", str(tmp_path / "missing.parquet"), "--labels", str(labels)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("scantui: error: ") and str(labels) in err and message in err and err.count("\n") == 1


def test_missing_named_labels_file_is_an_error(capsys, tmp_path):
    code, out, err = run(["groups", SAMPLE, "--labels", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "no such file" in err


def test_the_table_drops_columns_to_fit_the_width_every_column_still_in_csv(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(["groups", SAMPLE, "--top", "6"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines[1:]) <= 80  # the title is a line of its own
    rows = [line for line in lines if line.startswith("│ S0")]
    assert len(rows) == 6  # one line per group: no column folded over several
    head = next(line for line in lines if "group" in line and "review" in line)
    assert "scans" in head and "ports" in head and "split" not in head
    gone = left_out(err, "groups", 80)  # said once on stderr, never on stdout
    assert "split" in gone and " left out " not in out and not any(f" {name} " in head for name in gone)
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run(["groups", SAMPLE, "--top", "6"], capsys)
    head = next(line for line in out.splitlines() if "group" in line and "review" in line)
    assert all(name in head for name in ("reasons", "timing", "split", "AS", *gone))
    assert left_out(err, "groups", 200) == [] and " left out " not in err
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(["groups", SAMPLE, "--csv", "--top", "6"], capsys)
    assert code == 0 and out.splitlines()[0].split(",") == [*COLUMNS, "labels", "review"]
