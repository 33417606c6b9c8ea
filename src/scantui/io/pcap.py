"""Classic pcap files -> the canonical packet table, in bounded chunks.

The file is read a piece at a time into a reused buffer
(:mod:`scantui.io.file_pieces`: never memory-mapped, so a file cut short by
another process while it is read is an error, not SIGBUS). Records form a
chain (the next header starts 16 + caplen bytes after this one), which is
found without a Python step per record:

1. fixed stride: when the records at ``pos + k * (16 + caplen)`` all carry the
   same caplen, they *are* the chain (by induction), checked with one gather;
2. otherwise candidates: every byte position whose timestamp high byte equals
   the current record's (one vectorized compare), filtered by full header
   checks (fraction below 1 s, caplen <= origlen, caplen plausible, record
   inside the file), then linked: ``cand[i] + 16 + caplen[i] == cand[i+1]``.
   Runs of linked candidates starting at a known record are records; where
   the link breaks (a false candidate inside a payload, a record the filter
   missed) one record is read with ``struct`` and the walk resumes. So the
   result is always the exact chain; only its speed depends on the data.

Headers found are decoded by :mod:`scantui.io.frames`. A compressed file
(:mod:`scantui.io.compressed`) is walked the same way, a decompressed piece at a time. Errors in the input
raise :class:`scantui.errors.InputError` naming the record and byte offset.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

import numpy as np
import polars as pl

from scantui.errors import InputError
from scantui.io import compressed, frames
from scantui.io.file_pieces import FilePieces
from scantui.io.options import LoadOptions
from scantui.io.schema import canonical_schema
from scantui.io.sources import scan_batches
from scantui.io.stats import FileStats, LoadStats

FILE_HEADER = 24
RECORD_HEADER = 16
#: Largest captured length any capture tool writes (libpcap's MAXIMUM_SNAPLEN).
MAX_CAPLEN = 262144
#: Bytes searched for records per window; small, so a window's bytes are still cached when decoded.
WINDOW_BYTES = 2 << 20
SCAN_BLOCK = WINDOW_BYTES
#: After this many records read one by one, re-key the candidate search (a time jump).
MAX_SLOW_RUN = 64
MAX_REKEYS = 4
#: Shorter constant-size runs are left to the candidate search (fewer Python round trips).
MIN_STRIDE_RUN = 32

# magic as read little-endian -> (byte order of the file, nanosecond timestamps)
MAGICS = {
    0xA1B2C3D4: ("<", False),
    0xA1B23C4D: ("<", True),
    0xD4C3B2A1: (">", False),
    0x4D3CB2A1: (">", True),
}


class PcapHeader:
    """The 24-byte file header."""

    def __init__(self, path: str, head: bytes, size: int):
        if size == 0:
            raise InputError("not a pcap file: empty file", path=path)
        if size < 4:
            raise InputError(f"not a pcap file: only {size} bytes", path=path)
        magic = struct.unpack("<I", head[:4])[0]
        if magic not in MAGICS:
            raise InputError(f"not a pcap file: bad magic 0x{head[:4].hex()}", path=path, where="byte 0")
        self.order, self.nanos = MAGICS[magic]
        if size < FILE_HEADER:
            raise InputError(f"truncated: file header needs {FILE_HEADER} bytes, {size} present", path=path, where="byte 0")
        _, self.major, self.minor, _, _, self.snaplen, linkfield = struct.unpack(self.order + "IHHiIII", head[:FILE_HEADER])
        self.linktype = linkfield & 0xFFFF  # upper bits may carry FCS information
        # "caplen > snaplen by a lot": tools write slightly-off snaplens; a record
        # beyond twice the snaplen (and beyond 64 KiB) is a lie, not a quirk. Snaplen 0 = not given.
        self.max_caplen = min(MAX_CAPLEN, max(2 * self.snaplen, 65535)) if self.snaplen else MAX_CAPLEN


def read_header(path: str) -> PcapHeader:
    kind = compressed.compression(path)
    if kind is not None:
        head = compressed.head(path, FILE_HEADER, kind)
        return PcapHeader(path, head, len(head))
    try:
        with open(path, "rb") as f:
            head = f.read(FILE_HEADER)
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    return PcapHeader(path, head, size)


class RecordWalker:
    """Finds record header offsets, chunk by chunk, following the chain exactly."""

    def __init__(self, path: str, views: frames.ByteViews, header: PcapHeader, allow_truncated: bool):
        self.path = path
        self.views = views
        self.size = views.size
        self.hdr = header
        self.ts_high_byte = 3 if header.order == "<" else 0
        self.frac_limit = 1_000_000_000 if header.nanos else 1_000_000
        self.allow_truncated = allow_truncated
        self.records_before = 0  # records returned so far (for error positions)
        self._mask = np.empty(SCAN_BLOCK, bool)
        self.truncated = False
        self.base = 0  # offset of the buffer's first byte in the (decompressed) file, for error positions
        self.unit = "byte"

    def rebase(self, views: frames.ByteViews, base: int, allow_truncated: bool, unit: str = "decompressed byte") -> None:
        """Walk the next piece of a file: *views* holds its bytes from offset *base* (a record start)."""
        self.views = views
        self.size = views.size
        self.base = base
        self.allow_truncated = allow_truncated
        self.truncated = False
        self.unit = unit

    # -- one record, the slow way ------------------------------------------------
    def read_one(self, pos: int, index: int) -> int | None:
        """Check the record at ``pos`` (record number ``index``, 1-based); its next position, None if cut."""
        left = self.size - pos
        where = f"record {index} at {self.unit} {self.base + pos}"
        if left < RECORD_HEADER:
            return self._cut(index, where, RECORD_HEADER, left)
        _, frac, caplen, origlen = struct.unpack_from(self.hdr.order + "IIII", self.views.u8, pos)
        if frac >= self.frac_limit:
            unit = "nanoseconds" if self.hdr.nanos else "microseconds"
            raise InputError(f"bad record: timestamp fraction {frac} is not below {self.frac_limit} ({unit})",
                             path=self.path, where=where)
        if caplen > self.hdr.max_caplen:
            limit = f"the snapshot length {self.hdr.snaplen}" if self.hdr.max_caplen < MAX_CAPLEN else f"the maximum {MAX_CAPLEN}"
            raise InputError(f"bad record: captured length {caplen} exceeds {limit}", path=self.path, where=where)
        if origlen < caplen:
            raise InputError(f"bad record: captured length {caplen} exceeds the original length {origlen}", path=self.path, where=where)
        if left < RECORD_HEADER + caplen:
            return self._cut(index, where, RECORD_HEADER + caplen, left)
        return pos + RECORD_HEADER + caplen

    def _cut(self, index: int, where: str, need: int, left: int) -> None:
        if self.allow_truncated:
            self.truncated = True
            return None
        raise InputError(f"truncated: file ends inside record {index} (needs {need} bytes, {left} left)", path=self.path, where=where)

    # -- a chunk ---------------------------------------------------------------------
    def chunk(self, pos: int, max_records: int) -> tuple[Records, int]:
        """Up to ``max_records`` records from ``pos``, and the position after them.

        Returns no records at the end of the file (or at a cut record with allow_truncated).
        """
        parts: list[Records] = []
        count = 0
        window_end = min(self.size, pos + WINDOW_BYTES)
        rekeys = 0
        while count < max_records and pos < window_end:
            after = self.read_one(pos, self.records_before + count + 1)
            if after is None:
                break
            run = self._stride_run(pos, after - pos, max_records - count, window_end)
            if len(run) >= MIN_STRIDE_RUN or (len(run) > 1 and len(run) == max_records - count):
                parts.append(self.fields(run))
                count += len(run)
                pos = int(run[-1]) + (after - pos)
                continue
            found, pos, rekey = self._candidate_walk(pos, max_records - count, window_end, use_candidates=rekeys < MAX_REKEYS)
            parts.extend(found)
            count += sum(len(f[0]) for f in found)
            if not rekey:
                break
            rekeys += 1
        self.records_before += count
        return _concat_records(parts), pos

    def _stride_run(self, pos: int, stride: int, max_records: int, window_end: int) -> np.ndarray:
        """Records at a constant stride from ``pos`` (same caplen each), as long as that holds."""
        if stride <= RECORD_HEADER:
            return np.array([pos], np.int64)
        last_k = min(self.size - stride - pos, window_end - 1 - pos) // stride
        fits = min(max_records, last_k + 1)
        if fits < 2:
            return np.array([pos], np.int64)
        caplen = stride - RECORD_HEADER
        done, step = 0, 64  # a short probe first: most mixed captures fail it at once
        while done < fits:
            n = min(fits - done, step)
            starts = pos + stride * np.arange(done, done + n, dtype=np.int64)
            h = self.headers(starts)
            # a bad fraction ends the run too: the one-record reader then says what is wrong
            bad = np.flatnonzero((h[2] != caplen) | (h[3] < caplen) | (h[1] >= self.frac_limit))
            if len(bad):
                return pos + stride * np.arange(done + int(bad[0]), dtype=np.int64)
            done += n
            step = frames.SUB_BLOCK
        return pos + stride * np.arange(fits, dtype=np.int64)

    def _candidates(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, Records]:
        """Positions in [start, stop) that look like record headers: positions, next positions, fields."""
        u8 = self.views.u8
        hb = self.ts_high_byte
        key = u8[start + hb]
        last = min(stop, self.size - RECORD_HEADER + 1)  # a header must fit in the file
        found, after, caplens, stamps = [], [], [], []
        mask = self._mask
        for s in range(start, last, SCAN_BLOCK):
            e = min(s + SCAN_BLOCK, last)
            m = mask[: e - s]
            np.equal(u8[s + hb : e + hb], key, out=m)
            cand = np.flatnonzero(m)
            cand += s
            h = self.headers(cand)
            caplen = h[2]
            nxt = cand + RECORD_HEADER + caplen
            ok = (h[1] < self.frac_limit) & (caplen <= self.hdr.max_caplen) & (h[3] >= h[2]) & (h[3] < (1 << 24)) & (nxt <= self.size)
            found.append(cand[ok])
            after.append(nxt[ok])
            caplens.append(caplen[ok])
            stamps.append(self._ts(h[0][ok], h[1][ok]))
        if not found:
            z = np.zeros(0, np.int64)
            return z, z, (z, z, z)
        cand = np.concatenate(found)
        return cand, np.concatenate(after), (cand, np.concatenate(caplens), np.concatenate(stamps))

    def _candidate_walk(self, pos: int, max_records: int, window_end: int, use_candidates: bool) -> tuple[list[Records], int, bool]:
        """Follow the chain from ``pos`` using linked candidates; read unlinked records one by one.

        Returns the records, the next position and whether it stopped early because
        too many records in a row were missed by the candidate key (re-key needed).
        """
        if use_candidates:
            cand, nxt, (_, cand_caplen, cand_ts) = self._candidates(pos, window_end)
        else:
            cand = nxt = cand_caplen = cand_ts = np.zeros(0, np.int64)
        # breaks[k]: candidate index whose successor is not the next candidate
        breaks = np.flatnonzero(nxt[:-1] != cand[1:])
        parts: list[Records] = []
        singles: list[int] = []
        count = 0
        slow = 0
        rekey = False
        while count < max_records and pos < window_end:
            i = int(np.searchsorted(cand, pos))
            if i < len(cand) and cand[i] == pos:
                if singles:
                    parts.append(self.fields(np.array(singles, np.int64)))
                    singles = []
                b = int(np.searchsorted(breaks, i))
                j = int(breaks[b]) if b < len(breaks) else len(cand) - 1
                take = min(j - i + 1, max_records - count)
                sl = slice(i, i + take)
                parts.append((cand[sl], cand_caplen[sl], cand_ts[sl]))
                count += take
                pos = int(nxt[i + take - 1])
                slow = 0
                continue
            nxt_pos = self.read_one(pos, self.records_before + count + 1)
            if nxt_pos is None:
                break
            singles.append(pos)
            count += 1
            pos = nxt_pos
            slow += 1
            if slow >= MAX_SLOW_RUN and use_candidates:
                rekey = True
                break
        if singles:
            parts.append(self.fields(np.array(singles, np.int64)))
        return parts, pos, rekey

    def headers(self, pos: np.ndarray) -> list[np.ndarray]:
        """The record headers at ``pos``: int64 arrays ts_sec, ts_frac, caplen, origlen."""
        w0, w1 = self.views.words(pos, 2)
        low, high = _LOW32, np.uint64(32)
        if self.hdr.order == ">":  # reversing all 8 bytes puts the first field in the high half
            w0.byteswap(inplace=True)
            w1.byteswap(inplace=True)
            return [(w0 >> high).view(np.int64), (w0 & low).view(np.int64), (w1 >> high).view(np.int64), (w1 & low).view(np.int64)]
        return [(w0 & low).view(np.int64), (w0 >> high).view(np.int64), (w1 & low).view(np.int64), (w1 >> high).view(np.int64)]

    def _ts(self, sec: np.ndarray, frac: np.ndarray) -> np.ndarray:
        us = sec * 1_000_000
        us += frac // 1000 if self.hdr.nanos else frac
        return us

    def fields(self, headers: np.ndarray) -> Records:
        """Header offsets, captured lengths and microsecond timestamps of the given records."""
        caplen = np.empty(len(headers), np.int64)
        ts = np.empty(len(headers), np.int64)
        for s in range(0, len(headers), frames.SUB_BLOCK):
            h = self.headers(headers[s : s + frames.SUB_BLOCK])
            caplen[s : s + frames.SUB_BLOCK] = h[2]
            ts[s : s + frames.SUB_BLOCK] = self._ts(h[0], h[1])
        return headers, caplen, ts


_LOW32 = np.uint64(0xFFFFFFFF)

#: Records found: (header offsets, captured lengths, microsecond timestamps).
Records = tuple[np.ndarray, np.ndarray, np.ndarray]


def _concat_records(parts: list[Records]) -> Records:
    if not parts:
        z = np.zeros(0, np.int64)
        return z, z, z
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]


def iter_pcap_batches(path, opts: LoadOptions, stats: LoadStats) -> Iterator[pl.DataFrame]:
    """Decode a classic pcap file into canonical DataFrames of at most ``opts.chunk_records`` rows."""
    path = os.fspath(path)
    kind = compressed.compression(path)
    if kind is not None:
        yield from _iter_pcap_stream(path, kind, opts, stats)
        return
    fstats = FileStats(path, format="pcap")
    stats.publish(fstats)
    with FilePieces(path) as pieces:
        size = pieces.size
        buf = pieces.first()
        header = PcapHeader(path, bytes(buf[:FILE_HEADER]), size)
        walker = RecordWalker(path, frames.ByteViews(b""), header, opts.allow_truncated)
        chunk = max(1, opts.chunk_records)
        builder = frames.FrameBuilder()
        pos = FILE_HEADER
        while True:
            # a piece may end inside a record: walked as cut, that record starts the next piece
            views = frames.ByteViews(buf)
            walker.rebase(views, pieces.start, opts.allow_truncated if pieces.final else True, unit="byte")
            while pos < len(buf) and not walker.truncated:
                (headers, caplen, ts), pos = walker.chunk(pos, chunk - builder.records)
                if len(headers) == 0:
                    break
                builder.add(views, headers + RECORD_HEADER, caplen, header.linktype, ts,
                            refs=headers + pieces.start if opts.record_refs else None)
                stats.advance(path, pieces.start + pos, size)
                if builder.records >= chunk:
                    yield from emit(builder, fstats, opts)
            if pieces.final:
                break
            buf, pos = pieces.next(pos), 0
    yield from finish(builder, fstats, opts, stats, size, walker.truncated)


#: Decompressed bytes of a compressed capture walked at a time (plus the record cut at the previous piece's end).
STREAM_BYTES = 8 << 20


def _iter_pcap_stream(path: str, kind: str, opts: LoadOptions, stats: LoadStats) -> Iterator[pl.DataFrame]:
    """Decode a compressed pcap file piece by piece: memory follows :data:`STREAM_BYTES` and the chunk, not the file.

    Each piece is walked like a plain file's piece that may end inside a record; that
    record's bytes start the next piece. Only the last piece's cut is a truncation.
    """
    fstats = FileStats(path, format="pcap")
    stats.publish(fstats)
    builder = frames.FrameBuilder()
    chunk = max(1, opts.chunk_records)
    with compressed.Decompressed(path, kind, allow_cut=opts.allow_truncated) as stream:
        head = stream.read_exact(FILE_HEADER)
        header = PcapHeader(path, head, len(head))
        walker = RecordWalker(path, frames.ByteViews(b""), header, opts.allow_truncated)
        rest, base = b"", FILE_HEADER
        while True:
            more = stream.read(STREAM_BYTES)
            final = not more
            buf = rest + more if rest else more
            views = frames.ByteViews(buf)
            walker.rebase(views, base, opts.allow_truncated if final else True)
            pos = 0
            while pos < len(buf) and not walker.truncated:
                (headers, caplen, ts), pos = walker.chunk(pos, chunk - builder.records)
                if len(headers) == 0:
                    break
                builder.add(views, headers + RECORD_HEADER, caplen, header.linktype, ts,
                            refs=headers + base if opts.record_refs else None)
                stats.advance(path, stream.compressed_pos, stream.size)
                if builder.records >= chunk:
                    yield from emit(builder, fstats, opts)
            if final:
                break
            rest, base = buf[pos:], base + pos
        size, cut = stream.size, stream.cut
    # a stream cut between two records still lost what followed: counted like a cut record
    yield from finish(builder, fstats, opts, stats, size, walker.truncated or cut)


def finish(
    builder: frames.FrameBuilder, fstats: FileStats, opts: LoadOptions, stats: LoadStats, size: int, truncated: bool
) -> Iterator[pl.DataFrame]:
    """Yield what is left in the builder and close the pass's statistics."""
    yield from emit(builder, fstats, opts)
    if truncated:
        fstats.skipped["truncated_record"] += 1
    fstats.complete = True
    stats.advance(fstats.path, size, size)


def emit(builder: frames.FrameBuilder, fstats: FileStats, opts: LoadOptions) -> Iterator[pl.DataFrame]:
    """Yield the builder's packets as one frame (if any), counting rows and skips."""
    if not builder.records:
        return
    df = builder.frame()
    fstats.rows += df.height
    fstats.skipped.update(builder.skipped)
    builder.skipped.clear()
    if df.height:
        yield with_sensor(df, opts)


def with_sensor(df: pl.DataFrame, opts: LoadOptions) -> pl.DataFrame:
    if opts.sensor is None:
        return df
    df = df.with_columns(sensor=pl.lit(opts.sensor, dtype=pl.String))
    return df.select(pl.exclude("ref_off"), "ref_off") if "ref_off" in df.columns else df  # as output_schema


def output_schema(opts: LoadOptions) -> pl.Schema:
    schema = canonical_schema(["sensor"] if opts.sensor is not None else [])
    if opts.record_refs:
        schema["ref_off"] = pl.UInt64()
    return schema


def scan_pcap(path, opts: LoadOptions, stats: LoadStats) -> pl.LazyFrame:
    """A LazyFrame over a classic pcap file (the header is checked now, the records when collected)."""
    path = os.fspath(path)
    read_header(path)
    return scan_batches(lambda: iter_pcap_batches(path, opts, stats), output_schema(opts), "pcap", path, stats)
