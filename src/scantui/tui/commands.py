"""The command palette (ctrl+p): every action by name, ``area: action``, for the screen shown.

The App lists its own commands (quit, keys, the areas) and asks the current
screen for its ``palette_commands()`` (name, help, callback) — as posting's
``commands.py`` does, so a screen added later brings its commands with it.
A name or help may quote data (a group id, a file name): the palette would read
it as markup and write it raw, so both are shown as literal one-line text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from scantui.safetext import safe_line
from scantui.tui.safe import line_content

if TYPE_CHECKING:
    from scantui.tui.app import ScantuiApp


class ScantuiCommands(Provider):
    """Commands of the App and of the current screen."""

    def _commands(self):
        app = cast("ScantuiApp", self.app)
        return list(app.palette_commands(self.screen))

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            name = safe_line(name)
            yield DiscoveryHit(Content(name), callback, text=name, help=line_content(help_text))  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            name = safe_line(name)
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, _highlight(matcher, name), callback, text=name, help=line_content(help_text))  # type: ignore[arg-type]


def _highlight(matcher: Matcher, text: str) -> Content:
    """*text* as literal content with the matched characters styled (``Matcher.highlight`` would read markup)."""
    content = Content(text)
    _score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
