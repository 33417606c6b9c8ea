"""What a pop-up says about its keys: once, on the bottom row, in the same words everywhere.

Each pop-up's box once repeated in its border subtitle the keys its bottom row lists (the column picker's was cut
at 80 columns: ``esc canc…``); a subtitle stays only where it says what the row does not (enter in a multi-line
note). Real Apps on the sample data, at 80x24 and 160x48.
"""

from __future__ import annotations

import pytest
from textual.widgets import TextArea

from tuihelp import SAMPLE, make_app, run_app, screen_text, settle


async def _press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


def _subtitles(app) -> list[str]:
    """Every border subtitle in the pop-up shown (its box's, its widgets')."""
    return [str(w.border_subtitle) for w in app.screen.query("*") if w.border_subtitle]


def _bottom_border(app) -> str:
    """The pop-up box's bottom border as drawn (where a subtitle would be)."""
    box = max((w for w in app.screen.query("*") if w.border_title), key=lambda w: w.region.area)
    x, y, width, height = box.region
    return screen_text(app).splitlines()[y + height - 1][x:x + width]


def _row(app) -> str:
    return screen_text(app).splitlines()[-1].rstrip()


async def _no_subtitle(app, pilot, screen: str, *keys: str) -> None:
    """Press *keys*: the pop-up *screen* opens, its keys on the bottom row and none in its box's border."""
    await _press(app, pilot, *keys)
    await settle(app, pilot)
    assert type(app.screen).__name__ == screen, type(app.screen).__name__
    assert _subtitles(app) == [], (screen, _subtitles(app))
    assert set(_bottom_border(app).strip()) <= set("╰─╯"), (screen, _bottom_border(app))  # a bare line
    assert "esc " in _row(app) or "/esc " in _row(app), (screen, _row(app))  # the row says the way out


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_no_pop_up_repeats_its_bottom_row_in_its_border(tui_cache, size):
    async def scenario(app, pilot):
        await _press(app, pilot, "3", "l")
        await _no_subtitle(app, pilot, "LabelAsScreen")
        await _press(app, pilot, "ctrl+u", *"G01", "enter")
        await _no_subtitle(app, pilot, "LabelAsScreen", "down", "down", "l", "tab", "tab", "tab")  # in the list
        await _press(app, pilot, "escape", "down", "down", "l", "ctrl+u", *"G02", "enter", "4")
        await _no_subtitle(app, pilot, "EditGroupScreen", "e")
        app.screen.query_one("#edit-notes").focus()  # the notes: enter starts a new line there, typing
        await settle(app, pilot)
        assert isinstance(app.focused, TextArea) and _subtitles(app) == ["enter: new line"]
        assert "^s Save" in _row(app) and "⏎" not in _row(app)
        await _no_subtitle(app, pilot, "PickGroupScreen", "escape", "m")
        await _no_subtitle(app, pilot, "RemoveMembersScreen", "escape", "d")
        await _no_subtitle(app, pilot, "ConfirmDeleteScreen", "escape", "delete")
        await _press(app, pilot, "escape", "2")
        await _no_subtitle(app, pilot, "SourceNoteScreen", "n")
        await _press(app, pilot, "tab")
        assert isinstance(app.focused, TextArea) and _subtitles(app) == ["enter: new line"]
        await _no_subtitle(app, pilot, "ColumnPickerScreen", "escape", "c")
        await _no_subtitle(app, pilot, "PromptScreen", "escape", "t")
        await _no_subtitle(app, pilot, "PromptScreen", "escape", "w")
        await _no_subtitle(app, pilot, "ViewListScreen", "escape", "v")
        await _no_subtitle(app, pilot, "FrequencyScreen", "escape", "p", "f")
        await _no_subtitle(app, pilot, "HelpScreen", "escape", "question_mark")
        await _press(app, pilot, "escape")
        app.action_native_output()
        await _no_subtitle(app, pilot, "NativeOutputScreen")

    run_app(make_app([SAMPLE], tui_cache), scenario, size=size)


def test_the_pop_ups_name_every_key_that_does_what_they_say(tui_cache):
    """Remove members: ``⏎ Tick`` though space ticks too (the column picker says ``space Show/hide``); delete:
    ``n Keep`` though escape keeps too; the help box's ``^p palette`` where every other key is capitalised."""
    from textual.widgets import SelectionList

    async def scenario(app, pilot):
        await _press(app, pilot, "3", "l", "ctrl+u", *"G01", "enter", "4", "d")
        assert _row(app) == "space/⏎ Tick tab Next esc Cancel d Remove ticked"
        ticks = app.screen.query_one(SelectionList)
        await _press(app, pilot, "space", "down", "enter")  # both keys tick, as the row says
        assert len(ticks.selected) == 2
        await _press(app, pilot, "escape", "delete")
        assert _row(app) == "⏎ Delete tab Next y Delete n/esc Keep"
        await _press(app, pilot, "escape")  # keeps it
        assert type(app.screen).__name__ == "LabelsScreen" and len(app.state.labels.store.groups) == 1
        await _press(app, pilot, "question_mark")
        assert ("everywhere", "^p", "Palette") in app.screen.rows  # the help box's rows
        assert [d for _g, _k, d in app.screen.rows if not d[:1].isupper()] == []

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_question_mark_in_a_pop_up_lists_its_keys_and_types_in_a_field(tui_cache):
    """``?`` did nothing in a pop-up (the App's ``?`` waits under a modal). Where no field has the focus it opens
    the help box of the pop-up's keys, in the pop-up's words, and its notes; ``?`` or escape goes back to the
    pop-up as it was. Where a field has the focus ``?`` is typed."""
    from textual.widgets import Input, SelectionList

    def rows(app) -> list[tuple[str, str, str]]:
        assert type(app.screen).__name__ == "HelpScreen", type(app.screen).__name__
        return app.screen.rows

    async def scenario(app, pilot):
        await _press(app, pilot, "2", "c", "space", "question_mark")  # a column hidden, then ?
        assert ("this pop-up", "⏎", "Apply") in rows(app) and ("this pop-up", "esc", "Cancel") in rows(app)
        assert ("in focus", "space", "Show/hide") in rows(app)  # its words, not Textual's "Toggle option"
        assert not [r for r in rows(app) if r[0] == "everywhere"]  # the App's keys wait here
        assert "keys: column picker" in screen_text(app)
        await _press(app, pilot, "end")  # its notes, below the keys
        assert "space shows or hides" in screen_text(app)
        await _press(app, pilot, "question_mark")  # back to the picker, the column still unticked
        assert type(app.screen).__name__ == "ColumnPickerScreen"
        shown = [k for k in app.screen.query_one(SelectionList).selected if not k.startswith("\0")]  # not pinned
        assert len(shown) == len(app.screen.items) - 1
        await _press(app, pilot, "escape", "escape", "t", "question_mark")  # a field: typed
        assert type(app.screen).__name__ == "PromptScreen" and app.screen.query_one(Input).value.endswith("?")
        await _press(app, pilot, "escape", "3", "l", "ctrl+u", *"G01", "enter", "4", "d", "question_mark")
        assert ("this pop-up", "d", "Remove ticked") in rows(app) and ("in focus", "⏎ space", "Tick") in rows(app)
        await _press(app, pilot, "escape")
        assert type(app.screen).__name__ == "RemoveMembersScreen"
        await _press(app, pilot, "escape", "delete", "question_mark")
        assert ("this pop-up", "n esc q", "Keep") in rows(app) and "n or escape keeps it" in screen_text(app)
        await _press(app, pilot, "escape")
        assert type(app.screen).__name__ == "ConfirmDeleteScreen"
        await _press(app, pilot, "escape", "e", "question_mark")  # the edit form: the title field has the focus
        assert type(app.screen).__name__ == "EditGroupScreen" and app.focused.value.endswith("?")

    run_app(make_app([SAMPLE], tui_cache), scenario)
