"""Suggested groups: each linking reason and its near miss, the 2-of-3 rule, the location
guard, the study's shapes (rotating 5:1 pairs, 9 IPs on three ports back to back, 1/N
among a varying pool), invariants (property test), and the sample's ground truth
(recall and precision must be 1.0)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipaddress

from scantui.analysis import groups as gr
from scantui.analysis.collab_types import CandidateKey, CandidateScan, KeyKind, ScoreParts, SuggestedGroup, Timing

DAY0 = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _us(t: dt.datetime) -> int:
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def scan(port: int, day: int, sources: list[str], split: list[float], *, start_h: float = 10.0, hours: float = 2.0,
         timing: str = "parallel", asn: int | None = 64500, cover: int = 1, probes_per_dst: float = 1.0,
         size: int = 4096, score: float = 80.0) -> CandidateScan:
    """A candidate scan as :func:`collab_scans` returns it (the fields groups read filled in)."""
    start = DAY0 + dt.timedelta(days=day, hours=start_h)
    dsts = [round(s * size) for s in split]
    srcs = tuple(int(ipaddress.IPv4Address(s)) for s in sources)
    key = CandidateKey(KeyKind.ASN, asn) if asn else CandidateKey(KeyKind.PREFIX24, srcs[0] >> 8)
    return CandidateScan(
        port=port, day=(DAY0 + dt.timedelta(days=day)).date(), window="day", key=key, asn=asn, as_name=None,
        prefix24=None, sources=srcs, dsts=tuple(dsts), union=size, total=sum(dsts), telescope_size=size,
        cover_multiple=cover, overlap=0.0, timing=Timing(timing), timing_containment=1.0, split=tuple(split),
        start_us=_us(start), end_us=_us(start + dt.timedelta(hours=hours)), packets=int(sum(dsts) * probes_per_dst),
        score=score, score_parts=ScoreParts(1.0, 1.0, 1.0),
    )


def ips(prefix: str, first: int, n: int) -> list[str]:
    return [f"{prefix}.{k}" for k in range(first, first + n)]


def only(groups: list[SuggestedGroup]) -> SuggestedGroup:
    assert len(groups) == 1, [(g.group, g.member_ips) for g in groups]
    return groups[0]


def test_pool_rotating_pairs_5_to_1_is_one_group_without_shared_ips():
    pool = ips("192.0.2", 10, 12)
    scans = [scan(8081 if k % 2 else 2375, 2 * k, pool[2 * k: 2 * k + 2], [0.8333, 0.1667], start_h=6 + k) for k in range(6)]
    g = only(gr.suggest_groups(scans))
    assert list(g.reasons) == ["timing", "partition"]  # pairs never repeat: tied by timing and the 5:1 split
    assert list(g.member_ips) == pool and g.n_scans == 6 and list(g.ports) == [2375, 8081] and list(g.sizes) == [2] * 6
    assert list(g.split) == [0.8333, 0.1667]


def test_nine_ips_three_ports_back_to_back_is_one_group():
    nine = ips("198.51.100", 130, 9)
    scans = [scan(port, day, nine, [1 / 9] * 9, start_h=9 + 3.5 * k, hours=3.5)
             for day in (4, 11) for k, port in enumerate((3306, 9000, 27017))]
    g = only(gr.suggest_groups(scans))
    assert list(g.reasons) == ["shared_ips", "timing", "partition"] and list(g.ports) == [3306, 9000, 27017]
    assert [d.isoformat() for d in g.days] == ["2024-02-05", "2024-02-12"] and g.n_scans == 6 and g.n_members == 9


def test_one_reason_is_not_enough():
    a = ips("192.0.2", 1, 3)
    base = scan(80, 1, a, [0.5, 0.3, 0.2])
    # same IPs, but other timing (sequential, 8 h) and another split: one reason only
    other = scan(443, 3, a, [0.34, 0.33, 0.33], timing="sequential", hours=8)
    assert len(gr.suggest_groups([base, other])) == 2
    # same IPs and the same split, other timing: two reasons
    g = only(gr.suggest_groups([base, scan(443, 3, a, [0.5, 0.3, 0.2], timing="sequential", hours=8)]))
    assert list(g.reasons) == ["shared_ips", "partition"]
    # same IPs and timing, other split
    g = only(gr.suggest_groups([base, scan(443, 3, a, [0.34, 0.33, 0.33])]))
    assert list(g.reasons) == ["shared_ips", "timing"]


def test_location_guard_needs_the_same_as_without_shared_ips():
    one = scan(80, 1, ips("192.0.2", 1, 4), [0.25] * 4, asn=64500)
    two = scan(80, 2, ips("203.0.113", 1, 4), [0.25] * 4, asn=64501)
    assert len(gr.suggest_groups([one, two])) == 2
    same_as = scan(80, 2, ips("203.0.113", 1, 4), [0.25] * 4, asn=64500)
    assert list(only(gr.suggest_groups([one, same_as])).reasons) == ["timing", "partition"]
    # without AS data the /24 is the location
    p1 = scan(80, 1, ips("192.0.2", 1, 4), [0.25] * 4, asn=None)
    p2 = scan(81, 3, ips("192.0.2", 9, 4), [0.25] * 4, asn=None)
    p3 = scan(81, 3, ips("198.51.100", 9, 4), [0.25] * 4, asn=None)
    assert sorted(g.n_scans for g in gr.suggest_groups([p1, p2, p3])) == [1, 2]


def test_timing_signature_near_misses():
    a, b = ips("192.0.2", 1, 2), ips("192.0.2", 50, 2)
    base = scan(80, 1, a, [0.5, 0.5], hours=2)
    assert len(gr.suggest_groups([base, scan(80, 2, b, [0.5, 0.5], hours=2.9)])) == 1  # within x1.5
    assert len(gr.suggest_groups([base, scan(80, 2, b, [0.5, 0.5], hours=3.1)])) == 2  # beyond
    assert len(gr.suggest_groups([base, scan(80, 2, b, [0.5, 0.5], timing="sequential")])) == 2
    assert len(gr.suggest_groups([base, scan(80, 2, b, [0.5, 0.5], probes_per_dst=2.0)])) == 2  # every probe sent twice


def test_partition_near_misses():
    a, b = ips("192.0.2", 1, 3), ips("192.0.2", 50, 3)
    base = scan(80, 1, a, [0.6472, 0.1968, 0.156])
    assert len(gr.suggest_groups([base, scan(80, 2, b, [0.6472, 0.156, 0.1968])])) == 1  # order does not matter
    assert len(gr.suggest_groups([base, scan(80, 2, b, [0.62, 0.22, 0.16])])) == 2  # 0.03 off
    assert len(gr.suggest_groups([base, scan(80, 2, b, [0.6472, 0.1968, 0.156], cover=2)])) == 2
    # equal splits: the same N, or many members on both sides (1/N among a varying pool)
    assert len(gr.suggest_groups([scan(80, 1, a, [1 / 3] * 3), scan(80, 2, ips("192.0.2", 50, 4), [0.25] * 4)])) == 2
    big1, big2 = ips("192.0.2", 1, 30), ips("192.0.2", 100, 40)
    assert len(gr.suggest_groups([scan(80, 1, big1, [1 / 30] * 30), scan(80, 2, big2, [1 / 40] * 40)])) == 1


def test_large_pool_one_over_n_groups_by_shared_ips():
    pool = ips("198.51.100", 1, 240)
    scans = [scan(5432, 3, pool[:205], [1 / 205] * 205, hours=0.67), scan(502, 6, pool[30:217], [1 / 187] * 187, hours=0.67),
             scan(5432, 13, pool[10:240], [1 / 230] * 230, hours=0.67)]
    g = only(gr.suggest_groups(scans))
    assert list(g.reasons) == ["shared_ips", "timing", "partition"] and g.n_members == 240 and list(g.sizes) == [205, 187, 230]


def test_singletons_ids_ranking_and_scans_of():
    pair = ips("192.0.2", 1, 2)
    scans = [scan(80, 1, pair, [0.5, 0.5]), scan(81, 2, pair, [0.5, 0.5]), scan(22, 5, ips("203.0.113", 1, 3), [1 / 3] * 3, asn=1)]
    groups = gr.suggest_groups(scans)
    assert [g.group for g in groups] == ["S01", "S02"] and [g.n_scans for g in groups] == [2, 1]
    assert groups[1].reasons == () and groups[1].links == ()
    assert gr.suggest_groups(scans, gr.GroupQuery(min_scans=2)) == groups[:1]
    assert [s.port for s in groups[0].scans] == [80, 81] and groups[0].scans == tuple(scans[:2])
    for g in groups:
        assert set(gr.COLUMNS) == set(g.to_json())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6), st.integers(2, 4), st.sampled_from(["parallel", "sequential"]),
                          st.sampled_from([1.0, 2.0, 3.0]), st.integers(0, 1)), min_size=1, max_size=25))
def test_every_scan_in_exactly_one_group_and_members_are_the_union(spec):
    scans = [scan(80 + k, day, ips(f"10.0.{net}", first, n), [1 / n] * n, timing=timing, hours=hours, asn=asn)
             for k, (net, first, n, timing, hours, asn) in enumerate(spec) for day in [k % 20]]
    groups = gr.suggest_groups(scans)
    refs = [(r["port"], r["start"]) for g in groups for r in g.to_json()["scan_refs"]]
    assert sorted(refs) == sorted((s.port, s.to_json()["start"]) for s in scans)
    for g in groups:
        mine = g.scans
        assert set(g.members) == {ip for s in mine for ip in s.sources} and g.n_scans == len(mine)
        assert (g.n_scans == 1) == (g.reasons == ())
        assert [s.start_us for s in mine] == sorted(s.start_us for s in mine)


# ---------------------------------------------------------------- ground truth of the sample


def _report(name, truth_groups, groups):
    want = {frozenset(t["members"]): t for t in truth_groups}
    hits = []
    for g in groups:
        t = want.get(frozenset(g.member_ips))
        if t is not None and sorted(g.ports) == sorted(t["ports"]):
            hits.append(t["id"])
    recall, precision = len(hits) / len(truth_groups), len(hits) / len(groups)
    print(f"\ngroups ground truth ({name}): recall {recall:.3f} ({len(hits)}/{len(truth_groups)}), "
          f"precision {precision:.3f} ({len(hits)}/{len(groups)})")
    return hits, recall, precision


@pytest.mark.parametrize("window", ["day", "24h"])
def test_ground_truth_planted_groups_suggested_with_their_members(sample_collab_runs, window):
    truth, runs = sample_collab_runs
    groups = gr.suggest_groups(runs[window].candidates)
    # the scans this window finds by the default keys (--by all: the fingerprint pool too; not what the truth says it misses)
    findable = [s for s in truth["collab_scans"] if window not in s.get("missed_by", [])]
    truth_groups = [t for t in truth["groups"] if any(s["group"] == t["id"] for s in findable)]
    hits, recall, precision = _report(f"{window} window", truth_groups, groups)
    assert recall == 1.0 and precision == 1.0, hits
    by_id = {t["id"]: t for t in truth_groups}
    for g in groups:
        t = by_id[next(h for h in hits if frozenset(by_id[h]["members"]) == frozenset(g.member_ips))]
        expected_scans = [s for s in findable if s["group"] == t["id"]]
        assert g.n_scans == len(expected_scans) and g.timing == t["timing"], t["id"]
        assert [f"AS{a}" for a in g.asns] == ([t["asn"]] if t["asn"] is not None else [])  # FPP: no one AS
    dom = next(g for g in groups if g.asns == (14061,))
    assert list(dom.reasons) == ["timing", "partition"]  # DOM's pool of 9 never repeats an IP: no shared_ips
