"""Similar sources (:mod:`scantui.analysis.similar`) on the sample's ground truth and on crafted data.

A labelled group's members, half given as seeds, rank the group's other half above every unrelated
source; the parts of a score say why; seeds never come back; a shortlist of the cheap features
keeps the packets read bounded.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from pathlib import Path

import polars as pl
import pytest

from scantui.analysis import similar as sm
from scantui.analysis.rollup_cache import open_rollup
from scantui.analysis.similar_types import PARTS
from scantui.errors import InputError
from scantui.io.loader import open_inputs
from scantui.io.schema import conform

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # as conftest's sample_collab_runs: the session's shared cache
        mp.setenv("SCANTUI_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "scantui-cache"))
        rollup = open_rollup(open_inputs([SAMPLE_DIR / "telescope.parquet"]))
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())
    return rollup, truth


def _rank(rollup, seeds, top, **kw):
    query = sm.SimilarQuery(sm.parse_seeds(",".join(seeds)), top=top, **kw)
    return sm.similar_sources(rollup.src_profile, rollup.port_day, query, rollup.packet_source())


@pytest.mark.parametrize("group", ["AK01", "DOM", "HUR", "STS", "CR01", "CHN", "N2", "MID"])
def test_half_a_group_finds_the_other_half_first(sample, group):
    rollup, truth = sample
    members = next(g for g in truth["groups"] if g["id"] == group)["members"]
    seeds, rest = members[: max(1, len(members) // 2)], members[max(1, len(members) // 2):]
    result = _rank(rollup, seeds, top=len(rest))
    assert {s.ip for s in result.sources} == set(rest), "the group's other members are the top of the ranking"
    assert result.artifacts_read and result.shortlisted <= sm.SHORTLIST < result.candidates
    seed_ints = {int(ipaddress.IPv4Address(s)) for s in seeds}
    for s in result.sources:
        assert s.src not in seed_ints and s.like in seed_ints
        assert all(0.0 <= v <= 1.0 for v in s.parts().values() if v is not None)
        assert s.artifacts is not None


def test_ranked_best_first_with_reasons(sample):
    rollup, _truth = sample
    result = _rank(rollup, ["45.79.128.33", "139.162.99.12"], top=10)
    scores = [s.score for s in result.sources]
    assert scores == sorted(scores, reverse=True) and [s.rank for s in result.sources] == list(range(1, 11))
    first = result.sources[0]
    assert first.tool == "masscan" and "same ports" in first.why and "same tool" in first.why
    weights = sum(sm.WEIGHTS.values())
    assert first.score == pytest.approx(sum(first.parts()[p] * sm.WEIGHTS[p] for p in PARTS) / weights, abs=1e-3)


def test_without_packets_the_header_part_drops_out(sample):
    rollup, _truth = sample
    query = sm.SimilarQuery(sm.parse_seeds("45.79.128.33"), top=5)
    result = sm.similar_sources(rollup.src_profile, rollup.port_day, query, None)
    assert not result.artifacts_read and all(s.artifacts is None for s in result.sources)
    assert "45.79.128.190" in {s.ip for s in result.sources}


def test_a_cidr_seed_stands_for_its_sources_and_unknown_seeds_fail(sample):
    rollup, _truth = sample
    result = _rank(rollup, ["45.79.128.0/24"], top=5)
    assert {"45.79.128.33", "45.79.128.71", "45.79.128.190"} <= {str(ipaddress.IPv4Address(x)) for x in result.seeds}
    assert not {s.ip for s in result.sources} & {"45.79.128.33", "45.79.128.71", "45.79.128.190"}
    with pytest.raises(InputError, match="none of the seed sources"):
        _rank(rollup, ["192.0.2.1"], top=5)
    with pytest.raises(InputError, match="not an IPv4"):
        sm.parse_seeds("10.0.0.300")
    with pytest.raises(InputError, match="--top"):
        sm.SimilarQuery(sm.parse_seeds("10.0.0.1"), top=0)


def test_next_rotation_on_other_addresses_ranks_first(tmp_path):
    """A pool that moves to new addresses keeps its ports, tool, rate and header artifacts: the new IPs rank first."""
    start = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
    rows = []

    def scan(src, day, port, n, *, ttl, window, ip_id=None, sport=None, hour=3):
        for k in range(n):
            rows.append({"ts": start + dt.timedelta(days=day, hours=hour, seconds=k), "src": src,
                         "dst": (198 << 24) | (18 << 16) | (k % 1024), "proto": 6,
                         "sport": sport if sport is not None else 1024 + (k * 7919) % 60000, "dport": port,
                         "ip_id": ip_id if ip_id is not None else (k * 40503) % 65536, "ttl": ttl, "ip_len": 40,
                         "tcp_flags": 2, "tcp_seq": k * 2654435761 % (1 << 32), "tcp_ack": 0, "tcp_window": window,
                         "tcp_mss": None})

    old = [(10 << 24) | (1 << 8) | i for i in range(1, 4)]
    new = [(10 << 24) | (2 << 16) | i for i in range(1, 4)]
    for day, pool in ((0, old), (1, old), (5, new), (6, new)):
        for src in pool:
            scan(src, day, 6379, 300, ttl=241, window=29200, sport=61000)
            scan(src, day, 9200, 300, ttl=241, window=29200, sport=61000)
    for i in range(30):  # others: other ports, windows, rates
        scan((20 << 24) | i, i % 7, 6379 if i % 3 == 0 else 22 + i, 50 + 20 * i, ttl=50 + i, window=1024 * (1 + i % 4), hour=i % 24)
    path = tmp_path / "pool.parquet"
    conform(pl.DataFrame(rows).with_columns(pl.col("ts").dt.cast_time_unit("us")).lazy()).collect().write_parquet(path)
    rollup = open_rollup(open_inputs([path]), cache_dir=tmp_path / "cache")
    result = _rank(rollup, [str(ipaddress.IPv4Address(s)) for s in old], top=3)
    assert {s.src for s in result.sources} == set(new)
    assert all("same ports" in s.why and any(w.startswith(("same header", "header")) for w in s.why) for s in result.sources)


def test_day_tables_and_a_plain_frame_rank_alike(sample):
    """The header artifacts read from the rollup's day tables (one narrow read per day and port) or from one
    LazyFrame of the packets (one scan): the same ranking, the same parts."""
    from scantui.analysis.packet_source import DayPackets, FramePackets

    rollup, _truth = sample
    assert isinstance(rollup.packet_source(), DayPackets)
    query = sm.SimilarQuery(sm.parse_seeds("134.209.82.5,134.209.150.23"), top=12)
    days = sm.similar_sources(rollup.src_profile, rollup.port_day, query, rollup.packet_source())
    frame = sm.similar_sources(rollup.src_profile, rollup.port_day, query,
                               FramePackets(pl.scan_parquet(SAMPLE_DIR / "telescope.parquet")))
    assert days.artifacts_read and days.sources == frame.sources
