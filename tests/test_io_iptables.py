"""CSV exports and raw netfilter LOG lines -> the canonical packet table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scantui.errors import InputError
from scantui.io import netfilter_log
from scantui.io.iptables_csv import looks_like_iptables_csv, scan_iptables_csv, sniff_separator
from scantui.io.netfilter_log import looks_like_netfilter_log, scan_netfilter_log
from scantui.io.options import LoadOptions
from scantui.io.schema import CANONICAL, FLAG_BITS, canonical_schema, ip_to_str
from scantui.io.stats import LoadStats

Y24 = LoadOptions(year=2024)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def load_csv(tmp_path, text: str, opts: LoadOptions = LoadOptions(), name: str = "export.csv"):
    path = tmp_path / name
    path.write_text(text)
    stats = LoadStats()
    df = scan_iptables_csv(path, opts, stats).collect()
    return df, stats.files()[0]


def load_log(tmp_path, text: str, opts: LoadOptions = Y24, name: str = "kern.log"):
    path = tmp_path / name
    path.write_text(text)
    stats = LoadStats()
    df = scan_netfilter_log(path, opts, stats).collect()
    return df, stats.files()[0]


# --- CSV ------------------------------------------------------------------------------------

HEADER = "timestamp,SRC,DST,PROTO,SPT,DPT,ID,TTL,LEN,SEQ,ACK,WINDOW,TCP_Flags,OPT,comment"
ROW = "2024-02-06T10:00:01.5Z,192.0.2.10,198.18.0.5,TCP,41234,8080,54321,243,44,3221225472,0,65535,SYN,020405B4,hi"
EXPECTED_ROW = (utc(2024, 2, 6, 10, 0, 1, 500000), 3221225994, 3323068421, 6, 41234, 8080, 54321, 243, 44, 2, 3221225472, 0, 65535, 1460)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_separators(tmp_path, sep):
    text = (HEADER + "\n" + ROW + "\n").replace(",", sep)
    df, fs = load_csv(tmp_path, text)
    assert df.schema == canonical_schema()
    assert df.row(0) == EXPECTED_ROW
    assert (fs.format, fs.rows, dict(fs.skipped), fs.complete) == ("iptables_csv", 1, {}, True)


def test_csv_quotes_spaces_crlf_blank_lines_and_extra_columns(tmp_path):
    header = "timestamp, SRC, DST, PROTO, SPT, DPT, ID, TTL, LEN, SEQ, ACK, WINDOW, TCP_Flags, OPT, comment"
    row = '"2024-02-06T10:00:01.5Z", "192.0.2.10",198.18.0.5,TCP,41234,8080,54321,243,44,3221225472,0,65535,"SYN",020405B4,"a, b"'
    df, fs = load_csv(tmp_path, f"\ufeff{header}\r\n{row}\r\n\r\n{row}\r\n")
    assert df.rows() == [EXPECTED_ROW, EXPECTED_ROW]
    assert fs.rows == 2 and not fs.skipped


def test_csv_udp_icmp_ipv6_and_sensor(tmp_path):
    text = "\n".join([
        "ts;src;dst;proto;sport;dport;flags;sensor",
        "1707213601;1.2.3.4;5.6.7.8;udp;53;161;;hp-1",
        "1707213601;1.2.3.4;5.6.7.8;1;;;;hp-1",
        "1707213601;2001:db8::1;2001:db8::2;tcp;1;2;S;hp-1",
    ])
    df, fs = load_csv(tmp_path, text + "\n")
    assert df.columns == [*CANONICAL, "sensor"]
    assert df.select("proto", "sport", "dport", "tcp_flags", "sensor").rows() == [(17, 53, 161, None, "hp-1"), (1, None, None, None, "hp-1")]
    assert fs.rows == 2 and fs.skipped == {"ipv6": 1}


def test_csv_bad_value_reports_file_line_and_column(tmp_path):
    rows = [ROW] * 20
    rows[15] = ROW.replace(",8080,", ",abc,")
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as e:
        scan_iptables_csv(path, LoadOptions(), LoadStats())
    assert str(e.value) == f"{path}: line 17: bad value 'abc' in column DPT"
    assert e.value.where == "line 17"

    stats = LoadStats()
    df = scan_iptables_csv(path, LoadOptions(skip_bad_rows=True), stats).collect()
    assert len(df) == 19 and stats.files()[0].skipped == {"bad_row": 1} and stats.files()[0].rows == 19


def test_csv_bad_value_quotes_a_bounded_value(tmp_path):
    """A 600-character cell was quoted whole in the one error line: the quote is bounded (60 characters, then
    "…"), file, line and column kept; a short value is quoted whole."""
    rows = [ROW] * 20
    rows[15] = ROW.replace(",8080,", "," + "9" * 600 + ",")
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as e:
        scan_iptables_csv(path, LoadOptions(), LoadStats())
    assert str(e.value) == f"{path}: line 17: bad value '{'9' * 59}…' in column DPT"


def test_csv_missing_required_column(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("timestamp,DST,PROTO\n1707213601,1.2.3.4,TCP\n")
    with pytest.raises(InputError, match=r"export.csv: missing column 'src' \(looked for src, SRC, src_ip"):
        scan_iptables_csv(path, LoadOptions(), LoadStats())


def test_csv_empty_file(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("")
    with pytest.raises(InputError, match="empty CSV"):
        scan_iptables_csv(path, LoadOptions(), LoadStats())


def test_csv_sniffing():
    assert sniff_separator('a;"b;c";d') == ";"
    assert sniff_separator("a\tb\tc") == "\t"
    assert looks_like_iptables_csv(HEADER + "\n" + ROW)
    assert not looks_like_iptables_csv("name,value\nx,1\n")


# --- netfilter LOG lines ----------------------------------------------------------------------

MAC = "MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00"
TCP_LINE = (
    "Feb  6 10:00:01 gw kernel: [12345.678901] TELESCOPE IN=eth0 OUT= " + MAC + " SRC=192.0.2.10 DST=198.18.0.5 "
    "LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP SPT=41234 DPT=8080 SEQ=3221225472 ACK=0 WINDOW=65535 "
    "RES=0x00 SYN URGP=0 OPT (020405B4)"
)
TCP_EXPECTED = (utc(2024, 2, 6, 10, 0, 1), 3221225994, 3323068421, 6, 41234, 8080, 54321, 243, 44, 2, 3221225472, 0, 65535, 1460)


def test_log_tcp_line(tmp_path):
    df, fs = load_log(tmp_path, TCP_LINE + "\n")
    assert df.schema == canonical_schema()
    assert df.rows() == [TCP_EXPECTED]
    assert (fs.format, fs.rows, dict(fs.skipped), fs.complete) == ("netfilter_log", 1, {}, True)


@pytest.mark.parametrize(
    "prefix, expected",
    [
        ("2024-02-06T10:00:01.123456+00:00 gw kernel:", utc(2024, 2, 6, 10, 0, 1, 123456)),  # rsyslog high precision
        ("2024-02-06T11:00:01+0100 gw kernel:", utc(2024, 2, 6, 10, 0, 1)),  # journalctl -o short-iso
        ("2024-02-06T10:00:01.250000+0000 gw kernel:", utc(2024, 2, 6, 10, 0, 1, 250000)),  # short-iso-precise
        ("Feb 06 10:00:01.250000 gw kernel:", utc(2024, 2, 6, 10, 0, 1, 250000)),  # short-precise
        ("1707213601.250000 gw kernel:", utc(2024, 2, 6, 10, 0, 1, 250000)),  # short-unix
        ("[Tue Feb  6 10:00:01 2024]", utc(2024, 2, 6, 10, 0, 1)),  # dmesg -T
        ("<4>1 2024-02-06T10:00:01Z gw kernel - - -", utc(2024, 2, 6, 10, 0, 1)),  # RFC 5424
    ],
)
def test_log_timestamp_forms(tmp_path, prefix, expected):
    line = prefix + TCP_LINE.split("kernel:", 1)[1]
    df, _ = load_log(tmp_path, line + "\n")
    assert df["ts"].to_list() == [expected]


def test_log_traditional_time_is_local_in_opts_tz(tmp_path):
    df, _ = load_log(tmp_path, TCP_LINE.replace("10:00:01", "11:00:01") + "\n", LoadOptions(year=2024, tz="Europe/Berlin"))
    assert df["ts"].to_list() == [utc(2024, 2, 6, 10, 0, 1)]


def test_log_year_rollover(tmp_path):
    lines = [TCP_LINE.replace("Feb  6", d) for d in ("Dec 31", "Dec 31", "Jan  1", "Jan  2")]
    df, _ = load_log(tmp_path, "\n".join(lines) + "\n", LoadOptions(year=2023))
    assert [t.date().isoformat() for t in df["ts"]] == ["2023-12-31", "2023-12-31", "2024-01-01", "2024-01-02"]


def test_log_default_year_ends_at_today(tmp_path, monkeypatch):
    monkeypatch.setattr(netfilter_log, "today", lambda: (2025, 1, 15))
    lines = [TCP_LINE.replace("Feb  6", d) for d in ("Dec 31", "Jan  2")]
    df, _ = load_log(tmp_path, "\n".join(lines) + "\n", LoadOptions())
    assert [t.year for t in df["ts"]] == [2024, 2025]
    df, _ = load_log(tmp_path, TCP_LINE + "\n", LoadOptions())  # Feb 6 has not come yet in Jan 2025
    assert [t.year for t in df["ts"]] == [2024]


def test_log_udp_icmp_fragments_and_flags(tmp_path):
    head = "Feb  6 10:00:01 gw kernel: TELESCOPE IN=eth0 OUT= " + MAC
    lines = [
        head + " SRC=192.0.2.11 DST=198.18.0.6 LEN=33 TOS=0x00 PREC=0x00 TTL=50 ID=7 DF PROTO=UDP SPT=53 DPT=161 LEN=13",
        head + " SRC=192.0.2.12 DST=198.18.0.7 LEN=84 TOS=0x00 PREC=0x00 TTL=50 ID=777 PROTO=ICMP TYPE=8 CODE=0 ID=1234 SEQ=1",
        head + " SRC=192.0.2.13 DST=198.18.0.8 LEN=56 TOS=0x00 PREC=0x00 TTL=50 ID=778 PROTO=ICMP TYPE=3 CODE=3 "
        "[SRC=198.18.0.8 DST=192.0.2.13 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=5 DPT=6 LEN=8 ]",
        head + " SRC=192.0.2.14 DST=198.18.0.9 LEN=500 TOS=0x00 PREC=0x00 TTL=50 ID=779 MF FRAG:185 PROTO=TCP ",
        head + " SRC=192.0.2.15 DST=198.18.0.9 LEN=40 TOS=0x00 PREC=0x00 TTL=50 ID=780 PROTO=TCP SPT=1 DPT=2 WINDOW=0 RES=0x00 ACK RST URGP=0",
        head + " SRC=192.0.2.16 DST=198.18.0.9 LEN=40 TOS=0x00 PREC=0x00 TTL=50 ID=781 PROTO=TCP SPT=1 DPT=2 WINDOW=9 RES=0x00 URGP=0",
        head + " SRC=192.0.2.17 DST=198.18.0.9 LEN=40 TOS=0x00 PREC=0x00 TTL=50 ID=782 PROTO=TCP SPT=1 DPT=2 WINDOW=9 RES=0x00 CWR ECE SYN URGP=0",
        head + " SRC=192.0.2.18 DST=198.18.0.9 LEN=40 TOS=0x00 PREC=0x00 TTL=50 ID=783 PROTO=TCP INCOMPLETE [20 bytes] ",
        head + " SRC=192.0.2.19 DST=198.18.0.9 LEN=40 TOS=0x00 PREC=0x00 TTL=50 ID=784 PROTO=47 ",
    ]
    df, fs = load_log(tmp_path, "\n".join(lines) + "\n")
    cols = ["proto", "sport", "dport", "ip_id", "ip_len", "tcp_flags", "tcp_seq", "tcp_window", "tcp_mss"]
    assert df.select(cols).rows() == [
        (17, 53, 161, 7, 33, None, None, None, None),  # second LEN= is UDP's
        (1, None, None, 777, 84, None, None, None, None),  # ICMP ID/SEQ are not IP-ID/TCP seq
        (1, None, None, 778, 56, None, None, None, None),  # quoted packet ignored
        (6, None, None, 779, 500, None, None, None, None),  # non-first fragment: no ports
        (6, 1, 2, 780, 40, 20, None, 0, None),
        (6, 1, 2, 781, 40, 0, None, 9, None),
        (6, 1, 2, 782, 40, 194, None, 9, None),
        (6, None, None, 783, 40, None, None, None, None),
        (47, None, None, 784, 40, None, None, None, None),
    ]
    assert fs.rows == 9 and not fs.skipped


def test_log_skips_ipv6_other_messages_and_non_ip(tmp_path):
    lines = [
        "Feb  6 10:00:00 gw systemd[1]: Started Session 1 of user root.",
        TCP_LINE,
        "",
        "Feb  6 10:00:02 gw kernel: DROP IN=eth0 OUT= " + MAC + " SRC=2001:db8::1 DST=2001:db8::2 LEN=80 TC=0 "
        "HOPLIMIT=64 FLOWLBL=0 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0",
        "Feb  6 10:00:03 gw kernel: ARPLOG IN=br0 OUT= ARP HTYPE=1 PTYPE=0x0800 OPCODE=1",
        "Feb  6 10:00:04 gw kernel: usb 1-1: new high-speed USB device",
    ]
    df, fs = load_log(tmp_path, "\n".join(lines) + "\n")
    assert df.rows() == [TCP_EXPECTED]
    assert fs.rows == 1 and fs.skipped == {"not_netfilter": 2, "ipv6": 1, "not_ip": 1}


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("SRC=192.0.2.10", "SRC=999.1.1.1", "bad value '999.1.1.1' in field SRC"),
        ("DPT=8080", "DPT=80800", "bad value '80800' in field DPT"),
        ("TTL=243", "TTL=x", "bad value 'x' in field TTL"),
        ("Feb  6", "Feb 30", "bad value '2024-02-30T10:00:01' in field timestamp"),
        ("Feb  6 10:00:01 gw kernel: [12345.678901]", "[12345.678901]", "missing value in field timestamp"),
        (" DST=198.18.0.5", "", "missing value in field DST"),
    ],
)
def test_log_malformed_line_reports_file_and_line(tmp_path, old, new, message):
    lines = ["Feb  6 10:00:00 gw systemd[1]: hello", TCP_LINE, "", TCP_LINE.replace(old, new), TCP_LINE]
    path = tmp_path / "kern.log"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as e:
        scan_netfilter_log(path, Y24, LoadStats())
    assert str(e.value) == f"{path}: line 4: {message}"

    stats = LoadStats()
    df = scan_netfilter_log(path, LoadOptions(year=2024, skip_bad_rows=True), stats).collect()
    assert len(df) == 2
    assert stats.files()[0].skipped == {"not_netfilter": 1, "bad_row": 1}


def test_log_sniffing():
    assert looks_like_netfilter_log("Feb  6 10:00:00 gw systemd[1]: hello\n" + TCP_LINE)
    assert not looks_like_netfilter_log("Feb  6 10:00:00 gw systemd[1]: hello\n")


def test_log_sensor_option(tmp_path):
    df, _ = load_log(tmp_path, TCP_LINE + "\n", LoadOptions(year=2024, sensor="tele-1"))
    assert df.columns == [*CANONICAL, "sensor"] and df["sensor"].to_list() == ["tele-1"]


# --- round trip: the same packets as LOG lines and as CSV rows ------------------------------

_u16 = st.integers(0, 0xFFFF)
_u32 = st.integers(0, 0xFFFFFFFF)
KERNEL_FLAG_ORDER = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")


@st.composite
def packets(draw):
    proto = draw(st.sampled_from([6, 6, 17, 1]))
    p = {
        "ts": datetime(2024, 2, 6, tzinfo=timezone.utc) + timedelta(microseconds=draw(st.integers(0, 86_400 * 10**6 - 1))),
        "src": draw(_u32), "dst": draw(_u32), "proto": proto,
        "sport": None, "dport": None, "ip_id": draw(_u16), "ttl": draw(st.integers(0, 255)), "ip_len": draw(_u16),
        "tcp_flags": None, "tcp_seq": None, "tcp_ack": None, "tcp_window": None, "tcp_mss": None,
    }
    if proto in (6, 17):
        p["sport"], p["dport"] = draw(_u16), draw(_u16)
    if proto == 6:
        p.update(tcp_flags=draw(st.integers(0, 255)), tcp_seq=draw(_u32), tcp_ack=draw(_u32), tcp_window=draw(_u16))
        p["tcp_mss"] = draw(st.one_of(st.none(), _u16))
    return p


def _dotted(n: int) -> str:
    return ".".join(str((n >> s) & 255) for s in (24, 16, 8, 0))


def _options_hex(p) -> str:
    if p["tcp_mss"] is None:
        return "0402080A0000000100000000" if p["tcp_flags"] & 1 else ""
    return "0101" + f"0204{p['tcp_mss']:04X}" + "01030307"


def log_line(p) -> str:
    ip = (f"SRC={_dotted(p['src'])} DST={_dotted(p['dst'])} LEN={p['ip_len']} TOS=0x00 PREC=0x00 "
          f"TTL={p['ttl']} ID={p['ip_id']} DF")
    if p["proto"] == 6:
        flags = "".join(f"{f} " for f in KERNEL_FLAG_ORDER if p["tcp_flags"] & FLAG_BITS[f])
        opt = _options_hex(p)
        l4 = (f"PROTO=TCP SPT={p['sport']} DPT={p['dport']} SEQ={p['tcp_seq']} ACK={p['tcp_ack']} "
              f"WINDOW={p['tcp_window']} RES=0x00 {flags}URGP=0 " + (f"OPT ({opt}) " if opt else ""))
    elif p["proto"] == 17:
        l4 = f"PROTO=UDP SPT={p['sport']} DPT={p['dport']} LEN=20 "
    else:
        l4 = "PROTO=ICMP TYPE=8 CODE=0 ID=99 SEQ=7 "
    return f"{p['ts'].isoformat()} sensor kernel: [1.000000] SCAN IN=eth0 OUT= {MAC} {ip} {l4}"


def csv_row(p) -> str:
    flags = "|".join(f for f in KERNEL_FLAG_ORDER if p["tcp_flags"] & FLAG_BITS[f]) if p["proto"] == 6 else ""
    if p["proto"] == 6 and not flags:
        flags = "0"
    cells = [str(p["ts"].timestamp()) if p["ip_id"] % 2 else p["ts"].isoformat(), _dotted(p["src"]), _dotted(p["dst"]),
             {1: "ICMP", 6: "tcp", 17: "17"}[p["proto"]]]
    cells += ["" if p[k] is None else str(p[k]) for k in ("sport", "dport", "ip_id", "ttl", "ip_len", "tcp_seq", "tcp_ack", "tcp_window")]
    cells += [f'"{flags}"', _options_hex(p) if p["proto"] == 6 else ""]
    return ",".join(cells)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(packets(), min_size=1, max_size=25))
def test_round_trip_log_and_csv(tmp_path, pkts):
    # float epoch text loses precision below the microsecond only; isoformat is exact
    expected = pl.DataFrame(pkts, schema=canonical_schema(), orient="row").rows()
    log_df, _ = load_log(tmp_path, "\n".join(log_line(p) for p in pkts) + "\n")
    header = "timestamp,SRC,DST,PROTO,SPT,DPT,ID,TTL,LEN,SEQ,ACK,WINDOW,TCP_Flags,OPT"
    csv_df, _ = load_csv(tmp_path, header + "\n" + "\n".join(csv_row(p) for p in pkts) + "\n")
    assert log_df.rows() == expected
    assert csv_df.rows() == expected
    assert log_df.select(ip_to_str(pl.col("src"))).to_series().to_list() == [_dotted(p["src"]) for p in pkts]


def test_large_files_stay_lazy_and_validate_the_same(tmp_path, monkeypatch):
    from scantui.io import normalize

    monkeypatch.setattr(normalize, "MATERIALIZE_BELOW", 0)
    df, fs = load_csv(tmp_path, HEADER + "\n" + ROW + "\n")
    assert df.rows() == [EXPECTED_ROW] and fs.rows == 1
    path = tmp_path / "bad.log"
    path.write_text(TCP_LINE + "\n" + TCP_LINE.replace("TTL=243", "TTL=x") + "\n")
    with pytest.raises(InputError, match=r"bad.log: line 2: bad value 'x' in field TTL"):
        scan_netfilter_log(path, Y24, LoadStats())
