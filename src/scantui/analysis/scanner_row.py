"""One scanner of the list, typed: what a detail screen reads where a single row is needed.

The scanner list stays a polars frame (:class:`scantui.analysis.scanners.ScannerList`, the
bulk form every table and ``scantui scanners`` use); :meth:`ScannerRow.from_row` turns one
of its rows (a named row, ``frame.row(i, named=True)``) into a frozen value with the
source as an IPv4 integer, times as aware UTC datetimes and the AS number an integer.
Columns a frame does not carry are None (empty for the tool shares and top ports).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class TopPort:
    """One of a scanner's top ports: packets, scans and the best share of the telescope reached."""

    port: int
    proto: int | None = None
    packets: int | None = None
    scans: int | None = None
    coverage: float | None = None


@dataclass(frozen=True, slots=True)
class ScannerRow:
    """A row of :data:`scantui.analysis.scanners.COLUMNS` (see :mod:`scantui.analysis.scanners` for each field)."""

    src: int
    packets: int = 0
    ports: int = 0
    dsts: int | None = None
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    days_active: int = 0
    tool: str | None = None
    variant: str | None = None  # for tool zmap: "ipid" (the IP-ID tag) or "walk" (the address-walk test alone)
    tools: tuple[tuple[str, float], ...] = ()  # (tool, share of the source's probes)
    range_class: str | None = None
    schedule: str | None = None
    period_days: float | None = None
    schedule_strength: float | None = None
    well_known_share: float | None = None
    registered_share: float | None = None
    ephemeral_share: float | None = None
    days_scanned: float | None = None
    avg_scan_interval_days: float | None = None
    ports_rescanned: int | None = None
    coverage_max: float | None = None
    coverage_mean: float | None = None
    picture: str | None = None
    asn: int | None = None
    as_name: str | None = None
    country: str | None = None
    hostname: str | None = None
    org: str | None = None
    category: str | None = None
    rule: str | None = None
    top_ports: tuple[TopPort, ...] = ()
    list: tuple[str, ...] = ()  # the names of the known-scanner lists holding the source

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ScannerRow:
        """The typed row of one named frame row (missing columns: None; the struct and list columns as tuples)."""
        values = {f.name: row.get(f.name) for f in fields(cls) if row.get(f.name) is not None}
        values["src"] = int(row["src"])
        if "asn" in values:
            values["asn"] = int(values["asn"])
        values["tools"] = tuple((t, float(s)) for t, s in (row.get("tools") or {}).items() if s is not None)
        values["top_ports"] = tuple(TopPort(int(p["port"]), p.get("proto"), p.get("packets"), p.get("scans"),
                                            p.get("coverage"))
                                    for p in row.get("top_ports") or () if p and p.get("port") is not None)
        values["list"] = tuple(row.get("list") or ())
        return cls(**values)
