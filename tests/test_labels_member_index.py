"""The member index (:mod:`scantui.labels.member_index`): ``label_matches``, ``ScanIndex.review``, the watch's
``hits`` and the label dialog's ``ranked_groups`` give, by lookups, the answers of the loops over every group
they replaced (kept here as the reference), on random groups (exact and CIDR members, verdicts, keys, recorded
scans, repeated ids) and records."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scantui.labels.match import ScanIndex, label_matches, review_state
from scantui.labels.member_index import MemberIndex, group_keys
from scantui.labels.model import Group, Scan
from scantui.labels.session import new_members
from scantui.labels.store import LabelsStore
from scantui.labels.watch import BACK, MIN_SHARE, NEW_SHAPE, Hit, Seen, _covered, hits, scan_addresses
from scantui.tui.labelling import ranked_groups
from scantui.tui.screens.labels_table import filtered_frame

BASE = int(ipaddress.IPv4Address("10.0.0.0"))
DAYS = (dt.date(2024, 2, 5), dt.date(2024, 2, 6))
PORTS = (22, 443)
KEYS = (("zmap_generator", "65521"), ("fingerprint", "f1"), ("prefix24", "10.0.0.0/24"), ("zmap_generator", "7"))


# ------------------------------------------------------------- the loops the index replaced (reference)


def old_label_matches(groups, ips, *, min_share=0.5):
    if not ips:
        return []
    out = []
    for group in groups:
        share = sum(group.contains(ip) for ip in ips) / len(ips)
        if share >= min_share:
            out.append({"id": group.id, "verdict": group.verdict, "share": round(share, 4)})
    return sorted(out, key=lambda m: (-m["share"], m["id"]))


def old_review(index: ScanIndex, ips, scans=None, *, min_share=0.5):
    if scans is None:
        matches = old_label_matches(index.groups, ips, min_share=min_share)
        return review_state(matches), matches
    counts: dict[str, int] = {}
    for ids in [index.recorded_in(s) for s in scans]:
        for gid in ids:
            counts[gid] = counts.get(gid, 0) + 1
    wanted = list(dict.fromkeys(ips))
    matches = []
    for group in index.groups:
        share = sum(group.contains(ip) for ip in wanted) / len(wanted) if wanted else 0.0
        recorded = counts.get(group.id, 0)
        if recorded or (wanted and share >= min_share):
            matches.append({"id": group.id, "verdict": group.verdict, "share": round(share, 4),
                            "recorded": recorded, "scans": len(scans)})
    matches.sort(key=lambda m: (-m["recorded"], -m["share"], m["id"]))
    return review_state(matches), matches


def old_hits(groups, scans, *, since=None):
    found: dict[str, Hit] = {}
    addresses = scan_addresses(scans)
    for group in groups:
        index = ScanIndex([group])
        keys = group_keys(group)
        for scan, ints in zip(scans, addresses):
            if since is not None and scan.day < since:
                continue
            if index.recorded_in((scan.port, scan.day.isoformat(), scan.sources)):
                continue
            shared = [k for k in scan.keys if k in keys]
            share = sum(group.contains(ip) for ip in ints) / len(ints) if ints else 0.0
            if not shared and share < MIN_SHARE:
                continue
            if group.verdict == "not_collaborative":
                if _covered(group, scan):
                    continue
                kind = NEW_SHAPE
            else:
                kind = BACK
            by_members = share >= MIN_SHARE
            hit = Hit(kind, group, scan, "members" if by_members else "key", round(share, 4),
                      {} if by_members else {"matched_key": shared[0][1]})
            old = found.get(hit.id)
            if old is None or len(scan.sources) > len(old.scan.sources):
                found[hit.id] = hit
    return sorted(found.values(), key=lambda h: (h.scan.day, h.group.id, h.scan.port, h.kind))


def old_ranked_groups(groups, ips):
    wanted = list(dict.fromkeys(ips))
    scored = [(g, (sum(g.contains(ip) for ip in wanted) / len(wanted)) if wanted else 0.0) for g in groups]
    return sorted(scored, key=lambda gs: (-gs[1], gs[0].id))


def old_containing(groups, ip):
    return [g for g in groups if g.contains(ip)]


def old_filter_matches(group, text):
    haystack = " ".join([group.id, group.title or "", group.verdict, group.category or "", *group.tags, group.notes or "",
                         *map(str, group.ports), *group.members]).lower()
    for word in text.lower().split():
        if word in haystack:
            continue
        try:
            if group.contains(str(ipaddress.IPv4Address(word))):
                continue
        except ValueError:
            pass
        return False
    return True


# ------------------------------------------------------------- random labels and records

address = st.integers(0, 47).map(lambda n: str(ipaddress.IPv4Address(BASE + n)))


@st.composite
def member(draw) -> str:
    n, plen = draw(st.integers(0, 47)), draw(st.sampled_from((32, 32, 32, 31, 30, 29, 28, 26, 24, 16, 0)))
    net = ipaddress.IPv4Network((BASE + n, plen), strict=False)
    return str(net.network_address) if plen == 32 and draw(st.booleans()) else net.with_prefixlen


@st.composite
def recorded(draw) -> Scan:
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        kind, key = draw(st.sampled_from(KEYS))
        extra = {"key_kind": kind, "key": key}
    return Scan(draw(st.sampled_from(PORTS)), draw(st.sampled_from(DAYS)),
                draw(st.lists(address, min_size=1, max_size=4)), extra)


@st.composite
def group(draw) -> Group:
    return Group(draw(st.sampled_from(("G1", "G2", "G3", "G4", "G5", "G6", "R1"))),
                 draw(st.sampled_from(("collaborative", "not_collaborative", "unsure"))),
                 draw(st.lists(member(), min_size=1, max_size=5)), scans=draw(st.lists(recorded(), max_size=3)))


@st.composite
def seen(draw) -> Seen:
    return Seen(draw(st.sampled_from(PORTS)), draw(st.sampled_from(DAYS)),
                tuple(draw(st.lists(address, min_size=1, max_size=5))),
                tuple(draw(st.lists(st.sampled_from(KEYS), max_size=2, unique=True))))


def _hit_rows(found: list[Hit]) -> list[tuple]:
    return [(h.id, h.kind, id(h.group), id(h.scan), h.via, h.share, h.extra, h.line()) for h in found]


@settings(max_examples=150, deadline=None)
@given(st.lists(group(), max_size=8), st.lists(seen(), max_size=6),
       st.lists(address, max_size=6), st.sampled_from((0.5, 0.0, 0.25, 1.0)))
def test_indexed_matching_answers_as_the_loops_over_every_group(groups, scans, ips, min_share):
    index = ScanIndex(groups)
    assert label_matches(groups, ips, min_share=min_share) == old_label_matches(groups, ips, min_share=min_share)
    ints = [int(ipaddress.IPv4Address(ip)) for ip in ips]  # sources as integers too
    assert label_matches(groups, ints) == old_label_matches(groups, ints)
    keys = [(s.port, s.day.isoformat(), s.sources) for s in scans]
    for some in (None, keys, keys[:1], []):
        assert index.review(ips, some, min_share=min_share) == old_review(index, ips, some, min_share=min_share)
    assert _hit_rows(hits(groups, scans)) == _hit_rows(old_hits(groups, scans))
    assert _hit_rows(hits(groups, scans, since=DAYS[1])) == _hit_rows(old_hits(groups, scans, since=DAYS[1]))
    assert [(id(g), s) for g, s in ranked_groups(groups, ips)] == [(id(g), s) for g, s in old_ranked_groups(groups, ips)]


FILTER_WORDS = ("10.0.0.5", "10.0.0.40", "10.0.0", "g1", "collab", "/24", "10.0.0.300", "192.0.2.1", "0.0.0.0")


@settings(max_examples=100, deadline=None)
@given(st.lists(group(), max_size=8), st.lists(address, min_size=1, max_size=4),
       st.lists(st.sampled_from(FILTER_WORDS) | address, max_size=3))
def test_the_store_and_the_labels_filter_answer_as_the_loops_over_every_group(groups, ips, words):
    """``LabelsStore.containing`` (before and after an edit) and the labels screen's filter, by the index."""
    store = LabelsStore("labels.yaml")
    for g in {g.id: g for g in groups}.values():
        store.add(g)
    for ip in ips:
        assert [id(g) for g in store.containing(ip)] == [id(g) for g in old_containing(store.groups, ip)]
    if len(store):
        first = store.groups[0]
        store.update(first.id, members=first.members + (ips[0],))
        assert [id(g) for g in store.containing(ips[0])] == [id(g) for g in old_containing(store.groups, ips[0])]
    for g in groups:  # the members a labelling adds to a group (``LabelSession.add_to``)
        wanted = [*ips, *g.members[:2], "10.0.0.0/28", groups[0].members[0]]
        assert new_members(g, wanted) == [m for m in wanted if m not in g.members and ("/" in m or not g.contains(m))]
    text = " ".join(words).upper()
    shown, frame = filtered_frame(groups, text)
    assert [id(g) for g in shown] == [id(g) for g in groups if old_filter_matches(g, text)]
    assert frame["id"].to_list() == [g.id for g in shown]


def test_a_group_is_counted_once_per_address_and_the_index_is_kept_per_version():
    """An address inside two member CIDRs and written as an exact member is one of the group's; the same group
    objects give the same index back, an edit (a new object) a new one."""
    g = Group("G1", "collaborative", ("10.0.0.0/24", "10.0.0.0/16", "10.0.0.5", "10.0.0.5/32"))
    other = Group("G2", "unsure", ("10.0.1.0/24",))
    index = MemberIndex.of([g, other])
    assert index.counts([BASE + 5, BASE + 5, BASE + 256]) == {0: 3, 1: 1}
    assert label_matches([g, other], ["10.0.0.5", "10.0.1.1"]) == [
        {"id": "G1", "verdict": "collaborative", "share": 1.0}, {"id": "G2", "verdict": "unsure", "share": 0.5}]
    assert MemberIndex.of([g, other]) is index
    assert MemberIndex.of([g, other.replace(title="t")]) is not index
