"""The row cursor shared by the Line API widgets that draw one row per line under a few pinned lines.

:class:`RowCursorView` is the ``ScrollView`` under the table
(:mod:`scantui.tui.widgets.table`) and the timing plot
(:mod:`scantui.tui.widgets.timing`). Its ``cursor_row`` is a reactive, as
toolong's ``LogLines.pointer_line``: setting it (a key, a click, the program)
clamps it to the rows, repaints the two lines, scrolls the cursor into the
page and posts the widget's cursor-moved message (:meth:`RowCursorView.cursor_message`).
Screens and subclasses listen to that message; none needs the widget's
private methods. A widget that replaces all of its rows places the cursor
quietly (:meth:`RowCursorView.place_cursor`) and posts the message itself once
the new rows are on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.reactive import reactive
from textual.scroll_view import ScrollView

if TYPE_CHECKING:
    from textual.message import Message


class RowCursorView(ScrollView):
    """A ``ScrollView`` with a row cursor under *HEADER_LINES* pinned lines; see the module doc.

    Subclasses provide ``row_count`` and :meth:`cursor_message`.
    """

    HEADER_LINES: ClassVar[int] = 1

    cursor_row: reactive[int] = reactive(0, repaint=False, init=False)
    """The row under the cursor (0 when there are no rows)."""

    @property
    def row_count(self) -> int:
        return 0

    def cursor_message(self) -> Message | None:
        """The message posted when the cursor moves (None: nothing to post)."""
        return None

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, self.row_count - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        # line numbers in virtual coordinates: ScrollView subtracts the scroll offset
        self.refresh_line(old + self.HEADER_LINES)
        self.refresh_line(new + self.HEADER_LINES)
        if self.is_mounted:
            self.scroll_to_cursor()
        message = self.cursor_message()
        if message is not None:
            self.post_message(message)

    def place_cursor(self, row: int) -> None:
        """Set the cursor to *row* with no repaint, scroll or message (for a widget installing new rows)."""
        self.set_reactive(RowCursorView.cursor_row, row)

    def move_cursor(self, row: int) -> None:
        """Put the cursor on *row* (clamped) and keep it on screen."""
        self.cursor_row = row

    @property
    def page_rows(self) -> int:
        """Rows in one page (what page up/down moves)."""
        return max(1, self.scrollable_content_region.height - self.HEADER_LINES)

    def scroll_to_cursor(self, center: bool = False) -> None:
        """Scroll the least that shows the cursor's row; with *center*, an off-page cursor lands mid-page."""
        top = round(self.scroll_offset.y)
        page, row = self.page_rows, self.cursor_row
        if center and not top <= row < top + page:
            self.scroll_to(y=max(0, row - page // 2), animate=False, immediate=True)
        elif row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + page:
            self.scroll_to(y=row - page + 1, animate=False, immediate=True)

    def row_at(self, y: int) -> int | None:
        """The row drawn at content line *y* (None on a pinned line); may be past the last row."""
        if y < self.HEADER_LINES:
            return None
        return round(self.scroll_offset.y) + y - self.HEADER_LINES
