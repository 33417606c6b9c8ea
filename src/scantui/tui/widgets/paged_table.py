"""A virtual table over rows fetched a page at a time: millions of packets, never all in memory.

:class:`PagedTable` draws like :class:`~scantui.tui.widgets.table.VirtualTable`
(same keys, columns, cursor and messages) but holds no frame of every row: it
asks a *fetch* callable for the page of :data:`PAGE_ROWS` rows a line on screen
needs, in a thread worker, and draws a placeholder line until it arrives (a
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

from scantui.tui.columns import Column
from scantui.tui.widgets.table import VirtualTable

if TYPE_CHECKING:
    import polars as pl

PAGE_ROWS = 256
PAGES_KEPT = 48
PLACEHOLDER = "…"

#: ``fetch(offset, n)``: rows offset..offset+n-1 of the view, in order (fewer at the end).
Fetch = Callable[[int, int], "pl.DataFrame"]


class PagedTable(VirtualTable):
    """A read-only table whose rows come page by page from a fetch callable; see the module doc."""

    BINDINGS = [  # the rows keep the fetch's order: no sort keys in the footer
        Binding("enter", "select", "Open", id="table.open"),
        Binding("s", "sort_current", "Sort", show=False, id="table.sort"),
        Binding("r", "sort_reverse", "Reverse", show=False, id="table.reverse"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("sort_key", None)
        super().__init__(*args, **kwargs)
        self._fetch: Fetch | None = None
        self._pages: LRUCache[int, pl.DataFrame] = LRUCache(PAGES_KEPT)
        self._pending: set[int] = set()
        self._total = 0
        self.total_known = False
        self._pager = 0  # generation of the fetch: pages of an older one are dropped

    # ------------------------------------------------------------ rows in

    def set_pager(self, fetch: Fetch | None, first: pl.DataFrame | None, total: int | None = None, *,
                  columns: Sequence[Column] | None = None) -> None:
        """Show the rows *fetch* gives; *first* is its page 0 (already read), *total* the row count when known;
        *columns* replaces the column specs."""
        self._pager += 1
        if columns is not None and tuple(columns) != self.columns:
            self._set_columns(columns)
        self._fetch = fetch
        self._pages.clear()
        self._blocks.clear()
        self._pending.clear()
        if first is not None:
            self._pages.set(0, first)
        rows = 0 if first is None else first.height
        self.total_known = total is not None or rows < PAGE_ROWS
        self._total = total if total is not None else rows
        self.place_cursor(0)
        self._resized()
        if self.is_mounted:
            self.scroll_to(x=0, y=0, animate=False, immediate=True)
        self.post_message(self.cursor_message())

    def set_total(self, total: int) -> None:
        """The row count, once counted."""
        self._total, self.total_known = total, True
        self._resized()

    def _resized(self) -> None:
        self.virtual_size = Size(self._virtual_width, self._total + 1)
        if self.is_mounted:
            self.refresh()
            self.post_message(self.ViewChanged(self, self._total, None, False))

    @property
    def row_count(self) -> int:
        return self._total

    def page(self, number: int) -> pl.DataFrame | None:
        """Page *number* when it is loaded, else None (and it is asked for)."""
        found = self._pages.get(number)
        if found is None:
            self._request(number)
        return found

    def loaded_row(self, index: int) -> dict[str, Any] | None:
        """Row *index* by column (every column the fetch gives, shown or not), None while not loaded."""
        if not 0 <= index < self._total:
            return None
        found = self.page(index // PAGE_ROWS)
        at = index % PAGE_ROWS
        if found is None or at >= found.height:
            return None
        return found.row(at, named=True)

    @property
    def selected_row(self) -> dict[str, Any] | None:
        return self.loaded_row(self.cursor_row)

    @property
    def frame(self) -> pl.DataFrame:
        """The rows loaded now, in order (not every row: the screen exports through its own selection)."""
        import polars as pl

        pages = [self._pages.get(n) for n in sorted(self._pages.keys())]
        pages = [p for p in pages if p is not None]
        return pl.concat(pages, how="diagonal_relaxed") if pages else self._empty_frame()

    def _request(self, number: int) -> None:
        if self._fetch is None or number in self._pending or not self.is_mounted:
            return
        self._pending.add(number)
        fetch, pager = self._fetch, self._pager
        self.run_worker(lambda: self._read_page(fetch, pager, number), thread=True, group=f"page-{number}",
                        exit_on_error=False)

    def _read_page(self, fetch: Fetch, pager: int, number: int) -> None:
        try:
            rows = fetch(number * PAGE_ROWS, PAGE_ROWS)
        except Exception as exc:  # noqa: BLE001 - shown; the placeholder stays
            self.app.call_from_thread(self._page_failed, pager, number, exc)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._page_loaded, pager, number, rows)

    def _page_loaded(self, pager: int, number: int, rows: pl.DataFrame) -> None:
        if pager != self._pager:
            return
        self._pending.discard(number)
        self._pages.set(number, rows)
        self._blocks.discard(number)
        self.refresh()
        if self.cursor_row // PAGE_ROWS == number:
            self.post_message(self.cursor_message())

    def _page_failed(self, pager: int, number: int, exc: Exception) -> None:
        if pager == self._pager:
            self._pending.discard(number)
            self.notify(f"{type(exc).__name__}: {exc}", title="packets", severity="error", markup=False)

    # ------------------------------------------------------------ no sorting, no frame to sort

    def _resort(self, keep_cursor: bool) -> None:
        self._generation += 1
        self._resized()

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        self.notify("the rows stay in their order (packets: time)", title="sort", markup=False)

    def action_sort_current(self) -> None:
        self.sort_by("")

    def action_sort_reverse(self) -> None:
        self.sort_by("")

    # ------------------------------------------------------------ drawing

    def _row_texts(self, index: int) -> tuple[str, str]:
        number = index // PAGE_ROWS
        block = self._blocks.get(number)
        if block is None:
            found = self.page(number)
            if found is None:
                cells = [self._text(c, PLACEHOLDER) for c in self.columns]
                return " " + "".join(cells[: self.pinned]), "".join(cells[self.pinned :])
            block = []
            for row in found.iter_rows(named=True):
                cells = [self._text(c, c.cell(row.get(c.key))) for c in self.columns]
                block.append((" " + "".join(cells[: self.pinned]), "".join(cells[self.pinned :])))
            self._blocks.set(number, block)
        at = index - number * PAGE_ROWS
        if at >= len(block):
            cells = [self._text(c, "") for c in self.columns]
            return " " + "".join(cells[: self.pinned]), "".join(cells[self.pinned :])
        return block[at]
