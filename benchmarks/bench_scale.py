"""A telescope-year on one box: memory bounded by the day, throughput beside plain polars and DuckDB,
adding one day, a gzipped capture (issue 12, part 6).

    python benchmarks/bench_scale.py                       # 1 M packets a day, D = 3 and 4D = 12 days
    python benchmarks/bench_scale.py --quick               # 200 k a day, D = 2 and 4D = 8 (a smoke run)
    python benchmarks/bench_scale.py --packets-per-day 35000000 --days 21   # the issue's sizes, a big machine

One Parquet file per UTC day is generated once under ``benchmarks/data/days-<per-day>/`` with
:func:`bench_analysis.generate_chunk` (:func:`measure_days.generate`: the same traffic mix, the
same telescope every day; ``--data`` reads another folder of such files). Every job runs in its
own process with an empty cache folder; wall time is measured inside the job (imports not
timed), peak RSS is the child's ``ru_maxrss`` (``os.wait4``; the child also prints its own
``resource.getrusage``, and psutil's figure when installed). Jobs:

* ``rollup D days`` / ``rollup 4D days``: a full build (:func:`rollup_cache.update_rollup`) of the
  first D and of all 4D days: the peak memory must not grow with the number of days;
* ``one day of 4x packets``: a one-day build of 4x the per-day volume (for the slope of memory
  against a day's packets, from which a 35 M-packet day is extrapolated);
* ``polars core`` / ``duckdb core``: the core query on the same 4D files: group by (day, src,
  dport), count and exact distinct destinations (polars streaming engine; DuckDB, all threads);
* ``add one day``: 4D - 1 days built, then the last day added (the builds it says it made and
  the merge are listed);
* ``pcap`` / ``pcap.gz``: :mod:`bench_compressed`'s scantui reader on a ``capgen`` capture,
  plain and gzipped (``--gzip-packets``; 0 skips it).

Prints a Markdown section (paste it into ``RESULTS.md``); ``--json FILE`` also writes the raw figures.
Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CHILD = r"""
import json, resource, sys, time
job, args = sys.argv[1], json.loads(sys.argv[2])
import polars as pl
from scantui.analysis import rollup_cache as rc
from scantui.io.loader import open_inputs

def rss_mb():
    out = {"getrusage_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    try:
        import psutil
        out["psutil_rss_mb"] = round(psutil.Process().memory_info().rss / 2**20)
    except ImportError:
        pass
    return out

t0 = time.perf_counter()
res = {}
if job == "rollup":
    u = rc.update_rollup(open_inputs(args["files"]), cache_dir=args["cache"])
    res = {"packets": u.rollup.meta["packets"], "days": u.rollup.meta["days"],
           "actions": [a.to_dict() for a in u.actions if a.verb != "reused"]}
elif job == "polars":
    lf = pl.scan_parquet(args["files"])
    out = (lf.group_by(pl.col("ts").dt.date().alias("day"), "src", "dport")
           .agg(pl.len().alias("packets"), pl.col("dst").n_unique().alias("dsts")).collect(engine="streaming"))
    res = {"rows": out.height}
elif job == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    files = ", ".join("'" + f.replace("'", "''") + "'" for f in args["files"])
    cur = con.execute(f"SELECT CAST(ts AS DATE) AS day, src, dport, count(*) AS packets, count(DISTINCT dst) AS dsts "
                      f"FROM read_parquet([{files}]) GROUP BY ALL")
    out = (getattr(cur, "to_arrow_table", None) or cur.fetch_arrow_table)()
    res = {"rows": out.num_rows}
res["seconds"] = round(time.perf_counter() - t0, 2)
res.update(rss_mb())
print("\n" + json.dumps(res))
"""


def job(kind: str, src: str, **args) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, kind, json.dumps(args, default=str)],
                                stdout=subprocess.PIPE, stderr=err, env=env, text=True)
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            err.seek(0)
            raise SystemExit(f"{kind} failed: {err.read()[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024)  # os.wait4: the child's high-water mark
    return result


def one_big_day(path: Path, packets: int) -> Path:
    """One day (2024-01-01) of *packets* packets into *path*, written once."""
    import numpy as np

    from bench_analysis import START_US, TELESCOPE_BASE, TELESCOPE_SIZE, generate_chunk

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        telescope = np.sort(np.random.default_rng(11).choice(1 << 16, TELESCOPE_SIZE, replace=False)).astype(np.uint32) + TELESCOPE_BASE
        t0 = START_US - 31 * 86_400_000_000
        generate_chunk(np.random.default_rng(7), telescope, packets, t0, t0 + 86_400_000_000).write_parquet(path)
    return path


def du_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def gzip_rows(packets: int) -> dict:
    """bench_compressed's scantui reader on a plain and a gzipped capture of *packets* packets."""
    import bench_compressed as bc

    subprocess.run([sys.executable, str(HERE / "bench_compressed.py"), "--generate", str(packets)], check=True)
    w = bc.WORK
    out = {}
    for label, path in (("pcap", w / "capture.pcap"), ("pcap.gz", w / "capture.pcap.gz")):
        r = bc.run("scantui", path, "zlib-ng", w / ("warm.pcap" if label == "pcap" else "warm.pcap.gz"))
        out[label] = {**r, "mib": round(path.stat().st_size / 2**20)}
    shutil.rmtree(w, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets-per-day", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=3, help="D: measured at D and 4D days")
    ap.add_argument("--quick", action="store_true", help="200 k packets a day, D = 2, a 200 k-packet capture")
    ap.add_argument("--gzip-packets", type=int, default=2_000_000, help="capture size for the gzip rows (0: skip)")
    ap.add_argument("--data", type=Path, help="folder of day files (default benchmarks/data/days-<per-day>)")
    ap.add_argument("--src", default=str(HERE.parent / "src"), help="the scantui sources to run")
    ap.add_argument("--work", type=Path, default=HERE / "data" / "scale-cache")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--generate", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        from measure_days import generate

        folder, days, per_day, big = json.loads(args.generate)
        files = [str(f) for f in generate(Path(folder), days, per_day)]
        one_big_day(Path(big), 4 * per_day)
        print(json.dumps(files))
        return
    if args.quick:
        args.packets_per_day, args.days, args.gzip_packets = 200_000, 2, 200_000
    from bench_compressed import machine
    host, started = machine(), time.strftime("%Y-%m-%d %H:%M %Z")
    per_day, d = args.packets_per_day, args.days
    shutil.rmtree(args.work, ignore_errors=True)
    big = args.work.parent / "scale-days" / f"one-day-{4 * per_day}.parquet"
    # in a child: the driver's own memory would show in every child's peak RSS (Linux keeps it across fork + exec)
    files = json.loads(subprocess.run(
        [sys.executable, __file__, "--generate", json.dumps([str(args.data or HERE / "data" / f"days-{per_day}"), 4 * d,
                                                             per_day, str(big)])],
        check=True, capture_output=True, text=True).stdout)
    r: dict[str, dict] = {}

    def step(name: str, kind: str, **kw) -> dict:
        print(f"{name} ...", file=sys.stderr, flush=True)
        r[name] = job(kind, args.src, **kw)
        print(f"  {r[name]}", file=sys.stderr, flush=True)
        return r[name]

    step("rollup D", "rollup", files=files[:d], cache=args.work / "d")
    step("rollup 4D", "rollup", files=files, cache=args.work / "4d")
    cache_mb = du_mb(args.work / "4d")
    step("one day", "rollup", files=files[:1], cache=args.work / "one")
    step("one day 4x", "rollup", files=[str(big)], cache=args.work / "one4")
    step("polars core", "polars", files=files)
    step("duckdb core", "duckdb", files=files)
    step("base 4D-1", "rollup", files=files[:-1], cache=args.work / "inc")
    step("add one day", "rollup", files=files, cache=args.work / "inc")
    gz = gzip_rows(args.gzip_packets) if args.gzip_packets else {}
    shutil.rmtree(args.work, ignore_errors=True)

    packets = r["rollup 4D"]["packets"]
    full, add = r["rollup 4D"]["seconds"], r["add one day"]["seconds"]
    rss_d, rss_4d = r["rollup D"]["peak_rss_mb"], r["rollup 4D"]["peak_rss_mb"]
    slope = (r["one day 4x"]["peak_rss_mb"] - r["one day"]["peak_rss_mb"]) / (3 * per_day / 1e6)  # MiB per M packets
    day35 = r["one day"]["peak_rss_mb"] + slope * (35 - per_day / 1e6)

    def rate(sec: float) -> str:
        return f"{packets / sec / 1e6:.2f} M/s"

    rows = [
        ("peak RSS, rollup of D days", f"{d} x {per_day:,}", f"{r['rollup D']['seconds']:.1f} s", f"{rss_d:,} MiB", "measured"),
        ("peak RSS, rollup of 4D days", f"{4 * d} x {per_day:,}", f"{full:.1f} s", f"{rss_4d:,} MiB", "measured"),
        ("4D / D peak RSS", "", "", f"{rss_4d / rss_d:.2f}x", "measured"),
        ("one day", f"1 x {per_day:,}", f"{r['one day']['seconds']:.1f} s", f"{r['one day']['peak_rss_mb']:,} MiB", "measured"),
        ("one day, 4x packets", f"1 x {4 * per_day:,}", f"{r['one day 4x']['seconds']:.1f} s",
         f"{r['one day 4x']['peak_rss_mb']:,} MiB", "measured"),
        ("one day of 35 M packets", "", "", f"{day35:,.0f} MiB ({slope:.0f} MiB per M packets)", "extrapolated"),
        ("rollup throughput (4D, full build)", f"{packets:,}", f"{full:.1f} s", rate(full), "measured"),
        ("polars core query (streaming)", f"{packets:,}", f"{r['polars core']['seconds']:.1f} s",
         f"{rate(r['polars core']['seconds'])}, {r['polars core']['peak_rss_mb']:,} MiB", "measured"),
        ("DuckDB core query", f"{packets:,}", f"{r['duckdb core']['seconds']:.1f} s",
         f"{rate(r['duckdb core']['seconds'])}, {r['duckdb core']['peak_rss_mb']:,} MiB", "measured"),
        ("rollup / polars core", "", "", f"{full / r['polars core']['seconds']:.1f}x", "measured"),
        ("add one day to 4D - 1", f"+{per_day:,}", f"{add:.1f} s", f"{100 * add / full:.0f} % of the full build", "measured"),
        ("cache on disk after 4D (days + rollup)", "", "", f"{cache_mb:,.0f} MiB ({cache_mb / (packets / 1e6):.1f} MiB per M packets)",
         "measured"),
    ]
    for label, g in gz.items():
        rows.append((f"read {label} (scantui, zlib-ng)", f"{g['rows']:,}", f"{g['seconds']:.2f} s",
                     f"{g['rows'] / g['seconds'] / 1e6:.2f} M/s, {g['mib']} MiB file, {g['peak_rss_mb']:,.0f} MiB RSS", "measured"))
    breakdown = "; ".join(f"{a['action']} {a['what'].split(' (')[0]} {a['seconds']:.2f} s"
                          for a in r["add one day"]["actions"] if a["seconds"] >= 0.05)
    cmd = " ".join(sys.argv[1:])
    print("\n".join([
        f"Date: {started}  ",
        f"Machine: {host}  ",
        f"Command: `python benchmarks/bench_scale.py {cmd}`  ",
        "",
        "| measure | data | time | result | |",
        "|---|---|---:|---:|---|",
        *[f"| {a} | {b} | {c} | {e} | {f} |" for a, b, c, e, f in rows],
        "",
        f"Adding one day, what it did: {breakdown}.",
    ]))
    if args.json:
        args.json.write_text(json.dumps({"when": started, "machine": host, "args": vars(args), "results": r, "gzip": gz,
                                         "cache_mb": cache_mb}, indent=1, default=str))


if __name__ == "__main__":
    main()
