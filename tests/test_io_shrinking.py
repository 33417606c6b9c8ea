"""A capture cut short by another process while it is read: one error line and exit 2, never SIGBUS.

The readers read plain captures in pieces into a buffer (:mod:`scantui.io.file_pieces`) instead of
mapping them. The subprocess tests cut a real file once the reader has opened it and decoded its first
window (tests/shrinkrun.py); the memory-mapped reader before died there with SIGBUS (exit -7).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from scantui.io import file_pieces, pcap, pcapng
from scantui.io.options import LoadOptions
from scantui.io.stats import LoadStats

ROOT = Path(__file__).resolve().parents[1]
CUTS = ROOT / "sample_data" / "cuts"
sys.path.insert(0, str(ROOT / "benchmarks"))


def _read(path: Path, pieces: int | None, monkeypatch) -> tuple[pl.DataFrame, list]:
    if pieces:
        monkeypatch.setattr(file_pieces, "PIECE_BYTES", pieces)
    stats = LoadStats()
    reader = pcapng.iter_pcapng_batches if path.suffix == ".pcapng" else pcap.iter_pcap_batches
    df = pl.concat(list(reader(path, LoadOptions(chunk_records=97, record_refs=True, allow_truncated=True), stats)))
    return df, [f.to_dict() for f in stats.files()]


@pytest.mark.parametrize("name", ["telescope-cut.pcap", "telescope-cut.pcapng"])
def test_a_plain_capture_read_in_small_pieces_is_read_the_same(tmp_path, name, monkeypatch):
    """Pieces far smaller than the file (997 bytes: records cut at every piece's end; 64: a pcapng block
    longer than a piece) give the same rows, record offsets and counts as one piece."""
    path = tmp_path / name
    path.write_bytes((CUTS / name).read_bytes()[:-5])  # the last record cut: counted, not an error
    want, want_stats = _read(path, None, monkeypatch)
    assert want.height > 2000 and want_stats[0]["skipped"].get("truncated_record") == 1
    for size in (997, 64):
        got, got_stats = _read(path, size, monkeypatch)
        assert got.equals(want)
        assert got_stats == want_stats


@pytest.fixture(scope="module")
def captures(tmp_path_factory) -> dict[str, bytes]:
    import capgen

    folder = tmp_path_factory.mktemp("shrink")
    capgen.write_pcap(str(folder / "c.pcap"), 40_000, seed=5)  # ~3 MiB: several pieces, two map windows
    capgen.write_pcapng(str(folder / "c.pcapng"), 40_000, seed=5)
    return {ext: (folder / f"c.{ext}").read_bytes() for ext in ("pcap", "pcapng")}


def _cut_while_read(capture: Path, size: int, *args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SCANTUI_CACHE_DIR": str(cache)}
    env.pop("COLUMNS", None)
    return subprocess.run([sys.executable, str(ROOT / "tests" / "shrinkrun.py"), str(capture), str(size), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def _one_line(proc: subprocess.CompletedProcess, capture: Path, before: int, size: int) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    m = re.fullmatch(rf"scantui: error: {re.escape(str(capture))}: byte (\d+): the file shrank while it was read "
                     rf"\(([\d,]+) bytes when opened, {size:,} now\b.*\)", lines[0])
    assert m, lines[0]
    assert size < int(m[1]) < before and int(m[2].replace(",", "")) == before


@pytest.mark.parametrize("ext", ["pcap", "pcapng"])
def test_ingest_of_a_capture_cut_while_read_fails_in_one_line_and_writes_nothing(tmp_path, captures, ext):
    capture = tmp_path / f"day.{ext}"
    capture.write_bytes(captures[ext])
    out = tmp_path / "out.parquet"
    proc = _cut_while_read(capture, 100_000, "ingest", str(capture), "-o", str(out), cache=tmp_path / "cache")
    _one_line(proc, capture, len(captures[ext]), 100_000)
    assert capture.stat().st_size == 100_000  # the cut happened, while the file was read
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_rollup_of_a_capture_cut_while_read_fails_in_one_line_and_caches_nothing(tmp_path, captures):
    capture = tmp_path / "day.pcap"
    capture.write_bytes(captures["pcap"])
    cache = tmp_path / "cache"
    proc = _cut_while_read(capture, 100_000, "scanners", str(capture), cache=cache)
    _one_line(proc, capture, len(captures["pcap"]), 100_000)
    done = [p.relative_to(cache) for p in cache.rglob("*") if p.name in ("index.json", "state.json", "meta.json")]
    assert done == []  # no input split, day state or rollup was committed
    assert not [p for p in cache.rglob(".*")]  # nor a temporary left behind


def test_a_capture_that_grows_while_read_is_not_cached_under_its_old_identity(tmp_path, captures):
    """The rollup keys an input split by the file's size and mtime when listed: a file that grows (or is cut
    and rewritten) before the reader is done would be cached under a key that names other bytes."""
    capture = tmp_path / "day.pcap"
    capture.write_bytes(captures["pcap"])
    cache = tmp_path / "cache"
    grown = len(captures["pcap"]) + 4096
    proc = _cut_while_read(capture, grown, "scanners", str(capture), cache=cache)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr == (f"scantui: error: {capture}: the file changed while it was read ({len(captures['pcap']):,} "
                           f"bytes when listed, {grown:,} bytes now): nothing of it was cached; read it again once it "
                           "is complete\n")
    assert [p for p in cache.rglob("*") if p.name in ("index.json", "state.json", "meta.json")] == []


def test_original_bytes_of_a_capture_cut_after_it_was_checked_are_refused(tmp_path, captures):
    """The packets view's reader checks the file's identity when it opens it; a cut after that reads
    short (ChangedCapture), where the memory map it used died of SIGBUS."""
    from scantui.io.packet_refs import ChangedCapture, CaptureFile, RecordReader

    capture = tmp_path / "day.pcap"
    capture.write_bytes(captures["pcap"])
    refs = pl.concat(list(pcap.iter_pcap_batches(capture, LoadOptions(record_refs=True), LoadStats())))["ref_off"]
    with RecordReader([CaptureFile.of(capture, "pcap")]) as reader:
        first = next(reader.read([(0, int(refs[0]))]))[1]
        assert first.data[12:14] in (b"\x08\x00", b"\x81\x00", b"\x08\x06", b"\x86\xdd")  # an Ethernet frame
        os.truncate(capture, 100_000)
        with pytest.raises(ChangedCapture, match=r"shrank while its bytes were read"):
            list(reader.read([(0, int(refs[-1]))]))


def test_follow_reports_a_capture_cut_while_read_and_folds_it_in_once_it_settles(tmp_path, captures, monkeypatch):
    """``--follow``: the cut is one reported error (the loop goes on); the file, changed, is read again once
    complete: its whole records are folded in (``--allow-truncated``: the record the cut went through is counted)."""
    from scantui.analysis.rollup_follow import follow

    folder = tmp_path / "arriving"
    folder.mkdir()
    capture = folder / "day.pcap"
    capture.write_bytes(captures["pcap"])
    monkeypatch.setattr(file_pieces, "PIECE_BYTES", 256 << 10)
    advance, cut = LoadStats.advance, []

    def cut_once(self, path, done, total):
        advance(self, path, done, total)
        if Path(path) == capture and 0 < done < total and not cut:
            cut.append(done)
            os.truncate(capture, 100_000)

    monkeypatch.setattr(LoadStats, "advance", cut_once)
    errors, updates, polls = [], [], []

    def stop() -> bool:
        polls.append(1)
        return bool(updates) or len(polls) > 8

    follow([folder], opts=LoadOptions(allow_truncated=True), cache_dir=tmp_path / "cache", interval=0, settle=0,
           on_update=updates.append, on_error=errors.append, stop=stop)
    assert len(errors) == 1 and errors[0].message.startswith(f"{capture}: byte ")
    assert "the file shrank while it was read" in errors[0].message
    assert len(updates) == 1
    packets = updates[0].rollup.port_day.select(pl.col("packets").sum()).collect().item()
    assert 0 < packets < 100_000 // 54  # the records of the first 100,000 bytes only


@pytest.mark.parametrize("allow", [False, True])
def test_a_pcapng_block_claiming_more_than_the_file_is_said_without_reading_the_rest(tmp_path, captures, monkeypatch,
                                                                                   allow):
    """The same error (or, with --allow-truncated, the same packets) as when the whole file is one piece; the
    rest of a big file is not read into memory to find that out."""
    import struct
    import tracemalloc

    data = bytearray(captures["pcapng"])
    walker = pcapng.BlockWalker("x", bytes(data), len(data), False)
    pos = 0
    for _ in range(40):  # the 41st block's length field is made to claim 1 GiB
        pos = walker._read_block(pos, 1, pcapng._Packets.new())
    struct.pack_into("<I", data, pos + 4, 1 << 30)
    path = tmp_path / "huge.pcapng"
    path.write_bytes(bytes(data))

    def read(pieces: int):
        monkeypatch.setattr(file_pieces, "PIECE_BYTES", pieces)
        opts = LoadOptions(allow_truncated=allow)
        try:
            return pl.concat(list(pcapng.iter_pcapng_batches(path, opts, LoadStats())))
        except Exception as e:  # noqa: BLE001 - compared below
            return str(e)

    whole = read(len(data))
    tracemalloc.start()
    got = read(64 << 10)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if allow:
        assert isinstance(whole, pl.DataFrame) and isinstance(got, pl.DataFrame) and got.equals(whole)
    else:
        assert got == whole == (f"{path}: block 41 at byte {pos}: truncated: file ends inside block 41 "
                                f"(needs {1 << 30} bytes, {len(data) - pos} left)")
    assert peak < len(data) / 2
