"""Input column names to canonical ones, shared by the tabular loaders (CSV, Parquet) and the LOG parser.

:func:`resolve_columns` maps whatever the input calls its columns (``SRC``,
``src_ip``, ``ip.src``, ...) to canonical names, through a case-insensitive
alias table (:data:`ALIASES`), and fails with an :class:`InputError` naming what
it looked for when a required column is missing.
"""

from __future__ import annotations

import os

from scantui.errors import InputError
from scantui.io import schema

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
            raise InputError(f"missing column '{canon}' ({looked_for(canon)})", path=path)
    if "proto" not in mapping.values():
        if not any(c in mapping.values() for c in TCP_FIELDS):
            raise InputError(f"missing column 'proto' ({looked_for('proto')}; or TCP fields such as SEQ or TCP_Flags, "
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


def looked_for(canon: str) -> str:
    return "looked for " + ", ".join((canon, *ALIASES.get(canon, ())))
