"""The list commands' ``--query`` and time options: the TUI's query syntax (:mod:`scantui.analysis.query`) on the CLI.

``--query TEXT`` is read before any data (a bad term is ``scantui: error: --query: TERM: WHY``, exit 2) and
filters with the same functions as the TUI's lists (:func:`~scantui.analysis.query.filter_scanners`,
:func:`~scantui.analysis.query.filter_records`). ``--since``/``--until`` (days) and ``--day A..B`` bound
``collab`` and ``groups`` to the candidates whose days meet the span (``scanners`` recounts the days instead).
Without these options nothing changes: the filter is None.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import datetime as dt

    from scantui.analysis.query import Query


DEFAULT_LABELS = "scantui-labels.yaml"
LABELS_OPTION = click.option("--labels", "labels_path", default=None, metavar="FILE",
                             help=f"The labels file (default ./{DEFAULT_LABELS}, when it exists).")


def open_labels(labels_path: str | None, *, required: bool = False):
    """The labels store of *labels_path* (or the default file when present); None when there is none."""
    from pathlib import Path

    from scantui.labels import LabelsStore

    path = labels_path or DEFAULT_LABELS
    if labels_path is None and not Path(path).exists():
        if required:
            from scantui.errors import InputError

            raise InputError("no labels file (give --labels FILE)", path=path)
        return None
    return LabelsStore.load(path, must_exist=True)


QUERY_OPTION = click.option("--query", "query_text", default=None, metavar="TEXT",
                            help="Only the rows matching this query (the TUI's query bar syntax; see README "
                                 "'Query syntax'), e.g. 'port:443 tool:zmap day:2024-02-05..2024-02-09'.")
DAY_OPTION = click.option("--day", "day_span", default=None, metavar="DAY|A..B",
                          help="A UTC day or span (2024-02-05..2024-02-09, ..D, D..): the same as --since/--until.")


def parse_query_option(text: str | None, record: bool = False) -> Query | None:
    """The parsed ``--query`` (None when absent or empty); an unreadable term is an InputError at ``--query``."""
    if text is None or not text.strip():
        return None
    from scantui.analysis.query import RECORD_FIELDS, SCANNER_FIELDS, QueryError, parse_query
    from scantui.errors import InputError

    try:
        return parse_query(text, RECORD_FIELDS if record else SCANNER_FIELDS)
    except QueryError as exc:
        raise InputError(str(exc), where="--query") from None


def parse_day_options(since: str | None, until: str | None, span: str | None) -> tuple[dt.date | None, dt.date | None] | None:
    """(first, last) day of ``--since``/``--until`` or ``--day`` (one or the other), None when none is given."""
    from scantui.analysis.query import QueryError, parse_day_span
    from scantui.analysis.scanners import parse_day
    from scantui.errors import InputError

    if span is not None and (since is not None or until is not None):
        raise InputError("give --day or --since/--until, not both", where="--day")
    if span is not None:
        try:
            return parse_day_span(span, span)
        except QueryError as exc:
            raise InputError(str(exc), where="--day") from None
    if since is None and until is None:
        return None
    first = parse_day(since, "--since") if since is not None else None
    last = parse_day(until, "--until") if until is not None else None
    if first is not None and last is not None and first > last:
        raise InputError(f"--since {first} is after --until {last}", where="--since/--until")
    return first, last


@dataclass(frozen=True)
class RecordFilter:
    """``--query`` and the day span of ``collab``/``groups``; :meth:`keep` lists what they keep."""

    query: Query | None
    span: tuple[dt.date | None, dt.date | None] | None

    @property
    def needs_labels(self) -> bool:
        return self.query is not None and any(t.key in ("review", "label", "tag", "note") for t in self.query.terms)

    def keep(self, records: list[Any], store: Any = None) -> list[Any]:
        """The records (candidate scans or suggested groups, in order) matching the query and meeting the span;
        review words and labelled groups from *store* (the labels file; None: every record is new)."""
        from scantui.analysis.query import Query, filter_records, review_of, with_span
        from scantui.workspace.member_notes import notes_by_address

        query = with_span(self.query or Query(), self.span)
        if not query:
            return list(records)
        reviews = record_reviews(records, store) if store is not None else [("new", []) for _ in records]
        titles = {g.id: g.title or "" for g in store.groups} if store is not None else {}
        return [records[i] for i in filter_records(query, records, [review_of(s, m, titles) for s, m in reviews],
                                                   notes_by_address(store))]


def record_reviews(records: list[Any], store: Any) -> list[tuple[str, list[dict]]]:
    """Each record's review state and matching labelled groups, as the TUI's lists show them."""
    from scantui.analysis.collab_types import SuggestedGroup
    from scantui.labels.match import ScanIndex, scan_key

    index = ScanIndex(store.groups)
    out = []
    for r in records:
        scans = r.scans if isinstance(r, SuggestedGroup) else (r,)
        ips = r.member_ips if isinstance(r, SuggestedGroup) else r.source_ips
        out.append(index.review(list(ips), [scan_key(c.port, c.day, c.source_ips) for c in scans]))
    return out


#: The comparisons of the candidates screen's shared bar that read a field only the other list has (there they
#: leave that list as it is): on one command's rows they would keep every row, so they are refused.
_OTHER_LISTS_FIELDS = {"candidates": ("scans", "n_members"), "groups": ("n_sources",)}
_LIST_FIELDS = {"candidates": "n (sources), score", "groups": "scans, ips, score"}


def _check_fields(query: Query | None, rows: str) -> None:
    from scantui.errors import InputError

    for term in query.terms if query is not None else ():
        if term.key == "cmp" and term.values[0] in _OTHER_LISTS_FIELDS[rows]:
            raise InputError(f"{term.raw}: {rows} have no such figure (they compare {_LIST_FIELDS[rows]})",
                             where="--query")


def record_filter_options(rows: str):
    """``--query``, ``--since``, ``--until``, ``--day`` of ``collab`` (*rows* ``candidates``) and ``groups``, checked
    before any data is read and handed on as ``record_filter`` (a :class:`RecordFilter`, or None when none is given)."""

    def decorate(func):
        @QUERY_OPTION
        @click.option("--since", default=None, metavar="ISO", help="Only candidates active on or after this UTC day.")
        @click.option("--until", default=None, metavar="ISO", help="Only candidates active on or before this UTC day.")
        @DAY_OPTION
        @functools.wraps(func)
        def wrapper(*args, query_text, since, until, day_span: str | None, **kwargs):
            query = parse_query_option(query_text, record=True)
            _check_fields(query, rows)
            span = parse_day_options(since, until, day_span)
            record_filter = RecordFilter(query, span) if query is not None or span is not None else None
            return func(*args, record_filter=record_filter, **kwargs)

        return wrapper

    return decorate
