"""The overview's packets-per-day chart at 80x24: rows of bars, not two, with whole-number ticks."""

from __future__ import annotations

import re

from tuihelp import make_app, run_app, settle
from scantui.tui.widgets.day_plot import DayPlot


def test_overview_chart_at_80x24_has_rows_of_bars_and_integer_ticks(tiny_parquet, tui_cache):
    """At 80x24 the chart had 2 rows of bars (plotext's title and label rows took the rest) and fraction ticks."""
    async def scenario(app, pilot):
        await settle(app, pilot)
        plot = app.screen.query_one(DayPlot)
        assert plot.region.height >= 9 and plot.region.bottom <= app.size.height - 1  # on screen, above the footer
        from textual_plotext import PlotextPlot

        lines = plot.query_one(PlotextPlot).render().plain.splitlines()
        rows = [line for line in lines if "┤" in line or line.lstrip().startswith("│")]
        assert len(rows) >= 5, lines  # rows of the canvas: ticks or frame
        ticks = [line.split("┤")[0].strip() for line in lines if "┤" in line]
        assert ticks and all(re.fullmatch(r"[\d,]+", t) for t in ticks), ticks
        assert not any("packets per day" in line for line in lines)  # the title is the border's, not a plot row
        assert plot.border_title == "packets per day"

    run_app(make_app([str(tiny_parquet)], tui_cache), scenario, size=(80, 24))
