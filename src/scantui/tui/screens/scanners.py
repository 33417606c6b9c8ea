"""The scanner list: every column of ``scantui scanners``, sortable, filtered by the query bar.

The rows live in a :class:`~scantui.tui.widgets.table.VirtualTable` (never one
widget per row). Typing in the query bar filters after a short pause; enter
applies at once and reports a bad term as a notification. Filtering runs in a
thread worker (a ``port:`` term reads the rollup's ``port_day``), so no key
waits on it. Enter on a row calls :meth:`ScantuiApp.open_scanner`. ``space`` marks
sources (the table's marks), ``l`` labels the marked ones through
:func:`scantui.tui.labelling.label_sources_dialog`, ``n`` sets their tags and note
(:mod:`scantui.tui.screens.source_note`; the ``tags`` and ``note`` columns show them). The App's time range
(:mod:`scantui.tui.app_views`) recounts the list for its days in the same worker; ``U`` recounts it with UDP probes
counted too (as ``scantui scanners --include-udp``), and the query bar's ``port:`` and ``day:`` then match UDP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Header, Input, Label, Static
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.safetext import safe_line
from scantui.tui.app_views import range_text
from scantui.tui.columns import SCANNER_TABLE_COLUMNS, scanner_display
from scantui.analysis.query_help import QUERY_HELP
from scantui.tui.screens.filter_screen import FilterScreen
from scantui.tui.state import error_text
from scantui.tui.widgets.filter_input import FilterInput
from scantui.tui.widgets.footer import KeysFooter
from scantui.tui.widgets.loading import LoadingBar
from scantui.tui.widgets.table import VirtualTable
from scantui.tui.focus import OpensRows, focus_now
from scantui.workspace.task import Cancelled, Task

if TYPE_CHECKING:  # scantui.analysis.query imports polars: loaded on the first filter, after the first paint
    import polars as pl

    from scantui.analysis.query import Query

PLACEHOLDER = "filter, e.g. port:443 tool:zmap 1.2.3.0/24 as:14061 cat:research range:full sched:periodic (? for all)"


class ScannersScreen(OpensRows, FilterScreen):
    """One row per scanning source."""

    HELP = ("space marks sources (* all shown, - clears; marked rows filtered out stay marked but are not acted on); "
            "l labels the marked sources (or the one under the cursor): a new group of them, or add them to one. "
            "ctrl+s exports the list as shown (marked rows only, when marked): .csv, .parquet or .txt (the IPs). "
            "n sets the tags and note of the marked sources (or the one under the cursor), kept in the labels file. "
            "c picks the columns (remembered). U counts UDP probes too (as scanners --include-udp; U again: TCP "
            "probes only).\n\n"
            "Query bar terms (/ to focus, enter to apply, escape back to the table):\n\n" + QUERY_HELP)
    BINDINGS = [  # priority: they open a screen or a pop-up, or leave this one (scantui.tui.focus)
        Binding("escape", "leave", "Back", show=False, id="scanners.leave_filter", priority=True),
        Binding("ctrl+u", "clear_filter", "Clear filter", show=False, id="scanners.clear_filter"),
        Binding("l", "label", "Label marked", show=False, id="scanners.label", priority=True),
        Binding("n", "note", "Note", show=False, id="scanners.note", priority=True),
        Binding("p", "packets", "Packets", id="scanners.packets", priority=True),
        Binding("enter", "open_row", "Open", id="scanners.open", priority=True),
        Binding("U", "toggle_udp", "UDP too", show=False, id="scanners.udp"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.query_text = ""
        self._total = 0
        self._annotated: tuple[Any, Any, int, pl.DataFrame] | None = None  # (list, labels store, version, annotated)
        self._counted_for: Any = None  # the time range the rows shown were counted for (None: every day)
        self._counted_udp = False  # the rows shown were counted with UDP probes
        self._coming: tuple[str, str] | None = None  # (what is counted, what the rows are) meanwhile (:meth:`_recounting`)
        # the recount's token, and the (time range, UDP) it counts: another range cancels it (at its next source range)
        self._count_task: tuple[Task, Any] | None = None
        self.include_udp = False  # U: UDP probes counted too (scanners --include-udp)

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield LoadingBar(id="loading")
        with Horizontal(id="filter-row"):
            yield Label("/", id="filter-prompt")
            yield FilterInput(placeholder=PLACEHOLDER, id="filter")
        yield Static("loading scanners…", id="scanner-status", markup=False)
        yield VirtualTable(SCANNER_TABLE_COLUMNS, sort_key="packets", descending=True, id="scanner-table",
                           empty_text="loading scanners…")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "scanners_version", self._scanners_changed, init=True)
        self.watch(self.app, "load_error", self._scanners_changed, init=False)
        self.watch(self.app, "time_range", self._scanners_changed, init=False)
        self.watch(self.app, "labels_version", self._scanners_changed, init=False)  # the tags and note columns
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
        count = f"{rows:,} of {self._total:,} sources"
        # while a recount runs, first (an 80-column line shows it) what is counted; the rows are the last list's
        # how far the count is: its token's last step (``source range I of N``; a count going on keeps its token)
        told = self._count_task[0].message if self._coming is not None and self._count_task is not None else ""
        progress = f" ({told})" if told else ""
        text = (f"{count}{order}" if self._coming is None
                else f"{self._coming[0]}{progress} shown: {count} {self._coming[1]}{order}")
        if table.marks:
            text += f" · {table.marks_text()}"
        if self._coming is None:
            if self._counted_for is not None:
                text += f" · days {range_text(self._counted_for)}"
            if self._counted_udp:
                text += " · UDP probes counted"
        if self.query_text.strip():
            text += f" · filter: {self.query_text.strip()}"
        self.query_one("#scanner-status", Static).update(safe_line(text + (f" · {extra}" if extra else "")))

    # ------------------------------------------------------------ filtering

    def apply_filter(self, text: str, *, report: bool) -> bool:
        """Filter the list by *text*; False (and a notification when *report*) on a bad term."""
        from scantui.analysis.query import QueryError, parse_query

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
            self.table.expect_frame()  # the cursor moves typed before the result lands are made again on it
            self._run_filter(query, report, self._count_token())
        return True

    def _count_token(self) -> Task:
        """The token of the list's count for the app's time range and UDP: the running one when it counts those (a
        filter typed meanwhile waits for its rows), else a new one, the running one cancelled (its thread stops at its
        next source range instead of counting days no longer asked for: minutes at a year)."""
        key = (self.app.time_range, self.include_udp)
        if self._count_task is not None:
            task, counts = self._count_task
            if counts == key and not task.cancelled:
                return task
            task.cancel()
        task = Task(lambda _message, _fraction: self._told(task))
        self._count_task = (task, key)
        return task

    def _told(self, task: Task) -> None:
        """A recount's step (its worker thread): the status shows it while that count is the one counting."""
        try:
            self.app.call_from_thread(self._counting, task)
        except RuntimeError:  # the app is closing
            pass

    def _counting(self, task: Task) -> None:
        if self._count_task is not None and self._count_task[0] is task and self._coming is not None:
            self._status()

    def on_unmount(self) -> None:
        if self._count_task is not None:  # a recount nobody will see stops at its next source range
            self._count_task[0].cancel()

    @work(thread=True, exclusive=True, group="scanner-filter", exit_on_error=False, description="scanner filter")
    def _run_filter(self, query: Query, report: bool, task: Task) -> None:
        from scantui.analysis.query import SOURCE_COLUMNS, filter_scanners
        from scantui.workspace.source_notes import annotate_sources

        state = self.app.state
        try:
            # the time range recounts the list for its days (as scanners --since/--until): off the UI thread
            time_range, udp = self.app.time_range, self.include_udp
            if (time_range, udp) != (self._counted_for, self._counted_udp):  # minutes at a year: say so meanwhile
                self.app.call_from_thread(self._recounting, time_range, udp)
            frame = state.scanners_in(time_range, udp, task).frame
            store = state.labels.store if state.labels is not None else None
            version = self.app.labels_version
            cached = self._annotated
            if cached is not None and cached[0] is frame and cached[1] is store and cached[2] == version:
                frame = cached[3]
            else:  # the labels file's notes and groups, once per list and labels change (not per keystroke)
                annotated = annotate_sources(frame, store)
                self._annotated = (frame, store, version, annotated)
                frame = annotated
            from scantui.analysis.traffic import kinds_of

            kinds = kinds_of(udp)  # port: and day: match what the list counts

            def ports(ranges):
                return state.sources_on_ports(ranges, time_range, kinds)

            def days(spans):
                return state.sources_on_days(spans, kinds)

            result, notes = filter_scanners(frame, query, ports, days, state.sources_of_sensors)
            result = result.drop(SOURCE_COLUMNS)
        except Cancelled:  # another time range asked for since: its worker shows its rows
            return
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown, and the screen keeps working
            self.app.call_from_thread(self.notify, error_text(exc), title="filter", severity="error", markup=False)
            self.app.call_from_thread(self.table.rows_not_coming)
            self.app.call_from_thread(self._not_counting)
            return
        if not get_current_worker().is_cancelled:
            listed = "list" in frame.columns and bool(frame.height and frame["list"].list.len().max())
            self.app.call_from_thread(self._show_filtered, result, notes, report, frame.height, listed, time_range, udp)

    def _recounting(self, time_range: Any, udp: bool) -> None:
        """Say in the status, until the rows come, that the list is being recounted for other days (or UDP), and how
        far the count is (:meth:`_status`)."""
        if (time_range, udp) != (self.app.time_range, self.include_udp):  # asked for something else since
            return
        coming = f"days {range_text(time_range)}" if time_range is not None else "every day"
        shown = f"days {range_text(self._counted_for)}" if self._counted_for is not None else "every day"
        if udp != self._counted_udp:
            coming += " with UDP probes" if udp else " without UDP probes"
            shown += " with UDP probes" if self._counted_udp else ""
        self._coming = (f"counting the list for {coming}…", f"of {shown}")
        self._status()

    def _not_counting(self) -> None:
        self._coming = None
        self._status()

    def _show_filtered(self, frame: pl.DataFrame, notes: list[str], report: bool, total: int | None = None,
                       listed: bool | None = None, counted_for: Any = None, counted_udp: bool = False) -> None:
        if total is not None:
            self._total = total
        self._counted_for, self._counted_udp = counted_for, counted_udp
        self._coming = None
        self.table.set_frame(*scanner_display(frame, listed))
        self._status(frame.height, extra="; ".join(notes))
        if report and notes:
            self.notify("\n".join(notes), title="filter", severity="warning", markup=False)

    @on(VirtualTable.ViewChanged)
    def _view_changed(self, event: VirtualTable.ViewChanged) -> None:
        self._status(event.rows)

    @on(VirtualTable.MarksChanged)
    def _marks_changed(self, _event: VirtualTable.MarksChanged) -> None:
        self._status()

    # ------------------------------------------------------------ rows out

    @on(VirtualTable.RowSelected)
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.open_row(event.control, event.row)

    def open_row(self, _table: VirtualTable, row: dict[str, Any]) -> None:
        from scantui.analysis.scanner_row import ScannerRow

        self.app.open_scanner(ScannerRow.from_row(row), counted_for=self._counted_for, include_udp=self._counted_udp)

    # ------------------------------------------------------------ actions

    def action_focus_filter(self) -> None:
        focus_now(self.query_one("#filter", Input))

    def action_leave_filter(self) -> None:
        """Escape: from the query bar back to the table; from the table, back to the previous screen."""
        if self.query_one("#filter", Input).has_focus:
            focus_now(self.table)
        else:
            self.app.action_back()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.apply_filter("", report=False)

    def action_toggle_udp(self) -> None:
        """``U``: the list recounted with UDP probes counted too, or without them again."""
        self.set_udp(not self.include_udp)
        self.notify("UDP probes counted too (as scanners --include-udp)" if self.include_udp
                    else "TCP probes only", title="scanners", markup=False)
        if self.app.state.scanners is not None:
            self.apply_filter(self.query_text, report=False)
        else:
            self._status()

    def set_udp(self, include_udp: bool) -> None:
        """Count UDP probes too or not (a saved view's ``udp``), for the next filter run."""
        self.include_udp = include_udp

    def action_label(self) -> None:
        """Label the marked sources (or the one under the cursor): a new group, or add them to one."""
        from scantui.tui.columns import ip_text
        from scantui.tui.labelling import label_sources_dialog

        table = self.table
        ips = [ip_text(row["src"]) for row in table.chosen_rows() if row.get("src") is not None]
        label_sources_dialog(self.app, ips, then=lambda _change: table.action_clear_marks())

    def action_note(self) -> None:
        """``n``: the tags and note of the marked sources (or the one under the cursor)."""
        from scantui.tui.columns import ip_text
        from scantui.tui.screens.source_note import note_sources_dialog

        table = self.table
        ips = [ip_text(row["src"]) for row in table.chosen_rows() if row.get("src") is not None]
        note_sources_dialog(self.app, ips, then=lambda _change: table.action_clear_marks())

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

    def view_state(self) -> tuple[str, tuple[str, bool] | None]:
        """(query text, (sort column, descending)) for a saved view (:mod:`scantui.tui.app_views`)."""
        table = self.table
        return self.query_text.strip(), ((table.sort_key, table.descending) if table.sort_key else None)

    def apply_view(self, query: str, sort: tuple[str, bool] | None) -> None:
        """Show a saved view's query and sort."""
        self.query_one("#filter", Input).value = query
        self.cancel_pending_filter()
        self.apply_filter(query, report=True)
        if sort is not None:
            self.table.sort_by(*sort)

    def palette_commands(self):
        """(name, help, callback) for the command palette while this screen is shown."""
        table = self.table
        yield "scanners: filter", "Focus the query bar", self.action_focus_filter
        yield "scanners: clear filter", "Show every scanner again", self.action_clear_filter
        yield "scanners: open selected", "Open the scanner under the cursor", table.action_select
        yield "scanners: packets", "The packets of the marked scanners, else the one under the cursor (p)", self.action_packets
        yield ("scanners: UDP probes too", "Count UDP probes too, as scanners --include-udp; again: TCP only (U)",
               self.action_toggle_udp)
        yield "scanners: reverse sort", "Flip the sort order", table.action_sort_reverse
        yield "scanners: label marked sources", "A new group of the marked sources, or add them to one (l)", self.action_label
        yield "scanners: note marked sources", "Tags and a note on the marked sources (n)", self.action_note
        yield "scanners: mark every source shown", "Mark all rows shown (*)", table.action_mark_all
        yield "scanners: clear marks", "Unmark every source (-)", table.action_clear_marks
        yield "scanners: export the list", "Write the list as shown to CSV, Parquet or an IP list (ctrl+s)", table.action_export
        yield "scanners: pick columns", "Show, hide and reorder the columns (c)", table.action_pick_columns
        yield "scanners: sort by next column", "Sort by the column after the current one", table.action_sort_next
        for column in table.sortable_columns:
            yield f"scanners: sort by {column.header}", f"Sort the list by {column.key}", (lambda k=column.key: self.sort_by(k))
