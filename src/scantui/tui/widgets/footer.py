"""The footer every screen shows: the keys in compact style, without the command palette's key.

At 80 columns the default footer (padded keys, ``^p palette`` on the right) cut
the scanners screen's keys after ``1 O…``: the area keys did not show. The
palette key is on the ``?`` screen (and ctrl+p still opens it).
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class KeysFooter(Footer):
    """:class:`~textual.widgets.Footer`, compact, without the palette's key."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        kwargs.setdefault("show_command_palette", False)
        super().__init__(**kwargs)
