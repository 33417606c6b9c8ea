"""Typed candidate scans and suggested groups for tests that need one without running the search."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from scantui.analysis.collab_types import CandidateKey, CandidateScan, KeyKind, ScoreParts, SuggestedGroup, Timing

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def us(when: dt.datetime) -> int:
    return (when - EPOCH) // dt.timedelta(microseconds=1)


def key(text: str) -> CandidateKey:
    """``AS14061`` or ``198.18.5.0/24`` as a key."""
    if text.startswith("AS"):
        return CandidateKey(KeyKind.ASN, int(text[2:]))
    return CandidateKey(KeyKind.PREFIX24, ip(text.split("/")[0]) >> 8)


def candidate(*, port: int = 443, day: str = "2024-02-05", key_text: str = "192.0.2.0/24", asn: int | None = None,
              sources: tuple[str, ...] = ("192.0.2.1",), also_keys: tuple[str, ...] = (), timing: str = "parallel",
              score: float = 90.0, union: int = 10, telescope_size: int = 10, cover_multiple: int = 1,
              **extra: Any) -> CandidateScan:
    """A candidate scan with the given fields (the rest plausible): IPs and keys written as text for readability."""
    start = dt.datetime.fromisoformat(day).replace(hour=10, tzinfo=dt.timezone.utc)
    srcs = tuple(ip(s) for s in sources)
    n = len(srcs)
    fields: dict[str, Any] = dict(
        port=port, day=dt.date.fromisoformat(day), window="day", key=key(key_text), asn=asn, as_name=None,
        prefix24=srcs[0] >> 8 if len({s >> 8 for s in srcs}) == 1 else None, sources=srcs,
        dsts=tuple([union // n] * n), union=union, total=union, telescope_size=telescope_size,
        cover_multiple=cover_multiple, overlap=0.0, timing=Timing(timing), timing_containment=1.0,
        split=tuple([round(1 / n, 4)] * n), start_us=us(start), end_us=us(start + dt.timedelta(hours=2)),
        packets=union, score=score, score_parts=ScoreParts(1.0, 1.0, 1.0), also_keys=tuple(map(key, also_keys)),
    )
    fields.update(extra)
    return CandidateScan(**fields)


def group(scans: list[CandidateScan], *, group_id: str = "S01", reasons: tuple[str, ...] = (),
          asns: tuple[int, ...] = (), **extra: Any) -> SuggestedGroup:
    """A suggested group holding *scans* (members, ports and days taken from them)."""
    ordered = tuple(sorted(scans, key=lambda s: s.start_us))
    fields: dict[str, Any] = dict(
        group=group_id, members=tuple(sorted({m for s in scans for m in s.sources})),
        ports=tuple(sorted({s.port for s in scans})), days=tuple(sorted({s.day for s in scans})), scans=ordered,
        reasons=reasons, asns=asns, timing=ordered[0].timing, cover_multiple=ordered[0].cover_multiple,
        split=ordered[0].split, score=max(s.score for s in scans), links=tuple((r, 1) for r in reasons),
    )
    fields.update(extra)
    return SuggestedGroup(**fields)
