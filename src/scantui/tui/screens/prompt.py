"""A small modal asking for a few text fields: "open data…" (a path) and the candidates' search options.

:class:`PromptScreen` shows one labelled :class:`Input` per field, prefilled;
enter in any field submits, escape cancels. An optional *check* turns the
values into the result or raises :class:`ValueError` (or a ScantuiError): the
message is shown in the modal, which stays open with what was typed. What the
user typed and the error texts are shown as plain text, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from scantui.safetext import safe_line, safe_text
from scantui.tui.safe import line_content
from scantui.tui.screens.dialog import DialogScreen
from scantui.tui.widgets.field import TextField

#: (key, label, prefilled value, placeholder)
Field = tuple[str, str, str, str]


class PromptScreen(DialogScreen[Any]):
    """Ask for *fields*; dismissed with ``check(values)`` (values: key -> text), or None on escape."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; background: $background 60%; }
    PromptScreen #prompt-box { width: 90%; max-width: 100; height: auto; border: round $accent; padding: 0 1; background: $surface; }
    PromptScreen .prompt-field { height: auto; }
    PromptScreen .prompt-name { width: 12; padding: 1 1 0 0; }
    PromptScreen .prompt-field > Input { width: 1fr; }
    PromptScreen #prompt-help { color: $text-muted; }
    PromptScreen #prompt-error { color: $error; }
    """
    FOOTER_KEYS = {"submit": "Apply"}
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel", priority=True)]

    def __init__(self, title: str, fields: Sequence[Field], *, help_text: str = "",
                 check: Callable[[dict[str, str]], Any] | None = None) -> None:
        super().__init__()
        self.prompt_title = title
        self.fields = tuple(fields)
        self.help_text = help_text
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box") as box:
            box.border_title = line_content(self.prompt_title)
            for key, label, value, placeholder in self.fields:
                with Horizontal(classes="prompt-field"):
                    yield Label(label, classes="prompt-name", markup=False)
                    yield TextField(safe_line(value), placeholder=placeholder, id=f"prompt-{key}", select_on_focus=False)
            if self.help_text:
                yield Static(self.help_text, id="prompt-help", markup=False)
            yield Static("", id="prompt-error", markup=False)

    def values(self) -> dict[str, str]:
        return {key: self.query_one(f"#prompt-{key}", Input).value for key, *_rest in self.fields}

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        values = self.values()
        try:
            result = self.check(values) if self.check is not None else values
        except ValueError as exc:  # how the checks say what is wrong: its text, not "ValueError: ..."
            self.query_one("#prompt-error", Static).update(safe_text((str(exc).strip().splitlines() or ["not valid"])[0]))
            return
        except Exception as exc:  # noqa: BLE001 - a bad value is said in the modal, which stays
            from scantui.tui.state import error_text

            self.query_one("#prompt-error", Static).update(safe_text(error_text(exc)))
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
