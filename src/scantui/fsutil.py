"""Durable file-system steps shared by every writer: fsync, and the one atomic write.

:func:`atomic_path` is how scantui replaces a file or a folder: the caller
writes a hidden temporary beside the target (``.NAME.tmp-PID-RANDOM``, same
folder so the rename never crosses a file system), which is then fsynced,
renamed over the target and the folder fsynced. Should the caller's write
raise (or anything up to the rename fail) the temporary is removed and the
old target is untouched; a process killed before the rename leaves the old
target and a hidden temporary that nothing reads. :func:`write_bytes_atomic`
is the same for bytes in memory.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Marks a temporary name (``.NAME.tmp-PID-RANDOM``); the rollup cache's pruning looks for it.
TMP_MARK = ".tmp-"

#: Errors that can only come from writing (the rest name the file as it is: reading fails too).
WRITE_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_POLARS_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def error_code(exc: BaseException) -> int | None:
    """The errno of an :class:`OSError`, or the one a polars error quotes ("(os error 28)": polars names no path)."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int):
        return code
    match = _POLARS_OS_ERROR.search(str(exc))
    return int(match.group(1)) if match else None


def parquet_files(folder: Path) -> list[Path]:
    """The ``*.parquet`` files in *folder*, sorted by name: what polars lists for ``folder/*.parquet``, with
    *folder* taken as it is written (a cache folder named ``c[1]`` or ``a*b`` is a name, not a pattern: give the
    list to polars with ``glob=False``)."""
    return sorted(folder.glob("*.parquet"))


def fsync_path(path: Path) -> None:
    """Flush one file or folder entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file and folder below *root* (before it is renamed into place)."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fsync_path(Path(folder) / name)
        fsync_path(Path(folder))


def temp_beside(target: Path) -> Path:
    """A fresh hidden name in *target*'s folder (``.NAME.tmp-PID-RANDOM``)."""
    return target.parent / f".{target.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"


def remove(path: Path) -> None:
    """Remove a file or a folder tree (a symbolic link is removed, never followed); gone already is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def replace(tmp: Path, target: Path) -> None:
    """Rename *tmp* over *target*; a folder over an existing folder moves the old one aside first."""
    if not tmp.is_dir() or not target.exists():
        os.replace(tmp, target)
        return
    if not target.is_dir():
        raise NotADirectoryError(f"{target} exists and is not a folder")
    old = temp_beside(target)
    os.replace(target, old)
    os.replace(tmp, target)
    remove(old)


@contextmanager
def atomic_path(target: Path, *, commit: Callable[[Path, Path], None] = replace) -> Iterator[Path]:
    """``with atomic_path(target) as tmp:`` write *tmp* (a file, or a folder the body creates).

    When the body returns, *tmp* is fsynced (every file of a folder), ``commit(tmp,
    target)`` puts it in place (default :func:`replace`) and the folder is fsynced.
    On any exception the temporary is removed and *target* is untouched; so is a
    temporary that *commit* chose not to use (a concurrent writer won).
    """
    target = Path(target)
    tmp = temp_beside(target)
    try:
        yield tmp
        if tmp.is_dir():
            fsync_tree(tmp)
        else:
            fsync_path(tmp)
        commit(tmp, target)
    finally:
        if tmp.exists() or tmp.is_symlink():
            remove(tmp)
    fsync_path(target.parent)


def write_bytes_atomic(target: Path, data: bytes, *, mode: int = 0o666) -> None:
    """Replace *target* with *data* (see :func:`atomic_path`); a new file gets *mode* less the umask."""
    with atomic_path(target) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
