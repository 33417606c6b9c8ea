"""``scantui groups --pools``: the pool summary of each large group as plain text after the table.

The TUI shows the same summary above the strips of a scan or group of
:data:`~scantui.analysis.pool_summary.POOL_MIN_SOURCES` sources or more; here each
such group gets a few lines (members active per time bin as a one-line sparkline,
the shares, the top /24s and ASes), each scan's packets read over its span
(:func:`scantui.analysis.pool_summary.scans_summary`). AS names are untrusted:
every line goes through :func:`scantui.safetext.safe_line`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scantui.safetext import safe_line

if TYPE_CHECKING:
    from scantui.analysis.collab_types import SuggestedGroup
    from scantui.analysis.pool_summary import KeyCount, PoolSummary
    from scantui.workspace import Workspace


def _keys(counts: Sequence[KeyCount], no_asn: int = 0) -> str:
    cells = []
    for c in counts:
        if c.keys > 1:
            cells.append(f"{c.keys:,} other {c.members:,}")
        else:
            cells.append(f"{c.key} {c.members:,}" + (f" ({c.name})" if c.name else ""))
    if no_asn:
        cells.append(f"no AS {no_asn:,}")
    return " · ".join(cells) or "-"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def pool_lines(name: str, s: PoolSummary) -> list[str]:
    """The summary of pool *name* as five lines (see the module doc)."""
    from scantui.analysis.collab_types import iso_us_z
    from scantui.analysis.pool_summary import share_bin_labels, width_text
    from scantui.plots.pool import column_rows, pct
    from scantui.plots.ticks import format_us, time_format

    fmt = time_format(s.bin_us, s.end_us - s.start_us)
    labels = share_bin_labels()
    bins = " · ".join(f"{labels[i]} {n:,}" for i, n in enumerate(s.share_counts) if n)
    return [
        f"pool {name}: {s.n_sources:,} sources · {_count(s.n_prefixes, '/24')} · {_count(s.n_asns, 'AS', 'ASes')} · "
        f"{iso_us_z(s.start_us)[:19]}Z → {iso_us_z(s.end_us)[:19]}Z",
        f"  active per {width_text(s.bin_us)}: {column_rows(s.active, width=len(s.active), height=1)[0]}"
        f"  peak {s.peak:,} at {format_us(s.peak_start_us, fmt)} · {s.n_active:,} of {s.n_sources:,} seen",
        f"  shares: min {pct(s.share_min)} · median {pct(s.share_median)} · max {pct(s.share_max)} · "
        f"÷ mean: {bins or '-'}",
        f"  by /24: {_keys(s.prefixes)}",
        f"  by AS: {_keys(s.asns, s.no_asn)}",
    ]


def pools_text(ws: Workspace, groups: Sequence[SuggestedGroup]) -> str:
    """The summaries of *groups* with enough members (nothing for the others), read in full: the caller prints
    it after the table, so a read that fails leaves stdout empty."""
    from scantui.analysis.pool_summary import POOL_MIN_SOURCES, scans_summary

    def read(scan):
        return ws.timing(list(scan.sources), port=scan.port, start_us=scan.start_us, end_us=scan.end_us + 1).packets

    lines: list[str] = []
    for g in groups:
        if g.n_members < POOL_MIN_SOURCES or not g.scans:
            continue
        summary = scans_summary(g.scans, g.members, read, ws.rollup().enrichment)
        if summary is not None:
            lines += ["", *pool_lines(g.group, summary)]
    return "".join(safe_line(line) + "\n" for line in lines)
