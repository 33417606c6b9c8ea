"""Value conversion of the tabular inputs: raw columns to the canonical dtypes, with polars expressions only.

Each converter takes the raw column expression and its dtype and returns an
expression of the canonical dtype that is null where the value does not convert
(dotted or integer IPs, epoch or ISO 8601 times, protocol names, flag text, hex
TCP options, numbers given as strings, ...). "Bad" means: raw value present,
converted value null; :mod:`scantui.io.normalize` counts and reports those.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from scantui.errors import InputError
from scantui.io import schema

BLANK = ("", "-")


def clean(raw: pl.Expr) -> pl.Expr:
    """String column, stripped; null when empty or '-'."""
    s = raw.str.strip_chars()
    return pl.when(s.is_in(BLANK).not_()).then(s)


def present(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True where the input holds a value (not null, not blank, not NaN)."""
    if dtype == pl.String:
        return clean(raw).is_not_null()
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


def wrong_type(canon: str, dtype: pl.DataType) -> InputError:
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
        ints = clean(raw).map_batches(ints_from_text, return_dtype=pl.Int64, is_elementwise=True)
        return ints.cast(target, strict=False)
    if dtype.is_integer() or dtype == pl.Boolean:
        return raw.cast(target, strict=False)
    if dtype.is_float():
        return pl.when(raw == raw.floor()).then(raw).cast(pl.Int64, strict=False).cast(target, strict=False)
    if dtype.is_decimal():
        return raw.cast(pl.Int64, strict=False).cast(target, strict=False)
    raise wrong_type(canon, dtype)


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
        return clean(raw).map_batches(ips_from_text, return_dtype=pl.UInt32, is_elementwise=True)
    return to_uint(raw, dtype, pl.UInt32(), canon)


def is_ipv6(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype != pl.String:
        return pl.lit(False)
    return _strip_v4_mapped(clean(raw)).str.contains(":").fill_null(False)


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
    """Times in any of the accepted types -> Datetime(us, UTC); null (a bad value) where they do not convert or fall
    outside years 1 to 9999."""
    ts = _to_ts(raw, dtype, tz, canon)
    return pl.when(schema.ts_in_range(ts)).then(ts)


def _to_ts(raw: pl.Expr, dtype: pl.DataType, tz: str, canon: str) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        return _to_utc(raw, dtype, tz)
    if dtype == pl.Date:
        return _to_utc(raw.cast(pl.Datetime("us")), pl.Datetime("us"), tz)
    if dtype.is_integer():
        return _us_to_ts(_epoch_us(raw.cast(pl.Int64, strict=False)))
    if dtype.is_float() or dtype.is_decimal():
        return _us_to_ts(_epoch_us(raw.cast(pl.Float64)).round(0))
    if dtype == pl.String:
        return clean(raw).map_batches(lambda s: ts_from_text(s, tz), return_dtype=schema.TS_DTYPE, is_elementwise=True)
    raise wrong_type(canon, dtype)


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
    s = clean(raw).str.to_uppercase()
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
        return by_unique(raw, lambda e: flags_from_text(clean(e)), pl.UInt8())
    return to_uint(raw, dtype, pl.UInt8(), canon)


def options_hex(raw: pl.Expr) -> pl.Expr:
    """TCP options text -> upper-case hex without separators or ``0x``; null when not hex bytes."""
    h = clean(raw).str.replace_all(r"[\s:]", "").str.replace(r"^0[xX]", "").str.to_uppercase()
    return pl.when(h.str.contains(r"^(?:[0-9A-F]{2})+$")).then(h)


def _mss_from_text(raw: pl.Expr) -> pl.Expr:
    """Non-hex option lists that name the MSS, e.g. scapy's ``[('MSS', 1460), ('NOP', None)]``."""
    return clean(raw).str.extract(r"(?i)\bMSS\W{0,4}(\d+)", 1).str.to_integer(strict=False).cast(pl.UInt16, strict=False)


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
