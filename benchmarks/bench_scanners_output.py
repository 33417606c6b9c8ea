"""``scantui scanners --json/--csv`` serialisation: the row-by-row path against the bulk one.

    python benchmarks/bench_scanners_output.py                   # 10 M packets
    python benchmarks/bench_scanners_output.py --rows 2000000

The packet table is generated once under ``benchmarks/data/`` (``bench_analysis.generate``)
and the rollup is cached (``SCANTUI_CACHE_DIR`` there), so what is timed is the listing only:
the scanner list frame is computed once, then each serialiser writes the whole list to
/dev/null (wall time and the process's CPU time, which a busy machine inflates less). *row by row*: ``records()`` + ``json.dump`` / ``csv.writer`` (what the CLI did
before issue 10); *bulk*: :mod:`scantui.analysis.scanners_text` (what it does now), also
checked to give the same text. Then the whole command, ``scantui scanners PATH --json|--csv
> /dev/null``, is timed as a user runs it. Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def row_by_row_json(df, out) -> None:
    from scantui.analysis.scanners import records

    json.dump(records(df), out, ensure_ascii=False)
    out.write("\n")


def row_by_row_csv(df, out) -> None:
    from scantui.analysis.scanners import COLUMNS, records

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in records(df):
        writer.writerow([json.dumps(v) if isinstance(v, (dict, list)) else v for v in (row.get(c) for c in COLUMNS)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import bench_analysis

    DATA.mkdir(exist_ok=True)
    data = DATA / f"packets-{args.rows}.parquet"
    if not data.exists():
        bench_analysis.generate(data, args.rows)
    os.environ["SCANTUI_CACHE_DIR"] = str(DATA / "cache")

    from scantui.analysis import scanners as sc
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.analysis.scanners_text import scanners_csv, scanners_json
    from scantui.io.loader import open_inputs

    dataset = open_inputs([str(data)])
    rollup = open_rollup(dataset)  # built on the first run, cached after
    df = sc.scanner_list(rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment,
                         packets=dataset.lf, src_profile=rollup.src_profile).frame
    print(f"{args.rows:,} packets, {df.height:,} sources, load {os.getloadavg()[0]:.1f}")
    jobs = {
        "row by row json": lambda out: row_by_row_json(df, out),
        "bulk json": lambda out: out.write(scanners_json(df) + "\n"),
        "row by row csv": lambda out: row_by_row_csv(df, out),
        "bulk csv": lambda out: out.write(scanners_csv(df, sc.COLUMNS)),
    }
    for _ in range(args.repeat):
        for name, job in jobs.items():
            with open(os.devnull, "w") as out:
                start, cpu = time.perf_counter(), time.process_time()
                job(out)
                print(f"  {name:16s} {time.perf_counter() - start:7.2f} s wall {time.process_time() - cpu:7.2f} s CPU"
                      f"   load {os.getloadavg()[0]:.1f}", flush=True)
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    for fmt in ("json", "csv"):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "scantui", "scanners", str(data), f"--{fmt}"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"  scantui scanners --{fmt} {time.perf_counter() - start:7.2f} s (whole command)   load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
