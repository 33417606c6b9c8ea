"""Ingest benchmark: scantui's pcap/pcapng readers against scapy, dpkt and tshark.

Run by hand (not in CI), after ``pip install -e '.[bench]'``:

    python benchmarks/bench_ingest.py                  # 1,000,000 packets
    python benchmarks/bench_ingest.py --packets 200000 --markdown out.md
    python benchmarks/bench_ingest.py --many-files 1000,3000,10000   # folders of small pcaps
    python benchmarks/bench_ingest.py --old-src /tmp/old/src --repeat 5  # this version against another

It writes a synthetic telescope capture (see ``capgen.py``: mostly 54-74-byte
SYNs, some UDP, some frames up to 1514 bytes, a few VLAN-tagged, ARP, IPv6)
as classic pcap and pcapng, then runs every reader in its own subprocess,
timing it and reading its peak RSS from ``os.wait4``. Every reader decodes the
same fields (time, addresses, protocol, ports, IP id/TTL/length, TCP flags,
seq, ack, window, MSS); imports and a 1,000-packet warm-up run are not timed. scapy and tshark are slow, so by default they read a
100,000-packet capture of the same mix and their rate is extrapolated (marked
so). The machine is shared and noisy: compare the ratios within one run.

``--many-files`` instead times ``scantui ingest FOLDER`` on folders of N small
pcaps (10 packets each, as a telescope's hourly files are many), to show the
time grows linearly with the file count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TSHARK_FIELDS = [
    "frame.time_epoch", "ip.src", "ip.dst", "ip.proto", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
    "ip.id", "ip.ttl", "ip.len", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.window_size_value", "tcp.options.mss_val",
]


# -- readers (each runs in a child process) ----------------------------------------------


def read_scantui(path: str) -> int:
    import polars as pl

    from scantui.io.options import LoadOptions
    from scantui.io.stats import LoadStats

    if path.endswith(".pcapng"):
        from scantui.io.pcapng import iter_pcapng_batches as batches
    else:
        from scantui.io.pcap import iter_pcap_batches as batches
    df = pl.concat(list(batches(path, LoadOptions(), LoadStats())))
    return df.height


def read_scantui_lazy(path: str) -> int:
    from scantui.io.options import LoadOptions
    from scantui.io.pcap import scan_pcap
    from scantui.io.stats import LoadStats

    return scan_pcap(path, LoadOptions(), LoadStats()).collect().height


def read_dpkt(path: str) -> int:
    import dpkt
    import polars as pl

    cols: dict[str, list] = {k: [] for k in ("ts", "src", "dst", "proto", "sport", "dport", "ip_id", "ttl", "ip_len",
                                             "tcp_flags", "tcp_seq", "tcp_ack", "tcp_window", "tcp_mss")}
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)  # unpacks 802.1Q tags too
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP):
                continue
            l4 = ip.data
            sport = dport = flags = seq = ack = win = mss = None
            if isinstance(l4, dpkt.tcp.TCP):
                sport, dport, flags, seq, ack, win = l4.sport, l4.dport, l4.flags, l4.seq, l4.ack, l4.win
                for kind, value in dpkt.tcp.parse_opts(l4.opts):
                    if kind == dpkt.tcp.TCP_OPT_MSS and len(value) == 2:
                        mss = int.from_bytes(value, "big")
                        break
            elif isinstance(l4, dpkt.udp.UDP):
                sport, dport = l4.sport, l4.dport
            for k, v in zip(cols, (ts, int.from_bytes(ip.src, "big"), int.from_bytes(ip.dst, "big"), ip.p, sport, dport,
                                   ip.id, ip.ttl, ip.len, flags, seq, ack, win, mss)):
                cols[k].append(v)
    return pl.DataFrame(cols).height


def read_scapy(path: str) -> int:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from scapy.layers.inet import IP, TCP, UDP
        from scapy.utils import PcapReader
    rows = []
    for pkt in PcapReader(path):
        if IP not in pkt:
            continue
        ip = pkt[IP]
        row = [float(pkt.time), ip.src, ip.dst, ip.proto, None, None, ip.id, ip.ttl, ip.len, None, None, None, None, None]
        if TCP in pkt:
            t = pkt[TCP]
            mss = next((v for k, v in t.options if k == "MSS"), None)
            row[4:6] = t.sport, t.dport
            row[9:] = int(t.flags), t.seq, t.ack, t.window, mss
        elif UDP in pkt:
            row[4:6] = pkt[UDP].sport, pkt[UDP].dport
        rows.append(row)
    return len(rows)


def read_tshark(path: str) -> int:
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=,", "-o", "tcp.analyze_sequence_numbers:FALSE"]
    for field in TSHARK_FIELDS:
        cmd += ["-e", field]
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    # rows with an IPv4 source, like the others
    return sum(1 for line in out.splitlines() if line.split(b",")[1])


READERS = {"scantui": read_scantui, "scantui-lazy": read_scantui_lazy, "dpkt": read_dpkt, "scapy": read_scapy, "tshark": read_tshark}


PRELOAD = {
    "scantui": ["polars", "scantui.io.pcap", "scantui.io.pcapng"],
    "scantui-lazy": ["polars", "scantui.io.pcap"],
    "dpkt": ["dpkt", "polars"],
    "scapy": ["scapy.layers.inet", "scapy.utils"],
    "tshark": [],
}


def child(reader: str, path: str, warm: str | None = None) -> None:
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in PRELOAD[reader]:  # imports are not part of the measured time
            importlib.import_module(module)
    if warm and reader != "tshark":  # one-time costs (first calls, caches) are not throughput
        READERS[reader](warm)
    start, cpu = time.perf_counter(), time.process_time()
    rows = READERS[reader](path)
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}))


# -- the driver ---------------------------------------------------------------------------


def run(reader: str, path: str, warm: str, src: str | None = None) -> dict:
    """Run one reader in a child process: rows, seconds and CPU seconds (inside the child), peak RSS.

    *src*: a ``src`` folder put first on the child's PYTHONPATH (another version of scantui)."""
    env = dict(os.environ, POLARS_MAX_THREADS=os.environ.get("POLARS_MAX_THREADS", "1"))
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, __file__, "--child", reader, path, warm], stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{reader} failed on {path}")
    result = json.loads(out)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def generate(packets: int, slow_packets: int, work: Path) -> None:
    import capgen

    capgen.write_pcap(str(work / "capture.pcap"), packets)
    capgen.write_pcapng(str(work / "capture.pcapng"), packets)
    capgen.write_pcap(str(work / "slice.pcap"), slow_packets)
    capgen.write_pcap(str(work / "warm.pcap"), 1000, seed=1)
    capgen.write_pcapng(str(work / "warm.pcapng"), 1000, seed=1)


def many_files(counts: list[int], work: Path, timeout: float, per_file: int = 10) -> str:
    """Time ``scantui ingest`` on folders of *counts* small pcaps; a markdown table."""
    import capgen

    started, host = time.strftime("%Y-%m-%d %H:%M %Z"), machine()
    rows = []
    for n in counts:
        folder = work / f"files-{n}"
        folder.mkdir(exist_ok=True)
        for i in range(n):
            capgen.write_pcap(str(folder / f"hour-{i:05d}.pcap"), per_file, seed=i)
        out = work / f"files-{n}.parquet"
        print(f"ingesting {n:,} files ...", file=sys.stderr)
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "scantui", "ingest", str(folder), "-o", str(out)],
                                  capture_output=True, text=True, timeout=timeout)
            seconds = time.perf_counter() - start
            result = f"{seconds:.1f}" if proc.returncode == 0 else f"failed: {proc.stderr.strip()[:80]}"
        except subprocess.TimeoutExpired:
            seconds, result = None, f"not done after {timeout:.0f} s"
        rows.append(f"| {n:,} | {n * per_file:,} | {result} | {f'{seconds / n * 1000:.1f}' if seconds else '-'} |")
        shutil.rmtree(folder, ignore_errors=True)
    return "\n".join([
        f"Date: {started}  ",
        f"Machine: {host}  ",
        f"Command: `python benchmarks/bench_ingest.py {' '.join(sys.argv[1:])}`  ",
        "",
        "| files | packets | seconds (scantui ingest FOLDER) | ms per file |",
        "|---:|---:|---:|---:|",
        *rows,
    ])


def machine() -> str:
    model = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPUs ({model}), {mem_gb:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average before the run {load}")


def compare_versions(args, work: Path, host: str, size: int) -> str:
    """scantui's pcap and pcapng readers, this version against ``--old-src``, alternating old/new
    (the order flips every round), and dpkt once a round; medians and the load before each round."""
    import statistics

    new_src = str(HERE.parent / "src")
    runs: dict[tuple[str, str], list[dict]] = {}
    loads = []
    for k in range(args.repeat):
        loads.append(os.getloadavg()[0])
        versions = [("old", args.old_src), ("new", new_src)]
        for ext, path in (("pcap", work / "capture.pcap"), ("pcapng", work / "capture.pcapng")):
            for name, src in versions if k % 2 == 0 else versions[::-1]:
                r = run("scantui", str(path), str(work / f"warm.{ext}"), src)
                runs.setdefault((f"scantui ({ext})", name), []).append(r)
                print(f"round {k + 1}: {ext} {name}: {r['seconds']:.2f} s, {r['cpu_seconds']:.2f} CPU s", file=sys.stderr)
        if "dpkt" not in set(filter(None, args.skip.split(","))):
            runs.setdefault(("dpkt", "-"), []).append(run("dpkt", str(work / "capture.pcap"), str(work / "warm.pcap")))
    lines = [
        f"Date: {time.strftime('%Y-%m-%d %H:%M %Z')}  ",
        f"Machine: {host}  ",
        f"Command: `python benchmarks/bench_ingest.py {' '.join(sys.argv[1:])}`  ",
        f"Capture: {args.packets:,} Ethernet packets, {size / 2**20:.0f} MiB (capgen mix); POLARS_MAX_THREADS=1; "
        f"1-min load before each round: {', '.join(f'{x:.1f}' for x in loads)}",
        "",
        "| reader | version | runs | median s | median CPU s | min CPU s | packets/s (median CPU) | peak RSS (MiB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (label, name), rs in runs.items():
        cpu = [r["cpu_seconds"] for r in rs]
        lines.append(f"| {label} | {name} | {len(rs)} | {statistics.median(r['seconds'] for r in rs):.2f} | "
                     f"{statistics.median(cpu):.2f} | {min(cpu):.2f} | {args.packets / statistics.median(cpu):,.0f} | "
                     f"{max(r['peak_rss_mb'] for r in rs):.0f} |")
    return "\n".join(lines)


def report(table: str, args: argparse.Namespace, work: Path) -> None:
    """Print *table*, write it to ``--markdown`` when given, and remove *work* unless ``--workdir`` named it."""
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--slow-packets", type=int, default=100_000, help="capture size for scapy and tshark (extrapolated)")
    ap.add_argument("--full-tshark", action="store_true", help="run tshark on the full capture")
    ap.add_argument("--skip", default="", help="comma-separated readers to leave out")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--markdown", default=None, help="also write the result table to this file")
    ap.add_argument("--many-files", default=None, metavar="N[,N...]", help="time ingest of folders of N small pcaps instead")
    ap.add_argument("--timeout", type=float, default=600, help="seconds allowed per folder with --many-files")
    ap.add_argument("--old-src", default=None, metavar="DIR",
                    help="compare scantui's readers with the version in DIR (a src folder), alternating runs")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each version with --old-src")
    ap.add_argument("--child", nargs=3, metavar=("READER", "PATH", "WARM"), help=argparse.SUPPRESS)
    ap.add_argument("--generate", nargs=3, metavar=("N", "SLOW_N", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.generate:
        generate(int(args.generate[0]), int(args.generate[1]), Path(args.generate[2]))
        return

    if args.many_files:
        work = Path(args.workdir or tempfile.mkdtemp(prefix="scantui-bench-"))
        work.mkdir(parents=True, exist_ok=True)
        table = many_files([int(n) for n in args.many_files.split(",")], work, args.timeout)
        report(table, args, work)
        return

    skip = set(filter(None, args.skip.split(",")))
    if not shutil.which("tshark"):
        skip.add("tshark")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="scantui-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    big, big_ng, small = work / "capture.pcap", work / "capture.pcapng", work / "slice.pcap"
    host = machine()
    t = time.perf_counter()
    # written by a child process: this one stays small, and a child's peak RSS (which
    # Linux carries over from the forking parent) measures the reader alone
    subprocess.run([sys.executable, __file__, "--generate", str(args.packets), str(args.slow_packets), str(work)], check=True)
    size = big.stat().st_size
    print(f"wrote {args.packets:,} packets ({size / 2**20:.0f} MiB pcap) in {time.perf_counter() - t:.1f} s to {work}", file=sys.stderr)

    if args.old_src:
        table = compare_versions(args, work, host, size)
        report(table, args, work)
        return

    plan = [
        ("scantui (pcap)", "scantui", big, args.packets, False),
        ("scantui (pcapng)", "scantui", big_ng, args.packets, False),
        ("scantui (scan_pcap LazyFrame)", "scantui-lazy", big, args.packets, False),
        ("dpkt", "dpkt", big, args.packets, False),
        ("scapy PcapReader", "scapy", small, args.slow_packets, True),
        ("tshark -T fields", "tshark", big if args.full_tshark else small, args.packets if args.full_tshark else args.slow_packets, not args.full_tshark),
    ]
    results = []
    for label, reader, path, packets, extrapolated in plan:
        if reader in skip:
            continue
        print(f"running {label} on {packets:,} packets ...", file=sys.stderr)
        r = run(reader, str(path), str(work / ("warm.pcapng" if path.suffix == ".pcapng" else "warm.pcap")))
        r.update(label=label, packets=packets, rate=packets / r["seconds"], extrapolated=extrapolated)
        results.append(r)
    base = results[0]["rate"]
    lines = [
        f"Date: {time.strftime('%Y-%m-%d %H:%M %Z')}  ",
        f"Machine: {host}  ",
        f"Command: `python benchmarks/bench_ingest.py {' '.join(sys.argv[1:])}`".rstrip() + "  ",
        f"Capture: {args.packets:,} Ethernet packets, {size / 2**20:.0f} MiB (capgen mix); POLARS_MAX_THREADS=1",
        "",
        "| reader | packets read | seconds | packets/s | peak RSS (MiB) | scantui is x times faster |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        note = " (extrapolated)" if r["extrapolated"] else ""
        lines.append(f"| {r['label']} | {r['packets']:,}{note} | {r['seconds']:.2f} | {r['rate']:,.0f} | {r['peak_rss_mb']:.0f} | {base / r['rate']:.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
