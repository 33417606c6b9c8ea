"""The one inter-process lock every writer shares: ``with FileLock(path, timeout):``.

An exclusive lock on a sidecar file (``TARGET.lock`` beside the file it
guards, never the guarded file itself, which is replaced on every write). The
lock file is never deleted: deleting it would let two writers lock two
different files. It is ``flock`` on POSIX and ``msvcrt.locking`` on Windows,
chosen when the lock is taken, so importing this module works everywhere.
Both are released by the operating system when the holder dies.

Written here rather than taken from the ``filelock`` library: these few lines
are the whole need (exclusive, timed, never-deleted sidecar, scantui's error).
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from scantui.errors import InputError

_BUSY = (errno.EAGAIN, errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK))


def _try_lock(fd: int) -> None:
    """Take the lock without waiting; :class:`OSError` with a *_BUSY* errno when another holds it."""
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock(fd: int) -> None:
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def lock_path(target: Path) -> Path:
    """``TARGET.lock`` beside *target*."""
    target = Path(target)
    return target.with_name(target.name + ".lock")


class Locked(InputError):
    """The lock stayed held by another process for longer than the caller waits."""


class FileLock:
    """``with FileLock(path):`` holds an exclusive lock on ``path`` (a sidecar), waiting up to *timeout* s.

    A lock held longer than *timeout* is :class:`Locked` (an :class:`InputError`) ``locked by another writer``.
    """

    def __init__(self, path: Path, timeout: float = 10.0):
        self.path, self.timeout = Path(path), timeout
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError(f"cannot create the lock file: {exc.strerror or exc}", path=self.path) from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                _try_lock(fd)
                break
            except OSError as exc:
                if exc.errno not in _BUSY or time.monotonic() >= deadline:
                    os.close(fd)
                    raise Locked(f"locked by another writer for over {self.timeout:g} s", path=self.path) from None
                time.sleep(0.01)
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            try:
                _unlock(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None
