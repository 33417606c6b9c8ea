"""``l``: label a candidate or a suggestion as a new group, or add it to a labelled group (a modal).

The id is prefilled with the session's next free id (``G01``...) and the title
from the AS or key; enter in either field creates the group. Below, the
labelled groups, those holding most of these IPs first: enter adds to the one
under the cursor. Escape cancels. The modal only asks; the caller
(:func:`scantui.tui.labelling.label_dialog`) saves, and opens it again with
the analyst's input and the reason when the id was taken meanwhile. Titles and ids come from
the labels file, so they are shown as plain text with control characters escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from scantui.safetext import safe_line
from scantui.tui.safe import line_content
from scantui.tui.screens.dialog import DialogScreen
from scantui.tui.widgets.field import TextField

TITLE_SHOWN = 40  # characters of a group's title in the list


@dataclass(frozen=True)
class LabelChoice:
    """What the analyst chose: a new group (*new*, with *title*) or an existing one to add to.

    *suggested*: the id is the one scantui prefilled (scantui may re-number it
    when another analyst takes it first); otherwise the analyst typed it.
    """

    new: bool
    group_id: str
    title: str | None = None
    suggested: bool = False


def group_option(group: Any, share: float) -> Option:
    """One labelled group as a list line: id, verdict, members (IPs and CIDRs), title, share of these IPs."""
    title = safe_line(group.title or "", limit=TITLE_SHOWN)
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{safe_line(group.id):<8} ", style="bold")
    n = len(group.members)  # IPs and CIDRs
    line.append(f"{group.verdict:<17} {n:>4} {'member' if n == 1 else 'members':<8} ")
    line.append(title)
    if share > 0:
        line.append(f"  holds {share:.0%} of these", style="italic")
    return Option(line, id=group.id)


class LabelAsScreen(DialogScreen[LabelChoice | None]):
    """Ask for a new group or a labelled group to add to; dismissed with a :class:`LabelChoice` or None."""

    HELP = ("Label the candidate or suggestion: enter in the id or title field creates a new group "
            "(verdict collaborative); enter on a labelled group adds these IPs and scans to it. "
            "tab moves between the fields and the list; escape (or q outside a field) cancels.")
    FOOTER_KEYS = {"submit": "Create group", "select": "Add to group"}  # enter in a field / on a labelled group
    BINDINGS = [Binding("escape,q", "cancel", "Cancel", id="label_as.cancel", priority=True)]

    def __init__(self, heading: str, next_id: str, title: str, groups: list[tuple[Any, float]], used_ids: set[str], *,
                 group_id: str | None = None, error: str | None = None) -> None:
        super().__init__()
        self.heading = heading
        self.next_id = next_id
        self.start_id = group_id if group_id is not None else next_id  # asked again: the id typed before
        self.start_title = title
        self.groups = groups
        self.used_ids = used_ids
        self.start_error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="label-box") as box:
            box.border_title = line_content(self.heading)
            yield Static("New group (collaborative)", classes="label-heading")
            with Horizontal(classes="label-field"):
                yield Label("id", classes="label-name")
                yield TextField(self.start_id, id="label-id", select_on_focus=False)
            with Horizontal(classes="label-field"):
                yield Label("title", classes="label-name")
                yield TextField(safe_line(self.start_title), id="label-title", select_on_focus=False)  # saved as shown
            with Horizontal(classes="label-field"):
                yield Label("", classes="label-name")
                yield Button("Create", id="label-create", compact=True, variant="primary")
            yield Static("", id="label-error", markup=False)
            if self.groups:
                yield Static("Or add to a labelled group (those holding these IPs first)", classes="label-heading")
                yield OptionList(*(group_option(g, share) for g, share in self.groups), id="label-groups")
            else:
                yield Static("No labelled groups yet.", classes="label-heading")

    def on_mount(self) -> None:
        if self.start_error:
            self._show_error(self.start_error)
        elif self.groups and self.groups[0][1] >= 0.5:  # already labelled: adding to its group is the likely wish
            self.query_one(OptionList).focus()
        else:
            self.query_one("#label-id", Input).focus()

    # ------------------------------------------------------------ choices

    @on(Input.Submitted)
    @on(Button.Pressed, "#label-create")
    def _create(self) -> None:
        group_id = self.query_one("#label-id", Input).value
        error = self._check_id(group_id)
        if error:
            self._show_error(error)
            return
        title = self.query_one("#label-title", Input).value.strip() or None
        self.dismiss(LabelChoice(True, group_id, title, suggested=group_id == self.next_id))

    def _show_error(self, error: str) -> None:
        shown = self.query_one("#label-error", Static)
        shown.update("✗ " + safe_line(error))
        shown.display = True
        self.query_one("#label-id", Input).focus()

    def _check_id(self, group_id: str) -> str | None:
        from scantui.labels.model import check_id

        try:
            check_id(group_id)
        except ValueError as exc:
            return safe_line(str(exc))
        if group_id in self.used_ids:
            return f"{safe_line(group_id)} exists: choose another id, or add to it below"
        return None

    @on(OptionList.OptionSelected, "#label-groups")
    def _add(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(LabelChoice(False, event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
