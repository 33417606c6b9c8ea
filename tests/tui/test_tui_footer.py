"""The footer at 80 columns, what ``?`` lists and the forms' key hints: a screen's own keys always show, the App's
that do not fit are left out whole (never a cut word such as ``2 Sca``), ``/`` shows only where it filters
something, and a hint names only keys that do something there."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from tuihelp import make_app, run_app, screen_text, settle
from scantui.tui.screens.detail import ScannerDetailScreen
from scantui.tui.screens.help import key_rows
from scantui.tui.screens.labels import LabelsScreen
from scantui.tui.widgets.footer import KeysFooter, left_out


def _footer(app) -> tuple[str, list[str]]:
    """The footer's row as drawn and the keys it composed ("key description")."""
    keys = [f"{k.key_display} {k.description}".strip() for k in app.screen.query_one(KeysFooter).query(FooterKey)]
    return screen_text(app).splitlines()[-1].rstrip(), keys


def _own_keys(screen) -> list[str]:
    """The shown keys of *screen* itself (not the App's), as the footer writes them."""
    app = screen.app
    first: dict[str, str] = {}  # one key per action, as the footer shows (zoom: + and =)
    for a in screen.active_bindings.values():
        if a.node is not app and a.binding.show:
            first.setdefault(a.binding.action, f"{app.get_key_display(a.binding)} {a.binding.description}")
    return list(first.values())


def test_the_labels_footer_keeps_its_own_keys_and_leaves_out_whole_app_keys(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        assert isinstance(app.screen, LabelsScreen)
        row, keys = _footer(app)
        assert row == " ".join(keys)  # every key composed is drawn whole: the row is not cut
        assert set(_own_keys(app.screen)) <= set(keys) and "? Keys" in keys
        assert "2 Scanners" not in keys and "Sca" not in row
        await pilot.resize_terminal(160, 48)  # room again: the App's keys come back
        await settle(app, pilot)
        row, keys = _footer(app)
        assert row == " ".join(keys) and {"1 Overview", "2 Scanners", "3 Candidates"} <= set(keys)
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        row, keys = _footer(app)
        assert row == " ".join(keys) and "3 Candidates" not in keys

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_a_detail_footer_and_help_list_slash_only_where_it_filters(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        assert ("everywhere", "/", "Filter") in key_rows(app.screen)  # the overview: / goes to the scanner list's bar
        await pilot.press("2", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ScannerDetailScreen)
        row, keys = _footer(app)
        assert row == " ".join(keys) and set(_own_keys(app.screen)) <= set(keys)
        assert "/ Filter" not in keys and not any(k == "/" for _g, k, _d in key_rows(app.screen))
        app._notifications.clear()
        await pilot.press("slash")  # still says why nothing happens
        await settle(app, pilot)
        assert any("no filter on this screen" in str(n.message) for n in app._notifications)
        await pilot.press("p")  # the packets have their own filter: listed for this screen
        await settle(app, pilot)
        assert ("this screen", "/", "Filter") in key_rows(app.screen)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_left_out_takes_app_keys_from_the_end_but_never_help():
    keys = [(7, False, "open"), (7, True, "quit"), (7, True, "help"), (9, True, "filter"), (11, True, "area")]
    assert left_out(keys, 80) == set()
    assert left_out(keys, 30) == {4}
    assert left_out(keys, 20) == {3, 4}
    assert left_out(keys, 10) == {1, 3, 4}  # the screen's key and ? stay even when the row is too narrow


def test_a_prompt_says_tab_only_with_fields_to_tab_to(tiny_parquet, tui_cache):
    """The time range prompt has one field: 'tab: next' there was a key that did nothing; the search options
    have three. (The keys are the bottom row's; the box no longer repeats them.)"""
    from scantui.tui.screens.prompt import PromptScreen

    async def scenario(app, pilot):
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, PromptScreen)
        assert _footer(app)[1] == ["⏎ Apply", "esc Cancel"] and not app.screen.query_one("#prompt-box").border_subtitle
        await pilot.press("escape", "3")
        await settle(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, PromptScreen) and len(app.screen.fields) == 3
        assert _footer(app)[1] == ["⏎ Apply", "tab Next", "esc Cancel"]

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_the_footer_under_the_help_box_names_the_keys_that_work_there(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HelpScreen"
        row = screen_text(app).splitlines()[-1]
        assert "Quit" not in row and "Keys" not in row, row  # q and ? close the help here
        assert "Close" in row, row
        await pilot.press("q")
        await settle(app, pilot)
        assert type(app.screen).__name__ != "HelpScreen" and app.is_running
        await pilot.press("question_mark")
        await settle(app, pilot)
        await pilot.press("ctrl+q")  # ctrl+q still quits over the help
        await pilot.pause()
        assert not app.is_running

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_the_footer_in_a_filter_field_says_what_enter_and_escape_do_there(tiny_parquet, tui_cache):
    """Typing in a query bar the footer said ``/ Filter`` (``/`` types a slash there) and not enter or escape."""
    from textual.widgets import Input

    async def in_filter(app, pilot, escape: str, more: tuple[str, ...] = ()) -> None:
        await pilot.press("slash")
        await settle(app, pilot)
        assert isinstance(app.focused, Input) and app.focused.id == "filter"
        row, keys = _footer(app)
        assert row.rstrip() == " ".join(keys) and keys == ["⏎ Apply", f"esc {escape}", *more], keys
        await pilot.press(*"1.2.3.0/24")  # the slash is typed, not a key
        assert app.focused.value == "1.2.3.0/24"
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.focused, Input)

    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        await in_filter(app, pilot, "Back to table")
        assert app.screen.query_one("#filter", Input).value == "1.2.3.0/24"  # escape keeps the filter here
        await pilot.press("4")
        await settle(app, pilot)
        await in_filter(app, pilot, "Back to table")
        await pilot.press("3")
        await settle(app, pilot)
        await in_filter(app, pilot, "Clear")
        assert app.screen.query_one("#filter", Input).value == ""  # escape clears the candidates' filter
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("ctrl+u", "p")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PacketsScreen"
        await in_filter(app, pilot, "Back to table", ("^s Export",))

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_every_line_of_the_help_box_can_be_scrolled_to_at_80x24(tiny_parquet, tui_cache):
    """The longest help (the candidates') is taller than the box at 24 rows: down arrows reach each of its lines,
    above the box's own footer."""
    from scantui.tui.screens.help import HelpScreen

    async def scenario(app, pilot):
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one("#help-box")
        assert box.max_scroll_y > 0 and box.region.bottom <= app.screen.query_one(KeysFooter).region.y
        seen = set()
        for _ in range(box.max_scroll_y + 1):
            seen.update(line.strip(" │") for line in screen_text(app).splitlines())
            await pilot.press("down")
            await settle(app, pilot)
        assert box.scroll_y == box.max_scroll_y
        seen.update(line.strip(" │") for line in screen_text(app).splitlines())
        text = "\n".join(seen)
        for _group, keys, description in app.screen.rows:
            assert any(keys in line and description in line for line in seen), (keys, description)
        assert "ctrl+p opens the command palette: every action, by name." in text

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_a_status_line_too_long_for_80_columns_ends_with_an_ellipsis(tiny_parquet, tui_cache):
    """The scanner list's status line was cut at a word (``... sources · sorted by packets ↓ ·``), as if nothing
    followed; the candidates' already ended with ``…``."""
    from textual.widgets import Static

    query = "port:443,80,22,23,2222,3389,8000-8040 cat:research,other,commercial"

    async def scenario(app, pilot):
        await pilot.press("2", "slash", *query, "enter")
        await settle(app, pilot)
        status = app.screen.query_one("#scanner-status", Static)
        line = screen_text(app).splitlines()[status.region.y].rstrip()
        assert "filter: " in line and query.startswith(line.split("filter: ")[-1].rstrip("…")) and line.endswith("…"), line

    run_app(make_app([tiny_parquet], tui_cache), scenario)
