"""A text field whose enter takes effect before the next key typed after it is handed out.

Textual's ``Input`` handles enter as the key reaches it and posts ``Submitted``, which its screen handles
later, behind the keys already waiting for the field: ``/foo⏎j`` typed ``j`` into the query bar instead of
moving the list's cursor, and the keys after enter in a pop-up's field were typed into a pop-up being closed.
Here enter is a priority binding (run as the App takes the key) that posts ``Submitted`` to the screen and has
the App hold the next keys until the screen has handled it (:func:`scantui.tui.focus.submit_now`): they go to
where the screen put the focus, or to the screen beneath when it closed.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input

from scantui.tui.focus import submit_now


class TextField(Input):
    """An ``Input`` whose enter is handled by its screen before the next key; see the module doc."""

    BINDINGS = [Binding("enter", "submit", "Submit", show=False, priority=True)]

    async def action_submit(self) -> None:
        submit_now(self)
