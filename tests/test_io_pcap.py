"""Classic pcap reader: link types, byte orders, truncation, skips, errors, chunking, the LazyFrame."""

from __future__ import annotations

import random
import struct
import warnings
from datetime import datetime, timezone

import polars as pl
import pytest

import numpy as np

from scantui.errors import InputError
from scantui.io import pcap
from scantui.io.frames import ByteViews
from scantui.io.options import LoadOptions
from scantui.io.pcap import iter_pcap_batches, scan_pcap
from scantui.io.schema import canonical_schema
from scantui.io.stats import LoadStats

from pcapbuild import Rec, arp_frame, ether, ipv4, ipv6_packet, null, pcap_bytes, sll, sll2, tcp, udp, write_pcap

SRC, DST = 0x0A000001, 0xC0000201
MSS_OPTS = b"\x01\x01\x02\x04\x05\xb4"  # NOP NOP MSS 1460


def load(path, **kw) -> tuple[pl.DataFrame, dict]:
    stats = LoadStats()
    batches = list(iter_pcap_batches(path, LoadOptions(**kw), stats))
    df = pl.concat(batches) if batches else pl.DataFrame(schema=canonical_schema())
    assert df.schema == canonical_schema()
    (f,) = stats.files()
    return df, f.to_dict()


def syn(sport=40000, dport=23, **kw) -> bytes:
    return ipv4(SRC, DST, 6, tcp(sport, dport, seq=0xDEADBEEF, ack=5, flags=0x12, window=29200, options=MSS_OPTS), **kw)


def assert_syn_row(row: dict) -> None:
    assert row["src"] == SRC and row["dst"] == DST and row["proto"] == 6
    assert (row["sport"], row["dport"], row["tcp_seq"], row["tcp_ack"]) == (40000, 23, 0xDEADBEEF, 5)
    assert (row["tcp_flags"], row["tcp_window"], row["tcp_mss"], row["ttl"], row["ip_len"]) == (0x12, 29200, 1460, 64, 48)


# -- link types ---------------------------------------------------------------------------

LINKS = {
    "ethernet": (1, lambda p: ether(p)),
    "raw12": (12, lambda p: p),
    "raw14": (14, lambda p: p),
    "raw101": (101, lambda p: p),
    "ipv4": (228, lambda p: p),
    "sll": (113, lambda p: sll(p)),
    "sll2": (276, lambda p: sll2(p)),
    "null_le": (0, lambda p: null(p, 2, "<")),
    "null_be": (0, lambda p: null(p, 2, ">")),
    "loop": (108, lambda p: null(p, 2, ">")),
}


@pytest.mark.parametrize("name", sorted(LINKS))
def test_link_types(tmp_path, name):
    linktype, wrap = LINKS[name]
    path = write_pcap(tmp_path / "x.pcap", [Rec(wrap(syn())), Rec(wrap(ipv4(SRC, DST, 17, udp(1, 2))))], linktype)
    df, stats = load(path)
    assert df.height == 2 and stats["skipped"] == {} and stats["complete"]
    assert_syn_row(df.row(0, named=True))
    assert df.row(1, named=True)["dport"] == 2


@pytest.mark.parametrize("tpids", [(0x8100,), (0x88A8,), (0x9100,), (0x88A8, 0x8100), (0x9100, 0x8100, 0x8100)])
def test_vlan_tags(tmp_path, tpids):
    frame = ether(syn(), vlans=tuple((t, 100 + i) for i, t in enumerate(tpids)))
    df, _ = load(write_pcap(tmp_path / "v.pcap", [Rec(frame), Rec(ether(syn()))]))
    assert df.height == 2
    assert_syn_row(df.row(0, named=True))


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nanos", [False, True])
def test_byte_orders_and_precision(tmp_path, order, nanos):
    frac = 123_456_789 if nanos else 123_456
    path = write_pcap(tmp_path / "t.pcap", [Rec(ether(syn()), ts=(1_700_000_000, frac))] * 3, order=order, nanos=nanos)
    df, _ = load(path)
    want = datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=timezone.utc)
    assert df["ts"].to_list() == [want] * 3  # nanoseconds truncated to microseconds
    assert_syn_row(df.row(0, named=True))


def test_linktype_field_upper_bits_ignored(tmp_path):
    data = bytearray(pcap_bytes([Rec(ether(syn()))]))
    data[20:24] = struct.pack("<I", 1 | 0x14000000)  # FCS length bits set
    (tmp_path / "f.pcap").write_bytes(bytes(data))
    assert load(tmp_path / "f.pcap")[0].height == 1


# -- protocol details ---------------------------------------------------------------------


def test_icmp_udp_and_other_protocols(tmp_path):
    recs = [
        Rec(ether(ipv4(SRC, DST, 1, b"\x08\x00\x00\x00\x00\x01\x00\x01"))),
        Rec(ether(ipv4(SRC, DST, 17, udp(5060, 5060)))),
        Rec(ether(ipv4(SRC, DST, 47, bytes(8)))),
    ]
    df, _ = load(write_pcap(tmp_path / "p.pcap", recs))
    assert df["proto"].to_list() == [1, 17, 47]
    assert df["sport"].to_list() == [None, 5060, None]
    for col in ("tcp_flags", "tcp_seq", "tcp_ack", "tcp_window", "tcp_mss"):
        assert df[col].null_count() == 3


def test_fragments_ip_options_and_padding(tmp_path):
    recs = [
        Rec(ether(ipv4(SRC, DST, 6, tcp(1, 2), frag=0x2000))),  # more-fragments, offset 0: first fragment
        Rec(ether(ipv4(SRC, DST, 6, bytes(40), frag=100))),  # later fragment: no transport header
        Rec(ether(ipv4(SRC, DST, 6, tcp(3, 4, options=MSS_OPTS), ihl=7, options=b"\x01" * 8))),
        Rec(ether(ipv4(SRC, DST, 6, tcp(5, 6))) + bytes(6)),  # Ethernet padding after the datagram
        Rec(ether(ipv4(SRC, DST, 6, tcp(7, 8, options=b"\x02\x04\x05\xb4"), total_len=40))),  # ip_len hides the option
        Rec(ether(ipv4(SRC, DST, 6, tcp(9, 10, options=MSS_OPTS), total_len=0))),  # TSO capture: ip_len 0
    ]
    df, _ = load(write_pcap(tmp_path / "p.pcap", recs))
    assert df["sport"].to_list() == [1, None, 3, 5, 7, 9]
    assert df["tcp_mss"].to_list() == [None, None, 1460, None, None, 1460]
    assert df["ip_len"].to_list()[4:] == [40, 0]


@pytest.mark.parametrize(
    "opts, mss",
    [
        (b"\x02\x04\x05\xb4", 1460),
        (b"\x01\x01\x01\x03\x03\x07\x02\x04\x21\x00", 0x2100),  # NOPs, window scale, then MSS
        (b"\x00\x02\x04\x05\xb4", None),  # end of list before MSS
        (b"\x04\x02\x08\x0a" + bytes(8) + b"\x02\x04\x01\x00", 256),  # SACK-permitted, timestamps, MSS
        (b"\x02\x03\x05\x01\x01\x01", None),  # kind 2 with length 3 is not an MSS option
        (b"\x08\x01\x02\x04\x05\xb4", None),  # malformed length 1 stops the walk
        (b"\x08\x00\x02\x04\x05\xb4", None),  # length 0 as well
        (b"\x1e\x27" + bytes(37) + b"\x02", None),  # an option running past the header
        (b"\x01" * 36 + b"\x02\x04\x12\x34", 0x1234),  # MSS as the last 4 of 40 option bytes
    ],
)
def test_tcp_option_walk(tmp_path, opts, mss):
    df, _ = load(write_pcap(tmp_path / "o.pcap", [Rec(ether(ipv4(SRC, DST, 6, tcp(options=opts))))]))
    assert df["tcp_mss"].to_list() == [mss]


def test_truncated_snaplen_records(tmp_path):
    full = ether(syn())  # 14 + 20 + 20 + 8 (options: NOP NOP MSS + 2 pad)
    cuts = [10, 14, 33, 34, 36, 38, 42, 46, 48, 50, 54, 57, 58, 62]
    recs = [Rec(full[:c], origlen=len(full)) for c in cuts]
    df, stats = load(write_pcap(tmp_path / "s.pcap", recs, snaplen=96))
    assert stats["skipped"] == {"short_capture": 3}
    assert df.height == len(cuts) - 3
    assert df["src"].to_list() == [SRC] * df.height
    assert df["sport"].to_list() == [None, None, 40000, 40000, 40000, 40000, 40000, 40000, 40000, 40000, 40000]
    assert df["tcp_seq"].null_count() == 3 and df["tcp_ack"].null_count() == 4
    assert df["tcp_flags"].to_list()[:6] == [None] * 5 + [0x12]
    assert df["tcp_window"].to_list()[5:7] == [None, 29200]
    assert df["tcp_mss"].to_list() == [None] * 9 + [None, 1460]


# -- skipped packets ----------------------------------------------------------------------


def test_ipv6_arp_and_bad_headers_are_skipped(tmp_path):
    recs = [
        Rec(ether(syn())),
        Rec(ether(ipv6_packet(), 0x86DD)),
        Rec(arp_frame()),
        Rec(ether(b"\x50" + syn()[1:])),  # EtherType IPv4, version 5
        Rec(ether(b"\x44" + syn()[1:])),  # IHL 4
        Rec(ether(syn(), ethertype=0x0060)),  # 802.3 length field
    ]
    df, stats = load(write_pcap(tmp_path / "k.pcap", recs))
    assert df.height == 1
    assert stats["skipped"] == {"ipv6": 1, "non_ip": 2, "bad_ip_header": 2}


@pytest.mark.parametrize("linktype, frame", [(101, ipv6_packet()), (229, ipv6_packet()), (0, null(ipv6_packet(), 24)),
                                              (0, null(ipv6_packet(), 30, ">")), (113, sll(ipv6_packet(), 0x86DD)),
                                              (276, sll2(ipv6_packet(), 0x86DD))])
def test_ipv6_on_other_links(tmp_path, linktype, frame):
    _, stats = load(write_pcap(tmp_path / "6.pcap", [Rec(frame)], linktype))
    assert stats["skipped"] == {"ipv6": 1}


def test_unsupported_linktype(tmp_path):
    df, stats = load(write_pcap(tmp_path / "w.pcap", [Rec(bytes(40))] * 4, 105))
    assert df.height == 0 and stats["skipped"] == {"unsupported_linktype": 4} and stats["complete"]


def test_header_only_file(tmp_path):
    df, stats = load(write_pcap(tmp_path / "e.pcap", []))
    assert df.height == 0 and stats["rows"] == 0 and stats["complete"]


# -- malformed input ----------------------------------------------------------------------


def _error(path, **kw) -> str:
    with pytest.raises(InputError) as e:
        load(path, **kw)
    assert e.value.path == str(path)
    return str(e.value)


def test_zero_length_file(tmp_path):
    (tmp_path / "z.pcap").write_bytes(b"")
    assert "not a pcap file: empty" in _error(tmp_path / "z.pcap")
    with pytest.raises(InputError, match="empty"):
        scan_pcap(tmp_path / "z.pcap", LoadOptions(), LoadStats())


@pytest.mark.parametrize("data", [b"garbage!" * 20, b"\x0a\x0d\x0d\x0a" + bytes(40), bytes(100), b"\x01"])
def test_wrong_magic(tmp_path, data):
    (tmp_path / "g.pcap").write_bytes(data)
    msg = _error(tmp_path / "g.pcap")
    assert "not a pcap file" in msg and str(tmp_path / "g.pcap") in msg


def test_truncated_file_header(tmp_path):
    (tmp_path / "h.pcap").write_bytes(pcap_bytes([])[:20])
    assert "truncated: file header needs 24 bytes, 20 present" in _error(tmp_path / "h.pcap")


def test_file_ends_inside_record_data(tmp_path):
    data = pcap_bytes([Rec(ether(syn()))] * 3)
    (tmp_path / "t.pcap").write_bytes(data[:-10])
    msg = _error(tmp_path / "t.pcap")
    start = 24 + 2 * (16 + 62)
    assert f"record 3 at byte {start}" in msg and "truncated: file ends inside record 3 (needs 78 bytes, 68 left)" in msg
    df, stats = load(tmp_path / "t.pcap", allow_truncated=True)
    assert df.height == 2 and stats["skipped"] == {"truncated_record": 1} and stats["complete"]


def test_file_ends_inside_record_header(tmp_path):
    data = pcap_bytes([Rec(ether(syn()))] * 2)
    (tmp_path / "t.pcap").write_bytes(data + b"\x00" * 7)
    assert "file ends inside record 3 (needs 16 bytes, 7 left)" in _error(tmp_path / "t.pcap")
    assert load(tmp_path / "t.pcap", allow_truncated=True)[1]["skipped"] == {"truncated_record": 1}


@pytest.mark.parametrize("caplen, origlen, why", [
    (300_000, 300_000, "captured length 300000 exceeds the maximum 262144"),
    (60, 40, "captured length 60 exceeds the original length 40"),
])
def test_lying_record_length(tmp_path, caplen, origlen, why):
    recs = [Rec(ether(syn()))] * 5 + [Rec(bytes(60), caplen=caplen, origlen=origlen)]
    path = write_pcap(tmp_path / "l.pcap", recs, snaplen=262144)
    msg = _error(path)
    assert why in msg and f"record 6 at byte {24 + 5 * 78}" in msg


def test_caplen_far_beyond_snaplen(tmp_path):
    path = write_pcap(tmp_path / "s.pcap", [Rec(ether(syn())), Rec(bytes(70000), caplen=70000, origlen=70000)], snaplen=96)
    assert "record 2 at byte 102: bad record: captured length 70000 exceeds the snapshot length 96" in _error(path)


def test_errors_propagate_through_lazyframe(tmp_path):
    data = pcap_bytes([Rec(ether(syn()))] * 3)
    (tmp_path / "t.pcap").write_bytes(data[:-1])
    lf = scan_pcap(tmp_path / "t.pcap", LoadOptions(), LoadStats())
    with pytest.raises(InputError, match="record 3"):
        lf.collect()


# -- chunking and the record search ---------------------------------------------------


def _mixed_records(n: int, seed: int = 1, ts0: float = 1_700_000_000.0) -> list[Rec]:
    rnd = random.Random(seed)
    recs = []
    for i in range(n):
        r = rnd.random()
        if r < 0.6:
            frame = ether(ipv4(rnd.getrandbits(32), DST + i, 6, tcp(rnd.getrandbits(16), 22, seq=rnd.getrandbits(32), options=MSS_OPTS if r < 0.3 else b"")))
        elif r < 0.8:
            frame = ether(ipv4(rnd.getrandbits(32), DST, 17, udp(53, 53, payload=rnd.randbytes(rnd.randrange(0, 400)))))
        elif r < 0.85:
            frame = arp_frame()
        elif r < 0.9:
            frame = ether(syn(), vlans=((0x8100, 7),))
        else:
            # payload that looks like record headers: lures the candidate search
            fake = struct.pack("<IIII", int(ts0), 5, 40, 40) * rnd.randrange(1, 4)
            frame = ether(ipv4(SRC, DST, 17, udp(1, 2, payload=fake + rnd.randbytes(rnd.randrange(0, 30)))))
        recs.append(Rec(frame, ts=ts0 + i * 0.001))
    return recs


@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_chunk_boundaries(tmp_path, chunk):
    path = write_pcap(tmp_path / "c.pcap", _mixed_records(400))
    whole, s1 = load(path)
    parts, s2 = load(path, chunk_records=chunk)
    assert whole.height > 300
    assert parts.equals(whole) and s1 == s2
    batches = list(iter_pcap_batches(path, LoadOptions(chunk_records=chunk), LoadStats()))
    assert max(b.height for b in batches) <= chunk


def test_fixed_size_records_then_mixed(tmp_path):
    recs = [Rec(ether(syn(sport=i % 65536)), ts=1_700_000_000 + i / 1000) for i in range(3000)] + _mixed_records(300, seed=2)
    df, stats = load(write_pcap(tmp_path / "f.pcap", recs))
    assert df["sport"].head(3000).to_list() == [i % 65536 for i in range(3000)]
    assert stats["rows"] == df.height


def test_time_jumps(tmp_path):
    """Records whose timestamp high byte changes (years apart, or alternating) are all found."""
    recs = _mixed_records(300, seed=3, ts0=1_000_000_000) + _mixed_records(300, seed=4, ts0=1_700_000_000)
    alternating = [Rec(r.data, ts=(1_000_000_000 if i % 2 else 4_000_000_000) + i) for i, r in enumerate(_mixed_records(600, seed=5))]
    for name, rr in (("jump", recs), ("alt", alternating)):
        path = write_pcap(tmp_path / f"{name}.pcap", rr)
        df, stats = load(path)
        want = sum(1 for r in rr if r.data[12:14] in (b"\x08\x00", b"\x81\x00"))
        assert df.height == want and sum(stats["skipped"].values()) == len(rr) - want
        assert load(path, chunk_records=50)[0].equals(df)


# -- LazyFrame ----------------------------------------------------------------------------


def test_scan_pcap_lazyframe(tmp_path):
    path = write_pcap(tmp_path / "l.pcap", _mixed_records(200))
    stats = LoadStats()
    lf = scan_pcap(path, LoadOptions(chunk_records=16), stats)
    assert lf.collect_schema() == canonical_schema()
    full = lf.collect()
    assert stats.files()[0].complete and stats.files()[0].rows == full.height
    assert lf.select("src", "dport").collect().equals(full.select("src", "dport"))
    assert lf.filter(pl.col("proto") == 17).collect().equals(full.filter(pl.col("proto") == 17))
    assert lf.head(5).collect().equals(full.head(5))
    assert lf.filter(pl.col("dport") == 22).select("sport").head(3).collect().equals(full.filter(pl.col("dport") == 22).select("sport").head(3))


def test_sensor_column(tmp_path):
    path = write_pcap(tmp_path / "s.pcap", [Rec(ether(syn()))])
    df = scan_pcap(path, LoadOptions(sensor="tel-1"), LoadStats()).collect()
    assert df["sensor"].to_list() == ["tel-1"] and df.columns[-1] == "sensor"


def test_scapy_written_pcap(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from scapy.layers.inet import IP, TCP
        from scapy.layers.l2 import Ether
        from scapy.utils import PcapWriter

    pkts = [Ether() / IP(src="10.0.0.1", dst="192.0.2.1", id=54321) / TCP(sport=1000 + i, dport=80, options=[("MSS", 1400)]) for i in range(5)]
    for k, p in enumerate(pkts):
        p.time = 1_700_000_000 + k
    for nano, endian in ((False, "<"), (True, ">")):
        path = tmp_path / f"s{nano}.pcap"
        w = PcapWriter(str(path), nano=nano, endianness=endian, sync=True)
        w.write(pkts)
        w.close()
        df, _ = load(path)
        assert df["sport"].to_list() == [1000, 1001, 1002, 1003, 1004]
        assert df["ip_id"].to_list() == [54321] * 5 and df["tcp_mss"].to_list() == [1400] * 5
        assert df["ts"].dt.epoch("s").to_list() == [1_700_000_000 + k for k in range(5)]


@pytest.mark.parametrize("window", [64, 1000])
def test_small_search_windows(tmp_path, monkeypatch, window):
    """Records spanning many search windows (and windows smaller than a record) give the same table."""
    path = write_pcap(tmp_path / "w.pcap", _mixed_records(300, seed=6))
    whole, stats = load(path)
    monkeypatch.setattr(pcap, "WINDOW_BYTES", window)
    small, small_stats = load(path)
    assert small.equals(whole) and small_stats == stats


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 100, 1003])
def test_byte_views_read_to_the_end(size):
    data = bytes(random.Random(size).randrange(256) for _ in range(size))
    views = ByteViews(data)
    pos = np.arange(size + 20, dtype=np.int64)
    for nwords in (1, 2, 6):
        words = views.words(pos, nwords)
        got = np.stack(words).T.copy().view(np.uint8) if size + 20 else None
        for p in range(size + 20):
            assert bytes(got[p]) == data[p : p + 8 * nwords].ljust(8 * nwords, b"\0")
