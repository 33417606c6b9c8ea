"""Property test: the vectorized pcap/pcapng readers return exactly what scapy decodes.

Hypothesis crafts random IPv4 TCP/UDP/ICMP frames with scapy (addresses, ports,
ids, TTL, flags, seq/ack, window, TCP option lists with and without MSS, IP
options, fragments, payloads that imitate record headers, VLAN tags), mixes in
IPv6 and ARP frames, cuts records at random snap lengths, and writes the same
packets as little/big-endian, micro/nanosecond pcap and as pcapng. The oracle
is scapy's dissection of the *whole* frame; a field is expected only when all
of its bytes were captured (and lie inside the IP total length).
"""

from __future__ import annotations

import functools
import struct
import warnings

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scantui.io import pcap, pcapng
from scantui.io.options import LoadOptions
from scantui.io.pcap import iter_pcap_batches
from scantui.io.pcapng import iter_pcapng_batches
from scantui.io.schema import canonical_schema
from scantui.io.stats import LoadStats

from pcapbuild import NgWriter, Rec, arp_frame, ether, ipv6_packet, sll, sll2, write_pcap

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_NOP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

u8 = st.integers(0, 255)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
TS_BASE = 1_700_000_000

TCP_OPTION = st.one_of(
    st.just(("NOP", None)),
    st.tuples(st.just("WScale"), st.integers(0, 14)),
    st.just(("SAckOK", b"")),
    st.tuples(st.just("Timestamp"), st.tuples(u32, u32)),
)
OPTION_SIZE = {"NOP": 1, "WScale": 3, "SAckOK": 2, "Timestamp": 10, "MSS": 4}


@st.composite
def tcp_options(draw):
    opts = draw(st.lists(TCP_OPTION, max_size=5))
    if draw(st.booleans()):
        opts.insert(draw(st.integers(0, len(opts))), ("MSS", draw(u16)))
    while sum(OPTION_SIZE[k] for k, _ in opts) > 40:
        opts.pop(0)
    return opts


@st.composite
def payloads(draw):
    """Random bytes, sometimes with fake record/block headers to lure the candidate search."""
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            parts.append(draw(st.binary(max_size=60)))
        else:
            caplen = draw(st.integers(0, 80))
            order = draw(st.sampled_from("<>"))
            parts.append(struct.pack(order + "IIII", TS_BASE + draw(st.integers(0, 3)), draw(st.integers(0, 999)), caplen, caplen + 4))
            # a whole empty EPB (type 6, length 32, ..., trailing length 32), at any alignment
            parts.append(bytes(draw(st.integers(0, 3))) + struct.pack(order + "8I", 6, 32, 0, 0, 0, 0, 0, 32))
    if draw(st.integers(0, 9)) == 0:
        parts.append(bytes(draw(st.integers(200, 1400))))
    return b"".join(parts)


@st.composite
def ip_frames(draw):
    kind = draw(st.sampled_from(["tcp", "tcp", "udp", "icmp"]))
    ip = IP(src=_dotted(draw(u32)), dst=_dotted(draw(u32)), id=draw(u16), ttl=draw(u8), tos=draw(u8))
    if draw(st.integers(0, 4)) == 0:
        ip.options = [IPOption_NOP()] * draw(st.integers(1, 8))
    if draw(st.integers(0, 9)) == 0:
        ip.frag = draw(st.integers(1, 0x1FFF))
    if kind == "tcp":
        l4 = TCP(sport=draw(u16), dport=draw(u16), seq=draw(u32), ack=draw(u32), flags=draw(u8), window=draw(u16), options=draw(tcp_options()))
    elif kind == "udp":
        l4 = UDP(sport=draw(u16), dport=draw(u16))
    else:
        l4 = ICMP(type=draw(u8), code=draw(u8))
    raw = bytes(Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb") / ip / l4 / Raw(draw(payloads())))
    tpids = draw(st.lists(st.sampled_from([0x8100, 0x88A8, 0x9100]), max_size=2))
    tags = b"".join(struct.pack(">HH", tpid, draw(st.integers(0, 4095))) for tpid in tpids)
    return raw[:12] + tags + raw[12:], 14 + len(tags)


@st.composite
def frames(draw):
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([arp_frame(), ether(ipv6_packet(), 0x86DD)])), 14
    return draw(ip_frames())


@st.composite
def captures(draw):
    packets = draw(st.lists(frames(), min_size=1, max_size=12))
    records = []
    for data, l3 in packets:
        caplen = len(data) if draw(st.booleans()) else draw(st.integers(0, len(data)))
        sec = TS_BASE + draw(st.integers(0, 3))
        nanos = draw(st.integers(0, 999_999_999))
        records.append((data, l3, caplen, sec, nanos))
    return records


def expected_rows(records) -> tuple[list[dict], dict]:
    rows, skipped = [], {}
    for data, l3, caplen, sec, nanos, *ethertype in records:
        frac_us = nanos // 1000  # nanosecond captures are truncated to microseconds
        row = expected_fields(data, l3, caplen, *ethertype)
        if isinstance(row, str):
            skipped[row] = skipped.get(row, 0) + 1
            continue
        row["ts"] = sec * 1_000_000 + frac_us
        rows.append(row)
    return rows, skipped


def expected_fields(data: bytes, l3: int, caplen: int, ethertype: bytes | None = None) -> dict | str:
    """Scapy's view of the whole frame, limited to the captured bytes. ``l3``: where IP starts;
    ``ethertype``: what the packet is (default: the two bytes before ``l3``)."""
    if caplen < max(l3, 1):
        return "short_capture"
    ethertype = data[l3 - 2 : l3] if ethertype is None else ethertype
    if ethertype != b"\x08\x00":
        return "ipv6" if ethertype == b"\x86\xdd" else "non_ip"
    if caplen - l3 < 20:
        return "short_capture"
    ip = IP(data[l3:])
    ihl4 = ip.ihl * 4
    avail = min(caplen - l3, ip.len) - ihl4
    row = {"src": _ip_int(ip.src), "dst": _ip_int(ip.dst), "proto": ip.proto, "ip_id": ip.id, "ttl": ip.ttl, "ip_len": ip.len}
    row.update(sport=None, dport=None, tcp_flags=None, tcp_seq=None, tcp_ack=None, tcp_window=None, tcp_mss=None)
    l4 = ip.payload
    if ip.frag == 0 and isinstance(l4, (TCP, UDP)) and avail >= 4:
        row["sport"], row["dport"] = l4.sport, l4.dport
    if ip.frag == 0 and isinstance(l4, TCP):
        if avail >= 8:
            row["tcp_seq"] = l4.seq
        if avail >= 12:
            row["tcp_ack"] = l4.ack
        if avail >= 14:
            row["tcp_flags"] = int(l4.flags)
        if avail >= 16:
            row["tcp_window"] = l4.window
        mss = [v for k, v in l4.options if k == "MSS"]
        if mss:
            end = l3 + ihl4 + min(avail, l4.dataofs * 4)
            if l3 + ihl4 + 20 + _mss_position(l4.options) + 4 <= end:
                row["tcp_mss"] = mss[0]
    return row


def _mss_position(options) -> int:
    pos = 0
    for kind, _ in options:
        if kind == "MSS":
            return pos
        pos += OPTION_SIZE[kind]
    raise AssertionError("no MSS")


def _dotted(n: int) -> str:
    return ".".join(str((n >> s) & 0xFF) for s in (24, 16, 8, 0))


def _ip_int(dotted: str) -> int:
    a, b, c, d = (int(x) for x in dotted.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def _actual(batches) -> list[dict]:
    df = pl.concat(list(batches), how="vertical") if batches else pl.DataFrame(schema=canonical_schema())
    assert df.schema == canonical_schema()
    return df.with_columns(pl.col("ts").dt.epoch("us")).to_dicts()


def _check(batches_fn, path, records, nanos, chunk):
    stats = LoadStats()
    got = _actual(list(batches_fn(path, LoadOptions(chunk_records=chunk), stats)))
    want, skipped = expected_rows(records)
    assert got == want
    f = stats.files()[0]
    assert dict(f.skipped) == skipped and f.rows == len(want) and f.complete


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# Tiny search windows make every capture span many windows (the default is 2 MiB).
WINDOWS = st.sampled_from([16, 100, 256, 2 << 20])


def relink(data: bytes, l3: int, caplen: int, link: int) -> tuple[bytes, int, int, bytes]:
    """The Ethernet frame re-wrapped for another link type: (frame, l3, caplen, what it carries)."""
    ethertype, packet = data[l3 - 2 : l3], data[l3:]
    family = {b"\x08\x00": 2, b"\x86\xdd": 24}.get(ethertype, 99)
    head = {
        1: data[:l3],
        101: b"",
        113: sll(b"", int.from_bytes(ethertype, "big")),
        276: sll2(b"", int.from_bytes(ethertype, "big")),
        0: struct.pack("<I", family),
        108: struct.pack(">I", family),
    }[link]
    if link == 101 and ethertype not in (b"\x08\x00", b"\x86\xdd"):
        packet = b"\x00" + packet[1:]  # raw links tell IP by its version nibble: make this one neither
    new_caplen = max(0, min(len(head) + len(packet), caplen - l3 + len(head)))
    return head + packet, len(head), new_caplen, ethertype


LINKS = st.sampled_from([1, 1, 101, 113, 276, 0, 108])


@SETTINGS
@given(records=captures(), order=st.sampled_from("<>"), nanos=st.booleans(), chunk=st.sampled_from([1, 3, 1 << 20]), window=WINDOWS, link=LINKS)
def test_pcap_matches_scapy(tmp_path, monkeypatch, records, order, nanos, chunk, window, link):
    monkeypatch.setattr(pcap, "WINDOW_BYTES", window)
    recs, expect = [], []
    for data, l3, caplen, sec, ns in records:
        data, l3, caplen, ethertype = relink(data, l3, caplen, link)
        frac = ns if nanos else ns // 1000
        recs.append(Rec(data[:caplen], ts=(sec, frac), origlen=len(data)))
        expect.append((data, l3, caplen, sec, ns, ethertype))
    path = write_pcap(tmp_path / "p.pcap", recs, linktype=link, order=order, nanos=nanos)
    _check(iter_pcap_batches, path, expect, nanos, chunk)


TSRESOLS = {6: 10**6, 9: 10**9, 0x80 | 30: 1 << 30}


@SETTINGS
@given(records=captures(), order=st.sampled_from("<>"), resol=st.sampled_from(sorted(TSRESOLS)), chunk=st.sampled_from([1, 2, 1 << 20]),
       window=WINDOWS, data=st.data())
def test_pcapng_matches_scapy(tmp_path, monkeypatch, records, order, resol, chunk, window, data):
    monkeypatch.setattr(pcapng, "WINDOW_BYTES", window)
    w = NgWriter().shb(order).idb(1, tsresol=6).idb(1, tsresol=resol)
    expect = []
    for k, (dat, l3, caplen, sec, ns) in enumerate(records):
        iface = data.draw(st.integers(0, 1))
        if data.draw(st.integers(0, 5)) == 0:
            w.isb(iface) if k % 2 else w.custom()
        if iface == 0:
            w.epb(dat[:caplen], sec * 10**6 + ns // 1000, iface=0, origlen=len(dat))
            expect.append((dat, l3, caplen, sec, ns))
        else:
            scale = TSRESOLS[resol]
            units = sec * scale + ns * scale // 10**9
            w.epb(dat[:caplen], units, iface=1, origlen=len(dat))
            # the reader truncates units to microseconds
            us = (units % scale) * 10**6 // scale
            expect.append((dat, l3, caplen, sec, us * 1000))
    path = w.write(tmp_path / "p.pcapng")
    _check(iter_pcapng_batches, path, expect, True, chunk)


def test_oracle_sees_mss():
    """The oracle itself: an MSS option right after a NOP sits at option offset 1."""
    assert _mss_position([("NOP", None), ("MSS", 1460)]) == 1


def _load_or_input_error(fn, path, **kw) -> None:
    from scantui.errors import InputError

    try:
        for _ in fn(path, LoadOptions(**kw), LoadStats()):
            pass
    except InputError:
        pass



@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), u8), min_size=1, max_size=8), cut=st.integers(0, 10**6),
       ng=st.booleans(), allow=st.booleans())
def test_corrupted_files_raise_only_input_errors(tmp_path, flips, cut, ng, allow):
    """Flipped bytes and cuts anywhere: the readers return a table or raise InputError, nothing else."""
    frames_ = _fuzz_frames()
    if ng:
        w = NgWriter().shb().idb(1)
        for k, f in enumerate(frames_):
            w.epb(f, k)
        data = bytearray(w.bytes())
    else:
        data = bytearray(b"".join([_pcap_head()] + [struct.pack("<IIII", TS_BASE, k, len(f), len(f)) + f for k, f in enumerate(frames_)]))
    for at, value in flips:
        data[at % len(data)] = value
    data = data[: len(data) - cut % len(data)]
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(data))
    _load_or_input_error(iter_pcapng_batches if ng else iter_pcap_batches, path, allow_truncated=allow)


@functools.cache
def _fuzz_frames() -> list[bytes]:
    return [bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=k, options=[("MSS", 1460)]) / Raw(bytes(k))) for k in range(20)]


def _pcap_head() -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
