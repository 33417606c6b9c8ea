"""Packets (issue 14 parts 1-2): first page of a 300-source scan, a frequency table over 10 M packets,
export of a scan to pcap, beside tshark doing the same extraction with a display filter; and what the
record references cost a capture's rollup build.

Each step runs in its own process (peak RSS from ``os.wait4``) and prints one JSON line:

    python benchmarks/bench_packets.py --work /work/benchdata/s7/pkstore --json /tmp/packets.json

``--days`` is the benchmark data (84 Parquet days of 600,000 packets: 50 M); its rollup is built in
``WORK/cache`` on first use (not timed here: see RESULTS.md). ``--old-src`` (main's ``src``) builds the
capture's rollup with the code before the references, for their cost.
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
SRC = HERE.parent / "src"


def _scan(source, day: dt.date):
    """(port, 300 sources): the day's busiest port by sources, its 300 busiest sources."""
    import polars as pl

    lf = source.read([day])
    port = (lf.group_by("dport").agg(pl.col("src").n_unique().alias("n")).sort("n", descending=True)
            .collect()["dport"][0])
    srcs = (lf.filter(pl.col("dport") == port).group_by("src").len().sort(["len", "src"], descending=[True, False])
            .head(300).collect()["src"].to_list())
    return int(port), [int(s) for s in srcs]


def step_first_page(args) -> dict:
    import polars as pl

    from scantui.analysis import packets as P
    from scantui.workspace import Workspace

    t0 = time.perf_counter()
    ws = Workspace.open([args.days])
    source, files = ws.packet_view()
    t_open = time.perf_counter() - t0
    port, srcs = _scan(source, source.days()[0])
    sel = P.PacketSelection(srcs=tuple(srcs), ports=(port,))
    t1 = time.perf_counter()
    lf = P.select_packets(source, sel)
    page = P.packet_page(lf, 0, 50)
    t_first = time.perf_counter() - t1
    t5 = time.perf_counter()
    generic = lf.select(pl.all()).slice(0, 50).collect()  # the same first page by one sliced query over every day
    t_generic = time.perf_counter() - t5
    assert generic.equals(page)
    t2 = time.perf_counter()
    total = P.packet_count(lf)
    t_count = time.perf_counter() - t2
    t3 = time.perf_counter()
    deep = P.packet_page(lf, total // 2, 50)
    t_deep = time.perf_counter() - t3
    t4 = time.perf_counter()
    filt = P.packet_page(P.select_packets(source, P.PacketSelection(srcs=tuple(srcs), ports=(port,),
                                                                     where="flags:S ttl>=100")), 0, 50)
    t_filter = time.perf_counter() - t4
    return {"open_workspace_s": t_open, "first_page_s": t_first, "rows": page.height, "count_s": t_count,
            "first_page_one_query_s": t_generic,
            "packets": total, "middle_page_s": t_deep, "middle_rows": deep.height, "filtered_first_page_s": t_filter,
            "filtered_rows": filt.height, "port": port, "sources": len(srcs)}


def step_frequency(args) -> dict:
    import polars as pl

    from scantui.analysis import packets as P
    from scantui.workspace import Workspace

    ws = Workspace.open([args.days])
    source, _ = ws.packet_view()
    days = source.days()[: args.freq_days]
    lf = P.select_packets(source, P.PacketSelection(days=tuple(days)))
    t0 = time.perf_counter()
    n = P.packet_count(lf)
    t_count = time.perf_counter() - t0
    out = {"packets": n, "count_s": t_count}
    for column in ("ttl", "src", "flags"):
        t = time.perf_counter()
        table = P.frequency(lf, column)
        out[f"frequency_{column}_s"] = time.perf_counter() - t
        out[f"frequency_{column}_rows"] = table.height
    # the peer: plain polars on the same days' files, no ordering
    files = sorted(Path(args.days).glob("*.parquet"))[: args.freq_days]
    t = time.perf_counter()
    pl.scan_parquet(files).group_by("ttl").len().sort("len", descending=True).collect()
    out["polars_group_by_ttl_s"] = time.perf_counter() - t
    return out


def step_export_parquet_scan(args) -> dict:
    from scantui.analysis import packets as P
    from scantui.workspace import Workspace

    ws = Workspace.open([args.days])
    source, files = ws.packet_view()
    port, srcs = _scan(source, source.days()[0])
    lf = P.select_packets(source, P.PacketSelection(srcs=tuple(srcs), ports=(port,)))
    out = Path(args.work) / "scan-synth.pcap"
    t = time.perf_counter()
    done = P.write_pcap(lf, out, files)
    took = time.perf_counter() - t
    return {"packets": done.packets, "synthesized": done.synthesized, "s": took, "pps": done.packets / took,
            "bytes": out.stat().st_size}


def step_make_pcap(args) -> dict:
    """A capture to measure on: the first ``--pcap-days`` days as synthesized frames (raw IP)."""
    import polars as pl

    from scantui.analysis import packets as P

    files = sorted(Path(args.days).glob("*.parquet"))[: args.pcap_days]
    out = Path(args.work) / "days.pcap"
    t = time.perf_counter()
    done = P.write_pcap(pl.scan_parquet(files).sort("ts", maintain_order=True), out)
    took = time.perf_counter() - t
    return {"packets": done.packets, "s": took, "pps": done.packets / took, "bytes": out.stat().st_size}


def step_rollup_pcap(args) -> dict:
    """The capture's rollup (this process's ``scantui``: new or old code by PYTHONPATH)."""
    from scantui.workspace import Workspace

    cache = Path(os.environ["SCANTUI_CACHE_DIR"])
    t = time.perf_counter()
    ws = Workspace.open([Path(args.work) / "days.pcap"])
    ws.rollup()
    took = time.perf_counter() - t
    size = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file())
    return {"s": took, "cache_bytes": size}


def step_export_capture_scan(args) -> dict:
    from scantui.analysis import packets as P
    from scantui.workspace import Workspace

    ws = Workspace.open([Path(args.work) / "days.pcap"])
    source, files = ws.packet_view()
    port, srcs = _scan(source, source.days()[0])
    lf = P.select_packets(source, P.PacketSelection(srcs=tuple(srcs), ports=(port,)))
    t = time.perf_counter()
    first = P.packet_page(lf, 0, 50)
    t_first = time.perf_counter() - t
    out = Path(args.work) / "scan-orig.pcap"
    t = time.perf_counter()
    done = P.write_pcap(lf, out, files)
    took = time.perf_counter() - t
    row = first.row(0, named=True)
    t = time.perf_counter()
    P.dissect(row, files)
    t_dissect = time.perf_counter() - t
    (Path(args.work) / "scan.json").write_text(json.dumps({"port": port, "srcs": srcs}))
    return {"packets": done.packets, "original": done.original, "s": took, "pps": done.packets / took,
            "first_page_s": t_first, "first_dissect_s": t_dissect}


def step_gzip_scan(args) -> dict:
    """The same scan from the gzipped capture: export (each file decompressed once) and one packet's
    bytes read alone (decompressed from the start up to its record), first and last."""
    import polars as pl

    from scantui.analysis import packets as P
    from scantui.workspace import Workspace

    plain, gz = Path(args.work) / "days.pcap", Path(args.work) / "days.pcap.gz"
    if not gz.exists():
        subprocess.run(f"gzip -1 -c {plain} > {gz}.tmp && mv {gz}.tmp {gz}", shell=True, check=True)
    t = time.perf_counter()
    ws = Workspace.open([gz])
    source, files = ws.packet_view()
    t_rollup = time.perf_counter() - t
    port, srcs = _scan(source, source.days()[0])
    lf = P.select_packets(source, P.PacketSelection(srcs=tuple(srcs), ports=(port,)))
    t = time.perf_counter()
    done = P.write_pcap(lf, Path(args.work) / "scan-gz.pcap", files)
    took = time.perf_counter() - t
    rows = P.select_packets(source, P.PacketSelection()).select("ts", "ref_file", "ref_off")
    first = P.packet_page(rows, 0, 1).row(0, named=True)
    last = rows.sort("ref_off").tail(1).collect().row(0, named=True)
    t = time.perf_counter()
    P.packet_bytes(first, files)
    t_first = time.perf_counter() - t
    t = time.perf_counter()
    P.packet_bytes(last, files)
    t_last = time.perf_counter() - t
    return {"rollup_s": t_rollup, "packets": done.packets, "original": done.original, "s": took,
            "pps": done.packets / took, "one_packet_first_s": t_first, "one_packet_last_s": t_last,
            "last_offset": int(last["ref_off"]), "gz_bytes": gz.stat().st_size, "pl": pl.__version__}


def tshark(args) -> dict:
    scan = json.loads((Path(args.work) / "scan.json").read_text())
    import ipaddress

    addrs = ", ".join(str(ipaddress.IPv4Address(s)) for s in scan["srcs"])
    flt = f"tcp.dstport == {scan['port']} && ip.src in {{{addrs}}}"
    out = Path(args.work) / "scan-tshark.pcap"
    cmd = ["tshark", "-n", "-r", str(Path(args.work) / "days.pcap"), "-Y", flt, "-w", str(out)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t
    count = subprocess.run(["tshark", "-n", "-r", str(out), "-T", "fields", "-e", "frame.number"],
                           capture_output=True, text=True).stdout.count("\n")
    return {"step": "tshark", "status": status, "s": took, "packets": count, "pps": count / took,
            "peak_mib": usage.ru_maxrss / 1024}


STEPS = {"first_page": step_first_page, "frequency": step_frequency, "export_parquet_scan": step_export_parquet_scan,
         "make_pcap": step_make_pcap, "rollup_pcap": step_rollup_pcap, "export_capture_scan": step_export_capture_scan,
         "gzip_scan": step_gzip_scan}


def run_step(name: str, args, src: Path, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "SCANTUI_CACHE_DIR": str(cache)}
    cmd = [sys.executable, __file__, "--step", name, "--days", args.days, "--work", args.work,
           "--freq-days", str(args.freq_days), "--pcap-days", str(args.pcap_days)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"{name} failed:\n{err.decode()[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return {"step": name, "src": str(src), "wall_s": time.perf_counter() - t, "peak_mib": usage.ru_maxrss / 1024,
            **result}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", default="/work/benchdata/days-600000")
    ap.add_argument("--work", required=True)
    ap.add_argument("--freq-days", type=int, default=17, help="days for the frequency table (17 x 600,000 = 10.2 M)")
    ap.add_argument("--pcap-days", type=int, default=2, help="days written to the capture measured on")
    ap.add_argument("--old-src", default=None, help="main's src, for the references' cost on the capture's rollup")
    ap.add_argument("--only", default=None, help="comma-separated steps")
    ap.add_argument("--step", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.step:
        sys.path.insert(0, os.environ.get("PYTHONPATH", str(SRC)))
        print(json.dumps(STEPS[args.step](args)))
        return
    Path(args.work).mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    want = (lambda s: only is None or s in only)
    main_cache = Path(args.work) / "cache"
    results = []

    def say(r):
        results.append(r)
        print(json.dumps(r), flush=True)

    for name in ("first_page", "frequency", "export_parquet_scan", "make_pcap"):
        if want(name):
            say(run_step(name, args, SRC, main_cache))
    if want("rollup_pcap"):
        for label, src in (("new", SRC), ("old", Path(args.old_src) if args.old_src else None)):
            if src is None:
                continue
            cache = Path(args.work) / f"pcap-cache-{label}"
            shutil.rmtree(cache, ignore_errors=True)
            say({**run_step("rollup_pcap", args, src, cache), "code": label})
    if want("export_capture_scan"):
        say(run_step("export_capture_scan", args, SRC, Path(args.work) / "pcap-cache-new"))
    if want("gzip_scan"):
        say(run_step("gzip_scan", args, SRC, Path(args.work) / "pcap-cache-new"))
    if want("tshark") and shutil.which("tshark"):
        say(tshark(args))
    if args.json:
        Path(args.json).write_text(json.dumps({"date": dt.datetime.now(dt.timezone.utc).isoformat(),
                                               "load": os.getloadavg(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
