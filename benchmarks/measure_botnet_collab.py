"""Collab on a Mirai-like botnet of one AS: false covers and the search's time (session 28).

Generates the botnet (``--bots`` sources of one AS spread over /24s, each ``--per-day`` probes a day to port 23
at random times and to random addresses of a ``--telescope``-address telescope, over ``--days`` days: every
address reached a Poisson number of times), builds its rollup in a fresh cache (not timed), then runs
``scantui collab --json`` for each window kind, each in its own process, and prints the candidates, the seconds
(in the process, imports not counted) and the process's peak RSS; and again with ``collab_cover.EXACT_SHARE_MIN`` = 0 (the search before session 28's multiplicity
condition: the false N-fold covers it reported), the peer. ``--src`` runs other code (e.g. a frozen checkout's
``src``; the peer run then needs the constant too).

    python benchmarks/measure_botnet_collab.py --bots 500 --per-day 200 --days 7
    python benchmarks/measure_botnet_collab.py --bots 500 --per-day 200 --days 28 --windows burst
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl


def generate(path: Path, bots: int, per_day: int, days: int, telescope: int, seed: int = 7) -> int:
    rng = np.random.default_rng(seed)
    srcs = (np.arange(bots, dtype=np.uint64) * 977 + 1_000_000_000).astype(np.uint32)
    t0 = int(dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc).timestamp() * 1e6)
    frames = []
    for d in range(days):
        n = bots * per_day
        dst = (746_586_112 + rng.integers(0, telescope, n)).astype(np.uint32)
        frames.append(pl.DataFrame({
            "ts": pl.Series(t0 + d * 86_400_000_000 + rng.integers(0, 86_400_000_000, n)).cast(pl.Datetime("us", "UTC")),
            "src": np.repeat(srcs, per_day), "dst": dst, "proto": pl.Series([6] * n, dtype=pl.UInt8),
            "sport": rng.integers(1024, 65535, n).astype(np.uint16), "dport": pl.Series([23] * n, dtype=pl.UInt16),
            "ip_id": rng.integers(0, 65535, n).astype(np.uint16), "ttl": pl.Series([50] * n, dtype=pl.UInt8),
            "ip_len": pl.Series([40] * n, dtype=pl.UInt16), "tcp_flags": pl.Series([2] * n, dtype=pl.UInt8),
            "tcp_seq": dst, "tcp_ack": pl.Series([0] * n, dtype=pl.UInt32),
            "tcp_window": rng.integers(1000, 65535, n).astype(np.uint16), "tcp_mss": pl.Series([None] * n, dtype=pl.UInt16),
            "sensor": pl.Series(["tel-1"] * n), "asn": pl.Series([4134] * n, dtype=pl.UInt32)}).sort("ts"))
    df = pl.concat(frames)
    df.write_parquet(path)
    return df.height


CHILD = """
import contextlib, io, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from scantui.analysis import collab_cover as cc
if sys.argv[2] != "-":
    cc.EXACT_SHARE_MIN = float(sys.argv[2])
from scantui.cli.main import main
out = io.StringIO()
t = time.perf_counter()
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[3:])
    except SystemExit as e:
        if e.code:
            raise
secs = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"found": json.loads(out.getvalue() or "null"), "seconds": secs, "peak_mib": peak}))
"""


def run(src: Path, share: str, argv: list[str]) -> dict:
    """One command in its own process (its own peak RSS); *share* overrides ``EXACT_SHARE_MIN`` unless ``-``."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(src), share, *argv], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bots", type=int, default=500)
    ap.add_argument("--per-day", type=int, default=200)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--telescope", type=int, default=61_000)
    ap.add_argument("--windows", default="burst,day")
    ap.add_argument("--src", type=Path, default=Path(__file__).resolve().parent.parent / "src")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "botnet.parquet"
        n = generate(data, args.bots, args.per_day, args.days, args.telescope)
        os.environ["SCANTUI_CACHE_DIR"] = str(Path(tmp) / "cache")
        run(args.src, "-", ["info", "--json", str(data)])  # the rollup, not timed
        print(f"botnet: {args.bots} sources of one AS, {args.per_day} probes a day each to port 23, {args.days} days, "
              f"{n:,} probes, telescope {args.telescope:,}")
        for window in args.windows.split(","):
            for label, share in (("scantui", "-"), ("no multiplicity condition", "0")):
                r = run(args.src, share, ["collab", "--json", "--window", window, "--telescope-size",
                                          str(args.telescope), str(data)])
                found = r["found"]
                shapes = ", ".join(f"{c['cover_multiple']}-fold of {c['n_sources']}" for c in found[:4])
                print(f"  --window {window:5} {label:26} {len(found)} candidates{' (' + shapes + ')' if found else ''}"
                      f"  {r['seconds']:.2f} s, peak {r['peak_mib']:.0f} MiB")

if __name__ == "__main__":
    main()
