"""Suggested groups: collaborative scans tied together by shared IPs, timing and partition.

Input: the candidate scans (:class:`~scantui.analysis.collab_types.CandidateScan`) of
:func:`scantui.analysis.collab.collab_scans`; output: :class:`~scantui.analysis.collab_types.SuggestedGroup`,
each holding its scans. Two scans are
*linked* when they share at least two of three reasons (domain.md):

* ``shared_ips`` — their member sets overlap: ``|A ∩ B| / min(|A|, |B|) ≥``
  :data:`MIN_IP_OVERLAP` (0.5). A pool that rotates pairs shares one IP of two.
* ``timing`` — comparable timing signatures: the same pattern
  (parallel/sequential/mixed), durations within a factor :data:`MAX_DURATION_RATIO`
  (1.5), and the same probes per address within :data:`MAX_PROBE_RATIO` (1.25:
  a tool that sends every probe twice does so in every scan).
* ``partition`` — the same split of the telescope: the same cover multiple and
  either the same number of members with every sorted share within
  :data:`SHARE_TOLERANCE` (0.02, e.g. 5/6 + 1/6 again), or an equal split on both
  sides (largest/smallest share ≤ :data:`EQUAL_RATIO`) with the same member
  count or at least :data:`MANY` members on both sides (1/N among the active hosts
  of a big pool, N varying from scan to scan).

Linked scans are joined transitively (union-find); a group's ``reasons`` are the
reasons of the links that built it. A scan linked to nothing is a group of one
(``reasons`` empty), so every candidate belongs to exactly one suggestion.

**Location guard** (beyond the study): a link without ``shared_ips`` (timing +
partition only) is made only between scans of the same AS (or, without AS data,
the same /24). Otherwise every equal-split parallel ZMap scan on the Internet with
the same shard count would collapse into one group.

**Scale.** Pairs are never all compared in Python: IP-sharing pairs come from an
inverted index (IP → scans), and timing + partition links are compared with numpy
inside each AS block.

Ids are ``S01``, ``S02``... in rank order (most scans first, then the best scan
score, then the earliest start): stable for the same data and options, and never
colliding with an analyst's label ids, which are free text.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scantui.analysis.collab_types import CandidateScan, SuggestedGroup, Timing, dotted

REASONS = ("shared_ips", "timing", "partition")
MIN_IP_OVERLAP = 0.5
MAX_DURATION_RATIO = 1.5
MAX_PROBE_RATIO = 1.25
SHARE_TOLERANCE = 0.02
EQUAL_RATIO = 1.25
MANY = 10

#: The fields of a group in output order (JSON and CSV; :meth:`SuggestedGroup.to_json`).
COLUMNS = ("group", "members", "ports", "days", "scans", "reasons", "n_members", "asns", "timing",
           "cover_multiple", "split", "sizes", "first_start", "last_end", "score", "links", "scan_refs")


@dataclass(frozen=True)
class GroupQuery:
    """How scans are linked. ``min_reasons`` 2 is the study's rule."""

    min_reasons: int = 2
    min_ip_overlap: float = MIN_IP_OVERLAP
    max_duration_ratio: float = MAX_DURATION_RATIO
    share_tolerance: float = SHARE_TOLERANCE
    min_scans: int = 1
    top: int | None = None


# ---------------------------------------------------------------- per-scan features


@dataclass
class _Features:
    n: int
    duration: np.ndarray  # seconds, ≥ 1
    probes: np.ndarray  # packets per (source, address) probe
    timing: np.ndarray  # index into TIMINGS
    multiple: np.ndarray
    n_src: np.ndarray
    equal: np.ndarray  # bool
    shares: list[np.ndarray]  # sorted descending
    block: list[Any]  # location key for the guard


TIMINGS = (Timing.PARALLEL, Timing.SEQUENTIAL, Timing.MIXED)


def _features(scans: Sequence[CandidateScan]) -> _Features:
    shares = [np.sort(np.asarray(s.split, dtype=np.float64))[::-1] for s in scans]
    return _Features(
        n=len(scans),
        duration=np.array([max((s.end_us - s.start_us) / 1e6, 1.0) for s in scans]),
        probes=np.array([s.packets / max(s.total or sum(s.dsts), 1) for s in scans]),
        timing=np.array([TIMINGS.index(s.timing) if s.timing in TIMINGS else -1 for s in scans]),
        multiple=np.array([int(s.cover_multiple) for s in scans]),
        n_src=np.array([len(s.sources) for s in scans]),
        equal=np.array([len(sh) > 0 and sh[0] <= EQUAL_RATIO * sh[-1] for sh in shares]),
        shares=shares,
        block=[_block(s) for s in scans],
    )


def _block(scan: CandidateScan) -> Any:
    if scan.asn:
        return ("asn", scan.asn)
    if scan.key.kind == "asn":
        return ("asn", scan.key.id)
    if scan.prefix24 is not None:
        return ("prefix24", scan.prefix24)
    return ("key", scan.key.kind, scan.key.id)


def _timing_similar(f: _Features, i: np.ndarray, j: np.ndarray, q: GroupQuery) -> np.ndarray:
    dur = np.abs(np.log(f.duration[i] / f.duration[j])) <= math.log(q.max_duration_ratio) + 1e-9
    probes = np.abs(np.log(f.probes[i] / f.probes[j])) <= math.log(MAX_PROBE_RATIO) + 1e-9
    return (f.timing[i] == f.timing[j]) & (f.timing[i] >= 0) & dur & probes


def _partition_similar(f: _Features, i: int, j: int, q: GroupQuery) -> bool:
    if f.multiple[i] != f.multiple[j]:
        return False
    if f.equal[i] and f.equal[j]:
        return f.n_src[i] == f.n_src[j] or (f.n_src[i] >= MANY and f.n_src[j] >= MANY)
    if f.n_src[i] != f.n_src[j]:
        return False
    return bool(np.all(np.abs(f.shares[i] - f.shares[j]) <= q.share_tolerance + 1e-9))


# ---------------------------------------------------------------- links


def _ip_pairs(scans: Sequence[CandidateScan], q: GroupQuery) -> set[tuple[int, int]]:
    """Scan pairs whose member sets overlap enough (inverted index, no all-pairs loop)."""
    by_ip: dict[int, list[int]] = defaultdict(list)
    for k, s in enumerate(scans):
        for ip in set(s.sources):
            by_ip[ip].append(k)
    shared: Counter[tuple[int, int]] = Counter()
    for owners in by_ip.values():
        if len(owners) > 1:
            for a in range(len(owners)):
                for b in range(a + 1, len(owners)):
                    shared[(owners[a], owners[b])] += 1
    sizes = [len(set(s.sources)) for s in scans]
    return {p for p, c in shared.items() if c / min(sizes[p[0]], sizes[p[1]]) >= q.min_ip_overlap}


def scan_links(scans: Sequence[CandidateScan], query: GroupQuery = GroupQuery()) -> dict[tuple[int, int], tuple[str, ...]]:
    """Every linked pair ``(i, j)`` (i < j) with the reasons that link it (at least ``min_reasons``)."""
    f = _features(scans)
    ip_pairs = _ip_pairs(scans, query)
    links: dict[tuple[int, int], tuple[str, ...]] = {}

    def judge(pairs: list[tuple[int, int]], shared: bool) -> None:
        if not pairs:
            return
        arr = np.array(pairs, dtype=np.int64)
        timing = _timing_similar(f, arr[:, 0], arr[:, 1], query)
        for (i, j), t in zip(pairs, timing.tolist()):
            reasons = tuple(r for r, ok in zip(REASONS, (shared, t, _partition_similar(f, i, j, query))) if ok)
            if len(reasons) >= query.min_reasons:
                links[(i, j)] = reasons

    judge(sorted(ip_pairs), True)
    blocks: dict[Any, list[int]] = defaultdict(list)
    for k, b in enumerate(f.block):
        blocks[b].append(k)
    for members in blocks.values():
        if len(members) < 2:
            continue
        idx = np.array(members)
        ii, jj = np.triu_indices(len(idx), k=1)
        a, b = idx[ii], idx[jj]
        keep = _timing_similar(f, a, b, query)  # the guard-only links need timing and partition both
        pairs = [(int(x), int(y)) for x, y in zip(a[keep], b[keep]) if (int(x), int(y)) not in ip_pairs]
        judge(pairs, False)
    return links


# ---------------------------------------------------------------- groups


def _components(n: int, links: dict[tuple[int, int], tuple[str, ...]]) -> list[list[int]]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in links:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    comps: dict[int, list[int]] = defaultdict(list)
    for k in range(n):
        comps[find(k)].append(k)
    return list(comps.values())


def _most_common(values: list[Any]) -> Any:
    return Counter(values).most_common(1)[0][0] if values else None


def _typical_split(scans: list[CandidateScan]) -> tuple[float, ...]:
    """The median sorted split among the scans with the most common member count."""
    n = _most_common([len(s.split) for s in scans])
    rows = np.array([sorted(s.split, reverse=True) for s in scans if len(s.split) == n])
    return tuple(round(float(v), 4) for v in np.median(rows, axis=0))


def _group(group_id: str, scans: list[CandidateScan], links: list[tuple[str, ...]]) -> SuggestedGroup:
    reasons = tuple(r for r in REASONS if any(r in link for link in links))
    asns = {s.asn for s in scans if s.asn}
    return SuggestedGroup(
        group=group_id,
        members=tuple(sorted({ip for s in scans for ip in s.sources})),
        ports=tuple(sorted({s.port for s in scans})),
        days=tuple(sorted({s.day for s in scans})),
        scans=tuple(sorted(scans, key=lambda s: s.start_us)),
        reasons=reasons,
        asns=tuple(sorted(asns, key=lambda a: f"AS{a}")),  # the order of the AS labels, as the output always had
        timing=_most_common([s.timing for s in scans]),
        cover_multiple=_most_common([s.cover_multiple for s in scans]),
        split=_typical_split(scans),
        score=round(max(s.score for s in scans), 1),
        links=tuple((r, sum(r in link for link in links)) for r in reasons),
    )


def suggest_groups(candidates: Sequence[CandidateScan], query: GroupQuery = GroupQuery()) -> list[SuggestedGroup]:
    """Suggested groups (:class:`~scantui.analysis.collab_types.SuggestedGroup`), ranked, ids ``S01``..."""
    scans = list(candidates)
    links = scan_links(scans, query)
    by_comp: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    comps = _components(len(scans), links)
    where = {k: c for c, comp in enumerate(comps) for k in comp}
    for (i, _j), reasons in links.items():
        by_comp[where[i]].append(reasons)
    found = [_group("", [scans[k] for k in comp], by_comp[c]) for c, comp in enumerate(comps)
             if len(comp) >= query.min_scans]
    # ties broken by the first member's dotted text: the order (and so the ids) the output has always had
    found.sort(key=lambda g: (-g.n_scans, -g.score, g.first_start_us, dotted(g.members[0])))
    width = max(2, len(str(len(found))))
    out = [dataclasses.replace(g, group=f"S{k + 1:0{width}d}") for k, g in enumerate(found)]
    return out[: query.top] if query.top is not None else out
