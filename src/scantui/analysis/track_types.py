"""The result of tracking a group (:func:`scantui.analysis.tracking.track_group`): immutable, typed values.

IPs are IPv4 integers, times µs since the epoch (UTC), days :class:`datetime.date`, the
timing pattern a :class:`~scantui.analysis.collab_types.Timing`. :meth:`TrackResult.to_json`
writes the ``scantui track --json`` shape (``scantui/schemas/track.schema.json``), called only
at the edges; the front ends format cells from the fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from scantui.analysis.collab_types import SourcesSpan, Timing, dotted, utc_time

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def iso_z(us: int) -> str:
    """``2024-02-05T09:00:02.015475Z``, or ``2024-02-05T09:00:02Z`` on a whole second: the ``track`` time format."""
    return utc_time(us).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class TrackScan(SourcesSpan):
    """A (UTC day, port) on which the members together reached the cover; ``sources`` sorted, ``dsts`` and
    ``split`` following them."""

    day: dt.date
    port: int
    start_us: int
    end_us: int
    sources: tuple[int, ...]
    dsts: tuple[int, ...]
    union: int
    cover: float
    cover_multiple: int
    split: tuple[float, ...]
    timing: Timing
    timing_containment: float
    packets: int

    def to_json(self) -> dict[str, Any]:
        ips = self.source_ips
        return {
            "day": self.day.isoformat(), "port": self.port, "start": iso_z(self.start_us), "end": iso_z(self.end_us),
            "sources": list(ips), "n_sources": len(ips),
            "dsts_per_source": [{"src": ip, "dsts": n} for ip, n in zip(ips, self.dsts)],
            "union": self.union, "cover": self.cover, "cover_multiple": self.cover_multiple, "split": list(self.split),
            "timing": str(self.timing), "timing_containment": self.timing_containment, "packets": self.packets,
        }


@dataclass(frozen=True, slots=True)
class TrackPort:
    """A port the members probed: scans on it, packets, active days."""

    port: int
    scans: int
    packets: int
    days: int

    def to_json(self) -> dict[str, Any]:
        return {"port": self.port, "scans": self.scans, "packets": self.packets, "days": self.days}


@dataclass(frozen=True, slots=True)
class MemberSplit:
    """One member's share of the union over the scans it took part in."""

    member: int
    scans: int
    mean_share: float
    min_share: float
    max_share: float
    stable: bool

    def to_json(self) -> dict[str, Any]:
        return {"member": dotted(self.member), "scans": self.scans, "mean_share": self.mean_share,
                "min_share": self.min_share, "max_share": self.max_share, "stable": self.stable}


@dataclass(frozen=True, slots=True)
class TrackDay:
    """One calendar day of the tracked span: scans, packets and active sources that day."""

    day: dt.date
    scans: int
    packets: int
    sources: int


@dataclass(frozen=True, slots=True)
class TrackResult:
    """The tracking figures of one group (see :mod:`scantui.analysis.tracking`).

    ``members`` are the group's members as given (addresses and CIDRs, text); ``member_info`` one
    mapping per active member (``member`` an integer, then the enrichment fields the data has).
    """

    members: tuple[str, ...]
    telescope_size: int
    min_cover: float
    active_members: tuple[int, ...] = ()
    first_seen_us: int | None = None
    last_seen_us: int | None = None
    packets: int = 0
    scans: tuple[TrackScan, ...] = ()
    days: tuple[TrackDay, ...] = ()
    ports: tuple[TrackPort, ...] = ()
    n_ports: int = 0
    member_split: tuple[MemberSplit, ...] = ()
    member_info: tuple[dict[str, Any], ...] = ()

    @property
    def seen(self) -> bool:
        return self.first_seen_us is not None

    @property
    def n_scans(self) -> int:
        return len(self.scans)

    @property
    def active_days(self) -> int:
        return sum(1 for d in self.days if d.sources)

    @property
    def span_days(self) -> int:
        return len(self.days)

    @property
    def first_seen(self) -> dt.datetime | None:
        return utc_time(self.first_seen_us) if self.first_seen_us is not None else None

    @property
    def last_seen(self) -> dt.datetime | None:
        return utc_time(self.last_seen_us) if self.last_seen_us is not None else None

    @property
    def sizes(self) -> tuple[int, ...]:
        """Members per scan, in time order."""
        return tuple(s.n_sources for s in self.scans)

    def size_histogram(self) -> tuple[tuple[int, int], ...]:
        """(members, scans with that many), by size."""
        counts: dict[int, int] = {}
        for n in self.sizes:
            counts[n] = counts.get(n, 0) + 1
        return tuple(sorted(counts.items()))

    def timing_counts(self) -> tuple[tuple[Timing, int], ...]:
        """(pattern, scans), most common first (ties: first seen first)."""
        counts: dict[Timing, int] = {}
        for s in self.scans:
            counts[s.timing] = counts.get(s.timing, 0) + 1
        return tuple(sorted(counts.items(), key=lambda kv: -kv[1]))

    def day_of_week(self) -> tuple[tuple[str, int], ...]:
        """(``Mon``.., scans that weekday)."""
        counts = [0] * 7
        for s in self.scans:
            counts[s.day.weekday()] += 1
        return tuple(zip(WEEKDAYS, counts))

    def day_of_month(self) -> tuple[int, ...]:
        """Scans on each day of the month, 1 to 31 (index 0 is the 1st)."""
        counts = [0] * 31
        for s in self.scans:
            counts[s.day.day - 1] += 1
        return tuple(counts)

    def to_json(self) -> dict[str, Any]:
        """The ``track`` output shape (without the ``group``/``origin``/``title`` the command puts first)."""
        return {
            "members": list(self.members), "telescope_size": self.telescope_size, "min_cover": self.min_cover,
            "seen": self.seen, "active_members": [dotted(m) for m in self.active_members],
            "first_seen": iso_z(self.first_seen_us) if self.first_seen_us is not None else None,
            "last_seen": iso_z(self.last_seen_us) if self.last_seen_us is not None else None,
            "active_days": self.active_days, "span_days": self.span_days, "packets": self.packets,
            "scans": [s.to_json() for s in self.scans], "n_scans": self.n_scans,
            "scans_per_day": [{"day": d.day.isoformat(), "scans": d.scans} for d in self.days],
            "packets_per_day": [{"day": d.day.isoformat(), "packets": d.packets, "sources": d.sources} for d in self.days],
            "day_of_week": dict(self.day_of_week()),
            "day_of_month": {str(k + 1): n for k, n in enumerate(self.day_of_month())},
            "ports": [p.to_json() for p in self.ports], "n_ports": self.n_ports,
            "timing_counts": {str(t): n for t, n in self.timing_counts()}, "sizes": list(self.sizes),
            "size_histogram": [{"size": k, "scans": n} for k, n in self.size_histogram()],
            "member_split": [m.to_json() for m in self.member_split],
            "member_info": [{**m, "member": dotted(m["member"])} for m in self.member_info],
        }
