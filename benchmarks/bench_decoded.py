"""Decoded once: ``scantui collab`` and a detail read on a big pcap, old code beside new.

    python benchmarks/bench_decoded.py --packets 20000000 --before /path/to/old/src

Input (written once into ``benchmarks/data/work/decoded/``): a capture of N background packets
from :mod:`capgen` (random sources, 65,536 telescope addresses, about 17 minutes at 20 k packets/s)
and a small capture of one planted collaborative scan (three sources of one /24 sweeping all 65,536
of those addresses on port 4443 in ten minutes), given together as two PATHs. Each tree (the
``--before`` sources, and this checkout's ``src``) gets its own empty cache; per tree, each job
runs in its own subprocess (wall time of the whole process, peak RSS by ``os.wait4``):

* ``collab (builds the rollup)``: the first ``scantui collab --json`` (the old code decodes the
  capture for the rollup and deletes its copy; the new one keeps it in the cache);
* ``collab (rollup cached)``: the same command again: what every later search costs;
* ``detail read``: opening the data as the TUI does (inputs, cached rollup) and reading what the
  detail screen of the planted candidate shows: per-day and port rows from the rollup, and the
  sources' probes for the timing plot (:func:`scantui.analysis.detail.timing_packets`).

Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import capgen  # noqa: E402

WORK = HERE / "data" / "work" / "decoded"
MEMBERS = (0x334B9265, 0x334B9266, 0x334B9267)  # 51.75.146.101-103
PORT_KEY = b'"port"'
T0 = capgen.timestamps(1)[0] // 1_000_000  # the background's first second

DETAIL = f"""
import time
t = time.perf_counter()
from scantui.analysis import detail
from scantui.analysis.rollup_cache import open_rollup
from scantui.io.loader import open_inputs
dataset = open_inputs({{paths!r}})
rollup = open_rollup(dataset)
srcs = {list(MEMBERS)!r}
days = detail.per_day(rollup.port_day, srcs)
ports = detail.ports(rollup.port_day, srcs)
timing = detail.timing_packets(dataset.lf, srcs, port=4443)
print(days.height, ports.height, timing.packets.height, round(time.perf_counter() - t, 2))
"""


def planted(path: Path) -> None:
    """Three sources split a sweep of the 65,536 telescope addresses on port 4443 (SYNs, 54 bytes)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    eth = bytes.fromhex("001122334455" "66778899aabb" "0800")
    for i in range(65_536):
        ts_us = (T0 + 100) * 1_000_000 + i * 10_000
        ip = struct.pack(">BBHHHBBHII", 0x45, 0, 40, i & 0xFFFF, 0, 64, 6, 0, MEMBERS[i % 3], 0xC6120000 + i)
        tcp = struct.pack(">HHIIBBHHH", 40000 + i % 3, 4443, i, 0, 0x50, 0x02, 1024, 0, 0)
        frame = eth + ip + tcp
        out.append(struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", type=int, default=20_000_000)
    parser.add_argument("--before", type=Path, help="the old code's src folder")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    WORK.mkdir(parents=True, exist_ok=True)
    big = WORK / f"background-{args.packets}.pcap"
    if not big.exists():
        t = time.perf_counter()
        capgen.write_pcap(str(big), args.packets)
        print(f"wrote {big} ({big.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    plant = WORK / "planted.pcap"
    if not plant.exists():
        planted(plant)
    paths = [str(big), str(plant)]
    trees = [("before", args.before)] if args.before else []
    trees.append(("after", HERE.parent / "src"))
    rows = []
    for name, src in trees:
        cache = WORK / f"cache-{name}"
        shutil.rmtree(cache, ignore_errors=True)
        collab = ["-m", "scantui", "collab", *paths, "--json"]
        for label, argv in (("collab (builds the rollup)", collab), ("collab (rollup cached)", collab),
                            ("detail read", ["-c", DETAIL.format(paths=paths)])):
            seconds, rss, out = run(argv, Path(src), cache)
            note = out.decode().strip()[:60] if label == "detail read" else f"{out.count(PORT_KEY)} candidates"
            rows.append((name, label, seconds, rss, note))
            print(f"{name:6} {label:28} {seconds:7.1f} s {rss:7.0f} MiB  {note}", file=sys.stderr)
        size = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 2**20
        print(f"{name}: cache {size:,.0f} MiB", file=sys.stderr)
    print(f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; load average at the start {load:.1f}, at the end {os.getloadavg()[0]:.1f}")
    print(f"Input: {args.packets:,} background packets ({big.stat().st_size / 2**20:,.0f} MiB) + 65,536 planted\n")
    print("| code | job | seconds | peak RSS (MiB) | output |\n|---|---|---:|---:|---|")
    for name, label, seconds, rss, note in rows:
        print(f"| {name} | {label} | {seconds:.1f} | {rss:,.0f} | {note} |")


def run(argv: list[str], src: Path, cache: Path) -> tuple[float, float, bytes]:
    """Run one job in a child process: (wall seconds, peak RSS MiB, stdout)."""
    env = {**os.environ, "PYTHONPATH": str(src), "SCANTUI_CACHE_DIR": str(cache)}
    env.pop("COLUMNS", None)
    started = time.perf_counter()
    with open(WORK / "stdout", "wb") as out, open(WORK / "stderr", "wb") as err:
        proc = subprocess.Popen([sys.executable, *argv], env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"{argv[:3]} failed: {(WORK / 'stderr').read_text()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, (WORK / "stdout").read_bytes()


if __name__ == "__main__":
    main()
