"""Vectorized packet synthesis per kind of actor (scan, noise, backscatter, ...).

Each function returns a :class:`~scantui.sample.fingerprints.Packets` batch built
with numpy only; the scenario decides who sends what, when, to where. Times are
integer microseconds since the Unix epoch.
"""

from __future__ import annotations

import ipaddress

import numpy as np

from .fingerprints import ACK, RST, SYN, Packets, nmap_os_probes, tcp_syn

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000

#: UDP probe services: port -> IP total length (20 IP + 8 UDP + payload).
UDP_SERVICES = {53: 57, 123: 76, 161: 71, 1900: 122, 5060: 456, 137: 78, 11211: 43, 389: 80, 19: 29}
#: Common TCP ports of background noise (weights roughly as telescopes see them).
NOISE_TCP_PORTS = {23: 18, 22: 12, 80: 10, 443: 6, 445: 9, 3389: 7, 8080: 6, 5555: 4, 21: 2, 25: 2,
                   1433: 2, 8443: 2, 2323: 1, 5900: 2, 135: 2, 139: 2, 110: 1, 37215: 1, 52869: 1, 60001: 1}
BACKSCATTER_PORTS = (80, 443, 22, 25, 53, 8080, 3074, 27015, 6667, 3478)


def ip(s: str) -> int:
    return int(ipaddress.IPv4Address(s))


def ip_str(v: int) -> str:
    return str(ipaddress.IPv4Address(int(v)))


def hops_of(src: np.ndarray) -> np.ndarray:
    """Path length per source, a fixed function of the address (6-23 hops)."""
    s = np.asarray(src, dtype=np.int64)
    return ((s * 2654435761) >> 11) % 18 + 6


def uniform_times(rng: np.random.Generator, n: int, t0: int, t1: int) -> np.ndarray:
    """n increasing send times in [t0, t1) at a steady rate with jitter (a rate-limited scanner)."""
    step = max(t1 - t0, 1) / max(n, 1)
    return (t0 + (np.arange(n) + rng.random(n)) * step).astype(np.int64)


def scan(style: str, src, dsts: np.ndarray, dports, t0: int, t1: int, rng: np.random.Generator,
         **kw) -> Packets:
    """One source (or per-packet sources) probing ``dsts`` x ``dports`` pairs in [t0, t1).

    ``dsts`` and ``dports`` are aligned (broadcast if one is scalar). The probe order is
    the order given (a scanner's permutation); times are uniform and increasing.
    """
    dsts = np.asarray(dsts, dtype=np.int64)
    n = max(len(np.atleast_1d(dsts)), len(np.atleast_1d(dports)))
    dsts = np.broadcast_to(dsts, (n,)).copy()
    dports = np.broadcast_to(np.asarray(dports, dtype=np.int64), (n,)).copy()
    srcs = np.broadcast_to(np.asarray(src, dtype=np.int64), (n,)).copy()
    ts = uniform_times(rng, n, t0, t1)
    if style == "masscan" and "sport" not in kw:
        kw["sport"] = int(rng.integers(40000, 60000))  # masscan keeps one source port per run
    return tcp_syn(style, ts, srcs, dsts, dports, hops_of(srcs), rng, **kw)


def grid(dsts: np.ndarray, ports: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """All (dst, port) pairs in a random order (a scanner's shuffled target list)."""
    d = np.repeat(np.asarray(dsts, dtype=np.int64), len(ports))
    p = np.tile(np.asarray(ports, dtype=np.int64), len(dsts))
    order = rng.permutation(len(d))
    return d[order], p[order]


def partition(rng: np.random.Generator, telescope: np.ndarray, counts: list[int]) -> list[np.ndarray]:
    """Split a random permutation of the telescope into disjoint chunks of the given sizes."""
    if sum(counts) > len(telescope):
        raise ValueError("partition larger than the telescope")
    perm = rng.permutation(telescope)
    bounds = np.cumsum([0, *counts])
    return [perm[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def even_counts(total: int, parts: int) -> list[int]:
    """total split in ``parts`` near-equal integers (the larger ones last)."""
    base, extra = divmod(total, parts)
    return [base] * (parts - extra) + [base + 1] * extra


def nmap_host_scan(src: int, dsts: np.ndarray, ports: np.ndarray, t0: int, t1: int,
                   rng: np.random.Generator, os_detect: bool = True) -> Packets:
    """Nmap ``-sS`` (one source port) over dsts x ports, then ``-O`` on each host."""
    d, p = grid(dsts, ports, rng)
    sport = int(rng.integers(33000, 65000))
    batches = [scan("nmap", src, d, p, t0, t1, rng, sport=sport)]
    if os_detect:
        hops = int(hops_of(np.array([src]))[0])
        for i, dst in enumerate(np.asarray(dsts, dtype=np.int64)):
            closed = int(rng.integers(30000, 60000))
            batches.append(nmap_os_probes(t1 + i * 2_000_000, src, int(dst), int(ports[0]), closed, hops, rng))
    return Packets.concat(batches)


def _blank(n: int) -> dict[str, np.ndarray]:
    return {c: np.full(n, -1, dtype=np.int64) for c in
            ("sport", "dport", "tcp_flags", "tcp_seq", "tcp_ack", "tcp_window", "tcp_mss")}


def udp_probes(ts: np.ndarray, src: np.ndarray, dst: np.ndarray, dport: np.ndarray,
               rng: np.random.Generator) -> Packets:
    n = len(ts)
    cols = _blank(n)
    lens = np.vectorize(UDP_SERVICES.get, otypes=[np.int64])(dport) if n else np.zeros(0, np.int64)
    init = rng.choice(np.array([64, 128, 255]), n, p=[0.7, 0.1, 0.2])
    cols.update(ts=ts, src=src, dst=dst, proto=np.full(n, 17, np.int64),
                sport=rng.integers(1024, 65536, n, dtype=np.int64), dport=dport.astype(np.int64),
                ip_id=rng.integers(0, 1 << 16, n, dtype=np.int64), ttl=init - hops_of(src), ip_len=lens)
    return Packets(cols, np.full(n, "", dtype=object))


def icmp_echo(ts: np.ndarray, src: np.ndarray, dst: np.ndarray, rng: np.random.Generator) -> Packets:
    """ICMP echo requests: Linux ping (84 bytes), Windows ping (60), ZMap icmp_echo (28)."""
    n = len(ts)
    cols = _blank(n)
    kind = rng.choice(3, n, p=[0.5, 0.2, 0.3])
    lens = np.array([84, 60, 28])[kind]
    init = np.array([64, 128, 255])[kind]
    cols.update(ts=ts, src=src, dst=dst, proto=np.full(n, 1, np.int64),
                ip_id=rng.integers(0, 1 << 16, n, dtype=np.int64), ttl=init - hops_of(src), ip_len=lens)
    return Packets(cols, np.full(n, "", dtype=object))


def backscatter_burst(victim: int, sport: int, n: int, t0: int, t1: int, telescope: np.ndarray,
                      rng: np.random.Generator, linux: bool) -> Packets:
    """Replies of one DDoS victim to spoofed sources that fall in the telescope."""
    ts = uniform_times(rng, n, t0, t1)
    kind = rng.choice(3, n, p=[0.6, 0.25, 0.15])  # SYN-ACK, RST-ACK, RST
    flags = np.array([SYN | ACK, RST | ACK, RST])[kind]
    synack = kind == 0
    cols = {
        "ts": ts, "src": np.full(n, victim, np.int64), "dst": rng.choice(telescope, n).astype(np.int64),
        "proto": np.full(n, 6, np.int64), "sport": np.full(n, sport, np.int64),
        "dport": rng.integers(1024, 65536, n, dtype=np.int64),
        # Linux answers SYN-ACKs with DF and IP-ID 0
        "ip_id": np.where(synack & linux, 0, rng.integers(0, 1 << 16, n, dtype=np.int64)),
        "ttl": np.full(n, 64 if linux else 128, np.int64) - hops_of(np.array([victim]))[0],
        "ip_len": np.where(synack, 44, 40), "tcp_flags": flags,
        "tcp_seq": np.where(kind == 2, 0, rng.integers(0, 1 << 32, n, dtype=np.int64)),
        "tcp_ack": np.where(kind == 2, 0, rng.integers(0, 1 << 32, n, dtype=np.int64)),
        "tcp_window": np.where(synack, 29200 if linux else 65535, 0),
        "tcp_mss": np.where(synack, 1460, -1),
    }
    return Packets(cols, np.full(n, "", dtype=object))


def random_public_ips(rng: np.random.Generator, n: int, reserved24: set[int]) -> np.ndarray:
    """n distinct public unicast IPv4 addresses outside special ranges and reserved /24s."""
    special = [ipaddress.ip_network(x) for x in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/3")]
    out = np.zeros(0, dtype=np.int64)
    res = np.array(sorted(reserved24), dtype=np.int64)
    while len(out) < n:
        cand = rng.integers(1 << 24, 224 << 24, 2 * n, dtype=np.int64)
        ok = ~np.isin(cand >> 8, res)
        for net in special:
            lo = int(net.network_address)
            ok &= ~((cand >= lo) & (cand < lo + net.num_addresses))
        out = np.concatenate([out, cand[ok]])
        _, first = np.unique(out, return_index=True)
        out = out[np.sort(first)]
    return out[:n]
