"""pcapng reader: interfaces, timestamp resolutions, every block type, sections, errors, chunking."""

from __future__ import annotations

import random
import struct
import warnings
from datetime import datetime, timezone

import polars as pl
import pytest

from scantui.errors import InputError
from scantui.io import pcapng
from scantui.io.options import LoadOptions
from scantui.io.pcapng import iter_pcapng_batches, scan_pcapng
from scantui.io.schema import canonical_schema
from scantui.io.stats import LoadStats

from pcapbuild import NgWriter, arp_frame, block, ether, ipv4, ipv6_packet, null, sll, sll2, tcp, udp

SRC, DST = 0x0A000001, 0xC0000201
T0 = 1_700_000_000


def load(path, **kw) -> tuple[pl.DataFrame, dict]:
    stats = LoadStats()
    batches = list(iter_pcapng_batches(path, LoadOptions(**kw), stats))
    df = pl.concat(batches) if batches else pl.DataFrame(schema=canonical_schema())
    assert df.schema == canonical_schema()
    (f,) = stats.files()
    return df, f.to_dict()


def pkt(sport: int, proto: int = 6) -> bytes:
    l4 = tcp(sport, 80, options=b"\x02\x04\x05\xb4") if proto == 6 else udp(sport, 53)
    return ipv4(SRC, DST, proto, l4)


def us(df: pl.DataFrame) -> list[int | None]:
    return df["ts"].dt.epoch("us").to_list()


@pytest.mark.parametrize("order", ["<", ">"])
def test_interfaces_with_link_types_and_resolutions(tmp_path, order):
    w = NgWriter().shb(order)
    w.idb(1)  # default resolution: microseconds
    w.idb(101, tsresol=9)  # nanoseconds
    w.idb(113, tsresol=3, tsoffset=100)  # milliseconds, +100 s
    w.idb(0, tsresol=0x80 | 10)  # 1/1024 s
    w.idb(276, tsresol=0)  # seconds
    w.idb(228, tsresol=0x80 | 60)  # 2^-60 s (exercises the 64-bit-safe path)
    w.epb(ether(pkt(1)), T0 * 10**6 + 1, iface=0)
    w.epb(pkt(2), T0 * 10**9 + 2_999, iface=1)
    w.epb(sll(pkt(3)), T0 * 10**3 + 4, iface=2)
    w.epb(null(pkt(4)), (T0 << 10) + 512, iface=3)
    w.epb(sll2(pkt(5)), T0, iface=4)
    w.epb(pkt(6), (T0 << 60) >> 30 << 30, iface=5) if T0 < 16 else w.epb(pkt(6), (5 << 60) + (1 << 59), iface=5)
    df, stats = load(w.write(tmp_path / "i.pcapng"))
    assert df["sport"].to_list() == [1, 2, 3, 4, 5, 6]
    assert us(df) == [T0 * 10**6 + 1, T0 * 10**6 + 2, (T0 + 100) * 10**6 + 4000, T0 * 10**6 + 500_000, T0 * 10**6, 5_500_000]
    assert df["tcp_mss"].to_list() == [1460] * 6 and stats["skipped"] == {}


def test_non_packet_blocks_are_ignored(tmp_path):
    w = NgWriter().shb(options=b"").idb(1, extra_options=struct.pack("<HH", 2, 4) + b"eth0")
    w.nrb().epb(ether(pkt(1)), 1).isb().dsb().custom(0x00000BAD).custom(0x40000BAD)
    w.raw(block(0x12345678, b"unknown!")).raw(block(0x80000001, b"local use"))
    w.epb(ether(pkt(2)), 2, options=struct.pack("<HHI", 2, 4, 1) + struct.pack("<HH", 0, 0))  # epb_flags option
    w.raw(block(9, b"\x00" * 8))  # systemd journal export block
    df, stats = load(w.write(tmp_path / "n.pcapng"))
    assert df["sport"].to_list() == [1, 2] and us(df) == [1, 2] and stats["skipped"] == {}


def test_simple_packet_blocks(tmp_path):
    w = NgWriter().shb().idb(1, snaplen=50).idb(101)
    w.spb(ether(pkt(1)))  # before any timestamp: null ts
    w.epb(pkt(2), T0 * 10**6 + 7, iface=1)
    frame = ether(pkt(3))
    w.spb(frame[:50], origlen=len(frame))  # interface 0's snaplen caps it
    w.spb(ether(pkt(4)))  # caplen = min(origlen, block room, snaplen)
    w.pb(ether(pkt(5)), T0 * 10**6 + 9)
    w.spb(ether(pkt(6, proto=17)))
    df, stats = load(w.write(tmp_path / "s.pcapng"))
    assert df["sport"].to_list() == [1, 2, 3, 4, 5, 6]
    assert us(df) == [None, T0 * 10**6 + 7, T0 * 10**6 + 7, T0 * 10**6 + 7, T0 * 10**6 + 9, T0 * 10**6 + 9]
    assert df["tcp_mss"].to_list() == [None, 1460, None, None, 1460, None]  # SPB: MSS ends at byte 58 > snaplen 50
    # the carried timestamp crosses chunk boundaries
    assert us(load(tmp_path / "s.pcapng", chunk_records=1)[0]) == us(df)


def test_multiple_sections(tmp_path):
    w = NgWriter().shb("<").idb(1).idb(101, tsresol=9)
    w.epb(ether(pkt(1)), 1, iface=0).epb(pkt(2), 2000, iface=1)
    w.shb(">").idb(101, tsresol=3)  # new section: interface 0 is now raw IP in milliseconds
    w.epb(pkt(3), 3, iface=0).isb()
    w.shb("<").idb(113)
    w.epb(sll(pkt(4)), 4, iface=0)
    path = w.write(tmp_path / "m.pcapng")
    df, _ = load(path)
    assert df["sport"].to_list() == [1, 2, 3, 4]
    assert us(df) == [1, 2, 3000, 4]
    for chunk in (1, 2, 3):
        assert load(path, chunk_records=chunk)[0].equals(df)


def test_skips(tmp_path):
    w = NgWriter().shb().idb(1).idb(105).idb(229)
    w.epb(ether(pkt(1)), 1).epb(arp_frame(), 2).epb(ether(ipv6_packet(), 0x86DD), 3)
    w.epb(bytes(30), 4, iface=1).epb(ipv6_packet(), 5, iface=2).epb(ether(pkt(2))[:20], 6, origlen=54)
    df, stats = load(w.write(tmp_path / "k.pcapng"))
    assert df.height == 1
    assert stats["skipped"] == {"non_ip": 1, "ipv6": 2, "unsupported_linktype": 1, "short_capture": 1}


def _mixed(n: int, seed: int = 0) -> NgWriter:
    rnd = random.Random(seed)
    w = NgWriter().shb().idb(1).idb(1, tsresol=9)
    for i in range(n):
        r = rnd.random()
        if r < 0.05:
            w.isb()
        iface = rnd.randrange(2)
        data = ether(pkt(i % 65536, 6 if r < 0.7 else 17))
        if r > 0.9:  # payload words equal to 6 with plausible lengths lure the candidate search
            fake = struct.pack("<8I", 6, 32, 0, 0, 0, 0, 0, 32)  # a whole empty EPB, 4-byte aligned in the file
            data = ether(ipv4(SRC, DST, 17, udp(i, 9, payload=b"\0\0" + fake * 2)))
        w.epb(data, (T0 + i) * (10**6 if iface == 0 else 10**9), iface=iface)
    return w


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_chunk_boundaries(tmp_path, chunk):
    path = _mixed(300).write(tmp_path / "c.pcapng")
    whole, s1 = load(path)
    parts, s2 = load(path, chunk_records=chunk)
    assert whole.height == 300 and parts.equals(whole) and s1 == s2
    assert us(whole) == [(T0 + i) * 10**6 for i in range(300)]


# -- malformed input ----------------------------------------------------------------------


def _error(path, **kw) -> str:
    with pytest.raises(InputError) as e:
        load(path, **kw)
    assert e.value.path == str(path)
    return str(e.value)


def test_empty_and_garbage(tmp_path):
    (tmp_path / "z.pcapng").write_bytes(b"")
    assert "not a pcapng file: empty" in _error(tmp_path / "z.pcapng")
    (tmp_path / "g.pcapng").write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(40))
    assert "not a pcapng file: bad magic 0xd4c3b2a1" in _error(tmp_path / "g.pcapng")
    with pytest.raises(InputError, match="bad magic"):
        scan_pcapng(tmp_path / "g.pcapng", LoadOptions(), LoadStats())
    (tmp_path / "b.pcapng").write_bytes(b"\x0a\x0d\x0d\x0a" + struct.pack("<I", 28) + b"nope" + bytes(16))
    assert "byte-order magic" in _error(tmp_path / "b.pcapng")
    (tmp_path / "s.pcapng").write_bytes(b"\x0a\x0d\x0d\x0a\x1c")
    assert "truncated" in _error(tmp_path / "s.pcapng")


def _good_prefix() -> NgWriter:
    return NgWriter().shb().idb(1).epb(ether(pkt(1)), 1).epb(ether(pkt(2)), 2)


def test_block_length_not_multiple_of_4(tmp_path):
    w = _good_prefix()
    offset = len(w.bytes())
    w.raw(struct.pack("<II", 6, 34) + bytes(22) + struct.pack("<I", 34))
    msg = _error(w.write(tmp_path / "m.pcapng"))
    assert f"block 5 at byte {offset}" in msg and "length 34 is not a multiple of 4" in msg


def test_block_length_trailer_mismatch(tmp_path):
    w = _good_prefix()
    offset = len(w.bytes())
    bad = bytearray(block(6, struct.pack("<IIIII", 0, 0, 3, 4, 4) + b"abcd"))
    bad[-4:] = struct.pack("<I", 40)
    w.raw(bytes(bad)).epb(ether(pkt(3)), 3)
    msg = _error(w.write(tmp_path / "t.pcapng"))
    assert f"block 5 at byte {offset}" in msg and "does not match the trailing copy 40" in msg


def test_file_ends_inside_block(tmp_path):
    w = _good_prefix().epb(ether(pkt(3)), 3)
    data = w.bytes()
    (tmp_path / "t.pcapng").write_bytes(data[:-8])
    msg = _error(tmp_path / "t.pcapng")
    assert "truncated: file ends inside block 5" in msg and "(needs 92 bytes, 84 left)" in msg
    df, stats = load(tmp_path / "t.pcapng", allow_truncated=True)
    assert df.height == 2 and stats["skipped"] == {"truncated_record": 1} and stats["complete"]
    (tmp_path / "h.pcapng").write_bytes(data + b"\x06\x00")
    assert "block 6" in _error(tmp_path / "h.pcapng")


@pytest.mark.parametrize("fields, why", [
    ((0, 0, 1, 100, 100), "captured length 100 exceeds the block"),
    ((0, 0, 1, 8, 4), "captured length 8 exceeds the original length 4"),
    ((3, 0, 1, 8, 8), "interface 3 is not described (1 in this section)"),
])
def test_lying_packet_blocks(tmp_path, fields, why):
    w = _good_prefix()
    offset = len(w.bytes())
    w.raw(block(6, struct.pack("<IIIII", *fields) + bytes(8)))
    w.epb(ether(pkt(3)), 3)
    msg = _error(w.write(tmp_path / "l.pcapng"))
    assert why in msg and f"block 5 at byte {offset}" in msg


def test_undescribed_interface_in_a_long_run(tmp_path):
    w = NgWriter().shb().idb(1)
    for i in range(50):
        w.epb(ether(pkt(i)), i, iface=0 if i != 40 else 1)
    msg = _error(w.write(tmp_path / "u.pcapng"))
    assert "block 43 at byte" in msg and "interface 1 is not described" in msg


def test_scapy_written_pcapng(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from scapy.layers.inet import IP, TCP
        from scapy.layers.l2 import Ether
        from scapy.utils import PcapNgWriter

    path = tmp_path / "s.pcapng"
    w = PcapNgWriter(str(path))
    for i in range(4):
        p = Ether() / IP(src="10.0.0.1", dst="192.0.2.1") / TCP(sport=2000 + i, dport=443, window=1024, options=[("MSS", 1460)])
        p.time = T0 + i / 4
        w.write(p)
    w.close()
    df, _ = load(path)
    assert df["sport"].to_list() == [2000, 2001, 2002, 2003] and df["tcp_window"].to_list() == [1024] * 4
    assert df["ts"][1] == datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=timezone.utc)


def test_scan_pcapng_lazyframe(tmp_path):
    path = _mixed(100).write(tmp_path / "l.pcapng")
    stats = LoadStats()
    lf = scan_pcapng(path, LoadOptions(chunk_records=10), stats)
    full = lf.collect()
    assert full.height == 100 and stats.files()[0].complete and stats.files()[0].format == "pcapng"
    assert lf.filter(pl.col("proto") == 17).select("sport").collect().equals(full.filter(pl.col("proto") == 17).select("sport"))
    assert lf.head(3).collect().equals(full.head(3))


@pytest.mark.parametrize("window", [32, 500])
def test_small_search_windows(tmp_path, monkeypatch, window):
    w = _mixed(200, seed=3)
    w.spb(ether(pkt(1))).shb(">").idb(1, tsresol=3).epb(ether(pkt(2)), 5).pb(ether(pkt(3)), 6)
    path = w.write(tmp_path / "w.pcapng")
    whole, stats = load(path)
    monkeypatch.setattr(pcapng, "WINDOW_BYTES", window)
    small, small_stats = load(path)
    assert whole.height == 203 and small.equals(whole) and small_stats == stats
