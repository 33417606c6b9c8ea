"""The scantui App: the entry point of the TUI, its keys, reactive attributes and safe text.

:class:`ScantuiApp` is put together from one mixin per job:

- :mod:`scantui.tui.app_pipeline`: the loading pipeline in thread workers, its messages
  and progress, opening other data, searching again with other options;
- :mod:`scantui.tui.app_labels`: the labels file (opened, watched, reloaded) and every
  labelling change (``change_labels``, saved at once, one at a time), undo;
- :mod:`scantui.tui.app_theme`: the theme kept in the config file (``tui.theme``);
- :mod:`scantui.tui.app_navigation`: areas as Textual modes, back, the filter key,
  help, the detail screens (``open_scanner``, ``open_candidate``...), the palette;
- :mod:`scantui.tui.app_native`: what native code writes to stderr, shown as data;
- :mod:`scantui.tui.focus`: keys typed ahead wait while a new screen settles, then go to it in order.

This module holds what they share: the bindings, the reactive attributes the screens
watch, the start (paint first, then load), the exit status, and the untrusted-text
guards every notification, title and paste goes through.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive

from scantui.analysis.overview import Overview
from scantui.safetext import safe_line, safe_text
from scantui.tui.app_labels import LABELS_POLL, LabelsMixin
from scantui.tui.app_native import NativeOutputMixin
from scantui.tui.app_navigation import NavigationMixin
from scantui.tui.app_follow import FollowMixin
from scantui.tui.app_pipeline import PipelineMixin
from scantui.tui.app_theme import ThemeMixin
from scantui.tui.app_views import ViewsMixin
from scantui.tui.app_watch import WatchMixin
from scantui.tui.commands import ScantuiCommands
from scantui.tui.focus import TypedAheadMixin
from scantui.tui.safe import paste_text
from scantui.tui.screens.candidates import CandidatesScreen
from scantui.tui.screens.labels import LabelsScreen
from scantui.tui.screens.overview import OverviewScreen
from scantui.tui.screens.scanners import ScannersScreen
from scantui.tui.state import DataState, LoadRequest, error_text
from scantui.tui.widgets.footer import give_palette_a_footer

class ScantuiApp(PipelineMixin, FollowMixin, WatchMixin, LabelsMixin, ViewsMixin, ThemeMixin, NavigationMixin, NativeOutputMixin,
                 TypedAheadMixin, App[int]):
    """Investigate scanning data from the keyboard; see the module doc."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere (tests) find it too
    TITLE = "scantui"
    MODES = {"overview": OverviewScreen, "scanners": ScannersScreen, "candidates": CandidatesScreen, "labels": LabelsScreen}
    DEFAULT_MODE = "overview"
    COMMANDS = App.COMMANDS | {ScantuiCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        # priority: the keys that open a screen, a pop-up or a field (scantui.tui.focus), guarded by check_action
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Keys", id="app.help", priority=True),
        Binding("slash", "filter", "Filter", id="app.filter", priority=True),
        Binding("1", "area('overview')", "Overview", id="app.overview", priority=True),
        Binding("2", "area('scanners')", "Scanners", id="app.scanners", priority=True),
        Binding("3", "area('candidates')", "Candidates", id="app.candidates", priority=True),
        Binding("4", "area('labels')", "Labels", show=False, id="app.labels", priority=True),
        # l: the labels area where the screen has no l of its own (labelling the selection)
        Binding("l", "area('labels', 'l')", "Labels", show=False, id="app.labels_l", priority=True),
        Binding("u", "undo_label", "Undo", show=False, id="app.undo"),
        Binding("ctrl+r", "reload_labels", "Reload labels", show=False, id="app.labels_reload"),
        Binding("escape", "back", "Back", show=False, id="app.back"),
        Binding("t", "time_range", "Time range", show=False, id="app.time_range", priority=True),
        Binding("T", "clear_time_range", "Clear time range", show=False, id="app.time_range_clear", priority=True),
        Binding("w", "save_view", "Save view", show=False, id="app.save_view", priority=True),
        Binding("v", "views", "Saved views", show=False, id="app.views", priority=True),
        Binding("ctrl+z", "suspend_process", "Suspend", show=False, id="app.suspend"),
    ]

    overview: reactive[Overview | None] = reactive(None)
    scanners_version: reactive[int] = reactive(0)
    collab_count: reactive[int | None] = reactive(None)
    groups_count: reactive[int | None] = reactive(None)
    progress: reactive[float] = reactive(0.0)
    progress_text: reactive[str] = reactive("starting…")
    loading: reactive[bool] = reactive(True)
    counting: reactive[bool] = reactive(False)
    labels_version: reactive[int] = reactive(0)
    new_counts: reactive[tuple[int, int] | None] = reactive(None)  # (candidates, groups) not reviewed yet
    load_error: reactive[str | None] = reactive(None)  # why the data could not be loaded (the screens say it)
    #: The days every area shows ((first, last), None: all; scantui.tui.app_views): ``t`` sets, ``T`` clears.
    time_range: reactive[tuple[dt.date, dt.date] | None] = reactive(None, init=False)

    def __init__(self, request: LoadRequest, *, autoload: bool = True) -> None:
        super().__init__()
        self.state = DataState(request)
        self.autoload = autoload
        self.failures: list[tuple[str, str, str | None]] = []  # (step, text, traceback of an unexpected error)
        self._area_history: list[str] = []
        self._last_progress = 0.0
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._follow_wake = threading.Event()  # set: the --follow watcher looks again at once (tests, quit)
        self._follow_watcher = None  # its Watcher: a file the load failed on is marked bad there (follow_skip)
        self._labels_lock = threading.Lock()
        self._labels_stamp: tuple[int, int] | None = None
        self._labels_watched = False
        self.labels_poll: float | None = LABELS_POLL  # None: never look (tests call check_labels_file)
        self.init_native_output()

    def run(self, *args: Any, headless: bool = False, **kwargs: Any) -> Any:
        """Textual's ``run``, refused with one error line (exit 2) without a terminal on stdin and stderr (cron,
        ``< /dev/null``, data piped into ``-``): the terminal driver reads keys from fd 0 and draws on fd 2, and
        on end-of-file it would spin. A browser session of ``scantui serve`` names its driver (TEXTUAL_DRIVER)."""
        if not headless and not os.environ.get("TEXTUAL_DRIVER"):
            from scantui.errors import UsageError
            from scantui.io.native_stderr import terminal_fd

            missing = [name for name, fd in (("standard input", 0), ("standard error", terminal_fd())) if not _isatty(fd)]
            if missing:
                raise UsageError(f"the TUI needs a terminal: {' and '.join(missing)} "
                                 f"{'are not terminals' if len(missing) > 1 else 'is not one'} (for text output use a command such as 'scantui scanners PATH')")
        return super().run(*args, headless=headless, **kwargs)

    def get_driver_class(self) -> Any:
        """Textual's driver for this platform; on Linux and macOS one that keeps native code's writes to fd 2 off
        the screen (:mod:`scantui.tui.native_stderr`)."""
        from textual.drivers.linux_driver import LinuxDriver

        driver = super().get_driver_class()
        if driver is LinuxDriver:
            from scantui.tui.native_stderr import CapturingDriver

            return CapturingDriver
        return driver

    def on_mount(self) -> None:
        self.sub_title = safe_text(self.state.request.title)  # a file name is data: no control characters
        self.apply_saved_theme()  # tui.theme of the config file, before the first paint
        self.app_resume_signal.subscribe(self, self.redraw_after_resume)
        self.hold_keys_on_screen_change()  # keys typed ahead wait for a new screen (scantui.tui.focus)
        self.screen_change_signal.subscribe(self, give_palette_a_footer)  # ctrl+p: its keys on the bottom row
        self.call_after_refresh(self._apply_keymap)
        if self.autoload and self.state.request.follow:
            self.call_after_refresh(self.follow_inputs)  # it loads the first complete files it finds
            self.call_after_refresh(self.load_labels)
        elif self.autoload:
            self.call_after_refresh(self.load_data)  # paint first, then start reading
            self.call_after_refresh(self.load_labels)

    def _apply_keymap(self) -> None:
        """The user's key remapping (``tui.keymap`` in the config file: binding id -> keys)."""
        from scantui.config import tui_keymap

        try:
            keymap = tui_keymap()
        except Exception as exc:  # noqa: BLE001 - a broken config file must not stop the app
            self.notify(error_text(exc), title="keymap not applied", severity="error", timeout=12, markup=False)
            return
        if keymap:
            self.set_keymap(keymap)
            self._check_keymap_ids(list(keymap))

    @work(thread=True, group="keymap-check", exit_on_error=False, description="keymap check")
    def _check_keymap_ids(self, ids: list[str]) -> None:
        """An id of the keymap no key has (a typo) is a notification naming it and the file (Textual ignores
        it): :mod:`scantui.tui.keymap_check`, off the UI thread (it imports every screen)."""
        from scantui.config import config_path
        from scantui.tui.keymap_check import unknown_ids, unknown_ids_text

        unknown = unknown_ids(ids)
        if unknown:
            self.call_from_thread(self.notify, unknown_ids_text(unknown, config_path()), title="keymap",
                                  severity="warning", timeout=12, markup=False)

    async def action_quit(self) -> None:
        """Quit; the exit status is 2 when the data failed to load (and nothing else was opened since)."""
        self._follow_wake.set()  # the --follow watcher ends at once
        self.exit(return_code=2 if self.load_error is not None else 0)

    # ------------------------------------------------------------ untrusted text: every notification, title, paste

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every notification (the App's and every widget's) with its text made safe: messages quote file
        names, group titles and service answers, and a toast writes its text to the terminal as it is."""
        super().notify(safe_text(message), title=safe_line(title), severity=severity, timeout=timeout, markup=markup)

    def format_title(self, title: str, sub_title: str) -> Any:
        """The header's title and subtitle (the data's file name), one line each, unsafe characters escaped."""
        return super().format_title(safe_line(title), safe_line(sub_title))

    async def on_event(self, event: events.Event) -> None:
        """A paste can carry raw control characters (a key press cannot): hand every field escaped text."""
        if isinstance(event, events.Paste) and not event.is_forwarded:
            event.text = paste_text(event.text)
        await super().on_event(event)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:  # closed
        return False
