"""Quick measure of the rollup made of days: peak RSS at N days vs 4N days of the same per-day
volume, and adding one day to a built rollup vs a full build (the full ``bench_scale.py`` comes later).

    python benchmarks/measure_days.py --per-day 1000000 --days 4
    python benchmarks/measure_days.py --src /path/to/other/checkout/src   # the same jobs on other code

One Parquet file per UTC day is generated once under ``benchmarks/data/days-<per-day>/`` with
:func:`bench_analysis.generate_chunk` (the same traffic mix, the same telescope every day). Each job
runs in its own subprocess with an empty cache folder (the incremental job: one already holding
the rollup of all days but the last); wall time is measured inside the job, peak RSS by
``os.wait4``. Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from scantui.io.loader import open_inputs
files, cache = json.loads(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
rollup = rc.open_rollup(open_inputs(files), cache_dir=cache)
print(json.dumps({"seconds": round(time.perf_counter() - t0, 2), "packets": rollup.meta["packets"],
                  "days": rollup.meta["days"]}))
"""


def generate(folder: Path, days: int, per_day: int) -> list[Path]:
    import numpy as np

    from bench_analysis import START_US, TELESCOPE_BASE, TELESCOPE_SIZE, generate_chunk

    folder.mkdir(parents=True, exist_ok=True)
    telescope = np.sort(np.random.default_rng(11).choice(1 << 16, TELESCOPE_SIZE, replace=False)).astype(np.uint32) + TELESCOPE_BASE
    out = []
    for d in range(days):
        day = dt.date(2024, 2, 1) + dt.timedelta(days=d)
        path = folder / f"{day}.parquet"
        if not path.exists():
            t0 = START_US + d * 86_400_000_000
            df = generate_chunk(np.random.default_rng(1000 + d), telescope, per_day, t0, t0 + 86_400_000_000)
            df.write_parquet(path.with_suffix(".tmp"), compression="zstd")
            os.replace(path.with_suffix(".tmp"), path)
        out.append(path)
    return out


def job(files: list[Path], cache: Path, src: str) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.Popen([sys.executable, "-c", JOB, json.dumps([str(f) for f in files]), str(cache)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()
    if status != 0:
        raise SystemExit(f"job failed: {err}")
    return {**json.loads(out), "peak_rss_mb": round(usage.ru_maxrss / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-day", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=4, help="N: also measured at 4N")
    ap.add_argument("--src", default=str(HERE.parent / "src"), help="the scantui sources to run")
    ap.add_argument("--work", type=Path, default=HERE / "data" / "measure-days-cache")
    args = ap.parse_args()
    files = generate(HERE / "data" / f"days-{args.per_day}", 4 * args.days, args.per_day)
    shutil.rmtree(args.work, ignore_errors=True)
    results = {}
    for name, subset in ((f"{args.days} days", files[:args.days]), (f"{4 * args.days} days", files)):
        results[f"full build, {name}"] = job(subset, args.work / name.replace(" ", "-"), args.src)
        print(name, results[f"full build, {name}"], file=sys.stderr)
    cache = args.work / "incremental"
    results["build of all days but the last"] = job(files[:-1], cache, args.src)
    results["adding the last day"] = job(files, cache, args.src)
    shutil.rmtree(args.work, ignore_errors=True)
    print(json.dumps({"per_day": args.per_day, "src": args.src, "when": time.strftime("%Y-%m-%d %H:%M"),
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
