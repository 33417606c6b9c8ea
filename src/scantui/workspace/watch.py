"""The candidate scans as the watch sees them: :class:`~scantui.analysis.collab_types.CandidateScan` ->
:class:`~scantui.labels.watch.Seen` (the labels layer does not know the search's types), and the hits of a
search result against a labels file: what ``scantui watch`` and the TUI's ``--follow`` both call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from scantui.labels.watch import Hit, Seen, hits


def seen_scan(candidate: Any) -> Seen:
    """One candidate scan as a :class:`Seen` (its key first, then the other keys that found it)."""
    from scantui.analysis.collab_types import iso_us_z

    keys = tuple((str(k.kind), k.text) for k in (candidate.key, *candidate.also_keys))
    return Seen(candidate.port, candidate.day, candidate.source_ips, keys, iso_us_z(candidate.start_us),
                iso_us_z(candidate.end_us), candidate.asn, candidate.as_name)


def seen_scans(candidates: Iterable[Any]) -> list[Seen]:
    return [seen_scan(c) for c in candidates]


def watch_hits(groups: Iterable[Any], candidates: Sequence[Any], *, since: dt.date | None = None) -> list[Hit]:
    """The hits of the candidate scans against the labelled *groups* (:func:`scantui.labels.watch.hits`)."""
    return hits(groups, seen_scans(candidates), since=since)
