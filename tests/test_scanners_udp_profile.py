"""``--include-udp`` from the profile rows (:mod:`scantui.analysis.scanner_profile`) is the list the rows give.

Data with sources of every mix: TCP probes only, UDP only, and both (the same port in TCP and UDP, destinations
shared across the kinds so that they do not add up), at two sensors over several days. The profile answer
(``src_profile`` given) equals the row path's (none given), column for column; a mixed source's destinations are
the distinct destinations of its packets; without mixed sources no ``port_day`` row is read.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scantui.analysis import scanner_profile
from scantui.analysis import scanners as sc
from scantui.analysis.scanner_query import ScannerQuery, parse_source_cidrs
from scantui.analysis.scanners import scanner_list
from scantui.io.schema import conform

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def _packets() -> pl.DataFrame:
    rows = []

    def add(src: str, dst: int, dport: int, day: int, minute: int, proto: int, *, nmap: bool = False) -> None:
        row = {"ts": T0 + dt.timedelta(days=day, minutes=minute, seconds=dst % 50), "src": ip(src),
               "dst": ip("198.18.0.0") + dst, "proto": proto, "sport": 40000 + minute, "dport": dport,
               "ip_id": 54321 if not nmap else 7, "ttl": 50, "ip_len": 44 if proto == 6 else 60,
               "sensor": ("t1", "t2")[(dst + day) % 2], "asn": 64500 + ip(src) % 3, "as_name": "EXAMPLE"}
        if proto == 6:
            row |= {"tcp_flags": 2, "tcp_seq": 1000 + dst, "tcp_ack": 0, "tcp_window": 1024 if nmap else 64240,
                    "tcp_mss": 1460}
        rows.append(row)

    for s in range(24):
        src, mix = f"10.1.{s}.{s + 1}", s % 3  # 0: TCP only, 1: UDP only, 2: both
        for day in range(s % 4, 7, 1 + s % 3):
            for d in range(3 + s % 5):
                dst = (s * 7 + d * 3 + day) % 60
                if mix in (0, 2):
                    add(src, dst, (22, 80, 443, 53)[(s + d) % 4], day, d, 6, nmap=s % 4 == 0)
                if mix in (1, 2):
                    add(src, dst + (d % 2), (53, 123, 161)[(s + d) % 3], day, d + 30, 17)
    return pl.DataFrame(rows, infer_schema_length=None)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.io.loader import open_inputs

    folder = tmp_path_factory.mktemp("mixed")
    df = _packets()
    conform(df.lazy()).collect().write_parquet(folder / "mixed.parquet")
    rollup = open_rollup(open_inputs([str(folder / "mixed.parquet")]), cache_dir=folder / "cache")
    return df, rollup


def _lists(rollup, q: ScannerQuery, packets=True):
    tables = (rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment)
    source = rollup.packet_source() if packets else None
    return (scanner_list(*tables, query=q, src_profile=rollup.src_profile, packets=source),
            scanner_list(*tables, query=q, packets=source))


def _mixed(df: pl.DataFrame) -> set[int]:
    kinds = df.group_by("src").agg(pl.col("proto").n_unique().alias("n"))
    return set(kinds.filter(pl.col("n") == 2)["src"].to_list())


QUERIES = [
    {"include_udp": True},
    {"include_udp": True, "sort": "dsts", "top": 5},
    {"include_udp": True, "top": 4},
    {"include_udp": True, "sort": "coverage_max", "descending": False},
    {"include_udp": True, "tools": ("nmap",)},
    {"include_udp": True, "min_packets": 12, "sort": "src"},
    {"include_udp": True, "cidrs": parse_source_cidrs("10.1.0.0/20")},
    {"include_udp": True, "asns": (64501,)},
]


@pytest.mark.parametrize("query", QUERIES, ids=[",".join(f"{k}={v}" for k, v in q.items()) for q in QUERIES])
def test_the_profile_rows_answer_include_udp_as_the_rows_do(data, query):
    df, rollup = data
    fast, slow = _lists(rollup, ScannerQuery(**query))
    assert fast.frame.height > 0 and fast.frame["dsts"].null_count() == 0
    assert (fast.total, fast.n_days, fast.dsts_from) == (slow.total, slow.n_days, slow.dsts_from)
    assert_frame_equal(fast.frame, slow.frame)


def test_a_mixed_source_has_its_exact_destinations_and_one_row(data):
    df, rollup = data
    fast, _ = _lists(rollup, ScannerQuery(include_udp=True))
    mixed = _mixed(df)
    assert len(mixed) == 8
    want = df.filter(pl.col("src").is_in(list(mixed))).group_by("src").agg(
        pl.col("dst").n_unique().alias("dsts"), pl.len().alias("packets"))
    got = fast.frame.filter(pl.col("src").is_in(list(mixed))).select("src", "dsts", "packets")
    assert fast.frame["src"].is_unique().all()
    assert_frame_equal(got.sort("src"), want.sort("src"), check_dtypes=False)
    # destinations shared across the kinds: the per-kind totals would overcount
    totals = rollup.src_totals.filter(pl.col("src").is_in(list(mixed))).group_by("src").agg(pl.col("dsts").sum())
    assert (totals.collect().sort("src")["dsts"] > want.sort("src")["dsts"]).any()


def test_mixed_sources_in_source_ranges(data, monkeypatch):
    _, rollup = data
    q = ScannerQuery(include_udp=True, sort="dsts")
    whole, _ = _lists(rollup, q)
    monkeypatch.setattr(sc, "ROW_PACKETS_PER_RANGE", 40)  # the mixed sources' rows in several ranges
    calls = []
    ranged = scanner_profile.from_ranges
    monkeypatch.setattr(scanner_profile, "from_ranges", lambda *a, **kw: calls.append(1) or ranged(*a, **kw))
    parts, _ = _lists(rollup, q)
    assert calls and parts.dsts_from == whole.dsts_from == "days"
    assert_frame_equal(parts.frame, whole.frame)


def test_without_the_packets_only_the_mixed_sources_lack_destinations(data):
    df, rollup = data
    fast, _ = _lists(rollup, ScannerQuery(include_udp=True), packets=False)
    empty = set(fast.frame.filter(pl.col("dsts").is_null())["src"].to_list())
    assert empty == _mixed(df) and fast.dsts_from == "unavailable"
    assert any("both TCP and UDP" in n for n in fast.notes)


def test_without_mixed_sources_no_row_is_read(data, monkeypatch):
    df, rollup = data
    tcp_only = parse_source_cidrs("10.1.0.0/24,10.1.3.0/24,10.1.1.0/24")  # sources 0 (TCP), 3 (TCP), 1 (UDP)

    def refused(*_a, **_kw):
        raise AssertionError("port_day rows read")

    monkeypatch.setattr(scanner_profile, "_from_rows", refused)
    monkeypatch.setattr(scanner_profile, "from_ranges", refused)
    fast, _ = _lists(rollup, ScannerQuery(include_udp=True, cidrs=tcp_only))
    assert fast.frame.height == 3 and fast.dsts_from == "src_totals" and fast.frame["dsts"].null_count() == 0
