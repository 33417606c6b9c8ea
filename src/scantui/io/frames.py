"""Vectorized decoding of captured frames into the canonical packet table.

The capture readers (:mod:`scantui.io.pcap`, :mod:`scantui.io.pcapng`) find
where each packet's bytes are; this module turns those bytes into columns.
Input: byte views of a piece of the file (a buffer), and per packet the data
offset, the captured length, the link type and the timestamp. Each packet's
link, IP and TCP headers come from one numpy gather of 48 bytes (see
:class:`ByteViews`), over blocks of packets small enough to stay in the CPU
cache; there is no per-packet Python code. Output: a polars DataFrame with exactly
:func:`scantui.io.schema.canonical_schema` plus the counts of packets that
were skipped and why (``ipv6``, ``non_ip``, ``short_capture``,
``unsupported_linktype``, ``bad_ip_header``).

Field rules: a field is kept when all of its bytes were captured and lie
inside the IP datagram (``ip_len``; bytes after it are link padding), else it
is null. Ports are read for TCP, UDP, SCTP and UDP-Lite first fragments only.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl

from scantui.io.schema import CANONICAL, canonical_schema

# Link types (LINKTYPE_* values as written in pcap/pcapng headers).
LINK_NULL = 0
LINK_ETHERNET = 1
LINK_RAW = (12, 14, 101)  # DLT_RAW as written on various BSDs, and LINKTYPE_RAW
LINK_LOOP = 108
LINK_SLL = 113
LINK_IPV4 = 228
LINK_IPV6 = 229
LINK_SLL2 = 276
SUPPORTED_LINKTYPES = frozenset({LINK_NULL, LINK_ETHERNET, *LINK_RAW, LINK_LOOP, LINK_SLL, LINK_IPV4, LINK_IPV6, LINK_SLL2})

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
MAX_VLAN_TAGS = 3
# Address families in DLT_NULL / DLT_LOOP headers: AF_INET is 2 everywhere,
# AF_INET6 differs per OS (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30).
AF_INET = 2
AF_INET6 = (10, 24, 28, 30)

# What the link layer says the packet is.
KIND_IPV4, KIND_IPV6, KIND_NON_IP, KIND_SHORT, KIND_UNSUPPORTED = 0, 1, 2, 3, 4
KIND_REASON = {KIND_IPV6: "ipv6", KIND_NON_IP: "non_ip", KIND_SHORT: "short_capture", KIND_UNSUPPORTED: "unsupported_linktype"}

PORT_PROTOS = (6, 17, 132, 136)  # TCP, UDP, SCTP, UDP-Lite
MAX_TCP_OPTION_BYTES = 40


class ByteViews:
    """Reads of header bytes at arbitrary offsets of a byte buffer (a piece of a file).

    ``words(pos, n)`` returns, for every position, the ``8 * n`` bytes that
    start there as ``n`` arrays of little-endian uint64 words (word j holds
    bytes ``pos + 8j`` .. ``pos + 8j + 7``). All of them come from one numpy
    gather through an overlapping view whose element i is the ``8 * n`` bytes
    at offset i: one memory copy per packet, no per-byte work. Reads past the
    end of the buffer give zeros (through a zero-padded copy of its last
    bytes); callers mask what was not captured anyway.
    """

    TAIL = 512

    def __init__(self, buffer) -> None:
        self.u8 = np.frombuffer(buffer, dtype=np.uint8)
        self.size = n = len(self.u8)
        self.buffer = buffer
        self.tail_base = max(0, n - self.TAIL)
        self.tail = np.zeros(n - self.tail_base + self.TAIL, np.uint8)
        self.tail[: n - self.tail_base] = self.u8[self.tail_base :]
        self._views: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _overlapping(self, nwords: int) -> tuple[np.ndarray, np.ndarray]:
        """Views of the buffer and of the tail copy whose element i is the 8 * nwords bytes at offset i."""
        if nwords not in self._views:
            width = 8 * nwords
            dtype = np.dtype((np.void, width))
            self._views[nwords] = tuple(
                np.ndarray((max(len(b) - width + 1, 0),), dtype=dtype, buffer=b, offset=0, strides=(1,))
                for b in (self.buffer if self.size else b"", self.tail)
            )
        return self._views[nwords]

    def words(self, pos: np.ndarray, nwords: int) -> list[np.ndarray]:
        main, tail = self._overlapping(nwords)
        if len(pos) and pos.max() + 8 * nwords > self.size:
            near = pos + 8 * nwords > self.size  # so pos > size - 64 >= tail_base
            rows = np.empty(len(pos), main.dtype)
            rows[~near] = main[pos[~near]]
            rows[near] = tail[np.minimum(pos[near] - self.tail_base, len(tail) - 1)]
        else:
            rows = main[pos]
        table = rows.view("<u8").reshape(len(pos), nwords)
        return list(table.T.copy())  # one contiguous array per word: later operations run at full speed

    def byte(self, pos: np.ndarray) -> np.ndarray:
        return np.take(self.u8, pos, mode="clip") if self.size else np.zeros(len(pos), np.uint8)

    def be16(self, pos: np.ndarray) -> np.ndarray:
        return be16(self.words(pos, 1)[0])


def u8_at(word: np.ndarray, byte: int) -> np.ndarray:
    """Byte ``byte`` (0-7) of each little-endian word."""
    return (word >> np.uint64(8 * byte)).astype(np.uint8)


def be16(word: np.ndarray, byte: int = 0) -> np.ndarray:
    """Big-endian 16-bit value at bytes ``byte``, ``byte + 1`` of each word."""
    v = (word >> np.uint64(8 * byte)).astype(np.uint16)
    return v.byteswap(inplace=True)


def be32(word: np.ndarray, byte: int = 0) -> np.ndarray:
    """Big-endian 32-bit value at bytes ``byte`` .. ``byte + 3`` of each word (``byte`` 0-4)."""
    v = (word >> np.uint64(8 * byte)).astype(np.uint32)
    return v.byteswap(inplace=True)


#: Words read per packet at two bytes before the IP header: the EtherType (2 bytes),
#: IPv4 (20), TCP (20) and the first 6 TCP option bytes.
BLOCK_WORDS = 6
IP_AT = 2  # the IP header's byte offset inside a block
TCP_AT = IP_AT + 20  # the TCP header's, when the IP header has no options


def link_layer(views: ByteViews, off: np.ndarray, caplen: np.ndarray, linktype: int):
    """Per packet: offset of the network header from the data start, its KIND_*, and the
    block of words at ``off + l3 - IP_AT`` when reading the link header produced it (else None)."""
    n = len(off)
    if linktype == LINK_ETHERNET:
        return _ethertype_link(views, off, caplen, 12, 14)
    if linktype == LINK_SLL:
        return _ethertype_link(views, off, caplen, 14, 16)
    if linktype == LINK_SLL2:
        return _ethertype_link(views, off, caplen, 0, 20)
    if linktype in LINK_RAW:
        return (*_version_link(views, off, caplen), None)
    if linktype == LINK_IPV4:
        kind = np.where(caplen >= 1, KIND_IPV4, KIND_SHORT).astype(np.int8)
        return np.zeros(n, np.int64), kind, None
    if linktype == LINK_IPV6:
        return np.zeros(n, np.int64), np.full(n, KIND_IPV6, np.int8), None
    if linktype in (LINK_NULL, LINK_LOOP):
        return (*_family_link(views, off, caplen), None)
    return np.zeros(n, np.int64), np.full(n, KIND_UNSUPPORTED, np.int8), None


def _ethertype_link(views: ByteViews, off, caplen, type_at: int, header: int):
    """Ethernet-like headers: a 16-bit EtherType, possibly followed by stacked VLAN tags.

    When the EtherType sits right before the network header (Ethernet, SLL), the
    words read for it already cover the IP and TCP headers: one read per packet.
    """
    l3 = np.full(len(off), header, np.int64)
    if type_at == header - IP_AT:
        block = views.words(off + type_at, BLOCK_WORDS)
        etype = be16(block[0], 0)
    else:
        block = None
        etype = views.be16(off + type_at)
    for _ in range(MAX_VLAN_TAGS):
        tagged = np.flatnonzero((etype == VLAN_TPIDS[0]) | (etype == VLAN_TPIDS[1]) | (etype == VLAN_TPIDS[2]))
        if len(tagged) == 0:
            break
        l3[tagged] += 4
        if block is not None:
            for row, new in zip(block, views.words(off[tagged] + l3[tagged] - IP_AT, BLOCK_WORDS)):
                row[tagged] = new
            etype[tagged] = be16(block[0][tagged], 0)
        else:
            etype[tagged] = views.be16(off[tagged] + l3[tagged] - IP_AT)
    kind = np.where(etype == ETH_IPV4, np.int8(KIND_IPV4), np.int8(KIND_NON_IP))
    kind[etype == ETH_IPV6] = KIND_IPV6
    kind[caplen < l3] = KIND_SHORT
    return l3, kind, block


def _version_link(views: ByteViews, off, caplen):
    """Raw IP: the version nibble tells IPv4 from IPv6."""
    version = views.byte(off) >> 4
    kind = np.full(len(off), KIND_NON_IP, np.int8)
    kind[version == 4] = KIND_IPV4
    kind[version == 6] = KIND_IPV6
    kind[caplen < 1] = KIND_SHORT
    return np.zeros(len(off), np.int64), kind


def _family_link(views: ByteViews, off, caplen):
    """BSD null/loop: a 4-byte address family, host byte order (null) or big endian (loop).

    Families are small numbers, so the non-zero end byte is the family whatever the order.
    """
    family = views.byte(off) | views.byte(off + 3)
    kind = np.full(len(off), KIND_NON_IP, np.int8)
    kind[family == AF_INET] = KIND_IPV4
    kind[np.isin(family, AF_INET6)] = KIND_IPV6
    kind[caplen < 4] = KIND_SHORT
    return np.full(len(off), 4, np.int64), kind


#: Packets decoded per step: small enough that every pass over a step's headers hits the CPU cache.
SUB_BLOCK = 1 << 15


class FrameBuilder:
    """Collects decoded packets, a few thousand at a time, into one canonical DataFrame.

    Readers add each small window of packets right after finding it, while its
    bytes are still in the CPU cache, and take a frame when a chunk is full.
    """

    def __init__(self) -> None:
        self.parts: list[dict] = []
        self.records = 0  # packets added since the last frame (kept or skipped)
        self.skipped: Counter[str] = Counter()

    def add(self, views: ByteViews, off, caplen, linktype, ts_us, ts_valid=None, refs=None) -> None:
        """Decode packets: ``off``/``caplen`` int64 (data offset in the buffer, captured length),
        ``linktype`` a scalar or one per packet, ``ts_us`` int64 microseconds (``ts_valid`` False -> null);
        ``refs`` (optional, int64): each record's offset in the file, kept as ``ref_off``."""
        off = np.asarray(off, np.int64)
        caplen = np.asarray(caplen, np.int64)
        ts_us = np.asarray(ts_us, np.int64)
        scalar_link = np.ndim(linktype) == 0
        for start in range(0, len(off), SUB_BLOCK):
            sl = slice(start, start + SUB_BLOCK)
            lt = linktype if scalar_link else np.asarray(linktype)[sl]
            cols = _decode_block(views, off[sl], caplen[sl], lt, self.skipped)
            keep = cols.pop("_keep")
            cols["ts"] = (ts_us[sl][keep], None if ts_valid is None else ts_valid[sl][keep])
            if refs is not None:
                cols["ref_off"] = (np.asarray(refs, np.int64)[sl][keep], None)
            self.parts.append(cols)
        self.records += len(off)

    def frame(self) -> pl.DataFrame:
        """The packets added so far as one DataFrame; starts over."""
        df = _to_frame(self.parts)
        self.parts, self.records = [], 0
        return df


def decode(
    views: ByteViews,
    off: np.ndarray,
    caplen: np.ndarray,
    linktype: int | np.ndarray,
    ts_us: np.ndarray,
    ts_valid: np.ndarray | None = None,
) -> tuple[pl.DataFrame, Counter[str]]:
    """Decode packets into the canonical table; returns it and the skip counts (see FrameBuilder.add)."""
    builder = FrameBuilder()
    builder.add(views, off, caplen, linktype, ts_us, ts_valid)
    return builder.frame(), builder.skipped


def _decode_block(views: ByteViews, off, caplen, linktype, skipped: Counter[str]) -> dict:
    l3, kind, block = _link_layer_any(views, off, caplen, linktype)
    kind[(caplen - l3 < 20) & (kind == KIND_IPV4)] = KIND_SHORT
    keep = kind == KIND_IPV4
    if not keep.all():
        for code, count in enumerate(np.bincount(kind, minlength=len(KIND_REASON) + 1)):
            if code != KIND_IPV4 and count:
                skipped[KIND_REASON[code]] += int(count)
        off, caplen, l3 = off[keep], caplen[keep], l3[keep]
        block = None if block is None else [row[keep] for row in block]
    else:
        keep = None
    base = off + l3
    if block is None:
        block = views.words(np.maximum(base - IP_AT, 0), BLOCK_WORDS)

    first = u8_at(block[0], IP_AT)
    bad = ((first >> 4) != 4) | ((first & 0xF) < 5)
    if bad.any():
        skipped["bad_ip_header"] += int(bad.sum())
        good = ~bad
        keep = good if keep is None else _refine(keep, good)
        base, caplen, l3, first = base[good], caplen[good], l3[good], first[good]
        block = [row[good] for row in block]
    cols = _ip_and_transport(views, base, caplen - l3, block, first)
    cols["_keep"] = slice(None) if keep is None else keep
    return cols


def _refine(keep: np.ndarray, good: np.ndarray) -> np.ndarray:
    """The mask ``keep`` with its kept entries further filtered by ``good``."""
    out = keep.copy()
    out[keep] = good
    return out


def _link_layer_any(views: ByteViews, off, caplen, linktype):
    if np.ndim(linktype) == 0:
        return link_layer(views, off, caplen, int(linktype))
    l3 = np.zeros(len(off), np.int64)
    kind = np.zeros(len(off), np.int8)
    for lt in np.unique(linktype):
        sel = np.flatnonzero(linktype == lt)
        l3[sel], kind[sel], _ = link_layer(views, off[sel], caplen[sel], int(lt))
    return l3, kind, None


PORT_PROTO = np.zeros(256, bool)
PORT_PROTO[list(PORT_PROTOS)] = True


def _straddle(lo: np.ndarray, hi: np.ndarray, byte: int) -> np.ndarray:
    """The word that starts at byte ``byte`` (1-7) of ``lo`` and continues into ``hi``."""
    return (lo >> np.uint64(8 * byte)) | (hi << np.uint64(64 - 8 * byte))


def _ip_and_transport(views: ByteViews, base, ip_cap, block, first) -> dict:
    """IPv4 fields, then TCP/UDP fields where captured, from the words read at ``base - IP_AT``.

    Block byte layout: 0-1 EtherType, 2 version/IHL, 4-5 total length, 6-7 id,
    8-9 flags/fragment, 10 TTL, 11 protocol, 14-17 source, 18-21 destination,
    then (IHL 5) the TCP header at 22: ports 22-25, seq 26-29, ack 30-33,
    offset 34, flags 35, window 36-37, options from 42.
    """
    ihl4 = (first & 0xF).astype(np.int64) * 4
    ip_len = be16(block[0], 4)
    frag = be16(block[1], 0) & 0x1FFF
    proto = u8_at(block[1], 3)
    # Bytes after the IP total length are link padding; a total length shorter than
    # the header (TSO captures write 0) says nothing, so then the capture decides.
    ip_len64 = ip_len.astype(np.int64)
    datagram = np.where(ip_len64 >= ihl4, np.minimum(ip_cap, ip_len64), ip_cap)
    avail = datagram - ihl4  # transport bytes captured (negative: IP options cut)
    first_frag = frag == 0
    l4 = base + ihl4

    t = block
    with_options = np.flatnonzero(ihl4 != 20)
    if len(with_options):  # IP options move the TCP header: read it where it is, for those packets
        t = [row.copy() for row in block]
        for row, new in zip(t, views.words(l4[with_options] - TCP_AT, BLOCK_WORDS)):
            row[with_options] = new

    has_ports = first_frag & PORT_PROTO[proto] & (avail >= 4)
    tcp = first_frag & (proto == 6)
    if (tcp & (avail < 16)).any():
        tcp_seq, tcp_ack, tcp_flags, tcp_all = tcp & (avail >= 8), tcp & (avail >= 12), tcp & (avail >= 14), tcp & (avail >= 16)
    else:  # every TCP header complete: one mask for all four fields
        tcp_seq = tcp_ack = tcp_flags = tcp_all = tcp
    doff4 = (u8_at(t[4], 2) >> 4).astype(np.int64) * 4
    return {
        "src": (be32(_straddle(block[1], block[2], 6)), None),
        "dst": (be32(block[2], 2), None),
        "proto": (proto, None),
        "sport": (be16(t[2], 6), has_ports),
        "dport": (be16(t[3], 0), has_ports),
        "ip_id": (be16(block[0], 6), None),
        "ttl": (u8_at(block[1], 2), None),
        "ip_len": (ip_len, None),
        "tcp_flags": (u8_at(t[4], 3), tcp_flags),
        "tcp_seq": (be32(t[3], 2), tcp_seq),
        "tcp_ack": (be32(_straddle(t[3], t[4], 6)), tcp_ack),
        "tcp_window": (be16(t[4], 4), tcp_all),
        "tcp_mss": _tcp_mss(views, l4, avail, tcp, doff4, t[5] >> np.uint64(16)),
    }


def _tcp_mss(views: ByteViews, l4, avail, tcp, doff4, first_options):
    """The MSS option's value, walking all packets' option lists in lockstep.

    Most SYNs carry MSS as their first option; ``first_options`` (the word
    holding the first option bytes, already read) settles those without
    another read. For the rest, each round reads the option at every
    still-active packet's cursor: kind 0 ends the list, kind 1 (NOP) is one
    byte, any other kind carries a length byte. A packet leaves the active set
    at the end of the list, at a malformed length, at the first MSS (kind 2,
    length 4) or when its options run past the TCP header or the captured
    bytes. At most 40 rounds (each advances at least one byte).
    """
    opt_len = np.minimum(doff4, avail) - 20  # option bytes inside the header and captured
    has_opts = tcp & (doff4 > 20) & (opt_len > 0)
    kind0 = u8_at(first_options, 0)
    mss = be16(first_options, 2)
    found = has_opts & (kind0 == 2) & (u8_at(first_options, 1) == 4) & (opt_len >= 4)
    rows = np.flatnonzero(has_opts & ~found)
    pos = l4[rows] + 20
    end = pos + opt_len[rows]
    for _ in range(MAX_TCP_OPTION_BYTES):
        live = pos < end
        if not live.all():
            rows, pos, end = rows[live], pos[live], end[live]
        if len(rows) == 0:
            break
        kind = views.byte(pos)
        length = views.byte(pos + 1).astype(np.int64)
        has_length = pos + 1 < end
        is_mss = (kind == 2) & has_length & (length == 4) & (pos + 4 <= end)
        if is_mss.any():
            hit = rows[is_mss]
            mss[hit] = views.be16(pos[is_mss] + 2)
            found[hit] = True
        nop = kind == 1
        go_on = ~is_mss & (nop | ((kind != 0) & has_length & (length >= 2)))
        pos = pos + np.where(nop, 1, length)
        rows, pos, end = rows[go_on], pos[go_on], end[go_on]
    return mss, found


def _to_frame(parts: list[dict]) -> pl.DataFrame:
    """Per-block arrays + validity masks -> the canonical DataFrame (nulls where a mask is False)."""
    series = []
    missing_by_mask: dict[tuple[int, ...], pl.Series | None] = {}
    for name, dtype in CANONICAL.items():
        values = _concat([p[name][0] for p in parts], np.int64 if name == "ts" else None)
        if name == "ts":
            s = pl.Series(name, values, dtype=pl.Int64).cast(dtype)
        else:
            s = pl.Series(name, values, dtype=dtype)
        masks = [p[name][1] for p in parts]
        if any(m is not None for m in masks):
            key = tuple(id(m) for m in masks)  # fields that share their masks share this work
            if key not in missing_by_mask:
                valid = np.concatenate([np.ones(len(p[name][0]), bool) if m is None else m for p, m in zip(parts, masks)])
                missing_by_mask[key] = None if valid.all() else pl.Series(~valid)
            missing = missing_by_mask[key]
            if missing is not None:
                s = s.set(missing, None)
        series.append(s)
    if parts and all("ref_off" in p for p in parts):
        series.append(pl.Series("ref_off", _concat([p["ref_off"][0] for p in parts], np.int64)).cast(pl.UInt64))
        return pl.DataFrame(series)
    return pl.DataFrame(series, schema=canonical_schema())


def _concat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    if not arrays:
        return np.zeros(0, dtype or np.uint8)
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
