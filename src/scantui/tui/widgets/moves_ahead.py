"""Cursor moves typed ahead of a list's new rows are made again on them once they are shown.

A filter (or a recount for a time range) runs in a thread worker; the keys typed after it move the cursor over
the rows still shown. ``/port:443⏎jj`` typed in one burst moved the old list's cursor, then the filter's result
put it back on the top row. A list told that new rows are on their way (:meth:`MovesAhead.expect_rows`) keeps
the moves made meanwhile and, when the rows are shown, places the cursor where it would have landed had the
rows come first (the row it was on, else the top) and makes the moves again there: the third row of the
filtered list, as when the keys are typed slowly. A click picks a row seen: the moves start again from it. A
new sort puts the cursor on the top row: the moves start again from the top. The other keys typed meanwhile
(enter, ``l``, ``space``...) act on a row: they wait for the new rows (:meth:`MovesAhead.when_rows_shown`,
:mod:`scantui.tui.focus` rule 5), so ``/port:443⏎jj⏎`` opens the filtered list's third row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: A move: (rows to go by, or None) and (the row to go to: 0 the first, -1 the last, or None).
Move = tuple[int, int | None]


class MovesAhead:
    """The moves typed ahead of new rows (a mixin of :class:`~scantui.tui.widgets.table.VirtualTable`)."""

    _moves: list[Move] | None = None  # None: no new rows are on their way
    _moves_from: Any = None  # the key of the row the moves start from (None: the top row)
    _waiting: list[Callable[[], None]] | None = None  # called once the new rows are shown (or will not come)

    @property
    def rows_on_their_way(self) -> bool:
        """Whether new rows were asked for and are not shown yet."""
        return self._moves is not None

    def when_rows_shown(self, callback: Callable[[], None]) -> None:
        """Call *callback* once the new rows on their way are shown, or will not come; now when none are."""
        if self._moves is None:
            callback()
        else:
            self._waiting = [*(self._waiting or []), callback]

    def rows_shown(self) -> None:
        """The new rows are shown (or will not come): what waited for them runs."""
        waiting, self._waiting = self._waiting or [], None
        for callback in waiting:
            callback()

    def expect_rows(self, from_key: Any) -> None:
        """New rows are on their way: the moves from now on are kept, from the row of key *from_key* (the one
        under the cursor). A second request before they come keeps the first's start (the same rows shown)."""
        if self._moves is None:
            self._moves, self._moves_from = [], from_key

    def rows_not_coming(self) -> None:
        """The rows expected will not come (their worker failed): the cursor stays as it is."""
        self._moves = None
        self.rows_shown()

    def restart_moves(self, from_key: Any) -> None:
        """The moves kept so far no longer count (a click, a new sort): they start again from *from_key*."""
        if self._moves is not None:
            self._moves, self._moves_from = [], from_key

    def kept_move(self, move: Move) -> None:
        if self._moves is not None:
            self._moves.append(move)

    def take_moves(self) -> tuple[Any, list[Move]] | None:
        """(the key the moves start from, the moves) for the rows now shown; None when none were expected."""
        if self._moves is None:
            return None
        taken = (self._moves_from, self._moves)
        self._moves, self._moves_from = None, None
        return taken


def moved(row: int, move: Move, rows: int) -> int:
    """Row *row* after *move* in a list of *rows* rows (clamped at each move, as the keys are)."""
    by, to = move
    if to is not None:
        row = to if to >= 0 else rows - 1
    return max(0, min(row + by, rows - 1))
