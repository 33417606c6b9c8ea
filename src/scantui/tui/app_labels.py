"""The App's labels file: opened, watched and changed in thread workers, one change at a time.

The labels file is opened in its own worker at start. Every labelling action goes
through :meth:`LabelsMixin.change_labels`, which runs the
:class:`~scantui.labels.session.LabelSession` call (saved at once: atomic, merged
with other analysts' edits) in a thread worker, one at a time, then posts
:class:`~scantui.tui.messages.LabelsChanged`; screens watch ``labels_version``.
``u`` undoes your last change, from any screen (refused, and said, where another
analyst changed the same thing since). The file is watched (every
:data:`LABELS_POLL` seconds): a save by another analyst is read again at once and
shown; a file that could not be read is opened as soon as it can; ``ctrl+r``
(palette "labels: reload") reads it again now. The same look notices a known-scanner list imported or removed
meanwhile (:mod:`scantui.tui.lists_watch`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from textual import work

from scantui.safetext import safe_text
from scantui.tui.messages import LabelsChanged
from scantui.tui.state import error_text

LABELS_POLL = 2.0  # seconds between looks at the labels file for another analyst's saves


class LabelsMixin:
    """The labels file of :class:`~scantui.tui.app.ScantuiApp` (which holds the locks and reactives used here)."""

    # ------------------------------------------------------------ opening and watching the file (threads)

    @work(thread=True, exclusive=True, group="labels-open", exit_on_error=False, description="labels open")
    def load_labels(self) -> None:
        """Open the labels file; a broken file is an error notification, and is watched until it can be read."""
        self._labels_stamp = self._labels_file_stamp()
        if self._run_step("labels", "", self.state.open_labels):
            self._labels_stamp = self.state.labels.stamp()
            self.post_message(LabelsChanged(f"labels: {len(self.state.labels.store)} groups"))
        if self.labels_poll and not self._labels_watched:
            self._labels_watched = True
            self.call_from_thread(self.set_interval, self.labels_poll, self.check_labels_file)
        _prepare(self.state.labels)

    def _labels_file_stamp(self) -> tuple[int, int] | None:
        """(mtime in ns, size) of the labels file, None while it does not exist (also before it is open)."""
        try:
            st = Path(self.state.request.labels_path or "scantui-labels.yaml").stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def check_labels_file(self) -> None:
        """Read the labels file again when someone else saved it, or open it when it was broken and changed;
        the known-scanner lists too, when one was imported or removed (:mod:`scantui.tui.lists_watch`)."""
        from scantui.tui.lists_watch import check_lists

        check_lists(self)
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

    @work(thread=True, exclusive=True, group="labels-open", exit_on_error=False, description="labels open")
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

    @work(thread=True, exclusive=True, group="labels-reload", exit_on_error=False, description="labels reload")
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
        _prepare(session)

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

    @work(thread=True, group="labels-save", exit_on_error=False, description="labels save")
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
            self.call_from_thread(self.notify, nothing, title="labels unchanged", markup=False)
            return
        self.post_message(LabelsChanged(change.description, change.group_id, change.conflicts))
        if then is not None:
            self.call_from_thread(then, change)

    @work(thread=True, exclusive=True, group="review-counts", exit_on_error=False, description="review counts")
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


def _prepare(session: Any) -> None:
    """Build the round-trip tree the next save needs, after the groups are shown (reading the file left it for later;
    after another analyst's save only the items that changed are parsed). A save meanwhile waits for it."""
    if session is not None:
        try:
            session.store.prepare()
        except Exception:  # noqa: BLE001 - the save that needs the tree says what is wrong
            pass
