"""The pool summary panel of the detail screens: a scan or group of many sources at a glance.

:class:`PoolPanel` shows a :class:`~scantui.analysis.pool_summary.PoolSummary`
(computed in the screen's thread worker) above the per-member strips, drawn by
:mod:`scantui.plots.pool`. From 120 columns everything sits side by side (members
active per bin, the shares, the top /24s, the top ASes with their names); below,
a compact form: the histogram and two short top tables, the shares on one line.
The panel's height is fixed per form (:data:`NARROW_HEIGHT`, :data:`WIDE_HEIGHT`),
so the screen can size its timing plot before the summary arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from scantui.plots.ticks import format_us, time_format
from scantui.tui.widgets.figures import fit_title, without_years

if TYPE_CHECKING:
    from scantui.analysis.pool_summary import KeyCount, PoolSummary

WIDE_FROM = 120  # columns: the App's -wide breakpoint
NARROW_LINES, WIDE_LINES = 7, 10
NARROW_HEIGHT, WIDE_HEIGHT = NARROW_LINES + 2, WIDE_LINES + 2  # with the border
NARROW_TABLE_WIDTH = 28
WIDE_SHARES_WIDTH, WIDE_TABLES_WIDTH, WIDE_NAME_WIDTH = 38, 44, 16


def pool_height(width: int) -> int:
    """The panel's rows (border included) at a screen *width*."""
    return WIDE_HEIGHT if width >= WIDE_FROM else NARROW_HEIGHT


def _rows(counts: Sequence[KeyCount], keep: int) -> list[tuple[str, int, str | None, int]]:
    """At most *keep* rows: the first ``keep - 1`` and the rest summed as ``other`` when there are more."""
    rows = [(c.key, c.members, c.name, c.keys) for c in counts]
    if len(rows) <= keep:
        return rows
    rest = rows[keep - 1:]
    return rows[:keep - 1] + [("other", sum(r[1] for r in rest), None, sum(r[3] for r in rest))]


def _as_rows(summary: PoolSummary, keep: int) -> list[tuple[str, int, str | None, int]]:
    rows = _rows(summary.asns, keep - (1 if summary.no_asn else 0))
    return rows + ([("no AS", summary.no_asn, None, 1)] if summary.no_asn else [])


def pool_title(summary: PoolSummary, scope: str = "", width: int = 0) -> str:
    """``pool · 230 sources · 2 /24s · 1 AS``; with a *scope* (which scans it sums under a time range):
    ``pool · scans 2 of 3 in 2024-02-04..2024-02-10 · 231 sources · ...``, shorter where a panel *width* cells
    wide would cut it (:func:`reading_title`)."""
    ases = f"{summary.n_asns:,} AS" + ("es" if summary.n_asns != 1 else "")
    counts = f"{summary.n_prefixes:,} /24{'s' if summary.n_prefixes != 1 else ''} · {ases}"
    return reading_title(summary.n_sources, scope, width, counts)


def reading_title(n_sources: int, scope: str = "", width: int = 0, counts: str = "") -> str:
    """``pool · scans 2 of 3 in 2024-02-04..2024-02-10 · 231 sources`` (then *counts*, when known): the fullest
    form that fits a panel *width* cells wide (0: any width), the years of the scope's days left out first
    (the header names them), then the counts (the panel's tables say them), never the scope."""
    forms = [f"pool{f' · {s}' if s else ''} · {n_sources:,} sources{f' · {c}' if c else ''}"
             for s, c in ((scope, counts), (without_years(scope), counts), (without_years(scope), ""))]
    return fit_title(forms, width) if width else forms[0]


def pool_subtitle(summary: PoolSummary, merged: int) -> str:
    """``members active per 1m bin · peak 230 at 17:50 · 230 active``."""
    from scantui.analysis.pool_summary import width_text

    peak_at = format_us(summary.peak_start_us, time_format(summary.bin_us * merged, summary.end_us - summary.start_us))
    return (f"active per {width_text(summary.bin_us * merged)} · peak {summary.peak:,} at {peak_at}"
            f" · {summary.n_active:,} of {summary.n_sources:,} seen")


def pool_renderable(summary: PoolSummary, width: int, *, wide: bool) -> tuple[Any, int]:
    """The panel's content at *width* cells: (renderable, bins merged per chart column)."""
    from scantui.analysis.pool_summary import share_bin_labels
    from scantui.plots.pool import activity_chart, key_table, share_line, share_table

    labels = share_bin_labels()
    if wide:
        shares = Group(share_table(summary.share_counts, labels),
                       share_line(summary.share_min, summary.share_median, summary.share_max, label=False))
        tables = Group(key_table(f"by /24 ({summary.n_prefixes:,})", _rows(summary.prefixes, 4), summary.n_sources),
                       key_table(f"by AS ({summary.n_asns:,})", _as_rows(summary, 4), summary.n_sources,
                                 name_width=WIDE_NAME_WIDTH))
        chart_width = max(20, width - WIDE_SHARES_WIDTH - WIDE_TABLES_WIDTH - 2 * 2)
        chart, merged = activity_chart(summary.active, summary.start_us, summary.bin_us, width=chart_width,
                                       height=WIDE_LINES - 1)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, width=chart_width)
        grid.add_column(no_wrap=True, width=WIDE_SHARES_WIDTH)
        grid.add_column(no_wrap=True, width=WIDE_TABLES_WIDTH)
        grid.add_row(chart, shares, tables)
        return grid, merged
    chart_width = max(20, width - NARROW_TABLE_WIDTH - 2)
    chart, merged = activity_chart(summary.active, summary.start_us, summary.bin_us, width=chart_width,
                                   height=NARROW_LINES - 2)
    tables = Group(key_table(f"by /24 ({summary.n_prefixes:,})", _rows(summary.prefixes, 2), summary.n_sources,
                             bar_cells=4),
                   key_table(f"by AS ({summary.n_asns:,})", _as_rows(summary, 2), summary.n_sources, key_width=16,
                             bar_cells=4))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, width=chart_width)
    grid.add_column(no_wrap=True)
    grid.add_row(chart, tables)
    line = share_line(summary.share_min, summary.share_median, summary.share_max)
    if summary.n_sources:
        most = max(range(len(summary.share_counts)), key=lambda i: summary.share_counts[i])
        line.append(f" · {labels[most]} mean: {summary.share_counts[most]:,}/{summary.n_sources:,}")
    return Group(grid, line), merged


class PoolPanel(Static):
    """A pool at a glance (see the module doc); ``reading…`` until :meth:`show`."""

    def __init__(self, n_sources: int, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(Text(f"summing up {n_sources:,} sources…", style="dim"), id=id, classes=classes, markup=False)
        self.border_title = f"pool · {n_sources:,} sources"
        self.summary: PoolSummary | None = None
        self.scope = ""  # which scans the summary sums under a time range ("" without one), in its title
        self._summing = n_sources  # the sources being summed up (no summary yet)

    def show(self, summary: PoolSummary, *, scope: str = "") -> None:
        self.summary, self.scope = summary, scope
        self._draw()

    def reading(self, n_sources: int, *, scope: str = "") -> None:
        """Summing up again (other scans): nothing of the old summary stays."""
        self.summary, self.scope, self._summing = None, scope, n_sources
        self.update(Text(f"summing up {n_sources:,} sources…", style="dim"))
        self.border_title = reading_title(n_sources, scope, self._width())
        self.border_subtitle = ""

    def show_text(self, text: str) -> None:
        from scantui.safetext import safe_text

        self.update(Text(safe_text(text), style="dim"))

    def _width(self) -> int:
        return self.size.width or self.app.size.width - 2

    def on_mount(self) -> None:
        self.styles.height = pool_height(self.app.size.width)

    def on_resize(self) -> None:
        self.styles.height = pool_height(self.app.size.width)
        if self.summary is None:
            self.border_title = reading_title(self._summing, self.scope, self._width())
        self._draw()

    def _draw(self) -> None:
        summary = self.summary
        if summary is None:
            return
        screen_width = self.app.size.width
        width = self.content_region.width or max(20, screen_width - 6)
        content, merged = pool_renderable(summary, width, wide=screen_width >= WIDE_FROM)
        self.update(content)
        self.border_title = pool_title(summary, self.scope, self._width())
        self.border_subtitle = pool_subtitle(summary, merged)
