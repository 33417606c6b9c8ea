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
from scantui.labels.store import read_snapshot
from scantui.tui.screens.candidates import CandidatesScreen
from scantui.tui.screens.detail import ScannerDetailScreen
from scantui.tui.screens.help import HelpScreen
from scantui.tui.screens.labels import LabelsScreen
from scantui.tui.screens.packets import PacketsScreen
from scantui.tui.screens.scanners import ScannersScreen

NAMES = {"/": "slash", ":": "colon", ".": "full_stop", "-": "minus", " ": "space", "?": "question_mark"}
#: The keys that open a screen, a pop-up or a field where no field has the focus: in a field, they type.
TYPED = "tTwv/lnemp1234"
CHARACTERS = {name: c for c, name in NAMES.items()} | {"enter": "\r", "tab": "\t", "escape": "\x1b"}


def burst(app, *parts: str, then: str | None = "enter") -> None:
    """*parts* (then *then*) posted to the App at once, each key without waiting for the one before: a part in
    ``<>`` is one key by name (``<tab>``, ``<escape>``), any other part its characters."""
    keys = [key for part in parts for key in ([part[1:-1]] if part[:1] == "<" and part[-1:] == ">" and len(part) > 2
                                              else [NAMES.get(c, c) for c in part])]
    for key in keys + ([then] if then else []):
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
        burst(app, TYPED + "?", then=None)  # in the query bar: typed, no prompt, no view list, no dialog, no help
        await settle(app, pilot)
        assert isinstance(app.screen, ScannersScreen) and app.screen.query_one("#filter").value == TYPED + "?"
        await pilot.press("escape", "question_mark")
        await settle(app, pilot)
        burst(app, TYPED, then=None)  # over the help box: nothing opens over it
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen) and len(app.screen_stack) == 2

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_a_pop_up_with_nothing_to_focus_takes_the_keys_itself(tui_cache):
    """Keys typed while a pop-up opens wait for it to be drawn; where nothing in it takes the focus they go to the
    pop-up itself: escape closes it (it is not kept for a field that never comes)."""
    from textual.binding import Binding
    from textual.widgets import Static

    from scantui.tui.screens.dialog import DialogScreen

    class Note(DialogScreen[None]):
        BINDINGS = [Binding("escape", "dismiss", "Close")]

        def compose(self):
            yield Static("nothing to focus here")

    closed = []

    async def scenario(app, pilot):
        app.push_screen(Note(), closed.append)
        burst(app, then="escape")  # before the pop-up is drawn: held, then handed to it
        await settle(app, pilot)
        assert not isinstance(app.screen, Note) and closed == [None] and len(app.screen_stack) == 1

    run_app(make_app([SAMPLE], tui_cache), scenario)


def _labels_file(tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text("scantui_labels: 1\ngroups: []\n")
    return labels


def _first_source(app) -> str:
    import ipaddress

    return str(ipaddress.IPv4Address(int(app.screen.table.selected_row["src"])))


@pytest.mark.parametrize("area", ["2", "3"])
def test_a_label_typed_at_once_is_saved(tiny_parquet, tui_cache, tmp_path, area):
    """``l``, tab to the title, the title and enter in one burst: the group is saved with that title (before:
    the keys reached the list, not the dialog that ``l`` opened)."""
    labels = _labels_file(tmp_path)

    async def scenario(app, pilot):
        await pilot.press(area)
        await settle(app, pilot)
        ips = ([_first_source(app)] if area == "2" else None)
        burst(app, "l", "<tab>", " scanner-x")
        await settle(app, pilot)
        assert len(app.screen_stack) == 1, "the dialog stays open: the keys did not reach it"
        (group,) = read_snapshot(labels).groups
        if ips is not None:  # the source under the cursor, the title as typed
            assert list(group.members) == ips and group.title == "scanner-x"
        else:  # the title prefilled (the AS, the /24), what was typed after it
            assert group.title.endswith(" scanner-x") and len(group.title) > len(" scanner-x")

    data = tiny_parquet if area == "2" else SAMPLE  # the tiny data has no candidates
    run_app(make_app([data], tui_cache, labels_path=labels), scenario)


def test_a_note_typed_at_once_is_saved(tiny_parquet, tui_cache, tmp_path):
    labels = _labels_file(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        ip = _first_source(app)
        burst(app, "n", "benign")
        await settle(app, pilot)
        assert isinstance(app.screen, ScannersScreen)
        assert {s.ip: s.tags for s in read_snapshot(labels).sources} == {ip: ("benign",)}

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)


def test_a_key_typed_after_enter_goes_to_the_detail(tiny_parquet, tui_cache):
    """enter on a scanner row then ``p``: the packets of that scanner, opened from its detail (before: ``p``
    reached the list, which opened the packets first, and the detail opened over them)."""
    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        ip = _first_source(app)
        burst(app, "<enter>", "p", then=None)
        await settle(app, pilot)
        assert [type(s) for s in app.screen_stack] == [ScannersScreen, ScannerDetailScreen, PacketsScreen]
        assert ip in app.screen.title

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_keys_typed_after_escape_go_to_the_list(tiny_parquet, tui_cache):
    """escape from a scanner's detail then ``/port:443⏎``: the list's filter (before: ``/`` ran on the detail,
    which has no filter, and ``p`` opened the packets)."""
    async def scenario(app, pilot):
        for key in ("2", "enter"):  # a scanner's detail, one key at a time
            await pilot.press(key)
            await settle(app, pilot)
        assert isinstance(app.screen, ScannerDetailScreen)
        burst(app, "<escape>", "/port:443")
        await settle(app, pilot)
        assert type(app.screen) is ScannersScreen and app.screen.query_one("#filter").value == "port:443"
        assert app.screen.query_text == "port:443"

    run_app(make_app([tiny_parquet], tui_cache), scenario)


@pytest.mark.parametrize(("keys", "screen_type", "query"), [
    (("3", "/"), CandidatesScreen, "port:443"),  # an area key then its filter
    (("/",), ScannersScreen, "port:443"),  # / from the overview: the scanner list's
])
def test_an_area_key_typed_ahead_takes_the_keys_after_it(tiny_parquet, tui_cache, keys, screen_type, query):
    async def scenario(app, pilot):
        burst(app, *keys, query)
        await settle(app, pilot)
        assert type(app.screen) is screen_type and app.screen.query_one("#filter").value == query

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_a_group_edited_at_once_is_saved(tiny_parquet, tui_cache, tmp_path):
    """``e`` on the labels list, the title typed on and enter in one burst: saved (before: the keys reached the
    list, not the edit form that ``e`` opened)."""
    labels = tmp_path / "labels.yaml"
    labels.write_text("scantui_labels: 1\ngroups:\n  - id: G1\n    verdict: unsure\n    title: old\n"
                      "    members: [192.0.2.10]\n")

    async def scenario(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        burst(app, "e", " new")
        await settle(app, pilot)
        assert isinstance(app.screen, LabelsScreen)
        assert [g.title for g in read_snapshot(labels).groups] == ["old new"]

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)
