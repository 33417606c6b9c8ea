"""Benchmark: matching candidate scans against many labelled groups in the labels model (session 9, wt-memberidx),
for the code under PYTHONPATH.

    PYTHONPATH=src python benchmarks/bench_label_match.py --labelled 3000 --candidates 1000

*labelled* groups of 4 member addresses (every 5th with a /28 member too) and one recorded scan (port 3000-3039,
2024-02-01, a zmap_generator key on every 3rd); *candidates* candidate scans, each a group's 4 members on port
3000-3039 on 2024-02-02 (so each is a watch hit, as in ``bench_tui_offthread.py``). Measured, process CPU seconds
(``time.process_time``) and wall, per phase: the candidate lists' review (one :class:`ScanIndex`, then
``review(ips, [scan])`` of every candidate: what the TUI's ``review_record`` runs), ``label_matches`` of every
candidate, the watch's ``hits`` of all candidates, and ``ranked_groups`` (the ``l`` dialog) of 100 candidates.
Prints one JSON line. By hand only.
"""

from __future__ import annotations

import argparse
import hashlib
import datetime as dt
import json
import os
import time


def _ip(n: int) -> str:
    return f"{10 + (n >> 24) % 200}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:12]


def main() -> None:
    from scantui.labels.match import ScanIndex, label_matches, scan_key
    from scantui.labels.model import Group, Scan
    from scantui.labels.watch import Seen, hits
    from scantui.tui.labelling import ranked_groups

    ap = argparse.ArgumentParser()
    ap.add_argument("--labelled", type=int, default=3000)
    ap.add_argument("--candidates", type=int, default=1000)
    args = ap.parse_args()
    groups = []
    for i in range(args.labelled):
        ips = [_ip(i * 64 + k) for k in range(4)]
        members = ips + ([f"{_ip(i * 64 + 32)}/28"] if i % 5 == 0 else [])
        extra = {"key_kind": "zmap_generator", "key": str(i)} if i % 3 == 0 else {}
        groups.append(Group(f"G{i:05d}", "collaborative", members,
                            scans=(Scan(3000 + i % 40, dt.date(2024, 2, 1), ips, extra),)))
    step = max(1, args.labelled // max(1, args.candidates))
    seen = [Seen(3000 + (c * step) % 40, dt.date(2024, 2, 2),
                 tuple(_ip((c * step % args.labelled) * 64 + k) for k in range(4)),
                 (("zmap_generator", str(c)),)) for c in range(args.candidates)]
    out: dict[str, object] = {"labelled": args.labelled, "candidates": args.candidates,
                              "load_before": round(os.getloadavg()[0], 1)}

    def phase(name: str, run) -> object:
        cpu, wall = time.process_time(), time.perf_counter()
        result = run()
        out[name] = {"cpu_s": round(time.process_time() - cpu, 3), "wall_s": round(time.perf_counter() - wall, 3)}
        return result

    def review_all() -> list:
        index = ScanIndex(groups)
        return [index.review(list(s.sources), [scan_key(s.port, s.day, s.sources)]) for s in seen]

    reviews = phase("review", review_all)
    matches = phase("label_matches", lambda: [label_matches(groups, list(s.sources)) for s in seen])
    found = phase("hits", lambda: hits(groups, seen))
    ranked = phase("ranked_groups_100", lambda: [ranked_groups(groups, list(s.sources))[:3] for s in seen[:100]])
    out["load_after"] = round(os.getloadavg()[0], 1)
    out["answers"] = {"same_ips": sum(r[0] == "same_ips" for r in reviews), "matched": sum(bool(m) for m in matches),
                      "hits": len(found), "hit_ids": _digest([(h.id, h.via, h.share) for h in found]), "reviews": _digest(reviews),
                      "matches": _digest(matches), "top": _digest([(g.id, s) for r in ranked for g, s in r])}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
