"""The form that sets the tags and note of single sources (the labels file's ``sources:``), and the app-side call.

``n`` on the scanners list (the marked rows, or the one under the cursor) and
on a scanner's detail opens :class:`SourceNoteScreen`. For one source the form
shows its tags and note, and saves them as edited (both emptied: the note is
removed). For several, the fields start empty: tags typed are added to each,
a note typed replaces each one's (left empty: their notes are kept). The
change goes through :meth:`scantui.labels.session.LabelSession.note_sources`
(saved at once, merged with other analysts' edits, ``u`` undoes it).

Text from the file is shown escaped (:func:`scantui.safetext.safe_line`, never
markup); a field whose shown text is not changed keeps its stored value.
"""

from __future__ import annotations

from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static, TextArea

from scantui.safetext import safe_line, safe_text
from scantui.tui.safe import line_content
from scantui.tui.screens.dialog import DialogScreen
from scantui.tui.screens.edit_group import save_hint, split_list
from scantui.tui.widgets.field import TextField


def note_texts(source: Any) -> dict[str, str]:
    """What the form shows of a source note (None: no note yet)."""
    if source is None:
        return {"tags": "", "note": ""}
    return {"tags": " ".join(safe_line(t) for t in source.tags), "note": safe_text(source.note or "")}


def note_changes(source: Any, *, several: bool, tags: str, note: str) -> dict[str, Any]:
    """The keyword arguments of ``note_sources`` for the form's texts (an empty dict: nothing to change)."""
    if several:
        out: dict[str, Any] = {}
        if split_list(tags):
            out["add_tags"] = split_list(tags)
        if note.strip():
            out["note"] = note.rstrip()
        return out
    shown = note_texts(source)
    out = {}
    if tags != shown["tags"]:
        out["tags"] = split_list(tags)
    old_note = (source.note or "").rstrip() if source is not None else ""
    if note != shown["note"] and note.rstrip() != old_note:
        out["note"] = note.rstrip()  # "" clears it
    return out


class SourceNoteScreen(DialogScreen[dict[str, Any] | None]):
    """Tags and a note for one or several sources; dismissed with ``note_sources`` arguments, or None."""

    DEFAULT_CSS = """
    SourceNoteScreen { align: center middle; background: $background 60%; }
    SourceNoteScreen #note-box { width: 90%; max-width: 96; height: auto; border: round $accent; padding: 0 1; }
    SourceNoteScreen .note-field { height: auto; }
    SourceNoteScreen .note-name { width: 8; }
    SourceNoteScreen #note-tags { width: 1fr; }
    SourceNoteScreen #note-text { width: 1fr; height: 6; }
    SourceNoteScreen #note-buttons { height: auto; align-horizontal: right; }
    """
    HELP = ("Tags and a note on single sources, kept in the labels file (sources:). Tags are separated by commas "
            "or spaces. For several sources, tags typed are added to each and a note typed replaces theirs. "
            "enter in the tags field (or Save) saves; in the note enter starts a new line and ctrl+s saves (from "
            "either field); escape cancels; u undoes the change afterwards.")
    FOOTER_KEYS = {"submit": "Save"}  # enter in the tags field (in the note: a new line, typing)
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="source_note.cancel", priority=True),
                Binding("ctrl+s", "save", "Save", id="source_note.save")]

    def __init__(self, ips: list[str], source: Any = None) -> None:
        super().__init__()
        self.ips = list(ips)
        self.source = source if len(self.ips) == 1 else None
        self.shown = note_texts(self.source)

    @property
    def several(self) -> bool:
        return len(self.ips) > 1

    def compose(self) -> ComposeResult:
        what = self.ips[0] if not self.several else f"{len(self.ips)} sources"
        with Vertical(id="note-box") as box:
            box.border_title = line_content(f"note on {what}")
            save_hint(box, None)
            if self.several:
                yield Static("tags typed are added to each source; a note typed replaces each one's (empty: kept)",
                             id="note-several", markup=False)
            with Horizontal(classes="note-field"):
                yield Label("tags", classes="note-name")
                yield TextField(self.shown["tags"], id="note-tags", select_on_focus=False, compact=True)
            with Horizontal(classes="note-field"):
                yield Label("note", classes="note-name")
                yield TextArea(self.shown["note"], id="note-text", soft_wrap=True, compact=True)
            with Horizontal(id="note-buttons"):
                yield Button("Save", id="note-save", variant="primary", compact=True)
                yield Button("Cancel", id="note-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#note-tags", Input).focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        save_hint(self.query_one("#note-box"), event.widget)

    @on(Input.Submitted)
    @on(Button.Pressed, "#note-save")
    def action_save(self) -> None:
        tags = self.query_one("#note-tags", Input).value
        note = self.query_one("#note-text", TextArea).text
        self.dismiss(note_changes(self.source, several=self.several, tags=tags, note=note))

    @on(Button.Pressed, "#note-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def note_sources_dialog(app: Any, ips: list[str], then: Any = None) -> None:
    """Ask for the tags and note of *ips* (dotted text) and save them (a notification says what was done)."""
    if not ips:
        app.notify("no source to note", title="note", markup=False)
        return
    session = app.state.labels
    if session is None:
        app.notify("the labels file is not open (see the earlier error)", severity="error", markup=False)
        return
    source = session.store.source(ips[0]) if len(ips) == 1 else None

    def chosen(changes: dict[str, Any] | None) -> None:
        if not changes:
            return

        def saved(change: Any) -> None:
            app.notify(safe_line(change.description), title="labels saved", timeout=4, markup=False)
            if then is not None:
                then(change)

        app.change_labels(lambda s: s.note_sources(ips, **changes), then=saved)

    app.push_screen(SourceNoteScreen(ips, source), chosen)
