"""The labels screen's modals: edit a group, pick a group to merge, pick members to remove, confirm a delete.

Each modal only asks; the labels screen saves what it returns through
:meth:`scantui.tui.app.ScantuiApp.change_labels`. :func:`form_changes` (no
Textual) turns the edit form's texts into the fields that changed, validating
members (IPs and CIDRs, a host-bits typo is an error), ports and tags: an
error keeps the form open with the message and nothing is saved. Titles,
notes, tags and ids come from a shared file and are shown literally
(control characters escaped, markup never interpreted).

**Hostile text in the form.** An ``Input`` or ``TextArea`` writes its text to
the terminal as it is, so the form shows :func:`form_texts` (``ESC`` as
``\\x1b``, U+202E as ``\\u202e``). A field whose shown text is not changed keeps
its stored value exactly (control characters and all: they are data); a field
the analyst changes is saved as typed, so escapes still in it are saved as the
visible text (the form says so above the fields).
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, OptionList, Select, SelectionList, Static, TextArea

from scantui.labels.model import CATEGORIES, NO_MEMBERS, VERDICTS, Group, check_port, parse_member
from scantui.safetext import safe_line, safe_text
from scantui.tui.safe import line_content
from scantui.tui.screens.dialog import DialogScreen
from scantui.tui.screens.label_as import group_option
from scantui.tui.widgets.field import TextField

_SPLIT = re.compile(r"[\s,]+")
_INTEGER = re.compile(r"-?[0-9]+")


def save_hint(box: Any, focused: Any) -> None:
    """What the bottom row does not say, in *box*'s subtitle: in a multi-line field (a ``TextArea``) enter starts
    a new line (a typing key, never listed there; the row says ^s Save). Elsewhere nothing: the row's keys."""
    box.border_subtitle = "enter: new line" if isinstance(focused, TextArea) else ""


def split_list(text: str) -> list[str]:
    """``"a, b c"`` -> ``["a", "b", "c"]`` (commas and spaces separate)."""
    return [part for part in _SPLIT.split(text.strip()) if part]


def form_texts(group: Group) -> dict[str, str]:
    """What the edit form's text fields show of *group*: one line each (notes several), unsafe characters
    escaped; a field submitted as shown is not a change."""
    return {
        "title": safe_line(group.title or ""),
        "members": " ".join(group.members),
        "ports": " ".join(map(str, group.ports)),
        "tags": " ".join(safe_line(t) for t in group.tags),
        "notes": safe_text(group.notes or ""),
    }


_PARSE = {  # the form's text fields: how a typed text becomes the field's value
    "title": lambda text: text.strip() or None,
    "members": lambda text: tuple(dict.fromkeys(parse_member(m) for m in split_list(text))),
    "ports": lambda text: tuple(dict.fromkeys(_port(p) for p in split_list(text))),
    "tags": lambda text: tuple(dict.fromkeys(split_list(text))),
    "notes": lambda text: text.rstrip() or None,
}


def form_changes(group: Group, *, title: str, verdict: str, category: str | None, members: str, ports: str,
                 tags: str, notes: str) -> dict[str, Any]:
    """The fields of *group* the form changed, parsed; :class:`ValueError` naming the first bad value.

    A field left as the form showed it (:func:`form_texts`) keeps its stored value exactly: a
    title holding escapes, a tag holding a space, a title with edge spaces stay as the file has
    them. The changed group is checked by the model's own rules (:class:`Group`), the same
    ``scantui labels validate`` applies: what one refuses the other refuses.
    """
    texts = {"title": title, "members": members, "ports": ports, "tags": tags, "notes": notes}
    shown = form_texts(group)
    parsed: dict[str, Any] = {name: _PARSE[name](text) for name, text in texts.items() if text != shown[name]}
    parsed.update(verdict=verdict, category=category or None)
    if parsed.get("notes") is not None and (group.notes or "").rstrip() == parsed["notes"]:
        parsed["notes"] = group.notes  # only trailing blanks differ: not a change
    changes = {name: value for name, value in parsed.items() if getattr(group, name) != value}
    group.replace(**changes)  # the model's rules (at least one member, ...)
    return changes


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _port(text: str) -> int:
    return check_port(int(text) if _INTEGER.fullmatch(text) else text)  # the model's message: bad port 'x' (0-65535)


class EditGroupScreen(DialogScreen[dict[str, Any] | None]):
    """The edit form of one group; dismissed with the changed fields (maybe empty) or None."""

    HELP = ("Edit the group: members, ports and tags are separated by commas or spaces; members are IPv4 "
            "addresses or CIDR blocks. enter in a one-line field saves (so does the Save button); tab moves "
            "between fields; in the notes, enter starts a new line and ctrl+s saves (from any field). escape (or q "
            "outside a field) cancels. The change is saved to the labels file at once and u undoes it.")
    #: enter in a one-line field saves; on a choice it opens the menu, in the menu it picks (in the notes: typing)
    FOOTER_KEYS = {"submit": "Save", "show_overlay": "Choose", "select": "Pick"}
    BINDINGS = [Binding("escape,q", "cancel", "Cancel", id="edit_group.cancel", priority=True),
                Binding("ctrl+s", "save", "Save", id="edit_group.save")]

    def __init__(self, group: Group) -> None:
        super().__init__()
        self.group = group
        self.shown = form_texts(group)

    def compose(self) -> ComposeResult:
        g, shown = self.group, form_texts(self.group)
        with Vertical(id="edit-box", classes="modal-box") as box:
            box.border_title = line_content(f"edit {g.id}")
            save_hint(box, None)
            escaped = [name for name, raw in (("title", g.title or ""), ("tags", " ".join(g.tags)), ("notes", g.notes or ""))
                       if shown[name] != raw]
            if escaped:
                yield Static(f"⚠ {', '.join(escaped)}: control or invisible characters shown escaped (\\x1b, \\u202e); "
                             "a field left as it is keeps them, a field you change is saved as shown",
                             id="edit-escaped", markup=False)
            yield from self._field("title", TextField(shown["title"], id="edit-title", select_on_focus=False, compact=True))
            yield from self._field("verdict", Select([(v, v) for v in VERDICTS], value=g.verdict, allow_blank=False,
                                                     id="edit-verdict", compact=True))
            yield from self._field("category", Select([(c, c) for c in CATEGORIES], value=g.category or Select.NULL,
                                                      prompt="-", id="edit-category", compact=True))
            yield from self._field("members", TextField(shown["members"], id="edit-members", select_on_focus=False, compact=True))
            yield from self._field("ports", TextField(shown["ports"], id="edit-ports", select_on_focus=False, compact=True))
            yield from self._field("tags", TextField(shown["tags"], id="edit-tags", select_on_focus=False, compact=True))
            with Horizontal(classes="edit-field edit-notes"):
                yield Label("notes", classes="edit-name")
                yield TextArea(shown["notes"], id="edit-notes", soft_wrap=True, compact=True)
            yield Static("", id="edit-error", markup=False)
            with Horizontal(classes="modal-buttons"):
                yield Button("Save", id="edit-save", variant="primary", compact=True)
                yield Button("Cancel", id="edit-cancel", compact=True)

    @staticmethod
    def _field(name: str, widget: Any) -> ComposeResult:
        with Horizontal(classes="edit-field"):
            yield Label(name, classes="edit-name")
            yield widget

    def on_mount(self) -> None:
        self.query_one("#edit-title", Input).focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        save_hint(self.query_one("#edit-box"), event.widget)

    def _text(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    @on(Input.Submitted)
    @on(Button.Pressed, "#edit-save")
    def action_save(self) -> None:
        category = self.query_one("#edit-category", Select).value
        texts = {"title": self._text("#edit-title"), "members": self._text("#edit-members"), "ports": self._text("#edit-ports"),
                 "tags": self._text("#edit-tags"), "notes": self.query_one("#edit-notes", TextArea).text}
        try:
            changes = form_changes(self.group, verdict=str(self.query_one("#edit-verdict", Select).value),
                                   category=None if category is Select.NULL else str(category), **texts)
        except ValueError as exc:
            self.query_one("#edit-error", Static).update(Text("✗ " + safe_line(str(exc))))
            return
        self.dismiss(changes)

    @on(Button.Pressed, "#edit-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class PickGroupScreen(DialogScreen[str | None]):
    """Choose one of *groups* (enter); dismissed with its id or None."""

    HELP = "enter picks the group under the cursor; escape (or q) cancels."
    FOOTER_KEYS = {"select": "Pick"}
    BINDINGS = [Binding("escape,q", "cancel", "Cancel", id="pick_group.cancel", priority=True)]

    def __init__(self, heading: str, groups: list[Group]) -> None:
        super().__init__()
        self.heading = heading
        self.groups = groups

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box", classes="modal-box") as box:
            box.border_title = line_content(self.heading)
            yield OptionList(*(group_option(g, 0.0) for g in self.groups), id="pick-groups")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RemoveMembersScreen(DialogScreen[list[str] | None]):
    """Tick members (space or enter), then ``d`` or the Remove button; dismissed with the ticked members or None."""

    HELP = ("space or enter ticks a member; d (or the Remove button) removes the ticked members from the group; "
            "escape (or q) cancels.")
    FOOTER_KEYS = {"select": "Tick"}  # space or enter on a member
    FOOTER_SHOWN_KEYS = {"select": ("space", "enter")}  # not ⏎ alone: space ticks too (as in the column picker)
    BINDINGS = [
        Binding("escape,q", "cancel", "Cancel", id="remove_members.cancel", priority=True),
        Binding("d", "remove", "Remove ticked", id="remove_members.remove"),
    ]

    def __init__(self, group: Group) -> None:
        super().__init__()
        self.group = group

    def compose(self) -> ComposeResult:
        with Vertical(id="remove-box", classes="modal-box") as box:
            box.border_title = line_content(f"remove members of {self.group.id}")
            yield SelectionList[str](*((Text(safe_line(m)), m) for m in self.group.members), id="remove-members", compact=True)
            yield Static("", id="remove-error", markup=False)
            with Horizontal(classes="modal-buttons"):
                yield Button("Remove", id="remove-ok", variant="error", compact=True)
                yield Button("Cancel", id="remove-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    @on(Button.Pressed, "#remove-ok")
    def action_remove(self) -> None:
        ticked = list(self.query_one(SelectionList).selected)
        if not ticked:
            self.query_one("#remove-error", Static).update("✗ tick the members to remove first (space)")
            return
        if len(ticked) == len(self.group.members):
            self.query_one("#remove-error", Static).update("✗ " + NO_MEMBERS)
            return
        self.dismiss(ticked)

    @on(Button.Pressed, "#remove-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDeleteScreen(DialogScreen[bool]):
    """Delete *group*? ``y`` / enter on Delete deletes, ``n`` / escape keeps it."""

    HELP = "y (or enter on Delete) deletes the group from the labels file; u undoes it. n or escape keeps it."
    FOOTER_SHOWN_KEYS = {"answer(False)": ("n", "escape")}  # "n/esc Keep": escape is the way out of every pop-up
    BINDINGS = [
        Binding("y", "answer(True)", "Delete", id="confirm_delete.yes"),
        Binding("n,escape,q", "answer(False)", "Keep", id="confirm_delete.no", priority=True),
    ]

    def __init__(self, group: Group) -> None:
        super().__init__()
        self.group = group

    def compose(self) -> ComposeResult:
        g = self.group
        with Vertical(id="delete-box", classes="modal-box") as box:
            box.border_title = line_content(f"delete {g.id}")
            text = Text("Delete group ")
            text.append(safe_line(g.id), style="bold")
            if g.title:
                text.append(f" ({safe_line(g.title, limit=60)})")
            text.append(f", {_count(len(g.members), 'member')}, {_count(len(g.scans), 'scan')}, from the labels file? "
                        "u undoes it.")
            yield Static(text, id="delete-question")
            with Horizontal(classes="modal-buttons"):
                yield Button("Delete", id="delete-yes", variant="error", compact=True)
                yield Button("Keep", id="delete-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#delete-yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
