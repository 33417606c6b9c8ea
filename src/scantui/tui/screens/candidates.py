"""The candidates area: collaborative-scan candidates and suggested groups, ranked, with review state.

(Placeholder: being built.)
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class CandidatesScreen(Screen):
    HELP = "Candidate collaborative scans and suggested groups."

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield Static("candidates", id="candidates-placeholder")
        yield Footer()
