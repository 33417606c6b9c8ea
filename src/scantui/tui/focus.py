"""Focus moved by a key at once, so the keys typed right after it reach the widget the user meant.

Keys that arrive in one burst (a fluent typist, typing over SSH) are each handed to the widget that has the
focus when the App takes them from its queue. A key's ordinary binding runs only after the key has bubbled
back up to the App, and ``Widget.focus()`` sets the focus from a callback queued behind the waiting keys:
``/port:443`` typed at once on the scanner list reached the table (``p`` opened the packets screen) instead
of the filter bar. So ``/``, ``t``, ``T``, ``w`` and ``v`` are priority bindings (run as the App takes the
key, before the next one is handed out; disabled over a pop-up and while a field has the focus, where they
type), the bars take the focus with :func:`focus_now`, and a pop-up keeps the keys that reach it before its
field has the focus and hands them on in order (:class:`~scantui.tui.screens.dialog.DialogScreen`).
"""

from __future__ import annotations

from typing import Any


#: The App's actions bound as priority keys: each moves the focus to a field or opens a pop-up with one, so it must
#: run before the keys typed after it are handed out; none runs over a pop-up or while a field has the focus.
TYPED_AHEAD = ("filter", "time_range", "clear_time_range", "save_view", "views")


def focus_now(widget: Any) -> None:
    """Give *widget* the focus now; where it cannot take it yet, Textual's deferred way."""
    try:
        widget.screen.set_focus(widget)
    except Exception:  # noqa: BLE001 - not on a screen yet (being mounted): the deferred focus below
        pass
    if not widget.has_focus:
        widget.focus()


def typing_here(app: Any) -> bool:
    """Whether the focused widget is a field a printable key types into."""
    from textual.widgets import Input, TextArea

    return isinstance(app.focused, (Input, TextArea))
