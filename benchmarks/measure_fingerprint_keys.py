"""False ``fingerprint`` candidates of collab (issue 13 part 4) on some data, and on its randomised control.

Opens the data through the cache (a rollup with its day states: the per-day signatures of
:mod:`scantui.analysis.fingerprint_keys`), runs ``collab --by both`` and ``--by all``, and reports:
the fingerprinted (day, source) rows, how many are keys (rare, no tool's default), the candidates
whose own key is a fingerprint (with their artifacts) and whether a ground truth (``truth.json``
beside the data, as the sample's) holds their members, the fingerprint keys found in ``also_keys``,
and the same count over N shuffles of each day's signatures across its sources (the control). Also
the seconds of each search (the rollup is built before, not timed).

    PYTHONPATH=src python benchmarks/measure_fingerprint_keys.py [DATA...] [--cache DIR] [--shuffles 20]
    PYTHONPATH=src python benchmarks/measure_fingerprint_keys.py --planted 20 [--shuffles 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import polars as pl

from scantui.analysis import collab as cb
from scantui.analysis import collab_keys as ck
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis.collab_query import make_query
from scantui.analysis.collab_types import KeyKind
from scantui.workspace.core import Workspace

ROOT = Path(__file__).resolve().parent.parent


def _truth(paths: list[Path]) -> set[frozenset[str]] | None:
    for p in paths:
        t = (p if p.is_dir() else p.parent) / "truth.json"
        if t.is_file():
            return {frozenset(s["sources"]) for s in json.loads(t.read_text())["collab_scans"]}
    return None


def planted(seeds: int, shuffles: int) -> None:
    """Recall, precision and the control on :mod:`scantui.sample.fingerprint_pools` (six pools a seed)."""
    from scantui.io.schema import conform
    from scantui.sample import fingerprint_pools as fpools

    found = true = false = control = 0
    seconds = 0.0
    for seed in range(seeds):
        df, truth = fpools.planted(seed)
        lf = conform(df.lazy())
        t0 = time.perf_counter()
        result = cb.collab_scans(lf, telescope_size=fpools.T, query=make_query(by="all"))
        seconds += time.perf_counter() - t0
        want = {(t["port"], tuple(t["sources"])) for t in truth}
        got = {(c.port, tuple(sorted(c.source_ips))) for c in result.candidates}
        found += len(got & want)
        true += len(want)
        false += len(got - want)
        fps = fk.fingerprints_from_packets(lf)
        for k in range(shuffles):
            control += len(cb.collab_scans(lf, telescope_size=fpools.T, query=make_query(by="fingerprint"),
                                           fingerprints=fk.shuffled(fps, 1000 * seed + k)).candidates)
    print(f"planted ({seeds} seeds x 6 pools): {found}/{true} pools found, {false} false candidates, "
          f"{seconds / seeds:.2f} s a search; randomised control ({shuffles} shuffles a seed): {control} candidates")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="*", default=[str(ROOT / "sample_data" / "telescope.parquet")])
    ap.add_argument("--cache", default=None, help="cache folder (default: the user's)")
    ap.add_argument("--shuffles", type=int, default=20)
    ap.add_argument("--planted", type=int, default=0, metavar="SEEDS",
                    help="measure on scantui.sample.fingerprint_pools instead (this many seeds)")
    args = ap.parse_args()
    if args.planted:
        planted(args.planted, args.shuffles)
        return
    paths = [Path(p) for p in args.data]
    ws = Workspace.open(paths, cache_dir=args.cache)
    rollup = ws.rollup()
    fps = rollup.fingerprints
    if fps is None:
        sys.exit("the rollup has no fingerprint tables")
    table = fps.collect()
    keys = fk.rare_keys(table.lazy()).collect()
    print(f"fingerprinted (day, source) rows: {table.height:,}; distinct signatures: {table['fp_id'].n_unique():,}; "
          f"tool defaults: {table['tool_default'].is_not_null().sum():,}; rows keyed: {keys.height:,} "
          f"({keys.select('day', 'key').n_unique():,} (day, key) groups)")
    size = ws.telescope()[0]

    def search(by: str, fingerprints: pl.LazyFrame | None) -> tuple[cb.CollabResult, float]:
        t0 = time.perf_counter()
        result = cb.collab_scans(ws.packet_source(), port_day=rollup.port_day, enrichment=rollup.enrichment,
                                 telescope_size=size, query=make_query(by=by), sums=rollup.collab_sums,
                                 fingerprints=fingerprints)
        return result, time.perf_counter() - t0

    both, t_both = search("both", None)
    every, t_all = search("all", fps)
    truth = _truth(paths)
    own = [c for c in every.candidates if c.key.kind is KeyKind.FINGERPRINT]
    also = [c for c in every.candidates if any(k.kind is KeyKind.FINGERPRINT for k in c.also_keys)]
    print(f"--by both: {len(both.candidates)} candidates in {t_both:.2f} s; --by all: {len(every.candidates)} in {t_all:.2f} s")
    print(f"candidates keyed by a fingerprint: {len(own)}; with a fingerprint in also_keys: {len(also)}")
    for c in own:
        known = None if truth is None else frozenset(c.source_ips) in truth
        print(f"  port {c.port} {c.day} {c.n_sources} sources, key {c.key.text!r}, in the truth: {known}")
    def rows(cands):
        return [(c.port, c.day, c.key.text, c.sources, c.score) for c in cands if c.key.kind is not KeyKind.FINGERPRINT]

    same = rows(both.candidates) == rows(every.candidates)
    print(f"the /24 and AS candidates unchanged by --by all (but also_keys): {same}")
    counts = []
    for seed in range(args.shuffles):
        control, _ = search("fingerprint", fk.shuffled(fps, seed))
        counts.append(len(control.candidates))
    print(f"randomised control ({args.shuffles} shuffles, --by fingerprint): candidates per shuffle {counts}")

    # ablation: every signature two sources share is a key (tool defaults and common ones too)
    ck.KEY_TABLES["fingerprint"] = lambda inputs: ck.KeyTable(
        fk.rare_keys(inputs.fingerprints, rare_only=False), lambda ids: fk.labels(inputs.fingerprints, list(ids)))
    loose, t_loose = search("fingerprint", fps)
    false = [c for c in loose.candidates if truth is not None and frozenset(c.source_ips) not in truth]
    print(f"ablation, every shared signature a key (--by fingerprint): {len(loose.candidates)} candidates in "
          f"{t_loose:.2f} s, {len(false)} not in the truth")
    for c in false[:10]:
        print(f"  port {c.port} {c.day} {c.n_sources} sources, key {c.key.text!r}, score {c.score}")
    counts = []
    for seed in range(min(args.shuffles, 5)):
        control, _ = search("fingerprint", fk.shuffled(fps, seed))
        counts.append(len(control.candidates))
    print(f"ablation's randomised control ({len(counts)} shuffles): candidates per shuffle {counts}")


if __name__ == "__main__":
    main()
