"""The packets model (issue 14, parts 1-2 below the TUI): field filter, selection, frequency, record
references, original bytes, dissection, pcap/table export, and ``scantui packets`` — on real captures."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pcapbuild as pb
from clihelp import run
from scantui.analysis import packets as P
from scantui.analysis.packet_source import FramePackets
from scantui.io.loader import open_inputs
from scantui.io.packet_refs import ChangedCapture
from scantui.safetext import is_safe
from scantui.workspace import Workspace

SRC = str(Path(__file__).resolve().parents[1] / "src")
T0 = 1_706_745_600  # 2024-02-01T00:00:00Z
HOSTILE = b"\x1b]0;pwned\x07\x1b[31m[bold red]x[/]\x9b2J\xe2\x80\xae"


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))


def _frame(i: int, *, hostile: bool = False) -> bytes:
    tcp = pb.tcp(sport=40000 + i, dport=(22, 80, 443)[i % 3], seq=1000 + i, flags=(2, 18, 4)[i % 3] if i % 5 else 2,
                 window=(1024, 65535)[i % 2])
    payload = tcp + (HOSTILE if hostile else b"")
    return pb.ether(pb.ipv4(src=0x0A000001 + i % 4, dst=0xC6120000 + i, payload=payload, ip_id=54321 if i % 2 else i,
                            ttl=(64, 128, 250)[i % 3]))


def _records(n: int = 90, hostile_at: int = -1) -> list[pb.Rec]:
    # three days, eight hours apart
    return [pb.Rec(_frame(i, hostile=i == hostile_at), ts=float(T0 + i * 2880 + 0.25)) for i in range(n)]


@pytest.fixture
def captures(tmp_path):
    """A pcap, a gzipped pcap and a pcapng: 90 packets over three days, with their record bytes by time."""
    recs = _records(hostile_at=7)
    a = pb.write_pcap(tmp_path / "a.pcap", recs[:30])
    b = tmp_path / "b.pcap.gz"
    b.write_bytes(gzip.compress(pb.pcap_bytes(recs[30:60])))
    ng = pb.NgWriter().shb().idb(1)
    for r in recs[60:]:
        ng.epb(r.data, int(r.ts * 1_000_000))
    c = ng.write(tmp_path / "c.pcapng")
    by_ts = {int(round(r.ts * 1_000_000)): r.data for r in recs}
    return [a, b, c], by_ts


def _us(ts: dt.datetime) -> int:
    return (ts - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def _tiny() -> pl.DataFrame:
    rows = [
        dict(ts=dt.datetime(2024, 2, 1, 0, 0, i, tzinfo=dt.timezone.utc), src=0x0A000001 + i % 2, dst=0xC6120000 + i,
             proto=6 if i < 8 else 17, sport=40000 + i * 20, dport=(22, 80)[i % 2], ip_id=54321 if i % 2 else i,
             ttl=(64, 128, 250, 30)[i % 4], ip_len=40 + i, tcp_flags=(2, 18, 4, 17)[i % 4] if i < 8 else None,
             tcp_seq=i if i < 8 else None, tcp_ack=0 if i < 8 else None,
             tcp_window=(1024, 29200)[i % 2] if i < 8 else None, tcp_mss=1460 if i % 3 == 0 and i < 8 else None,
             sensor="tel-1" if i % 2 else "tel-2")
        for i in range(10)
    ]
    from scantui.io.schema import conform

    return conform(pl.DataFrame(rows).lazy()).collect()


def _ids(where: str) -> list[int]:
    return _tiny().filter(P.parse_where(where))["ip_len"].to_list()  # ip_len = 40 + row number


def _rows(*ids: int) -> list[int]:
    return [40 + i for i in ids]


# ---------------------------------------------------------------- the field filter


ODD, EVEN, TCP_ODD = [1, 3, 5, 7, 9], [0, 2, 4, 6, 8], [1, 3, 5, 7]


@pytest.mark.parametrize("where, seqs", [
    ("", list(range(10))),
    ("ttl:64", [0, 4, 8]),
    ("ttl:64,128", [0, 1, 4, 5, 8, 9]),
    ("ttl:64 ttl:128", [0, 1, 4, 5, 8, 9]),  # a repeated key ORs
    ("ipid:54321", ODD), ("ip_id:54321 ttl:128", [1, 5, 9]),
    ("win:29200", TCP_ODD), ("window:1024 dport:80", []),
    ("flags:S", [0, 4]), ("flags:SA", [1, 5]), ("flags:AS", [1, 5]), ("flags:+S", [0, 1, 4, 5]),
    ("flags:+A", [1, 3, 5, 7]), ("flags:FA", [3, 7]), ("tcp_flags:18", [1, 5]),
    ("mss:1460", [0, 3, 6]), ("sport:40000-40060", [0, 1, 2, 3]), ("sport:40000-40020,40140", [0, 1, 7]),
    ("dport:22", EVEN), ("src:10.0.0.2", ODD), ("src:10.0.0.0/30", list(range(10))),
    ("dst:198.18.0.3", [3]), ("len:40-41", [0, 1]), ("proto:tcp", list(range(8))), ("proto:6", list(range(8))),
    ("proto:udp", [8, 9]), ("seq:5", [5]), ("ack:0", list(range(8))), ("sensor:TEL-1", ODD),
    ("ttl>=128", [1, 2, 5, 6, 9]), ("ttl<64", [3, 7]), ("ttl>200 dport:80", []), ("len>46", [7, 8, 9]),
    ("-win:1024", [1, 3, 5, 7, 8, 9]), ("!ttl:64,128", [2, 3, 6, 7]), ("-flags:+S ttl<200", [3, 7, 8, 9]),
    ("10.0.0.2", ODD), ("198.18.0.0/31", [0, 1]), ("-10.0.0.2", EVEN), ('"ttl:64"', [0, 4, 8]),
])
def test_filter_keys(where, seqs):
    assert _ids(where) == _rows(*seqs)


def test_filter_rows_without_the_field():
    assert _ids("-flags:S") == _rows(1, 2, 3, 5, 6, 7, 8, 9)  # UDP rows (no flags) are not SYN: kept by a negation
    assert _ids("flags:+R") == _rows(2, 6)  # and never matched by a positive term


@pytest.mark.parametrize("where, named", [
    ("bogus:1", "bogus:1"), ("ttl:abc", "ttl:abc"), ("ttl:300", "ttl:300"), ("flags:X", "flags:X"),
    ("src:1.2.3.400", "src:1.2.3.400"), ("sport:9-3", "sport:9-3"), ("ttl:", "ttl:"), ("hello", "hello"),
    ("src>5", "src>5"), ('ttl:"64', "unreadable"), ("2001:db8::1", "2001:db8::1"),
])
def test_filter_errors_name_the_term(where, named):
    with pytest.raises(P.PacketFilterError) as err:
        P.parse_where(where)
    assert named in str(err.value)
    assert isinstance(err.value, ValueError)


def test_where_help_lists_every_key():
    for key in ("ttl", "ipid", "win", "flags", "mss", "sport", "dport", "src", "dst", "len", "proto", "seq", "ack",
                "sensor", "flags:+S"):
        assert key in P.WHERE_HELP


@settings(max_examples=60, deadline=None)
@given(lo=st.integers(0, 255), hi=st.integers(0, 255), neg=st.booleans(), op=st.sampled_from([">", ">=", "<", "<="]),
       cut=st.integers(0, 255))
def test_filter_property_ttl(lo, hi, neg, op, cut):
    lo, hi = min(lo, hi), max(lo, hi)
    df = pl.DataFrame({"ttl": list(range(256))}, schema={"ttl": pl.UInt8})
    got = df.filter(P.parse_where(f"{'-' if neg else ''}ttl:{lo}-{hi} ttl{op}{cut}"))["ttl"].to_list()
    cmp = {">": cut.__lt__, ">=": cut.__le__, "<": cut.__gt__, "<=": cut.__ge__}[op]
    assert got == [t for t in range(256) if ((lo <= t <= hi) != neg) and cmp(t)]


# ---------------------------------------------------------------- selection, paging, frequency


def test_frequency_letters_and_dotted():
    lf = _tiny().lazy()
    flags = P.frequency(lf, "flags")
    assert flags.columns == ["value", "count", "share"]
    assert flags.row(0) == ("S", 2, 0.2) and set(flags["value"].to_list()) == {"S", "SA", "R", "FA", None}
    src = P.frequency(lf, "src", limit=1)
    assert src.height == 1 and src["value"][0] in ("10.0.0.1", "10.0.0.2") and src["count"][0] == 5
    assert P.frequency(lf, "ttl")["count"].to_list() == [3, 3, 2, 2]
    with pytest.raises(P.PacketFilterError, match="nope"):
        P.frequency(lf, "nope")
    hostile = _tiny().with_columns(sensor=pl.lit("tel\x1b[2J\u202e")).lazy()
    assert P.frequency(hostile, "sensor")["value"].to_list() == ["tel\\x1b[2J\\u202e"]


def test_original_bytes_gzipped_pcapng(tmp_path):
    recs = _records(12)
    ng = pb.NgWriter().shb().idb(1)
    for r in recs[:6]:
        ng.epb(r.data, int(r.ts * 1_000_000))
    ng.spb(recs[6].data)  # no timestamp: it takes the previous packet's
    for r in recs[7:]:
        ng.epb(r.data, int(r.ts * 1_000_000))
    path = tmp_path / "n.pcapng.gz"
    path.write_bytes(gzip.compress(ng.bytes()))
    source, files = Workspace.open([path]).packet_view()
    rows = P.select_packets(source, P.PacketSelection()).collect()
    assert rows.height == 12 and files[0].compression == "gzip" and files[0].format == "pcapng"
    got = sorted(P.packet_bytes(row, files) for row in rows.iter_rows(named=True))
    assert got == sorted(r.data for r in recs)
    out = tmp_path / "n.pcap"
    assert P.write_pcap(P.select_packets(source, P.PacketSelection()), out, files).original == 12
    assert sorted(open_inputs([out]).lf.collect()["tcp_seq"].to_list()) == list(range(1000, 1012))


def test_selection_on_day_tables_equals_plain_frame(captures):
    paths, _ = captures
    ws = Workspace.open(paths)
    source, files = ws.packet_view()
    assert type(source).__name__ == "DayPackets" and len(source.days()) == 3
    assert [Path(f.path).name for f in files] == ["a.pcap", "b.pcap.gz", "c.pcapng"]
    plain = FramePackets(open_inputs(paths).lf)
    day2 = dt.date(2024, 2, 2)
    for sel in (P.PacketSelection(), P.PacketSelection(srcs=(0x0A000002,)), P.PacketSelection(ports=(22, 443)),
                P.PacketSelection(nets=((0x0A000000, 0x0A000001),), where="flags:+S ttl<200"),
                P.PacketSelection(days=(day2,), where="-win:1024"),
                P.PacketSelection(since=dt.datetime(2024, 2, 1, 20), until=dt.datetime(2024, 2, 2, 9)),
                P.PacketSelection(srcs=(0x0A000002,), nets=((0x0A000000, 0x0A000000),), ports=(22, 80), days=(day2,))):
        lf = P.select_packets(source, sel)
        rolled = lf.collect()
        # sources, ports and days only: each day counted from its port_day rows, not its packets
        countable = not sel.where and sel.since is None
        assert all((c is not None) == countable for c in P._days_of(lf).counters), sel
        assert P.packet_count(lf) == rolled.height, sel
        assert {"ref_file", "ref_off"} <= set(rolled.columns)
        flat = P.select_packets(plain, sel).collect()
        assert "ref_off" not in flat.columns
        assert rolled.drop("ref_file", "ref_off").equals(flat), sel
        assert rolled["ts"].is_sorted()
    page = P.packet_page(P.select_packets(source, P.PacketSelection()), 10, 5)
    assert page.height == 5 and page["tcp_seq"].to_list() == [1010, 1011, 1012, 1013, 1014]
    assert P.packet_count(P.select_packets(source, P.PacketSelection(ports=(22,)))) == 30
    lf = P.select_packets(source, P.PacketSelection(where="-dport:80"))
    whole = lf.collect()
    for offset, n in ((0, 7), (18, 5), (55, 30), (59, 1), (60, 5), (0, 500)):  # day by day, across days, the end
        assert P.packet_page(lf, offset, n).equals(whole.slice(offset, n)), (offset, n)
    assert P.packet_count(lf) == whole.height == 60


def test_bad_where_raises_before_reading():
    with pytest.raises(P.PacketFilterError, match="ttl:x"):
        P.select_packets(pl.LazyFrame({"nope": [1]}), P.PacketSelection(where="ttl:x"))


def test_parse_src():
    assert P.PacketSelection.parse_src("10.0.0.1, 192.0.2.0/31") == ((0x0A000001,), ((0xC0000200, 0xC0000201),))
    assert P.PacketSelection.parse_src("10.0.0.0/8") == (None, ((0x0A000000, 0x0AFFFFFF),))
    with pytest.raises(ValueError, match="10.0.0.256"):
        P.PacketSelection.parse_src("10.0.0.256")


# ---------------------------------------------------------------- bytes, dissection, export


def test_original_bytes_by_reference_pcap_gzip_pcapng(captures):
    paths, by_ts = captures
    source, files = Workspace.open(paths).packet_view()
    rows = P.select_packets(source, P.PacketSelection()).collect()
    assert rows.height == 90 and rows["ref_file"].n_unique() == 3
    for row in rows.iter_rows(named=True):
        assert P.packet_bytes(row, files) == by_ts[_us(row["ts"])]
    assert P.packet_bytes({"ts": None}, files) is None  # no reference: not from a capture


def test_changed_capture_is_refused(captures, tmp_path):
    paths, _ = captures
    source, files = Workspace.open(paths).packet_view()
    row = P.select_packets(source, P.PacketSelection(srcs=(0x0A000001,))).collect().row(0, named=True)
    path = Path(files[row["ref_file"]].path)
    path.write_bytes(path.read_bytes() + b"\x00" * 16)  # appended to: not the file decoded
    with pytest.raises(ChangedCapture, match="changed since it was decoded"):
        P.packet_bytes(row, files)
    with pytest.raises(ChangedCapture):
        P.dissect(row, files)
    out = tmp_path / "x.pcap"
    with pytest.raises(ChangedCapture):
        P.write_pcap(P.select_packets(source, P.PacketSelection()), out, files)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".x.pcap")]


def test_dissection_from_capture_and_synthesized(captures):
    paths, by_ts = captures
    source, files = Workspace.open(paths).packet_view()
    row = P.select_packets(source, P.PacketSelection(where="seq:1007")).collect().row(0, named=True)
    d = P.dissect(row, files)
    assert d.from_capture and d.raw == by_ts[_us(row["ts"])] and d.note == ""
    assert [layer.name for layer in d.layers][:3] == ["Ethernet", "IP", "TCP"]
    ip = dict(d.layers[1].fields)
    assert ip["src"] == "10.0.0.4" and ip["ttl"] == "128"
    # the hostile payload: shown as data, never as control characters or markup that acts
    for layer in d.layers:
        for name, value in (("", layer.name), *layer.fields):
            assert is_safe(name) and is_safe(value) and "\n" not in value
    lines = P.hexdump(d.raw)
    assert all(line.isascii() and line.isprintable() for line in lines)
    assert lines[0].startswith("0000  ") and len(lines) == (len(d.raw) + 15) // 16
    assert "[bold red]" in "".join(line[-16:] for line in lines)  # the ASCII column shows the bytes as text

    plain = P.dissect({k: v for k, v in row.items() if not k.startswith("ref_")})
    assert not plain.from_capture and "synthesized" in plain.note
    assert [layer.name for layer in plain.layers][:2] == ["IP", "TCP"]  # then the payload's length as zeros
    assert dict(plain.layers[1].fields)["seq"] == "1007"


def test_synthesized_frame_checksums_and_mss():
    from scapy.layers.inet import IP, TCP, UDP

    row = _tiny().row(0, named=True)
    raw = P.synthesize_frame(row)
    pkt = IP(raw)
    assert pkt[IP].len == len(raw) == 44 and pkt[TCP].options == [("MSS", 1460)]  # the headers outgrow ip_len 40
    sums = pkt[IP].chksum, pkt[TCP].chksum
    del pkt[IP].chksum, pkt[TCP].chksum
    again = IP(bytes(pkt))
    assert (again[IP].chksum, again[TCP].chksum) == sums
    udp = IP(P.synthesize_frame(_tiny().row(8, named=True)))
    assert udp[UDP].dport == 22 and udp[IP].len == 48 and udp[UDP].len == 28
    sum_udp = udp[UDP].chksum
    del udp[UDP].chksum
    assert IP(bytes(udp))[UDP].chksum == sum_udp


def test_pcap_export_original_rereads(captures, tmp_path):
    from scapy.utils import rdpcap

    paths, by_ts = captures
    source, files = Workspace.open(paths).packet_view()
    lf = P.select_packets(source, P.PacketSelection(where="flags:+S"))
    want = lf.collect()
    out = tmp_path / "scan.pcap"
    done = P.write_pcap(lf, out, files)
    assert (done.packets, done.original, done.synthesized, done.note) == (want.height, want.height, 0, "")
    scapy_pkts = rdpcap(str(out))
    assert [bytes(p) for p in scapy_pkts] == [by_ts[_us(t)] for t in want["ts"]]
    assert [round(p.time * 1_000_000) for p in scapy_pkts] == [_us(t) for t in want["ts"]]
    back = open_inputs([out]).lf.collect()
    assert back.equals(want.drop("ref_file", "ref_off"))


def test_pcap_export_synthesized_from_parquet(tmp_path):
    from scapy.utils import rdpcap

    df = _tiny()
    path = tmp_path / "p.parquet"
    df.write_parquet(path)
    out = tmp_path / "p.pcap"
    done = P.write_pcap(P.select_packets(pl.scan_parquet(path), P.PacketSelection()), out)
    assert (done.packets, done.original, done.synthesized) == (10, 0, 10) and "synthesized" in done.note
    assert len(rdpcap(str(out))) == 10
    back = open_inputs([out]).lf.collect()
    assert back.drop("ip_len").equals(df.drop("sensor", "ip_len"))
    assert back["ip_len"].to_list() == [44, 41, 42, 44, 44, 45, 46, 47, 48, 49]  # ip_len, or the headers when longer


def test_pcap_export_mixed_link_types_is_raw_ip(tmp_path):
    from scapy.layers.inet import IP  # importing the layers registers the link types rdpcap decodes
    from scapy.layers.l2 import Ether
    from scapy.utils import rdpcap

    ng = pb.NgWriter().shb().idb(1).idb(101)
    ng.epb(_frame(1), T0 * 1_000_000, iface=0).epb(pb.ipv4(payload=pb.tcp(dport=9)), T0 * 1_000_000 + 5, iface=1)
    path = ng.write(tmp_path / "mixed.pcapng")
    source, files = Workspace.open([path]).packet_view()
    out = tmp_path / "mixed.pcap"
    done = P.write_pcap(P.select_packets(source, P.PacketSelection()), out, files)
    assert done.packets == 2 and "raw IP" in done.note
    assert open_inputs([out]).lf.collect()["dport"].to_list() == [80, 9]
    assert [type(p) for p in rdpcap(str(out))] == [IP, IP]
    one = P.write_pcap(P.select_packets(source, P.PacketSelection(ports=(80,))), out, files)
    assert one.note == "" and type(rdpcap(str(out))[0]) is Ether  # one link type used: kept


def test_scapy_not_imported_at_start():
    code = ("import sys, scantui.analysis.packets, scantui.tui.app, scantui.cli.main; "
            "assert 'scapy' not in sys.modules, 'scapy imported'")
    env = {**os.environ, "PYTHONPATH": SRC}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True).returncode == 0


# ---------------------------------------------------------------- the command


def test_cli_packets_table_json_and_files(captures, tmp_path, capsys):
    paths, by_ts = captures
    args = ["packets", *map(str, paths), "--src", "10.0.0.1", "--port", "22,80"]
    code, out, err = run([*args, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert {r["src"] for r in doc} == {"10.0.0.1"} and all(r["ts"].endswith("Z") for r in doc)
    assert {r["tcp_flags"] for r in doc} <= {"S", "SA", "R"}
    code, out, err = run([*args, "--where", "flags:S", "--csv"], capsys)
    assert code == 0 and out.startswith("ts,src,dst,") and ",10.0.0.1," in out
    code, out, err = run([*args, "--limit", "2"], capsys)
    assert code == 0 and out.count("10.0.0.1") == 2
    pcap, parquet, csv = tmp_path / "o.pcap", tmp_path / "o.parquet", tmp_path / "o.csv"
    code, out, err = run([*args, "-o", str(pcap)], capsys)
    assert code == 0 and out == "" and f"wrote {len(doc)} packets to {pcap} ({len(doc)} original)" in err
    assert open_inputs([pcap]).lf.collect().height == len(doc)
    code, _, err = run([*args, "-o", str(parquet)], capsys)
    assert code == 0 and "wrote" in err
    got = pl.read_parquet(parquet)
    assert "ref_off" not in got.columns and got.equals(open_inputs([pcap]).lf.collect())
    code, _, err = run([*args, "-o", str(csv)], capsys)
    assert code == 0
    back = pl.read_csv(csv)
    assert back["src"].to_list() == [r["src"] for r in doc] and back["tcp_flags"].to_list() == [r["tcp_flags"] for r in doc]
    assert back["ts"].to_list() == [r["ts"] for r in doc]
    every = [*map(str, paths), "--json"]
    code, out, err = run(["packets", *every, "--day", "2024-02-02"], capsys)
    assert code == 0 and len(json.loads(out)) == 30
    code, out, err = run(["packets", *every, "--since", "2024-02-01T12:00Z", "--until", "2024-02-02"], capsys)
    times = [r["ts"] for r in json.loads(out)]
    assert code == 0 and len(times) == 45 and min(times) >= "2024-02-01T12:00" and max(times) < "2024-02-03"  # a day: to its end
    code, out, err = run(["packets", *every, "--since", "2024-02-01T12:00Z", "--until", "2024-02-01T23:00"], capsys)
    assert code == 0 and len(json.loads(out)) == 14  # --until a time: up to it
    code, whole, err = run(["packets", *every], capsys)
    code, out, err = run(["packets", *every, "--since", "0001-01-01", "--until", "9999-12-31"], capsys)
    assert code == 0 and out == whole, err  # the calendar's ends (the day after 9999-12-31 overflowed): every packet


def test_cli_packets_limit_reads_only_the_days_that_hold_the_rows(captures, capsys):
    """--limit (and the table's first page) read the first days holding the rows: the last day's packet table,
    damaged here, is never read; the table's "of N" count comes from the days' port_day rows."""
    from scantui.analysis.day_packets import day_packets_files

    paths, _ = captures
    args = ["packets", *map(str, paths), "--src", "10.0.0.1"]
    code, whole, err = run([*args, "--json"], capsys)
    assert code == 0 and len(json.loads(whole)) == 23
    last = Workspace.open(paths).packet_view()[0]
    for f in day_packets_files(last.states[max(last.states)]):  # its pages overwritten, its footer (schema) kept
        data = f.read_bytes()
        pages = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
        f.write_bytes(data[:4] + b"\xff" * (pages - 4) + data[pages:])
    code, out, err = run([*args, "--limit", "4", "--json"], capsys)
    assert code == 0 and json.loads(out) == json.loads(whole)[:4], err
    code, out, err = run([*args, "--limit", "3"], capsys)
    assert code == 0 and out.count("10.0.0.1") == 3
    code, out, err = run(args, capsys)  # the first page: 23 rows (all three days) would need the last one
    assert code == 2 and err.startswith("scantui: error: ")


@pytest.mark.parametrize("extra, says", [
    (["--where", "ttl:abc"], "--where: ttl:abc:"), (["--where", "color:red"], "unknown key 'color'"),
    (["--src", "10.0.0.999"], "--src: not an IPv4 address or CIDR: '10.0.0.999'"), (["--port", "http"], "--port"),
    (["--day", "2024-13-01"], "--day"), (["--since", "yesterday"], "--since"),
    (["-o", "OUT.xlsx"], "cannot tell the format"), (["--json", "-o", "OUT.pcap"], "choose one"),
    # as scanners says it (was an empty table, exit 0)
    (["--since", "2024-02-10", "--until", "2024-02-01"], "--since/--until: --since 2024-02-10 is not before --until 2024-02-01"),
    # more rows than polars' row index holds: was an internal error (OverflowError), exit 70
    (["--limit", "4294967296"], "Invalid value for '--limit': 4294967296 is more than 4,294,967,295, the most this command holds"),
])
def test_cli_packets_errors(captures, tmp_path, capsys, extra, says):
    paths, _ = captures
    extra = [str(tmp_path / e) if e.startswith("OUT") else e for e in extra]
    code, out, err = run(["packets", str(paths[0]), *extra], capsys)
    assert code == 2 and out == ""
    assert err.startswith("scantui: error: ") and err.count("\n") == 1 and says in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pcap", "b.pcap.gz", "c.pcapng"]  # nothing read or written


def test_cli_packets_pipe(captures):
    paths, _ = captures
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = SRC
    proc = subprocess.Popen([sys.executable, "-m", "scantui", "packets", *map(str, paths), "--csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    head = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away: | head
    err = proc.stderr.read()
    proc.wait(timeout=300)
    assert head.startswith(b"ts,src,dst,") and proc.returncode == 0 and b"Traceback" not in err


def test_cli_changed_capture_is_one_line(captures, tmp_path, capsys):
    paths, _ = captures
    code, _, _ = run(["packets", str(paths[0]), "--limit", "1"], capsys)  # rollup built: references taken
    assert code == 0
    os.utime(paths[0], ns=(1, 1))
    out = tmp_path / "x.pcap"
    code, _, err = run(["packets", str(paths[0]), "-o", str(out)], capsys)
    # a changed input gets a new rollup (its identity is in the key), so the export is still right
    assert code == 0 and "original" in err
    assert open_inputs([out]).lf.collect().height == 30


def test_vectorized_records_equal_per_row_frames():
    import struct

    import random

    from scantui.io.packet_frames import pcap_records
    from scantui.io.schema import conform

    rng = random.Random(3)
    start = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
    df = conform(pl.DataFrame([
        dict(ts=start + dt.timedelta(microseconds=rng.randrange(4 * 86_400_000_000)), src=rng.randrange(2**32),
             dst=rng.randrange(2**32), proto=rng.choice([6, 6, 17]), sport=rng.randrange(65536),
             dport=rng.randrange(65536), ip_id=rng.randrange(65536), ttl=rng.randrange(256),
             ip_len=rng.choice([40, 44, 60]), tcp_flags=rng.randrange(256), tcp_seq=rng.randrange(2**32),
             tcp_ack=rng.randrange(2**32), tcp_window=rng.randrange(65536), tcp_mss=rng.randrange(65536))
        for _ in range(600)]).lazy()).collect()
    src = pl.col("src")
    df = df.with_columns(
        pl.when(src % 7 == 0).then(pl.lit(1, pl.UInt8)).when(src % 11 == 0).then(pl.lit(47, pl.UInt8))
        .otherwise(pl.col("proto")).alias("proto"),
        pl.when(src % 5 == 0).then(None).otherwise(pl.col("tcp_mss")).alias("tcp_mss"),
        pl.when(src % 13 == 0).then(None).otherwise(pl.col("ttl")).alias("ttl"),
        pl.when(src % 3 == 0).then(pl.lit(90, pl.UInt16)).otherwise(pl.col("ip_len")).alias("ip_len"))
    assert set(df["proto"].to_list()) == {1, 6, 17, 47}
    slow = b""
    for row in df.iter_rows(named=True):
        frame = P.synthesize_frame(row)
        sec, us = divmod(_us(row["ts"]), 1_000_000)
        slow += struct.pack("<IIII", sec, us, len(frame), len(frame)) + frame
    assert pcap_records(df) == slow


def test_day_and_seen_terms_select_the_packets_utc_days():
    """``day:`` and ``seen:`` (every query bar's time terms, issue 14 part 3) work in the packet filter too."""
    import datetime as _dt

    from scantui.analysis.packets import PacketFilterError, parse_where

    utc = _dt.timezone.utc
    frame = pl.DataFrame({"ts": [_dt.datetime(2024, 2, d, 12, tzinfo=utc) for d in (4, 5, 9, 10, 11)],
                          "ttl": [64] * 5})

    def days(text: str) -> list[int]:
        return [t.day for t in frame.filter(parse_where(text))["ts"]]

    assert days("day:2024-02-05..2024-02-09") == [5, 9]
    assert days("day:2024-02-05") == [5]
    assert days("day:..2024-02-05") == [4, 5]
    assert days("seen:>2024-02-10") == [11]
    assert days("seen>=2024-02-10 ttl:64") == [10, 11]
    assert days("-day:2024-02-04,2024-02-11") == [5, 9, 10]
    for bad in ("day:2024-02-31", "seen:..", "day:2024-02-09..2024-02-05"):
        with pytest.raises(PacketFilterError, match="day|seen"):
            parse_where(bad)
