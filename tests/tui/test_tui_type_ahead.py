"""Keys typed ahead reach the widget the user meant: a burst of keys (a fluent typist, typing over SSH) is
handed out one key at a time as the App takes them from its queue, so the key that moves the focus must take
effect before the next key is handed out (:mod:`scantui.tui.focus`). Pilot's ``press`` waits for the App to
be idle between keys and never sees this; here the keys are posted at once, as a terminal delivers a burst.
Before: ``/port:443⏎`` on the scanner list opened the packets screen (``p`` reached the table) and
``t2024-02-05..2024-02-06⏎`` cleared the time range (the prompt opened empty)."""

from __future__ import annotations

import datetime as dt

import pytest
from textual import events

from tuihelp import SAMPLE, make_app, run_app, settle
from scantui.tui.screens.candidates import CandidatesScreen
from scantui.tui.screens.help import HelpScreen
from scantui.tui.screens.labels import LabelsScreen
from scantui.tui.screens.scanners import ScannersScreen

NAMES = {"/": "slash", ":": "colon", ".": "full_stop", "-": "minus", " ": "space"}
CHARACTERS = {name: c for c, name in NAMES.items()} | {"enter": "\r"}


def burst(app, text: str, *, then: str | None = "enter") -> None:
    """*text* (then *then*) posted to the App at once, each key without waiting for the one before."""
    keys = [NAMES.get(c, c) for c in text] + ([then] if then else [])
    for key in keys:
        app.post_message(events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None)))


@pytest.mark.parametrize(("area", "screen_type", "query"), [
    ("2", ScannersScreen, "port:443"),
    ("2", ScannersScreen, "1.2.3.0/24"),  # a slash in the query types a slash
    ("3", CandidatesScreen, "port:3306"),
    ("4", LabelsScreen, "xyz"),
])
def test_a_filter_typed_at_once_is_the_filter(tui_cache, area, screen_type, query):
    async def scenario(app, pilot):
        await pilot.press(area)
        await settle(app, pilot)
        burst(app, "/" + query)
        await settle(app, pilot)
        assert type(app.screen) is screen_type  # not the packets screen of the first row
        assert app.screen.query_one("#filter").value == query
        assert app.focused is not app.screen.query_one("#filter")  # enter applied it and went back to the list

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_a_time_range_typed_at_once_is_set(tui_cache):
    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        burst(app, "t2024-02-05..2024-02-06")
        await settle(app, pilot)
        assert app.time_range == (dt.date(2024, 2, 5), dt.date(2024, 2, 6)) and len(app.screen_stack) == 1

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_the_keys_that_open_a_field_type_in_a_field_and_wait_over_a_pop_up(tui_cache):
    async def scenario(app, pilot):
        await pilot.press("2", "slash")
        await settle(app, pilot)
        burst(app, "tTwv/", then=None)  # in the query bar: typed, no prompt, no view list
        await settle(app, pilot)
        assert isinstance(app.screen, ScannersScreen) and app.screen.query_one("#filter").value == "tTwv/"
        await pilot.press("escape", "question_mark")
        await settle(app, pilot)
        burst(app, "t/", then=None)  # over the help box: nothing opens over it
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen) and len(app.screen_stack) == 2

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_a_pop_up_with_nothing_to_focus_keeps_no_keys():
    """The keys a pop-up keeps for its field wait no longer than :data:`UNFOCUSED_AFTER` where nothing in it
    takes the focus: escape (kept, then handed to the pop-up itself) closes it, and so does a later escape."""
    import asyncio

    from textual.app import App
    from textual.binding import Binding
    from textual.widgets import Static

    from scantui.tui.screens.dialog import UNFOCUSED_AFTER, DialogScreen

    class Note(DialogScreen[None]):
        BINDINGS = [Binding("escape", "dismiss", "Close")]

        def compose(self):
            yield Static("nothing to focus here")

    closed = []

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(Note(), closed.append)

    async def main() -> None:
        app = Host()
        async with app.run_test() as pilot:
            await pilot.pause()
            app.post_message(events.Key("escape", None))  # before anything could take the focus: kept
            await pilot.pause()
            assert isinstance(app.screen, Note) and not closed
            await asyncio.sleep(UNFOCUSED_AFTER + 0.3)
            await pilot.pause()
            assert not isinstance(app.screen, Note) and closed == [None]  # the kept escape closed it
            app.push_screen(Note(), closed.append)
            await asyncio.sleep(UNFOCUSED_AFTER + 0.3)
            await pilot.press("escape")
            assert not isinstance(app.screen, Note) and closed == [None, None]

    asyncio.run(main())
