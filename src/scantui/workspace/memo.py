"""A thread-safe memo for the workspace's results: each key computed once, however many threads ask.

The TUI asks from several thread workers at once (the candidate count, a detail
screen, the track screen); a second caller of a key being computed waits for
the first one's result instead of computing it again. A computation that fails
(or is cancelled) stores nothing: the next caller computes it anew. The memo
keeps the *size* keys used last (results such as a collaborative-scan search
or a timing read can be large), or every key when *size* is None.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from scantui.workspace.task import Task

_WAIT = 0.05  # seconds between cancellation checks of a caller waiting for another's computation


class Memo:
    """``memo.get(key, compute, task)``: the value of *key*, computed by ``compute()`` on the first call."""

    def __init__(self, size: int | None = 32) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._done: OrderedDict[Hashable, Any] = OrderedDict()
        self._running: dict[Hashable, threading.Event] = {}

    def get(self, key: Hashable, compute: Callable[[], Any], task: Task | None = None) -> Any:
        while True:
            with self._lock:
                if key in self._done:
                    self._done.move_to_end(key)
                    return self._done[key]
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    break
            while not running.wait(_WAIT):  # another thread computes it: wait for its result (or its failure)
                if task is not None:
                    task.check()
        try:
            value = compute()
        except BaseException:
            with self._lock:
                del self._running[key]
            running.set()
            raise
        with self._lock:
            self._done[key] = value
            while self.size is not None and len(self._done) > self.size:
                self._done.popitem(last=False)
            del self._running[key]
        running.set()
        return value

    def forget(self, key: Hashable) -> None:
        """Drop the stored value of *key* (the next :meth:`get` computes it again)."""
        with self._lock:
            self._done.pop(key, None)
