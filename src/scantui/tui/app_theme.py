"""The Textual theme kept in the config file (``tui.theme``): applied at start, written when the user changes it.

The palette's "Change theme" sets ``App.theme``; the watcher below writes the new
name to the config file, so the next start (in a terminal or a browser session
of ``scantui serve``) opens in it. An unknown or malformed saved theme is a
notification and the default theme stays.
"""

from __future__ import annotations

from scantui.safetext import safe_line
from scantui.tui.state import error_text


class ThemeMixin:
    """Load the saved theme on mount (:meth:`apply_saved_theme`) and save each change (``watch_theme``)."""

    _theme_kept: str | None = None  # the theme the config file holds (None until the app has read it)

    def apply_saved_theme(self) -> None:
        from scantui.config import tui_theme

        try:
            name = tui_theme()
        except Exception as exc:  # noqa: BLE001 - a broken config file must not stop the app
            self.notify(error_text(exc), title="theme not applied", severity="error", timeout=12, markup=False)
            name = None
        if name is not None and name not in self.available_themes:
            self.notify(f"unknown theme '{safe_line(name)}' in the config file (tui.theme): the default theme is used",
                        title="theme not applied", severity="warning", timeout=12, markup=False)
            name = None
        self._theme_kept = name or self.theme
        if name is not None:
            self.theme = name

    def watch_theme(self, theme: str) -> None:
        if self._theme_kept is None or theme == self._theme_kept:
            return  # the start, or the theme the file already holds
        from scantui.config import save_tui_theme

        try:
            save_tui_theme(theme)
        except Exception as exc:  # noqa: BLE001 - the theme still changes; only keeping it failed
            self.notify(error_text(exc), title="theme not saved", severity="error", timeout=12, markup=False)
            return
        self._theme_kept = theme
