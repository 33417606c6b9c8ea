"""A virtual table over rows fetched a page at a time: millions of packets, never all in memory.

:class:`PagedTable` draws like :class:`~scantui.tui.widgets.table.VirtualTable`
(same keys, columns, cursor and messages) but holds no frame of every row: it
answers :meth:`~scantui.tui.widgets.table.VirtualTable.block_rows` from pages of
:data:`PAGE_ROWS` rows that a *fetch* callable reads in a thread worker when a
line on screen first needs them (the lines show a placeholder until then; a
small LRU keeps the pages seen last). The row count may come later than the
first page (counting a big selection takes longer than reading its first rows):
:meth:`PagedTable.set_total`. The order is the fetch's own (packets: time), so
the table does not sort.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.tui.columns import Column
from scantui.tui.widgets.table import BLOCK_ROWS, VirtualTable

if TYPE_CHECKING:
    import polars as pl

PAGE_ROWS = 2 * BLOCK_ROWS
PAGES_KEPT = 48

#: ``fetch(offset, n)``: rows offset..offset+n-1 of the view, in order (fewer at the end).
Fetch = Callable[[int, int], "pl.DataFrame"]


class PagedTable(VirtualTable):
    """A read-only table whose rows come page by page from a fetch callable; see the module doc."""

    # the rows keep the fetch's order and are never all in memory: these keys only say so, and with no
    # description neither the footer nor the help (``?``) lists them
    BINDINGS = [
        Binding("s", "sort_current", "", show=False, id="table.sort"),
        Binding("r", "sort_reverse", "", show=False, id="table.reverse"),
        Binding("less_than_sign", "sort_step(-1)", "", show=False, id="table.sort_previous"),
        Binding("greater_than_sign", "sort_step(1)", "", show=False, id="table.sort_next"),
        Binding("asterisk", "mark_all", "", show=False, id="table.mark_all"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("sort_key", None)
        super().__init__(*args, **kwargs)
        self.fetch: Fetch | None = None
        self.pages: LRUCache[int, pl.DataFrame] = LRUCache(PAGES_KEPT)
        self.pending: set[int] = set()
        self.total = 0
        self.total_known = False
        self.pager = 0  # generation of the fetch: pages of an older one are dropped

    # ------------------------------------------------------------ rows in

    def set_pager(self, fetch: Fetch | None, first: pl.DataFrame | None, total: int | None = None, *,
                  columns: Sequence[Column] | None = None) -> None:
        """Show the rows *fetch* gives; *first* is its page 0 (already read), *total* the row count when known;
        *columns* replaces the column specs."""
        self.pager += 1
        if columns is not None and tuple(columns) != self.columns:
            self.set_frame(self.frame.clear(), columns)
        self.fetch = fetch
        self.pages.clear()
        self.pending.clear()
        if first is not None:
            self.pages.set(0, first)
        rows = 0 if first is None else first.height
        self.total_known = total is not None or rows < PAGE_ROWS
        self.total = total if total is not None else rows
        self.place_cursor(0)
        self.forget_rows()
        self._resized()
        if self.is_mounted:
            self.scroll_to(x=0, y=0, animate=False, immediate=True)
        self.post_message(self.cursor_message())

    def set_total(self, total: int) -> None:
        """The row count, once counted."""
        self.total, self.total_known = total, True
        self._resized()

    def _resized(self) -> None:
        self.virtual_size = Size(self.virtual_size.width, self.total + 1)
        if self.is_mounted:
            self.refresh()
            self.post_message(self.ViewChanged(self, self.total, None, False))

    @property
    def row_count(self) -> int:
        return self.total

    def page(self, number: int) -> pl.DataFrame | None:
        """Page *number* when it is loaded, else None (and it is asked for)."""
        found = self.pages.get(number)
        if found is None:
            self._request(number)
        return found

    def block_rows(self, block: int) -> pl.DataFrame | None:
        per_page = PAGE_ROWS // BLOCK_ROWS
        found = self.page(block // per_page)
        return None if found is None else found.slice((block % per_page) * BLOCK_ROWS, BLOCK_ROWS)

    def loaded_row(self, index: int) -> dict[str, Any] | None:
        """Row *index* by column (every column the fetch gives, shown or not), None while not loaded."""
        if not 0 <= index < self.total:
            return None
        found = self.page(index // PAGE_ROWS)
        at = index % PAGE_ROWS
        if found is None or at >= found.height:
            return None
        return found.row(at, named=True)

    @property
    def selected_row(self) -> dict[str, Any] | None:
        return self.loaded_row(self.cursor_row)

    def _request(self, number: int) -> None:
        if self.fetch is None or number in self.pending or not self.is_mounted:
            return
        self.pending.add(number)
        fetch, pager = self.fetch, self.pager
        self.run_worker(lambda: self._read_page(fetch, pager, number), thread=True, group=f"page-{number}",
                        exit_on_error=False)

    def _read_page(self, fetch: Fetch, pager: int, number: int) -> None:
        try:
            rows = fetch(number * PAGE_ROWS, PAGE_ROWS)
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the placeholder stays
            from scantui.tui.state import explained

            self.app.call_from_thread(self._page_failed, pager, number, explained(exc))
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._page_loaded, pager, number, rows)

    def _page_loaded(self, pager: int, number: int, rows: pl.DataFrame) -> None:
        if pager != self.pager:
            return
        self.pending.discard(number)
        self.pages.set(number, rows)
        self.refresh()  # its lines were placeholders, never kept: drawn again from the page
        if self.cursor_row // PAGE_ROWS == number:
            self.post_message(self.cursor_message())

    def _page_failed(self, pager: int, number: int, exc: Exception) -> None:
        if pager == self.pager:
            self.pending.discard(number)
            from scantui.tui.state import error_text

            self.notify(error_text(exc), title="rows", severity="error", markup=False)

    # ------------------------------------------------------------ what a frame-backed table does, not here

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        self.notify("the rows stay in their order (packets: time)", title="sort", markup=False)

    def action_sort_current(self) -> None:
        self.sort_by("")

    def action_sort_reverse(self) -> None:
        self.sort_by("")

    def action_sort_step(self, step: int) -> None:
        self.sort_by("")

    def _not_here(self, what: str) -> None:
        self.notify(f"{what}: not in a paged table (its rows are read a page at a time)", title=what, markup=False)

    def choose_columns(self, order: Sequence[str], hidden: Sequence[str]) -> None:
        """The column picker's choice (``c``; remembered per table like any table's): the rows stay the pages'."""
        super().choose_columns(order, hidden)
        self.forget_rows()
        self._resized()

    # ------------------------------------------------------------ marks: by the rows' key (packets: their source)

    def is_marked(self, index: int) -> bool:
        row = self.loaded_row(index) if self.marks else None
        return row is not None and row.get(self._paged_mark_key) in self.marks

    @property
    def _paged_mark_key(self) -> str | None:
        return self.mark_key or (self.all_columns[0].key if self.all_columns else None)

    def marks_text(self) -> str:
        if not self.marks:
            return ""
        what = "source" if self._paged_mark_key == "src" else "value"
        return f"{len(self.marks):,} {what}{'s' if len(self.marks) != 1 else ''} marked"

    def chosen_rows(self) -> list[dict[str, Any]]:
        """The marked keys as rows (``{mark_key: value}``, sorted), else the row under the cursor, else []."""
        key = self._paged_mark_key
        if self.marks and key is not None:
            return [{key: value} for value in sorted(self.marks)]
        row = self.selected_row
        return [row] if row is not None else []

    def action_toggle_mark(self) -> None:
        """Mark or unmark the key (packets: the source) of the row under the cursor, then move down; every row
        with that key shows the mark."""
        row, key = self.selected_row, self._paged_mark_key
        if row is None or key is None or row.get(key) is None:
            return
        self.toggle_mark_of(row[key])

    # the frame-backed table's mark-all, column picker and export (issue 14) work on a frame of every row
    def action_mark_all(self) -> None:
        self._not_here("mark all")

    def action_export(self) -> None:
        self._not_here("export")
