"""A row-level scanner list (``--include-udp``, ``--since/--until``, ``--tool``...) computed one source range at a
time above a budget of packets is the list computed at once (a source's columns are its own)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from scantui.analysis import scanner_rows
from scantui.analysis import scanners as sc
from scantui.analysis.scanner_query import ScannerQuery, parse_source_cidrs
from scantui.analysis.scanners import scanner_list

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "telescope.parquet"


@pytest.fixture(scope="module")
def rollup(tmp_path_factory):
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.io.loader import open_inputs

    return open_rollup(open_inputs([str(SAMPLE)]), cache_dir=tmp_path_factory.getbasetemp() / "scantui-cache")


QUERIES = [  # --include-udp alone: the profile rows (its ranges: test_scanners_udp_profile)
    {"include_udp": True, "since": dt.date(2024, 2, 2)},
    {"include_udp": True, "until": dt.date(2024, 2, 13), "top": 30, "sort": "dsts"},
    {"since": dt.date(2024, 2, 3), "until": dt.date(2024, 2, 12), "top": 50},
    {"since": dt.date(2024, 2, 5), "tools": ("zmap", "masscan"), "min_packets": 20, "sort": "schedule_strength"},
    {"include_udp": True, "since": dt.date(2024, 2, 2), "cidrs": parse_source_cidrs("0.0.0.0/1"),
     "sort": "avg_scan_interval_days", "descending": False},
    {"until": dt.date(2024, 2, 10), "asns": (398324, 6939, 10439), "sort": "src"},
]


@pytest.mark.parametrize("query", QUERIES, ids=[",".join(q) for q in QUERIES])
def test_the_list_in_source_ranges_is_the_list_at_once(rollup, monkeypatch, query):
    tables = (rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment)
    q = ScannerQuery(**query)

    def listing():
        return scanner_list(*tables, query=q, src_profile=rollup.src_profile, packets=rollup.packet_source())

    whole = listing()
    calls = []
    ranged = scanner_rows.from_ranges

    def counted(*args, **kw):
        out = ranged(*args, **kw)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(sc, "from_ranges", counted)
    monkeypatch.setattr(sc, "ROW_PACKETS_PER_RANGE", 120_000)  # the sample's ~1 M packets in several ranges
    parts = listing()
    assert calls == [True]
    assert whole.frame.height > 0
    assert (parts.total, parts.n_days, parts.dsts_from) == (whole.total, whole.n_days, whole.dsts_from)
    assert_frame_equal(parts.frame, whole.frame)
    assert whole.frame["dsts"].null_count() == 0


@pytest.mark.parametrize("query", QUERIES, ids=[",".join(q) for q in QUERIES])
def test_a_range_of_several_sources_bounds_its_pairs_unless_sources_were_left_out(rollup, monkeypatch, query):
    """The ranges' destination pairs are counted without a pass to size them only with a bound that holds: a range
    of several sources has at most the budget's selected packets, so at most that many pairs, when no source of it
    was left out of the rows (``--asn``, a CIDR)."""
    import polars as pl

    q = ScannerQuery(**query)
    seen = []
    count = scanner_rows.exact_dsts

    def spied(packets, q_, srcs, active, within, sink, pairs_at_most):
        pairs = packets.pairs([d for d in packets.days() if (not q_.since or d >= q_.since)
                               and (not q_.until or d <= q_.until)])
        pairs = pairs.filter(pl.col("kind").cast(pl.String).is_in(q_.kinds) & pl.col("src").is_between(*within))
        seen.append((within, pairs_at_most, pairs.select(pl.len()).collect().item()))
        return count(packets, q_, srcs, active, within, sink, pairs_at_most)

    monkeypatch.setattr(scanner_rows, "exact_dsts", spied)
    monkeypatch.setattr(sc, "ROW_PACKETS_PER_RANGE", 30_000)  # the sample's busiest sources (36-66 k) alone
    scanner_list(rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment, query=q,
                 src_profile=rollup.src_profile, packets=rollup.packet_source())
    assert len(seen) >= 2
    left_out = bool(q.asns or q.cidrs)
    assert left_out or any(lo == hi for (lo, hi), _, _ in seen)
    for (lo, hi), bound, n in seen:
        assert bound is None if left_out or lo == hi else bound == 30_000
        assert bound is None or n <= bound
