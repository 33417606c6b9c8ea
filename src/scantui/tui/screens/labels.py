"""The labels area: every labelled group, editable, and a group's tracking view.

(Placeholder: being built.)
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class LabelsScreen(Screen):
    HELP = "The groups of the labels file."

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield Static("labels", id="labels-placeholder")
        yield Footer()


class TrackScreen(Screen):
    HELP = "A labelled group over the whole data."

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield Static(f"track {self.group_id}")
        yield Footer()
