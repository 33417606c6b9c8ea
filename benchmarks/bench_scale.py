"""A telescope-year on one box: memory bounded by the day, throughput beside plain polars and DuckDB,
adding one day, the query commands on a built rollup, a gzipped capture (issue 12, part 6).

    python benchmarks/bench_scale.py                       # 1 M packets a day, D = 3 and 4D = 12 days
    python benchmarks/bench_scale.py --quick               # 200 k a day, D = 2 and 4D = 8 (a smoke run)
    python benchmarks/bench_scale.py --packets-per-day 2400000 --days 21 --big-day 35000000 --json /tmp/s.json
                                                           # the issue's sizes: 50 M / 200 M, a real 35 M day
    python benchmarks/bench_scale.py --packets-per-day 2400000 --days 21 --only rollup,port,collab --json /tmp/s.json
                                                           # rebuild D and 4D, rerun the query jobs
    python benchmarks/bench_scale.py --src /path/to/other/checkout/src ...   # the same jobs on other code
    python benchmarks/bench_scale.py --packets-per-day 2400000 --days 21 --planted --only rollup,port,collab \
        --work benchmarks/data/scale-planted                   # D and 4D with collab's 330 planted scans

One Parquet file per UTC day is generated once under ``benchmarks/data/days-<per-day>/`` with
:func:`bench_analysis.generate_chunk` (:func:`measure_days.generate`: the same traffic mix, the
same telescope every day; ``--data`` reads another folder of such files); the big days go to
``benchmarks/data/scale-days/`` (a day over :data:`CHUNK` packets is generated in time slices).
Every job runs in its own process; wall time is measured inside the job (imports not timed; the
query jobs also give the whole process's time), peak RSS is the child's ``ru_maxrss``
(``os.wait4``; the child also prints its own ``resource.getrusage``, and psutil's figure when
installed). Jobs (``--only`` takes a comma-separated subset of the names in brackets):

* [rollup] ``rollup D days`` / ``rollup 4D days``: a full build (:func:`rollup_cache.update_rollup`)
  of the first D and of all 4D days, each in an empty cache (kept under ``--work``, ``d/`` and
  ``4d/``): the peak memory must not grow with the number of days;
* [port] / [collab]: ``scantui scanners FILES --port 443 --json`` and ``scantui collab FILES --json``
  (the CLI in the job's process, ``SCANTUI_CACHE_DIR`` the rollup job's cache) at D and at 4D, its
  output written to a file as with ``> FILE`` and counted after the job's process ended (so neither
  time includes reading it back); a query that had to write cache files says so (it was not only a query);
  the port query runs twice (``port kept``: the second reads the port's list kept by the first, ``port_lists/``);
* ``--planted``: :mod:`bench_collab`'s 330 planted collaborative scans (21 M packets over the first 21 days, made
  once beside ``--work``: ``planted-collab.parquet`` and its truth ``.json``) are one more input of both D and 4D
  (the rollup, port and collab jobs; use another ``--work``), so collab finds the same planted scans in 50 M and
  200 M packets of background; its rows then say how many planted scans it found exactly (members, port, day);
* [bigday] ``--big-day N``: a real one-day build of N packets (e.g. the thesis' 35 M);
* [oneday] ``one day`` / ``one day of 4x packets``: the slope of memory against a day's packets,
  from which a 35 M-packet day is extrapolated;
* [core] ``polars core`` / ``duckdb core``: the core query on the same 4D files: group by (day, src,
  dport), count and exact distinct destinations (polars streaming engine; DuckDB, all threads);
* [floor] ``polars floor``: a plain-polars peer of the build on the same 4D files, doing, per day, the least
  the issue's parts 1 and 4 ask (each day read once and held, as the build holds a day): (a) ``port_day`` (day,
  src, dport: packets, exact distinct destinations), (b) per-source day totals with exact distinct destinations
  and the day's distinct (src, dst) pairs, (c) the day's packets sorted by (dport, src, ts) (the per-port table,
  row groups of 65,536), (d) the Unicorn session keys counted (SYN probes), each written to Parquet as the
  rollup writes (zstd level 1); then (e) the merge: whole-data per-source packets and exact distinct
  destinations (from the pairs) and the sessions (key counts summed, over the threshold). Unsorted where the
  issue asks no order; the packets sorted by one packed key when in time order, as the build sorts them (the
  plain three-column sort is ~3x that). Each step's CPU is printed (``steps``);
* [add] ``add one day``: 4D - 1 days built, then the last day added (the builds it says it made and
  the merge are listed);
* [gzip] ``pcap`` / ``pcap.gz``: :mod:`bench_compressed`'s scantui reader on a ``capgen`` capture,
  plain and gzipped (``--gzip-packets``; 0 skips it).

A failed job (e.g. out of memory) is reported in its row and the others still run; ``--json``
is rewritten after every job, so a run stopped early keeps what finished.
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
elif job == "query":
    import contextlib, io
    from scantui.cli.main import main
    os_env = __import__("os").environ
    os_env["SCANTUI_CACHE_DIR"] = args["cache"]
    from pathlib import Path
    before = {p for p in Path(args["cache"]).rglob("*")}
    import os, tempfile
    # stdout is a file, as with `> FILE`: the command's own writing is timed, not reading it back
    fd, out_path = tempfile.mkstemp(suffix=".out")
    out = io.TextIOWrapper(os.fdopen(fd, "wb"), encoding="utf-8")
    t0 = time.perf_counter()  # imports not timed, as in the other jobs
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            main(args["argv"])
        except SystemExit as exc:
            code = exc.code or 0
    out.flush()
    seconds = round(time.perf_counter() - t0, 2)
    out.close()
    res = {"exit": code, "output": out_path,  # counted by the parent once this process has ended
           "new_cache_files": len({p for p in Path(args["cache"]).rglob("*")} - before)}
elif job == "polars":
    lf = pl.scan_parquet(args["files"])
    out = (lf.group_by(pl.col("ts").dt.date().alias("day"), "src", "dport")
           .agg(pl.len().alias("packets"), pl.col("dst").n_unique().alias("dsts")).collect(engine="streaming"))
    res = {"rows": out.height}
elif job == "polars_totals":
    # the core query plus the per-source totals a scanner list needs (packets, exact distinct destinations and
    # ports, first and last seen): the issue's second reference ("with per-source totals"), in one streaming run
    lf = pl.scan_parquet(args["files"])
    core = (lf.group_by(pl.col("ts").dt.date().alias("day"), "src", "dport")
            .agg(pl.len().alias("packets"), pl.col("dst").n_unique().alias("dsts")))
    totals = lf.group_by("src").agg(pl.len().alias("packets"), pl.col("dst").n_unique().alias("dsts"),
                                    pl.col("dport").n_unique().alias("ports"), pl.col("ts").min().alias("first"),
                                    pl.col("ts").max().alias("last"))
    a, b = pl.collect_all([core, totals], engine="streaming")
    res = {"rows": a.height, "sources": b.height}
elif job == "floor":
    # the floor: plain polars computing, per day, the least the issue's parts 1 and 4 ask of a rollup, written to
    # Parquet as the rollup writes (zstd level 1), then the merge to whole-data per-source totals (module doc)
    from pathlib import Path
    from scantui.analysis.fingerprints import UNICORN_MIN_PACKETS, unicorn_candidate, unicorn_key
    out, zstd = Path(args["out"]), {"compression": "zstd", "compression_level": 1}
    cpu = {}

    def timed(name, fn):
        c0 = time.process_time()
        value = fn()
        cpu[name] = cpu.get(name, 0.0) + time.process_time() - c0
        return value

    def by_port(df):
        # sorted by (dport, src, ts), nulls last. The plain three-column sort costs ~3x a packed key: a day in time
        # order (as captures are) sorts stably by one 64-bit (dport, src) key; any other by the three columns
        ts = pl.col("ts").to_physical()
        if df.select((ts.null_count() == 0) & (ts.diff().min() >= 0).fill_null(True)).item():
            key = (pl.col("dport").cast(pl.UInt64).fill_null(1 << 16) * (1 << 33)
                   + pl.col("src").cast(pl.UInt64).fill_null(1 << 32))
            return df.sort(key, maintain_order=True)
        return df.sort("dport", "src", "ts", nulls_last=True, maintain_order=True)

    for i, f in enumerate(args["files"]):
        d = out / f"d{i:03d}"
        d.mkdir(parents=True)
        df = timed("read", lambda: pl.read_parquet(f))
        lf = df.lazy()
        a = timed("a port_day", lambda: lf.group_by(pl.col("ts").dt.date().alias("day"), "src", "dport").agg(
            pl.len().cast(pl.UInt32).alias("packets"), pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts")).collect())
        timed("a port_day write", lambda: a.write_parquet(d / "port_day.parquet", **zstd))
        b = timed("b src_day", lambda: lf.group_by(pl.col("ts").dt.date().alias("day"), "src").agg(
            pl.len().cast(pl.UInt32).alias("packets"), pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts")).collect())
        timed("b src_day write", lambda: b.write_parquet(d / "src_day.parquet", **zstd))
        pairs = timed("b pairs", lambda: lf.select("src", "dst").unique().collect())
        timed("b pairs write", lambda: pairs.write_parquet(d / "pairs.parquet", **zstd))
        c = timed("c packets sort", lambda: by_port(df))
        timed("c packets write", lambda: c.write_parquet(d / "packets.parquet", row_group_size=65_536, **zstd))
        k = timed("d keys", lambda: lf.filter(unicorn_candidate()).group_by(unicorn_key()).agg(
            pl.len().cast(pl.UInt32).alias("n")).collect())
        timed("d keys write", lambda: k.write_parquet(d / "keys.parquet", **zstd))
        del df, lf, a, b, pairs, c, k
    days = sorted(out.glob("d*"))

    def merge():
        dsts = pl.scan_parquet([d / "pairs.parquet" for d in days]).group_by("src").agg(
            pl.col("dst").n_unique().cast(pl.UInt64).alias("dsts"))
        packets = pl.scan_parquet([d / "src_day.parquet" for d in days]).group_by("src").agg(
            pl.col("packets").sum().cast(pl.UInt64), pl.len().cast(pl.UInt32).alias("days"))
        return packets.join(dsts, on="src").collect(engine="streaming")

    totals = timed("e merge src_totals", merge)
    timed("e merge write", lambda: totals.write_parquet(out / "src_totals.parquet", **zstd))
    sessions = timed("e merge sessions", lambda: pl.scan_parquet([d / "keys.parquet" for d in days]).group_by(
        "unicorn_key").agg(pl.col("n").sum()).filter(pl.col("n") > UNICORN_MIN_PACKETS).collect(engine="streaming"))
    res = {"packets": sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in args["files"]),
           "sources": totals.height, "sessions": sessions.height,
           "steps": {k: round(v, 3) for k, v in cpu.items()}, "mib": round(sum(
               p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20, 1)}
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
res["seconds"] = seconds if job == "query" else round(time.perf_counter() - t0, 2)
res.update(rss_mb())
print("\n" + json.dumps(res))
"""


def job(kind: str, src: str, **args) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    started = time.perf_counter()
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
    result["process_seconds"] = round(time.perf_counter() - started, 2)  # with interpreter start and imports
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 1)  # the child's, whole process: less load-dependent
    if "output" in result:  # a query's output, read back after its process was timed
        out = Path(result.pop("output"))
        text = out.read_text(encoding="utf-8")
        out.unlink()
        try:
            rows = json.loads(text)
            result["rows"] = len(rows)
        except ValueError:
            rows, result["rows"] = None, None
        result["bytes"] = len(text)
        if args.get("truth") and rows is not None:
            result["planted"] = planted_found(rows, Path(args["truth"]))
    return result


def planted_found(candidates: list[dict], truth_path: Path) -> dict:
    """How many planted scans (:mod:`bench_collab`'s truth) a ``collab --json`` output holds exactly (the same
    members, port and day), and its candidates sharing no source with a planted scan of their port and day."""
    truth = json.loads(truth_path.read_text())["scans"]
    found = {(c["port"], c["day"], frozenset(c["sources"])) for c in candidates}
    slots: dict[tuple, set] = {}
    for t in truth:
        slots.setdefault((t["port"], t["day"]), set()).update(t["sources"])
    exact = sum((t["port"], t["day"], frozenset(t["sources"])) in found for t in truth)
    other = sum(not set(c["sources"]) & slots.get((c["port"], c["day"]), set()) for c in candidates)
    return {"planted": len(truth), "exact": exact, "unplanted_candidates": other}


CHUNK = 5_000_000  # a bigger day is generated in time slices of this many packets (bounded generator memory)


def one_big_day(path: Path, packets: int) -> Path:
    """One day (2024-01-01) of *packets* packets into *path*, written once.

    Up to :data:`CHUNK` packets in one piece (as before); more in consecutive time slices of the day,
    each from its own seed, streamed into one file (rows in time order either way)."""
    import numpy as np
    import polars as pl

    from bench_analysis import START_US, TELESCOPE_BASE, TELESCOPE_SIZE, generate_chunk

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        telescope = np.sort(np.random.default_rng(11).choice(1 << 16, TELESCOPE_SIZE, replace=False)).astype(np.uint32) + TELESCOPE_BASE
        t0, day = START_US - 31 * 86_400_000_000, 86_400_000_000
        tmp = path.with_name(path.name + ".tmp")
        if packets <= CHUNK:
            generate_chunk(np.random.default_rng(7), telescope, packets, t0, t0 + day).write_parquet(tmp)
        else:
            n = -(-packets // CHUNK)
            parts = []
            for i in range(n):
                lo, hi = t0 + day * i // n, t0 + day * (i + 1) // n
                part = path.with_name(f"{path.stem}.part{i}.tmp")
                m = packets // n + (1 if i < packets % n else 0)
                generate_chunk(np.random.default_rng(7000 + i), telescope, m, lo, hi).write_parquet(part)
                parts.append(part)
            pl.scan_parquet(parts).sink_parquet(tmp)
            for part in parts:
                part.unlink()
        os.replace(tmp, path)
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


JOBS = ("rollup", "port", "collab", "bigday", "oneday", "core", "floor", "add", "gzip")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets-per-day", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=3, help="D: measured at D and 4D days")
    ap.add_argument("--quick", action="store_true", help="200 k packets a day, D = 2, a 200 k-packet capture")
    ap.add_argument("--big-day", type=int, default=0, metavar="N",
                    help="also build one real day of N packets (e.g. 35000000) and measure it (0: only extrapolated)")
    ap.add_argument("--only", default=",".join(JOBS), metavar="JOBS",
                    help=f"comma-separated subset of {','.join(JOBS)} (port and collab use the rollup job's caches)")
    ap.add_argument("--gzip-packets", type=int, default=2_000_000, help="capture size for the gzip rows (0: skip)")
    ap.add_argument("--data", type=Path, help="folder of day files (default benchmarks/data/days-<per-day>)")
    ap.add_argument("--src", default=str(HERE.parent / "src"), help="the scantui sources to run")
    ap.add_argument("--work", type=Path, default=HERE / "data" / "scale-cache",
                    help="the jobs' cache folders (kept: port and collab rerun on them)")
    ap.add_argument("--json", type=Path, help="also write the raw figures here (after every job; with --only, "
                                              "the figures of jobs not rerun are kept from this file)")
    ap.add_argument("--planted", action="store_true",
                    help="add bench_collab's 330 planted collaborative scans (first 21 days) to D and 4D; "
                         "collab's rows count those found")
    ap.add_argument("--generate", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        from measure_days import generate

        folder, days, per_day, bigs, *planted = json.loads(args.generate)
        files = [str(f) for f in generate(Path(folder), days, per_day)]
        for path, n in bigs:
            one_big_day(Path(path), n)
        if planted and planted[0] and not Path(planted[0]).exists():
            import bench_collab

            bench_collab.plant(Path(planted[0]), Path(planted[0]).with_suffix(".json"))
        print(json.dumps(files))
        return
    if args.quick:
        args.packets_per_day, args.days, args.gzip_packets = 200_000, 2, 200_000
    only = set(args.only.split(","))
    if only - set(JOBS):
        ap.error(f"--only: unknown job {', '.join(sorted(only - set(JOBS)))} (jobs: {','.join(JOBS)})")
    from bench_compressed import machine
    host, started = machine(), time.strftime("%Y-%m-%d %H:%M %Z")
    per_day, d = args.packets_per_day, args.days
    data = args.work.parent / "scale-days"
    big = data / f"one-day-{4 * per_day}.parquet"
    huge = data / f"one-day-{args.big_day}.parquet"
    planted = args.work.parent / "planted-collab.parquet" if args.planted else None
    bigs = ([(str(big), 4 * per_day)] if "oneday" in only else []) + \
        ([(str(huge), args.big_day)] if "bigday" in only and args.big_day else [])
    print(f"generating {4 * d} days of {per_day:,} packets{' and ' + str(len(bigs)) + ' big day(s)' if bigs else ''} ...",
          file=sys.stderr, flush=True)
    # in a child: the driver's own memory would show in every child's peak RSS (Linux keeps it across fork + exec)
    files = json.loads(subprocess.run(
        [sys.executable, __file__, "--generate", json.dumps([str(args.data or HERE / "data" / f"days-{per_day}"), 4 * d,
                                                             per_day, bigs, str(planted) if planted else None])],
        check=True, capture_output=True, text=True).stdout)
    saved = json.loads(args.json.read_text()) if args.json and args.json.exists() and args.only != ",".join(JOBS) else {}
    r: dict[str, dict] = saved.get("results", {})
    gz: dict = saved.get("gzip", {})
    cache_mb = saved.get("cache_mb")
    loads = [f"{started} before: {os.getloadavg()[0]:.1f}, {os.getloadavg()[1]:.1f}, {os.getloadavg()[2]:.1f}"]

    def save() -> None:
        if args.json:
            args.json.write_text(json.dumps({"when": started, "machine": host, "args": vars(args), "results": r, "gzip": gz,
                                             "cache_mb": cache_mb, "loads": loads}, indent=1, default=str))

    def step(name: str, kind: str, fresh: bool = True, **kw) -> dict:
        if fresh and "cache" in kw:
            shutil.rmtree(kw["cache"], ignore_errors=True)
        print(f"{time.strftime('%H:%M:%S')} {name} ...", file=sys.stderr, flush=True)
        try:
            r[name] = job(kind, args.src, **kw)
        except SystemExit as exc:  # one failed job (e.g. out of memory) leaves the others' figures
            r[name] = {"error": str(exc)[-500:]}
        r[name]["load"] = round(os.getloadavg()[0], 1)
        print(f"  {r[name]}", file=sys.stderr, flush=True)
        save()
        return r[name]

    def plus(which: list[str]) -> list[str]:  # the inputs of a rollup and its queries: with the planted scans
        return [*which, str(planted)] if planted else which

    def query(size: str, cache: Path, which: list[str]) -> None:
        argv = {"port": ["scanners", *which, "--port", "443", "--json"], "collab": ["collab", *which, "--json"]}
        for q in ("port", "collab"):
            if q in only:
                truth = {"truth": str(planted.with_suffix(".json"))} if planted and q == "collab" else {}
                step(f"{q} {size}", "query", fresh=False, cache=cache, argv=argv[q], **truth)
            if q == "port" and q in only:  # again: the rollup's kept list of the port (port_lists/), written by the first
                step(f"port kept {size}", "query", fresh=False, cache=cache, argv=argv[q])

    if "rollup" in only:
        step("rollup D", "rollup", files=plus(files[:d]), cache=args.work / "d")
    query("D", args.work / "d", plus(files[:d]))
    if "rollup" in only:
        step("rollup 4D", "rollup", files=plus(files), cache=args.work / "4d")
        cache_mb = du_mb(args.work / "4d")
    query("4D", args.work / "4d", plus(files))
    if "bigday" in only and args.big_day:
        step("big day", "rollup", files=[str(huge)], cache=args.work / "big")
        shutil.rmtree(args.work / "big", ignore_errors=True)
    if "oneday" in only:
        step("one day", "rollup", files=files[:1], cache=args.work / "one")
        step("one day 4x", "rollup", files=[str(big)], cache=args.work / "one4")
        for c in ("one", "one4"):
            shutil.rmtree(args.work / c, ignore_errors=True)
    if "core" in only:
        step("polars core", "polars", files=files)
        step("polars core + totals", "polars_totals", files=files)
        step("duckdb core", "duckdb", files=files)
    if "floor" in only:
        shutil.rmtree(args.work / "floor", ignore_errors=True)
        step("polars floor", "floor", files=files, out=str(args.work / "floor"))
        shutil.rmtree(args.work / "floor", ignore_errors=True)
    if "add" in only:
        step("base 4D-1", "rollup", files=files[:-1], cache=args.work / "inc")
        step("add one day", "rollup", fresh=False, files=files, cache=args.work / "inc")
        shutil.rmtree(args.work / "inc", ignore_errors=True)
    if "gzip" in only and args.gzip_packets:
        gz = gzip_rows(args.gzip_packets)
    loads.append(f"{time.strftime('%Y-%m-%d %H:%M %Z')} after: {os.getloadavg()[0]:.1f}, {os.getloadavg()[1]:.1f}, "
                 f"{os.getloadavg()[2]:.1f}; 1-minute load after each job: "
                 + ", ".join(f"{k} {v.get('load')}" for k, v in r.items()))
    save()
    print_table(r, gz, cache_mb, per_day, d, host, started, loads)


def print_table(r: dict, gz: dict, cache_mb: float | None, per_day: int, d: int, host: str, started: str,
                loads: list[str]) -> None:
    """The Markdown section: one row per figure whose jobs ran (or failed: then the error)."""
    ok = {k: v for k, v in r.items() if "error" not in v}
    packets = ok.get("rollup 4D", {}).get("packets", 4 * d * per_day)
    rows: list[tuple[str, ...]] = []

    def row(*need: str):
        def add(fn):
            missing = [n for n in need if n not in ok]
            failed = [n for n in missing if n in r]
            if failed:
                rows.append((fn.__doc__ or fn.__name__, "", "", "failed: " + "; ".join(r[n]["error"].splitlines()[-1][:160]
                                                                                    for n in failed), ""))
            elif not missing:
                rows.extend(fn())
        return add

    def ratio(label: str, a: dict, b: dict) -> tuple:
        """A row giving *a*'s wall and CPU time as multiples of *b*'s."""
        return (label, "", "", f"{a['seconds'] / b['seconds']:.1f}x wall, "
                f"{a['cpu_seconds'] / max(b['cpu_seconds'], 0.1):.1f}x CPU", "measured")

    def rate(sec: float) -> str:
        return f"{packets / sec / 1e6:.2f} M/s"

    @row("rollup D")
    def _():
        """peak RSS, rollup of D days"""
        return [("peak RSS, rollup of D days", f"{d} x {per_day:,}", f"{ok['rollup D']['seconds']:.1f} s",
                 f"{ok['rollup D']['peak_rss_mb']:,} MiB", "measured")]

    @row("rollup 4D")
    def _():
        """peak RSS, rollup of 4D days"""
        return [("peak RSS, rollup of 4D days", f"{4 * d} x {per_day:,}", f"{ok['rollup 4D']['seconds']:.1f} s",
                 f"{ok['rollup 4D']['peak_rss_mb']:,} MiB", "measured")]

    @row("rollup D", "rollup 4D")
    def _():
        """4D / D peak RSS"""
        return [("4D / D peak RSS", "", "", f"{ok['rollup 4D']['peak_rss_mb'] / ok['rollup D']['peak_rss_mb']:.2f}x", "measured")]

    @row("one day", "one day 4x")
    def _():
        """one day"""
        one, four = ok["one day"], ok["one day 4x"]
        slope = (four["peak_rss_mb"] - one["peak_rss_mb"]) / (3 * per_day / 1e6)  # MiB per M packets
        day35 = one["peak_rss_mb"] + slope * (35 - per_day / 1e6)
        return [("one day", f"1 x {per_day:,}", f"{one['seconds']:.1f} s", f"{one['peak_rss_mb']:,} MiB", "measured"),
                ("one day, 4x packets", f"1 x {4 * per_day:,}", f"{four['seconds']:.1f} s", f"{four['peak_rss_mb']:,} MiB",
                 "measured"),
                ("one day of 35 M packets", "", "", f"{day35:,.0f} MiB ({slope:.0f} MiB per M packets)", "extrapolated")]

    @row("big day")
    def _():
        """one real day of the --big-day size"""
        b = ok["big day"]
        return [(f"one day of {b['packets'] / 1e6:g} M packets", f"1 x {b['packets']:,}", f"{b['seconds']:.1f} s",
                 f"{b['peak_rss_mb']:,} MiB ({b['packets'] / b['seconds'] / 1e6:.2f} M/s)", "measured")]

    @row("rollup 4D")
    def _():
        """rollup throughput"""
        full = ok["rollup 4D"]["seconds"]
        return [("rollup throughput (4D, full build)", f"{packets:,}", f"{full:.1f} s", rate(full), "measured")]

    @row("polars core")
    def _():
        """polars core query"""
        p = ok["polars core"]
        return [("polars core query (streaming)", f"{packets:,}", f"{p['seconds']:.1f} s",
                 f"{rate(p['seconds'])}, {p['peak_rss_mb']:,} MiB", "measured")]

    @row("polars core + totals")
    def _():
        """polars core query with per-source totals"""
        p = ok["polars core + totals"]
        return [("polars core query + per-source totals (streaming)", f"{packets:,}", f"{p['seconds']:.1f} s",
                 f"{rate(p['seconds'])}, {p['peak_rss_mb']:,} MiB", "measured")]

    @row("duckdb core")
    def _():
        """DuckDB core query"""
        p = ok["duckdb core"]
        return [("DuckDB core query", f"{packets:,}", f"{p['seconds']:.1f} s", f"{rate(p['seconds'])}, {p['peak_rss_mb']:,} MiB",
                 "measured")]

    @row("rollup 4D", "polars core")
    def _():
        """rollup / polars core"""
        return [ratio("rollup / polars core", ok["rollup 4D"], ok["polars core"])]

    @row("rollup 4D", "polars core + totals")
    def _():
        """rollup / polars core + totals"""
        return [ratio("rollup / polars core + per-source totals", ok["rollup 4D"], ok["polars core + totals"])]

    @row("polars floor")
    def _():
        """polars floor (parts 1 and 4)"""
        p = ok["polars floor"]
        return [("polars floor: per day port_day, source totals and (src, dst) pairs, packets by (dport, src, ts), "
                 "session keys; merged source totals and sessions", f"{packets:,}", f"{p['seconds']:.1f} s",
                 f"{rate(p['seconds'])}, {p['cpu_seconds']:.1f} CPU s, {p['peak_rss_mb']:,} MiB, {p['mib']:,} MiB written",
                 "measured")]

    @row("polars floor", "polars core")
    def _():
        """polars floor / polars core"""
        return [ratio("polars floor / polars core", ok["polars floor"], ok["polars core"])]

    @row("rollup 4D", "polars floor")
    def _():
        """rollup / polars floor"""
        return [ratio("rollup / polars floor", ok["rollup 4D"], ok["polars floor"])]

    @row("base 4D-1", "add one day")
    def _():
        """add one day to 4D - 1"""
        add = ok["add one day"]["seconds"]
        full = ok.get("rollup 4D", ok["base 4D-1"])["seconds"]
        return [("add one day to 4D - 1", f"+{per_day:,}", f"{add:.1f} s", f"{100 * add / full:.0f} % of the full build",
                 "measured")]

    for size, n in (("D", d), ("4D", 4 * d)):
        for q, label in (("port", "scanners --port 443 --json"), ("port kept", "scanners --port 443 --json` again, read from `port_lists/"),
                         ("collab", "collab --json")):
            @row(f"{q} {size}")
            def _(q=q, size=size, n=n, label=label):
                """query"""
                x = ok[f"{q} {size}"]
                note = "" if not x.get("new_cache_files") else f", wrote {x['new_cache_files']} cache files (not only a query)"
                fail = "" if not x.get("exit") else f", exit {x['exit']}"
                p = x.get("planted")
                found = f" ({p['exact']}/{p['planted']} planted scans found exactly, {p['unplanted_candidates']} others)" if p else ""
                return [(f"`{label}` on the built rollup", f"{n} x {per_day:,}", f"{x['seconds']:.2f} s",
                         f"{x['process_seconds']:.2f} s with start-up, {x['rows']} rows{found}, {x['peak_rss_mb']:,} MiB{note}{fail}",
                         "measured")]
    if "collab D" in ok and "collab 4D" in ok:
        rows.append(("collab 4D / collab D", "", "", f"{ok['collab 4D']['seconds'] / ok['collab D']['seconds']:.2f}x", "measured"))

    if cache_mb:
        rows.append(("cache on disk after 4D (days + rollup)", "", "",
                     f"{cache_mb:,.0f} MiB ({cache_mb / (packets / 1e6):.1f} MiB per M packets)", "measured"))
    for label, g in gz.items():
        rows.append((f"read {label} (scantui, zlib-ng)", f"{g['rows']:,}", f"{g['seconds']:.2f} s",
                     f"{g['rows'] / g['seconds'] / 1e6:.2f} M/s, {g['mib']} MiB file, {g['peak_rss_mb']:,.0f} MiB RSS", "measured"))
    breakdown = "; ".join(f"{a['action']} {a['what'].split(' (')[0]} {a['seconds']:.2f} s"
                          for a in ok.get("add one day", {}).get("actions", []) if a["seconds"] >= 0.05)
    floor_steps = "; ".join(f"{k} {v:.2f}" for k, v in ok.get("polars floor", {}).get("steps", {}).items())
    cmd = " ".join(sys.argv[1:])
    print("\n".join([
        f"Date: {started}  ",
        f"Machine: {host}  ",
        f"Command: `python benchmarks/bench_scale.py {cmd}`  ",
        *[f"Load: {x}  " for x in loads],
        "",
        "| measure | data | time | result | |",
        "|---|---|---:|---:|---|",
        *[f"| {a} | {b} | {c} | {e} | {f} |" for a, b, c, e, f in rows],
        "",
        *([f"Adding one day, what it did: {breakdown}."] if breakdown else []),
        *([f"The floor's steps, CPU s (all days): {floor_steps}."] if floor_steps else []),
    ]))


if __name__ == "__main__":
    main()
