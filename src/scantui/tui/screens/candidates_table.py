"""The candidates screen's table: rejected rows dimmed, the cursor held on its line across a new frame."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from textual import on
from textual.binding import Binding
from textual.strip import Strip

from scantui.labels.match import Review
from scantui.tui.screens.candidates_frames import review_ranks
from scantui.tui.widgets.table import VirtualTable

if TYPE_CHECKING:
    import polars as pl


class ReviewTable(VirtualTable):
    """A :class:`VirtualTable` whose rejected rows are dimmed, and whose cursor can hold its place
    across a new frame (the next row to review, after a labelling change)."""

    BINDINGS = [  # the footer has room for the labelling keys, not these (still in ? and the palette)
        Binding("s", "sort_current", "Sort", show=False, id="table.sort"),
        Binding("r", "sort_reverse", "Reverse", show=False, id="table.reverse"),
    ]
    COMPONENT_CLASSES = VirtualTable.COMPONENT_CLASSES | {"review-table--rejected"}
    DEFAULT_CSS = """
    ReviewTable > .review-table--rejected { color: $text-muted; text-style: italic; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hold: tuple[int, int] | None = None
        self._dim_for: Any = None
        self._dim_rows: frozenset[int] = frozenset()

    def show(self, frame: pl.DataFrame, *, hold: bool = False, columns: Any = None) -> None:
        """Show *frame* (with *columns*, when given); with *hold* the cursor stays on the same line instead of
        following its row."""
        self._hold = (self.cursor_row, round(self.scroll_offset.y)) if hold else None
        self.set_frame(frame, columns)

    @on(VirtualTable.ViewChanged)
    def _view_changed(self, event: VirtualTable.ViewChanged) -> None:
        if self._hold is not None and event.control is self:
            (row, top), self._hold = self._hold, None
            self.scroll_to(y=top, animate=False, immediate=True)
            self.move_cursor(row)
            self.refresh()

    def _dimmed(self) -> frozenset[int]:
        frame = self.frame
        if self._dim_for is not frame:
            self._dim_for = frame
            rejected = review_ranks(frame) == Review.REJECTED.rank
            self._dim_rows = frozenset(rejected.arg_true().to_list())
        return self._dim_rows

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        index = round(self.scroll_offset.y) + y - 1
        if y > 0 and index != self.cursor_row and index in self._dimmed():
            style = self.get_component_rich_style("review-table--rejected")
            strip = Strip(Segment.apply_style(iter(strip), post_style=style), strip.cell_length)
        return strip

