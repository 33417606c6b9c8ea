"""The overview's packets-per-day chart: a plotext plot, or a line of text until it can be drawn.

The figure itself is built by :func:`scantui.plots.daily.per_day` (pure plotext,
no Textual). While that module is not installed, or before the data is loaded,
the panel shows a short text instead; textual-plotext is imported only when
the first plot is drawn, so the first screen paints without it.

Every row goes to the bars: the title and the unit are the panel's border title
(not plotext rows), and the frame has no top or right line. At 80x24 the panel
gets what the figures above leave, 9 rows: 5 of bars (plotext's title and
label rows left 2).

The overview's keyboard brush lives here too (:meth:`brush_move`, :meth:`brush_extend`):
a day cursor on the chart and a span of days from an anchor to it, drawn as vertical lines
and said in the bottom border; the screen turns :meth:`brush_span` into the App's time range.
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
        self._days: list[dt.date] = []  # every calendar day of the chart, first to last
        self._values: tuple[Sequence[dt.date], Sequence[int]] | None = None
        self.cursor: int | None = None  # the brush's day (an index into the calendar days), None: no brush
        self.anchor: int | None = None  # where the span started (shift+arrows), None: the cursor's day alone

    def compose(self) -> ComposeResult:
        yield Static("waiting for the data…", classes="day-plot--text", markup=False)

    def show_text(self, text: str) -> None:
        self.query_one(".day-plot--text", Static).update(text)
        self.query_one(".day-plot--text", Static).display = True
        if self._plot is not None:
            self._plot.display = False

    # ------------------------------------------------------------ the brush

    @property
    def brushing(self) -> bool:
        return self.cursor is not None and bool(self._days)

    def brush_span(self) -> tuple[dt.date, dt.date] | None:
        """The brushed days (first, last), None without a brush."""
        if not self.brushing:
            return None
        assert self.cursor is not None
        lo, hi = sorted((self.cursor, self.anchor if self.anchor is not None else self.cursor))
        return self._days[lo], self._days[hi]

    def brush_move(self, step: int) -> bool:
        """Move the day cursor by *step* days (the first move shows it at the last or first day); the span
        collapses to the cursor's day. False when there are no days."""
        return self._brush(step, extend=False)

    def brush_extend(self, step: int) -> bool:
        """Grow or shrink the span from its anchor by moving the cursor *step* days."""
        return self._brush(step, extend=True)

    def brush_clear(self) -> None:
        self.cursor = self.anchor = None
        self._redraw()

    def _brush(self, step: int, *, extend: bool) -> bool:
        if not self._days:
            return False
        last = len(self._days) - 1
        if self.cursor is None:
            self.cursor = last if step < 0 else 0
            self.anchor = self.cursor if extend else None
        else:
            if extend and self.anchor is None:
                self.anchor = self.cursor
            elif not extend:
                self.anchor = None
            self.cursor = min(max(self.cursor + step, 0), last)
        self._redraw()
        return True

    def _redraw(self) -> None:
        span = self.brush_span()
        if span is None:
            self.border_subtitle = ""
        else:
            days = span[0].isoformat() if span[0] == span[1] else f"{span[0]}..{span[1]}"
            self.border_subtitle = f"{days} · enter: time range · escape: cancel"
        if self._values is not None:
            self.show(*self._values)

    # ------------------------------------------------------------ drawing

    def show(self, days: Sequence[dt.date], values: Sequence[int]) -> None:
        """Draw *values* per day, or say why it cannot."""
        self._values = (days, values)
        if days:
            first, last = min(days), max(days)
            calendar = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
            if calendar != self._days:
                self._days, self.cursor, self.anchor = calendar, None, None
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
        if self.brushing:
            assert self.cursor is not None
            lo, hi = sorted((self.cursor, self.anchor if self.anchor is not None else self.cursor))
            plt.vline(lo - 0.5, "cyan")
            plt.vline(hi + 0.5, "cyan")
        self.query_one(".day-plot--text", Static).display = False
        self._plot.display = True
        self._plot.refresh()
