"""The command palette (ctrl+p): every action by name, ``area: action``, for the screen shown.

The App lists its own commands (quit, keys, the areas) and asks the current
screen for its ``palette_commands()`` (name, help, callback) — as posting's
``commands.py`` does, so a screen added later brings its commands with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from scantui.tui.app import ScantuiApp


class ScantuiCommands(Provider):
    """Commands of the App and of the current screen."""

    def _commands(self):
        app = cast("ScantuiApp", self.app)
        return list(app.palette_commands(self.screen))

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
