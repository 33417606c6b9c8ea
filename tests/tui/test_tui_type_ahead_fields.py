"""Keys typed ahead after enter or escape in a field, after a pop-up's escape or enter, after the keys that
moved a list's cursor, and the screen keys a user's keymap moves. The keys are posted at once, as a terminal
delivers a burst (``burst``; Pilot's ``press`` waits between keys and never sees this). Before:
``/port:443⏎?`` typed ``?`` into the query bar, ``l``, escape, ``jj`` typed ``jj`` into the closing label
dialog, ``jj⏎`` opened the first row, ``c``, escape left the scanner list, ``i``, enter, ``p`` never reached
the timing plot, and a screen key moved by the keymap left its old key doing nothing."""

from __future__ import annotations

import ipaddress

from textual.widgets import Select

from test_tui_type_ahead import burst
from tuihelp import SAMPLE, make_app, run_app, settle
from scantui.labels.store import read_snapshot
from scantui.tui.screens.candidates import CandidatesScreen
from scantui.tui.screens.column_picker import ColumnPickerScreen
from scantui.tui.screens.detail import CandidateDetailScreen, ScannerDetailScreen
from scantui.tui.screens.edit_group import EditGroupScreen
from scantui.tui.screens.help import HelpScreen
from scantui.tui.screens.label_as import LabelAsScreen
from scantui.tui.screens.labels import LabelsScreen
from scantui.tui.screens.packets import PacketsScreen
from scantui.tui.screens.scanners import ScannersScreen
from scantui.tui.screens.similar import SimilarScreen


def _labels_file(tmp_path, groups: str = " []"):
    labels = tmp_path / "labels.yaml"
    labels.write_text(f"scantui_labels: 1\ngroups:{groups}\n")
    return labels


async def _scanners(app, pilot):
    await pilot.press("2")
    await settle(app, pilot)
    assert app.screen.table.row_count >= 3


def test_keys_after_enter_in_the_query_bar_go_to_the_list(tui_cache):
    async def scenario(app, pilot):
        await _scanners(app, pilot)
        screen = app.screen
        burst(app, "/tool:zmap", "<enter>", "?", then=None)  # (not j: the filtered rows replace the list later)
        await settle(app, pilot)
        assert screen.query_one("#filter").value == "tool:zmap" and screen.query_text == "tool:zmap"  # not "tool:zmap?"
        assert isinstance(app.screen, HelpScreen) and app.screen_stack[-2] is screen

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_keys_after_escape_in_the_query_bar_go_to_the_list(tui_cache):
    async def scenario(app, pilot):
        await _scanners(app, pilot)
        screen = app.screen
        burst(app, "/tool:zm", "<escape>", "?", then=None)
        await settle(app, pilot)
        assert screen.query_one("#filter").value == "tool:zm"  # not "tool:zm?"
        assert isinstance(app.screen, HelpScreen) and app.screen_stack[-2] is screen

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_the_rows_moved_over_before_enter_are_counted(tiny_parquet, tui_cache):
    """``jj⏎``: the third row's detail (before: enter ran before the table had taken ``jj``)."""
    async def scenario(app, pilot):
        await _scanners(app, pilot)
        table = app.screen.table
        table.cursor_row = 2
        third = int(table.selected_row["src"])
        table.cursor_row = 0
        burst(app, "jj", then="enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ScannerDetailScreen) and int(app.screen.row.src) == third

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_keys_after_a_pop_ups_escape_go_to_the_screen_beneath(tiny_parquet, tui_cache, tmp_path):
    labels = _labels_file(tmp_path)

    async def scenario(app, pilot):
        await _scanners(app, pilot)
        burst(app, "l", "<escape>", "jj", then=None)
        await settle(app, pilot)
        assert len(app.screen_stack) == 1 and app.screen.table.cursor_row == 2
        assert not read_snapshot(labels).groups

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)


def test_keys_after_a_pop_ups_enter_go_to_the_screen_beneath(tiny_parquet, tui_cache, tmp_path):
    labels = _labels_file(tmp_path)

    async def scenario(app, pilot):
        await _scanners(app, pilot)
        burst(app, "l", "<tab>", " x", "<enter>", "jj", then=None)
        await settle(app, pilot)
        assert len(app.screen_stack) == 1 and app.screen.table.cursor_row == 2
        assert [g.title for g in read_snapshot(labels).groups] == ["x"]

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)


def test_escape_closes_an_open_menu_then_the_pop_up(tiny_parquet, tui_cache, tmp_path):
    labels = _labels_file(tmp_path, "\n  - {id: G1, verdict: unsure, members: [192.0.2.10]}"
                                    "\n  - {id: G2, verdict: unsure, members: [192.0.2.11]}")

    async def scenario(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        burst(app, "e", "<tab>", "<enter>", then=None)  # the verdict's menu open
        await settle(app, pilot)
        verdict = app.screen.query_one("#edit-verdict", Select)
        assert isinstance(app.screen, EditGroupScreen) and verdict.expanded
        burst(app, "<escape>", then=None)  # the menu only
        await settle(app, pilot)
        assert isinstance(app.screen, EditGroupScreen) and not verdict.expanded
        burst(app, "<escape>", "j", then=None)  # the pop-up, then the list beneath
        await settle(app, pilot)
        assert isinstance(app.screen, LabelsScreen) and app.screen.table.cursor_row == 1

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)


def test_the_column_picker_takes_the_keys_after_c(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        await _scanners(app, pilot)
        burst(app, "c", then=None)
        await settle(app, pilot)
        assert isinstance(app.screen, ColumnPickerScreen)  # the picker; the keys after c are its own
        burst(app, "<escape>", "j", then=None)
        await settle(app, pilot)
        assert isinstance(app.screen, ScannersScreen) and len(app.screen_stack) == 1
        burst(app, "c", "<escape>", "j", then=None)
        await settle(app, pilot)
        assert isinstance(app.screen, ScannersScreen) and app.screen.table.cursor_row == 2

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_tab_then_a_key_moves_the_other_list(tui_cache):
    async def scenario(app, pilot):
        await pilot.press("3")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CandidatesScreen) and app.focused is screen.groups_table
        burst(app, "<tab>", "j", then=None)
        await settle(app, pilot)
        assert app.focused is screen.candidates_table
        assert screen.candidates_table.cursor_row == 1 and screen.groups_table.cursor_row == 0

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_the_timing_plot_takes_the_keys_after_i(tui_cache):
    """``i``, enter, ``p`` on a candidate scan's detail: the first member's detail, then its packets."""
    async def scenario(app, pilot):
        await pilot.press("3", "tab", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CandidateDetailScreen)
        burst(app, "i", "<enter>", "p", then=None)
        await settle(app, pilot)
        assert [type(s) for s in app.screen_stack][-3:] == [CandidateDetailScreen, ScannerDetailScreen, PacketsScreen]

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_a_screen_key_moved_by_the_keymap_leaves_the_old_key_to_the_app(tiny_parquet, tui_cache, tmp_path):
    """The keymap moves the scanner list's ``l`` (label) to ``L``: ``L`` labels, ``l`` is the App's again (the
    labels area). Before: the App's ``l`` stayed off (the screen's own bindings read without the keymap)."""
    labels = _labels_file(tmp_path)

    async def scenario(app, pilot):
        await _scanners(app, pilot)
        app.set_keymap({"scanners.label": "L"})
        await pilot.press("L")
        await settle(app, pilot)
        assert isinstance(app.screen, LabelAsScreen)
        await pilot.press("escape", "l")
        await settle(app, pilot)
        assert app.current_mode == "labels"

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)


def test_the_key_after_enter_on_the_similar_list_goes_to_the_detail(tiny_parquet, tui_cache):
    """enter then ``p`` on the ranked similar sources: that source's detail, then its packets (before: ``p``
    reached the similar screen, which has no packets key, and the detail opened alone)."""
    async def scenario(app, pilot):
        app.open_scanner(app.state.scanners.row(int(ipaddress.IPv4Address("192.0.2.10"))))
        await settle(app, pilot)
        await pilot.press("m")
        await settle(app, pilot)
        assert isinstance(app.screen, SimilarScreen) and app.screen.result is not None
        burst(app, "<enter>", "p", then=None)
        await settle(app, pilot)
        assert [type(s) for s in app.screen_stack][-3:] == [SimilarScreen, ScannerDetailScreen, PacketsScreen]

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(160, 40))
