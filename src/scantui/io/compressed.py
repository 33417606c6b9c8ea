"""Compressed inputs (gzip, zstd, xz, bzip2) read as a forward stream of their decompressed bytes.

Telescopes ship captures compressed (CAIDA: an hourly ``.pcap.gz``). Such a
file is decoded while it is read, a few MiB at a time: it is never
decompressed whole into memory or into a temporary copy. The compression is
told by the first bytes, not the name; what is inside is sniffed like any
other input (:mod:`scantui.io.detect`). Concatenated gzip members, zstd frames
and xz streams read as one stream.

gzip is read with zlib-ng (``zlib_ng.gzip_ng``: 2.5x the stdlib ``gzip``
module on a capture, see ``benchmarks/RESULTS.md``), or the stdlib when it is
not installed; zstd with ``zstandard``; xz and bzip2 with the stdlib.

A stream that ends before its end marker, or whose data is corrupt (a bad
CRC, an undecodable block), raises :class:`InputError` at the compressed byte
where the reader noticed, with how far the decompressed data had been read
(to within :data:`STEP_BYTES`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from scantui.errors import InputError

if TYPE_CHECKING:
    import polars as pl

GZIP = "gzip"
ZSTD = "zstd"
XZ = "xz"
BZIP2 = "bzip2"

_MAGICS = ((b"\x1f\x8b", GZIP), (b"\x28\xb5\x2f\xfd", ZSTD), (b"\xfd7zXZ\x00", XZ), (b"BZh", BZIP2))

#: Decompressed bytes a stream reader hands out per read, at most.
READ_BYTES = 4 << 20
#: ... taken from the decompressor this many at a time.
STEP_BYTES = 256 << 10


def compression_of(head: bytes) -> str | None:
    """The compression whose magic *head* starts with, or None."""
    return next((kind for magic, kind in _MAGICS if head.startswith(magic)), None)


def compression(path: str | os.PathLike[str]) -> str | None:
    """The compression of the file at *path* (None for an uncompressed or unreadable file)."""
    try:
        with open(path, "rb") as fh:
            return compression_of(fh.read(6))
    except OSError:
        return None


class _ZstdReader:
    """zstd frames -> bytes with ``read(n)``; a stream cut inside a frame raises EOFError.

    (``zstandard``'s own stream reader returns what it has at a cut, as if the
    stream had ended.) Input is fed 1 KiB at a time, so one call's output stays
    bounded even for a crafted stream (zstd expands at most ~32,000x: 32 MiB);
    measured, smaller feeds cost nothing (~0.9 GB/s out at 1 KiB and at 64 KiB).
    """

    FEED = 1 << 10

    def __init__(self, raw) -> None:
        import zstandard

        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._raw = raw
        self._started = False  # the current frame has received input
        self._out = bytearray()
        self._done = False

    def read(self, n: int) -> bytes:
        while len(self._out) < n and not self._done:
            data = self._raw.read(self.FEED)
            if not data:
                self._done = True
                if self._started and not self._obj.eof:
                    raise EOFError("compressed file ended before the end of its last zstd frame")
                break
            self._feed(data)
        out = bytes(self._out[:n])
        del self._out[:n]
        return out

    def _feed(self, data: bytes) -> None:
        while data:
            if self._obj.eof:  # the next frame
                self._obj = self._dctx.decompressobj()
            self._started = True
            self._out += self._obj.decompress(data)
            data = self._obj.unused_data if self._obj.eof else b""

    def close(self) -> None:
        self._out = bytearray()


def _gzip_reader(raw):
    try:
        from zlib_ng import gzip_ng
    except ImportError:  # pragma: no cover - zlib-ng is a dependency; the stdlib reads the same data
        import gzip as gzip_ng
    return gzip_ng.GzipFile(fileobj=raw, mode="rb")


def _reader(kind: str, raw):
    if kind == GZIP:
        return _gzip_reader(raw)
    if kind == ZSTD:
        return _ZstdReader(raw)
    if kind == XZ:
        import lzma

        return lzma.LZMAFile(raw)
    import bz2

    return bz2.BZ2File(raw)


def _errors() -> tuple[type[BaseException], ...]:
    """Exceptions the decompressors raise for bad data (each module imported only if already loaded)."""
    import sys
    import zlib

    found: list[type[BaseException]] = [OSError, EOFError, ValueError, zlib.error]
    for module, name in (("lzma", "LZMAError"), ("zlib_ng.zlib_ng", "error"), ("zstandard", "ZstdError")):
        mod = sys.modules.get(module)
        if mod is not None and hasattr(mod, name):
            found.append(getattr(mod, name))
    return tuple(found)


class Decompressed:
    """The decompressed bytes of a compressed file, read forward (a context manager).

    ``pos`` counts the decompressed bytes handed out, ``compressed_pos`` the
    compressed bytes consumed (for progress), ``size`` is the compressed size.
    """

    def __init__(self, path: str | os.PathLike[str], kind: str | None = None) -> None:
        self.path = os.fspath(path)
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
            self._reader = self._open()
        except BaseException:
            self._raw.close()
            raise
        self.pos = 0

    def _open(self):
        try:
            return _reader(self.kind, self._raw)
        except ImportError:
            raise InputError(f"{self.kind}-compressed input needs the zstandard package (pip install zstandard)",
                             path=self.path) from None

    @property
    def compressed_pos(self) -> int:
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.size

    def where(self) -> str:
        return f"compressed byte {self.compressed_pos} (after decompressed byte {self.pos})"

    def read(self, n: int | None = None) -> bytes:
        """*n* decompressed bytes (fewer only at the end; b"" once the stream has ended).

        Taken :data:`STEP_BYTES` at a time, so an error's decompressed position is that close.
        """
        n = n or READ_BYTES
        if n <= STEP_BYTES:
            return self._step(n)
        parts, got = [], 0
        while got < n:
            data = self._step(min(STEP_BYTES, n - got))
            if not data:
                break
            parts.append(data)
            got += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _step(self, n: int) -> bytes:
        try:
            data = self._reader.read(n)
        except EOFError:
            raise InputError(f"truncated {self.kind} data: the file ends before the end of the compressed stream",
                             path=self.path, where=self.where()) from None
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
        try:
            self._reader.close()
        except Exception:  # noqa: BLE001 - closing after an error in the data
            pass
        self._raw.close()

    def __enter__(self) -> Decompressed:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def head(path: str | os.PathLike[str] | Path, n: int, kind: str | None = None) -> bytes:
    """The first *n* decompressed bytes of a compressed file (fewer when it holds fewer)."""
    with Decompressed(path, kind) as stream:
        return stream.read_exact(n)


def iter_line_blocks(path: str | os.PathLike[str], kind: str | None = None, size: int | None = None) -> Iterator[bytes]:
    """The decompressed bytes of a text file in blocks of whole lines (the last block ends where the data ends)."""
    size = size or READ_BYTES
    with Decompressed(path, kind) as stream:
        rest = b""
        while True:
            more = stream.read(size)
            if not more:
                if rest:
                    yield rest
                return
            buf = rest + more if rest else more
            cut = buf.rfind(b"\n") + 1
            if cut:
                yield buf[:cut]
            rest = buf[cut:]


def scan_text(path: str, kind: str, parse: Callable[[bytes], pl.DataFrame], schema: pl.Schema, name: str,
              skip_first_line: bool = False) -> pl.LazyFrame:
    """A LazyFrame over a compressed text file: *parse* turns each block of whole lines into rows.

    Each collect decompresses the file again, a block at a time; nothing is kept between reads.
    """
    from scantui.io.sources import scan_batches

    def batches() -> Iterator[pl.DataFrame]:
        first = skip_first_line
        for block in iter_line_blocks(path, kind):
            if first:
                block = block.partition(b"\n")[2]
                first = False
            if block:
                df = parse(block)
                if df.height:
                    yield df

    return scan_batches(batches, schema, name, path)
