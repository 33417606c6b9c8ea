"""One line showing how far the loading pipeline got; it hides itself when loading ends.

It follows the App's reactive ``progress`` (0..1), ``progress_text`` and
``loading``, so every screen can show the same bar without wiring.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar


class LoadingBar(Horizontal):
    DEFAULT_CSS = """
    LoadingBar { height: 1; padding: 0 1; }
    LoadingBar > Label { width: 1fr; color: $text-muted; }
    LoadingBar > ProgressBar { width: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Label("", markup=False)
        yield ProgressBar(total=100, show_eta=False)

    def on_mount(self) -> None:
        app = self.app
        self.watch(app, "progress", self._progress, init=True)
        self.watch(app, "progress_text", self._text, init=True)
        self.watch(app, "loading", self._loading, init=True)

    def _progress(self, value: float) -> None:
        self.query_one(ProgressBar).update(progress=round(value * 100, 1))

    def _text(self, text: str) -> None:
        self.query_one(Label).update(text)

    def _loading(self, loading: bool) -> None:
        self.display = loading
