"""Typed results (issue 11 part 2): candidate scans, suggested groups, track results and scanner rows hold
integer IPs, µs times, dates, integer AS numbers and enums; ``to_json()`` writes the output shape and the
enums come back from it; the detail facts are computed from the fields, with the texts the screens showed
when they parsed our own JSON-shaped records back (the expected strings below are what that code printed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json

import polars as pl
import pytest

from collabbuild import candidate, group, us
from scantui.analysis.collab_types import (WEIGHTS, CandidateKey, CandidateScan, KeyKind, ScoreParts, SuggestedGroup,
                                           Timing)
from scantui.analysis.groups import suggest_groups
from scantui.analysis.scanner_row import ScannerRow
from scantui.labels.match import Review

U32 = range(0, 1 << 32)


def _ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def _us(text: str) -> int:
    return us(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


def test_candidates_hold_ints_dates_and_enums(sample_collab_runs):
    _truth, runs = sample_collab_runs
    cands = runs["day"].candidates
    assert cands
    for c in cands:
        assert isinstance(c, CandidateScan)
        assert all(type(s) is int and s in U32 for s in c.sources) and list(c.sources) == sorted(c.sources)
        assert all(type(s) is int for s in (*c.dsts, *c.excluded_standalone)) and len(c.dsts) == len(c.sources)
        assert type(c.start_us) is int and type(c.end_us) is int and c.start_us <= c.end_us
        assert isinstance(c.day, dt.date) and not isinstance(c.day, dt.datetime)
        assert c.asn is None or type(c.asn) is int
        assert type(c.timing) is Timing and type(c.key.kind) is KeyKind and type(c.key.id) is int
        assert c.prefix24 is None or type(c.prefix24) is int
    sts = next(c for c in cands if c.port == 3306 and c.day == dt.date(2024, 2, 5))
    assert sts.asn == 202425 and sts.key == CandidateKey(KeyKind.PREFIX24, _ip("80.82.77.0") >> 8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sts.port = 80  # type: ignore[misc]
    assert not hasattr(sts, "__dict__")  # slots


def test_to_json_writes_the_output_shape_and_the_values_come_back(sample_collab_runs):
    _truth, runs = sample_collab_runs
    for c in runs["24h"].candidates:
        doc = json.loads(json.dumps(c.to_json()))
        assert Timing(doc["timing"]) is c.timing and KeyKind(doc["key_kind"]) is c.key.kind
        assert [_ip(s) for s in doc["sources"]] == list(c.sources) and doc["n_sources"] == c.n_sources
        assert [(_ip(d["src"]), d["dsts"]) for d in doc["dsts_per_source"]] == list(zip(c.sources, c.dsts))
        assert (_us(doc["start"]), _us(doc["end"])) == (c.start_us, c.end_us)
        assert dt.date.fromisoformat(doc["day"]) == c.day and doc["asn"] == c.asn
        assert doc["start"].endswith("Z") and len(doc["start"]) == len("2024-02-05T09:00:02.015475Z")
        assert doc["key"] == c.key.text and doc["also_keys"] == [k.text for k in c.also_keys]
        assert ScoreParts(**doc["score_parts"]) == c.score_parts
        assert [_ip(s) for s in doc["excluded_standalone"]] == list(c.excluded_standalone)
    assert json.dumps([Review.SAME_IPS, Timing.MIXED, KeyKind.ASN]) == '["same_ips", "mixed", "asn"]'
    assert [Review(s.value) for s in Review] == list(Review) and [r.rank for r in Review] == [0, 1, 2, 3]


def test_groups_hold_their_scans_and_typed_fields(sample_collab_runs):
    _truth, runs = sample_collab_runs
    cands = runs["day"].candidates
    groups = suggest_groups(cands)
    assert sum(g.n_scans for g in groups) == len(cands)
    for g in groups:
        assert isinstance(g, SuggestedGroup) and all(any(s is c for c in cands) for s in g.scans)
        assert list(g.members) == sorted({m for s in g.scans for m in s.sources}) and all(type(m) is int for m in g.members)
        assert all(type(a) is int for a in g.asns) and all(isinstance(d, dt.date) for d in g.days)
        assert g.timing is None or type(g.timing) is Timing
        doc = g.to_json()
        assert [(r["port"], _us(r["start"])) for r in doc["scan_refs"]] == [(s.port, s.start_us) for s in g.scans]
        assert doc["asns"] == list(g.asns) and doc["scans"] == g.n_scans and doc["links"] == dict(g.links)


def test_the_score_weights_are_written_once_and_read_back_from_the_parts():
    from scantui.analysis import collab_timing as ct

    score, parts = ct.score(0.5, 1.0, 4)
    typed = ScoreParts(**parts)
    assert sum(weight * value for _name, weight, value in typed.weighted()) == pytest.approx(score, abs=0.05)
    assert [(n, w) for n, w, _v in typed.weighted()] == list(WEIGHTS.items())


# ---------------------------------------------------------------- the facts: the same text, no parse-back

SCAN = candidate(
    port=3306, day="2024-02-05", key_text="80.82.77.0/24", asn=202425, sources=("80.82.77.130", "80.82.77.131"),
    also_keys=("AS202425",), score=87.4, union=4090, telescope_size=4096, window="24h", as_name="INT-NETWORK",
    dsts=(2048, 2049), total=4097, overlap=0.0017, timing_containment=0.987, split=(0.5007, 0.501),
    start_us=_us("2024-02-05T09:00:02.015475Z"), end_us=_us("2024-02-05T11:30:59.000001Z"), packets=8194,
    score_parts=ScoreParts(0.912, 0.987, 0.333), excluded_standalone=(_ip("80.82.77.33"),),
)


def _plain(facts):
    return [(k, getattr(v, "plain", v)) for k, v in facts]


def test_candidate_facts_from_the_fields_equal_what_the_parsing_code_showed():
    from scantui.tui.screens.detail_facts import candidate_facts

    assert _plain(candidate_facts(SCAN)) == [
        ("scan", "3306/tcp · 2024-02-05 (24h window) · key 80.82.77.0/24 · AS202425"),
        ("members", "2 sources · 8,194 packets"),
        ("cover", "union 4,090 = 1.00 × telescope · N 1 · sum 4,097 · overlap 0.2%"),
        ("timing", "parallel (containment 0.99) · 09:00:02 → 11:30:59 UTC (2h 30m)"),
        ("score", "87.4 = 50×0.91 cover + 30×0.99 timing + 20×0.33 sources"),
        ("also", "keys AS202425 · standalone excluded 80.82.77.33"),
    ]


def test_candidate_facts_show_the_reasons_as_text():
    from scantui.tui.screens.detail_facts import candidate_facts

    split = dataclasses.replace(SCAN, reasons=("split from a 2-fold cover of 5 sources", "bad\x1b[31m [b]x[/b]"))
    why = _plain(candidate_facts(split))[-1]
    assert why[0] == "why" and why[1].startswith("split from a 2-fold cover of 5 sources; bad")
    assert "\x1b" not in why[1] and "[b]x[/b]" in why[1]


def test_group_facts_from_the_fields_equal_what_the_parsing_code_showed():
    from scantui.tui.screens.detail_facts import group_facts

    later = dataclasses.replace(SCAN, port=9000, day=dt.date(2024, 2, 12), start_us=SCAN.start_us + 7 * 86_400_000_000,
                                end_us=SCAN.end_us + 7 * 86_400_000_000)
    g = group([SCAN, later], reasons=("shared_ips", "timing"), asns=(202425,), score=87.4)
    assert _plain(group_facts(g)) == [
        ("group", "S01 · 2 scans · score 87.4"),
        ("links", "shared_ips ×1, timing ×1"),
        ("members", "2 sources · per scan 2, 2"),
        ("where", "ports 3306, 9000 · AS202425"),
        ("when", "2024-02-05 09:00 → 2024-02-12 11:30 UTC · 2 days"),
        ("split", "parallel · N 1 · typical 50.1% 50.1%"),
    ]


def test_group_facts_under_a_time_range_say_what_is_in_it_beside_what_the_group_holds():
    from scantui.tui.screens.detail_facts import group_facts

    def on(day: str, port: int, *ips: str) -> CandidateScan:
        return candidate(day=day, port=port, sources=ips)

    scans = [on("2024-02-02", 80, "192.0.2.1", "192.0.2.2"), on("2024-02-05", 443, "192.0.2.2", "192.0.2.3"),
             on("2024-02-06", 443, "192.0.2.3"), on("2024-02-09", 22, "192.0.2.9")]
    g = group(scans, asns=(64500,), score=90.0)
    plain = _plain(group_facts(g))
    assert _plain(group_facts(g, g.scans, None)) == plain  # no time range: as found
    days = (dt.date(2024, 2, 4), dt.date(2024, 2, 7))
    facts = dict(_plain(group_facts(g, list(g.scans[1:3]), days)))
    assert facts["group"] == "S01 · scans 2 of 4 in 2024-02-04..2024-02-07 · score 90.0"
    assert facts["members"] == "2 of 4 sources in those scans · per scan 2, 1"
    assert facts["where"] == "ports 443 · AS64500"
    assert facts["when"] == "2024-02-05 10:00 → 2024-02-06 12:00 UTC · 2 of 4 days"
    assert facts["split"] == dict(plain)["split"] and facts["links"] == dict(plain)["links"]
    every = dict(_plain(group_facts(g, list(g.scans), (dt.date(2024, 2, 1), dt.date(2024, 2, 9)))))
    assert every["group"] == "S01 · scans 4 of 4 in 2024-02-01..2024-02-09 · score 90.0"
    assert {k: v for k, v in every.items() if k != "group"} == {k: v for k, v in plain if k != "group"}
    none = dict(_plain(group_facts(g, list(g.scans), (dt.date(2024, 2, 29), dt.date(2024, 2, 29)))))
    assert none["group"] == "S01 · 4 scans, none in 2024-02-29: all shown · score 90.0"
    assert {k: v for k, v in none.items() if k != "group"} == {k: v for k, v in plain if k != "group"}


FRAME_ROW = {
    "src": _ip("80.82.77.130"), "packets": 65536, "ports": 3, "dsts": 4096,
    "first_seen": dt.datetime(2024, 2, 4, 6, 0, 1, 414508, tzinfo=dt.timezone.utc),
    "last_seen": dt.datetime(2024, 2, 5, 11, 59, 59, 686871, tzinfo=dt.timezone.utc), "days_active": 2,
    "tool": "masscan", "tools": {"zmap": 0.25, "masscan": 0.75, "mirai": 0.0}, "range_class": "full",
    "schedule": "periodic", "period_days": 7, "schedule_strength": 3.5, "well_known_share": 0.015625,
    "registered_share": 0.734375, "ephemeral_share": 0.25, "days_scanned": 0.095, "avg_scan_interval_days": None,
    "ports_rescanned": 0, "coverage_max": 0.5, "coverage_mean": 0.25, "picture": "sweep", "asn": 202425,
    "as_name": "INT-NETWORK", "country": "NL", "hostname": "scan.example", "org": "Censys",
    "category": "commercial", "rule": "asn 202425",
    "top_ports": [{"port": 3306, "proto": 6, "packets": 9, "scans": 1, "coverage": 0.5}],
}


def test_scanner_row_from_the_frame_and_its_facts():
    from scantui.tui.screens.detail_facts import scanner_facts

    row = ScannerRow.from_row(FRAME_ROW)
    assert row.src == _ip("80.82.77.130") and row.asn == 202425 and row.first_seen.tzinfo is not None
    assert row.tools == (("zmap", 0.25), ("masscan", 0.75), ("mirai", 0.0)) and row.top_ports[0].port == 3306
    assert ScannerRow.from_row({"src": 1}) == ScannerRow(src=1)  # a frame without the other columns
    one = ScannerRow.from_row({**FRAME_ROW, "packets": 1, "ports": 1, "dsts": 1, "days_active": 1})
    assert dict(_plain(scanner_facts(one)))["traffic"] == "1 packet · 1 port · 1 dst · 1 day active"  # not "1 ports"
    assert _plain(scanner_facts(row)) == [
        ("source", "80.82.77.130 · AS202425 INT-NETWORK · NL"),
        ("", "org Censys · category commercial · host scan.example"),
        ("rule", "asn 202425"),
        ("traffic", "65,536 packets · 3 ports · 4,096 dsts · 2 days active"),
        ("seen", "2024-02-04 06:00 → 2024-02-05 11:59"),
        ("tools", "masscan 75% zmap 25%"),
        ("range", "full · well-known 1.6% · registered 73.4% · ephemeral 25.0%"),
        ("schedule", "periodic every 7 days (strength 3.5) · days scanned 9.5% · coverage max 50.0% · picture sweep"),
    ]


def test_scanner_list_gives_typed_rows():
    from scantui.analysis.scanners import ScannerList

    other = {**FRAME_ROW, "src": _ip("80.82.77.131"), "packets": 7}
    scanners = ScannerList(pl.DataFrame([FRAME_ROW, other]), 2, 4096, None, 2, "src_totals")
    row = scanners.row(_ip("80.82.77.131"))
    assert isinstance(row, ScannerRow) and row.src == _ip("80.82.77.131") and row.packets == 7 and row.asn == 202425
    assert scanners.row(_ip("203.0.113.250")) is None


# ---------------------------------------------------------------- the candidates list sorts by the review rank


def test_the_review_column_sorts_by_rank_not_by_its_text():
    from scantui.tui.screens.candidates_frames import candidate_frame, review_counts, review_text, to_review

    states = {443: ("rejected", [{"id": "R01", "verdict": "not_collaborative"}]),
              80: ("same_ips", [{"id": "G01", "verdict": "collaborative"}]),
              22: ("labelled", [{"id": "A01", "verdict": "unsure"}]),
              8080: ("new", [])}
    cands = [candidate(port=p) for p in states]
    frame = candidate_frame(cands, lambda c: states[c.port])
    shown = frame.sort("review")  # what the table does for the default sort key
    assert [review_text(v) for v in shown["review"]] == ["new", "same IPs as G01", "unsure A01", "rejected R01"]
    assert shown["review"].struct.field("rank").to_list() == [0, 1, 2, 3]  # "rejected" < "same" as text: not used
    assert frame.filter(to_review(frame))["port"].to_list() == [80, 8080]
    assert review_counts(frame) == (4, 1, 1)
    assert frame.schema["review"] == pl.Struct({"rank": pl.Int8, "text": pl.String, "word": pl.String, "labels": pl.List(pl.String)})


def test_no_module_reading_results_parses_our_own_text_back():
    """The readers of the results take ints, dates and enums from the fields: no ISO time, dotted IP or
    ``AS``-prefixed number of our own output is parsed back (the files read here once did)."""
    from pathlib import Path

    import scantui

    root = Path(scantui.__file__).parent
    readers = ["analysis/groups.py", "analysis/tracking.py", "tui/labelling.py", "tui/state.py",
               "tui/screens/detail.py", "tui/screens/detail_facts.py", "tui/screens/detail_timing.py",
               "tui/screens/track.py", "tui/screens/candidates_frames.py", "tui/widgets/figures.py", "cli/shapes.py",
               "cli/group_cmds.py", "cli/collab_cmds.py"]
    for name in readers:
        text = (root / name).read_text()
        for parse in ("fromisoformat(", "fromtimestamp(", "IPv4Address(", '"scan_refs" in', 'split(".")', "[2:]"):
            if name == "tui/state.py" and parse == "fromisoformat(":
                continue  # the rollup's meta.json (a cache file), not a result
            assert parse not in text, (name, parse)
