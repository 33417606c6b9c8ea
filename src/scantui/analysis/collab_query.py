"""The options of a collaborative-scan search: :class:`CollabQuery` and the parsing of the options as typed.

``--by``, ``--window`` (``day``, ``burst`` or a span), ``--tolerance``, ``--tool``, ``--port``, ``--telescope``: the CLI's
``collab``/``groups``, ``scantui PATH`` and the TUI's search options all parse them with
:func:`make_query`. What the search does with a query: :mod:`scantui.analysis.collab`.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from scantui.errors import InputError

DAY_US = 86_400_000_000
STUDY_LOW = 1000 / 61000
STUDY_HIGH = 1500 / 61000
#: Every key kind, in the order ties are broken (a new kind is appended).
KEY_KINDS = ("prefix24", "asn", "zmap_generator", "fingerprint")
#: ``--by both``: the thesis' location keys (condition 5).
BOTH_BY = ("prefix24", "asn")
#: ``--by all``, the default: every kind (the location keys also find the pools that span ASes).
DEFAULT_BY = KEY_KINDS


@dataclass(frozen=True)
class CollabQuery:
    """What to look for. ``window_us`` None means the UTC calendar day; ``bursts`` the burst windows
    (:mod:`scantui.analysis.collab_bursts`, ``window_us`` then None)."""

    by: tuple[str, ...] = DEFAULT_BY
    window_us: int | None = None
    tools: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    min_sources: int = 2
    low: float = STUDY_LOW
    high: float = STUDY_HIGH
    top: int | None = None
    telescope_ranges: tuple[tuple[int, int], ...] = ()  # (first, last) address of each telescope block
    bursts: bool = False

    @property
    def window_label(self) -> str:
        if self.bursts:
            return BURST
        return "day" if self.window_us is None else format_window(self.window_us)


#: ``--window burst``: windows cut from the sources' bursts (:mod:`scantui.analysis.collab_bursts`).
BURST = "burst"
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_window(text: str) -> int | None:
    """``day`` -> None; ``24h``, ``48h``, ``90m``, ``2d`` -> microseconds (at least one minute)."""
    value = text.strip().lower()
    if value in ("day", "1day", "calendar", "calendar-day"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|min|h|d)", value)
    if not match:
        raise InputError(f"expected 'day' or a span such as 24h, 48h, 90m, 2d (or 'burst'), got {text!r}", where="--window")
    us = int(float(match.group(1)) * _UNITS[match.group(2)] * 1_000_000)
    if us < 60_000_000:
        raise InputError(f"a window must be at least one minute, got {text!r}", where="--window")
    return us


def is_burst_window(text: str) -> bool:
    """``--window burst`` (:data:`BURST`), which :func:`parse_window` does not take: it is no span."""
    return text.strip().lower() == BURST


def format_window(us: int) -> str:
    seconds = us // 1_000_000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and unit != "d":
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_by(text: str) -> tuple[str, ...]:
    """``both`` (/24 and AS), ``all`` (every kind), one kind, or kinds joined by commas."""
    value = text.strip().lower()
    if value == "both":
        return BOTH_BY
    if value == "all":
        return KEY_KINDS
    kinds = [k.strip() for k in value.split(",") if k.strip()]
    if kinds and all(k in KEY_KINDS for k in kinds):
        return tuple(k for k in KEY_KINDS if k in kinds)
    raise InputError(f"expected {', '.join(KEY_KINDS)}, both or all, got {text!r}", where="--by")


def parse_tolerance(text: str) -> tuple[float, float]:
    """``LOW,HIGH`` as fractions (``0.02,0.025``) or percentages (``2%,2.5%``)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise InputError(f"expected LOW,HIGH such as 0.02,0.025 or 2%,2.5%, got {text!r}", where="--tolerance")
    out = []
    for part in parts:
        try:
            value = float(part[:-1]) / 100 if part.endswith("%") else float(part)
        except ValueError:
            raise InputError(f"not a number: {part!r}", where="--tolerance") from None
        if not 0 <= value < 0.5 or math.isnan(value):
            raise InputError(f"each side must be in [0, 0.5), got {part!r}", where="--tolerance")
        out.append(value)
    return out[0], out[1]


def parse_ports(text: str) -> tuple[int, ...]:
    ports = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not part.isdigit() or not 0 <= int(part) <= 65535:
            raise InputError(f"not a port: {part!r}", where="--port")
        ports.append(int(part))
    if not ports:
        raise InputError("no port given", where="--port")
    return tuple(sorted(set(ports)))


def make_query(*, by: str = "all", window: str = BURST, tolerance: str | None = None, tools: str | None = None,
               ports: str | None = None, min_sources: int = 2, telescope_cidrs: str | None = None) -> CollabQuery:
    """The query of the search options as typed (``--by``, ``--window`` (``day``, ``burst`` or a span), ``--tolerance``, ``--tool``, ``--port``...):
    ``scantui collab``/``groups``, ``scantui PATH`` and the TUI's options all parse them here.
    A bad value raises :class:`InputError` naming the option."""
    from scantui.analysis.fingerprints import TOOLS
    from scantui.analysis.telescope import parse_cidrs

    tool_list = tuple(dict.fromkeys(t.strip().lower() for t in tools.split(",") if t.strip())) if tools else ()
    bad = [t for t in tool_list if t not in TOOLS]
    if bad or (tools is not None and not tool_list):
        raise InputError(f"unknown tool {bad[0] if bad else tools!r} (known: {', '.join(TOOLS)})", where="--tool")
    low, high = parse_tolerance(tolerance) if tolerance else (STUDY_LOW, STUDY_HIGH)
    return CollabQuery(
        by=parse_by(by), window_us=None if is_burst_window(window) else parse_window(window), tools=tool_list,
        ports=parse_ports(ports) if ports is not None else (), min_sources=min_sources, low=low, high=high,
        telescope_ranges=telescope_ranges(parse_cidrs(telescope_cidrs)) if telescope_cidrs else (),
        bursts=is_burst_window(window),
    )


def query_label(query: CollabQuery) -> str:
    """``window 24h · by asn · tol 1.64%,2.46%``: the options of a search, short enough for a title at 80 columns."""
    chosen = set(query.by)
    by = "both" if chosen == set(BOTH_BY) else "all" if chosen == set(KEY_KINDS) else ",".join(query.by)
    return f"window {query.window_label} · by {by} · tol {query.low:.2%},{query.high:.2%}"


def telescope_ranges(nets: Sequence[ipaddress.IPv4Network]) -> tuple[tuple[int, int], ...]:
    return tuple((int(n.network_address), int(n.broadcast_address)) for n in ipaddress.collapse_addresses(nets))
