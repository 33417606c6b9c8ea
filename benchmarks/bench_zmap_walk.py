"""Cost of the ZMap walk test (scantui.analysis.zmap_walk): per source, and per 1 M sources.

Measured in this process: the one-off tables (the 1,109,646 candidate generators for p = 2**32 + 15
with their inverse logs, the Pohlig-Hellman tables), the discrete logs of a batch of hits, and
``match_walk`` on simulated sources seen through a /16 and a /20 telescope: ZMap scans (1 and 4
threads) that match, and sources in uniform random order that must not (the common case in
telescope data). Per 1 M sources is **extrapolated** from the measured mean per source of each
kind (one core, the test is single-threaded numpy); say so when quoting it.

    PYTHONPATH=src python benchmarks/bench_zmap_walk.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import ipaddress
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import machine  # noqa: E402 - one machine line for every benchmark

from scantui.analysis import zmap_walk as zd  # noqa: E402
from scantui.sample import zmap_walk as zw  # noqa: E402


def _range(cidr: str) -> list[tuple[int, int]]:
    net = ipaddress.ip_network(cidr)
    return [(int(net.network_address), int(net.broadcast_address) + 1)]


def _zmap_source(cidr: str, threads: int, steps: int, seed: int):
    scan = zw.Scan.from_words(0xACE + seed, 0xB0B + seed, zw.Allowed(), threads=threads)
    ts, dst, _ = zw.probes(scan, rate=20_000.0, keep=zw.cidr_addresses(cidr), limit=steps, jitter=0.002, seed=seed)
    return scan.generator, dst, ts


def _random_source(cidr: str, hits: int, seed: int):
    (lo, hi), = _range(cidr)
    rng = np.random.default_rng(seed)
    return None, lo + rng.integers(0, hi - lo, hits), np.sort(rng.uniform(0, 600, hits))


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="sources of each kind")
    args = ap.parse_args()
    started, host = time.strftime("%Y-%m-%d %H:%M %Z"), machine()
    p = 2**32 + 15
    setup = _time(lambda: (zd.candidates(p), zd.dlog(p)))
    zd.candidates.cache_clear()
    zd.dlog.cache_clear()
    setup = min(setup, _time(lambda: (zd.candidates(p), zd.dlog(p))))
    hits = np.random.default_rng(0).integers(1, p, 1_000_000).astype(np.uint64)
    dlog_s = _time(lambda: zd.dlog(p)(hits))

    kinds = {
        "ZMap, 1 thread, /16": lambda s: _zmap_source("44.1.0.0/16", 1, 1_000_000, s),
        "ZMap, 4 threads, /16": lambda s: _zmap_source("44.1.0.0/16", 4, 1_000_000, s),
        "random order, 24 hits, /16": lambda s: _random_source("44.1.0.0/16", 24, s),
        "random order, 6 hits, /16": lambda s: _random_source("44.1.0.0/16", 6, s),
        "ZMap, 1 thread, /20": lambda s: _zmap_source("61.8.16.0/20", 1, 12_000_000, s),
        "random order, 24 hits, /20": lambda s: _random_source("61.8.16.0/20", 24, s),
    }
    rows = []
    for name, make in kinds.items():
        cidr = "44.1.0.0/16" if "/16" in name else "61.8.16.0/20"
        times, cpu, n_hits, right = [], [], [], 0
        for s in range(args.repeat):
            g, dst, ts = make(s)
            t, c = time.perf_counter(), time.process_time()
            m = zd.match_walk(dst, ts, _range(cidr))
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            n_hits.append(len(dst))
            right += (m is None) if g is None else (m is not None and m.generator == g)
        mean = statistics.mean(times)
        cpu_mean = statistics.mean(cpu)
        rows.append(f"| {name} | {statistics.median(n_hits):.0f} | {mean * 1000:.0f} | {cpu_mean * 1000:.0f} | "
                    f"{max(times) * 1000:.0f} | {cpu_mean * 1e6 / 3600:.0f} | {right}/{args.repeat} |")
    print("\n".join([
        f"### ZMap walk test ({started})",
        "",
        f"Machine: {host}  ",
        f"Command: `python benchmarks/bench_zmap_walk.py {' '.join(sys.argv[1:])}`  ",
        f"One-off tables for p = 2**32 + 15 (1,109,646 generators, inverse logs, Pohlig-Hellman tables): "
        f"{setup:.2f} s measured; discrete logs of 1 M hits in one batch: {dlog_s:.2f} s measured.",
        "",
        "| source | hits (median) | wall ms per source (mean, measured) | CPU ms (mean, measured) | max wall ms | "
        "CPU hours per 1 M such sources (extrapolated from CPU ms) | right |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]))


if __name__ == "__main__":
    main()
