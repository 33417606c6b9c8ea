"""Packet classes every analysis starts from: probes, backscatter, the rest.

A probe is a TCP packet with SYN set and ACK clear. Backscatter is what
victims of spoofed floods send back: SYN-ACK, RST (with or without ACK).
UDP and ICMP are kept apart; they are not probes by this definition.
"""

from __future__ import annotations

import polars as pl

from scantui.io.schema import ACK, RST, SYN

TCP, UDP, ICMP = 6, 17, 1

PROTO_NAMES = {ICMP: "icmp", TCP: "tcp", UDP: "udp"}


def is_probe() -> pl.Expr:
    flags = pl.col("tcp_flags")
    return (pl.col("proto") == TCP) & ((flags & SYN) != 0) & ((flags & ACK) == 0)


def is_backscatter() -> pl.Expr:
    flags = pl.col("tcp_flags")
    syn_ack = ((flags & SYN) != 0) & ((flags & ACK) != 0)
    return (pl.col("proto") == TCP) & (syn_ack | ((flags & RST) != 0))


def traffic_class() -> pl.Expr:
    """``probe`` / ``backscatter`` / ``other_tcp`` / ``udp`` / ``icmp`` / ``other``."""
    proto = pl.col("proto")
    return (
        pl.when(is_probe()).then(pl.lit("probe"))
        .when(is_backscatter()).then(pl.lit("backscatter"))
        .when(proto == TCP).then(pl.lit("other_tcp"))
        .when(proto == UDP).then(pl.lit("udp"))
        .when(proto == ICMP).then(pl.lit("icmp"))
        .otherwise(pl.lit("other"))
        .alias("traffic")
    )
