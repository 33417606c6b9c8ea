"""The bottom row under a pop-up says the pop-up's keys, never those of the screen beneath.

Under the label dialog the row said ``⏎ Open l Label a Accept x Reject / Filter q Quit ? Keys`` while a, x,
/ and q typed into its id field. Each kind of pop-up is opened here on the sample data at 80x24 (the label
dialog, the labels screen's edit / merge / remove members / delete, the source note, the column picker, the
prompts, the saved views, the packets' frequency pop-up, the help, the native output): its row is exactly its
keys, drawn whole, and none of the keys of the screen beneath that it does not have itself.
"""

from __future__ import annotations

from textual.widgets import Input
from textual.widgets._footer import FooterKey

from tuihelp import SAMPLE, make_app, run_app, screen_text, settle

#: The App's keys: they wait while a pop-up is open, so its row never promises them.
APP_KEYS = {"q Quit", "? Keys", "/ Filter", "1 Overview", "2 Scanners", "3 Candidates"}


def _bottom(app) -> tuple[str, list[str]]:
    """The bottom row as drawn and the keys the current screen's own footer composed ("key description")."""
    keys = [f"{k.key_display} {k.description}".strip() for k in app.screen.query(FooterKey)]
    return screen_text(app).splitlines()[-1].rstrip(), keys


def _beneath(app) -> list[str]:
    """The keys in the footer of the screen under the pop-up."""
    return [f"{k.key_display} {k.description}".strip() for k in app.screen_stack[-2].query(FooterKey)]


async def _press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


def _says(app, screen: str, expected: list[str]) -> None:
    """The pop-up *screen* is open and its bottom row is exactly *expected*, nothing of the screen beneath."""
    assert type(app.screen).__name__ == screen, type(app.screen).__name__
    row, keys = _bottom(app)
    assert keys == expected, (screen, keys)
    assert row == " ".join(keys), (screen, row)  # drawn whole: nothing of the row beneath shows through
    beneath = set(_beneath(app)) | APP_KEYS
    assert not [k for k in beneath - set(expected) if k in row], (screen, row, beneath)


def test_the_label_dialog_says_enter_creates_tab_moves_escape_cancels(tui_cache):
    """The bug as reported: ``3``, ``l``: no Accept, Reject, Filter or Quit under the dialog (those keys type)."""
    async def scenario(app, pilot):
        await _press(app, pilot, "3")
        row, _keys = _bottom(app)
        assert "a Accept" in row and "q Quit" in row  # the candidates' own row, for contrast
        await _press(app, pilot, "l")
        _says(app, "LabelAsScreen", ["⏎ Create group", "tab Next", "esc Cancel"])
        field = app.screen.query_one("#label-id", Input)
        await _press(app, pilot, "a", "x", "q")
        assert field.value.endswith("axq")  # what the row beneath promised: typed here
        await _press(app, pilot, "ctrl+u", *"G01", "tab", "tab")  # the Create button
        _says(app, "LabelAsScreen", ["⏎ Create", "tab Next", "esc Cancel"])
        await _press(app, pilot, "enter")
        assert type(app.screen).__name__ == "CandidatesScreen" and "a Accept" in _bottom(app)[0]
        await _press(app, pilot, "down", "down", "l", "tab", "tab", "tab")  # G01 exists: the list of groups
        assert app.focused is not None and app.focused.id == "label-groups"
        _says(app, "LabelAsScreen", ["⏎ Add to group", "tab Next", "esc Cancel"])
        await pilot.resize_terminal(160, 48)
        await settle(app, pilot)
        _says(app, "LabelAsScreen", ["⏎ Add to group", "tab Next", "esc Cancel"])
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        await _press(app, pilot, "ctrl+p")  # the palette opens over the dialog as before, and closes back to it
        assert type(app.screen).__name__ == "CommandPalette"
        await _press(app, pilot, "escape")
        _says(app, "LabelAsScreen", ["⏎ Add to group", "tab Next", "esc Cancel"])
        await _press(app, pilot, "escape")
        assert type(app.screen).__name__ == "CandidatesScreen" and "a Accept" in _bottom(app)[0]

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_the_labels_screen_dialogs_say_their_keys(tui_cache):
    """Edit (a field, a choice, its menu), merge, remove members, delete."""
    async def scenario(app, pilot):
        await _press(app, pilot, "3", "l", "ctrl+u", *"G01", "enter")
        await _press(app, pilot, "down", "down", "l", "ctrl+u", *"G02", "enter")  # a second group to merge
        await _press(app, pilot, "4")
        assert type(app.screen).__name__ == "LabelsScreen"
        await _press(app, pilot, "e")
        _says(app, "EditGroupScreen", ["⏎ Save", "tab Next", "esc Cancel", "^s Save"])
        await _press(app, pilot, "tab")  # the verdict
        _says(app, "EditGroupScreen", ["⏎ Choose", "tab Next", "esc Cancel", "^s Save"])
        await _press(app, pilot, "enter")  # its menu
        _says(app, "EditGroupScreen", ["⏎ Pick", "esc Dismiss menu", "tab Next", "^s Save"])
        await _press(app, pilot, "escape", "escape")
        await _press(app, pilot, "m")
        _says(app, "PickGroupScreen", ["⏎ Pick", "esc Cancel"])
        await _press(app, pilot, "escape", "d")
        _says(app, "RemoveMembersScreen", ["space/⏎ Tick", "tab Next", "esc Cancel", "d Remove ticked"])
        await _press(app, pilot, "tab")  # the Remove button
        _says(app, "RemoveMembersScreen", ["⏎ Remove", "tab Next", "esc Cancel", "d Remove ticked"])
        await _press(app, pilot, "escape", "delete")
        _says(app, "ConfirmDeleteScreen", ["⏎ Delete", "tab Next", "y Delete", "n/esc Keep"])
        await _press(app, pilot, "escape")
        assert type(app.screen).__name__ == "LabelsScreen"

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_the_scanner_and_packets_dialogs_say_their_keys(tui_cache):
    """Source note, column picker, the time range and save-view prompts, saved views, frequency, help, native
    output, the search options; a narrow row leaves keys out from the end, never the way out."""
    async def scenario(app, pilot):
        await _press(app, pilot, "2", "n")
        _says(app, "SourceNoteScreen", ["⏎ Save", "tab Next", "esc Cancel", "^s Save"])
        await _press(app, pilot, "tab")  # the note: enter is a new line there (typing, not listed)
        _says(app, "SourceNoteScreen", ["tab Next", "esc Cancel", "^s Save"])
        await _press(app, pilot, "escape", "c")
        picker = ["⏎ Apply", "space Show/hide", "esc Cancel", "shift+↑ Move up", "shift+↓ Move down"]
        _says(app, "ColumnPickerScreen", picker)
        await pilot.resize_terminal(40, 24)
        await settle(app, pilot)
        row, keys = _bottom(app)
        assert row == " ".join(keys) and len(row) <= 40 and keys == picker[:len(keys)] and "esc Cancel" in keys, keys
        await pilot.resize_terminal(24, 24)
        await settle(app, pilot)
        assert _bottom(app)[1] == ["⏎ Apply", "esc Cancel"]  # the others go from the end, never the way out
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        _says(app, "ColumnPickerScreen", picker)
        await _press(app, pilot, "escape", "t")
        _says(app, "PromptScreen", ["⏎ Apply", "esc Cancel"])  # one field: no tab
        await _press(app, pilot, "escape", "w")
        _says(app, "PromptScreen", ["⏎ Apply", "esc Cancel"])
        await _press(app, pilot, "escape", "v")
        _says(app, "ViewListScreen", ["esc Cancel"])  # no saved view: enter opens nothing
        await _press(app, pilot, "escape", "p", "f")
        _says(app, "FrequencyScreen", ["⏎ Add to filter", "s Sort", "r Reverse", "esc Close"])
        await _press(app, pilot, "escape", "question_mark")
        _says(app, "HelpScreen", ["esc Close"])
        await _press(app, pilot, "escape")
        app.action_native_output()
        await settle(app, pilot)
        _says(app, "NativeOutputScreen", ["esc Close"])
        await _press(app, pilot, "escape", "3", "o")
        _says(app, "PromptScreen", ["⏎ Apply", "tab Next", "esc Cancel"])  # three fields

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_every_pop_up_of_scantui_is_a_dialog_screen():
    """One mechanism: a new modal that derives from Textual's ``ModalScreen`` directly would show the row
    beneath again."""
    import importlib
    import pkgutil

    from textual.screen import ModalScreen

    import scantui.tui
    from scantui.tui.screens.dialog import DialogScreen

    for module in pkgutil.walk_packages(scantui.tui.__path__, "scantui.tui."):
        importlib.import_module(module.name)
    found, stack = [], [ModalScreen]
    while stack:
        for cls in stack.pop().__subclasses__():
            stack.append(cls)
            if cls.__module__.startswith("scantui.") and cls is not DialogScreen:
                found.append(cls)
    assert len(found) >= 12, found
    assert [c.__name__ for c in found if not issubclass(c, DialogScreen)] == []
