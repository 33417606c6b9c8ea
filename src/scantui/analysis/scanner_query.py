"""What the scanner list lists: its columns, the query type and the parsers of the CLI's values.

:data:`COLUMNS` are the list's columns in order (:data:`SORTABLE` the ones ``--sort``
accepts); :class:`ScannerQuery` the selection (ports, tools, CIDRs, ASNs, whole UTC
days, minimum packets, UDP), sort and cut, checked when made; ``parse_*`` turn the
CLI's text into its fields, each error naming its option.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from scantui.analysis import behaviour as bh
from scantui.analysis.fingerprints import TOOLS
from scantui.analysis.telescope import parse_cidrs
from scantui.analysis.traffic import kinds_of
from scantui.errors import InputError
from scantui.utctime import in_utc


ENRICHMENT_COLUMNS = ("asn", "as_name", "country", "hostname", "org", "category")


#: Every column of the list, in order (``tools`` is a struct of shares, ``top_ports`` a list of structs).
COLUMNS = (
    "src", "packets", "ports", "dsts", "first_seen", "last_seen", "days_active", "tool", "variant", "tools",
    "range_class", "schedule", "period_days", "schedule_strength",
    "well_known_share", "registered_share", "ephemeral_share", "days_scanned",
    "avg_scan_interval_days", "ports_rescanned", "coverage_max", "coverage_mean", "picture",
    *ENRICHMENT_COLUMNS, "rule", "top_ports", "list",
)
#: Columns ``sort`` accepts (everything scalar).
SORTABLE = tuple(c for c in COLUMNS if c not in ("tools", "top_ports", "list"))
TOP_PORTS = bh.TOP_PORTS


@dataclass(frozen=True)
class ScannerQuery:
    """What to list. Empty tuples / None mean no filter."""

    ports: tuple[int, ...] = ()
    tools: tuple[str, ...] = ()
    cidrs: tuple[ipaddress.IPv4Network, ...] = ()
    asns: tuple[int, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    min_packets: int = 0
    include_udp: bool = False
    sort: str = "packets"
    descending: bool = True
    top: int | None = None

    def __post_init__(self) -> None:
        if self.sort not in SORTABLE:
            raise InputError(f"unknown column {self.sort!r} (one of: {', '.join(SORTABLE)})", where="--sort")
        bad = [t for t in self.tools if t not in TOOLS]
        if bad:
            raise InputError(f"unknown tool {bad[0]!r} (one of: {', '.join(TOOLS)})", where="--tool")
        if self.top is not None and self.top < 0:
            raise InputError(f"must be >= 0, got {self.top}", where="--top")
        if self.since and self.until and self.since > self.until:
            raise InputError(f"--since {self.since} is after --until {self.until}", where="--since/--until")

    @property
    def kinds(self) -> tuple[str, ...]:
        return kinds_of(self.include_udp)

    @property
    def narrows_rows(self) -> bool:
        """True when rows are selected below the per-source level (so src_totals' dsts no longer apply)."""
        return bool(self.ports) or self.include_udp or self.since is not None or self.until is not None


# ---------------------------------------------------------------- parsing user values


def parse_ports(text: str) -> tuple[int, ...]:
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not part.isdigit() or int(part) > 65535:
            raise InputError(f"bad port {part!r} (0-65535)", where="--port")
        out.append(int(part))
    if not out:
        raise InputError("no port given", where="--port")
    return tuple(sorted(set(out)))


def parse_asns(text: str) -> tuple[int, ...]:
    out = []
    for part in (p.strip() for p in text.split(",")):
        digits = part[2:] if part.upper().startswith("AS") else part
        if not part:
            continue
        if not digits.isdigit() or int(digits) >= 2**32:
            raise InputError(f"bad ASN {part!r}", where="--asn")
        out.append(int(digits))
    if not out:
        raise InputError("no ASN given", where="--asn")
    return tuple(sorted(set(out)))


def parse_source_cidrs(text: str) -> tuple[ipaddress.IPv4Network, ...]:
    return tuple(parse_cidrs(text, "--cidr"))


def parse_day(text: str, where: str) -> dt.date:
    """An ISO date or date-time -> its UTC day (the rollup's resolution)."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an ISO 8601 date or time: {text!r}", where=where) from None
    try:
        return in_utc(value).date()
    except ValueError as exc:
        raise InputError(str(exc), where=where) from None
