"""The first screen: what is in the data, painted before the analysis finishes.

Every panel starts as a placeholder and fills in when the App's reactive
``overview`` / ``collab_count`` / ``groups_count`` change; the loading bar
follows ``progress`` and hides itself when the pipeline is done.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Header, Static

from scantui.analysis.overview import Overview
from scantui.safetext import safe_line
from scantui.tui.widgets.day_plot import DayPlot
from scantui.tui.widgets.footer import KeysFooter
from scantui.tui.widgets.loading import LoadingBar

PENDING = "…"
MAX_INPUTS = 5
UNAVAILABLE = "—"
#: The sensors panel's rows (its height is capped at 8 with the header and border): more sensors end in a count.
MAX_SENSOR_ROWS = 5
#: The chart's least rows beside the sensors: its border, axis and dates (4) and 3 rows of bars.
CHART_LEAST = 7
#: The overview's rows besides the sensors' (header, figure panels, the chart's least, footer, the panel's
#: border and column names): a short terminal shows fewer sensors rather than scroll the screen, and below
#: two rows (80x24) one line of them (:func:`sensors_line`), so the chart keeps its bars.
OTHER_ROWS = 1 + 13 + CHART_LEAST + 1 + 3
#: A sensor name longer than this ends in "…", so a long one cannot push the figures off the panel.
SENSOR_NAME_WIDTH = 24


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else UNAVAILABLE


def _count(value: int | None, loading: bool) -> str:
    if value is None:
        return PENDING if loading else UNAVAILABLE
    return f"{value:,}"


def _grid(*justify: str) -> Table:
    table = Table.grid(padding=(0, 1))
    for i, how in enumerate(justify):
        table.add_column(justify=how, no_wrap=True, style="bold" if i == 0 else None)
    return table


def figures_table(ov: Overview | None, collab: int | None, groups: int | None, waiting: bool,
                  new: tuple[int, int] | None = None) -> Table:
    """Packets, sources, time range, telescope, traffic split and the review counts."""
    table = _grid("left", "right")
    if ov is None:
        for label in ("packets", "sources", "from", "to", "days", "telescope", "probes", "backscatter", "other"):
            table.add_row(label, PENDING if waiting else UNAVAILABLE)
    else:
        when = "%Y-%m-%d %H:%M"
        origin = {"estimated": "est.", "given": "given", "cidr": "cidr"}.get(ov.telescope_from, ov.telescope_from)
        table.add_row("packets", f"{ov.packets:,}")
        table.add_row("sources", f"{ov.sources:,}")
        table.add_row("from", ov.first_seen.strftime(when) if ov.first_seen else UNAVAILABLE)
        table.add_row("to", ov.last_seen.strftime(when) if ov.last_seen else UNAVAILABLE)
        table.add_row("days", f"{ov.days:,}")
        table.add_row("telescope", f"{ov.telescope_size:,} ({origin})")
        table.add_row("probes", f"{ov.probes:,} {_pct(ov.probes, ov.packets):>6}")
        table.add_row("backscatter", f"{ov.backscatter:,} {_pct(ov.backscatter, ov.packets):>6}")
        table.add_row("other", f"{ov.other:,} {_pct(ov.other, ov.packets):>6}")
    if new is not None and collab is not None and groups is not None:
        table.add_row("candidates", f"{new[0]:,} new of {collab:,}")
        table.add_row("groups", f"{new[1]:,} new of {groups:,}")
    else:
        table.add_row("candidates", f"{_count(collab, waiting)} to review")
        table.add_row("groups", f"{_count(groups, waiting)} to review")
    return table


def tools_table(ov: Overview | None, waiting: bool = True) -> Table | Text:
    """Tool shares over probes, with the sources using each tool."""
    if ov is None:
        return Text(PENDING if waiting else UNAVAILABLE)
    table = _grid("left", "right", "right")
    table.add_row(Text("tool", style="dim"), Text("probes", style="dim"), Text("srcs", style="dim"))
    for t in ov.tools:
        table.add_row(t.tool, f"{t.share:.1%}", f"{t.sources:,}")
    return table


def ports_table(ov: Overview | None, waiting: bool = True) -> Table | Text:
    """The most probed destination ports."""
    if ov is None:
        return Text(PENDING if waiting else UNAVAILABLE)
    if not ov.top_ports:
        return Text("no probes", style="dim")
    table = _grid("left", "right", "right")
    table.add_row(Text("port", style="dim"), Text("probes", style="dim"), Text("srcs", style="dim"))
    for p in ov.top_ports:
        table.add_row(str(p.port), f"{p.share:.1%}", f"{p.sources:,}")
    return table


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def inputs_table(ov: Overview | None) -> Table | Text:
    """Input files, sensors and skipped records (file names and sensor names are shown as data)."""
    if ov is None:
        return Text(PENDING)
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True, min_width=len("sensors"))  # not squeezed by a long value
    table.add_column(overflow="ellipsis", no_wrap=True)
    for i, (path, fmt, size) in enumerate(ov.inputs[:MAX_INPUTS]):
        table.add_row("input" if i == 0 else "", Text(f"{safe_line(path)} ({fmt}, {_bytes(size)})"))
    if len(ov.inputs) > MAX_INPUTS:
        table.add_row("", Text(f"… and {len(ov.inputs) - MAX_INPUTS:,} more files"))
    table.add_row("sensors", Text(", ".join(safe_line(s) for s in ov.sensors) or UNAVAILABLE))
    skipped = ", ".join(f"{safe_line(k)} {v:,}" for k, v in sorted(ov.skipped.items()))
    table.add_row("skipped", Text(skipped or "nothing"))
    return table


def sensors_table(ov: Overview | None, max_rows: int = MAX_SENSOR_ROWS) -> Table | Text:
    """One row per sensor (data with two or more): packets, probes, sources, space, days (names shown as data);
    more than *max_rows*: the first ones and how many more."""
    if ov is None or not ov.sensor_rows:
        return Text("")
    table = _grid("left", "right", "right", "right", "right", "right", "left")
    table.columns[0].max_width, table.columns[0].overflow = SENSOR_NAME_WIDTH, "ellipsis"
    table.add_row(*(Text(h, style="dim") for h in ("sensor", "packets", "probes", "srcs", "space", "days", "from..to")))
    rows = ov.sensor_rows
    max_rows = max(2, min(max_rows, MAX_SENSOR_ROWS))
    shown = rows if len(rows) <= max_rows else rows[:max_rows - 1]
    for s in shown:
        span = f"{s.first_day}..{s.last_day}" if s.first_day else UNAVAILABLE
        table.add_row(Text(safe_line(s.sensor)), f"{s.packets:,}", f"{s.probes:,}", f"{s.sources:,}", f"{s.space:,}",
                      f"{s.days:,}", span)
    if len(shown) < len(rows):
        table.add_row(Text(f"… and {len(rows) - len(shown):,} more", style="dim"))
    return table


def sensors_line(ov: Overview | None) -> Text:
    """The sensors in one line (a terminal too short for their table): each one's packets (names shown as data,
    cut at :data:`SENSOR_NAME_WIDTH`)."""
    line = Text()  # one row: the panel's CSS (.-line) cuts it with "…"
    if ov is None or not ov.sensor_rows:
        return line
    line.append("sensors", style="bold")
    line.append(" (s compares two) ", style="dim")
    for i, s in enumerate(ov.sensor_rows):
        name = safe_line(s.sensor)
        if len(name) > SENSOR_NAME_WIDTH:
            name = name[:SENSOR_NAME_WIDTH - 1] + "…"
        line.append((" · " if i else "") + name)
        line.append(f" {s.packets:,}" + (" packets" if i == 0 else ""), style="dim")
    return line


class OverviewScreen(Screen):
    """Packets, sources, time range, telescope, traffic split, tools, top ports, packets per day."""

    HELP = ("The data at a glance. Figures fill in as the analysis runs; the bar shows how far it got.\n\n"
            "The time range: left/right move a day cursor on the packets-per-day chart, shift+left/right "
            "(or [ ]) stretch a span of days from it, enter makes the span the time range of every area "
            "(shown in the header), escape drops the brush. t types a range (2024-02-05..2024-02-09), T clears it.\n\n"
            "With two sensors or more a panel lists each one's figures (space: its median daily distinct "
            "destinations); s compares two of them.")
    BINDINGS = [
        Binding("enter", "open", "Scanners", show=False, id="overview.open"),
        Binding("left", "brush(-1)", "Day cursor left", show=False, id="overview.brush_left"),
        Binding("right", "brush(1)", "Day cursor right", show=False, id="overview.brush_right"),
        Binding("shift+left,left_square_bracket", "brush(-1, True)", "Stretch the span left", show=False,
                id="overview.brush_extend_left"),
        Binding("shift+right,right_square_bracket", "brush(1, True)", "Stretch the span right", show=False,
                id="overview.brush_extend_right"),
        Binding("escape", "leave_brush", "Back", show=False, id="overview.leave_brush", priority=True),
        Binding("s", "app.sensors", "Sensors compared", show=False, id="overview.sensors", priority=True),
    ]

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield LoadingBar(id="loading")
        with Horizontal(id="overview-panels"):
            yield Static(figures_table(None, None, None, True), id="figures", classes="panel")
            yield Static(tools_table(None), id="tools", classes="panel")
            yield Static(ports_table(None), id="ports", classes="panel")
            yield Static(inputs_table(None), id="inputs", classes="panel")
        yield Static(sensors_table(None), id="sensors-panel", classes="panel")  # shown with two sensors or more
        yield DayPlot(id="day-plot", classes="panel")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#figures").border_title = "data"
        self.query_one("#tools").border_title = "tools"
        self.query_one("#ports").border_title = "top ports"
        self.query_one("#inputs").border_title = "inputs"
        self.query_one("#sensors-panel").border_title = "sensors (s compares two)"
        app = self.app
        self.watch(app, "overview", self._show_overview, init=True)
        self.watch(app, "collab_count", self._show_figures, init=False)
        self.watch(app, "groups_count", self._show_figures, init=False)
        self.watch(app, "loading", self._show_figures, init=False)
        self.watch(app, "counting", self._show_figures, init=False)
        self.watch(app, "new_counts", self._show_figures, init=False)
        self.watch(app, "load_error", lambda _e: self._show_overview(app.overview), init=False)

    # ------------------------------------------------------------ the brush (the time range from the chart)

    @property
    def day_plot(self) -> DayPlot:
        return self.query_one(DayPlot)

    def action_brush(self, step: int, extend: bool = False) -> None:
        plot = self.day_plot
        moved = plot.brush_extend(step) if extend else plot.brush_move(step)
        if not moved:
            self.notify("no days to brush yet", title="time range", markup=False)

    def action_open(self) -> None:
        """enter: the brushed days become the time range; without a brush, the scanner list."""
        span = self.day_plot.brush_span()
        if span is None:
            self.app.action_area("scanners")
            return
        self.app.time_range = span
        self.day_plot.brush_clear()

    def action_leave_brush(self) -> None:
        if self.day_plot.brushing:
            self.day_plot.brush_clear()
        else:
            self.app.action_back()

    def palette_commands(self):
        """(name, help, callback) for the command palette while this screen is shown."""
        yield "overview: brush the chart", "A day cursor on packets per day (left/right; shift stretches)", lambda: self.action_brush(-1)
        if self.day_plot.brushing:
            yield "overview: set the brushed days as the time range", "enter", self.action_open

    def on_resize(self) -> None:
        overview = self.app.overview
        if overview is not None and overview.sensor_rows:
            self._show_sensors(overview)

    def _show_sensors(self, overview: Overview | None) -> None:
        """The sensors' table, or their line where the table would leave the chart no bars."""
        panel = self.query_one("#sensors-panel", Static)
        rows = self.size.height - OTHER_ROWS
        short = rows < 2
        panel.set_class(short, "-line")
        panel.update(sensors_line(overview) if short else sensors_table(overview, rows))

    def _show_figures(self, _value: object = None) -> None:
        app = self.app
        self.query_one("#figures", Static).update(
            figures_table(app.overview, app.collab_count, app.groups_count, app.loading or app.counting, app.new_counts)
        )

    def _show_overview(self, overview: Overview | None) -> None:
        self._show_figures()
        waiting = self.app.load_error is None  # after a failed load: "—", as the figures say, not "…" for ever
        self.query_one("#tools", Static).update(tools_table(overview, waiting))
        self.query_one("#ports", Static).update(ports_table(overview, waiting))
        self.query_one("#inputs", Static).update(inputs_table(overview))
        sensors = self.query_one("#sensors-panel", Static)
        self._show_sensors(overview)
        sensors.display = overview is not None and bool(overview.sensor_rows)
        self.set_class(bool(sensors.display), "-sensors")  # the chart gives up rows so 80x24 needs no scrolling
        plot = self.query_one(DayPlot)
        why = self.app.no_data_text("figures")
        if why is not None:
            plot.show_text(safe_line(why))
        elif overview is None:
            plot.show_text("waiting for the data…")
        else:
            plot.show(overview.day_list, overview.day_packets)
