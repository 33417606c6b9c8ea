"""Every figure builder draws on textual-plotext's ``PlotextPlot.plt``, the API subset the TUI has."""

from __future__ import annotations

import asyncio
import datetime as dt

import numpy as np
from textual.app import App, ComposeResult
from textual_plotext import PlotextPlot

from scantui.plots.daily import per_day
from scantui.plots.distributions import monthday_bars, size_histogram, weekday_bars
from scantui.plots.ports import port_bins, port_histogram
from scantui.plots.split import split_bars

D0 = dt.date(2024, 2, 1)
BUILDERS = {
    "daily": lambda plt: per_day(plt, [D0, D0 + dt.timedelta(days=9)], [4, 2], title="daily figure"),
    "ports": lambda plt: port_histogram(plt, port_bins(np.arange(0, 65536, 5)), title="ports figure"),
    "weekday": lambda plt: weekday_bars(plt, [1, 2, 3, 4, 5, 6, 7], title="weekday figure"),
    "monthday": lambda plt: monthday_bars(plt, list(range(31)), title="monthday figure"),
    "sizes": lambda plt: size_histogram(plt, [2, 3, 3, 205, 327], title="sizes figure"),
    "split": lambda plt: split_bars(plt, ["192.0.2.1", "bad\x1b[2J"], [0.75, 0.25], title="split figure"),
}


class PlotsApp(App):
    def compose(self) -> ComposeResult:
        for name in BUILDERS:
            yield PlotextPlot(id=name)


def test_builders_draw_on_textual_plotext():
    asyncio.run(_draw_all())  # no async pytest plugin: run the app's test harness here


async def _draw_all():
    app = PlotsApp()
    async with app.run_test(size=(100, 150)) as pilot:
        for name, draw in BUILDERS.items():
            draw(app.query_one(f"#{name}", PlotextPlot).plt)
        app.refresh(layout=True)
        await pilot.pause()
        for name in BUILDERS:
            widget = app.query_one(f"#{name}", PlotextPlot)
            text = widget.render().plain
            assert f"{name} figure" in text
            assert "█" in text
            assert "\x1b" not in text
        split = app.query_one("#split", PlotextPlot).render().plain.splitlines()
        labelled = [line.split("┤")[0].strip() for line in split if "┤" in line]
        assert labelled == ["192.0.2.1", "bad\\x1b[2J"]
        # The widget built an empty figure on mount; the bars must still sit centred on the canvas.
        top = next(i for i, line in enumerate(split) if "┌" in line)
        bottom = next(i for i, line in enumerate(split) if "└" in line)
        filled = [i for i in range(top + 1, bottom) if "█" in split[i]]
        assert abs((filled[0] - top) - (bottom - filled[-1])) <= 1
        assert "49152" in app.query_one("#ports", PlotextPlot).render().plain
