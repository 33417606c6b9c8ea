"""Vectorized writer of synthetic telescope captures (classic pcap and pcapng) for benchmarks.

One numpy pass per header field, so a million packets take about a second to
write. The mix resembles a telescope: mostly 54-74-byte SYN probes (with and
without options), some UDP probes, some larger frames up to 1514 bytes, a few
802.1Q-tagged frames, ARP and IPv6.
"""

from __future__ import annotations

import numpy as np

ETH = bytes.fromhex("001122334455" "66778899aabb")
SYN_OPTIONS = {
    0: b"",
    4: bytes.fromhex("020405b4"),
    12: bytes.fromhex("020405b4" "0103030a" "01010402"),
    20: bytes.fromhex("020405b4" "0402080a" "0000000000000000" "01030307"),
}
# kind -> share of packets
MIX = {"syn": 0.80, "udp": 0.10, "big": 0.06, "vlan": 0.02, "arp": 0.01, "ipv6": 0.01}


def _put(buf: np.ndarray, pos: np.ndarray, values: np.ndarray, nbytes: int, order: str = ">") -> None:
    """Write ``values`` as ``nbytes``-byte integers at byte positions ``pos``."""
    v = values.astype(np.uint64)
    for k in range(nbytes):
        shift = 8 * (nbytes - 1 - k) if order == ">" else 8 * k
        buf[pos + k] = (v >> np.uint64(shift)) & np.uint64(0xFF)


def _put_bytes(buf: np.ndarray, pos: np.ndarray, template: bytes) -> None:
    for k, b in enumerate(template):
        buf[pos + k] = b


def frames(n: int, seed: int = 0):
    """Per packet: frame length, and a function that writes the frames at given data offsets."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(MIX), size=n, p=list(MIX.values()))
    names = list(MIX)
    opt_len = rng.choice(list(SYN_OPTIONS), size=n, p=[0.45, 0.25, 0.1, 0.2])
    big_payload = rng.integers(100, 1461, size=n)
    udp_payload = rng.integers(0, 120, size=n)
    length = np.zeros(n, np.int64)
    is_ = {name: kinds == i for i, name in enumerate(names)}
    length[is_["syn"]] = 54 + opt_len[is_["syn"]]
    length[is_["vlan"]] = 58 + opt_len[is_["vlan"]]
    length[is_["big"]] = 54 + big_payload[is_["big"]]
    length[is_["udp"]] = 42 + udp_payload[is_["udp"]]
    length[is_["arp"]] = 42
    length[is_["ipv6"]] = 14 + 40 + 20

    def write(buf: np.ndarray, off: np.ndarray) -> None:
        _put_bytes(buf, off, ETH)
        tcp_like = is_["syn"] | is_["big"] | is_["vlan"]
        l3 = off + 14
        vl = np.flatnonzero(is_["vlan"])
        _put_bytes(buf, off[vl] + 12, bytes.fromhex("8100" "0064"))
        l3[vl] += 4
        ip_rows = np.flatnonzero(tcp_like | is_["udp"])
        et = l3[ip_rows] - 2
        _put(buf, et, np.full(len(ip_rows), 0x0800), 2)
        base = l3[ip_rows]
        ip_len = length[ip_rows] - (base - off[ip_rows])
        proto = np.where(is_["udp"][ip_rows], 17, 6)
        _put(buf, base, np.full(len(ip_rows), 0x4500), 2)
        _put(buf, base + 2, ip_len, 2)
        _put(buf, base + 4, rng.integers(0, 65536, len(ip_rows)), 2)
        buf[base + 8] = rng.choice([64, 128, 240, 255, 49], len(ip_rows)).astype(np.uint8)
        buf[base + 9] = proto.astype(np.uint8)
        _put(buf, base + 12, rng.integers(0, 1 << 32, len(ip_rows), dtype=np.uint64), 4)
        _put(buf, base + 16, (0xC6120000 + rng.integers(0, 65536, len(ip_rows))).astype(np.uint64), 4)
        l4 = base + 20
        _put(buf, l4, rng.integers(1024, 65536, len(ip_rows)), 2)
        _put(buf, l4 + 2, rng.choice([22, 23, 80, 443, 2323, 3389, 8080, 53, 123], len(ip_rows)), 2)
        tcp_rows = np.flatnonzero(proto == 6)
        t4 = l4[tcp_rows]
        rows = ip_rows[tcp_rows]
        olen = np.where(is_["big"][rows], 0, opt_len[rows])
        _put(buf, t4 + 4, rng.integers(0, 1 << 32, len(t4), dtype=np.uint64), 4)
        buf[t4 + 12] = ((20 + olen) // 4 * 16).astype(np.uint8)
        buf[t4 + 13] = np.where(is_["big"][rows], 0x18, 0x02).astype(np.uint8)
        _put(buf, t4 + 14, rng.choice([1024, 65535, 29200, 64240], len(t4)), 2)
        for size, opts in SYN_OPTIONS.items():
            if opts:
                _put_bytes(buf, t4[olen == size] + 20, opts)
        udp_rows = np.flatnonzero(proto == 17)
        _put(buf, l4[udp_rows] + 4, ip_len[udp_rows] - 20, 2)
        arp = np.flatnonzero(is_["arp"])
        _put(buf, off[arp] + 12, np.full(len(arp), 0x0806), 2)
        v6 = np.flatnonzero(is_["ipv6"])
        _put(buf, off[v6] + 12, np.full(len(v6), 0x86DD), 2)
        buf[off[v6] + 14] = 0x60

    return length, write


def timestamps(n: int, t0: int = 1_700_000_000, rate: float = 20_000.0, seed: int = 0) -> np.ndarray:
    """Increasing microsecond timestamps at about ``rate`` packets per second."""
    gaps = np.random.default_rng(seed + 1).exponential(1e6 / rate, n).astype(np.int64)
    return t0 * 1_000_000 + np.cumsum(gaps)


def write_pcap(path: str, n: int, seed: int = 0) -> int:
    """Writes an n-packet little-endian microsecond Ethernet pcap; returns its size."""
    length, write = frames(n, seed)
    hdr = np.cumsum(np.concatenate([[24], 16 + length[:-1]]))
    size = int(hdr[-1] + 16 + length[-1])
    buf = np.zeros(size, np.uint8)
    buf[:24] = np.frombuffer(bytes.fromhex("d4c3b2a1" "0200" "0400" "00000000" "00000000" "ffff0000" "01000000"), np.uint8)
    ts = timestamps(n, seed=seed)
    _put(buf, hdr, ts // 1_000_000, 4, "<")
    _put(buf, hdr + 4, ts % 1_000_000, 4, "<")
    _put(buf, hdr + 8, length, 4, "<")
    _put(buf, hdr + 12, length, 4, "<")
    write(buf, hdr + 16)
    buf.tofile(path)
    return size


def write_pcapng(path: str, n: int, seed: int = 0) -> int:
    """The same packets as :func:`write_pcap`, as a little-endian pcapng of EPBs."""
    length, write = frames(n, seed)
    shb = bytes.fromhex("0a0d0d0a" "1c000000" "4d3c2b1a" "0100" "0000" "ffffffffffffffff" "1c000000")
    idb = bytes.fromhex("01000000" "14000000" "0100" "0000" "00000400" "14000000")
    block = 32 + (length + 3) // 4 * 4
    start = len(shb) + len(idb)
    pos = np.cumsum(np.concatenate([[start], block[:-1]]))
    size = int(pos[-1] + block[-1])
    buf = np.zeros(size, np.uint8)
    buf[:start] = np.frombuffer(shb + idb, np.uint8)
    ts = timestamps(n, seed=seed).astype(np.uint64)
    _put(buf, pos, np.full(n, 6), 4, "<")
    _put(buf, pos + 4, block, 4, "<")
    _put(buf, pos + 12, ts >> np.uint64(32), 4, "<")
    _put(buf, pos + 16, ts & np.uint64(0xFFFFFFFF), 4, "<")
    _put(buf, pos + 20, length, 4, "<")
    _put(buf, pos + 24, length, 4, "<")
    _put(buf, pos + block - 4, block, 4, "<")
    write(buf, pos + 28)
    buf.tofile(path)
    return size
