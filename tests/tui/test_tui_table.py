"""The virtual table: keys, sorting, selection, mouse, and a repaint cost independent of the row count."""

from __future__ import annotations

import asyncio

import numpy as np
import polars as pl
import pytest
from textual.app import App, ComposeResult

from scantui.tui.columns import Column, int_text
from scantui.tui.widgets.table import BLOCK_ROWS, VirtualTable

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
        kwargs = dict(self.kwargs)
        yield VirtualTable(kwargs.pop("columns", COLUMNS), self.df, **kwargs)

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


def repaint_work(table: VirtualTable) -> dict[str, int]:
    """What drawing every visible line with a cold row cache (what scrolling to new rows costs) asks of the frame:
    the rows fetched through ``block_rows`` and the cells formatted, counted on this table only."""
    work = {"rows": 0, "cells": 0}
    fetch, text = table.block_rows, table._text

    def counting_fetch(block):
        part = fetch(block)
        work["rows"] += 0 if part is None else part.height
        return part

    def counting_text(column, value):
        work["cells"] += 1
        return text(column, value)

    table.block_rows, table._text = counting_fetch, counting_text
    try:
        table._blocks.clear()
        for y in range(table.size.height):
            table.render_line(y)
    finally:
        del table.block_rows, table._text
    return work


def visible_blocks_work(table: VirtualTable) -> dict[str, int]:
    """The least work a repaint can do: format the blocks (``BLOCK_ROWS`` rows each) under the visible rows once,
    and the header's cells."""
    first = round(table.scroll_offset.y)
    shown = range(first, min(first + table.size.height - 1, table.row_count))
    blocks = {i // BLOCK_ROWS for i in shown}
    rows = sum(min(BLOCK_ROWS, table.row_count - b * BLOCK_ROWS) for b in blocks)
    return {"rows": rows, "cells": (rows + 1) * len(table.columns)}


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


def test_sort_by_the_current_column_reverses_and_a_new_frame_keeps_the_cursor_row():
    async def scenario(app, table, pilot):
        table.focus()
        await pilot.press("down", "down")
        assert table.current_column.key == "id"  # the sort column is the current one at first
        await pilot.press("right", "s")  # the value column (numbers: largest first)
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
        await pilot.press("right", "s")  # the name column (text: A to Z)
        await pilot.pause()
        assert table.sort_key == "name" and not table.descending
        assert "name↑" in visible_text(table)[0]
        await pilot.press("s")  # the sorted column again: reversed
        await pilot.pause()
        assert table.sort_key == "name" and table.descending
        await pilot.press("less_than_sign")  # the previous column
        await pilot.pause()
        assert table.sort_key == "value" and table.current_column.key == "value"
        await pilot.press("greater_than_sign", "greater_than_sign")
        await pilot.pause()
        assert table.sort_key == "extra" and table.current_column.key == "extra"

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
        assert "extra" not in visible_text(table)[0] and "▸" in visible_text(table)[0]
        await pilot.press("right", "right", "right")
        header = visible_text(table)[0]
        assert header.lstrip().startswith("id") and "◂" in header and "extra" in header
        assert table.current_column.key == "extra"

    run(TableApp(frame(50)), scenario, size=(44, 10))


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
        small["top"] = repaint_work(table)

    run(TableApp(frame(1_000)), measure_small, size=(120, 40))

    async def scenario(app, table, pilot):
        table.focus()
        assert table.row_count == rows
        # drawing a screen does not depend on how many rows the frame has: the same work as for 1,000 rows,
        # only the blocks under the visible rows (at most two for a 39-row screen)
        top = repaint_work(table)
        assert top == small["top"] == visible_blocks_work(table) and top["rows"] == BLOCK_ROWS
        await pilot.press("end")
        assert table.cursor_row == rows - 1
        assert f"{rows - 1:,}" in visible_text(table)[-1]
        assert repaint_work(table) == visible_blocks_work(table)
        for _ in range(20):
            await pilot.press("pageup")
        assert 0 < table.scroll_offset.y < rows - table.size.height
        middle = repaint_work(table)
        assert middle == visible_blocks_work(table) and middle["rows"] <= 2 * BLOCK_ROWS
        # sorting 500k rows runs in a thread worker; the table shows the new order after it
        await pilot.press("greater_than_sign", "greater_than_sign")  # unsorted -> id -> value
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.sort_key == "value"
        assert table.frame["value"][0] == table.frame["value"].max()

    run(TableApp(frame(rows)), scenario, size=(120, 40))


def scanner_frame(n: int = 40) -> pl.DataFrame:
    import datetime as dt

    t0 = dt.datetime(2024, 2, 5, 11, 52, tzinfo=dt.timezone.utc)
    return pl.DataFrame({
        "src": [0x0A000000 + i for i in range(n)],
        "packets": [1000 * (i + 1) for i in range(n)],
        "ports": [i % 7 for i in range(n)],
        "dsts": [i * 13 for i in range(n)],
        "first_seen": [t0 + dt.timedelta(minutes=i) for i in range(n)],
        "last_seen": [t0 + dt.timedelta(hours=i) for i in range(n)],
        "days_active": [i % 5 for i in range(n)],
        "tool": ["zmap"] * n,
        "range_class": ["focused"] * n,
        "schedule": ["periodic"] * n,
        "period_days": [(i * 7) % 11 for i in range(n)],
        "as_name": ["A VERY LONG AUTONOMOUS SYSTEM NAME THAT IS CUT"] * n,
    })


def _fields(table: VirtualTable, line: str) -> tuple[list[str], str]:
    """The scrolling columns' fields of a drawn line (whole ones), and what is left after them."""
    origin, end = table._origin, table._visible_end(table._origin)
    part = line[table._pinned_width : table._pinned_width + end - origin]
    fields, x = [], 0
    for column, start in zip(table.columns[table.pinned :], table._starts):
        if origin <= start < end:
            fields.append(part[x : x + column.width])
            x += column.width + 1
    return fields, line[table._pinned_width + end - origin :]


def test_at_80_columns_values_are_never_cut_mid_field_and_s_sorts_the_column_under_the_cursor():
    """At 80x24 `s` sorted by columns off screen ("sorted by period ↓") and timestamps were cut ("11:5")."""
    from scantui.tui.columns import scanner_columns

    df = scanner_frame()
    columns = scanner_columns(df.columns)

    async def scenario(app, table, pilot):
        table.focus()
        seen_keys = set()
        for _ in range(len(columns)):
            visible = [c for i, c in enumerate(columns) if i >= table.pinned and table._is_visible(i)]
            seen_keys |= {c.key for c in visible}
            assert table.current_column in visible or table.cursor_column < table.pinned
            lines = visible_text(table)
            for y, line in enumerate(lines[1:], start=0):
                fields, rest = _fields(table, line)
                row = table.frame.row(round(table.scroll_offset.y) + y, named=True)
                cells = [c.cell(row[c.key]) for c in visible]
                assert [f.strip() for f in fields] == [c.strip() for c in cells]  # whole values, no "11:5"
                assert not rest.strip(), rest  # nothing after the last whole column
            header_fields, rest = _fields(table, lines[0])
            assert [f.strip().rstrip("↓↑") for f in header_fields] == [c.header for c in visible]
            assert rest.strip() in ("", "▸")
            await pilot.press("right")
        assert seen_keys == {c.key for c in columns[table.pinned :]}  # every column could be reached
        # back to the period column: s sorts by it, and it is on screen with its arrow
        while table.current_column.key != "period_days":
            await pilot.press("left")
        await pilot.press("s")
        await pilot.pause()
        assert table.sort_key == "period_days" and table._is_visible(table.cursor_column)
        assert "perio↓" in visible_text(table)[0]  # the header makes room for the arrow
        # a sort chosen elsewhere (the palette, a click) scrolls to its column too
        table.sort_by("src")
        table.sort_by("last_seen")
        await pilot.pause()
        assert table.current_column.key == "last_seen" and table._is_visible(table.cursor_column)
        assert "last seen" in visible_text(table)[0]

    run(TableApp(df, columns=columns, sort_key="packets"), scenario, size=(80, 24))


def test_the_column_cursor_is_drawn_only_with_the_focus():
    async def scenario(app, table, pilot):
        current = table.get_component_rich_style("virtual-table--header-current")
        assert current.reverse
        table.focus()
        await pilot.press("right")
        await pilot.pause()
        header = table.render_line(0)
        styled = [seg for seg in header if seg.style and seg.style.reverse]
        assert styled and styled[0].text.strip() == "value"
        table.blur()
        await pilot.pause()
        assert not [seg for seg in table.render_line(0) if seg.style and seg.style.reverse]

    run(TableApp(frame(10)), scenario)


def test_the_also_as_column_shows_only_keys_the_row_does_not_already_show():
    """The "also as" column repeated the AS column (key 80.82.77.0/24, AS AS202425, also as AS202425)."""
    from scantui.tui.columns import other_keys
    from scantui.tui.screens.candidates_frames import candidate_frame

    from collabbuild import candidate

    records = [
        candidate(key_text="80.82.77.0/24", asn=202425, also_keys=("AS202425",)),
        candidate(key_text="AS6939", asn=6939, also_keys=("192.0.2.0/24", "AS6939")),
        candidate(key_text="198.51.100.0/24", asn=None, also_keys=("AS1", "AS2")),
    ]
    frame = candidate_frame(records, lambda _ips: ("new", []))
    assert frame["also_keys"].to_list() == [None, "192.0.2.0/24", "AS1,AS2"]
    assert other_keys(None) is None and other_keys(["AS1"], "AS2") == "AS1"


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "nord", "gruvbox"])
def test_in_16_colours_the_blurred_cursor_row_does_not_look_like_the_header(theme):
    """In 16 colours the unfocused cursor row had the header's background (both tints became grey 8)."""
    from rich.color import ColorSystem

    def shown(style):
        """(foreground, background) as a 16-colour terminal draws them (reverse swaps them)."""
        fg, bg = (c.downgrade(ColorSystem.STANDARD).number if c else None for c in (style.color, style.bgcolor))
        return (bg, fg) if style.reverse else (fg, bg)

    async def scenario(app, table, pilot):
        app.theme = theme
        table.blur()
        await pilot.pause()
        assert table.has_class("-16-colours")
        base = table.rich_style
        header = shown(base + table.get_component_rich_style("virtual-table--header"))
        cursor = shown(base + table.get_component_rich_style("virtual-table--cursor"))
        row = shown(base)
        assert cursor[1] != header[1] and cursor != row
        table.focus()
        await pilot.pause()
        focused = shown(base + table.get_component_rich_style("virtual-table--cursor"))
        assert focused != row and focused != cursor

    app = TableApp(frame(10))
    app.console._color_system = ColorSystem.STANDARD  # what Rich picks for TERM=xterm without COLORTERM
    run(app, scenario)
