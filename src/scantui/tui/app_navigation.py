"""The App's navigation: areas (modes), back, the filter key, the help, detail screens, the palette.

Areas are Textual *modes* (``overview``, ``scanners``, ``candidates``, ``labels``),
each with its own screen stack, so a detail pushed over the scanner list stays
there while the analyst looks at the overview. ``escape`` pops a pushed screen,
else returns to the area shown before, as it was left (a detail over its list stays: back is where the user
was, as a browser's back; each area is in the history once, so escape never bounces between two areas and
ends at the overview). The ``open_*`` methods are how screens
open a detail (a scanner, a candidate scan, a suggested group, a labelled group's track).
``ctrl+z`` suspends the app to the shell.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable

from textual.screen import ModalScreen, Screen

from scantui.tui.screens.detail import CandidateDetailScreen, GroupDetailScreen, ScannerDetailScreen
from scantui.tui.screens.help import HelpScreen
from scantui.tui.screens.overview import OverviewScreen
from scantui.tui.screens.scanners import ScannersScreen
from scantui.tui.screens.track import TrackScreen
from scantui.tui.focus import TYPED_AHEAD, binds_key, typing_here

if TYPE_CHECKING:
    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup
    from scantui.analysis.scanner_row import ScannerRow

#: Areas the keys and the palette name, in order; those missing from MODES say "not yet".
AREAS = ("overview", "scanners", "candidates", "labels")


class NavigationMixin:
    """Moving between the screens of :class:`~scantui.tui.app.ScantuiApp`."""

    # ------------------------------------------------------------ opening other data

    def action_open_data(self) -> None:
        """Ask for a path (palette "app: open data…") and load it; the labels file stays."""
        import shlex

        from scantui.tui.screens.prompt import PromptScreen

        def check(values: dict[str, str]) -> list[str]:
            try:
                paths = shlex.split(values["path"])
            except ValueError as exc:
                raise ValueError(f"unreadable path: {exc}") from None
            if not paths:
                raise ValueError("no path given")
            return paths

        current = " ".join(shlex.quote(p) for p in self.state.request.paths)
        self.push_screen(PromptScreen("open data", [("path", "path", current, "a file or folder (several: separated by spaces)")],
                                      help_text="pcap, pcapng, Parquet, iptables CSV/LOG files or folders", check=check),
                         lambda paths: self.open_data(paths) if paths else None)

    # ------------------------------------------------------------ navigation

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the key of the area already shown (the footer at 80 columns has no room for it);
        over a modal (help), area keys wait until it is closed; ``l`` is the screen's where it binds it."""
        if action in TYPED_AHEAD and isinstance(self.screen, ModalScreen):
            return False  # over a pop-up only its own keys (these are priority bindings: scantui.tui.focus)
        if action in TYPED_AHEAD and typing_here(self):
            return False  # the key types into the field that has the focus
        if action == "area" and len(parameters) > 1 and binds_key(self.screen, str(parameters[1])):
            return False  # l where the screen labels with it: the screen's (its own priority binding)
        if action == "area" and parameters and parameters[0] == self.current_mode and len(self.screen_stack) == 1:
            return False
        if action == "filter" and not self._filter_here():
            return False  # not in the footer nor under "everywhere" in ?: the key only says so (on_key)
        if action == "sensors" and not self._sensors_to_compare():
            return False  # not listed by ? on one-sensor data: s only says so (on_key)
        return True

    def _sensors_to_compare(self) -> bool:
        overview = self.overview  # type: ignore[attr-defined]
        return overview is not None and len(overview.sensors) >= 2

    def _filter_here(self) -> bool:
        """Whether ``/`` filters something here: an area (the scanner list's bar, or the area's own) or a pushed
        screen with its own filter; a detail or a dissection has none."""
        return len(self.screen_stack) == 1 or getattr(self.screen, "action_focus_filter", None) is not None

    def on_key(self, event: Any) -> None:
        """``/`` where there is no filter, ``s`` on the overview of one-sensor data (their bindings hidden by
        :meth:`check_action`): say so, stay."""
        if event.key == "slash" and not isinstance(self.screen, ModalScreen) and not self._filter_here():
            self.notify("no filter on this screen (escape goes back)", title="filter", markup=False)  # type: ignore[attr-defined]
        elif event.key == "s" and isinstance(self.screen, OverviewScreen) and not self._sensors_to_compare():
            self.action_sensors()

    def action_area(self, name: str, _key: str = "") -> None:
        """Show area *name* (a mode); areas not built yet say so. *_key*: the key bound, when a screen may bind it
        to something else (:meth:`check_action` leaves it to the screen there)."""
        if name not in self.MODES:
            self.notify(f"the {name} screen is not part of this version yet", title=name, markup=False)
            return
        if name == self.current_mode:  # from a detail pushed over the area: back to the area itself
            for _ in range(len(self.screen_stack) - 1):
                self.pop_screen()
            self.refresh_bindings()
            return
        # each area once, the latest visit last: escape walks back through the areas seen, never between two
        # areas back and forth (2 3 2 3 then escape, escape: the scanners, then the overview)
        self._area_history = [a for a in self._area_history if a not in (name, self.current_mode)] + [self.current_mode]
        self.switch_mode(name)
        self.refresh_bindings()

    def action_back(self) -> None:
        """Pop a pushed screen, else return to the area shown before (the overview at the start)."""
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self._area_history:
            self.switch_mode(self._area_history.pop())
        elif self.current_mode != "overview":
            self.switch_mode("overview")
        self.refresh_bindings()

    def action_filter(self) -> None:
        """Focus the scanner query bar (switching to the scanner list first); on a screen pushed over an area (a
        detail, the packets) its own filter when it has one, else it stays and says so: leaving a detail the
        user was reading for another screen's bar was a surprise."""
        own = getattr(self.screen, "action_focus_filter", None)
        if own is not None:  # the area's bar (scanners, candidates, labels) or a pushed screen's (packets)
            own()
            return
        if len(self.screen_stack) > 1:
            self.notify("no filter on this screen (escape goes back)", title="filter", markup=False)  # type: ignore[attr-defined]
            return
        if self.current_mode != "scanners":
            self.action_area("scanners")
        self.call_after_refresh(self._focus_filter)

    def _focus_filter(self) -> None:
        if isinstance(self.screen, ScannersScreen):
            self.screen.action_focus_filter()

    def action_suspend_process(self) -> None:
        """``ctrl+z``: the process stopped (SIGTSTP), the shell's prompt back; ``fg`` resumes it, drawn again (the
        driver restarts application mode: :mod:`scantui.tui.native_stderr`). Where the driver cannot (a browser
        session), a notification."""
        driver = getattr(self, "_driver", None)
        if driver is None or not driver.can_suspend or os.name != "posix":
            self.notify("cannot suspend here: no shell to return to", title="suspend", severity="warning")  # type: ignore[attr-defined]
            return
        super().action_suspend_process()  # type: ignore[misc]

    def redraw_after_resume(self, _app: Any = None) -> None:
        """After ``fg`` (SIGCONT) the driver is in application mode again on a blank screen: everything is drawn
        again (Textual does this after its ``suspend()`` block, not after a SIGTSTP)."""
        self.refresh(layout=True)  # type: ignore[attr-defined]

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        self.push_screen(HelpScreen(self.screen))

    def open_scanner(self, row: ScannerRow, *, counted_for: Any = None, include_udp: bool = False) -> None:
        """Enter on a scanner row: its detail. *counted_for*: the (first, last) days the row was counted for
        (the scanner list under a time range), None: every day; the detail recounts it for another range.
        *include_udp*: the row was counted with UDP probes (the list's ``U``), and so is the detail."""
        self.push_screen(ScannerDetailScreen(row, counted_for=counted_for, include_udp=include_udp))

    def open_source(self, src: int) -> None:
        """The scanner detail of the source *src* (an int address) from the scanner list, or a notification
        when the list has no row for it (a source that sent no probe)."""
        from scantui.tui.columns import ip_text

        scanners = self.state.scanners
        row = scanners.row(int(src)) if scanners is not None else None
        if row is None:
            self.notify(f"{ip_text(src)} is not in the scanner list (no probes)", title="scanner", markup=False)
            return
        self.open_scanner(row)

    def open_candidate(self, record: CandidateScan) -> None:
        """A candidate scan: its detail with the per-IP timing plot."""
        self.push_screen(CandidateDetailScreen(record))

    def open_group(self, record: SuggestedGroup) -> None:
        """A suggested group: its detail, scans side by side."""
        self.push_screen(GroupDetailScreen(record))

    def open_packets(self, view: Any) -> None:
        """``p``: the packets of a :class:`~scantui.tui.screens.packets_view.PacketsView` (a scanner, a scan, a row)."""
        from scantui.tui.screens.packets import PacketsScreen

        self.push_screen(PacketsScreen(view))

    def action_sensors(self) -> None:
        """``s`` on the overview, palette "sensors: compare": what one sensor saw and another did not."""
        overview = self.overview
        if overview is None:
            self.notify("the data is not loaded yet", title="sensors", markup=False)
            return
        if len(overview.sensors) < 2:
            self.notify("the data has fewer than two sensors: nothing to compare", title="sensors", markup=False)
            return
        from scantui.tui.screens.sensors import SensorsScreen

        self.push_screen(SensorsScreen(overview.sensors))

    def open_track(self, group_id: str) -> None:
        """A labelled group's tracking view (the ``track`` figures)."""
        self.push_screen(TrackScreen(group_id))

    # ------------------------------------------------------------ the palette

    def palette_commands(self, screen: Screen) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        """(name, help, callback) of every command: the App's, then the current screen's."""
        yield "app: quit", "Quit scantui", self.action_quit
        yield "app: keys", "Show the keys of this screen", self.action_help
        for area in AREAS:
            if area in self.MODES:
                yield f"{area}: show", f"Go to the {area} screen", (lambda a=area: self.action_area(a))
        yield "app: back", "Back to the previous screen", self.action_back
        yield "app: open data…", "Open another data path (the labels file stays)", self.action_open_data
        yield from self.native_output_commands()
        yield "sensors: compare", "Sources and scans one sensor saw and another did not (s on the overview)", self.action_sensors
        if not isinstance(screen, ScannersScreen):
            yield "scanners: filter", "Go to the scanner list and focus its query bar", self.action_filter
        own = getattr(screen, "palette_commands", None)
        yield "labels: reload", "Read the labels file again now, or open it once it is fixed (ctrl+r)", self.action_reload_labels
        if self.state.request.follow:
            yield "labels: watch hits", "The labelled groups that came back in the new data this session", self.action_watch_hits
        if own is not None:
            yield from own()
        yield from self.view_commands()
