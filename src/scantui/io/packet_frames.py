"""A packet's bytes: synthesized from the canonical fields (an IPv4 datagram), for inputs without captures.

:func:`synthesize_frame` builds an IPv4 header (checksum right) and a TCP
header (MSS option when known, checksum right over the pseudo-header), a UDP
header or an ICMP echo header, padded with zero bytes to ``ip_len`` when the
row says the datagram was longer. The result is raw IP (pcap LINKTYPE_RAW, 101):
what a Parquet/CSV/LOG row knows, nothing invented beyond zero padding.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

#: pcap link type of a synthesized frame (raw IPv4, no link header).
LINKTYPE_RAW = 101


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of *data*."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _get(row: Mapping[str, Any], name: str, default: int = 0) -> int:
    value = row.get(name)
    return default if value is None else int(value)


def _transport(row: Mapping[str, Any], proto: int, src: int, dst: int) -> bytes:
    if proto == 6:
        options = b""
        mss = row.get("tcp_mss")
        if mss is not None:
            options = struct.pack("!BBH", 2, 4, int(mss))
        offset = (20 + len(options)) // 4
        header = struct.pack("!HHIIBBHHH", _get(row, "sport"), _get(row, "dport"), _get(row, "tcp_seq"),
                             _get(row, "tcp_ack"), offset << 4, _get(row, "tcp_flags"), _get(row, "tcp_window"), 0, 0)
        return header + options
    if proto == 17:
        return struct.pack("!HHHH", _get(row, "sport"), _get(row, "dport"), 8, 0)
    if proto == 1:
        return struct.pack("!BBHHH", 8, 0, 0, 0, 0)  # an echo request
    return b""


def _fill_checksums(proto: int, src: int, dst: int, segment: bytearray) -> None:
    if proto == 1 and len(segment) >= 8:
        struct.pack_into("!H", segment, 2, 0)
        struct.pack_into("!H", segment, 2, checksum(bytes(segment)))
        return
    at = {6: 16, 17: 6}.get(proto)
    if at is None or len(segment) < at + 2:
        return
    if proto == 17:
        struct.pack_into("!H", segment, 4, len(segment))
    pseudo = struct.pack("!IIBBH", src, dst, 0, proto, len(segment))
    struct.pack_into("!H", segment, at, 0)
    value = checksum(pseudo + bytes(segment))
    if proto == 17 and value == 0:
        value = 0xFFFF
    struct.pack_into("!H", segment, at, value)


def synthesize_frame(row: Mapping[str, Any]) -> bytes:
    """An IPv4 datagram (raw IP) with the row's fields: IP header, then TCP/UDP/ICMP, checksums right.

    ``ip_len`` sets the total length when it is at least the headers' (zero padding
    stands for the payload that was not kept); otherwise the headers' length is used.
    """
    src, dst = _get(row, "src"), _get(row, "dst")
    proto = _get(row, "proto", 6)
    segment = bytearray(_transport(row, proto, src, dst))
    total = 20 + len(segment)
    ip_len = row.get("ip_len")
    if ip_len is not None and int(ip_len) > total:
        segment.extend(b"\x00" * (int(ip_len) - total))
        total = int(ip_len)
    _fill_checksums(proto, src, dst, segment)
    header = bytearray(struct.pack("!BBHHHBBHII", 0x45, 0, total, _get(row, "ip_id"), 0, _get(row, "ttl", 64),
                                   proto, 0, src, dst))
    struct.pack_into("!H", header, 10, checksum(bytes(header)))
    return bytes(header) + bytes(segment)
