"""The timing plots' data of the detail screens, prepared in thread workers.

A scanner's plot has one row per destination port (:func:`port_rows_binner`);
a candidate scan's has one row per member on the scan's port over its span and a
margin (:func:`scan_timing`), read through the workspace
(:meth:`~scantui.workspace.Workspace.timing`). Each read of packets is capped at :func:`timing_cap`
and the plot says so (:func:`cap_note`). What a worker hands the plot is a
:class:`TimingData`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING


if TYPE_CHECKING:
    import polars as pl

    from scantui.analysis.collab_types import CandidateScan
    from scantui.plots.timing import TimingGrid
    from scantui.tui.widgets.timing import Binner
    from scantui.workspace import Workspace

TOP_PORT_ROWS = 12  # a scanner's timing rows: all ports, these, then the rest summed
ALL_PORTS, OTHER_PORTS = -1, 65_536  # row keys of the summed rows
MARGIN_SHARE = 0.1  # a scan's timing plot shows this share of its duration before and after it
MIN_MARGIN_US = 60_000_000


def port_rows_binner(packets: pl.DataFrame, ports: list[int], others: bool) -> Binner:
    """Rows: all ports summed, then each of *ports*, then (*others*) every other port summed."""
    import numpy as np
    import polars as pl

    from scantui.plots.timing import TimingGrid, timing_grid

    keyed = packets.select("ts", pl.when(pl.col("dport").is_in(ports)).then(pl.col("dport").cast(pl.Int64))
                           .otherwise(OTHER_PORTS).alias("src"))
    rows = list(ports) + ([OTHER_PORTS] if others else [])

    def binner(start_us: int, end_us: int, bins: int) -> TimingGrid:
        grid = timing_grid(keyed, bins=bins, start_us=start_us, end_us=end_us, sources=rows, order="given")
        counts = np.vstack([grid.counts.sum(axis=0, keepdims=True), grid.counts])
        return TimingGrid(sources=[ALL_PORTS, *grid.sources], start_us=grid.start_us, end_us=grid.end_us,
                          bins=grid.bins, counts=counts)

    return binner


def port_row_label(key: int, others: int) -> str:
    if key == ALL_PORTS:
        return "all ports"
    if key == OTHER_PORTS:
        return f"{others:,} other ports"
    return f"port {key}"


class TimingData:
    """What a worker hands the timing plot: first grid, binner, labels, extras, note."""

    def __init__(self, grid: TimingGrid, binner: Binner, labels: list[str] | None = None,
                 extras: list[str] | None = None, extras_header: str = "", note: str = "") -> None:
        self.grid, self.binner, self.labels = grid, binner, labels
        self.extras, self.extras_header, self.note = extras, extras_header, note


#: Packets read for one timing plot (None: :data:`scantui.analysis.detail.MAX_TIMING_ROWS`).
TIMING_CAP: int | None = None


def timing_cap() -> int:
    from scantui.analysis.detail import MAX_TIMING_ROWS

    return TIMING_CAP if TIMING_CAP is not None else MAX_TIMING_ROWS


def cap_note(capped: bool) -> str:
    return f"capped: first {timing_cap():,} packets only" if capped else ""


def scan_window(scan: CandidateScan) -> tuple[int, int]:
    """The time range a scan's timing plot reads (µs): its span ± :data:`MARGIN_SHARE` of it (at least a minute)."""
    margin = max(int((scan.end_us - scan.start_us) * MARGIN_SHARE), MIN_MARGIN_US)
    return scan.start_us - margin, scan.end_us + margin


def scan_timing(ws: Workspace, scan: CandidateScan, bins: int) -> TimingData:
    """A candidate scan's members on its port over its span ± a margin; rows in order of first packet."""
    from scantui.plots.timing import timing_grid
    from scantui.tui.widgets.timing import packets_binner

    srcs = list(scan.sources)
    lo, hi = scan_window(scan)
    tp = ws.timing(srcs, port=scan.port, start_us=lo, end_us=hi, max_rows=timing_cap())
    grid = timing_grid(tp.packets, bins=bins, start_us=lo, end_us=hi + 1, sources=srcs, order="first_seen")
    share = dict(zip(srcs, scan.split))
    dsts = dict(zip(srcs, scan.dsts))
    labels = grid.row_labels()
    extras = [f"{dsts.get(s, 0):>6,} {share[s]:6.1%}" if share.get(s) is not None else f"{dsts.get(s, 0):>6,}"
              for s in (int(x) for x in grid.sources)]
    return TimingData(grid, packets_binner(tp.packets, grid.sources), labels, extras, "  dsts  share",
                      cap_note(tp.capped))

