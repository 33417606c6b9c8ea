"""The pool summary of a candidate scan or a suggested group, read in the detail screen's thread worker.

The members' packets are the timing plot's own reads (:func:`~scantui.tui.screens.detail_timing.scan_timing`:
each scan's members on its port over its span and margin, memoized by the
workspace, so the summary mostly costs no second read); the AS numbers come from
the rollup's per-(src, day) enrichment. The summary itself is
:func:`scantui.analysis.pool_summary.scans_summary`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup
    from scantui.analysis.pool_summary import PoolSummary
    from scantui.workspace import Workspace

POOL_WHAT = "pool summary"  # what a failing read is called in its notification
POOL_HELP = ("With 100 sources or more, the pool summary above the strips shows how many members are active per "
             "time bin, their shares of the union (relative to the mean share: an even split is 0.9-1.1x), and the "
             "members by /24 and by AS.")


def is_pool(n_sources: int) -> bool:
    from scantui.analysis.pool_summary import POOL_MIN_SOURCES

    return n_sources >= POOL_MIN_SOURCES


def scans_pool(ws: Workspace, scans: Sequence[CandidateScan], members: Sequence[int]) -> PoolSummary | None:
    """The summary of *members* over *scans*, each scan read as its timing plot reads it; None when the worker
    was cancelled (the screen closed) on the way."""
    from textual.worker import get_current_worker

    from scantui.analysis.pool_summary import scans_summary
    from scantui.tui.screens.detail_timing import scan_window, timing_cap

    worker = get_current_worker()

    def read(scan: CandidateScan):
        lo, hi = scan_window(scan)
        return ws.timing(list(scan.sources), port=scan.port, start_us=lo, end_us=hi, max_rows=timing_cap()).packets

    return scans_summary(scans, members, read, ws.rollup().enrichment, stop=lambda: worker.is_cancelled)


def scan_pool(ws: Workspace, scan: CandidateScan) -> PoolSummary | None:
    return scans_pool(ws, [scan], scan.sources)


def group_pool(ws: Workspace, group: SuggestedGroup, scans: Sequence[CandidateScan] | None = None) -> PoolSummary | None:
    """The group's summary over *scans* (the ones its detail shows: those of the time range) and their members;
    every scan and member without."""
    from scantui.analysis.pool_summary import scans_members

    if scans is None or len(scans) == group.n_scans:
        return scans_pool(ws, group.scans, group.members)
    return scans_pool(ws, scans, scans_members(scans, group.members))


class PoolMixin:
    """The pool summary panel of a detail screen (a :class:`~scantui.tui.screens.detail_base.DetailScreen`): shown
    only for :data:`~scantui.analysis.pool_summary.POOL_MIN_SOURCES` sources or more, above the strips."""

    pool_sources = 0  # the screen's sources; set in its __init__

    @property
    def has_pool(self) -> bool:
        return is_pool(self.pool_sources)

    def pool_panel(self) -> ComposeResult:
        """The panel (``#detail-pool``) when the screen shows a pool, else nothing (the screen is as before)."""
        from scantui.tui.widgets.pool import PoolPanel

        if self.has_pool:
            yield PoolPanel(self.pool_sources, id="detail-pool", classes="panel")

    def pool_rows(self) -> int:
        """Rows the panel takes above the timing plot (0 without a pool)."""
        from scantui.tui.widgets.pool import pool_height

        return pool_height(self.app.size.width) if self.has_pool else 0

    def start_pool(self, compute: Callable[[], PoolSummary | None],
                   show: Callable[[PoolSummary | None], None] | None = None) -> None:
        if self.has_pool:
            self.in_thread("detail-pool", compute, show or self._show_pool, POOL_WHAT)

    def _show_pool(self, summary: PoolSummary | None, scope: str = "") -> None:
        from scantui.tui.widgets.pool import PoolPanel

        if summary is not None:
            self.query_one("#detail-pool", PoolPanel).show(summary, scope=scope)

    def _failed(self, what: str, exc: Exception, worker: Any = None) -> None:
        super()._failed(what, exc, worker)
        if worker is not None and worker.is_cancelled:  # a newer read of the pool started meanwhile
            return
        if what == POOL_WHAT and self.is_running and self.is_attached:
            from scantui.tui.state import error_text
            from scantui.tui.widgets.pool import PoolPanel

            self.query_one("#detail-pool", PoolPanel).show_text(f"could not sum up the pool: {error_text(exc)}")
