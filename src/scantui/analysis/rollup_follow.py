"""Following folders where capture files keep arriving: each complete new file is folded into the rollup.

:func:`follow` polls its PATHs (files, folders walked like the loader walks
them, globs) every *interval* seconds. A file counts once it is *complete*:
its size and mtime unchanged since the previous poll and at least *settle*
seconds old (a writer still appending changes them; hidden files, e.g. a
download's temporary name, are never read). When the set of complete files
changes (a new file, a changed or removed one), the rollup is updated with
:func:`scantui.analysis.rollup_cache.update_rollup`: only the days the change
touches are rebuilt. A file that fails to load is reported once and left out
until it changes.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scantui.analysis.rollup_cache import RollupUpdate, update_rollup
from scantui.analysis.runner import Runner
from scantui.errors import InputError
from scantui.io.loader import open_inputs
from scantui.io.options import LoadOptions

_IGNORED = {"_SUCCESS", "_metadata", "_common_metadata", ".DS_Store"}


def list_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The files under *paths* now (folders walked in name order, hidden names skipped; globs expanded)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(Path(root) / n for n in sorted(names)
                           if not n.startswith(".") and n not in _IGNORED and not n.endswith(".crc"))
        elif path.is_file():
            out.append(path)
        elif glob.has_magic(str(raw)):
            out.extend(sorted(p for p in map(Path, glob.glob(str(raw), recursive=True)) if p.is_file()))
    return out


@dataclass
class Watcher:
    """Which files are complete, poll after poll."""

    settle: float = 30.0
    _last: dict[Path, tuple[int, int]] = field(default_factory=dict)
    bad: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def identity(self, path: Path) -> tuple[int, int] | None:
        """(size, mtime_ns) of *path* at the last poll (None when it was not seen)."""
        return self._last.get(path)

    def poll(self, paths: Sequence[str | os.PathLike[str]], now: float | None = None) -> list[Path]:
        """The complete files under *paths*, in the order :func:`list_files` gives."""
        now = time.time() if now is None else now
        seen: dict[Path, tuple[int, int]] = {}
        complete = []
        for path in list_files(paths):
            try:
                st = path.stat()
            except OSError:
                continue  # removed between the listing and the stat
            ident = (st.st_size, st.st_mtime_ns)
            seen[path] = ident
            if self._last.get(path) == ident and now - st.st_mtime >= self.settle and self.bad.get(path) != ident:
                complete.append(path)
        self._last = seen
        return complete


def follow(
    paths: Sequence[str | os.PathLike[str]],
    *,
    opts: LoadOptions | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    interval: float = 10.0,
    settle: float = 30.0,
    on_update: Callable[[RollupUpdate], None] = lambda _u: None,
    on_error: Callable[[InputError], None] = lambda _e: None,
    stop: Callable[[], bool] = lambda: False,
    runner: Runner | None = None,
) -> None:
    """Keep the rollup of the complete files under *paths* up to date until *stop()* is true
    (checked after every poll); *runner* runs each update's build (:mod:`scantui.analysis.runner`)."""
    opts = opts or LoadOptions()
    watcher = Watcher(settle=settle)
    current: list[tuple[Path, tuple[int, int]]] | None = None
    while True:
        files = watcher.poll(paths)
        state = [(p, watcher._last[p]) for p in files]
        if files and state != current:
            try:
                on_update(update_rollup(open_inputs(files, opts), opts=opts, cache_dir=cache_dir, runner=runner))
                current = state
            except InputError as exc:
                on_error(exc)
                culprit = Path(exc.path) if getattr(exc, "path", None) else None
                if culprit is not None and culprit in watcher._last:
                    watcher.bad[culprit] = watcher._last[culprit]
                else:
                    current = state  # not one file's fault: wait for a change before trying again
        if stop():
            return
        time.sleep(interval)
