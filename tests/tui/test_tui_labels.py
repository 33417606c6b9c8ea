"""Pilot tests of the labels area on the sample data: the group list, every labelling change saved to
the file at once (comments kept, undo, another analyst's concurrent edit merged), the tracking view
(the ``track`` figures), hostile text shown literally, a broken labels file; and snapshots."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, TextArea

from test_tui_snapshots import SIZES
from tuihelp import SAMPLE, make_app, run_app, screen_strips, screen_text, settle, snapshot_ready
from scantui.analysis.tracking import track_group
from scantui.labels.store import LabelsStore
from scantui.tui.screens.edit_group import ConfirmDeleteScreen, EditGroupScreen, PickGroupScreen, RemoveMembersScreen
from scantui.tui.screens.labels import LabelsScreen
from scantui.tui.screens.track import TrackScreen
from scantui.tui.widgets.figures import FigurePanel

COMMENT = "# shared by the team: keep this comment"
LABELS = f"""scantui_labels: 1
{COMMENT}
groups:
  - id: STS
    title: SecurityTrails
    verdict: collaborative
    category: commercial
    members: [80.82.77.128/29, 80.82.77.136, 80.82.77.137, 80.82.77.138]
    ports: [3306, 9000, 27017]
    scans:
      - {{port: 3306, day: 2024-02-05, sources: [80.82.77.130, 80.82.77.131]}}
    notes: |
      nine sources, equal split
    created: 2026-11-21T10:00:00Z
    updated: 2026-11-21T10:05:00Z
  - id: AK01
    title: AKAMAI-01
    verdict: unsure
    members: [45.79.128.33, 45.79.128.71, 139.162.99.12]  # two of the pool
    created: 2026-11-21T10:00:00Z
    updated: 2026-11-21T10:05:00Z
"""
STS_MEMBERS = ("80.82.77.128/29", "80.82.77.136", "80.82.77.137", "80.82.77.138")


@pytest.fixture
def labels(tmp_path) -> Path:
    path = tmp_path / "labels.yaml"
    path.write_text(LABELS)
    return path


def on_disk(path: Path) -> dict:
    """The groups in the file, by id."""
    return {g.id: g for g in LabelsStore.load(path).groups}


async def press(app, pilot, *keys: str) -> None:
    """Press *keys*, waiting for the workers (a save, the tracking) after each."""
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


async def select(app, pilot, group_id: str) -> None:
    """Put the list's cursor on *group_id*."""
    screen = app.screen
    assert isinstance(screen, LabelsScreen)
    await press(app, pilot, "home")
    for _ in range(screen.table.row_count):
        if screen.selected is not None and screen.selected.id == group_id:
            return
        await press(app, pilot, "down")
    raise AssertionError(f"{group_id} is not in the list")


async def labels_screen(app, pilot) -> LabelsScreen:
    await press(app, pilot, "4")
    assert isinstance(app.screen, LabelsScreen)
    return app.screen


def test_every_change_is_saved_at_once_and_undone(labels, tui_cache):
    async def scenario(app, pilot):
        screen = await labels_screen(app, pilot)
        text = screen_text(app)
        assert "2 groups" in text and "SecurityTrails" in text and "AKAMAI-01" in text
        await select(app, pilot, "STS")
        assert "80.82.77.128/29" in screen_text(app) and "nine sources" in screen_text(app)  # the details
        await press(app, pilot, "tab", "end")  # the details scroll from the keyboard
        assert "2024-02-05" in screen_text(app)  # the scan that supports it
        await press(app, pilot, "shift+tab")
        assert app.focused is screen.table

        # edit title, tags and notes through the form: saved at once, the comment kept
        before = on_disk(labels)
        await press(app, pilot, "e")
        form = app.screen
        assert isinstance(form, EditGroupScreen)
        form.query_one("#edit-title", Input).value = "STS scanners"
        form.query_one("#edit-notes", TextArea).text = "nine sources\nequal split\n"
        form.query_one("#edit-tags", Input).focus()
        await press(app, pilot, *"hosting", "space", *"cdn", "enter")
        assert app.screen is screen
        sts = on_disk(labels)["STS"]
        assert (sts.title, sts.tags, sts.notes) == ("STS scanners", ("hosting", "cdn"), "nine sources\nequal split")
        assert sts.members == STS_MEMBERS and COMMENT in labels.read_text() and "# two of the pool" in labels.read_text()
        assert "STS scanners" in screen_text(app)
        await press(app, pilot, "u")
        assert on_disk(labels) == before and COMMENT in labels.read_text()

        # in the notes enter starts a new line (the box says so); the bottom row names ctrl+s, which saves
        await press(app, pilot, "e")
        form = app.screen
        assert "⏎ Save" in screen_text(app).splitlines()[-1] and form.query_one("#edit-box").border_subtitle == ""
        form.query_one("#edit-notes", TextArea).focus()
        await settle(app, pilot)
        assert "^s Save" in screen_text(app).splitlines()[-1] and "⏎ Save" not in screen_text(app).splitlines()[-1]
        assert form.query_one("#edit-box").border_subtitle == "enter: new line"
        await press(app, pilot, "end", "enter", *"more", "ctrl+s")
        assert app.screen is screen and on_disk(labels)["STS"].notes.endswith("\nmore")
        await press(app, pilot, "u")
        assert on_disk(labels) == before

        # a bad CIDR in the members: an error in the form, the file untouched
        saved = labels.read_bytes()
        await press(app, pilot, "e")
        app.screen.query_one("#edit-members", Input).value = "80.82.77.130/29 80.82.77.136"
        app.screen.query_one("#edit-members", Input).focus()
        await press(app, pilot, "enter")
        assert isinstance(app.screen, EditGroupScreen)
        assert "host bits set in '80.82.77.130/29' (did you mean 80.82.77.128/29?)" in screen_text(app)
        await press(app, pilot, "escape")
        assert app.screen is screen and labels.read_bytes() == saved

        # verdicts: n, x, a; undo puts the last one back
        for key, verdict in (("n", "unsure"), ("x", "not_collaborative"), ("a", "collaborative")):
            await press(app, pilot, key)
            assert on_disk(labels)["STS"].verdict == verdict
        await press(app, pilot, "u")
        assert on_disk(labels)["STS"].verdict == "not_collaborative"

        # another analyst changes the file meanwhile: their edit is merged into our next save
        other = LabelsStore.load(labels)
        other.update("AK01", notes="seen by bob")
        other.save()
        await press(app, pilot, "a")
        disk = on_disk(labels)
        assert disk["STS"].verdict == "collaborative" and disk["AK01"].notes == "seen by bob"
        # ... and when both changed the same field, theirs is kept and the analyst is told
        other = LabelsStore.load(labels)
        other.set_verdict("STS", "unsure")
        other.save()
        await press(app, pilot, "x")
        assert on_disk(labels)["STS"].verdict == "unsure"
        assert any(n.severity == "warning" and "STS: verdict" in n.message for n in app._notifications)
        assert screen.selected.verdict == "unsure"

        # merge AK01 into STS: one group on disk; undo brings both back
        before = on_disk(labels)
        await press(app, pilot, "m")
        assert isinstance(app.screen, PickGroupScreen)
        picks = app.screen.query_one(OptionList)
        assert picks.option_count == 1 and picks.get_option_at_index(0).id == "AK01"
        await press(app, pilot, "enter")
        disk = on_disk(labels)
        assert list(disk) == ["STS"] and set(before["AK01"].members) <= set(disk["STS"].members)
        assert "1 group ·" in screen_text(app)
        await press(app, pilot, "u")
        assert on_disk(labels) == before

        # remove a member (tick the last, d)
        await select(app, pilot, "STS")
        await press(app, pilot, "d")
        assert isinstance(app.screen, RemoveMembersScreen)
        await press(app, pilot, "end", "space", "d")
        assert on_disk(labels)["STS"].members == STS_MEMBERS[:-1]
        await press(app, pilot, "u")
        assert on_disk(labels) == before

        # delete, after a confirmation; escape keeps it
        await press(app, pilot, "delete")
        assert isinstance(app.screen, ConfirmDeleteScreen)
        assert screen_text(app).splitlines()[-1].startswith("⏎ Delete tab Next y Delete n/esc Keep")  # its keys
        await press(app, pilot, "escape")
        assert on_disk(labels) == before
        await press(app, pilot, "delete", "y")
        assert list(on_disk(labels)) == ["AK01"] and screen.table.frame["id"].to_list() == ["AK01"]
        await press(app, pilot, "u")
        assert on_disk(labels) == before and COMMENT in labels.read_text()

        # the filter: words or an IP
        await press(app, pilot, "slash", *"80.82.77.131", "enter")
        assert screen.table.row_count == 1 and screen.selected.id == "STS"
        await press(app, pilot, "ctrl+u")
        assert screen.table.row_count == 2

        # the palette lists the screen's actions
        names = {name for name, _help, _cb in app.palette_commands(screen)}
        assert {"labels: edit selected", "labels: merge into selected", "labels: delete selected",
                "labels: remove members", "labels: undo", "labels: track selected"} <= names

    run_app(make_app([SAMPLE], tui_cache, labels_path=labels), scenario)

    async def reopened(app, pilot):  # a new App on the same file finds the groups as left
        await labels_screen(app, pilot)
        text = screen_text(app)
        assert "SecurityTrails" in text and "AKAMAI-01" in text and "2 groups" in text

    run_app(make_app([SAMPLE], tui_cache, labels_path=labels), reopened)


def test_the_tracking_view_shows_the_track_figures(labels, tui_cache):
    async def scenario(app, pilot):
        await labels_screen(app, pilot)
        await select(app, pilot, "STS")
        await press(app, pilot, "enter")
        track = app.screen
        assert isinstance(track, TrackScreen) and track.group_id == "STS"
        state = app.state
        assert track.doc == track_group(state.dataset.lf, STS_MEMBERS, telescope_size=state.telescope_size,
                                        enrichment=state.rollup.enrichment)
        assert "AS202425 INT-NETWORK x9" in screen_text(app)
        assert track.doc.size_histogram() == ((9, 6),) and track.doc.n_scans == 6
        text = screen_text(app)
        assert "6 scans on 3 ports" in text and "SecurityTrails" in text
        assert all(panel.drawn for panel in track.query(FigurePanel))
        assert track.query_one("#track-scans").row_count == 6 and track.query_one("#track-split").row_count == 9
        # the members change (a member removed elsewhere): the figures follow
        app.change_labels(lambda s: s.remove_members("STS", ["80.82.77.138"]))
        await settle(app, pilot)
        assert track.doc.size_histogram() == ((8, 6),)
        await press(app, pilot, "escape")
        assert isinstance(app.screen, LabelsScreen)

    run_app(make_app([SAMPLE], tui_cache, labels_path=labels), scenario)


HOSTILE_TITLE = "[bold red]x\x1b[31m"


def test_hostile_text_is_shown_literally(tmp_path, tiny_parquet, tui_cache):
    path = tmp_path / "labels.yaml"
    path.write_text('scantui_labels: 1\ngroups:\n  - id: "E[b]"\n    title: "[bold red]x\\e[31m"\n'
                    '    verdict: unsure\n    members: [192.0.2.10]\n    tags: ["[i]t\\a"]\n    notes: "[red]n\\e[0m"\n')

    async def scenario(app, pilot):
        await labels_screen(app, pilot)
        shown = r"[bold red]x\x1b[31m"
        text = screen_text(app)
        assert shown in text and r"[red]n\x1b[0m" in text and r"[i]t\x07" in text
        assert not any("\x1b" in seg.text or "\x07" in seg.text for strip in screen_strips(app) for seg in strip)
        await press(app, pilot, "enter")
        assert isinstance(app.screen, TrackScreen) and shown in screen_text(app) and "E[b]" in screen_text(app)
        days = app.screen.query_one("#track-days", FigurePanel)  # no scans on the tiny data: probes per day instead
        assert days.drawn and days.border_title == "probes per day (no scans)"
        await press(app, pilot, "escape", "e")
        assert app.screen.query_one("#edit-title", Input).value == shown  # escaped; kept as stored unless changed (test_tui_hostile)

    run_app(make_app([tiny_parquet], tui_cache, labels_path=path), scenario)


def test_the_tracking_view_waits_for_the_data(tmp_path, tiny_parquet, tui_cache, monkeypatch):
    from scantui.tui.state import DataState

    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups:\n  - id: R1\n    verdict: unsure\n    members: [192.0.2.10/31]\n")
    release = threading.Event()
    real = DataState.open_rollup

    def slow_rollup(self, progress=None):
        release.wait(10)
        return real(self, progress)

    monkeypatch.setattr(DataState, "open_rollup", slow_rollup)
    app = make_app([tiny_parquet], tui_cache, labels_path=path)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(50):
                await pilot.pause()
                if app.state.labels is not None:
                    break
            await pilot.press("4")
            await pilot.pause()
            await pilot.press("enter")  # the keys answer while the data loads
            await pilot.pause()
            assert isinstance(app.screen, TrackScreen) and app.loading
            assert "R1: waiting for the data to load" in screen_text(app) and app.screen.doc is None
            release.set()
            await settle(app, pilot)
            assert app.screen.doc is not None and app.screen.doc.to_json()["active_members"] == ["192.0.2.10", "192.0.2.11"]

    asyncio.run(main())


def test_a_broken_labels_file_is_shown_and_the_app_stays_up(tmp_path, tiny_parquet, tui_cache):
    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups:\n  - id: X\n    verdict: perhaps\n    members: [10.0.0.300]\n")

    async def scenario(app, pilot):
        screen = await labels_screen(app, pilot)
        assert app.state.labels is None
        text = screen_text(app)
        assert "could not open the labels file" in text and "perhaps" in text
        await press(app, pilot, "e", "a")
        assert app.is_running and app.screen is screen
        assert any("not open" in n.message for n in app._notifications)
        await press(app, pilot, "2")
        assert app.current_mode == "scanners"

    run_app(make_app([tiny_parquet], tui_cache, labels_path=path), scenario)


def test_an_empty_labels_file_says_how_to_start(tmp_path, tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        await labels_screen(app, pilot)
        assert "no groups yet — press 3 and l on a candidate" in screen_text(app)
        await press(app, pilot, "e", "enter")
        assert app.is_running and isinstance(app.screen, LabelsScreen)

    run_app(make_app([tiny_parquet], tui_cache, labels_path=tmp_path / "new.yaml"), scenario)


# ---------------------------------------------------------------- snapshots (as test_tui_snapshots.py's)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("keys", [("4", "down"), ("4", "down", "enter")], ids=["labels", "track"])
def test_snapshots(snap_compare, labels, tui_cache, size, keys):
    async def run_before(pilot):
        await snapshot_ready(pilot, keys)

    assert snap_compare(make_app([SAMPLE], tui_cache, labels_path=labels), terminal_size=size, run_before=run_before)

