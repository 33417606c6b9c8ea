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


def hold_shared(path: Path) -> int | None:
    """A descriptor of *path* holding a shared ``flock`` (released when it is closed, or the process ends): a reader's
    lease, which :func:`take_exclusive` then cannot take. None on Windows or where the file system has no ``flock``
    (no lease: nothing is removed under a reader there, see :func:`take_exclusive`). :class:`FileNotFoundError`
    when *path* is gone, or is being removed (its exclusive lock held), or was renamed away meanwhile."""
    if os.name == "nt":
        return None
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        if not os.path.samestat(os.fstat(fd), os.stat(path)):  # renamed away between the open and the lock
            raise FileNotFoundError(errno.ENOENT, "removed meanwhile", str(path))
    except OSError as exc:
        os.close(fd)
        if exc.errno in _BUSY:
            raise FileNotFoundError(errno.ENOENT, "being removed", str(path)) from None
        if isinstance(exc, FileNotFoundError):
            raise
        return None  # no flock here
    return fd


def take_exclusive(path: Path) -> int | None:
    """A descriptor of *path* holding an exclusive ``flock`` taken without waiting; None when a reader holds a lease
    (:func:`hold_shared`), *path* is gone, or locks are not to be had here (Windows, a file system without
    ``flock``): then nothing may be removed."""
    if os.name == "nt":
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        _try_lock(fd)  # the writers' own exclusive flock, without waiting
    except OSError:
        os.close(fd)
        return None
    return fd
