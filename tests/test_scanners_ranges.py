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
