"""The query bars' typing rule, shared by the screens that filter a table as you type.

A :class:`FilterScreen` has an ``Input`` with id ``filter``, a ``table`` and an
``apply_filter(text, report=...) -> bool``. Typing applies the filter after
:data:`FILTER_DELAY` seconds without a key (quietly: a half-typed term is not an
error yet); enter applies it at once, reports a bad term and, when it was good,
moves the focus back to the table.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from scantui.tui.focus import focus_now

FILTER_DELAY = 0.3  # seconds of no typing before the filter runs


class FilterScreen(Screen):
    """A screen whose ``#filter`` bar filters its ``table``; see the module doc."""

    table: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filter_timer: Timer | None = None

    def apply_filter(self, text: str, *, report: bool) -> bool:
        raise NotImplementedError

    def cancel_pending_filter(self) -> None:
        """Forget a filter typed but not applied yet (it is about to be applied or replaced)."""
        if self.filter_timer is not None:
            self.filter_timer.stop()
            self.filter_timer = None

    @on(Input.Changed, "#filter")
    def filter_typed(self, event: Input.Changed) -> None:
        self.cancel_pending_filter()
        self.filter_timer = self.set_timer(FILTER_DELAY, lambda: self.apply_filter(event.value, report=False))

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.cancel_pending_filter()
        if self.apply_filter(event.value, report=True):
            focus_now(self.table)  # before the keys typed after enter are handed out (scantui.tui.focus)
