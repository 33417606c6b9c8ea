"""``scantui collab`` in-process: JSON/CSV/table on the sample data, one-line errors, and a
collaborative scan built from real tool traffic: ZMap's sharding reproduced with scapy
captures across several sources of one /24, read back through the pcap loader."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
from pathlib import Path

import pytest

from scantui.analysis import collab as cb
from clihelp import SAMPLE, run




pytestmark = pytest.mark.usefixtures("shared_rollup_cache")



def test_json_contract_fields(capsys):
    code, out, err = run(["collab", SAMPLE, "--window", "24h", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc) == 37 and all(list(c) == list(cb.COLUMNS) for c in doc)  # --by all: FPP's and ZMW's 2 scans too
    assert [c["score"] for c in doc] == sorted((c["score"] for c in doc), reverse=True)
    mid = next(c for c in doc if c["port"] == 4443 and c["day"] == "2024-02-08")
    assert mid["sources"] == ["51.75.146.101", "51.75.146.102", "51.75.146.103"] and mid["window"] == "24h"
    assert mid["timing"] == "parallel" and mid["key"] == "51.75.146.0/24" and mid["also_keys"] == ["AS16276"]
    assert isinstance(mid["start"], str) and mid["start"].startswith("2024-02-08T22:30")
    assert mid["reasons"] == []  # a plain 1-fold cover: nothing to explain
    double = [c for c in doc if c["port"] == 8000]  # the sample's double cover N2: kept whole, and why
    assert len(double) == 2 and all(c["cover_multiple"] == 2 and c["n_sources"] == 4 for c in double)
    assert all(c["reasons"] == ["2-fold cover of 4 sources: splits into two exact covers (2 and 2 sources) with the "
                                "same partition and timing, kept as one (concurrent runs of one group)"] for c in double)


def test_filters_and_top(capsys):
    code, out, err = run(["collab", SAMPLE, "--json", "--port", "3306,8000", "--by", "prefix24", "--top", "3"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc) == 3 and {c["port"] for c in doc} <= {3306, 8000} and {c["key_kind"] for c in doc} == {"prefix24"}
    code, out, err = run(["collab", SAMPLE, "--json", "--min-sources", "100"], capsys)
    assert code == 0 and sorted(c["n_sources"] for c in json.loads(out)) == [187, 205, 230]
    code, out, err = run(["collab", SAMPLE, "--json", "--tool", "zmap", "--by", "asn"], capsys)
    assert code == 0 and {c["key"] for c in json.loads(out)} == {"AS14061", "AS10439", "AS9009", "AS20473", "AS206728"}


def test_csv(capsys):
    code, out, err = run(["collab", SAMPLE, "--csv", "--top", "2"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == ",".join(cb.COLUMNS) and len(rows) == 2
    assert json.loads(rows[0]["sources"])[0].count(".") == 3 and json.loads(rows[0]["split"])
    code, out, err = run(["collab", SAMPLE, "--csv", "--port", "8000"], capsys)
    assert code == 0, err
    assert all(json.loads(r["reasons"])[0].startswith("2-fold cover of 4 sources") for r in csv.DictReader(io.StringIO(out)))


def test_table_fits_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    # --by both: a fingerprint key (the default's FPP rows) is a ~60-character signature, never cut on a pipe
    code, out, err = run(["collab", SAMPLE, "--by", "both"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "AS6939" in out and "sequential" in out and "port" in lines[1] + lines[2]


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["--window", "soon"], "--window"), (["--by", "country"], "--by"), (["--tolerance", "2%"], "--tolerance"),
        (["--tool", "zmapp"], "--tool"), (["--port", "http"], "--port"), (["--telescope", "10.0.0.0/40"], "--telescope"),
    ],
)
def test_bad_options_are_one_line_exit_2(capsys, args, where):
    code, out, err = run(["collab", SAMPLE, *args], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"scantui: error: {where}") and len(err.strip().splitlines()) == 1


def test_missing_input_is_exit_2(capsys, tmp_path):
    code, out, err = run(["collab", str(tmp_path / "nope.parquet")], capsys)
    assert code == 2 and err.startswith("scantui: error:") and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- ZMap sharding, real packets

TELESCOPE = "198.18.7.0/24"
PRIME, GENERATOR = 257, 3  # 3 generates the multiplicative group mod 257: a cyclic permutation of 256 addresses


def zmap_permutation(first: int = 5) -> list[int]:
    """The order a ZMap-style scan visits the 256 telescope addresses: first · g^k mod p, k = 0..255."""
    order, x = [], first
    for _ in range(PRIME - 1):
        order.append(x - 1)  # group elements 1..256 -> address offsets 0..255
        x = x * GENERATOR % PRIME
    assert sorted(order) == list(range(256))
    return order


def zmap_shard(order: list[int], shards: int, shard: int) -> list[int]:
    """``zmap --shards N --shard i``: every N-th element of the permutation, starting at the i-th."""
    return order[shard::shards]


def write_zmap_captures(folder: Path, sources: list[str], port: int, t0: float, seconds: float) -> list[Path]:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    order = zmap_permutation()
    base = TELESCOPE.split("/")[0].rsplit(".", 1)[0]
    paths = []
    for i, src in enumerate(sources):
        targets = zmap_shard(order, len(sources), i)
        packets = []
        for k, offset in enumerate(targets):
            pkt = Ether() / IP(src=src, dst=f"{base}.{offset}", id=54321, ttl=250) / TCP(
                sport=40000 + i, dport=port, flags="S", seq=(0x5EED0000 + k * 7919) & 0xFFFFFFFF, window=65535)
            pkt.time = t0 + i * 0.37 + k * seconds / len(targets)
            packets.append(pkt)
        path = folder / f"shard-{i}.pcap"
        wrpcap(str(path), packets)
        paths.append(path)
    return paths


def test_zmap_shards_across_one_prefix_are_one_parallel_scan(tmp_path, capsys):
    from scantui.io.loader import open_inputs

    sources = ["185.180.143.10", "185.180.143.11", "185.180.143.12", "185.180.143.13"]
    paths = write_zmap_captures(tmp_path, sources, 8443, 1_707_300_000.0, 1800)
    # a standalone full ZMap scan from the same /24 and port: not a member
    (tmp_path / "solo").mkdir()
    paths += write_zmap_captures(tmp_path / "solo", ["185.180.143.99"], 8443, 1_707_300_100.0, 900)

    result = cb.collab_scans(open_inputs(paths).lf, telescope_size=256)
    assert result.notes and "AS" in result.notes[0]  # pcap carries no AS data
    c = next(iter(result.candidates))
    assert len(result.candidates) == 1
    assert list(c.source_ips) == sources and c.excluded_standalone == (int(ipaddress.IPv4Address("185.180.143.99")),)
    assert (c.port, c.union, c.cover_multiple, c.overlap, c.timing) == (8443, 256, 1, 0.0, "parallel")
    assert list(c.split) == pytest.approx([0.25] * 4, abs=1e-3) and c.key.text == "185.180.143.0/24"

    code, out, err = run(["collab", *map(str, paths), "--telescope", TELESCOPE, "--tool", "zmap", "--json"], capsys)
    assert code == 0, err
    (cli_c,) = json.loads(out)
    assert cli_c["sources"] == sources and cli_c["telescope_size"] == 256 and cli_c["timing"] == "parallel"


@pytest.mark.parametrize("shards", [2, 3, 5])
def test_zmap_shard_split_is_one_over_n(tmp_path, shards):
    from scantui.io.loader import open_inputs

    sources = [f"185.180.143.{20 + i}" for i in range(shards)]
    paths = write_zmap_captures(tmp_path, sources, 443, 1_707_400_000.0, 600)
    (c,) = cb.collab_scans(open_inputs(paths).lf, telescope_size=256).candidates
    assert list(c.source_ips) == sources and list(c.split) == pytest.approx([1 / shards] * shards, abs=0.01)
    assert sum(c.dsts) == 256 and c.timing == "parallel"
