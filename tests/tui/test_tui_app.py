"""Pilot tests of the App's workflows: open data, paint before the analysis, filter, sort, open,
help, palette, errors as notifications, hostile text shown literally, NO_COLOR."""

from __future__ import annotations

import asyncio
import threading

import pytest
from textual.widgets import Input

from tuihelp import HOSTILE_AS_NAME, SAMPLE, make_app, run_app, screen_strips, screen_text, settle
from scantui.tui.screens.detail import ScannerDetailScreen
from scantui.tui.screens.help import HelpScreen
from scantui.tui.screens.scanners import ScannersScreen
from scantui.tui.widgets.table import VirtualTable


async def type_filter(app, pilot, text: str) -> None:
    """``/`` (from any screen), the query, enter; then wait for the filter worker."""
    await pilot.press("slash")
    await pilot.pause()
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])
    await pilot.press("enter")
    await settle(app, pilot)


def test_opening_the_sample_shows_the_overview_and_every_scanner(sample_cache):
    async def scenario(app, pilot):
        state = app.state
        text = screen_text(app)
        assert f"{state.overview.packets:,}" in text and f"{state.overview.sources:,}" in text
        assert "2024-02-01 00:00" in text and "zmap" in text and "443" in text
        assert app.progress == 1.0 and not app.loading
        assert app.collab_count == len(state.collab.candidates)
        assert app.new_counts == (35, 12) and "35 new of 35" in text and "12 new of 12" in text  # --by all: FPP, ZMW too
        # rejecting its IPs alone (no scan recorded) leaves a group to review; with its scans it no longer waits
        import datetime as dt

        from scantui.labels.session import ScanRef

        app.change_labels(lambda session: session.reject(list(state.groups[0].member_ips)))
        await settle(app, pilot)
        assert app.new_counts[1] == 12
        scans = [ScanRef(p, dt.date.fromisoformat(d), s) for p, d, s in state.record_scans(state.groups[0])]
        app.change_labels(lambda session: session.record_scans("R01", scans))
        await settle(app, pilot)
        assert app.new_counts[1] == 11 and "11 new of 12" in screen_text(app)
        await pilot.press("2")
        await settle(app, pilot)
        table = app.screen.query_one(VirtualTable)
        assert table.row_count == state.scanners.frame.height > 1000
        assert f"{table.row_count:,} of {table.row_count:,} sources" in screen_text(app)

    run_app(make_app([SAMPLE], sample_cache), scenario)


def test_the_first_screen_paints_before_the_analysis_finishes(tiny_parquet, tui_cache, monkeypatch):
    from scantui.tui.state import DataState

    release = threading.Event()
    real = DataState.open_rollup

    def slow_rollup(self, progress=None):
        progress and progress("rolling up day=2024-03-01", 0.5)
        release.wait(10)
        return real(self, progress)

    monkeypatch.setattr(DataState, "open_rollup", slow_rollup)
    app = make_app([tiny_parquet], tui_cache)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(20):
                await pilot.pause()
                if "rolling up" in screen_text(app):
                    break
            text = screen_text(app)
            assert "packets" in text and "…" in text and "rolling up day=2024-03-01" in text
            assert app.loading and 0.4 < app.progress < 0.9
            await pilot.press("2")  # keys work while the rollup is built
            await pilot.pause()
            assert isinstance(app.screen, ScannersScreen)
            release.set()
            await settle(app, pilot)
            assert not app.loading and app.screen.query_one(VirtualTable).row_count == 5

    asyncio.run(main())


def test_filter_then_sort_then_open_then_back(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        await type_filter(app, pilot, "tool:zmap port:443")
        screen = app.screen
        table = screen.query_one(VirtualTable)
        assert table.row_count == 2 and app.focused is table
        assert "2 of 5 sources" in screen_text(app)
        await pilot.press("right", "s")  # the column right of packets: ports
        await pilot.pause()
        assert table.sort_key == "ports"
        await pilot.press("r")
        await pilot.pause()
        assert not table.descending
        ports = table.frame["ports"].to_list()
        assert ports == sorted(ports)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ScannerDetailScreen)
        assert app.screen.row.src == table.frame["src"][0]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and table.row_count == 2
        await pilot.press("enter", "2")  # the area's key from its detail: back to the list
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("ctrl+u")  # clear the filter
        await settle(app, pilot)
        assert table.row_count == 5

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_a_bad_filter_term_is_a_notification_and_the_list_stays(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        # the term arrives whole, as typed at speed: a key by key typing slowed past FILTER_DELAY (a loaded box)
        # applied its valid prefix 'foo' as you type (0 rows, 'filter: foo'), and the list stayed at that
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("#filter", Input).value = "foo:bar"
        await pilot.press("enter")
        await settle(app, pilot)
        assert any(n.severity == "error" and "unknown key 'foo'" in n.message for n in app._notifications)
        assert app.screen.query_one(VirtualTable).row_count == 5
        assert app.screen.query_text == ""
        assert app.screen.query_one("#filter", Input).has_class("-invalid")
        assert app.is_running

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_the_palette_lists_every_action_and_sorts_by_name(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        names = [name for name, _help, _cb in app.palette_commands(app.screen)]
        assert {"app: quit", "app: keys", "overview: show", "scanners: show", "scanners: filter"} <= set(names)
        assert all(": " in n for n in names)
        await pilot.press("2")
        await settle(app, pilot)
        names = [name for name, _help, _cb in app.palette_commands(app.screen)]
        from scantui.tui.columns import SCANNER_COLUMNS

        assert {f"scanners: sort by {c.header}" for c in SCANNER_COLUMNS if c.sortable} <= set(names)
        assert {"scanners: clear filter", "scanners: open selected", "scanners: reverse sort"} <= set(names)
        # through the real palette
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"sort by dsts")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.query_one(VirtualTable).sort_key == "dsts"

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_keys_help_and_areas(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Quit" in text and "Scanners" in text and "Filter" in text
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("2", "question_mark")
        await pilot.pause()
        text = screen_text(app)
        # the table's keys (in the box, below its fold at 24 rows: the footer under it no longer lists them) and
        # the query syntax
        assert {"Sort", "Open"} <= {what for group, _keys, what in app.screen.rows if group == "this screen"}
        assert "port:443" in text
        await pilot.press("escape")
        await pilot.press("3")
        await pilot.pause()
        assert app.current_mode == "candidates"
        await pilot.press("escape")  # back to the area shown before
        await pilot.pause()
        assert app.current_mode == "scanners"
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running

    run_app(make_app([tiny_parquet], tui_cache), scenario)


@pytest.mark.parametrize("content", [b"this is not a packet capture\n" * 10, b"\xd4\xc3\xb2\xa1\x02\x00"])
def test_a_bad_input_is_a_notification_and_the_app_stays_up(tmp_path, content):
    bad = tmp_path / "broken.pcap"
    bad.write_bytes(content)

    async def scenario(app, pilot):
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "broken.pcap" in errors[0].message
        assert app.is_running and not app.loading
        assert "—" in screen_text(app)
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.screen, ScannersScreen)
        assert app.failures and app.failures[0][0] in ("inputs", "rollup")

    run_app(make_app([bad], tmp_path / "cache"), scenario)


def test_a_missing_file_is_a_notification(tmp_path):
    async def scenario(app, pilot):
        assert any("no such file" in n.message for n in app._notifications)

    run_app(make_app([tmp_path / "nope.parquet"], tmp_path), scenario)


def test_a_guessed_log_year_is_a_notification(tmp_path, monkeypatch):
    """A yearless syslog LOG file read without --year: the year taken for it is notified once (as the CLI's
    stderr note, one text for both: Workspace.year_notes); with --year nothing is."""
    from scantui.io import netfilter_log
    from test_io_iptables import TCP_LINE

    monkeypatch.setattr(netfilter_log, "today", lambda: (2026, 12, 20))
    log = tmp_path / "kern.log"
    log.write_text(TCP_LINE.replace("Feb  6", "Dec 10") + "\n")
    seen = {}

    async def scenario(app, pilot):
        seen[getattr(app.state.request.opts, "year", None)] = [n for n in app._notifications if "carry no year" in n.message]

    run_app(make_app([log], tmp_path / "cache"), scenario)
    [note] = seen[None]
    assert note.title == "LOG year" and "kern.log: " in note.message and "2026 taken for its last line" in note.message
    from scantui.io.options import LoadOptions

    run_app(make_app([log], tmp_path / "cache", opts=LoadOptions(year=2025)), scenario)
    assert seen[2025] == []


def test_a_hostile_as_name_renders_literally(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        await type_filter(app, pilot, "as:64501")
        table = app.screen.query_one(VirtualTable)
        assert table.row_count == 1
        # scroll sideways until the AS name column is on screen
        for _ in range(30):
            if "as name" in screen_text(app):
                break
            await pilot.press("right")
        await pilot.pause()
        literal = HOSTILE_AS_NAME.replace("\x1b", "\\x1b")  # ESC shown as the four characters \x1b
        assert literal in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ScannerDetailScreen)
        assert literal in screen_text(app)
        for strip in screen_strips(app):
            for segment in strip:
                assert "\x1b" not in segment.text and "\x07" not in segment.text
                style = segment.style
                if "evil" in segment.text and style is not None:
                    assert not (style.bold and style.color and style.color.name == "red")

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(160, 48))


def test_no_color_is_respected(tiny_parquet, tui_cache, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario(app, pilot):
        assert app.no_color
        await pilot.press("2")
        await settle(app, pilot)
        assert "5 of 5 sources" in screen_text(app)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_ctrl_z_reaches_the_suspend_action_and_the_app_goes_on(tiny_parquet, tui_cache):
    """``ctrl+z`` is bound to the suspend (listed by ``?``; not in the compact footer); Pilot's driver cannot suspend a
    process, so the action says so and the app keeps running (a real suspend: by hand in tmux). The resume
    draws everything again."""
    async def scenario(app, pilot):
        reached: list[bool] = []
        driver = app._driver
        can = type(driver).can_suspend
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert any(n.title == "suspend" and "cannot suspend" in n.message for n in app._notifications)
        assert app.is_running and "2 Scanners" in screen_text(app)  # the app goes on
        # with a driver that can suspend, the action is Textual's (SIGTSTP), here replaced by a recorder
        type(driver).can_suspend = property(lambda self: True)
        try:
            import textual.app
            original = textual.app.App.action_suspend_process
            textual.app.App.action_suspend_process = lambda self: reached.append(True)
            try:
                await pilot.press("ctrl+z")
                await pilot.pause()
            finally:
                textual.app.App.action_suspend_process = original
        finally:
            type(driver).can_suspend = can
        assert reached == [True]
        # fg (SIGCONT): the driver posts SignalResume, Textual publishes app_resume_signal: all drawn again
        refreshed: list[dict] = []
        refresh = app.refresh
        app.refresh = lambda **kw: refreshed.append(kw) or refresh(**kw)
        app.app_resume_signal.publish(app)
        await pilot.pause()
        del app.refresh
        assert {"layout": True} in refreshed
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and ("everywhere", "^z", "Suspend") in app.screen.rows
        await pilot.press("escape", "2")
        await pilot.pause()
        assert isinstance(app.screen, ScannersScreen)

    run_app(make_app([tiny_parquet], tui_cache), scenario)
