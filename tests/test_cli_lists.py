"""``scantui lists``: import every format (comments, CIDRs, bad lines by number), show, export -> import the same
set, the scanners' ``list`` column and the ``list:`` query term, hostile names kept as data."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from clihelp import SAMPLE, run
from scantui.enrich import lists as kl

# the maltrail mass_scanner.txt format: a header of comments, "ADDRESS   # who" lines, blank lines with spaces
MALTRAIL = """\
# Copyright (c) 2014-2016 Miroslav Stampar (@stamparm)
# See the file 'LICENSE' for copying permission

104.152.52.61  # scanner.example.net
45.79.128.33   # research.example.org
    
71.6.216.32/27   # labs.example.com
"""

PLAIN = """\
# my own list
104.152.52.0/24

45.79.128.33   
# a comment line
10.0.0.0/8
"""

CSV_HEADER = """\
ip,name,category
104.152.52.61,Example Scanner,research
45.79.128.0/24,"Hostile \x1b[31mred\x1b[0m",benign
"""


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch) -> Path:
    """Each test has its own config folder (the lists live beside the config file)."""
    path = tmp_path / "cfg" / "config.yaml"
    path.parent.mkdir()
    monkeypatch.setenv("SCANTUI_CONFIG", str(path))
    return path


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def shown(capsys) -> list[dict]:
    code, out, err = run(["lists", "show", "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_import_maltrail_keeps_the_names_and_lives_beside_the_config(tmp_path, capsys, config):
    code, out, err = run(["lists", "import", write(tmp_path, "mass_scanner.txt", MALTRAIL)], capsys)
    assert code == 0, err
    assert "list mass_scanner: 3 entries" in err and "maltrail" in err
    [info] = shown(capsys)
    assert info["name"] == "mass_scanner" and info["format"] == "maltrail" and info["entries"] == 3
    assert info["addresses"] == 2 + 32 and info["source"].endswith("mass_scanner.txt") and info["imported"].endswith("Z")
    assert Path(info["path"]) == config.parent / "lists" / "mass_scanner.parquet"
    assert Path(info["source"]) == tmp_path / "mass_scanner.txt"  # absolute
    entries = kl.find_list("mass_scanner").entries
    assert entries.filter(pl.col("entry") == "71.6.216.32/27")["name"].to_list() == ["labs.example.com"]


def test_a_comma_in_a_maltrail_name_is_not_csv(tmp_path, capsys):
    text = "# list\n192.0.2.1  # Example, Inc.\n192.0.2.2 # other\n"
    assert run(["lists", "import", write(tmp_path, "m.txt", text)], capsys)[0] == 0
    assert kl.find_list("m").entries.select("entry", "name").rows() == [("192.0.2.1", "Example, Inc."), ("192.0.2.2", "other")]


def test_import_plain_with_comments_cidrs_name_and_category(tmp_path, capsys):
    code, out, err = run(["lists", "import", write(tmp_path, "x.txt", PLAIN), "--name", "benign", "--category", "benign"], capsys)
    assert code == 0, err and "warning" not in err
    [info] = shown(capsys)
    assert (info["name"], info["format"], info["category"], info["entries"]) == ("benign", "plain", "benign", 3)
    assert info["addresses"] == 256 + 1 + 2**24


def test_import_csv_with_and_without_header(tmp_path, capsys):
    assert run(["lists", "import", write(tmp_path, "team.csv", CSV_HEADER)], capsys)[0] == 0
    entries = kl.find_list("team").entries
    assert entries.select("entry", "category").rows() == [("104.152.52.61", "research"), ("45.79.128.0/24", "benign")]
    assert entries["name"][1] == "Hostile \x1b[31mred\x1b[0m"  # stored as read: data
    bare = write(tmp_path, "bare.csv", "104.152.52.61,Shodan\n10.1.0.0/16,other,research\n")
    assert run(["lists", "import", bare], capsys)[0] == 0
    assert kl.find_list("bare").entries.select("entry", "name", "category").rows() == [
        ("104.152.52.61", "Shodan", None), ("10.1.0.0/16", "other", "research")]


def test_some_bad_lines_import_the_rest_and_list_them_by_number(tmp_path, capsys):
    text = "# head\n1.2.3.4\nnot-an-ip\n\n2001:db8::1\n5.6.7.0/24 # fine\n1.2.3.4 5.6.7.8\n"
    code, out, err = run(["lists", "import", write(tmp_path, "mixed.txt", text)], capsys)
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("scantui: warning:")]
    assert [w.split(": line ")[1].split(":")[0] for w in warnings] == ["3", "5", "7"]
    assert "mixed.txt: line 5: only IPv4 is supported" in err and "3 bad lines skipped" in err
    assert shown(capsys)[0]["entries"] == 2


def test_nothing_usable_is_one_error_line_and_nothing_stored(tmp_path, capsys, config):
    path = write(tmp_path, "junk.txt", "# only junk\nhello world\n300.1.1.1\n")
    code, out, err = run(["lists", "import", path], capsys)
    assert code == 2
    assert err.splitlines() == [f"scantui: error: {path}: line 2: expected one address or CIDR (a name goes after "
                                "'#') (and 1 more bad lines)"]
    assert shown(capsys) == [] and not (config.parent / "lists" / "junk.parquet").exists()
    code, out, err = run(["lists", "import", write(tmp_path, "empty.txt", "# nothing\n\n")], capsys)
    assert code == 2 and "no address or CIDR" in err
    code, out, err = run(["lists", "import", write(tmp_path, "hdr.csv", "who,what\nx,y\n")], capsys)
    assert code == 2 and "hdr.csv: line 1: a CSV header needs an address column" in err
    (tmp_path / "latin.txt").write_bytes(b"1.2.3.4\n5.6.7.8 # caf\xe9\n")
    code, out, err = run(["lists", "import", str(tmp_path / "latin.txt")], capsys)
    assert code == 2 and err == f"scantui: error: {tmp_path / 'latin.txt'}: line 2: not UTF-8 text\n"
    assert shown(capsys) == []


def test_strict_refuses_any_bad_line_and_keeps_the_old_list(tmp_path, capsys):
    assert run(["lists", "import", write(tmp_path, "l.txt", "1.2.3.4\n"), "--name", "l"], capsys)[0] == 0
    code, out, err = run(["lists", "import", write(tmp_path, "l2.txt", "5.5.5.5\nbad\n"), "--name", "l", "--strict"], capsys)
    assert code == 2 and "l2.txt: line 2:" in err
    assert kl.find_list("l").entries["entry"].to_list() == ["1.2.3.4"]


def test_reimport_replaces_and_bad_names_are_refused(tmp_path, capsys):
    assert run(["lists", "import", write(tmp_path, "a.txt", "1.2.3.4\n5.6.7.8\n"), "--name", "x"], capsys)[0] == 0
    assert run(["lists", "import", write(tmp_path, "b.txt", "9.9.9.9\n"), "--name", "x"], capsys)[0] == 0
    [info] = shown(capsys)
    assert info["entries"] == 1 and info["source"].endswith("b.txt")
    code, out, err = run(["lists", "import", write(tmp_path, "c.txt", "1.1.1.1\n"), "--name", "../evil"], capsys)
    assert code == 2 and "bad list name" in err
    code, out, err = run(["lists", "--json"], capsys)  # bare lists is lists show
    assert code == 0 and json.loads(out) == [info]
    assert run(["lists", "remove", "x"], capsys)[0] == 0 and shown(capsys) == []


@pytest.mark.parametrize("fmt", ["plain", "csv"])
@pytest.mark.parametrize("source", [MALTRAIL, PLAIN, CSV_HEADER])
def test_export_then_import_gives_the_same_set(tmp_path, capsys, fmt, source):
    assert run(["lists", "import", write(tmp_path, "src.txt", source), "--name", "orig"], capsys)[0] == 0
    out_path = tmp_path / f"out.{fmt}"
    code, out, err = run(["lists", "export", "--name", "orig", "--format", fmt, "-o", str(out_path)], capsys)
    assert code == 0, err
    assert run(["lists", "import", str(out_path), "--name", "again"], capsys)[0] == 0
    orig, again = kl.find_list("orig").entries, kl.find_list("again").entries
    assert kl.address_set(again) == kl.address_set(orig) and again.height == orig.height
    if fmt == "csv":
        assert dict(again.select("entry", "category").rows()) == dict(orig.select("entry", "category").rows())
    code, out, err = run(["lists", "export", "--name", "orig", "--format", fmt], capsys)  # stdout: the same text
    assert code == 0 and out == out_path.read_text()
    for n in range(1, 4):  # in pieces of n rows (stdout's): joined, the same text, no rows too
        slices = [(i, n) for i in range(0, orig.height, n)]
        assert "".join(kl.export_pieces(orig, fmt, slices)) == kl.export_text(orig, fmt)
        assert "".join(kl.export_pieces(orig.head(0), fmt, [])) == kl.export_text(orig.head(0), fmt)


LABELS = """\
scantui_labels: 1
groups:
  - id: G01
    title: "research =cmd|' /C calc'!A0"
    verdict: collaborative
    category: research
    members: [192.0.2.10, 192.0.2.11, 198.51.100.0/28]
  - id: G02
    verdict: not_collaborative
    members: [203.0.113.7]
"""


def test_export_by_verdict_writes_the_labelled_members(tmp_path, capsys):
    labels = write(tmp_path, "team.yaml", LABELS)
    code, out, err = run(["lists", "export", "--verdict", "collaborative", "--labels", labels, "--format", "plain"], capsys)
    assert code == 0, err
    assert out.splitlines() == ["192.0.2.10", "192.0.2.11", "198.51.100.0/28"]
    code, out, err = run(["lists", "export", "--verdict", "collaborative", "--labels", labels, "--format", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["ip"] for r in rows] == ["192.0.2.10", "192.0.2.11", "198.51.100.0/28"]
    assert rows[0]["category"] == "research" and rows[0]["name"].startswith("G01: research")
    path = write(tmp_path, "allow.csv", out)
    assert run(["lists", "import", path, "--name", "allow"], capsys)[0] == 0
    assert kl.address_set(kl.find_list("allow").entries) == kl.address_set(kl.entries_frame(
        [(m, None, None) for m in ("192.0.2.10", "192.0.2.11", "198.51.100.0/28")]))
    code, out, err = run(["lists", "export", "--verdict", "unsure", "--labels", labels], capsys)
    assert code == 0 and out == ""
    code, out, err = run(["lists", "export", "--format", "plain"], capsys)
    assert code == 2 and "exactly one of --name" in err
    code, out, err = run(["lists", "export", "--name", "nope"], capsys)
    assert code == 2 and "no list named 'nope'" in err


def test_hostile_names_are_data_in_every_output(tmp_path, capsys):
    assert run(["lists", "import", write(tmp_path, "h.csv", CSV_HEADER), "--name", "h"], capsys)[0] == 0
    code, out, err = run(["lists", "export", "--name", "h", "--format", "csv"], capsys)
    assert "\x1b" not in out and "\\x1b[31mred" in out
    code, out, err = run(["lists"], capsys)
    assert code == 0 and "h" in out and "\x1b" not in out


pytestmark_scanners = pytest.mark.usefixtures("shared_rollup_cache")


@pytestmark_scanners
def test_scanners_json_and_csv_carry_the_list_column_and_query(tmp_path, capsys):
    assert run(["lists", "import", write(tmp_path, "mass_scanner.txt", MALTRAIL)], capsys)[0] == 0
    assert run(["lists", "import", write(tmp_path, "b.txt", "45.79.128.0/24\n"), "--name", "benign"], capsys)[0] == 0
    code, out, err = run(["scanners", SAMPLE, "--json", "--query", "list:mass_scanner"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert {r["src"]: r["list"] for r in doc} == {"104.152.52.61": ["mass_scanner"],
                                                  "45.79.128.33": ["benign", "mass_scanner"]}
    code, out, err = run(["scanners", SAMPLE, "--json", "--query", "list:mass_scanner -list:benign"], capsys)
    assert [r["src"] for r in json.loads(out)] == ["104.152.52.61"]
    code, out, err = run(["scanners", SAMPLE, "--json", "--top", "50"], capsys)
    rows = json.loads(out)
    assert all(isinstance(r["list"], list) for r in rows) and sum(bool(r["list"]) for r in rows) >= 1
    code, out, err = run(["scanners", SAMPLE, "--csv", "--cidr", "104.152.52.61/32"], capsys)
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert json.loads(row["list"]) == ["mass_scanner"]


def test_matching_a_large_list_is_by_range_search():
    rng = np.random.default_rng(7)
    starts = np.sort(rng.choice(2**24, 100_000, replace=False)).astype(np.int64) << 8  # 100k distinct /24s
    frame = pl.DataFrame({"lo": starts, "hi": starts + 255}).with_columns(
        pl.col("lo").cast(pl.UInt32), pl.col("hi").cast(pl.UInt32), entry=pl.lit("x"), name=pl.lit(None, pl.String),
        category=pl.lit(None, pl.String))
    big = kl.KnownList(kl._info(Path("big.parquet"), {"name": "big"}, frame), frame)
    wide = kl.KnownList(kl._info(Path("w.parquet"), {"name": "wide"}, frame.head(0)), frame.head(0))
    srcs = rng.integers(0, 2**32, 200_000, dtype=np.int64)
    srcs[:3] = [int(starts[5]), int(starts[5]) + 255, int(starts[5]) + 256]
    got = kl.match_names(pl.Series(srcs.astype(np.uint32)), [big, wide])
    expect = np.isin(srcs >> 8, starts >> 8)
    assert (got.list.len() > 0).to_numpy().tolist() == expect.tolist()
    assert got[0].to_list() == ["big"] and got[1].to_list() == ["big"] and got[2].to_list() == (["big"] if expect[2] else [])


@pytestmark_scanners
def test_the_workspace_computes_the_list_again_after_an_import(tmp_path):
    from scantui.workspace import Workspace

    ws = Workspace.open([SAMPLE])
    first = ws.scanners()
    assert ws.scanners() is first  # memoized while the lists are unchanged
    assert first.frame["list"].list.len().max() == 0
    kl.save_list("mass", kl.parse_list("104.152.52.61\n"), "m.txt", None)
    again = ws.scanners()
    listed = again.frame.filter(pl.col("list").list.len() > 0)
    assert listed["list"].to_list() == [["mass"]] and listed["src"].to_list() == [(104 << 24) | (152 << 16) | (52 << 8) | 61]


@pytestmark_scanners
def test_the_table_shows_the_list_column_when_a_source_is_listed(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run(["scanners", SAMPLE, "--top", "3"], capsys)
    assert code == 0 and " tool " in out.splitlines()[2] and " list " not in out.splitlines()[2]
    assert run(["lists", "import", write(tmp_path, "m.txt", "104.152.52.61\n"), "--name", "mass"], capsys)[0] == 0
    code, out, err = run(["scanners", SAMPLE, "--top", "3"], capsys)
    header = out.splitlines()[2]  # (the title, the table's top rule, the header)
    assert code == 0 and header.index(" list ") > header.index(" tool ")
    assert "mass" in next(line for line in out.splitlines() if "104.152.52.61" in line)
