"""Detail data for some sources, from a real rollup of the sample and its packets:
per-day volume, ports, tools (checked against the packet table), timing packets with
port/time filters and the row cap."""

from __future__ import annotations

import ipaddress

import polars as pl
import pytest

from clihelp import SAMPLE
from scantui.analysis import detail
from scantui.analysis.fingerprints import with_tool
from scantui.analysis.rollup_cache import open_rollup
from scantui.analysis.traffic import is_probe
from scantui.io.loader import open_inputs

STS = [int(ipaddress.IPv4Address(f"80.82.77.{k}")) for k in range(130, 139)]


@pytest.fixture(scope="module")
def sample(sample_cache):
    with pytest.MonkeyPatch.context() as mp:  # the session's cache, where the sample's rollup already is
        mp.setenv("SCANTUI_CACHE_DIR", str(sample_cache))
        ds = open_inputs([SAMPLE])
        return ds, open_rollup(ds)


def test_volumes_ports_and_tools_match_the_packets(sample):
    ds, rollup = sample
    pk = ds.lf.filter(pl.col("src").is_in(STS)).collect()
    days = detail.per_day(rollup.port_day, STS)
    assert days["packets"].sum() == pk.height and days["day"].cast(pl.String).to_list() == ["2024-02-05", "2024-02-12"]
    assert days["sources"].to_list() == [9, 9]
    ports = detail.ports(rollup.port_day, STS)
    assert ports["dport"].to_list()[:3] and set(ports["dport"].to_list()) == set(pk.filter(is_probe())["dport"].unique().to_list())
    expected = with_tool(pk.lazy()).filter(is_probe()).group_by("tool").len().collect()
    assert detail.tools(rollup.port_day, STS) == {str(t): n for t, n in expected.sort("len", descending=True).iter_rows()}


def test_timing_packets_filters_and_cap(sample):
    ds, _ = sample
    tp = detail.timing_packets(ds.lf, STS, port=3306)
    assert not tp.capped and tp.packets["dport"].unique().to_list() == [3306] and tp.packets["src"].n_unique() == 9
    assert tp.packets["ts"].is_sorted()
    t0 = int(tp.packets["ts"].dt.epoch("us").min())
    few = detail.timing_packets(ds.lf, STS, port=3306, start_us=t0, end_us=t0 + 60_000_000)
    assert 0 < few.packets.height < tp.packets.height
    capped = detail.timing_packets(ds.lf, STS, max_rows=100)
    assert capped.capped and capped.packets.height == 100


def test_a_span_of_days_in_microseconds_and_the_scans_in_it():
    import datetime as dt
    from types import SimpleNamespace

    d = dt.date
    lo, hi = detail.day_window_us((d(2024, 2, 5), d(2024, 2, 6)))
    utc = dt.timezone.utc
    assert lo == int(dt.datetime(2024, 2, 5, tzinfo=utc).timestamp()) * 1_000_000
    assert hi == int(dt.datetime(2024, 2, 7, tzinfo=utc).timestamp()) * 1_000_000  # the day after the last
    scans = [SimpleNamespace(day=d(2024, 2, k)) for k in (4, 5, 6, 7, 5)]
    kept = detail.scans_in_days(scans, (d(2024, 2, 5), d(2024, 2, 6)))
    assert kept == [scans[1], scans[2], scans[4]]  # in order, the ends included
    assert detail.scans_in_days(scans, (d(2024, 3, 1), d(2024, 3, 2))) == []
