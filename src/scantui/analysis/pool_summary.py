"""Pools at a glance: a scan or group with many sources summed up before its per-member strips.

A candidate scan or suggested group of :data:`POOL_MIN_SOURCES` sources or more is
hard to read strip by strip, so the detail screens show a :class:`PoolSummary` above
the strips (``issue 15`` part 5):

* **active per bin**: how many members sent a probe in each time bin over the span
  (the bin width picked from :data:`BIN_STEPS_US` so there are :data:`MIN_BINS` to
  :data:`MAX_BINS` bins, ``bin_us`` says which);
* **shares**: each member's share of the union of destinations (a scan's ``split``;
  for a group, the member's destinations over the unions of the scans it took part in,
  :func:`group_shares`), binned relative to the mean share in the fixed bins of
  :data:`SHARE_EDGES` (an even split puts every member in ``0.9-1.1×``), with the
  min, median and max;
* **members by /24 and by AS**: the top :data:`TOP_KEYS` with their member counts,
  the rest summed as ``other``; members without an AS are counted apart.

Pure polars and Python: the packets (``ts``, ``src``) and AS numbers (``src``,
``asn``, ``as_name``) come from the caller, :func:`member_asns` picks one AS per
member from the rollup's per-(src, day) enrichment. :func:`scans_summary` does it
all for a scan or group, each scan's packets read through the caller's ``read``
(the TUI reads what its timing plot reads, memoized; the CLI the scan's span). It sums the scans it is
given: a group's detail under a time range passes the scans it shows, and :func:`scans_members` their
members (the group's members that are a source of one of them).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from scantui.analysis.collab_types import CandidateScan

POOL_MIN_SOURCES = 100  # a scan or group with this many sources gets the summary
MIN_BINS, MAX_BINS = 20, 60
_S, _M, _H, _D = 1_000_000, 60_000_000, 3_600_000_000, 86_400_000_000
#: Bin widths to pick from, each at most 3x the one before (so a span gets MIN_BINS..MAX_BINS bins).
BIN_STEPS_US = (
    *(s * _S for s in (1, 2, 5, 10, 15, 30)),
    *(m * _M for m in (1, 2, 5, 10, 15, 30)),
    *(h * _H for h in (1, 2, 3, 6, 12)),
    *(d * _D for d in (1, 2, 4, 7, 14, 28)),
)
#: Share bins, as multiples of the mean share: [0, 0.5), [0.5, 0.75), ... [2, inf).
SHARE_EDGES = (0.0, 0.5, 0.75, 0.9, 1.1, 1.25, 1.5, 2.0)
TOP_KEYS = 5


@dataclass(frozen=True, slots=True)
class KeyCount:
    """One row of a top table: a /24 (``198.18.5.0/24``), an AS (``AS6939``) or ``other``, and its members.

    ``name`` is the AS name (untrusted: shown through :mod:`scantui.safetext`); ``keys`` how many /24s or
    ASes an ``other`` row sums (1 otherwise)."""

    key: str
    members: int
    name: str | None = None
    keys: int = 1


@dataclass(frozen=True, slots=True)
class PoolSummary:
    """A pool of sources at a glance; see the module doc for each part."""

    n_sources: int
    n_active: int  # members with a probe in the span
    start_us: int
    end_us: int
    bin_us: int
    active: tuple[int, ...]  # members active per bin, from start_us on
    share_counts: tuple[int, ...]  # members per bin of SHARE_EDGES (relative to share_mean)
    share_min: float
    share_median: float
    share_max: float
    share_mean: float
    prefixes: tuple[KeyCount, ...]  # top /24s, then "other"
    n_prefixes: int
    asns: tuple[KeyCount, ...]  # top ASes, then "other"
    n_asns: int
    no_asn: int  # members without an AS

    @property
    def peak(self) -> int:
        return max(self.active, default=0)

    @property
    def peak_start_us(self) -> int:
        """Start of the first bin with the most members active."""
        return self.start_us + self.active.index(self.peak) * self.bin_us if self.active else self.start_us


def share_bin_labels() -> tuple[str, ...]:
    """``<0.5×``, ``0.5-0.75×``, ... ``≥2×``: the labels of :data:`SHARE_EDGES`' bins."""
    edges = [f"{e:g}" for e in SHARE_EDGES]
    return (f"<{edges[1]}×", *(f"{a}-{b}×" for a, b in zip(edges[1:], edges[2:])), f"≥{edges[-1]}×")


def width_text(bin_us: int) -> str:
    """A bin width as ``30s``, ``5m``, ``6h`` or ``2d`` (the largest unit it is a whole number of)."""
    for unit, us in (("d", _D), ("h", _H), ("m", _M)):
        if bin_us >= us and bin_us % us == 0:
            return f"{bin_us // us}{unit}"
    return f"{bin_us / _S:g}s"


def bin_width(span_us: int) -> int:
    """The smallest step of :data:`BIN_STEPS_US` that cuts *span_us* into at most :data:`MAX_BINS` bins
    (beyond the largest step: the span over :data:`MAX_BINS`, rounded up to a day)."""
    for step in BIN_STEPS_US:
        if step * MAX_BINS >= span_us:
            return step
    return -(-span_us // MAX_BINS // _D) * _D


def active_per_bin(packets: pl.DataFrame, members: Sequence[int], start_us: int, end_us: int,
                   bin_us: int) -> tuple[int, ...]:
    """Members of *members* with a packet in each bin of *bin_us* over ``[start_us, end_us]``."""
    n_bins = max(1, -(-(end_us - start_us + 1) // bin_us))
    if not packets.height:
        return (0,) * n_bins
    ts = pl.col("ts").dt.epoch("us") if packets.schema["ts"] != pl.Int64 else pl.col("ts")
    per_bin = (packets.lazy()
               .select(ts.alias("us"), pl.col("src").cast(pl.Int64))
               .filter(pl.col("us").is_between(start_us, end_us) & pl.col("src").is_in([int(m) for m in members]))
               .select(((pl.col("us") - start_us) // bin_us).alias("bin"), "src")
               .group_by("bin").agg(pl.col("src").n_unique().alias("n"))
               .collect())
    counts = [0] * n_bins
    for b, n in per_bin.iter_rows():
        counts[int(b)] = int(n)
    return tuple(counts)


def _share_counts(shares: Sequence[float], mean: float) -> tuple[int, ...]:
    counts = [0] * len(SHARE_EDGES)
    for share in shares:
        rel = share / mean if mean > 0 else 0.0
        k = sum(1 for e in SHARE_EDGES[1:] if rel >= e)
        counts[k] += 1
    return tuple(counts)


def _top(counts: Mapping[str, int], names: Mapping[str, str | None], top: int) -> tuple[KeyCount, ...]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [KeyCount(k, n, names.get(k)) for k, n in ranked[:top]]
    rest = ranked[top:]
    if rest:
        rows.append(KeyCount("other", sum(n for _k, n in rest), keys=len(rest)))
    return tuple(rows)


def _prefix_text(prefix: int) -> str:
    return f"{prefix >> 16}.{(prefix >> 8) & 255}.{prefix & 255}.0/24"


def pool_summary(packets: pl.DataFrame, members: Sequence[int], shares: Sequence[float], *, start_us: int,
                 end_us: int, asns: pl.DataFrame | None = None, top: int = TOP_KEYS) -> PoolSummary:
    """The summary of *members* (IPv4 ints) from their *packets* (``ts``: a datetime or µs since the epoch;
    ``src``) over ``[start_us, end_us]``, their *shares* (in *members*' order) and their AS numbers (*asns*:
    ``src``, ``asn``, optional ``as_name``). Packets of other sources or outside the span are left out."""
    members = [int(m) for m in members]
    if len(shares) != len(members):
        raise ValueError(f"{len(shares)} shares for {len(members)} members")
    bin_us = bin_width(max(1, end_us - start_us + 1))
    active = active_per_bin(packets, members, start_us, end_us, bin_us)
    seen = 0
    if packets.height:
        ts = pl.col("ts").dt.epoch("us") if packets.schema["ts"] != pl.Int64 else pl.col("ts")
        seen = packets.filter(ts.is_between(start_us, end_us)
                              & pl.col("src").cast(pl.Int64).is_in(members))["src"].n_unique()
    values = [float(s) for s in shares]
    mean = statistics.fmean(values) if values else 0.0

    prefix_counts: dict[str, int] = {}
    for m in members:
        key = _prefix_text(m >> 8)
        prefix_counts[key] = prefix_counts.get(key, 0) + 1
    as_counts: dict[str, int] = {}
    as_names: dict[str, str | None] = {}
    no_asn = len(members)
    if asns is not None and asns.height:
        has_name = "as_name" in asns.columns
        of = {int(r["src"]): (r["asn"], r.get("as_name") if has_name else None)
              for r in asns.iter_rows(named=True) if r["asn"] is not None}
        no_asn = 0
        for m in members:
            found = of.get(m)
            if found is None:
                no_asn += 1
                continue
            key = f"AS{int(found[0])}"
            as_counts[key] = as_counts.get(key, 0) + 1
            as_names.setdefault(key, found[1])
    return PoolSummary(
        n_sources=len(members), n_active=seen, start_us=start_us, end_us=end_us, bin_us=bin_us, active=active,
        share_counts=_share_counts(values, mean),
        share_min=min(values, default=0.0), share_median=statistics.median(values) if values else 0.0,
        share_max=max(values, default=0.0), share_mean=mean,
        prefixes=_top(prefix_counts, {}, top), n_prefixes=len(prefix_counts),
        asns=_top(as_counts, as_names, top), n_asns=len(as_counts), no_asn=no_asn,
    )


def member_asns(enrichment: pl.LazyFrame | None, members: Sequence[int], days: Sequence[dt.date]) -> pl.DataFrame | None:
    """One AS per member (``src``, ``asn``, ``as_name``) from the per-(src, day) *enrichment* on *days*: the AS
    it had on most of those days (the lowest number on a tie); None without AS data."""
    if enrichment is None or "asn" not in enrichment.collect_schema().names():
        return None
    names = enrichment.collect_schema().names()
    name = pl.col("as_name") if "as_name" in names else pl.lit(None, dtype=pl.String).alias("as_name")
    rows = (enrichment.filter(pl.col("src").is_in([int(m) for m in members]) & pl.col("day").is_in(list(days))
                              & pl.col("asn").is_not_null())
            .select(pl.col("src").cast(pl.Int64), pl.col("asn").cast(pl.Int64), name)
            .group_by("src", "asn").agg(pl.len().alias("n"), pl.col("as_name").drop_nulls().first())
            .sort(["src", "n", "asn"], descending=[False, True, False])
            .unique("src", keep="first", maintain_order=True)
            .select("src", "asn", "as_name")
            .collect())
    return rows


def group_shares(scans: Sequence[CandidateScan], members: Sequence[int]) -> tuple[float, ...]:
    """Each member's share over a group's *scans*: its destinations summed over the scans it took part in,
    over those scans' unions summed (one scan: its ``split``); 0 for a member of none."""
    dsts: dict[int, int] = {}
    unions: dict[int, int] = {}
    for scan in scans:
        for src, n in zip(scan.sources, scan.dsts):
            dsts[int(src)] = dsts.get(int(src), 0) + int(n)
            unions[int(src)] = unions.get(int(src), 0) + int(scan.union)
    return tuple(dsts.get(int(m), 0) / unions[int(m)] if unions.get(int(m)) else 0.0 for m in members)


def scans_members(scans: Sequence[CandidateScan], members: Sequence[int] | None = None) -> tuple[int, ...]:
    """The sources of *scans*: those of *members* (in its order) that are a source of one of them; without
    *members*, every source in the order first seen."""
    seen = dict.fromkeys(int(src) for scan in scans for src in scan.sources)
    if members is None:
        return tuple(seen)
    return tuple(int(m) for m in members if int(m) in seen)


def scans_summary(scans: Sequence[CandidateScan], members: Sequence[int],
                  read: Callable[[CandidateScan], pl.DataFrame], enrichment: pl.LazyFrame | None, *,
                  stop: Callable[[], bool] = lambda: False) -> PoolSummary | None:
    """The summary of *members* over *scans* (a scan: ``[scan]`` and its sources; a group: its scans and
    members): each scan's packets from ``read(scan)`` (``ts``, ``src``; at least its span), cut to its span on its
    members and kept as one row per member and time bin, so a group of many scans holds little; None when
    ``stop()`` says so between two reads (the caller went away)."""
    start = min(s.start_us for s in scans)
    end = max(s.end_us for s in scans)
    bin_us = bin_width(max(1, end - start + 1))
    parts = []
    for scan in scans:
        if stop():
            return None
        packets = read(scan)
        us = pl.col("ts").dt.epoch("us") if packets.schema["ts"] != pl.Int64 else pl.col("ts")
        parts.append(packets.lazy().filter(us.is_between(scan.start_us, scan.end_us))
                     .select((start + (us - start) // bin_us * bin_us).alias("ts"), pl.col("src").cast(pl.Int64))
                     .unique().collect())
    binned = pl.concat(parts).unique() if parts else pl.DataFrame(schema={"ts": pl.Int64, "src": pl.Int64})
    asns = member_asns(enrichment, members, sorted({s.day for s in scans}))
    return pool_summary(binned, members, group_shares(scans, members), start_us=start, end_us=end, asns=asns)
