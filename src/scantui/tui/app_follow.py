"""Following folders in the TUI (``scantui PATH --follow``): each complete new file is folded in.

A thread worker looks at the request's paths every ``follow_interval`` seconds
with the rollup's :class:`~scantui.analysis.rollup_follow.Watcher` (a file is
complete once its size and mtime stop changing and it is ``follow_settle``
seconds old; hidden names, such as a download's temporary file, are never read).
When the complete files differ from the ones loaded (a new hourly capture, a
changed or removed file), the App loads the data again with those files: the
rollup update rebuilds only the days the change touches, and the screens show
the new figures. The first load waits for the first complete files, so a capture
still being written is never read half-way. A file the load fails on (a cut or
corrupt capture) is said and left out until it changes: the data is loaded again
without it, as ``scantui rollup --follow`` does.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.worker import get_current_worker

from scantui.tui.messages import FilesArrived


class FollowMixin:
    """The ``--follow`` watcher of :class:`~scantui.tui.app.ScantuiApp`."""

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False, description="follow")
    def follow_inputs(self) -> None:
        """Look at the request's paths until the app quits (or other data is opened); post :class:`FilesArrived`."""
        from scantui.analysis.rollup_follow import Watcher

        worker = get_current_worker()
        request = self.state.request
        watcher = self._follow_watcher = Watcher(settle=request.follow_settle)
        watcher.poll(request.paths)  # the first look only learns sizes: a file is complete once seen unchanged
        loaded: tuple[tuple[str, tuple[int, int]], ...] | None = None
        while not worker.is_cancelled and self.state.request.follow and self.state.request.paths == request.paths:
            files = watcher.poll(request.paths)
            seen = tuple((str(p), watcher.identity(p)) for p in files)
            if seen != loaded:
                if files:
                    self.post_message(FilesArrived(tuple(str(p) for p in files), first=loaded is None))
                    loaded = seen
                elif loaded is None:
                    self.post_message(FilesArrived((), first=True))
            if worker.is_cancelled:
                return
            self._follow_wake.wait(request.follow_interval)
            self._follow_wake.clear()

    def follow_skip(self, path: str) -> bool:
        """A followed file the load failed on: left out until it changes and the rest loaded again at once (True),
        or False when the data is not followed or *path* is not one of its files."""
        watcher = self._follow_watcher
        request = self.state.request
        if not request.follow or watcher is None or str(path) not in (request.files or ()):
            return False
        ident = watcher.identity(Path(path))
        if ident is None:
            return False
        watcher.bad[Path(path)] = ident
        self._follow_wake.set()
        return True

    def on_files_arrived(self, message: FilesArrived) -> None:
        request = self.state.request
        if not message.files:
            self.progress_text = f"waiting for complete files under {Path(request.paths[0]).name if request.paths else '…'}"
            return
        if any(w.group == "labels-open" and not w.is_finished for w in self.workers):
            self.set_timer(0.2, lambda: self.on_files_arrived(message))  # open_data waits for the labels file
            return
        before = set(request.files or ())
        new = [f for f in message.files if f not in before]
        self.open_data(list(request.paths), files=message.files, follow=True)
        if not message.first:
            names = ", ".join(Path(f).name for f in new[:3]) + (f" +{len(new) - 3}" if len(new) > 3 else "")
            self.notify(f"folding in {len(new)} new file{'s' if len(new) != 1 else ''}: {names}" if new
                        else "files changed: loading them again", title="follow", markup=False)
