"""Collaborative scans: sources of one /24 or AS that together cover the telescope exactly.

A candidate is a set of *members* (source IPs) on one destination port, inside one
*window* and one *key* (``prefix24`` = the sources' /24, or ``asn`` = their AS
*on that day*) such that (domain.md, the six conditions):

1. every probe counted targets the port (TCP SYN without ACK, every tool unless
   ``tools`` narrows it);
2. all of them fall inside the window: the UTC calendar day (default), or a
   rolling span (``24h``, ``48h``, ...) anchored where activity starts;
3. there are at least ``min_sources`` (2) members, and no member covers the
   telescope alone: a source reaching ≥ ``(1 - low) × T`` addresses is a
   *standalone scanner*, reported in ``excluded_standalone`` and never a member
   (also when it shares the /24). A source that does so on a calendar day is
   standalone in every window touching that day;
4. the members cover the telescope N times almost exactly: with ``union`` their
   distinct destinations and ``Σ`` the sum of per-member distinct destinations,
   ``(1 - low)·T ≤ union ≤ (1 + high)·T`` and ``(1 - low)·N·T ≤ Σ ≤ (1 + high)·N·T``
   for a natural N (``cover_multiple``). The defaults are the study's proportion:
   60,000-62,500 of 61,000 addresses, i.e. ``low = 1000/61000`` (1.64 %) and
   ``high = 1500/61000`` (2.46 %);
5. they share the key;
6. they show a timing pattern (``parallel`` / ``sequential`` / ``mixed``, see
   :mod:`scantui.analysis.collab_timing`, which also defines the score).

**Data access.** The packet table is never held in memory. The rollup's
``port_day`` (exact distinct destinations per day, port and source) first prunes
to (port, key, day-block) groups where at least two non-standalone sources sum to
``(1 - low)·T`` (a necessary condition: Σ ≥ union). Only the packets of those
(day, port, source) rows are then read, lazily and streamed, and unions,
overlaps and spans are computed exactly on that small subset with numpy.

**Windows.** Calendar day: one window per UTC day. Rolling span W: windows
``[a, a + W)`` anchored at every *session start* of a source in the (key, port)
group (its first packet, and any packet after a silence of W/2 or more); anchors
closer than W/100 to the previous kept anchor are merged into it. The
pre-filter sums day blocks of ``ceil(W / 1 day) + 1`` days so a window crossing
midnight is never pruned.

**Subset search** (partial matches). In one (key, port, window) the candidate
sources (standalone scanners removed) may include noise or a decoy. For
``N = round(Σ / T)`` down to 1: every address gets its *multiplicity* (how many
candidate sources hit it); a source's *excess* is the share of its destinations
hit more than N times. Members of an exact N-fold cover have excess ≈ 0; a noise
source, a partial scanner overlapping the real scan, or a second full cover
has excess ≈ 1. Sources with excess ≥ 0.999 are dropped together when the union
survives that; then, while the set is not a valid cover (or still holds a source
with excess > 0.5), the source with the highest excess is dropped (ties: the one
whose removal brings Σ closest to N·T). The search stops when no source has
excess > 0.5. After a cover is found its members are taken out and the rest is
searched again (two scans in one key and window). An N-fold cover (N ≥ 2) whose
members fall into groups running one after another (no overlap in time), each
group a cover by itself, is reported as those separate scans.

**One scan, one row.** Candidates found from several anchors, or under both its
/24 and its AS, are the same scan when they share the port, overlap in time
and share a source; the one with the best score is kept (ties: the /24, the
narrower key), and ``also_keys`` names the other keys that found it. One run uses
one window kind, so a scan never appears once per window kind.

``overlap`` is ``(Σ - union) / Σ``: the share of member (source, destination)
probes that hit an address another member (or the same member, counted once)
already hit — 0 for an exact partition, 0.5 for a double cover.
``split`` is each member's distinct destinations over the union, in ``sources`` order.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from scantui.analysis import collab_timing as ct
from scantui.analysis.collab_types import CandidateKey, CandidateScan, KeyKind, ScoreParts, Timing, utc_day
from scantui.analysis.traffic import TCP, is_probe
from scantui.errors import InputError

DAY_US = 86_400_000_000
STUDY_LOW = 1000 / 61000
STUDY_HIGH = 1500 / 61000
KEY_KINDS = ("prefix24", "asn")
EXCESS_DROP = 0.5
EXCESS_REDUNDANT = 0.999
ANCHOR_MERGE_FRACTION = 0.01
MAX_SCANS_PER_WINDOW = 8

#: Every field of a candidate, in output order (JSON and CSV).
COLUMNS = (
    "port", "proto", "day", "window", "key_kind", "key", "asn", "as_name", "prefix24", "sources", "n_sources",
    "dsts_per_source", "union", "total", "telescope_size", "cover_multiple", "overlap", "timing",
    "timing_containment", "split", "start", "end", "packets", "score", "score_parts",
    "excluded_standalone", "also_keys",
)


# ---------------------------------------------------------------- the query and its parsing


@dataclass(frozen=True)
class CollabQuery:
    """What to look for. ``window_us`` None means the UTC calendar day."""

    by: tuple[str, ...] = KEY_KINDS
    window_us: int | None = None
    tools: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    min_sources: int = 2
    low: float = STUDY_LOW
    high: float = STUDY_HIGH
    top: int | None = None
    telescope_ranges: tuple[tuple[int, int], ...] = ()  # (first, last) address of each telescope block

    @property
    def window_label(self) -> str:
        return "day" if self.window_us is None else format_window(self.window_us)


@dataclass
class CollabResult:
    candidates: list[CandidateScan]
    telescope_size: int
    notes: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)


_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_window(text: str) -> int | None:
    """``day`` -> None; ``24h``, ``48h``, ``90m``, ``2d`` -> microseconds (at least one minute)."""
    value = text.strip().lower()
    if value in ("day", "1day", "calendar", "calendar-day"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|min|h|d)", value)
    if not match:
        raise InputError(f"expected 'day' or a span such as 24h, 48h, 90m, 2d, got {text!r}", where="--window")
    us = int(float(match.group(1)) * _UNITS[match.group(2)] * 1_000_000)
    if us < 60_000_000:
        raise InputError(f"a window must be at least one minute, got {text!r}", where="--window")
    return us


def format_window(us: int) -> str:
    seconds = us // 1_000_000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and unit != "d":
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_by(text: str) -> tuple[str, ...]:
    value = text.strip().lower()
    if value == "both":
        return KEY_KINDS
    if value in KEY_KINDS:
        return (value,)
    raise InputError(f"expected prefix24, asn or both, got {text!r}", where="--by")


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


def make_query(*, by: str = "both", window: str = "day", tolerance: str | None = None, tools: str | None = None,
               ports: str | None = None, min_sources: int = 2, telescope_cidrs: str | None = None) -> CollabQuery:
    """The query of the search options as typed (``--by``, ``--window``, ``--tolerance``, ``--tool``, ``--port``...):
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
        by=parse_by(by), window_us=parse_window(window), tools=tool_list,
        ports=parse_ports(ports) if ports is not None else (), min_sources=min_sources, low=low, high=high,
        telescope_ranges=telescope_ranges(parse_cidrs(telescope_cidrs)) if telescope_cidrs else (),
    )


def query_label(query: CollabQuery) -> str:
    """``window 24h · by asn · tol 1.64%,2.46%``: the options of a search, short enough for a title at 80 columns."""
    by = "both" if set(query.by) == set(KEY_KINDS) else ",".join(query.by)
    return f"window {query.window_label} · by {by} · tol {query.low:.2%},{query.high:.2%}"


def telescope_ranges(nets: Sequence[ipaddress.IPv4Network]) -> tuple[tuple[int, int], ...]:
    return tuple((int(n.network_address), int(n.broadcast_address)) for n in ipaddress.collapse_addresses(nets))


# ---------------------------------------------------------------- fallbacks when there is no rollup


def port_day_from_packets(packets: pl.LazyFrame, tools: Sequence[str] = ()) -> pl.LazyFrame:
    """The columns of the rollup's ``port_day`` this module reads, computed from the packets (lazy)."""
    lf = packets.filter(is_probe())
    tool_cols = []
    if tools:
        from scantui.analysis.fingerprints import with_tool

        lf = with_tool(lf)
        tool_cols = [(pl.col("tool") == t).sum().cast(pl.UInt32).alias(f"tool_{t}") for t in tools]
    return lf.with_columns(pl.col("ts").dt.date().alias("day")).group_by("day", "src", "proto", "dport").agg(
        pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts"), *tool_cols
    ).with_columns(pl.lit("probe").alias("kind"))


def enrichment_from_packets(packets: pl.LazyFrame) -> pl.LazyFrame | None:
    """Per-(src, day) first non-null ``asn`` from the packets, or None if they carry no ``asn``."""
    if "asn" not in packets.collect_schema().names():
        return None
    return (
        packets.filter(pl.col("asn").is_not_null())
        .group_by("src", pl.col("ts").dt.date().alias("day"))
        .agg(pl.col("asn").first())
    )


def estimate_telescope_size(packets: pl.LazyFrame) -> int:
    """Median over days of the distinct destinations seen that day (as the rollup estimates it)."""
    daily = packets.group_by(pl.col("ts").dt.date().alias("day")).agg(pl.col("dst").n_unique().alias("dsts"))
    return int(daily.collect(engine="streaming")["dsts"].median() or 0)


# ---------------------------------------------------------------- stage 1: prune with the rollup


def _day_rows(port_day: pl.LazyFrame, query: CollabQuery) -> pl.LazyFrame:
    """(day, dport, src, dsts) of probes, summed over sensors."""
    lf = port_day.filter((pl.col("kind").cast(pl.String) == "probe") & (pl.col("proto") == TCP))
    if query.ports:
        lf = lf.filter(pl.col("dport").is_in(list(query.ports)))
    if query.tools:
        lf = lf.filter(pl.any_horizontal([pl.col(f"tool_{t}") > 0 for t in query.tools]))
    return lf.group_by("day", "dport", "src").agg(pl.col("dsts").sum().cast(pl.UInt32).alias("dsts"))


def _keyed(rows: pl.LazyFrame, kind: str, enrichment: pl.LazyFrame | None) -> pl.LazyFrame:
    if kind == "prefix24":
        return rows.with_columns((pl.col("src") // 256).cast(pl.UInt32).alias("key"))
    asn = enrichment.select("src", "day", pl.col("asn").cast(pl.UInt32).alias("key")).filter(pl.col("key").is_not_null())
    return rows.join(asn.unique(["src", "day"]), on=["src", "day"], how="inner")


def _block_days(query: CollabQuery) -> int:
    """How many further calendar days a window starting on a day can reach."""
    return 0 if query.window_us is None else math.ceil(query.window_us / DAY_US)


def candidate_rows(rows: pl.LazyFrame, kind: str, enrichment: pl.LazyFrame | None, query: CollabQuery,
                   cover_min: float) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(day, dport, src, key) rows of the (port, key, day-block) groups that may hold a cover, and
    the standalone scanners (same columns) of those (port, key) pairs, to report as excluded."""
    all_keyed = _keyed(rows, kind, enrichment)
    keyed = all_keyed.filter(pl.col("dsts") < cover_min)  # standalone that day: never a member
    k = _block_days(query)
    blocks = pl.concat(
        [keyed.with_columns((pl.col("day") - pl.duration(days=j)).alias("block")) for j in range(k + 1)]
    )
    ok = (
        blocks.group_by("dport", "key", "block")
        .agg(pl.col("src").n_unique().alias("n"), pl.col("dsts").sum().alias("s"))
        .filter((pl.col("n") >= query.min_sources) & (pl.col("s") >= cover_min))
        .select("dport", "key", "block")
    )
    cand = blocks.join(ok, on=["dport", "key", "block"], how="semi").select("day", "dport", "src", "key").unique()
    standalone = all_keyed.filter(pl.col("dsts") >= cover_min).join(
        ok.select("dport", "key").unique(), on=["dport", "key"], how="semi"
    ).select("day", "dport", "src", "key")
    return cand, standalone


# ---------------------------------------------------------------- stage 2: read only those packets


def load_packets(packets: pl.LazyFrame, need: pl.DataFrame, query: CollabQuery) -> pl.DataFrame:
    """Probes of the (day, dport, src) rows in *need*: ``t`` (µs), ``day``, ``dport``, ``src``, ``dst``."""
    lf = packets
    if query.tools:
        from scantui.analysis.fingerprints import with_tool

        lf = with_tool(lf).filter(pl.col("tool").cast(pl.String).is_in(list(query.tools)))
    lf = lf.filter(
        is_probe()
        & pl.col("dport").is_in(need["dport"].unique().to_list())
        & pl.col("src").is_in(need["src"].unique().to_list())
    )
    if query.telescope_ranges:
        lf = lf.filter(pl.any_horizontal([pl.col("dst").is_between(a, b) for a, b in query.telescope_ranges]))
    lf = lf.select(
        pl.col("ts").dt.epoch("us").alias("t"), pl.col("ts").dt.date().alias("day"), "dport", "src", "dst"
    ).join(need.lazy(), on=["day", "dport", "src"], how="semi")
    return lf.collect(engine="streaming")


# ---------------------------------------------------------------- stage 3: windows and the cover search


def _windows(t: np.ndarray, src: np.ndarray, window_us: int | None) -> list[tuple[int, int]]:
    """[start, end) windows of one (key, port) group; *t* sorted ascending."""
    if window_us is None:
        return [(int(d) * DAY_US, (int(d) + 1) * DAY_US) for d in _sorted_unique(t // DAY_US)]
    order = np.lexsort((t, src))
    s, ts = src[order], t[order]
    start = np.ones(len(ts), dtype=bool)
    start[1:] = (s[1:] != s[:-1]) | (ts[1:] - ts[:-1] >= window_us // 2)
    anchors = _sorted_unique(ts[start])
    merge = int(window_us * ANCHOR_MERGE_FRACTION)
    kept: list[int] = []
    for a in anchors.tolist():
        if not kept or a - kept[-1] > merge:
            kept.append(a)
    return [(a, a + window_us) for a in kept]


@dataclass
class _Limits:
    size: int
    low: float
    high: float
    min_sources: int

    @property
    def cover_min(self) -> float:
        return (1 - self.low) * self.size

    def valid(self, union: int, total: int, n: int, multiple: int) -> bool:
        t = self.size
        return (
            n >= self.min_sources
            and (1 - self.low) * t <= union <= (1 + self.high) * t
            and (1 - self.low) * multiple * t <= total <= (1 + self.high) * multiple * t
        )


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` by sorting: numpy 2.4's hash-based unique is ~10x slower on these arrays."""
    s = np.sort(a)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _excess(sidx: np.ndarray, dst: np.ndarray, alive: np.ndarray, multiple: int, n_src: int):
    """Per-source excess share, per-source distinct dsts, union and Σ of the alive sources."""
    m = alive[sidx]
    s, d = sidx[m], dst[m]
    _, inv, counts = np.unique(d, return_inverse=True, return_counts=True)
    per_src = np.bincount(s, minlength=n_src)
    over = np.bincount(s, weights=(counts[inv] > multiple).astype(np.float64), minlength=n_src)
    excess = np.where(per_src > 0, over / np.maximum(per_src, 1), 0.0)
    return excess, per_src, len(counts), int(m.sum())


def search_cover(sidx: np.ndarray, dst: np.ndarray, alive0: np.ndarray, lim: _Limits) -> tuple[np.ndarray, int] | None:
    """Members (a mask over sources) forming a valid N-fold cover, and N; None if there is none.

    *sidx*/*dst* are the distinct (source index, destination) pairs of the window.
    """
    n_src = len(alive0)
    total0 = int(np.bincount(sidx, minlength=n_src)[alive0].sum())
    if total0 < lim.cover_min or alive0.sum() < lim.min_sources:
        return None
    for multiple in range(max(1, round(total0 / lim.size)), 0, -1):
        alive = alive0.copy()
        excess, per_src, union, total = _excess(sidx, dst, alive, multiple, n_src)
        redundant = alive & (excess >= EXCESS_REDUNDANT)
        if redundant.any() and (alive & ~redundant).sum() >= lim.min_sources:
            trial = alive & ~redundant
            ex2, ps2, u2, t2 = _excess(sidx, dst, trial, multiple, n_src)
            if u2 >= lim.cover_min:
                alive, excess, per_src, union, total = trial, ex2, ps2, u2, t2
        while alive.sum() >= lim.min_sources:
            worst_excess = excess[alive].max()
            if lim.valid(union, total, int(alive.sum()), multiple) and worst_excess <= EXCESS_DROP:
                return alive, multiple
            if worst_excess <= EXCESS_DROP:
                break
            tied = np.flatnonzero(alive & (excess >= worst_excess - 1e-9))
            drop = tied[np.argmin(np.abs(total - per_src[tied] - multiple * lim.size))]
            alive[drop] = False
            excess, per_src, union, total = _excess(sidx, dst, alive, multiple, n_src)
    return None


def _scans_in_window(t: np.ndarray, src: np.ndarray, dst: np.ndarray, lim: _Limits) -> list[dict[str, Any]]:
    """Every cover in one (key, port, window): raw stats with integer IPs and µs times."""
    pairs = _sorted_unique((src.astype(np.uint64) << np.uint64(32)) | dst.astype(np.uint64))
    psrc = (pairs >> np.uint64(32)).astype(np.uint32)
    pdst = (pairs & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    srcs, sidx = np.unique(psrc, return_inverse=True)
    per_src = np.bincount(sidx, minlength=len(srcs))
    standalone = per_src >= lim.cover_min
    alive = ~standalone
    found = []
    while len(found) < MAX_SCANS_PER_WINDOW:
        hit = search_cover(sidx, pdst, alive, lim)
        if hit is None:
            break
        members, multiple = hit
        for part, mult in _split_in_time(t, src, srcs, sidx, pdst, members, multiple, lim):
            found.append(_describe(t, src, srcs, per_src, part, mult, standalone, sidx, pdst, lim))
        alive = alive & ~members
    return found


def _split_in_time(t, src, srcs, sidx, pdst, members, multiple, lim) -> list[tuple[np.ndarray, int]]:
    """An N-fold cover (N ≥ 2) made of member groups that run one after another, each a cover
    by itself, is that many scans (the same sources scanning the port twice a day), not one."""
    if multiple < 2:
        return [(members, multiple)]
    idx = np.flatnonzero(members)
    pos = np.searchsorted(srcs, src)
    first = np.full(len(srcs), np.iinfo(np.int64).max)
    last = np.full(len(srcs), np.iinfo(np.int64).min)
    np.minimum.at(first, pos, t)
    np.maximum.at(last, pos, t)
    idx = idx[np.argsort(first[idx], kind="stable")]
    groups, reach = [[idx[0]]], last[idx[0]]
    for i in idx[1:]:
        if first[i] > reach:
            groups.append([i])
        else:
            groups[-1].append(i)
        reach = max(reach, last[i])
    if len(groups) < 2:
        return [(members, multiple)]
    out = []
    for g in groups:
        mask = np.zeros(len(members), dtype=bool)
        mask[g] = True
        union = len(_sorted_unique(pdst[mask[sidx]]))
        total = int(np.bincount(sidx, minlength=len(srcs))[mask].sum())
        mult = max(1, round(total / lim.size))
        if not lim.valid(union, total, len(g), mult):
            return [(members, multiple)]
        out.append((mask, mult))
    return out


def _describe(t, src, srcs, per_src, members, multiple, standalone, sidx, pdst, lim) -> dict[str, Any]:
    member_ips = srcs[members]
    in_scan = np.isin(src, member_ips)
    mt, ms = t[in_scan], src[in_scan]
    order = np.argsort(ms, kind="stable")
    ms_sorted, mt_sorted = ms[order], mt[order]
    bounds = np.flatnonzero(np.diff(ms_sorted)) + 1
    first = np.minimum.reduceat(mt_sorted, np.r_[0, bounds])
    last = np.maximum.reduceat(mt_sorted, np.r_[0, bounds])
    timing, clarity, containment = ct.classify_timing(first, last)
    dsts = per_src[members]
    union = int(len(_sorted_unique(pdst[members[sidx]])))
    total = int(dsts.sum())
    cover = ct.cover_exactness(union, total, multiple, lim.size, lim.low, lim.high)
    score, parts = ct.score(cover, clarity, len(member_ips))
    return {
        "sources": member_ips.tolist(), "dsts": dsts.tolist(), "union": union, "total": total,
        "cover_multiple": multiple, "timing": timing, "timing_containment": round(containment, 3),
        "start": int(mt.min()), "end": int(mt.max()), "packets": int(in_scan.sum()),
        "score": score, "score_parts": parts, "standalone": srcs[standalone].tolist(),
    }


# ---------------------------------------------------------------- the pipeline


def collab_scans(
    packets: pl.LazyFrame,
    *,
    port_day: pl.LazyFrame | None = None,
    enrichment: pl.LazyFrame | None = None,
    telescope_size: int | None = None,
    query: CollabQuery = CollabQuery(),
) -> CollabResult:
    """Ranked candidate collaborative scans (:class:`~scantui.analysis.collab_types.CandidateScan`) of the packet table.

    *port_day* and *enrichment* are the rollup's tables (computed from *packets*
    lazily when not given); *telescope_size* defaults to the median daily
    distinct destinations.
    """
    notes: list[str] = []
    if port_day is None:
        port_day = port_day_from_packets(packets, query.tools)
    if enrichment is None:
        enrichment = enrichment_from_packets(packets)
    if telescope_size is None:
        telescope_size = estimate_telescope_size(packets)
    if telescope_size <= 0:
        raise InputError("telescope size unknown (no data); give --telescope or --telescope-size")
    lim = _Limits(telescope_size, query.low, query.high, query.min_sources)

    kinds = list(query.by)
    if "asn" in kinds and (enrichment is None or _no_asn(enrichment)):
        kinds.remove("asn")
        notes.append("the input has no AS data (asn): grouping by AS skipped")
    rows = _day_rows(port_day, query)
    per_kind, standalone = {}, {}
    for k in kinds:
        cand, stand = candidate_rows(rows, k, enrichment, query, lim.cover_min)
        per_kind[k], stand_df = pl.collect_all([cand, stand], engine="streaming")
        for day, port, src, key in stand_df.iter_rows():
            standalone.setdefault((k, key, port), []).append((day, src))
    stats = {f"prefilter_rows_{k}": v.height for k, v in per_kind.items()}
    need = pl.concat([v.select("day", "dport", "src") for v in per_kind.values()]).unique() if per_kind else None
    raw: list[dict[str, Any]] = []
    if need is not None and need.height:
        pk = load_packets(packets, need, query)
        stats["packets_read"] = pk.height
        windows = 0
        for kind, krows in per_kind.items():
            found, n = _search_kind(pk, krows, kind, query, lim)
            raw.extend(found)
            windows += n
        stats["windows"] = windows
    kept = _dedupe(raw)
    asn_of, as_names = _asn_lookup(enrichment, kept) if enrichment is not None else ({}, {})
    candidates = [_candidate(c, query, lim, asn_of, as_names, standalone) for c in kept]
    if query.top is not None:
        candidates = candidates[: query.top]
    return CollabResult(candidates, telescope_size, notes, stats)


def _no_asn(enrichment: pl.LazyFrame) -> bool:
    if "asn" not in enrichment.collect_schema().names():
        return True
    return enrichment.select(pl.col("asn").is_not_null().any()).collect().item() is not True


def _search_kind(pk: pl.DataFrame, krows: pl.DataFrame, kind: str, query: CollabQuery, lim: _Limits):
    """Covers under one key kind: group by (key, port), cut windows, search each."""
    if krows.height == 0:
        return [], 0
    keyed = pk.join(krows, on=["day", "dport", "src"], how="inner").sort("t")
    out, windows = [], 0
    for (key, port), part in keyed.partition_by("key", "dport", as_dict=True, maintain_order=True).items():
        t = part["t"].to_numpy()
        src = part["src"].to_numpy()
        dst = part["dst"].to_numpy()
        for lo, hi in _windows(t, src, query.window_us):
            a, b = np.searchsorted(t, [lo, hi], side="left")
            if b - a == 0:
                continue
            windows += 1
            for scan in _scans_in_window(t[a:b], src[a:b], dst[a:b], lim):
                out.append({**scan, "kind": kind, "key_id": int(key), "port": int(port), "window_start": lo})
    return out, windows


def _dedupe(cands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per scan: best score first; the same port, overlapping times and a shared source is one scan."""
    rank = {k: i for i, k in enumerate(KEY_KINDS)}
    order = sorted(cands, key=lambda c: (-c["score"], rank[c["kind"]], c["start"], len(c["sources"])))
    kept: list[dict[str, Any]] = []
    for cand in order:
        members = set(cand["sources"])
        twin = next(
            (k for k in kept if k["port"] == cand["port"] and cand["start"] <= k["end"] and k["start"] <= cand["end"]
             and members & k["_set"]),
            None,
        )
        if twin is None:
            kept.append({**cand, "_set": members, "_keys": {(cand["kind"], cand["key_id"])}})
        else:
            twin["_keys"].add((cand["kind"], cand["key_id"]))
    return kept


def _asn_lookup(enrichment: pl.LazyFrame, kept: list[dict[str, Any]]) -> tuple[dict[tuple[int, dt.date], int], dict[int, str]]:
    """Per-(src, day) AS numbers of the kept scans' sources, and a name per AS number where the data has one."""
    names = enrichment.collect_schema().names()
    if not kept or "asn" not in names:
        return {}, {}
    srcs = sorted({s for c in kept for s in c["sources"]})
    name = pl.col("as_name").cast(pl.String) if "as_name" in names else pl.lit(None, pl.String)
    df = (enrichment.filter(pl.col("src").is_in(srcs) & pl.col("asn").is_not_null())
          .select("src", "day", "asn", name.alias("as_name")).collect())
    as_names: dict[int, str] = {}
    for a, n in df.select("asn", "as_name").drop_nulls().unique("asn", keep="first", maintain_order=True).iter_rows():
        as_names[int(a)] = n
    return {(int(s), d): int(a) for s, d, a, _n in df.iter_rows()}, as_names


def _standalone_near(c: dict[str, Any], standalone: dict) -> list[int]:
    """Standalone scanners of the candidate's key and port on the days it spans (from the pre-filter)."""
    first, last = utc_day(c["start"]), utc_day(c["end"])
    near = {s for day, s in standalone.get((c["kind"], c["key_id"], c["port"]), []) if first <= day <= last}
    return sorted(near | set(c["standalone"]))


def _candidate(c: dict[str, Any], query: CollabQuery, lim: _Limits, asn_of: dict, as_names: dict,
            standalone: dict) -> CandidateScan:
    order = np.argsort(np.array(c["sources"], dtype=np.uint32), kind="stable")
    sources = tuple(int(c["sources"][i]) for i in order)
    dsts = tuple(int(c["dsts"][i]) for i in order)
    first_day = utc_day(c["window_start"] if query.window_us is None else c["start"])
    start_day = utc_day(c["start"])
    asns = {asn_of.get((s, start_day)) for s in sources}
    prefixes = {s >> 8 for s in sources}
    keys = sorted(c["_keys"], key=lambda kk: (KEY_KINDS.index(kk[0]), kk[1]))
    own = (c["kind"], c["key_id"])
    asn = asns.pop() if len(asns) == 1 and None not in asns else None
    return CandidateScan(
        port=int(c["port"]), day=first_day, window=query.window_label, key=CandidateKey(KeyKind(own[0]), int(own[1])),
        asn=asn, as_name=as_names.get(asn), prefix24=prefixes.pop() if len(prefixes) == 1 else None,
        sources=sources, dsts=dsts, union=c["union"], total=c["total"], telescope_size=lim.size,
        cover_multiple=c["cover_multiple"],
        overlap=round((c["total"] - c["union"]) / c["total"], 4) if c["total"] else 0.0,
        timing=Timing(c["timing"]), timing_containment=c["timing_containment"],
        split=tuple(round(d / c["union"], 4) for d in dsts), start_us=int(c["start"]), end_us=int(c["end"]),
        packets=c["packets"], score=c["score"], score_parts=ScoreParts(**c["score_parts"]),
        excluded_standalone=tuple(int(s) for s in _standalone_near(c, standalone)),
        also_keys=tuple(CandidateKey(KeyKind(k), int(i)) for k, i in keys if (k, i) != own),
    )
