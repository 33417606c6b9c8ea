"""The packet field filter: ``ttl:64 ipid:54321 win:1024 flags:S sport:40000-40100`` -> a polars expression.

Same syntax rules as the query bars (:mod:`scantui.tui.query`): whitespace
separates terms (double quotes keep spaces), ``key:v1,v2`` ORs the values,
repeating a key ORs too, different keys AND, ``-key:v`` (or ``!key:v``)
excludes, ``a-b`` is an inclusive range, ``ttl>=200`` compares, and a bare
IPv4 address or CIDR matches the source or the destination. :data:`WHERE_HELP`
is the one help text both front ends show. :func:`parse_where` raises
:class:`PacketFilterError` naming the bad term.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass

import polars as pl

from scantui.io.schema import FLAG_BITS, PROTO_NUMBERS
from scantui.netaddr import ipv4_network

#: Filter key (and aliases) -> canonical column.
KEYS: dict[str, str] = {
    "ttl": "ttl",
    "ipid": "ip_id", "ip_id": "ip_id", "id": "ip_id",
    "win": "tcp_window", "window": "tcp_window", "tcp_window": "tcp_window",
    "flags": "tcp_flags", "flag": "tcp_flags", "tcp_flags": "tcp_flags",
    "mss": "tcp_mss", "tcp_mss": "tcp_mss",
    "sport": "sport", "dport": "dport", "port": "dport",
    "src": "src", "dst": "dst",
    "len": "ip_len", "ip_len": "ip_len", "length": "ip_len",
    "proto": "proto", "protocol": "proto",
    "seq": "tcp_seq", "tcp_seq": "tcp_seq",
    "ack": "tcp_ack", "tcp_ack": "tcp_ack",
    "sensor": "sensor",
}
#: Largest value of each numeric column.
_MAX = {"ttl": 255, "ip_id": 65535, "tcp_window": 65535, "tcp_flags": 255, "tcp_mss": 65535, "sport": 65535,
        "dport": 65535, "ip_len": 65535, "proto": 255, "tcp_seq": 2**32 - 1, "tcp_ack": 2**32 - 1}
#: Flag letters in display order (lowest bit first: SYN+ACK reads ``SA``).
FLAG_LETTERS = (("F", FLAG_BITS["FIN"]), ("S", FLAG_BITS["SYN"]), ("R", FLAG_BITS["RST"]), ("P", FLAG_BITS["PSH"]),
                ("A", FLAG_BITS["ACK"]), ("U", FLAG_BITS["URG"]), ("E", FLAG_BITS["ECE"]), ("C", FLAG_BITS["CWR"]))
_LETTER_BIT = dict(FLAG_LETTERS)
_CMP = re.compile(r"^([a-z_]+)(>=|<=|>|<|=)(.+)$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$")

WHERE_HELP = """\
Packet filter: terms separated by spaces; all must match.
  ttl:64  ipid:54321  win:1024  mss:1460  len:40  seq:N  ack:N  proto:tcp
  sport:40000-40100   dport:22,2222   src:198.51.100.0/24   dst:IP   sensor:NAME
  flags:S   exactly SYN (flags:SA exactly SYN+ACK)   flags:+S  SYN set, others any
            letters F S R P A U E C; flags:0 or flags:none = no flag set
  ttl>=200  win<1024  (> < >= <= =)     198.51.100.7  a bare IP/CIDR: source or destination
  day:2024-02-05..2024-02-09  day:2024-02-05  seen:>2024-02-10  (the packet's UTC day; open ends ..D, D..)
  key:a,b or a repeated key: either value    -key:v (or !key:v) excludes    a-b: a range
Keys: ttl ipid(ip_id) win(window) flags mss sport dport(port) src dst len(ip_len) proto seq ack sensor day seen"""


class PacketFilterError(ValueError):
    """A filter term that cannot be read; the message names it. *short*: the message without the list of
    keys it may end with (a one-line status at 80 columns; the keys are in :data:`WHERE_HELP`)."""

    def __init__(self, message: str, short: str | None = None) -> None:
        super().__init__(message)
        self.short = short or message


@dataclass(frozen=True)
class _Term:
    column: str  # a column, or "addr" for a bare IP (src or dst)
    expr: pl.Expr
    negate: bool
    cmp: bool


def flag_text(value: int | None) -> str | None:
    """TCP flags as letters (``SA``); ``none`` for no flag; None stays None."""
    if value is None:
        return None
    return "".join(letter for letter, bit in FLAG_LETTERS if value & bit) or "none"


def flags_expr(expr: pl.Expr) -> pl.Expr:
    """A UInt8 flags column as letters (vectorized lookup of the 256 values)."""
    return expr.cast(pl.UInt8).replace_strict(list(range(256)), [flag_text(v) for v in range(256)],
                                              return_dtype=pl.String)


def _flags(raw: str, text: str) -> tuple[int, bool]:
    """(bits, exact) for ``S``/``SA``/``+S``/``0``/``18``."""
    has = text.startswith("+")
    body = text[1:] if has else text
    if body.isdigit():
        value = int(body)
        if value > 255:
            raise PacketFilterError(f"{raw}: flags {body} is not 0-255")
        return value, not has
    if body.lower() == "none":
        return 0, True
    bits = 0
    for ch in body.upper():
        if ch not in _LETTER_BIT:
            raise PacketFilterError(f"{raw}: unknown flag {ch!r} (letters F S R P A U E C, e.g. flags:SA or flags:+S)")
        bits |= _LETTER_BIT[ch]
    if not body:
        raise PacketFilterError(f"{raw}: no flag given")
    return bits, not has


def _int(raw: str, column: str, text: str) -> int:
    text = text.strip()
    if column == "proto" and text.upper() in PROTO_NUMBERS:
        return PROTO_NUMBERS[text.upper()]
    try:
        value = int(text, 0) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise PacketFilterError(f"{raw}: {text!r} is not a number") from None
    if not 0 <= value <= _MAX[column]:
        raise PacketFilterError(f"{raw}: {value} is out of range for {column} (0-{_MAX[column]})")
    return value


def _network(raw: str, text: str) -> ipaddress.IPv4Network:
    try:
        return ipv4_network(text)
    except ValueError as why:
        raise PacketFilterError(f"{raw}: {why}") from None


def _in_net(column: str, net: ipaddress.IPv4Network) -> pl.Expr:
    return pl.col(column).is_between(int(net.network_address), int(net.broadcast_address))


def _value(raw: str, column: str, part: str) -> pl.Expr:
    col = pl.col(column)
    if column in ("src", "dst"):
        return _in_net(column, _network(raw, part))
    if column == "sensor":
        return col.str.to_lowercase() == part.lower()
    if column == "tcp_flags":
        bits, exact = _flags(raw, part)
        return (col == bits) if exact else ((col & bits) == bits)
    lo, sep, hi = part.partition("-")
    if sep and lo and hi:
        a, b = _int(raw, column, lo), _int(raw, column, hi)
        if a > b:
            raise PacketFilterError(f"{raw}: empty range {part!r}")
        return col.is_between(a, b)
    return col == _int(raw, column, part)


#: Keys for the packet's UTC day (``day:2024-02-05..2024-02-09``, ``seen:>2024-02-10``), as in every query bar.
_DAY_KEYS = ("day", "date", "seen")


def _day_expr(raw: str, text: str) -> pl.Expr:
    """The packets whose UTC day is in the span *text* (:func:`scantui.analysis.query.parse_day_span`)."""
    from scantui.analysis.query import QueryError, parse_day_span

    try:
        lo, hi = parse_day_span(raw, text)
    except QueryError as exc:
        raise PacketFilterError(str(exc)) from None
    day = pl.col("ts").dt.date()
    exprs = [e for e in ((day >= lo) if lo else None, (day <= hi) if hi else None) if e is not None]
    return pl.all_horizontal(exprs)


def _term(raw: str) -> _Term:
    negate = raw[:1] in "-!" and len(raw) > 1
    body = raw[1:] if negate else raw
    lowered = body.lower()
    key, sep, value = lowered.partition(":")
    if sep and key in _DAY_KEYS:
        parts = [p for p in value.split(",") if p.strip()]
        if not parts:
            raise PacketFilterError(f"{raw}: no value after {key}:")
        exprs = [_day_expr(raw, p) for p in parts]
        return _Term("day", pl.any_horizontal(exprs) if len(exprs) > 1 else exprs[0], negate, False)
    if (m := _CMP.match(lowered)) and ":" not in lowered and m.group(1) in _DAY_KEYS:  # seen>2024-02-10
        op = "" if m.group(2) == "=" else m.group(2)
        return _Term("day", _day_expr(raw, op + m.group(3)), negate, True)
    if (m := _CMP.match(lowered)) and ":" not in lowered:
        key, op, value = m.groups()
        column = KEYS.get(key)
        if column is None or column in ("src", "dst", "sensor", "tcp_flags"):
            names = "ttl ipid win mss sport dport len proto seq ack"
            raise PacketFilterError(f"{raw}: cannot compare {key!r} (one of: {names})", f"{raw}: cannot compare {key!r}")
        n = _int(raw, column, value)
        col = pl.col(column)
        expr = {">=": col >= n, "<=": col <= n, ">": col > n, "<": col < n, "=": col == n}[op]
        return _Term(column, expr, negate, True)
    if ":" in body:
        key, _, value = body.partition(":")
        column = KEYS.get(key.lower())
        if column is None:
            raise PacketFilterError(f"{raw}: unknown key {key!r} (one of: {' '.join(sorted({*KEYS, *_DAY_KEYS}))})",
                                    f"{raw}: unknown key {key!r}")
        parts = [p for p in value.split(",") if p.strip()]
        if not parts:
            raise PacketFilterError(f"{raw}: no value after {key}:")
        exprs = [_value(raw, column, p.strip()) for p in parts]
        return _Term(column, pl.any_horizontal(exprs) if len(exprs) > 1 else exprs[0], negate, False)
    if _IPV4.match(body):
        net = _network(raw, body)
        return _Term("addr", _in_net("src", net) | _in_net("dst", net), negate, False)
    raise PacketFilterError(f"{raw}: not a filter term (key:value, a comparison like ttl>=200, or an IP/CIDR)")


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        raise PacketFilterError(f"unreadable filter: {exc}") from None


def where_columns(text: str) -> set[str]:
    """The columns a filter reads (checked, so bad terms raise here too)."""
    out: set[str] = set()
    for raw in _split(text):
        column = _term(raw).column
        out |= {"src", "dst"} if column == "addr" else {"ts"} if column == "day" else {column}
    return out


def parse_where(text: str) -> pl.Expr:
    """*text* as one boolean expression over the packet table (``pl.lit(True)`` when empty).

    Positive terms of one key OR together; different keys, comparisons and negated
    terms AND. Raises :class:`PacketFilterError` naming the first bad term.
    """
    ors: dict[str, list[pl.Expr]] = {}
    ands: list[pl.Expr] = []
    for raw in _split(text):
        term = _term(raw)
        if term.negate:
            ands.append(~term.expr.fill_null(False))
        elif term.cmp:
            ands.append(term.expr)
        else:
            ors.setdefault(term.column, []).append(term.expr)
    ands.extend(pl.any_horizontal(exprs) if len(exprs) > 1 else exprs[0] for exprs in ors.values())
    if not ands:
        return pl.lit(True)
    return pl.all_horizontal(ands).fill_null(False)
