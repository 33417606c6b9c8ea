"""The rollup on a Dask LocalCluster of N worker processes against the local build (issue 12 part 3):
wall time and identical output.

    python benchmarks/bench_dask.py --per-day 2000000 --days 8 --workers 2

The data is :mod:`measure_days`' (one Parquet file per UTC day, generated once under
``benchmarks/data/days-<per-day>/``). Each build runs in its own subprocess with an empty cache
folder; the Dask job times the cluster's start apart from the build. Every table of the two
rollups is then compared (``assert_frame_equal``). Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

JOB = """
import json, sys, time
from scantui.analysis import rollup_cache as rc
from scantui.analysis.runner import DaskRunner, LocalRunner
from scantui.io.loader import open_inputs
files, cache, workers = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
runner = DaskRunner(workers=workers) if workers else LocalRunner()
if workers:
    runner.client()
t1 = time.perf_counter()
update = rc.update_rollup(open_inputs(files), cache_dir=cache, runner=runner)
t2 = time.perf_counter()
runner.close()
print(json.dumps({"cluster_start_s": round(t1 - t0, 2), "build_s": round(t2 - t1, 2), "path": str(update.rollup.path),
                  "packets": update.rollup.meta["packets"], "days": update.rollup.meta["days"]}))
"""


def job(files: list[Path], cache: Path, workers: int, src: str) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.run([sys.executable, "-c", JOB, json.dumps([str(f) for f in files]), str(cache), str(workers)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"job failed: {proc.stderr}")
    return json.loads(proc.stdout)


def same_tables(a: str, b: str) -> bool:
    from polars.testing import assert_frame_equal

    from scantui.analysis.rollup_cache import load_rollup

    ra, rb = load_rollup(a), load_rollup(b)
    for table in ("port_day", "src_totals", "src_profile", "day_totals"):
        assert_frame_equal(getattr(ra, table).collect(), getattr(rb, table).collect())
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-day", type=int, default=2_000_000)
    ap.add_argument("--days", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--src", default=str(HERE.parent / "src"), help="the scantui sources to run")
    ap.add_argument("--work", type=Path, default=HERE / "data" / "bench-dask-cache")
    args = ap.parse_args()
    load = os.getloadavg()  # 2 cores shared with other work: say how busy the machine was
    sys.path.insert(0, args.src)
    from measure_days import generate

    files = generate(HERE / "data" / f"days-{args.per_day}", args.days, args.per_day)
    shutil.rmtree(args.work, ignore_errors=True)
    local = job(files, args.work / "local", 0, args.src)
    print("local", local, file=sys.stderr)
    dask = job(files, args.work / "dask", args.workers, args.src)
    print("dask", dask, file=sys.stderr)
    identical = same_tables(local["path"], dask["path"])
    shutil.rmtree(args.work, ignore_errors=True)
    print(json.dumps({"per_day": args.per_day, "days": args.days, "workers": args.workers, "cores": os.cpu_count(),
                      "load_at_start": load, "load_at_end": os.getloadavg(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                      "local": local, "dask": dask, "identical": identical}, indent=1))


if __name__ == "__main__":
    main()
