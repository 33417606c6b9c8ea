"""A real zmap 4.3.4 scan (tests/data/zmap4/README.md: two shards of one seeded scan of
198.19.16.0/20, two sender threads each, captured between network namespaces) through scantui's
pcap loader, the walk detector, the rollup and the CLI."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from scantui.analysis import zmap_rollup as zr
from scantui.analysis import zmap_walk as zd
from scantui.analysis.fingerprints import ZMAP_IP_ID, with_tool
from scantui.io.loader import open_inputs

from clihelp import run

DATA = Path(__file__).parent / "data" / "zmap4"
PCAP = DATA / "zmap434_S2_T2_198.19.16.0-20.pcap"
RANGE = "198.19.16.0/20"
SHARDS = ("198.19.253.2", "198.19.254.2")  # --shard 0, --shard 1
PORT = 443


def _ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def _meta(shard: int) -> dict:
    return json.loads((DATA / f"zmap434_shard{shard}.meta.json").read_text())


@pytest.fixture(scope="module")
def table():
    return with_tool(open_inputs([PCAP]).lf).collect()


def test_capture_is_what_the_readme_says(table):
    """4,096 SYNs to port 443, each address of the /20 once, split between the two shards' sources
    as their metadata counts them; one generator in both metadata files."""
    assert table.height == 4096 and table["dst"].n_unique() == 4096
    lo = _ip("198.19.16.0")
    assert table["dst"].min() >= lo and table["dst"].max() < lo + 4096
    assert set(table["dport"].to_list()) == {PORT} and set(table["tcp_flags"].to_list()) == {2}
    counts = dict(table.group_by("src").len().iter_rows())
    assert counts == {_ip(SHARDS[s]): _meta(s)["packets_sent"] for s in (0, 1)}
    assert _meta(0)["generator"] == _meta(1)["generator"] and _meta(0)["seed"] == _meta(1)["seed"]
    assert {_meta(s)["shard_num"] for s in (0, 1)} == {0, 1} and _meta(0)["senders"] == 2


def test_header_is_4x_and_the_ip_id_rule_says_other(table):
    """TTL 64, window 65535, MSS 1460 (the "windows" option set), no IP-ID tag: the per-packet rules
    name no ZMap (one probe of 4,096 hits Masscan's IP-ID rule by chance, ~1/65,536 per probe)."""
    assert set(table["ttl"].to_list()) == {64} and set(table["tcp_window"].to_list()) == {65535}
    assert set(table["tcp_mss"].to_list()) == {1460} and set(table["ip_len"].to_list()) == {52}
    assert (table["ip_id"] == ZMAP_IP_ID).sum() == 0 and table["ip_id"].n_unique() > 3900
    tools = dict(table.group_by("tool").len().iter_rows())
    assert "zmap" not in tools and tools["other"] >= 4090
    assert zr.prescreen(table.lazy()).collect().height == 2  # both sources pass the walk pre-screen


def test_walk_detector_matches_each_shard_with_one_generator(table):
    """Under the scan's own allowlist both shards match, with the metadata's generator, group 65537,
    two threads each and S = shards x threads = 4."""
    hyp = zd.Hypothesis(allow=(RANGE,), block=())
    found = [zd.match_source(table, _ip(s), zd.telescope_ranges([RANGE]), hyp) for s in SHARDS]
    for m in found:
        assert m is not None and m.prime == 65537 and m.generator == _meta(0)["generator"]
        assert m.threads_seen == 2 and m.subshards == 4
        assert m.tight >= 0.95 * (m.hits - 1)
    # the shipped-blocklist Internet hypothesis (the rollup's first) cannot: 198.18.0.0/15 is blocked
    assert zd.match_source(table, _ip(SHARDS[0]), zd.telescope_ranges([RANGE])) is None


def test_threads_send_in_batches_of_64(table):
    """What the simulator does not model: each thread's probes leave in runs of 64 back to back, so
    in time order a thread's previous hit is 64 hits back (beyond the link window) at a batch start."""
    one = table.filter(pl.col("src") == _ip(SHARDS[1])).sort("ts")
    imap = zd.index_map(zd.Hypothesis(allow=(RANGE,), block=()))
    p, g = 65537, _meta(1)["generator"]
    inv = pow(int(zd.dlog(p)(np.array([g], dtype=np.uint64))[0]), -1, p - 1)
    e = zd.dlog(p)((imap.index(one["dst"].to_numpy()) + 1).astype(np.uint64)).astype(np.int64) * inv % (p - 1)
    thread = (e - e[0]) % (p - 1) // ((p - 1) // 4)  # the first hit opens its thread's block
    runs = np.diff(np.flatnonzero(np.diff(thread) != 0))
    assert np.median(runs) == 64 and (runs % 64 <= 1).mean() > 0.9


def test_walk_order_matters_not_the_addresses(table):
    one = table.filter(pl.col("src") == _ip(SHARDS[0])).sort("ts")
    dst = np.random.default_rng(4).permutation(one["dst"].to_numpy())
    ts = one["ts"].dt.epoch("us").to_numpy() / 1e6
    assert zd.match_walk(dst, ts, zd.telescope_ranges([RANGE]), zd.Hypothesis(allow=(RANGE,), block=())) is None
    assert zr.match_span(dst.astype(np.int64), ts, 4096) is None


def test_rollup_falls_back_to_the_scanned_prefix(table):
    """The rollup's second hypothesis: the smallest CIDR of a pair's destinations (the /20 here)."""
    lf = table.lazy()
    groups = zr.candidate_probes(lf, zr.prescreen(lf).collect())
    found = zr.match_pairs(groups, 4096)
    assert sorted(found["src"].to_list()) == sorted(_ip(s) for s in SHARDS)
    assert set(found["zmap_generator"].to_list()) == {_meta(0)["generator"]}
    assert set(found["prime"].to_list()) == {65537} and found["subshards"].to_list() == [4, 4]
    assert zr.span_hypothesis(np.array([_ip("198.19.16.3"), _ip("198.19.31.250")])).allow == (RANGE,)
    assert zr.span_hypothesis(np.array([_ip("198.18.0.1"), _ip("198.19.0.1")])) is None  # wider than a /16


def test_cli_scanners_and_collab_tie_the_two_shards(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    code, out, err = run(["scanners", str(PCAP), "--json"], capsys)
    assert code == 0, err
    rows = {r["src"]: r for r in json.loads(out)}
    assert set(rows) == set(SHARDS)
    for s in SHARDS:
        assert (rows[s]["tool"], rows[s]["variant"]) == ("zmap", "walk")
    code, out, err = run(["collab", str(PCAP), "--json", "--by", "zmap_generator", "--telescope", RANGE], capsys)
    assert code == 0, err
    (cand,) = json.loads(out)  # the two shards are an exact cover of the /20
    assert cand["key_kind"] == "zmap_generator" and cand["key"] == f"zmap g={_meta(0)['generator']}"
    assert sorted(cand["sources"]) == sorted(SHARDS) and cand["port"] == PORT
    assert cand["union"] == cand["total"] == 4096 and cand["cover_multiple"] == 1 and cand["overlap"] == 0.0
    code, out, err = run(["collab", str(PCAP), "--json", "--by", "both", "--telescope", RANGE], capsys)
    assert code == 0, err
    assert json.loads(out) == []  # by /24 and AS: two /24s, no AS data
