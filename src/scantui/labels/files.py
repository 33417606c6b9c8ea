"""Reading the labels file safely and writing it durably (its writers' lock is :mod:`scantui.lock`).

:func:`write_atomic` never leaves a half-written labels file: the new text
replaces it through :func:`scantui.fsutil.write_bytes_atomic` (temporary file
in the same folder, fsync, rename, folder fsync), keeping the file's mode.
Before that the previous content is saved (the same way) as ``FILE.bak``, so
at every instant of a crash there is a complete current file and the previous
version beside it.

Writers hold :class:`scantui.lock.FileLock` on the sidecar ``FILE.lock``
(:func:`sidecar`; never the labels file itself, which is replaced on every write).

A labels file reached through a symbolic link is the link's target: the lock,
the temporary file and ``.bak`` sit beside the target and the rename replaces
the target, so the link stays a link and analysts using different links to one
file share its lock and its edits (:func:`resolve`).

:func:`read_bytes` is the one way the labels file is read (CLI, store, TUI): it
refuses what is not a regular file before opening it (a FIFO with no writer
would block forever, ``/dev/zero`` never ends) and reads at most
:data:`MAX_BYTES`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scantui.errors import InputError
from scantui.fsutil import write_bytes_atomic


#: The largest labels file read (bytes): a bound on the time and memory of parsing it.
MAX_BYTES = 16 * 1024 * 1024


def resolve(path: Path) -> Path:
    """The file *path* stands for: symbolic links followed (also a dangling one, whose target a save creates)."""
    return Path(os.path.realpath(path))


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _too_big(size: int) -> str:
    return f"too big for a labels file ({size / 2**20:.1f} MiB; the limit is {MAX_BYTES // 2**20} MiB)"


def read_bytes(path: Path) -> bytes | None:
    """The file's content, ``None`` when it does not exist; other failures are :class:`InputError`.

    Only a regular file of at most :data:`MAX_BYTES` is read; anything else is
    refused from its ``stat`` (a FIFO is never opened).
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError("is a folder, not a labels file", path=str(path))
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"is {_kind(info.st_mode)}, not a labels file (a regular file is needed)", path=str(path))
    if info.st_size > MAX_BYTES:
        raise InputError(_too_big(info.st_size), path=str(path))
    try:
        # O_NONBLOCK: should the name become a FIFO between stat and open, the open does not block
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"is {_kind(mode)}, not a labels file (a regular file is needed)", path=str(path))
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    finally:
        os.close(fd)
    if size > MAX_BYTES:  # grew after the stat, or a file whose size the stat does not tell
        raise InputError(_too_big(size), path=str(path))
    return b"".join(chunks)


def sidecar(path: Path, suffix: str) -> Path:
    """``FILE.lock``, ``FILE.bak``: beside the file *path* resolves to."""
    target = resolve(path)
    return target.with_name(target.name + suffix)


def _mode_of(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666  # reduced by the umask, like any new file


def write_atomic(path: Path, data: bytes, *, previous: bytes | None) -> None:
    """Replace *path* with *data*; *previous* (the content being replaced) is kept as ``path.bak``.

    Through a symbolic link, the target is replaced (and its ``.bak`` written); the link stays.
    """
    path = resolve(path)
    try:
        if previous is not None:
            bak = sidecar(path, ".bak")
            write_bytes_atomic(bak, previous, mode=_mode_of(bak))
        write_bytes_atomic(path, data, mode=_mode_of(path))
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=path) from None
