"""Test helpers: captures of simulated ZMap 4.1 scans (random IP-ID, TTL 64, window 65535, its TCP
options), written with the byte-level pcap writer of ``pcapbuild.py``."""

from __future__ import annotations

import numpy as np

from pcapbuild import Rec, ether, ipv4, tcp

ZMAP41_OPTIONS = bytes([2, 4, 0x05, 0xB4, 1, 3, 3, 8, 1, 1, 4, 2])  # MSS 1460, NOP, WS 8, NOP, NOP, SACK-permitted
T0 = 1_700_000_000.0


def zmap41_records(src: int, ts: np.ndarray, dst: np.ndarray, port: int, seed: int) -> list[Rec]:
    """One SYN per (time, destination) from *src* to *port*, with ZMap 4.1's header fields."""
    rng = np.random.default_rng(seed)
    ip_ids = rng.integers(0, 65536, len(dst))
    ip_ids[ip_ids == 54321] = 54320  # the old tag would make these the IP-ID rule's
    out = []
    for t, d, ipid in zip(ts, dst, ip_ids):
        seg = tcp(sport=int(rng.integers(32768, 61000)), dport=port, seq=int(rng.integers(0, 2**32)), flags=0x02,
                  window=65535, options=ZMAP41_OPTIONS)
        out.append(Rec(ether(ipv4(src, int(d), 6, seg, ip_id=int(ipid), ttl=64)), ts=T0 + float(t)))
    return out
