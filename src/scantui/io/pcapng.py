"""pcapng files -> the canonical packet table, in bounded chunks.

Every block has a length that is a multiple of 4 and repeats it at its end,
and sections start at offset 0, so all blocks sit on 4-byte boundaries: the
file is read (a piece at a time, :mod:`scantui.io.file_pieces`) as an array
of 32-bit words in the section's byte order. Enhanced Packet Blocks (EPB,
nearly every block of a capture) are found without a Python step per block:
every word equal to 6 is a candidate, kept when its length word is sane and
the trailing copy matches; linked candidates
(``cand[i] + len[i] / 4 == cand[i+1]``) that start at a known block are
blocks. Everything else (section and interface headers, statistics, name
resolution, custom and unknown blocks, simple and obsolete packet blocks, and
whatever the candidates missed) is read one block at a time with ``struct``.

Timestamps use each interface's ``if_tsresol`` (power of 10 or of 2) and
``if_tsoffset``. A Simple Packet Block carries no timestamp: it gets the
timestamp of the nearest earlier timestamped packet in the file (a capture
writes SPBs in arrival order), or null when there is none. SPBs use interface
0's link type and snap length.

A compressed file (:mod:`scantui.io.compressed`) is walked a decompressed piece at a time.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from scantui.errors import InputError
from scantui.io import compressed, frames
from scantui.io.options import LoadOptions
from scantui.io.file_pieces import FilePieces
from scantui.io.pcap import MAX_CAPLEN, STREAM_BYTES, WINDOW_BYTES, emit, finish, output_schema
from scantui.io.sources import scan_batches
from scantui.io.stats import FileStats, LoadStats

SHB, IDB, PB, SPB, NRB, ISB, EPB = 0x0A0D0D0A, 1, 2, 3, 4, 5, 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D
EPB_FIXED = 32  # type, length, interface, ts high, ts low, caplen, origlen, trailing length
OPT_TSRESOL, OPT_TSOFFSET = 9, 14


@dataclass(frozen=True)
class Interface:
    linktype: int
    snaplen: int
    tsresol: int = 6  # as in if_tsresol: high bit set = power of 2
    tsoffset: int = 0  # seconds


@dataclass
class _Packets:
    """Packets of one window, in file order."""

    off: list[np.ndarray]
    caplen: list[np.ndarray]
    iface: list[np.ndarray]
    ts_raw: list[np.ndarray]
    has_ts: list[np.ndarray]
    block: list[np.ndarray]  # block numbers (1-based, in the file), for error positions

    @classmethod
    def new(cls) -> _Packets:
        return cls([], [], [], [], [], [])

    def add(self, off, caplen, iface, ts_raw, has_ts, block) -> None:
        self.block.append(np.asarray(block, np.int64))
        self.off.append(np.asarray(off, np.int64))
        self.caplen.append(np.asarray(caplen, np.int64))
        self.iface.append(np.asarray(iface, np.int64))
        self.ts_raw.append(np.asarray(ts_raw, np.uint64))
        self.has_ts.append(np.asarray(has_ts, bool))

    def arrays(self):
        if not self.off:
            z = np.zeros(0, np.int64)
            return z, z, z, np.zeros(0, np.uint64), np.zeros(0, bool), z
        return tuple(np.concatenate(x) for x in (self.off, self.caplen, self.iface, self.ts_raw, self.has_ts, self.block))


class BlockWalker:
    """Walks the block chain of a pcapng file, one window (bounded bytes and packets) at a time."""

    def __init__(self, path: str, buffer, size: int, allow_truncated: bool):
        self.path = path
        self.size = size
        self.views = frames.ByteViews(buffer)
        self.buffer = buffer
        self.allow_truncated = allow_truncated
        self.truncated = False
        self.order = "<"
        self.words = None
        self.interfaces: list[Interface] = []
        self.blocks_before = 0
        self.section_started = False
        self.base = 0  # offset of the buffer's first byte in the (decompressed) file, for error positions
        self.unit = "byte"

    def rebase(self, buffer, base: int, allow_truncated: bool, unit: str = "decompressed byte") -> None:
        """Walk the next piece of a file: *buffer* holds its bytes from offset *base* (a block start)."""
        self.buffer = buffer
        self.size = len(buffer)
        self.views = frames.ByteViews(buffer)
        if self.section_started:
            self.words = np.frombuffer(buffer, dtype=self.order + "u4", count=self.size // 4)
        self.base = base
        self.allow_truncated = allow_truncated
        self.truncated = False
        self.unit = unit

    # -- one block, the slow way -------------------------------------------------------
    def _header(self, pos: int, index: int) -> tuple[int, int] | None:
        """Type and total length of the block at ``pos``, checked; None if the file is cut there."""
        where = f"block {index} at {self.unit} {self.base + pos}"
        left = self.size - pos
        if left < 12:
            return self._cut(index, where, 12, left)
        btype = struct.unpack_from(self.order + "I", self.buffer, pos)[0]
        if btype == SHB:
            bom = struct.unpack_from("<I", self.buffer, pos + 8)[0]
            if bom == BYTE_ORDER_MAGIC:
                self._set_order("<")
            elif bom == 0x4D3C2B1A:
                self._set_order(">")
            else:
                raise InputError(f"bad section header: byte-order magic 0x{bom:08x}", path=self.path, where=where)
            if left >= 16:
                major, minor = struct.unpack_from(self.order + "HH", self.buffer, pos + 12)
                if major != 1:  # the format says a reader must not read a major version it does not know
                    raise InputError(f"unsupported pcapng version {major}.{minor} (only 1.x is read)", path=self.path, where=where)
        elif not self.section_started:
            raise InputError(f"not a pcapng file: bad magic 0x{bytes(self.buffer[pos:pos + 4]).hex()}", path=self.path, where=where)
        length = struct.unpack_from(self.order + "I", self.buffer, pos + 4)[0]
        if length % 4:
            raise InputError(f"bad block: length {length} is not a multiple of 4", path=self.path, where=where)
        if length < 12:
            raise InputError(f"bad block: length {length} is shorter than a block header", path=self.path, where=where)
        if length > left:
            return self._cut(index, where, length, left)
        trailer = struct.unpack_from(self.order + "I", self.buffer, pos + length - 4)[0]
        if trailer != length:
            raise InputError(f"bad block: length {length} does not match the trailing copy {trailer}", path=self.path, where=where)
        return btype, length

    def _cut(self, index: int, where: str, need: int, left: int) -> None:
        if self.allow_truncated:
            self.truncated = True
            return None
        raise InputError(f"truncated: file ends inside block {index} (needs {need} bytes, {left} left)", path=self.path, where=where)

    def _set_order(self, order: str) -> None:
        self.order = order
        self.words = np.frombuffer(self.buffer, dtype=order + "u4", count=self.size // 4)
        self.interfaces = []
        self.section_started = True

    def _bad(self, why: str, index: int, pos: int) -> InputError:
        return InputError(why, path=self.path, where=f"block {index} at {self.unit} {self.base + pos}")

    def _read_block(self, pos: int, index: int, packets: _Packets) -> int | None:
        """Read one block of any type, adding its packet if it has one; the next position, None if cut."""
        head = self._header(pos, index)
        if head is None:
            return None
        btype, length = head
        o = self.order
        if btype == IDB:
            self.interfaces.append(self._interface(pos, length, index))
        elif btype == EPB or btype == PB:
            if length < EPB_FIXED:
                raise self._bad(f"bad block: packet block length {length} is too short", index, pos)
            if btype == EPB:
                iface, hi, lo, caplen, origlen = struct.unpack_from(o + "IIIII", self.buffer, pos + 8)
            else:
                iface, _, hi, lo, caplen, origlen = struct.unpack_from(o + "HHIIII", self.buffer, pos + 8)
            self._check_packet(iface, caplen, origlen, length - EPB_FIXED, index, pos)
            packets.add([pos + 28], [caplen], [iface], [(hi << 32) | lo], [True], [index])
        elif btype == SPB:
            if length < 16:
                raise self._bad(f"bad block: simple packet block length {length} is too short", index, pos)
            if not self.interfaces:
                raise self._bad("bad block: simple packet block before any interface description", index, pos)
            origlen = struct.unpack_from(o + "I", self.buffer, pos + 8)[0]
            caplen = min(origlen, length - 16)
            if self.interfaces[0].snaplen:
                caplen = min(caplen, self.interfaces[0].snaplen)
            packets.add([pos + 12], [caplen], [0], [0], [False], [index])
        # SHB (handled by _header), NRB, ISB, DSB, custom and unknown blocks carry no packets.
        return pos + length

    def _check_packet(self, iface: int, caplen: int, origlen: int, room: int, index: int, pos: int) -> None:
        if iface >= len(self.interfaces):
            raise self._bad(f"bad block: interface {iface} is not described ({len(self.interfaces)} in this section)", index, pos)
        if caplen > room:
            raise self._bad(f"bad block: captured length {caplen} exceeds the block ({room} bytes of data)", index, pos)
        if caplen > MAX_CAPLEN:
            raise self._bad(f"bad block: captured length {caplen} exceeds the maximum {MAX_CAPLEN}", index, pos)
        if origlen < caplen:
            raise self._bad(f"bad block: captured length {caplen} exceeds the original length {origlen}", index, pos)

    def _interface(self, pos: int, length: int, index: int) -> Interface:
        if length < 20:
            raise self._bad(f"bad block: interface description length {length} is too short", index, pos)
        o = self.order
        linktype, _, snaplen = struct.unpack_from(o + "HHI", self.buffer, pos + 8)
        tsresol, tsoffset = 6, 0
        p, end = pos + 16, pos + length - 4
        while p + 4 <= end:
            code, olen = struct.unpack_from(o + "HH", self.buffer, p)
            if code == 0:
                break
            value = bytes(self.buffer[p + 4 : p + 4 + olen])
            if code == OPT_TSRESOL and olen >= 1:
                tsresol = value[0]
            elif code == OPT_TSOFFSET and olen >= 8:
                tsoffset = struct.unpack(o + "q", value[:8])[0]
            p += 4 + olen + (-olen % 4)
        if (tsresol & 0x80 and tsresol & 0x7F > 63) or (not tsresol & 0x80 and tsresol > 19):
            raise self._bad(f"bad interface: timestamp resolution 0x{tsresol:02x} is out of range", index, pos)
        if not MIN_TS_S <= tsoffset <= MAX_TS_S:
            raise self._bad(f"bad interface: timestamp offset {tsoffset} s is out of range", index, pos)
        return Interface(linktype, snaplen, tsresol, tsoffset)

    # -- many EPBs at once -----------------------------------------------------------------
    def _epb_candidates(self, pos: int, stop: int) -> tuple[np.ndarray, np.ndarray, tuple]:
        """EPBs in [pos, stop) bytes that look well-formed: word indices, the word index after
        each, and their (interface, raw timestamp, caplen)."""
        w = self.words
        if w is None:
            z = np.zeros(0, np.int64)
            return z, z, (z, z.astype(np.uint64), z)
        first, last = pos // 4, min(stop, self.size) // 4
        cand = np.flatnonzero(w[first:last] == EPB)
        cand += first
        cand = cand[cand + 8 <= len(w)]
        # the fixed part in one read: type, length | interface, ts high | ts low, caplen | origlen, data
        h = [_halves(x, self.order) for x in self.views.words(cand * 4, 4)]
        length, iface, ts_high, ts_low, caplen, origlen = h[0][1], h[1][0], h[1][1], h[2][0], h[2][1], h[3][0]
        nxt = cand + length // 4
        ok = (length % 4 == 0) & (length >= EPB_FIXED) & (nxt <= len(w))
        trailer = w[np.where(ok, nxt - 1, 0)]
        ok &= (trailer == length) & (caplen <= length - EPB_FIXED) & (caplen <= MAX_CAPLEN) & (origlen >= caplen)
        ts_raw = (ts_high.view(np.uint64) << np.uint64(32)) | ts_low.view(np.uint64)
        return cand[ok], nxt[ok], (iface[ok], ts_raw[ok], caplen[ok])

    def window(self, pos: int, max_packets: int) -> tuple[_Packets, list[Interface], int, int]:
        """Packets from ``pos`` until ``max_packets``, the window's end, a new section or the file's end.

        Returns the packets, the interfaces of their section, the packet count and the next position.
        """
        packets = _Packets.new()
        count = blocks = 0
        if self._is_shb(pos):  # read first: it sets the byte order the candidate search needs
            step = self._read_block(pos, self.blocks_before + 1, packets)
            if step is None:
                return packets, self.interfaces, 0, pos
            pos, blocks = step, 1
        window_end = min(self.size, pos + WINDOW_BYTES)
        cand, nxt, (iface, ts_raw, caplen) = self._epb_candidates(pos, window_end)
        breaks = np.flatnonzero(nxt[:-1] != cand[1:])
        while count < max_packets and pos < window_end and not self._is_shb(pos):
            i = int(np.searchsorted(cand, pos // 4))
            if i < len(cand) and cand[i] * 4 == pos:
                b = int(np.searchsorted(breaks, i))
                j = int(breaks[b]) if b < len(breaks) else len(cand) - 1
                take = min(j - i + 1, max_packets - count)
                run = slice(i, i + take)
                self._check_interfaces(cand[run], iface[run], blocks)
                first_block = self.blocks_before + blocks + 1
                packets.add(cand[run] * 4 + 28, caplen[run], iface[run], ts_raw[run], np.ones(take, bool),
                            np.arange(first_block, first_block + take, dtype=np.int64))
                count += take
                blocks += take
                pos = int(nxt[i + take - 1]) * 4
                continue
            before = len(packets.off)
            step = self._read_block(pos, self.blocks_before + blocks + 1, packets)
            if step is None:
                break
            blocks += 1
            count += len(packets.off) - before
            pos = step
        self.blocks_before += blocks
        return packets, self.interfaces, count, pos

    def _is_shb(self, pos: int) -> bool:
        return pos + 4 <= self.size and self.buffer[pos : pos + 4] == b"\n\r\r\n"

    def _check_interfaces(self, run: np.ndarray, iface: np.ndarray, blocks: int) -> None:
        """EPBs found in bulk must name a described interface (the slow reader says which one does not)."""
        bad = np.flatnonzero(iface >= len(self.interfaces))
        if len(bad):
            k = int(bad[0])
            self._read_block(int(run[k]) * 4, self.blocks_before + blocks + k + 1, _Packets.new())


_LOW32 = np.uint64(0xFFFFFFFF)


def _halves(word: np.ndarray, order: str) -> tuple[np.ndarray, np.ndarray]:
    """The two 32-bit fields stored in a little-endian-read 64-bit word, in file order, as int64."""
    if order == ">":  # reversing all 8 bytes puts the first field in the high half
        word = word.byteswap()
        return (word >> np.uint64(32)).view(np.int64), (word & _LOW32).view(np.int64)
    return (word & _LOW32).view(np.int64), (word >> np.uint64(32)).view(np.int64)


def ts_to_us(ts_raw: np.ndarray, iface: Interface) -> np.ndarray:
    """Raw timestamp units of one interface -> int64 microseconds since the epoch."""
    t = ts_raw.astype(np.uint64)
    code = iface.tsresol
    if code & 0x80:
        bits = code & 0x7F
        sec = (t >> np.uint64(bits)).astype(np.int64)
        frac = t & np.uint64((1 << bits) - 1)
        if bits > 43:  # keep frac * 10**6 within 64 bits
            frac >>= np.uint64(bits - 43)
            bits = 43
        us = sec * 1_000_000 + ((frac * np.uint64(1_000_000)) >> np.uint64(bits)).astype(np.int64)
    elif code <= 6:
        us = t.astype(np.int64) * 10 ** (6 - code)
    else:
        us = (t // np.uint64(10 ** (code - 6))).astype(np.int64)
    return us + iface.tsoffset * 1_000_000


#: Timestamps are read when they fall in years 1 to 9999 (what dates can be written as).
MIN_TS_S = -62_135_596_800
MAX_TS_S = 253_402_300_799


def ts_seconds(ts_raw: np.ndarray, iface: Interface) -> np.ndarray:
    """Approximate seconds since the epoch (float64, never overflowing), to check the range."""
    code = iface.tsresol
    scale = float(2 ** (code & 0x7F)) if code & 0x80 else float(10**code)
    return ts_raw.astype(np.float64) / scale + float(iface.tsoffset)


def check_ts_range(path: str, ts_raw: np.ndarray, which: np.ndarray, iface: Interface, block: np.ndarray,
                   block_pos: np.ndarray, unit: str = "byte") -> None:
    """Refuse the first packet among *which* whose time is outside years 1-9999 (it would wrap around)."""
    sec = ts_seconds(ts_raw, iface)
    bad = np.flatnonzero(which & ((sec < MIN_TS_S) | (sec > MAX_TS_S)))
    if len(bad):
        k = int(bad[0])
        raise InputError(
            f"bad block: timestamp {int(ts_raw[k])} is out of range (about {sec[k]:.3g} s since 1970 with if_tsresol "
            f"0x{iface.tsresol:02x} and if_tsoffset {iface.tsoffset} s; years 1 to 9999 are read)",
            path=path, where=f"block {int(block[k])} at {unit} {int(block_pos[k])}")


class _TsCarry:
    """Fills timestamps of SPBs from the last timestamped packet before them."""

    def __init__(self) -> None:
        self.last: int | None = None

    def fill(self, ts: np.ndarray, has_ts: np.ndarray) -> np.ndarray | None:
        """Fills ``ts`` in place; returns the validity mask (None when all valid)."""
        if not has_ts.all():
            idx = np.where(has_ts, np.arange(len(ts)), -1)
            np.maximum.accumulate(idx, out=idx)
            valid = idx >= 0
            ts[valid] = ts[idx[valid]]
            if self.last is not None:
                ts[~valid] = self.last
                valid[:] = True
        else:
            valid = has_ts
        if len(ts) and valid[-1]:
            self.last = int(ts[-1])
        return None if valid.all() else valid


def iter_pcapng_batches(path, opts: LoadOptions, stats: LoadStats) -> Iterator[pl.DataFrame]:
    """Decode a pcapng file into canonical DataFrames of at most ``opts.chunk_records`` rows."""
    path = os.fspath(path)
    kind = compressed.compression(path)
    if kind is not None:
        yield from _iter_pcapng_stream(path, kind, opts, stats)
        return
    fstats = FileStats(path, format="pcapng")
    stats.publish(fstats)
    with FilePieces(path) as pieces:
        size = pieces.size
        buf = pieces.first()
        check_magic(path, bytes(buf[:12]), size)
        walker = BlockWalker(path, b"", 0, opts.allow_truncated)
        carry = _TsCarry()
        chunk = max(1, opts.chunk_records)
        builder = frames.FrameBuilder()
        pos = 0
        while True:
            # a piece may end inside a block: walked as cut, that block starts the next piece
            walker.rebase(buf, pieces.start, opts.allow_truncated if pieces.final else True, unit="byte")
            while pos < len(buf) and not walker.truncated:
                packets, interfaces, count, pos = walker.window(pos, chunk - builder.records)
                stats.advance(path, pieces.start + pos, size)
                if count == 0:
                    continue
                _decode_window(walker, packets, interfaces, carry, builder, opts.record_refs)
                if builder.records >= chunk:
                    yield from emit(builder, fstats, opts)
            if pieces.final:
                break
            need, left = _block_length(walker, buf, pos), size - pieces.start - pos
            if need > left and len(buf) - pos >= 12:  # its header was checked: the file ends inside it
                walker.allow_truncated = opts.allow_truncated  # (said now: reading the rest first would hold it all)
                walker._cut(walker.blocks_before + 1, f"block {walker.blocks_before + 1} at byte {pieces.start + pos}",
                            need, left)
                break
            buf, pos = pieces.next(pos, need), 0
    yield from finish(builder, fstats, opts, stats, size, walker.truncated)


def _block_length(walker: BlockWalker, buf, pos: int) -> int:
    """The length the block at *pos* claims (0 when its header is cut too): a plain file's next piece holds it
    whole, however long (it is bounded by the file)."""
    order = walker.order
    if bytes(buf[pos : pos + 4]) == b"\n\r\r\n":  # a new section: its own byte order
        if len(buf) - pos < 12:
            return 0
        order = "<" if bytes(buf[pos + 8 : pos + 12]) == b"\x4d\x3c\x2b\x1a" else ">"
    if len(buf) - pos < 8:
        return 0
    return struct.unpack_from(order + "I", buf, pos + 4)[0]


def _decode_window(walker: BlockWalker, packets: _Packets, interfaces: list[Interface], carry: _TsCarry,
                   builder: frames.FrameBuilder, record_refs: bool = False) -> None:
    """Check a window's timestamps and add its packets to *builder*."""
    off, caplen, iface, ts_raw, has_ts, block = packets.arrays()
    present = np.flatnonzero(np.bincount(iface, minlength=len(interfaces)))
    for k in present:
        check_ts_range(walker.path, ts_raw, has_ts & (iface == k), interfaces[k], block, off - 28 + walker.base,
                       walker.unit)
    if len(present) == 1:
        ts = ts_to_us(ts_raw, interfaces[int(present[0])])
    else:
        ts = np.zeros(len(off), np.int64)
        for k in present:
            sel = iface == k
            ts[sel] = ts_to_us(ts_raw[sel], interfaces[k])
    valid = carry.fill(ts, has_ts)
    linktypes = np.array([i.linktype for i in interfaces], np.int64)
    linktype = int(linktypes[0]) if (linktypes == linktypes[0]).all() else linktypes[iface]
    # a packet's block starts 28 bytes before its data (EPB, PB; they carry a timestamp), 12 (SPB) otherwise
    refs = off - np.where(has_ts, 28, 12) + walker.base if record_refs else None
    builder.add(walker.views, off, caplen, linktype, ts, valid, refs=refs)


def _iter_pcapng_stream(path: str, kind: str, opts: LoadOptions, stats: LoadStats) -> Iterator[pl.DataFrame]:
    """Decode a compressed pcapng file piece by piece (see :func:`scantui.io.pcap._iter_pcap_stream`)."""
    fstats = FileStats(path, format="pcapng")
    stats.publish(fstats)
    builder = frames.FrameBuilder()
    carry = _TsCarry()
    chunk = max(1, opts.chunk_records)
    with compressed.Decompressed(path, kind, allow_cut=opts.allow_truncated) as stream:
        rest = stream.read_exact(12)
        check_magic(path, rest, len(rest))
        walker = BlockWalker(path, b"", 0, opts.allow_truncated)
        base = 0
        while True:
            more = stream.read(STREAM_BYTES)
            final = not more
            buf = rest + more if rest else more
            walker.rebase(buf, base, opts.allow_truncated if final else True)
            pos = 0
            while pos < len(buf) and not walker.truncated:
                packets, interfaces, count, pos = walker.window(pos, chunk - builder.records)
                stats.advance(path, stream.compressed_pos, stream.size)
                if count == 0:
                    continue
                _decode_window(walker, packets, interfaces, carry, builder, opts.record_refs)
                if builder.records >= chunk:
                    yield from emit(builder, fstats, opts)
            if final:
                break
            rest, base = buf[pos:], base + pos
            _check_held(walker, rest, base)
        size, cut = stream.size, stream.cut
    # a stream cut between two records still lost what followed: counted like a cut record
    yield from finish(builder, fstats, opts, stats, size, walker.truncated or cut)


#: The longest block read from a compressed stream (a plain file's blocks are bounded by the file).
MAX_STREAM_BLOCK = 64 << 20


def _check_held(walker: BlockWalker, rest: bytes, base: int) -> None:
    """Refuse a block that claims more than :data:`MAX_STREAM_BLOCK` bytes: waiting for it would hold them all."""
    order = walker.order
    if rest[:4] == b"\n\r\r\n":  # a new section: its own byte order
        if len(rest) < 12:
            return
        order = "<" if rest[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    if len(rest) >= 8:
        length = struct.unpack_from(order + "I", rest, 4)[0]
        if length > MAX_STREAM_BLOCK:
            raise InputError(f"bad block: length {length} exceeds the {MAX_STREAM_BLOCK:,} bytes a block of a "
                             "compressed file may have", path=walker.path,
                             where=f"block {walker.blocks_before + 1} at decompressed byte {base}")


def check_magic(path: str, head: bytes, size: int) -> None:
    if size == 0:
        raise InputError("not a pcapng file: empty file", path=path)
    if len(head) < 4 or struct.unpack("<I", head[:4])[0] != SHB:
        raise InputError(f"not a pcapng file: bad magic 0x{head[:4].hex()}", path=path, where="byte 0")
    if size < 12:
        raise InputError(f"truncated: file ends inside block 1 (needs 12 bytes, {size} left)", path=path, where="block 1 at byte 0")
    if head[8:12] not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
        raise InputError(f"bad section header: byte-order magic 0x{head[8:12].hex()}", path=path, where="block 1 at byte 0")


def scan_pcapng(path, opts: LoadOptions, stats: LoadStats) -> pl.LazyFrame:
    """A LazyFrame over a pcapng file (the first block is checked now, the rest when collected)."""
    path = os.fspath(path)
    read_first_block(path)
    return scan_batches(lambda: iter_pcapng_batches(path, opts, stats), output_schema(opts), "pcapng", path, stats)


def read_first_block(path: str) -> None:
    """Check the start of the section header block (raises :class:`InputError`)."""
    kind = compressed.compression(path)
    if kind is not None:
        head = compressed.head(path, 12, kind)
        check_magic(path, head, len(head))
        return
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    check_magic(path, head, size)
