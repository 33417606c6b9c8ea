"""The ZMap walk test in the rollup and what reads it: the pre-screen, the per-day table, tool ``zmap``
with ``variant`` ``walk`` in ``scanners``, ``--tool zmap`` and ``key_kind: zmap_generator`` in ``collab``,
the walk-identified share in ``info``; through the real pcap path and the CLI."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json

import numpy as np
import polars as pl
import pytest

from scantui.analysis import zmap_rollup as zr
from scantui.enrich.table import TABLE_SCHEMA
from scantui.io.loader import open_inputs
from scantui.sample import zmap_walk as zw

from clihelp import run
from pcapbuild import write_pcap
from zmapbuild import T0, zmap41_records

#: The telescope: a /16, every address of it reached each day (a UDP sweep in the capture).
TELESCOPE = "44.1.0.0/16"
SHARDS = ("204.0.113.9", "80.10.20.30")  # two /24s, two ASes (the enrichment table below)
OTHER = "91.0.0.7"  # same header, random order: pre-screened, tested, no match
SWEEP = "60.0.0.1"
PORT = 8443


def _ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """A sharded ZMap 4.1 scan (one seed, 2 shards x 2 threads, random IP-ID: tool ``other`` by the
    header rules) from two sources in two /24s of two ASes, each thread walked for 3 M steps (the
    first ~0.07 % of the scan: some 90 hits per shard in the /16); a source with the same header
    probing random telescope addresses; a UDP sweep of the whole /16 (the day's destinations, so the
    walk test's telescope size is the real one). Collab is given the shards' union as the telescope
    size (``--telescope-size``): the shards of the partial walk are then an exact cover. An enrichment
    table puts the shards in AS 64500 and AS 64511."""
    from pcapbuild import Rec, ether, ipv4, udp

    folder = tmp_path_factory.mktemp("zmaproll")
    keep = zw.cidr_addresses(TELESCOPE)
    records, gens, dsts = [], set(), []
    for shard, src in enumerate(SHARDS):
        scan = zw.Scan.from_words(0x5EED, 0xF00D, zw.Allowed(), shard=shard, shards=2, threads=2)
        gens.add(scan.generator)
        ts, dst, _ = zw.probes(scan, rate=20_000.0, keep=keep, limit=3_000_000, jitter=0.001, seed=shard)
        records += zmap41_records(_ip(src), ts, dst, PORT, shard)
        dsts.append(dst)
    rng = np.random.default_rng(5)
    records += zmap41_records(_ip(OTHER), np.sort(rng.uniform(0, 300, 200)), rng.choice(keep, 200, replace=False), PORT, 9)
    sweep = _ip(SWEEP)
    records += [Rec(ether(ipv4(sweep, int(d), 17, udp(40000, 53))), ts=T0 + 400 + i * 1e-4) for i, d in enumerate(keep)]
    path = write_pcap(folder / "zmap41.pcap", sorted(records, key=lambda r: r.ts))
    day = dt.datetime.fromtimestamp(T0, dt.timezone.utc).date()
    table = pl.DataFrame({"src": [_ip(s) for s in SHARDS], "day": [day, day], "asn": [64500, 64511],
                          "as_name": ["ONE", "TWO"]})
    enrich = folder / "enrich.parquet"
    pl.concat([pl.DataFrame(schema=TABLE_SCHEMA), table], how="diagonal_relaxed").write_parquet(enrich)
    (g,) = gens
    union = int(np.unique(np.concatenate(dsts)).size)
    return {"pcap": str(path), "enrich": str(enrich), "generator": g, "union": union}


def test_prescreen_keeps_zmap_headers_and_drops_the_ip_id_tag_and_other_headers():
    ts = [dt.datetime(2024, 2, 1, 0, 0, i, tzinfo=dt.timezone.utc) for i in range(6)]
    rows = []
    for src, window, mss, ip_id in ((1, 65535, 1460, 7), (2, 65535, None, 9), (3, 65535, 1460, 54321),
                                    (4, 64240, 1460, 7), (5, 1024, None, 7)):
        rows += [{"ts": t, "src": src, "dst": 100 + i, "proto": 6, "dport": 80, "tcp_flags": 2, "tcp_window": window,
                  "tcp_mss": mss, "ip_id": ip_id, "ip_len": 52 if mss else 40} for i, t in enumerate(ts)]
    rows += [{**r, "src": 6} for r in rows[:4]]  # a ZMap header, but too few destinations
    from scantui.io.schema import conform

    lf = conform(pl.DataFrame(rows).lazy())
    assert sorted(zr.prescreen(lf).collect()["src"].to_list()) == [1, 2]


def test_rollup_holds_the_walk_per_source_and_day(capture):
    from scantui.analysis.rollup_cache import open_rollup

    rollup = open_rollup(open_inputs([capture["pcap"]]))
    walks = rollup.zmap_walks.collect()
    assert sorted(walks["src"].to_list()) == sorted(_ip(s) for s in SHARDS)  # the random-order source: no match
    assert set(walks["zmap_generator"].to_list()) == {capture["generator"]}
    assert set(walks["dport"].to_list()) == {PORT} and walks["hits"].min() >= 50
    assert walks["threads_seen"].min() >= 2
    per_src = zr.walk_sources(rollup.zmap_walks)
    assert per_src["days"].to_list() == [1, 1]


def test_scanners_name_the_walk_variant_and_tool_filter_includes_it(capture, capsys):
    code, out, err = run(["scanners", capture["pcap"], "--json"], capsys)
    assert code == 0, err
    rows = {r["src"]: r for r in json.loads(out)}
    for s in SHARDS:
        assert (rows[s]["tool"], rows[s]["variant"]) == ("zmap", "walk")
        assert rows[s]["tools"] == {"other": 1.0}  # the per-packet shares stay the header rules'
    assert (rows[OTHER]["tool"], rows[OTHER]["variant"]) == ("other", None)
    code, out, err = run(["scanners", capture["pcap"], "--json", "--tool", "zmap"], capsys)
    assert code == 0 and sorted(r["src"] for r in json.loads(out)) == sorted(SHARDS)
    code, out, err = run(["scanners", capture["pcap"]], capsys)
    assert code == 0 and out.count("zmap (walk)") == 2


def test_collab_zmap_generator_key_ties_shards_across_ases(capture, capsys):
    paths = [capture["pcap"], capture["enrich"], "--telescope-size", str(capture["union"])]
    code, out, err = run(["collab", *paths, "--json"], capsys)  # by /24 and AS: two ASes, two /24s
    assert code == 0, err
    assert json.loads(out) == []
    code, out, err = run(["collab", *paths, "--json", "--by", "zmap_generator"], capsys)
    assert code == 0, err
    (cand,) = json.loads(out)
    assert cand["key_kind"] == "zmap_generator" and cand["key"] == f"zmap g={capture['generator']}"
    assert sorted(cand["sources"]) == sorted(SHARDS) and cand["cover_multiple"] == 1
    assert cand["union"] == capture["union"] and cand["port"] == PORT
    code, out, err = run(["collab", *paths, "--json", "--by", "all", "--tool", "zmap"], capsys)
    assert code == 0, err
    (same,) = json.loads(out)  # walk-identified sources count as zmap for --tool
    assert same["key_kind"] == "zmap_generator" and sorted(same["sources"]) == sorted(SHARDS)


def test_info_reports_the_walk_identified_zmap_apart(capture, capsys):
    code, out, err = run(["info", capture["pcap"], "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    walk = doc["zmap_walk"]
    assert walk["sources"] == 2 and walk["packets"] > 0
    assert doc["tools"]["zmap"]["packets"] == 0  # by the IP-ID rule: none
    assert walk["packets"] <= doc["tools"]["other"]["packets"]
    code, out, err = run(["info", capture["pcap"]], capsys)
    assert code == 0 and "zmap_walk.sources" in out
