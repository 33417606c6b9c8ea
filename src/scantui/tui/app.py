"""The scantui App: screens as modes, the loading pipeline in thread workers, app-wide keys.

Areas are Textual *modes* (``overview``, ``scanners``, ``candidates``,
``labels``), each with its own screen
stack, so a detail pushed over the scanner list stays there while the analyst
looks at the overview. ``escape`` pops a pushed screen, else returns to the
area shown before.

The pipeline (:class:`~scantui.tui.state.DataState`) runs in thread workers that
post :mod:`scantui.tui.messages`; only the handlers here change the reactive
attributes the screens watch (``overview``, ``scanners_version``,
``collab_count``, ``groups_count``, ``progress``...). The first screen paints
before any of it starts. Errors become notifications; the App keeps running.

**Labels.** The labels file is opened in its own worker at start. Every
labelling action goes through :meth:`ScantuiApp.change_labels`, which runs the
:class:`~scantui.labels.session.LabelSession` call (saved at once: atomic,
merged with other analysts' edits) in a thread worker, one at a time, then posts
:class:`~scantui.tui.messages.LabelsChanged`; screens watch ``labels_version``.
``u`` undoes your last change, from any screen (refused, and said, where another
analyst changed the same thing since). The file is watched (every
:data:`LABELS_POLL` seconds): a save by another analyst is read again at once and
shown; a file that could not be read is opened as soon as it can; ``ctrl+r``
(palette "labels: reload") reads it again now.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.worker import get_current_worker

from scantui.analysis.overview import Overview
from scantui.safetext import safe_line, safe_text
from scantui.tui.commands import ScantuiCommands
from scantui.tui.messages import LabelsChanged, LoadProgress, StepDone, StepFailed
from scantui.tui.safe import paste_text
from scantui.tui.screens.candidates import CandidatesScreen
from scantui.tui.screens.detail import CandidateDetailScreen, GroupDetailScreen, ScannerDetailScreen
from scantui.tui.screens.help import HelpScreen
from scantui.tui.screens.labels import LabelsScreen
from scantui.tui.screens.overview import OverviewScreen
from scantui.tui.screens.scanners import ScannersScreen
from scantui.tui.screens.track import TrackScreen
from scantui.tui.state import DataState, LoadRequest, error_text

if TYPE_CHECKING:
    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup
    from scantui.analysis.scanner_row import ScannerRow

#: Areas the keys and the palette name, in order; those missing from MODES say "not yet".
AREAS = ("overview", "scanners", "candidates", "labels")
#: Share of the progress bar each pipeline step ends at.
_STEP_END = {"inputs": 0.03, "rollup": 0.90, "overview": 0.95, "scanners": 1.0}
_STEP_VERB = {"labels": "open the labels file", "inputs": "open the data", "rollup": "roll the data up", "overview": "compute the overview",
              "scanners": "list the scanners", "collab": "find candidate scans", "groups": "group the candidates"}
_PROGRESS_EVERY = 0.1  # seconds between progress messages from the rollup build
LABELS_POLL = 2.0  # seconds between looks at the labels file for another analyst's saves


class ScantuiApp(App[int]):
    """Investigate scanning data from the keyboard; see the module doc."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere (tests) find it too
    TITLE = "scantui"
    MODES = {"overview": OverviewScreen, "scanners": ScannersScreen, "candidates": CandidatesScreen, "labels": LabelsScreen}
    DEFAULT_MODE = "overview"
    COMMANDS = App.COMMANDS | {ScantuiCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("slash", "filter", "Filter", id="app.filter"),
        Binding("1", "area('overview')", "Overview", id="app.overview"),
        Binding("2", "area('scanners')", "Scanners", id="app.scanners"),
        Binding("3", "area('candidates')", "Candidates", id="app.candidates"),
        Binding("4,l", "area('labels')", "Labels", show=False, id="app.labels"),
        Binding("u", "undo_label", "Undo", show=False, id="app.undo"),
        Binding("ctrl+r", "reload_labels", "Reload labels", show=False, id="app.labels_reload"),
        Binding("escape", "back", "Back", show=False, id="app.back"),
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

    def __init__(self, request: LoadRequest, *, autoload: bool = True) -> None:
        super().__init__()
        self.state = DataState(request)
        self.autoload = autoload
        self.failures: list[tuple[str, str, str | None]] = []  # (step, text, traceback of an unexpected error)
        self._area_history: list[str] = []
        self._last_progress = 0.0
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._labels_lock = threading.Lock()
        self._labels_stamp: tuple[int, int] | None = None
        self._labels_watched = False
        self.labels_poll: float | None = LABELS_POLL  # None: never look (tests call check_labels_file)

    def on_mount(self) -> None:
        self.sub_title = safe_text(self.state.request.title)  # a file name is data: no control characters
        self.call_after_refresh(self._apply_keymap)
        if self.autoload:
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

    # ------------------------------------------------------------ the pipeline (threads)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_data(self) -> None:
        """Inputs -> rollup -> overview -> scanners; each step posts StepDone or StepFailed."""
        state, worker = self.state, get_current_worker()
        steps: list[tuple[str, str, Callable[[], Any]]] = [
            ("inputs", "opening the inputs", state.open_inputs),
            ("rollup", "opening the rollup", lambda: state.open_rollup(progress=state.step_task("rollup"))),
            ("overview", "reading the overview figures", state.build_overview),
            ("scanners", "listing the scanners", state.build_scanners),
        ]
        for step, text, run in steps:
            if worker.is_cancelled or not self._run_step(step, text, run):
                return
        self.post_message(LoadProgress("ready", 1.0))

    @work(thread=True, exclusive=True, group="collab", exit_on_error=False)
    def count_candidates(self) -> None:
        """Candidate collaborative scans, then suggested groups: the counts waiting for review.

        Hook for the candidates/labels screens: the results are ``state.collab`` and
        ``state.groups`` (watch ``collab_count`` / ``groups_count`` to know when they
        change); discounting what the labels file (``state.request.labels_path``)
        already decided belongs in :meth:`DataState.build_groups`.
        """
        state = self.state
        if self._run_step("collab", "", state.build_collab):
            self._run_step("groups", "", state.build_groups)

    @work(thread=True, exclusive=True, group="labels-open", exit_on_error=False)
    def load_labels(self) -> None:
        """Open the labels file; a broken file is an error notification, and is watched until it can be read."""
        self._labels_stamp = self._labels_file_stamp()
        if self._run_step("labels", "", self.state.open_labels):
            self._labels_stamp = self.state.labels.stamp()
            self.post_message(LabelsChanged(f"labels: {len(self.state.labels.store)} groups"))
        if self.labels_poll and not self._labels_watched:
            self._labels_watched = True
            self.call_from_thread(self.set_interval, self.labels_poll, self.check_labels_file)

    def _labels_file_stamp(self) -> tuple[int, int] | None:
        """(mtime in ns, size) of the labels file, None while it does not exist (also before it is open)."""
        try:
            st = Path(self.state.request.labels_path or "scantui-labels.yaml").stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def check_labels_file(self) -> None:
        """Read the labels file again when someone else saved it, or open it when it was broken and changed."""
        if self._labels_lock.locked():
            return
        session = self.state.labels
        if session is None:
            if self._labels_file_stamp() != self._labels_stamp and not self._labels_opening():
                self._reopen_labels()
            return
        if session.stamp() != self._labels_stamp:
            self._reload_labels()

    def _labels_opening(self) -> bool:
        return any(w.group == "labels-open" and not w.is_finished for w in self.workers)

    @work(thread=True, exclusive=True, group="labels-open", exit_on_error=False)
    def _reopen_labels(self, asked: bool = False) -> None:
        """Open the labels file that could not be read (it changed, or the user asked)."""
        with self._labels_lock:
            stamp = self._labels_file_stamp()
            if self.state.labels is not None or (not asked and stamp == self._labels_stamp):
                return
            self._labels_stamp = stamp
            opened = self._run_step("labels", "", self.state.open_labels)  # a failure is notified and shown
            if opened:
                self._labels_stamp = self.state.labels.stamp()
        if opened:
            n = len(self.state.labels.store)
            self.post_message(LabelsChanged(f"the labels file can be read now: {n} group{'s' if n != 1 else ''}; labelling is on",
                                            reloaded=True))
        else:
            self.call_from_thread(setattr, self, "labels_version", self.labels_version + 1)  # the labels screen shows the new error

    @work(thread=True, exclusive=True, group="labels-reload", exit_on_error=False)
    def _reload_labels(self, asked: bool = False) -> None:
        session = self.state.labels
        with self._labels_lock:
            stamp = session.stamp()
            moved = stamp != self._labels_stamp
            if not moved and not asked:
                return
            try:
                session.reload()
            except Exception as exc:  # noqa: BLE001 - broken by someone else: say so, keep what we have
                self._labels_stamp = stamp
                self.call_from_thread(self.notify, error_text(exc), title="the labels file changed and cannot be read",
                                      severity="error", timeout=12, markup=False)
                return
            self._labels_stamp = stamp
        text = "the labels file changed on disk: read again" if moved else f"read again: {len(session.store)} groups"
        self.post_message(LabelsChanged(text, reloaded=True))

    def action_reload_labels(self) -> None:
        """Read the labels file again now (or open it, when it could not be read)."""
        if self.state.labels is None:
            if self._labels_opening():
                self.notify("the labels file is being opened", markup=False)
                return
            self._reopen_labels(asked=True)
        else:
            self._reload_labels(asked=True)

    # ------------------------------------------------------------ labelling (threads, one at a time)

    def change_labels(self, action: Callable[[Any], Any], *, then: Callable[[Any], None] | None = None,
                      failed: Callable[[Exception], bool] | None = None, nothing: str = "nothing to undo") -> None:
        """Run ``action(session)`` (a :class:`LabelSession` call returning a ``Change``) and save, off the UI thread.

        *then* runs on the UI thread with the change once it is saved; an action returning None
        changed nothing (*nothing* is said). Failures (another analyst broke the file, a lock held
        too long, an invalid field, an undo refused) are notifications; nothing is half-written and
        the session rolls back. *failed*, when given, sees the error first (on the UI thread) and
        returns True when it dealt with it (asked again).
        """
        if self.state.labels is None:
            self.notify("the labels file is not open (see the earlier error)", severity="error", markup=False)
            return
        self._change_labels(action, then, failed, nothing)

    def _labels_failed(self, exc: Exception, failed: Callable[[Exception], bool] | None) -> None:
        from scantui.labels.session import UndoRefused

        if failed is not None and failed(exc):
            return
        title = "undo refused" if isinstance(exc, UndoRefused) else "labels not changed"
        self.notify(safe_text(error_text(exc)), title=title, severity="error", timeout=15, markup=False)  # names from the file

    @work(thread=True, group="labels-save", exit_on_error=False)
    def _change_labels(self, action: Callable[[Any], Any], then: Callable[[Any], None] | None,
                       failed: Callable[[Exception], bool] | None, nothing: str) -> None:
        from scantui.errors import ScantuiError

        with self._labels_lock:  # changes apply in the order asked, never two saves at once
            try:
                change = action(self.state.labels)
                self._labels_stamp = self.state.labels.stamp()
            except (ScantuiError, ValueError, OSError) as exc:
                self.call_from_thread(self._labels_failed, exc, failed)
                return
        if change is None:
            self.call_from_thread(self.notify, nothing, markup=False)
            return
        self.post_message(LabelsChanged(change.description, change.group_id, change.conflicts))
        if then is not None:
            self.call_from_thread(then, change)

    @work(thread=True, exclusive=True, group="review-counts", exit_on_error=False)
    def count_new(self) -> None:
        """How many candidates and groups are still to review (new, or same IPs as a labelled group
        but not recorded in it): the overview's figures."""
        state = self.state
        if state.collab is None or state.groups is None:
            return
        todo = ("new", "same_ips")
        cands = sum(state.review_record(c)[0] in todo for c in state.collab.candidates)
        groups = sum(state.review_record(g)[0] in todo for g in state.groups)
        self.call_from_thread(setattr, self, "new_counts", (cands, groups))

    def action_undo_label(self) -> None:
        """Undo the last labelling change (saved at once)."""
        self.change_labels(lambda session: session.undo())

    def on_labels_changed(self, message: LabelsChanged) -> None:
        self.labels_version += 1
        self.count_new()
        if message.reloaded:
            self.notify(message.text, title="labels", timeout=5, markup=False)
            return
        if message.conflicts:  # "kept bob's value for G04: title"
            self.notify(safe_text("; ".join(message.conflicts)), title=safe_text(message.text), severity="warning", timeout=12,
                        markup=False)
        elif message.group_id is not None or message.text.startswith("undo"):
            self.notify(safe_text(message.text), title="labels saved", timeout=4, markup=False)

    def _run_step(self, step: str, text: str, run: Callable[[], Any]) -> bool:
        """Run one step (in the calling worker's thread); post StepDone, or StepFailed with one line.

        The step itself runs in a daemon thread the worker waits on, checking for
        cancellation: a quit mid-build cancels the worker at once instead of waiting
        for polars to finish (see :func:`scantui.tui.launch.run_tui`), and cancels the
        step's :class:`~scantui.workspace.Task`, so the step stops at its next checkpoint
        (a rollup build between its days, its temporary folder removed).
        """
        if text:
            self.post_message(LoadProgress(text, None))
        worker, state = get_current_worker(), self.state
        task = state.task_for(step, self._rollup_progress if step == "rollup" else None)
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def target() -> None:
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - every failure is shown; unexpected ones keep their traceback
                from scantui.errors import ScantuiError

                outcome["failure"] = (step, error_text(exc), None if isinstance(exc, ScantuiError) else traceback.format_exc())
            finally:
                with self._busy_lock:
                    self._busy -= 1
                done.set()

        with self._busy_lock:
            self._busy += 1
        threading.Thread(target=target, name=f"scantui-{step}", daemon=True).start()
        while not done.wait(0.05):
            if worker.is_cancelled:
                task.cancel()
                return False
        if step != "labels" and self.state is not state:
            return False  # other data was opened meanwhile: this result is stale
        if "failure" in outcome:
            self.failures.append(outcome["failure"])
            self.post_message(StepFailed(step, outcome["failure"][1]))
            return False
        if step in _STEP_END:
            self.post_message(LoadProgress(text or step, _STEP_END[step]))
        self.post_message(StepDone(step))
        return True

    def workers_busy(self) -> bool:
        """True while a pipeline step is still running in its thread (e.g. after a quit mid-build)."""
        with self._busy_lock:
            return self._busy > 0

    def _rollup_progress(self, message: str, fraction: float | None) -> None:
        """The rollup build's progress callback (any thread): coalesced to one message per 0.1 s."""
        now = time.monotonic()
        if fraction is not None and fraction < 1.0 and now - self._last_progress < _PROGRESS_EVERY:
            return
        self._last_progress = now
        start, end = _STEP_END["inputs"], _STEP_END["rollup"]
        self.post_message(LoadProgress(message, None if fraction is None else start + (end - start) * fraction))

    # ------------------------------------------------------------ pipeline messages (UI thread)

    def on_load_progress(self, message: LoadProgress) -> None:
        self.progress_text = message.text
        if message.fraction is not None:
            self.progress = max(self.progress, message.fraction)

    def on_step_done(self, message: StepDone) -> None:
        state = self.state
        if message.step == "overview":
            self.overview = state.overview
        elif message.step == "scanners":
            self.loading = False
            self.scanners_version += 1
            if self.empty_data:  # no packets: nothing to search (the screens say "no packets in ...")
                return
            self.counting = True
            self.count_candidates()
        elif message.step == "collab":
            self.collab_count = len(state.collab.candidates) if state.collab is not None else None
            for note in state.collab.notes if state.collab is not None else ():
                self.notify(note, title="candidates", markup=False)
        elif message.step == "groups":
            self.groups_count = len(state.groups) if state.groups is not None else None
            self.counting = False
            self.count_new()

    def on_step_failed(self, message: StepFailed) -> None:
        if message.step == "labels":
            self.notify(message.text, title="could not open the labels file", severity="error", timeout=15, markup=False)
            return
        optional = message.step in ("collab", "groups")
        self.notify(message.text, title=f"could not {_STEP_VERB.get(message.step, message.step)}",
                    severity="warning" if optional else "error", timeout=12, markup=False)
        if optional:
            self.counting = False
        else:
            self.load_error = message.text  # before loading ends: the screens read it then
            self.loading = False
            self.progress_text = f"failed: {message.text}"

    @property
    def empty_data(self) -> bool:
        """True when the data loaded and holds no packets."""
        return self.overview is not None and self.overview.packets == 0

    def no_data_text(self, what: str) -> str | None:
        """Why *what* (e.g. "scanners") is empty when the data failed or is empty; None otherwise."""
        if self.load_error is not None:
            return f"no {what}: could not open the data: {self.load_error} (ctrl+p: open data…)"
        if self.empty_data:
            return f"no packets in {self.state.request.title}"
        return None

    async def action_quit(self) -> None:
        """Quit; the exit status is 2 when the data failed to load (and nothing else was opened since)."""
        self.exit(return_code=2 if self.load_error is not None else 0)

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

    def search_again(self, **options: Any) -> None:
        """Run the collaborative-scan search and grouping again with other options (``window``,
        ``tolerance``, ``by``: :class:`LoadRequest` fields, as typed); the data stays loaded."""
        import dataclasses

        state = self.state
        self.workers.cancel_group(self, "collab")
        state.request = dataclasses.replace(state.request, **options)
        state.collab = state.groups = None
        self.collab_count = self.groups_count = None
        self.new_counts = None
        if self.loading or self.load_error is not None or self.empty_data:
            return  # the search runs (with the new options) once the data is loaded
        self.counting = True
        self.count_candidates()

    def open_data(self, paths: list[str], **changes: Any) -> None:
        """Load *paths* (with the request's other options, and *changes* to them) instead of the data shown."""
        import dataclasses

        if any(w.group == "labels-open" and not w.is_finished for w in self.workers):
            self.notify("the labels file is still being opened: try again in a moment", markup=False)
            return
        for group in ("load", "collab", "review-counts"):
            self.workers.cancel_group(self, group)
        old = self.state
        self.state = DataState(dataclasses.replace(old.request, paths=tuple(str(p) for p in paths), **changes))
        self.state.labels = old.labels
        self.failures.clear()
        self.load_error = None
        self.overview = None
        self.collab_count = self.groups_count = None
        self.new_counts = None
        self.progress, self.progress_text, self._last_progress = 0.0, "starting…", 0.0
        self.counting = False
        self.loading = True
        self.scanners_version += 1
        self.sub_title = safe_text(self.state.request.title)
        self.load_data()

    # ------------------------------------------------------------ navigation

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the key of the area already shown (the footer at 80 columns has no room for it);
        over a modal (help), area keys wait until it is closed."""
        if action in ("area", "filter") and isinstance(self.screen, ModalScreen):
            return False
        if action == "area" and parameters and parameters[0] == self.current_mode and len(self.screen_stack) == 1:
            return False
        return True

    def action_area(self, name: str) -> None:
        """Show area *name* (a mode); areas not built yet say so."""
        if name not in self.MODES:
            self.notify(f"the {name} screen is not part of this version yet", title=name, markup=False)
            return
        if name == self.current_mode:  # from a detail pushed over the area: back to the area itself
            for _ in range(len(self.screen_stack) - 1):
                self.pop_screen()
            self.refresh_bindings()
            return
        self._area_history.append(self.current_mode)
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
        """Focus the scanner query bar (switching to the scanner list first, or back to it from a detail)."""
        if self.current_mode != "scanners":
            self.action_area("scanners")
        elif not isinstance(self.screen, ScannersScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        self.call_after_refresh(self._focus_filter)

    def _focus_filter(self) -> None:
        if isinstance(self.screen, ScannersScreen):
            self.screen.action_focus_filter()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        self.push_screen(HelpScreen(self.screen))

    def open_scanner(self, row: ScannerRow) -> None:
        """Enter on a scanner row: its detail."""
        self.push_screen(ScannerDetailScreen(row))

    def open_candidate(self, record: CandidateScan) -> None:
        """A candidate scan: its detail with the per-IP timing plot."""
        self.push_screen(CandidateDetailScreen(record))

    def open_group(self, record: SuggestedGroup) -> None:
        """A suggested group: its detail, scans side by side."""
        self.push_screen(GroupDetailScreen(record))

    def open_track(self, group_id: str) -> None:
        """A labelled group's tracking view (the ``track`` figures)."""
        self.push_screen(TrackScreen(group_id))

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
        if not isinstance(screen, ScannersScreen):
            yield "scanners: filter", "Go to the scanner list and focus its query bar", self.action_filter
        own = getattr(screen, "palette_commands", None)
        yield "labels: reload", "Read the labels file again now, or open it once it is fixed (ctrl+r)", self.action_reload_labels
        if own is not None:
            yield from own()
