"""Text fields whose editing keys keep their place among keys typed ahead (Textual #6605).

Textual's ``Input`` and ``TextArea`` insert a printable key in their own
``_on_key``, but run a bound key (backspace, arrows, ``ctrl+u``, ``ctrl+a``,
``enter``) only once the key has bubbled up to the App. Keys that arrive in one
read (a fluent typist, any typing over SSH, a paste-like burst) are handed out
before that: ``ctrl+u`` then ``2024-02-05`` typed the day and then deleted it;
``ctrl+a`` then ``x`` put the ``x`` at the end. :class:`InlineBindings` runs the
field's own (non-priority) bindings in its ``_on_key``, as the App would run
them, so each key acts where it was typed. Priority bindings still run first
(the App checks them before the field sees the key), and keys the field does not
bind still bubble. The same fix is proposed upstream (Textual pull request 6631);
drop this module once a Textual release has it.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input, TextArea


class InlineBindings:
    """Mixin for a text field: its own bindings run when its key is handed to it, in the order typed."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            # (the widget's BindingsMap, keymap applied: what App._check_bindings reads for this namespace)
            bindings = self._bindings.key_to_bindings  # type: ignore[attr-defined]
            for key in event.aliases:
                for binding in bindings.get(key, ()):
                    if not binding.priority and await self.app.run_action(binding.action, self):  # type: ignore[attr-defined]
                        event.stop()
                        event.prevent_default()
                        return
        await super()._on_key(event)  # type: ignore[misc]


class OrderedInput(InlineBindings, Input):
    """A one-line text field (``Input``) whose editing keys run in the order typed."""


class OrderedTextArea(InlineBindings, TextArea):
    """A text box (``TextArea``) whose editing keys run in the order typed."""
