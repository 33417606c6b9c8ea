"""The ZMap walk test through the real pcap path: captures written from the simulator with ZMap
4.1's headers (random IP-ID, so the IP-ID rule says ``other``), and real zmap 2.1.1 captures made in
a network namespace (tests/data/zmap211/README.md), read by scantui's loader."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import numpy as np
import polars as pl

from scantui.analysis import zmap_walk as zd
from scantui.analysis.fingerprints import with_tool
from scantui.io.loader import open_inputs
from scantui.sample import zmap_walk as zw

from pcapbuild import write_pcap
from zmapbuild import zmap41_records

DATA = Path(__file__).parent / "data" / "zmap211"
TELESCOPE = "44.1.0.0/16"


def _ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def test_simulated_zmap41_shards_through_the_pcap_loader(tmp_path):
    """Two shards of one seeded 2-thread scan from sources in different /24s (and, say, ASes), plus
    a source probing the telescope in random order at the same rate: one pcap, loaded, tool
    ``other`` everywhere; the shards match with the scan's g, the random source does not."""
    keep = zw.cidr_addresses(TELESCOPE)
    records, gens = [], set()
    sources = (_ip("204.0.113.9"), _ip("80.10.20.30"))
    for shard, src in enumerate(sources):
        scan = zw.Scan.from_words(0x5EED, 0xF00D, zw.Allowed(), shard=shard, shards=2, threads=2)
        gens.add(scan.generator)
        ts, dst, _ = zw.probes(scan, rate=40_000.0, keep=keep, limit=1_000_000, jitter=0.001, seed=shard)
        records += zmap41_records(src, ts, dst, 443, shard)
    rng = np.random.default_rng(3)
    noise_src = _ip("91.0.0.7")
    records += zmap41_records(noise_src, np.sort(rng.uniform(0, 60, 40)), rng.choice(keep, 40), 443, 9)
    records.sort(key=lambda r: r.ts)
    path = write_pcap(tmp_path / "zmap41.pcap", records)

    table = with_tool(open_inputs([path]).lf).collect()
    assert table.height == len(records) and set(table["tool"].to_list()) == {"other"}
    tele = zd.telescope_ranges([TELESCOPE])
    found = {src: zd.match_source(table, src, tele) for src in (*sources, noise_src)}
    assert found[noise_src] is None
    (g,) = gens
    for src in sources:
        m = found[src]
        assert m is not None and m.generator == g and m.threads_seen == 2 and m.subshards == 4


def test_real_zmap211_captures_match_by_ip_id_and_by_walk():
    for name, cidr, meta in (("zmap211_T1_198.18.0.0-22.pcap", "198.18.0.0/22", "zmap211_T1.meta.json"),
                             ("zmap211_T2_198.18.4.0-22.pcap", "198.18.4.0/22", "zmap211_T2.meta.json")):
        table = with_tool(open_inputs([DATA / name]).lf).collect()
        assert table.height == 1024 and table["tool"].to_list() == ["zmap"] * 1024  # IP-ID 54321
        assert table["dst"].n_unique() == 1024
        src = int(table["src"][0])
        hyp = zd.Hypothesis(allow=(cidr,), block=(), radix=20)
        m = zd.match_source(table, src, zd.telescope_ranges([cidr]), hyp, version=2)
        generator = json.loads((DATA / meta).read_text())["generator"]
        # one thread walks g; 2.1.1's two interleaved threads (factor g**2 each) walk g in turn
        assert m is not None and m.prime == 65537 and m.generator == generator
        assert m.tight >= 0.95 * 1023


def test_walk_order_is_what_matches_not_the_addresses():
    """The real capture's destinations in another order (time kept) do not match."""
    table = open_inputs([DATA / "zmap211_T1_198.18.0.0-22.pcap"]).lf.collect().sort("ts")
    rng = np.random.default_rng(0)
    dst = rng.permutation(table["dst"].to_numpy())
    ts = table["ts"].dt.epoch("us").to_numpy() / 1e6
    hyp = zd.Hypothesis(allow=("198.18.0.0/22",), block=(), radix=20)
    assert zd.match_walk(dst, ts, zd.telescope_ranges(["198.18.0.0/22"]), hyp, version=2) is None
    assert pl.Series(dst).n_unique() == 1024


def test_generator_key_ties_shards_across_prefixes(tmp_path):
    """Three shards of one scan from three /24s of different owners and a second, unrelated ZMap scan:
    the ``zmap_generator`` key puts the three shards in one group and the other scan alone."""
    keep = zw.cidr_addresses(TELESCOPE)
    shards = (_ip("204.0.113.9"), _ip("80.10.20.30"), _ip("151.101.1.5"))
    records = []
    for shard, src in enumerate(shards):
        scan = zw.Scan.from_words(0xFEED, 0xCAFE, zw.Allowed(), shard=shard, shards=3, threads=1)
        ts, dst, _ = zw.probes(scan, rate=10_000.0, keep=keep, limit=700_000, seed=shard)
        records += zmap41_records(src, ts, dst, 22, shard)
    lone = zw.Scan.from_words(0xD00D, 0x1, zw.Allowed(), threads=1)
    ts, dst, _ = zw.probes(lone, rate=10_000.0, keep=keep, limit=700_000)
    records += zmap41_records(_ip("5.6.7.8"), ts, dst, 22, 7)
    path = write_pcap(tmp_path / "shards.pcap", sorted(records, key=lambda r: r.ts))
    keys = zd.generator_keys(open_inputs([path]).lf, zd.telescope_ranges([TELESCOPE]))
    groups = {g: sorted(s) for g, s in keys.group_by("zmap_generator").agg(pl.col("src")).iter_rows()}
    assert groups == {scan.generator: sorted(shards), lone.generator: [_ip("5.6.7.8")]}
    assert set(keys["dport"].to_list()) == {22}
