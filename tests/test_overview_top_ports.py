"""The overview's busiest ports: the ten with the most probe packets (ties: the lower port), with their distinct
sources, as counted from the packets themselves (the sources are counted for those ten ports only)."""

from __future__ import annotations

import numpy as np
import polars as pl

from scantui.analysis.traffic import is_probe
from scantui.workspace import Workspace


def test_the_top_ports_and_their_sources_are_those_of_the_packets(tmp_path, canonical_df):
    rng = np.random.default_rng(7)
    n = canonical_df.height
    # 30 ports, some with equal probe counts (ties), sources spread unevenly over them
    df = canonical_df.with_columns(pl.Series("dport", rng.choice([21, 22, 23, 25, 53, 80, 443, 8080] + list(range(1000, 1022)), n),
                                             dtype=canonical_df.schema["dport"]))
    path = tmp_path / "ports.parquet"
    df.write_parquet(path)
    ws = Workspace.open([path], cache_dir=tmp_path / "cache")
    ws.telescope()
    shown = [(p.port, p.packets, p.sources) for p in ws.overview().top_ports]
    want = (df.filter(is_probe()).group_by("dport").agg(pl.len().alias("packets"), pl.col("src").n_unique().alias("sources"))
            .sort(["packets", "dport"], descending=[True, False]).head(10))
    assert ws.rollup().port_sources is not None  # the sources from the merge's per-port counts
    assert shown == [tuple(int(v) for v in row) for row in want.select("dport", "packets", "sources").iter_rows()]
    assert len(shown) == 10 and len(set(p for _, p, _ in shown)) < 10  # ties among the ten


def test_the_ports_come_from_the_days_port_tables_and_an_older_day_gets_its_table(tmp_path, canonical_df):
    import shutil

    from scantui.analysis import day_ports as dp
    from scantui.analysis import port_sources as ps

    path = tmp_path / "days.parquet"
    canonical_df.write_parquet(path)
    per_day = (canonical_df.filter(is_probe()).group_by(pl.col("ts").dt.date().alias("day"), "dport")
               .agg(pl.len().alias("packets")).sort("day", "dport"))
    ws = Workspace.open([path], cache_dir=tmp_path / "cache")
    ws.telescope()
    rollup = ws.rollup()
    got = rollup.port_totals.collect().sort("day", "dport")
    assert per_day["day"].n_unique() >= 2 and got.select("day", "dport", pl.col("packets").cast(pl.UInt32)).equals(
        per_day.select("day", "dport", pl.col("packets").cast(pl.UInt32)))
    shown = ws.overview().top_ports
    # a rollup merged before the table: the same ports from port_day; its next merge writes each day's table
    states = list(rollup.packet_source().states.values())
    for state in states:
        (state / dp.TABLE.day_file).unlink()
    shutil.rmtree(rollup.path / dp.TABLE.table)
    (rollup.path / ps.FILE).unlink()
    before = Workspace.open([path], cache_dir=tmp_path / "cache")
    before.telescope()
    # and the sources counted from port_day's rows of those ports, without the merge's counts
    assert before.rollup().port_totals is None and before.rollup().port_sources is None
    assert before.overview().top_ports == shown
    shutil.rmtree(rollup.path)
    again = Workspace.open([path], cache_dir=tmp_path / "cache")
    again.telescope()
    assert again.rollup().port_totals.collect().sort("day", "dport").equals(got) and again.overview().top_ports == shown


def test_a_port_past_two_to_the_32_probe_packets_is_summed_in_64_bits():
    from scantui.analysis import day_ports as dp

    days = pl.DataFrame({"dport": pl.Series([80, 80, 443], dtype=pl.UInt16),
                         "packets": pl.Series([4_000_000_000, 4_000_000_000, 5], dtype=pl.UInt32)})
    assert dp.busiest(days.lazy(), 10).collect().rows() == [(80, 8_000_000_000), (443, 5)]
