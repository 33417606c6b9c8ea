"""The base of every pop-up (a modal): its own keys on the bottom row, not those of the screen beneath.

A modal's background dims the screen beneath, footer included (in 16 colours it is transparent: the footer
beneath showed as it was), so the row said ``a Accept x Reject q Quit`` while those keys typed into the
dialog's field. :class:`DialogScreen` mounts a :class:`~scantui.tui.widgets.footer.DialogFooter` over that
row: the keys bound in the pop-up (its bindings and its focused widget's), which are the only ones Textual
runs there (the App's non-priority keys, ``1``-``4``, ``q``, ``?``, wait until it is closed).

Keys a widget handles without showing them are described by the pop-up: :attr:`DialogScreen.FOOTER_KEYS`
maps the widget's action (``submit``: enter in an ``Input``; ``select``: enter in an ``OptionList``, space in
a ``SelectionList``) to what it does there; enter on a button says the button's label; tab says "Next" where
there is another widget to go to. A subclass's own ``on_mount`` runs as well (Textual calls each class's).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from textual import events
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button

from scantui.tui.widgets.footer import DialogFooter

ResultType = TypeVar("ResultType")

#: Seconds a pop-up keeps the keys typed ahead waiting for one of its widgets to take the focus.
UNFOCUSED_AFTER = 0.5

#: Textual's tab (a ``Screen`` binding): listed as "Next" where the focus has somewhere else to go.
FOCUS_NEXT = "app.focus_next"


class DialogScreen(ModalScreen[ResultType]):
    """A modal with its keys in its own footer; see the module doc."""

    #: ``?`` (the App's waits under a modal): the help box of the pop-up's keys. Not where a field has the focus:
    #: an ``Input`` consumes it (typed), so it is not in the bindings there. Not on the bottom row (it would
    #: come and go with the focus).
    BINDINGS = [Binding("question_mark", "app.help", "Keys", show=False, id="dialog.help")]
    #: The pop-up's words for keys its widgets handle (action -> description); "" leaves a shown one out.
    FOOTER_KEYS: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ahead: list[events.Key] | None = []  # keys that came before any widget had the focus (None: none since)

    def _on_mount(self, _event: events.Mount) -> None:
        self.mount(DialogFooter())
        self.set_timer(UNFOCUSED_AFTER, self._nothing_focused)

    def _nothing_focused(self) -> None:
        """A pop-up where nothing took the focus (nothing focusable in it) keeps no keys: those kept go to the
        pop-up itself (escape closes it), and the next ones too."""
        ahead, self._ahead = self._ahead, None
        if ahead and self.focused is None:
            for key in ahead:
                self.post_message(events.Key(key.key, key.character))

    def on_key(self, event: events.Key) -> None:
        """A key typed ahead (``t2024-02-05⏎`` in one burst) reaches the pop-up before its field has the focus:
        kept, and handed to the field in order once it has it (:meth:`set_focus`), instead of being lost."""
        if self._ahead is not None and self.focused is None:
            event.stop()
            event.prevent_default()
            self._ahead.append(event)

    def set_focus(self, widget: Widget | None, scroll_visible: bool = True, from_app_focus: bool = False) -> None:
        super().set_focus(widget, scroll_visible=scroll_visible, from_app_focus=from_app_focus)
        ahead, focused = self._ahead, self.focused
        if focused is None or ahead is None:
            return
        self._ahead = None  # from now on keys go to the focused widget as usual, after these
        for key in ahead:  # posted now, before the App hands the focused widget any later key
            focused._forward_event(events.Key(key.key, key.character))

    def key_description(self, node: DOMNode, binding: Binding) -> str | None:
        """What *binding* (bound on *node*) does in this pop-up, as its footer says; None: not listed."""
        if binding.action in self.FOOTER_KEYS:
            return self.FOOTER_KEYS[binding.action] or None
        if binding.action == "press" and isinstance(node, Button):
            return node.label.plain
        if binding.action == FOCUS_NEXT:
            return "Next" if len(self.focus_chain) > 1 else None
        return binding.description if binding.show else None
