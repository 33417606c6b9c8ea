"""Keys typed ahead reach the widget the user meant: the key that moves the focus takes effect first.

Keys that arrive in one burst (a fluent typist, typing over SSH) are each handed to the widget that has the
focus when the App takes them from its queue. A key's ordinary binding runs only after the key has bubbled
back up to the App, and a new screen takes the focus only once it is mounted, so the keys after ``l`` (the
label dialog), enter (a detail), escape (back to the list) or ``3`` (another area) reached the widget the focus
was leaving: ``lfoo⏎`` on the scanner list typed nothing into the dialog, and ran the table's keys. Two rules:

1. A binding whose action opens a screen or a pop-up or moves the focus to a field is a **priority** binding:
   Textual runs it as the App takes the key, before the next key is handed out. Its guards: over a pop-up
   only the pop-up's own run (Textual's chain starts at the top screen; the App's keys check it,
   :data:`TYPED_AHEAD`), and never while a field has the focus (a printable key types there: Textual leaves
   out the bindings of the keys a focused ``Input`` takes; enter opens a row only from a list,
   :class:`OpensRows`; escape's actions leave the field first).
2. Once the screen changed (pushed, popped, another area: Textual's ``screen_change_signal``), the App holds
   the keys that arrive (:class:`TypedAheadMixin`) until the new screen is drawn and its focus set, then hands
   them out in order: to the widget it focused (a dialog's field), or to the screen where nothing took the focus.

3. Enter and escape in a field take effect before the next key too (priority bindings of the field and of the
   pop-ups): enter posts ``Submitted`` to the screen and the App holds the keys until the screen has handled it
   (:func:`submit_now`); escape leaves the field (:func:`focus_now` on the list) or closes the pop-up at once.
   ``/foo⏎j`` moves the list's cursor; ``l``, escape, ``j`` moves it under the closed pop-up.

4. A key handed to a widget holds the next ones until the widget has taken it: a priority key reads the state
   the keys before it left (``jj⏎`` opens the third row, ``jjl`` labels it), not the state before them.

5. A list whose new rows are on their way (a filter's result, from a worker: ``expect_frame``) takes the keys
   that move its cursor at once, and makes them again on the new rows (:mod:`scantui.tui.widgets.moves_ahead`);
   any other key typed at it (enter, ``l``, ``space``...) holds the keys until the new rows are shown (or their
   worker fails; at most :data:`ROWS_AT_MOST`): it acts on the rows of the filtered list (``/port:443⏎jj⏎``
   opens its third row, however long the filter takes). The keys that do not act on those rows (``t``, ``T``,
   ``U``, ``1``-``4``, ``q``: :data:`AT_ONCE`) go at once.

The filter bars take the focus with :func:`focus_now` (``Widget.focus`` is deferred behind the waiting keys).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from textual import events

#: The App's actions bound as priority keys (rule 1): each opens a screen or pop-up or focuses a field; none runs
#: over a pop-up or while a field has the focus.
TYPED_AHEAD = ("filter", "time_range", "clear_time_range", "save_view", "views", "area", "help")

#: Seconds at most the keys wait for a new screen (a safety net: it is drawn long before, even under load).
HOLD_AT_MOST = 2.0

#: Seconds at most a key waits for a list's new rows (rule 5): a filter over a year of data may take seconds, and
#: its worker hands the keys out as soon as its rows are shown or it fails (``rows_not_coming``); this is only the
#: net for a worker that never reports (with 2 s, ``/port:443⏎jj⏎`` opened the old list's third row when the
#: filter took longer).
ROWS_AT_MOST = 30.0

#: Actions a key runs at once while a list's new rows are on their way (rule 5): they do not act on those rows.
#: Another time range or UDP probes counted or not (the rows asked before are not wanted: the scanner list's recount
#: for those days, minutes at a year, stops at its next source range), another area (the count goes on there, its
#: rows shown on coming back), or quitting; each waited for the rows, up to 30 s.
AT_ONCE = frozenset({"time_range", "clear_time_range", "toggle_udp", "area", "quit"})

#: A list's actions that a key runs at once while its new rows are on their way (rule 5): cursor moves, made
#: again on the new rows, and the column cursor (no row).
MOVES_NOW = frozenset({"cursor_up", "cursor_down", "page_up", "page_down", "first", "last", "column",
                       "scroll_columns"})


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


def binds_key(screen: Any, key: str) -> bool:
    """Whether *screen* (or its focused widget) binds *key*, as the user's keymap has it: Textual's public
    ``active_bindings``, where the App's own binding of *key* asks this again (its ``check_action``): there the
    question is off (False), so the App's binding counts as the App's."""
    app = screen.app
    if getattr(app, "_asking_binds_key", False):
        return False
    app._asking_binds_key = True
    try:
        active = screen.active_bindings.get(key)
    finally:
        app._asking_binds_key = False
    return active is not None and active.node is not app


def waits_for_rows(app: Any, target: Any, event: events.Event) -> Callable[[Callable[[], None]], None] | None:
    """Rule 5: where key *event*, handed to *target*, waits for the new rows on their way to it, the way to be
    called back when they are shown (``when_rows_shown``); None where it goes now."""
    if not isinstance(event, events.Key) or not getattr(target, "rows_on_their_way", False):
        return None
    active = app.screen.active_bindings.get(event.key)
    action = active.binding.action.split("(")[0] if active is not None else None
    if active is not None and active.node is target and action in MOVES_NOW:
        return None
    if action in AT_ONCE:  # another range, UDP setting or area, or quit: nothing the rows on their way are for
        return None
    return target.when_rows_shown


def release_after_bubbling(app: Any, node: Any, settling: int) -> None:
    """Release the keys held (*settling*) once what *node* has in its queue now has bubbled up to the App: each
    ancestor's queue in turn, as a message or a key bubbles (a key's ordinary bindings run at the App)."""
    def hop(at: Any) -> None:  # in *at*'s queue after the message: it is in the parent's queue now
        parent = at.parent
        if parent is None or parent is app:
            app.release_keys_later(settling)  # a screen closed meanwhile: its own change releases instead
        else:
            parent.call_later(hop, parent)

    node.call_later(hop, node)


def after_its_keys(widget: Any, action: Callable[[], object]) -> None:
    """Rule 3's order for a priority key of *widget* whose *action* posts a message its screen acts on (enter:
    ``Submitted``, ``RowSelected``): the keys after it wait until *action* has run (once the widget has taken the
    keys before) and its message has bubbled up to the App."""
    app = widget.app
    if not hasattr(app, "hold_keys"):  # an App without typed-ahead keys (a widget's own test): at once
        action()
        return
    settling = app.hold_keys()

    def run() -> None:
        action()
        release_after_bubbling(app, widget, settling)

    widget.call_later(run)


def submit_now(field: Any) -> None:
    """Enter in *field* (an ``Input``): its ``Submitted`` (validated as Textual's ``action_submit`` would) handled
    before the keys after enter are handed out (:func:`after_its_keys`)."""
    from textual.widgets import Input

    def submit() -> None:
        result = field.validate(field.value) if "submitted" in field.validate_on else None
        field.post_message(Input.Submitted(field, field.value, result))

    after_its_keys(field, submit)


class TypedAheadMixin:
    """The App's half of rule 2 (module doc): keys that arrive while a new screen settles wait, in order."""

    _held: list[events.Event] | None = None  # the keys waiting for the screen to settle (None: none waits)
    _settling = 0  # screen changes so far: a release armed for an earlier one leaves a later one's keys alone
    _waited: weakref.WeakSet[events.Event]  # the keys that waited for new rows once (rule 5)

    def hold_keys_on_screen_change(self) -> None:
        """Called once mounted: from now on every screen change holds the keys until the new screen settles."""
        self._waited = weakref.WeakSet()
        self.screen_change_signal.subscribe(self, self._screen_changed)  # type: ignore[attr-defined]

    def hold_keys(self, at_most: float = HOLD_AT_MOST) -> int:
        """From now on the keys wait (at most *at_most* seconds); the number to release them by."""
        if self._held is None:
            self._held = []
        self._settling += 1
        settling = self._settling
        self.set_timer(at_most, lambda: self._release(settling))  # type: ignore[attr-defined]
        return settling

    def release_keys_later(self, settling: int) -> None:
        """Hand the waiting keys out once the App's queue reaches this (a call from another node's queue)."""
        self.call_later(self._release, settling)  # type: ignore[attr-defined]

    def _screen_changed(self, _screen: Any) -> None:
        """The screen changed (synchronously, in the action that changed it): hold the keys from now on."""
        self.call_after_refresh(self._settled, self.hold_keys())  # type: ignore[attr-defined]

    def _settled(self, settling: int) -> None:
        # the new screen has been drawn (mounted, its on_mount run): the focus it asked for in on_mount is set by
        # a callback already in the App's queue, so the keys are handed out after it
        self.release_keys_later(settling)

    async def _release(self, settling: int) -> None:
        if settling != self._settling or self._held is None:
            return  # a later screen change holds them now (its own release hands them out), or already handed out
        held, self._held = self._held, None
        for n, event in enumerate(held):
            back = await self._hand_out(event)
            if self._held is not None:  # that key holds the rest (a screen change, a key the widget has yet to take)
                self._held[int(back):int(back)] = held[n + 1:]  # after the key itself where it waits (rule 5)
                return

    async def _hand_out(self, event: events.Event) -> bool:
        """Textual's own handling (priority keys, else the focused widget); a key handed to a widget holds the
        next ones until the widget has taken it (rule 4). True where the key waits for new rows (rule 5): it is
        held, first, until they are shown."""
        target = self.focused or self.screen  # type: ignore[attr-defined]
        wait = waits_for_rows(self, target, event) if event not in self._waited else None
        if wait is not None:  # once: where the rows do not come in ROWS_AT_MOST seconds, it goes then
            self._waited.add(event)
            settling = self.hold_keys(ROWS_AT_MOST)
            self._held.insert(0, event)  # type: ignore[union-attr]
            wait(lambda: self.release_keys_later(settling))
            return True
        await super().on_event(event)  # type: ignore[misc]
        if self._held is None and isinstance(event, (events.Key, events.Paste)):
            release_after_bubbling(self, target, self.hold_keys())
        return False

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            if self._held is not None:
                self._held.append(event)
            else:
                await self._hand_out(event)
            return
        await super().on_event(event)  # type: ignore[misc]


class OpensRows:
    """A screen whose lists open the row under the cursor on enter (a detail, a dissection...): rule 1's enter,
    and its priority escape (``leave``: ``leave_filter`` where no field has the focus).

    The tables' own enter posts a message the screen handles later, behind the keys typed after it; here enter is
    a priority binding of the screen that opens the row at once, only while one of its lists has the focus (in a
    field enter applies it). The screen names what opens a row: :meth:`open_row`. Escape leaves the screen at once
    from a list; in the query bar it is the bar's own key (back to the list), as Textual would run it.
    """

    def row_to_open(self) -> tuple[Any, dict[str, Any]] | None:
        """(the focused list, the row under its cursor), None when the focus is not on a list with rows."""
        from scantui.tui.widgets.table import VirtualTable

        table = self.focused  # type: ignore[attr-defined]
        if not isinstance(table, VirtualTable):
            return None
        row = table.selected_row
        return None if row is None else (table, row)

    def open_row(self, table: Any, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_row":  # enter: from a list, else the focused widget's (a field applies, a button presses)
            return self.row_to_open() is not None
        if action == "leave" and typing_here(self.app):  # type: ignore[attr-defined]
            return False  # escape in the bar is the bar's own (the same leave_filter, its own words in the footer)
        return True

    def action_open_row(self) -> None:
        chosen = self.row_to_open()
        if chosen is not None:
            self.open_row(*chosen)

    def action_leave(self) -> None:
        """Escape (a priority key) where no field has the focus: the screen's ``leave_filter`` (back)."""
        self.action_leave_filter()  # type: ignore[attr-defined]
