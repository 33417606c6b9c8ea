"""Standard input (``-`` or ``/dev/stdin``) as a data input.

Formats are sniffed and files memory-mapped, so a pipe cannot be read in
place: it is copied ("spooled") to a temporary file first, up to
:data:`STDIN_LIMIT_BYTES`, and that file is read like any other. It lives in a
private folder under the temporary directory (``TMPDIR``), named ``stdin``,
and is removed when the process exits; messages name it ``<stdin>``. Standard input redirected from a file
(``< capture.pcap``) is read in place.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import sys
import tempfile
import threading
from pathlib import Path

from scantui.errors import InputError, show_path_as

#: Names that mean standard input.
STDIN_NAMES = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})
#: The most bytes spooled from a pipe.
STDIN_LIMIT_BYTES = 16 << 30
_BLOCK = 1 << 20

_lock = threading.Lock()
_spooled: Path | None = None


def is_stdin(text: str) -> bool:
    return text in STDIN_NAMES


def stdin_path() -> Path:
    """A regular file holding standard input (spooled once per process)."""
    global _spooled
    with _lock:
        if _spooled is not None:
            return _spooled
        fd = _stdin_fd()
        try:
            mode = os.fstat(fd).st_mode
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path="standard input") from None
        if stat.S_ISREG(mode):
            _spooled = Path("/dev/stdin")
            return _spooled
        if os.isatty(fd):
            raise InputError("is a terminal; pipe data into it or give a file", path="standard input")
        _spooled = _spool(fd)
        return _spooled


def _stdin_fd() -> int:
    try:
        return sys.stdin.fileno() if sys.stdin is not None else 0
    except (AttributeError, ValueError, OSError):  # replaced stdin (tests, embedding)
        return 0


def _spool(fd: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="scantui-stdin-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = folder / "stdin"
    total = 0
    try:
        with open(target, "wb") as out:
            while chunk := os.read(fd, _BLOCK):
                total += len(chunk)
                if total > STDIN_LIMIT_BYTES:
                    raise InputError(f"more than {STDIN_LIMIT_BYTES >> 30} GiB; save it to a file and give its path",
                                     path="standard input")
                out.write(chunk)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError(f"cannot copy to {target}: {exc.strerror or exc}", path="standard input") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if total == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError("empty (0 bytes)", path="standard input")
    show_path_as(target, "<stdin>")  # messages name the input, not its temporary copy
    return target
