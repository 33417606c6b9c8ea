"""Compressed inputs (gzip, zstd, xz, bzip2): the same table as the plain file, read as a stream, one-line errors."""

from __future__ import annotations

import bz2
import gzip
import ipaddress
import json
import lzma
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import zstandard

from clihelp import run_captured
from pcapbuild import Rec, ether, ipv4, tcp, write_pcap
from scantui.errors import InputError
from scantui.io import compressed, detect, pcap, pcapng
from scantui.io.loader import open_inputs
from scantui.io.options import LoadOptions
from scantui.io.stats import LoadStats

ROOT = Path(__file__).resolve().parents[1]
CUTS = ROOT / "sample_data" / "cuts"

COMPRESS = {
    "gz": gzip.compress,
    "zst": lambda data: zstandard.ZstdCompressor(write_checksum=True).compress(data),
    "xz": lzma.compress,
    "bz2": lambda data: bz2.compress(data, 1),  # 100 kB blocks: a cut file still holds whole blocks
}
KINDS = {"gz": "gzip", "zst": "zstd", "xz": "xz", "bz2": "bzip2"}


def packed(plain: Path, ext: str, folder: Path | None = None) -> Path:
    out = (folder or plain.parent) / f"{plain.name}.{ext}"
    out.write_bytes(COMPRESS[ext](plain.read_bytes()))
    return out


def load(path: Path, opts: LoadOptions | None = None) -> tuple[pl.DataFrame, dict]:
    ds = open_inputs([path], opts or LoadOptions())
    df = ds.lf.collect()
    return df, {f.format: (f.rows, dict(f.skipped), f.complete) for f in ds.stats.files()}


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces and blocks far smaller than a record run, so every reader crosses many piece boundaries."""
    monkeypatch.setattr(pcap, "STREAM_BYTES", 997)
    monkeypatch.setattr(pcapng, "STREAM_BYTES", 1000)
    monkeypatch.setattr(compressed, "READ_BYTES", 1013)


# -- captures ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("ext", list(COMPRESS))
@pytest.mark.parametrize("name", ["telescope-cut.pcap", "telescope-cut.pcapng"])
def test_a_compressed_capture_reads_as_the_plain_one(tmp_path, name, ext, small_pieces):
    plain = tmp_path / name
    plain.write_bytes((CUTS / name).read_bytes())
    comp = packed(plain, ext)
    assert compressed.compression(comp) == KINDS[ext]
    assert detect.sniff(comp) == detect.sniff(plain)
    want, want_stats = load(plain)
    got, got_stats = load(comp, LoadOptions(chunk_records=97))
    assert want.height > 2000
    assert got.equals(want)
    assert got_stats == want_stats


def test_concatenated_gzip_members_read_as_one_stream(tmp_path):
    plain = tmp_path / "c.pcap"
    data = (CUTS / "telescope-cut.pcap").read_bytes()
    plain.write_bytes(data)
    half = len(data) // 2  # split anywhere: members are one byte stream
    comp = tmp_path / "c.pcap.gz"
    comp.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    assert load(comp)[0].equals(load(plain)[0])


def test_big_endian_nanosecond_pcap_in_xz(tmp_path, small_pieces):
    recs = [Rec(ether(ipv4(dst=0xC6120000 + i, payload=tcp(dport=80 + i))), (1_700_000_000 + i, 1000 * i))
            for i in range(300)]
    plain = write_pcap(tmp_path / "be.pcap", recs, order=">", nanos=True)
    assert load(packed(plain, "xz"))[0].equals(load(plain)[0])


def test_a_truncated_capture_inside_a_complete_stream(tmp_path):
    """The capture itself is cut (the gzip stream is whole): the pcap error, at a decompressed byte."""
    data = (CUTS / "telescope-cut.pcap").read_bytes()
    plain = tmp_path / "cut.pcap"
    plain.write_bytes(data[:-7])
    comp = packed(plain, "gz")
    with pytest.raises(InputError) as plain_err:
        load(plain)
    with pytest.raises(InputError) as comp_err:
        load(comp)
    assert comp_err.value.why == plain_err.value.why and "truncated: file ends inside record" in comp_err.value.why
    assert comp_err.value.where == plain_err.value.where.replace("at byte", "at decompressed byte")
    # --allow-truncated: the same records and the same count of the cut one
    opts = LoadOptions(allow_truncated=True)
    assert load(comp, opts)[0].equals(load(plain, opts)[0])
    assert load(comp, opts)[1] == load(plain, opts)[1]


# -- text ----------------------------------------------------------------------------------------------

def ip_to_str(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def _packets() -> pl.DataFrame:
    df, _ = load(CUTS / "telescope-cut.pcap")
    return df.filter(pl.col("proto").is_in([6, 17])).head(600)


def _csv_text(df: pl.DataFrame) -> str:
    lines = ["timestamp,SRC,DST,PROTO,SPT,DPT,ID,TTL,LEN"]
    for r in df.iter_rows(named=True):
        lines.append(f"{r['ts'].isoformat()},{ip_to_str(r['src'])},{ip_to_str(r['dst'])},{r['proto']},"
                     f"{r['sport']},{r['dport']},{r['ip_id']},{r['ttl']},{r['ip_len']}")
    return "\n".join(lines) + "\n"


def _log_text(df: pl.DataFrame) -> str:
    lines = []
    for i, r in enumerate(df.iter_rows(named=True)):
        proto = "TCP" if r["proto"] == 6 else "UDP"
        tail = " SEQ=1 ACK=0 WINDOW=1024 RES=0x00 SYN URGP=0" if proto == "TCP" else " LEN=8"
        lines.append(f"{r['ts'].strftime('%b %d %H:%M:%S.%f')} gw kernel: [1.0] TELESCOPE IN=eth0 OUT= "
                     f"SRC={ip_to_str(r['src'])} DST={ip_to_str(r['dst'])} LEN={r['ip_len']} TOS=0x00 PREC=0x00 "
                     f"TTL={r['ttl']} ID={r['ip_id']} PROTO={proto} SPT={r['sport']} DPT={r['dport']}{tail}")
        if i % 50 == 0:
            lines.append("Feb  6 10:00:01 gw sshd[42]: not a packet line")
    return "\n".join(lines)  # no newline at the end: the last line is cut (the last block ends where the data ends)


@pytest.mark.parametrize("ext", list(COMPRESS))
@pytest.mark.parametrize("kind, name, make", [("csv", "export.csv", _csv_text), ("log", "kern.log", _log_text)])
def test_compressed_csv_and_log_read_as_the_plain_ones(tmp_path, kind, name, make, ext, small_pieces, monkeypatch):
    if kind == "log":  # a LOG piece costs ~50 ms whatever its size: 4 KiB pieces still cut ~30 of its lines in two
        monkeypatch.setattr(compressed, "READ_BYTES", 4093)
    plain = tmp_path / name
    plain.write_text(make(_packets()))
    comp = packed(plain, ext)
    assert detect.sniff(comp) == detect.sniff(plain) == {"csv": detect.IPTABLES_CSV, "log": detect.NETFILTER_LOG}[kind]
    opts = LoadOptions(year=2024, allow_truncated=True)  # the LOG's last line, without a line end, is left out
    want, want_stats = load(plain, opts)
    got, got_stats = load(comp, opts)
    assert want.height == (599 if kind == "log" else 600)
    assert got.equals(want)
    assert got_stats == want_stats


def test_a_bad_value_in_a_compressed_csv_names_its_line(tmp_path, small_pieces):
    text = _csv_text(_packets()).splitlines()
    text[400] = text[400].replace(",6,", ",bogus,", 1)
    plain = tmp_path / "bad.csv"
    plain.write_text("\n".join(text) + "\n")
    comp = packed(plain, "zst")
    with pytest.raises(InputError) as plain_err:
        load(plain)
    with pytest.raises(InputError) as comp_err:
        load(comp)
    assert (comp_err.value.where, comp_err.value.why) == (plain_err.value.where, plain_err.value.why) == \
        ("line 401", "bad value 'bogus' in column PROTO")


# -- streaming -------------------------------------------------------------------------------------------

def test_packets_arrive_before_the_stream_is_read_to_the_end(tmp_path, monkeypatch):
    """Bounded memory: the first chunk is decoded with most of the compressed file still unread."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import capgen

    plain = tmp_path / "big.pcap"
    capgen.write_pcap(str(plain), 200_000, seed=3)
    comp = tmp_path / "big.pcap.gz"  # gzip level 1: 0.2 CPU s where packed()'s level 9 takes 3 s; read the same way
    comp.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=1))
    monkeypatch.setattr(pcap, "STREAM_BYTES", 256 << 10)
    stats = LoadStats()
    batches = pcap.iter_pcap_batches(comp, LoadOptions(chunk_records=5000), stats)
    first = next(batches)
    done, total = stats.progress()[str(comp)]
    assert first.height > 0 and total == comp.stat().st_size
    assert done < total / 4  # only the start of the compressed file has been read
    rows = first.height + sum(df.height for df in batches)
    assert rows == load(plain)[0].height


def test_text_blocks_arrive_before_the_stream_ends(tmp_path):
    plain = tmp_path / "kern.log"
    plain.write_text(_log_text(_packets()) * 20)
    comp = packed(plain, "xz")
    blocks = compressed.iter_line_blocks(comp, size=4096)
    first = next(blocks)
    assert first.endswith(b"\n") and len(first) < 8192
    assert first + b"".join(blocks) == plain.read_bytes()


# -- what is refused -----------------------------------------------------------------------------------

@pytest.mark.parametrize("content, needle", [
    (gzip.compress(b"", mtime=0), "empty gzip-compressed file"),
    (gzip.compress(gzip.compress(b"x" * 100, mtime=0), mtime=0), "gzip inside gzip"),
    (zstandard.ZstdCompressor().compress(b"PAR1" + b"\0" * 100), "zstd-compressed Parquet is not read"),
    (gzip.compress(b"hello world\nthis is not data\n", mtime=0), "unrecognized format"),
])
def test_sniffing_inside_refuses_with_the_file_name(tmp_path, content, needle):
    path = tmp_path / "odd.gz"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        detect.sniff(path)
    assert needle in str(err.value) and str(path) in str(err.value)


def test_a_gz_in_a_folder_is_found(tmp_path):
    folder = tmp_path / "hourly"
    folder.mkdir()
    a, b = folder / "2024-02-05-09.pcap", folder / "2024-02-05-10.pcap"
    data = (CUTS / "telescope-cut.pcap").read_bytes()
    a.write_bytes(data)
    packed(a, "gz")
    a.unlink()
    b.write_bytes((CUTS / "telescope-cut.pcap").read_bytes())
    ds = open_inputs([folder])
    assert [(p.path.name, p.format) for p in ds.inputs] == [("2024-02-05-09.pcap.gz", "pcap"), ("2024-02-05-10.pcap", "pcap")]
    plain = load(b)[0]
    assert ds.lf.collect().equals(pl.concat([plain, plain]))


# -- the command line ------------------------------------------------------------------------------------

def _cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    """The command in-process (``clihelp.run_captured``: these small captures' commands cost less than a Python start)."""
    return run_captured(args, SCANTUI_CACHE_DIR=str(cache))


def _without_paths(doc):
    if isinstance(doc, dict):
        return {k: _without_paths(v) for k, v in doc.items() if k != "path"}
    if isinstance(doc, list):
        return [_without_paths(v) for v in doc]
    return doc


COMMANDS = (("info", "--json"), ("scanners", "--json"))


@pytest.fixture(scope="module")
def plain_json(tmp_path_factory) -> dict:
    """The plain capture's ``info --json`` and ``scanners --json`` (run once for the three compressions)."""
    folder = tmp_path_factory.mktemp("plain")
    plain = folder / "cap.pcapng"
    plain.write_bytes((CUTS / "telescope-cut.pcapng").read_bytes())
    return {command: _cli(*command, str(plain), cache=folder / "cache-plain") for command in COMMANDS}


@pytest.mark.parametrize("ext", ["gz", "zst", "xz"])
def test_info_and_scanners_json_equal_the_plain_file(tmp_path, ext, plain_json):
    plain = tmp_path / "cap.pcapng"
    plain.write_bytes((CUTS / "telescope-cut.pcapng").read_bytes())
    comp = packed(plain, ext)
    for command in COMMANDS:
        want = plain_json[command]
        got = _cli(*command, str(comp), cache=tmp_path / "cache-comp")
        assert want.returncode == got.returncode == 0, got.stderr
        w, g = json.loads(want.stdout), json.loads(got.stdout)
        assert _without_paths(g) == _without_paths(w)
        assert w  # something was compared
        if command[0] == "info":
            assert [i["path"] for i in g["inputs"]] == [str(comp)]


def _cut(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def _corrupt(data: bytes) -> bytes:
    mid = len(data) // 2
    return data[:mid] + bytes(b ^ 0x5A for b in data[mid : mid + 64]) + data[mid + 64 :]


@pytest.mark.parametrize("ext", ["gz", "zst", "xz"])
@pytest.mark.parametrize("damage, why", [(_cut, "truncated"), (_corrupt, "corrupt|truncated")])
def test_a_damaged_compressed_file_is_one_line_exit_2_and_nothing_cached(tmp_path, ext, damage, why):
    plain = tmp_path / "cap.pcap"
    plain.write_bytes((CUTS / "telescope-cut.pcap").read_bytes() * 1)
    comp = packed(plain, ext)
    comp.write_bytes(damage(comp.read_bytes()))
    cache = tmp_path / "cache"
    for command in (["info"], ["scanners", "--json"]):
        done = _cli(*command, str(comp), cache=cache)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr
        line = lines[0]
        assert line.startswith(f"scantui: error: {comp}: ")
        position, text = line[len(f"scantui: error: {comp}: "):].split(": ", 1)
        assert position.startswith(("compressed byte ", "record ")), line
        assert re.match(rf"({why}) ", text) or "bad record" in text, line
        assert done.stdout == ""
    left = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert left == []  # no decoded copy, no rollup, no temporary file


def test_the_rollup_key_follows_the_compressed_bytes(tmp_path):
    from scantui.analysis.rollup_keys import cache_key, describe_inputs

    plain = tmp_path / "cap.pcap"
    plain.write_bytes((CUTS / "telescope-cut.pcap").read_bytes())
    comp = packed(plain, "gz")

    def key() -> str:
        return cache_key(describe_inputs(open_inputs([comp])), LoadOptions(), 150)

    first = key()
    assert key() == first
    comp.write_bytes(gzip.compress(plain.read_bytes()[:-100]))
    assert key() != first


def test_a_folder_of_many_hourly_compressed_files(tmp_path, small_pieces):
    """More files than capture streams (scantui.io.captures): runs of files, compressed or not, read in order."""
    from scantui.io.captures import MAX_STREAMS

    folder = tmp_path / "2024-02-05"
    folder.mkdir()
    names = ["telescope-cut.pcap", "telescope-cut.pcapng"]
    exts = ["gz", "zst", None, "xz"]
    for hour in range(MAX_STREAMS + 3):
        plain = folder / f"h{hour:02d}.{names[hour % 2].split('.')[-1]}"
        plain.write_bytes((CUTS / names[hour % 2]).read_bytes())
        if exts[hour % 4]:
            packed(plain, exts[hour % 4])
            plain.unlink()
    ds = open_inputs([folder])
    assert len(ds.inputs) == MAX_STREAMS + 3
    frames = [load(CUTS / names[hour % 2])[0] for hour in range(MAX_STREAMS + 3)]
    assert ds.lf.collect().equals(pl.concat(frames))


@pytest.mark.parametrize("ext", list(COMPRESS))
@pytest.mark.parametrize("name", ["telescope-cut.pcap", "telescope-cut.pcapng"])
def test_allow_truncated_reads_a_cut_stream_up_to_the_cut(tmp_path, name, ext, small_pieces):
    plain = tmp_path / name
    plain.write_bytes((CUTS / name).read_bytes())
    comp = packed(plain, ext)
    comp.write_bytes(_cut(comp.read_bytes()))
    with pytest.raises(InputError) as err:
        load(comp)
    assert err.value.why.startswith(f"truncated {KINDS[ext]} data: the file ends inside ")
    assert re.fullmatch(r"compressed byte \d+ \(decompressed byte \d+\)", err.value.where)
    got, stats = load(comp, LoadOptions(allow_truncated=True))
    want = load(plain)[0]
    assert 0 < got.height < want.height
    assert got.equals(want.head(got.height))  # every packet before the cut, in order
    assert stats[name.split("-cut.")[1]][1]["truncated_record"] == 1


def test_a_huge_block_length_in_a_compressed_pcapng_is_refused_not_held(tmp_path, monkeypatch):
    """A mapped file's blocks end at the file's end; a stream would hold every byte waiting for the block's end."""
    import struct

    monkeypatch.setattr(pcapng, "STREAM_BYTES", 4096)
    monkeypatch.setattr(pcapng, "MAX_STREAM_BLOCK", 64 << 10)
    data = bytearray((CUTS / "telescope-cut.pcapng").read_bytes())
    walker = pcapng.BlockWalker("x", bytes(data), len(data), False)
    pos = 0
    for _ in range(40):  # the 40th block's length field is made to claim 1 GiB
        pos = walker._read_block(pos, 1, pcapng._Packets.new())
    struct.pack_into("<I", data, pos + 4, 1 << 30)
    comp = tmp_path / "huge.pcapng.gz"
    comp.write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(InputError) as err:
        load(comp)
    assert err.value.why == f"bad block: length {1 << 30} exceeds the 65,536 bytes a block of a compressed file may have"
    assert err.value.where == f"block 41 at decompressed byte {pos}"


def test_work_is_sized_by_the_decoded_size_of_compressed_inputs(tmp_path):
    """The rollup's bucket count follows Dataset.table_bytes: a .pcap.gz counts at its expected ratio."""
    plain = tmp_path / "cap.pcap"
    plain.write_bytes((CUTS / "telescope-cut.pcap").read_bytes())
    comp = packed(plain, "gz")
    ds = open_inputs([comp, plain])
    assert ds.total_bytes == comp.stat().st_size + plain.stat().st_size
    assert ds.table_bytes == comp.stat().st_size * compressed.CAPTURE_RATIO + plain.stat().st_size
    assert open_inputs([plain]).table_bytes == plain.stat().st_size


@pytest.mark.parametrize("ext, name, make", [("gz", "export.csv", _csv_text), ("xz", "kern.log", _log_text)])
def test_a_cut_compressed_text_file_is_one_line_exit_2(tmp_path, ext, name, make):
    plain = tmp_path / name
    plain.write_text(make(_packets()) * 40)  # larger than one decompressed block
    comp = packed(plain, ext)
    comp.write_bytes(_cut(comp.read_bytes()))
    done = _cli("info", "--year", "2024", str(comp), cache=tmp_path / "cache")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert re.fullmatch(rf"scantui: error: {re.escape(str(comp))}: compressed byte \d+ \(decompressed byte \d+\): "
                        rf"truncated {KINDS[ext]} data: the file ends inside an? {KINDS[ext]} (member|stream)", lines[0])
