"""``?``: the keys of the screen underneath (and its own notes), in a modal.

The modal has its own footer, as every pop-up (:class:`~scantui.tui.screens.dialog.DialogScreen`): the one
underneath said ``q Quit ? Keys`` while q and ? close the help (the App's ``quit`` cannot be hidden there:
ctrl+q, the same action, must still quit over forms)."""

from __future__ import annotations

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

    Groups: ``everywhere`` (the App's keys) first, then ``this screen`` (the screen's and its widgets').
    """
    app = screen.app
    rows: dict[tuple[str, str, str], list[str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description:
            continue
        group = "everywhere" if active.node is app and not _own_filter(screen, binding) else "this screen"
        description = binding.description[:1].upper() + binding.description[1:]  # Textual's ctrl+p says "palette"
        rows.setdefault((group, binding.action, description), []).append(app.get_key_display(binding))
    out = [(group, " ".join(dict.fromkeys(keys)), description) for (group, _action, description), keys in rows.items()]
    return sorted(out, key=lambda row: row[0] != "everywhere")  # stable: binding order kept within a group


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

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.for_screen = screen
        self.rows = key_rows(screen)  # now, while *screen* is still the active one

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = f"keys: {type(self.for_screen).__name__.removesuffix('Screen').lower()}"
            yield Static(help_table(self.rows), id="help-keys")
            notes = getattr(self.for_screen, "HELP", "")
            if notes:
                yield Static(Text(notes), id="help-notes")
            yield Static(Text("ctrl+p opens the command palette: every action, by name."), id="help-palette")

    def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
