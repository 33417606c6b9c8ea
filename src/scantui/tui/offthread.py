"""Computing over data off the UI thread, the newest request of each kind winning.

A screen (or the App) that filters, matches or counts over data as the user types mixes in
:class:`LatestMixin` and calls :meth:`~LatestMixin.compute_latest` with a *kind* (``candidates-filter``,
``watch``...), a *compute* that only reads what it was handed (no widget, no reactive) and an *apply*
that shows the result. *compute* runs in a thread worker, ``exclusive=True`` in the group of its kind on
that node, so a newer request cancels the older one; the result comes back as a :class:`Computed`
message and *apply* runs on the UI thread only when the result answers the newest request of its kind:
a stale result (an older query finishing late) never overwrites a newer one. A failure is an error
notification (the result is dropped, the app keeps running). A screen that shows a newer state at once,
without a worker (no filter to run), calls :meth:`~LatestMixin.forget_latest` so that no pending result
lands over it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.message import Message
from textual.worker import get_current_worker

from scantui.io import read_panics


#: Seconds a long computation sleeps between slices (~10-60 ms of work each): the UI thread's window.
_BREATHE = 0.001


class Cancelled(Exception):
    """A computation stopped early because its worker was cancelled (a newer request replaced it)."""


def worker_cancelled() -> bool:
    """Between two slices of a long computation in a thread worker: let the UI thread take the GIL (a pure
    Python loop would otherwise hold it but for the interpreter's forced switches), then say whether the
    worker is cancelled (the *cancelled* callback of :mod:`~scantui.tui.screens.candidates_filter` and the watch)."""
    time.sleep(_BREATHE)
    return get_current_worker().is_cancelled


def _nothing() -> None:
    pass


class Computed(Message, bubble=False):
    """The result of a :meth:`LatestMixin.compute_latest` request (*seq*: which request of *kind*), or its
    *error* (one line); *apply* is what the requester shows it with (on an error: its *failed*)."""

    def __init__(self, kind: str, seq: int, result: Any, apply: Callable[[Any], None], error: str | None = None,
                 title: str = "") -> None:
        super().__init__()
        self.kind = kind
        self.seq = seq
        self.result = result
        self.apply = apply
        self.error = error
        self.title = title


class LatestMixin:
    """Off-thread computations for a Textual node (screen or App); see the module doc."""

    _latest_seqs: dict[str, int] | None = None

    def _seqs(self) -> dict[str, int]:
        if self._latest_seqs is None:
            self._latest_seqs = {}
        return self._latest_seqs

    def compute_latest(self, kind: str, compute: Callable[[], Any], apply: Callable[[Any], None], *,
                       title: str = "", failed: Callable[[], None] | None = None) -> int:
        """Run *compute()* in a thread worker and *apply(result)* on the UI thread if no newer request of
        *kind* came meanwhile; a failure of the newest request is a notification headed *title*, then
        *failed()* (UI thread). Returns the request's number."""
        seqs = self._seqs()
        seq = seqs[kind] = seqs.get(kind, 0) + 1
        node: Any = self

        def run() -> None:
            worker = get_current_worker()
            try:
                result = compute()
            except read_panics.FAILURES as exc:  # noqa: BLE001 - a notification; the app keeps running
                from scantui.tui.state import error_text

                if not worker.is_cancelled:
                    node.post_message(Computed(kind, seq, None, failed or _nothing, error_text(exc), title or kind))
                return
            if not worker.is_cancelled:
                node.post_message(Computed(kind, seq, result, apply))

        node.run_worker(run, name=f"{kind} #{seq}", group=f"latest-{kind}", thread=True, exclusive=True,
                        exit_on_error=False)
        return seq

    def forget_latest(self, kind: str) -> None:
        """Drop every request of *kind* still running: their results are stale (a newer state was just shown)."""
        seqs = self._seqs()
        if kind in seqs:
            seqs[kind] += 1
            node: Any = self
            node.workers.cancel_group(node, f"latest-{kind}")

    def latest_pending(self, kind: str) -> bool:
        """Whether a request of *kind* is still running (its result not shown yet)."""
        node: Any = self
        return any(w.group == f"latest-{kind}" and not w.is_finished for w in node.workers)

    def on_computed(self, message: Computed) -> None:
        message.stop()
        if message.seq != self._seqs().get(message.kind):
            return  # a newer request of this kind was made: this result is stale
        if message.error is not None:
            node: Any = self
            node.notify(message.error, title=message.title, severity="error", timeout=12, markup=False)
            message.apply()  # (the requester's *failed*)
            return
        message.apply(message.result)
