"""The review part of a candidate's or a group's detail screen: its labelling keys and review state.

:class:`ReviewMixin` adds ``l`` (label), ``a`` (accept), ``x`` (reject) and ``n``
(unsure), all through :mod:`scantui.tui.labelling`, and shows whether the labels
file already decided on the record, again after every labelling change, with the tags and note of
each noted member (:mod:`scantui.tui.member_notes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from scantui.tui.screens.detail_facts import review_text
from scantui.tui.widgets.figures import facts_table

if TYPE_CHECKING:
    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup


class ReviewMixin:
    """Labelling keys and the review state of a candidate or group (``self.record``, ``self.ips``)."""

    REVIEW_BINDINGS = [
        Binding("l", "label", "Label", id="detail.label", priority=True),
        Binding("a", "verdict('collaborative')", "Accept", id="detail.accept"),
        Binding("x", "verdict('not_collaborative')", "Reject", id="detail.reject"),
        Binding("n", "verdict('unsure')", "Unsure", show=False, id="detail.unsure"),
    ]

    FACTS: Callable[[Any], list[tuple[str, Text | str]]]
    record: CandidateScan | SuggestedGroup
    review: tuple[str, list[dict[str, Any]]] | None = None

    @property
    def ips(self) -> list[str]:
        from scantui.tui.labelling import record_ips

        return record_ips(self.record)

    def watch_review(self: Any) -> None:
        self.watch(self.app, "labels_version", lambda _v: self.refresh_review(), init=False)
        self.refresh_review()

    def refresh_review(self: Any) -> None:
        state, record = self.app.state, self.record
        self.in_thread("detail-review", lambda: state.review_record(record), self._show_review, "review state")

    def _show_review(self: Any, review: tuple[str, list[dict[str, Any]]]) -> None:
        self.review = review
        self.show_facts()

    def facts(self: Any) -> Table:
        """The record's facts (:attr:`FACTS` of it), the review state and its members' source notes (when any;
        again after every labelling change, with the review)."""
        from scantui.tui.member_notes import current_notes, member_note_facts

        review = ("review", Text("…", style="dim") if self.review is None else review_text(*self.review))
        notes = member_note_facts(self.record, current_notes(self.app))
        return facts_table([*self.record_facts(), review, *notes])

    def record_facts(self: Any) -> list[tuple[str, Text | str]]:
        """The record's own facts (:attr:`FACTS` of it; a group's detail adds what its time range shows)."""
        return type(self).FACTS(self.record)

    def show_facts(self: Any) -> None:
        self.query_one("#detail-facts", Static).update(self.facts())

    def action_label(self: Any) -> None:
        from scantui.tui import labelling

        labelling.label_dialog(self.app, self.record)

    def action_verdict(self: Any, verdict: str) -> None:
        from scantui.tui import labelling

        labelling.set_verdict(self.app, self.record, verdict)

    def review_commands(self: Any) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield "detail: label", "Label these sources: a new group or add to one (l)", self.action_label
        yield "detail: accept", "Mark as collaborative (a)", lambda: self.action_verdict("collaborative")
        yield "detail: reject", "Mark as not collaborative; remembered (x)", lambda: self.action_verdict("not_collaborative")
        yield "detail: unsure", "Mark as unsure (n)", lambda: self.action_verdict("unsure")

