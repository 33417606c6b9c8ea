"""The query bar's field on the screens that filter a table: the footer says what enter and escape do there.

Textual's ``Input`` hides its keys from the footer, and the footer kept the
screen's ``/ Filter`` while typing (Textual does not know ``slash`` types
``/``), so the footer said ``/ Filter`` where ``/`` types a slash. Escape runs
the screen's ``leave_filter``, as the screen's own escape key did. Both take effect before the next key typed
after them is handed out (priority bindings; :class:`~scantui.tui.widgets.field.TextField`): ``/foo⏎j`` moves the
list's cursor. A screen where escape does something else in the bar says it with a subclass's own ``BINDINGS``
(:class:`ClearingFilterInput`), never by changing an instance's bindings.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from scantui.tui.focus import after_its_keys
from scantui.tui.widgets.field import TextField

#: Keys that type a character Textual does not map back from the key's name (``key_to_character``).
_TYPED = {"slash": "/", "minus": "-", "plus": "+", "at": "@", "backslash": "\\", "underscore": "_"}


class FilterInput(TextField):
    """An ``Input`` whose footer says: enter applies, escape *escape* (the screen's ``leave_filter``)."""

    BINDINGS = [
        Binding("enter", "submit", "Apply", id="filter.apply", priority=True),
        Binding("escape", "leave", "Back to table", id="filter.leave", priority=True),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("select_on_focus", False)
        super().__init__(*args, **kwargs)

    def action_leave(self) -> None:
        """Escape: the screen's ``leave_filter``, once the keys typed before it are in the field."""
        after_its_keys(self, self.screen.action_leave_filter)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Also the keys Textual cannot name a character for (``/``): typed here, so not in the footer."""
        return super().check_consume_key(key, character or _TYPED.get(key))


class ClearingFilterInput(FilterInput):
    """A query bar whose escape clears the filter (the candidates'): its footer says so. The same binding id as
    every query bar's escape, so one ``filter.leave`` in the keymap moves them all."""

    BINDINGS = [Binding("escape", "leave", "Clear", id="filter.leave", priority=True)]
