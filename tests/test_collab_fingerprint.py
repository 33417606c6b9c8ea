"""Collab's ``fingerprint`` key (issue 13 part 4): a pool split across ASes and /24s that shares a rare
header artifact is one candidate naming the artifact; a pool sharing only a known tool's default is
none; shuffling the signatures across sources (the randomised control) makes the candidates go;
through a cached rollup the day states hold the signatures and the same candidate comes out."""

from __future__ import annotations

import datetime as dt
import ipaddress

import numpy as np
import polars as pl
import pytest

from scantui.analysis import collab as cb
from scantui.analysis import collab_sums as cs
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis.collab_query import make_query, parse_by, query_label
from scantui.analysis.collab_types import CandidateKey, KeyKind
from scantui.errors import InputError
from scantui.sample import fingerprint_pools as fpools
from scantui.io.schema import conform
from scantui.workspace.core import Workspace

T = 256
BASE = (198 << 24) | (18 << 16)  # the telescope 198.18.0.0/24
START = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
HOUR = 3600 * 1_000_000
#: The planted pool's artifacts: TTL from 255, window 1025, MSS option, IP-ID = low bits of the destination,
#: source ports 40000-40999: no tool's default.
RARE = dict(ttl0=255, window=1025, ip_len=44, mss=1460, ip_id="dst", sports=(40000, 41000))
RARE_TEXT = "ttl=255 win=1025 opt=4/1460 ipid=dst seq=rnd sport=40000+1024"
#: Unmodified ZMap 2.x.
ZMAP = dict(ttl0=255, window=65535, ip_len=44, mss=1460, ip_id=54321, sports=(32768, 61000))
LINUX = dict(ttl0=64, window=64240, ip_len=60, mss=1460, ip_id="rnd", sports=(32768, 61000))


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def probes(src: str, dsts, port: int, start_h: float, hours: float, art: dict, *, asn: int, hops: int = 12,
           seed: int = 0) -> pl.DataFrame:
    """SYN probes from *src* to telescope offsets *dsts* over [start_h, start_h + hours), built with the artifacts *art*."""
    rng = np.random.default_rng(ip(src) ^ seed)
    dsts = np.asarray(list(dsts), dtype=np.int64)
    n = len(dsts)
    t0 = int(START.timestamp() * 1e6) + int(start_h * HOUR)
    ts = t0 + (np.arange(n) * (hours * HOUR / max(n, 1))).astype(np.int64)
    dst = BASE + dsts
    ip_id = {"dst": dst & 0xFFFF, "rnd": rng.integers(1, 54000, n)}.get(art["ip_id"], np.full(n, art["ip_id"]))
    return pl.DataFrame({
        "ts": pl.Series(ts).cast(pl.Datetime("us", "UTC")),
        "src": np.full(n, ip(src), dtype=np.uint32), "dst": dst.astype(np.uint32),
        "proto": np.full(n, 6, dtype=np.uint8), "sport": rng.integers(*art["sports"], n).astype(np.uint16),
        "dport": np.full(n, port, dtype=np.uint16), "ip_id": ip_id.astype(np.uint16),
        "ttl": np.full(n, art["ttl0"] - hops, dtype=np.uint8), "ip_len": np.full(n, art["ip_len"], dtype=np.uint16),
        "tcp_flags": np.full(n, 2, dtype=np.uint8), "tcp_seq": rng.integers(0, 2**32, n).astype(np.uint32),
        "tcp_ack": np.zeros(n, dtype=np.uint32), "tcp_window": np.full(n, art["window"], dtype=np.uint16),
        "tcp_mss": np.full(n, art["mss"], dtype=np.uint16), "asn": pl.Series([asn] * n, dtype=pl.UInt32),
    })


def split(n_parts: int):
    edges = np.linspace(0, T, n_parts + 1).astype(int)
    return [range(a, b) for a, b in zip(edges[:-1], edges[1:])]


#: Members of the pool split across providers: (address, AS).
ACROSS_ASES = (("203.0.113.10", 64500), ("203.0.114.11", 64500), ("192.0.2.12", 64501), ("192.0.3.13", 64501))
TWO_PREFIXES = (("203.0.113.10", 64500), ("203.0.113.11", 64500), ("192.0.2.12", 64501), ("192.0.2.13", 64501))


def noise(seed: int = 1) -> list[pl.DataFrame]:
    """What else the telescope sees that day on the port: a standalone ZMap in the pool's /24, Linux-kernel bots,
    sources with custom artifacts of their own (each different), and a partial scanner sharing the pool's artifacts."""
    rng = np.random.default_rng(seed)
    out = [probes("203.0.113.99", range(T), 8080, 9, 3, ZMAP, asn=64500)]
    for i in range(12):
        out.append(probes(f"100.64.{i}.7", rng.choice(T, 20, replace=False), 8080, 1 + i, 5, LINUX, asn=65000 + i))
    for i in range(12):
        art = dict(RARE, window=2000 + i)
        out.append(probes(f"100.65.{i}.9", rng.choice(T, 40, replace=False), 8080, 2 + i, 4, art, asn=65100 + i))
    out.append(probes("100.66.0.5", rng.choice(T, 90, replace=False), 8080, 10, 2, RARE, asn=65200))  # a decoy
    return out


def pool(members, art: dict) -> list[pl.DataFrame]:
    return [probes(src, part, 8080, 10, 2, art, asn=asn) for (src, asn), part in zip(members, split(len(members)))]


def table(parts: list[pl.DataFrame]) -> pl.LazyFrame:
    return conform(pl.concat(parts).sort("ts").lazy())


def search(lf: pl.LazyFrame, by: str = "all", fingerprints: pl.LazyFrame | None = None) -> cb.CollabResult:
    return cb.collab_scans(lf, telescope_size=T, query=make_query(by=by), fingerprints=fingerprints)


def fingerprint_candidates(result: cb.CollabResult):
    return [c for c in result.candidates if c.key.kind is KeyKind.FINGERPRINT]


# ---------------------------------------------------------------- the key


@pytest.mark.parametrize("members", [ACROSS_ASES, TWO_PREFIXES], ids=["four-prefixes-two-ases", "two-prefixes-two-ases"])
def test_a_pool_across_ases_sharing_a_rare_artifact_is_one_fingerprint_candidate(members):
    lf = table(pool(members, RARE) + noise())
    assert search(lf, by="both").candidates == []  # no /24 and no AS covers: the location keys see nothing
    result = search(lf)
    assert len(result.candidates) == 1, [(c.key.text, c.source_ips) for c in result.candidates]
    c = result.candidates[0]
    assert c.key_kind is KeyKind.FINGERPRINT and c.key.text == RARE_TEXT
    assert c.source_ips == tuple(sorted((s for s, _ in members), key=ip))
    assert (c.union, c.cover_multiple, c.asn, c.prefix24) == (T, 1, None, None)
    assert c.key.id == fk.key_id(RARE_TEXT) and c.key == CandidateKey(KeyKind.FINGERPRINT, c.key.id, RARE_TEXT)
    doc = c.to_json()
    assert (doc["key_kind"], doc["key"]) == ("fingerprint", RARE_TEXT)
    assert "100.66.0.5" not in doc["sources"]  # the decoy with the same artifacts is no member


def test_a_pool_sharing_only_a_tools_default_is_no_candidate():
    lf = table(pool(ACROSS_ASES, ZMAP) + noise())
    fps = fk.fingerprints_from_packets(lf).collect()
    mine = fps.filter(pl.col("src").is_in([ip(s) for s, _ in ACROSS_ASES]))
    assert mine["tool_default"].to_list() == ["zmap"] * 4
    assert fk.rare_keys(fps.lazy()).filter(pl.col("src").is_in(mine["src"].implode())).collect().height == 0
    assert search(lf).candidates == []


def test_shuffled_fingerprints_make_the_candidates_go():
    """The randomised control: the same sources and probes, each day's signatures dealt out to other sources."""
    lf = table(pool(ACROSS_ASES, RARE) + noise())
    fps = fk.fingerprints_from_packets(lf)
    assert len(fingerprint_candidates(search(lf, fingerprints=fps))) == 1
    for seed in range(5):
        control = fk.shuffled(fps, seed)
        moved = control.collect().join(fps.collect(), on=["day", "src"], suffix="_real")
        assert (moved["fp_id"] != moved["fp_id_real"]).any()
        assert fingerprint_candidates(search(lf, fingerprints=control)) == []


def test_a_pool_in_one_prefix_is_the_prefix_candidate_with_the_fingerprint_in_also_keys():
    members = tuple((f"203.0.113.{10 + i}", 64500) for i in range(4))
    c, = search(table(pool(members, RARE) + noise())).candidates
    assert c.key_kind is KeyKind.PREFIX24 and [k.text for k in c.also_keys] == ["AS64500", RARE_TEXT]
    assert c.to_json()["also_keys"] == ["AS64500", RARE_TEXT]


def test_rare_means_few_sources():
    """A signature shared by more than RARE_MAX_SOURCES sources that day is common; a single source is no group."""
    day = dt.date(2024, 2, 1)
    rows = pl.DataFrame({"day": [day] * 300 + [day] * 3 + [day], "src": list(range(304)),
                         "fp_id": [1] * 300 + [2] * 3 + [3], "fp": ["a"] * 300 + ["b"] * 3 + ["c"],
                         "tool_default": [None] * 304}, schema_overrides={"fp_id": pl.UInt64, "src": pl.UInt32})
    assert fk.rare_keys(rows.lazy()).collect()["key"].unique().to_list() == [2]


def test_the_signature_fields():
    lf = table([probes("192.0.2.1", range(64), 80, 1, 1, art, asn=1, seed=i) for i, art in enumerate([RARE])]
               + [probes("192.0.2.2", range(64), 80, 1, 1, dict(ZMAP, sports=(5555, 5556)), asn=1),
                  probes("192.0.2.3", range(64), 80, 1, 1, LINUX, asn=1), probes("192.0.2.4", range(10), 80, 1, 1, RARE, asn=1)])
    got = {r["src"]: (r["fp"], r["tool_default"]) for r in fk.fingerprints_from_packets(lf).collect().iter_rows(named=True)}
    assert got == {ip("192.0.2.1"): (RARE_TEXT, None),
                   ip("192.0.2.2"): ("ttl=255 win=65535 opt=4/1460 ipid=54321 seq=rnd sport=5555", None),
                   ip("192.0.2.3"): ("ttl=64 win=64240 opt=20/1460 ipid=rnd seq=rnd sport=wide", "linux")}
    # 192.0.2.4 sent fewer than MIN_PROBES: no fingerprint


def test_by_accepts_fingerprint_and_all():
    assert parse_by("fingerprint") == ("fingerprint",) and parse_by("all") == ("prefix24", "asn", "zmap_generator", "fingerprint")
    assert parse_by("both") == ("prefix24", "asn") and cb.CollabQuery().by == parse_by("all")  # the default: every kind
    assert make_query().by == parse_by("all") and query_label(make_query(by="both")).startswith("window burst · by both ·")
    assert parse_by("fingerprint,prefix24") == ("prefix24", "fingerprint")
    assert query_label(make_query(by="all")).startswith("window burst · by all ·")
    with pytest.raises(InputError):
        parse_by("country")


def test_through_a_cached_rollup_the_day_states_hold_the_signatures(tmp_path):
    path = tmp_path / "in.parquet"
    table(pool(ACROSS_ASES, RARE) + noise()).collect().write_parquet(path)
    ws = Workspace.open([path], cache_dir=tmp_path / "cache")
    rollup = ws.rollup()
    stored = rollup.fingerprints.collect()
    assert stored.height > 0 and set(stored.columns) == {"day", *fk.SCHEMA.names()}
    assert all((state / fk.DAY_FILE).is_file() for state in rollup.day_states.values())
    c, = ws.collab(make_query(by="all", telescope_cidrs="198.18.0.0/24")).candidates
    assert c.key.kind is KeyKind.FINGERPRINT and c.key.text == RARE_TEXT and len(c.sources) == 4
    assert ws.collab(make_query(by="both", telescope_cidrs="198.18.0.0/24")).candidates == []
    assert cs.needed(rollup.collab_sums.table, "fingerprint", make_query(by="all"), 250.0) is None  # not summed there


# ---------------------------------------------------------------- planted pools among noise (scantui.sample.fingerprint_pools)


@pytest.mark.parametrize("seed", range(4))
def test_planted_pools_across_ases_are_found_exactly_and_the_control_finds_none(seed):
    """Six pools, each across 2-3 ASes with rare artifacts of its own, among a standalone ZMap in a member's /24,
    Linux bots, a decoy built like the pool, a coincidental pair sharing a rare artifact (together more than the
    telescope, no cover), one-off custom artifacts, Mirai bots and backscatter: recall and precision 1.0;
    with the signatures shuffled across sources, no candidate."""
    df, truth = fpools.planted(seed)
    lf = conform(df.lazy())
    result = cb.collab_scans(lf, telescope_size=fpools.T, query=make_query(by="all"))
    want = {(t["port"], tuple(t["sources"])) for t in truth}
    got = {(c.port, tuple(sorted(c.source_ips))): c for c in result.candidates}
    assert set(got) == want
    assert all(c.key.kind is KeyKind.FINGERPRINT and c.key.text.startswith("ttl=") for c in got.values())
    assert cb.collab_scans(lf, telescope_size=fpools.T, query=make_query(by="both")).candidates == []
    fps = fk.fingerprints_from_packets(lf)
    assert cb.collab_scans(lf, telescope_size=fpools.T, query=make_query(by="fingerprint"),
                           fingerprints=fk.shuffled(fps, seed)).candidates == []


def test_the_command_names_the_artifact_and_its_json_fits_the_schema(tmp_path, capsys):
    import json

    import jsonschema
    from importlib import resources

    from clihelp import run

    df, truth = fpools.planted(0)
    path = tmp_path / "pools.parquet"
    df.write_parquet(path)
    code, out, err = run(["collab", str(path), "--by", "all", "--telescope", "198.18.0.0/22", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert sorted((c["port"], c["sources"]) for c in doc) == sorted((t["port"], t["sources"]) for t in truth)
    assert {c["key_kind"] for c in doc} == {"fingerprint"} and all(c["key"].startswith("ttl=") for c in doc)
    schema = json.loads((resources.files("scantui") / "schemas" / "collab.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    code, out, err = run(["collab", str(path), "--telescope", "198.18.0.0/22", "--json"], capsys)  # default: all
    assert code == 0 and json.loads(out) == doc
    code, out, err = run(["collab", str(path), "--by", "both", "--telescope", "198.18.0.0/22", "--json"], capsys)
    assert code == 0 and json.loads(out) == []  # the thesis' rule: one /24 or AS
    code, _out, err = run(["collab", str(path), "--by", "country"], capsys)
    assert code == 2 and "--by" in err and "fingerprint" in err


def test_a_pool_across_midnight_is_found_with_a_rolling_window():
    """The key is per day but its id is the signature's: a pool's two days group under one key."""
    parts = [probes(src, part, 8080, 23, 2, RARE, asn=asn) for (src, asn), part in zip(ACROSS_ASES, split(4))]
    lf = table(parts + noise())
    assert cb.collab_scans(lf, telescope_size=T, query=make_query(by="all", window="day")).candidates == []  # half a day
    for window in ("24h", "burst"):
        c, = cb.collab_scans(lf, telescope_size=T, query=make_query(by="all", window=window)).candidates
        assert (c.key.text, c.n_sources, c.union, c.window) == (RARE_TEXT, 4, T, window)
