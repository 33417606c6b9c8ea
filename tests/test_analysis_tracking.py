"""Tracking a group: every figure on crafted probes (scans, calendar, weekday and
monthday, ports, split per member, timing, sizes), CIDR members, scans crossing
midnight, partial activity below the cover threshold, and the sample's planted
groups tracked from their members (scans, timing and sizes as planted)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from scantui.analysis.tracking import TrackQuery, summary_line, track_group
from test_analysis_collab import SAMPLE, T, ip, probes, table, us

A, B, C = "192.0.2.10", "192.0.2.11", "192.0.2.12"


def halves(src_a, src_b, port, day, *, hours=2.0, sequential=False, share=128):
    start = 24 * day + 8
    return [probes(src_a, range(0, share), port, start, hours),
            probes(src_b, range(share, T), port, start + (hours if sequential else 0), hours)]


def test_every_figure_on_crafted_scans():
    parts = [*halves(A, B, 80, 0), *halves(A, B, 443, 2, sequential=True), *halves(A, C, 80, 7, share=200),
             probes(A, range(0, 40), 22, 24 * 9 + 1, 1)]  # a small look at port 22: activity, not a scan
    doc = track_group(table(*parts), ["192.0.2.8/30", "192.0.2.12"], telescope_size=T)
    assert doc.seen and doc.active_members == (ip(A), ip(B), ip(C)) and doc.active_days == 4 and doc.span_days == 10
    assert doc.first_seen_us == us("2024-02-01T08:00:00Z") and doc.last_seen.isoformat().startswith("2024-02-10T01:")
    assert [(s.day.isoformat(), s.port, s.timing, s.n_sources) for s in doc.scans] == [
        ("2024-02-01", 80, "parallel", 2), ("2024-02-03", 443, "sequential", 2), ("2024-02-08", 80, "parallel", 2)]
    assert list(doc.scans[2].split) == [pytest.approx(200 / 256, abs=1e-3), pytest.approx(56 / 256, abs=1e-3)]
    assert all(s.cover == 1.0 and s.cover_multiple == 1 for s in doc.scans)
    assert [d.scans for d in doc.days] == [1, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    assert doc.days[8].packets == 0 and doc.days[9].packets == 40
    # 2024-02-01 is a Thursday, 02-03 a Saturday, 02-08 a Thursday
    assert dict(doc.day_of_week()) == {"Mon": 0, "Tue": 0, "Wed": 0, "Thu": 2, "Fri": 0, "Sat": 1, "Sun": 0}
    assert {k + 1: v for k, v in enumerate(doc.day_of_month()) if v} == {1: 1, 3: 1, 8: 1}
    assert [(p.port, p.scans) for p in doc.ports] == [(80, 2), (443, 1), (22, 0)] and doc.n_ports == 3
    assert doc.timing_counts() == (("parallel", 2), ("sequential", 1))
    assert doc.sizes == (2, 2, 2) and doc.size_histogram() == ((2, 3),)
    split = {m.member: m for m in doc.member_split}
    assert split[ip(B)].stable and split[ip(B)].mean_share == 0.5 and split[ip(B)].scans == 2
    assert not split[ip(A)].stable and split[ip(A)].max_share == pytest.approx(200 / 256, abs=1e-3)
    assert "3 scans on 3 ports" in summary_line(doc)
    # the output shape, written only at the edge
    out = doc.to_json()
    assert out["active_members"] == [A, B, C] and out["first_seen"] == "2024-02-01T08:00:00Z"
    assert out["day_of_month"]["3"] == 1 and out["size_histogram"] == [{"size": 2, "scans": 3}]
    assert out["timing_counts"] == {"parallel": 2, "sequential": 1} and out["scans"][0]["day"] == "2024-02-01"
    assert {m["member"] for m in out["member_split"]} == {A, B, C}


def test_min_cover_and_unknown_members():
    lf = table(*halves(A, B, 80, 0, share=128))
    assert track_group(lf, [A], telescope_size=T).n_scans == 1  # A alone reaches half
    assert track_group(lf, [A], telescope_size=T, query=TrackQuery(min_cover=0.6)).n_scans == 0
    none = track_group(lf, ["203.0.113.0/24"], telescope_size=T)
    assert not none.seen and none.scans == () and none.active_days == 0 and "no probes" in summary_line(none)
    empty = none.to_json()
    assert empty["day_of_week"] == dict.fromkeys(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), 0)
    assert empty["first_seen"] is None and empty["size_histogram"] == [] and empty["timing_counts"] == {}


def test_scan_crossing_midnight_is_one_scan_but_daily_activity_is_not():
    lf = table(probes(A, range(0, 128), 8080, 23, 2), probes(B, range(128, T), 8080, 23, 2))
    doc = track_group(lf, [A, B], telescope_size=T)
    assert [(s.day.isoformat(), s.union, s.cover) for s in doc.scans] == [("2024-02-01", T, 1.0)]
    assert doc.scans[0].end.isoformat().startswith("2024-02-02T00:5") and doc.active_days == 2
    daily = table(*(p for d in range(3) for p in halves(A, B, 80, d, hours=23.9)))
    assert track_group(daily, [A, B], telescope_size=T).n_scans == 3


def test_sample_groups_tracked_as_planted():
    truth = json.loads((SAMPLE / "truth.json").read_text())
    lf = pl.scan_parquet(SAMPLE / "telescope.parquet")
    for g in truth["groups"]:
        doc = track_group(lf, g["members"], telescope_size=truth["telescope"]["size"])
        planted = [s for s in truth["collab_scans"] if s["group"] == g["id"]]
        if any(s.get("class") in ("resharded_rounds", "drift", "trickle_sweep") for s in planted):
            # tracking looks at calendar days: one scan a port-day (the rounds' day, each day's share of a
            # drifting run, a sweep with the day's trickle), on the planted days and ports, all members seen
            days = {d for s in planted for d in (s["start"][:10], s["end"][:10])}
            assert doc.scans and all(s.day.isoformat() in days and s.port == planted[0]["port"] for s in doc.scans), g["id"]
            assert sorted(doc.active_members) == sorted(ip(m) for m in g["members"])
            continue
        assert [(s.port, s.start_us) for s in doc.scans] == [(s["port"], us(s["start"])) for s in planted], g["id"]
        assert [s.timing for s in doc.scans] == [s["timing"] for s in planted]
        assert list(doc.sizes) == [len(s["sources"]) for s in planted]
        assert sorted(doc.active_members) == sorted(ip(m) for m in g["members"])


def test_who_line_cuts_and_escapes_names_from_the_input():
    from scantui.analysis.tracking import who_line
    from scantui.safetext import SHOWN_CHARS

    line = who_line([{"asn": 64500, "as_name": "n" * 500, "org": "o\x1b" * 200, "category": "research"}] * 2)
    assert "n" * SHOWN_CHARS not in line and "n" * (SHOWN_CHARS - 1) + "… x2" in line
    assert "\x1b" not in line and "(research) x2" in line and len(line) < 3 * SHOWN_CHARS


def test_the_rollup_figures_come_from_port_day_and_packets_only_where_members_share_a_port(tmp_path, monkeypatch):
    """A (day, port) of one member's one port_day row is that row; the packets are read only for the (day, port)
    pairs several rows share (two members, or one member seen by two sensors sharing addresses)."""
    from scantui.analysis.packet_source import DayPackets
    from scantui.workspace import Workspace

    repeat = probes(A, [*range(0, 60), *range(0, 30)], 22, 24 * 4 + 2, 1)  # destinations probed twice
    two_sensors = [probes(C, range(0, 100), 25, 24 * 5 + 1, 1).with_columns(pl.lit("s1").alias("sensor")),
                   probes(C, range(50, 150), 25, 24 * 5 + 3, 1).with_columns(pl.lit("s2").alias("sensor"))]
    parts = [*halves(A, B, 80, 0), *halves(A, C, 443, 2, sequential=True), probes(A, range(0, 200), 80, 24 * 3 + 23.5, 1),
             repeat, probes(B, range(0, 40), 8080, 24 * 6 + 5, 1)]
    frame = pl.concat([*(p.with_columns(pl.lit("s1").alias("sensor")) for p in parts), *two_sensors]).sort("ts")
    path = tmp_path / "crafted.parquet"
    frame.write_parquet(path)
    members = ["192.0.2.8/30", C]
    ws = Workspace.open([path], None, (None, T), cache_dir=tmp_path / "cache")
    want = track_group(table(frame), members, telescope_size=T, enrichment=ws.rollup().enrichment)
    asked = []
    read_each = DayPackets.read_each
    monkeypatch.setattr(DayPackets, "read_each", lambda self, wanted: asked.append(dict(wanted)) or read_each(self, wanted))
    got = ws.track(members)
    assert got == want and len(got.scans) == 4 and got.packets == frame.height
    read = [{(d.isoformat(), p) for d, (ports, _srcs) in w.items() for p in ports} for w in asked]
    # the shared pairs, then the two days of the scan across midnight (its port only)
    assert read == [{("2024-02-01", 80), ("2024-02-03", 443), ("2024-02-06", 25)}, {("2024-02-04", 80), ("2024-02-05", 80)}]
