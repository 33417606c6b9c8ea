"""What a load read and what it skipped, per file, for ``info`` and the TUI.

Loaders that stream (pcap, pcapng) fill these counters while polars pulls
batches; a counter set is replaced, not added to, when a file is read again,
so collecting a LazyFrame twice does not double the numbers.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class FileStats:
    path: str
    format: str
    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    complete: bool = False

    def to_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "rows": self.rows, "skipped": dict(sorted(self.skipped.items())), "complete": self.complete}


class LoadStats:
    """Thread-safe registry of :class:`FileStats`, keyed by path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, FileStats] = {}
        self._progress: dict[str, tuple[int, int]] = {}
        self._errors: dict[str, Exception] = {}
        #: Streaming sources end their stream on an error instead of raising it into polars
        #: (the caller checks :meth:`raise_error` when the query is done); see :mod:`scantui.io.sources`.
        self.defer_errors = False

    def advance(self, path: str, done_bytes: int, total_bytes: int) -> None:
        """Streaming loaders report how far into *path* they are (for progress bars)."""
        with self._lock:
            self._progress[path] = (done_bytes, total_bytes)

    def progress(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            return dict(self._progress)

    def publish(self, stats: FileStats) -> None:
        with self._lock:
            self._files[stats.path] = stats

    def files(self) -> list[FileStats]:
        with self._lock:
            return list(self._files.values())

    def fail(self, path: str, error: Exception) -> None:
        """Remember that reading *path* failed (the first error of a file is kept)."""
        with self._lock:
            self._errors.setdefault(path, error)

    def error(self, path: str | None = None) -> Exception | None:
        """The error latched for *path*, or the first one of any file when *path* is None."""
        with self._lock:
            if path is None:
                return next(iter(self._errors.values()), None)
            return self._errors.get(path)

    def raise_error(self) -> None:
        """Raise the first latched error, if any."""
        error = self.error()
        if error is not None:
            raise error

    def skipped(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.files():
            total.update(f.skipped)
        return total
