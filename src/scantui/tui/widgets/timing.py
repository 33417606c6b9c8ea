"""The per-IP timing plot on Textual's Line API: one line per source, time on x, a mark per time bin.

:class:`TimingStrips` draws a :class:`~scantui.plots.timing.TimingGrid`: three
pinned lines (the range shown, the legend: which packet counts each glyph
stands for, then the time axis) and one line per row: its
label (pinned on the left), the strip from :func:`~scantui.plots.timing.render_row`
sized to the width, the row's packets in the range shown and, when there is
room, the caller's extra text (a member's destinations and share). Only the
lines on screen are rendered (a small LRU cache per row), so 300 sources
scroll as fast as 3.

The row cursor is the table's (:mod:`scantui.tui.widgets.row_cursor`): up/down,
page, home/end or a click move it and post :class:`TimingStrips.CursorMoved`;
enter posts :class:`TimingStrips.RowSelected`.

``s`` switches the marks between a log scale (the default: quiet and busy
members both show) and a linear one (a 5:1 split of the packets reads as 5:1).

Zoom (``+``/``=`` in, ``-`` out, ``[``/``]`` or shift+arrows to pan, ``0``
back to everything) asks the *binner* given to :meth:`TimingStrips.show` for a
new grid over the range, at one bin per character cell, in a thread worker;
the binner keeps the rows (``timing_grid(..., sources=grid.sources,
order="given")``, see :func:`packets_binner`). A resize re-bins the same way.
The old grid stays on screen meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.safetext import safe_text
from scantui.tui.widgets.row_cursor import RowCursorView
from scantui.tui.widgets.table import few_colours

if TYPE_CHECKING:  # numpy and polars come with the first grid, not with the App
    import polars as pl

    from scantui.plots.timing import TimingGrid

#: ``binner(start_us, end_us, bins)``: a grid over ``[start_us, end_us)`` with the same rows, in the same order.
Binner = Callable[[int, int, int], "TimingGrid"]

PINNED = 3  # the range line, the legend line and the axis line
LEGEND_LINE, AXIS_LINE = 1, 2
MIN_SPAN_US = 1_000_000  # zooming stops at one second
LABEL_MAX = 22
MIN_STRIP = 8
EXTRAS_MIN_STRIP = 40  # the extra column shows only when the strip keeps this many cells
DEFAULT_BINS = 200


def packets_binner(packets: pl.DataFrame, sources: Sequence[int]) -> Binner:
    """A binner over *packets* (``ts``, ``src``) keeping exactly *sources*, in that order."""
    from scantui.plots.timing import timing_grid

    rows = [int(s) for s in sources]

    def binner(start_us: int, end_us: int, bins: int) -> TimingGrid:
        return timing_grid(packets, bins=bins, start_us=start_us, end_us=end_us, sources=rows, order="given")

    return binner


def span_text(us: int) -> str:
    """A duration as ``3h 30m``, ``45s``, ``2d 4h``, ``250ms``."""
    seconds = us / 1e6
    if seconds < 1:
        return f"{us / 1e3:.0f}ms"
    s = int(round(seconds))
    days, rest = divmod(s, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0s"


def range_text(start_us: int, end_us: int) -> str:
    """``2024-02-05 09:00:02 → 12:29:54 UTC`` (the date once when both ends share it)."""
    from scantui.plots.ticks import to_datetime

    a, b = to_datetime(start_us), to_datetime(end_us)
    full = "%Y-%m-%d %H:%M:%S"
    return f"{a.strftime(full)} → {b.strftime('%H:%M:%S' if a.date() == b.date() else full)} UTC"


class TimingStrips(RowCursorView, can_focus=True, inherit_bindings=False):
    """One line per source over time; see the module doc."""

    HEADER_LINES = PINNED

    COMPONENT_CLASSES = {
        "timing-strips--status",
        "timing-strips--legend",
        "timing-strips--axis",
        "timing-strips--label",
        "timing-strips--mark",
        "timing-strips--count",
        "timing-strips--cursor",
        "timing-strips--empty",
    }

    DEFAULT_CSS = """
    TimingStrips {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;  /* the strip width (= bins) does not change when the scrollbar appears */
        height: 1fr;
        min-height: 4;
        & > .timing-strips--status { color: $text-muted; }
        & > .timing-strips--legend { color: $text-muted; }
        & > .timing-strips--axis { color: $text-muted; }
        & > .timing-strips--label { color: $foreground; }
        & > .timing-strips--mark { color: $accent; }
        & > .timing-strips--count { color: $text-muted; }
        & > .timing-strips--empty { color: $text-muted; text-style: italic; }
        & > .timing-strips--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        /* 16 colours (or an ANSI theme): the blurred cursor's tint becomes the rows' grey */
        &.-16-colours > .timing-strips--cursor, &:ansi > .timing-strips--cursor { text-style: reverse; }
        &:focus > .timing-strips--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        &:nocolor > .timing-strips--cursor { text-style: reverse bold; }
    }
    """

    BINDINGS = [
        Binding("up,k", "step(-1)", "Up", show=False, id="timing.up"),
        Binding("down,j", "step(1)", "Down", show=False, id="timing.down"),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False, id="timing.page_up"),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False, id="timing.page_down"),
        Binding("home,g", "jump(False)", "First row", show=False, id="timing.first"),
        Binding("end,G", "jump(True)", "Last row", show=False, id="timing.last"),
        Binding("plus,equals_sign", "zoom_in", "Zoom", id="timing.zoom_in"),
        Binding("minus", "zoom_out", "Unzoom", id="timing.zoom_out"),
        Binding("left_square_bracket,shift+left", "pan(-1)", "Earlier", show=False, id="timing.pan_left"),
        Binding("right_square_bracket,shift+right", "pan(1)", "Later", show=False, id="timing.pan_right"),
        Binding("0", "reset_zoom", "Whole range", show=False, id="timing.reset"),
        Binding("s", "toggle_scale", "Log", id="timing.scale"),
        Binding("enter", "select", "Open source", show=False, id="timing.open"),
    ]

    class _RowMessage(Message):
        """A row of the plot: its index and key (the source, or whatever the rows are)."""

        def __init__(self, strips: TimingStrips, index: int, key: int) -> None:
            super().__init__()
            self.strips = strips
            self.index = index
            self.key = key

        @property
        def control(self) -> TimingStrips:
            return self.strips

    class RowSelected(_RowMessage):
        """Enter on a row."""

    class CursorMoved(_RowMessage):
        """The cursor moved to row *index*."""

    def __init__(self, *, empty_text: str = "no packets", name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(name=name, id=id, classes=classes)
        self.empty_text = empty_text
        self.grid: TimingGrid | None = None
        self.labels: list[str] = []
        self.extras: list[str] = []
        self.extras_header = ""
        self.note = ""
        self.binning = False
        self._binner: Binner | None = None
        self._full: tuple[int, int] | None = None
        self._view: tuple[int, int] | None = None
        self._generation = 0
        self._lines: LRUCache[int, str] = LRUCache(256)  # row index -> strip text, for the current grid and width
        self._lines_key: tuple[int, int, str] | None = None  # (generation, strip width, scale) the cache holds
        self._peak = 1
        self.scale = "log"
        self._row_counts: list[int] = []
        self._counts_width = 0

    def on_mount(self) -> None:
        self.set_class(few_colours(self.app.console.color_system), "-16-colours")

    # ------------------------------------------------------------ data in

    def show(self, grid: TimingGrid, *, binner: Binner | None = None, labels: Sequence[str] | None = None,
             extras: Sequence[str] | None = None, extras_header: str = "", note: str = "") -> None:
        """Draw *grid*: its range is the whole range (``0`` comes back to it); *binner* enables zoom.

        *labels* (default: the sources as dotted IPs) and *extras* are untrusted text, one per row.
        """
        self.labels = [safe_text(x) for x in (labels if labels is not None else grid.row_labels())]
        self.extras = [safe_text(x) for x in extras] if extras is not None else []
        if len(self.labels) != len(grid.sources) or (self.extras and len(self.extras) != len(grid.sources)):
            raise ValueError("one label (and extra) per row of the grid")
        self.extras_header = safe_text(extras_header)
        self.note = safe_text(note)
        if not grid.sources:
            self.empty_text = "no packets"
        self._binner = binner
        self._full = self._view = (grid.start_us, grid.end_us)
        self.place_cursor(0)
        self._install(grid)
        self.scroll_to(y=0, animate=False, immediate=True)
        if binner is not None and self.strip_width and self.strip_width != grid.bins:
            self._request(*self._view)

    def show_text(self, text: str) -> None:
        """No grid: one line of *text* (loading, an error, no packets)."""
        self.grid = None
        self.empty_text = safe_text(text)
        self.labels, self.extras, self._binner, self._full, self._view = [], [], None, None, None
        self.virtual_size = Size(1, PINNED)
        self.refresh()

    def _install(self, grid: TimingGrid) -> None:
        import numpy as np

        self.grid = grid
        self._generation += 1
        self._lines.clear()
        self._lines_key = None
        self._row_counts = [int(n) for n in np.asarray(grid.counts).sum(axis=1)] if grid.sources else []
        self._counts_width = max((len(f"{n:,}") for n in self._row_counts), default=1)
        self.virtual_size = Size(1, len(grid.sources) + PINNED)
        self.place_cursor(min(self.cursor_row, max(len(grid.sources) - 1, 0)))
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self.grid.sources) if self.grid is not None else 0

    @property
    def view_range(self) -> tuple[int, int] | None:
        """The range asked for (the grid on screen catches up once binned)."""
        return self._view

    @property
    def full_range(self) -> tuple[int, int] | None:
        return self._full

    @property
    def zoomed(self) -> bool:
        return self._view is not None and self._view != self._full

    # ------------------------------------------------------------ geometry

    @property
    def _label_width(self) -> int:
        return min(max((cell_len(x) for x in self.labels), default=4), LABEL_MAX)

    def _layout(self) -> tuple[int, int, int, int]:
        """(label, strip, counts, extras) widths for the current width; 0 hides a column."""
        width = self.scrollable_content_region.width
        label = self._label_width
        counts = max(self._counts_width, 4)
        extras = max((cell_len(x) for x in self.extras), default=0)
        extras = max(extras, cell_len(self.extras_header)) if extras else 0
        strip = width - label - 1 - (counts + 1) - (extras + 1 if extras else 0)
        if extras and strip < EXTRAS_MIN_STRIP:
            strip += extras + 1
            extras = 0
        if strip < MIN_STRIP + 8:
            strip += counts + 1
            counts = 0
        if strip < MIN_STRIP:
            label = max(0, min(label, width - MIN_STRIP - 1))
            strip = max(1, width - label - 1)
        return label, strip, counts, extras

    @property
    def strip_width(self) -> int:
        """Character cells of the strips (one bin each once binned); 0 before the first layout."""
        if self.scrollable_content_region.width <= 0:
            return 0
        return self._layout()[1]

    def on_resize(self, event: events.Resize) -> None:
        self._lines.clear()
        if self.grid is not None and self._binner is not None and self._view is not None and self.strip_width != self.grid.bins:
            self._request(*self._view)

    # ------------------------------------------------------------ drawing

    def _style(self, name: str) -> Style:
        return self.rich_style + self.get_component_rich_style(f"timing-strips--{name}")

    def _cells(self, width: int) -> None:
        """Start the line cache for this grid, width and scale (the peak is the busiest cell at this width)."""
        from scantui.plots.timing import resample

        key = (self._generation, width, self.scale)
        if self._lines_key != key:
            self._lines.clear()
            self._lines_key = key
            cells = resample(self.grid.counts, width) if self.grid.sources else None
            self._peak = int(cells.max()) if cells is not None and cells.size else 1

    def _strip_text(self, index: int, width: int) -> str:
        from scantui.plots.timing import render_row

        self._cells(width)
        text = self._lines.get(index)
        if text is None:
            text = render_row(self.grid.counts[index], width, peak=self._peak, scale=self.scale)
            self._lines.set(index, text)
        return text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if width <= 0:
            return Strip.blank(0, base)
        if y == 0:
            return self._line([(self._status_text(), self._style("status"))], width, base)
        if self.grid is None:
            return self._line([(" " + self.empty_text, self._style("empty"))], width, base) if y == 1 else Strip.blank(width, base)
        label_w, strip_w, counts_w, extras_w = self._layout()
        if y == LEGEND_LINE:
            return self._line([(self._legend_text(strip_w), self._style("legend"))], width, base)
        if y == AXIS_LINE:
            return self._axis_line(label_w, strip_w, counts_w, extras_w, width)
        index = round(self.scroll_offset.y) + y - PINNED
        if not self.grid.sources:
            return self._line([(" " + self.empty_text, self._style("empty"))], width, base) if y == PINNED else Strip.blank(width, base)
        if index >= self.row_count:
            return Strip.blank(width, base)
        cursor = index == self.cursor_row
        row_style = self._style("cursor") if cursor else base
        parts = [(set_cell_size(self.labels[index], label_w) + " ", row_style + self._style("label") if not cursor else row_style),
                 (self._strip_text(index, strip_w), row_style + self._style("mark"))]
        if counts_w:
            parts.append((" " + f"{self._row_counts[index]:,}".rjust(counts_w), row_style + self._style("count")))
        if extras_w:
            parts.append((" " + set_cell_size(self.extras[index], extras_w), row_style + self._style("count")))
        return self._line(parts, width, row_style)

    def _axis_line(self, label_w: int, strip_w: int, counts_w: int, extras_w: int, width: int) -> Strip:
        from scantui.plots.timing import axis_labels

        style = self._style("axis")
        text = set_cell_size("UTC", label_w) + " " + axis_labels(self.grid, strip_w)
        if counts_w:
            text += " " + "pkts".rjust(counts_w)
        if extras_w:
            text += " " + set_cell_size(self.extras_header, extras_w)
        return self._line([(text, style)], width, base=style)

    def _legend_text(self, strip_w: int) -> str:
        from scantui.plots.timing import legend_text

        if not self.grid.sources:
            return ""
        self._cells(strip_w)
        other = "linear" if self.scale == "log" else "log"
        return f" {self.scale}: {legend_text(self._peak, self.scale)} packets per mark · s {other}"

    def _line(self, parts: list[tuple[str, Style]], width: int, base: Style) -> Strip:
        return Strip([Segment(text, style) for text, style in parts]).extend_cell_length(width, base).crop(0, width)

    def _status_text(self) -> str:
        if self.grid is None:
            return ""
        grid = self.grid
        bits = []  # what changes first: a narrow screen cuts the end of the line
        if self._full is not None and self._view is not None and self.zoomed:
            bits.append(f"zoom ×{(self._full[1] - self._full[0]) / max(self._view[1] - self._view[0], 1):.3g}")
        if self.binning:
            bits.append("binning…")
        if self.note:
            bits.append(self.note)
        bits += [range_text(grid.start_us, grid.end_us - 1), span_text(grid.span_us), f"{self.row_count:,} row{'' if self.row_count == 1 else 's'}"]
        return " " + " · ".join(bits)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    # ------------------------------------------------------------ zoom (re-binned in a thread)

    def _request(self, start_us: int, end_us: int) -> None:
        self._view = (start_us, end_us)
        bins = self.strip_width or DEFAULT_BINS
        if self._binner is None:
            return
        self._generation += 1
        self.binning = True
        self.refresh()
        self._rebin(self._binner, start_us, end_us, bins, self._generation)

    @work(thread=True, exclusive=True, group="timing-strips-bin", exit_on_error=False, description="timing strips bin")
    def _rebin(self, binner: Binner, start_us: int, end_us: int, bins: int, generation: int) -> None:
        try:
            grid = binner(start_us, end_us, bins)
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the old grid stays
            from scantui.tui.state import explained

            self.app.call_from_thread(self._failed, explained(exc), generation)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._binned, grid, generation)

    def _binned(self, grid: TimingGrid, generation: int) -> None:
        if generation != self._generation or self.grid is None:
            return  # a newer range (or new data) was asked for meanwhile
        self.binning = False
        if list(grid.sources) != list(self.grid.sources):  # a binner bug: keep the rows the analyst is reading
            self.refresh()
            self.notify("the re-binned plot has other rows; kept the old one", title="timing plot", severity="error",
                        markup=False)
            return
        self._install(grid)

    def _failed(self, exc: Exception, generation: int) -> None:
        from scantui.tui.state import error_text

        if generation == self._generation:
            self.binning = False
            self.refresh()
        self.notify(error_text(exc), title="timing plot", severity="error", markup=False)

    def zoom_to(self, start_us: int, end_us: int) -> None:
        """Show ``[start_us, end_us)``, kept inside the whole range and at least a second long."""
        if self._full is None:
            return
        self.scroll_visible(animate=False)
        lo, hi = self._full
        span = min(max(end_us - start_us, MIN_SPAN_US, self.strip_width or 1), hi - lo)
        start = min(max(start_us, lo), hi - span)
        if (start, start + span) != self._view:
            self._request(start, start + span)

    def action_zoom_in(self) -> None:
        if self._view is None:
            return
        if self._binner is None:
            self.notify("no packets to re-bin: zoom is off for this plot", markup=False)
            return
        start, end = self._view
        centre, quarter = (start + end) // 2, (end - start) // 4
        self.zoom_to(centre - quarter, centre + quarter)

    def action_zoom_out(self) -> None:
        if self._view is None or self._binner is None:
            return
        start, end = self._view
        centre, span = (start + end) // 2, end - start
        self.zoom_to(centre - span, centre + span)

    def action_pan(self, step: int) -> None:
        if self._view is None or self._binner is None:
            return
        start, end = self._view
        shift = (end - start) // 4 * step
        self.zoom_to(start + shift, end + shift)

    def action_toggle_scale(self) -> None:
        """Marks on a log scale (quiet members show) or a linear one (shares read as they are)."""
        self.scale = "linear" if self.scale == "log" else "log"
        self._lines.clear()
        self._lines_key = None
        self.refresh()

    def action_reset_zoom(self) -> None:
        if self._full is not None and self._binner is not None:
            self.zoom_to(*self._full)

    # ------------------------------------------------------------ the cursor

    def watch_cursor_row(self, old: int, new: int) -> None:
        super().watch_cursor_row(old, new)
        if self.is_mounted:  # the plot comes into view in its page too
            self.scroll_visible(animate=False)

    def cursor_message(self) -> TimingStrips.CursorMoved | None:
        if self.grid is None or not 0 <= self.cursor_row < self.row_count:
            return None
        return self.CursorMoved(self, self.cursor_row, int(self.grid.sources[self.cursor_row]))

    def action_step(self, rows: int) -> None:
        """Move the cursor *rows* down (negative: up)."""
        self.move_cursor(self.cursor_row + rows)

    def action_page(self, pages: int) -> None:
        self.move_cursor(self.cursor_row + pages * self.page_rows)

    def action_jump(self, end: bool) -> None:
        """To the first row, or the last when *end*."""
        self.move_cursor(self.row_count - 1 if end else 0)

    def action_select(self) -> None:
        """Enter: the source under the cursor is opened before the keys after enter are handed out (as the
        table's :meth:`~scantui.tui.widgets.table.VirtualTable.action_select`)."""
        from scantui.tui.focus import after_its_keys

        if self.grid is not None and 0 <= self.cursor_row < self.row_count:
            row, src = self.cursor_row, int(self.grid.sources[self.cursor_row])
            after_its_keys(self, lambda: self.post_message(self.RowSelected(self, row, src)))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        row = self.row_at(offset.y) if offset is not None else None
        if row is not None:
            self.move_cursor(row)
