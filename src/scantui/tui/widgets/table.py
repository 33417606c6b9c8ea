"""A virtualized table of a polars DataFrame on Textual's Line API.

Nothing is created per row: :class:`VirtualTable` keeps the frame, formats
only the rows on screen (in blocks of :data:`BLOCK_ROWS`, kept in a small LRU
cache, as toolong's ``LogLines`` does for lines) and draws each line in
:meth:`VirtualTable.render_line`. A repaint costs the same for 500 rows or
5,000,000. The first column(s) stay pinned while the others scroll sideways,
a whole column at a time: a column that does not fit is not drawn (the header
says ``▸``/``◂`` where columns are hidden), so no value is ever cut mid-field.

Keys: up/down (k/j), page up/down, home/end (g/G), left/right move the column
cursor (the highlighted header; the view scrolls to keep it on screen), ``s``
sorts by that column (again: reverses), ``r`` reverses the order, ``<``/``>``
sort by the previous/next column, enter posts
:class:`VirtualTable.RowSelected`. Clicking a header sorts by that column.

Marks: ``space`` marks (or unmarks) the row under the cursor and moves down, ``*``
marks every row shown, ``-`` clears every mark; a marked row shows ``●`` in the
gutter. Marks are kept by the row's key (:attr:`VirtualTable.mark_key`, the first
column unless set), so they follow sorting and filtering; a marked row filtered out
stays marked but is not acted on. :meth:`VirtualTable.chosen_rows` is what an action
on "the selection" uses. ``ctrl+s`` exports the table as shown
(:mod:`scantui.tui.table_export`), ``c`` picks the columns shown
(:mod:`scantui.tui.screens.column_picker`, remembered in the config file per table id).

The row cursor is the reactive ``cursor_row`` (see
:mod:`scantui.tui.widgets.row_cursor`): every move (keys, click, a program
setting it) posts :class:`VirtualTable.CursorMoved`, and so does every new
frame or sort, since the row under the cursor may then be another one. A screen whose new frame comes from a
worker says so first (:meth:`VirtualTable.expect_frame`): the moves made meanwhile are made again on it
(:mod:`scantui.tui.widgets.moves_ahead`).
Sorting a big frame (more than :data:`SORT_IN_THREAD` rows) runs in a thread
worker; the old order stays on screen meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.io.read_panics import as_error
from scantui.tui.columns import Column
from scantui.tui.widgets.moves_ahead import MovesAhead, moved
from scantui.tui.widgets.row_cursor import RowCursorView

if TYPE_CHECKING:  # polars is imported when the first frame is shown, not with the App
    import polars as pl

BLOCK_ROWS = 128
SORT_IN_THREAD = 50_000
PENDING = "…"  # the cells of a row not read yet (a table whose rows come lazily: block_rows returns None)
_SEP = " "


def few_colours(color_system: str | None) -> bool:
    """True for a terminal of 16 colours (or 8): tints of the theme all come out as one or two greys there."""
    return color_system in ("standard", "windows")


class VirtualTable(MovesAhead, RowCursorView, can_focus=True, inherit_bindings=False):
    """A read-only table over a polars DataFrame; see the module doc."""

    COMPONENT_CLASSES = {
        "virtual-table--header",
        "virtual-table--header-sorted",
        "virtual-table--header-current",
        "virtual-table--cursor",
        "virtual-table--empty",
        "virtual-table--marked",
    }

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .virtual-table--header { background: $panel; color: $foreground; text-style: bold; }
        & > .virtual-table--header-sorted { background: $panel; color: $accent; text-style: bold underline; }
        & > .virtual-table--header-current { text-style: bold reverse; }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .virtual-table--empty { color: $text-muted; text-style: italic; }
        & > .virtual-table--marked { color: $accent; text-style: bold; }
        /* 16 colours (or an ANSI theme): the blurred cursor's tint becomes the header's (or no) colour */
        &.-16-colours > .virtual-table--cursor, &:ansi > .virtual-table--cursor { text-style: reverse; }
        &:focus > .virtual-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        &:nocolor > .virtual-table--cursor { text-style: reverse bold; }
        &:ansi > .virtual-table--header { background: ansi_blue; color: ansi_bright_white; }
    }
    """

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "first", "First row", show=False, id="table.first"),
        Binding("end,G", "last", "Last row", show=False, id="table.last"),
        Binding("left", "column(-1)", "Column left", show=False, id="table.left"),
        Binding("right", "column(1)", "Column right", show=False, id="table.right"),
        Binding("enter", "select", "Open", id="table.open"),
        Binding("s", "sort_current", "Sort", id="table.sort"),
        Binding("r", "sort_reverse", "Reverse", id="table.reverse"),
        Binding("less_than_sign", "sort_step(-1)", "Sort by previous column", show=False, id="table.sort_previous"),
        Binding("greater_than_sign", "sort_step(1)", "Sort by next column", show=False, id="table.sort_next"),
        Binding("space", "toggle_mark", "Mark row", show=False, id="table.mark"),
        Binding("asterisk", "mark_all", "Mark all shown", show=False, id="table.mark_all"),
        Binding("minus", "clear_marks", "Clear marks", show=False, id="table.clear_marks"),
        Binding("ctrl+s", "export", "Export table", show=False, id="table.export"),
        Binding("c", "pick_columns", "Pick columns", show=False, id="table.columns"),
    ]

    class _Message(Message):
        def __init__(self, table: VirtualTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(_Message):
        """Enter (or a double click) on a row: *row* is that row's raw values by column."""

        def __init__(self, table: VirtualTable, index: int, row: dict[str, Any]) -> None:
            super().__init__(table)
            self.index = index
            self.row = row

    class CursorMoved(_Message):
        """The cursor is on row *index* (display order), or the rows changed under it.

        *key* is the row's value in the first (key) column and *row* its raw values by column;
        both None when the table is empty.
        """

        def __init__(self, table: VirtualTable, index: int, key: Any, row: dict[str, Any] | None) -> None:
            super().__init__(table)
            self.index = index
            self.key = key
            self.row = row

    class MarksChanged(_Message):
        """Rows were marked or unmarked, or the rows shown changed: *shown* marked rows are shown, of *total* marks."""

        def __init__(self, table: VirtualTable, shown: int, total: int) -> None:
            super().__init__(table)
            self.shown = shown
            self.total = total

    class ViewChanged(_Message):
        """The rows shown changed (new frame, new sort): *rows* rows, sorted by *sort_key*."""

        def __init__(self, table: VirtualTable, rows: int, sort_key: str | None, descending: bool) -> None:
            super().__init__(table)
            self.rows = rows
            self.sort_key = sort_key
            self.descending = descending

    def __init__(
        self,
        columns: Sequence[Column],
        frame: pl.DataFrame | None = None,
        *,
        sort_key: str | None = None,
        descending: bool = True,
        pinned: int = 1,
        empty_text: str = "no rows",
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.pinned = self._pinned_wanted = pinned
        self.column_choice: tuple[tuple[str, ...], frozenset[str]] | None = None  # (order, hidden): the picker's
        self.mark_key: str | None = None  # the column that tells rows apart for marks (None: the first column)
        self.marks: set[Any] = set()
        self._marked_for: Any = None
        self._marked_rows: frozenset[int] = frozenset()
        self.ips_of: Any = None  # rows frame -> IPs, for an IP-list export of a table without a src column
        self.export_path = ""
        self._set_columns(columns)
        self.sort_key = sort_key
        self.descending = descending
        self.empty_text = empty_text
        self.cursor_column = self._index(sort_key) if sort_key is not None else 0
        self._source: pl.DataFrame = frame if frame is not None else self._empty_frame()
        self._view: pl.DataFrame = self._source
        self._generation = 0
        self._blocks: LRUCache[int, list[tuple[str, str]]] = LRUCache(64)

    def _set_columns(self, columns: Sequence[Column]) -> None:
        self.all_columns: tuple[Column, ...] = tuple(columns)
        self.pinned = max(0, min(self._pinned_wanted, len(self.all_columns)))
        self.columns: tuple[Column, ...] = self._chosen_columns()
        # a leading space, then each column's cells and a separator
        self._pinned_width = 1 + sum(c.width + len(_SEP) for c in self.columns[: self.pinned])
        self._scroll_width = sum(c.width + len(_SEP) for c in self.columns[self.pinned :])
        self._starts = self._column_starts()
        self.cursor_column = min(getattr(self, "cursor_column", 0), max(len(self.columns) - 1, 0))

    def _chosen_columns(self) -> tuple[Column, ...]:
        """The columns shown: the pinned ones first, always; then the others in the picker's order, less the hidden."""
        pinned, rest = self.all_columns[: self.pinned], self.all_columns[self.pinned :]
        if self.column_choice is None:
            return self.all_columns
        order, hidden = self.column_choice
        rank = {key: i for i, key in enumerate(order)}
        ranked = sorted(enumerate(rest), key=lambda ic: (rank.get(ic[1].key, len(order)), ic[0]))
        return pinned + tuple(c for _i, c in ranked if c.key not in hidden)

    def choose_columns(self, order: Sequence[str], hidden: Sequence[str]) -> None:
        """Show the scrolling columns in *order* (keys; the others after them), less *hidden*; pinned ones always
        show. Unknown keys are ignored (the choice outlives a column)."""
        self.column_choice = (tuple(order), frozenset(hidden))
        current = self.current_column.key if self.current_column is not None else None
        self._set_columns(self.all_columns)
        self.cursor_column = next((i for i, c in enumerate(self.columns) if c.key == current), 0)
        self._blocks.clear()
        if self.is_mounted:
            self.virtual_size = Size(self._virtual_width, self._view.height + 1)
            self.scroll_to(x=0, animate=False, immediate=True)
            self.refresh()

    def on_mount(self) -> None:
        self.set_class(few_colours(self.app.console.color_system), "-16-colours")
        if self.id and self.column_choice is None:
            self._load_column_choice()
        self._resort(keep_cursor=False)

    def _load_column_choice(self) -> None:
        from scantui.config import table_columns

        try:
            choice = table_columns(self.id)
        except Exception as exc:  # noqa: BLE001 - a broken config file must not stop the table
            self.notify(f"column choice not applied: {exc}", title="config", severity="warning", markup=False)
            return
        if choice is not None:
            self.choose_columns(*choice)

    # ------------------------------------------------------------ data in

    @property
    def row_count(self) -> int:
        return self._view.height

    @property
    def frame(self) -> pl.DataFrame:
        """The rows in display order."""
        return self._view

    def set_frame(self, frame: pl.DataFrame, columns: Sequence[Column] | None = None) -> None:
        """Show *frame* (sorted by the current sort); the cursor stays on the same key when it is still there.

        *columns* replaces the column specs (e.g. when the frame brings columns the table did not have).
        """
        if columns is not None and tuple(columns) != self.all_columns:
            self._set_columns(columns)
            self._blocks.clear()
        self._source = frame
        self._resort(keep_cursor=True)

    def expect_frame(self) -> None:
        """A new frame is on its way (a filter's result, from a worker): the cursor moves made until it is shown
        are made again on it (:mod:`scantui.tui.widgets.moves_ahead`); :meth:`rows_not_coming` if it fails."""
        self.expect_rows(self._key_at(self.cursor_row))

    def _key_at(self, row: int) -> Any:
        """The key (first column) of display row *row*, None where there is none."""
        key_name = self.columns[0].key if self.columns else None
        if key_name and 0 <= row < self._view.height and key_name in self._view.columns:
            return self._view[key_name][row]
        return None

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        """Sort by column *key*; *descending* defaults to numbers largest first, text A to Z."""
        column = self._column(key)
        if not column.sortable:
            raise ValueError(f"column {key!r} cannot be sorted")
        if descending is None:
            descending = column.align == "right"
        self.sort_key, self.descending = key, descending
        self.move_column(self._index(key))  # the sorted column is the current one, and on screen
        self._resort(keep_cursor=False)

    @property
    def selected_row(self) -> dict[str, Any] | None:
        if not 0 <= self.cursor_row < self.row_count:
            return None
        return self._view.row(self.cursor_row, named=True)

    @property
    def sortable_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.sortable and c.key in self._source.columns)

    def _empty_frame(self) -> pl.DataFrame:
        import polars as pl

        return pl.DataFrame({c.key: [] for c in self.all_columns})

    def _index(self, key: str | None) -> int:
        return next((i for i, c in enumerate(self.columns) if c.key == key), 0)

    @property
    def current_column(self) -> Column | None:
        """The column under the column cursor (what ``s`` sorts by)."""
        return self.columns[self.cursor_column] if self.columns else None

    def _column(self, key: str) -> Column:
        for column in self.all_columns:
            if column.key == key:
                return column
        raise KeyError(key)

    def _sorted(self, frame: pl.DataFrame) -> pl.DataFrame:
        key = self.sort_key
        if key is None or key not in frame.columns:
            return frame
        keys = [key]
        tie = self.columns[0].key if self.columns else None
        if tie and tie != key and tie in frame.columns:
            keys.append(tie)
        return frame.sort(keys, descending=[self.descending, False][: len(keys)], nulls_last=True, maintain_order=True)

    def _resort(self, keep_cursor: bool) -> None:
        """Sort the source frame (in a thread when big) and show it; the cursor stays on its row
        (*keep_cursor*, for a new frame) or goes to the top (a new sort: the top is what was asked for)."""
        self._generation += 1
        generation = self._generation
        frame = self._source
        if frame.height > SORT_IN_THREAD and self.is_mounted:
            self.run_worker(lambda: self._sort_in_thread(frame, generation, keep_cursor), thread=True, exclusive=True,
                            group="virtual-table-sort", exit_on_error=False)
        else:
            self._install(self._sorted(frame), generation, keep_cursor)

    def _sort_in_thread(self, frame: pl.DataFrame, generation: int, keep_cursor: bool) -> None:
        try:
            view = self._sorted(frame)
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the old order stays
            err = as_error(exc)  # a polars panic: one line
            self.app.call_from_thread(self.notify, f"{type(err).__name__}: {err}", title="sort", severity="error", markup=False)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._install, view, generation, keep_cursor)

    def _install(self, view: pl.DataFrame, generation: int, keep_cursor: bool) -> None:
        if generation != self._generation:
            return  # a newer frame or sort was asked for meanwhile
        key_name = self.columns[0].key if self.columns else None
        old_key, moves = (self._key_at(self.cursor_row) if keep_cursor else None), []
        if not keep_cursor:  # a new sort: the top row, and the moves typed ahead start from it
            self.restart_moves(None)
        elif (ahead := self.take_moves()) is not None:  # from the row before the moves typed ahead, then them
            old_key, moves = ahead
        self._view = view
        self._blocks.clear()
        row = self._find(key_name, old_key) if key_name and old_key is not None else 0
        for move in moves:
            row = moved(row, move, view.height)
        self.place_cursor(row)
        self.virtual_size = Size(self._virtual_width, view.height + 1)
        if self.is_mounted:
            if old_key is None:
                self.scroll_to(y=0, animate=False, immediate=True)
            self.scroll_to_cursor(center=True)
            self.refresh()
            self.post_message(self.ViewChanged(self, view.height, self.sort_key, self.descending))
        self.post_message(self.cursor_message())
        if self.marks:
            self._post_marks()
        if not self.rows_on_their_way:
            self.rows_shown()

    def _find(self, key_name: str, value: Any) -> int:
        import polars as pl

        hits = self._view.select(pl.arg_where(pl.col(key_name) == value)).to_series()
        return int(hits[0]) if len(hits) else 0

    # ------------------------------------------------------------ geometry

    def _column_starts(self) -> list[int]:
        """Start offset of each scrolling column inside the scrolling part."""
        starts, x = [], 0
        for column in self.columns[self.pinned :]:
            starts.append(x)
            x += column.width + len(_SEP)
        return starts

    @property
    def _virtual_width(self) -> int:
        # room to scroll until the last column starts the scrolling part (the view is whole columns)
        return self._pinned_width + 2 * self._scroll_width

    @property
    def _room(self) -> int:
        """Cells for the scrolling columns."""
        return max(0, self.scrollable_content_region.width - self._pinned_width)

    @property
    def _origin(self) -> int:
        """Where the scrolling part starts: the scroll offset, at a column boundary (the first one at or after it)."""
        x = round(self.scroll_offset.x)
        return next((st for st in self._starts if st >= x), self._scroll_width)

    def _visible_end(self, origin: int) -> int:
        """The end of the last whole column that fits from *origin*; the room itself when not even one fits."""
        room, end = self._room, origin
        for column, st in zip(self.columns[self.pinned :], self._starts):
            if st < origin:
                continue
            if st + column.width + len(_SEP) - origin > room:
                break
            end = st + column.width + len(_SEP)
        if end == origin and origin < self._scroll_width:
            return origin + room  # a column wider than the table: cut, the only way to show it
        return end

    def _is_visible(self, index: int) -> bool:
        if index < self.pinned:
            return True
        origin = self._origin
        start = self._starts[index - self.pinned]
        return origin <= start and start + self.columns[index].width + len(_SEP) <= self._visible_end(origin)

    def move_column(self, index: int) -> None:
        """Put the column cursor on column *index* (clamped) and scroll sideways until it shows whole."""
        if not self.columns:
            return
        self.cursor_column = max(0, min(index, len(self.columns) - 1))
        if self.is_mounted and self.cursor_column >= self.pinned and not self._is_visible(self.cursor_column):
            i = self.cursor_column - self.pinned
            if self._starts[i] < self._origin:
                target = self._starts[i]
            else:  # the leftmost start from which the column still fits
                end = self._starts[i] + self.columns[self.cursor_column].width + len(_SEP)
                target = next((st for st in self._starts[: i + 1] if end - st <= self._room), self._starts[i])
            self.scroll_to(x=target, animate=False, force=True, immediate=True)
        self.refresh()

    def cursor_message(self) -> VirtualTable.CursorMoved:
        row = self.selected_row
        key_name = self.columns[0].key if self.columns else None
        return self.CursorMoved(self, self.cursor_row, row.get(key_name) if row is not None else None, row)

    # ------------------------------------------------------------ drawing

    def _text(self, column: Column, text: str) -> str:
        width = column.width
        if column.align == "right":
            text = set_cell_size(text, width) if cell_len(text) > width else " " * (width - cell_len(text)) + text
        else:
            text = set_cell_size(text, width)
        return text + _SEP

    def block_rows(self, block: int) -> pl.DataFrame | None:
        """The rows of block *block* (``BLOCK_ROWS`` rows from ``block * BLOCK_ROWS``) to draw; None while they
        are not there (a subclass reading them lazily: :mod:`scantui.tui.widgets.paged_table`): their lines show
        :data:`PENDING` until the next refresh, and nothing is cached for them."""
        return self._view.slice(block * BLOCK_ROWS, BLOCK_ROWS)

    def forget_rows(self) -> None:
        """Drop the formatted lines kept (the rows under them changed) and repaint."""
        self._blocks.clear()
        self.refresh()

    def _row_texts(self, index: int) -> tuple[str, str]:
        """(pinned part, scrolling part) of row *index*, from the block cache."""
        block_no = index // BLOCK_ROWS
        block = self._blocks.get(block_no)
        if block is None:
            keys = [c.key for c in self.columns]
            part = self.block_rows(block_no)
            if part is None:
                cells = [self._text(c, PENDING) for c in self.columns]
                return " " + "".join(cells[: self.pinned]), "".join(cells[self.pinned :])
            present = [k for k in keys if k in part.columns]
            rows = part.select(present).iter_rows(named=True)
            block = []
            for row in rows:
                cells = [self._text(c, c.cell(row.get(c.key))) for c in self.columns]
                block.append((" " + "".join(cells[: self.pinned]), "".join(cells[self.pinned :])))
            self._blocks.set(block_no, block)
        at = index - block_no * BLOCK_ROWS
        return block[at] if at < len(block) else (" ", "")

    def _header_texts(self) -> list[tuple[Column, str]]:
        out = []
        for column in self.columns:
            label = column.header
            if column.key == self.sort_key:
                label = set_cell_size(label, max(column.width - 1, 0)).rstrip() + ("↓" if self.descending else "↑")
            out.append((column, self._text(column, label)))
        return out

    def _compose_line(self, pinned: list[Segment], scrolling: list[Segment], style: Style) -> Strip:
        width = self.scrollable_content_region.width
        origin = self._origin
        rest = Strip(scrolling).crop(origin, min(self._visible_end(origin), origin + self._room))
        return Strip.join([Strip(pinned), rest]).extend_cell_length(width, style).crop(0, width)

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header_line()
        index = round(self.scroll_offset.y) + y - 1
        if self.row_count == 0:
            if y == 1:
                style = base + self.get_component_rich_style("virtual-table--empty")
                return Strip([Segment(" " + self.empty_text, style)]).extend_cell_length(width, base).crop(0, width)
            return Strip.blank(width, base)
        if index >= self.row_count:
            return Strip.blank(width, base)
        style = base + self.get_component_rich_style("virtual-table--cursor") if index == self.cursor_row else base
        pinned, scrolling = self._row_texts(index)
        if self.marks and self.is_marked(index):
            pinned = "●" + pinned[1:]
            style += self.get_component_rich_style("virtual-table--marked", partial=True)
        return self._compose_line([Segment(pinned, style)], [Segment(scrolling, style)], style)

    def _header_line(self) -> Strip:
        header = self.rich_style + self.get_component_rich_style("virtual-table--header")
        sorted_style = self.rich_style + self.get_component_rich_style("virtual-table--header-sorted")
        current = self.get_component_rich_style("virtual-table--header-current")

        def style(i: int, column: Column) -> Style:
            base = sorted_style if column.key == self.sort_key else header
            return base + current if i == self.cursor_column and self.has_focus else base

        texts = self._header_texts()
        segments = [Segment(t, style(i, c)) for i, (c, t) in enumerate(texts)]
        pinned = [Segment(" ", header), *segments[: self.pinned]]
        strip = self._compose_line(pinned, segments[self.pinned :], header)
        width = self.scrollable_content_region.width
        origin = self._origin
        more_right = self._visible_end(origin) < self._scroll_width
        if origin > 0 and width > self._pinned_width:  # columns hidden to the left: mark the pinned part's separator
            edge = self._pinned_width - 1
            strip = Strip.join([strip.crop(0, edge), Strip([Segment("◂", header)]), strip.crop(edge + 1, width)])
        if more_right and width > 1:
            strip = Strip.join([strip.crop(0, width - 1), Strip([Segment("▸", header)])])
        return strip

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._blocks.clear()

    def on_focus(self) -> None:
        self.refresh()  # the column cursor shows while the table has the focus

    def on_blur(self) -> None:
        self.refresh()

    # ------------------------------------------------------------ actions

    def go(self, by: int = 0, to: int | None = None) -> None:
        """Move the cursor *by* rows, or *to* a row (0 the first, -1 the last); kept while a new frame is
        on its way (:meth:`expect_frame`)."""
        self.kept_move((by, to))
        self.move_cursor(moved(self.cursor_row, (by, to), self.row_count))

    def action_cursor_up(self) -> None:
        self.go(-1)

    def action_cursor_down(self) -> None:
        self.go(1)

    def action_page_up(self) -> None:
        self.go(-self.page_rows)

    def action_page_down(self) -> None:
        self.go(self.page_rows)

    def action_first(self) -> None:
        self.go(to=0)

    def action_last(self) -> None:
        self.go(to=-1)

    def action_column(self, step: int) -> None:
        """Move the column cursor *step* columns (the view follows it)."""
        self.move_column(self.cursor_column + step)

    def action_scroll_columns(self, step: int) -> None:
        """Scroll sideways one column (the cursor stays on screen)."""
        origin = self._origin
        if step > 0:
            target = next((st for st in self._starts if st > origin), origin)
        else:
            target = next((st for st in reversed(self._starts) if st < origin), 0)
        self.scroll_to(x=target, animate=False, force=True, immediate=True)
        if not self._is_visible(self.cursor_column):
            visible = [i for i in range(self.pinned, len(self.columns)) if self._is_visible(i)]
            if visible:
                self.cursor_column = visible[0] if step > 0 else visible[-1]
        self.refresh()

    def action_select(self) -> None:
        """Enter: the row under the cursor is opened before the keys after enter are handed out (the keys wait
        until this key has reached the App, where it runs: :mod:`scantui.tui.focus` rule 4)."""
        from scantui.tui.focus import after_its_keys

        row = self.selected_row
        if row is not None:
            after_its_keys(self, lambda: self.post_message(self.RowSelected(self, self.cursor_row, row)))

    def action_sort_current(self) -> None:
        """Sort by the column under the column cursor; again on the sorted column: reverse."""
        column = self.current_column
        if column is None:
            return
        if not column.sortable or column.key not in self._source.columns:
            self.notify(f"the {column.header} column cannot be sorted", title="sort", markup=False)
            return
        if column.key == self.sort_key:
            self.action_sort_reverse()
        else:
            self.sort_by(column.key)

    def action_sort_step(self, step: int) -> None:
        """Sort by the next (*step* 1) or previous (-1) sortable column after the current sort column, wrapping."""
        keys = [c.key for c in self.sortable_columns]
        if not keys:
            return
        at = keys.index(self.sort_key) if self.sort_key in keys else -1 if step > 0 else 0
        self.sort_by(keys[(at + step) % len(keys)])

    def action_sort_next(self) -> None:
        """Sort by the next sortable column (after the current sort column, wrapping)."""
        self.action_sort_step(1)

    def action_sort_reverse(self) -> None:
        if self.sort_key is not None:
            self.sort_by(self.sort_key, not self.descending)

    # ------------------------------------------------------------ marks

    @property
    def _mark_column(self) -> str | None:
        key = self.mark_key or (self.all_columns[0].key if self.all_columns else None)
        return key if key is not None and key in self._view.columns else None

    def _marked(self) -> frozenset[int]:
        """The display indices of the marked rows shown (computed once per view and set of marks)."""
        import polars as pl

        stamp = (len(self.marks), self._marks_version)
        if self._marked_for is not self._view or self._marked_stamp != stamp:
            key = self._mark_column
            if key is None or not self.marks:
                self._marked_rows = frozenset()
            else:
                wanted = pl.Series(list(self.marks)).cast(self._view.schema[key], strict=False)
                hits = self._view.select(pl.arg_where(pl.col(key).is_in(wanted.implode())))
                self._marked_rows = frozenset(hits.to_series().to_list())
            self._marked_for, self._marked_stamp = self._view, stamp
        return self._marked_rows

    def is_marked(self, index: int) -> bool:
        """Whether display row *index* is marked (the gutter's ``●``)."""
        return index in self._marked()

    _marks_version = 0
    _marked_stamp: tuple[int, int] = (-1, -1)

    @property
    def marked_shown(self) -> int:
        """How many marked rows are shown (the others are filtered out: kept marked, not acted on)."""
        return len(self._marked())

    def marks_text(self) -> str:
        """``3 marked`` (``, 2 filtered out``), or "" with no marks: what the screens' titles say."""
        if not self.marks:
            return ""
        shown = self.marked_shown
        hidden = len(self.marks) - shown
        return f"{shown:,} marked" + (f" ({hidden:,} more filtered out: not acted on)" if hidden else "")

    def chosen_rows(self) -> list[dict[str, Any]]:
        """What an action on the selection acts on: the marked rows shown, in table order; else the row under
        the cursor; else [] (an empty table)."""
        marked = sorted(self._marked())
        if marked:
            return [self._view.row(i, named=True) for i in marked]
        row = self.selected_row
        return [row] if row is not None else []

    def chosen_frame(self) -> pl.DataFrame:
        """The marked rows shown (table order) when there are any, else every row shown."""
        marked = sorted(self._marked())
        if not marked:
            return self._view
        import polars as pl

        return self._view[pl.Series(marked, dtype=pl.UInt32)]

    def _post_marks(self) -> None:
        self._marks_version += 1
        self.refresh()
        self.post_message(self.MarksChanged(self, self.marked_shown, len(self.marks)))

    def set_marks(self, keys: Any) -> None:
        """Mark exactly the rows whose key (:attr:`mark_key`) is in *keys*."""
        self.marks = set(keys)
        self._post_marks()

    def action_toggle_mark(self) -> None:
        """Mark or unmark the row under the cursor, then move down (space, space... marks a run of rows)."""
        key = self._mark_column
        if key is None or not 0 <= self.cursor_row < self.row_count:
            return
        self.toggle_mark_of(self._view[key][self.cursor_row])

    def toggle_mark_of(self, value: Any) -> None:
        """Mark or unmark the key *value*, then move the cursor down (space, space... marks a run of rows)."""
        if value in self.marks:
            self.marks.discard(value)
        else:
            self.marks.add(value)
        self._post_marks()
        self.go(1)

    def action_mark_all(self) -> None:
        """Mark every row shown (the marks of rows filtered out stay)."""
        key = self._mark_column
        if key is not None:
            self.marks.update(v for v in self._view[key].to_list() if v is not None)
            self._post_marks()

    def action_clear_marks(self) -> None:
        """Unmark every row, the ones filtered out too."""
        if self.marks:
            self.marks.clear()
            self._post_marks()

    # ------------------------------------------------------------ export and the column picker

    def action_export(self) -> None:
        """ctrl+s: ask for a path and write the table as shown (the marked rows when some are marked)."""
        from scantui.tui.table_export import ask_export

        ask_export(self)

    def action_pick_columns(self) -> None:
        """c: the column picker (show, hide, reorder); the choice is remembered for this table."""
        from scantui.tui.screens.column_picker import ColumnPickerScreen

        def chosen(choice: tuple[list[str], list[str]] | None) -> None:
            if choice is None:
                return
            order, hidden = choice
            self.choose_columns(order, hidden)
            if self.id:
                from scantui.config import save_table_columns

                try:
                    save_table_columns(self.id, order, hidden)
                except Exception as exc:  # noqa: BLE001 - shown; the choice applies for this session
                    from scantui.tui.state import error_text

                    self.notify(error_text(exc), title="columns not remembered", severity="error", markup=False)

        self.app.push_screen(ColumnPickerScreen(self.all_columns, self.columns, self.pinned), chosen)

    # ------------------------------------------------------------ mouse

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x)
            if column is not None and column.sortable:
                same = column.key == self.sort_key
                self.sort_by(column.key, (not self.descending) if same else None)
            return
        row = self.row_at(offset.y)
        if row is not None and row < self.row_count:
            self.restart_moves(self._key_at(row))  # a row seen picked: the moves typed ahead start from it
            self.move_cursor(row)
            if event.chain >= 2:
                self.action_select()

    def _column_at(self, x: int) -> Column | None:
        if x < self._pinned_width:
            edge = 1
            for column in self.columns[: self.pinned]:
                edge += column.width + len(_SEP)
                if x < edge:
                    return column
            return None
        x = x - self._pinned_width + self._origin
        if x >= self._visible_end(self._origin):
            return None
        for column, start in zip(self.columns[self.pinned :], self._starts):
            if start <= x < start + column.width + len(_SEP):
                return column
        return None
