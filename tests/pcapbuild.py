"""Test helpers: write classic pcap and pcapng files byte by byte with ``struct``.

Written independently of the readers under test, so a shared misunderstanding
of the formats would have to be made twice. Packets are raw frame bytes (built
with scapy in the tests, or by hand here).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

# -- frames -------------------------------------------------------------------------


def ipv4(src: int = 0x0A000001, dst: int = 0xC0000201, proto: int = 6, payload: bytes = b"", *, ip_id: int = 1,
         ttl: int = 64, ihl: int = 5, frag: int = 0, total_len: int | None = None, options: bytes = b"") -> bytes:
    """An IPv4 header (checksum left 0) followed by ``payload``."""
    hdr_len = ihl * 4
    options = options.ljust(hdr_len - 20, b"\x00")
    length = hdr_len + len(payload) if total_len is None else total_len
    return struct.pack(">BBHHHBBHII", 0x40 | ihl, 0, length, ip_id, frag, ttl, proto, 0, src, dst) + options + payload


def tcp(sport: int = 1234, dport: int = 80, seq: int = 7, ack: int = 0, flags: int = 2, window: int = 1024,
        options: bytes = b"", payload: bytes = b"") -> bytes:
    options = options + b"\x00" * (-len(options) % 4)
    doff = (20 + len(options)) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, window, 0, 0) + options + payload


def udp(sport: int = 5353, dport: int = 53, payload: bytes = b"") -> bytes:
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def ether(payload: bytes, ethertype: int = 0x0800, vlans: tuple[tuple[int, int], ...] = ()) -> bytes:
    """Ethernet II; ``vlans`` is a list of (TPID, VLAN id) tags, outermost first."""
    head = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb"
    for tpid, vid in vlans:
        head += struct.pack(">HH", tpid, vid)
    return head + struct.pack(">H", ethertype) + payload


def sll(payload: bytes, proto: int = 0x0800) -> bytes:
    return struct.pack(">HHH8sH", 0, 1, 6, b"\x00\x11\x22\x33\x44\x55\x00\x00", proto) + payload


def sll2(payload: bytes, proto: int = 0x0800) -> bytes:
    return struct.pack(">HHIHBB8s", proto, 0, 2, 1, 0, 6, b"\x00\x11\x22\x33\x44\x55\x00\x00") + payload


def null(payload: bytes, family: int = 2, order: str = "<") -> bytes:
    return struct.pack(order + "I", family) + payload


def ipv6_packet() -> bytes:
    return bytes([0x60, 0, 0, 0, 0, 8, 17, 64]) + bytes(32) + udp()


def arp_frame() -> bytes:
    return ether(bytes(28), ethertype=0x0806)


# -- classic pcap ---------------------------------------------------------------------


@dataclass
class Rec:
    data: bytes
    ts: float | tuple[int, int] = 1_700_000_000.0  # seconds, or (sec, fraction in file units)
    origlen: int | None = None
    caplen: int | None = None  # write this caplen field (lie) instead of len(data)


def pcap_bytes(records: list[Rec], linktype: int = 1, *, order: str = "<", nanos: bool = False, snaplen: int = 65535) -> bytes:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    scale = 1_000_000_000 if nanos else 1_000_000
    for r in records:
        if isinstance(r.ts, tuple):
            sec, frac = r.ts
        else:
            units = round(r.ts * scale)
            sec, frac = divmod(units, scale)
        caplen = len(r.data) if r.caplen is None else r.caplen
        origlen = len(r.data) if r.origlen is None else r.origlen
        out.append(struct.pack(order + "IIII", sec, frac, caplen, origlen) + r.data)
    return b"".join(out)


def write_pcap(path: Path, records: list[Rec], linktype: int = 1, **kw) -> Path:
    path.write_bytes(pcap_bytes(records, linktype, **kw))
    return path


# -- pcapng ---------------------------------------------------------------------------


def _pad4(b: bytes) -> bytes:
    return b + b"\x00" * (-len(b) % 4)


def option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + _pad4(value)


def end_of_options(order: str = "<") -> bytes:
    return struct.pack(order + "HH", 0, 0)


def block(btype: int, body: bytes, order: str = "<") -> bytes:
    body = _pad4(body)
    length = 12 + len(body)
    return struct.pack(order + "II", btype, length) + body + struct.pack(order + "I", length)


@dataclass
class NgWriter:
    """Builds a pcapng byte string block by block (a section per ``shb()``)."""

    order: str = "<"
    parts: list[bytes] = field(default_factory=list)

    def shb(self, order: str | None = None, options: bytes = b"", version: tuple[int, int] = (1, 0)) -> NgWriter:
        if order is not None:
            self.order = order
        body = struct.pack(self.order + "IHHq", 0x1A2B3C4D, *version, -1) + options
        self.parts.append(block(0x0A0D0D0A, body, self.order))
        return self

    def idb(self, linktype: int = 1, snaplen: int = 0, tsresol: int | None = None, tsoffset: int | None = None,
            extra_options: bytes = b"") -> NgWriter:
        opts = extra_options
        if tsresol is not None:
            opts += option(9, bytes([tsresol]), self.order)
        if tsoffset is not None:
            opts += option(14, struct.pack(self.order + "q", tsoffset), self.order)
        if opts:
            opts += end_of_options(self.order)
        self.parts.append(block(1, struct.pack(self.order + "HHI", linktype, 0, snaplen) + opts, self.order))
        return self

    def epb(self, data: bytes, ts_units: int, iface: int = 0, origlen: int | None = None, options: bytes = b"") -> NgWriter:
        origlen = len(data) if origlen is None else origlen
        body = struct.pack(self.order + "IIIII", iface, ts_units >> 32, ts_units & 0xFFFFFFFF, len(data), origlen)
        self.parts.append(block(6, body + _pad4(data) + options, self.order))
        return self

    def spb(self, data: bytes, origlen: int | None = None) -> NgWriter:
        origlen = len(data) if origlen is None else origlen
        self.parts.append(block(3, struct.pack(self.order + "I", origlen) + data, self.order))
        return self

    def pb(self, data: bytes, ts_units: int, iface: int = 0) -> NgWriter:
        body = struct.pack(self.order + "HHIIII", iface, 0, ts_units >> 32, ts_units & 0xFFFFFFFF, len(data), len(data))
        self.parts.append(block(2, body + data, self.order))
        return self

    def nrb(self) -> NgWriter:
        rec = struct.pack(self.order + "HH", 1, 4 + 12) + b"\x0a\x00\x00\x01" + b"example.org\x00"
        self.parts.append(block(4, _pad4(rec) + struct.pack(self.order + "HH", 0, 0), self.order))
        return self

    def isb(self, iface: int = 0) -> NgWriter:
        body = struct.pack(self.order + "III", iface, 0, 0) + option(4, struct.pack(self.order + "Q", 5), self.order) + end_of_options(self.order)
        self.parts.append(block(5, body, self.order))
        return self

    def dsb(self) -> NgWriter:
        secret = b"CLIENT_RANDOM 00 11\n"
        self.parts.append(block(0x0000000A, struct.pack(self.order + "II", 0x544C534B, len(secret)) + secret, self.order))
        return self

    def custom(self, btype: int = 0x00000BAD) -> NgWriter:
        self.parts.append(block(btype, struct.pack(self.order + "I", 32473) + b"private data", self.order))
        return self

    def raw(self, data: bytes) -> NgWriter:
        self.parts.append(data)
        return self

    def bytes(self) -> bytes:
        return b"".join(self.parts)

    def write(self, path: Path) -> Path:
        path.write_bytes(self.bytes())
        return path
