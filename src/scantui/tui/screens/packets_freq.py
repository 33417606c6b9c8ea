"""``f`` in the packets view: the values of one column over the filtered packets, as VisiData's frequency table.

:class:`FrequencyScreen` is a modal over the packets: one row per value (the
model's :func:`~scantui.analysis.packets.frequency`: value, count, share, most
frequent first; flags as letters, IPs dotted). ``enter`` dismisses it with the
value under the cursor (the packets screen adds it to its field filter); escape
closes it. Values are data: shown as plain text, never markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from scantui.tui.columns import Column, int_text, percent_text, untrusted_text
from scantui.tui.safe import line_content
from scantui.tui.screens.dialog import DialogScreen
from scantui.tui.widgets.table import VirtualTable

if TYPE_CHECKING:
    import polars as pl

FREQUENCY_COLUMNS = (
    Column("value", "value", 26, fmt=untrusted_text),
    Column("count", "count", 11, "right", int_text),
    Column("share", "share", 7, "right", percent_text),
)


class FrequencyScreen(DialogScreen[Any]):
    """The values of column *header* (*counts*: value, count, share); dismissed with the value picked, or None."""

    DEFAULT_CSS = """
    FrequencyScreen { align: center middle; background: $background 60%; }
    FrequencyScreen #freq-box { width: 60; max-width: 95%; height: 80%; border: round $accent; background: $surface; }
    FrequencyScreen #freq-note { color: $text-muted; height: auto; }
    FrequencyScreen VirtualTable { height: 1fr; }
    """
    FOOTER_KEYS = {"select": "Add to filter"}  # enter on a value (the table's "Open")
    BINDINGS = [Binding("escape,q,f", "close", "Close", id="frequency.close", priority=True)]

    def __init__(self, header: str, counts: pl.DataFrame, total: int | None = None) -> None:
        super().__init__()
        self.header = header
        self.counts = counts.with_columns(counts["value"].cast(str)) if "value" in counts.columns else counts
        self.total = total

    def compose(self) -> ComposeResult:
        with Vertical(id="freq-box") as box:
            n = self.counts.height
            box.border_title = line_content(f"{self.header}: {n:,} value{'' if n == 1 else 's'}")
            yield VirtualTable(FREQUENCY_COLUMNS, self.counts, sort_key="count", descending=True, id="freq-table",
                               empty_text="no values")
            counted = int(self.counts["count"].sum()) if self.counts.height else 0
            yield Static(f"{counted:,} packets counted", id="freq-note", markup=False)

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()

    @property
    def table(self) -> VirtualTable:
        return self.query_one(VirtualTable)

    @on(VirtualTable.RowSelected)
    def _picked(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.dismiss(event.row.get("value"))

    def action_close(self) -> None:
        self.dismiss(None)
