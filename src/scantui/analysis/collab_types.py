"""The results of the collaborative-scan search and of grouping: immutable values with typed fields.

:class:`CandidateScan` (one ``collab`` row) and :class:`SuggestedGroup` (one ``groups``
row) are what :func:`scantui.analysis.collab.collab_scans` and
:func:`scantui.analysis.groups.suggest_groups` return and what the front ends read:
IPs are IPv4 integers, times µs since the epoch (UTC), days :class:`datetime.date`,
AS numbers integers, the timing pattern and the key kind enums (their values are the
output's words). ``to_json()`` writes the output shape of ``scantui collab --json`` /
``groups --json`` (``scantui/schemas``); it is called only at the edges (the CLI's
JSON, JSON Lines and CSV). Nothing reads our own text back.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
from dataclasses import dataclass
from typing import Any

#: The weight of each part of the 0-100 score (:func:`scantui.analysis.collab_timing.score`): written here only.
#: (Here, not beside the score, so that the front ends read results without importing numpy.)
WEIGHTS = {"cover": 50.0, "timing": 30.0, "sources": 20.0}


class Timing(enum.StrEnum):
    """The timing pattern of a scan's members (:mod:`scantui.analysis.collab_timing`); ``single`` is a
    tracked scan with one member (``scantui track``)."""

    PARALLEL = "parallel"
    SEQUENTIAL = "sequential"
    MIXED = "mixed"
    SINGLE = "single"


class KeyKind(enum.StrEnum):
    """What the members of a candidate share: their /24, their AS on that day, the generator of
    their ZMap walk that day (:mod:`~scantui.analysis.zmap_rollup`), or a rare header-artifact
    signature that day (:mod:`scantui.analysis.fingerprint_keys`)."""

    PREFIX24 = "prefix24"
    ASN = "asn"
    ZMAP_GENERATOR = "zmap_generator"
    FINGERPRINT = "fingerprint"


def dotted(ip: int) -> str:
    """An IPv4 integer as ``192.0.2.10``."""
    return str(ipaddress.IPv4Address(int(ip)))


def utc_time(us: int) -> dt.datetime:
    """µs since the epoch as an aware UTC datetime (exact: no float on the way)."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(us))


def iso_us_z(us: int) -> str:
    """``2024-02-05T09:00:02.015475Z`` (always six decimals): the candidates' and groups' time format."""
    return utc_time(us).isoformat(timespec="microseconds").replace("+00:00", "Z")


def utc_day(us: int) -> dt.date:
    return utc_time(us).date()


@dataclass(frozen=True, slots=True)
class CandidateKey:
    """A /24 (``id`` = the network address >> 8), an AS number (``id``) or another kind's key (``id`` its
    number, ``label`` what it stands for, e.g. a fingerprint's artifacts), as found by the search."""

    kind: KeyKind
    id: int
    label: str = ""

    @property
    def text(self) -> str:
        """``198.18.5.0/24``, ``AS202425``, ``zmap g=65521`` or the label when it has one: the display label
        (the output's ``key``)."""
        if self.label:
            return self.label
        if self.kind is KeyKind.PREFIX24:
            return f"{dotted(self.id << 8)}/24"
        if self.kind is KeyKind.ZMAP_GENERATOR:
            return f"zmap g={self.id}"
        return f"AS{self.id}" if self.kind is KeyKind.ASN else f"{self.kind}#{self.id:x}"

    def __str__(self) -> str:
        return self.text


def prefix24_text(prefix: int) -> str:
    """The /24 number (an address >> 8) as ``198.18.5.0/24``."""
    return CandidateKey(KeyKind.PREFIX24, prefix).text


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """The parts of the 0-100 score, each in [0, 1]; the score is their sum weighted by
    :data:`WEIGHTS` (:meth:`weighted`)."""

    cover: float
    timing: float
    sources: float

    def items(self) -> tuple[tuple[str, float], ...]:
        return (("cover", self.cover), ("timing", self.timing), ("sources", self.sources))

    def weighted(self) -> tuple[tuple[str, float, float], ...]:
        """(part, weight, value) of each part: the score reads back as the sum of weight × value."""
        return tuple((name, WEIGHTS[name], value) for name, value in self.items())

    def to_json(self) -> dict[str, float]:
        return dict(self.items())


class SourcesSpan:
    """What a scan of some sources over a time span answers from its ``sources`` (uint32 ints) and
    ``start_us``/``end_us`` fields (shared by :class:`CandidateScan` and the track's scans)."""

    __slots__ = ()
    sources: tuple[int, ...]
    start_us: int
    end_us: int

    @property
    def n_sources(self) -> int:
        return len(self.sources)

    @property
    def source_ips(self) -> tuple[str, ...]:
        """The members as dotted text (labels files and output hold them so)."""
        return tuple(dotted(s) for s in self.sources)

    @property
    def start(self) -> dt.datetime:
        return utc_time(self.start_us)

    @property
    def end(self) -> dt.datetime:
        return utc_time(self.end_us)


@dataclass(frozen=True, slots=True)
class SensorCover:
    """How much of one sensor's space a scan's members reached (data with several sensors,
    :mod:`scantui.analysis.sensor_collab`): ``reached`` distinct destinations of ``space``; ``covers``
    when that passes the cover test's lower bound (``(1 - low) x space``)."""

    sensor: str
    reached: int
    space: int
    covers: bool

    @property
    def share(self) -> float:
        return round(self.reached / self.space, 4) if self.space else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"sensor": self.sensor, "reached": self.reached, "space": self.space, "share": self.share,
                "covers": self.covers}


@dataclass(frozen=True, slots=True)
class CandidateScan(SourcesSpan):
    """One candidate collaborative scan (the fields are documented in :mod:`scantui.analysis.collab`).

    ``sources`` are sorted by address; ``dsts`` and ``split`` follow them.
    ``key`` is the key that found the scan, ``also_keys`` the other keys that found it too.
    """

    port: int
    day: dt.date
    window: str
    key: CandidateKey
    asn: int | None
    as_name: str | None
    prefix24: int | None  # the members' /24 (address >> 8) when they share one
    sources: tuple[int, ...]
    dsts: tuple[int, ...]
    union: int
    total: int
    telescope_size: int
    cover_multiple: int
    overlap: float
    timing: Timing
    timing_containment: float
    split: tuple[float, ...]
    start_us: int
    end_us: int
    packets: int
    score: float
    score_parts: ScoreParts
    excluded_standalone: tuple[int, ...] = ()
    also_keys: tuple[CandidateKey, ...] = ()
    proto: str = "tcp"
    reasons: tuple[str, ...] = ()  # plain sentences: why these members are one scan (split, kept whole, left out)
    # data with several sensors only: the sensor whose space the scan was found on (None: the whole telescope) and
    # its cover of each sensor's space; empty for one sensor, and the output is then as before
    sensor: str | None = None
    sensor_cover: tuple[SensorCover, ...] = ()

    @property
    def covered_sensors(self) -> tuple[str, ...]:
        """The sensors whose space the scan covers (empty for one sensor)."""
        return tuple(c.sensor for c in self.sensor_cover if c.covers)

    @property
    def key_kind(self) -> KeyKind:
        return self.key.kind

    def to_json(self) -> dict[str, Any]:
        """The ``collab`` output shape (``schemas/collab.schema.json``), fields in output order."""
        ips = self.source_ips
        return {
            "port": self.port, "proto": self.proto, "day": self.day.isoformat(), "window": self.window,
            "key_kind": str(self.key.kind), "key": self.key.text, "asn": self.asn, "as_name": self.as_name,
            "prefix24": prefix24_text(self.prefix24) if self.prefix24 is not None else None,
            "sources": list(ips), "n_sources": len(ips),
            "dsts_per_source": [{"src": ip, "dsts": n} for ip, n in zip(ips, self.dsts)],
            "union": self.union, "total": self.total, "telescope_size": self.telescope_size,
            "cover_multiple": self.cover_multiple, "overlap": self.overlap, "timing": str(self.timing),
            "timing_containment": self.timing_containment, "split": list(self.split),
            "start": iso_us_z(self.start_us), "end": iso_us_z(self.end_us), "packets": self.packets,
            "score": self.score, "score_parts": self.score_parts.to_json(),
            "excluded_standalone": [dotted(s) for s in self.excluded_standalone],
            "also_keys": [k.text for k in self.also_keys], "reasons": list(self.reasons),
            **({"sensor": self.sensor, "sensors": [c.to_json() for c in self.sensor_cover]} if self.sensor_cover else {}),
        }


@dataclass(frozen=True, slots=True)
class SuggestedGroup:
    """One suggested group (:mod:`scantui.analysis.groups`): its candidate scans (in time order) and what ties them.

    ``asns`` are kept in the output's order; ``links`` counts the links per reason.
    """

    group: str
    members: tuple[int, ...]
    ports: tuple[int, ...]
    days: tuple[dt.date, ...]
    scans: tuple[CandidateScan, ...]
    reasons: tuple[str, ...]
    asns: tuple[int, ...]
    timing: Timing | None
    cover_multiple: int | None
    split: tuple[float, ...]
    score: float
    links: tuple[tuple[str, int], ...]

    @property
    def n_scans(self) -> int:
        return len(self.scans)

    @property
    def n_members(self) -> int:
        return len(self.members)

    @property
    def member_ips(self) -> tuple[str, ...]:
        return tuple(dotted(m) for m in self.members)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Members per scan, in time order."""
        return tuple(s.n_sources for s in self.scans)

    @property
    def first_start_us(self) -> int:
        return self.scans[0].start_us

    @property
    def last_end_us(self) -> int:
        return max(s.end_us for s in self.scans)

    def to_json(self) -> dict[str, Any]:
        """The ``groups`` output shape (``schemas/groups.schema.json``) without the review fields."""
        return {
            "group": self.group, "members": list(self.member_ips), "ports": list(self.ports),
            "days": [d.isoformat() for d in self.days], "scans": self.n_scans, "reasons": list(self.reasons),
            "n_members": self.n_members, "asns": list(self.asns),
            "timing": str(self.timing) if self.timing is not None else None,
            "cover_multiple": self.cover_multiple, "split": list(self.split), "sizes": list(self.sizes),
            "first_start": iso_us_z(self.first_start_us), "last_end": iso_us_z(self.last_end_us),
            "score": self.score, "links": dict(self.links),
            "scan_refs": [{"port": s.port, "day": s.day.isoformat(), "key": s.key.text, "n_sources": s.n_sources,
                           "start": iso_us_z(s.start_us), "end": iso_us_z(s.end_us), "timing": str(s.timing),
                           "score": s.score} for s in self.scans],
        }
