"""Fast queries at a year (issue 12 part 4): every packet read goes through the rollup's per-day
packet tables, only the days (and, inside a day, the ports and sources) a query needs.

On the sample data: the scanner list under a row-level narrowing, collab, track and the timing
read give the same answer from the day tables as from the whole packet table, and the same
again after the day tables of every day the query does not need are deleted from the cache.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from canonical import make_canonical
from rollup_patch import patch_rollup
from scantui.analysis import collab as cb
from scantui.analysis import rollup_cache as rc
from scantui.analysis import rollup_days as rd
from scantui.analysis.collab_cover import Limits
from scantui.analysis.collab_prune import candidate_rows, day_rows
from scantui.analysis import day_packets as dp
from scantui.analysis.day_packets import DAY_PACKETS
from scantui.analysis.detail import timing_packets
from scantui.analysis.packet_source import DayPackets, FramePackets
from scantui.analysis.scanners import ScannerQuery, scanner_list
from scantui.analysis.tracking import member_filter, track_group
from scantui.analysis.traffic import is_probe
from scantui.io.loader import open_inputs
from scantui.workspace.core import Workspace

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
TRUTH = json.loads((SAMPLE / "truth.json").read_text())
MID = next(s for s in TRUTH["collab_scans"] if s["crosses_midnight"])  # members active across a midnight
AK01 = next(g for g in TRUTH["groups"] if g["id"] == "AK01")
PORT = 8081  # one of AK01's ports: on a few days only


@pytest.fixture(scope="module")
def cache(sample_cache) -> Path:
    """A rollup cache holding the sample's (the session's: the tests below copy it before deleting files)."""
    return sample_cache


def _copy(cache: Path, tmp_path: Path) -> Path:
    target = tmp_path / "cache"
    shutil.copytree(cache, target)
    return target


def _ws(cache: Path) -> Workspace:
    return Workspace.open([SAMPLE / "telescope.parquet"], cache_dir=cache)


def _keep_only(ws: Workspace, keep: set[dt.date]) -> set[dt.date]:
    """Delete the day packet tables of every day but *keep* (a read of one of them now fails); the days deleted."""
    states = ws.rollup().day_states
    gone = set(states) - keep
    assert gone and keep <= set(states)
    for day in gone:
        shutil.rmtree(states[day] / DAY_PACKETS)
    source = ws.rollup().packet_source()
    assert isinstance(source, DayPackets)  # still the day tables (not a fallback to the packets themselves)
    with pytest.raises((FileNotFoundError, pl.exceptions.ComputeError)):
        source.read().collect()
    return gone


def _members(group: dict) -> list[int]:
    return [int(ipaddress.IPv4Address(m)) for m in group["members"]]


# ---------------------------------------------------------------- the table itself


@pytest.mark.parametrize("rows_per_part", [10**9, 700], ids=["one-part", "parts"])
def test_a_day_table_holds_the_days_packets_sorted_by_port_source_time(tmp_path, monkeypatch, rows_per_part):
    patch_rollup(monkeypatch, "ROW_GROUP", 500)
    monkeypatch.setattr(dp, "ROWS_PER_PART", rows_per_part)
    df = make_canonical(n=6000, seed=5, days=2)
    df.write_parquet(tmp_path / "in.parquet")
    rollup = rc.open_rollup(open_inputs([tmp_path / "in.parquet"]), cache_dir=tmp_path / "cache")
    states = rollup.day_states
    assert sorted(states) == [dt.date(2024, 2, 1), dt.date(2024, 2, 2)]
    for day, state in states.items():
        mine = df.filter(pl.col("ts").dt.date() == day)
        files = sorted((state / DAY_PACKETS).iterdir())
        assert [f.name for f in files] == [f"part-{i:05d}.parquet" for i in range(len(files))]
        assert len(files) == (1 if rows_per_part > mine.height else -(-mine.height // 700)) or len(files) > 3
        table = pl.read_parquet(files)
        assert_frame_equal(table, mine.sort("dport", "src", "ts", nulls_last=True), check_row_order=True)
        bounds = []  # (min, max) port of each 500-row row group (the writer's size; the next test counts them)
        for f in files:
            ports = pl.read_parquet(f, columns=["dport"])["dport"].drop_nulls()
            bounds += [(part.min(), part.max()) for part in (ports[i:i + 500] for i in range(0, len(ports), 500))]
        # sorted by port: each row group's ports start where the previous one's ended, so a port is in one or two
        assert len(bounds) >= mine.height // 500 and all(a[1] <= b[0] for a, b in zip(bounds, bounds[1:]))
        port = int(table["dport"][table.height // 2])
        assert sum(lo <= port <= hi for lo, hi in bounds) <= 2


def test_a_port_read_reads_only_the_row_groups_holding_the_port(tmp_path, monkeypatch, capfd):
    patch_rollup(monkeypatch, "ROW_GROUP", 500)
    df = make_canonical(n=4000, seed=6, days=1)
    df.write_parquet(tmp_path / "in.parquet")
    source = rc.open_rollup(open_inputs([tmp_path / "in.parquet"]), cache_dir=tmp_path / "cache").packet_source()
    port = int(df["dport"][17])
    capfd.readouterr()
    with pl.Config(verbose=True):
        got = source.read(ports=[port]).collect()
    log = capfd.readouterr().err
    assert_frame_equal(got, df.filter(pl.col("dport") == port).sort("src", "ts"), check_row_order=False)
    assert "reading 1 / 8 row groups" in log or "reading 2 / 8 row groups" in log, log


def test_a_rollup_whose_day_state_is_gone_reads_the_packets_themselves(cache, tmp_path):
    ws = _ws(_copy(cache, tmp_path))
    states = ws.rollup().day_states
    want = ws.scanners(ScannerQuery(ports=(PORT,)))
    shutil.rmtree(states[min(states)])
    again = _ws(tmp_path / "cache")
    assert again.rollup().packet_source() is None
    got = again.scanners(ScannerQuery(ports=(PORT,)))
    assert got.dsts_from == "packets" and want.dsts_from == "days"
    assert_frame_equal(got.frame, want.frame)


# ---------------------------------------------------------------- same answers, fewer days read


def _whole_scanners(ws: Workspace, q: ScannerQuery) -> pl.DataFrame:
    r = ws.rollup()
    return scanner_list(r.port_day, r.src_totals, r.day_totals, r.enrichment, query=q, telescope_size=ws.telescope_size,
                        packets=ws.dataset.lf, src_profile=r.src_profile).frame


@pytest.mark.parametrize("q", [
    ScannerQuery(ports=(PORT,)),
    ScannerQuery(ports=(PORT, 2375), sort="dsts", top=5),
    ScannerQuery(since=dt.date(2024, 2, 3), until=dt.date(2024, 2, 9)),
    ScannerQuery(ports=(53,), include_udp=True, until=dt.date(2024, 2, 10)),
], ids=["port", "ports-by-dsts", "window", "udp-port-window"])
def test_the_scanner_list_counts_destinations_from_the_day_tables(cache, q):
    ws = _ws(cache)
    got = ws.scanners(q)
    assert got.dsts_from == "days" and got.frame.height > 0 and got.frame["dsts"].null_count() == 0
    assert_frame_equal(got.frame, _whole_scanners(ws, q))


@pytest.mark.parametrize("q", [ScannerQuery(include_udp=True, top=50), ScannerQuery(include_udp=True, sort="dsts", top=20)],
                         ids=["udp", "udp-by-dsts"])
def test_include_udp_reads_no_packet_when_no_source_has_both_kinds(cache, q):
    """No sample source has both TCP probes and UDP: the profile and totals rows are the list, exact (the mixed
    case: ``test_scanners_udp_profile``), the same as the rows' with destinations recounted from the packets."""
    ws = _ws(cache)
    got = ws.scanners(q)
    r = ws.rollup()
    rowed = scanner_list(r.port_day, r.src_totals, r.day_totals, r.enrichment, query=q,
                         telescope_size=ws.telescope_size, packets=ws.dataset.lf)
    assert got.dsts_from == "src_totals" and rowed.dsts_from == "packets"
    assert got.frame.height > 0 and got.frame["dsts"].null_count() == 0
    assert_frame_equal(got.frame, rowed.frame)


def test_scanners_by_port_read_only_the_days_the_port_is_on(cache, tmp_path):
    ws = _ws(_copy(cache, tmp_path))
    want = _whole_scanners(ws, ScannerQuery(ports=(PORT,)))
    on = set(ws.rollup().port_day.filter(pl.col("dport") == PORT).select("day").unique().collect()["day"])
    _keep_only(ws, on)
    assert_frame_equal(_ws(tmp_path / "cache").scanners(ScannerQuery(ports=(PORT,))).frame, want)


def _collab_days(ws: Workspace, query: cb.CollabQuery) -> set[dt.date]:
    """The days collab's pre-filter keeps (stage 1, as :func:`~scantui.analysis.collab.collab_scans` runs it)."""
    r = ws.rollup()
    lim = Limits(ws.telescope_size, query.low, query.high, query.min_sources)
    rows = day_rows(r.port_day, query)
    days = set()
    for kind in query.by:
        cand, _stand = candidate_rows(rows, kind, r.enrichment, query, lim.cover_min)
        days |= set(cand.select("day").unique().collect()["day"])
    return days


def _plain(result: cb.CollabResult) -> tuple:
    return list(result.candidates), result.telescope_size, result.notes, result.stats


BOTH = ("prefix24", "asn")  # --by both: the kinds the collab sums pre-filter (day tables read for those)


@pytest.mark.parametrize("query", [
    cb.CollabQuery(by=BOTH), cb.CollabQuery(by=BOTH, window_us=cb.parse_window("24h")), cb.CollabQuery(by=BOTH, tools=("masscan",)),
], ids=["day", "24h", "masscan"])
def test_collab_reads_only_the_days_its_prefilter_keeps(cache, tmp_path, query):
    ws = _ws(_copy(cache, tmp_path))
    r = ws.rollup()
    whole = cb.collab_scans(ws.dataset.lf, port_day=r.port_day, enrichment=r.enrichment,
                            telescope_size=ws.telescope_size, query=query)
    days = ws.collab(query)
    assert whole.candidates and _plain(days) == _plain(whole)
    _keep_only(ws, _collab_days(ws, query))
    assert _plain(_ws(tmp_path / "cache").collab(query)) == _plain(whole)


@pytest.mark.parametrize("group", [AK01, MID], ids=["AK01", "midnight"])
def test_track_reads_only_the_members_days(cache, tmp_path, group):
    ws = _ws(_copy(cache, tmp_path))
    members = group.get("members") or group["sources"]
    whole = track_group(ws.dataset.lf, members, telescope_size=ws.telescope_size, enrichment=ws.rollup().enrichment)
    assert whole.scans and ws.track(members) == whole
    if group is MID:
        assert any(s.day < dt.datetime.fromtimestamp(s.end_us / 1e6, dt.timezone.utc).date() for s in whole.scans)
    pd = ws.rollup().port_day.filter((pl.col("kind") == "probe") & member_filter(members))
    _keep_only(ws, set(pd.select("day").unique().collect()["day"]))
    assert _ws(tmp_path / "cache").track(members) == whole


def test_a_timing_read_reads_only_the_sources_days(cache, tmp_path):
    ws = _ws(_copy(cache, tmp_path))
    srcs = _members(AK01)
    start = int(dt.datetime(2024, 2, 3, tzinfo=dt.timezone.utc).timestamp() * 1e6)
    asks = [dict(), dict(port=PORT), dict(start_us=start), dict(port=2375, start_us=start, end_us=start + 5 * 86400 * 10**6),
            dict(max_rows=100), dict(start_us=start, max_rows=50)]
    whole = [timing_packets(ws.dataset.lf, srcs, **ask) for ask in asks]
    assert all(w.packets.height > 0 for w in whole)
    for ask, want in zip(asks, whole):
        got = ws.timing(srcs, **ask)
        assert got.capped == want.capped == ("max_rows" in ask)
        assert_frames_equal(got.packets, want.packets)
    first = whole[-2].packets["ts"]  # capped: the first packets in time
    probes = ws.dataset.lf.filter(pl.col("src").is_in(srcs) & is_probe())
    assert first.max() <= probes.select(pl.col("ts").sort().get(100)).collect().item()
    pd = ws.rollup().port_day.filter(pl.col("src").is_in(srcs) & (pl.col("kind") == "probe"))
    per_day = pd.group_by("day").agg(pl.col("packets").sum()).sort("day").collect()
    _keep_only(ws, set(per_day["day"]))
    again = _ws(tmp_path / "cache")
    for ask, want in zip(asks, whole):
        assert_frames_equal(again.timing(srcs, **ask).packets, want.packets)
    # capped: only the first days holding the rows are read (the later ones' tables deleted, their reads fail)
    upto = per_day.filter(pl.col("packets").cum_sum().shift(fill_value=0) <= 100)["day"]
    assert 0 < len(upto) < per_day.height
    states = again.rollup().day_states
    for day in set(per_day["day"]) - set(upto):
        shutil.rmtree(states[day] / DAY_PACKETS)
    assert_frames_equal(_ws(tmp_path / "cache").timing(srcs, max_rows=100).packets, whole[-2].packets)


def assert_frames_equal(a: pl.DataFrame, b: pl.DataFrame) -> None:
    """Equal as rows sorted by time (the plot's order; packets of one microsecond in any order)."""
    key = ["ts", "src", "dst", "dport"]
    assert_frame_equal(a.sort(key), b.sort(key))


def test_day_packets_and_a_frame_answer_the_same_reads(cache):
    ws = _ws(cache)
    days, frame = ws.rollup().packet_source(), FramePackets(ws.dataset.lf)
    assert isinstance(days, DayPackets) and len(days.days()) == TRUTH["days"]
    picked = days.days()[3:6]
    srcs = _members(AK01)
    for args in [dict(), dict(days=picked), dict(ports=[PORT, 2375]), dict(srcs=srcs), dict(days=picked, ports=[22], srcs=None)]:
        assert_frame_equal(days.read(**args).collect(), frame.read(**args).collect(), check_row_order=False)
    assert_frame_equal(days.sessions(), frame.sessions().collect(), check_row_order=False, check_dtypes=False)
    # the sessions the rollup kept are those merged from the days' key counts (and non-empty on the sample)
    assert days.sessions_file is not None and days.sessions().height > 0
    assert_frame_equal(days.sessions(), DayPackets(days.states, days.unicorn_min_packets).sessions())
    # every day's pairs come from the rollup's merged destination files: the same sets as the days' own pairs
    assert days.merged_pairs
    count = [pl.col("src"), pl.col("kind")]
    merged = days.pairs().group_by(count).agg(pl.col("dst").n_unique()).collect()
    per_day = pl.scan_parquet([s / rd.PAIRS for s in days.states.values()]).group_by(count).agg(pl.col("dst").n_unique())
    assert_frame_equal(merged, per_day.collect(), check_row_order=False)
