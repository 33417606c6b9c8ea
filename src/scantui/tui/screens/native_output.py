"""The native error output kept this session (Rust panics, C libraries' messages), as data, in a modal."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from scantui.safetext import safe_text
from scantui.tui.screens.dialog import DialogScreen


class NativeOutputScreen(DialogScreen[None]):
    """The kept lines, oldest first, every unsafe character escaped; escape or q closes it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="native_output.close", priority=True)]

    def __init__(self, lines: list[str], total: int) -> None:
        super().__init__()
        self.lines = lines
        self.total = total

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="native-output-box") as box:
            shown = len(self.lines)
            box.border_title = "native error output" + (f" (last {shown} of {self.total} lines)" if shown < self.total else "")
            text = "\n".join(self.lines) if self.lines else "nothing was written to stderr below Python this session"
            yield Static(Text(safe_text(text)), id="native-output-text")  # Text: never read as markup

    def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
