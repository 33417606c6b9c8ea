"""Compressed captures: reading a gzipped pcap against the plain one, stdlib gzip against the fast readers.

    python benchmarks/bench_compressed.py [--packets 2000000] [--dpkt-packets 200000]

Input (written once into ``benchmarks/data/work/compressed/``): a capture of N packets from
:mod:`capgen` as plain pcap, ``gzip -6`` (what CAIDA ships), zstd (level 3) and xz (level 6),
plus one of 2N packets gzipped (memory must not grow with the file). Each reader runs in its own
process; imports and a warm-up on a 1,000-packet file are not timed; peak RSS is the child's
``ru_maxrss`` (``os.wait4``). ``POLARS_MAX_THREADS=1``.

Rows:

* ``decompress only``: the decompressed bytes read and dropped (stdlib ``gzip``, ``zlib_ng.gzip_ng``,
  ``isal.igzip``): what a gzip reader costs by itself;
* ``scantui``: :func:`scantui.io.pcap.iter_pcap_batches` (the full canonical table) on the plain
  file and on each compressed one; for gzip with each of the three zlibs (the stdlib's and isal's by
  swapping :func:`scantui.io.compressed._zlib` in the child);
* ``dpkt``: ``dpkt.pcap.Reader`` over ``open`` and over ``gzip.open`` (the peer), on the first
  ``--dpkt-packets`` packets (its rate is extrapolated); tshark too when installed.

Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_ingest import machine  # noqa: E402 - one machine line for every benchmark

WORK = HERE / "data" / "work" / "compressed"


# -- readers (each runs in a child process) ----------------------------------------------


def _zlib_of(module: str):
    def zlib_module():
        if module == "stdlib":
            import zlib

            return zlib
        from isal import isal_zlib

        return isal_zlib

    return zlib_module


def read_scantui(path: str, gzip_module: str = "zlib-ng") -> int:
    from scantui.io import compressed
    from scantui.io.options import LoadOptions
    from scantui.io.pcap import iter_pcap_batches
    from scantui.io.stats import LoadStats

    if gzip_module != "zlib-ng":
        compressed._zlib = _zlib_of(gzip_module)
    return sum(df.height for df in iter_pcap_batches(path, LoadOptions(), LoadStats()))


def decompress_only(path: str, module: str) -> int:
    if module == "stdlib":
        opener = gzip.open
    elif module == "isal":
        from isal import igzip

        opener = igzip.open
    else:
        from zlib_ng import gzip_ng

        opener = gzip_ng.open
    total = 0
    with opener(path, "rb") as fh:
        while data := fh.read(4 << 20):
            total += len(data)
    return total


def read_dpkt(path: str, limit: int) -> int:
    import dpkt

    opener = gzip.open if path.endswith(".gz") else open
    n = 0
    with opener(path, "rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP):
                l4 = ip.data
                _ = (ip.src, ip.dst, ip.p, ip.id, ip.ttl, ip.len, getattr(l4, "dport", None))
            n += 1
            if n >= limit:
                break
    return n


def read_tshark(path: str, limit: int) -> int:
    out = subprocess.run(["tshark", "-r", path, "-c", str(limit), "-T", "fields", "-e", "ip.src", "-e", "tcp.dstport"],
                         capture_output=True, check=True).stdout
    return out.count(b"\n")


def child(job: str, path: str, arg: str, warm: str) -> None:
    import importlib

    for module in ("polars", "numpy", "scantui.io.pcap", "scantui.io.compressed", "zlib_ng.gzip_ng", "isal.igzip",
                   "zstandard", "lzma", "dpkt"):
        importlib.import_module(module)
    if job == "scantui":
        def fn(p):
            return read_scantui(p, arg)
    elif job == "decompress":
        def fn(p):
            return decompress_only(p, arg)
    elif job == "dpkt":
        def fn(p):
            return read_dpkt(p, int(arg))
    else:
        def fn(p):
            return read_tshark(p, int(arg))
    if job != "tshark":
        fn(warm)
    start = time.perf_counter()
    rows = fn(path)
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}))


# -- the driver ---------------------------------------------------------------------------


def run(job: str, path: Path, arg: str, warm: Path) -> dict:
    env = dict(os.environ, POLARS_MAX_THREADS=os.environ.get("POLARS_MAX_THREADS", "1"))
    proc = subprocess.Popen([sys.executable, __file__, "--child", job, str(path), arg, str(warm)],
                            stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{job} {arg} failed on {path}")
    result = json.loads(out)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def generate(packets: int, work: Path) -> None:
    import capgen
    import lzma

    import zstandard

    work.mkdir(parents=True, exist_ok=True)
    plain = work / "capture.pcap"
    if not plain.exists():
        capgen.write_pcap(str(plain), packets)
        data = plain.read_bytes()
        (work / "capture.pcap.gz").write_bytes(gzip.compress(data, 6, mtime=0))
        (work / "capture.pcap.zst").write_bytes(zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data))
        (work / "capture.pcap.xz").write_bytes(lzma.compress(data, preset=6))
        capgen.write_pcap(str(work / "double.pcap"), 2 * packets, seed=2)
        (work / "double.pcap.gz").write_bytes(gzip.compress((work / "double.pcap").read_bytes(), 6, mtime=0))
        (work / "double.pcap").unlink()
        capgen.write_pcap(str(work / "warm.pcap"), 1000, seed=1)
        (work / "warm.pcap.gz").write_bytes(gzip.compress((work / "warm.pcap").read_bytes(), 6, mtime=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--dpkt-packets", type=int, default=200_000, help="packets dpkt and tshark read (extrapolated)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        generate(args.generate, WORK)
        return
    if args.child:
        child(*args.child)
        return
    # in a child: the driver's own memory would show in every child's peak RSS (Linux keeps it across fork + exec)
    subprocess.run([sys.executable, __file__, "--generate", str(args.packets)], check=True)
    started, host = time.strftime("%Y-%m-%d %H:%M %Z"), machine()
    w = WORK
    sizes = {p.name: p.stat().st_size / 2**20 for p in w.iterdir()}
    d = str(args.dpkt_packets)
    jobs = [
        ("decompress only", "stdlib gzip", "decompress", w / "capture.pcap.gz", "stdlib", w / "warm.pcap.gz"),
        ("decompress only", "zlib-ng gzip_ng", "decompress", w / "capture.pcap.gz", "zlib-ng", w / "warm.pcap.gz"),
        ("decompress only", "isal igzip", "decompress", w / "capture.pcap.gz", "isal", w / "warm.pcap.gz"),
        ("scantui", "plain pcap", "scantui", w / "capture.pcap", "zlib-ng", w / "warm.pcap"),
        ("scantui", ".pcap.gz, stdlib zlib", "scantui", w / "capture.pcap.gz", "stdlib", w / "warm.pcap.gz"),
        ("scantui", ".pcap.gz, isal_zlib", "scantui", w / "capture.pcap.gz", "isal", w / "warm.pcap.gz"),
        ("scantui", ".pcap.gz, zlib-ng (chosen)", "scantui", w / "capture.pcap.gz", "zlib-ng", w / "warm.pcap.gz"),
        ("scantui", ".pcap.gz 2x packets, zlib-ng", "scantui", w / "double.pcap.gz", "zlib-ng", w / "warm.pcap.gz"),
        ("scantui", ".pcap.zst (zstandard)", "scantui", w / "capture.pcap.zst", "zlib-ng", w / "warm.pcap.gz"),
        ("scantui", ".pcap.xz (lzma)", "scantui", w / "capture.pcap.xz", "zlib-ng", w / "warm.pcap.gz"),
        ("dpkt", "plain pcap", "dpkt", w / "capture.pcap", d, w / "warm.pcap"),
        ("dpkt", ".pcap.gz over gzip.open", "dpkt", w / "capture.pcap.gz", d, w / "warm.pcap.gz"),
    ]
    if shutil.which("tshark"):
        jobs.append(("tshark", ".pcap.gz", "tshark", w / "capture.pcap.gz", d, w / "warm.pcap.gz"))
    rows = []
    for group, label, job, path, arg, warm in jobs:
        print(f"{group}: {label} ...", file=sys.stderr)
        r = run(job, path, arg, warm)
        packets = args.packets * (2 if path.name.startswith("double") else 1)
        if job == "decompress":
            rate = f"{r['rows'] / 2**20 / r['seconds']:,.0f} MiB/s"
            what = f"{r['rows'] / 2**20:,.0f} MiB out"
        else:
            rate = f"{r['rows'] / r['seconds']:,.0f}"
            what = f"{r['rows']:,}" + (" (extrapolated)" if r["rows"] < packets and job in ("dpkt", "tshark") else "")
        seconds = r["seconds"] * (packets / r["rows"] if job in ("dpkt", "tshark") else 1)
        rows.append(f"| {group} | {label} | {sizes[path.name]:,.0f} | {what} | {seconds:.2f} | {rate} | "
                    f"{r['peak_rss_mb']:,.0f} |")
    print("\n".join([
        f"Date: {started}  ",
        f"Machine: {host}  ",
        f"Command: `python benchmarks/bench_compressed.py {' '.join(sys.argv[1:])}`  ",
        "",
        "| reader | input | file MiB | packets read | seconds | packets/s | peak RSS (MiB) |",
        "|---|---|---:|---:|---:|---:|---:|",
        *rows,
    ]))
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
