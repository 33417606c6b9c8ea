"""Pilot tests of notes and tags on single sources (issue 15 part 3) on the tiny data: ``n`` on the scanners list
(marked rows: all of them) and on a scanner's detail, saved to the labels file at once, shown in the ``tags``/``note``
columns and the detail, found by ``tag:``/``note:``/``review:new``, undone with ``u``; hostile text shown as data."""

from __future__ import annotations

from textual.widgets import Input, TextArea

from tuihelp import make_app, run_app, screen_text, settle
from scantui.analysis.scanner_row import ScannerRow
from scantui.labels.store import read_snapshot
from scantui.safetext import safe_line
from scantui.tui.screens.scanners import ScannersScreen
from scantui.tui.screens.source_note import SourceNoteScreen

HOSTILE = "\x1b[31mred [b]bold[/b] \u202eevil"


async def press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


def _rows(app) -> list[str]:
    import ipaddress

    return [str(ipaddress.IPv4Address(int(s))) for s in app.screen.table.frame["src"].to_list()]


def test_note_marked_sources_filter_show_and_undo(tiny_parquet, tui_cache, tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text("scantui_labels: 1\ngroups: []\n")
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        assert isinstance(app.screen, ScannersScreen)
        first, second = _rows(app)[:2]
        await press(app, pilot, "space", "space")  # marks the first two rows (the cursor moves down)
        await press(app, pilot, "n")
        assert isinstance(app.screen, SourceNoteScreen) and app.screen.several
        app.screen.query_one("#note-text", TextArea).text = "seen in the honeypot too"
        app.screen.query_one("#note-tags", Input).value = "benign research"
        await press(app, pilot, "enter")
        assert isinstance(app.screen, ScannersScreen)
        notes = {s.ip: s for s in read_snapshot(labels).sources}
        assert set(notes) == {first, second}
        assert notes[first].tags == ("benign", "research") and notes[second].note == "seen in the honeypot too"
        assert not app.screen.table.marks
        # the columns show them; the query bar finds them
        frame = app.screen.table.frame
        assert frame["tags"].to_list()[:2] == ["benign, research"] * 2 and frame["tags"].to_list()[2] is None
        app.screen.apply_filter("tag:benign", report=True)
        await settle(app, pilot)
        assert _rows(app) == [first, second]
        app.screen.apply_filter("review:new", report=True)
        await settle(app, pilot)
        assert first not in _rows(app) and len(_rows(app)) == app.state.scanners.frame.height - 2
        # one source: the form shows its note; hostile text is saved as data and shown escaped
        app.screen.apply_filter(f"src:{first}", report=True)
        await settle(app, pilot)
        await press(app, pilot, "n")
        assert not app.screen.several and app.screen.query_one("#note-tags", Input).value == "benign research"
        app.screen.query_one("#note-text", TextArea).text = HOSTILE
        await press(app, pilot, "enter")
        assert read_snapshot(labels).sources[0].note == HOSTILE
        assert "\x1b" not in screen_text(app) and "\u202e" not in screen_text(app)
        # the detail shows it, escaped; n there edits the same source
        app.open_scanner(ScannerRow.from_row(app.state.scanners.frame.filter(
            app.state.scanners.frame["src"] == app.screen.table.frame["src"][0]).row(0, named=True)))
        await settle(app, pilot)
        text = screen_text(app)
        assert "benign, research" in text and safe_line(HOSTILE)[:20] in text and "\x1b" not in text
        await press(app, pilot, "n")
        assert isinstance(app.screen, SourceNoteScreen) and app.screen.ips == [first]
        await press(app, pilot, "escape")
        # u undoes the last change (the hostile note), then the first
        await press(app, pilot, "u")
        assert read_snapshot(labels).sources[0].note == "seen in the honeypot too"
        await press(app, pilot, "u")
        assert read_snapshot(labels).sources == []
        assert labels.read_text() == "scantui_labels: 1\ngroups: []\n"  # as it was

    run_app(app, scenario, size=(120, 30))


def test_another_analysts_note_is_merged_and_shown(tiny_parquet, tui_cache, tmp_path):
    """Two analysts on one file: bob (a session of his own) notes one source while the app's analyst notes another
    and then the same source's other field; nothing is lost, and the app shows bob's note after the file watch."""
    from scantui.labels.session import LabelSession
    from scantui.labels.store import LabelsStore

    labels = tmp_path / "labels.yaml"
    labels.write_text("scantui_labels: 1\ngroups: []\n")
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        first, second = _rows(app)[:2]
        bob = LabelSession(LabelsStore.load(labels, author="bob"))
        bob.note_sources([second], note="bob: same TTL as the mirai pool")
        bob.note_sources([first], note="bob's note")
        await press(app, pilot, "n")  # the cursor row: first, as the app last read the file (no note yet)
        app.screen.query_one("#note-tags", Input).value = "alice-tag"
        await press(app, pilot, "enter")
        notes = {s.ip: s for s in read_snapshot(labels).sources}
        assert notes[first].tags == ("alice-tag",) and notes[first].note == "bob's note"
        assert notes[second].note == "bob: same TTL as the mirai pool"
        app.check_labels_file()
        await settle(app, pilot)
        frame = app.screen.table.frame
        shown = dict(zip(_rows(app), frame["note"].to_list()))
        assert shown[second] == "bob: same TTL as the mirai pool" and shown[first] == "bob's note"

    run_app(app, scenario, size=(120, 30))


def test_the_forms_hint_says_the_key_that_saves_from_the_note_field(tiny_parquet, tui_cache, tmp_path):
    """The note form said "enter: save", but enter in the multi-line note inserts a newline and no key saved from
    there: in the note field the hint names ctrl+s, and ctrl+s saves (enter still saves from the tags field)."""
    labels = tmp_path / "labels.yaml"
    labels.write_text("scantui_labels: 1\ngroups: []\n")
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        first = _rows(app)[0]
        await press(app, pilot, "n")
        form = app.screen
        assert isinstance(form, SourceNoteScreen)
        box = form.query_one("#note-box")
        assert "⏎ Save" in screen_text(app).splitlines()[-1] and box.border_subtitle == ""  # the tags field has focus
        await press(app, pilot, "tab")
        assert isinstance(app.focused, TextArea)
        row = screen_text(app).splitlines()[-1]
        assert "^s Save" in row and "⏎ Save" not in row and box.border_subtitle == "enter: new line"
        await press(app, pilot, *"one", "enter", *"two")
        assert app.screen is form  # enter made a new line
        await press(app, pilot, "ctrl+s")
        assert isinstance(app.screen, ScannersScreen)
        assert read_snapshot(labels).sources[0].ip == first and read_snapshot(labels).sources[0].note == "one\ntwo"

    run_app(app, scenario, size=(120, 30))
