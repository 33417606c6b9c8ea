"""``scantui info`` from the rollup's per-source tables: per protocol and per traffic class (protocols other than
TCP, UDP and ICMP, a packet without a protocol), tools and organizations without organization columns, equal to
the pass over the packets."""

from __future__ import annotations

import polars as pl

from scantui.analysis.summary import summarize
from scantui.enrich.rules import load_rules
from scantui.io.loader import open_inputs
from scantui.workspace import Workspace


def test_other_protocols_and_no_organization_columns_equal_the_packet_pass(tmp_path, canonical_df):
    n = canonical_df.height
    odd = canonical_df.head(40).with_columns(  # GRE, ESP, SCTP and no protocol at all, among the usual ones
        pl.Series("proto", [47] * 10 + [50] * 10 + [132] * 15 + [None] * 5, dtype=canonical_df.schema["proto"]))
    path = tmp_path / "odd.parquet"
    pl.concat([canonical_df.tail(n - 40), odd]).write_parquet(path)
    rules = load_rules(None)
    want = summarize(open_inputs([path]).lf, rules=rules)
    got = Workspace.open([path], cache_dir=tmp_path / "cache").summary(rules)
    assert got == want
    assert {"47", "50", "132", "unknown", "tcp"} <= set(got["protocols"]) and got["protocols"]["unknown"] == 5
    # from the days' protocol tables; a rollup merged before them sums port_day's rows: the same figures
    import shutil

    from scantui.analysis import day_protocols as dpr

    rollup = Workspace.open([path], cache_dir=tmp_path / "cache").rollup()
    assert rollup.protocols.filter(pl.col("kind") == "other").select(pl.col("packets").sum()).collect().item() == 40
    shutil.rmtree(rollup.path / dpr.TABLE.table)
    assert Workspace.open([path], cache_dir=tmp_path / "cache").summary(rules) == want
    assert sum(got["protocols"].values()) == got["packets"] == n
    assert got["traffic"]["other"] >= 40 and got["organizations"]


def test_destinations_come_from_the_days_tables_and_an_older_day_gets_its_table(tmp_path, canonical_df):
    import shutil

    from scantui.analysis import day_destinations as dd

    path = tmp_path / "days.parquet"
    canonical_df.write_parquet(path)
    want = canonical_df.select(pl.col("dst").n_unique()).item()
    per_day = canonical_df.group_by(pl.col("ts").dt.date().alias("day")).agg(pl.col("dst").unique().sort())
    ws = Workspace.open([path], cache_dir=tmp_path / "cache")
    rollup = ws.rollup()
    got = rollup.destinations.collect().group_by("day").agg(pl.col("dst").sort())
    assert per_day.height >= 2 and got.sort("day").equals(per_day.sort("day"))
    assert ws.summary(load_rules(None))["destinations"] == want
    # days built before the table: the next merge writes it from each day's pairs; until then the merged pairs count
    states = list(rollup.packet_source().states.values())
    for state in states:
        (state / dd.TABLE.day_file).unlink()
    shutil.rmtree(rollup.path / dd.TABLE.table)
    assert rollup.destinations is None
    assert Workspace.open([path], cache_dir=tmp_path / "cache").summary(load_rules(None))["destinations"] == want
    shutil.rmtree(rollup.path)
    built = [(state / "src_dsts.parquet").stat().st_mtime_ns for state in states]
    again = Workspace.open([path], cache_dir=tmp_path / "cache").rollup()
    assert all((state / dd.TABLE.day_file).is_file() for state in states)
    assert [(state / "src_dsts.parquet").stat().st_mtime_ns for state in states] == built  # the days kept, not rebuilt
    assert again.destinations.collect().group_by("day").agg(pl.col("dst").sort()).sort("day").equals(per_day.sort("day"))


def test_a_day_state_that_cannot_take_the_table_leaves_the_rollup_without_it(tmp_path, canonical_df):
    """The file cannot be written into one day state (a folder stands at its name, as a read-only or full store
    would refuse it): the rollup is still built, without the days' table, and info counts the merged pairs."""
    import shutil

    from scantui.analysis import day_destinations as dd

    path = tmp_path / "days.parquet"
    canonical_df.write_parquet(path)
    rollup = Workspace.open([path], cache_dir=tmp_path / "cache").rollup()
    states = list(rollup.packet_source().states.values())
    for state in states:
        (state / dd.TABLE.day_file).unlink()
    (states[-1] / dd.TABLE.day_file).mkdir()
    shutil.rmtree(rollup.path)
    ws = Workspace.open([path], cache_dir=tmp_path / "cache")
    assert ws.rollup().destinations is None and (states[0] / dd.TABLE.day_file).is_file()
    assert ws.summary(load_rules(None))["destinations"] == canonical_df.select(pl.col("dst").n_unique()).item()
