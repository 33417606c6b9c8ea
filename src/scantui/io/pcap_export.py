"""Packets written to a classic pcap file that Wireshark, tshark, scapy and scantui read.

:func:`write_pcap` takes packet rows (a LazyFrame, streamed a slice at a time):
rows with a record reference (``ref_file``/``ref_off``, :mod:`scantui.io.packet_refs`)
get their original bytes, read in file order (each capture opened once, a
compressed one decompressed once); rows without one get a frame synthesized from
their fields (:func:`scantui.io.packet_frames.synthesize_frame`, raw IPv4). A pcap
file has one link type: when every packet has the same one it is kept; otherwise
each packet is cut to its IP datagram and written as raw IP (LINKTYPE_RAW), and
the note says so. The file appears complete or not at all.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from scantui.errors import InputError
from scantui.fsutil import atomic_path
from scantui.io import frames
from scantui.io.packet_frames import LINKTYPE_RAW, pcap_records, synthesize_frame
from scantui.io.packet_refs import CaptureFile, RecordReader

#: Rows taken from the frame at a time (bounds memory for large exports).
EXPORT_BATCH = 200_000
SNAPLEN = 262144


@dataclass(frozen=True)
class PcapExport:
    packets: int
    original: int
    synthesized: int
    note: str = ""


def ip_datagram(data: bytes, linktype: int) -> bytes | None:
    """The IP datagram inside a frame of *linktype* (None when it holds none the decoder knows)."""
    if not data:
        return None
    views = frames.ByteViews(data + b"\x00" * 64)  # the decoder reads whole words past the end
    l3, kind, _ = frames.link_layer(views, np.array([0], np.int64), np.array([len(data)], np.int64), linktype)
    if int(kind[0]) not in (frames.KIND_IPV4, frames.KIND_IPV6):
        return None
    return data[int(l3[0]):]


def _header(linktype: int) -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype)


_HEADER = struct.Struct("<IIII")


def _batch_frames(batch: pl.DataFrame, files: list[CaptureFile],
                  reader: RecordReader) -> tuple[list[tuple[bytes, int]], int]:
    """Each row's (bytes, link type), original when referenced (read in file order); how many were original."""
    ref_file, ref_off = batch["ref_file"].to_list(), batch["ref_off"].to_list()
    refs = [(i, (f, o)) for i, (f, o) in enumerate(zip(ref_file, ref_off))
            if f is not None and o is not None and f < len(files)]
    out: list[tuple[bytes, int] | None] = [None] * batch.height
    for pos, rec in reader.read([ref for _, ref in refs]):
        out[refs[pos][0]] = (rec.data, rec.linktype)
    missing = [i for i, got in enumerate(out) if got is None]
    if missing:
        rows = batch[missing].to_dicts()
        for i, row in zip(missing, rows):
            out[i] = (synthesize_frame(row), LINKTYPE_RAW)
    return out, batch.height - len(missing)  # type: ignore[return-value]


def write_pcap(lf: pl.LazyFrame | pl.DataFrame, path: Path | str, files: list[CaptureFile] | None = None) -> PcapExport:
    """Write *lf*'s packets (in its order) to *path* as pcap; see the module doc."""
    path = Path(path)
    files = list(files or [])
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist", path=path)
    lf = lf.lazy()
    linktypes = _linktypes(lf, files)
    notes = []
    if len(linktypes) <= 1:
        linktype, convert = next(iter(linktypes), LINKTYPE_RAW), False
    else:
        linktype, convert = LINKTYPE_RAW, True
        notes.append(f"inputs mix link types {sorted(linktypes)}: every packet written as raw IP (LINKTYPE_RAW)")
    total = original = dropped = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as out, RecordReader(files) as reader:
        out.write(_header(linktype))
        for batch in lf.collect_batches(chunk_size=EXPORT_BATCH):  # streamed: memory follows the batch
            if "ref_file" not in batch.columns or batch["ref_file"].null_count() == batch.height:
                out.write(pcap_records(batch))  # none has original bytes: synthesized, vectorized
                total += batch.height
                continue
            got, n_orig = _batch_frames(batch, files, reader)
            original += n_orig
            total += batch.height
            stamps = batch["ts"].dt.epoch("us").to_list()
            parts = []
            for us, (data, lt) in zip(stamps, got):
                if convert and lt != LINKTYPE_RAW:
                    ip = ip_datagram(data, lt)
                    if ip is None:
                        dropped += 1
                        continue
                    data = ip
                sec, frac = divmod(us or 0, 1_000_000)
                parts.append(_HEADER.pack(sec & 0xFFFFFFFF, frac, len(data), len(data)))
                parts.append(data)
            out.write(b"".join(parts))
    synthesized = total - original
    if synthesized:
        notes.append(f"{synthesized:,} packet(s) synthesized from their fields (the input was not a capture)")
    if dropped:
        notes.append(f"{dropped:,} packet(s) without an IP datagram left out")
    return PcapExport(total - dropped, original, synthesized, "; ".join(notes))


def _linktypes(lf: pl.LazyFrame, files: list[CaptureFile]) -> set[int]:
    """The link types the packets will have: their files', raw IP for the rest. A pcapng file whose
    interfaces differ in link type has its selected records read once more to learn which ones occur."""
    if "ref_file" not in lf.collect_schema().names() or not files:
        return {LINKTYPE_RAW} if lf.select(pl.len()).collect().item() else set()
    used = lf.select(pl.col("ref_file").unique()).collect()["ref_file"].to_list()
    out: set[int] = set()
    for index in used:
        if index is None or int(index) >= len(files):
            out.add(LINKTYPE_RAW)
        elif len(set(files[int(index)].linktypes)) > 1:
            offs = lf.filter(pl.col("ref_file") == index).select("ref_off").collect()["ref_off"].to_list()
            with RecordReader(files) as reader:
                out.update(rec.linktype for _, rec in reader.read((int(index), int(o)) for o in offs))
        else:
            out.update(files[int(index)].linktypes or (1,))
    return out
