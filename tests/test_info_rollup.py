"""``scantui info`` from the rollup's tables equals the one pass over the packets it replaces."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from clihelp import run
from scantui.analysis.summary import summarize
from scantui.enrich.rules import load_rules
from scantui.io.loader import open_inputs
from scantui.workspace import Workspace

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
INPUTS = ["telescope.parquet", "cuts/telescope-cut.pcap", "cuts/telescope-cut.pcapng", "cuts/iptables.csv",
          "cuts/iptables.log"]


@pytest.mark.parametrize("name", INPUTS)
def test_the_rollup_summary_equals_the_packet_pass(name, shared_rollup_cache):
    rules = load_rules(None)
    path = SAMPLE_DIR / name
    from_packets = summarize(open_inputs([path]).lf, rules=rules)
    ws = Workspace.open([path])
    from_rollup = ws.summary(rules)
    assert ws.rollup().dst_pairs is not None  # it did come from the rollup
    assert from_rollup == from_packets
    assert from_rollup["packets"] > 0 and from_rollup["organizations"]["identified_packets"] > 0


def test_the_summary_of_several_files_over_more_days(tmp_path, canonical_parquet, canonical_df):
    other = tmp_path / "shifted.parquet"
    import polars as pl

    canonical_df.with_columns(pl.col("ts") + pl.duration(days=9), (pl.col("dst") + 7).alias("dst")).write_parquet(other)
    paths = [canonical_parquet, other]
    rules = load_rules(None)
    want = summarize(open_inputs(paths).lf, rules=rules)
    got = Workspace.open(paths, cache_dir=tmp_path / "cache").summary(rules)
    assert got == want and got["days"] == 8


def test_info_twice_reads_the_rollup_and_keeps_what_was_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    pcap = str(SAMPLE_DIR / "cuts" / "telescope-cut.pcap")
    code, first, err = run(["info", pcap, "--json"], capsys)
    assert code == 0, err
    assert list((tmp_path / "cache" / "rollups").iterdir())  # info built the rollup
    code, second, err = run(["info", pcap, "--json"], capsys)
    assert code == 0, err
    assert second == first
    assert json.loads(second)["skipped"] == {"ipv6": 5, "non_ip": 3}  # from the rollup's record, not a re-read


def test_info_on_a_rollup_that_gave_up_its_merged_state(tmp_path, canonical_df):
    """Once a newer rollup extended it, the older one has no merged destination pairs: ``info`` counts
    destinations from every day's pairs instead (still not a pass over the packets), with the same figures."""
    import polars as pl

    from scantui.analysis import rollup_days as rd

    days = [g for _, g in canonical_df.sort("ts").group_by(pl.col("ts").dt.date(), maintain_order=True)]
    paths = []
    for i, part in enumerate(days):
        path = tmp_path / f"day{i}.parquet"
        part.write_parquet(path)
        paths.append(path)
    cache = tmp_path / "cache"
    rules = load_rules(None)
    assert len(paths) >= 3
    Path(os.environ["SCANTUI_CONFIG"]).write_text("rollup:\n  late_days: 0\n")  # the default keeps one more link
    older = Workspace.open(paths[:-2], cache_dir=cache)
    older.rollup()
    Workspace.open(paths[:-1], cache_dir=cache).rollup()  # extends the older one
    Workspace.open(paths, cache_dir=cache).rollup()  # extends that one: the older one gives up its merged state
    again = Workspace.open(paths[:-2], cache_dir=cache)
    assert not (again.rollup().path / rd.MERGE).exists() and again.rollup().packet_source() is not None
    assert again.summary(rules) == summarize(open_inputs(paths[:-2]).lf, rules=rules)


def test_organizations_one_source_range_at_a_time_are_those_of_one_pass(shared_rollup_cache, monkeypatch):
    """Above a budget of (source, day) groups the organizations' per-source rows are made range by range, each range
    reduced to a row per source: the same shares as one pass over every group (and as the packets)."""
    import polars as pl

    from scantui.analysis import port_lists
    from scantui.analysis import summary_rollup as sr

    rules = load_rules(None)
    path = SAMPLE_DIR / "telescope.parquet"
    want = summarize(open_inputs([path]).lf, rules=rules)
    groups = Workspace.open([path]).rollup().src_totals.select(pl.col("days").cast(pl.Int64).sum()).collect().item()
    monkeypatch.setattr(sr, "PAIRS_PER_RANGE", groups // 7)
    seen = []
    ranges = port_lists.source_ranges
    monkeypatch.setattr(port_lists, "source_ranges", lambda *a, **k: seen.append(ranges(*a, **k)) or seen[-1])
    got = Workspace.open([path]).summary(rules)
    assert len(seen) == 1 and len(seen[0]) >= 7
    assert got == want and got["organizations"]["identified_packets"] > 0


def test_a_source_whose_as_changes_counts_under_its_busiest_days_by_range_too(tmp_path, canonical_df, monkeypatch):
    """A source in Censys' AS on one day (5 probes) and driftnet.io's on the next (50): its packets go to the
    organization of its busiest day, in one pass over the packets and in a rollup made range by range."""
    import datetime as dt

    import polars as pl

    from scantui.analysis import summary_rollup as sr

    src = 0x0A0B0C0D
    probe = canonical_df.filter(pl.col("proto") == 6, pl.col("tcp_flags") == 2).head(1)
    day = dt.datetime(2024, 2, 2, 10, tzinfo=dt.timezone.utc)
    rows = [probe.with_columns(pl.lit(src, pl.UInt32).alias("src"), pl.lit(day + dt.timedelta(days=d, seconds=i)).dt.cast_time_unit("us")
                               .alias("ts"), (pl.col("dst") + i).alias("dst"), pl.lit(asn, pl.UInt32).alias("asn"))
            for d, n, asn in ((0, 5, 398324), (1, 50, 211298)) for i in range(n)]
    data = pl.concat([canonical_df.with_columns(pl.lit(None, pl.UInt32).alias("asn")), *rows]).sort("ts")
    path = tmp_path / "as-change.parquet"
    data.write_parquet(path)
    rules = load_rules(None)
    want = summarize(open_inputs([path]).lf, rules=rules)
    assert {o["org"]: o["packets"] for o in want["organizations"]["top"]} == {"driftnet.io": 55}
    monkeypatch.setattr(sr, "PAIRS_PER_RANGE", 100)
    assert Workspace.open([path], cache_dir=tmp_path / "cache").summary(rules) == want
