"""Tool fingerprints on crafted packets: each tool, its near misses, precedence."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from scantui.analysis.fingerprints import UNICORN_MIN_PACKETS, with_tool
from scantui.io.schema import ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, conform

DST = (198 << 24) | (18 << 16) | 0x0105
SRC = (203 << 24) | (0 << 16) | (113 << 8) | 7


def packet(**fields) -> dict:
    base = dict(
        ts=dt.datetime(2024, 2, 6, tzinfo=dt.timezone.utc), src=SRC, dst=DST, proto=6, sport=40000, dport=8080,
        ip_id=1234, ttl=50, ip_len=44, tcp_flags=SYN, tcp_seq=0x1234_5678, tcp_ack=0, tcp_window=29200, tcp_mss=1460,
    )
    base.update(fields)
    return base


def tools(rows: list[dict], **kwargs) -> list[str]:
    lf = conform(pl.DataFrame(rows).lazy().with_columns(pl.col("ts").dt.cast_time_unit("us")))
    return with_tool(lf, **kwargs).collect()["tool"].cast(pl.String).to_list()


def masscan_id(dst: int, dport: int, seq: int) -> int:
    return (dst ^ dport ^ seq) & 0xFFFF


@pytest.mark.parametrize(
    "fields, expected",
    [
        (dict(ip_id=54321, tcp_window=65535, tcp_mss=None), "zmap"),
        (dict(ip_id=54321, tcp_flags=SYN | ACK), "other"),  # a SYN-ACK is backscatter, not ZMap
        (dict(ip_id=54320), "other"),
        (dict(ip_id=masscan_id(DST, 8080, 0x1234_5678), tcp_window=1024, tcp_mss=None), "masscan"),
        (dict(ip_id=masscan_id(DST, 8080, 0x1234_5678) ^ 1, tcp_window=1024, tcp_mss=None), "other"),
        (dict(tcp_seq=DST, dport=23), "mirai"),
        (dict(tcp_seq=DST, dport=2323), "mirai"),
        (dict(tcp_seq=DST, dport=22), "other"),  # Mirai only scans telnet ports
        (dict(tcp_seq=DST + 1, dport=23), "other"),
        (dict(tcp_window=1024, tcp_mss=1460, tcp_ack=0), "nmap"),  # -sS
        (dict(tcp_window=1024, tcp_mss=None, tcp_ack=0), "other"),  # Masscan's window without its IP-ID is nothing
        (dict(tcp_window=1024, tcp_mss=1460, tcp_ack=5), "other"),
        (dict(tcp_flags=ACK, tcp_window=1024, tcp_mss=None), "nmap"),  # -sA / -sW
        (dict(tcp_flags=0, tcp_window=1024, tcp_mss=None), "nmap"),  # -sN
        (dict(tcp_flags=FIN, tcp_window=1024, tcp_mss=None), "nmap"),  # -sF
        (dict(tcp_flags=FIN | PSH | URG, tcp_window=1024, tcp_mss=None), "nmap"),  # -sX
        (dict(tcp_flags=FIN | ACK, tcp_window=1024, tcp_mss=None), "nmap"),  # -sM
        (dict(tcp_flags=FIN, tcp_window=29200, tcp_mss=None), "other"),
        (dict(tcp_window=1, tcp_mss=1460), "nmap"),  # OS detection SEQ1
        (dict(tcp_window=63, tcp_mss=1400), "nmap"),
        (dict(tcp_window=4, tcp_mss=None), "nmap"),  # SEQ4 carries no MSS
        (dict(tcp_window=512, tcp_mss=265), "nmap"),
        (dict(tcp_window=63, tcp_mss=1200), "other"),
        (dict(tcp_flags=SYN | ECE | CWR, tcp_window=3, tcp_mss=1460), "nmap"),  # ECN probe
        (dict(tcp_flags=0, tcp_window=128, tcp_mss=265), "nmap"),  # T2
        (dict(tcp_flags=SYN | FIN | PSH | URG, tcp_window=256, tcp_mss=265), "nmap"),  # T3
        (dict(tcp_flags=SYN, tcp_window=31337, tcp_mss=265), "nmap"),  # T5
        (dict(tcp_flags=ACK, tcp_window=32768, tcp_mss=265), "nmap"),  # T6
        (dict(tcp_flags=FIN | PSH | URG, tcp_window=65535, tcp_mss=265), "nmap"),  # T7
        (dict(tcp_flags=SYN, tcp_window=31337, tcp_mss=1460), "other"),
        (dict(tcp_window=64240, tcp_mss=1460), "other"),  # connect scan = any Linux client
        (dict(proto=17, tcp_flags=None, tcp_seq=None, tcp_ack=None, tcp_window=None, tcp_mss=None, ip_id=54321), "other"),
        (dict(proto=1, sport=None, dport=None, tcp_flags=None, tcp_seq=None, tcp_ack=None, tcp_window=None, tcp_mss=None, ip_id=54321), "other"),
        (dict(tcp_flags=RST, ip_id=54321), "other"),
    ],
)
def test_single_packet_rules(fields, expected):
    assert tools([packet(**fields)]) == [expected]


def test_masscan_wins_over_mirai_and_zmap():
    seq = DST
    both = packet(tcp_seq=seq, dport=23, ip_id=masscan_id(DST, 23, seq), tcp_window=1024, tcp_mss=None)
    assert tools([both]) == ["masscan"]
    zmap_and_masscan = packet(tcp_seq=(DST ^ 8080 ^ 54321) & 0xFFFF, ip_id=54321)
    assert masscan_id(DST, 8080, zmap_and_masscan["tcp_seq"]) == 54321
    assert tools([zmap_and_masscan]) == ["masscan"]


def _unicorn_session(n: int, key: int = 0xDEADBEEF) -> list[dict]:
    rows = []
    for i in range(n):
        dst, dport, sport = DST + (i % 200), 1000 + i, 30000 + (i % 7)
        seq = key ^ SRC ^ (((sport << 16) + dport) & 0xFFFF_FFFF)
        rows.append(packet(dst=dst, dport=dport, sport=sport, tcp_seq=seq, ip_id=(i * 7919) % 65536))
    return rows


def test_unicorn_needs_more_than_threshold_packets_per_key():
    assert set(tools(_unicorn_session(UNICORN_MIN_PACKETS + 1))) == {"unicorn"}
    assert set(tools(_unicorn_session(UNICORN_MIN_PACKETS))) == {"other"}
    assert set(tools(_unicorn_session(40), unicorn_min_packets=30)) == {"unicorn"}


def test_sample_tool_counts_match_truth():
    import json
    from pathlib import Path

    from scantui.analysis.traffic import is_probe

    root = Path(__file__).resolve().parent.parent / "sample_data"
    truth = json.loads((root / "truth.json").read_text())
    lf = pl.scan_parquet(root / "telescope.parquet")
    got = dict(with_tool(lf).filter(is_probe()).group_by(pl.col("tool").cast(pl.String)).agg(pl.len()).collect().iter_rows())
    assert got == truth["tool_packets"]  # exact: every planted probe carries its tool's fingerprint
