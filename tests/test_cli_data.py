"""The headless CLI on real files: info, ingest, error lines and exit codes."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from polars.io.plugins import register_io_source

from clihelp import run
from scantui.errors import InputError
from scantui.io.schema import canonical_schema
from scantui.io.write import write_parquet



def test_info_json_counts(canonical_parquet, canonical_df, capsys):
    code, out, err = run(["info", "--json", str(canonical_parquet)], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["packets"] == canonical_df.height
    assert doc["sources"] == canonical_df["src"].n_unique()
    probes = canonical_df.filter((pl.col("proto") == 6) & (pl.col("tcp_flags") == 2)).height
    assert doc["traffic"]["probe"] == probes
    assert doc["protocols"]["udp"] == canonical_df.filter(pl.col("proto") == 17).height
    assert doc["first_seen"].startswith("2024-02-01")
    assert doc["days"] == 4
    daily = canonical_df.group_by(pl.col("ts").dt.date()).agg(pl.col("dst").n_unique())["dst"]
    assert doc["telescope_size_estimate"] == int(daily.median())


def test_info_table_and_csv(canonical_parquet, capsys):
    code, out, _ = run(["info", str(canonical_parquet)], capsys)
    assert code == 0 and "packets" in out and "2,000" in out
    code, out, _ = run(["info", "--csv", str(canonical_parquet)], capsys)
    assert code == 0 and out.splitlines()[0] == "key,value" and "packets,2000" in out


def test_info_times_are_written_alike_in_table_json_and_csv(canonical_parquet, capsys):
    """The table wrote first_seen/last_seen ending ``+00:00`` where its JSON and CSV (and the other commands'
    tables) write ``Z``: one form, the same text in all three."""
    code, doc, _ = run(["info", "--json", str(canonical_parquet)], capsys)
    want = [json.loads(doc)[k] for k in ("first_seen", "last_seen")]
    assert code == 0 and all(t.endswith("Z") for t in want), want
    code, csv_out, _ = run(["info", "--csv", str(canonical_parquet)], capsys)
    assert [f"first_seen,{want[0]}", f"last_seen,{want[1]}"] == [
        line for line in csv_out.splitlines() if line.startswith(("first_seen,", "last_seen,"))]
    code, table, _ = run(["info", str(canonical_parquet)], capsys)
    cells = [line.replace("│", " ").split() for line in table.splitlines()]
    rows = {c[0]: c[1] for c in cells if c[:1] in (["first_seen"], ["last_seen"])}
    assert code == 0 and "+00:00" not in table and [rows["first_seen"], rows["last_seen"]] == want


def test_ingest_roundtrip_and_partitioned(tmp_path, canonical_parquet, canonical_df, capsys):
    out_file = tmp_path / "out.parquet"
    code, _, err = run(["ingest", str(canonical_parquet), "-o", str(out_file)], capsys)
    assert code == 0, err
    assert "wrote 2,000 packets" in err
    assert pl.read_parquet(out_file).equals(canonical_df)

    out_dir = tmp_path / "parts"
    code, _, err = run(["ingest", str(canonical_parquet), "--partition-by", "day", "-o", str(out_dir)], capsys)
    assert code == 0, err
    days = sorted(p.name for p in out_dir.iterdir())
    assert days == ["day=2024-02-01", "day=2024-02-02", "day=2024-02-03", "day=2024-02-04"]
    back = pl.scan_parquet(out_dir, hive_partitioning=True).drop("day").collect().sort("ts", "src", "dst")
    assert back.equals(canonical_df.sort("ts", "src", "dst"))
    # writing again replaces the folder whole
    code, _, _ = run(["ingest", str(canonical_parquet), "--partition-by", "day", "-o", str(out_dir)], capsys)
    assert code == 0
    assert pl.scan_parquet(out_dir, hive_partitioning=True).select(pl.len()).collect().item() == 2000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["info", "/no/such/file.pcap"], "/no/such/file.pcap: no such file or folder"),
        (["info", "--json", "--csv", "x"], "exclude each other"),
        (["ingest", "x"], "Missing option"),
        # said of the option before any file is read (was the first input's error: "cannot read log: unable to parse
        # time zone", and nothing at all for inputs whose times carry a zone)
        (["info", "--tz", "Mars/Olympus", "/no/such/file.pcap"], "'--tz': 'Mars/Olympus' is not a known time zone"),
    ],
)
def test_errors_are_one_line_exit_2(argv, needle, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scantui: error: ")
    assert needle in lines[0]


def test_a_known_time_zone_shifts_naive_times(tmp_path, capsys):
    log = tmp_path / "kern.log"
    log.write_text("Feb  3 02:24:07 tel-1 kernel: [1.0] IN=eth0 OUT= SRC=192.0.2.7 DST=198.18.14.2 LEN=44 TTL=234 "
                   "ID=54321 PROTO=TCP SPT=39581 DPT=6379 SEQ=1 ACK=0 WINDOW=65535 SYN URGP=0\n")
    code, out, _ = run(["info", str(log), "--year", "2024", "--tz", "Europe/Berlin", "--json"], capsys)
    assert code == 0 and json.loads(out)["first_seen"] == "2024-02-03T01:24:07Z"


def test_bad_file_names_file(tmp_path, capsys):
    bad = tmp_path / "garbage.dat"
    bad.write_bytes(b"\x00\xffnot a capture\x00" * 10)
    code, _, err = run(["info", str(bad)], capsys)
    assert code == 2
    assert err.startswith(f"scantui: error: {bad}:")
    assert "Traceback" not in err


def test_failed_write_leaves_nothing(tmp_path):
    class Boom(Exception):
        pass

    def source(with_columns, predicate, n_rows, batch_size):
        yield pl.DataFrame(schema=canonical_schema())
        raise Boom("decoder failed half way")

    lf = register_io_source(io_source=source, schema=canonical_schema())
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous content")
    with pytest.raises(Boom):
        write_parquet(lf, out)
    assert out.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]
    with pytest.raises(Boom):
        write_parquet(lf, tmp_path / "dir", partition_by="day")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_write_into_missing_folder_is_input_error(tmp_path, canonical_df):
    with pytest.raises(InputError, match="output folder does not exist"):
        write_parquet(canonical_df.lazy(), tmp_path / "nope" / "x.parquet")


def test_info_telescope_options(canonical_parquet, capsys):
    code, out, _ = run(["info", "--json", "--telescope", "198.18.0.0/22,198.18.8.0/24", str(canonical_parquet)], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["telescope_size"] == 1024 + 256 and doc["telescope_size_from"] == "cidr"
    code, out, _ = run(["info", "--json", "--telescope-size", "61000", str(canonical_parquet)], capsys)
    assert json.loads(out)["telescope_size"] == 61000
    code, out, _ = run(["info", "--json", str(canonical_parquet)], capsys)
    doc = json.loads(out)
    assert doc["telescope_size_from"] == "estimated" and doc["telescope_size"] == doc["telescope_size_estimate"]


@pytest.mark.parametrize("cidr", ["198.18.0.0/33", "not-a-cidr", "2001:db8::/32", ","])
def test_bad_cidr_is_one_line(canonical_parquet, cidr, capsys):
    code, out, err = run(["info", "--telescope", cidr, str(canonical_parquet)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("scantui: error: --telescope: ") and len(err.strip().splitlines()) == 1


def test_info_on_sample_matches_truth(capsys):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "sample_data"
    truth = json.loads((root / "truth.json").read_text())
    code, out, err = run(["info", "--json", str(root / "telescope.parquet")], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["packets"] == truth["packets"]
    assert doc["traffic"]["probe"] == truth["probes"]
    assert doc["traffic"]["backscatter"] == truth["backscatter"]
    assert {t: v["packets"] for t, v in doc["tools"].items()} == truth["tool_packets"]
    assert abs(sum(v["share"] for v in doc["tools"].values()) - 1.0) < 1e-3
    assert doc["telescope_size_estimate"] == truth["telescope"]["size"]


def test_names_polars_would_read_as_globs_are_names(tmp_path, canonical_parquet, capsys):
    """``tel[1].parquet`` was 'unreadable Parquet: ... expanded paths were empty (glob: true)'; ``ingest -o
    out[1].parquet`` wrote the file and then failed (exit 2, the file left); ``-o 'out*.parquet'`` counted every file
    the pattern matched. The loader expands globs itself: a path that exists is that file."""
    data = tmp_path / "tel[1].parquet"
    data.write_bytes(canonical_parquet.read_bytes())
    code, out, _ = run(["info", str(data), "--json"], capsys)
    assert code == 0 and json.loads(out)["packets"] == 2000
    for name in ("out[1].parquet", "out*.parquet"):
        code, _, err = run(["ingest", str(data), "-o", str(tmp_path / name)], capsys)
        assert (code, err) == (0, f"wrote 2,000 packets to {tmp_path / name}\n"), name
    assert pl.read_parquet(tmp_path / "out*.parquet", glob=False).height == 2000
    table = tmp_path / "enrich[1].parquet"  # an enrichment table given as one more PATH
    src = pl.read_parquet(data, glob=False)["src"][0]
    pl.DataFrame({"src": [src], "day": [dt.date(2000, 1, 1)], "asn": [64500], "as_name": ["EXAMPLE-NET"]},
                 schema_overrides={"src": pl.UInt32, "asn": pl.UInt32}).write_parquet(table)
    code, out, err = run(["scanners", str(data), str(table), "--json"], capsys)
    assert code == 0 and json.loads(out), err  # was "unreadable enrichment table: ... glob: true"


@pytest.mark.parametrize("name", ["out.csv", "OUT.CSV", "out.json", "out.pcap", "out.csv.gz"])
def test_ingest_refuses_a_name_of_another_format(tmp_path, canonical_parquet, capsys, name):
    """``ingest -o out.csv`` wrote Parquet under a .csv name (a spreadsheet then shows bytes): a usage error naming
    the option, exit 2, nothing written; ``--help`` says Parquet only."""
    where = tmp_path / "o"
    where.mkdir()
    code, out, err = run(["ingest", str(canonical_parquet), "-o", str(where / name)], capsys)
    assert code == 2 and out == "", err
    assert "'-o' / '--output'" in err and "Parquet only" in err
    assert list(where.iterdir()) == []
    code, out, _ = run(["ingest", "--help"], capsys)
    assert code == 0 and "Parquet only" in " ".join(out.split())


@pytest.mark.parametrize("before", [True, False])
def test_ingest_partitioned_folder_may_have_any_name(tmp_path, canonical_parquet, canonical_df, capsys, before):
    """With ``--partition-by`` the output is a folder whatever its name (``-o x.csv`` was refused as a file name of
    another format, before or after the option); ``--help`` says so."""
    out_dir = tmp_path / "x.csv"
    opts = ["--partition-by", "day", "-o", str(out_dir)]
    code, _, err = run(["ingest", *opts, str(canonical_parquet)] if before else ["ingest", str(canonical_parquet), *opts],
                       capsys)
    assert code == 0, err
    assert out_dir.is_dir() and any(p.name.startswith("day=") for p in out_dir.iterdir())
    back = pl.read_parquet(out_dir, hive_partitioning=True).drop("day").sort("ts", "src", "dport")
    assert back.height == canonical_df.height
    assert back.equals(canonical_df.select(back.columns).sort("ts", "src", "dport"))
    code, out, _ = run(["ingest", "--help"], capsys)
    assert code == 0 and "with --partition-by the folder to write, whatever its name" in " ".join(out.split())
