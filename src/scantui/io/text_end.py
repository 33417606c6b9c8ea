"""A text input (CSV, netfilter LOG) whose last line has no line end: cut short, or still being written.

Every program that writes these files ends each line; a file that stops inside a line was cut
(copytruncate rotation, an interrupted copy, a full disk) or is still being written. Such a last
line may even parse (``DPT=63`` cut from ``DPT=6379``, a sequence number missing digits), so it is
never read as a row: it is an error naming its line and the byte where it starts, or, with
``--allow-truncated``, left out and counted as ``truncated_record`` (as a capture's cut record is).
A last line of blanks only is no row and is not a cut.

A plain file is checked before it is read (its last byte, then back to the last line end); a
compressed one while it is decompressed (:func:`scantui.io.compressed.iter_line_blocks`), where
the line number costs a count of line ends per block.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from scantui.errors import InputError

#: Skip reason of a last line cut short (read with ``--allow-truncated``).
TRUNCATED = "truncated_record"

_BACK = 64 << 10
_COUNT = 8 << 20


@dataclass
class TextEnd:
    """Where a text input's unterminated last line starts: ``line`` (1-based) and ``byte`` (0-based;
    of the decompressed data when ``decompressed``). ``cut`` says one was found (and left out)."""

    allow_cut: bool = False
    cut: bool = False
    line: int = 0
    byte: int = 0
    decompressed: bool = False

    def found(self, path: str, line: int, byte: int, decompressed: bool = False) -> None:
        """Record the cut line; raise its error unless cuts are allowed."""
        self.cut, self.line, self.byte, self.decompressed = True, line, byte, decompressed
        if not self.allow_cut:
            raise self.error(path)

    def error(self, path: str) -> InputError:
        unit = "decompressed byte" if self.decompressed else "byte"
        return InputError("the file ends inside this line (no line end: cut short, or still being written?); "
                          "--allow-truncated leaves it out (a complete last line needs a line end)", path=path,
                          where=f"line {self.line} ({unit} {self.byte})")


def unterminated(line: bytes) -> bool:
    """Whether *line*, the bytes after a file's last line end, is a cut line (not empty, not only blanks)."""
    return bool(line.strip())


def check_plain(path: str, end: TextEnd) -> None:
    """Look at how the uncompressed file *path* ends (:meth:`TextEnd.found` when inside a line)."""
    try:
        with open(path, "rb", buffering=0) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0 or os.pread(fh.fileno(), 1, size - 1) == b"\n":
                return
            start, tail = size, b""
            while start > 0:  # back to the last line end
                step = min(_BACK, start)
                tail = os.pread(fh.fileno(), step, start - step) + tail
                start -= step
                nl = tail.rfind(b"\n")
                if nl >= 0:
                    start, tail = start + nl + 1, tail[nl + 1:]
                    break
            if not unterminated(tail):
                return
            lines, pos = 1, 0
            while pos < start:  # line ends before it: read only when there is a cut to report
                piece = os.pread(fh.fileno(), min(_COUNT, start - pos), pos)
                if not piece:
                    break
                lines += piece.count(b"\n")
                pos += len(piece)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    end.found(path, lines, start)
