"""How many addresses the telescope has, estimated from the data when not given.

A telescope's address count is what a full scan must cover. Without a CIDR
from the user we take the median over days of the distinct destinations seen
that day: full scanners reach every address daily, and the median ignores spike
days (the study saw one day with 172k addresses on a 61k telescope).
"""

from __future__ import annotations

import ipaddress

import polars as pl

from scantui.errors import InputError
from scantui.netaddr import ipv4_network


def parse_cidrs(text: str, option: str = "--telescope") -> list[ipaddress.IPv4Network]:
    """``"198.18.0.0/20,198.19.0.0/24"`` -> networks; a bad CIDR is an :class:`InputError` naming *option*."""
    nets = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            nets.append(ipv4_network(part))
        except ValueError as why:
            raise InputError(f"bad CIDR {part!r} ({why})", where=option) from None
    if not nets:
        raise InputError("no CIDR given", where=option)
    return nets


def cidr_size(nets: list[ipaddress.IPv4Network]) -> int:
    return sum(n.num_addresses for n in ipaddress.collapse_addresses(nets))


def resolve_size(telescope: str | None, telescope_size: int | None, estimate: int) -> tuple[int, str]:
    """The telescope size to use and where it came from (``cidr``, ``given`` or ``estimated``)."""
    if telescope:
        return cidr_size(parse_cidrs(telescope)), "cidr"
    if telescope_size is not None:
        if telescope_size <= 0:
            raise InputError(f"must be positive, got {telescope_size}", where="--telescope-size")
        return telescope_size, "given"
    return estimate, "estimated"


def estimate_size_from_daily(daily: pl.DataFrame) -> int:
    if daily.height == 0:
        return 0
    return int(daily["dsts"].median())
