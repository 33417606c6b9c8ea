"""The public row-cursor API of the table and the timing plot: a reactive ``cursor_row`` and a posted
``CursorMoved`` on every kind of move, and subclasses that use it instead of private methods."""

from __future__ import annotations

import asyncio
import inspect

import numpy as np
import polars as pl
from textual.app import App, ComposeResult

from test_tui_table import COLUMNS, frame
from scantui.plots.timing import timing_grid
from scantui.tui.screens import candidates_table, labels_table
from scantui.tui.widgets.row_cursor import RowCursorView
from scantui.tui.widgets.table import VirtualTable
from scantui.tui.widgets.timing import TimingStrips


class CursorApp(App):
    """A table (or a timing plot) and the cursor messages it posted, as (index, key, row id)."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget
        self.moves: list[tuple[int, object, object]] = []

    def compose(self) -> ComposeResult:
        yield self.widget

    def on_virtual_table_cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        assert event.control is self.widget
        self.moves.append((event.index, event.key, event.row["id"] if event.row is not None else None))

    def on_timing_strips_cursor_moved(self, event: TimingStrips.CursorMoved) -> None:
        assert event.control is self.widget
        self.moves.append((event.index, event.key, None))


def run(widget, scenario, size=(60, 20)) -> None:
    async def main():
        app = CursorApp(widget)
        async with app.run_test(size=size) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            await scenario(app, widget, pilot)

    asyncio.run(main())


def test_the_table_posts_cursor_moved_with_the_row_on_every_kind_of_move():
    async def scenario(app, table, pilot):
        assert app.moves == [(0, 0, 0)]  # the first frame shown: the cursor is on row 0
        page = table.page_rows
        assert page == table.scrollable_content_region.height - 1 > 1

        async def moved(*keys: str) -> list[tuple[int, object, object]]:
            app.moves.clear()
            if keys:
                await pilot.press(*keys)
            await pilot.pause()
            return list(app.moves)

        # rows sorted by id ascending: row i holds id i, and its key (the first column) is i
        assert await moved("down") == [(1, 1, 1)]
        assert await moved("j", "j") == [(2, 2, 2), (3, 3, 3)]
        assert await moved("up", "k") == [(2, 2, 2), (1, 1, 1)]
        assert await moved("pagedown") == [(1 + page, 1 + page, 1 + page)]
        assert await moved("pageup") == [(1, 1, 1)]
        assert await moved("end") == [(999, 999, 999)]
        assert await moved("down") == []  # already on the last row: no move, no message
        assert await moved("home") == [(0, 0, 0)]
        assert await moved("up") == []
        assert await moved("G", "g") == [(999, 999, 999), (0, 0, 0)]
        assert table.scroll_offset.y == 0

        app.moves.clear()
        await pilot.click(VirtualTable, offset=(5, 4))  # header on line 0: line 4 is row 3
        await pilot.pause()
        assert app.moves == [(3, 3, 3)] and table.cursor_row == 3

        assert await moved() == []
        table.cursor_row = 500  # programmatic: the same message, and the cursor scrolls into view
        assert await moved() == [(500, 500, 500)]
        top = round(table.scroll_offset.y)
        assert top <= 500 < top + page and "500" in table.render_line(500 - top + 1).text
        table.move_cursor(5000)  # clamped to the last row
        assert await moved() == [(999, 999, 999)] and table.cursor_row == 999
        table.cursor_row = -3
        assert await moved() == [(0, 0, 0)] and table.cursor_row == 0

        # a new order or a new frame: the row under the cursor may be another one, so it is said
        await pilot.press("down", "down")
        await pilot.pause()
        app.moves.clear()
        table.sort_by("id", descending=True)
        assert await moved() == [(0, 999, 999)]  # a new sort starts at its top
        table.set_frame(frame(1000).filter(pl.col("id") != 999))
        assert await moved() == [(0, 998, 998)]

    run(VirtualTable(COLUMNS, frame(1000), sort_key="id", descending=False), scenario)


def test_an_empty_table_says_its_cursor_is_on_no_row():
    async def scenario(app, table, pilot):
        assert app.moves == [(0, None, None)]
        table.cursor_row = 4
        await pilot.pause()
        assert table.cursor_row == 0 and app.moves == [(0, None, None)]

    run(VirtualTable(COLUMNS, frame(0), sort_key="id"), scenario)


def test_the_timing_plot_posts_cursor_moved_with_the_source():
    ts = np.repeat(np.int64(1_700_000_000_000_000) + np.arange(40, dtype=np.int64) * 1_000_000, 5)
    src = np.tile(np.arange(5, dtype=np.int64) + 0x0A000001, 40)
    packets = pl.DataFrame({"ts": ts, "src": src}, schema={"ts": pl.Int64, "src": pl.UInt32}).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC")))
    grid = timing_grid(packets, bins=40)

    async def scenario(app, strips, pilot):
        strips.show(grid)
        strips.focus()
        await pilot.pause()
        sources = [int(s) for s in grid.sources]
        assert app.moves == []  # a new grid puts the cursor on row 0 quietly
        await pilot.press("down", "end", "up", "home", "pagedown")
        await pilot.pause()
        last = len(sources) - 1
        assert app.moves == [(1, sources[1], None), (last, sources[last], None), (last - 1, sources[last - 1], None),
                             (0, sources[0], None), (last, sources[last], None)]
        app.moves.clear()
        await pilot.click(TimingStrips, offset=(2, strips.HEADER_LINES + 2))
        strips.cursor_row = 1
        await pilot.pause()
        assert app.moves == [(2, sources[2], None), (1, sources[1], None)]

    run(TimingStrips(), scenario, size=(70, 16))


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_no_subclass_of_the_table_overrides_a_private_method():
    subclasses = [c for c in _subclasses(VirtualTable) if c.__module__.startswith("scantui.")]
    # the screens imported above define these subclasses
    assert {(c.__module__, c.__name__) for c in subclasses} >= {
        (candidates_table.__name__, "ReviewTable"), (labels_table.__name__, "GroupTable")}
    for cls in subclasses:
        for name, member in vars(cls).items():
            method = inspect.isfunction(member) or isinstance(member, (property, staticmethod, classmethod))
            if method and name.startswith("_") and not name.endswith("__"):
                assert not hasattr(VirtualTable, name), f"{cls.__qualname__} overrides VirtualTable.{name}"


def test_the_table_and_the_timing_plot_share_one_cursor():
    for cls in (VirtualTable, TimingStrips):
        assert issubclass(cls, RowCursorView)
        for name in ("cursor_row", "move_cursor", "scroll_to_cursor", "validate_cursor_row", "page_rows", "row_at"):
            assert name not in vars(cls), f"{cls.__name__} has its own {name}"
        assert inspect.getattr_static(cls, "cursor_row") is RowCursorView.cursor_row
