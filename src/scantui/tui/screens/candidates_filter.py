"""The candidates area's filter: the rows of both lists that the query bar, the time range and ``h`` keep.

:func:`shown_frames` is what :class:`~scantui.tui.screens.candidates.CandidatesScreen` shows: each list's
frame less the reviewed rows (when hidden) and the rows its query does not match, as
:func:`scantui.analysis.query.filter_records` matches them but vectorised
(:mod:`scantui.analysis.query_records`: one polars expression over the records' fields, which
:func:`list_fields` builds once per list of records, beside the rows, and the review cells; ``tag:``/``note:``
against the members' source notes). It only reads what it is handed, so the screen runs it in a thread worker
(:mod:`scantui.tui.offthread`) whenever a query is set; polars leaves the GIL to the UI thread meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scantui.tui.offthread import Cancelled
from scantui.tui.screens.candidates_frames import to_review

if TYPE_CHECKING:
    import polars as pl

    from scantui.analysis.query import Query

#: The fields of one list of records (:func:`scantui.analysis.query_records.record_fields`) and those records.
Fields = tuple[Sequence[Any], "pl.DataFrame"]


def list_fields(records: Sequence[Any], known: Fields | None) -> Fields:
    """(records, their fields): *known* again when it was built from these very records (a labels change
    rebuilds the rows, not the records), else built anew (a Python pass over the records: in the rows worker)."""
    from scantui.analysis.query_records import record_fields

    if known is not None and known[0] is records:
        return known
    return records, record_fields(records)


def shown_frames(frames: Mapping[str, pl.DataFrame], fields: Mapping[str, pl.DataFrame], *, hide_reviewed: bool,
                 query: Query | None, titles: Mapping[str, str], notes: Mapping[int, Any] | None,
                 cancelled: Callable[[], bool] = lambda: False) -> dict[str, pl.DataFrame]:
    """The rows of each of *frames* (``groups``, ``candidates``: one row per record, ``idx`` its index in the
    records and in *fields*, the records' :func:`~scantui.analysis.query_records.record_fields`) to show:
    reviewed rows dropped when *hide_reviewed*, then those *query* keeps (None: all); *titles* maps a labelled
    group id to its title (``label:`` matches either), *notes* the source notes by address. Raises
    :class:`~scantui.tui.offthread.Cancelled` when *cancelled()* turns true between the lists."""
    out = {}
    for name, frame in frames.items():
        if cancelled():
            raise Cancelled
        shown = frame.filter(to_review(frame)) if hide_reviewed else frame
        if query is not None and shown.height:
            shown = shown.filter(_matching(query, shown, fields[name], titles, notes))
        out[name] = shown
    return out


def _matching(query: Query, frame: pl.DataFrame, fields: pl.DataFrame, titles: Mapping[str, str],
              notes: Mapping[int, Any] | None) -> pl.Series:
    from scantui.analysis.query_records import matching_rows, with_reviews

    review = frame["review"]
    rows = with_reviews(fields[frame["idx"]], review.struct.field("word"), review.struct.field("labels"), titles)
    return matching_rows(query, rows, notes)
