"""Durable file writes and the writers' lock for the labels file.

:func:`write_atomic` never leaves a half-written labels file: the new text
goes to a temporary file in the same folder, is fsynced, then renamed over
the target, and the folder is fsynced. Before the rename the previous content
is saved (the same way) as ``FILE.bak``, so at every instant of a crash there
is a complete current file and the previous version beside it.

:class:`FileLock` is an exclusive ``fcntl.flock`` on a sidecar ``FILE.lock``
(never the labels file itself, which is replaced on every write, and never
deleted, which would let two writers lock two different files).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
import uuid
from pathlib import Path

from scantui.errors import InputError
from scantui.fsutil import fsync_path


def read_bytes(path: Path) -> bytes | None:
    """The file's content, ``None`` when it does not exist; other failures are :class:`InputError`."""
    if path.is_dir():
        raise InputError("is a folder, not a labels file", path=str(path))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None


def sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _write_replace(target: Path, data: bytes) -> None:
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _mode_of(target))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mode_of(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666  # reduced by the umask, like any new file


def write_atomic(path: Path, data: bytes, *, previous: bytes | None) -> None:
    """Replace *path* with *data*; *previous* (the content being replaced) is kept as ``path.bak``."""
    try:
        if previous is not None:
            _write_replace(sidecar(path, ".bak"), previous)
        _write_replace(path, data)
        fsync_path(path.parent)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=path) from None


class FileLock:
    """``with FileLock(path):`` holds an exclusive lock on ``path`` (a sidecar), waiting up to *timeout* s."""

    def __init__(self, path: Path, timeout: float = 10.0):
        self.path, self.timeout = path, timeout
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError(f"cannot create the lock file: {exc.strerror or exc}", path=self.path) from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    os.close(fd)
                    raise InputError(f"locked by another writer for over {self.timeout:g} s", path=self.path) from None
                time.sleep(0.01)
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
