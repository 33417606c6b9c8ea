"""Format sniffing, path expansion and the canonical LazyFrame of mixed inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from scantui.errors import InputError
from scantui.io import detect
from scantui.io.loader import open_inputs
from scantui.io.schema import canonical_schema


@pytest.mark.parametrize(
    "head, fmt",
    [
        (b"PAR1" + b"\x00" * 20, detect.PARQUET),
        (b"\xd4\xc3\xb2\xa1" + b"\x00" * 20, detect.PCAP),
        (b"\xa1\xb2\xc3\xd4" + b"\x00" * 20, detect.PCAP),
        (b"\x4d\x3c\xb2\xa1" + b"\x00" * 20, detect.PCAP),
        (b"\xa1\xb2\x3c\x4d" + b"\x00" * 20, detect.PCAP),
        (b"\x0a\x0d\x0d\x0a" + b"\x00" * 20, detect.PCAPNG),
        (b"Feb  6 10:00:01 gw kernel: [1.0] IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 PROTO=TCP\n", detect.NETFILTER_LOG),
        (b"timestamp,SRC,DST,PROTO,SPT,DPT\n2024-02-01T00:00:00Z,1.2.3.4,5.6.7.8,TCP,1,2\n", detect.IPTABLES_CSV),
        (b"time;src_ip;dst_ip;protocol\n", detect.IPTABLES_CSV),
    ],
)
def test_sniff_by_content_not_name(tmp_path, head, fmt):
    path = tmp_path / "capture.cap"  # the name says nothing
    path.write_bytes(head)
    assert detect.sniff(path) == fmt


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"", "empty file"),
        (b"\x00\x01\x02\x03garbage\x00\x00", "unrecognized binary format"),
        (b"hello world\nthis is not data\n", "unrecognized format"),
        (b"\x1f\x8b\x08\x00rest", "truncated gzip data"),  # a gzip header cut short
    ],
)
def test_sniff_rejects_with_file_name(tmp_path, content, needle):
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        detect.sniff(path)
    assert needle in str(err.value)
    assert str(path) in str(err.value)


def test_csv_without_needed_column_names_it(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("when,SRC,DPT\n2024-02-01T00:00:00Z,1.2.3.4,80\n")
    dataset = open_inputs([path])  # opening only sniffs; the loader runs on first use
    with pytest.raises(InputError) as err:
        dataset.lf
    assert "missing column" in str(err.value) and str(path) in str(err.value)


def test_open_parquet_file_is_canonical(canonical_parquet, canonical_df):
    ds = open_inputs([canonical_parquet])
    assert ds.lf.collect_schema() == canonical_schema()
    assert ds.lf.collect().equals(canonical_df)
    assert [f.format for f in ds.inputs] == ["parquet"]


def test_open_folder_glob_and_hive(tmp_path, canonical_df):
    flat = tmp_path / "flat"
    flat.mkdir()
    canonical_df.head(500).write_parquet(flat / "a.parquet")
    canonical_df.tail(1500).write_parquet(flat / "b.parquet")
    (flat / "_SUCCESS").write_text("")
    assert open_inputs([flat]).lf.collect().height == 2000
    assert open_inputs([str(flat / "*.parquet")]).lf.collect().height == 2000

    hive = tmp_path / "hive"
    with_day = canonical_df.with_columns(day=pl.col("ts").dt.date())
    for (day,), part in with_day.group_by("day"):
        folder = hive / f"day={day}"
        folder.mkdir(parents=True)
        part.drop("day").write_parquet(folder / "part-0.parquet")
    got = open_inputs([hive]).lf.collect().sort("ts", "src", "dst")
    assert got.columns == list(canonical_schema().names())
    assert got.equals(canonical_df.sort("ts", "src", "dst"))


def test_open_several_inputs_concatenates(tmp_path, canonical_df):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    canonical_df.head(100).write_parquet(a)
    canonical_df.tail(50).with_columns(sensor=pl.lit("hp-2")).write_parquet(b)
    lf = open_inputs([a, b]).lf
    df = lf.collect()
    assert df.height == 150
    assert df["sensor"].null_count() == 100


def test_sensor_option_fills_missing(canonical_parquet):
    from scantui.io.options import LoadOptions

    df = open_inputs([canonical_parquet], LoadOptions(sensor="tel-9")).lf.collect()
    assert df["sensor"].unique().to_list() == ["tel-9"]


def test_missing_paths_and_empty_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_inputs([tmp_path / "nope.pcap"])
    with pytest.raises(InputError, match="no file matches"):
        open_inputs([str(tmp_path / "*.pcap")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no data files"):
        open_inputs([tmp_path / "empty"])


def test_corrupt_parquet_is_input_error(tmp_path, canonical_parquet):
    bad = tmp_path / "bad.parquet"
    data = canonical_parquet.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        open_inputs([bad]).lf.collect()
    assert str(bad) in str(err.value)


def test_copy_of_folder_with_non_parquet_is_sniffed_per_file(tmp_path, canonical_parquet):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(canonical_parquet, folder / "x.parquet")
    (folder / "notes.txt").write_text("not data at all\n")
    with pytest.raises(InputError, match="notes.txt"):
        open_inputs([folder])


def test_folder_walk_skips_documentation_and_checksums(tmp_path, canonical_parquet):
    folder = tmp_path / "captures"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(canonical_parquet, folder / "sub" / "x.parquet")
    for name in ("README.md", "truth.json", "SHA256SUMS", "x.parquet.md5", "LICENSE", "notes.yaml"):
        (folder / name).write_text("not data at all\n")
    ds = open_inputs([folder])
    assert [Path(i.path).name for i in ds.inputs] == ["x.parquet"]
    assert ds.lf.collect().height == pl.read_parquet(canonical_parquet).height
    # named explicitly, the same file is read (and refused)
    with pytest.raises(InputError, match="truth.json"):
        open_inputs([folder / "truth.json"])


def test_aliased_parquet_is_normalized(tmp_path, canonical_df):
    from scantui.io.schema import ip_to_str

    aliased = canonical_df.select(
        pl.col("ts").dt.epoch("ms").alias("timestamp"),
        ip_to_str(pl.col("src")).alias("src_ip"),
        pl.col("dst").alias("daddr"),
        pl.col("proto").replace_strict({6: "TCP", 17: "UDP"}, return_dtype=pl.String).alias("PROTO"),
        pl.col("dport").alias("DPT"),
        pl.col("tcp_flags").alias("TCP_Flags"),
    )
    path = tmp_path / "aliased.parquet"
    aliased.write_parquet(path)
    got = open_inputs([path]).lf.collect()
    want = canonical_df.select("ts", "src", "dst", "proto", "dport", "tcp_flags").with_columns(
        pl.col("ts").dt.truncate("1ms")
    )
    assert got.select(want.columns).equals(want)


def test_aliased_parquet_bad_value_names_row_and_column(tmp_path):
    df = pl.DataFrame({"ts": ["2024-02-01T00:00:00Z"] * 3, "SRC": ["1.2.3.4", "999.1.1.1", "1.2.3.5"], "DST": ["198.18.0.1"] * 3, "PROTO": ["TCP"] * 3})
    path = tmp_path / "bad.parquet"
    df.write_parquet(path)
    with pytest.raises(InputError) as err:
        open_inputs([path]).lf
    msg = str(err.value)
    assert str(path) in msg and "row 2" in msg and "SRC" in msg and "999.1.1.1" in msg
    from scantui.io.options import LoadOptions

    ds = open_inputs([path], LoadOptions(skip_bad_rows=True))
    assert ds.lf.collect().height == 2
    assert ds.opts.skip_bad_rows
    assert ds.stats.skipped()["bad_row"] == 1


def _binary_without_nul() -> bytes:
    """Random bytes (seeded) with no NUL, a comma in the first line: sniffed as CSV before."""
    import random

    data = bytes(b for b in random.Random(14).randbytes(9000) if b not in b"\x00\n\r\x0b\x0c\x1c\x1d\x1e")
    return data[:20] + b"," + data[20:]


@pytest.mark.parametrize("content", [
    _binary_without_nul(),
    bytes(range(1, 32)) * 40 + b",\n",  # mostly control bytes, valid UTF-8
])
def test_binary_without_nul_is_unrecognized_one_line_exit_2(tmp_path, capsys, content):
    from clihelp import run

    path = tmp_path / "blob.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        detect.sniff(path)
    assert "unrecognized format" in str(err.value) and "expected" in str(err.value)
    code, out, errtext = run(["info", str(path)], capsys)
    assert code == 2 and out == ""
    assert errtext.count("\n") == 1 and errtext.startswith("scantui: error: ") and "unrecognized format" in errtext
    assert "ends inside" not in errtext and str(path) in errtext


def test_latin1_and_hostile_text_csv_still_sniffed_as_csv(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"timestamp,SRC,DST,PROTO,SPT,DPT,NOTE\n"
                     + b"2024-02-01T00:00:00Z,1.2.3.4,5.6.7.8,TCP,1,2,caf\xe9 \x1b[31mred\x07\n" * 20)
    assert detect.sniff(path) == detect.IPTABLES_CSV
