"""The rollup's ZMap walk step on dev days: pre-screened pairs (tagged apart) and the step's CPU.

Usage: ``PYTHONPATH=src python benchmarks/measure_zmap_rollup_days.py /work/benchdata/days-600000/2024-02-01.parquet ...``
(run once with main's sources and once with a branch's to compare). The telescope size is the day's
distinct destinations (what ``day_totals`` sums in the rollup)."""

from __future__ import annotations

import argparse
import time

import polars as pl

from scantui.analysis import zmap_rollup as zr
from scantui.io.schema import conform


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("days", nargs="+", metavar="DAY.parquet", help="day files of the canonical table")
    for path in parser.parse_args(argv).days:
        lf = conform(pl.scan_parquet(path))
        size = int(lf.select(pl.col("dst").n_unique()).collect().item())
        c0 = time.process_time()
        pairs = zr.prescreen(lf).collect(engine="streaming")
        c1 = time.process_time()
        groups = zr.candidate_probes(lf, pairs) if pairs.height else pl.DataFrame()
        found = zr.match_pairs(groups, size) if groups.height else pl.DataFrame(schema=zr.SCHEMA)
        c2 = time.process_time()
        tagged = int(pairs["tagged"].sum()) if "tagged" in pairs.columns else 0
        print(f"{path.rsplit('/', 1)[-1]}: telescope {size:,}, pairs {pairs.height:,} (tagged {tagged:,}), "
              f"tested {groups.height:,}, matches {found.height}, pre-screen {c1 - c0:.2f} CPU s, "
              f"tests {c2 - c1:.2f} CPU s")


if __name__ == "__main__":
    main()
