"""The scanner list: every column of ``scantui scanners``, sortable, filtered by the query bar.

The rows live in a :class:`~scantui.tui.widgets.table.VirtualTable` (never one
widget per row). Typing in the query bar filters after a short pause; enter
applies at once and reports a bad term as a notification. Filtering runs in a
thread worker (a ``port:`` term reads the rollup's ``port_day``), so no key
waits on it. Enter on a row calls :meth:`ScantuiApp.open_scanner`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, Static
from textual.worker import get_current_worker

from scantui.safetext import safe_line
from scantui.tui.columns import SCANNER_COLUMNS, scanner_display
from scantui.tui.query_help import QUERY_HELP
from scantui.tui.state import error_text
from scantui.tui.widgets.loading import LoadingBar
from scantui.tui.widgets.table import VirtualTable

if TYPE_CHECKING:  # scantui.tui.query imports polars: loaded on the first filter, after the first paint
    import polars as pl

    from scantui.tui.query import Query

FILTER_DELAY = 0.3  # seconds of no typing before the filter runs
PLACEHOLDER = "filter, e.g. port:443 tool:zmap 1.2.3.0/24 as:14061 cat:research range:full sched:periodic (? for all)"


class ScannersScreen(Screen):
    """One row per scanning source."""

    HELP = "Query bar terms (/ to focus, enter to apply, escape back to the table):\n\n" + QUERY_HELP
    BINDINGS = [
        Binding("escape", "leave_filter", "Back", show=False, id="scanners.leave_filter"),
        Binding("ctrl+u", "clear_filter", "Clear filter", show=False, id="scanners.clear_filter"),
        Binding("p", "packets", "Packets", id="scanners.packets"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.query_text = ""
        self._timer: Timer | None = None
        self._total = 0

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield LoadingBar(id="loading")
        with Horizontal(id="filter-row"):
            yield Label("/", id="filter-prompt")
            yield Input(placeholder=PLACEHOLDER, id="filter", select_on_focus=False)
        yield Static("loading scanners…", id="scanner-status", markup=False)
        yield VirtualTable(SCANNER_COLUMNS, sort_key="packets", descending=True, id="scanner-table",
                           empty_text="loading scanners…")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "scanners_version", self._scanners_changed, init=True)
        self.watch(self.app, "load_error", self._scanners_changed, init=False)
        self.query_one(VirtualTable).focus()

    @property
    def table(self) -> VirtualTable:
        return self.query_one(VirtualTable)

    # ------------------------------------------------------------ data in

    def _scanners_changed(self, _value: object = None) -> None:
        app, table = self.app, self.table
        scanners = app.state.scanners
        why = app.no_data_text("scanners")
        table.empty_text = why or ("loading scanners…" if app.loading else "no scanners")
        if scanners is None:  # loading (other data opened: the old rows go), or it failed
            self._total = 0
            table.set_frame(table.frame.clear())
            self.query_one("#scanner-status", Static).update(safe_line(why or "loading scanners…"))
            return
        self._total = scanners.frame.height
        self.apply_filter(self.query_text, report=False)

    def _status(self, rows: int | None = None, extra: str = "") -> None:
        table = self.table
        rows = table.row_count if rows is None else rows
        order = ""
        if table.sort_key:
            header = next((c.header for c in table.columns if c.key == table.sort_key), table.sort_key)
            order = f" · sorted by {header} {'↓' if table.descending else '↑'}"
        why = self.app.no_data_text("scanners")
        if why is not None:
            self.query_one("#scanner-status", Static).update(safe_line(why))
            return
        text = f"{rows:,} of {self._total:,} sources{order}"
        if self.query_text.strip():
            text += f" · filter: {self.query_text.strip()}"
        self.query_one("#scanner-status", Static).update(safe_line(text + (f" · {extra}" if extra else "")))

    # ------------------------------------------------------------ filtering

    @on(Input.Changed, "#filter")
    def _typed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(FILTER_DELAY, lambda: self.apply_filter(event.value, report=False))

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.apply_filter(event.value, report=True):
            self.table.focus()

    def apply_filter(self, text: str, *, report: bool) -> bool:
        """Filter the list by *text*; False (and a notification when *report*) on a bad term."""
        from scantui.tui.query import QueryError, parse_query

        try:
            query = parse_query(text)
        except QueryError as exc:
            self.query_one("#filter", Input).add_class("-invalid")
            self._status(extra=f"✗ {exc}")
            if report:
                self.notify(str(exc), title="filter", severity="error", markup=False)
            return False
        self.query_one("#filter", Input).remove_class("-invalid")
        self.query_text = text
        if self.app.state.scanners is not None:
            self._run_filter(query, report)
        return True

    @work(thread=True, exclusive=True, group="scanner-filter", exit_on_error=False)
    def _run_filter(self, query: Query, report: bool) -> None:
        from scantui.tui.query import compile_query

        state = self.app.state
        frame = state.scanners.frame
        try:
            compiled = compile_query(query, frame, state.sources_on_ports)
            result = frame.filter(compiled.expr) if compiled.expr is not None else frame
        except Exception as exc:  # noqa: BLE001 - shown, and the screen keeps working
            self.app.call_from_thread(self.notify, error_text(exc), title="filter", severity="error", markup=False)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_filtered, result, compiled.notes, report)

    def _show_filtered(self, frame: pl.DataFrame, notes: list[str], report: bool) -> None:
        self.table.set_frame(*scanner_display(frame))
        self._status(frame.height, extra="; ".join(notes))
        if report and notes:
            self.notify("\n".join(notes), title="filter", severity="warning", markup=False)

    @on(VirtualTable.ViewChanged)
    def _view_changed(self, event: VirtualTable.ViewChanged) -> None:
        self._status(event.rows)

    # ------------------------------------------------------------ rows out

    @on(VirtualTable.RowSelected)
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        from scantui.analysis.scanner_row import ScannerRow

        self.app.open_scanner(ScannerRow.from_row(event.row))

    # ------------------------------------------------------------ actions

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_leave_filter(self) -> None:
        """Escape: from the query bar back to the table; from the table, back to the previous screen."""
        if self.query_one("#filter", Input).has_focus:
            self.table.focus()
        else:
            self.app.action_back()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.apply_filter("", report=False)

    def action_packets(self) -> None:
        """``p``: the packets of the marked sources, else of the one under the cursor."""
        from scantui.tui.screens.packets_view import PacketsView

        table = self.table
        chosen = getattr(table, "chosen_rows", None)
        rows = chosen() if chosen is not None else [r for r in (table.selected_row,) if r is not None]
        if not rows:
            self.notify("no scanner to show the packets of", title="packets", markup=False)
            return
        self.app.open_packets(PacketsView.of_sources([r["src"] for r in rows]))

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        self.table.sort_by(key, descending)

    def palette_commands(self):
        """(name, help, callback) for the command palette while this screen is shown."""
        table = self.table
        yield "scanners: filter", "Focus the query bar", self.action_focus_filter
        yield "scanners: clear filter", "Show every scanner again", self.action_clear_filter
        yield "scanners: open selected", "Open the scanner under the cursor", table.action_select
        yield "scanners: packets", "The packets of the marked scanners, else the one under the cursor (p)", self.action_packets
        yield "scanners: reverse sort", "Flip the sort order", table.action_sort_reverse
        yield "scanners: sort by next column", "Sort by the column after the current one", table.action_sort_next
        for column in table.sortable_columns:
            yield f"scanners: sort by {column.header}", f"Sort the list by {column.key}", (lambda k=column.key: self.sort_by(k))
