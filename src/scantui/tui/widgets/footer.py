"""The footer every screen shows: the keys in compact style, without the command palette's key.

At 80 columns the default footer (padded keys, ``^p palette`` on the right) cut
the scanners screen's keys after ``1 O…``: the area keys did not show. The
palette key is on the ``?`` screen (and ctrl+p still opens it).

Where the screen's own keys and the App's do not fit in one row, the App's keys
are left out from the last one (they are all under ``everywhere`` in ``?``), never
``? Keys`` itself: the footer no longer ends in a cut word (``2 Sca``).
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: The App's key that stays in the footer whatever the width: it lists the ones left out.
HELP_ACTION = "help"


def key_width(key: FooterKey) -> int:
    """Columns a compact footer key takes: its key, a space and its description, then its right margin."""
    return cell_len(key.key_display) + (1 + cell_len(key.description) if key.description else 0) + 1


def left_out(keys: list[tuple[int, bool, str]], width: int) -> set[int]:
    """Which keys to leave out of a *width*-column row: *keys* are (width, the App's, action) in footer order;
    the App's keys go from the last one (never the help key) until the row fits."""
    total = sum(w for w, _app, _action in keys) - 1  # the last key's margin may fall off the edge
    out: set[int] = set()
    for i in range(len(keys) - 1, -1, -1):
        if total <= width:
            break
        w, app_key, action = keys[i]
        if app_key and action != HELP_ACTION:
            out.add(i)
            total -= w
    return out


class KeysFooter(Footer):
    """:class:`~textual.widgets.Footer`, compact, without the palette's key; the App's keys that do not fit in
    the row are left out (:func:`left_out`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        kwargs.setdefault("show_command_palette", False)
        super().__init__(**kwargs)
        self._fit: tuple[int, bool] | None = None  # (the composed keys' columns, whether some were left out)

    def _row_width(self) -> int:
        return self.size.width or self.app.size.width

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        app_keys = {(a.binding.key, a.binding.action) for a in self.screen.active_bindings.values() if a.node is self.app}
        keys = [(key_width(w), (w.key, w.action) in app_keys, w.action) for w in widgets if isinstance(w, FooterKey)]
        out = left_out(keys, self._row_width())
        self._fit = (sum(w for w, _app, _action in keys) - 1, bool(out))
        n = -1
        for widget in widgets:
            if isinstance(widget, FooterKey):
                n += 1
                if n in out:
                    continue
            yield widget

    def on_resize(self, _event: events.Resize) -> None:
        """A new width may fit the keys left out, or no longer fit those shown: compose again then."""
        if self._fit is None or not self._bindings_ready:
            return
        total, some_out = self._fit
        if some_out or total > self._row_width():
            self.call_after_refresh(self.recompose)
