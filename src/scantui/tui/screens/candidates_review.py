"""The review part of the candidates area: the row under the cursor and what the keys do with it.

:class:`CandidateReviewMixin` gives :class:`~scantui.tui.screens.candidates.CandidatesScreen`
the record under the cursor of the list in use (a suggested group or a candidate
scan), ``enter`` (open its detail), ``l`` (label: a new group or add to one), ``a``
/ ``x`` / ``n`` (accept, reject, unsure), ``e`` (record a "same IPs" row's scans in
its group), all through :mod:`scantui.tui.labelling` as on the detail screens, and
``o`` (the search options: the search and grouping run again with them). With rows
marked (``space``), ``l`` labels all of them as one group and ``a``/``x``/``n`` give each
its verdict, in one save that ``u`` undoes whole; the marks then clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scantui.safetext import safe_line
from scantui.tui.labelling import (Record, label_dialog, label_records_dialog, record_evidence, record_ips, set_verdict,
                                   set_verdicts)
from scantui.tui.screens.candidates_table import ReviewTable
from scantui.tui.state import error_text

if TYPE_CHECKING:
    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup


class CandidateReviewMixin:
    """Labelling keys and the search options of the candidates screen (its two ``ReviewTable`` lists)."""

    _groups: Sequence[SuggestedGroup]
    _candidates: Sequence[CandidateScan]
    _last_table: ReviewTable | None

    # ------------------------------------------------------------ the row under the cursor

    def _active_table(self) -> ReviewTable:
        focused = self.focused
        if isinstance(focused, ReviewTable):
            return focused
        return self._last_table or self.groups_table

    def _record(self, table: ReviewTable, row: dict[str, Any] | None) -> Record | None:
        records = self._groups if table.id == "groups-table" else self._candidates
        if row is None or not 0 <= row.get("idx", -1) < len(records):
            return None
        return records[row["idx"]]

    def selected_record(self) -> Record | None:
        """The group or candidate record under the cursor of the list in use (None when it is empty)."""
        table = self._active_table()
        return self._record(table, table.selected_row)

    def chosen_records(self) -> list[Record]:
        """The marked rows shown of the list in use (table order), else the row under the cursor."""
        table = self._active_table()
        return [r for r in (self._record(table, row) for row in table.chosen_rows()) if r is not None]

    def _records_of(self, table: ReviewTable, frame: Any) -> list[Record]:
        return [r for r in (self._record(table, {"idx": i}) for i in frame["idx"].to_list()) if r is not None]

    def _ips_of(self, table: ReviewTable) -> Any:
        """The hook an IP-list export uses: every member (or source) of the rows, in table order."""
        return lambda frame: [ip for r in self._records_of(table, frame) for ip in record_ips(r)]

    def _clear_marks(self) -> Any:
        """What runs once a change to the marked rows is saved: their marks go."""
        table = self._active_table()
        return lambda _change: table.action_clear_marks()

    # ------------------------------------------------------------ actions

    def _with_selected(self) -> Record | None:
        record = self.selected_record()
        if record is None:
            self.notify("nothing selected: the list is empty", markup=False)
        return record

    def action_open(self) -> None:
        self._active_table().action_select()

    def action_label(self) -> None:
        if self._active_table().marked_shown:
            label_records_dialog(self.app, self.chosen_records(), then=self._clear_marks())
            return
        record = self._with_selected()
        if record is not None:
            label_dialog(self.app, record)

    def action_verdict(self, verdict: str) -> None:
        if self._active_table().marked_shown:
            set_verdicts(self.app, self.chosen_records(), verdict, then=self._clear_marks())
            return
        record = self._with_selected()
        if record is not None:
            set_verdict(self.app, record, verdict)

    def action_record(self) -> None:
        record = self._with_selected()
        if record is not None and not record_evidence(self.app, record):
            self.notify("no labelled group holds these IPs: l labels them", title="labels unchanged", markup=False)

    def options_label(self) -> str:
        """The search options in use (``window 24h · by all · tol 1.64%,2.46%``)."""
        try:
            from scantui.analysis.collab_query import query_label

            return query_label(self.app.state.request.collab_query())
        except Exception as exc:  # noqa: BLE001 - a bad flag was refused before the app started; say it anyway
            return error_text(exc)

    def action_options(self) -> None:
        """Ask for the search options (a small modal); the search and grouping run again with them."""
        from scantui.tui.screens.prompt import PromptScreen

        request = self.app.state.request
        fields = [
            ("window", "window", request.window, "day, or a rolling span: 24h 48h 90m 2d"),
            ("tolerance", "tolerance", request.tolerance or "", "LOW,HIGH e.g. 2%,2.5% (empty: the study's)"),
            ("by", "by", request.by, "prefix24, asn, zmap_generator, fingerprint, both or all"),
        ]

        def check(values: dict[str, str]) -> dict[str, Any]:
            from dataclasses import replace

            options = {"window": values["window"].strip() or "day", "tolerance": values["tolerance"].strip() or None,
                       "by": values["by"].strip() or "all"}
            replace(request, **options).collab_query()  # a bad value: said in the modal, which stays
            return options

        def chosen(options: dict[str, Any] | None) -> None:
            if options is not None:
                self.app.search_again(**options)
                self.notify(safe_line(self.options_label()), title="searching again", markup=False)

        self.app.push_screen(PromptScreen("collaborative-scan search options", fields, check=check,
                                          help_text="Same as scantui collab --window/--tolerance/--by."), chosen)
