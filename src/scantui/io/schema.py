"""The canonical packet table: column names, dtypes and helpers to conform to them.

This is the outward contract of ``../shared/docs/contract.md``: every loader
produces exactly these columns in this order (plus ``sensor`` and enrichment
columns when the input has them).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

TS_DTYPE = pl.Datetime("us", "UTC")

#: Times are read in years 1 to 9999 (what a date can be written as); one outside is a bad value, not a crash later.
TS_FIRST = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
TS_LAST = dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)


def ts_in_range(ts: pl.Expr) -> pl.Expr:
    """Whether each time (Datetime(us, UTC)) is in years 1 to 9999 (null stays null)."""
    return ts.is_between(pl.lit(TS_FIRST, dtype=TS_DTYPE), pl.lit(TS_LAST, dtype=TS_DTYPE))

CANONICAL: dict[str, pl.DataType] = {
    "ts": TS_DTYPE,
    "src": pl.UInt32(),
    "dst": pl.UInt32(),
    "proto": pl.UInt8(),
    "sport": pl.UInt16(),
    "dport": pl.UInt16(),
    "ip_id": pl.UInt16(),
    "ttl": pl.UInt8(),
    "ip_len": pl.UInt16(),
    "tcp_flags": pl.UInt8(),
    "tcp_seq": pl.UInt32(),
    "tcp_ack": pl.UInt32(),
    "tcp_window": pl.UInt16(),
    "tcp_mss": pl.UInt16(),
}

OPTIONAL: dict[str, pl.DataType] = {"sensor": pl.String()}

ENRICHMENT: dict[str, pl.DataType] = {
    "asn": pl.UInt32(),
    "as_name": pl.String(),
    "country": pl.String(),
    "hostname": pl.String(),
    "org": pl.String(),
    "category": pl.String(),
}

#: Columns a loader keeps when present, in output order after the canonical ones.
EXTRA: dict[str, pl.DataType] = {**OPTIONAL, **ENRICHMENT}

#: Where a captured packet's record lies (:mod:`scantui.io.packet_refs`): kept through the rollup's
#: day tables when a capture is decoded with ``LoadOptions.record_refs``, never in what users get.
REFS: dict[str, pl.DataType] = {"ref_file": pl.UInt32(), "ref_off": pl.UInt64()}

#: Columns without which a packet row means nothing.
REQUIRED = ("ts", "src", "dst", "proto")

# TCP flag bits, as in the TCP header's flags byte.
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128
FLAG_BITS: dict[str, int] = {
    "FIN": FIN, "SYN": SYN, "RST": RST, "PSH": PSH,
    "ACK": ACK, "URG": URG, "ECE": ECE, "CWR": CWR,
}

PROTO_NUMBERS: dict[str, int] = {"ICMP": 1, "IGMP": 2, "TCP": 6, "UDP": 17, "GRE": 47, "ESP": 50, "ICMPV6": 58, "SCTP": 132}


#: Columns every row needs a value in, whatever the input's typing (a row without one is refused,
#: or skipped and counted with ``skip_bad_rows``).
REQUIRED = ("ts", "src", "dst")


def canonical_schema(extra: list[str] | tuple[str, ...] = ()) -> pl.Schema:
    """The canonical schema, followed by the named optional/enrichment columns."""
    cols = dict(CANONICAL)
    for name in extra:
        cols[name] = EXTRA[name]
    return pl.Schema(cols)


def empty_frame(extra: list[str] | tuple[str, ...] = ()) -> pl.DataFrame:
    return pl.DataFrame(schema=canonical_schema(extra))


def conform(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Select the canonical columns (nulls where missing) plus known extras, cast strictly.

    Input columns must already carry canonical *names*; values must already be
    numeric/datetime. Columns that are neither canonical nor known extras (nor the
    record references, :data:`REFS`) are dropped.
    """
    names = lf.collect_schema().names()
    exprs = []
    for name, dtype in CANONICAL.items():
        exprs.append(pl.col(name).cast(dtype) if name in names else pl.lit(None, dtype=dtype).alias(name))
    for name, dtype in {**EXTRA, **REFS}.items():
        if name in names:
            exprs.append(pl.col(name).cast(dtype))
    return lf.select(exprs)


def drop_refs(lf: pl.LazyFrame) -> pl.LazyFrame:
    """*lf* without the record reference columns (:data:`REFS`)."""
    return lf.drop(list(REFS), strict=False)


def ip_to_str(expr: pl.Expr) -> pl.Expr:
    """UInt32 IPv4 -> dotted string (vectorized)."""
    e = expr.cast(pl.UInt32)
    return pl.concat_str(
        [(e // (1 << 24)) % 256, (e // (1 << 16)) % 256, (e // (1 << 8)) % 256, e % 256],
        separator=".",
    )
