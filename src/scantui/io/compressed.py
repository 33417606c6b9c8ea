"""Compressed inputs (gzip, zstd, xz, bzip2) read as a forward stream of their decompressed bytes.

Telescopes ship captures compressed (CAIDA: an hourly ``.pcap.gz``). Such a
file is decoded while it is read, a few MiB at a time: it is never
decompressed whole into memory or into a temporary copy. The compression is
told by the first bytes, not the name; what is inside is sniffed like any
other input (:mod:`scantui.io.detect`). Concatenated gzip members, zstd frames
and xz streams read as one stream.

gzip is decoded with zlib-ng (``zlib_ng``: 1.4-2.2x the stdlib zlib reading a
capture, see ``benchmarks/RESULTS.md``), or the stdlib's zlib when it is not
installed; zstd with ``zstandard``; xz and bzip2 with the stdlib.

A stream that ends before its end marker, or whose data is corrupt (a bad
CRC, an undecodable block), raises :class:`InputError` at the compressed byte
where the decoder noticed, with the decompressed byte it had reached;
``--allow-truncated`` reads a cut stream up to the cut instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from scantui.errors import InputError
from scantui.io.text_end import TextEnd, unterminated

if TYPE_CHECKING:
    import polars as pl

GZIP = "gzip"
ZSTD = "zstd"
XZ = "xz"
BZIP2 = "bzip2"

_MAGICS = ((b"\x1f\x8b", GZIP), (b"\x28\xb5\x2f\xfd", ZSTD), (b"\xfd7zXZ\x00", XZ), (b"BZh", BZIP2))

#: Decompressed bytes a stream reader hands out per read, at most.
READ_BYTES = 4 << 20

#: How many times its size a compressed file is taken to hold, where a size must be guessed before
#: reading (rollup buckets, materializing small text): telescope captures compress 3-5x (the benchmark
#: capture: 4.5x with gzip), text logs 10-20x.
CAPTURE_RATIO = 5
TEXT_RATIO = 16


def compression_of(head: bytes) -> str | None:
    """The compression whose magic *head* starts with, or None."""
    return next((kind for magic, kind in _MAGICS if head.startswith(magic)), None)


def expected_size(path: str | os.PathLike[str], text: bool = False) -> int:
    """The file's size, times :data:`CAPTURE_RATIO` (or :data:`TEXT_RATIO`) when it is compressed (0 if unreadable)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 0
    if compression(path) is None:
        return size
    return size * (TEXT_RATIO if text else CAPTURE_RATIO)


def compression(path: str | os.PathLike[str]) -> str | None:
    """The compression of the file at *path* (None for an uncompressed or unreadable file)."""
    try:
        with open(path, "rb") as fh:
            return compression_of(fh.read(6))
    except OSError:
        return None


def _zlib():
    """The zlib whose ``decompressobj`` reads gzip: zlib-ng when installed, else the stdlib's (same data)."""
    try:
        from zlib_ng import zlib_ng
    except ImportError:  # pragma: no cover - zlib-ng is a dependency
        import zlib as zlib_ng
    return zlib_ng


def _decompressor(kind: str):
    if kind == GZIP:
        return _zlib().decompressobj(31)  # 31: a gzip header and trailer
    if kind == ZSTD:
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj()
    if kind == XZ:
        import lzma

        return lzma.LZMADecompressor(lzma.FORMAT_XZ)
    import bz2

    return bz2.BZ2Decompressor()


_UNIT = {GZIP: "a gzip member", ZSTD: "a zstd frame", XZ: "an xz stream", BZIP2: "a bzip2 stream"}


class _Stream:
    """Concatenated gzip members, zstd frames, xz or bzip2 streams -> bytes with ``read(n)``.

    Built on the decompressor objects rather than the file readers so that a
    cut is seen exactly: everything before it is handed out, then the raw
    file's end inside a member raises EOFError (``zstandard``'s file reader
    returns a cut frame as if the stream had ended; the gzip readers drop what
    they decoded in the call that hit the cut). Output per call is bounded:
    gzip, xz and bzip2 by ``max_length``; zstd, which has none, by feeding it
    1 KiB at a time (it expands at most ~32,000x: 32 MiB; measured, 1 KiB feeds
    cost nothing against 64 KiB ones). Zero bytes between gzip members or xz
    streams are padding.
    """

    def __init__(self, raw, kind: str) -> None:
        self.kind = kind
        self._raw = raw
        self._feed = (1 << 10) if kind == ZSTD else (64 << 10)
        self._dec = _decompressor(kind)
        self._buffered = kind in (XZ, BZIP2)  # keeps input inside; more output may come without input
        self._pending = b""  # compressed bytes read, not yet given to a decompressor
        self._started = False  # the current member has been given input
        self._out = bytearray()
        self.ended = False

    @property
    def ahead(self) -> int:
        """Decompressed bytes decoded but not yet handed out."""
        return len(self._out)

    @property
    def unread(self) -> int:
        """Compressed bytes read from the file but not yet decoded."""
        return len(self._pending)

    def read(self, n: int) -> bytes:
        while len(self._out) < n and not self.ended:
            self._pump(n - len(self._out))
        if len(self._out) <= n:
            out = bytes(self._out)
            self._out.clear()
        else:
            out = bytes(self._out[:n])
            del self._out[:n]
        return out

    def _pump(self, want: int) -> None:
        dec = self._dec
        if dec.eof:  # this member ended: what follows starts the next one
            rest = dec.unused_data + self._pending
            if self.kind in (GZIP, XZ):
                rest = rest.lstrip(b"\0")
            if not rest:
                rest = self._raw.read(self._feed)
                if not rest:
                    self.ended = True
                    return
                self._pending = rest
                return
            self._pending = rest
            self._dec = dec = _decompressor(self.kind)
            self._started = False
        limit = max(want, 64 << 10)
        if self._buffered and not dec.needs_input:
            self._out += dec.decompress(b"", limit)
            return
        if not self._pending:
            self._pending = self._raw.read(self._feed)
            if not self._pending:
                self._end_of_file(dec)
                return
        data, self._pending = self._pending, b""
        self._started = True
        if self.kind == ZSTD:
            self._out += dec.decompress(data)
        elif self.kind == GZIP:
            self._out += dec.decompress(data, limit)
            if not dec.eof:
                self._pending = dec.unconsumed_tail
        else:
            self._out += dec.decompress(data, limit)

    def _end_of_file(self, dec) -> None:
        if self.kind == GZIP and not dec.eof:
            self._out += dec.flush()  # output zlib still holds for input it has consumed
        self.ended = True
        if self._started and not dec.eof:
            raise EOFError(f"the file ends inside {_UNIT[self.kind]}")

    def close(self) -> None:
        self._out = bytearray()


def _errors() -> tuple[type[BaseException], ...]:
    """Exceptions the decompressors raise for bad data (each module looked up only if already loaded)."""
    import sys
    import zlib

    found: list[type[BaseException]] = [OSError, ValueError, zlib.error]
    for module, name in (("lzma", "LZMAError"), ("zlib_ng.zlib_ng", "error"), ("zstandard", "ZstdError")):
        mod = sys.modules.get(module)
        if mod is not None and hasattr(mod, name):
            found.append(getattr(mod, name))
    return tuple(found)


class Decompressed:
    """The decompressed bytes of a compressed file, read forward (a context manager).

    ``pos`` counts the decompressed bytes handed out, ``compressed_pos`` the
    compressed bytes consumed (for progress), ``size`` is the compressed size.
    With *allow_cut* a file that ends inside the compressed stream ends the
    data there (what was decoded before the cut is read) and sets ``cut``.
    """

    def __init__(self, path: str | os.PathLike[str], kind: str | None = None, allow_cut: bool = False) -> None:
        self.path = os.fspath(path)
        self.allow_cut = allow_cut
        self.cut = False
        self.pos = 0
        try:
            self._raw = open(self.path, "rb")
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path=self.path) from None
        try:
            self.size = os.fstat(self._raw.fileno()).st_size
            self.kind = kind or compression_of(self._raw.read(6))
            self._raw.seek(0)
            if self.kind is None:
                raise InputError("not a compressed file", path=self.path, where="byte 0")
            try:
                self._stream = _Stream(self._raw, self.kind)
            except ImportError:
                raise InputError(f"{self.kind}-compressed input needs the zstandard package (pip install zstandard)",
                                 path=self.path) from None
        except BaseException:
            self._raw.close()
            raise

    @property
    def compressed_pos(self) -> int:
        try:
            return self._raw.tell() - self._stream.unread
        except (OSError, ValueError):
            return self.size

    def where(self) -> str:
        return f"compressed byte {self.compressed_pos} (decompressed byte {self.pos + self._stream.ahead})"

    def read(self, n: int | None = None) -> bytes:
        """*n* decompressed bytes (fewer only at the end; b"" once the stream has ended)."""
        try:
            data = self._stream.read(n or READ_BYTES)
        except EOFError as exc:
            if not self.allow_cut:
                raise InputError(f"truncated {self.kind} data: {exc}", path=self.path, where=self.where()) from None
            self.cut = True
            data = self._stream.read(n or READ_BYTES)  # what was decoded before the cut
        except _errors() as exc:
            text = str(exc).strip().splitlines()
            raise InputError(f"corrupt {self.kind} data: {text[0] if text else type(exc).__name__}",
                             path=self.path, where=self.where()) from None
        self.pos += len(data)
        return data

    def read_exact(self, n: int) -> bytes:
        """*n* bytes, or fewer only when the stream ends first (what :meth:`read` does)."""
        return self.read(n)

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def __enter__(self) -> Decompressed:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def head(path: str | os.PathLike[str] | Path, n: int, kind: str | None = None, allow_cut: bool = False) -> bytes:
    """The first *n* decompressed bytes of a compressed file (fewer when it holds fewer).

    *allow_cut*: a stream cut before *n* bytes gives what came before the cut (to sniff a file or read
    its header: the read of its data says where it was cut, or reads up to the cut with ``--allow-truncated``)."""
    with Decompressed(path, kind, allow_cut=allow_cut) as stream:
        return stream.read_exact(n)


def iter_line_blocks(path: str | os.PathLike[str], kind: str | None = None, size: int | None = None,
                     end: TextEnd | None = None) -> Iterator[bytes]:
    """The decompressed bytes of a text file in blocks of whole lines (the last block ends where the data ends).

    With *end*, data that ends inside a line is not handed out: :meth:`TextEnd.found` raises its
    error, or records it when cuts are allowed (then a stream cut inside a member ends at the cut)."""
    size = size or READ_BYTES
    with Decompressed(path, kind, allow_cut=end is not None and end.allow_cut) as stream:
        rest = b""
        lines = 1  # of the first line not handed out
        while True:
            more = stream.read(size)
            if not more:
                if rest and end is not None and unterminated(rest):
                    end.found(stream.path, lines, stream.pos - len(rest), decompressed=True)
                elif rest:
                    yield rest
                return
            buf = rest + more if rest else more
            cut = buf.rfind(b"\n") + 1
            if cut:
                if end is not None:
                    lines += buf.count(b"\n", 0, cut)
                yield buf[:cut]
            rest = buf[cut:]


def scan_text(path: str, kind: str, parse: Callable[[bytes], pl.DataFrame], schema: pl.Schema, name: str,
              skip_first_line: bool = False, end: TextEnd | None = None) -> pl.LazyFrame:
    """A LazyFrame over a compressed text file: *parse* turns each block of whole lines into rows.

    Each collect decompresses the file again, a block at a time; nothing is kept between reads.
    *end*: see :func:`iter_line_blocks`.
    """
    from scantui.io.sources import scan_batches

    def batches() -> Iterator[pl.DataFrame]:
        first = skip_first_line
        for block in iter_line_blocks(path, kind, end=end):
            if first:
                block = block.partition(b"\n")[2]
                first = False
            if block:
                df = parse(block)
                if df.height:
                    yield df

    return scan_batches(batches, schema, name, path)
