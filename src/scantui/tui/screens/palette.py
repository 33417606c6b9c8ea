"""The command palette (ctrl+p) with its own bottom row: its keys, not those of the screen beneath.

Textual's palette is a modal without a footer: the screen beneath's bottom row showed through it
(``a Accept x Reject q Quit``) while those keys typed into the palette's search. :class:`Palette` mounts the
pop-ups' :class:`~scantui.tui.widgets.footer.DialogFooter`, with its keys in the pop-ups' words.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.command import CommandPalette
from textual.dom import DOMNode

from scantui.tui.widgets.footer import DialogFooter


class Palette(CommandPalette):
    """Textual's command palette with a bottom row of its own keys."""

    #: What its keys do, by action (the search field's enter: ``submit``); the others are not listed.
    FOOTER_KEYS: ClassVar[dict[str, str]] = {"submit": "Run", "escape": "Close"}

    def on_mount(self) -> None:
        self.mount(DialogFooter())

    def key_description(self, _node: DOMNode, binding: Binding) -> str | None:
        return self.FOOTER_KEYS.get(binding.action)
