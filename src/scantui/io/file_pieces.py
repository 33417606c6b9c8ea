"""A plain (uncompressed) capture read front to back in pieces, into one reused buffer.

The capture readers used to memory-map the file. A mapped page that another
process cuts off (copytruncate log rotation, a capture restarted in place, a
file replaced while a ``--follow`` folder is read) kills the process with
SIGBUS the moment it is touched: no error line, no cleanup. ``read`` into a
buffer cannot fault that way: a file that shrank only reads short, which
:class:`FilePieces` reports as an :class:`~scantui.errors.InputError` naming the
byte where the file now ends.

The file's size is taken when it is opened and only that many bytes are read:
a file still being written is read as it was then (bytes appended later are
not), the same snapshot a map gave. A file replaced by a rename is read whole
from the open descriptor; one cut and rewritten in place past the byte being
read is not noticed (no reader can tell that from an append).

The buffer is reused, so memory follows :data:`PIECE_BYTES` (and the longest
record), not the file, and no page of it is faulted in again per piece.
"""

from __future__ import annotations

import os

import numpy as np

from scantui.errors import InputError

#: Bytes read per piece (tests set it smaller to cross piece boundaries on small files).
PIECE_BYTES = 8 << 20


class FilePieces:
    """The file's bytes, a piece at a time: ``piece`` holds bytes ``start`` .. ``start + len(piece)``.

    Use as a context manager. :meth:`first` reads the first piece; :meth:`next` keeps the
    piece's bytes from a given offset (a record cut at its end) and reads more after them.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._file = open(path, "rb", buffering=0)
            self.size = os.fstat(self._file.fileno()).st_size
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
        self._buf = np.empty(0, np.uint8)
        self.start = 0  # file offset of the piece's first byte
        self.filled = 0  # bytes of the buffer that hold file data
        self.piece: memoryview = memoryview(b"")

    def __enter__(self) -> FilePieces:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    @property
    def final(self) -> bool:
        """Whether the piece reaches the end of the file (as it was when opened)."""
        return self.start + self.filled >= self.size

    def first(self) -> memoryview:
        return self.next(0)

    def next(self, keep_from: int, need: int = 0) -> memoryview:
        """The next piece: the current one's bytes from *keep_from* on, then at least *need* bytes in all
        (a record that long starts there) or :data:`PIECE_BYTES` more, as far as the file goes."""
        keep = self.filled - keep_from
        want = min(max(keep + PIECE_BYTES, need), self.size - self.start - keep_from)
        # numpy views of the old piece may still exist (the walker's): they are not used again
        if want > len(self._buf):
            grown = np.empty(want, np.uint8)
            grown[:keep] = self._buf[keep_from : self.filled]
            self._buf = grown
        elif keep:
            self._buf[:keep] = self._buf[keep_from : self.filled]  # numpy copies overlapping ranges correctly
        self.start += keep_from
        self.filled = keep
        view = memoryview(self._buf)
        try:
            while self.filled < want:
                got = self._file.readinto(view[self.filled : want])
                if not got:
                    self._shrank(self.start + self.filled)
                self.filled += got
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror or e}", path=self.path,
                             where=f"byte {self.start + self.filled}") from None
        finally:
            view.release()
        self.piece = memoryview(self._buf)[: self.filled]
        return self.piece

    def _shrank(self, at: int) -> None:
        try:
            now = f"{os.fstat(self._file.fileno()).st_size:,}"
        except OSError:
            now = "fewer"
        raise InputError(f"the file shrank while it was read ({self.size:,} bytes when opened, {now} now: "
                         "truncated or rewritten in place? read it again once it is complete)",
                         path=self.path, where=f"byte {at}")
