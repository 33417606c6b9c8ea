"""What the three detail screens share: layout, thread workers, the timing plot's keys and commands.

:class:`DetailScreen` lays the panels out in a scrolling body, sizes the timing
plot to fit the screen, runs every read in a thread worker (:meth:`DetailScreen.in_thread`:
a failure is a notification, the screen stays), draws the packets-per-day and
per-port figures, and opens a source's scanner detail from the timing plot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.tui.focus import focus_now
from scantui.tui.state import error_text, explained
from scantui.tui.widgets.figures import FigurePanel
from scantui.tui.widgets.footer import KeysFooter
from scantui.tui.widgets.timing import PINNED, TimingStrips

if TYPE_CHECKING:
    import polars as pl

    from scantui.tui.screens.detail_timing import TimingData

FACTS_HEIGHT = 9  # the facts panel's usual height (rows + border), to size the timing plot
FIGURES_HEIGHT = 14
TIMING_WHAT = "timing packets"  # what a failing timing read is called in its notification


def timing_panel(title: str, keys: str) -> TimingStrips:
    """The screen's timing plot (``#detail-timing``), titled, its keys in the bottom border."""
    strips = TimingStrips(id="detail-timing", classes="panel", empty_text="reading the packets…")
    strips.border_title = title
    strips.border_subtitle = keys
    return strips


class DetailScreen(Screen):
    """What the three detail screens share: layout, workers, the timing plot's keys and commands."""

    BINDINGS = [
        Binding("escape", "app.back", "Back", id="detail.back", priority=True),
        Binding("i", "focus_timing", "Timing plot", show=False, id="detail.focus_timing", priority=True),  # (t: the time range)
    ]
    #: Last in each screen's bindings: at 80 columns the footer keeps the labelling keys before it.
    PACKETS_BINDINGS = [
        Binding("p", "packets(False)", "Packets", id="detail.packets", priority=True),
        Binding("P", "packets(True)", "Packets of the plot row", show=False, id="detail.row_packets", priority=True),
    ]
    #: Rows above and below the timing plot at wide sizes (to fit it on one screen when possible).
    RESERVED_WIDE = FACTS_HEIGHT + FIGURES_HEIGHT
    ROWS_ARE_SOURCES = True

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        with VerticalScroll(id="detail-body"):
            yield from self.panels()
        yield KeysFooter()

    def panels(self) -> ComposeResult:  # pragma: no cover - every screen has its own
        yield from ()

    def on_mount(self) -> None:
        self.set_focus(self.timing, scroll_visible=False)  # the keys drive the plot; the page starts at its top
        self.fit_timing()

    @property
    def timing(self) -> TimingStrips:
        return self.query_one("#detail-timing", TimingStrips)

    def on_resize(self) -> None:
        self.fit_timing()

    def between_facts_and_timing(self) -> int:
        """Rows of the panels between the facts and the timing plot."""
        return 0

    def reserved_wide(self) -> int:
        return self.RESERVED_WIDE

    def fit_timing(self) -> None:
        """Size the timing plot to its rows, at most what leaves the other panels on screen when wide."""
        width, height = self.app.size
        rows = self.timing.row_count if self.timing.grid is not None else 1
        above = FACTS_HEIGHT + self.between_facts_and_timing()
        cap = max(8, height - 2 - above) if width < 120 else max(10, height - 2 - self.reserved_wide())
        self.timing.styles.height = max(6, min(rows + PINNED + 2, cap))

    # ------------------------------------------------------------ workers

    def in_thread(self, group: str, compute: Callable[[], Any], apply: Callable[[Any], None], what: str) -> None:
        """Run *compute* in a thread worker; *apply* its result on the UI thread; a failure is a notification.

        A newer call of the same *group* cancels the older worker (``exclusive``): its result, or its failure,
        is dropped even when it was already on its way to the UI thread (checked there, where the cancel
        happens), so the latest read of a group is the one drawn (a time range changed twice)."""
        self.run_worker(lambda: self._job(compute, apply, what), thread=True, exclusive=True, group=group,
                        exit_on_error=False)

    def _job(self, compute: Callable[[], Any], apply: Callable[[Any], None], what: str) -> None:
        worker = get_current_worker()
        try:
            result = compute()
        except read_panics.FAILURES as exc:  # noqa: BLE001 - every failure is shown; the screen stays
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, what, explained(exc), worker)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply, apply, result, worker)

    def _apply(self, apply: Callable[[Any], None], result: Any, worker: Any = None) -> None:
        if worker is not None and worker.is_cancelled:  # a newer read of its group started meanwhile
            return
        if self.is_running and self.is_attached:  # the screen may be gone (escape) while the worker ran
            apply(result)

    def _failed(self, what: str, exc: Exception, worker: Any = None) -> None:
        if worker is not None and worker.is_cancelled:
            return
        self.notify(error_text(exc), title=f"could not read the {what}", severity="error", timeout=10, markup=False)
        if not (self.is_running and self.is_attached):
            return
        if what == TIMING_WHAT:
            self.timing.show_text(f"could not read the packets: {error_text(exc)}")
        elif what.endswith("figures"):
            for panel in self.query(FigurePanel):
                if not panel.drawn:
                    panel.show_text(f"could not read the {what}")

    def show_timing(self, data: TimingData) -> None:
        self.timing.show(data.grid, binner=data.binner, labels=data.labels, extras=data.extras,
                         extras_header=data.extras_header, note=data.note)
        self.fit_timing()

    def draw_volumes(self, days: pl.DataFrame, ports: pl.DataFrame, *, weight: str) -> None:
        """Packets per day (``detail.per_day``) and the 256-bin port histogram of ``detail.ports`` by *weight*."""
        from scantui.plots.daily import per_day
        from scantui.plots.ports import port_bins, port_histogram

        per_day_panel = self.query_one("#detail-per-day", FigurePanel)
        if days.height:
            per_day_panel.draw(lambda plt: per_day(plt, days["day"].to_list(), days["packets"].to_list(), title=""))
        else:
            per_day_panel.show_text("no packets")
        ports_panel = self.query_one("#detail-ports", FigurePanel)
        if ports.height:
            bins = port_bins(ports["dport"], weights=ports[weight])
            ports_panel.draw(lambda plt: port_histogram(plt, bins, title=""))
        else:
            ports_panel.show_text("no probes")

    @property
    def time_range(self) -> tuple[Any, Any] | None:
        """The App's time range ((first, last) days; None: every day)."""
        return getattr(self.app, "time_range", None)

    def reading(self, text: str = "reading…") -> None:
        """The figures and the timing plot say they are being read again (a new time range): nothing stale shows."""
        self.timing.show_text("reading the packets…")
        for panel in self.query(FigurePanel):
            panel.show_text(text)

    @property
    def strips_bins(self) -> int:
        return self.timing.strip_width or 200

    def _need_data(self) -> bool:
        state = self.app.state
        if state.dataset is None or state.rollup is None:
            self.timing.show_text("the data is not loaded yet")
            for panel in self.query(FigurePanel):
                panel.show_text("the data is not loaded yet")
            return False
        return True

    # ------------------------------------------------------------ keys and commands

    def action_focus_timing(self) -> None:
        focus_now(self.timing)  # i is a priority key: the keys after it go to the plot

    def action_packets(self, row: bool = False) -> None:
        """``p``: the packets of what the screen shows; ``P``: of the timing plot's row, in the plot's time window."""
        view = self.packets_view(row)
        if view is None:
            self.notify("no packets to show here (the timing plot is empty)", title="packets", markup=False)
            return
        self.app.open_packets(view)

    def packets_view(self, row: bool) -> Any:  # pragma: no cover - every screen has its own
        return None

    def timing_row(self) -> tuple[int, tuple[int, int] | None] | None:
        """(key of the timing plot's row under the cursor, the plot's time window when zoomed, else None),
        None when the plot is empty."""
        strips = self.timing
        if strips.grid is None or not strips.row_count:
            return None
        return int(strips.grid.sources[strips.cursor_row]), strips.view_range if strips.zoomed else None

    @on(TimingStrips.RowSelected)
    def _row_selected(self, event: TimingStrips.RowSelected) -> None:
        if self.ROWS_ARE_SOURCES:
            self.open_source(event.key)

    def open_source(self, src: int) -> None:
        """The scanner detail of *src* (from the scanner list's rows)."""
        self.app.open_source(src)

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        strips = self.timing
        yield "detail: back", "Back to the previous screen", self.app.action_back
        yield "detail: focus the timing plot", "Move the keys to the per-IP timing plot", self.action_focus_timing
        yield "detail: zoom in", "Halve the time range of the timing plot (+)", strips.action_zoom_in
        yield "detail: zoom out", "Double the time range of the timing plot (-)", strips.action_zoom_out
        yield "detail: earlier", "Pan the timing plot back in time ([)", lambda: strips.action_pan(-1)
        yield "detail: later", "Pan the timing plot forward in time (])", lambda: strips.action_pan(1)
        yield "detail: whole range", "Zoom the timing plot back out to everything (0)", strips.action_reset_zoom
        yield "detail: log/linear marks", "Switch the timing marks between a log and a linear scale (s)", strips.action_toggle_scale
        if self.ROWS_ARE_SOURCES:
            yield "detail: open source", "Open the scanner detail of the row under the cursor", strips.action_select
        yield "detail: packets", "The packets of what this screen shows (p)", self.action_packets
        yield "detail: packets of the plot row", "The packets of the timing plot's row, in its time window (P)", \
            lambda: self.action_packets(True)

