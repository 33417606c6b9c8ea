"""Write a big valid labels file for timing ``scantui labels validate`` (issue 10, item 24).

    python benchmarks/make_big_labels.py OUT.yaml [--groups 18554]

The default makes ~50 MB: 18,554 groups in the layout a hand-kept file has
(block mappings, flow lists), each with 40 members, 4 ports, 3 scans of 40
sources and a two-line note. Deterministic (no randomness), so two runs give
the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _ip(n: int) -> str:
    return f"{10 + (n >> 24) % 200}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def group_text(i: int, members: int = 40, scans: int = 3) -> str:
    ips = [_ip(i * members + k) for k in range(members)]
    lines = [
        f"  - id: G{i:05d}",
        f"    title: generated group {i}",
        "    verdict: collaborative",
        "    category: research",
        f"    members: [{', '.join(ips)}]",
        f"    ports: [{', '.join(str(1000 + (i + k) % 60000) for k in range(4))}]",
        f"    asns: [{64512 + i % 1000}]",
        "    scans:",
    ]
    lines += [f"      - {{port: {1000 + (i + k) % 60000}, day: 2024-02-{1 + k:02d}, sources: [{', '.join(ips)}]}}" for k in range(scans)]
    lines += [
        "    tags: [generated, bench]",
        "    notes: |",
        f"      note of group {i}",
        "      second line",
        "    created: 2026-11-21T10:00:00Z",
        "    updated: 2026-11-21T10:05:00Z",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--groups", type=int, default=18_554)
    args = parser.parse_args()
    with args.out.open("w") as out:
        out.write("scantui_labels: 1\ngroups:\n")
        for i in range(args.groups):
            out.write(group_text(i))
    print(f"{args.out}: {args.groups:,} groups, {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
