"""A placeholder for one scanner's detail: its row, field by field (the real screen comes later).

:meth:`ScantuiApp.open_scanner` pushes it; replace that method to open the
full detail screen.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from scantui.tui.columns import SCANNER_COLUMNS, scanner_columns


def row_table(row: dict[str, Any]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for column in scanner_columns(list(row)):
        full = replace(column, width=10_000)  # the whole value; Text never interprets markup
        table.add_row(column.header, Text(full.cell(row[column.key])))
    return table


class ScannerDetailScreen(Screen):
    """One scanner's fields; escape goes back to the list."""

    HELP = "The scanner's row, field by field. The full detail view comes in a later version."
    BINDINGS = [Binding("escape", "app.back", "Back", id="detail.back")]

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        with VerticalScroll(id="detail-box") as box:
            box.border_title = f"scanner {SCANNER_COLUMNS[0].cell(self.row.get('src'))}"
            yield Static(row_table(self.row))
        yield Footer()


class CandidateDetailScreen(Screen):
    """A candidate scan's detail (placeholder: being built)."""

    BINDINGS = [Binding("escape", "app.back", "Back", id="detail.back")]

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield Static(Text(f"{self.record.get('port')} {self.record.get('day')} {self.record.get('key')}"))
        yield Footer()


class GroupDetailScreen(CandidateDetailScreen):
    """A suggested group's detail (placeholder: being built)."""
