"""A folder of thousands of small captures is read as a few streams, not one source per file.

One polars source per file made the time quadratic in the file count (10,000
hourly files never finished); the plan must hold a bounded number of sources.
"""

from __future__ import annotations

import polars as pl

from pcapbuild import NgWriter, Rec, ether, ipv4, tcp, write_pcap
from scantui.io.captures import MAX_STREAMS, split_runs
from scantui.io.loader import open_inputs


def test_two_thousand_small_captures_make_a_bounded_plan(tmp_path):
    folder = tmp_path / "hours"
    folder.mkdir()
    n = 2000
    for i in range(n):
        frame = ether(ipv4(src=i, payload=tcp(dport=i % 65536)))
        if i % 10 == 3:  # some pcapng among them, read by the same streams
            NgWriter().shb().idb().epb(frame, (1_700_000_000 + i) * 1_000_000).write(folder / f"h{i:05d}.pcapng")
        else:
            write_pcap(folder / f"h{i:05d}.pcap", [Rec(frame, ts=1_700_000_000.0 + i)])
    dataset = open_inputs([folder])
    plan = dataset.lf.explain(optimized=False)
    assert plan.count("PYTHON[") == MAX_STREAMS  # not one per file
    df = dataset.lf.select("ts", "src").collect()
    assert df["src"].to_list() == list(range(n))  # every file, in file order
    assert df["ts"].dt.epoch("s").to_list() == [1_700_000_000 + i for i in range(n)]
    assert len(dataset.stats.files()) == n  # per-file statistics are kept


def test_few_captures_keep_a_source_each(tmp_path):
    for i in range(3):
        write_pcap(tmp_path / f"{i}.pcap", [Rec(ether(ipv4(src=i, payload=tcp())))])
    dataset = open_inputs([tmp_path])
    assert dataset.lf.explain(optimized=False).count("PYTHON[") == 3
    assert dataset.lf.select(pl.col("src")).collect()["src"].to_list() == [0, 1, 2]


def test_split_runs_is_contiguous_and_balanced():
    paths = list(range(19))
    runs = split_runs(paths, 8)
    assert [x for run in runs for x in run] == paths
    assert sorted(len(r) for r in runs) == [2] * 5 + [3] * 3
