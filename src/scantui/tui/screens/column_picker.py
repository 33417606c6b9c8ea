"""``c`` on a table: which columns show, and in what order (a modal with a checkbox per column).

:class:`ColumnPickerScreen` lists every column of the table, the shown ones
first in their order, each with a checkbox: ``space`` shows/hides the column under
the cursor, ``shift+up``/``shift+down`` (or ``K``/``J``) move it, ``enter``
applies, ``escape`` cancels. The pinned key columns (the table's first ones)
cannot be hidden or moved. The result is ``(order, hidden)``: column keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from scantui.safetext import safe_line
from scantui.tui.columns import Column
from scantui.tui.screens.dialog import DialogScreen


class ColumnPickerScreen(DialogScreen[tuple[list[str], list[str]] | None]):
    """Pick the columns of a table; dismissed with (order of the non-pinned keys, hidden keys) or None."""

    DEFAULT_CSS = """
    ColumnPickerScreen { align: center middle; background: $background 60%; }
    ColumnPickerScreen #picker-box { width: 60; max-width: 95%; height: auto; max-height: 90%;
                                     border: round $accent; padding: 0 1; background: $surface; }
    ColumnPickerScreen SelectionList { height: auto; max-height: 16; border: none; padding: 0; }
    ColumnPickerScreen #picker-help { color: $text-muted; }
    """
    HELP = ("space shows or hides the column under the cursor; shift+↑ shift+↓ (or K J) move it; enter applies, "
            "escape cancels. The pinned key columns always show.")
    FOOTER_KEYS = {"select": "Show/hide"}  # space on a column
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel", priority=True),
        Binding("enter", "apply", "Apply", priority=True, id="picker.apply"),
        Binding("shift+up,K", "move(-1)", "Move up", id="picker.up"),
        Binding("shift+down,J", "move(1)", "Move down", id="picker.down"),
    ]

    def __init__(self, columns: Sequence[Column], shown: Sequence[Column], pinned: int) -> None:
        super().__init__()
        self.pinned = tuple(columns[:pinned])
        shown_keys = [c.key for c in shown[pinned:]]
        by_key = {c.key: c for c in columns}
        rest = [c for c in columns[pinned:] if c.key not in shown_keys]
        #: (column, shown) for the columns that can move: the shown ones in their order, then the hidden ones
        self.items: list[tuple[Column, bool]] = [(by_key[k], True) for k in shown_keys if k in by_key]
        self.items += [(c, False) for c in rest]

    def _label(self, column: Column) -> str:
        name = safe_line(column.header)
        return name if column.key == column.header else f"{name}  ({safe_line(column.key)})"

    def _selections(self) -> list[Selection[str]]:
        fixed = [Selection(self._label(c) + "  · pinned", f"\0{c.key}", True, disabled=True) for c in self.pinned]
        return fixed + [Selection(self._label(c), c.key, on) for c, on in self.items]

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box") as box:
            box.border_title = "columns"
            yield SelectionList[str](*self._selections(), id="picker-list")
            yield Static("Pinned key columns always show. The choice is remembered for this table.",
                         id="picker-help", markup=False)

    def on_mount(self) -> None:
        picks = self.query_one(SelectionList)
        picks.focus()
        picks.highlighted = len(self.pinned) if self.items else 0

    def _sync(self) -> None:
        """The checkboxes into :attr:`items` (the list is the truth for what is ticked)."""
        ticked = set(self.query_one(SelectionList).selected)
        self.items = [(c, c.key in ticked) for c, _on in self.items]

    def action_move(self, step: int) -> None:
        picks = self.query_one(SelectionList)
        at = (picks.highlighted or 0) - len(self.pinned)
        to = at + step
        if not (0 <= at < len(self.items) and 0 <= to < len(self.items)):
            return
        self._sync()
        self.items[at], self.items[to] = self.items[to], self.items[at]
        picks.clear_options()
        picks.add_options(self._selections())
        picks.highlighted = to + len(self.pinned)

    def action_apply(self) -> None:
        self._sync()
        self.dismiss(([c.key for c, _on in self.items], [c.key for c, on in self.items if not on]))

    def action_cancel(self) -> None:
        self.dismiss(None)
