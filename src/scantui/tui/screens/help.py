"""``?``: the keys of the screen underneath (and its own notes), in a modal.

The modal has its own footer, as every pop-up (:class:`~scantui.tui.screens.dialog.DialogScreen`): the one
underneath said ``q Quit ? Keys`` while q and ? close the help (the App's ``quit`` cannot be hidden there:
ctrl+q, the same action, must still quit over forms).

Over a pop-up (``?`` where no field has the focus: the column picker, remove members, a confirmation) it lists
the pop-up's keys in the pop-up's words (``⏎ space  Tick``, not Textual's ``Select``) and its notes; escape or
``?`` goes back to the pop-up."""

from __future__ import annotations

import re

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from scantui.tui.screens.dialog import DialogScreen


def _own_filter(screen: Screen, binding: Binding) -> bool:
    """The App's ``/`` (a priority key, so the one active everywhere) where it filters this screen's own list."""
    return binding.action == "filter" and any(isinstance(b, Binding) and b.action == "focus_filter" for b in screen.BINDINGS)


def key_rows(screen: Screen) -> list[tuple[str, str, str]]:
    """(group, keys, what they do) for every described binding active on *screen*, one row per action.

    Groups: ``everywhere`` (the App's keys) first, then ``this screen`` (the screen's and its widgets'). A pop-up
    (its ``active_bindings`` stop at it: no App keys) lists ``this pop-up`` (its own keys) first, then ``in focus``
    (the focused widget's), only the keys its bottom row would list, in its words (its ``key_description``): not
    Textual's generic keys of a field or a list (``^c Copy``, ``Scroll Up``), nor tab where there is nowhere to go.
    """
    app = screen.app
    describe = getattr(screen, "key_description", None)  # a pop-up's (DialogScreen)
    groups = ("everywhere", "this pop-up", "in focus") if describe else ("everywhere", "this screen", "this screen")
    rows: dict[tuple[str, str, str], list[str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        description = describe(active.node, binding) if describe else binding.description  # a pop-up's: its own
        if not description:
            continue
        own = 0 if active.node is app and not _own_filter(screen, binding) else 1 if active.node is screen else 2
        description = description[:1].upper() + description[1:]  # Textual's ctrl+p says "palette"
        rows.setdefault((groups[own], binding.action, description), []).append(app.get_key_display(binding))
    out = [(group, " ".join(dict.fromkeys(keys)), description) for (group, _action, description), keys in rows.items()]
    return sorted(out, key=lambda row: groups.index(row[0]))  # stable: binding order kept within a group


def screen_name(screen: Screen) -> str:
    """``ColumnPickerScreen`` -> ``column picker``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(screen).__name__.removesuffix("Screen")).lower()


def help_table(rows: list[tuple[str, str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    group = None
    for row_group, keys, description in rows:
        if row_group != group:
            group = row_group
            table.add_row(Text(group, style="italic dim"), "")
        table.add_row(Text(keys), Text(description))
    return table


class HelpScreen(DialogScreen[None]):
    """The keys of the screen it was opened over; escape, q or ? close it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close", priority=True)]
    FOOTER_SHOWN_KEYS = {"dismiss": ("escape",)}  # "esc Close" (? comes first: a pop-up's ? opens this box)

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.for_screen = screen
        self.rows = key_rows(screen)  # now, while *screen* is still the active one

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = f"keys: {screen_name(self.for_screen)}"
            yield Static(help_table(self.rows), id="help-keys")
            notes = getattr(self.for_screen, "HELP", "")
            if notes:
                yield Static(Text(notes), id="help-notes")
            yield Static(Text("ctrl+p opens the command palette: every action, by name."), id="help-palette")

    def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
