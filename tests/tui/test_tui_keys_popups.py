"""What a pop-up's help box and the command palette's bottom row list, and where escape goes back to.

Before: the help box of a one-field pop-up listed ``tab Next`` (nowhere else to go) and Textual's generic
``^c Copy selected text``; escape after ``2 3 2 3`` bounced between the two areas instead of walking back to the overview."""

from __future__ import annotations

from tuihelp import SAMPLE, make_app, run_app, settle
from scantui.tui.screens.help import HelpScreen
from scantui.tui.screens.prompt import PromptScreen


def test_the_help_box_of_a_one_field_pop_up_lists_what_works_there(tui_cache):
    async def scenario(app, pilot):
        app.action_open_data()
        await settle(app, pilot)
        assert isinstance(app.screen, PromptScreen)
        app.screen.set_focus(None)  # ? where no field has the focus (a field types it)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.rows == [("this pop-up", "esc", "Cancel")]

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_escape_walks_back_through_the_areas_each_once(tui_cache):
    async def scenario(app, pilot):
        for key in ("2", "3", "2", "3"):
            await pilot.press(key)
            await settle(app, pilot)
        seen = []
        for _ in range(3):
            await pilot.press("escape")
            await settle(app, pilot)
            seen.append(app.current_mode)
        assert seen == ["scanners", "overview", "overview"]

    run_app(make_app([SAMPLE], tui_cache), scenario)
