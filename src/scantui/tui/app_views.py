"""The App's time range and saved views: one span of days for every area, and named views kept in the config file.

``app.time_range`` ((first, last) days, None: every day) is set by ``t`` (a prompt:
``2024-02-05..2024-02-09``, one day, ``..D``, ``D..``; open ends are the data's first/last
day) or by the overview's brush on the packets-per-day chart, and cleared by ``T``. Each
change sets the header's title and posts :class:`~scantui.tui.messages.TimeRangeChanged` to
the screens of the current area; the areas watch ``time_range`` themselves (the scanner
list recounts the days in a worker, the candidates and groups keep those active in it).

``w`` saves the current view (area, query text, time range, sort; on the scanner list whether ``U`` counts UDP)
under a name in the config
file (:func:`scantui.config.save_view`); ``v`` lists the saved views and the palette has one
"view: NAME" command each; opening one switches area and applies the rest. A screen takes part
with ``view_state() -> (query, sort)`` and ``apply_view(query, sort)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from scantui.tui.messages import TimeRangeChanged
from scantui.tui.safe import line_content
from scantui.tui.screens.dialog import DialogScreen
from scantui.tui.state import error_text

if TYPE_CHECKING:
    from scantui.config import SavedView

TimeRange = tuple[dt.date, dt.date]


def range_text(time_range: TimeRange | None) -> str:
    """``2024-02-05..2024-02-09`` (one day: ``2024-02-05``), "" for None."""
    if time_range is None:
        return ""
    first, last = time_range
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


class ViewListScreen(DialogScreen["SavedView | None"]):
    """The saved views by name; enter opens one, escape closes."""

    DEFAULT_CSS = """
    ViewListScreen { align: center middle; background: $background 60%; }
    ViewListScreen #views-box { width: 90%; max-width: 100; height: auto; max-height: 80%; border: round $accent;
                                background: $surface; padding: 0 1; }
    ViewListScreen OptionList { height: auto; max-height: 20; }
    """
    FOOTER_KEYS = {"select": "Open"}
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="views.cancel", priority=True)]

    def __init__(self, views: list[SavedView]) -> None:
        super().__init__()
        self.views = views

    def compose(self) -> ComposeResult:
        with Vertical(id="views-box") as box:
            box.border_title = "saved views"
            if not self.views:
                yield Static("no saved views yet (w saves the current one)", markup=False)
            yield OptionList(*[Option(line_content(_describe(v)), id=str(i)) for i, v in enumerate(self.views)],
                             id="views-list")

    def key_description(self, node: Any, binding: Binding) -> str | None:
        """No "⏎ Open" under an empty list: enter opens nothing there."""
        return None if binding.action == "select" and not self.views else super().key_description(node, binding)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.views[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)


def _describe(view: SavedView) -> str:
    parts = [view.name, view.area]
    if view.query:
        parts.append(f"/{view.query}")
    if view.time_range is not None:
        parts.append(f"{view.time_range[0] or ''}..{view.time_range[1] or ''}")
    if view.sort is not None:
        parts.append(f"sorted by {view.sort[0]} {'↓' if view.sort[1] else '↑'}")
    if view.udp:
        parts.append("UDP probes counted")
    return " · ".join(parts)


class ViewsMixin:
    """The App's time range (``t``, ``T``) and saved views (``w``, ``v``, the palette); see the module doc."""

    # ------------------------------------------------------------ the time range

    def data_days(self) -> tuple[dt.date, dt.date] | None:
        """The data's first and last day (the overview's), None before it is known."""
        overview = getattr(self, "overview", None)
        days = list(getattr(overview, "day_list", None) or [])
        return (min(days), max(days)) if days else None

    def parse_time_range(self, text: str) -> TimeRange | None:
        """``A..B``, a day, ``..B``, ``A..`` -> (first, last); "" -> None. Raises ValueError saying why."""
        from scantui.analysis.query import QueryError, parse_day_span

        text = text.strip()
        if not text:
            return None
        try:
            first, last = parse_day_span(text, text)
        except QueryError as exc:
            raise ValueError(str(exc)) from None
        if first is None or last is None:
            known = self.data_days()
            if known is None:
                raise ValueError("an open end needs the data's days: wait for the overview, or give both days")
            first, last = first or known[0], last or known[1]
            if first > last:
                raise ValueError(f"{text}: outside the data's days ({known[0]}..{known[1]})")
        return first, last

    def action_time_range(self) -> None:
        """Ask for the time range (``t``); an empty answer clears it."""
        from scantui.tui.screens.prompt import PromptScreen

        known = self.data_days()
        hint = f"the data: {known[0]}..{known[1]}; " if known else ""
        self.push_screen(PromptScreen(  # type: ignore[attr-defined]
            "time range", [("range", "days", range_text(self.time_range),  # type: ignore[attr-defined]
                            "2024-02-05..2024-02-09, 2024-02-05, ..2024-02-09, 2024-02-05..")],
            help_text=f"{hint}every area keeps what is active in these days; empty or T: every day",
            check=lambda values: (self.parse_time_range(values["range"]),)),
            lambda answer: answer is not None and self.set_time_range(answer[0]))

    def set_time_range(self, time_range: TimeRange | None) -> None:
        self.time_range = time_range  # type: ignore[attr-defined]

    def action_clear_time_range(self) -> None:
        """``T``: every day again."""
        self.time_range = None  # type: ignore[attr-defined]

    def watch_time_range(self, time_range: TimeRange | None) -> None:
        self.title = f"scantui · {range_text(time_range)}" if time_range is not None else "scantui"
        for screen in list(self.screen_stack):  # type: ignore[attr-defined]
            screen.post_message(TimeRangeChanged(time_range))

    # ------------------------------------------------------------ saved views

    def current_view(self, name: str) -> SavedView:
        """The view shown now, named *name*."""
        from scantui.config import SavedView

        screen = self.screen  # type: ignore[attr-defined]
        state = getattr(screen, "view_state", None)
        query, sort = state() if state is not None else ("", None)
        span = self.time_range  # type: ignore[attr-defined]
        return SavedView(name, self.current_mode, query,  # type: ignore[attr-defined]
                         (span[0].isoformat(), span[1].isoformat()) if span is not None else None, sort,
                         udp=bool(getattr(screen, "include_udp", False)))

    def action_save_view(self) -> None:
        """``w``: ask for a name and save the current view in the config file."""
        from scantui.tui.screens.prompt import PromptScreen

        def check(values: dict[str, str]) -> str:
            name = values["name"].strip()
            if not name:
                raise ValueError("a view needs a name")
            return name

        self.push_screen(PromptScreen(  # type: ignore[attr-defined]
            "save view", [("name", "name", "", "e.g. triage")],
            help_text=f"{self.current_mode}: query, time range and sort, kept in the config file "  # type: ignore[attr-defined]
                      "(v or the palette opens it)", check=check), self._save_view)

    def _save_view(self, name: str | None) -> None:
        if name is None:
            return
        from scantui.config import save_view

        view = self.current_view(name)
        try:
            save_view(view)
        except Exception as exc:  # noqa: BLE001 - a config file that cannot be written: said, the app goes on
            self.notify(error_text(exc), title="view not saved", severity="error", markup=False)  # type: ignore[attr-defined]
            return
        self.notify(_describe(view), title="view saved", markup=False)  # type: ignore[attr-defined]

    def load_views(self) -> list[SavedView]:
        """The saved views of the config file; a malformed one is a notification (and no views)."""
        from scantui.config import saved_views

        try:
            return saved_views()
        except Exception as exc:  # noqa: BLE001 - a broken config file must not stop the app
            self.notify(error_text(exc), title="saved views", severity="error", timeout=12, markup=False)  # type: ignore[attr-defined]
            return []

    def action_views(self) -> None:
        """``v``: the saved views; enter opens one."""
        self.push_screen(ViewListScreen(self.load_views()),  # type: ignore[attr-defined]
                         lambda view: view is not None and self.open_view(view))

    def open_view(self, view: SavedView) -> None:
        """Switch to the view's area, set its time range, then its query and sort on the area's screen."""
        try:
            span = None
            if view.time_range is not None:
                span = self.parse_time_range(f"{view.time_range[0] or ''}..{view.time_range[1] or ''}")
        except ValueError as exc:
            self.notify(f"{view.name}: {exc}", title="view", severity="error", markup=False)  # type: ignore[attr-defined]
            return
        while len(self.screen_stack) > 1:  # type: ignore[attr-defined]
            self.pop_screen()  # type: ignore[attr-defined]
        if view.area != self.current_mode:  # type: ignore[attr-defined]
            self.action_area(view.area)  # type: ignore[attr-defined]
        self.time_range = span  # type: ignore[attr-defined]
        self.call_after_refresh(self._apply_view, view)  # type: ignore[attr-defined]

    def _apply_view(self, view: SavedView) -> None:
        apply = getattr(self.screen, "apply_view", None)  # type: ignore[attr-defined]
        if apply is None:
            return
        udp = getattr(self.screen, "set_udp", None)  # type: ignore[attr-defined]
        if udp is not None:  # before the query: one recount, with the view's kinds
            udp(view.udp)
        try:
            apply(view.query, view.sort)
        except Exception as exc:  # noqa: BLE001 - a saved sort on a column that is gone: said, the rest applies
            self.notify(f"{view.name}: {error_text(exc)}", title="view", severity="warning", markup=False)  # type: ignore[attr-defined]

    def view_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        """Palette entries: the time range, saving, and one "view: NAME" per saved view."""
        yield "app: time range…", "Set the days every area shows (t; T clears)", self.action_time_range
        if self.time_range is not None:  # type: ignore[attr-defined]
            yield "app: clear time range", "Every day again (T)", self.action_clear_time_range
        yield "app: save view…", "Save this area's query, time range and sort under a name (w)", self.action_save_view
        yield "app: saved views…", "List the saved views (v)", self.action_views
        for view in self.load_views():
            yield f"view: {view.name}", _describe(view), (lambda v=view: self.open_view(v))
