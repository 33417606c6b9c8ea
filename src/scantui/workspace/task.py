"""One progress-and-cancellation token for a long workspace call, adapted by each front end.

A :class:`Task` is what the CLI's Rich progress bar and the TUI's thread
workers both hand the :class:`~scantui.workspace.Workspace`: it receives
``update(message, fraction)`` (and is itself such a callback, so it can go
wherever a ``progress(message, fraction)`` function is expected), and it carries
the request to stop. :meth:`Task.check` raises :class:`Cancelled` once
:meth:`Task.cancel` was called; the workspace checks between its steps and the
rollup build between its days and source buckets (see
:meth:`Task.reporter`), so a cancelled build stops there and leaves no
half-written cache (the build's temporary folder is removed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from scantui.errors import ScantuiError

#: ``listener(message, fraction)``: called on every update (from any thread); fraction None when unknown.
Listener = Callable[[str, "float | None"], None]


class Cancelled(ScantuiError):
    """A :class:`Task` was cancelled: the work stopped at its next checkpoint and kept nothing half-done."""

    exit_code = 130


class Task:
    """Progress in, cancellation out; safe to share between the thread doing the work and the one watching it."""

    def __init__(self, listener: Listener | None = None) -> None:
        self._listener = listener
        self._cancelled = threading.Event()
        self.message = ""
        self.fraction: float | None = None

    def update(self, message: str, fraction: float | None = None) -> None:
        """Record the step (*fraction* of it done, None when unknown) and tell the listener; never raises Cancelled."""
        self.message, self.fraction = message, fraction
        if self._listener is not None:
            self._listener(message, fraction)

    __call__ = update  # a Task is a ``progress(message, fraction)`` callback

    def cancel(self) -> None:
        """Ask the work to stop at its next checkpoint (any thread)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """A checkpoint: raise :class:`Cancelled` when :meth:`cancel` was called."""
        if self._cancelled.is_set():
            raise Cancelled(f"cancelled while {self.message}" if self.message else "cancelled")

    def reporter(self) -> Listener:
        """A ``progress(message, fraction)`` callback for code that reports as it goes (the rollup build):
        it updates this task and, when called in the thread that asked for the reporter, is a checkpoint.
        Calls from helper threads (the build's byte-progress poller) only update: an exception there would
        end that thread, not the work."""
        owner = threading.get_ident()

        def report(message: str, fraction: float | None = None) -> None:
            self.update(message, fraction)
            if threading.get_ident() == owner:
                self.check()

        return report

