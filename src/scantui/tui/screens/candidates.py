"""The candidates area: suggested groups and candidate collaborative scans, ranked, with review state.

Two lists, one above the other (``tab`` switches): the suggested groups of
:mod:`scantui.analysis.groups` (``S01``... in rank order) and the candidate
scans of :mod:`scantui.analysis.collab` (``#`` is the rank by score). Each row
says whether the labels file already decided on it (:meth:`DataState.review_record`):
``new``, ``same IPs as G01`` (G01 holds its IPs, but its scans are not recorded there:
not reviewed), ``labelled G01`` (``unsure G02``), or ``rejected R01``; new rows come
first, rejected ones last and dimmed, ``h`` hides every reviewed (labelled, rejected) row.

While :meth:`ScantuiApp.count_candidates` runs the screen says so; the rows and
their review state are computed in a thread worker, again after every labelling
change (the App's ``labels_version``). After a change the cursors stay on their
lines, so the row just reviewed moves away and the next one to review is under the cursor.

Keys: enter opens (:meth:`ScantuiApp.open_group` / :meth:`ScantuiApp.open_candidate`);
``l`` labels (new group or add to one), ``a`` accepts, ``x`` rejects, ``n`` marks
unsure, ``e`` records a "same IPs" row's scans in its group, all through :mod:`scantui.tui.labelling` as on the detail screens; ``u``
undoes (App-wide). ``/`` filters both lists (:mod:`scantui.analysis.query`, the CLI's ``--query``); the App's
time range keeps the rows active in its days. The filter runs in a thread worker
(:mod:`~scantui.tui.screens.candidates_filter`, :mod:`scantui.tui.offthread`): the newest query wins. The ``notes`` column (only when the labels file has notes on
single sources) counts each row's noted members and their tags (:mod:`scantui.tui.member_notes`); the ``found on``
column (only on data with several sensors) names the sensor whose space a candidate was found on.

The rows are built in :mod:`~scantui.tui.screens.candidates_frames`; the table
that dims rejected rows is :mod:`~scantui.tui.screens.candidates_table`; the keys that
act on the row under the cursor (open, label, verdicts, record) and the search options
are :mod:`~scantui.tui.screens.candidates_review`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import DescendantFocus
from textual.screen import Screen
from textual.widgets import Header, Input, Label, ProgressBar, Static
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.safetext import safe_line
from scantui.tui.app_views import range_text
from scantui.analysis.query_help import RECORD_QUERY_HELP
from scantui.tui.member_notes import with_notes_column
from scantui.tui.offthread import LatestMixin, worker_cancelled
from scantui.tui.screens.candidates_frames import (CANDIDATE_COLUMNS, GROUP_COLUMNS, candidate_frame, group_frame,
                                                   relabelled, review_counts, with_sensor_column)
from scantui.tui.screens.candidates_review import CandidateReviewMixin
from scantui.tui.screens.candidates_table import ReviewTable
from scantui.tui.state import error_text
from scantui.tui.widgets.filter_input import ClearingFilterInput
from scantui.tui.widgets.footer import KeysFooter
from scantui.tui.widgets.loading import LoadingBar
from scantui.tui.widgets.table import VirtualTable
from scantui.tui.focus import OpensRows, focus_now

if TYPE_CHECKING:
    import polars as pl

    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup


#: The kind of the filter's off-thread requests (:mod:`scantui.tui.offthread`).
FILTER_KIND = "candidates-filter"


class CandidatesScreen(OpensRows, CandidateReviewMixin, LatestMixin, Screen):
    """Suggested groups above, candidate scans below; see the module doc."""

    HELP = (
        "Suggested groups (S01... by rank) and candidate scans (# by score), new ones first, rejected ones last "
        "and dimmed. tab switches between the two lists. enter opens the row; l labels it (a new group, or add "
        "to a labelled one); a accepts, x rejects, n marks unsure (the labelled group it belongs to gets the "
        "verdict and its scans, else a new group is made: rejections become R01..., so they do not come back as new); "
        "u undoes the last change. A row is reviewed when its scans are recorded in a group; 'same IPs as G01' "
        "means G01 holds its IPs but not these scans: e records them in G01 (a/x/n too, with the verdict). "
        "Every change is saved to the labels file at once. h hides the reviewed rows. o changes the search options "
        "(window: day or a rolling span like 24h for scans crossing midnight; tolerance; by /24 or AS), shown in the title. "
        "space marks rows (* all shown, - clears): then l labels all of them as one group and a/x/n give each its "
        "verdict, in one save that u undoes whole; marked rows filtered out stay marked but are not acted on. "
        "ctrl+s exports the list as shown (the marked rows only, when marked; .txt: their IPs); c picks the columns. "
        "When the labels file has notes on single sources, the notes column counts each row's noted members and "
        "gives their tags (tag: and note: match them)."
        "\n\n/ filters both lists (the scanner query's syntax; escape clears it):\n\n" + RECORD_QUERY_HELP
    )
    DEFAULT_CSS = """
    CandidatesScreen #filter-row { display: none; }
    CandidatesScreen #filter-row.-shown { display: block; }
    """
    BINDINGS = [
        Binding("escape", "leave", "Back", show=False, id="candidates.leave_filter", priority=True),
        Binding("l", "label", "Label", id="candidates.label", priority=True),
        Binding("a", "verdict('collaborative')", "Accept", id="candidates.accept"),
        Binding("x", "verdict('not_collaborative')", "Reject", id="candidates.reject"),
        Binding("slash", "focus_filter", "Filter", id="candidates.filter"),
        Binding("n", "verdict('unsure')", "Unsure", show=False, id="candidates.unsure"),
        Binding("e", "record", "Record scans", show=False, id="candidates.record"),
        Binding("o", "options", "Options", show=False, id="candidates.options", priority=True),
        Binding("h", "toggle_reviewed", "Hide/show reviewed", show=False, id="candidates.hide_reviewed"),
        Binding("tab,shift+tab", "switch_list", "Switch list", show=False, id="candidates.switch_list", priority=True),
        Binding("p", "packets", "Packets", show=False, id="candidates.packets", priority=True),
        Binding("enter", "open_row", "Open", id="candidates.open", priority=True),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hide_reviewed = False
        self._groups: Sequence[SuggestedGroup] = ()
        self._candidates: Sequence[CandidateScan] = ()
        self._frames: dict[str, pl.DataFrame] = {}
        self._fields: dict[str, Any] = {}  # name -> (records, their query fields): candidates_filter.list_fields
        self._built: dict[str, Any] = {}  # name -> (records, their rows frame): a labels change redoes its reviews only
        self._last_table: ReviewTable | None = None
        self._generation = 0
        self.filter_text = ""
        self._filter: Any = None  # the parsed query (scantui.tui.query.Query) or None
        self._shown: dict[str, int] = {}
        self._notes: dict[int, Any] = {}  # the labels file's source notes by address (the notes column, tag:/note:)

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        yield LoadingBar(id="loading")
        with Horizontal(id="candidates-status-row"):
            yield Static("", id="candidates-status", markup=False)
            yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="candidates-progress")
        with Horizontal(id="filter-row"):
            yield Label("/", id="filter-prompt")
            yield ClearingFilterInput(id="filter",
                                      placeholder="port:8080 as:14061 198.18.5.0/24 day:2024-02-06 timing:sequential review:new")
        with Vertical(id="groups-pane", classes="review-pane"):
            yield Static("suggested groups", id="groups-title", classes="pane-title", markup=False)
            yield ReviewTable(GROUP_COLUMNS, sort_key="review", descending=False, pinned=2, id="groups-table",
                              empty_text="waiting for the candidates…")
        with Vertical(id="candidates-pane", classes="review-pane"):
            yield Static("candidate scans", id="candidates-title", classes="pane-title", markup=False)
            yield ReviewTable(CANDIDATE_COLUMNS, sort_key="review", descending=False, pinned=2, id="candidates-table",
                              empty_text="waiting for the candidates…")
        yield KeysFooter()

    def on_mount(self) -> None:
        app = self.app
        for name in ("loading", "counting"):
            self.watch(app, name, self._progress_changed, init=False)
        for name in ("collab_count", "groups_count"):
            self.watch(app, name, self._data_changed, init=False)
        self.watch(app, "labels_version", self._labels_changed, init=False)
        self.watch(app, "load_error", self._progress_changed, init=False)
        for table in (self.groups_table, self.candidates_table):
            table.mark_key = "idx"  # the record's index: marks follow sorting and filtering
            table.ips_of = self._ips_of(table)
        self.watch(app, "time_range", self._time_range_changed, init=False)
        self.groups_table.focus()
        self._data_changed()

    @property
    def groups_table(self) -> ReviewTable:
        return self.query_one("#groups-table", ReviewTable)

    @property
    def candidates_table(self) -> ReviewTable:
        return self.query_one("#candidates-table", ReviewTable)

    # ------------------------------------------------------------ data in

    def _data_changed(self, _value: object = None) -> None:
        app = self.app
        if app.collab_count is not None or app.groups_count is not None or self._frames:
            self._rebuild(hold=False)  # (both None with rows shown: other data was opened, the old rows go)
        self._progress_changed()

    def _progress_changed(self, _value: object = None) -> None:
        app = self.app
        self._status()
        self._titles()
        if not app.loading and not app.counting and app.collab_count is None:
            why = app.no_data_text("candidates")
            for table in (self.groups_table, self.candidates_table):
                table.empty_text = why or "no candidates (see the notifications)"
                table.refresh()

    def _labels_changed(self, _version: int) -> None:
        self._status()
        if self._frames:
            self._rebuild(hold=True)

    def _rebuild(self, *, hold: bool) -> None:
        app, state = self.app, self.app.state
        groups = state.groups if app.groups_count is not None and state.groups is not None else []
        candidates = state.collab.candidates if app.collab_count is not None and state.collab is not None else []
        self._generation += 1
        self._build_rows(self._generation, groups, candidates, hold)

    # (a description: else Textual writes one with the repr() of every argument, on the UI thread: 1.7 s at 20,000 groups)
    @work(thread=True, exclusive=True, group="candidates-rows", exit_on_error=False, description="candidates rows")
    def _build_rows(self, generation: int, groups: Sequence[SuggestedGroup], candidates: Sequence[CandidateScan],
                    hold: bool) -> None:
        """The two lists with their review state (matching every row against the labels: off the UI thread)."""
        from scantui.tui.member_notes import current_notes
        from scantui.tui.screens.candidates_filter import list_fields
        from scantui.workspace.member_notes import noted_members, notes_cell

        review = self.app.state.review_record
        try:
            notes = current_notes(self.app)  # the members' source notes: one dict lookup per member
            notes_of = (lambda record: notes_cell(noted_members(record, notes))) if notes else None
            built = dict(self._built)

            def rows(name: str, records: Sequence[Any], build: Any) -> pl.DataFrame:
                last = built.get(name)
                if last is not None and last[0] is records:  # the same records: only their review and notes changed
                    return relabelled(last[1], records, review, notes_of)
                return build(records, review, notes_of)

            frames = {"groups": rows("groups", groups, group_frame), "candidates": rows("candidates", candidates, candidate_frame)}
            known = dict(self._fields)
            fields = {"groups": list_fields(groups, known.get("groups")),
                      "candidates": list_fields(candidates, known.get("candidates"))}
        except read_panics.FAILURES as exc:  # noqa: BLE001 - shown; the lists keep their last rows
            self.app.call_from_thread(self.notify, error_text(exc), title="candidates", severity="error", markup=False)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_rows, generation, groups, candidates, frames, hold, notes, fields)

    def _show_rows(self, generation: int, groups: Sequence[SuggestedGroup], candidates: Sequence[CandidateScan],
                   frames: dict[str, pl.DataFrame], hold: bool, notes: dict[int, Any] | None = None,
                   fields: dict[str, Any] | None = None) -> None:
        if generation != self._generation:
            return  # a newer build is on its way
        self._notes = notes or {}
        self._fields = fields or {}
        for table, old, new in ((self.groups_table, self._groups, groups), (self.candidates_table, self._candidates, candidates)):
            if old is not new and not hold:
                table.marks.clear()  # other records (other data, other search options): the marks meant the old ones
        self._groups, self._candidates, self._frames = groups, candidates, frames
        self._built = {"groups": (groups, frames["groups"]), "candidates": (candidates, frames["candidates"])}
        self._show_frames(hold=hold)

    def _show_frames(self, *, hold: bool) -> None:
        """Show the lists as filtered: at once with no query, else from a thread worker (the newest query wins)."""
        from scantui.tui.screens.candidates_filter import shown_frames

        query, frames = self._query(), dict(self._frames)
        fields = {name: known[1] for name, known in self._fields.items()}
        if query is None:  # (hiding the reviewed rows is one polars filter)
            self.forget_latest(FILTER_KIND)
            self._apply_shown(shown_frames(frames, fields, hide_reviewed=self.hide_reviewed, query=None,
                                           titles={}, notes=None), hold=hold)
            return
        hide, titles, notes = self.hide_reviewed, self._label_titles(), self._notes
        tables = (self.groups_table, self.candidates_table)
        for table in tables:  # the cursor moves typed before the result lands are made again on it
            table.expect_frame()
        self.compute_latest(FILTER_KIND, lambda: shown_frames(frames, fields, hide_reviewed=hide, query=query,
                                                              titles=titles, notes=notes, cancelled=worker_cancelled),
                            lambda shown: self._apply_shown(shown, hold=hold), title="filter",
                            failed=lambda: [table.rows_not_coming() for table in tables])

    def _apply_shown(self, shown_by_name: dict[str, pl.DataFrame], *, hold: bool) -> None:
        app = self.app
        for name, table in (("groups", self.groups_table), ("candidates", self.candidates_table)):
            frame, shown = self._frames.get(name), shown_by_name.get(name)
            if frame is None or shown is None:
                table.rows_not_coming()  # (no list of this kind yet)
                continue
            self._shown[name] = shown.height
            waiting = (app.groups_count if name == "groups" else app.collab_count) is None
            if app.no_data_text("candidates") is not None:
                table.empty_text = app.no_data_text("candidates")
            elif waiting and app.loading:
                table.empty_text = "waiting for the candidates…"
            elif waiting and app.counting:
                table.empty_text = "grouping the candidates…"
            elif frame.height and self._filter is not None:
                table.empty_text = "nothing matches the filter (escape clears it)"
            elif frame.height and app.time_range is not None:
                table.empty_text = "nothing in the time range (T clears it)"
            elif frame.height:
                table.empty_text = "nothing new to review (h shows the reviewed rows)"
            else:
                table.empty_text = f"no {'suggested groups' if name == 'groups' else 'candidate scans'} in this data"
            base = GROUP_COLUMNS if name == "groups" else with_sensor_column(CANDIDATE_COLUMNS, frame)
            table.show(shown, hold=hold, columns=with_notes_column(base, frame))
            if name == "groups":  # the lines it needs (title, header, rows), up to the CSS's max-height
                self.query_one("#groups-pane").styles.height = shown.height + 2 if shown.height else 3
        self._titles()
        self._status()

    def _query(self) -> Any:
        """The filter and the App's time range as one query (None: every row)."""
        from scantui.analysis.query import Query, with_span

        query = with_span(self._filter or Query(), self.app.time_range)
        return query if query else None

    def _time_range_changed(self, _value: object = None) -> None:
        if self._frames:
            self._show_frames(hold=False)
        else:
            self._titles()

    def view_state(self) -> tuple[str, tuple[str, bool] | None]:
        """(query text, (``groups.COLUMN``/``candidates.COLUMN``, descending) of the list in use) for a saved view."""
        table = self._active_table()
        name = "groups" if table is self.groups_table else "candidates"
        return self.filter_text.strip(), ((f"{name}.{table.sort_key}", table.descending) if table.sort_key else None)

    def apply_view(self, query: str, sort: tuple[str, bool] | None) -> None:
        """Show a saved view's filter and sort (the list its sort names gets the focus)."""
        if query:
            self.query_one("#filter-row").add_class("-shown")
        self.filter_input.value = query
        self.apply_filter(query, report=True)
        if sort is not None:
            name, _, column = sort[0].rpartition(".")
            table = self.groups_table if name == "groups" else self.candidates_table
            table.sort_by(column, sort[1])
            table.focus()

    def _label_titles(self) -> dict[str, str]:
        """Labelled group id -> title (``label:`` matches either)."""
        labels = self.app.state.labels
        if labels is None:
            return {}
        return {g.id: g.title or "" for g in labels.store.groups}

    # ------------------------------------------------------------ what the screen says

    def _titles(self) -> None:
        app = self.app
        for name, label, count in (("groups", "suggested groups", app.groups_count),
                                   ("candidates", "candidate scans", app.collab_count)):
            frame = self._frames.get(name)
            title = self.query_one(f"#{name}-title", Static)
            if frame is None or count is None:
                title.update(f"{label} · {'finding…' if app.loading or app.counting else 'none'}")
                continue
            total, new, same = review_counts(frame)
            text = f"{label} · {total:,} · {new:,} new"
            if same:
                text += f" · {same:,} same IPs"
            if self.hide_reviewed:
                text += f" · {total - new - same:,} reviewed hidden"
            if self._filter is not None:
                text += f" · {self._shown.get(name, 0):,} match /{safe_line(self.filter_text.strip())}"
            if app.time_range is not None:
                text += f" · {self._shown.get(name, 0):,} in days {range_text(app.time_range)}"
            marks = (self.groups_table if name == "groups" else self.candidates_table).marks_text()
            title.update(text + (f" · {marks}" if marks else ""))

    def _status(self) -> None:
        app, state = self.app, self.app.state
        busy = app.loading or app.counting
        why = app.no_data_text("candidates")
        if why is not None:
            text = why
        elif app.loading:
            text = "waiting for the data to load…"
        elif app.counting and app.collab_count is None:
            text = "finding candidates…"
        elif app.counting:
            text = f"grouping {app.collab_count:,} candidate scans…"
        elif app.collab_count is None:
            text = "no candidates: the search did not run (see the notifications)"
        else:
            groups = f" in {app.groups_count:,} suggested groups" if app.groups_count is not None else ""
            text = f"{app.collab_count:,} candidate scans{groups}"
        labels_name = Path(state.request.labels_path or "scantui-labels.yaml").name
        if state.labels is not None:
            n = len(state.labels.store)
            text += f" · labels: {labels_name}, {n} group{'s' if n != 1 else ''}"
        else:
            text += f" · labels: {labels_name} not open"
        self.query_one("#candidates-status", Static).update(safe_line(text))
        self.sub_title = safe_line(self.options_label())  # the search options in the header (the data: other screens)
        self.query_one("#candidates-progress", ProgressBar).display = busy and not app.loading

    # ------------------------------------------------------------ rows out

    @on(DescendantFocus)
    def _focused(self, event: DescendantFocus) -> None:
        if isinstance(event.widget, ReviewTable):
            self._last_table = event.widget

    @on(VirtualTable.MarksChanged)
    def _marks_changed(self, _event: VirtualTable.MarksChanged) -> None:
        self._titles()

    @on(VirtualTable.RowSelected)
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.open_row(event.control, event.row)

    def open_row(self, table: VirtualTable, row: dict[str, Any]) -> None:
        record = self._record(table, row)
        if record is None:
            return
        if table.id == "groups-table":
            self.app.open_group(record)
        else:
            self.app.open_candidate(record)

    # ------------------------------------------------------------ the filter (/)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    def action_focus_filter(self) -> None:
        self.query_one("#filter-row").add_class("-shown")
        focus_now(self.filter_input)

    def action_leave_filter(self) -> None:
        """Escape: clears the filter (from the bar or a list); with none, back to the previous screen."""
        if self.filter_input.has_focus or self._filter is not None or self.filter_text:
            self.action_clear_filter()
            focus_now(self._last_table or self.groups_table)
        else:
            self.app.action_back()

    def action_clear_filter(self) -> None:
        self.filter_input.value = ""
        self.apply_filter("", report=False)
        self.query_one("#filter-row").remove_class("-shown")

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        event.stop()
        self.apply_filter(event.value, report=False)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.apply_filter(event.value, report=True):
            focus_now(self._last_table or self.groups_table)
            if not event.value.strip():
                self.query_one("#filter-row").remove_class("-shown")

    def apply_filter(self, text: str, *, report: bool) -> bool:
        """Filter both lists by *text* (the scanner query's syntax, these lists' keys); False on a bad term."""
        from scantui.analysis.query import RECORD_FIELDS, QueryError, parse_query

        try:
            query = parse_query(text, RECORD_FIELDS)
        except QueryError as exc:
            self.filter_input.add_class("-invalid")
            self.query_one("#candidates-status", Static).update(safe_line(f"✗ {exc}"))
            if report:
                self.notify(safe_line(str(exc)), title="filter", severity="error", markup=False)
            return False
        self.filter_input.remove_class("-invalid")
        self.filter_text = text
        self._filter = query if query else None
        self._show_frames(hold=False)
        return True

    def action_toggle_reviewed(self) -> None:
        self.hide_reviewed = not self.hide_reviewed
        self._show_frames(hold=False)

    def action_packets(self) -> None:
        """``p``: the packets of the marked rows, else of the row under the cursor (a scan: its sources, port
        and span; a group: its members on its ports and days)."""
        from scantui.tui.screens.packets_view import PacketsView

        table = self._active_table()
        chosen = getattr(table, "chosen_rows", None)
        rows = chosen() if chosen is not None else [table.selected_row]
        records = [r for r in (self._record(table, row) for row in rows) if r is not None]
        if not records:
            self.notify("nothing selected: the list is empty", title="packets", markup=False)
            return
        self.app.open_packets(PacketsView.of_records(records))

    def action_switch_list(self) -> None:
        other = self.candidates_table if self._active_table() is self.groups_table else self.groups_table
        focus_now(other)  # tab is a priority key: the keys typed after it go to the other list

    def action_show_list(self, name: str) -> None:
        (self.groups_table if name == "groups" else self.candidates_table).focus()

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        """(name, help, callback) for the command palette while this screen is shown."""
        table = self._active_table()
        which = "suggested groups" if table is self.groups_table else "candidate scans"
        yield "candidates: open selected", "Open the row under the cursor", self.action_open
        yield "candidates: packets", "The packets of the marked rows, else the row under the cursor (p)", self.action_packets
        yield "candidates: label selected", "A new group from the row, or add it to a labelled group", self.action_label
        yield "candidates: accept selected", "Verdict collaborative for the row's IPs", lambda: self.action_verdict("collaborative")
        yield "candidates: reject selected", "Verdict not collaborative (remembered)", lambda: self.action_verdict("not_collaborative")
        yield "candidates: mark selected unsure", "Verdict unsure for the row's IPs", lambda: self.action_verdict("unsure")
        yield ("candidates: record selected scans", "Add the row's scans to the labelled group holding its IPs (same IPs as...)",
               self.action_record)
        yield "candidates: mark every row shown", f"Mark all the {which} shown (*)", table.action_mark_all
        yield "candidates: clear marks", f"Unmark every row of the {which} (-)", table.action_clear_marks
        yield "candidates: export the list", f"Write the {which} as shown to CSV, Parquet or an IP list (ctrl+s)", table.action_export
        yield "candidates: pick columns", f"Show, hide and reorder the columns of the {which} (c)", table.action_pick_columns
        yield "candidates: undo last label change", "Put the labels file back as before the last change", self.app.action_undo_label
        yield ("candidates: show reviewed rows" if self.hide_reviewed else "candidates: hide reviewed rows",
               "Toggle the labelled and rejected rows", self.action_toggle_reviewed)
        yield ("candidates: search options", "Change the window (day, 24h...), tolerance and grouping; search again",
               self.action_options)
        yield "candidates: filter", "Filter both lists: port: ip/CIDR as: day: timing: review: (/)", self.action_focus_filter
        yield "candidates: clear filter", "Show every row again (escape)", self.action_clear_filter
        yield "candidates: go to suggested groups", "Focus the list of suggested groups", lambda: self.action_show_list("groups")
        yield "candidates: go to candidate scans", "Focus the list of candidate scans", lambda: self.action_show_list("candidates")
        yield "candidates: review order", f"Sort the {which}: new first, rejected last", lambda: table.sort_by("review", False)
        yield "candidates: reverse sort", f"Flip the order of the {which}", table.action_sort_reverse
        yield "candidates: sort by next column", f"Sort the {which} by the column after the current one", table.action_sort_next
        for column in table.sortable_columns:
            if column.key != "review":
                yield (f"candidates: sort by {column.header}", f"Sort the {which} by {column.key}",
                       lambda k=column.key: table.sort_by(k))
