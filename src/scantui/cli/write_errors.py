"""Write failures as one line that names the file: read-only file systems, full disks, closed folders.

:func:`os_error_message` turns an :class:`OSError` into ``PATH: cannot write: WHY`` (or
``PATH: WHY`` when it may come from reading); a writer's hidden temporary file
(``.OUT.tmp-PID-HEX``) is named by its target. Polars reports a failed write without the
path ("underlying IO error: No space left on device (os error 28)"), so a command that
writes a file is decorated with :func:`writes`, which names its output.
"""

from __future__ import annotations

import errno
import functools
import os
import re
from collections.abc import Callable
from typing import Any

from scantui.errors import ScantuiError
from scantui.fsutil import WRITE_ERRNOS, error_code

_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.tmp-\d+-[0-9a-f]+$")


def _target_of(path: str) -> tuple[str, bool]:
    """*path*, or the target of the writer's temporary file *path*, and whether it was one."""
    head, name = os.path.split(path)
    temp = _TEMP_NAME.match(name)
    return (os.path.join(head, temp.group("name")), True) if temp else (path, False)


def os_error_message(exc: OSError) -> str:
    """``PATH: cannot write: WHY`` for a write error, ``PATH: WHY`` otherwise, ``WHY`` without a path."""
    why = exc.strerror or str(exc)
    if exc.filename is None:
        return why
    path, temp = _target_of(os.fsdecode(exc.filename))
    writing = temp or exc.errno in WRITE_ERRNOS
    return f"{path}: {'cannot write: ' if writing else ''}{why}"


def _inside(path: str, target: str) -> bool:
    """True when *path* is *target*, below it, or the writer's temporary file for it."""
    path = os.path.abspath(_target_of(path)[0])
    target = os.path.abspath(target)
    return path == target or path.startswith(target.rstrip(os.sep) + os.sep)


def writes(param: str) -> Callable:
    """Decorate a command that writes the file or folder given in its parameter *param*.

    A write error on it (an :class:`OSError` naming it or its temporary file, or a polars
    error carrying a write-only errno) becomes ``OUT: cannot write: WHY``, exit 2; any other
    error (an unreadable input) passes through unchanged.
    """

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            target = os.fsdecode(os.fspath(kwargs[param]))
            try:
                return func(*args, **kwargs)
            except ScantuiError:
                raise
            except Exception as exc:
                code = error_code(exc)
                if isinstance(exc, OSError) and exc.filename is not None:
                    if code == errno.EPIPE or not _inside(os.fsdecode(exc.filename), target):
                        raise
                elif code not in WRITE_ERRNOS:
                    raise
                raise ScantuiError(f"cannot write: {os.strerror(code) if code else exc}", path=target) from exc

        return wrapper

    return decorate
