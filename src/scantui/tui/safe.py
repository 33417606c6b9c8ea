"""Untrusted text on its way into a widget: one helper per kind of widget, all on :mod:`scantui.safetext`.

Titles, notes and tags come from a shared labels file, AS names and hostnames
from the data or a look-up service, file names from the command line: all of
it is data. Textual writes a widget's text to the terminal as it is (an
``Input`` holding ``ESC ] 0 ;`` sets the window title), so everything shown
goes through :func:`~scantui.safetext.safe_line` (one line: inputs, cells,
titles) or :func:`~scantui.safetext.safe_text` (notes); places that would
read a string as markup (border titles, palette entries) get :func:`line_content`,
literal text that no markup parser sees.

Pastes are the one way raw characters could be typed (a key press of ESC is a
key, never text): :func:`paste_text` is what the App hands on instead.

The label edit form shows the escaped text and keeps a field's stored value
when its shown text was not changed (see :mod:`scantui.tui.screens.edit_group`).
"""

from __future__ import annotations

from typing import Any

from textual.content import Content

from scantui.safetext import safe_line, safe_text


def line_content(value: Any, *, limit: int | None = None) -> Content:
    """One line of literal text (never markup) for a border title or a palette entry, unsafe characters escaped."""
    return Content(safe_line(value, limit=limit))


def paste_text(text: str) -> str:
    """A paste as it may enter a field: line breaks normalised to ``\\n``, other unsafe characters escaped."""
    return safe_text(text.replace("\r\n", "\n").replace("\r", "\n"))
