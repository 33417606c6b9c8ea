"""``scantui watch``: a labelled group's members scan again on a new day (fires once, exit 1), nothing new
(exit 0), a rejected group back in a new shape, ``--json`` against its schema, hostile titles as data,
one-line errors. Real day files, a labels file written through the real store, the real state file."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess

import pytest

from clihelp import run
from test_cli_pipes import scantui_proc
from scantui.labels.session import LabelSession, ScanRef
from test_cli_schemas import valid
from watchbuild import SOURCES, TELESCOPE, scan_frame, write_day

OTHERS = ("185.180.143.50", "185.180.143.51")  # a pair the analyst rejected on port 23
HOSTILE = 'AK "[bold red]x[/]\x1b[31m\nforged line'


@pytest.fixture
def data(tmp_path, monkeypatch):
    """(folder, labels path): days 5 and 6 of February; G01 (the four sources) labelled with both its scans,
    R01 (the pair on port 23, day 5) rejected."""
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "data"
    folder.mkdir()
    write_day(folder, "d05.parquet", scan_frame("2024-02-05"), scan_frame("2024-02-05", OTHERS, 23, hour=14))
    write_day(folder, "d06.parquet", scan_frame("2024-02-06"))
    labels = tmp_path / "team.yaml"
    session = LabelSession.open(str(labels), author="ana")
    session.create(SOURCES, group_id="G01", title=HOSTILE,
                   scans=[ScanRef(8080, dt.date(2024, 2, d), SOURCES, "prefix24", "185.180.143.0/24") for d in (5, 6)])
    session.reject(OTHERS, scans=[ScanRef(23, dt.date(2024, 2, 5), OTHERS)], title="telnet pair")
    return folder, labels


def _watch(capsys, folder, labels, *more):
    return run(["watch", *sorted(str(p) for p in folder.glob("*.parquet")), "--telescope", TELESCOPE,
                "--labels", str(labels), *more], capsys)


def test_a_group_back_fires_once_per_new_scan(capsys, data):
    folder, labels = data
    code, out, err = _watch(capsys, folder, labels)
    assert (code, out) == (0, ""), err  # every scan of the data is recorded: nothing is back
    assert not (folder.parent / "team.yaml.watch.json").exists()

    write_day(folder, "d09.parquet", scan_frame("2024-02-09"))  # G01 scans again three days later
    code, out, err = _watch(capsys, folder, labels)
    assert code == 1, err
    (line,) = out.splitlines()  # the hostile title cannot forge a second line nor colour the terminal
    assert line.startswith('back G01 "AK \\"[bold red]x[/]\\x1b[31m\\x0aforged line" port 8080 2024-02-09 4 sources')
    assert "(AS64500 EXAMPLE-RESEARCH) via members" in line and "\x1b" not in out
    state = json.loads((folder.parent / "team.yaml.watch.json").read_text())
    assert list(state["fired"]) == ["back|G01|8080|2024-02-09"]

    assert _watch(capsys, folder, labels)[:2] == (0, "")  # the same data again: nothing

    write_day(folder, "d10.parquet", scan_frame("2024-02-10"), scan_frame("2024-02-10", port=8443, hour=15))
    code, out, err = _watch(capsys, folder, labels)
    assert code == 1 and [l.split(" port ")[1][:15] for l in out.splitlines()] == ["8080 2024-02-10", "8443 2024-02-10"]
    assert _watch(capsys, folder, labels)[:2] == (0, "")


def test_a_rejected_group_fires_only_in_a_new_shape(capsys, data):
    folder, labels = data
    write_day(folder, "d07.parquet", scan_frame("2024-02-07", OTHERS, 23, hour=14))  # the rejected shape again
    assert _watch(capsys, folder, labels)[:2] == (0, "")
    write_day(folder, "d08.parquet", scan_frame("2024-02-08", OTHERS, 2323, hour=14))  # another port: a new shape
    code, out, err = _watch(capsys, folder, labels)
    assert code == 1, err
    assert out.startswith('new_shape R01 "telnet pair" port 2323 2024-02-08 2 sources') and len(out.splitlines()) == 1
    assert _watch(capsys, folder, labels)[:2] == (0, "")


def test_json_and_jsonl_against_the_schema(capsys, data, tmp_path):
    folder, labels = data
    write_day(folder, "d09.parquet", scan_frame("2024-02-09"), scan_frame("2024-02-09", OTHERS, 2323, hour=14))
    code, out, err = _watch(capsys, folder, labels, "--json", "--state", str(tmp_path / "s1.json"))
    assert code == 1, err
    doc = json.loads(out)
    valid("watch", doc)
    assert [(h["kind"], h["group"], h["port"], h["day"], h["via"]) for h in doc] == [
        ("back", "G01", 8080, "2024-02-09", "members"), ("new_shape", "R01", 2323, "2024-02-09", "members")]
    assert doc[0]["title"] == HOSTILE and doc[0]["sources"] == list(SOURCES) and "\\u001b" in out
    code, out, err = _watch(capsys, folder, labels, "--json", "--state", str(tmp_path / "s1.json"))
    assert (code, json.loads(out)) == (0, [])
    code, out, err = _watch(capsys, folder, labels, "--jsonl", "--state", str(tmp_path / "s2.json"), "--since", "2024-02-09")
    assert code == 1 and len(out.splitlines()) == 2
    for line in out.splitlines():
        valid("watch", json.loads(line), row=True)


@pytest.mark.parametrize("bad", ["state", "since", "labels", "both"])
def test_bad_input_is_one_line_exit_2(capsys, data, tmp_path, bad):
    folder, labels = data
    state = tmp_path / "state.json"
    state.write_text('{"scantui_watch": 1, "fired": []}')
    args = {"state": ["--state", str(state)], "since": ["--since", "yesterday"], "both": ["--json", "--jsonl"],
            "labels": []}[bad]
    if bad == "labels":
        labels = tmp_path / "missing.yaml"
    code, out, err = _watch(capsys, folder, labels, *args)
    assert code == 2 and out == "" and err.startswith("scantui: error:") and len(err.strip().splitlines()) == 1
    assert state.read_text() == '{"scantui_watch": 1, "fired": []}'


def test_two_runs_at_once_report_a_hit_once(capsys, data, tmp_path):
    """Two real processes on one state file: the second waits for the first's lock, then sees what it fired."""
    from scantui.lock import FileLock, lock_path
    from scantui.labels.watch import default_state_path

    folder, labels = data
    write_day(folder, "d09.parquet", scan_frame("2024-02-09"))
    assert _watch(capsys, folder, labels, "--state", str(tmp_path / "warm.json"))[0] == 1  # the rollup cached
    args = ["watch", *sorted(str(p) for p in folder.glob("*.parquet")), "--telescope", TELESCOPE, "--labels", str(labels)]
    procs = [scantui_proc(args) for _ in range(2)]
    done = [(p.communicate(timeout=120), p.returncode) for p in procs]
    assert sorted(code for _, code in done) == [0, 1], [err for (_, err), _ in done]
    assert b"".join(out for (out, _), _ in done).decode().count("back G01") == 1

    with FileLock(lock_path(default_state_path(labels))):  # a run still going: the next one gives up after --wait
        code, out, err = _watch(capsys, folder, labels, "--wait", "0")
    assert (code, out) == (2, "") and len(err.splitlines()) == 1
    assert err.startswith("scantui: error: ") and "another scantui watch is still using this state file" in err


@contextlib.contextmanager
def _read_only(folder):
    """*folder* made unwritable for real (immutable for root, who ignores modes)."""
    root = os.geteuid() == 0
    if root and (not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode):
        pytest.skip("no way to make a folder read-only for root here")
    if not root:
        folder.chmod(0o555)
    try:
        yield folder
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_an_unwritable_state_folder_is_an_error_before_any_hit_is_printed(capsys, data, tmp_path):
    folder, labels = data
    write_day(folder, "d09.parquet", scan_frame("2024-02-09"))
    (tmp_path / "ro").mkdir()
    shared = shutil.copy(labels, tmp_path / "ro" / "team.yaml")
    with _read_only(tmp_path / "ro"):
        code, out, err = _watch(capsys, folder, shared)
    assert (code, out) == (2, "") and len(err.splitlines()) == 1, err
    assert err.startswith(f"scantui: error: {shared}.watch.json: cannot write the watch state in its folder:")


def test_watched_saved_views_report_rows_they_did_not_match_before(capsys, data, tmp_path, monkeypatch):
    folder, labels = data
    config = tmp_path / "config.yaml"
    config.write_text("views:\n"
                      "  - {name: telnet-alt, area: scanners, query: 'port:2323', watch: true}\n"
                      "  - {name: big, area: candidates, query: 'n>=4', watch: true}\n"
                      "  - {name: mine, area: candidates, query: 'n>=2'}\n"  # not watched
                      '  - {name: "t\\e[31mel", area: scanners, query: "port:1", watch: true}\n')  # matches nothing
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))
    code, out, err = _watch(capsys, folder, labels)
    assert (code, out) == (0, ""), err  # the first run is each view's baseline: said on stderr, not reported
    assert "saved view 'telnet-alt': watched from now on (0 rows match it now)" in err
    assert "saved view 'big': watched from now on (2 rows match it now)" in err
    assert "saved view 't\\x1b[31mel': watched from now on" in err  # escaped once (was 't\\\\x1b[31mel', a repr)

    write_day(folder, "d08.parquet", scan_frame("2024-02-08", OTHERS, 2323, hour=14), scan_frame("2024-02-08"))
    code, out, err = _watch(capsys, folder, labels)
    assert code == 1 and err == "", err
    assert out.splitlines() == [
        'back G01 "AK \\"[bold red]x[/]\\x1b[31m\\x0aforged line" port 8080 2024-02-08 4 sources (AS64500 EXAMPLE-RESEARCH) via members',
        'new_shape R01 "telnet pair" port 2323 2024-02-08 2 sources (AS64500 EXAMPLE-RESEARCH) via members',
        "view telnet-alt scanner 185.180.143.50 (AS64500 EXAMPLE-RESEARCH)",
        "view telnet-alt scanner 185.180.143.51 (AS64500 EXAMPLE-RESEARCH)",
        "view big candidate port 8080 2024-02-08 4 sources (AS64500 EXAMPLE-RESEARCH) key 185.180.143.0/24",
    ]
    assert _watch(capsys, folder, labels)[:3] == (0, "", "")
    write_day(folder, "d10.parquet", scan_frame("2024-02-10", ("185.180.143.60", "185.180.143.61"), 2323, hour=14))
    code, out, err = _watch(capsys, folder, labels, "--jsonl")  # strangers on 2323: only the scanners view fires
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [(r["kind"], r["view"], r["area"], r["sources"]) for r in rows] == [
        ("view", "telnet-alt", "scanners", ["185.180.143.60"]), ("view", "telnet-alt", "scanners", ["185.180.143.61"])]
    for row in rows:
        valid("watch", row, row=True)

    config.write_text("views:\n  - {name: broken, area: scanners, query: 'port:', watch: true}\n")
    code, out, err = _watch(capsys, folder, labels)
    assert code == 2 and out == "" and err.startswith("scantui: error: views: saved view 'broken':")


def test_the_sample_zmap_walk_is_back_by_its_key(capsys, tmp_path, sample_collab_runs, shared_rollup_cache):
    """Real data: the sample's ZMap 4.3 walk (one group, two days, three /24s of two ASes). The group records the
    first day's candidate with its key but holds only a decoy member (the second day's sources are the same IPs):
    only the recorded ``zmap_generator`` key can tie the second day's scan to it."""
    from clihelp import SAMPLE
    from scantui.labels.model import Group
    from scantui.labels.store import LabelsStore
    from scantui.workspace.watch import seen_scan

    truth, runs = sample_collab_runs
    first, second = [c for c in truth["collab_scans"] if c.get("class") == "zmap4_walk"]
    (cand,) = [c for c in runs["day"].candidates if (c.port, c.day.isoformat()) == (first["port"], first["day"])]
    seen = seen_scan(cand)
    assert (seen.key_kind, seen.key) == ("zmap_generator", first["key"]) and set(seen.sources) == set(second["sources"])
    labels = tmp_path / "team.yaml"
    store = LabelsStore.load(labels, author="ana")
    store.add(Group("G01", "collaborative", ("192.0.2.1",), title="zmap walk"))
    store.record_scan("G01", seen.port, seen.day, seen.sources, add_members=False,
                      extra={"key_kind": seen.key_kind, "key": seen.key})
    store.save()
    argv = ["watch", SAMPLE, "--labels", str(labels)]
    code, out, err = run(argv, capsys)
    assert (code, out) == (1, f'back G01 "zmap walk" port {second["port"]} {second["day"]} 3 sources '
                              f'via key {first["key"]}\n'), err
    assert run(argv, capsys)[:2] == (0, "")
