"""A labelled group over the whole data: the ``scantui track`` figures, on one screen.

:class:`TrackScreen` asks the state's workspace for the group's tracking figures
(:meth:`scantui.workspace.Workspace.track`, memoized; :mod:`scantui.analysis.tracking`
computes them) in a thread worker once the data is loaded (it waits while the
App's ``loading`` is true), then shows the summary (longevity, packets, timing
counts), scans per day, the group size per scan, scans by day of week and day
of month, the top ports, the destination split per member and the list of
scans. Below 120 columns the panels stack in one scrolling column; wider, they
form a grid. When the group's members change (an edit, a merge, an undo) the
figures are computed again; a group deleted meanwhile says so.

The figures are drawn by the pure builders of :mod:`scantui.plots` in
:class:`~scantui.tui.widgets.figures.FigurePanel`; the tables are
:class:`~scantui.tui.widgets.table.VirtualTable` (a group scanning daily for
months has thousands of scans). The result (a :class:`~scantui.analysis.track_types.TrackResult`) is kept as
:attr:`TrackScreen.doc`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.safetext import safe_line, safe_text
from scantui.tui.columns import Column, int_text, ip_text, percent_text, plain_int_text
from scantui.tui.safe import line_content
from scantui.tui.state import error_text, explained
from scantui.tui.widgets.figures import FigurePanel, facts_table
from scantui.tui.widgets.footer import KeysFooter
from scantui.tui.widgets.loading import LoadingBar
from scantui.tui.widgets.table import VirtualTable

if TYPE_CHECKING:
    import polars as pl

    from scantui.analysis.track_types import TrackResult
    from scantui.labels.model import Group
    from scantui.workspace import Workspace


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _hour(value: Any) -> str:
    return f"{value:%H:%M}"


PORT_COLUMNS = (
    Column("port", "port", 6, "right", plain_int_text),
    Column("scans", "scans", 6, "right", int_text),
    Column("packets", "packets", 10, "right", int_text),
    Column("days", "days", 5, "right", int_text),
)
SPLIT_COLUMNS = (
    Column("member", "member", 15, fmt=ip_text),
    Column("scans", "scans", 6, "right", int_text),
    Column("mean_share", "mean", 6, "right", percent_text),
    Column("min_share", "min", 6, "right", percent_text),
    Column("max_share", "max", 6, "right", percent_text),
    Column("stable", "same", 4, fmt=_yes_no),
)
SCAN_COLUMNS = (
    Column("day", "day", 10),
    Column("port", "port", 6, "right", plain_int_text),
    Column("n_sources", "n", 4, "right", int_text),
    Column("cover", "cover", 6, "right", percent_text),
    Column("cover_multiple", "×", 2, "right", plain_int_text),
    Column("timing", "timing", 10),
    Column("start", "start", 5, fmt=_hour),
    Column("end", "end", 5, fmt=_hour),
    Column("packets", "packets", 9, "right", int_text),
)


def _value(value: Any) -> Any:
    return str(value) if isinstance(value, enum.Enum) else value


def table_frame(rows: Sequence[Any], columns: tuple[Column, ...]) -> pl.DataFrame:
    """The *columns* of *rows* (typed rows: each column key an attribute) as a DataFrame for a :class:`VirtualTable`."""
    import polars as pl

    return pl.DataFrame({c.key: [_value(getattr(r, c.key)) for r in rows] for c in columns})


def summary_rows(group_id: str, title: str | None, doc: TrackResult) -> list[tuple[str, Text | str]]:
    """The summary panel's rows: what an analyst reads first."""
    from scantui.analysis.tracking import summary_line, who_line

    name = Text(safe_line(group_id), style="bold")
    if title:
        name.append(" · " + safe_line(title))
    rows: list[tuple[str, Text | str]] = [("group", name), ("summary", summary_line(doc))]
    if doc.seen:
        when = f"{doc.first_seen:%Y-%m-%d %H:%M} to {doc.last_seen:%Y-%m-%d %H:%M} UTC"
        rows += [
            ("seen", when),
            ("active", f"{doc.active_days} of {doc.span_days} days"),
            ("probes", f"{doc.packets:,} from {len(doc.active_members)} sources"),
            ("timing", ", ".join(f"{k} {v}" for k, v in doc.timing_counts()) or "no scans"),
            ("who", safe_line(who_line(doc.member_info))),
        ]
    rows.append(("telescope", f"{doc.telescope_size:,} addresses; a scan is a port and day the members "
                              f"cover ≥ {doc.min_cover:.0%} of it"))
    return rows


class TrackScreen(Screen):
    """One labelled group over the whole data (the ``track`` figures); escape goes back."""

    HELP = ("The group's probes over the whole data. A scan is a (UTC day, port) on which the members together "
            "covered at least half of the telescope. Panels: scans per day, group size per scan, scans by day "
            "of week and day of month, the top ports, each member's share of the scans it took part in "
            "(stable: within 2 points every time), and every scan. tab moves between panels and tables; "
            "the arrows scroll. The same figures: scantui track PATH --labels FILE --group ID.")
    BINDINGS = [Binding("escape", "app.back", "Back", id="track.back", priority=True),
                Binding("m", "similar", "Similar sources", show=False, id="track.similar", priority=True),
                Binding("p", "packets", "Packets", id="track.packets", priority=True)]

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id
        self.doc: TrackResult | None = None
        self._members: tuple[str, ...] | None = None  # the members the figures are (being) computed for

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield LoadingBar(id="loading")
        with VerticalScroll(id="track-body"):
            yield Static("", id="track-summary", classes="panel")
            with Horizontal(classes="track-row"):
                yield FigurePanel("scans per day", id="track-days", classes="panel track-wide")
                yield FigurePanel("group size per scan (sources)", id="track-sizes", classes="panel")
            with Horizontal(classes="track-row"):
                yield FigurePanel("scans per weekday", id="track-weekday", classes="panel")
                yield FigurePanel("scans per day of month", id="track-monthday", classes="panel")
                with Vertical(id="track-ports-panel", classes="panel track-table") as ports:
                    ports.border_title = "ports"
                    yield VirtualTable(PORT_COLUMNS, id="track-ports", empty_text="no probes")
            with Horizontal(classes="track-row"):
                with Vertical(id="track-split-panel", classes="panel track-table") as split:
                    split.border_title = "split per member"
                    yield VirtualTable(SPLIT_COLUMNS, id="track-split", empty_text="no scans")
                with Vertical(id="track-scans-panel", classes="panel track-table track-wide") as scans:
                    scans.border_title = "scans"
                    yield VirtualTable(SCAN_COLUMNS, id="track-scans", empty_text="no scans")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#track-summary", Static).border_title = line_content(f"track {self.group_id}")
        self.query_one("#track-body", VerticalScroll).focus()
        self.watch(self.app, "loading", self._update, init=True)
        self.watch(self.app, "labels_version", self._update, init=False)

    # ------------------------------------------------------------ when to compute

    def _group(self) -> Group | None:
        session = self.app.state.labels
        if session is None or self.group_id not in session.store:
            return None
        return session.store.get(self.group_id)

    def _say(self, text: str) -> None:
        """A message in the summary panel (the figures keep what they show)."""
        self.query_one("#track-summary", Static).update(Text(safe_text(text)))

    def _update(self, _value: Any = None) -> None:
        """Compute the figures when the data is there and the group's members are not the ones shown."""
        state = self.app.state
        group = self._group()
        if group is None:
            why = "the labels file is not open" if state.labels is None else "it is no longer in the labels file"
            self._say(f"cannot track {self.group_id}: {why}")
            return
        if self.app.loading:
            self._say(f"{group.id}: waiting for the data to load…")
            return
        if state.dataset is None or state.telescope_size is None:
            self._say("the data could not be loaded (see the error); nothing to track")
            return
        if not group.members:
            self._say(f"{group.id} has no members to track")
            return
        if group.members == self._members:
            if self.doc is not None:
                self._show_summary(group)
            return
        self._members = group.members
        self.query_one("#track-body").loading = True
        self.track(list(group.members), state.workspace)

    @work(thread=True, exclusive=True, group="track", exit_on_error=False, description="track")
    def track(self, members: list[str], workspace: Workspace) -> None:
        """The workspace's ``track`` (memoized) in a thread; the figures are drawn on the UI thread."""
        worker = get_current_worker()
        try:
            doc = workspace.track(members)
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the screen stays
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, explained(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, doc, tuple(members))

    def _failed(self, exc: Exception) -> None:
        self.notify(error_text(exc), title=f"could not track {self.group_id}", severity="error", timeout=10, markup=False)
        if self.is_attached:
            self.query_one("#track-body").loading = False
            self._members = None
            self._say(f"could not track {self.group_id}: {error_text(exc)}")

    # ------------------------------------------------------------ drawing

    def _show(self, doc: TrackResult, members: tuple[str, ...]) -> None:
        if not self.is_attached or members != self._members:
            return  # the screen is gone, or other members were asked for meanwhile
        self.doc = doc
        self.query_one("#track-body").loading = False
        group = self._group()
        self._show_summary(group)
        self._draw_figures(doc)
        self.query_one("#track-ports", VirtualTable).set_frame(table_frame(doc.ports, PORT_COLUMNS))
        self.query_one("#track-split", VirtualTable).set_frame(table_frame(doc.member_split, SPLIT_COLUMNS))
        self.query_one("#track-scans", VirtualTable).set_frame(table_frame(doc.scans, SCAN_COLUMNS))
        self.query_one("#track-scans-panel").border_title = f"scans ({doc.n_scans})"
        self.query_one("#track-ports-panel").border_title = f"ports ({doc.n_ports})"

    def _show_summary(self, group: Group | None) -> None:
        if self.doc is not None:
            title = group.title if group is not None else None
            self.query_one("#track-summary", Static).update(facts_table(summary_rows(self.group_id, title, self.doc)))

    def _draw_figures(self, doc: TrackResult) -> None:
        from scantui.plots.daily import per_day
        from scantui.plots.distributions import monthday_bars, size_histogram, weekday_bars

        panels: dict[str, Callable[[Any], None]] = {}
        days = [d.day for d in doc.days]
        if doc.n_scans:
            counts = [d.scans for d in doc.days]
            panels = {
                "#track-days": lambda plt: per_day(plt, days, counts, title="", ylabel="scans"),
                "#track-sizes": lambda plt: size_histogram(plt, list(doc.sizes), title=""),
                "#track-weekday": lambda plt: weekday_bars(plt, [n for _d, n in doc.day_of_week()], title=""),
                "#track-monthday": lambda plt: monthday_bars(plt, list(doc.day_of_month()), title=""),
            }
        elif doc.seen:  # no scans: what the members did instead
            packets = [d.packets for d in doc.days]
            panels["#track-days"] = lambda plt: per_day(plt, days, packets, title="", ylabel="probes")
        no_scans = doc.seen and not doc.n_scans
        self.query_one("#track-days", FigurePanel).border_title = "probes per day (no scans)" if no_scans else "scans per day"
        why = "no probes from the members in the data" if not doc.seen else "no scans (no port and day reached the cover)"
        for panel in self.query(FigurePanel):
            build = panels.get(f"#{panel.id}")
            if build is None:
                panel.show_text(why)
            else:
                panel.draw(build)

    # ------------------------------------------------------------ commands

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield "track: back", "Back to the labels list (escape)", self.app.action_back
        yield "track: scans", "Move the keys to the list of scans", self.query_one("#track-scans", VirtualTable).focus
        yield "track: split per member", "Move the keys to the split per member", self.query_one("#track-split", VirtualTable).focus
        yield "track: ports", "Move the keys to the ports table", self.query_one("#track-ports", VirtualTable).focus
        yield "track: packets", "The packets of the scan under the cursor in the scans list, else the group's (p)", \
            self.action_packets
        yield "track: similar sources", "Rank the sources that behave like the group's members (m)", self.action_similar

    def action_packets(self) -> None:
        """``p``: in the list of scans, the packets of the scan under the cursor; elsewhere, the group's."""
        from scantui.tui.screens.packets_view import PacketsView

        scans = self.query_one("#track-scans", VirtualTable)
        row = scans.selected_row if scans.has_focus and self.doc is not None else None
        if row is not None:
            scan = next((s for s in self.doc.scans if s.day == row["day"] and s.port == row["port"]), None)
            if scan is not None:
                self.app.open_packets(PacketsView.of_scan(scan, label=f"group {self.group_id}"))
                return
        group = self._group()
        if group is None:
            self.notify(f"{self.group_id} is no longer in the labels file", title="packets", markup=False)
            return
        self.app.open_packets(PacketsView.of_labelled(group))

    def action_similar(self) -> None:
        """The sources that behave like the group's members (its next rotation of IPs, perhaps)."""
        from scantui.tui.screens.similar import SimilarScreen

        group = self._group()
        if group is None or not group.members:
            self.notify(f"{self.group_id} has no members to compare", title="similar sources", markup=False)
            return
        self.app.push_screen(SimilarScreen(list(group.members), f"group {self.group_id}"))
