"""The ZMap walk test in the rollup and what reads it: the pre-screen, the per-day table, tool ``zmap``
with ``variant`` ``walk`` in ``scanners``, ``--tool zmap`` and ``key_kind: zmap_generator`` in ``collab``,
the walk-identified share in ``info``; through the real pcap path and the CLI."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json

import polars as pl
import pytest

from scantui.analysis import zmap_rollup as zr
from scantui.io.loader import open_inputs

import zmapbuild as zb
from clihelp import run

SHARDS, OTHER, PORT = zb.SHARDS, zb.OTHER, zb.PORT


def _ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def test_a_pairs_probes_of_one_microsecond_come_in_one_order_whatever_the_packets_order():
    """Two sensors' probes of one instant: ``dst`` by (time, destination), the order the walk test reads."""
    from scantui.io.schema import conform

    t0 = dt.datetime(2024, 2, 1, 0, 0, tzinfo=dt.timezone.utc)
    rows = [{"ts": t0 + dt.timedelta(microseconds=i // 2), "src": 1, "dst": (i * 7919) % 1000, "proto": 6,
             "dport": 80, "tcp_flags": 2, "tcp_window": 65535, "tcp_mss": 1460, "ip_id": 7, "ip_len": 44,
             "sensor": f"s{i % 2}"} for i in range(4000)]
    frame = conform(pl.DataFrame(rows).lazy()).collect()
    pairs = pl.DataFrame({"src": [1], "dport": [80], "tagged": [False]},
                         schema={"src": pl.UInt32, "dport": pl.UInt16, "tagged": pl.Boolean})
    got = [zr.candidate_probes(f.lazy(), pairs) for f in (frame, frame.reverse(), frame.sample(fraction=1.0, shuffle=True, seed=1))]
    want = frame.sort("ts", "dst")["dst"].to_list()
    assert [g["dst"].to_list() for g in got] == [[want]] * 3


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    return zb.sharded_capture(tmp_path_factory.mktemp("zmaproll"))


def test_prescreen_keeps_zmap_headers_tagged_or_not_and_drops_other_headers():
    ts = [dt.datetime(2024, 2, 1, 0, 0, i, tzinfo=dt.timezone.utc) for i in range(6)]
    rows = []
    for src, window, mss, ip_id in ((1, 65535, 1460, 7), (2, 65535, None, 9), (3, 65535, 1460, 54321),
                                    (4, 64240, 1460, 7), (5, 1024, None, 7)):
        rows += [{"ts": t, "src": src, "dst": 100 + i, "proto": 6, "dport": 80, "tcp_flags": 2, "tcp_window": window,
                  "tcp_mss": mss, "ip_id": ip_id, "ip_len": 52 if mss else 40} for i, t in enumerate(ts)]
    rows += [{**r, "src": 6} for r in rows[:4]]  # a ZMap header, but too few destinations
    from scantui.io.schema import conform

    lf = conform(pl.DataFrame(rows).lazy())
    pairs = zr.prescreen(lf).collect().sort("src")
    assert pairs["src"].to_list() == [1, 2, 3] and pairs["tagged"].to_list() == [False, False, True]


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
    code, out, err = run(["collab", *paths, "--json", "--by", "both"], capsys)  # by /24 and AS: two ASes, two /24s
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


def test_the_test_reads_a_pairs_first_hits_only(capture, monkeypatch):
    """A big scanner's pair costs the test's time per hit: only its first MAX_TEST_HITS distinct
    destinations are tested (here 40 of ~90), the pair's distinct count kept beside them."""
    lf = open_inputs([capture["pcap"]]).lf
    groups = zr.candidate_probes(lf, zr.prescreen(lf).collect())
    monkeypatch.setattr(zr, "MAX_TEST_HITS", 40)
    found = zr.match_pairs(groups, 1 << 16)
    assert sorted(found["src"].to_list()) == sorted(_ip(s) for s in SHARDS)
    assert found["hits"].to_list() == [40, 40] and found["distinct"].min() > 60
    assert set(found["zmap_generator"].to_list()) == {capture["generator"]}


DATA211 = __import__("pathlib").Path(__file__).parent / "data" / "zmap211"


def test_real_zmap211_captures_get_their_generator_in_the_rollup_and_stay_ipid(tmp_path, monkeypatch, capsys):
    """The real 2.1.1 scans (IP-ID 54321, full-size g, one thread and two interleaved threads): the rollup
    tests the tagged pairs on their /22 and recovers each metadata generator; the scanner stays ``ipid``."""
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    from scantui.analysis.rollup_cache import open_rollup

    pcaps = [DATA211 / "zmap211_T1_198.18.0.0-22.pcap", DATA211 / "zmap211_T2_198.18.4.0-22.pcap"]
    rollup = open_rollup(open_inputs(pcaps))
    walks = rollup.zmap_walks.collect().sort("dport")
    gens = [json.loads((DATA211 / f"zmap211_T{k}.meta.json").read_text())["generator"] for k in (1, 2)]
    assert walks["dport"].to_list() == [80, 443] and walks["zmap_generator"].to_list() == gens
    assert walks["tagged"].to_list() == [True, True] and set(walks["prime"].to_list()) == {65537}
    assert walks["generator_key"].to_list() == [zr.generator_class(g, 65537) for g in gens]
    line = zr.describe_source(rollup.zmap_walks, int(walks["src"][0]))  # the detail: the recovered g and its key
    assert f"(IP-ID tag; key g={zr.generator_class(gens[0], 65537)})" in line and f"g={gens[0]} " in line
    day = walks["day"][0]  # the detail under a time range: the matches of its days only
    assert zr.describe_source(rollup.zmap_walks, int(walks["src"][0]), (day, day)) == line
    after = day + dt.timedelta(days=1)
    assert zr.describe_source(rollup.zmap_walks, int(walks["src"][0]), (after, after)) is None
    code, out, err = run(["scanners", *map(str, pcaps), "--json"], capsys)
    assert code == 0, err
    (row,) = json.loads(out)
    assert (row["tool"], row["variant"]) == ("zmap", "ipid")


@pytest.fixture(scope="module")
def capture211(tmp_path_factory):
    return zb.sharded_211_capture(tmp_path_factory.mktemp("zmap211"))


def test_simulated_zmap211_shards_are_tied_by_the_generator_key(capture211, capsys):
    """Two shards x two threads of one 2.1.1 scan (interleaved subshards: each shard fixes g up to a 4th
    root of unity) from two /24s of two ASes: one ``zmap_generator`` key, one candidate; by /24 and AS none;
    the scanners stay ``ipid``."""
    from scantui.analysis.rollup_cache import open_rollup

    walks = open_rollup(open_inputs([capture211["pcap"]])).zmap_walks.collect()
    assert sorted(walks["src"].to_list()) == sorted(capture211["sources"])
    assert set(walks["generator_key"].to_list()) == {zr.generator_class(capture211["generator"], 65537)}
    assert walks["tagged"].all()
    paths = [capture211["pcap"], capture211["enrich"], "--telescope", capture211["cidr"]]
    code, out, err = run(["collab", *paths, "--json", "--by", "zmap_generator"], capsys)
    assert code == 0, err
    (cand,) = json.loads(out)
    assert cand["key_kind"] == "zmap_generator" and sorted(cand["sources"]) == sorted(
        str(ipaddress.ip_address(s)) for s in capture211["sources"])
    assert cand["union"] == cand["total"] == 4096 and cand["cover_multiple"] == 1
    code, out, err = run(["collab", *paths, "--json", "--by", "both"], capsys)
    assert code == 0 and json.loads(out) == []
    code, out, err = run(["scanners", capture211["pcap"], "--json"], capsys)
    assert {(r["tool"], r["variant"]) for r in json.loads(out)} == {("zmap", "ipid")}


def test_generator_class_merges_the_roots_of_unity():
    p, g = 65537, pow(3, 12345, 65537)
    z = pow(3, (p - 1) // 16, p)
    assert {zr.generator_class(g * pow(z, j, p) % p, p) for j in range(16)} == {zr.generator_class(g, p)}
    assert zr.generator_class(g, p) != zr.generator_class(pow(3, 12347, p), p)


def test_the_measuring_script_takes_help_and_a_day(tmp_path, capsys):
    """``benchmarks/measure_zmap_rollup_days.py --help`` answers (it read '--help' as a day file: a traceback)."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "measure_zmap_rollup_days.py"
    spec = importlib.util.spec_from_file_location("measure_zmap_rollup_days", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0 and "DAY.parquet" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        module.main([])
    assert done.value.code == 2


def test_info_walk_share_reads_no_port_day_row_without_a_match(tmp_path):
    """No matched (day, src, dport): zeros, and ``port_day`` is not read (a scan of a missing file would fail);
    with matches only their ports' rows count (the sample's walk: ``test_sample_zmap_walk``)."""
    walks = pl.LazyFrame(schema=zr.SCHEMA)
    missing = pl.scan_parquet(tmp_path / "no-such-port-day.parquet")
    assert zr.walk_share(missing, walks, 1000, missing) == {"packets": 0, "share": 0.0, "sources": 0}
    assert zr.walk_share(missing, None, 1000) is None
    day = dt.date(2024, 2, 1)
    rows = pl.LazyFrame({"day": [day] * 3, "src": pl.Series([1, 1, 2], dtype=pl.UInt32),
                         "dport": pl.Series([80, 443, 80], dtype=pl.UInt16), "kind": ["probe"] * 3,
                         "tool_other": pl.Series([5, 7, 11], dtype=pl.UInt32)})
    match = pl.LazyFrame({"day": [day], "src": pl.Series([1], dtype=pl.UInt32), "dport": pl.Series([443], dtype=pl.UInt16)})
    walks = pl.concat([pl.LazyFrame(schema=zr.SCHEMA), match], how="diagonal_relaxed")
    assert zr.walk_share(rows, walks, 100, rows) == {"packets": 7, "share": 0.07, "sources": 1}
