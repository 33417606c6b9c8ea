"""The overview's packets-per-day chart: a plotext plot, or a line of text until it can be drawn.

The figure itself is built by :func:`scantui.plots.daily.per_day` (pure plotext,
no Textual). While that module is not installed, or before the data is loaded,
the panel shows a short text instead; textual-plotext is imported only when
the first plot is drawn, so the first screen paints without it.

Every row goes to the bars: the title and the unit are the panel's border title
(not plotext rows), and the frame has no top or right line. At 80x24 the panel
gets what the figures above leave, 9 rows: 5 of bars (plotext's title and
label rows left 2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import Static


def per_day_builder() -> Callable[..., Any] | None:
    """``scantui.plots.daily.per_day`` when it exists, else None."""
    try:
        from scantui.plots.daily import per_day
    except ImportError:
        return None
    return per_day


class DayPlot(Container):
    """Packets per day; :meth:`show` draws it, :meth:`show_text` replaces it with a message."""

    DEFAULT_CSS = """
    DayPlot { height: 1fr; min-height: 9; }
    DayPlot > .day-plot--text { color: $text-muted; padding: 0 1; }
    """

    def __init__(self, *, title: str = "packets per day", ylabel: str = "packets", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.ylabel = ylabel
        self.border_title = f"{title} ({ylabel})" if ylabel and ylabel not in title else title
        self._plot: Any = None

    def compose(self) -> ComposeResult:
        yield Static("waiting for the data…", classes="day-plot--text", markup=False)

    def show_text(self, text: str) -> None:
        self.query_one(".day-plot--text", Static).update(text)
        self.query_one(".day-plot--text", Static).display = True
        if self._plot is not None:
            self._plot.display = False

    def show(self, days: Sequence[dt.date], values: Sequence[int]) -> None:
        """Draw *values* per day, or say why it cannot."""
        builder = per_day_builder()
        if builder is None:
            self.show_text(f"{self.title}: plot pending")
            return
        if not days:
            self.show_text(f"{self.title}: no data")
            return
        if self._plot is None:
            from textual_plotext import PlotextPlot
            from scantui.plots.plotext_order import stable_tick_order
            stable_tick_order()

            self._plot = PlotextPlot(classes="day-plot--plot")
            self.mount(self._plot)
        plt = self._plot.plt
        plt.clear_figure()
        builder(plt, list(days), list(values), title="", ylabel="")  # both are in the border title
        plt.xaxes(True, False)  # no top and right frame lines: one more row of bars
        plt.yaxes(True, False)
        self.query_one(".day-plot--text", Static).display = False
        self._plot.display = True
        self._plot.refresh()
