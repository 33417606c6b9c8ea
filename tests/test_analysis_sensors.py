"""Sensors compared (issue 15 part 4) on the two-sensor sample (``sample_data/sensors``): per-sensor figures,
who was seen by one sensor but not the other, and candidate scans covering one sensor's space but not the other's,
against its ``truth.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scantui.analysis.collab_types import dotted
from scantui.analysis.sensor_collab import covering, with_sensors

SENSORS_DIR = Path(__file__).resolve().parents[1] / "sample_data" / "sensors"
TRUTH = json.loads((SENSORS_DIR / "truth.json").read_text())


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from scantui.workspace.core import Workspace

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCANTUI_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "scantui-cache"))
        ws = Workspace.open([SENSORS_DIR / "sensors.parquet"])
        ws.rollup()
        yield ws


def test_summary_per_sensor(ws):
    rows = {s.sensor: s for s in ws.sensor_summary()}
    assert sorted(rows) == sorted(TRUTH["sensors"])
    for name, info in TRUTH["sensors"].items():
        assert rows[name].space == info["size"]  # every day a census sweep reaches the whole space
        assert rows[name].days == TRUTH["days"]
        assert rows[name].sources == len(TRUTH["sources"]["both"]) + len(TRUTH["sources"]["only"][name])
    assert sum(s.packets for s in rows.values()) == TRUTH["packets"]
    assert ws.sensor_spaces() == {n: i["size"] for n, i in TRUTH["sensors"].items()}


@pytest.mark.parametrize("a, b", [("tel-a", "hp-b"), ("hp-b", "tel-a")])
def test_seen_by_a_not_b(ws, a, b):
    got = {dotted(s) for s in ws.seen_by_not(a, b)["src"]}
    assert got == set(TRUTH["sources"]["only"][a])
    assert set(TRUTH["roles"][{"tel-a": "a_only", "hp-b": "b_only"}[a]]) <= got  # the planted one-sensor sources
    assert not got & set(TRUTH["roles"]["census"])
    seen = {dotted(s) for s in ws.sources_of_sensors(["TEL-A"])}  # names case-insensitive
    assert seen == set(TRUTH["sources"]["both"]) | set(TRUTH["sources"]["only"]["tel-a"])
    assert ws.sources_of_sensors(["no-such-sensor"]).len() == 0


def _scan(cands, sid):
    truth = next(s for s in TRUTH["scans"] if s["id"] == sid)
    found = [c for c in cands if c.port == truth["port"] and list(c.source_ips) == truth["sources"]]
    assert len(found) == 1, f"{sid}: {len(found)} candidates"
    return found[0]


def test_scans_per_sensor(ws):
    cands = ws.collab().candidates
    sa, sab, sb = _scan(cands, "SA"), _scan(cands, "SAB"), _scan(cands, "SB")
    # covering one sensor's space only is no cover of the whole telescope: found on that sensor's space
    assert (sa.sensor, sa.telescope_size, sa.covered_sensors) == ("tel-a", 1024, ("tel-a",))
    assert (sb.sensor, sb.telescope_size, sb.covered_sensors) == ("hp-b", 256, ("hp-b",))
    assert sab.sensor is None and sorted(sab.covered_sensors) == ["hp-b", "tel-a"]  # the whole telescope's, once
    cover = {c.sensor: (c.reached, c.share) for c in sa.sensor_cover}
    assert cover == {"tel-a": (1024, 1.0), "hp-b": (0, 0.0)}
    assert covering(cands, "tel-a", "hp-b") == [sa]
    assert covering(cands, "hp-b", "tel-a") == [sb]
    assert len(cands) == len(TRUTH["scans"])
    doc = sa.to_json()
    assert doc["sensor"] == "tel-a" and doc["sensors"][0] == {"sensor": "hp-b", "reached": 0, "space": 256,
                                                               "share": 0.0, "covers": False}


def test_one_sensor_left_as_it_is(ws):
    cands = ws.collab().candidates[:1]
    assert with_sensors(cands, ws.packet_source(), ws.rollup().port_day, {"tel-a": 1024}, 0.0164, None) is cands
    plain = cands[0].__class__(**{f: getattr(cands[0], f) for f in cands[0].__dataclass_fields__
                                  if f not in ("sensor", "sensor_cover")})
    assert "sensor" not in plain.to_json() and "sensors" not in plain.to_json()


def test_the_sample_rebuilds_byte_for_byte(tmp_path):
    from scantui.sample.sensors import generate_sensors

    truth = generate_sensors(tmp_path)
    assert truth == TRUTH
    for name in ("sensors.parquet", "truth.json"):
        assert (tmp_path / name).read_bytes() == (SENSORS_DIR / name).read_bytes(), name


def test_sensor_term_without_a_per_sensor_table_matches_nothing_and_says_so():
    import polars as pl

    from scantui.analysis.query import QueryError, filter_scanners, parse_query

    frame = pl.DataFrame({"src": pl.Series([1, 2], dtype=pl.UInt32)})
    rows, notes = filter_scanners(frame, parse_query("sensor:tel-a"))
    assert rows.height == 0 and any("sensor:" in n for n in notes)
    rows, _notes = filter_scanners(frame, parse_query("-sensor:tel-a"), sensor_sources=lambda names: [2])
    assert rows["src"].to_list() == [1]
    with pytest.raises(QueryError, match="no value after sensor:"):
        parse_query("sensor:")


def test_the_rollups_sensor_tables_give_what_port_day_gives(ws):
    """The merge's (src, sensor) pairs answer ``sensor:`` and the summary as every ``port_day``
    row does."""
    from scantui.analysis.sensors import sensor_summary, sources_of_sensors

    rollup = ws.rollup()
    assert rollup.sensor_pairs is not None
    for names in (["tel-a"], ["HP-B"], ["tel-a", "hp-b"], ["no-such-sensor"]):
        kept = sources_of_sensors(rollup.port_day, names, rollup.sensor_pairs)
        assert kept.equals(sources_of_sensors(rollup.port_day, names)), names
    assert kept.len() == 0 and sources_of_sensors(rollup.port_day, ["tel-a"]).len() > 1
    assert (sensor_summary(rollup.day_totals, rollup.port_day, rollup.sensor_pairs)
            == sensor_summary(rollup.day_totals, rollup.port_day))
