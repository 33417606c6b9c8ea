"""Hostile text never reaches the terminal raw (issue 10, item 10), and editing it never corrupts it.

Strings a terminal would act on (CSI ``ESC [2J``, an OSC window title ended by
BEL, an OSC 8 hyperlink, C1 CSI U+009B, U+202E right-to-left override, U+200B,
Rich markup) are loaded into every place the TUI shows file or service text:
the labels file (id, title, notes, tags), the data's enrichment (AS name,
hostname, org) and the data file's own name. The App runs with
:class:`Recording`, Textual's headless driver except that the App renders to it,
and every byte Textual writes to the "terminal" is checked: Textual's own
sequences (SGR colours, cursor moves, the pointer shape) and nothing else.

The edit form shows escaped text; saved untouched, the stored value stays
exactly as it was (hostile bytes and all: they are data); a changed field is
saved as shown; a paste holding raw escapes enters as visible text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest
from textual import events
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Input, TextArea

from tuihelp import TELESCOPE, _ip, screen_text, settle, tiny_frame
from scantui.analysis.scanner_row import ScannerRow
from scantui.io.schema import conform
from scantui.labels.store import LabelsStore
from scantui.safetext import is_safe, safe_line, safe_text, safe_value
from scantui.tui.safe import paste_text

ESC, BEL = "\x1b", "\x07"
CSI_CLEAR = f"{ESC}[2J"
OSC_TITLE = f"{ESC}]0;pwned{BEL}"
OSC8 = f"{ESC}]8;;http://evil.test/{ESC}\\here{ESC}]8;;{ESC}\\"
C1_CSI = "\x9b31m"
RLO, ZWSP = "\u202e", "\u200b"
MARKUP = "[bold red]red[/] [link=http://evil.test]click[/link]"

GID = f"H{RLO}1"
TITLE = f"T {OSC_TITLE} {MARKUP} {RLO}end"
NOTES = f"N {CSI_CLEAR} wipe\nline two {RLO}rtl {ZWSP}zw {OSC8} {C1_CSI}c1 {MARKUP}\n"
TAGS = (f"t{C1_CSI}", f"[i]{ZWSP}x")
G02_TITLE = f"second {OSC8}"
AS_NAME = f"AS-{ESC}[31mRED {MARKUP}"
HOSTNAME = f"h{OSC_TITLE}.{RLO}moc.example"
ORG = f"org {CSI_CLEAR}{ZWSP} [link=file:///etc/passwd]x[/link]"
FILE_NAME = f"pk{OSC_TITLE}{RLO}.parquet"
PASTE = f"pasted {ESC}]0;pasted{BEL} {RLO}x\r\nsecond line"
MEMBERS = [f"203.0.113.{20 + m}" for m in range(4)]
#: Raw fragments (with a neighbour, so Textual's own sequences cannot stand in for them) that must never be written.
RAW = (CSI_CLEAR, OSC_TITLE, f"{ESC}]8;", "\x9b", RLO, ZWSP, f"-{ESC}[31mRED", f"{ESC}]0;pasted")
#: What Textual itself writes: SGR colours, cursor moves, private modes, the pointer shape (OSC 22).
TEXTUAL_SEQUENCE = re.compile(rf"{ESC}\[[0-9;]*[mH]|{ESC}\[\?[0-9;]*[hl]|{ESC}\]22;[a-z-]+{BEL}")


def yaml_text(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's): every control character written as an escape."""
    return json.dumps(value)


def labels_yaml() -> str:
    return f"""scantui_labels: 1
groups:
  - id: {yaml_text(GID)}
    title: {yaml_text(TITLE)}
    verdict: collaborative
    category: other
    members: [{", ".join(MEMBERS)}]
    tags: [{", ".join(yaml_text(t) for t in TAGS)}]
    notes: {yaml_text(NOTES)}
  - id: G02
    title: {yaml_text(G02_TITLE)}
    verdict: unsure
    members: [192.0.2.10]
"""


def hostile_frame() -> pl.DataFrame:
    """The tiny data plus one collaborative scan (four sources of 203.0.113.0/24 split a 256-address telescope
    on port 445) whose enrichment is hostile."""
    base = tiny_frame().with_columns(pl.lit(None, pl.String).alias("org"))
    start = dt.datetime(2024, 3, 2, 4, tzinfo=dt.timezone.utc)
    rows = [{"ts": start + dt.timedelta(seconds=k * 4 + m), "src": _ip(ip), "dst": TELESCOPE + m * 64 + k, "proto": 6,
             "sport": 40000 + k, "dport": 445, "ip_id": k, "ttl": 64, "ip_len": 44, "tcp_flags": 2, "tcp_seq": k,
             "tcp_ack": 0, "tcp_window": 65535, "tcp_mss": 1460, "asn": 64666, "as_name": AS_NAME, "hostname": HOSTNAME,
             "org": ORG, "category": "other"}
            for m, ip in enumerate(MEMBERS) for k in range(64)]
    scan = pl.DataFrame(rows, schema_overrides={"asn": pl.UInt32}).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    return pl.concat([base, conform(scan.lazy()).collect().select(base.columns)]).sort("ts")


@pytest.fixture(scope="module")
def hostile_data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / FILE_NAME
    hostile_frame().write_parquet(path)
    return path


def recorder() -> tuple[type[HeadlessDriver], list[str]]:
    """A driver class the App renders to (not headless) that keeps every string written to the terminal."""
    written: list[str] = []

    class Recording(HeadlessDriver):
        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            written.append(data)

        def flush(self) -> None:
            pass

    return Recording, written


def assert_terminal_safe(written: list[str]) -> None:
    """Nothing but Textual's own sequences and safe text was written to the terminal."""
    output = "".join(written)
    assert len(output) > 10_000  # the screens were really drawn
    for raw in RAW:
        assert raw not in output, f"{raw!r} reached the terminal"
    rest = TEXTUAL_SEQUENCE.sub("", output)
    unsafe = sorted({f"U+{ord(c):04X}" for c in rest if not is_safe(c) or c == "\t"})
    assert not unsafe, f"unsafe characters written to the terminal: {unsafe}"


def make_hostile_app(data: Path, cache: Path, labels: Path, palette_extra=()):
    from scantui.tui.app import ScantuiApp
    from scantui.tui.state import LoadRequest

    class App(ScantuiApp):
        def palette_commands(self, screen):  # a command quoting data, as a screen may bring one
            yield from super().palette_commands(screen)
            yield from palette_extra

    app = App(LoadRequest((str(data),), cache_dir=cache, labels_path=labels, telescope_size=256))
    app.labels_poll = None
    driver, written = recorder()
    app.driver_class = driver
    return app, written


def run_recorded(app, scenario, size=(160, 48)) -> None:
    async def main() -> None:
        async with app.run_test(headless=False, size=size) as pilot:
            await settle(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


async def press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


async def paste(app, pilot, text: str) -> None:
    """What a terminal's bracketed paste delivers (to the focused widget, through the App)."""
    app.post_message(events.Paste(text))
    await settle(app, pilot)


async def pick_group(app, pilot, group_id: str) -> None:
    screen = app.screen
    await press(app, pilot, "home")
    for _ in range(screen.table.row_count):
        if screen.selected is not None and screen.selected.id == group_id:
            return
        await press(app, pilot, "down")
    raise AssertionError(f"{group_id!r} is not in the list")


def shows(text: str, shown: str) -> bool:
    """Whether the screen *text* shows *shown* (a panel may fold it across lines: word by word)."""
    return all(word in text for word in shown.split())


def on_disk(path: Path) -> dict:
    return {g.id: g for g in LabelsStore.load(path).groups}


def test_hostile_text_never_reaches_the_terminal_and_edits_keep_it(hostile_data, tui_cache, tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text(labels_yaml())
    stored = on_disk(labels)[GID]
    assert (stored.title, stored.notes, stored.tags) == (TITLE, NOTES, TAGS)  # the file really holds the raw bytes
    palette = [(f"labels: open {GID} {MARKUP}", f"Open {TITLE}", lambda: None)]
    app, written = make_hostile_app(hostile_data, tui_cache, labels, palette)

    async def scenario(app, pilot):
        from scantui.tui.screens.candidates import CandidatesScreen
        from scantui.tui.screens.detail import CandidateDetailScreen, ScannerDetailScreen
        from scantui.tui.screens.edit_group import ConfirmDeleteScreen, EditGroupScreen, PickGroupScreen, RemoveMembersScreen
        from scantui.tui.screens.label_as import LabelAsScreen
        from scantui.tui.screens.labels import LabelsScreen
        from scantui.tui.screens.track import TrackScreen

        # the overview and the header: the data file's name
        text = screen_text(app)
        assert safe_line(FILE_NAME) in text and text.count(safe_line(FILE_NAME)) >= 2  # header and the inputs panel

        # the scanner list (every column, on this wide terminal) and a scanner's detail: the enrichment
        await press(app, pilot, "2")
        await press(app, pilot, "ctrl+p")
        await pilot.press(*"sort by as name")
        await pilot.pause(0.3)
        await press(app, pilot, "enter")
        assert safe_line(AS_NAME)[:20] in screen_text(app)
        frame = app.state.scanners.frame
        app.open_scanner(ScannerRow.from_row(frame.filter(pl.col("src") == _ip(MEMBERS[0])).row(0, named=True)))
        await settle(app, pilot)
        assert isinstance(app.screen, ScannerDetailScreen)
        text = screen_text(app)
        assert all(safe_value(s) in text for s in (AS_NAME, HOSTNAME, ORG)), text  # escaped, cut as shown

        # the candidates: the review cell names the hostile group; its detail; the label dialog lists the groups
        await press(app, pilot, "3")
        assert isinstance(app.screen, CandidatesScreen)
        # the review cell, cut to its width (its IPs are the group's; the scan is not recorded in it)
        assert f"same IPs as {safe_line(GID)}"[:15] + "…" in screen_text(app)
        await press(app, pilot, "tab", "enter")
        assert isinstance(app.screen, CandidateDetailScreen)
        assert safe_line(GID) in screen_text(app)
        await press(app, pilot, "l")
        assert isinstance(app.screen, LabelAsScreen)
        assert safe_line(TITLE)[:30] in screen_text(app)
        await press(app, pilot, "escape", "escape")

        # the labels list, the details (notes, tags), the track view
        await press(app, pilot, "4")
        assert isinstance(app.screen, LabelsScreen)
        await pick_group(app, pilot, GID)
        text = screen_text(app)
        assert f"group {safe_line(GID)}" in text and shows(text, safe_line(TITLE)) and shows(text, safe_line(" ".join(TAGS)))
        assert shows(text, safe_text(NOTES)) and "\\x1b[2J wipe" in text  # the notes' lines, escaped
        await press(app, pilot, "enter")
        assert isinstance(app.screen, TrackScreen) and shows(screen_text(app), safe_line(TITLE))
        await press(app, pilot, "escape")

        # the modals: merge (pick a group), remove members, delete
        await press(app, pilot, "m")
        assert isinstance(app.screen, PickGroupScreen) and safe_line(G02_TITLE)[:25] in screen_text(app)
        await press(app, pilot, "escape", "d")
        assert isinstance(app.screen, RemoveMembersScreen) and f"remove members of {safe_line(GID)}" in screen_text(app)
        await press(app, pilot, "escape", "delete")
        assert isinstance(app.screen, ConfirmDeleteScreen) and safe_line(TITLE)[:40] in screen_text(app)
        await press(app, pilot, "n")

        # the edit form: escaped text, a warning, and saving untouched changes nothing
        before = labels.read_bytes()
        await press(app, pilot, "e")
        form = app.screen
        assert isinstance(form, EditGroupScreen)
        assert form.query_one("#edit-title", Input).value == safe_line(TITLE)
        assert form.query_one("#edit-tags", Input).value == " ".join(safe_line(t) for t in TAGS)
        assert form.query_one("#edit-notes", TextArea).text == safe_text(NOTES)
        assert "shown escaped" in screen_text(app)
        await press(app, pilot, "enter")  # enter in the title field saves
        assert not isinstance(app.screen, EditGroupScreen)
        assert any(n.message == "nothing changed" for n in app._notifications)
        assert labels.read_bytes() == before

        # a changed field is saved as shown; typed control characters never enter; a paste enters escaped
        await press(app, pilot, "e")
        form = app.screen
        title = form.query_one("#edit-title", Input)
        await press(app, pilot, "end", "space", "o", "k", RLO, ZWSP, "\x9b")
        assert title.value == safe_line(TITLE) + " ok"  # keys of invisible characters type nothing
        notes = form.query_one("#edit-notes", TextArea)
        notes.focus()
        await paste(app, pilot, PASTE)
        assert notes.text == paste_text(PASTE) + safe_text(NOTES)
        assert is_safe(notes.text)
        form.query_one("#edit-save").focus()
        await press(app, pilot, "enter")
        group = on_disk(labels)[GID]
        assert group.title == safe_line(TITLE) + " ok"
        assert group.notes == (paste_text(PASTE) + safe_text(NOTES)).rstrip()
        assert group.tags == TAGS and group.verdict == "collaborative"  # untouched: exactly as stored
        assert any("labels saved" in n.title and safe_line(GID) in n.message for n in app._notifications)
        await pilot.pause(0.2)
        assert safe_line(GID) in screen_text(app)  # the toast names the group, escaped

        # a notification, the header's titles and the palette with hostile text
        app.notify(NOTES, title=TITLE, markup=False)
        app.title, app.sub_title = TITLE, HOSTNAME
        await settle(app, pilot)
        text = screen_text(app)
        assert safe_line(TITLE)[:30] in text and safe_line(HOSTNAME) in text
        await press(app, pilot, "ctrl+p")
        await paste(app, pilot, f"open {GID}")
        await pilot.pause(0.3)
        text = screen_text(app)
        assert f"open {safe_line(GID)}" in text and MARKUP in text  # the query and the hit, literal

    run_recorded(app, scenario, size=(420, 60))  # wide: no cell or panel cuts or folds the text looked for
    assert_terminal_safe(written)


def test_the_recording_driver_catches_raw_escapes(tmp_path):
    """The check above can fail: an Input given the raw title writes it to the terminal."""
    from textual.app import App

    class Raw(App):
        def compose(self):
            yield Input(TITLE)

    driver, written = recorder()
    app = Raw(driver_class=driver)

    async def main():
        async with app.run_test(headless=False, size=(80, 10)) as pilot:
            await pilot.pause()

    asyncio.run(main())
    with pytest.raises(AssertionError, match="reached the terminal|unsafe characters"):
        assert_terminal_safe(written * 20)


def test_form_changes_keeps_untouched_fields_as_stored():
    from scantui.labels.model import Group
    from scantui.tui.screens.edit_group import form_changes, form_texts

    group = Group(id=GID, title=TITLE, verdict="unsure", members=MEMBERS, tags=TAGS, notes=NOTES)
    shown = form_texts(group)
    assert all(is_safe(text) for text in shown.values()) and "\n" not in shown["title"]
    same = dict(shown, verdict="unsure", category=None)
    assert form_changes(group, **same) == {}  # the shown (escaped) text never replaces the stored one
    changed = form_changes(group, **dict(same, title="new"))
    assert changed == {"title": "new"}
    assert form_changes(group, **dict(same, notes=shown["notes"] + " more"))["notes"] == shown["notes"] + " more"
    with pytest.raises(ValueError, match="at least one member"):
        form_changes(group, **dict(same, members=""))


def test_pastes_and_palette_entries_are_made_safe():
    from textual.fuzzy import Matcher

    from scantui.tui.commands import _highlight

    assert paste_text(f"a{ESC}[2Jb\r\nc\rd\te") == "a\\x1b[2Jb\nc\nd\te"
    hit = _highlight(Matcher("open"), safe_line(f"open {GID} {MARKUP}"))
    assert hit.plain == f"open {safe_line(GID)} {MARKUP}"  # markup stays text
    assert len(hit.spans) == 4  # o, p, e, n highlighted
