"""The watch model (:mod:`scantui.labels.watch`): which candidate scans bring a labelled group back, by
members or by a recorded zmap generator / fingerprint key, which a rejection covers, one hit per group,
port and day, and the state file of what fired."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from collabbuild import candidate
from scantui.analysis.collab_types import CandidateKey, KeyKind
from scantui.errors import InputError
from scantui.labels.model import Group, Scan
from scantui.labels.watch import WatchState, default_state_path
from scantui.workspace.watch import watch_hits

PAIR = ("192.0.2.10", "192.0.2.11")
ZMAP = CandidateKey(KeyKind.ZMAP_GENERATOR, 65521)


def _scan(day: str, port: int = 443, sources=PAIR, **extra) -> Scan:
    return Scan(port, dt.date.fromisoformat(day), sources, extra)


def test_back_by_members_unless_recorded():
    g = Group("G01", "collaborative", PAIR, title="pair", scans=(_scan("2024-02-05"),))
    recorded = candidate(day="2024-02-05", sources=PAIR)
    again = candidate(day="2024-02-07", sources=(*PAIR, "192.0.2.12"))  # 2 of 3 sources: a member match
    stranger = candidate(day="2024-02-07", port=22, sources=("192.0.2.12", "192.0.2.13", PAIR[0]))  # 1 of 3
    (hit,) = watch_hits([g], [recorded, again, stranger])
    assert (hit.kind, hit.id, hit.via, hit.share) == ("back", "back|G01|443|2024-02-07", "members", 0.6667)
    assert hit.notice() == 'G01 "pair" is back: port 443, 2024-02-07, 3 sources'
    assert watch_hits([g], [recorded, again], since=dt.date(2024, 2, 8)) == []


def test_back_by_a_recorded_zmap_generator_key():
    """New sources (no member among them) sharing the ZMap generator a recorded scan holds: the group is back."""
    g = Group("G02", "unsure", PAIR, scans=(_scan("2024-02-05", key_kind="zmap_generator", key=ZMAP.text),))
    shards = ("203.0.113.1", "203.0.113.2", "203.0.113.3")
    by_key = candidate(day="2024-02-06", sources=shards, key=ZMAP)
    by_also_key = dataclasses.replace(candidate(day="2024-02-07", sources=shards, key_text="AS64500"), also_keys=(ZMAP,))
    other_generator = candidate(day="2024-02-08", sources=shards, key=CandidateKey(KeyKind.ZMAP_GENERATOR, 3))
    hits = watch_hits([g], [by_key, by_also_key, other_generator])
    assert [(h.scan.day.day, h.via, h.share) for h in hits] == [(6, "key", 0.0), (7, "key", 0.0)]
    assert hits[0].line() == "back G02 port 443 2024-02-06 3 sources via key zmap g=65521"
    # an AS or /24 key recorded in a scan does not tie strangers to the group
    g_asn = g.replace(scans=(_scan("2024-02-05", key_kind="asn", key="AS64500"),))
    assert watch_hits([g_asn], [by_also_key]) == []


def test_a_rejection_covers_its_shape_only():
    r = Group("R01", "not_collaborative", PAIR, scans=(_scan("2024-02-05", port=23, key_kind="prefix24", key="192.0.2.0/24"),))
    same = candidate(day="2024-02-09", port=23, sources=PAIR)  # key 192.0.2.0/24: the same shape on another day
    more = candidate(day="2024-02-09", port=2323, sources=PAIR)
    grown = candidate(day="2024-02-10", port=23, sources=(*PAIR, "192.0.2.12"))
    assert [(h.kind, h.scan.port, h.scan.day.day) for h in watch_hits([r], [same, more, grown])] == [
        ("new_shape", 2323, 9), ("new_shape", 23, 10)]
    # rejected from the scanners list (no scan recorded): every matching scan is a shape the rejection never saw
    assert [h.kind for h in watch_hits([r.replace(scans=())], [same])] == ["new_shape"]


def test_one_hit_per_group_port_and_day():
    g = Group("G01", "collaborative", ("192.0.2.0/24",))
    small = candidate(day="2024-02-06", sources=PAIR)
    big = candidate(day="2024-02-06", sources=(*PAIR, "192.0.2.12"), key_text="AS64500")
    (hit,) = watch_hits([g], [small, big])
    assert hit.scan.sources == (*PAIR, "192.0.2.12")


def test_state_file_round_trip_and_bad_files(tmp_path):
    assert default_state_path(tmp_path / "team.yaml") == tmp_path / "team.yaml.watch.json"
    g = Group("G01", "collaborative", PAIR)
    found = watch_hits([g], [candidate(day="2024-02-06", sources=PAIR)])
    state = WatchState.load(tmp_path / "w.json")
    assert state.fresh(found) == found
    state.remember(found, dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.timezone.utc))
    state.save()
    assert json.loads((tmp_path / "w.json").read_text()) == {"scantui_watch": 1, "fired": {"back|G01|443|2024-02-06": "2026-12-05T08:00:00Z"}}
    assert WatchState.load(tmp_path / "w.json").fresh(found) == []
    assert [p.name for p in tmp_path.iterdir()] == ["w.json"]  # no temporary left behind
    for text in ("[1, 2]", '{"scantui_watch": 2, "fired": {}}', "{", '{"scantui_watch": 1, "fired": {"a": 1}}'):
        (tmp_path / "bad.json").write_text(text)
        with pytest.raises(InputError, match="bad.json"):
            WatchState.load(tmp_path / "bad.json")


def test_a_candidate_labelled_keeps_its_key_and_the_group_is_known_by_it(tmp_path):
    """Labelled through the TUI's record helpers and the real store, the scan's entry holds key_kind/key; read back,
    a later scan of other sources with the same ZMap generator brings the group back."""
    from scantui.labels.session import LabelSession
    from scantui.labels.store import LabelsStore
    from scantui.tui.labelling import record_scans

    first = candidate(day="2024-02-05", sources=PAIR, key=ZMAP)
    session = LabelSession.open(str(tmp_path / "team.yaml"), author="ana")
    session.create(PAIR, scans=record_scans(first), group_id="G01", title="shards")
    text = (tmp_path / "team.yaml").read_text()
    assert "key_kind: zmap_generator, key: zmap g=65521}" in text
    (group,) = LabelsStore.load(tmp_path / "team.yaml").groups
    assert group.scans[0].extra == {"key_kind": "zmap_generator", "key": "zmap g=65521"}
    later = candidate(day="2024-02-09", sources=("203.0.113.1", "203.0.113.2"), key=ZMAP)
    assert [(h.id, h.via) for h in watch_hits([group], [first, later])] == [("back|G01|443|2024-02-09", "key")]
