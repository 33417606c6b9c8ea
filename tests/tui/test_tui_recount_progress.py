"""A time range's recount of the scanner list (minutes at a year, one source range after another) says how far it is,
and one no longer asked for (another range set meanwhile) stops at its next source range: a real App with Pilot on the
tiny data, the source ranges made small so that its five sources are counted in several."""

from __future__ import annotations

import datetime as dt
import threading
import time

from tuihelp import make_app, run_app, screen_text, settle, until_said
from scantui.analysis import scanner_rows, scanners
from test_tui_time_range import press, probes_per_source, shown_scanners
from scantui.tui.screens.overview import OverviewScreen

D = dt.date


def test_a_recount_says_its_source_range_and_another_range_stops_it(tiny_parquet, tui_cache, monkeypatch):
    monkeypatch.setattr(scanners, "ROW_PACKETS_PER_RANGE", 1)  # a source range per source
    gate, held = threading.Event(), threading.Event()
    hold_at = (D(2024, 3, 2), D(2024, 3, 3))
    calls: dict[tuple, int] = {}
    real = scanner_rows._from_rows

    def counted(port_day, q, *rest):
        days = (q.since, q.until)
        calls[days] = calls.get(days, 0) + 1
        if days == hold_at and calls[days] == 2:  # that range's second source range
            held.set()
            assert gate.wait(30)
        return real(port_day, q, *rest)

    monkeypatch.setattr(scanner_rows, "_from_rows", counted)

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        screen = app.screen
        first_ended = threading.Event()
        real_in = app.state.scanners_in

        def scanners_in(days, *rest):
            try:
                return real_in(days, *rest)
            finally:
                if days == (D(2024, 3, 2), D(2024, 3, 3)):
                    first_ended.set()

        monkeypatch.setattr(app.state, "scanners_in", scanners_in)
        await pilot.press("t", "ctrl+u", *"2024-03-02..2024-03-03", "enter")
        text = await until_said(app, pilot, "(source range 2 of")
        assert "counting the list for days 2024-03-02..2024-03-03… (source range 2 of 4) shown: 5 of 5 sources" in text
        assert held.is_set()
        # another range while the first is held at its second source range (t goes at once: the keys that ask for
        # other rows do not wait for the rows on their way): the first stops at its third
        await pilot.press("t", "ctrl+u", *"2024-03-01..2024-03-02", "enter")
        for _ in range(250):  # set while the first count is still held (not after its rows, up to 30 s later)
            if app.time_range == (D(2024, 3, 1), D(2024, 3, 2)):
                break
            await pilot.pause(0.02)
        assert app.time_range == (D(2024, 3, 1), D(2024, 3, 2)) and not gate.is_set()
        gate.set()
        await settle(app, pilot)
        assert first_ended.wait(20)  # (its thread ends on its own: a thread worker cannot be stopped from outside)
        assert calls[(D(2024, 3, 2), D(2024, 3, 3))] == 2  # not its four source ranges (a source a range)
        assert calls[(D(2024, 3, 1), D(2024, 3, 2))] >= 2
        text = screen_text(app)
        assert "counting" not in text and "source range" not in text
        assert "days 2024-03-01..2024-03-02" in text
        assert shown_scanners(screen) == probes_per_source(D(2024, 3, 1), D(2024, 3, 2))
        assert not [n for n in app._notifications if n.severity == "error"]  # a stopped count is no error
        # the stopped range asked for again: counted anew, whole
        await pilot.press("t", "ctrl+u", *"2024-03-02..2024-03-03", "enter")
        await settle(app, pilot)
        assert shown_scanners(screen) == probes_per_source(D(2024, 3, 2), D(2024, 3, 3))
        assert calls[(D(2024, 3, 2), D(2024, 3, 3))] == 2 + 4
        # the labels file changed (a teammate's save) while a range is counted: the count goes on, not started again
        nonlocal hold_at
        hold_at, third = (D(2024, 3, 3), D(2024, 3, 4)), (D(2024, 3, 3), D(2024, 3, 4))
        gate.clear()
        held.clear()
        app.time_range = third
        text = await until_said(app, pilot, "(source range 2 of")
        ranges = int(text.split("(source range 2 of ", 1)[1].split(")", 1)[0])
        app.labels_version += 1
        await pilot.pause(0.3)
        # another area and back while it counts: at once (not after its rows, up to 30 s), the count going on
        await pilot.press("1")
        for _ in range(100):
            if isinstance(app.screen, OverviewScreen):
                break
            await pilot.pause(0.02)
        assert isinstance(app.screen, OverviewScreen) and not gate.is_set()
        await pilot.press("2")
        text = await until_said(app, pilot, "(source range 2 of")
        assert app.screen is screen and not gate.is_set()
        gate.set()
        await settle(app, pilot)
        assert calls[third] == ranges and ranges >= 2
        assert shown_scanners(screen) == probes_per_source(*third)

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(200, 30))


def test_q_during_a_recount_quits_at_once_and_stops_the_count(tiny_parquet, tui_cache, monkeypatch):
    """``q`` typed at the list while its rows are on their way quits then (it waited for the rows: up to 30 s), and
    the count stops at its next source range (the screen cancels its task as it goes)."""
    monkeypatch.setattr(scanners, "ROW_PACKETS_PER_RANGE", 1)
    gate, calls, ended = threading.Event(), [], threading.Event()
    real = scanner_rows._from_rows
    span = (D(2024, 3, 2), D(2024, 3, 3))

    def counted(port_day, q, *rest):
        if (q.since, q.until) == span:
            calls.append(1)
            if len(calls) == 2:
                assert gate.wait(30)
        return real(port_day, q, *rest)

    monkeypatch.setattr(scanner_rows, "_from_rows", counted)
    quit_at: list[float] = []

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        real_in = app.state.scanners_in

        def scanners_in(days, *rest):
            try:
                return real_in(days, *rest)
            finally:
                if days == span:
                    ended.set()

        monkeypatch.setattr(app.state, "scanners_in", scanners_in)
        await pilot.press("t", "ctrl+u", *"2024-03-02..2024-03-03", "enter")
        await until_said(app, pilot, "(source range 2 of")
        started = time.monotonic()
        await pilot.press("q")
        for _ in range(250):
            if app._exit:
                break
            await pilot.pause(0.02)
        quit_at.append(time.monotonic() - started)
        gate.set()

    try:
        run_app(make_app([tiny_parquet], tui_cache), scenario, size=(200, 30))
    finally:
        gate.set()
    assert quit_at and quit_at[0] < 5  # not the 30 s the keys wait for rows
    assert ended.wait(20) and len(calls) == 2  # the count stopped at its third source range
