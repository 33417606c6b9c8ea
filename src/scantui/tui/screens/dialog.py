"""The base of every pop-up (a modal): its own keys on the bottom row, not those of the screen beneath.

A modal's background dims the screen beneath, footer included (in 16 colours it is transparent: the footer
beneath showed as it was), so the row said ``a Accept x Reject q Quit`` while those keys typed into the
dialog's field. :class:`DialogScreen` mounts a :class:`~scantui.tui.widgets.footer.DialogFooter` over that
row: the keys bound in the pop-up (its bindings and its focused widget's), which are the only ones Textual
runs there (the App's keys, ``1``-``4``, ``q``, ``?``, wait until it is closed).

Keys a widget handles without showing them are described by the pop-up: :attr:`DialogScreen.FOOTER_KEYS`
maps the widget's action (``submit``: enter in an ``Input``; ``select``: enter in an ``OptionList``, space in
a ``SelectionList``) to what it does there; enter on a button says the button's label; tab says "Next" where
there is another widget to go to. A subclass's own ``on_mount`` runs as well (Textual calls each class's, the
subclass's first). Keys typed ahead of the pop-up's field wait at the App until it has the focus
(:mod:`scantui.tui.focus`).

Escape (with ``q`` where the pop-up binds it) is a priority key of every pop-up: it closes the pop-up as the App
takes it, and the keys typed after it go to the screen beneath (before, they reached the pop-up's field while it
closed). While a ``Select``'s menu is open the pop-up's escape is off: escape closes the menu only.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Button, Select

from scantui.tui.widgets.footer import DialogFooter

ResultType = TypeVar("ResultType")

#: Textual's tab (a ``Screen`` binding): listed as "Next" where the focus has somewhere else to go.
FOCUS_NEXT = "app.focus_next"


class DialogScreen(ModalScreen[ResultType]):
    """A modal with its keys in its own footer; see the module doc."""

    #: The pop-up's words for keys its widgets handle (action -> description); "" leaves a shown one out.
    FOOTER_KEYS: ClassVar[dict[str, str]] = {}
    #: ``?`` (the App's is off over a pop-up): the help box of the pop-up's keys, by the pop-up's own action (an
    #: ``app.help`` binding would be checked by the App's guard and stay off). Not where a field has the focus: an
    #: ``Input`` consumes it (typed), so it is not in the bindings there. Not on the bottom row (it would come and
    #: go with the focus). Textual's tab and shift+tab, as priority keys: the keys typed after tab go to the next
    #: field (focus)
    BINDINGS = [Binding("question_mark", "help", "Keys", show=False, id="dialog.help"),
                Binding("tab", FOCUS_NEXT, "Next", show=False, priority=True),
                Binding("shift+tab", "app.focus_previous", "Previous", show=False, priority=True)]

    def on_mount(self) -> None:
        self.mount(DialogFooter())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The pop-up's escape (a priority key) is off while a menu of it is open: escape closes the menu."""
        if action in self._escape_actions() and any(select.expanded for select in self.query(Select)):
            return False
        return super().check_action(action, parameters)

    def _escape_actions(self) -> set[str]:
        return {b.action for b in Binding.make_bindings(self.BINDINGS) if b.key == "escape"}

    def action_help(self) -> None:
        self.app.action_help()  # type: ignore[attr-defined]

    def key_description(self, node: DOMNode, binding: Binding) -> str | None:
        """What *binding* (bound on *node*) does in this pop-up, as its footer says; None: not listed."""
        if binding.action in self.FOOTER_KEYS:
            return self.FOOTER_KEYS[binding.action] or None
        if binding.action == "press" and isinstance(node, Button):
            return node.label.plain
        if binding.action == FOCUS_NEXT:
            return "Next" if len(self.focus_chain) > 1 else None
        return binding.description if binding.show else None
