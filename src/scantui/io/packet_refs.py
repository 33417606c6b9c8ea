"""Where a captured packet's record lies, and its original bytes read back from there.

A capture input's rows can carry two reference columns (never in the canonical
table users get from ``ingest``/``--json``): ``ref_file`` (UInt32, an index into a
table of :class:`CaptureFile`) and ``ref_off`` (UInt64, the byte offset of the
packet's record in the file's decompressed stream: a pcap record header, or a
pcapng block). A :class:`CaptureFile` keeps the file's identity (size and
modification time): a file changed since is refused (:class:`ChangedCapture`),
never read for wrong bytes.

:func:`packet_bytes` reads one record (an uncompressed file: one seek; a compressed
one: decompressed from the start up to the record, so O(offset) per packet).
:class:`RecordReader` reads many in file-and-offset order, each file opened once
and a compressed one decompressed once, front to back: what export uses.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from scantui.errors import InputError

REF_COLUMNS = ("ref_file", "ref_off")
PCAP, PCAPNG = "pcap", "pcapng"
_PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}
_SHB, _PB, _SPB, _EPB = 0x0A0D0D0A, 2, 3, 6


class ChangedCapture(InputError):
    """A capture file is not the one the references were taken from."""


@dataclass(frozen=True)
class CaptureFile:
    """One capture file as it was decoded: path, identity, format, compression, link type(s).

    ``linktypes``: the file's link type (pcap), or one per interface in order (pcapng).
    """

    path: str
    size: int
    mtime_ns: int
    format: str
    compression: str | None = None
    linktypes: tuple[int, ...] = ()

    @classmethod
    def of(cls, path: str | os.PathLike[str], fmt: str) -> CaptureFile:
        """The file as it is now (link types read from its header)."""
        from scantui.io import compressed

        path = os.fspath(path)
        st = os.stat(path)
        kind = compressed.compression(path)
        return cls(path, st.st_size, st.st_mtime_ns, fmt, kind, _linktypes(path, fmt, kind))

    def check(self) -> None:
        """Raise :class:`ChangedCapture` unless the file still has the same size and modification time."""
        try:
            st = os.stat(self.path)
        except OSError as e:
            raise ChangedCapture(f"capture file is gone ({e.strerror or e}); cannot read original bytes",
                                 path=self.path) from None
        if (st.st_size, st.st_mtime_ns) != (self.size, self.mtime_ns):
            raise ChangedCapture("capture file changed since it was decoded (size or modification time differs); "
                                 "original bytes not read - decode it again", path=self.path)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CaptureFile:
        return cls(str(d["path"]), int(d["size"]), int(d["mtime_ns"]), str(d["format"]), d.get("compression"),
                   tuple(int(x) for x in d.get("linktypes", ())))


def files_to_json(files: Sequence[CaptureFile]) -> str:
    return json.dumps([f.to_dict() for f in files])


def files_from_json(text: str | None) -> list[CaptureFile]:
    return [CaptureFile.from_dict(d) for d in json.loads(text)] if text else []


def _open_stream(path: str, kind: str | None):
    if kind is None:
        return open(path, "rb")
    from scantui.io import compressed

    return compressed.Decompressed(path, kind)


def _read_exact(stream, n: int) -> bytes:
    out = b""
    while len(out) < n:
        piece = stream.read(n - len(out))
        if not piece:
            break
        out += piece
    return out


def _linktypes(path: str, fmt: str, kind: str | None) -> tuple[int, ...]:
    """pcap: the header's link type; pcapng: each interface's of the first section (in order)."""
    with _open_stream(path, kind) as f:
        if fmt == PCAP:
            head = _read_exact(f, 24)
            order = _PCAP_MAGICS.get(head[:4], "<")
            return (struct.unpack(order + "I", head[20:24])[0] & 0xFFFF,) if len(head) == 24 else ()
        out: list[int] = []
        order = "<"
        for _ in range(64):  # the interfaces come before the first packets in practice
            head = _read_exact(f, 8)
            if len(head) < 8:
                break
            btype = struct.unpack("<I", head[:4])[0]
            if btype == _SHB:
                rest = _read_exact(f, 4)
                order = "<" if struct.unpack("<I", rest)[0] == 0x1A2B3C4D else ">"
                length = struct.unpack(order + "I", head[4:8])[0]
                body = rest + _read_exact(f, length - 12)
                if out:  # a second section: its interfaces are numbered again; keep the first's
                    break
                continue
            btype, length = struct.unpack(order + "II", head)
            body = _read_exact(f, max(0, length - 8))
            if btype == 1:
                out.append(struct.unpack(order + "H", body[:2])[0])
            elif btype in (_EPB, _SPB, _PB):
                break
        return tuple(out)


@dataclass(frozen=True)
class Record:
    """A record's packet bytes and link type."""

    data: bytes
    linktype: int


def _section_order(path: str, kind: str | None, fmt: str) -> str:
    with _open_stream(path, kind) as f:
        head = _read_exact(f, 12)
    if fmt == PCAP:
        return _PCAP_MAGICS.get(head[:4], "<")
    return "<" if head[8:12] == struct.pack("<I", 0x1A2B3C4D) else ">"


def _parse(file: CaptureFile, order: str, more) -> Record:
    """The record at the stream's position; *more(n)* reads the next n bytes (exactly the record's)."""
    if file.format == PCAP:
        head = more(16)
        if len(head) < 16:
            raise InputError("record cut short", path=file.path)
        caplen = struct.unpack(order + "I", head[8:12])[0]
        return Record(more(caplen), file.linktypes[0] if file.linktypes else 1)
    head = more(8)
    if len(head) < 8:
        raise InputError("block cut short", path=file.path)
    btype, length = struct.unpack(order + "II", head)
    body = more(max(0, length - 8))
    if btype in (_EPB, _PB):
        iface = struct.unpack(order + ("I" if btype == _EPB else "H"), body[: 4 if btype == _EPB else 2])[0]
        caplen = struct.unpack(order + "I", body[12:16])[0]
        data = body[20 : 20 + caplen]
    elif btype == _SPB:
        iface, origlen = 0, struct.unpack(order + "I", body[:4])[0]
        data = body[4 : 4 + min(origlen, length - 16)]
    else:
        raise InputError(f"no packet block at this offset (block type {btype})", path=file.path)
    linktype = file.linktypes[iface] if iface < len(file.linktypes) else 1
    return Record(data, linktype)


def packet_bytes(row: Mapping[str, Any], files: Sequence[CaptureFile]) -> bytes | None:
    """The original bytes of *row*'s packet, or None when it has no reference (not from a capture).

    Raises :class:`ChangedCapture` when the file is not the one decoded.
    """
    rec = record_of(row, files)
    return None if rec is None else rec.data


def record_of(row: Mapping[str, Any], files: Sequence[CaptureFile]) -> Record | None:
    """Like :func:`packet_bytes`, with the record's link type."""
    index, off = row.get("ref_file"), row.get("ref_off")
    if index is None or off is None or not 0 <= int(index) < len(files):
        return None
    with RecordReader(files) as reader:
        for _, rec in reader.read([(int(index), int(off))]):
            return rec
    return None


class RecordReader:
    """Reads records by (file index, offset), keeping each file open at its position between calls.

    A compressed file is decompressed forward only: references asked in increasing offset
    order (within a call they are sorted; across calls, time order is nearly file order)
    decompress it once. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, files: Sequence[CaptureFile]) -> None:
        self.files = list(files)
        self._streams: dict[int, list[Any]] = {}  # index -> [stream, position, byte order]
        self.restarts = 0  # compressed streams started over for an earlier offset (a cost to watch)

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for stream, _, _ in self._streams.values():
            stream.close()
        self._streams.clear()

    def read(self, refs: Iterable[tuple[int, int]]) -> Iterator[tuple[int, Record]]:
        """(position in *refs*, record) for each reference, in (file, offset) order."""
        by_file: dict[int, list[tuple[int, int]]] = {}
        for i, (index, off) in enumerate(refs):
            by_file.setdefault(index, []).append((off, i))
        for index in sorted(by_file):
            file = self.files[index]
            try:
                for off, i in sorted(by_file[index]):
                    yield i, self._read_one(index, file, off)
            except OSError as e:
                raise InputError(f"cannot read: {e.strerror or e}", path=file.path) from None

    def _stream(self, index: int, file: CaptureFile, off: int) -> list[Any]:
        """[stream, position, byte order]; an uncompressed file's stream is a :class:`_PlainFile`."""
        state = self._streams.get(index)
        if state is not None and file.compression is not None and off < state[1]:
            state[0].close()
            state = None
            self.restarts += 1
        if state is None:
            file.check()
            order = _section_order(file.path, file.compression, file.format)
            stream: Any = _PlainFile(file) if file.compression is None else _open_stream(file.path, file.compression)
            state = [stream, 0, order]
            self._streams[index] = state
        return state

    def _read_one(self, index: int, file: CaptureFile, off: int) -> Record:
        state = self._stream(index, file, off)
        f = state[0]
        if file.compression is None:
            return _parse_plain(file, state[2], f, off)
        _skip(f, off - state[1])
        state[1] = off

        def more(n: int) -> bytes:
            data = _read_exact(f, n)
            state[1] += len(data)
            return data

        return _parse(file, state[2], more)


class _PlainFile:
    """An uncompressed capture's bytes read with ``pread``, a window at a time (references come in offset
    order, so a window serves many). Not memory-mapped: a file cut short by another process after
    :meth:`CaptureFile.check` reads short (:class:`ChangedCapture`) where a map would die of SIGBUS."""

    WINDOW = 1 << 20

    def __init__(self, file: CaptureFile) -> None:
        self.file = file
        self._fd = os.open(file.path, os.O_RDONLY)
        self.start = 0
        self.data = b""

    def close(self) -> None:
        os.close(self._fd)

    def read_at(self, off: int, n: int) -> bytes:
        """Bytes off .. off + n, all inside the file's size as decoded."""
        if not (self.start <= off and off + n <= self.start + len(self.data)):
            self.data = os.pread(self._fd, min(max(n, self.WINDOW), self.file.size - off), off)
            self.start = off
            if len(self.data) < n:
                raise ChangedCapture(f"capture file shrank while its bytes were read (it ends before byte "
                                     f"{off + n:,} now; {self.file.size:,} bytes when decoded); original bytes not "
                                     "read - decode it again", path=self.file.path)
        return self.data[off - self.start : off + n - self.start]


def _parse_plain(file: CaptureFile, order: str, src: _PlainFile, off: int) -> Record:
    """The record at *off* of an uncompressed file."""
    size = file.size
    if file.format == PCAP:
        if off + 16 > size:
            raise InputError(f"no record at offset {off} (the file ends first)", path=file.path)
        caplen = struct.unpack_from(order + "I", src.read_at(off, 16), 8)[0]
        if off + 16 + caplen > size:
            raise InputError(f"record at offset {off} cut short", path=file.path)
        return Record(src.read_at(off + 16, caplen), file.linktypes[0] if file.linktypes else 1)
    if off + 8 > size:
        raise InputError(f"no block at offset {off} (the file ends first)", path=file.path)
    length = struct.unpack_from(order + "I", src.read_at(off, 8), 4)[0]
    chunk = src.read_at(off, min(max(8, length), size - off))
    pos = [0]

    def more(n: int) -> bytes:
        piece = chunk[pos[0] : pos[0] + n]
        pos[0] += len(piece)
        return piece

    return _parse(file, order, more)


def _skip(stream, n: int) -> None:
    while n > 0:
        piece = stream.read(min(n, 4 << 20))
        if not piece:
            return
        n -= len(piece)
