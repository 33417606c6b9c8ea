"""Column resolution and value normalization shared by the tabular loaders."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest

from scantui.errors import InputError
from scantui.io import column_names
from scantui.io import normalize as nz
from scantui.io.column_names import resolve_columns
from scantui.io.convert import mss_from_hex
from scantui.io.normalize import normalize_values
from scantui.io.options import LoadOptions
from scantui.io.schema import CANONICAL


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def run(df: pl.DataFrame, opts: LoadOptions = LoadOptions(), **kw) -> tuple[pl.DataFrame, nz.Checked]:
    mapping = resolve_columns(df.columns, "in.csv")
    normalized = normalize_values(df.lazy(), mapping, "in.csv", opts, **kw)
    checked = normalized.check()
    return normalized.frame.collect(), checked


def base(n: int = 1, **cols) -> pl.DataFrame:
    data = {"ts": ["2024-02-06T10:00:01Z"] * n, "src": ["192.0.2.10"] * n, "dst": ["198.18.0.5"] * n, "proto": ["6"] * n}
    data.update(cols)
    return pl.DataFrame(data)


# --- resolve_columns --------------------------------------------------------------------------


def test_iptables_names_map_to_canonical():
    names = ["timestamp", "SRC", "DST", "PROTO", "SPT", "DPT", "ID", "TTL", "LEN", "SEQ", "ACK", "WINDOW", "TCP_Flags", "OPT", "junk"]
    m = resolve_columns(names, "f")
    assert m == {
        "timestamp": "ts", "SRC": "src", "DST": "dst", "PROTO": "proto", "SPT": "sport", "DPT": "dport",
        "ID": "ip_id", "TTL": "ttl", "LEN": "ip_len", "SEQ": "tcp_seq", "ACK": "tcp_ack", "WINDOW": "tcp_window",
        "TCP_Flags": "tcp_flags", "OPT": "tcp_options",
    }


def test_aliases_are_case_insensitive_and_stripped():
    m = resolve_columns([" Src_IP", "IP.DST", "Frame.Time_Epoch", "Protocol", "Tcp.Seq_Raw", "AS_Name"], "f")
    assert m == {" Src_IP": "src", "IP.DST": "dst", "Frame.Time_Epoch": "ts", "Protocol": "proto",
                 "Tcp.Seq_Raw": "tcp_seq", "AS_Name": "as_name"}


def test_exact_name_wins_and_duplicates_are_noted():
    m = resolve_columns(["timestamp", "src_ip", "ts", "ip.src", "dst", "proto"], "f")
    assert m["ts"] == "ts" and "timestamp" not in m
    assert m["src_ip"] == "src" and m.ignored == {"timestamp": "ts", "ip.src": "src"}


def test_lowercase_id_is_not_the_ip_id():
    m = resolve_columns(["id", "ts", "src", "dst", "proto"], "f")
    assert "id" not in m


def test_missing_required_column_names_what_was_looked_for():
    with pytest.raises(InputError) as e:
        resolve_columns(["timestamp", "DST", "PROTO"], "data.csv")
    msg = str(e.value)
    assert msg.startswith("data.csv: missing column 'src' (looked for src, SRC, src_ip, saddr")
    assert "ip.src" in msg


def test_proto_inferred_as_tcp_only_with_tcp_fields():
    m = resolve_columns(["ts", "src", "dst", "SEQ"], "f")
    assert m.inferred == {"proto": 6}
    with pytest.raises(InputError, match="missing column 'proto'"):
        resolve_columns(["ts", "src", "dst", "DPT"], "f")
    out, _ = run(pl.DataFrame({"ts": [1707213601], "src": [1], "dst": [2], "flags": ["S"]}))
    assert out["proto"].to_list() == [6]


def test_date_and_time_columns_combine():
    df = pl.DataFrame({"time": ["10:00:01.5"], "date": ["2024-02-06"], "src": ["1.2.3.4"], "dst": ["5.6.7.8"], "proto": ["udp"]})
    out, _ = run(df)
    assert out["ts"].to_list() == [utc(2024, 2, 6, 10, 0, 1, 500000)]


def test_alias_table_has_no_clashes():
    seen = {}
    for canon, aliases in column_names.ALIASES.items():
        for a in (canon, *aliases):
            key = a if a in column_names.CASE_SENSITIVE else a.lower()
            assert seen.setdefault(key, canon) == canon


# --- values ---------------------------------------------------------------------------------


EXPECTED = utc(2024, 2, 6, 10, 0, 1)


@pytest.mark.parametrize(
    "value, expected",
    [
        (1707213601, EXPECTED),
        (1707213601_000, EXPECTED),
        (1707213601_000_000, EXPECTED),
        (1707213601_000_000_000, EXPECTED),
        (1707213601.25, utc(2024, 2, 6, 10, 0, 1, 250000)),
        ("1707213601", EXPECTED),
        ("1707213601.123456789", utc(2024, 2, 6, 10, 0, 1, 123456)),
        ("1707213601123", utc(2024, 2, 6, 10, 0, 1, 123000)),
        ("2024-02-06T10:00:01Z", EXPECTED),
        ("2024-02-06T10:00:01.5+00:00", utc(2024, 2, 6, 10, 0, 1, 500000)),
        ("2024-02-06T11:00:01+0100", EXPECTED),
        ("2024-02-06 10:00:01", EXPECTED),
        ("2024-02-06T10:00:01", EXPECTED),
        ("2024-02-06 10:00:01 UTC", EXPECTED),
        ("2024-02-06", utc(2024, 2, 6)),
        (datetime(2024, 2, 6, 10, 0, 1), EXPECTED),
    ],
)
def test_timestamps(value, expected):
    out, _ = run(base(ts=[value]))
    assert out["ts"].to_list() == [expected]
    assert out.schema["ts"] == pl.Datetime("us", "UTC")


def test_naive_times_use_opts_tz_and_aware_datetimes_convert():
    out, _ = run(base(ts=["2024-02-06 11:00:01"]), LoadOptions(tz="Europe/Berlin"))
    assert out["ts"].to_list() == [EXPECTED]
    aware = pl.Series([datetime(2024, 2, 6, 11, 0, 1)]).dt.replace_time_zone("Europe/Berlin").dt.cast_time_unit("ns")
    out, _ = run(base(ts=aware))
    assert out["ts"].to_list() == [EXPECTED]


def test_ips_as_strings_and_integers():
    out, _ = run(base(2, src=["192.0.2.10", "3221225994"], dst=["::ffff:198.18.0.5", " 198.18.0.5 "]))
    assert out["src"].to_list() == [3221225994, 3221225994]
    assert out["dst"].to_list() == [3323068421, 3323068421]
    out, _ = run(base(1, src=pl.Series([3221225994], dtype=pl.Int64)))
    assert out["src"].to_list() == [3221225994]


@pytest.mark.parametrize("value, expected", [("TCP", 6), ("tcp", 6), ("UDP", 17), ("icmp", 1), ("17", 17), (6, 6)])
def test_proto(value, expected):
    out, _ = run(base(proto=[value]))
    assert out["proto"].to_list() == [expected]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("SYN", 2), ("syn", 2), ("ACK PSH", 24), ("SYN,ACK", 18), ("ACK|SYN", 18), ("CWR ECE SYN", 194),
        ("S", 2), ("SA", 18), ("PA", 24), ("R", 4), ("FPU", 41), ("[S.]", 18), ("[S]", 2), ("[.]", 16),
        ("[none]", 0), ("18", 18), ("0x012", 18), ("0x0002", 2), ("0x0102", 2), (2, 2),
    ],
)
def test_tcp_flags(value, expected):
    out, _ = run(base(tcp_flags=[value]))
    assert out["tcp_flags"].to_list() == [expected]


@pytest.mark.parametrize(
    "options, mss",
    [
        ("020405B4", 1460),
        ("020405b40402080a000000000000000001030307", 1460),
        ("0101080a0000000000000000020405dc", 1500),  # NOP NOP timestamps, then MSS
        ("01010402020405ac", 1452),
        ("0402", None),  # SACK permitted only
        ("00020405b4", None),  # end of list before MSS
        ("0300", None),  # malformed length stops the walk
        ("020405", None),  # truncated MSS
        ("02:04:05:b4", 1460),
        ("0x020405B4", 1460),
        ("[('MSS', 1380), ('NOP', None)]", 1380),
        ("", None),
    ],
)
def test_mss_from_options(options, mss):
    out, _ = run(base(tcp_options=[options]))
    assert out["tcp_mss"].to_list() == [mss]


def test_explicit_mss_wins_over_options():
    out, _ = run(base(2, tcp_mss=["1200", None], tcp_options=["020405b4", "020405b4"]))
    assert out["tcp_mss"].to_list() == [1200, 1460]


def test_mss_from_hex_walks_many_rows():
    s = pl.Series(["01" * 36 + "020405b4", None, "0204ffff", "0101" + "0303" * 18 + "020405b4"])
    assert mss_from_hex(s).to_list() == [1460, None, 65535, None]  # the last one is past 40 bytes


def test_numbers_as_strings_hex_and_floats():
    df = base(2, sport=["80", "80.0"], ip_id=["0xd431", "54321"], ttl=pl.Series([64.0, None]), asn=["AS13335", "15169"])
    out, _ = run(df)
    assert out["sport"].to_list() == [80, 80]
    assert out["ip_id"].to_list() == [54321, 54321]
    assert out["ttl"].to_list() == [64, None]
    assert out["asn"].to_list() == [13335, 15169]


def test_output_is_exactly_canonical_plus_extras():
    out, _ = run(base(sensor=["hp1"], country=["DE"], whatever=["x"]))
    assert out.columns == [*CANONICAL, "sensor", "country"]
    out, _ = run(base(), LoadOptions(sensor="tele"))
    assert out["sensor"].to_list() == ["tele"]


# --- bad values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("DPT", "abc", "bad value 'abc' in column DPT"),
        ("DPT", "70000", "bad value '70000' in column DPT"),
        ("SRC", "999.1.1.1", "bad value '999.1.1.1' in column SRC"),
        ("SRC", "", "missing value in column SRC"),
        ("timestamp", "yesterday", "bad value 'yesterday' in column timestamp"),
        ("PROTO", "FOO", "bad value 'FOO' in column PROTO"),
        ("TCP_Flags", "SYNX", "bad value 'SYNX' in column TCP_Flags"),
        ("OPT", "zz", "bad value 'zz' in column OPT"),
    ],
)
def test_bad_value_names_file_row_and_column(column, value, message):
    good = {"timestamp": "1707213601", "SRC": "1.2.3.4", "DST": "5.6.7.8", "PROTO": "TCP", "DPT": "80", "TCP_Flags": "S", "OPT": ""}
    rows = [dict(good) for _ in range(4)]
    rows[2][column] = value
    df = pl.DataFrame(rows)
    mapping = resolve_columns(df.columns, "in.csv")
    normalized = normalize_values(df.lazy(), mapping, "in.csv", LoadOptions(), row_label=lambda i: f"line {i + 2}")
    with pytest.raises(InputError) as e:
        normalized.check()
    assert str(e.value) == f"in.csv: line 4: {message}"
    assert len(normalized.frame.collect()) == 3  # the frame never holds the bad row

    normalized = normalize_values(df.lazy(), mapping, "in.csv", LoadOptions(skip_bad_rows=True))
    checked = normalized.check()
    assert checked.rows == 3 and checked.skipped == {"bad_row": 1}


def test_ipv6_rows_are_skipped_and_counted():
    out, checked = run(base(3, src=["2001:db8::1", "1.2.3.4", "1.2.3.5"]))
    assert len(out) == 2
    assert checked.rows == 2 and checked.skipped == {"ipv6": 1}


def test_unconvertible_column_type_is_an_input_error():
    df = base(sport=[[1, 2]])
    with pytest.raises(InputError, match="in.csv: column for 'sport' has type"):
        run(df)


def test_native_typed_lazy_input_like_parquet():
    df = pl.DataFrame(
        {
            "ts": pl.Series([datetime(2024, 2, 6, 10, 0, 1)]).dt.cast_time_unit("ns"),
            "src": pl.Series([3221225994], dtype=pl.UInt32),
            "dst": pl.Series([3323068421], dtype=pl.Int64),
            "proto": pl.Series([6], dtype=pl.Int32),
            "tcp_flags": pl.Series([2], dtype=pl.Int64),
            "dport": pl.Series([8080], dtype=pl.Int64),
        }
    )
    out, checked = run(df, row_label=lambda i: f"row {i + 1}")
    assert out.row(0) == (EXPECTED, 3221225994, 3323068421, 6, None, 8080, None, None, None, 2, None, None, None, None)
    assert checked.rows == 1
    bad = df.with_columns(pl.Series("dport", [70000]))
    with pytest.raises(InputError, match=r"in.csv: row 1: bad value '70000' in column dport"):
        run(bad)
