"""``port_day_by_port``: each day's ``port_day`` rows sorted by (kind, dport, src), so the queries filtered by
port (the scanner list's ``--port``, collab's ``--port``, the TUI's port filter) read only that port's row
groups instead of every day's whole ``dport`` column; the answers are the same as from ``port_day``."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from canonical import make_canonical
from rollup_patch import patch_rollup
from scantui.analysis import rollup as ru
from scantui.analysis import rollup_cache as rc
from scantui.analysis.collab import collab_scans
from scantui.analysis.collab_query import CollabQuery
from scantui.analysis.scanners import ScannerQuery, scanner_list
from scantui.io.loader import open_inputs
from scantui.workspace.core import Workspace

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "telescope.parquet"


def test_the_copy_holds_the_same_rows_sorted_by_port_in_every_day(tmp_path):
    df = make_canonical(n=3000, seed=4, days=3)
    df.write_parquet(tmp_path / "in.parquet")
    rollup = rc.open_rollup(open_inputs([tmp_path / "in.parquet"]), cache_dir=tmp_path / "cache")
    keys = list(ru.PORT_DAY_KEYS)
    assert_frame_equal(rollup.port_day_by_port.collect().sort(keys, nulls_last=True),
                       rollup.port_day.collect().sort(keys, nulls_last=True))
    days = sorted((rollup.path / ru.PORT_DAY_BY_PORT).iterdir())
    assert [d.name for d in days] == sorted(d.name for d in (rollup.path / ru.PORT_DAY).iterdir()) and len(days) == 3
    for folder in days:
        table = pl.read_parquet(folder / "00000000.parquet")
        assert table.height and table.equals(table.sort("kind", "dport", "src", nulls_last=True, maintain_order=True))


def test_a_port_filter_reads_only_the_row_groups_of_the_port(tmp_path, monkeypatch, capfd):
    patch_rollup(monkeypatch, "ROW_GROUP", 200)
    patch_rollup(monkeypatch, "NARROW_ROW_GROUP", 200)  # port_day itself (sorted by source)
    df = make_canonical(n=4000, seed=6, days=1)
    df.write_parquet(tmp_path / "in.parquet")
    rollup = rc.open_rollup(open_inputs([tmp_path / "in.parquet"]), cache_dir=tmp_path / "cache")
    port = int(rollup.port_day.collect()["dport"].drop_nulls().mode()[0])
    for table, pruned in ((rollup.port_day_by_port, True), (rollup.port_day, False)):
        capfd.readouterr()
        with pl.Config(verbose=True):
            got = table.filter(pl.col("dport") == port).collect()
        log = capfd.readouterr().err
        assert got.height > 0
        read = [line for line in log.splitlines() if "row groups" in line and "reading" in line]
        assert read, log
        n_read, n_all = (int(x) for x in read[-1].split("reading ")[1].split(" row groups")[0].split(" / "))
        assert (n_read < n_all) is pruned and n_all > 3, read


@pytest.mark.parametrize("query", [
    ScannerQuery(ports=(443,)), ScannerQuery(ports=(22, 23, 3306), sort="dsts", top=30),
    ScannerQuery(ports=(80,), include_udp=True, min_packets=5), ScannerQuery(ports=(53,), include_udp=True),
])
def test_the_scanner_list_by_port_equals_the_one_from_port_day(query, shared_rollup_cache):
    ws = Workspace.open([SAMPLE])
    rollup = ws.rollup()
    assert rollup.port_day_by_port is not None
    size = ws.telescope()[0]
    plain = scanner_list(rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment, query=query,
                         telescope_size=size, packets=ws.packet_source(), src_profile=rollup.src_profile)
    mine = ws.scanners(query)
    assert mine.total == plain.total and mine.frame.height > 0
    assert_frame_equal(mine.frame, plain.frame)


def test_collab_and_the_port_filter_by_port_equal_port_day(shared_rollup_cache):
    ws = Workspace.open([SAMPLE])
    query = CollabQuery(ports=(3306, 27017, 445))
    found = ws.collab(query)
    assert found.candidates and {c.port for c in found.candidates} <= {3306, 27017, 445}
    plain = collab_scans(ws.packet_source(), port_day=ws.rollup().port_day, enrichment=ws.rollup().enrichment,
                         telescope_size=ws.telescope()[0], query=query)
    assert [c.to_json() for c in found.candidates] == [c.to_json() for c in plain.candidates]
    on_ports = ws.sources_on_ports(((3306, 3306), (440, 450)))
    want = (ws.rollup().port_day.filter((pl.col("kind") == "probe") & (pl.col("dport").is_between(3306, 3306)
            | pl.col("dport").is_between(440, 450))).select("src").unique().collect()["src"])
    assert sorted(on_ports.to_list()) == sorted(want.to_list()) and len(want)


def test_a_rollup_without_the_copy_reads_port_day(tmp_path):
    df = make_canonical(n=2000, seed=8, days=2)
    df.write_parquet(tmp_path / "in.parquet")
    ws = Workspace.open([tmp_path / "in.parquet"], cache_dir=tmp_path / "cache")
    query = ScannerQuery(ports=(int(df["dport"][0]),))
    before = ws.scanners(query).frame
    shutil.rmtree(ws.rollup().path / ru.PORT_DAY_BY_PORT)  # e.g. a rollup cached before the copy existed
    again = Workspace.open([tmp_path / "in.parquet"], cache_dir=tmp_path / "cache")
    assert again.rollup().port_day_by_port is None
    assert_frame_equal(again.scanners(query).frame, before)
