"""The sample's cuts: the same packets as Parquet rows, in the other input formats.

Four small files in ``cuts/``, each a few thousand rows of ``telescope.parquet``
(every IPv4 packet in a cut is a row of the table, field for field):

- ``telescope-cut.pcap``: classic pcap, microsecond, Ethernet; plus a few IPv6 and
  ARP frames a loader must count as skipped.
- ``telescope-cut.pcapng``: two interfaces, ``eth0`` (Ethernet, microseconds) and
  ``tun0`` (raw IPv4, link type 101, nanoseconds); a packet goes to ``tun0`` when its
  destination address is odd. IPv6 and ARP frames on ``eth0``.
- ``iptables.log``: netfilter ``LOG`` lines as syslog writes them (no year, whole
  seconds in the syslog stamp; the kernel stamp is seconds since boot, boot time
  in the truth). ICMP lines carry the ICMP ``ID=``/``SEQ=`` after the IP ``ID=``.
- ``iptables.csv``: a honeypot pipeline's export of the same fields; flags as
  netfilter names (``SYN``, ``ACK RST``), options as hex (the MSS is in them).
  TCP packets without any flag (Nmap's T2 probe) carry ``NONE``.

Packets are built with ``struct`` (checksums included); ICMP echo id/seq, not part
of the table, are derived from the source address and the row position.
"""

from __future__ import annotations

import struct
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from ..fsutil import write_bytes_atomic
from ..io.packet_frames import checksum as _csum
from .fingerprints import ACK, CWR, ECE, FIN, PSH, RST, SYN, URG

ETH_DST = bytes.fromhex("00163e000001")
ETH_SRC = bytes.fromhex("001b21aabbcc")
LOG_PREFIX = "SCANTUI-TEL"
LOG_HOST = "tel-1"
BOOT_BEFORE_START_S = 3 * 86400 + 4711  # the logging host booted this long before the data starts
NF_FLAG_ORDER = ((CWR, "CWR"), (ECE, "ECE"), (URG, "URG"), (ACK, "ACK"), (PSH, "PSH"), (RST, "RST"), (SYN, "SYN"), (FIN, "FIN"))


# -- packet bytes ---------------------------------------------------------------------------
def tcp_options(mss: int | None, length: int) -> bytes:
    """An option block of ``length`` bytes with the MSS (when given) first, as real stacks send."""
    m = struct.pack("!BBH", 2, 4, mss) if mss is not None else b""
    ts = bytes.fromhex("080a") + struct.pack("!II", 0xFFFFFFFF, 0)
    blocks = {
        (True, 4): m,
        (True, 12): m + bytes.fromhex("010303080101" "0402"),          # MSS NOP WS NOP NOP SACK_PERM
        (True, 16): m + bytes.fromhex("0402") + ts,                      # MSS SACK_PERM TS
        (True, 20): m + bytes.fromhex("0402") + ts + bytes.fromhex("01030307"),  # MSS SACK TS NOP WS
        (False, 16): bytes.fromhex("0402") + ts + bytes.fromhex("03030a00"),     # SACK TS WS EOL
        (False, 0): b"",
    }
    opt = blocks.get((mss is not None, length))
    if opt is None or len(opt) != length:
        raise ValueError(f"no option layout for mss={mss} length={length}")
    return opt


def ipv4_packet(r: dict, icmp_id: int = 0, icmp_seq: int = 0) -> bytes:
    """The IPv4 packet of one table row."""
    proto, ip_len = r["proto"], r["ip_len"]
    src, dst = struct.pack("!I", r["src"]), struct.pack("!I", r["dst"])
    if proto == 6:
        opt = tcp_options(r["tcp_mss"], ip_len - 40)
        off = (20 + len(opt)) // 4 << 4
        hdr = struct.pack("!HHIIBBHHH", r["sport"], r["dport"], r["tcp_seq"], r["tcp_ack"], off,
                          r["tcp_flags"], r["tcp_window"], 0, 0) + opt
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(hdr))
        l4 = hdr[:16] + struct.pack("!H", _csum(pseudo + hdr)) + hdr[18:]
    elif proto == 17:
        payload = bytes(ip_len - 28)
        hdr = struct.pack("!HHHH", r["sport"], r["dport"], ip_len - 20, 0) + payload
        pseudo = src + dst + struct.pack("!BBH", 0, 17, len(hdr))
        c = _csum(pseudo + hdr) or 0xFFFF
        l4 = hdr[:6] + struct.pack("!H", c) + hdr[8:]
    elif proto == 1:
        body = struct.pack("!BBHHH", 8, 0, 0, icmp_id, icmp_seq) + bytes(ip_len - 28)
        l4 = body[:2] + struct.pack("!H", _csum(body)) + body[4:]
    else:
        raise ValueError(f"protocol {proto} not in the sample")
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, r["ip_id"], 0, r["ttl"], proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    pkt = ip + l4
    if len(pkt) != ip_len:
        raise AssertionError("packet length differs from ip_len")
    return pkt


def ether(payload: bytes, ethertype: int = 0x0800) -> bytes:
    return ETH_DST + ETH_SRC + struct.pack("!H", ethertype) + payload


def ipv6_syn(i: int) -> bytes:
    """An IPv6 TCP SYN to the telescope's v6 side (skipped by IPv4-only loaders)."""
    tcp = struct.pack("!HHIIBBHHH", 40000 + i, 443, 0x1000 + i, 0, 0x50, SYN, 65535, 0, 0)
    hdr = struct.pack("!IHBB", 0x60000000, len(tcp), 6, 57)
    src = bytes.fromhex("20010db8000000000000000000000100")[:-1] + bytes([i + 1])
    dst = bytes.fromhex("20010db8ffff00000000000000000001")
    return ether(hdr + src + dst + tcp, 0x86DD)


def arp_request(i: int) -> bytes:
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, ETH_SRC, bytes([198, 18, 15, 254]),
                       bytes(6), bytes([198, 18, 0, 1 + i]))
    return ether(body + bytes(18), 0x0806)  # padded to the 60-byte Ethernet minimum


def icmp_ids(r: dict, k: int) -> tuple[int, int]:
    return (r["src"] ^ 0x5A5A) & 0xFFFF, k % 65536 + 1


# -- selection ---------------------------------------------------------------------------
def select_cut(frame: pl.DataFrame, t0, n_slice: int, extras: dict[str, int]) -> pl.DataFrame:
    """``n_slice`` consecutive rows from time ``t0``, plus a few rows of other kinds after them."""
    idx = frame.with_row_index("row")
    body = idx.filter(pl.col("ts") >= t0).head(n_slice)
    after = idx.filter(pl.col("row") > body["row"].max())
    flags = pl.col("tcp_flags")
    kinds = {
        "udp": pl.col("proto") == 17, "icmp": pl.col("proto") == 1,
        "backscatter": (pl.col("proto") == 6) & ((flags & RST > 0) | ((flags & SYN > 0) & (flags & ACK > 0))),
        "nmap_os": pl.col("tcp_window").is_in([1, 63, 4, 16, 512, 3, 128, 256, 31337, 32768]) & pl.col("tcp_mss").is_not_null(),
    }
    parts = [body] + [after.filter(kinds[k]).head(n) for k, n in extras.items()]
    return pl.concat(parts).unique("row", keep="first").sort("row").drop("row")


def _ts_us(v: datetime) -> int:
    return int(v.timestamp()) * 1_000_000 + v.microsecond


# -- writers ------------------------------------------------------------------------------
def write_pcap(path: Path, rows: list[dict], odd_frames: list[tuple[int, bytes]]) -> dict:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    frames = [(_ts_us(r["ts"]), ether(ipv4_packet(r, *icmp_ids(r, k)))) for k, r in enumerate(rows)]
    for t, data in sorted(frames + odd_frames, key=lambda x: x[0]):
        out.append(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(data), len(data)) + data)
    write_bytes_atomic(path, b"".join(out))
    return {"format": "pcap", "linktype": 1, "tsresol": "us", "packets": len(rows)}


def _block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    total = len(body) + 12
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + bytes(-len(value) % 4)


def write_pcapng(path: Path, rows: list[dict], odd_frames: list[tuple[int, bytes]]) -> dict:
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _opt(4, b"scantui sample generator") + _opt(0, b"")
    idb0 = struct.pack("<HHI", 1, 0, 0) + _opt(2, b"eth0") + _opt(9, bytes([6])) + _opt(0, b"")
    idb1 = struct.pack("<HHI", 101, 0, 0) + _opt(2, b"tun0") + _opt(9, bytes([9])) + _opt(0, b"")
    out = [_block(0x0A0D0D0A, shb), _block(1, idb0), _block(1, idb1)]
    frames = []
    counts = [0, 0]
    for k, r in enumerate(rows):
        t, pkt = _ts_us(r["ts"]), ipv4_packet(r, *icmp_ids(r, k))
        if r["dst"] & 1:
            frames.append((t, 1, t * 1000, pkt))
            counts[1] += 1
        else:
            frames.append((t, 0, t, ether(pkt)))
            counts[0] += 1
    frames += [(t, 0, t, data) for t, data in odd_frames]
    for _, iface, units, data in sorted(frames, key=lambda x: x[0]):
        body = struct.pack("<IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data), len(data)) + data
        out.append(_block(6, body))
    write_bytes_atomic(path, b"".join(out))
    return {"format": "pcapng", "packets": len(rows),
            "interfaces": [{"name": "eth0", "linktype": 1, "tsresol": "us", "ipv4_packets": counts[0]},
                           {"name": "tun0", "linktype": 101, "tsresol": "ns", "ipv4_packets": counts[1]}]}


def _flag_names(flags: int) -> list[str]:
    return [name for bit, name in NF_FLAG_ORDER if flags & bit]


def _ip(v: int) -> str:
    return f"{v >> 24}.{v >> 16 & 255}.{v >> 8 & 255}.{v & 255}"


def log_line(r: dict, k: int, boot_us: int) -> str:
    ts = r["ts"]
    up = _ts_us(ts) - boot_us
    mac = ":".join(f"{b:02x}" for b in ETH_DST + ETH_SRC + b"\x08\x00")
    head = (f"{ts.strftime('%b')} {ts.day:2d} {ts.strftime('%H:%M:%S')} {LOG_HOST} kernel: "
            f"[{up // 1_000_000:5d}.{up % 1_000_000:06d}] {LOG_PREFIX} IN=eth0 OUT= MAC={mac} "
            f"SRC={_ip(r['src'])} DST={_ip(r['dst'])} LEN={r['ip_len']} TOS=0x00 PREC=0x00 TTL={r['ttl']} ID={r['ip_id']} ")
    if r["proto"] == 6:
        flags = " ".join(_flag_names(r["tcp_flags"]))
        opt = tcp_options(r["tcp_mss"], r["ip_len"] - 40)
        tail = (f"PROTO=TCP SPT={r['sport']} DPT={r['dport']} SEQ={r['tcp_seq']} ACK={r['tcp_ack']} "
                f"WINDOW={r['tcp_window']} RES=0x00 {flags + ' ' if flags else ''}URGP=0 ")
        if opt:
            tail += f"OPT ({opt.hex().upper()}) "
    elif r["proto"] == 17:
        tail = f"PROTO=UDP SPT={r['sport']} DPT={r['dport']} LEN={r['ip_len'] - 20} "
    else:
        icmp_id, icmp_seq = icmp_ids(r, k)
        tail = f"PROTO=ICMP TYPE=8 CODE=0 ID={icmp_id} SEQ={icmp_seq} "
    return (head + tail).rstrip()


def write_log(path: Path, rows: list[dict], boot_us: int) -> dict:
    write_bytes_atomic(path, "".join(log_line(r, k, boot_us) + "\n" for k, r in enumerate(rows)).encode())
    return {"format": "iptables-log", "packets": len(rows), "year": rows[0]["ts"].year,
            "timezone": "UTC", "boot_time": datetime.fromtimestamp(boot_us / 1e6, tz=timezone.utc).isoformat(),
            "prefix": LOG_PREFIX}


CSV_HEADER = "timestamp,SRC,DST,PROTO,SPT,DPT,ID,TTL,LEN,SEQ,ACK,WINDOW,TCP_Flags,OPT"


def csv_line(r: dict) -> str:
    def f(v):
        return "" if v is None else str(v)

    proto = {6: "TCP", 17: "UDP", 1: "ICMP"}[r["proto"]]
    tcp = r["proto"] == 6
    opt = tcp_options(r["tcp_mss"], r["ip_len"] - 40).hex().upper() if tcp else ""
    return ",".join([
        r["ts"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"), _ip(r["src"]), _ip(r["dst"]), proto,
        f(r["sport"]), f(r["dport"]), str(r["ip_id"]), str(r["ttl"]), str(r["ip_len"]),
        f(r["tcp_seq"]), f(r["tcp_ack"]), f(r["tcp_window"]),
        (" ".join(_flag_names(r["tcp_flags"])) or "NONE") if tcp else "", opt])


def write_csv(path: Path, rows: list[dict]) -> dict:
    write_bytes_atomic(path, (CSV_HEADER + "\n" + "".join(csv_line(r) + "\n" for r in rows)).encode())
    return {"format": "iptables-csv", "packets": len(rows)}


def write_cuts(frame: pl.DataFrame, cut_dir: Path, truth: dict) -> dict:
    """Write the four cuts; return their descriptions for the truth (keyed by file name)."""
    cut_dir.mkdir(parents=True, exist_ok=True)
    scans = {c["id"]: c for c in truth["collab_scans"]}

    def at(s: str) -> datetime:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))

    extras = {"udp": 40, "icmp": 30, "backscatter": 60, "nmap_os": 13}
    start = at(truth["start"])
    boot_us = _ts_us(start) - BOOT_BEFORE_START_S * 1_000_000
    plans = {
        "telescope-cut.pcap": (at(scans["STS-01"]["start"]), 2500),
        "telescope-cut.pcapng": (at(scans["MID-01"]["start"]).replace(minute=10, hour=23), 2500),
        "iptables.log": (at(scans["DOM-01"]["start"]), 2000),
        "iptables.csv": (at(scans["AK01-01"]["start"]), 2000),
    }
    odd = []
    info = {}
    for name, (t0, n) in plans.items():
        cut = select_cut(frame, t0, n, extras)
        rows = cut.to_dicts()
        path = cut_dir / name
        if name.endswith(".pcap") or name.endswith(".pcapng"):
            times = [_ts_us(r["ts"]) for r in rows]
            odd = [(times[(i * 397) % len(times)] + 1, ipv6_syn(i)) for i in range(5)]
            odd += [(times[(i * 613 + 50) % len(times)] + 1, arp_request(i)) for i in range(3)]
            writer = write_pcap if name.endswith(".pcap") else write_pcapng
            desc = writer(path, rows, odd)
            desc["skipped"] = {"ipv6": 5, "arp": 3}
        elif name.endswith(".log"):
            desc = write_log(path, rows, boot_us)
        else:
            desc = write_csv(path, rows)
        desc.update(file=f"cuts/{name}", first_ts=rows[0]["ts"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    last_ts=rows[-1]["ts"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        info[name] = desc
    return info
