"""Which labelled groups a set of IPs belongs to, and whether its scans are recorded: the review state.

A suggestion (or candidate scan) *matches* a labelled group when at least
``min_share`` (default half) of its IPs are members of it, directly or through
a member CIDR. Matching IPs is not a review: a scan counts as reviewed only when
it is *recorded* in a group's ``scans`` (same port and day, its sources among the
recorded scan's). So the review state of a record (its IPs and its scans) is

* ``new``: no labelled group holds its IPs;
* ``labelled`` / ``rejected``: every scan of it is recorded in one group
  (``rejected`` when that group's verdict is ``not_collaborative``: that is how a
  rejection is remembered and the same suggestion does not come back as new);
* ``same_ips``: a group holds its IPs but not (all) its scans; the analyst has not
  looked at these scans, and can add them to the group as evidence in one step.

Without scans (IPs only) the state is ``labelled``/``rejected`` on a member match, as before.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from typing import Any

from scantui.labels.member_index import MemberIndex
from scantui.labels.model import Group

class Review(enum.StrEnum):
    """The review state of a record (see the module doc), in review order: :attr:`rank` sorts new first."""

    NEW = "new"
    SAME_IPS = "same_ips"
    LABELLED = "labelled"
    REJECTED = "rejected"

    @property
    def rank(self) -> int:
        """0 new, 1 same IPs (scans not recorded), 2 labelled, 3 rejected: ranks below 2 are still to review."""
        return _RANK[self]

    @property
    def to_review(self) -> bool:
        return self.rank < _RANK[Review.LABELLED]


_RANK = {state: rank for rank, state in enumerate(Review)}
REVIEW_NEW, REVIEW_SAME_IPS, REVIEW_LABELLED, REVIEW_REJECTED = Review
REVIEW_STATES = tuple(Review)
#: A scan as the review sees it: (port, UTC day as ``YYYY-MM-DD``, sources).
ScanKey = tuple[int, str, Sequence[str]]


def label_matches(groups: Iterable[Group], ips: Sequence[str], *, min_share: float = 0.5,
                  index: MemberIndex | None = None) -> list[dict[str, Any]]:
    """``[{"id", "verdict", "share"}]`` for every group holding ≥ *min_share* of *ips*, best share first
    (*index*: the :class:`MemberIndex` of *groups*, when the caller has it)."""
    if not ips:
        return []
    index = index if index is not None else MemberIndex.of(groups)
    ints = index.parse(ips)
    counts = index.counts(ints)
    touched = range(len(index.groups)) if min_share <= 0 else sorted(counts)
    out = []
    for pos in touched:
        group = index.groups[pos]
        share = counts.get(pos, 0) / len(ips)
        if share >= min_share:
            out.append({"id": group.id, "verdict": group.verdict, "share": round(share, 4)})
    return sorted(out, key=lambda m: (-m["share"], m["id"]))


def review_state(matches: Sequence[dict[str, Any]]) -> Review:
    """The state of *matches*: from :func:`review` (they carry ``recorded``/``scans``), else from the IPs only."""
    if not matches:
        return REVIEW_NEW
    best = matches[0]
    if "recorded" in best and best["recorded"] < best["scans"]:
        return REVIEW_SAME_IPS
    return REVIEW_REJECTED if best["verdict"] == "not_collaborative" else REVIEW_LABELLED


def scan_key(port: int, day: dt.date | str, sources: Iterable[str]) -> ScanKey:
    """The (port, day, sources) of a scan (a candidate scan's fields; sources as dotted text, as the file holds them)."""
    return int(port), _day(day), tuple(sources)


class ScanIndex:
    """The recorded scans of some groups, by (port, day), and their :class:`MemberIndex`: built once per
    version of the labels."""

    def __init__(self, groups: Iterable[Group]) -> None:
        self.groups = tuple(groups)
        self._members: MemberIndex | None = None
        self._by_key: dict[tuple[int, str], list[tuple[str, frozenset[str]]]] = {}
        for group in self.groups:
            for s in group.scans:
                self._by_key.setdefault((s.port, _day(s.day)), []).append((group.id, frozenset(s.sources)))

    @property
    def members(self) -> MemberIndex:
        """The :class:`MemberIndex` of the groups (built on first use: most one-group indexes never need it)."""
        if self._members is None:
            self._members = MemberIndex.of(self.groups)
        return self._members

    def recorded_in(self, scan: ScanKey) -> set[str]:
        """Ids of the groups that record *scan* (same port and day, its sources among the recorded ones)."""
        port, day, sources = scan
        wanted = set(sources)
        return {gid for gid, recorded in self._by_key.get((int(port), day), ()) if wanted <= recorded}

    def review(self, ips: Sequence[str], scans: Sequence[ScanKey] | None = None, *,
               min_share: float = 0.5) -> tuple[Review, list[dict[str, Any]]]:
        """(state, matches) of a record with *ips* and *scans* (see the module doc).

        Matches are the groups holding ≥ *min_share* of the IPs or recording one of the scans,
        each with ``recorded`` (how many of *scans* it records) and ``scans`` (how many there are);
        the group recording the most scans comes first, then the best share, then the id.
        """
        members = self.members
        if scans is None:
            matches = label_matches(self.groups, ips, min_share=min_share, index=members)
            return review_state(matches), matches
        where = [self.recorded_in(s) for s in scans]
        counts: dict[str, int] = {}
        for ids in where:
            for gid in ids:
                counts[gid] = counts.get(gid, 0) + 1
        wanted = list(dict.fromkeys(ips))
        held = members.counts(members.parse(wanted))
        if wanted and min_share <= 0:
            touched: Iterable[int] = range(len(self.groups))
        else:
            touched = sorted({*held, *(pos for gid in counts for pos in members.with_id(gid))})
        matches = []
        for pos in touched:
            group = self.groups[pos]
            share = held.get(pos, 0) / len(wanted) if wanted else 0.0
            recorded = counts.get(group.id, 0)
            if recorded or (wanted and share >= min_share):
                matches.append({"id": group.id, "verdict": group.verdict, "share": round(share, 4),
                                "recorded": recorded, "scans": len(scans)})
        matches.sort(key=lambda m: (-m["recorded"], -m["share"], m["id"]))
        return review_state(matches), matches


def review(groups: Iterable[Group], ips: Sequence[str], scans: Sequence[ScanKey] | None = None) -> tuple[Review, list[dict[str, Any]]]:
    """(state, matches) of one record; build a :class:`ScanIndex` once to review many."""
    return ScanIndex(groups).review(ips, scans)


def unrecorded(group: Group, scans: Sequence[ScanKey]) -> list[ScanKey]:
    """The scans of *scans* that *group* does not record yet."""
    index = ScanIndex([group])
    return [s for s in scans if not index.recorded_in(s)]


def _day(day: dt.date | str) -> str:
    return day.isoformat()[:10] if isinstance(day, dt.date) else str(day)[:10]
