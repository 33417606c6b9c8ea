"""The App's loading pipeline: thread workers that run :class:`~scantui.tui.state.DataState` steps.

The pipeline (inputs -> rollup -> overview -> scanners, then the collaborative-scan
search and the suggested groups) runs in thread workers that post
:mod:`scantui.tui.messages`; only the handlers here change the reactive attributes
the screens watch (``overview``, ``scanners_version``, ``collab_count``,
``groups_count``, ``progress``...). The first screen paints before any of it
starts. Errors become notifications; the App keeps running. ``open_data`` and
``search_again`` start it again on other data or with other search options.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Callable

from textual import work
from textual.worker import get_current_worker

from scantui.io import read_panics
from scantui.safetext import safe_line, safe_text
from scantui.tui.messages import LoadProgress, StepDone, StepFailed
from scantui.tui.state import DataState, error_text

#: Share of the progress bar each pipeline step ends at.
_STEP_END = {"inputs": 0.03, "rollup": 0.90, "overview": 0.95, "scanners": 1.0}
_STEP_VERB = {"labels": "open the labels file", "inputs": "open the data", "rollup": "roll the data up", "overview": "compute the overview",
              "scanners": "list the scanners", "collab": "find candidate scans", "groups": "group the candidates"}
_PROGRESS_EVERY = 0.1  # seconds between progress messages from the rollup build


class PipelineMixin:
    """The loading pipeline of :class:`~scantui.tui.app.ScantuiApp` (which holds the reactive attributes set here)."""

    # ------------------------------------------------------------ the pipeline (threads)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, description="load")
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

    @work(thread=True, exclusive=True, group="collab", exit_on_error=False, description="collab")
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
            except read_panics.FAILURES as exc:  # noqa: BLE001 - every failure is shown; unexpected ones keep their traceback
                from scantui.errors import ScantuiError

                outcome["failure"] = (step, error_text(exc), None if isinstance(exc, ScantuiError) else traceback.format_exc())
                outcome["path"] = getattr(exc, "path", None) if isinstance(exc, ScantuiError) else None
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
            self.post_message(StepFailed(step, outcome["failure"][1], outcome["path"]))
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
        if message.step == "rollup":
            for note in state.year_notes:  # a yearless syslog LOG input: which year was taken, how to choose another
                self.notify(safe_line(note), title="LOG year", timeout=15, markup=False)
        elif message.step == "overview":
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
            self.watch_candidates()  # --follow: a labelled group back in the new data (scantui.tui.app_watch)
        elif message.step == "groups":
            self.groups_count = len(state.groups) if state.groups is not None else None
            self.counting = False
            self.count_new()

    def on_step_failed(self, message: StepFailed) -> None:
        if message.step == "labels":
            self.notify(message.text, title="could not open the labels file", severity="error", timeout=15, markup=False)
            return
        optional = message.step in ("collab", "groups")
        if not optional and message.path is not None and self.follow_skip(message.path):
            # --follow: one bad new file does not take the data away: the others are loaded again without it (as
            # `rollup --follow` does); the failure stays said until then, and for good when it was the only file
            self.notify(f"left out until it changes: {message.text}", title="follow: could not read a file",
                        severity="error", timeout=15, markup=False)
        else:
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

    # ------------------------------------------------------------ other options, other data

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
        """Load *paths* (with the request's other options, and *changes* to them) instead of the data shown.

        Other data opened from the palette stops ``--follow`` (the watcher passes ``follow=True`` and its files)."""
        import dataclasses

        changes.setdefault("files", None)
        changes.setdefault("follow", False)

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
