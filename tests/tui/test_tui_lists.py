"""Known-scanner lists in the TUI (tiny data): the scanners table's list column, the query bar's ``list:``,
the scanner detail's entries, a hostile entry name shown as data."""

from __future__ import annotations

import os
from pathlib import Path

from tuihelp import make_app, run_app, screen_strips, screen_text, settle

from scantui.enrich import lists as kl
from scantui.tui.screens.detail import ScannerDetailScreen
from scantui.tui.widgets.table import VirtualTable

HOSTILE_NAME = "[bold red]pwn\x1b[2J\x07"


def _import(text: str, name: str, category: str | None = None) -> None:
    kl.save_list(name, kl.parse_list(text, category), f"{name}.txt", category, Path(os.environ["SCANTUI_CONFIG"]).parent / "lists")


async def _filter(app, pilot, text: str) -> None:
    await pilot.press("slash")
    await pilot.pause()
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])
    await pilot.press("enter")
    await settle(app, pilot)


def test_list_column_query_and_detail(tiny_parquet, tui_cache):
    _import(f"192.0.2.0/28 # {HOSTILE_NAME}\n203.0.113.9  # rdp.example\n", "mass_scanner")
    _import("192.0.2.11\n", "benign", "benign")

    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        table = app.screen.query_one(VirtualTable)
        keys = [c.key for c in table.columns]
        assert keys.index("list") == keys.index("tool") + 1  # beside the tool
        await _filter(app, pilot, "list:mass_scanner -list:benign")
        assert table.row_count == 2
        assert sorted(table.frame["src"].to_list()) == [(192 << 24) | (2 << 8) | 10, (203 << 24) | (113 << 8) | 9]
        assert "mass_scanner" in screen_text(app)
        await pilot.press("slash", "ctrl+u", "enter")  # clear the filter
        await settle(app, pilot)
        assert table.row_count == 5
        await _filter(app, pilot, "list:benign")
        assert table.row_count == 1 and [c.key for c in table.columns] == keys
        assert "benign, mass_scanner" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ScannerDetailScreen)
        text = screen_text(app)
        assert "lists" in text and "192.0.2.0/28" in text and "benign" in text
        assert "[bold red]pwn\\x1b[2J\\x07" in text  # the entry's name, escaped, markup literal
        for strip in screen_strips(app):
            for segment in strip:
                assert "\x1b" not in segment.text and "\x07" not in segment.text

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(160, 48))


def test_no_list_no_column_until_one_is_imported(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        table = app.screen.query_one(VirtualTable)
        assert "list" not in [c.key for c in table.columns] and table.row_count == 5
        assert all(v == [] for v in table.frame["list"].to_list())
        # a list imported while the TUI runs (another terminal): the folder's look shows it, no search again
        scanners = app.state.scanners
        app.check_labels_file()  # the periodic look (the tests call it)
        _import("203.0.113.9  # rdp.example\n", "imported_meanwhile")
        app.check_labels_file()
        await settle(app, pilot)
        assert "list" in [c.key for c in table.columns] and "imported_meanwhile" in screen_text(app)
        assert app.state.scanners.frame.columns == scanners.frame.columns  # only the list column changed
        assert app.state.scanners.frame.drop("list").equals(scanners.frame.drop("list"))
        version = app.scanners_version
        app.check_labels_file()  # nothing moved since: nothing redone
        await settle(app, pilot)
        assert app.scanners_version == version
        await _filter(app, pilot, "list:imported_meanwhile")
        assert table.row_count == 1

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(160, 30))
