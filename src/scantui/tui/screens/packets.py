"""The packets behind a scanner, a scan or a timing-plot row: time-ordered, filtered by field, exported.

:class:`PacketsScreen` shows a :class:`~scantui.tui.screens.packets_view.PacketsView`
(what ``p`` was pressed on) in a :class:`~scantui.tui.widgets.paged_table.PagedTable`:
the model's lazy selection (:func:`scantui.analysis.packets.select_packets`) is read a
page at a time in thread workers (the first page first, then the count), never
collected whole. The field filter bar (``/``; ctrl+u clears) takes the model's
filter (:func:`~scantui.analysis.packets.parse_where`): a bad term is named inline
and in a notification. ``f`` counts the values of the current column over the
filtered packets (:mod:`scantui.tui.screens.packets_freq`; enter there adds the
value to the filter), ``enter`` opens a packet's dissection
(:mod:`scantui.tui.screens.packets_dissect`) and ``ctrl+s`` writes the filtered
packets to a pcap file (original bytes or synthesized frames) or a table
(CSV/Parquet/IP list, :func:`scantui.io.table_export.write_table`). The ``tags`` column (the source's tags in
the labels file, :mod:`scantui.tui.member_notes`) shows when a source shown has some; it is not exported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Header, Input, Label, Static
from textual.worker import get_current_worker

from scantui.analysis.packet_filter import WHERE_HELP
from scantui.io import read_panics
from scantui.safetext import safe_line
from scantui.tui.member_notes import with_source_tags
from scantui.tui.screens.packets_view import PACKET_COLUMNS, PacketsView, filter_term, packet_columns
from scantui.tui.screens.filter_screen import FilterScreen
from scantui.tui.state import error_text, explained
from scantui.tui.widgets.filter_input import FilterInput
from scantui.tui.widgets.footer import KeysFooter
from scantui.tui.widgets.paged_table import PAGE_ROWS, PagedTable
from scantui.tui.focus import OpensRows, focus_now

if TYPE_CHECKING:
    import polars as pl

PLACEHOLDER = "field filter, e.g. ttl:64 ipid:54321 flags:S sport:40000-40100 (? for all)"  # fits 80 columns
EXPORT_HELP = ".pcap: the packets for Wireshark (original bytes from a capture, else synthesized frames); " \
              ".csv / .parquet: the table; .txt: the source IPs"
EXPORT_SUFFIXES = (".pcap", ".csv", ".parquet", ".pq", ".txt", ".ips", ".lst")


def read_page(lf: pl.LazyFrame, offset: int, n: int) -> pl.DataFrame:
    from scantui.analysis.packets import packet_page

    return packet_page(lf, offset, n)


class PacketsScreen(OpensRows, FilterScreen):
    """The packets of one :class:`PacketsView`; see the module doc."""

    HELP = ("Packets in time order, every field. / focuses the field filter (enter applies, ctrl+u clears); "
            "f counts the values of the column under the column cursor (left/right move it); enter opens the "
            "packet's dissection; ctrl+s exports the filtered packets (.pcap, .csv, .parquet, .txt). space marks the "
            "packet's source (every packet of it shows the mark; - clears): l labels the marked sources, ctrl+s "
            "then writes only their packets.\n\n" + WHERE_HELP)
    DEFAULT_CSS = """
    PacketsScreen #packets-status { height: 1; padding: 0 1; color: $text-muted; background: $surface;
                                    text-wrap: nowrap; text-overflow: ellipsis; }
    PacketsScreen #packets-table { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "leave", "Back", show=False, id="packets.back", priority=True),
        Binding("slash", "focus_filter", "Filter", id="packets.filter"),
        Binding("f", "frequency", "Frequency", id="packets.frequency", priority=True),
        # priority: before the focused table's own keys (the packets' export is this screen's: pcap or a table)
        Binding("ctrl+s", "export", "Export", id="packets.export", priority=True),
        Binding("ctrl+u", "clear_filter", "Clear filter", show=False, id="packets.clear_filter"),
        Binding("l", "label", "Label sources", show=False, id="packets.label", priority=True),
        Binding("enter", "open_row", "Open", id="packets.open", priority=True),
    ]

    def __init__(self, view: PacketsView) -> None:
        super().__init__()
        self.view = view
        self.where = ""
        self.lf: pl.LazyFrame | None = None  # the filtered selection shown
        self.files: list[Any] = []  # the capture files its record references index (none: not captures)
        self.total: int | None = None
        self.tags: dict[int, str] = {}  # the shown sources' tags in the labels file (the tags column)
        self.title = f"packets · {view.what()}"

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        with Horizontal(id="filter-row"):
            yield Label("/", id="filter-prompt")
            yield FilterInput(placeholder=PLACEHOLDER, id="filter")
        yield Static("reading the packets…", id="packets-status", markup=False)
        yield PagedTable(PACKET_COLUMNS, id="packets-table", empty_text="reading the packets…")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.table.mark_key = "src"  # space marks a packet's source
        self.table.focus()
        self.watch(self.app, "loading", self._loading_changed, init=False)
        self.watch(self.app, "labels_version", self._labels_changed, init=False)
        self.load("")

    def _source_tags(self) -> dict[int, str]:
        """The tags of the view's sources (of every source when it names none) from the labels file."""
        from scantui.tui.member_notes import current_notes, tags_by_address

        tags = tags_by_address(current_notes(self.app))
        srcs = self.view.srcs
        if srcs is not None and not self.view.nets and tags:
            wanted = set(srcs)
            tags = {a: t for a, t in tags.items() if a in wanted}
        return tags

    def _labels_changed(self, _version: int) -> None:
        """A tag set or changed (here or by another analyst): the pages again, when the shown sources' tags moved."""
        if self._source_tags() != self.tags and self.lf is not None:
            self.load(self.where)

    def _loading_changed(self, loading: bool) -> None:
        """Opened while the data was loading (or other data opened since): read the packets once it is there."""
        if not loading:
            self.load(self.where)

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    # ------------------------------------------------------------ reading

    def load(self, where: str) -> None:
        """Read the packets with field filter *where* (already checked), first page first."""
        state = self.app.state
        if state.workspace is None or state.rollup is None:
            self.table.empty_text = "the data is not loaded yet"
            self._say("the data is not loaded yet")
            self.table.refresh()
            return
        self.where = where
        self.total = None
        self.tags = self._source_tags()
        self.table.empty_text = "reading the packets…"
        self._read(state.workspace, where, self.tags)

    @work(thread=True, exclusive=True, group="packets-read", exit_on_error=False, description="packets read")
    def _read(self, workspace: Any, where: str, tags: dict[int, str]) -> None:
        import dataclasses

        from scantui.analysis.packets import packet_count, select_packets

        worker = get_current_worker()
        try:
            selection = dataclasses.replace(self.view.selection(getattr(self.app, "time_range", None)), where=where)
            source, files = workspace.packet_view()
            lf = select_packets(source, selection)
            first = with_source_tags(read_page(lf, 0, PAGE_ROWS), tags)
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the screen stays
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, "could not read the packets", explained(exc))
            return
        if worker.is_cancelled:
            return
        self.app.call_from_thread(self._show_first, lf, files, first, where, tags)
        if first.height < PAGE_ROWS:
            return
        try:
            total = packet_count(lf)
        except read_panics.FAILURES as exc:  # noqa: BLE001
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, "could not count the packets", explained(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show_total, lf, total)

    def _show_first(self, lf: pl.LazyFrame, files: list[Any], first: pl.DataFrame, where: str,
                    tags: dict[int, str] | None = None) -> None:
        if not self.is_attached:
            return
        self.lf, self.files = lf, files
        table = self.table
        table.empty_text = "no packets" + (" match the filter" if where.strip() else "")
        table.set_pager(lambda offset, n: with_source_tags(read_page(lf, offset, n), tags or {}), first,
                        first.height if first.height < PAGE_ROWS else None, columns=packet_columns(first.columns))
        if table.total_known:
            self.total = table.row_count
        self._update_title()

    def _show_total(self, lf: pl.LazyFrame, total: int) -> None:
        if not self.is_attached or lf is not self.lf:
            return
        self.total = total
        self.table.set_total(total)
        self._update_title()

    def on_time_range_changed(self, event: Any) -> None:
        """The App's time range (``t``/``T``) changed: read the packets again inside it."""
        self.load(self.where)

    def _update_title(self) -> None:
        rows = f"{self.total:,} rows" if self.total is not None else f"{self.table.row_count:,}+ rows (counting…)"
        span = getattr(self.app, "time_range", None)
        days = f" · days {span[0]}..{span[1]}" if span is not None else ""
        self.title = f"packets · {self.view.what()}{days} · {rows}"
        text = rows if self.total is not None else f"first {self.table.row_count:,} rows · counting…"
        if self.where.strip():
            text += f" · filter: {self.where.strip()}"
        if self.table.marks:
            text += f" · {self.table.marks_text()}"
        self._say(text)

    def _say(self, text: str) -> None:
        self.query_one("#packets-status", Static).update(safe_line(text))

    def _failed(self, title: str, exc: Exception) -> None:
        self.notify(error_text(exc), title=title, severity="error", timeout=10, markup=False)
        if self.is_attached:
            self._say(f"{title}: {error_text(exc)}")
            if self.table.row_count == 0:  # it said "reading the packets…" on and on
                self.table.empty_text = f"{title} (the status line above says why)"
                self.table.refresh()

    # ------------------------------------------------------------ the field filter

    def apply_filter(self, text: str, *, report: bool) -> bool:
        """Filter the packets by *text*; False (the bad term said inline, and notified when *report*) on an error."""
        from scantui.analysis.packets import PacketFilterError, parse_where

        field = self.query_one("#filter", Input)
        try:
            parse_where(text)
        except PacketFilterError as exc:
            field.add_class("-invalid")
            # the keys' list would be cut at 80 columns: ? lists them, the notification has the whole message
            self._say(f"✗ {exc.short}" + (" (? lists the keys)" if exc.short != str(exc) else ""))
            if report:
                self.notify(str(exc), title="packet filter", severity="error", markup=False)
            return False
        field.remove_class("-invalid")
        if text.strip() != self.where.strip() or self.lf is None:
            self.load(text)
        return True

    def add_filter_term(self, term: str) -> None:
        """Append *term* to the filter and apply it (the frequency table's enter)."""
        field = self.query_one("#filter", Input)
        text = f"{field.value.strip()} {term}".strip()
        with field.prevent(Input.Changed):
            field.value = text
        self.apply_filter(text, report=True)

    # ------------------------------------------------------------ rows out

    @on(PagedTable.RowSelected)
    def _row_selected(self, event: PagedTable.RowSelected) -> None:
        self.open_row(event.control, event.row)

    def open_row(self, _table: PagedTable, row: dict[str, Any]) -> None:
        from scantui.tui.screens.packets_dissect import DissectionScreen

        self.app.push_screen(DissectionScreen(row, self.files))

    # ------------------------------------------------------------ actions

    def action_focus_filter(self) -> None:
        focus_now(self.query_one("#filter", Input))

    def action_leave_filter(self) -> None:
        if self.query_one("#filter", Input).has_focus:
            focus_now(self.table)
        else:
            self.app.action_back()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        with field.prevent(Input.Changed):
            field.value = ""
        self.apply_filter("", report=False)

    def action_frequency(self) -> None:
        """``f``: the values of the current column over the filtered packets (value, count, share)."""
        column = self.table.current_column
        if column is None or self.lf is None:
            return
        if column.key == "src_tags":  # not a packet field: the labels file's (count src instead)
            self.notify("tags are the labels file's, not a packet field: f on src counts the sources",
                        title="frequency", markup=False)
            return
        self._say(f"counting the values of {column.header}…")
        self._count_values(self.lf, column.key, column.header)

    @work(thread=True, exclusive=True, group="packets-frequency", exit_on_error=False, description="packets frequency")
    def _count_values(self, lf: pl.LazyFrame, key: str, header: str) -> None:
        from scantui.analysis.packets import frequency

        worker = get_current_worker()
        try:
            counts = frequency(lf, key)
        except read_panics.FAILURES as exc:  # noqa: BLE001
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, f"could not count {header}", explained(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show_frequency, key, header, counts)

    def _show_frequency(self, key: str, header: str, counts: pl.DataFrame) -> None:
        from scantui.tui.screens.packets_freq import FrequencyScreen

        if not self.is_attached:
            return
        self._update_title()

        def chosen(value: Any) -> None:
            if value is None:
                return
            term = filter_term(key, value)
            if term is None:
                self.notify(f"no filter term for {header} = {value}", title="packet filter", markup=False)
                return
            self.add_filter_term(term)

        self.app.push_screen(FrequencyScreen(header, counts, self.total), chosen)

    def action_export(self) -> None:
        """``ctrl+s``: the filtered packets to a file (the format from its suffix)."""
        from scantui.tui.screens.prompt import PromptScreen

        if self.lf is None:
            self.notify("no packets read yet", title="export", markup=False)
            return

        def check(values: dict[str, str]) -> Path:
            text = values["path"].strip()
            if not text:
                raise ValueError("no path given")
            path = Path(text).expanduser()
            if path.suffix.lower() not in EXPORT_SUFFIXES:
                raise ValueError(f"unknown format {path.suffix or '(no suffix)'}: use {', '.join(EXPORT_SUFFIXES)}")
            return path

        lf, files = self.lf, self.files
        marked = sorted(self.table.marks)
        if marked:
            import polars as pl

            lf = lf.filter(pl.col("src").is_in(pl.Series(marked, dtype=pl.UInt32).implode()))
        title = f"export the packets of {len(marked):,} marked sources" if marked else "export packets"
        self.app.push_screen(PromptScreen(title, [("path", "path", "packets.pcap", "a file name")],
                                          help_text=EXPORT_HELP, check=check),
                             lambda path: self._export(lf, files, path) if path is not None else None)

    @work(thread=True, group="packets-export", exit_on_error=False, description="packets export")
    def _export(self, lf: pl.LazyFrame, files: list[Any], path: Path) -> None:
        try:
            message = export_packets(lf, path, files)
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; nothing half-written (the writers are atomic)
            self.app.call_from_thread(self.notify, error_text(exc), title="export failed", severity="error",
                                      timeout=10, markup=False)
            return
        self.app.call_from_thread(self.notify, message, title="export", markup=False)

    @on(PagedTable.MarksChanged)
    def _marks_changed(self, _event: Any) -> None:
        self._update_title()

    def action_label(self) -> None:
        """``l``: label the marked packets' sources (or the source of the packet under the cursor)."""
        from scantui.tui.columns import ip_text
        from scantui.tui.labelling import label_sources_dialog

        table = self.table
        ips = [ip_text(row["src"]) for row in table.chosen_rows() if row.get("src") is not None]
        label_sources_dialog(self.app, ips, then=lambda _change: table.action_clear_marks())

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield "packets: label sources", "Label the marked packets' sources, else the one under the cursor (l)", \
            self.action_label
        yield "packets: filter", "Focus the field filter (/)", self.action_focus_filter
        yield "packets: clear filter", "Show every packet of the selection again (ctrl+u)", self.action_clear_filter
        yield "packets: frequency", "Count the values of the current column (f)", self.action_frequency
        yield "packets: export", "Write the filtered packets to .pcap, .csv, .parquet or .txt (ctrl+s)", self.action_export
        yield "packets: open packet", "The dissection of the packet under the cursor (enter)", self.table.action_select


def export_packets(lf: pl.LazyFrame, path: Path, files: list[Any]) -> str:
    """Write *lf* to *path* (pcap by :func:`~scantui.analysis.packets.write_pcap`, else a table); what was written."""
    if path.suffix.lower() == ".pcap":
        from scantui.analysis.packets import write_pcap

        done = write_pcap(lf, path, files)
        text = f"wrote {done.packets:,} packets to {path}"
        return text + (f" ({done.note})" if done.note else "")
    from scantui.io.schema import CANONICAL, EXTRA
    from scantui.io.table_export import write_table

    names = lf.collect_schema().names()
    keep = [c for c in (*CANONICAL, *EXTRA) if c in names]
    rows = write_table(lf.select(keep).collect(), path)
    return f"wrote {rows:,} rows to {path}"
