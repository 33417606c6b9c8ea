"""Inputs other than captures that are cut before scantui reads them, or change while it does.

CSV, netfilter LOG and Parquet inputs (plain and compressed): one line ``scantui: error: FILE: POSITION:
WHY``, exit 2, nothing written or cached. A Parquet file of one day is read in place when its day is
built (no split keeps its rows): its size and mtime are checked again before that day is committed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import lzma
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import zstandard

from scantui.analysis import day_builder, rollup_cache
from scantui.errors import InputError
from scantui.io.loader import open_inputs
from scantui.io.options import LoadOptions
from scantui.io.text_end import TRUNCATED

ROOT = Path(__file__).resolve().parents[1]
CUTS = ROOT / "sample_data" / "cuts"
PACK = {"gz": gzip.compress, "zst": zstandard.ZstdCompressor().compress, "xz": lzma.compress}


def _committed(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.name in ("index.json", "state.json", "meta.json")]


@pytest.fixture(scope="module")
def one_day() -> pl.DataFrame:
    return (pl.scan_parquet(ROOT / "sample_data" / "telescope.parquet")
            .filter(pl.col("ts").dt.date() == dt.date(2024, 2, 3)).head(3000).collect())


def test_a_one_day_parquet_changed_before_its_day_is_built_is_refused_and_not_committed(tmp_path, one_day,
                                                                                         monkeypatch):
    """The split only lists the file's days; the day's state reads the file again, later. A file rewritten
    in between (here: a third of its rows) must not be committed under the key of the file as it was listed."""
    path = tmp_path / "day.parquet"
    one_day.write_parquet(path)
    build_state = day_builder.build_state

    def rewritten_first(job):
        one_day.head(1000).write_parquet(path)
        return build_state(job)

    monkeypatch.setattr(day_builder, "build_state", rewritten_first)
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match=r"the file changed while it was read \([\d,]+ bytes when listed, "
                                         r"[\d,]+ bytes now\)") as err:
        rollup_cache.open_rollup(open_inputs([path], LoadOptions()), cache_dir=cache)
    assert str(path) in str(err.value)
    assert [p.name for p in _committed(cache)] == ["index.json"]  # the split (its list of days) only
    assert not [p for p in cache.rglob(".*")]  # nor a temporary left behind


def _scantui(*args: str, cache: Path, shrink: tuple[Path, int] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SCANTUI_CACHE_DIR": str(cache)}
    env.pop("COLUMNS", None)
    run = [str(ROOT / "tests" / "shrinkrun.py"), str(shrink[0]), str(shrink[1])] if shrink else ["-m", "scantui"]
    return subprocess.run([sys.executable, *run, *args], capture_output=True, text=True, env=env, timeout=300)


def _one_line(proc: subprocess.CompletedProcess, path: Path, rest: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert re.fullmatch(f"scantui: error: {re.escape(str(path))}: {rest}\n", proc.stderr), proc.stderr


def _cut_text(name: str) -> tuple[bytes, int, int]:
    """The sample CSV or LOG cut inside a line 60 % in: its bytes, the cut line's number and first byte."""
    data = (CUTS / name).read_bytes()
    data = data[: len(data) * 6 // 10 + 7]
    start = data.rfind(b"\n") + 1
    assert 0 < start < len(data)
    return data, data[:start].count(b"\n") + 1, start


_CUT_LINE = r"the file ends inside this line \(no line end: cut short, or still being written\?\); --allow-truncated "


@pytest.mark.parametrize("name, pack", [("iptables.csv", ""), ("iptables.csv", "gz"), ("iptables.csv", "zst"),
                                        ("iptables.log", ""), ("iptables.log", "xz")])
def test_a_text_input_cut_inside_a_line_is_one_line_naming_it_and_nothing_is_written(tmp_path, name, pack):
    """Before: the CSV's cut row was 'bad value' at its line, the LOG's silently a packet or a skip; a
    compressed stream that ends in order but inside a line (cut, then compressed) the same."""
    data, line, start = _cut_text(name)
    path = tmp_path / (f"{name}.{pack}" if pack else name)
    path.write_bytes(PACK[pack](data) if pack else data)
    out = tmp_path / "out.parquet"
    proc = _scantui("ingest", str(path), "-o", str(out), cache=tmp_path / "cache")
    unit = "decompressed byte" if pack else "byte"
    _one_line(proc, path, f"line {line} \\({unit} {start}\\): {_CUT_LINE}.*")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("pack", ["", "gz"])
@pytest.mark.parametrize("name", ["iptables.csv", "iptables.log"])
def test_allow_truncated_leaves_out_the_cut_line_and_counts_it(tmp_path, name, pack):
    data, _, start = _cut_text(name)
    path, whole = tmp_path / (f"{name}.{pack}" if pack else name), tmp_path / f"whole-{name}"
    path.write_bytes(PACK[pack](data) if pack else data)
    whole.write_bytes(data[:start])  # the lines before the cut one, each with its line end
    opts = LoadOptions(allow_truncated=True, year=2024)
    got, want = open_inputs([path], opts), open_inputs([whole], opts)
    assert got.lf.collect().equals(want.lf.collect()) and want.lf.collect().height > 1000
    skipped = got.stats.skipped()
    assert skipped.pop(TRUNCATED) == 1 and skipped == want.stats.skipped()


@pytest.mark.parametrize("tail", [b"", b"\n", b"\n  \t", b"\r\n"])
def test_a_text_input_ending_with_a_line_end_or_blanks_is_not_cut(tmp_path, tail):
    data = (CUTS / "iptables.csv").read_bytes().rstrip(b"\n")
    path = tmp_path / "t.csv"
    path.write_bytes(data + tail)
    if not tail:  # the last row has no line end
        with pytest.raises(InputError, match="the file ends inside this line"):
            open_inputs([path], LoadOptions()).lf.collect()
    else:
        assert open_inputs([path], LoadOptions()).lf.collect().height == data.count(b"\n")


def test_a_parquet_file_cut_short_says_where_its_footer_is_missing(tmp_path, one_day):
    """Before: polars' 'File out of specification: The file must end with PAR1', naming no byte."""
    whole = tmp_path / "whole.parquet"
    one_day.write_parquet(whole)
    path = tmp_path / "day.parquet"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    for args in (["ingest", str(path), "-o", str(tmp_path / "out.parquet")], ["scanners", str(path)]):
        proc = _scantui(*args, cache=tmp_path / "cache")
        _one_line(proc, path, f"byte {path.stat().st_size}: the file ends without its Parquet footer "
                              r"\(cut short, or still being written\?\)")
    assert not (tmp_path / "out.parquet").exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("name, command", [("iptables.csv", "ingest"), ("iptables.log", "ingest"),
                                           ("iptables.csv.gz", "ingest"), ("day.parquet", "ingest"),
                                           ("iptables.csv", "scanners"), ("day.parquet", "scanners")])
def test_an_input_cut_after_it_was_validated_is_refused_in_one_line(tmp_path, one_day, name, command):
    """tests/shrinkrun.py cuts the file once it has been validated, before its rows are read again
    (as a text input over 64 MiB is). Before: ingest wrote the rows before the cut (exit 0; the CSV's cut
    row dropped as bad); a Parquet file made polars panic (a Rust backtrace, exit 1)."""
    path = tmp_path / name
    if name.endswith(".parquet"):
        one_day.write_parquet(path, row_group_size=500)
    else:
        data = (CUTS / name.removesuffix(".gz")).read_bytes()
        path.write_bytes(PACK["gz"](data) if name.endswith(".gz") else data)
    before = path.stat().st_size
    out, cache = tmp_path / "out.parquet", tmp_path / "cache"
    args = ["ingest", str(path), "-o", str(out)] if command == "ingest" else ["scanners", str(path)]
    proc = _scantui(*args, cache=cache, shrink=(path, before * 6 // 10))
    assert path.stat().st_size == before * 6 // 10  # the cut happened
    when, what = ("opened", "nothing was written") if command == "ingest" else ("listed", "nothing of it was cached")
    _one_line(proc, path, f"the file changed while it was read \\({before:,} bytes when {when}, "
                          f"{before * 6 // 10:,} bytes now\\): {what}; read it again once it is complete")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert _committed(cache) == [] if cache.exists() else True


@pytest.mark.parametrize("pack", ["gz", "zst", "xz"])
def test_allow_truncated_reads_a_cut_compressed_text_stream_up_to_its_last_whole_line(tmp_path, pack):
    """Before: the cut stream was an error even with --allow-truncated (captures read up to the cut)."""
    data = (CUTS / "iptables.log").read_bytes()
    packed = PACK[pack](data)
    path = tmp_path / f"kern.log.{pack}"
    path.write_bytes(packed[: len(packed) * 6 // 10])
    whole = tmp_path / "kern.log"
    whole.write_bytes(data)
    opts = LoadOptions(allow_truncated=True, year=2024)
    got, want = open_inputs([path], opts), open_inputs([whole], opts).lf.collect()
    rows = got.lf.collect()
    assert 0 < rows.height < want.height and rows.equals(want.head(rows.height))
    assert got.stats.skipped()[TRUNCATED] == 1


@pytest.mark.parametrize("name, pack", [("iptables.csv", "gz"), ("iptables.log", "xz")])
def test_a_small_compressed_text_file_cut_short_is_read_up_to_the_cut_with_allow_truncated(tmp_path, name, pack):
    """Cut inside the first 64 KiB it decompresses to: sniffing the format and reading the CSV's header
    failed on the cut, --allow-truncated or not (a larger file is sniffed before its cut)."""
    data = b"".join((CUTS / name).read_bytes().splitlines(keepends=True)[:200])
    whole = tmp_path / name
    whole.write_bytes(data)
    packed = PACK[pack](data)
    path = tmp_path / f"{name}.{pack}"
    path.write_bytes(packed[: len(packed) * 6 // 10])
    with pytest.raises(InputError, match=r"truncated \w+ data: the file ends inside") as err:
        open_inputs([path], LoadOptions(year=2024)).lf.collect()
    assert re.fullmatch(r"compressed byte \d+ \(decompressed byte \d+\)", err.value.where)
    opts = LoadOptions(allow_truncated=True, year=2024)
    got, want = open_inputs([path], opts).lf.collect(), open_inputs([whole], opts).lf.collect()
    assert 0 < got.height < want.height and got.equals(want.head(got.height))


@pytest.mark.parametrize("days", [1, 21])
def test_a_parquet_file_with_corrupt_pages_is_one_line_naming_it(tmp_path, one_day, days):
    """Its footer and statistics read fine (the loader's checks), a data page does not: polars' error named no
    file (``scantui: error: parquet: File out of specification: zstd error...``). A day read in place (1 day)
    and a day split (21 days) alike."""
    frame = one_day if days == 1 else pl.read_parquet(ROOT / "sample_data" / "telescope.parquet")
    whole = tmp_path / "whole.parquet"
    frame.write_parquet(whole, compression="zstd", row_group_size=4096)
    data = bytearray(whole.read_bytes())
    for i in range(len(data) // 5, len(data) * 3 // 5):  # pages only: the footer is the last few KiB
        data[i] ^= 0x5A
    path = tmp_path / "corrupt.parquet"
    path.write_bytes(bytes(data))
    proc = _scantui("scanners", str(path), cache=tmp_path / "cache")
    _one_line(proc, path, "unreadable (data|Parquet): .+")
    assert not [p for p in _committed(tmp_path / "cache") if p.name != "index.json"]


@pytest.mark.parametrize("other", ["parquet", "pcap"])
def test_a_corrupt_page_in_a_day_of_several_inputs_names_its_file(tmp_path, one_day, other):
    """Three one-day Parquet files of the same day (or two and the capture that shares it), each read in place
    when the day is built, one with a page's bytes overwritten (not cut): polars' error named no file
    (``scantui: error: parquet: File out of specification: ...``); now the file and the column, neither that
    day nor the rollup committed."""
    folder = tmp_path / "in"
    folder.mkdir()
    if other == "pcap":  # the capture's 2024-02-10 packets and two Parquet files of that day
        day = pl.read_parquet(ROOT / "sample_data" / "telescope.parquet").filter(pl.col("ts").dt.date() == dt.date(2024, 2, 10))
        shutil.copy(CUTS / "telescope-cut.pcap", folder / "cut.pcap")
    else:
        day = one_day
    parts = [day.filter(pl.col("dport") == 443), day.filter(pl.col("dport") != 443)]
    parts = parts + [parts[1].head(100)] if other == "parquet" else parts
    for i, part in enumerate(parts):
        part.write_parquet(folder / f"p{i}.parquet", compression="zstd")
    bad = folder / "p1.parquet"
    good = bad.read_bytes()
    assert len(good) > 20_000
    data = bytearray(good)
    rng = random.Random(1)
    for i in range(len(data) // 4, len(data) // 2):  # inside the pages (the footer is the end)
        data[i] = rng.randrange(256)
    bad.write_bytes(bytes(data))
    with pytest.raises(pl.exceptions.PolarsError):
        pl.read_parquet(bad)
    proc = _scantui("scanners", str(folder), "--csv", cache=tmp_path / "cache")
    _one_line(proc, bad, r"column \w+: unreadable data: .+")
    assert proc.stdout == ""
    # (the capture's other days are built from it alone: their states are whole, kept for the next run)
    day_of_bad = str(day["ts"].dt.date()[0])
    assert not [p for p in _committed(tmp_path / "cache") if p.name == "meta.json" or day_of_bad in p.parent.name]
    bad.write_bytes(good)  # mended: the same command works from that cache
    proc = _scantui("scanners", str(folder), "--csv", cache=tmp_path / "cache")
    assert proc.returncode == 0 and proc.stdout.startswith("src,packets,"), proc.stderr
