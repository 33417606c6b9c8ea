"""The labels area: every group of the labels file, its details, and the keys that edit it.

The groups are rows of a :class:`~scantui.tui.widgets.table.VirtualTable`
(id, title, verdict, category, members, ports, scans, tags, updated), rebuilt
whenever the App's ``labels_version`` changes (a save by this App, an undo, or
a concurrent analyst's edit merged in by the save). Beside it (below it under
120 columns) the group under the cursor: members, notes, and the scans that
support it. ``/`` filters the list by text (id, title, verdict, category, tags,
notes, ports) or by an IP a group holds, in a thread worker (:mod:`scantui.tui.offthread`).

Every change goes through :meth:`scantui.tui.app.ScantuiApp.change_labels`
(saved at once in a worker, merged with other analysts' edits, ``u`` undoes);
the modals of :mod:`scantui.tui.screens.edit_group` only ask. Enter opens the
group's tracking view (:class:`~scantui.tui.screens.track.TrackScreen`).
Titles, notes and tags are typed by analysts or read from a shared file: the
table draws plain text and the details use ``rich.text.Text``, both through
:func:`scantui.safetext.safe_text`, so nothing in them is markup or a terminal
sequence.

The list's columns, rows and filter are :mod:`~scantui.tui.screens.labels_table`;
the details panel is :mod:`~scantui.tui.screens.labels_details`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Input, Label, Static

from scantui.safetext import safe_line, safe_text
from scantui.tui.safe import line_content
from scantui.tui.screens.edit_group import ConfirmDeleteScreen, EditGroupScreen, PickGroupScreen, RemoveMembersScreen
from scantui.tui.screens.labels_details import group_details
from scantui.tui.offthread import LatestMixin
from scantui.tui.screens.labels_table import GROUP_COLUMNS, GroupTable, filtered_frame, groups_frame
from scantui.tui.widgets.filter_input import FilterInput
from scantui.tui.widgets.footer import KeysFooter
from scantui.tui.widgets.table import VirtualTable
from scantui.tui.focus import OpensRows, focus_now

if TYPE_CHECKING:
    from scantui.labels.model import Group

EMPTY_HINT = "no groups yet — press 3 and l on a candidate"
_OPEN_RETRY = 0.25  # seconds between looks while the labels file is being opened


#: The kind of the filter's off-thread requests (:mod:`scantui.tui.offthread`).
FILTER_KIND = "labels-filter"


class LabelsScreen(OpensRows, LatestMixin, Screen):
    """Every labelled group, its details, and the keys that change it."""

    HELP = ("The groups of the labels file. Every change is saved to the file at once (atomically, comments kept, "
            "merged with another analyst's edits; a field both of you changed keeps their value and says so). "
            "u undoes the last change. enter opens the group's tracking view (its scans over the whole data). "
            "/ filters the list: words match the id, title, verdict, category, tags, notes and ports; an IP "
            "matches the groups holding it. ctrl+s exports the list as shown (space marks rows: then only those), "
            "c picks the columns.")
    BINDINGS = [
        Binding("e", "edit", "Edit", id="labels.edit", priority=True),
        Binding("a", "verdict('collaborative')", "Accept", id="labels.accept"),
        Binding("x", "verdict('not_collaborative')", "Reject", id="labels.reject"),
        Binding("n", "verdict('unsure')", "Unsure", show=False, id="labels.unsure"),
        Binding("m", "merge", "Merge", id="labels.merge", priority=True),
        Binding("d", "remove_members", "Remove members", show=False, id="labels.remove_members", priority=True),
        Binding("delete", "delete", "Delete group", show=False, id="labels.delete", priority=True),
        Binding("slash", "focus_filter", "Filter", id="labels.filter"),
        Binding("escape", "leave", "Back", show=False, id="labels.leave_filter", priority=True),
        Binding("ctrl+u", "clear_filter", "Clear filter", show=False, id="labels.clear_filter"),
        Binding("p", "packets", "Packets", show=False, id="labels.packets", priority=True),
        Binding("enter", "open_row", "Track", id="labels.open", priority=True),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filter_text = ""
        self._shown_for: Group | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        with Horizontal(id="filter-row"):
            yield Label("/", id="filter-prompt")
            yield FilterInput(placeholder="filter: words, an IP (enter or escape back to the list)", id="filter")
        yield Static("opening the labels file…", id="labels-status", markup=False)
        with Horizontal(id="labels-body"):
            yield GroupTable(GROUP_COLUMNS, sort_key="id", descending=False, id="labels-table", empty_text=EMPTY_HINT)
            with VerticalScroll(id="labels-details", classes="panel") as details:
                details.border_title = "group"
                yield Static("", id="labels-details-text")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.table.ips_of = self._members_of  # an IP-list export (ctrl+s to .txt): the groups' members
        self.watch(self.app, "labels_version", self._labels_changed, init=True)
        self.table.focus()

    def _members_of(self, frame: Any) -> list[str]:
        store = self.session.store if self.session is not None else None
        groups = [store.find(gid) for gid in frame["id"].to_list()] if store is not None else []
        return [m for g in groups if g is not None for m in g.members]

    @property
    def table(self) -> GroupTable:
        return self.query_one(GroupTable)

    @property
    def session(self) -> Any:
        return self.app.state.labels

    # ------------------------------------------------------------ data in

    def _open_error(self) -> str | None:
        return next((text for step, text, _trace in reversed(self.app.failures) if step == "labels"), None)

    def _labels_changed(self, _version: int = 0) -> None:
        if self.session is None:
            error = self._open_error()
            if error is None:  # still opening (the App bumps labels_version when done)
                self.set_timer(_OPEN_RETRY, self._labels_changed)
                return
            self.table.empty_text = "the labels file is not open"
            self.table.set_frame(groups_frame([]))
            self._status("could not open the labels file: " + error)
            self._details(Text("could not open the labels file:\n\n" + safe_text(error) + "\n\nFix the file (scantui labels "
                               "validate FILE says what is wrong): it is opened as soon as it can be read (ctrl+r: now); "
                               "the other screens work meanwhile.",
                               style="bold"), "labels file")
            return
        self.table.empty_text = EMPTY_HINT if not self.filter_text.strip() else "no group matches the filter"
        self._refresh_list()
        self._shown_for = None  # a source note may have changed under the same group: its details again
        self._highlighted()

    def _refresh_list(self) -> None:
        """The list as filtered: at once with no filter, else from a thread worker (the newest filter wins)."""
        groups = self.session.store.groups if self.session is not None else []
        text = self.filter_text
        if not text.strip():
            self.forget_latest(FILTER_KIND)
            self._show_list(groups, (groups, groups_frame(groups)), text)
            return
        self.table.expect_frame()  # the cursor moves typed before the result lands are made again on it
        self.compute_latest(FILTER_KIND, lambda: filtered_frame(groups, text),
                            lambda shown: self._show_list(groups, shown, text), title="filter",
                            failed=self.table.rows_not_coming)

    def _show_list(self, groups: list[Group], shown_frame: tuple[list[Group], Any], filter_text: str) -> None:
        shown, frame = shown_frame
        self.table.set_frame(frame)
        name = Path(self.session.store.path).name if self.session is not None else ""
        noun = "group" if len(groups) == 1 else "groups"
        text = f"{len(shown)} of {len(groups)} {noun}" if len(shown) != len(groups) else f"{len(groups)} {noun}"
        if filter_text.strip():
            text += f" · filter: {filter_text.strip()}"
        self._status(f"{text} · {name}" + (" · u undoes: " + self.session.undo_description if self.session.can_undo else ""))

    def _status(self, text: str) -> None:
        self._status_text = text
        marks = self.table.marks_text()
        self.query_one("#labels-status", Static).update(Text(safe_line(text + (f" · {marks}" if marks else ""))))

    _status_text = ""

    @on(VirtualTable.MarksChanged)
    def _marks_changed(self, _event: VirtualTable.MarksChanged) -> None:
        self._status(self._status_text)

    def _details(self, content: Any, title: str) -> None:
        details = self.query_one("#labels-details", VerticalScroll)
        details.border_title = line_content(title)
        self.query_one("#labels-details-text", Static).update(content)

    @on(VirtualTable.CursorMoved, "#labels-table")
    def _highlighted(self) -> None:
        group = self.selected
        if group is self._shown_for and group is not None:
            return
        self._shown_for = group
        if group is not None:
            self._details(group_details(group, self.session.store.sources if self.session is not None else ()),
                          f"group {group.id}")
        elif self.session is not None:
            self._details(Text(EMPTY_HINT if not self.session.store.groups else "no group matches the filter",
                               style="italic"), "group")

    @property
    def selected(self) -> Group | None:
        """The group under the cursor (None when the list is empty)."""
        row = self.table.selected_row
        if row is None or self.session is None or row["id"] not in self.session.store:
            return None
        return self.session.store.get(row["id"])

    # ------------------------------------------------------------ filter

    @on(Input.Changed, "#filter")
    def _typed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        if self.session is not None:
            self.table.empty_text = "no group matches the filter" if event.value.strip() else EMPTY_HINT
            self._refresh_list()

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        focus_now(self.table)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    def action_focus_filter(self) -> None:
        focus_now(self.filter_input)

    def action_leave_filter(self) -> None:
        """Escape: from the filter back to the list; from the list, back to the previous screen."""
        focus_now(self.table) if self.filter_input.has_focus else self.app.action_back()

    def action_clear_filter(self) -> None:
        self.filter_input.value = ""

    # ------------------------------------------------------------ rows out

    @on(VirtualTable.RowSelected, "#labels-table")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.open_row(event.control, event.row)

    def open_row(self, _table: VirtualTable, row: dict[str, Any]) -> None:
        self.app.open_track(row["id"])

    def action_packets(self) -> None:
        """``p``: the selected group's packets (its members; on its recorded scans' ports and days when it has some)."""
        from scantui.tui.screens.packets_view import PacketsView

        group = self._need_group()
        if group is not None:
            self.app.open_packets(PacketsView.of_labelled(group))

    def action_track(self) -> None:
        group = self._need_group()
        if group is not None:
            self.app.open_track(group.id)

    # ------------------------------------------------------------ changes

    def _need_group(self) -> Group | None:
        if self.session is None:
            self.notify("the labels file is not open (see the error on this screen)", severity="error", markup=False)
            return None
        group = self.selected
        if group is None:
            self.notify("no group selected", markup=False)
        return group

    def _change(self, action: Callable[[Any], Any]) -> None:
        self.app.change_labels(action)

    def action_edit(self) -> None:
        group = self._need_group()
        if group is None:
            return

        def done(changes: dict[str, Any] | None) -> None:
            if changes:
                self._change(lambda s: s.edit(group.id, **changes))
            elif changes is not None:
                self.notify("nothing changed", markup=False)

        self.app.push_screen(EditGroupScreen(group), done)

    def action_verdict(self, verdict: str) -> None:
        group = self._need_group()
        if group is None:
            return
        if group.verdict == verdict:
            self.notify(f"{safe_text(group.id)} is already {verdict}", markup=False)
            return
        self._change(lambda s: s.set_verdict(group.id, verdict))

    def action_merge(self) -> None:
        group = self._need_group()
        if group is None:
            return
        others = [g for g in self.session.store.groups if g.id != group.id]
        if not others:
            self.notify("no other group to merge", markup=False)
            return

        def done(other: str | None) -> None:
            if other:
                self._change(lambda s: s.merge(group.id, other))

        self.app.push_screen(PickGroupScreen(f"merge which group into {group.id}?", others), done)

    def action_remove_members(self) -> None:
        group = self._need_group()
        if group is None:
            return

        def done(members: list[str] | None) -> None:
            if members:
                self._change(lambda s: s.remove_members(group.id, members))

        self.app.push_screen(RemoveMembersScreen(group), done)

    def action_delete(self) -> None:
        group = self._need_group()
        if group is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                self._change(lambda s: s.delete(group.id))

        self.app.push_screen(ConfirmDeleteScreen(group), done)

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        """(name, help, callback) for the command palette while this screen is shown."""
        table = self.table
        yield "labels: track selected", "Open the tracking view of the group under the cursor (enter)", self.action_track
        yield "labels: edit selected", "Edit title, verdict, category, members, ports, tags, notes (e)", self.action_edit
        yield "labels: accept", "Verdict collaborative for the selected group (a)", lambda: self.action_verdict("collaborative")
        yield "labels: reject", "Verdict not_collaborative for the selected group (x)", lambda: self.action_verdict("not_collaborative")
        yield "labels: unsure", "Verdict unsure for the selected group (n)", lambda: self.action_verdict("unsure")
        yield "labels: merge into selected", "Fold another group into the selected one (m)", self.action_merge
        yield "labels: remove members", "Remove members from the selected group (d)", self.action_remove_members
        yield "labels: delete selected", "Delete the selected group, after a confirmation (delete)", self.action_delete
        yield "labels: undo", "Undo the last labelling change (u)", self.app.action_undo_label
        yield "labels: filter", "Filter the groups by words or an IP (/)", self.action_focus_filter
        yield "labels: clear filter", "Show every group again (ctrl+u)", self.action_clear_filter
        yield "labels: reverse sort", "Flip the sort order (r)", table.action_sort_reverse
        for column in table.sortable_columns:
            yield f"labels: sort by {column.header}", f"Sort the groups by {column.key}", (lambda k=column.key: table.sort_by(k))
