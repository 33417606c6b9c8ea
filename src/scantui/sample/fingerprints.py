"""Header-field synthesis per scanning tool, and the reference fingerprint rules.

Every packet the generator writes is built here, as numpy column arrays
(:class:`Packets`), so that each tool's fingerprint from ``domain.md`` holds
exactly on its probes and no probe of another tool matches it by chance:

- ZMap (unmodified): IP-ID 54321, window 65535, MSS 1460 (IP length 44), TTL from 255.
- ZMap 4.1+ (``zmap4``, tool ``other``): random IP-ID, window 65535, full option set.
- Masscan: IP-ID = (dst ^ dport ^ seq) & 0xFFFF, window 1024, no options (length 40).
- Mirai: seq = dst, dport 23/2323, random window, no options, TTL from 64.
- Unicorn: seq = key ^ src ^ ((sport << 16) + dport) with one key per session.
- Nmap SYN scan: window 1024, MSS 1460, ack 0, one source port per scan, TTL 37-59;
  OS detection probes as in :data:`NMAP_OS_PROBES`.
- ``linux`` / ``windows`` (tool ``other``): the kernels' ordinary SYN.

:func:`classify_probes` is the reference classifier the ground truth is counted
with (and the tests check against); :func:`fingerprint_matches` tells which rules
match each packet so the generator can re-draw accidental matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOOLS = ("zmap", "masscan", "mirai", "unicorn", "nmap", "other")

#: Columns of a :class:`Packets` batch; ``-1`` stands for null in the int64 arrays.
COLUMNS = ("ts", "src", "dst", "proto", "sport", "dport", "ip_id", "ttl", "ip_len",
           "tcp_flags", "tcp_seq", "tcp_ack", "tcp_window", "tcp_mss")

SYN, ACK, RST, FIN, PSH, URG, ECE, CWR = 2, 16, 4, 1, 8, 32, 64, 128
ZMAP_IP_ID = 54321
MIRAI_PORTS = (23, 2323)
UNICORN_MIN_PACKETS = 150

#: Nmap OS-detection TCP probes: (name, flags, window, mss or -1, ip_len, to_open_port).
NMAP_OS_PROBES = (
    ("SEQ1", SYN, 1, 1460, 60, True),
    ("SEQ2", SYN, 63, 1400, 60, True),
    ("SEQ3", SYN, 4, 640, 60, True),
    ("SEQ4", SYN, 4, -1, 56, True),
    ("SEQ5", SYN, 16, 536, 60, True),
    ("SEQ6", SYN, 512, 265, 56, True),
    ("ECN", SYN | ECE | CWR, 3, 1460, 52, True),
    ("T2", 0, 128, 265, 60, True),
    ("T3", SYN | FIN | URG | PSH, 256, 265, 60, True),
    ("T4", ACK, 1024, 265, 60, True),
    ("T5", SYN, 31337, 265, 60, False),
    ("T6", ACK, 32768, 265, 60, False),
    ("T7", FIN | PSH | URG, 65535, 265, 60, False),
)
NMAP_WINDOWS = np.array(sorted({p[2] for p in NMAP_OS_PROBES} | {1024}))
#: (flags, window, mss) of the Nmap OS probes, for the classifier.
NMAP_OS_SIGNATURES = frozenset((f, w, m) for _, f, w, m, _, _ in NMAP_OS_PROBES)

#: Initial TTL and header shape per tool style: (initial ttl, window, mss, ip_len).
STYLES = {
    "zmap": (255, 65535, 1460, 44),
    "zmap4": (255, 65535, 1460, 60),
    "masscan": (255, 1024, -1, 40),
    "mirai": (64, -1, -1, 40),
    "unicorn": (64, 4096, -1, 40),
    "nmap": (-1, 1024, 1460, 44),
    "linux": (64, 64240, 1460, 60),
    "windows": (128, 64240, 1460, 52),
}
#: The tool label a style's probes carry under the domain rules.
STYLE_TOOL = {"zmap": "zmap", "zmap4": "other", "masscan": "masscan", "mirai": "mirai",
              "unicorn": "unicorn", "nmap": "nmap", "linux": "other", "windows": "other"}


@dataclass
class Packets:
    """A batch of packets as int64 column arrays (``-1`` = null) plus the intended tool."""

    cols: dict[str, np.ndarray]
    tool: np.ndarray  # object array of tool names ('' for non-probes)

    def __len__(self) -> int:
        return len(self.cols["ts"])

    @staticmethod
    def concat(batches: list["Packets"]) -> "Packets":
        batches = [b for b in batches if len(b)]
        return Packets({c: np.concatenate([b.cols[c] for b in batches]) for c in COLUMNS},
                       np.concatenate([b.tool for b in batches]))

    def take(self, idx: np.ndarray) -> "Packets":
        return Packets({c: v[idx] for c, v in self.cols.items()}, self.tool[idx])


def _u32(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 1 << 32, n, dtype=np.int64)


def _u16(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 1 << 16, n, dtype=np.int64)


def masscan_ip_id(dst: np.ndarray, dport: np.ndarray, seq: np.ndarray) -> np.ndarray:
    return (dst ^ dport ^ seq) & 0xFFFF


def unicorn_key(src: np.ndarray, sport: np.ndarray, dport: np.ndarray, seq: np.ndarray) -> np.ndarray:
    return (seq ^ src ^ ((sport << 16) + dport)) & 0xFFFFFFFF


def tcp_syn(style: str, ts: np.ndarray, src: np.ndarray, dst: np.ndarray, dport: np.ndarray,
            hops: np.ndarray, rng: np.random.Generator, *, session_key: int | None = None,
            sport: int | np.ndarray | None = None) -> Packets:
    """SYN probes of one tool style; arrays are aligned per packet.

    ``hops`` is the path length per packet (constant per source in practice);
    ``session_key`` is the Unicorn key; ``sport`` fixes the source port(s).
    """
    n = len(ts)
    init, window, mss, ip_len = STYLES[style]
    seq = _u32(rng, n)
    if sport is None:
        lo, hi = {"zmap": (32768, 61000), "zmap4": (32768, 61000), "linux": (32768, 61000),
                  "windows": (49152, 65536)}.get(style, (1024, 65536))
        sp = rng.integers(lo, hi, n, dtype=np.int64)
    else:
        sp = np.broadcast_to(np.asarray(sport, dtype=np.int64), (n,)).copy()
    ip_id = _u16(rng, n)
    win = np.full(n, window, dtype=np.int64)
    if style == "zmap":
        ip_id[:] = ZMAP_IP_ID
    elif style == "masscan":
        ip_id = masscan_ip_id(dst, dport, seq)
    elif style == "mirai":
        seq = dst.copy()
        win = _u16(rng, n)
        # keep Mirai's random windows off the Nmap / Masscan windows, so no rule is ambiguous
        clash = np.isin(win, NMAP_WINDOWS)
        win[clash] = (win[clash] + 7) & 0xFFFF
    elif style == "unicorn":
        if session_key is None:
            raise ValueError("unicorn probes need a session key")
        seq = (session_key ^ src ^ ((sp << 16) + dport)) & 0xFFFFFFFF
    if style == "nmap":
        ttl0 = rng.integers(37, 60, n, dtype=np.int64)
    else:
        ttl0 = np.full(n, init, dtype=np.int64)
    cols = {
        "ts": ts.astype(np.int64), "src": src.astype(np.int64), "dst": dst.astype(np.int64),
        "proto": np.full(n, 6, dtype=np.int64), "sport": sp, "dport": dport.astype(np.int64),
        "ip_id": ip_id, "ttl": np.maximum(ttl0 - hops, 1), "ip_len": np.full(n, ip_len, dtype=np.int64),
        "tcp_flags": np.full(n, SYN, dtype=np.int64), "tcp_seq": seq, "tcp_ack": np.zeros(n, dtype=np.int64),
        "tcp_window": win, "tcp_mss": np.full(n, mss, dtype=np.int64),
    }
    return Packets(cols, np.full(n, STYLE_TOOL[style], dtype=object))


def nmap_os_probes(ts0: int, src: int, dst: int, open_port: int, closed_port: int, hops: int,
                   rng: np.random.Generator) -> Packets:
    """One Nmap ``-O`` run against one address: the 13 TCP probes, 100 ms apart."""
    n = len(NMAP_OS_PROBES)
    flags = np.array([p[1] for p in NMAP_OS_PROBES], dtype=np.int64)
    is_ack = (flags & ACK) > 0
    cols = {
        "ts": ts0 + np.arange(n, dtype=np.int64) * 100_000,
        "src": np.full(n, src, dtype=np.int64), "dst": np.full(n, dst, dtype=np.int64),
        "proto": np.full(n, 6, dtype=np.int64),
        "sport": rng.integers(33000, 65000, n, dtype=np.int64),
        "dport": np.array([open_port if p[5] else closed_port for p in NMAP_OS_PROBES], dtype=np.int64),
        "ip_id": _u16(rng, n), "ttl": rng.integers(37, 60, n, dtype=np.int64) - hops,
        "ip_len": np.array([p[4] for p in NMAP_OS_PROBES], dtype=np.int64),
        "tcp_flags": flags, "tcp_seq": _u32(rng, n),
        "tcp_ack": np.where(is_ack, _u32(rng, n), 0),
        "tcp_window": np.array([p[2] for p in NMAP_OS_PROBES], dtype=np.int64),
        "tcp_mss": np.array([p[3] for p in NMAP_OS_PROBES], dtype=np.int64),
    }
    probe = ((flags & SYN) > 0) & ~is_ack
    return Packets(cols, np.where(probe, "nmap", "").astype(object))


def fingerprint_matches(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-packet boolean masks of the per-packet rules (Unicorn is per session: see classify)."""
    tcp = c["proto"] == 6
    mss = c["tcp_mss"]
    os_sig = np.zeros(len(mss), dtype=bool)
    for f, w, m in NMAP_OS_SIGNATURES:
        os_sig |= (c["tcp_flags"] == f) & (c["tcp_window"] == w) & (mss == m)
    return {
        "zmap": tcp & (c["ip_id"] == ZMAP_IP_ID),
        "masscan": tcp & (c["ip_id"] == masscan_ip_id(c["dst"], c["dport"], c["tcp_seq"])),
        "mirai": tcp & (c["tcp_seq"] == c["dst"]) & np.isin(c["dport"], MIRAI_PORTS),
        "nmap": tcp & (((c["tcp_window"] == 1024) & (mss == 1460) & (c["tcp_ack"] == 0)) | os_sig),
    }


def scrub_accidental(pk: Packets, rng: np.random.Generator) -> None:
    """Re-draw IP-IDs / sequence numbers of probes that match another tool's rule by chance.

    Run once over the assembled batch (per-call runs cost more than they save).
    """
    c, tool = pk.cols, pk.tool
    for _ in range(20):
        m = fingerprint_matches(c)
        bad = np.zeros(len(tool), dtype=bool)
        for name, mask in m.items():
            bad |= mask & (tool != name) & (tool != "")
        if not bad.any():
            return
        # Mirai's and Unicorn's seq is structural: only their IP-ID may move; Masscan's
        # IP-ID follows its seq; ZMap's IP-ID is fixed; the rest may move both.
        free_seq = bad & np.isin(tool, ("zmap", "nmap", "other", "masscan"))
        c["tcp_seq"][free_seq] = _u32(rng, int(free_seq.sum()))
        free_id = bad & np.isin(tool, ("mirai", "unicorn", "nmap", "other"))
        c["ip_id"][free_id] = _u16(rng, int(free_id.sum()))
        ms = bad & (tool == "masscan")
        c["ip_id"][ms] = masscan_ip_id(c["dst"][ms], c["dport"][ms], c["tcp_seq"][ms])
    raise RuntimeError("could not scrub accidental fingerprint matches")


def is_probe(c: dict[str, np.ndarray]) -> np.ndarray:
    return (c["proto"] == 6) & ((c["tcp_flags"] & SYN) > 0) & ((c["tcp_flags"] & ACK) == 0)


def classify_probes(c: dict[str, np.ndarray]) -> np.ndarray:
    """Reference tool label per packet ('' for non-probes), by the domain rules.

    Precedence when several rules match (the one using more fields wins):
    unicorn > masscan > mirai > nmap > zmap > other. Unicorn keys are counted over
    all probes of the table; a key shared by more than 150 probes marks them.
    """
    probe = is_probe(c)
    out = np.where(probe, "other", "").astype(object)
    m = fingerprint_matches(c)
    key = unicorn_key(c["src"], c["sport"], c["dport"], c["tcp_seq"])
    keys, inv, counts = np.unique(np.where(probe, key, -1), return_inverse=True, return_counts=True)
    uni = probe & (counts[inv] > UNICORN_MIN_PACKETS) & (keys[inv] >= 0)
    for name in ("zmap", "nmap", "mirai", "masscan"):
        out[probe & m[name]] = name
    out[uni] = "unicorn"
    return out


def rule_overlaps(c: dict[str, np.ndarray]) -> int:
    """How many probes match more than one rule (the generator keeps this at 0)."""
    probe = is_probe(c)
    m = fingerprint_matches(c)
    key = unicorn_key(c["src"], c["sport"], c["dport"], c["tcp_seq"])
    _, inv, counts = np.unique(np.where(probe, key, -1), return_inverse=True, return_counts=True)
    hits = sum(v.astype(np.int64) for v in m.values()) + (probe & (counts[inv] > UNICORN_MIN_PACKETS))
    return int((probe & (hits > 1)).sum())
