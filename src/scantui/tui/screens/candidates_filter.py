"""The candidates area's filter: the rows of both lists that the query bar, the time range and ``h`` keep.

:func:`shown_frames` is what :class:`~scantui.tui.screens.candidates.CandidatesScreen` shows: each list's
frame less the reviewed rows (when hidden) and the rows its query does not match
(:func:`scantui.analysis.query.filter_records`: a Python test per record, against its members' source
notes for ``tag:``/``note:``). It only reads what it is handed, so the screen runs it in a thread worker
(:mod:`scantui.tui.offthread`) whenever a query is set: at thousands of candidates and groups it is too
slow for the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scantui.tui.offthread import Cancelled
from scantui.tui.screens.candidates_frames import review_word, to_review

if TYPE_CHECKING:
    import polars as pl

    from scantui.analysis.query import Query

#: Records per slice between two looks at *cancelled* (a newer query makes this one stale).
_SLICE = 2000


def shown_frames(frames: Mapping[str, pl.DataFrame], records: Mapping[str, Sequence[Any]], *, hide_reviewed: bool,
                 query: Query | None, titles: Mapping[str, str], notes: Mapping[int, Any] | None,
                 cancelled: Callable[[], bool] = lambda: False) -> dict[str, pl.DataFrame]:
    """The rows of each of *frames* (``groups``, ``candidates``: one row per record, ``idx`` its index in
    *records*) to show: reviewed rows dropped when *hide_reviewed*, then those *query* keeps (None: all);
    *titles* maps a labelled group id to its title (``label:`` matches either), *notes* the source notes by
    address. Raises :class:`~scantui.tui.offthread.Cancelled` when *cancelled()* turns true between slices."""
    out = {}
    for name, frame in frames.items():
        shown = frame.filter(to_review(frame)) if hide_reviewed else frame
        if query is not None and shown.height:
            shown = shown.filter(shown["idx"].is_in(_matching(query, shown, records[name], titles, notes, cancelled)))
        out[name] = shown
    return out


def _matching(query: Query, frame: pl.DataFrame, records: Sequence[Any], titles: Mapping[str, str],
              notes: Mapping[int, Any] | None, cancelled: Callable[[], bool]) -> list[int]:
    from scantui.analysis.query import filter_records

    idx, cells = frame["idx"].to_list(), frame["review"].to_list()
    keep: list[int] = []
    for start in range(0, len(idx), _SLICE):
        if cancelled():
            raise Cancelled
        part, part_cells = idx[start:start + _SLICE], cells[start:start + _SLICE]
        reviews = [(review_word(cell), [(gid, titles.get(gid, "")) for gid in cell["labels"]]) for cell in part_cells]
        keep.extend(part[i] for i in filter_records(query, [records[i] for i in part], reviews, notes))
    return keep
