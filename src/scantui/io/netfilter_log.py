"""Raw netfilter ``LOG`` lines (syslog, journal, dmesg) -> the canonical packet table.

The kernel writes one line per logged packet::

    Feb  6 10:00:01 gw kernel: [12345.678901] TELESCOPE IN=eth0 OUT= MAC=... SRC=192.0.2.10
    DST=198.18.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=54321 [DF] PROTO=TCP SPT=41234 DPT=8080
    [SEQ=3221225472 ACK=0] WINDOW=65535 RES=0x00 SYN URGP=0 [OPT (020405B4)]

(one line in the file). Fields before ``PROTO=`` belong to the IP header, fields
after it to the transport header, so they are taken from the two halves
separately: a UDP line's second ``LEN=`` is the UDP length, an ICMP line's
``ID=``/``SEQ=`` are ICMP's, and an ICMP error's quoted packet (in brackets) is
ignored. The file is read as one string column and parsed with polars string
expressions; values are converted and validated by :mod:`scantui.io.normalize`.

Timestamps: traditional syslog ``Mon dd HH:MM:SS[.ffffff]`` (local time in
``opts.tz``; the first line's year is ``opts.year``, or else the last line is of the past twelve
months (this year, or last year when its date is still to come), moving forward at a
Dec -> Jan wrap inside the file), ISO 8601 (rsyslog high precision,
``journalctl -o short-iso[-precise]``), ``journalctl -o short-unix`` epochs and
``dmesg -T`` brackets. Lines that are not netfilter packet lines are skipped and
counted as ``not_netfilter`` (``not_ip`` for ARP and other non-IP logs), IPv6
packets as ``ipv6``. A compressed log is read a decompressed block of lines at
a time (:mod:`scantui.io.compressed`).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone

import polars as pl

from scantui.errors import shown_path
from scantui.io import compressed
from scantui.io.normalize import Normalized, load_text_input, normalize_values
from scantui.io.options import LoadOptions
from scantui.io.stats import LoadStats
from scantui.io.text_end import TextEnd

FORMAT = "netfilter_log"

MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}

#: Raw field column -> canonical column; the raw names are what error messages call the field.
FIELDS = {
    "timestamp": "ts", "SRC": "src", "DST": "dst", "PROTO": "proto", "SPT": "sport", "DPT": "dport",
    "ID": "ip_id", "TTL": "ttl", "LEN": "ip_len", "SEQ": "tcp_seq", "ACK": "tcp_ack",
    "WINDOW": "tcp_window", "flags": "tcp_flags", "OPT": "tcp_options",
}

_PORT_PROTOS = ("TCP", "UDP", "UDPLITE", "SCTP", "DCCP")

_ISO_TS = r"^(?:<\d+>)?(?:1 )?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s"
_TRAD_TS = r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)\s"
_EPOCH_TS = r"^(\d{9,11}\.\d+)\s"
_DMESG_TS = r"^\[(?:[A-Z][a-z]{2} )?([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2}) (\d{4})\]"
_NETFILTER = r"IN=\S* OUT=\S*"


def today() -> tuple[int, int, int]:
    """(year, month, day) now, in UTC; a function so tests can pin it."""
    now = datetime.now(timezone.utc)
    return now.year, now.month, now.day


def end_year(path: str | os.PathLike[str], opts: LoadOptions) -> int | None:
    """The year :func:`scan_netfilter_log` gives the last traditional syslog line of *path* today (None: with
    ``opts.year``, or no such line): what a cache of its reading must be keyed on, as it moves with the date."""
    if opts.year is not None:
        return None
    return year_today(last_month_day(path))


def year_note(path: str | os.PathLike[str], year: int) -> str:
    """What both front ends say once for a LOG input read without ``--year`` whose syslog times carry no year:
    the year its last line was given (:func:`end_year`) and how to choose another."""
    return (f"{shown_path(path)}: syslog times carry no year: {year} taken for its last line (the past twelve "
            "months); --year N sets the year of its first line")


def year_today(last: int | None) -> int | None:
    """The year today's reading gives a last syslog line on ``month * 32 + day`` *last* (None: no such line)."""
    if last is None:
        return None
    year, mon, mday = today()
    return year - int(last > mon * 32 + mday + 1)


#: The bytes at a plain log's end searched first for its last traditional syslog line.
_TAIL_BYTES = 1 << 16


def last_month_day(path: str | os.PathLike[str]) -> int | None:
    """``month * 32 + day`` of the last line with a traditional syslog timestamp (as :func:`_syslog_year` reads
    it), from the file's end when one is there (a plain file), else from every line."""
    path = os.fspath(path)
    if compressed.compression(path) is None:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - _TAIL_BYTES))
            lines = fh.read().decode("utf-8", errors="replace").split("\n")
        for line in reversed(lines[1:] if size > _TAIL_BYTES else lines):  # (the first may be cut)
            m = re.match(_TRAD_TS, line.split("\x1f", 1)[0].removesuffix("\r"))
            if m and m.group(1) in MONTHS:
                return MONTHS[m.group(1)] * 32 + int(m.group(2))
    trad = pl.col("line").str.extract_groups(_TRAD_TS)
    key = (trad.struct.field("1").replace_strict(MONTHS, default=None, return_dtype=pl.Int32) * 32
           + trad.struct.field("2").cast(pl.Int32, strict=False))
    last = _read_lines(path).select(key.drop_nulls().last()).collect().item()
    return None if last is None else int(last)


def looks_like_netfilter_log(head: str) -> bool:
    """Content sniffing for the loader: is there a netfilter packet line among the first lines?"""
    import re

    pattern = re.compile(_NETFILTER + r".*\sSRC=\S+.*\sPROTO=")
    return any(pattern.search(line) for line in head.splitlines()[:200])


def _field(text: pl.Expr, name: str) -> pl.Expr:
    """The value of ``NAME=value`` in ``text`` (null when absent)."""
    return text.str.extract(rf"(?:^|\s){name}=(\S*)", 1)


def _syslog_year(month: pl.Expr, day: pl.Expr, opts: LoadOptions) -> pl.Expr:
    """Year of each traditional syslog timestamp: a month step back by more than half a year is a
    wrap into the next year. With ``opts.year`` the first line is in that year; otherwise the last
    line is in the current year, or the year before if its date has not come yet."""
    previous = month.forward_fill().shift(1)
    wraps = (month < previous - 6).fill_null(False).cast(pl.Int32).cum_sum()
    if opts.year is not None:
        return pl.lit(opts.year, dtype=pl.Int32) + wraps
    year, mon, mday = today()
    last_key = (month * 32 + day).drop_nulls().last()
    end_year = pl.lit(year, dtype=pl.Int32) - (last_key > mon * 32 + mday + 1).fill_null(False).cast(pl.Int32)
    return end_year - (wraps.max() - wraps)


def _with_timestamp(lf: pl.LazyFrame, line: pl.Expr, opts: LoadOptions) -> pl.LazyFrame:
    """Add ``timestamp``: every supported form as text that ``convert.to_ts`` parses (ISO or epoch)."""
    lf = lf.with_columns(
        line.str.extract_groups(_TRAD_TS).alias("_trad"),
        line.str.extract_groups(_DMESG_TS).alias("_dmesg"),
        line.str.extract(_ISO_TS, 1).alias("_iso"),
        line.str.extract(_EPOCH_TS, 1).alias("_epoch"),
    )
    trad, dmesg = pl.col("_trad"), pl.col("_dmesg")
    lf = lf.with_columns(
        trad.struct.field("1").replace_strict(MONTHS, default=None, return_dtype=pl.Int32).alias("_month"),
        trad.struct.field("2").cast(pl.Int32, strict=False).alias("_day"),
    )
    month, day = pl.col("_month"), pl.col("_day")
    lf = lf.with_columns(_syslog_year(month, day, opts).alias("_year"))
    traditional = pl.format(
        "{}-{}-{}T{}", pl.col("_year"), month.cast(pl.String).str.zfill(2), day.cast(pl.String).str.zfill(2), trad.struct.field("3")
    )
    dmesg_text = pl.format(
        "{}-{}-{}T{}",
        dmesg.struct.field("4"),
        dmesg.struct.field("1").replace_strict(MONTHS, default=None, return_dtype=pl.Int32).cast(pl.String).str.zfill(2),
        dmesg.struct.field("2").str.zfill(2),
        dmesg.struct.field("3"),
    )
    lf = lf.with_columns(pl.coalesce(pl.col("_iso"), traditional, pl.col("_epoch"), dmesg_text).alias("timestamp"))
    return lf.drop("_trad", "_dmesg", "_iso", "_epoch", "_month", "_day", "_year")


def parse_lines(lines: pl.LazyFrame, opts: LoadOptions, line_col: str = "line") -> pl.LazyFrame:
    """Split each log line into raw field columns (see FIELDS) plus ``_skip`` (why a line is not a packet).

    Works in stages (separate ``with_columns``) so each split is computed once, not once per use.
    """
    lf = lines.with_columns(pl.col(line_col).str.strip_suffix("\r").alias("_line"))
    line = pl.col("_line")
    lf = lf.with_columns(line.str.split_exact(" PROTO=", 1).alias("_halves"))
    halves = pl.col("_halves")
    lf = lf.with_columns(
        halves.struct.field("field_0").alias("_ip"),
        # the transport half without what follows " [": an ICMP error's quoted packet, INCOMPLETE [n bytes]
        halves.struct.field("field_1").str.split_exact(" [", 1).struct.field("field_0").alias("_l4"),
    )
    ip_part, l4 = pl.col("_ip"), pl.col("_l4")
    lf = lf.with_columns(l4.str.extract(r"^(\S*)", 1).alias("PROTO"), _field(ip_part, "SRC").alias("SRC"))
    proto, src = pl.col("PROTO"), pl.col("SRC")
    is_tcp = proto == "TCP"
    has_ports = proto.is_in(_PORT_PROTOS)

    flags = l4.str.extract(r"\sRES=0x[0-9A-Fa-f]+ ((?:[A-Z]+ )*)URGP=", 1).str.strip_chars()
    flags = pl.when(flags == "").then(pl.lit("NONE")).otherwise(flags)

    skip = (
        pl.when(line.is_null() | (line.str.strip_chars() == "")).then(pl.lit("_blank"))
        .when(~line.str.contains(_NETFILTER)).then(pl.lit("not_netfilter"))
        .when(src.is_null()).then(pl.lit("not_ip"))
        .when(src.str.contains(":") | ip_part.str.contains(r"\sHOPLIMIT=")).then(pl.lit("ipv6"))
    )
    lf = _with_timestamp(lf, line, opts)
    lf = lf.with_columns(
        _field(ip_part, "DST").alias("DST"),
        _field(ip_part, "LEN").alias("LEN"),
        _field(ip_part, "TTL").alias("TTL"),
        _field(ip_part, "ID").alias("ID"),
        pl.when(has_ports).then(_field(l4, "SPT")).alias("SPT"),
        pl.when(has_ports).then(_field(l4, "DPT")).alias("DPT"),
        pl.when(is_tcp).then(_field(l4, "SEQ")).alias("SEQ"),
        pl.when(is_tcp).then(_field(l4, "ACK")).alias("ACK"),
        pl.when(is_tcp).then(_field(l4, "WINDOW")).alias("WINDOW"),
        pl.when(is_tcp).then(flags).alias("flags"),
        pl.when(is_tcp).then(l4.str.extract(r"\sOPT \(([0-9A-Fa-f]*)\)", 1)).alias("OPT"),
        skip.alias("_skip"),
    )
    return lf.drop("_line", "_halves", "_ip", "_l4")


# One string column per line: a separator and no quote character that never occur in syslog.
_LINES = dict(has_header=False, separator="\x1f", quote_char=None, schema={"line": pl.String}, encoding="utf8-lossy",
              truncate_ragged_lines=True, raise_if_empty=False)


def _read_lines(path: str, end: TextEnd | None = None) -> pl.LazyFrame:
    kind = compressed.compression(path)
    if kind is None:
        lines = pl.scan_csv(path, glob=False, **_LINES)  # "[1]" is a name
    else:  # a block of whole lines at a time
        lines = compressed.scan_text(path, kind, lambda block: pl.read_csv(block, **_LINES),
                                     pl.Schema({"line": pl.String}), "log", end=end)
    return lines.with_row_index("_lineno")


def _normalized(path: str, opts: LoadOptions, end: TextEnd) -> Normalized:
    lf = parse_lines(_read_lines(path, end), opts)
    return normalize_values(
        lf, FIELDS, path, opts,
        row_label=lambda i: f"line {i + 1}", row_col="_lineno", skip_col="_skip", what="field",
    )


def scan_netfilter_log(path: str | os.PathLike[str], opts: LoadOptions, stats: LoadStats) -> pl.LazyFrame:
    """Load one log file; validates it now (raising InputError with the line number on the first
    malformed packet line unless ``opts.skip_bad_rows``), publishes its FileStats, and returns
    the canonical LazyFrame."""
    path = os.fspath(path)
    return load_text_input(path, lambda end: _normalized(path, opts, end), opts, stats, FORMAT, "log")
