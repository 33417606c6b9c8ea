"""Inputs that used to hang, abort or leave files behind, run through the real command in subprocesses.

FIFOs and devices are refused before they are opened; standard input is read
through a real pipe; an error exit (a capture cut short) is run many times,
a few at a time, because the failures it guards against were races.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from pcapbuild import Rec, ether, ipv4, tcp, write_pcap

SRC = str(Path(__file__).resolve().parents[1] / "src")


def scantui(*args: str, stdin=None, input_bytes: bytes | None = None, cwd: Path | None = None,
            timeout: float = 60, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | (env_extra or {})
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "scantui", *args], stdin=stdin, input=input_bytes, cwd=cwd,
                          capture_output=True, timeout=timeout, env=env)


def small_pcap(path: Path, n: int = 5) -> Path:
    return write_pcap(path, [Rec(ether(ipv4(src=0x0A000001 + i, payload=tcp())), ts=1_700_000_000.0 + i) for i in range(n)])


def beacon_cut_short(path: Path) -> Path:
    """One 802.11 radiotap beacon (scapy), its last 5 bytes cut off."""
    scapy = pytest.importorskip("scapy.all")
    frame = (scapy.RadioTap() / scapy.Dot11(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2="00:11:22:33:44:55",
                                            addr3="00:11:22:33:44:55")
             / scapy.Dot11Beacon() / scapy.Dot11Elt(ID="SSID", info=b"telescope"))
    full = path.with_suffix(".full")
    scapy.wrpcap(str(full), [frame])
    path.write_bytes(full.read_bytes()[:-5])
    full.unlink()
    return path


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return proc.stderr.decode().splitlines()


# -- 22: not a regular file ---------------------------------------------------------------


@pytest.mark.parametrize("command", [["info"], ["ingest", "-o", "out.parquet"], ["scanners"]])
def test_fifo_without_writer_is_refused_not_waited_on(tmp_path, command):
    fifo = tmp_path / "capture.pcap"
    os.mkfifo(fifo)
    proc = scantui(command[0], str(fifo), *command[1:], cwd=tmp_path, timeout=30)
    assert proc.returncode == 2
    assert error_lines(proc) == [f"scantui: error: {fifo}: not a regular file (a FIFO)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["capture.pcap"]


def test_fifo_inside_a_folder_is_refused(tmp_path):
    small_pcap(tmp_path / "a.pcap")
    os.mkfifo(tmp_path / "b.pcap")
    proc = scantui("info", str(tmp_path), timeout=30)
    assert proc.returncode == 2
    assert error_lines(proc) == [f"scantui: error: {tmp_path / 'b.pcap'}: not a regular file (a FIFO)"]


def test_character_device_is_refused():
    proc = scantui("info", "/dev/zero", timeout=30)
    assert proc.returncode == 2
    assert error_lines(proc) == ["scantui: error: /dev/zero: not a regular file (a character device)"]


# -- 28: standard input -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_ingest_reads_a_pipe_on_stdin(tmp_path, name):
    capture = small_pcap(tmp_path / "x.pcap", n=7)
    out = tmp_path / "out.parquet"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    cat = subprocess.Popen(["cat", str(capture)], stdout=subprocess.PIPE)
    try:
        proc = scantui("ingest", name, "-o", "out.parquet", stdin=cat.stdout, cwd=tmp_path,
                       env_extra={"TMPDIR": str(tmpdir)})
    finally:
        cat.stdout.close()
        cat.wait()
    assert proc.returncode == 0, proc.stderr
    assert error_lines(proc) == ["wrote 7 packets to out.parquet"]
    assert pl.read_parquet(out)["src"].to_list() == [0x0A000001 + i for i in range(7)]
    assert list(tmpdir.iterdir()) == []  # the spooled copy is removed at exit


def test_empty_stdin_says_so():
    proc = scantui("info", "-", input_bytes=b"")
    assert proc.returncode == 2
    assert error_lines(proc) == ["scantui: error: standard input: empty (0 bytes)"]


def test_stdin_is_named_stdin_in_errors_and_the_year_note_not_its_temporary_copy(tmp_path):
    bad = scantui("info", "-", input_bytes=b"timestamp,SRC,DST,PROTO,SPT,DPT\nxx,1.2.3.4,5.6.7.8,TCP,1,2\n",
                  env_extra={"SCANTUI_CACHE_DIR": str(tmp_path / "cache")})
    assert bad.returncode == 2
    assert error_lines(bad) == ["scantui: error: <stdin>: line 2: bad value 'xx' in column timestamp"]
    log = (b"Feb  6 10:00:01 gw kernel: [1.0] IN=eth0 OUT= MAC= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 TOS=0x00 PREC=0x00 "
           b"TTL=50 ID=1 PROTO=TCP SPT=1000 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0\n")
    ok = scantui("info", "-", input_bytes=log, env_extra={"SCANTUI_CACHE_DIR": str(tmp_path / "cache")})
    assert ok.returncode == 0, ok.stderr
    notes = [line for line in error_lines(ok) if "syslog times carry no year" in line]
    assert len(notes) == 1 and notes[0].startswith("scantui: note: <stdin>: syslog times"), notes
    assert b"scantui-stdin" not in ok.stderr


# -- 28 and 29: error exits, many times ------------------------------------------------------


RUNS = 24  # 12 of each, four at a time: each is a whole process (~1 CPU s of start-up on this 2-core box)


def test_cut_short_capture_exits_2_every_time_and_leaves_nothing(tmp_path):
    capture = beacon_cut_short(tmp_path / "beacon.pcap")
    outdir = tmp_path / "out"
    outdir.mkdir()
    runs = [("info", str(capture)) if i % 2 else ("ingest", str(capture), "-o", str(outdir / f"o{i}.parquet"))
            for i in range(RUNS)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda argv: scantui(*argv), runs))
    left = capture.stat().st_size - 24
    want = f"scantui: error: {capture}: record 1 at byte 24: truncated: file ends inside record 1 (needs {left + 5} bytes, {left} left)"
    assert [(r.returncode, error_lines(r)) for r in results] == [(2, [want])] * RUNS
    assert list(outdir.iterdir()) == []


@pytest.mark.parametrize("partition", [False, True])
def test_failed_ingest_of_several_files_leaves_no_output_or_temp(tmp_path, partition):
    (tmp_path / "in").mkdir()
    good = small_pcap(tmp_path / "in" / "a.pcap")
    capture = beacon_cut_short(tmp_path / "in" / "b.pcap")
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / ("days" if partition else "x.parquet")
    proc = scantui("ingest", str(good), str(capture), "-o", str(out), *(["--partition-by", "day"] if partition else []))
    assert proc.returncode == 2
    assert len(error_lines(proc)) == 1 and "truncated" in error_lines(proc)[0]
    assert list(out.parent.iterdir()) == []


def test_a_failed_file_fails_again_at_once(tmp_path):
    from scantui.errors import InputError
    from scantui.io.loader import open_inputs

    capture = beacon_cut_short(tmp_path / "b.pcap")
    dataset = open_inputs([capture])
    errors = []
    for _ in range(2):
        with pytest.raises(InputError) as e:
            dataset.lf.collect()
        errors.append(e.value.message)
    assert errors[0] == errors[1] and "truncated" in errors[0]
    assert dataset.stats.error(str(capture)) is not None  # latched: later scans do not decode again


def test_info_names_stdin_in_its_inputs_not_its_temporary_copy(tmp_path):
    log = (b"Feb  6 10:00:01 gw kernel: [1.0] IN=eth0 OUT= MAC= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 TOS=0x00 PREC=0x00 "
           b"TTL=50 ID=1 PROTO=TCP SPT=1000 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0\n")
    env = {"SCANTUI_CACHE_DIR": str(tmp_path / "cache")}
    doc = scantui("info", "-", "--json", input_bytes=log, env_extra=env)
    assert doc.returncode == 0, doc.stderr
    assert json.loads(doc.stdout)["inputs"] == [{"path": "<stdin>", "format": "netfilter_log"}]
    for fmt in ("--csv", None):
        out = scantui("info", "-", *([fmt] if fmt else []), input_bytes=log, env_extra=env)
        assert out.returncode == 0, out.stderr
        assert b"<stdin>" in out.stdout and b"scantui-stdin" not in out.stdout + out.stderr
