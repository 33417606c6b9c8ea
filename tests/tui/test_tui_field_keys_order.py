"""A text field's editing keys act where they were typed among keys typed ahead (Textual #6605). Textual inserts a
printable key as the field takes it but runs a bound key (``ctrl+u``, arrows, backspace) only once it bubbled up to
the App: ``ctrl+u`` then ``port:443`` in one burst typed the query and then deleted it. :mod:`scantui.tui.focus`
hands out each key only once the one before it has reached the App. The keys are posted at once here, as a
terminal delivers them (Pilot's ``press`` waits between keys and never sees this)"""

from __future__ import annotations

import datetime as dt

from textual import events

from tuihelp import make_app, run_app, settle
from scantui.tui.screens.scanners import ScannersScreen

NAMES = {":": "colon", ".": "full_stop", "-": "minus"}
#: Keys given by name; any other part is typed, a key a character.
NAMED = {"enter", "left", "home", "end", "backspace", "ctrl+u"}


def burst(app, *parts: str) -> None:
    """Each key of *parts* posted without waiting for the one before."""
    for part in parts:
        for key in [part] if part in NAMED else [NAMES.get(c, c) for c in part]:
            character = {"enter": "\r"}.get(key) or next((c for c, n in NAMES.items() if n == key), key if len(key) == 1 else None)
            app.post_message(events.Key(key, character))


def test_editing_keys_typed_ahead_act_in_order(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ScannersScreen)
        await pilot.press("slash")
        burst(app, "port:80", "ctrl+u", "port:443", "enter")  # the filter bar: clear what was typed, type again
        await settle(app, pilot)
        assert screen.query_one("#filter").value == "port:443"
        await pilot.press("t")
        await settle(app, pilot)
        burst(app, "ctrl+u", "2024-03-02..2024-03-03", "enter")  # the time range prompt, prefilled: cleared first
        await settle(app, pilot)
        assert app.time_range == (dt.date(2024, 3, 2), dt.date(2024, 3, 3))
        await pilot.press("n")  # a source's note: its tags field, then the note's text box
        await settle(app, pilot)
        tags = app.screen.query_one("#note-tags")
        burst(app, "ab", "left", "left", "x", "end", "backspace", "y")
        await settle(app, pilot)
        assert tags.value == "xay"
        app.screen.query_one("#note-text").focus()
        await settle(app, pilot)
        burst(app, "one", "home", "x", "end", "backspace", "e")
        await settle(app, pilot)
        assert app.screen.query_one("#note-text").text == "xone"

    run_app(make_app([tiny_parquet], tui_cache), scenario)
