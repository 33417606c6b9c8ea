"""The sample's sharded ZMap >= 4.1 walk (ZMW, issue 13): planted as ZMap 4.3 sends it (3 shards x 2 threads,
batches of 64, random IP-ID), found by the default ``collab`` (``--by all``) through its generator key and
missed by ``--by both``; its sources are ``zmap``/``walk`` in ``scanners`` and counted in ``info``'s ``zmap_walk``."""

from __future__ import annotations

import ipaddress
import json

import numpy as np
import polars as pl
import pytest

from scantui.analysis import zmap_walk as zd
from clihelp import SAMPLE, SAMPLE_DIR, run

TRUTH = json.loads((SAMPLE_DIR / "truth.json").read_text())

pytestmark = pytest.mark.usefixtures("shared_rollup_cache")


@pytest.fixture(scope="module")
def zmw():
    runs = [c for c in TRUTH["collab_scans"] if c.get("class") == "zmap4_walk"]
    assert [c["id"] for c in runs] == ["ZMW-01", "ZMW-02"]  # one --seed, two days
    return runs


def _ip(s: str) -> int:
    return int(ipaddress.ip_address(s))


def test_truth_names_the_class_and_its_key(zmw):
    for c in zmw:
        _truth_of_one_run(c)
    assert len({(c["key"], tuple(c["sources"]), c["port"]) for c in zmw}) == 1 and zmw[0]["day"] < zmw[1]["day"]
    (group,) = [g for g in TRUTH["groups"] if g["id"] == "ZMW"]
    assert group["scans"] == ["ZMW-01", "ZMW-02"] and group["asn"] is None and len(group["prefixes"]) == 3


def _truth_of_one_run(zmw: dict) -> None:
    assert (zmw["key_kind"], zmw["key"]) == ("zmap_generator", f"zmap g={zmw['zmap']['generator']}")
    assert (zmw["tool"], zmw["variant"], zmw["missed_by"]) == ("zmap", "walk", ["both"])
    assert zmw["asn"] is None and zmw["prefix24"] is None and len({_ip(s) >> 8 for s in zmw["sources"]}) == 3
    assert zmw["union"] == zmw["telescope_size"] == zmw["packets"] == 4096 and zmw["cover_multiple"] == 1


def test_probes_follow_the_walk_in_batches(zmw):
    """Each shard's probes: random IP-ID (tool ``other`` by the header rules), one port, every telescope
    address once over the shards each run, and the walk the detector recovers (g, two threads, S = 6)."""
    for c in zmw:
        _walk_of_one_run(c)


def _walk_of_one_run(zmw: dict) -> None:
    day = __import__("datetime").date.fromisoformat(zmw["day"])
    rows = (pl.scan_parquet(SAMPLE).filter(pl.col("src").is_in([_ip(s) for s in zmw["sources"]]),
                                           pl.col("ts").dt.date() == day)
            .sort("ts").collect())
    assert rows.height == 4096 and rows["dst"].n_unique() == 4096 and set(rows["dport"]) == {zmw["port"]}
    assert (rows["ip_id"] == 54321).sum() == 0 and rows["ip_id"].n_unique() > 3500
    hyp = zd.Hypothesis(allow=tuple(zmw["zmap"]["allowlist"]), block=())
    for src in zmw["sources"]:
        one = rows.filter(pl.col("src") == _ip(src))
        m = zd.match_walk(one["dst"].to_numpy().astype(np.int64), one["ts"].dt.epoch("us").to_numpy() / 1e6,
                          zd.telescope_ranges(zmw["zmap"]["allowlist"]), hyp)
        assert m is not None and m.generator == zmw["zmap"]["generator"] and m.threads_seen == 2 and m.subshards == 6


def test_found_by_all_missed_by_both(zmw, capsys):
    code, out, err = run(["collab", SAMPLE, "--json"], capsys)
    assert code == 0, err
    found = json.loads(out)
    for run_ in zmw:
        (cand,) = [c for c in found if c["port"] == run_["port"] and c["day"] == run_["day"]]
        assert (cand["key_kind"], cand["key"]) == ("zmap_generator", run_["key"])
        assert cand["sources"] == run_["sources"] and cand["union"] == 4096 and cand["cover_multiple"] == 1
        assert cand["start"] == run_["start"] and cand["end"] == run_["end"]
    code, out, err = run(["collab", SAMPLE, "--json", "--by", "both"], capsys)
    assert code == 0, err
    members = set(zmw[0]["sources"])
    assert not [c for c in json.loads(out) if members & set(c["sources"])]


def test_scanners_and_info_name_the_walk(zmw, capsys):
    code, out, err = run(["scanners", SAMPLE, "--json"], capsys)
    assert code == 0, err
    walk = sorted(r["src"] for r in json.loads(out) if r.get("variant") == "walk")
    assert walk == sorted(zmw[0]["sources"])
    assert all(r["tool"] == "zmap" for r in json.loads(out) if r["src"] in walk)
    code, out, err = run(["info", SAMPLE, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["zmap_walk"]["packets"] == 2 * 4096 and doc["zmap_walk"]["sources"] == 3
    assert doc["zmap_walk"]["share"] == round(2 * 4096 / TRUTH["probes"], 4)  # of the probes; in tools.other
    assert doc["tools"]["other"]["packets"] == TRUTH["tool_packets"]["other"] >= 2 * 4096
