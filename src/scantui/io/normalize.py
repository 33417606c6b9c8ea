"""Column normalization shared by the tabular loaders (CSV, Parquet) and the LOG parser.

Two steps:

* :func:`resolve_columns` maps whatever the input calls its columns (``SRC``,
  ``src_ip``, ``ip.src``, ...) to canonical names, through a case-insensitive
  alias table, and fails with an :class:`InputError` naming what it looked for
  when a required column is missing.
* :func:`normalize_values` converts the values with polars expressions only
  (dotted or integer IPs, epoch or ISO 8601 times, protocol names, flag text,
  hex TCP options, numbers given as strings, ...) and returns a
  :class:`Normalized`: the canonical LazyFrame plus :meth:`Normalized.check`,
  the validation pass that counts skipped rows and raises on the first value
  that cannot be converted (unless ``opts.skip_bad_rows``).

Rows whose value does not convert are always left out of ``Normalized.frame``;
``check`` decides whether that is an error or a counted ``bad_row`` skip.
IPv6 rows are left out and counted as ``ipv6``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from scantui.errors import InputError
from scantui.io import schema
from scantui.io.options import LoadOptions
from scantui.io.stats import FileStats, LoadStats

# --------------------------------------------------------------------------
# Column names
# --------------------------------------------------------------------------

#: Pseudo-canonical column holding TCP options as hex; ``tcp_mss`` is derived from it.
OPTIONS = "tcp_options"
#: Pseudo-canonical columns for a timestamp split over a ``date`` and a ``time`` column.
TS_DATE, TS_TIME = "_ts_date", "_ts_time"

#: canonical name -> aliases (matched case-insensitively, except those in CASE_SENSITIVE).
ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("timestamp", "time", "datetime", "date", "frame.time_epoch", "@timestamp", "_time",
           "time_epoch", "epoch", "ts_epoch"),
    "src": ("SRC", "src_ip", "saddr", "source", "ip.src", "sip", "source_ip", "srcip", "src_addr", "ip_src"),
    "dst": ("DST", "dst_ip", "daddr", "dest", "destination", "ip.dst", "dip", "dest_ip", "destination_ip",
            "dstip", "dst_addr", "ip_dst"),
    "proto": ("PROTO", "protocol", "ip.proto", "ip_proto"),
    "sport": ("SPT", "src_port", "srcport", "tcp.srcport", "udp.srcport", "source_port"),
    "dport": ("DPT", "dst_port", "dstport", "port", "tcp.dstport", "udp.dstport", "dest_port", "destination_port"),
    "ip_id": ("ID", "ipid", "ip.id", "ip_ident"),
    "ttl": ("ip.ttl", "ip_ttl"),
    "ip_len": ("LEN", "length", "totlen", "ip.len", "tot_len", "total_length"),
    "tcp_flags": ("TCP_Flags", "flags", "tcp.flags", "tcpflags"),
    "tcp_seq": ("SEQ", "tcp.seq_raw", "seqnum"),
    "tcp_ack": ("ACK", "tcp.ack_raw", "acknum"),
    "tcp_window": ("WINDOW", "win", "tcp.window_size_value", "tcp_win"),
    "tcp_mss": ("MSS", "tcp.options.mss_val"),
    OPTIONS: ("OPT", "options", "TCP_Options", "tcp.options"),
    "sensor": ("honeypot", "sensor_id", "sensor_name"),
    "asn": ("as_number", "asnum", "src_asn", "as"),
    "as_name": ("asname", "as_org", "as_owner", "as_description"),
    "country": ("country_code", "cc", "src_country"),
    "hostname": ("rdns", "reverse_dns", "ptr", "src_hostname"),
    "org": ("organization", "organisation", "company"),
    "category": ("scanner_category",),
}

#: A lower-case ``id`` column is far more often a row id than the IP-ID: only ``ID`` maps to ``ip_id``.
CASE_SENSITIVE = frozenset({"ID"})

#: Columns whose presence shows the rows are TCP, so a missing ``proto`` can be inferred as 6.
TCP_FIELDS = ("tcp_flags", "tcp_seq", "tcp_ack", "tcp_window", "tcp_mss", OPTIONS)

REQUIRED = schema.REQUIRED
_TARGETS = tuple(schema.CANONICAL) + (OPTIONS,) + tuple(schema.EXTRA)


def _key(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower()


def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for canon in _TARGETS:
        for alias in (canon, *ALIASES.get(canon, ())):
            key = alias if alias in CASE_SENSITIVE else alias.lower()
            assert table.get(key, canon) == canon, f"alias {alias} used twice"
            table[key] = canon
    return table


_ALIAS_LOOKUP = _lookup()


class ColumnMap(dict):
    """``{input column: canonical name}``; also remembers what it left out and inferred.

    ``ignored``: input columns that also matched an already-taken canonical name.
    ``inferred``: canonical columns not in the input but filled with a constant (``proto`` = 6).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ignored: dict[str, str] = {}
        self.inferred: dict[str, int] = {}


def _canonical_of(name: str) -> str | None:
    stripped = name.strip().lstrip("\ufeff")
    if stripped in CASE_SENSITIVE:
        return _ALIAS_LOOKUP[stripped]
    key = stripped.lower()
    if key.upper() in CASE_SENSITIVE and stripped != key.upper():
        return None
    return _ALIAS_LOOKUP.get(key)


def resolve_columns(names: list[str], path: str | os.PathLike[str] | None) -> ColumnMap:
    """Map input column names to canonical names; raise InputError if ts/src/dst (or proto) is missing.

    An input column named exactly like the canonical column (any case) wins over
    aliases; otherwise the first matching column in input order is taken and the
    others are recorded in ``ignored``. Without a proto column, rows are taken as
    TCP when any TCP field (flags, seq, ack, window, MSS, options) is present.
    A ``date`` column plus a ``time`` column (and no better time column) are
    combined into ``ts``.
    """
    candidates: dict[str, list[str]] = {}
    for name in names:
        canon = _canonical_of(name)
        if canon is not None:
            candidates.setdefault(canon, []).append(name)

    mapping = ColumnMap()
    for canon, cols in candidates.items():
        exact = [c for c in cols if _key(c) == canon]
        chosen = exact[0] if exact else cols[0]
        mapping[chosen] = canon
        for other in cols:
            if other != chosen:
                mapping.ignored[other] = canon

    _split_date_time(mapping)

    for canon in REQUIRED:
        if canon not in mapping.values() and not (canon == "ts" and TS_DATE in mapping.values()):
            raise InputError(f"missing column '{canon}' ({_looked_for(canon)})", path=path)
    if "proto" not in mapping.values():
        if not any(c in mapping.values() for c in TCP_FIELDS):
            raise InputError(f"missing column 'proto' ({_looked_for('proto')}; or TCP fields such as SEQ or TCP_Flags, "
                             "which make every row TCP)", path=path)
        mapping.inferred["proto"] = schema.PROTO_NUMBERS["TCP"]
    return mapping


def _split_date_time(mapping: ColumnMap) -> None:
    """``date`` + ``time`` columns and nothing better: use both for ``ts``."""
    ts_cols = [c for c, canon in (*mapping.items(), *mapping.ignored.items()) if canon == "ts"]
    chosen = next(c for c, canon in mapping.items() if canon == "ts") if ts_cols else None
    if chosen is None or _key(chosen) not in ("date", "time"):
        return
    date_col = next((c for c in ts_cols if _key(c) == "date"), None)
    time_col = next((c for c in ts_cols if _key(c) == "time"), None)
    if date_col is None or time_col is None:
        return
    mapping.pop(chosen)
    mapping.ignored.pop(date_col, None)
    mapping.ignored.pop(time_col, None)
    mapping[date_col] = TS_DATE
    mapping[time_col] = TS_TIME


def _looked_for(canon: str) -> str:
    return "looked for " + ", ".join((canon, *ALIASES.get(canon, ())))


# --------------------------------------------------------------------------
# Value conversion: each converter takes the raw column expression and its dtype
# and returns an expression of the canonical dtype that is null where the value
# does not convert. "Bad" means: raw value present, converted value null.
# --------------------------------------------------------------------------

_BLANK = ("", "-")


def _clean(raw: pl.Expr) -> pl.Expr:
    """String column, stripped; null when empty or '-'."""
    s = raw.str.strip_chars()
    return pl.when(s.is_in(_BLANK).not_()).then(s)


def present(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True where the input holds a value (not null, not blank, not NaN)."""
    if dtype == pl.String:
        return _clean(raw).is_not_null()
    if dtype.is_float():
        return (raw.is_not_null() & raw.is_not_nan()).fill_null(False)
    return raw.is_not_null()


def _int_from_str(s: pl.Expr) -> pl.Expr:
    """Decimal, ``0x`` hex or ``80.0`` text -> Int64 (null when not a number)."""
    hexa = s.str.contains(r"^0[xX][0-9a-fA-F]+$")
    decimal = s.str.replace(r"^\+", "").str.replace(r"\.0*$", "")
    return (
        pl.when(hexa)
        .then(s.str.slice(2).str.to_integer(base=16, strict=False))
        .otherwise(decimal.str.to_integer(base=10, strict=False))
    )


def _wrong_type(canon: str, dtype: pl.DataType) -> InputError:
    return InputError(f"column for '{canon}' has type {dtype}, which cannot be converted")


def cascade(s: pl.Series, parsers: list[Callable[[pl.Expr], pl.Expr]], dtype: pl.DataType) -> pl.Series:
    """Apply the first parser to the whole batch, each next one only to the rows still null.

    A column written in one format then costs one parse instead of one per format.
    """
    out = pl.Series(s.name, [None] * len(s), dtype=dtype)
    todo = s.is_not_null()
    for parse in parsers:
        idx = todo.arg_true()
        if idx.is_empty():
            break
        parsed = s.gather(idx).to_frame("t").select(parse(pl.col("t")).cast(dtype, strict=False)).to_series()
        out = out.scatter(idx, parsed)
        todo = todo & out.is_null()
    return out


def ints_from_text(s: pl.Series) -> pl.Series:
    """Decimal text (fast path), else ``0x`` hex / ``80.0`` / ``+80`` text -> Int64."""
    return cascade(s, [lambda e: e.str.to_integer(strict=False), _int_from_str], pl.Int64())


def to_uint(raw: pl.Expr, dtype: pl.DataType, target: pl.DataType, canon: str = "") -> pl.Expr:
    if dtype == pl.String:
        ints = _clean(raw).map_batches(ints_from_text, return_dtype=pl.Int64, is_elementwise=True)
        return ints.cast(target, strict=False)
    if dtype.is_integer() or dtype == pl.Boolean:
        return raw.cast(target, strict=False)
    if dtype.is_float():
        return pl.when(raw == raw.floor()).then(raw).cast(pl.Int64, strict=False).cast(target, strict=False)
    if dtype.is_decimal():
        return raw.cast(pl.Int64, strict=False).cast(target, strict=False)
    raise _wrong_type(canon, dtype)


def _strip_v4_mapped(s: pl.Expr) -> pl.Expr:
    return s.str.strip_prefix("::ffff:").str.strip_prefix("::FFFF:")


def ip_from_str(s: pl.Expr) -> pl.Expr:
    """Dotted quad -> UInt32, null when invalid (expression form; see :func:`ips_from_text`)."""
    parts = s.str.split_exact(".", 3)
    octets = [parts.struct.field(f"field_{i}").str.to_integer(strict=False, dtype=pl.UInt32) for i in range(4)]
    valid = s.str.contains(_DOTTED) & pl.all_horizontal([o <= 255 for o in octets])
    return pl.when(valid).then(octets[0] * (1 << 24) + octets[1] * (1 << 16) + octets[2] * (1 << 8) + octets[3])


_DOTTED = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"


def ips_from_text(s: pl.Series) -> pl.Series:
    """Dotted quads or decimal integers (text) -> UInt32, null when invalid.

    Computed in stages on a frame: polars would otherwise split each string once per octet use.
    """
    f = s.to_frame("s").with_columns(_strip_v4_mapped(pl.col("s")))
    f = f.with_columns(pl.col("s").str.split_exact(".", 3).alias("p"), pl.col("s").str.to_integer(strict=False).alias("n"))
    f = f.with_columns(pl.col("p").struct.field(f"field_{i}").str.to_integer(strict=False, dtype=pl.UInt32).alias(f"o{i}") for i in range(4))
    o = [pl.col(f"o{i}") for i in range(4)]
    valid = pl.col("s").str.contains(_DOTTED) & pl.all_horizontal([x <= 255 for x in o])
    dotted = pl.when(valid).then(o[0] * (1 << 24) + o[1] * (1 << 16) + o[2] * (1 << 8) + o[3])
    return f.select(pl.coalesce("n", dotted).cast(pl.UInt32, strict=False)).to_series().alias(s.name)


def to_ip(raw: pl.Expr, dtype: pl.DataType, canon: str = "") -> pl.Expr:
    """Dotted quad, decimal integer text or integer -> UInt32."""
    if dtype == pl.String:
        return _clean(raw).map_batches(ips_from_text, return_dtype=pl.UInt32, is_elementwise=True)
    return to_uint(raw, dtype, pl.UInt32(), canon)


def is_ipv6(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype != pl.String:
        return pl.lit(False)
    return _strip_v4_mapped(_clean(raw)).str.contains(":").fill_null(False)


def _to_utc(naive_or_aware: pl.Expr, dtype: pl.DataType, tz: str) -> pl.Expr:
    e = naive_or_aware.dt.cast_time_unit("us")
    if getattr(dtype, "time_zone", None) is None:
        e = e.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return e.dt.convert_time_zone("UTC")


def _epoch_us(value: pl.Expr) -> pl.Expr:
    """Epoch number of unknown unit -> microseconds, guessing s/ms/us/ns from the magnitude.

    Seconds up to 1e11 (year 5138), milliseconds up to 1e14, microseconds up to 1e17.
    """
    a = value.abs()
    return (
        pl.when(a < 1e11).then(value * 1_000_000)
        .when(a < 1e14).then(value * 1_000)
        .when(a < 1e17).then(value)
        .otherwise(value // 1_000)
    )


def _us_to_ts(us: pl.Expr) -> pl.Expr:
    return us.cast(pl.Int64, strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def _epoch_from_str(s: pl.Expr) -> pl.Expr:
    """``1707213601``, ``1707213601.123456789``, ``1707213601123`` -> us, exact (no float rounding)."""
    parts = s.str.split_exact(".", 1)
    whole = parts.struct.field("field_0").str.to_integer(strict=False)
    frac_text = parts.struct.field("field_1")
    frac_ok = frac_text.is_null() | frac_text.str.contains(r"^\d*$")
    # frac: nanoseconds of whatever unit `whole` is in
    frac = frac_text.fill_null("").str.pad_end(9, "0").str.slice(0, 9).str.to_integer(strict=False)
    us = (
        pl.when(whole < 10**11).then(whole * 1_000_000 + frac // 1_000)
        .when(whole < 10**14).then(whole * 1_000 + frac // 1_000_000)
        .when(whole < 10**17).then(whole)
        .otherwise(whole // 1_000)
    )
    return pl.when(frac_ok & (whole >= 0)).then(us)


#: strptime formats tried for text times, with a zone (``Z`` is rewritten to ``+00:00``) and without.
ISO_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z")
ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
             "%Y/%m/%d %H:%M:%S%.f", "%Y-%m-%d")


def _ts_parsers(tz: str) -> list[Callable[[pl.Expr], pl.Expr]]:
    """Text -> Datetime(us, UTC) parsers, most common first."""
    def aware(fmt: str) -> Callable[[pl.Expr], pl.Expr]:
        return lambda e: (
            e.str.replace("Z", "+00:00", literal=True).str.replace(" UTC", "+00:00", literal=True)
            .str.to_datetime(fmt, strict=False, time_unit="us").dt.convert_time_zone("UTC")
        )

    def naive(fmt: str) -> Callable[[pl.Expr], pl.Expr]:
        return lambda e: (
            e.str.to_datetime(fmt, strict=False, time_unit="us")
            .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")
        )

    return [lambda e: _us_to_ts(_epoch_from_str(e)), *map(aware, ISO_AWARE), *map(naive, ISO_NAIVE)]


def ts_from_text(s: pl.Series, tz: str) -> pl.Series:
    """Epoch or ISO 8601 text -> Datetime(us, UTC), null when unparsable (formats tried in a cascade)."""
    return cascade(s, _ts_parsers(tz), schema.TS_DTYPE)


def to_ts(raw: pl.Expr, dtype: pl.DataType, tz: str, canon: str = "ts") -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        return _to_utc(raw, dtype, tz)
    if dtype == pl.Date:
        return _to_utc(raw.cast(pl.Datetime("us")), pl.Datetime("us"), tz)
    if dtype.is_integer():
        return _us_to_ts(_epoch_us(raw.cast(pl.Int64, strict=False)))
    if dtype.is_float() or dtype.is_decimal():
        return _us_to_ts(_epoch_us(raw.cast(pl.Float64)).round(0))
    if dtype == pl.String:
        return _clean(raw).map_batches(lambda s: ts_from_text(s, tz), return_dtype=schema.TS_DTYPE, is_elementwise=True)
    raise _wrong_type(canon, dtype)


def by_unique(raw: pl.Expr, convert: Callable[[pl.Expr], pl.Expr], dtype: pl.DataType) -> pl.Expr:
    """Apply ``convert`` to the distinct values of each batch only, then map back.

    For low-cardinality text (flags, protocol names, option lists) this turns a
    dozen regexes per row into one hash lookup per row; still polars throughout.
    """
    def apply(s: pl.Series) -> pl.Series:
        distinct = s.drop_nulls().unique()
        if distinct.is_empty():
            return pl.Series(s.name, [None] * len(s), dtype=dtype)
        converted = distinct.to_frame("x").select(convert(pl.col("x")).cast(dtype)).to_series()
        return s.replace_strict(distinct, converted, default=None, return_dtype=dtype)

    return raw.map_batches(apply, return_dtype=dtype, is_elementwise=True)


_PROTO_NAMES = {**schema.PROTO_NUMBERS, "UDPLITE": 136, "IPV6-ICMP": 58}


def to_proto(raw: pl.Expr, dtype: pl.DataType, canon: str = "proto") -> pl.Expr:
    if dtype != pl.String:
        return to_uint(raw, dtype, pl.UInt8(), canon)
    return by_unique(raw, _proto_from_text, pl.UInt8())


def _proto_from_text(raw: pl.Expr) -> pl.Expr:
    s = _clean(raw).str.to_uppercase()
    by_name = s.replace_strict(_PROTO_NAMES, default=None, return_dtype=pl.Int64)
    return pl.when(s.str.contains(r"^\d+$")).then(_int_from_str(s)).otherwise(by_name).cast(pl.UInt8, strict=False)


_SEP = r"[\s,|+/;]+"
_WORDS = "|".join([*schema.FLAG_BITS, "NS"])
#: One letter per flag as scapy (``SA``) and tcpdump (``[S.]``, ``W`` = CWR) write them; N (NS) is not in the byte.
_LETTERS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, ".": 16, "U": 32, "E": 64, "C": 128, "W": 128, "N": 0}


def flags_from_text(s: pl.Expr) -> pl.Expr:
    """``SYN``, ``ACK PSH``, ``SYN,ACK``, ``S``, ``SA``, ``[S.]``, ``none``, ``18``, ``0x012`` -> UInt8."""
    u = s.str.to_uppercase()
    words = u.str.contains(rf"^(?:{_WORDS})(?:{_SEP}(?:{_WORDS}))*$")
    word_bits = pl.sum_horizontal(
        [u.str.contains(rf"(?:^|{_SEP}){name}(?:{_SEP}|$)").cast(pl.UInt16) * bit for name, bit in schema.FLAG_BITS.items()]
    )
    letters_text = u.str.strip_prefix("[").str.strip_suffix("]")
    letters = letters_text.str.contains(r"^[FSRPAUECWN.]+$")
    letter_bits = pl.sum_horizontal(
        [letters_text.str.contains(ch, literal=True).cast(pl.UInt16) * bit for ch, bit in _LETTERS.items() if bit]
    )
    # A plain number may be a 12-bit flags field (Wireshark's tcp.flags, with NS and reserved bits): keep the low byte.
    number = _int_from_str(s)
    number = pl.when(number.is_between(0, 0xFFF)).then(number % 256)
    none = letters_text.is_in(["NONE", ""])
    return (
        pl.when(none).then(0)
        .when(words).then(word_bits)
        .when(letters).then(letter_bits)
        .otherwise(number)
        .cast(pl.UInt8, strict=False)
    )


def to_flags(raw: pl.Expr, dtype: pl.DataType, canon: str = "tcp_flags") -> pl.Expr:
    if dtype == pl.String:
        return by_unique(raw, lambda e: flags_from_text(_clean(e)), pl.UInt8())
    return to_uint(raw, dtype, pl.UInt8(), canon)


def options_hex(raw: pl.Expr) -> pl.Expr:
    """TCP options text -> upper-case hex without separators or ``0x``; null when not hex bytes."""
    h = _clean(raw).str.replace_all(r"[\s:]", "").str.replace(r"^0[xX]", "").str.to_uppercase()
    return pl.when(h.str.contains(r"^(?:[0-9A-F]{2})+$")).then(h)


def _mss_from_text(raw: pl.Expr) -> pl.Expr:
    """Non-hex option lists that name the MSS, e.g. scapy's ``[('MSS', 1460), ('NOP', None)]``."""
    return _clean(raw).str.extract(r"(?i)\bMSS\W{0,4}(\d+)", 1).str.to_integer(strict=False).cast(pl.UInt16, strict=False)


#: TCP options are at most 40 bytes, so at most 40 steps reach every option.
MAX_OPTION_BYTES = 40


def mss_from_hex(hexs: pl.Series) -> pl.Series:
    """Walk TCP option lists given as hex (kind 0 ends the list, 1 is a NOP, others are kind,
    length, data) and return the MSS (kind 2, length 4) as UInt16, null when absent or when the
    list is malformed before it. Vectorized with numpy: every row advances one option per step,
    for at most 40 steps.
    """
    n = len(hexs)
    width = MAX_OPTION_BYTES + 4  # zero padding reads as "end of list"
    text = hexs.fill_null("").str.slice(0, 2 * MAX_OPTION_BYTES)
    n_bytes = (text.str.len_bytes() // 2).to_numpy().astype(np.int64)
    padded = text.str.pad_end(2 * width, "0")
    pairs = padded.str.extract_all("..").explode().str.to_integer(base=16, strict=False).fill_null(0)
    table = pairs.to_numpy().astype(np.int64).reshape(n, width)
    rows = np.arange(n)
    pos = np.zeros(n, dtype=np.int64)
    done = n_bytes == 0
    mss = np.full(n, -1, dtype=np.int64)
    for _ in range(MAX_OPTION_BYTES):
        at = np.minimum(pos, MAX_OPTION_BYTES)
        kind, length = table[rows, at], table[rows, at + 1]
        end = done | (pos >= n_bytes) | (kind == 0)
        nop = kind == 1
        malformed = (length < 2) | (pos + 1 >= n_bytes)
        found = ~end & ~nop & (kind == 2) & (length == 4) & (pos + 4 <= n_bytes)
        mss = np.where(found, table[rows, at + 2] * 256 + table[rows, at + 3], mss)
        done = end | (~nop & malformed)
        pos = np.where(done, pos, np.where(nop, pos + 1, pos + length))
    out = pl.Series(hexs.name, mss, dtype=pl.Int64)
    return out.set(out < 0, None).cast(pl.UInt16)


def _mss_of_distinct(s: pl.Series) -> pl.Series:
    distinct = s.drop_nulls().unique()
    if distinct.is_empty():
        return pl.Series(s.name, [None] * len(s), dtype=pl.UInt16)
    frame = distinct.to_frame("raw").with_columns(options_hex(pl.col("raw")).alias("hex"))
    frame = frame.with_columns(mss_from_hex(frame["hex"]).alias("walked"))
    mss = frame.select(pl.coalesce("walked", _mss_from_text(pl.col("raw")))).to_series()
    return s.replace_strict(distinct, mss, default=None, return_dtype=pl.UInt16)


def mss_of_options(raw: pl.Expr) -> pl.Expr:
    """TCP options text (hex, or a list naming the MSS) -> MSS (UInt16), walking each distinct value once."""
    return raw.map_batches(_mss_of_distinct, return_dtype=pl.UInt16, is_elementwise=True)


# --------------------------------------------------------------------------
# The normalization itself
# --------------------------------------------------------------------------

_ROW = "__row"
_SKIP = "__skip"
_BAD = "__bad"


def _v(canon: str) -> str:
    return f"__v_{canon}"


def _b(canon: str) -> str:
    return f"__b_{canon}"


@dataclass
class Checked:
    """What the validation pass found: rows that make it into the frame, and skips by reason."""

    rows: int
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass
class Normalized:
    """The canonical LazyFrame of one input and the pass that validates it.

    ``frame`` never contains IPv6 rows or rows with values that do not convert.
    Call :meth:`check` (one pass over the data) to count what was left out and
    to raise on the first bad value unless ``opts.skip_bad_rows``.
    ``work`` is the intermediate frame with raw values, converted values and flags;
    :meth:`materialize` collects it once so ``check`` and ``frame`` need no second read.
    """

    work: pl.LazyFrame
    columns: list[tuple[str, str]]  # (input column, canonical name) in the order errors are searched
    extras: list[str]
    path: str | None
    opts: LoadOptions
    row_label: Callable[[int], str]
    what: str = "column"

    @property
    def frame(self) -> pl.LazyFrame:
        keep = pl.col(_SKIP).is_null() & ~pl.col(_BAD)
        out = self.work.filter(keep).select([pl.col(_v(c)).alias(c) for c in (*schema.CANONICAL, *self.extras)])
        return schema.conform(out)

    def materialize(self) -> Normalized:
        self.work = self.work.collect().lazy()
        return self

    def check(self) -> Checked:
        counts = (
            self.work.group_by(_SKIP)
            .agg(pl.len().alias("n"), pl.col(_BAD).sum().alias("bad"))
            .collect()
        )
        skipped: Counter[str] = Counter()
        rows = bad = 0
        for reason, n, n_bad in counts.iter_rows():
            if reason is None:
                bad += n_bad
                rows += n - n_bad
            elif not reason.startswith("_"):
                skipped[reason] += n
        if bad:
            if not self.opts.skip_bad_rows:
                raise self.first_error()
            skipped["bad_row"] += bad
        return Checked(rows=rows, skipped=skipped)

    def first_error(self) -> InputError:
        """The InputError for the first row (in input order) with a value that does not convert."""
        cols = [c for c, _ in self.columns]
        flags = [_b(canon) for _, canon in self.columns]
        row = (
            self.work.filter(pl.col(_SKIP).is_null() & pl.col(_BAD))
            .select(_ROW, *cols, *flags)
            .head(1)
            .collect()
            .row(0, named=True)
        )
        where = self.row_label(int(row[_ROW]))
        for (col, canon), flag in zip(self.columns, flags):
            if row[flag]:
                value = row[col]
                if value is None or (isinstance(value, str) and value.strip() in _BLANK):
                    return InputError(f"missing value in {self.what} {col.strip()}", path=self.path, where=where)
                return InputError(f"bad value {str(value)!r} in {self.what} {col.strip()}", path=self.path, where=where)
        return InputError("bad row", path=self.path, where=where)  # not reached: __bad is the OR of the flags


def _converter(canon: str, raw: pl.Expr, dtype: pl.DataType, opts: LoadOptions) -> pl.Expr:
    if canon in ("src", "dst"):
        return to_ip(raw, dtype, canon)
    if canon == "ts":
        return to_ts(raw, dtype, opts.tz, canon)
    if canon == "proto":
        return to_proto(raw, dtype, canon)
    if canon == "tcp_flags":
        return to_flags(raw, dtype, canon)
    if canon == OPTIONS:
        if dtype != pl.String:
            raise _wrong_type(canon, dtype)
        return by_unique(raw, options_hex, pl.String())
    if canon == "asn" and dtype == pl.String:
        return to_uint(_clean(raw).str.replace(r"^(?i)AS", ""), dtype, pl.UInt32(), canon)
    target = schema.CANONICAL.get(canon) or schema.EXTRA[canon]
    if target == pl.String:
        return raw.cast(pl.String)
    return to_uint(raw, dtype, target, canon)


def _default_row_label(i: int) -> str:
    return f"row {i + 1}"


def normalize_values(
    lf: pl.LazyFrame,
    mapping: dict[str, str],
    path: str | os.PathLike[str] | None,
    opts: LoadOptions,
    *,
    row_label: Callable[[int], str] = _default_row_label,
    row_col: str | None = None,
    skip_col: str | None = None,
    what: str = "column",
) -> Normalized:
    """Rename and convert ``lf``'s columns per ``mapping`` (from :func:`resolve_columns`).

    ``row_label(i)`` turns a 0-based row number into the position for messages
    (``"line {i+2}"`` for a CSV with a header). ``row_col`` names an existing
    row-number column to use instead of counting rows here; ``skip_col`` an
    existing String column with a skip reason per row (null = keep; reasons
    starting with ``_`` are dropped without being counted). Raises InputError
    only for column *types* that cannot be converted; bad *values* are found by
    :meth:`Normalized.check`.
    """
    path_s = os.fspath(path) if path is not None else None
    names = lf.collect_schema()
    mapping = {c: canon for c, canon in mapping.items() if c in names}
    if row_col is None:
        lf = lf.with_row_index(_ROW)
    else:
        lf = lf.with_columns(pl.col(row_col).cast(pl.Int64).alias(_ROW))

    raw_of = {canon: c for c, canon in mapping.items()}
    # Stages as separate with_columns: polars does not share sub-expressions between columns of
    # one with_columns, so cleaning once and testing converted *columns* saves repeated work.
    cleaned = {c: f"__c_{i}" for i, c in enumerate(mapping) if names[c] == pl.String}
    lf = lf.with_columns(_clean(pl.col(c)).alias(name) for c, name in cleaned.items())

    def source(col: str) -> pl.Expr:
        return pl.col(cleaned.get(col, col))

    values: dict[str, pl.Expr] = {}
    present_of = {c: present(source(c), names[c]) for c in mapping}
    try:
        for col, canon in mapping.items():
            if canon not in (TS_DATE, TS_TIME):
                values[canon] = _converter(canon, source(col), names[col], opts)
        if TS_DATE in raw_of:
            values["ts"] = _date_time_ts(source(raw_of[TS_DATE]), source(raw_of[TS_TIME]), opts)
    except InputError as e:
        raise InputError(e.why, path=path_s) from None

    bad_flags: dict[str, pl.Expr] = {}
    for col, canon in mapping.items():
        if canon in values:
            bad_flags[canon] = present_of[col] & pl.col(_v(canon)).is_null()
        if canon == OPTIONS:  # option lists written as text ("[('MSS', 1460), ...]") are read for the MSS only
            bad_flags[canon] = bad_flags[canon] & ~source(col).str.contains(r"^[\[(]")
    if TS_DATE in raw_of:
        bad_flags["ts"] = present_of[raw_of[TS_DATE]] & pl.col(_v("ts")).is_null()

    for canon in REQUIRED:  # a required column that is present but empty in a row is bad too
        raw_col = raw_of.get(canon) or (raw_of.get(TS_DATE) if canon == "ts" else None)
        if raw_col is None:
            raise InputError(f"missing column '{canon}' ({_looked_for(canon)})", path=path_s)
        bad_flags[canon] = bad_flags[canon] | ~present_of[raw_col]

    all_blank = pl.all_horizontal([~present_of[c] for c in mapping])
    ipv6 = pl.any_horizontal([is_ipv6(source(raw_of[c]), names[raw_of[c]]) for c in ("src", "dst")])
    skip = pl.when(all_blank).then(pl.lit("_blank")).when(ipv6).then(pl.lit("ipv6"))
    if skip_col is not None:
        skip = pl.coalesce(pl.col(skip_col), skip)

    work = lf.with_columns(*[e.alias(_v(canon)) for canon, e in values.items()], skip.alias(_SKIP))
    work = work.with_columns(e.fill_null(True).alias(_b(canon)) for canon, e in bad_flags.items())
    work = work.with_columns(pl.any_horizontal([pl.col(_b(c)) for c in bad_flags]).alias(_BAD))
    work = _derive_mss(work, values, raw_of)
    work = _fill_defaults(work, values, opts)

    extras = [c for c in schema.EXTRA if c in values or (c == "sensor" and opts.sensor is not None)]
    columns = [(c, canon) for c, canon in mapping.items() if canon in bad_flags]
    if TS_DATE in raw_of:
        columns.insert(0, (raw_of[TS_DATE], "ts"))
    return Normalized(work=work, columns=columns, extras=extras, path=path_s, opts=opts, row_label=row_label, what=what)


def _date_time_ts(date: pl.Expr, time: pl.Expr, opts: LoadOptions) -> pl.Expr:
    """``ts`` from a ``date`` column and a ``time`` column (time may be missing in a row)."""
    date, time = date.cast(pl.String), time.cast(pl.String)
    joined = pl.concat_str([_clean(date), _clean(time)], separator="T")
    return pl.coalesce(to_ts(joined, pl.String(), opts.tz), to_ts(date, pl.String(), opts.tz))


def _derive_mss(work: pl.LazyFrame, values: dict[str, pl.Expr], raw_of: dict[str, str]) -> pl.LazyFrame:
    """``tcp_mss`` from the options column when there is one (an explicit MSS column wins)."""
    if OPTIONS not in values:
        return work
    mss = mss_of_options(pl.col(raw_of[OPTIONS]))
    if "tcp_mss" in values:
        mss = pl.coalesce(pl.col(_v("tcp_mss")), mss)
    values["tcp_mss"] = mss
    return work.with_columns(mss.alias(_v("tcp_mss")))


def _fill_defaults(work: pl.LazyFrame, values: dict[str, pl.Expr], opts: LoadOptions) -> pl.LazyFrame:
    """Canonical columns not in the input: null, or inferred (proto 6), or the configured sensor."""
    fills = []
    for canon, dtype in schema.CANONICAL.items():
        if canon in values:
            continue
        if canon == "proto":
            fills.append(pl.lit(schema.PROTO_NUMBERS["TCP"], dtype=dtype).alias(_v(canon)))
        else:
            fills.append(pl.lit(None, dtype=dtype).alias(_v(canon)))
    if "sensor" not in values and opts.sensor is not None:
        fills.append(pl.lit(opts.sensor, dtype=pl.String).alias(_v("sensor")))
    return work.with_columns(fills) if fills else work


#: Text inputs smaller than this are read into memory once, so validation and use share one read.
MATERIALIZE_BELOW = 64 << 20


def load_text_input(
    path: str, make: Callable[[], Normalized], opts: LoadOptions, stats: LoadStats, fmt: str, noun: str
) -> pl.LazyFrame:
    """Validate a text input now (raising on the first bad value unless ``opts.skip_bad_rows``),
    publish its FileStats and return the canonical LazyFrame."""
    try:
        normalized = make()
        if os.path.getsize(path) < MATERIALIZE_BELOW:
            normalized.materialize()
        checked = normalized.check()
    except pl.exceptions.PolarsError as e:
        raise InputError(f"cannot read {noun}: {str(e).splitlines()[0]}", path=path) from None
    stats.publish(FileStats(path=path, format=fmt, rows=checked.rows, skipped=checked.skipped, complete=True))
    return normalized.frame
