"""Pools at a glance (:mod:`scantui.analysis.pool_summary`) on a planted pool, and its figures (:mod:`scantui.plots.pool`).

The planted pool: 120 members over 40 minutes (1-minute bins); members 0-59 probe
once a minute in the first 20 minutes, members 60-117 in the last 20, member 0
once more in the last minute, members 118 and 119 never; 100 members in one /24,
15 in a second, 5 alone in five more; 100 in AS64500, 15 in AS64501, 3 in AS64502,
2 without an AS; 110 members take 1% of the union, 10 take 2%.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from collabbuild import candidate
from scantui.analysis.pool_summary import (BIN_STEPS_US, MAX_BINS, MIN_BINS, POOL_MIN_SOURCES, KeyCount,
                                           group_shares, member_asns, pool_summary, bin_width, share_bin_labels)
from scantui.plots.pool import activity_chart, column_rows, key_table, pct

T0 = int(dt.datetime(2024, 2, 14, 17, 0, tzinfo=dt.timezone.utc).timestamp() * 1_000_000)
MINUTE = 60_000_000
END = T0 + 40 * MINUTE - 1


def _ip(a: int, b: int, c: int, d: int) -> int:
    return (a << 24) | (b << 16) | (c << 8) | d


MEMBERS = ([_ip(10, 0, 1, k) for k in range(1, 101)] + [_ip(10, 0, 2, k) for k in range(1, 16)]
           + [_ip(10, 0, 3 + k, 1) for k in range(5)])


def _planted_packets() -> pl.DataFrame:
    ts, src = [], []
    for i, m in enumerate(MEMBERS[:118]):
        minutes = range(20) if i < 60 else range(20, 40)
        for minute in minutes:
            ts.append(T0 + minute * MINUTE + 1_000 * i)
            src.append(m)
    ts.append(T0 + 39 * MINUTE + 5)  # member 0 once more, in the last minute
    src.append(MEMBERS[0])
    ts += [T0 - MINUTE, T0 + 5 * MINUTE]  # before the span (a member), inside it (not a member): neither counts
    src += [MEMBERS[1], _ip(192, 0, 2, 1)]
    return pl.DataFrame({"ts": ts, "src": src}, schema={"ts": pl.Int64, "src": pl.UInt32}).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC")))


def _planted_asns() -> pl.DataFrame:
    asn = [64500] * 100 + [64501] * 15 + [64502] * 3 + [None, None]
    names = {64500: "ALPHA-NET", 64501: "BETA", 64502: "GAMMA"}
    return pl.DataFrame({"src": MEMBERS, "asn": asn, "as_name": [names.get(a) for a in asn]},
                        schema={"src": pl.Int64, "asn": pl.Int64, "as_name": pl.String})


SHARES = [0.01] * 110 + [0.02] * 10


def test_the_planted_pool_reads_back_exactly():
    s = pool_summary(_planted_packets(), MEMBERS, SHARES, start_us=T0, end_us=END, asns=_planted_asns(), top=2)
    assert s.n_sources == 120 and s.n_active == 118
    assert s.bin_us == MINUTE and len(s.active) == 40
    assert s.active == (60,) * 20 + (58,) * 19 + (59,)
    assert s.peak == 60 and s.peak_start_us == T0

    labels = share_bin_labels()
    assert labels[3] == "0.9-1.1×" and labels[6] == "1.5-2×" and len(labels) == len(s.share_counts)
    assert s.share_counts == (0, 0, 0, 110, 0, 0, 10, 0)  # mean 1.083%: 1% is 0.92×, 2% is 1.85×
    assert (s.share_min, s.share_median, s.share_max) == (0.01, 0.01, 0.02)
    assert s.share_mean == pytest.approx(1.3 / 120)

    assert s.prefixes == (KeyCount("10.0.1.0/24", 100), KeyCount("10.0.2.0/24", 15), KeyCount("other", 5, keys=5))
    assert s.n_prefixes == 7
    assert s.asns == (KeyCount("AS64500", 100, "ALPHA-NET"), KeyCount("AS64501", 15, "BETA"),
                      KeyCount("other", 3, keys=1))
    assert s.n_asns == 3 and s.no_asn == 2


def test_without_as_data_every_member_is_counted_apart():
    s = pool_summary(_planted_packets(), MEMBERS, SHARES, start_us=T0, end_us=END, asns=None)
    assert s.asns == () and s.no_asn == 120 and s.n_asns == 0
    assert len(s.prefixes) == 6 and s.prefixes[-1] == KeyCount("other", 2, keys=2)  # top 5, then the last two /24s


def test_no_packets_is_an_empty_histogram_and_bad_shares_are_refused():
    empty = pl.DataFrame(schema={"ts": pl.Datetime("us", "UTC"), "src": pl.UInt32})
    s = pool_summary(empty, MEMBERS, SHARES, start_us=T0, end_us=END)
    assert s.active == (0,) * 40 and s.n_active == 0 and s.peak == 0
    with pytest.raises(ValueError, match="119 shares for 120 members"):
        pool_summary(empty, MEMBERS, SHARES[:-1], start_us=T0, end_us=END)


@pytest.mark.parametrize("span_s", [20, 59, 600, 2_399, 3_600, 40_000, 86_400, 10 * 86_400, 45 * 86_400, 300 * 86_400])
def test_the_bin_width_gives_20_to_60_bins(span_s):
    span = span_s * 1_000_000
    width = bin_width(span)
    assert MIN_BINS <= -(-span // width) <= MAX_BINS
    assert width in BIN_STEPS_US or span > BIN_STEPS_US[-1] * MAX_BINS


def test_member_asns_takes_the_as_of_most_days():
    day1, day2, day3 = dt.date(2024, 2, 1), dt.date(2024, 2, 2), dt.date(2024, 2, 3)
    enrichment = pl.DataFrame({
        "src": [1, 1, 1, 2, 3], "day": [day1, day2, day3, day1, day1],
        "asn": [64501, 64500, 64500, None, 64509], "as_name": ["B", "A", "A", None, "Z"],
    }, schema={"src": pl.UInt32, "day": pl.Date, "asn": pl.UInt32, "as_name": pl.String}).lazy()
    found = member_asns(enrichment, [1, 2], [day1, day2, day3]).sort("src")
    assert found.to_dicts() == [{"src": 1, "asn": 64500, "as_name": "A"}]  # 2 has no AS, 3 is not a member
    assert member_asns(None, [1], [day1]) is None


def test_group_shares_sum_each_members_destinations_over_its_scans():
    a = candidate(sources=("192.0.2.1", "192.0.2.2"), dsts=(60, 40), union=100)
    b = candidate(port=80, sources=("192.0.2.2", "192.0.2.3"), dsts=(30, 70), union=100)
    members = [_ip(192, 0, 2, k) for k in (1, 2, 3, 4)]
    assert group_shares([a, b], members) == (0.6, 0.35, 0.7, 0.0)
    assert group_shares([a], members[:2]) == (0.6, 0.4)  # one scan: its split


def test_the_threshold_is_100_sources():
    assert POOL_MIN_SOURCES == 100


def test_the_chart_spreads_bins_over_its_width_and_labels_its_axes():
    rows = column_rows([0, 4, 8], width=9, height=1)
    assert rows == ["   ▄▄▄███"]
    chart, merged = activity_chart([1, 2, 3, 4], T0, MINUTE, width=20, height=2)
    lines = chart.plain.split("\n")
    assert merged == 1 and lines[0].startswith("4┤") and lines[1].startswith("0┤")
    assert lines[2].strip().startswith("17:00") and lines[2].rstrip().endswith("17:04")
    chart, merged = activity_chart(list(range(60)), T0, MINUTE, width=33, height=2)
    assert merged == 2 and len(chart.plain.split("\n")[0]) == 33  # 60 bins in 30 cells (gutter "59┤"): two a column


def test_key_table_shows_untrusted_as_names_literally():
    from rich.console import Console

    console = Console(width=80, record=True, color_system=None)
    console.print(key_table("by AS", [("AS64500", 3, "[bold]x\x1b[31m", 1)], 3, name_width=20))
    text = console.export_text()
    assert "[bold]x\\x1b[31m" in text and "AS64500" in text
    assert (pct(0.25), pct(0.0043), pct(0.00012)) == ("25.0%", "0.43%", "0.012%")


def test_scans_summary_cuts_each_scan_to_its_span_and_stops_when_told():
    from scantui.analysis.pool_summary import scans_summary

    ips = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
    a = candidate(sources=ips, dsts=(5, 5, 5), union=15, start_us=T0, end_us=T0 + 20 * MINUTE - 1)
    b = candidate(port=80, sources=ips[1:], dsts=(10, 5), union=15, start_us=T0 + 20 * MINUTE, end_us=END)
    members = sorted({*a.sources, *b.sources})

    def read(scan):  # every source once a minute over the whole 40 minutes: each scan keeps its own span only
        return pl.DataFrame({"ts": [T0 + m * MINUTE for m in range(40) for _ in scan.sources],
                             "src": [s for _m in range(40) for s in scan.sources]},
                            schema={"ts": pl.Int64, "src": pl.UInt32})

    s = scans_summary([a, b], members, read, None)
    assert s.bin_us == MINUTE and s.active == (3,) * 20 + (2,) * 20 and s.n_active == 3
    assert s.share_min == pytest.approx(5 / 15) and s.share_max == pytest.approx(0.5)  # 192.0.2.2: 15 of 30
    assert scans_summary([a, b], members, read, None, stop=lambda: True) is None


def test_width_text_names_each_bin_width():
    from scantui.analysis.pool_summary import width_text

    assert [width_text(w) for w in (15_000_000, MINUTE, 30 * MINUTE, 6 * 60 * MINUTE, 2 * 1440 * MINUTE)] == [
        "15s", "1m", "30m", "6h", "2d"]
    assert width_text(90 * MINUTE) == "90m" and width_text(500_000) == "0.5s"


def test_scans_summary_over_some_of_a_groups_scans_counts_only_those_scans_and_their_members():
    """A group's detail under a time range sums the scans it shows: the summary of two of three scans (the
    middle one left out) against a plain Python count of the members active per bin in those scans' spans."""
    from scantui.analysis.pool_summary import scans_members, scans_summary

    a = candidate(day="2024-02-05", sources=("192.0.2.1", "192.0.2.2", "192.0.2.3"), dsts=(6, 3, 1), union=10)
    b = candidate(day="2024-02-06", port=80, sources=("192.0.2.3", "192.0.2.4", "192.0.2.5"), union=9)
    c = candidate(day="2024-02-07", sources=("192.0.2.5", "192.0.2.6"), dsts=(8, 2), union=10)
    members = sorted({*a.sources, *b.sources, *c.sources})
    hour = 60 * MINUTE

    def read(scan):  # each source every 10 minutes from an hour before its scan to an hour after, one off
        rows = [(t, s) for t in range(scan.start_us - hour, scan.end_us + hour, 10 * MINUTE)
                for k, s in enumerate(scan.sources) if not (k == 1 and t > scan.start_us + hour)]
        return pl.DataFrame(rows, schema={"ts": pl.Int64, "src": pl.UInt32}, orient="row")

    shown = [a, c]
    inside = scans_members(shown, members)
    assert inside == tuple(m for m in members if m in {*a.sources, *c.sources}) and len(inside) == 5
    assert scans_members([c, a]) == (*c.sources, *a.sources)  # without members: in the order first seen
    s = scans_summary(shown, inside, read, None)

    start, end = a.start_us, c.end_us
    active: dict[int, set[int]] = {}
    for scan in shown:  # plain Python: every packet of a scan shown, inside its own span
        for ts, src in read(scan).iter_rows():
            if scan.start_us <= ts <= scan.end_us:
                active.setdefault((ts - start) // s.bin_us, set()).add(src)
    n_bins = -(-(end - start + 1) // s.bin_us)
    assert (s.start_us, s.end_us, s.n_sources, s.n_active) == (start, end, 5, 5)
    assert s.active == tuple(len(active.get(k, ())) for k in range(n_bins)) and max(s.active) == 3
    dsts = {**dict(zip(a.sources, a.dsts)), **dict(zip(c.sources, c.dsts))}
    expected = sorted(dsts[m] / 10 for m in inside)  # 192.0.2.3 and .5: their share of a, of c (b left out)
    assert (s.share_min, s.share_max) == (expected[0], expected[-1]) and s.share_median == pytest.approx(0.3)
    every = scans_summary([a, b, c], members, read, None)  # all three: 192.0.2.4 and b's span in it
    assert every.n_sources == 6 and every.active != s.active
