"""The virtual table: keys, sorting, selection, mouse, and a repaint cost independent of the row count."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import polars as pl
import pytest
from textual.app import App, ComposeResult

from scantui.tui.columns import Column, int_text
from scantui.tui.widgets.table import VirtualTable

COLUMNS = (
    Column("id", "id", 8, "right", int_text),
    Column("value", "value", 10, "right", int_text),
    Column("name", "name", 12),
    Column("extra", "extra", 30),
)


def frame(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.arange(n, dtype=np.int64)
    return pl.DataFrame({"id": ids, "value": rng.integers(0, 1_000_000, n)}).with_columns(
        pl.concat_str(pl.lit("n"), (pl.col("id") % 1000).cast(pl.String)).alias("name"),
        pl.lit("x").alias("extra"),
    )


class TableApp(App):
    def __init__(self, df: pl.DataFrame, **kwargs) -> None:
        super().__init__()
        self.df = df
        self.kwargs = kwargs
        self.selected: list[VirtualTable.RowSelected] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, self.df, **self.kwargs)

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.selected.append(event)


def run(app: TableApp, scenario, size=(60, 20)) -> None:
    async def main():
        async with app.run_test(size=size) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            await scenario(app, app.query_one(VirtualTable), pilot)

    asyncio.run(main())


def visible_text(table: VirtualTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


def repaint_seconds(table: VirtualTable, repeats: int = 5) -> float:
    """Best time to draw every visible line with a cold row cache (what scrolling to new rows costs)."""
    best = float("inf")
    for _ in range(repeats):
        table._blocks.clear()
        start = time.perf_counter()
        for y in range(table.size.height):
            table.render_line(y)
        best = min(best, time.perf_counter() - start)
    return best


def test_keys_move_the_cursor_and_enter_selects():
    async def scenario(app, table, pilot):
        table.focus()
        await pilot.press("j", "j", "down")
        assert table.cursor_row == 3
        await pilot.press("k")
        assert table.cursor_row == 2
        await pilot.press("end")
        assert table.cursor_row == 999
        assert "999" in visible_text(table)[-1]
        await pilot.press("pageup")
        assert table.cursor_row == 999 - (table.size.height - 1)
        await pilot.press("home", "enter")
        await pilot.pause()
        assert app.selected[-1].index == 0 and app.selected[-1].row["id"] == 0

    run(TableApp(frame(1000)), scenario)


def test_sort_cycles_columns_and_reverses_and_a_new_frame_keeps_the_cursor_row():
    async def scenario(app, table, pilot):
        table.focus()
        await pilot.press("down", "down")
        await pilot.press("s")  # id -> value (numbers: largest first)
        await pilot.pause()
        assert table.sort_key == "value" and table.descending
        values = table.frame["value"].to_list()
        assert values == sorted(values, reverse=True)
        assert table.cursor_row == 0  # a new order starts at its top
        await pilot.press("down", "down", "down")
        chosen = table.selected_row["id"]
        table.set_frame(table.frame.filter(pl.col("id") != table.frame["id"][0]))  # e.g. a filter drops row 0
        await pilot.pause()
        assert table.selected_row["id"] == chosen and table.cursor_row == 2  # the cursor followed its row
        await pilot.press("r")
        await pilot.pause()
        assert not table.descending and table.frame["value"].to_list() == sorted(values)[:-1]
        await pilot.press("s")  # value -> name (text: A to Z)
        await pilot.pause()
        assert table.sort_key == "name" and not table.descending
        assert "name↑" in visible_text(table)[0]

    run(TableApp(frame(1000), sort_key="id", descending=False), scenario)


def test_clicking_a_header_sorts_by_it_and_clicking_again_reverses():
    async def scenario(app, table, pilot):
        x = table._pinned_width + 3  # inside the "value" header (id is pinned, value scrolls first)
        await pilot.click(VirtualTable, offset=(x, 0))
        await pilot.pause()
        assert table.sort_key == "value" and table.descending
        await pilot.click(VirtualTable, offset=(x, 0))
        await pilot.pause()
        assert table.sort_key == "value" and not table.descending
        await pilot.click(VirtualTable, offset=(x, 3))
        assert table.cursor_row == 2

    run(TableApp(frame(200), sort_key="id", descending=False), scenario)


def test_columns_scroll_sideways_with_the_first_column_pinned():
    async def scenario(app, table, pilot):
        table.focus()
        assert "extra" not in visible_text(table)[0] or "▸" in visible_text(table)[0]
        await pilot.press("right", "right")
        header = visible_text(table)[0]
        assert header.lstrip().startswith("id") and "◂" in header and "extra" in header

    run(TableApp(frame(50)), scenario, size=(40, 10))


def test_empty_and_replaced_frames():
    async def scenario(app, table, pilot):
        assert "nothing here" in visible_text(table)[1]
        table.set_frame(frame(10))
        await pilot.pause()
        assert table.row_count == 10 and "9" in "".join(visible_text(table))

    run(TableApp(frame(0), empty_text="nothing here"), scenario)


@pytest.mark.parametrize("rows", [500_000])
def test_half_a_million_rows_scroll_with_a_constant_repaint_cost(rows):
    small = {}

    async def measure_small(app, table, pilot):
        small["t"] = repaint_seconds(table)

    run(TableApp(frame(1_000)), measure_small, size=(120, 40))

    async def scenario(app, table, pilot):
        table.focus()
        assert table.row_count == rows
        top = repaint_seconds(table)
        await pilot.press("end")
        assert table.cursor_row == rows - 1
        assert f"{rows - 1:,}" in visible_text(table)[-1]
        bottom = repaint_seconds(table)
        for _ in range(20):
            await pilot.press("pageup")
        middle = repaint_seconds(table)
        worst = max(top, bottom, middle)
        # drawing a screen does not depend on how many rows the frame has
        assert worst < 0.05, worst
        assert worst < 5 * small["t"] + 0.005, (worst, small["t"])
        # sorting 500k rows runs in a thread worker; the table shows the new order after it
        await pilot.press("s", "s")  # unsorted -> id -> value
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.sort_key == "value"
        assert table.frame["value"][0] == table.frame["value"].max()

    run(TableApp(frame(rows)), scenario, size=(120, 40))
