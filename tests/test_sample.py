"""The sample data set: deterministic, committed as generated, and its truth holds in the data.

Truth checks recompute everything from the packets with polars (independently of the
generator's own bookkeeping): fingerprints per probe, range classes and active days,
every planted collaborative scan's cover / location / timing, every decoy's violation,
and the absence of unplanted near-exact covers. The cuts are read back (scapy for
pcap/pcapng, plain parsing for LOG/CSV) and matched field for field to the table.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from scantui.io.schema import CANONICAL, ENRICHMENT
from scantui.sample.generate import DEFAULT_SEED, generate, sample_frame

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SYN, RST, ACK = 2, 4, 16
FIELDS = ["src", "dst", "proto", "sport", "dport", "ip_id", "ttl", "ip_len", "tcp_flags",
          "tcp_seq", "tcp_ack", "tcp_window", "tcp_mss"]


def ip(s: str) -> int:
    a, b, c, d = (int(x) for x in s.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def when(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return pl.read_parquet(SAMPLE / "telescope.parquet")


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((SAMPLE / "truth.json").read_text())


@pytest.fixture(scope="module")
def probes(data) -> pl.DataFrame:
    f = pl.col("tcp_flags")
    return data.filter((pl.col("proto") == 6) & (f & SYN > 0) & (f & ACK == 0)).with_columns(
        pl.col("ts").dt.date().alias("day"))


# -- determinism and the committed files ---------------------------------------------------------
def test_committed_sample_is_what_the_generator_makes(data, truth):
    fresh, fresh_truth = sample_frame(seed=DEFAULT_SEED)
    assert fresh.schema == data.schema
    assert fresh.equals(data)
    committed = {k: v for k, v in truth.items() if k != "cuts"}
    assert json.loads(json.dumps(fresh_truth)) == committed


def test_same_seed_same_table_other_seed_other_table(tmp_path):
    kw = dict(days=14, scale=0.2)
    a, ta = sample_frame(seed=11, **kw)
    c, _ = sample_frame(seed=12, **kw)
    assert not a.equals(c) and a.hash_rows().sum() != c.hash_rows().sum()
    # generate() writes the same table again (same seed), returns its truth, prints nothing
    t = generate(tmp_path, seed=11, cuts=False, **kw)
    b = pl.read_parquet(tmp_path / "telescope.parquet")
    assert b.equals(a) and b.hash_rows().sum() == a.hash_rows().sum()
    assert json.loads((tmp_path / "truth.json").read_text()) == json.loads(json.dumps(t)) == json.loads(json.dumps(ta))


def test_schema_sorted_and_size(data, truth):
    assert list(data.columns) == [*CANONICAL, "sensor", *ENRICHMENT]
    for name, dtype in {**CANONICAL, **ENRICHMENT}.items():
        assert data.schema[name] == dtype, name
    assert data["ts"].is_sorted()
    assert data.height == truth["packets"]
    assert data["sensor"].unique().to_list() == [truth["sensor"]]
    lo = ip(truth["telescope"]["cidrs"][0].split("/")[0])
    assert data["dst"].min() >= lo and data["dst"].max() < lo + truth["telescope"]["size"]
    assert data["ts"].min() >= when(truth["start"]) and data["ts"].max() < when(truth["end"])
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 25 * 1024 * 1024


def test_header_fields_are_consistent(data):
    tcp = data.filter(pl.col("proto") == 6)
    # no options -> 40; MSS only -> 44; full sets -> 52..60
    assert tcp.filter((pl.col("ip_len") == 40) & pl.col("tcp_mss").is_not_null()).height == 0
    assert tcp.filter((pl.col("ip_len") == 44) & pl.col("tcp_mss").is_null()).height == 0
    assert set(tcp["ip_len"].unique()) <= {40, 44, 52, 56, 60}
    non_tcp = data.filter(pl.col("proto") != 6)
    assert non_tcp.select(pl.sum_horizontal(pl.col("tcp_seq", "tcp_flags", "tcp_window").null_count())).item() == 3 * non_tcp.height
    assert data.filter(pl.col("proto") == 1)["dport"].null_count() == data.filter(pl.col("proto") == 1).height


# -- fingerprints ----------------------------------------------------------------------------------
def rule_masks(p: pl.DataFrame) -> pl.DataFrame:
    """The domain's per-packet rules, written independently of the generator."""
    os_windows = {(2, 1, 1460), (2, 63, 1400), (2, 4, 640), (2, 4, None), (2, 16, 536), (2, 512, 265),
                  (194, 3, 1460), (43, 256, 265), (2, 31337, 265)}
    os_expr = pl.lit(False)
    for f, w, m in os_windows:
        mss = pl.col("tcp_mss").is_null() if m is None else pl.col("tcp_mss") == m
        os_expr = os_expr | ((pl.col("tcp_flags") == f) & (pl.col("tcp_window") == w) & mss)
    seq, dst, dport = pl.col("tcp_seq").cast(pl.Int64), pl.col("dst").cast(pl.Int64), pl.col("dport").cast(pl.Int64)
    key = (seq.xor(pl.col("src").cast(pl.Int64)).xor((pl.col("sport").cast(pl.Int64) * 65536) + dport))
    return p.with_columns(
        zmap=pl.col("ip_id") == 54321,
        masscan=pl.col("ip_id").cast(pl.Int64) == dst.xor(dport).xor(seq) % 65536,
        mirai=(seq == dst) & pl.col("dport").is_in([23, 2323]),
        nmap=((pl.col("tcp_window") == 1024) & (pl.col("tcp_mss") == 1460) & (pl.col("tcp_ack") == 0)) | os_expr,
        unicorn=pl.len().over(key) > 150,
    )


@pytest.fixture(scope="module")
def labelled(probes) -> pl.DataFrame:
    m = rule_masks(probes)
    rules = ["unicorn", "masscan", "mirai", "nmap", "zmap"]
    label = pl.lit("other")
    for r in reversed(rules):  # precedence: first in the list wins
        label = pl.when(pl.col(r)).then(pl.lit(r)).otherwise(label)
    return m.with_columns(tool=label, n_rules=pl.sum_horizontal([pl.col(r).cast(pl.Int32) for r in rules]))


def test_tool_counts_and_no_ambiguous_probe(labelled, truth):
    assert labelled.height == truth["probes"]
    counts = dict(labelled.group_by("tool").len().iter_rows())
    assert {t: counts.get(t, 0) for t in truth["tool_packets"]} == truth["tool_packets"]
    assert labelled.filter(pl.col("n_rules") > 1).height == 0
    assert all(truth["tool_packets"][t] > 0 for t in truth["tool_packets"])


def test_each_single_scanner_has_its_fingerprint(labelled, truth):
    by_src = labelled.group_by("src", "tool").len()
    for s in truth["scanners"]:
        rows = by_src.filter(pl.col("src") == ip(s["src"]))
        assert dict(rows.select("tool", "len").iter_rows()) == {s["tool"]: s["packets"]} or s["label"] == "nmap-top1000-os", s
    nmap_os = by_src.filter(pl.col("src") == ip(next(s["src"] for s in truth["scanners"] if s["label"] == "nmap-top1000-os")))
    assert nmap_os["tool"].to_list() == ["nmap"]
    uni = labelled.filter(pl.col("tool") == "unicorn")
    assert uni["src"].n_unique() == 1


# -- scanners: range classes, schedules, pictures --------------------------------------------------
def range_class(ports: int) -> str:
    return "full" if ports > 0.99 * 65536 else ("focused" if ports < 30 else "wide")


def test_scanner_ranges_and_active_days(data, truth):
    start = when(truth["start"]).date()
    stats = (data.filter(pl.col("src").is_in([ip(s["src"]) for s in truth["scanners"]]))
             .group_by("src").agg(pl.col("dport").n_unique().alias("ports"), pl.len().alias("packets"),
                                  pl.col("ts").dt.date().unique().sort().alias("days")))
    stats = {r["src"]: r for r in stats.iter_rows(named=True)}
    classes = set()
    for s in truth["scanners"]:
        got = stats[ip(s["src"])]
        assert got["ports"] == s["ports"] and got["packets"] == s["packets"]
        assert range_class(got["ports"]) == s["range_class"], s["label"]
        days = [(d - start).days for d in got["days"]]
        assert [str(d) for d in got["days"]] == s["active_days"]
        gaps = {b - a for a, b in zip(days, days[1:])}
        if s["schedule"] == "continuous":
            assert days == list(range(truth["days"]))
        elif s["schedule"] == "periodic":
            assert gaps == {s["period_days"]} and len(days) >= 3
        elif s["schedule"] == "sporadic":
            assert len(days) <= 2
        elif s["schedule"] == "acyclic":
            assert len(days) >= 5 and len(gaps) >= 3
        classes.add((s["range_class"], s["schedule"]))
    assert {c for c, _ in classes} == {"focused", "wide", "full"}
    assert {c for _, c in classes} == {"continuous", "periodic", "sporadic", "acyclic"}
    assert {s["period_days"] for s in truth["scanners"] if s["schedule"] == "periodic"} >= {5, 7}


def test_pictures(data, truth):
    for label in {s["label"] for s in truth["scanners"] if s["picture"]}:
        hosts = [s for s in truth["scanners"] if s["label"] == label]
        rows = data.filter(pl.col("src").is_in([ip(h["src"]) for h in hosts]))
        per_day = rows.group_by(pl.col("ts").dt.date()).agg(
            span=(pl.col("ts").max() - pl.col("ts").min()), ports=pl.col("dport").n_unique())
        all_ports = rows["dport"].n_unique()
        if hosts[0]["picture"] == "snapshot":  # all its ports within a short time
            assert per_day["span"].max() <= timedelta(hours=2), label
            assert per_day["ports"].min() == all_ports, label
        else:  # background: each day a slice of the ports, spread over the day
            assert per_day["span"].median() >= timedelta(hours=12), label
            assert per_day["ports"].max() < all_ports, label


def test_enrichment_of_announced_scanners(data, truth):
    orgs = {o["label"]: o for o in truth["orgs"]}
    assert {"censys", "shodan", "shadowserver", "driftnet", "rwth", "umich"} <= set(orgs)
    assert {o["category"] for o in orgs.values()} == {"research", "commercial"}
    enr = data.filter(pl.col("org").is_not_null()).unique("src").select("src", "asn", "as_name", "hostname", "org", "category")
    assert enr.height == sum(len(o["sources"]) for o in orgs.values())
    censys = enr.filter(pl.col("org") == "Censys")
    assert censys["asn"].unique().to_list() == [398324]
    assert censys["hostname"].str.ends_with(".censys-scanner.com").all()
    rwth = enr.filter(pl.col("asn") == 680)
    assert rwth["hostname"].str.contains(r"^researchscan\d+\.comsys\.rwth-aachen\.de$").all()
    assert set(rwth["category"]) == {"research"}
    # some sources have an AS but no organization, most have nothing
    src_info = data.unique("src")
    assert src_info.filter(pl.col("asn").is_not_null() & pl.col("org").is_null()).height > 500
    assert src_info["asn"].null_count() > src_info.height / 2


# -- collaborative scans -----------------------------------------------------------------------------
def scan_rows(probes: pl.DataFrame, c: dict) -> pl.DataFrame:
    return probes.filter(pl.col("dport") == c["port"], pl.col("ts").is_between(when(c["start"]), when(c["end"])))


def test_collab_scans_cover_the_telescope(probes, truth):
    size = truth["telescope"]["size"]
    assert len(truth["collab_scans"]) >= 20
    for c in truth["collab_scans"]:
        srcs = [ip(s) for s in c["sources"]]
        rows = scan_rows(probes, c).filter(pl.col("src").is_in(srcs))
        per = dict(rows.group_by("src").agg(pl.col("dst").n_unique()).iter_rows())
        assert {ip(k): v for k, v in c["dsts_per_source"].items()} == per, c["id"]
        assert rows.height == sum(per.values()) == c["cover_multiple"] * size, c["id"]
        hits = rows.group_by("dst").len()
        assert hits.height == size == c["union"] and set(hits["len"]) == {c["cover_multiple"]}, c["id"]
        assert max(per.values()) < size and len(per) >= 2
        assert c["split"] == [round(per[s] / size, 4) for s in srcs]
        assert rows["ts"].min() == when(c["start"]) and rows["ts"].max() == when(c["end"])
        days = rows["ts"].dt.date().unique()
        assert len(days) == (2 if c["crosses_midnight"] else 1), c["id"]


def test_collab_scan_location_and_exclusive_key(probes, truth):
    standalone = {ip(s) for d in truth["decoys"] if d["kind"] == "standalone_in_group_prefix" for s in d["sources"]}
    for c in truth["collab_scans"]:
        srcs = {ip(s) for s in c["sources"]}
        rows = probes.filter(pl.col("dport") == c["port"])
        src_asns = set(rows.filter(pl.col("src").is_in(srcs))["asn"].unique())
        if c["key_kind"] in ("fingerprint", "zmap_generator"):  # across ASes: each member in a /24 of its own, >= 2 ASes
            assert len({s >> 8 for s in srcs}) == len(srcs) and len(src_asns) >= 2
            assert c["asn"] is None and c["prefix24"] is None
            asns = src_asns
        else:
            assert src_asns == {int(c["asn"][2:])}
            asns = src_asns
        if c["key_kind"] == "prefix24":
            assert len({s >> 8 for s in srcs}) == 1 and c["prefix24"] == c["key"]
        elif c["key_kind"] == "asn":
            assert len({s >> 8 for s in srcs}) > 1 and c["prefix24"] is None
        # on its port and day(s), nobody else of its AS or /24 sends, except standalone decoys and the
        # other group of a split_groups pair (same /24, port and day: their union is planted as two scans)
        days = {when(c["start"]).date(), when(c["end"]).date()}
        same_day = rows.filter(pl.col("day").is_in(list(days)))
        p24 = {s >> 8 for s in srcs}
        sharing = {ip(s) for o in truth["collab_scans"] if o.get("class") == "split_groups" == c.get("class")
                   and o["port"] == c["port"] and o["day"] == c["day"] and o["key"] == c["key"] for s in o["sources"]}
        others = set(same_day.filter(pl.col("asn").is_in(list(asns)) | (pl.col("src") // 256).is_in(list(p24)))["src"]) - srcs
        assert others <= standalone | sharing, c["id"]


def test_collab_timing(probes, truth):
    for c in truth["collab_scans"]:
        rows = scan_rows(probes, c).filter(pl.col("src").is_in([ip(s) for s in c["sources"]]))
        w = rows.group_by("src").agg(t0=pl.col("ts").min(), t1=pl.col("ts").max()).sort("t0")
        dur = when(c["end"]) - when(c["start"])
        if c["timing"] == "parallel":
            assert (w["t0"].max() - w["t0"].min()) < dur * 0.1, c["id"]
            assert (w["t1"].max() - w["t1"].min()) < dur * 0.1, c["id"]
        else:
            assert c["timing"] == "sequential"
            assert (w["t0"].shift(-1).drop_nulls() >= w["t1"].head(w.height - 1)).all(), c["id"]


def test_group_shapes(probes, truth):
    groups = {g["id"]: g for g in truth["groups"]}
    scans = {c["id"]: c for c in truth["collab_scans"]}
    size = truth["telescope"]["size"]
    for g in groups.values():
        assert len(g["scans"]) >= 2
        assert g["members"] == sorted({s for sid in g["scans"] for s in scans[sid]["sources"]}, key=ip)
        assert len(set(g["ports"])) >= 2 or len(set(g["days"])) >= 2
    ak = [scans[s] for s in groups["AK01"]["scans"]]
    assert all(sorted(c["dsts_per_source"].values()) == [size - round(size * 5 / 6), round(size * 5 / 6)] for c in ak)
    assert len({tuple(c["sources"]) for c in ak}) == len(ak) and len(groups["AK01"]["members"]) >= 6
    dom = [scans[s] for s in groups["DOM"]["scans"]]
    assert all(sorted(c["dsts_per_source"].values(), reverse=True) == groups["DOM"]["split_counts"] for c in dom)
    hur = [scans[s] for s in groups["HUR"]["scans"]]
    assert all(150 <= len(c["sources"]) <= 250 and max(c["dsts_per_source"].values()) - min(c["dsts_per_source"].values()) <= 1 for c in hur)
    sts = [scans[s] for s in groups["STS"]["scans"]]
    members = sorted(ip(m) for m in groups["STS"]["members"])
    assert len(members) == 9 and members == list(range(members[0], members[0] + 9))
    for day in {c["day"] for c in sts}:
        seq = sorted((c for c in sts if c["day"] == day), key=lambda c: c["start"])
        assert len({c["port"] for c in seq}) == 3
        for a, b in zip(seq, seq[1:]):
            assert when(b["start"]) - when(a["end"]) < timedelta(minutes=5)
        assert all(timedelta(hours=3) < when(c["end"]) - when(c["start"]) < timedelta(hours=4) for c in seq)
    assert {c["timing"] for c in (scans[s] for s in groups["CR01"]["scans"])} == {"sequential"}
    assert all(c["key_kind"] == "asn" for c in (scans[s] for s in groups["CHN"]["scans"]))
    assert all(c["cover_multiple"] == 2 for c in (scans[s] for s in groups["N2"]["scans"]))
    mid = [scans[s] for s in groups["MID"]["scans"] if scans[s]["crosses_midnight"]]
    assert len(mid) == 1
    rows = scan_rows(probes, mid[0]).filter(pl.col("src").is_in([ip(s) for s in mid[0]["sources"]]))
    per_day = rows.group_by("day").agg(pl.col("dst").n_unique())["dst"]
    assert per_day.len() == 2 and per_day.max() < 0.9 * size  # a calendar-day window sees no cover


def test_issue13_shapes(probes, truth):
    """The classes calendar days, rolling windows or location keys miss (issue 13) have the planted shapes."""
    size = truth["telescope"]["size"]
    by_class: dict[str, list[dict]] = {}
    for c in truth["collab_scans"]:
        by_class.setdefault(c.get("class"), []).append(c)
    assert {k: len(v) for k, v in by_class.items() if k} == {
        "resharded_rounds": 4, "drift": 4, "trickle_sweep": 2, "split_groups": 4, "fingerprint_pool": 2, "zmap4_walk": 2}

    def day_sets(c, day):
        rows = probes.filter(pl.col("dport") == c["port"], pl.col("day") == day, pl.col("src").is_in([ip(s) for s in c["sources"]]))
        return rows.group_by("src").agg(pl.col("dst").n_unique())["dst"].to_list(), rows.height

    # re-sharded rounds: two rounds a day on one port, each an exact cover, the day's sets about 3/4 each
    for day in {c["day"] for c in by_class["resharded_rounds"]}:
        rounds = sorted((c for c in by_class["resharded_rounds"] if c["day"] == day), key=lambda c: c["start"])
        assert len(rounds) == 2 and rounds[0]["sources"] == rounds[1]["sources"] and rounds[0]["end"] < rounds[1]["start"]
        per, total = day_sets(rounds[0], date.fromisoformat(day))
        assert total == 2 * size and all(0.65 * size < n < 0.85 * size for n in per)
    # drift: one run a day, each crossing midnight, starting 20 minutes earlier every day
    starts = [when(c["start"]) for c in sorted(by_class["drift"], key=lambda c: c["start"])]
    assert all(c["crosses_midnight"] for c in by_class["drift"])
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(timedelta(hours=23, minutes=39) < g < timedelta(hours=23, minutes=41) for g in gaps)
    # trickle plus sweep: the members probe the port every day of the trickle, a few hundred times each
    trk = by_class["trickle_sweep"][0]
    rows = probes.filter(pl.col("dport") == trk["port"], pl.col("src").is_in([ip(s) for s in trk["sources"]]))
    per_day = rows.group_by("src", "day").len()
    g = next(g for g in truth["groups"] if g["id"] == trk["group"])
    assert per_day["day"].n_unique() == len(g["trickle_days"]) and per_day["len"].min() > g["trickle_per_day"] * 0.7
    # two groups in one /24, one port, overlapping hours, different partitions
    for a in by_class["split_groups"]:
        b = next(o for o in by_class["split_groups"] if o["group"] != a["group"] and o["day"] == a["day"])
        assert (a["key"], a["port"]) == (b["key"], b["port"]) and not set(a["sources"]) & set(b["sources"])
        assert a["start"] < b["end"] and b["start"] < a["end"] and sorted(a["split"]) != sorted(b["split"])
    # the fingerprint pool: every probe of its members carries its artifacts
    for c in by_class["fingerprint_pool"]:
        art = c["artifacts"]
        rows = scan_rows(probes, c).filter(pl.col("src").is_in([ip(s) for s in c["sources"]]))
        assert set(rows["tcp_window"]) == {art["window"]} and set(rows["ip_len"]) == {art["ip_len"]}
        assert (rows["ip_id"] == rows["dst"] % 65536).all() and rows["sport"].is_between(*art["sports"], closed="left").all()
        assert f"win={art['window']}" in c["key"] and "ipid=dst" in c["key"]
    # the sharded ZMap walk: one seed (one g) on both days, one port, random IP-ID, ZMap 4.x's header
    zmw = by_class["zmap4_walk"]
    assert len({c["key"] for c in zmw}) == 1 and len({c["day"] for c in zmw}) == 2 and len({c["port"] for c in zmw}) == 1
    for c in zmw:
        rows = scan_rows(probes, c).filter(pl.col("src").is_in([ip(s) for s in c["sources"]]))
        assert set(rows["tcp_window"]) == {65535} and set(rows["tcp_mss"]) == {1460} and (rows["ip_id"] != 54321).all()


# -- decoys ---------------------------------------------------------------------------------------------
def test_decoys_violate_what_they_claim(probes, truth):
    size = truth["telescope"]["size"]
    kinds = {d["violates"] for d in truth["decoys"]}
    assert kinds == {"collaboration", "cover", "location", "same_port", "burst"}
    for d in truth["decoys"]:
        srcs = [ip(s) for s in d["sources"]]
        rows = probes.filter(pl.col("src").is_in(srcs), pl.col("dport").is_in(d["ports"]))
        per = dict(rows.group_by("src").agg(pl.col("dst").n_unique()).iter_rows())
        assert {ip(k): v for k, v in d["dsts_per_source"].items()} == per, d["id"]
        assert rows["dst"].n_unique() == d["union"] and rows.height == d["total"]
        v = d["violates"]
        if v == "collaboration":
            assert all(n == size for n in per.values())
            if d["kind"] == "standalone_in_group_prefix":
                sts = [c for c in truth["collab_scans"] if c["group"] == d["group"] and c["port"] in d["ports"] and c["day"] in d["days"]]
                assert sts and all(d["sources"][0] not in c["sources"] for c in sts)
                assert all(ip(d["sources"][0]) >> 8 == ip(c["sources"][0]) >> 8 for c in sts)
        elif v == "cover":
            ratio = rows.height / size
            assert rows["dst"].n_unique() < 0.9 * size or abs(ratio - round(ratio)) > 0.25, d["id"]
            assert len({s >> 8 for s in srcs}) == 1 and rows["day"].n_unique() == 1
        elif v == "location":
            assert rows["dst"].n_unique() == size and rows.height == size
            assert len({s >> 8 for s in srcs}) == len(srcs) and rows["asn"].n_unique() == len(srcs)
        elif v == "same_port":
            assert rows["dst"].n_unique() == size and len(d["ports"]) == len(srcs)
            assert rows.group_by("dport").agg(pl.col("dst").n_unique())["dst"].max() < size
        elif v == "burst":
            assert rows["dst"].n_unique() == size and rows["day"].n_unique() >= 4
            assert rows.group_by("day").agg(pl.col("dst").n_unique())["dst"].max() < 0.5 * size


def test_no_unplanted_near_cover(probes, truth):
    """Per (/24 or AS, port, day), sources that do not cover alone never nearly cover together,
    except the planted scans and decoys."""
    size = truth["telescope"]["size"]
    planted = {(c["port"], frozenset(c["sources"])) for c in truth["collab_scans"]}
    planted |= {(p, frozenset(d["sources"])) for d in truth["decoys"] for p in d["ports"]}
    for a in truth["collab_scans"]:  # two groups in one /24 on one port and day: their union too
        planted |= {(a["port"], frozenset(a["sources"] + b["sources"])) for b in truth["collab_scans"]
                    if a.get("class") == b.get("class") == "split_groups" and a["id"] != b["id"]
                    and (a["port"], a["day"], a["key"]) == (b["port"], b["day"], b["key"])}
    base = probes.with_columns(p24=pl.col("src") // 256, asn=pl.col("asn").cast(pl.Int64))
    found = set()
    for key in ("p24", "asn"):
        per_src = (base.filter(pl.col(key).is_not_null())
                   .group_by(key, "dport", "day", "src").agg(pl.col("dst").unique().alias("dsts"), pl.col("dst").n_unique().alias("n")))
        partial = per_src.filter(pl.col("n") < size)
        agg = (partial.group_by(key, "dport", "day")
               .agg(pl.col("src"), pl.col("dsts").explode().n_unique().alias("union"), pl.col("n").sum().alias("total"))
               .filter((pl.col("src").list.len() >= 2) & (pl.col("union") >= 0.9 * size)))
        for r in agg.iter_rows(named=True):
            srcs = frozenset(f"{s >> 24}.{s >> 16 & 255}.{s >> 8 & 255}.{s & 255}" for s in r["src"])
            found.add((r["dport"], srcs))
            assert (r["dport"], srcs) in planted, r
    # every planted one-day scan of one /24 or AS is found by at least one key
    for c in truth["collab_scans"]:
        if c.get("class") == "split_groups":  # the key-day sees the two groups' union
            both = {s for o in truth["collab_scans"] if o.get("class") == "split_groups" and o["day"] == c["day"]
                    and o["port"] == c["port"] for s in o["sources"]}
            assert (c["port"], frozenset(both)) in found, c["id"]
        elif not c["crosses_midnight"] and c["key_kind"] not in ("fingerprint", "zmap_generator"):  # no /24 or AS key
            assert (c["port"], frozenset(c["sources"])) in found, c["id"]


# -- cuts --------------------------------------------------------------------------------------------------
def _rows_in_table(data: pl.DataFrame, rows: list[dict], with_ts: bool = True) -> int:
    cols = (["ts"] if with_ts else []) + FIELDS
    got = pl.DataFrame(rows, schema={c: data.schema[c] for c in cols}, orient="row")
    return got.join(data.select(cols), on=cols, how="anti", nulls_equal=True).height


def _scapy_fields(pkt, ts_us: int) -> dict:
    from scapy.layers.inet import ICMP, IP, TCP, UDP

    ipl = pkt[IP]
    r = {"ts": datetime.fromtimestamp(0, tz=timezone.utc) + timedelta(microseconds=ts_us),
         "src": ip(ipl.src), "dst": ip(ipl.dst), "proto": ipl.proto, "sport": None, "dport": None,
         "ip_id": ipl.id, "ttl": ipl.ttl, "ip_len": ipl.len, "tcp_flags": None, "tcp_seq": None,
         "tcp_ack": None, "tcp_window": None, "tcp_mss": None}
    if TCP in ipl:
        t = ipl[TCP]
        mss = [v for k, v in t.options if k == "MSS"]
        r.update(sport=t.sport, dport=t.dport, tcp_flags=int(t.flags), tcp_seq=t.seq, tcp_ack=t.ack,
                 tcp_window=t.window, tcp_mss=mss[0] if mss else None)
    elif UDP in ipl:
        r.update(sport=ipl[UDP].sport, dport=ipl[UDP].dport)
    else:
        assert ICMP in ipl and ipl[ICMP].type == 8
    return r


@pytest.mark.parametrize("name", ["telescope-cut.pcap", "telescope-cut.pcapng"])
def test_capture_cuts_match_the_table(data, truth, name):
    from scapy.layers.inet import IP
    from scapy.utils import PcapNgReader, PcapReader

    desc = truth["cuts"][name]
    reader = PcapReader if name.endswith(".pcap") else PcapNgReader
    rows, skipped = [], {"ipv6": 0, "arp": 0}
    with reader(str(SAMPLE / "cuts" / name)) as r:
        for pkt in r:
            if IP in pkt:
                ts_us = int(pkt.time) * 1_000_000 + round((pkt.time - int(pkt.time)) * 1_000_000)
                rows.append(_scapy_fields(pkt, ts_us))
            elif pkt.haslayer("IPv6"):
                skipped["ipv6"] += 1
            else:
                assert pkt.haslayer("ARP")
                skipped["arp"] += 1
    assert len(rows) == desc["packets"] and skipped == desc["skipped"]
    assert {r["proto"] for r in rows} == {1, 6, 17}
    assert _rows_in_table(data, rows) == 0


def test_log_cut_matches_the_table(data, truth):
    desc = truth["cuts"]["iptables.log"]
    boot = when(desc["boot_time"])
    kv = re.compile(r"(\w+)=(\S*)")
    rows = []
    for line in (SAMPLE / "cuts" / "iptables.log").read_text().splitlines():
        m = re.match(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: \[\s*(\d+)\.(\d{6})\] ", line)
        assert m, line
        ts = boot + timedelta(seconds=int(m.group(1)), microseconds=int(m.group(2)))
        assert line[:15] == ts.strftime("%b ") + f"{ts.day:2d}" + ts.strftime(" %H:%M:%S")
        body = line[m.end():]
        f = {}
        for k, v in kv.findall(body):
            f.setdefault(k, v)  # the first ID= is the IP ID (ICMP lines carry a second one)
        proto = {"TCP": 6, "UDP": 17, "ICMP": 1}[f["PROTO"]]
        tcp = proto == 6
        flags = sum(b for n, b in (("SYN", 2), ("ACK", 16), ("RST", 4), ("FIN", 1), ("PSH", 8), ("URG", 32),
                                   ("ECE", 64), ("CWR", 128)) if re.search(rf"RES=0x00 .*\b{n}\b.*URGP", body))
        opt = re.search(r"OPT \(([0-9A-F]+)\)", body)
        mss = int(opt.group(1)[4:8], 16) if opt and opt.group(1).startswith("0204") else None
        rows.append({"ts": ts, "src": ip(f["SRC"]), "dst": ip(f["DST"]), "proto": proto,
                     "sport": int(f["SPT"]) if "SPT" in f else None, "dport": int(f["DPT"]) if "DPT" in f else None,
                     "ip_id": int(f["ID"]), "ttl": int(f["TTL"]), "ip_len": int(f["LEN"]),
                     "tcp_flags": flags if tcp else None, "tcp_seq": int(f["SEQ"]) if tcp else None,
                     "tcp_ack": int(f["ACK"]) if tcp else None, "tcp_window": int(f["WINDOW"]) if tcp else None,
                     "tcp_mss": mss})
    assert len(rows) == desc["packets"]
    assert _rows_in_table(data, rows) == 0


def test_csv_cut_matches_the_table(data, truth):
    desc = truth["cuts"]["iptables.csv"]
    bits = {"FIN": 1, "SYN": 2, "RST": 4, "PSH": 8, "ACK": 16, "URG": 32, "ECE": 64, "CWR": 128}
    rows = []
    with open(SAMPLE / "cuts" / "iptables.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            def num(k):
                return int(r[k]) if r[k] != "" else None
            opt = r["OPT"]
            rows.append({"ts": when(r["timestamp"]), "src": ip(r["SRC"]), "dst": ip(r["DST"]),
                         "proto": {"TCP": 6, "UDP": 17, "ICMP": 1}[r["PROTO"]], "sport": num("SPT"), "dport": num("DPT"),
                         "ip_id": num("ID"), "ttl": num("TTL"), "ip_len": num("LEN"),
                         "tcp_flags": sum(bits[x] for x in r["TCP_Flags"].split() if x != "NONE") if r["PROTO"] == "TCP" else None,
                         "tcp_seq": num("SEQ"), "tcp_ack": num("ACK"), "tcp_window": num("WINDOW"),
                         "tcp_mss": int(opt[4:8], 16) if opt.startswith("0204") else None})
    assert len(rows) == desc["packets"]
    assert _rows_in_table(data, rows) == 0
