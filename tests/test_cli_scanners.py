"""``scantui scanners`` in-process on the sample data: JSON/CSV, filters, sort, top and one-line errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from scantui.analysis.scanners import COLUMNS
from clihelp import SAMPLE, left_out, run



pytestmark = pytest.mark.usefixtures("shared_rollup_cache")



def scanners_json(capsys, *args):
    code, out, err = run(["scanners", SAMPLE, "--json", *args], capsys)
    assert code == 0, err
    return json.loads(out)


def test_json_fields(capsys):
    doc = scanners_json(capsys, "--top", "5")
    assert len(doc) == 5 and list(doc[0]) == list(COLUMNS)
    first = doc[0]
    assert first["src"] == "104.152.52.61" and first["packets"] == 65536 and first["range_class"] == "full"
    assert first["tools"] == {"masscan": 1.0} and first["tool"] == "masscan"
    assert first["first_seen"].startswith("2024-02-04T06:00:01") and first["asn"] == 14618
    assert [d["packets"] for d in doc] == sorted((d["packets"] for d in doc), reverse=True)
    zmap5 = next(d for d in scanners_json(capsys, "--cidr", "185.242.226.17/32"))
    assert (zmap5["schedule"], zmap5["period_days"], zmap5["picture"]) == ("periodic", 5, "snapshot")
    assert zmap5["top_ports"][0]["port"] == 80 and zmap5["coverage_max"] == 1.0


def test_json_lists_every_source_without_top(capsys):
    assert len(scanners_json(capsys)) == 5799


def test_csv_header_and_cells(capsys):
    code, out, err = run(["scanners", SAMPLE, "--csv", "--top", "3", "--sort", "src", "--asc"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == ",".join(COLUMNS) and len(rows) == 3
    ips = [tuple(int(x) for x in r["src"].split(".")) for r in rows]
    assert ips == sorted(ips)
    assert isinstance(json.loads(rows[0]["tools"]), dict)


def test_filters(capsys):
    assert {d["src"] for d in scanners_json(capsys, "--asn", "AS398324")} == {
        f"162.142.125.{i}" for i in range(10, 18)} | {f"167.94.138.{i}" for i in range(120, 128)}
    assert {d["tool"] for d in scanners_json(capsys, "--tool", "unicorn")} == {"unicorn"}
    big = scanners_json(capsys, "--min-packets", "10000")
    assert big and min(d["packets"] for d in big) >= 10000
    port = scanners_json(capsys, "--port", "80", "--cidr", "185.242.226.0/24,45.148.10.0/24")
    assert [(d["src"], d["packets"], d["dsts"]) for d in port] == [("185.242.226.17", 20480, 4096)]
    week = scanners_json(capsys, "--since", "2024-02-06", "--until", "2024-02-12T08:00:00Z", "--cidr", "185.242.226.17")
    assert week[0]["packets"] == 2 * 4096 and week[0]["days_active"] == 2 and week[0]["days_scanned"] == round(2 / 7, 4)
    udp = scanners_json(capsys, "--include-udp", "--sort", "ports", "--top", "1")
    assert udp[0]["ports"] == 65536


def test_sort_desc_asc(capsys):
    desc = scanners_json(capsys, "--sort", "days_active", "--top", "3")
    assert all(d["days_active"] == 21 for d in desc)
    asc = scanners_json(capsys, "--sort", "coverage_max", "--asc", "--top", "3")
    assert asc[0]["coverage_max"] <= asc[-1]["coverage_max"]


def test_table_fits_the_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    code, out, err = run(["scanners", SAMPLE, "--top", "4"], capsys)
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 90
    assert "104.152.52.61" in out and "masscan" in out
    code, out, err = run(["scanners", SAMPLE], capsys)
    assert code == 0 and "showing 50 of 5,799 sources" in err


@pytest.mark.parametrize(("args", "fragment"), [
    (["--sort", "nope"], "--sort: unknown column 'nope'"),
    (["--cidr", "10.0.0.0/33"], "--cidr: bad CIDR"),
    (["--since", "2024-02-30"], "--since: not an ISO 8601 date"),
    (["--until", "2024-02-01", "--since", "2024-02-05"], "after --until"),
    (["--port", "99999"], "--port: bad port"),
    (["--asn", "ASfoo"], "--asn: bad ASN"),
    (["--tool", "zmapp"], "--tool: unknown tool"),
    (["--telescope", "198.18.0.0/99"], "--telescope: bad CIDR"),
    (["--json", "--csv"], "exclude each other"),
])
def test_bad_values_are_one_line_exit_2(capsys, args, fragment):
    code, out, err = run(["scanners", SAMPLE, *args], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("scantui: error: ") and fragment in err


def test_telescope_size_option(capsys):
    doc = scanners_json(capsys, "--telescope-size", "8192", "--cidr", "185.242.226.17")
    assert doc[0]["coverage_max"] == 0.5
    doc = scanners_json(capsys, "--telescope", "198.18.0.0/21", "--cidr", "185.242.226.17")
    assert doc[0]["coverage_max"] == 2.0  # coverage is relative to the size given, not clipped


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "latin-1", "ascii"])
def test_bytes_written_to_stdout_are_the_texts_in_its_encoding(monkeypatch, encoding):
    """The list is written as UTF-8 bytes built in polars: on a UTF-8 stdout as they are, on any other
    encoding decoded and written as the text would be (an unencodable character fails the same way)."""
    from scantui.cli.output import write_out

    text = '[{"as_name": "ünïcödé \\u202e"}]\n' if encoding != "ascii" else '[{"as_name": "plain"}]\n'
    written = {}
    for value in (text, text.encode()):
        buf = io.BytesIO()
        monkeypatch.setattr("sys.stdout", io.TextIOWrapper(buf, encoding=encoding))
        write_out(value)
        written[type(value)] = buf.getvalue()
    assert written[bytes] == written[str] == text.encode(encoding)
    if encoding == "ascii":
        monkeypatch.setattr("sys.stdout", io.TextIOWrapper(io.BytesIO(), encoding=encoding))
        with pytest.raises(UnicodeEncodeError):
            write_out("ünïcödé\n".encode())


def test_columns_left_out_to_fit_are_named_once_on_stderr(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    code, out, err = run(["scanners", SAMPLE, "--top", "4"], capsys)
    assert code == 0, err
    gone = left_out(err, "scanners", 90)
    assert gone and " left out " not in out
    head = next(line for line in out.splitlines() if " src " in line)
    assert not any(f" {name} " in head for name in gone)
    monkeypatch.setenv("COLUMNS", "400")
    code, out, err = run(["scanners", SAMPLE, "--top", "4"], capsys)
    assert code == 0 and left_out(err, "scanners", 400) == [] and " left out " not in err
    head = next(line for line in out.splitlines() if " src " in line)
    assert all(f" {name} " in head for name in gone)
