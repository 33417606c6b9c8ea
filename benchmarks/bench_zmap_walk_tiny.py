"""The ZMap walk test through tiny telescopes: CPU per source, and its answer, for old/new comparisons.

A tiny telescope (a honeypot, a /26; a rollup day of few distinct destinations, the telescope size the
rollup takes) makes the tight distance a large share of the cycle: stage 1 keeps every one of the
1,109,646 candidates and stage 2 decides alone. Measured here, in this process, after the one-off tables:
``match_walk`` on a simulated 2-thread ZMap 4.1 scan (the TUI detail test's: 31 hits) and on sources in
random order, seen as telescopes of 64, 71, 150 and 1,000 addresses and as the /16 they probe.
Run it once with the old sources and once with the new (alternate them; give the load):

    PYTHONPATH=src python benchmarks/bench_zmap_walk_tiny.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from scantui.analysis import zmap_walk as zd
from scantui.sample import zmap_walk as zw


def _sources():
    scan = zw.Scan.from_words(0x5EED, 0xF00D, zw.Allowed(), threads=2)
    ts, dst, _ = zw.probes(scan, rate=40_000.0, keep=zw.cidr_addresses("44.1.0.0/16"), limit=1_000_000, seed=1)
    rng = np.random.default_rng(4)
    yield "ZMap 4.1, 2 threads", dst, ts
    for h in (20, 40):
        yield f"random order, {h} hits", 0x2C010000 + rng.choice(65536, h, replace=False), np.sort(rng.uniform(0, 60, h))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    p = 2**32 + 15
    c0 = time.process_time()
    zd.candidates(p), zd.dlog(p)
    print(f"load {os.getloadavg()[0]:.1f}; one-off tables {time.process_time() - c0:.2f} CPU s")
    tele16 = zd.telescope_ranges(["44.1.0.0/16"])
    for name, dst, ts in _sources():
        for size in (64, 71, 150, 1000, tele16):
            cpu = []
            for _ in range(args.repeat):
                c0 = time.process_time()
                m = zd.match_walk(dst, ts, size)
                cpu.append(time.process_time() - c0)
            said = "no match" if m is None else f"g={m.generator}, {m.candidates} candidates, {m.consistent} consistent"
            view = "/16" if not isinstance(size, int) else f"{size} addresses"
            print(f"{name:22} {view:14} CPU s min {min(cpu):.2f} median {np.median(cpu):.2f}  {said}"
                  f"  (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
