"""``scantui sensors`` and ``sensor:`` on the command line, on the two-sensor sample (``sample_data/sensors``) read
the way users do; a hostile sensor name is data; one-sensor data keeps its collab output."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import polars as pl
import pytest

from clihelp import run

pytestmark = pytest.mark.usefixtures("shared_rollup_cache")

SENSORS_DIR = Path(__file__).resolve().parents[1] / "sample_data" / "sensors"
DATA = str(SENSORS_DIR / "sensors.parquet")
TRUTH = json.loads((SENSORS_DIR / "truth.json").read_text())
HOSTILE = "\x1b[31mhp\x1b]8;;http://x\x07[bold]b\u202e"


def _valid(name: str, doc) -> None:
    schema = json.loads((resources.files("scantui") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    errors = [e.message[:200] for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
    assert not errors, errors[:5]


def _json(capsys, *argv):
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def _scan_ids(rows) -> list[str]:
    by_members = {(s["port"], tuple(s["sources"])): s["id"] for s in TRUTH["scans"]}
    return sorted(by_members[(r["port"], tuple(r["sources"]))] for r in rows)


@pytest.mark.parametrize("a, b", [("tel-a", "hp-b"), ("hp-b", "tel-a")])
def test_sensors_only_not_against_truth(capsys, a, b):
    doc = _json(capsys, "sensors", DATA, "--only", a, "--not", b)
    _valid("sensors", doc)
    assert {s["sensor"]: s["space"] for s in doc["sensors"]} == {n: i["size"] for n, i in TRUTH["sensors"].items()}
    assert {s["src"] for s in doc["sources"]} == set(TRUTH["sources"]["only"][a])
    wanted = sorted(s["id"] for s in TRUTH["scans"] if s["covers"] == [a])
    assert _scan_ids(doc["scans"]) == wanted and wanted
    assert all(s["sensor"] == a for s in doc["scans"])
    _valid("collab", doc["scans"])


def test_sensor_query_on_scanners_and_collab(capsys):
    rows = _json(capsys, "scanners", DATA, "--query", "sensor:tel-a -sensor:hp-b")
    assert {r["src"] for r in rows} == set(TRUTH["sources"]["only"]["tel-a"])
    rows = _json(capsys, "scanners", DATA, "--query", "sensor:HP-B")  # names are case-insensitive
    assert {r["src"] for r in rows} == set(TRUTH["sources"]["only"]["hp-b"]) | set(TRUTH["sources"]["both"])
    assert _json(capsys, "scanners", DATA, "--query", "sensor:nowhere") == []  # an unknown name matches nothing
    every = _json(capsys, "collab", DATA)
    _valid("collab", every)
    assert _scan_ids(every) == ["SA", "SAB", "SB"]
    assert _scan_ids(_json(capsys, "collab", DATA, "--query", "sensor:tel-a -sensor:hp-b")) == ["SA"]
    assert _scan_ids(_json(capsys, "collab", DATA, "--query", "sensor:tel-a")) == ["SA", "SAB"]
    groups = _json(capsys, "groups", DATA, "--query", "-sensor:tel-a")
    assert [g["ports"] for g in groups] == [[2222]]


def test_bad_options_are_one_line(capsys):
    code, out, err = run(["sensors", DATA, "--only", "tel-a", "--not", "nope"], capsys)
    assert code == 2 and out == "" and err == "scantui: error: --not: no sensor 'nope' in the data (sensors: hp-b, tel-a)\n"
    code, _out, err = run(["sensors", DATA, "--only", "tel-a"], capsys)
    assert code == 2 and "--only and --not go together" in err


def test_hostile_sensor_name_is_data(tmp_path, capsys):
    path = tmp_path / "hostile.parquet"
    pl.read_parquet(DATA).with_columns(pl.col("sensor").replace("hp-b", HOSTILE)).write_parquet(path)
    code, out, err = run(["sensors", str(path)], capsys)
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[31mhp\\x1b]8;;http://x\\x07[bold]b\\u202e" in out  # shown, escaped, not acted on
    doc = _json(capsys, "sensors", str(path), "--only", HOSTILE, "--not", "tel-a")
    assert [s["sensor"] for s in doc["sensors"]] == sorted([HOSTILE, "tel-a"])
    assert {s["src"] for s in doc["sources"]} == set(TRUTH["sources"]["only"]["hp-b"])
    code, out, err = run(["collab", str(path)], capsys)
    assert code == 0 and "\x1b" not in out and "\\x1b[31mhp" in out


def test_one_sensor_keeps_collab_output(tmp_path, capsys):
    from scantui.analysis.collab import COLUMNS

    path = tmp_path / "one.parquet"
    pl.read_parquet(DATA).filter(pl.col("sensor") == "tel-a").write_parquet(path)
    rows = _json(capsys, "collab", str(path))
    assert _scan_ids(rows) == ["SA", "SAB"]  # tel-a is the whole telescope now
    assert all(list(r) == list(COLUMNS) for r in rows)  # no sensor fields
    code, out, _err = run(["collab", str(path), "--csv"], capsys)
    assert code == 0 and out.splitlines()[0] == ",".join(COLUMNS)
    code, out, _err = run(["collab", str(path)], capsys)
    assert "found on" not in out
    doc = _json(capsys, "sensors", str(path))
    assert [s["sensor"] for s in doc["sensors"]] == ["tel-a"]


def test_long_sensor_name_cut_in_tables_whole_in_json_and_csv(tmp_path, capsys):
    """A 500-character sensor name is cut to 40 characters with … in every table (a terminal folded it over ~56
    lines at 80 columns); ``--json`` and ``--csv`` carry it whole. Tables on a pipe are one line per row at their
    natural width, so the longest line says whether the name was cut."""
    import csv
    import io

    long = "tel-" + "x" * 496
    path = tmp_path / "long.parquet"
    pl.read_parquet(DATA).with_columns(pl.col("sensor").replace("tel-a", long)).write_parquet(path)
    cut = long[:39] + "…"
    for argv in (["sensors", str(path)], ["sensors", str(path), "--only", long, "--not", "hp-b"],
                 ["collab", str(path)], ["info", str(path)]):
        code, out, err = run(argv, capsys)
        assert code == 0, err
        assert cut in out and long[:41] not in out, argv
        assert max(map(len, out.splitlines())) < 200, argv
    assert {s["sensor"] for s in _json(capsys, "sensors", str(path))["sensors"]} == {long, "hp-b"}
    code, out, _err = run(["sensors", str(path), "--csv"], capsys)
    assert code == 0 and {r["sensor"] for r in csv.DictReader(io.StringIO(out))} == {long, "hp-b"}
    assert {s["sensor"] for s in _json(capsys, "collab", str(path))[0]["sensors"]} == {long, "hp-b"}
    code, _out, err = run(["sensors", str(path), "--only", "nope", "--not", "hp-b"], capsys)
    assert code == 2 and f"(sensors: hp-b, {cut})" in err
