"""Every command's ``--json`` validates against its shipped JSON Schema (``scantui/schemas``), every list
command's ``--jsonl`` has one schema row per line, and both load into polars without a struct of one
field per IP: ``asn`` an integer with ``as_name`` beside it, RFC 3339 ``Z`` times, per-source lists."""

from __future__ import annotations

import fnmatch
import io
import json
import tomllib
from importlib import resources
from pathlib import Path

import jsonschema
import polars as pl
import pytest

from clihelp import SAMPLE, SAMPLE_DIR, run

pytestmark = pytest.mark.usefixtures("shared_rollup_cache")

ROOT = Path(__file__).resolve().parents[1]
PCAP = str(SAMPLE_DIR / "cuts" / "telescope-cut.pcap")
SCHEMAS = ("info", "scanners", "collab", "groups", "track", "labels-list", "rules", "rollup", "similar", "packets", "lists",
           "sensors", "watch", "labels-sources")
LABELS = """\
scantui_labels: 1
groups:
  - id: AK01  # the sample's BinaryEdge scan
    title: AKAMAI-01
    verdict: collaborative
    category: other
    members: [45.79.128.0/24, 139.162.99.12, 139.162.99.203, 172.104.138.0/24]
    ports: [2375, 8081]
    asns: [63949]
    scans:
      - {port: 2375, day: 2024-02-06, sources: [139.162.99.12, 139.162.99.203]}
    tags: [hosting]
    created: 2026-11-21T10:00:00Z
    custom: kept
  - id: gone
    verdict: unsure
    members: [192.0.2.1]
sources:
  - ip: 139.162.99.12
    tags: [hosting, "linode pool"]
    note: |
      seen on the honeypot too
    created: 2026-11-22T09:00:00Z
    created_by: alice
    ticket: SOC-12
  - ip: 192.0.2.1
    note: "\\x1b[31m not markup"
"""


def schema(name: str) -> dict:
    return json.loads((resources.files("scantui") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))


def validator(name: str, row: bool = False) -> jsonschema.Draft202012Validator:
    doc = schema(name)
    if row:  # one --jsonl line: the schema's row, its $defs kept for references
        doc = {"$schema": doc["$schema"], "$defs": doc["$defs"], "$ref": "#/$defs/row"}
    return jsonschema.Draft202012Validator(doc, format_checker=jsonschema.FormatChecker())


def valid(name: str, doc, row: bool = False) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator(name, row).iter_errors(doc)]
    assert not errors, "\n".join(errors[:10])


@pytest.fixture
def labels(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text(LABELS)
    return str(path)


def test_schemas_are_valid_and_shipped():
    for name in SCHEMAS:
        jsonschema.Draft202012Validator.check_schema(schema(name))
    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["scantui"]
    files = sorted((ROOT / "src" / "scantui" / "schemas").glob("*.schema.json"))
    assert sorted(f.name for f in files) == sorted(f"{n}.schema.json" for n in SCHEMAS)
    for f in files:
        rel = f.relative_to(ROOT / "src" / "scantui").as_posix()
        assert any(fnmatch.fnmatch(rel, pattern) for pattern in shipped), f"{rel} is not package data"


def _lines(out: str) -> list[dict]:
    assert out == "" or out.endswith("\n")
    return [json.loads(line) for line in out.splitlines()]


def _no_ip_fields(dtype: pl.DataType, where: str = "") -> None:
    """No struct anywhere in *dtype* whose field names are data (IPs): the explosion the schema forbids."""
    if isinstance(dtype, pl.Struct):
        for f in dtype.fields:
            assert f.name.count(".") != 3, f"{where}.{f.name}: a field named by an IP"
            _no_ip_fields(f.dtype, f"{where}.{f.name}")
    elif isinstance(dtype, (pl.List, pl.Array)):
        _no_ip_fields(dtype.inner, where + "[]")


LISTS = [
    ("scanners", ["scanners", SAMPLE, "--top", "400"]),
    ("scanners", ["scanners", PCAP]),
    ("collab", ["collab", SAMPLE]),
    ("collab", ["collab", SAMPLE, "--window", "24h", "--by", "asn"]),
    ("groups", ["groups", SAMPLE]),
    ("labels-list", ["labels", "list", "LABELS"]),
    ("labels-sources", ["labels", "sources", "LABELS"]),
    ("similar", ["similar", SAMPLE, "--src", "45.79.128.33", "--top", "5"]),
]


@pytest.mark.parametrize("name, argv", LISTS, ids=lambda v: v if isinstance(v, str) else " ".join(v[:1] + v[2:]))
def test_list_commands_json_and_jsonl(capsys, tmp_path, monkeypatch, labels, name, argv):
    monkeypatch.chdir(tmp_path)  # groups: no ./scantui-labels.yaml
    argv = [labels if a == "LABELS" else a for a in argv]
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc, "the sample gives rows to check"
    valid(name, doc)
    code, out, err = run([*argv, "--jsonl"], capsys)
    assert code == 0, err
    rows = _lines(out)
    assert rows == doc  # the same objects, one a line
    for row in rows:
        valid(name, row, row=True)
    frame = pl.read_ndjson(io.BytesIO(out.encode()), infer_schema_length=None)
    assert frame.height == len(doc)
    for column, dtype in frame.schema.items():
        _no_ip_fields(dtype, column)
    if name not in ("labels-list", "labels-sources"):  # a labels file's unknown keys are the user's
        whole = pl.read_json(io.BytesIO(json.dumps(doc).encode()), infer_schema_length=None)
        assert whole.height == len(doc) and whole.schema == frame.schema


def test_collab_and_groups_asn_is_an_integer_with_its_name(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["collab", SAMPLE, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    mysql = next(c for c in doc if c["key"] == "80.82.77.0/24" and c["port"] == 3306)
    assert mysql["asn"] == 202425 and mysql["as_name"] == "INT-NETWORK" and mysql["also_keys"] == ["AS202425"]
    assert mysql["dsts_per_source"][0] == {"src": "80.82.77.130", "dsts": 455}
    assert [d["src"] for d in mysql["dsts_per_source"]] == mysql["sources"]
    assert all(c["start"].endswith("Z") and c["end"].endswith("Z") for c in doc)
    frame = pl.read_json(io.BytesIO(out.encode()))
    assert frame.schema["asn"].is_integer()
    assert frame.schema["dsts_per_source"] == pl.List(pl.Struct({"src": pl.String, "dsts": pl.Int64}))
    code, out, err = run(["collab", SAMPLE, "--csv"], capsys)
    assert code == 0 and "80.82.77.0/24,202425,INT-NETWORK," in out
    code, out, err = run(["groups", SAMPLE, "--json"], capsys)
    assert code == 0, err
    assert {a for g in json.loads(out) for a in g["asns"]} >= {202425, 63949}


def test_info_json(capsys):
    for path in (SAMPLE, PCAP):
        code, out, err = run(["info", path, "--json"], capsys)
        assert code == 0, err
        doc = json.loads(out)
        valid("info", doc)
        assert doc["first_seen"].endswith("Z") and doc["last_seen"].endswith("Z")
        pl.read_json(io.BytesIO(out.encode()))
    assert doc["skipped"] == {"ipv6": 5, "non_ip": 3}  # the pcap
    code, out, err = run(["info", SAMPLE, "--json"], capsys)
    assert json.loads(out)["sensors"] == [{"sensor": "tel-1", "packets": 1038908}]
    code, out, err = run(["info", SAMPLE, "--csv"], capsys)
    assert code == 0 and "\nfirst_seen,2024-02-01T00:00:02.533376Z\n" in out


def test_track_json(capsys, tmp_path, monkeypatch, labels):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["track", SAMPLE, "--group", "S01", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    valid("track", doc)
    assert doc["seen"] and doc["size_histogram"] == [{"size": 9, "scans": 6}]
    assert doc["scans"][0]["dsts_per_source"][0] == {"src": "80.82.77.130", "dsts": 455}
    pl.read_json(io.BytesIO(out.encode()))
    for group in ("AK01", "gone"):  # a labelled group, and one not in the data
        code, out, err = run(["track", SAMPLE, "--labels", labels, "--group", group, "--json"], capsys)
        assert code == 0, err
        valid("track", json.loads(out))
    assert json.loads(out)["seen"] is False


def test_rules_json_and_jsonl(capsys):
    code, out, err = run(["rules", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    valid("rules", doc)
    code, out, err = run(["rules", "--jsonl"], capsys)
    assert code == 0, err
    rows = _lines(out)
    assert rows == doc["rules"]
    for row in rows:
        valid("rules", row, row=True)
    assert pl.read_ndjson(io.BytesIO(out.encode())).height == len(rows)


def test_lists_and_listed_scanners(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SCANTUI_CONFIG", str(tmp_path / "config.yaml"))
    (tmp_path / "m.txt").write_text("104.152.52.61  # scanner.example\n45.79.128.0/24\n")
    assert run(["lists", "import", str(tmp_path / "m.txt"), "--category", "research"], capsys)[0] == 0
    code, out, err = run(["lists", "show", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert [r["name"] for r in doc] == ["m"]
    valid("lists", doc)
    code, out, err = run(["lists", "show", "--jsonl"], capsys)
    assert _lines(out) == doc
    code, out, err = run(["scanners", SAMPLE, "--json", "--query", "list:m"], capsys)
    doc = json.loads(out)
    assert doc and all(r["list"] == ["m"] for r in doc)
    valid("scanners", doc)


def test_scanner_times_end_in_z(capsys):
    code, out, err = run(["scanners", PCAP, "--json", "--top", "3"], capsys)
    assert code == 0, err
    assert all(r["first_seen"].endswith("Z") and r["last_seen"].endswith("Z") for r in json.loads(out))
    code, out, err = run(["scanners", PCAP, "--csv", "--top", "3"], capsys)
    assert code == 0 and "+00:00" not in out and "Z," in out


def test_jsonl_excludes_json_and_csv(capsys):
    for other in ("--json", "--csv"):
        code, out, err = run(["scanners", SAMPLE, "--jsonl", other], capsys)
        assert code == 2 and out == "" and "exclude each other" in err
    code, out, err = run(["scanners", PCAP, "--jsonl", "--min-packets", "100000"], capsys)
    assert code == 0 and out == ""  # no rows: no lines


def test_packets_json(capsys):
    for path in (SAMPLE, PCAP):
        code, out, err = run(["packets", path, "--where", "flags:S", "--limit", "40", "--json"], capsys)
        assert code == 0, err
        doc = json.loads(out)
        assert len(doc) == 40
        valid("packets", doc)
        assert all(r["tcp_flags"] == "S" and r["ts"].endswith("Z") for r in doc)
        assert [r["ts"] for r in doc] == sorted(r["ts"] for r in doc)
        frame = pl.read_json(io.BytesIO(out.encode()))
        assert frame.schema["src"] == pl.String and frame.schema["ttl"].is_integer()
        assert "ref_file" not in frame.columns and "ref_off" not in frame.columns  # canonical columns only
