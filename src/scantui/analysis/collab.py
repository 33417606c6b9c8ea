"""Collaborative scans: sources of one /24 or AS that together cover the telescope exactly.

A candidate is a set of *members* (source IPs) on one destination port, inside one
*window* and one *key* (``prefix24`` = the sources' /24, or ``asn`` = their AS
*on that day*; beyond the thesis, ``fingerprint`` = a rare header-artifact signature
they share that day, :mod:`~scantui.analysis.fingerprint_keys`, which ties a pool split
across ASes; ``--by all``, the default, is every kind; ``--by both``, the thesis' condition 5, is
the first two) such that (domain.md, the six conditions):

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
   for a natural N (``cover_multiple``), and at least half the union is reached exactly
   N times (``collab_cover.EXACT_SHARE_MIN``: "every address N times"; sources reaching
   addresses at random, e.g. a botnet of one AS over days, reach the whole telescope and,
   with some of them dropped, a Σ within N·T's bounds, but at most 27 % of the union
   exactly N times for N ≥ 2). The defaults are the study's proportion:
   60,000-62,500 of 61,000 addresses, i.e. ``low = 1000/61000`` (1.64 %) and
   ``high = 1500/61000`` (2.46 %);
5. they share the key (a fingerprint key only groups: the cover test decides as for a /24);
6. they show a timing pattern (``parallel`` / ``sequential`` / ``mixed``, see
   :mod:`scantui.analysis.collab_timing`, which also defines the score).

**Data access.** The packet table is never held in memory. The rollup's
``port_day`` (exact distinct destinations per day, port and source) first prunes
to (port, key, day-block) groups where at least two non-standalone sources sum to
``(1 - low)·T`` (a necessary condition: Σ ≥ union); with the rollup's per-day group
sums (:mod:`~scantui.analysis.collab_sums`) only the ``port_day`` rows of the days,
ports and keys that may pass are read for that. Only the packets of those
(day, port, source) rows are then read, lazily and streamed, a batch of groups at a
time (:mod:`~scantui.analysis.collab_batches`), and unions, overlaps and spans are
computed exactly on that small subset with numpy.

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

**The finest exact cover.** An N-fold cover (N ≥ 2, after the split in time) whose
members split into disjoint sets that are each an exact cover on their own
(``Limits.valid``) with a different partition or timing is reported as those scans
(two groups of one /24 on one port at overlapping times); parts with the same
partition and timing (concurrent runs of one group) stay one N-fold scan. N > 1 is
reported only when no such split exists (or the search's bounds stop it). The
search (a conflict graph of the members' shared destinations, coloured into covers)
and its bounds: :mod:`~scantui.analysis.collab_split`. ``reasons`` says in plain
sentences why a candidate was split, kept whole, or left sources out.

**One scan, one row.** Candidates found from several anchors, or under both its
/24 and its AS, are the same scan when they share the port, overlap in time
and share a source; the one with the best score is kept (ties: the /24, the
narrower key), and ``also_keys`` names the other keys that found it. One run uses
one window kind, so a scan never appears once per window kind.

``overlap`` is ``(Σ - union) / Σ``: the share of member (source, destination)
probes that hit an address another member (or the same member, counted once)
already hit — 0 for an exact partition, 0.5 for a double cover.
``split`` is each member's distinct destinations over the union, in ``sources`` order.

**Where the code is.** :func:`collab_scans` here runs the stages and builds the
:class:`~scantui.analysis.collab_types.CandidateScan` records (one scan, one row);
the query and its options: :mod:`~scantui.analysis.collab_query`; stages 1-2 (prune
with the rollup, read the packets): :mod:`~scantui.analysis.collab_prune`; stage 3
(windows, the subset search, the cover test ``Limits.valid``):
:mod:`~scantui.analysis.collab_cover`; the finest exact cover: :mod:`~scantui.analysis.collab_split`;
timing and score: :mod:`~scantui.analysis.collab_timing`; key kinds keyed by a per-(day, source) table
(``zmap_generator``, ``fingerprint``, and how to add one): :mod:`~scantui.analysis.collab_keys`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from scantui.analysis import bursts as bw
from scantui.analysis import collab_batches as batches
from scantui.analysis import collab_bursts as cbu
from scantui.analysis import collab_rolling as rolling
from scantui.analysis.collab_burst_sums import BurstSums
from scantui.analysis.collab_cover import Limits, cut_windows, scans_in_window
from scantui.analysis.collab_keys import KEY_TABLES, KeyInputs, KeyTable
from scantui.analysis.collab_prune import (
    candidate_rows, day_rows, enrichment_from_packets, estimate_telescope_size, load_packets, port_day_from_packets,
    rows_of_sources,
)
# The query and its parsing live in collab_query; callers may keep importing them from here.
from scantui.analysis.collab_sums import CollabSums, needed, read_needed
from scantui.analysis.collab_query import (
    KEY_KINDS, STUDY_HIGH, STUDY_LOW, CollabQuery, format_window, make_query, parse_by, parse_ports, parse_tolerance,
    parse_window, query_label, telescope_ranges,
)
from scantui.analysis.packet_source import PacketSource, as_source
from scantui.analysis.rollup import Progress
from scantui.analysis.collab_types import CandidateKey, CandidateScan, KeyKind, ScoreParts, Timing, utc_day
from scantui.errors import InputError

__all__ = [
    "COLUMNS", "CollabQuery", "CollabResult", "KEY_KINDS", "STUDY_HIGH", "STUDY_LOW", "collab_scans",
    "enrichment_from_packets", "estimate_telescope_size", "format_window", "make_query", "parse_by", "parse_ports",
    "parse_tolerance", "parse_window", "port_day_from_packets", "query_label", "telescope_ranges",
]

#: Every field of a candidate, in output order (JSON and CSV).
COLUMNS = (
    "port", "proto", "day", "window", "key_kind", "key", "asn", "as_name", "prefix24", "sources", "n_sources",
    "dsts_per_source", "union", "total", "telescope_size", "cover_multiple", "overlap", "timing",
    "timing_containment", "split", "start", "end", "packets", "score", "score_parts",
    "excluded_standalone", "also_keys", "reasons",
)


@dataclass
class CollabResult:
    candidates: list[CandidateScan]
    telescope_size: int
    notes: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- the pipeline


def collab_scans(
    packets: pl.LazyFrame | PacketSource,
    *,
    port_day: pl.LazyFrame | None = None,
    enrichment: pl.LazyFrame | None = None,
    telescope_size: int | None = None,
    query: CollabQuery = CollabQuery(),
    sums: CollabSums | None = None,
    walks: pl.LazyFrame | None = None,
    fingerprints: pl.LazyFrame | None = None,
    bursts: pl.LazyFrame | None = None,
    burst_sums: BurstSums | None = None,
    keyed_bursts: pl.LazyFrame | None = None,
    progress: Progress | None = None,
) -> CollabResult:
    """Ranked candidate collaborative scans (:class:`~scantui.analysis.collab_types.CandidateScan`) of the packet table.

    *packets* is a LazyFrame or a :class:`~scantui.analysis.packet_source.PacketSource` (the rollup's
    day tables: only the days and ports the pre-filter keeps are read). *port_day* and *enrichment*
    are the rollup's tables (computed from *packets* lazily when not given; with day tables, a missing
    *enrichment* means the data has none); *telescope_size* defaults to the median daily
    distinct destinations. *sums*, the rollup's per-day group sums (:mod:`~scantui.analysis.collab_sums`),
    narrow the pre-filter to the days, ports and keys that may hold a cover (the same result).
    *walks*, the rollup's ZMap walk matches (:mod:`~scantui.analysis.zmap_rollup`), give the
    ``zmap_generator`` key and make ``--tool zmap`` count walk-identified sources.
    *fingerprints*, the rollup's per-day source signatures (:mod:`~scantui.analysis.fingerprint_keys`), key
    ``--by fingerprint`` (computed from *packets* when not given); other kinds: :mod:`~scantui.analysis.collab_keys`.
    *bursts*, the rollup's per-day burst tables (:mod:`~scantui.analysis.bursts`), are what
    ``query.bursts`` searches over (computed from *packets* when not given); *burst_sums*, the rollup's per-day
    (/24, port) sums of them (:mod:`~scantui.analysis.collab_burst_sums`), narrow its /24 pre-filter (the same result);
    *keyed_bursts*, the rollup's bursts of every source *fingerprints* key (:mod:`~scantui.analysis.keyed_bursts`),
    are what its fingerprint pass reads instead of every day's bursts (the same rows). *progress*: told each batch
    of the search (``candidate batch I of N``); it may raise there to stop it (a cancelled task).
    """
    notes: list[str] = []
    source = as_source(packets)
    if port_day is None:
        port_day = port_day_from_packets(source.read(), query.tools)
    if enrichment is None and source.days() is None:  # a rollup's day tables come with its enrichment (or none)
        enrichment = enrichment_from_packets(source.read())
    if telescope_size is None:
        telescope_size = estimate_telescope_size(source.read())
    if telescope_size <= 0:
        raise InputError("telescope size unknown (no data); give --telescope or --telescope-size")
    lim = Limits(telescope_size, query.low, query.high, query.min_sources)

    kinds = list(query.by)
    if "asn" in kinds and (enrichment is None or _no_asn(enrichment)):
        kinds.remove("asn")
        notes.append("the input has no AS data (asn): grouping by AS skipped")
    if "zmap_generator" in kinds and walks is None:
        kinds.remove("zmap_generator")
        notes.append("no ZMap walk results (they are built with the rollup): grouping by zmap_generator skipped")
    inputs = KeyInputs(source, fingerprints, walks)
    tables = {k: KEY_TABLES[k](inputs) for k in kinds if k in KEY_TABLES}
    finish = Found(enrichment, query, lim, telescope_size, notes, tables)
    if query.bursts:
        return _burst_scans(source, bursts, kinds, walks, finish, burst_sums, keyed_bursts, progress)
    rows = day_rows(port_day, query, walks)
    per_kind, standalone = {}, {}
    for k in kinds:
        need = needed(sums.table, k, query, lim.cover_min) if sums is not None and k in sums.kinds else None
        krows = rows if need is None else day_rows(read_needed(port_day, need, k), query, walks)
        key_rows = None
        if k in tables:  # only the rows of the sources that have a key of this kind
            key_rows = tables[k].rows.collect()
            # held (the keyed sources' rows, 1.5 M at 200 M packets): the candidates and the standalone rows
            # below each read them, and two scans of every port_day row cost 3x the one
            krows = day_rows(rows_of_sources(port_day, key_rows.select("day", "src")), query, walks).collect(
                engine="streaming").lazy()
        keys_from = enrichment
        if k == "asn" and need is not None and enrichment is not None:
            # the needed days' and ASes' rows of the enrichment only (one per source and day of the data): a row
            # of another AS is in no block that can pass, so it is dropped here instead of failing later
            keys_from = enrichment.filter(pl.col("day").is_in(need["day"].unique().implode())
                                          & pl.col("asn").is_in(need["key"].unique().implode()))
        cand, stand = candidate_rows(krows, k, keys_from, query, lim.cover_min,
                                     None if key_rows is None else key_rows.lazy())
        per_kind[k], stand_df = pl.collect_all([cand, stand], engine="streaming")
        for day, port, src, key in stand_df.iter_rows():
            standalone.setdefault((k, key, port), []).append((day, src))
    stats = {f"prefilter_rows_{k}": v.height for k, v in per_kind.items()}
    # each (key, port) group's covers, their packets read a batch at a time (collab_batches); calendar-day windows
    # are each a day of the group, so a group's days may be read apart (a botnet of one AS on one port passes
    # every day: read whole, its group was all of its probes); a rolling window's anchors need the group whole
    unit = ("key", "dport") if query.window_us is not None else ("key", "dport", "day")
    per_kind, extra, counts = _big_rolling_groups(source, query, walks, per_kind, lim)
    raw = batches.read_and_search(per_kind, unit, lambda rows: rows,
                                  lambda need, _parts: load_packets(source, need, query, walks),
                                  lambda pk, kind, krows: _search_kind(pk, krows, kind, query, lim), stats, extra=extra,
                                  progress=progress)
    for name, n in counts.items():
        stats[name] = stats.get(name, 0) + n
    return finish.result(raw, standalone, stats)


def _big_rolling_groups(source: PacketSource, query: CollabQuery, walks: pl.LazyFrame | None,
                        per_kind: dict[str, pl.DataFrame], lim: Limits):
    """With rolling windows, the (key, port) groups estimated above the read budget searched a batch of days at a
    time (:mod:`~scantui.analysis.collab_rolling`): (the other rows per kind, [(kind, covers)], counts)."""
    counts = {"packets_read": 0, "windows": 0, "big_groups": 0}
    if query.window_us is None:
        return per_kind, [], {}
    rest, extra = {}, []
    for kind, rows in per_kind.items():
        sizes = rows.group_by("key", "dport").agg(pl.col("packets").cast(pl.Int64).sum())
        big = sizes.filter(pl.col("packets") > batches.PACKETS_PER_BATCH).select("key", "dport").sort("key", "dport")
        rest[kind] = rows.join(big, on=["key", "dport"], how="anti") if big.height else rows
        for key, port in big.iter_rows():
            group = rows.filter((pl.col("key") == key) & (pl.col("dport") == port))

            def search(t, src, dst, lo, kind=kind, key=key, port=port):
                return [{**scan, "kind": kind, "key_id": int(key), "port": int(port), "window_start": lo,
                         "_unit": (int(key), int(port), int(lo))} for scan in scans_in_window(t, src, dst, lim)]

            found, n, read = rolling.search_group(group, lambda need: load_packets(source, need, query, walks),
                                                  query.window_us, batches.PACKETS_PER_BATCH, search)
            extra.append((kind, found))
            counts["windows"] += n
            counts["packets_read"] += read
            counts["big_groups"] += 1
    return rest, extra, counts


@dataclass
class Found:
    """What turns raw covers into the ranked :class:`CollabResult` (both window kinds)."""

    enrichment: pl.LazyFrame | None
    query: CollabQuery
    lim: Limits
    telescope_size: int
    notes: list[str]
    tables: dict[str, KeyTable]

    def key_table(self, kind: str) -> pl.LazyFrame | None:
        """The (day, src[, dport], key) rows of a kind keyed by a table, or None (/24, AS)."""
        return self.tables[kind].rows if kind in self.tables else None

    def result(self, raw: list[dict[str, Any]], standalone: dict, stats: dict[str, int]) -> CollabResult:
        kept = _dedupe(raw)
        enrichment, query = self.enrichment, self.query
        asn_of, as_names = _asn_lookup(enrichment, kept) if enrichment is not None else ({}, {})
        labels = _labels(self.tables, kept)
        candidates = [_candidate(c, query, self.lim, asn_of, as_names, standalone, labels) for c in kept]
        if query.top is not None:
            candidates = candidates[: query.top]
        return CollabResult(candidates, self.telescope_size, self.notes, stats)


def _burst_scans(source: PacketSource, bursts: pl.LazyFrame | None, kinds: list[str], walks: pl.LazyFrame | None,
                 found: Found, burst_sums: BurstSums | None = None,
                 keyed_bursts: pl.LazyFrame | None = None, progress: Progress | None = None) -> CollabResult:
    """``--window burst``: the cover search over the clusters of bursts (:mod:`~scantui.analysis.collab_bursts`)."""
    query, lim = found.query, found.lim
    if bursts is None:
        merged = bw.bursts_of(source.read())
    else:
        def ported(lf: pl.LazyFrame) -> pl.LazyFrame:
            return lf.filter(pl.col("dport").is_in(list(query.ports))) if query.ports else lf

        days = ported(bursts)
        held = {"fingerprint": ported(keyed_bursts)} if keyed_bursts is not None else None
        keep, rows = cbu.burst_picks(days, [(k, found.key_table(k)) for k in kinds], found.enrichment, query,
                                     lim.cover_min, burst_sums, held)
        if rows is None:  # some pass streamed every row: the kept pairs' rows read again
            rows = days.join(keep.lazy(), on=["src", "dport"], how="semi").collect(engine="streaming")
        merged = bw.merge_days(rows.lazy())
    merged = merged.collect().lazy()
    per_kind, standalone = {}, {}
    for k in kinds:
        win, stand_df = cbu.burst_windows(merged, k, found.enrichment, query, lim.cover_min, key_table=found.key_table(k))
        per_kind[k] = win
        for day, port, src, key in stand_df.iter_rows():
            standalone.setdefault((k, key, port), []).append((day, src))
    stats = {f"prefilter_bursts_{k}": v.height for k, v in per_kind.items()}

    def load(need: pl.DataFrame, parts: list[pl.DataFrame]) -> pl.DataFrame:  # only the probes inside the bursts
        return load_packets(source, need, query, walks, within=cbu.burst_spans(parts))

    raw = batches.read_and_search(per_kind, ("wid",), cbu.need_rows, load,
                                  lambda pk, kind, win: _search_bursts(pk, win, kind, lim), stats, progress=progress)
    return found.result(raw, standalone, stats)


def _search_bursts(pk: pl.DataFrame, win: pl.DataFrame, kind: str, lim: Limits) -> tuple[list[dict[str, Any]], int]:
    """Covers under one key kind over its burst windows: each window's bursts' packets searched alone."""
    out: list[dict[str, Any]] = []
    part = cbu.window_packets(pk, win)
    if part.height == 0:
        return out, 0
    # each window's rows (one key and port each) are together, window_packets sorting by window first: cut from
    # whole columns where the window changes (a frame and three column reads per window cost ~0.1 ms, as much as
    # the search itself where windows are many)
    wid = part["wid"].to_numpy()
    starts = np.flatnonzero(np.r_[True, wid[1:] != wid[:-1]])
    ends = np.r_[starts[1:], len(wid)]
    t, src, dst = part["t"].to_numpy(), part["src"].to_numpy(), part["dst"].to_numpy()
    keys, ports, wids = part["key"].to_numpy(), part["dport"].to_numpy(), part["wid"].to_numpy()
    for a, b in zip(starts.tolist(), ends.tolist()):
        for scan in scans_in_window(t[a:b], src[a:b], dst[a:b], lim, presorted=True):  # (window_packets' order)
            out.append({**scan, "kind": kind, "key_id": int(keys[a]), "port": int(ports[a]), "window_start": scan["start"],
                        "_unit": int(wids[a])})
    return out, len(starts)


def _no_asn(enrichment: pl.LazyFrame) -> bool:
    if "asn" not in enrichment.collect_schema().names():
        return True
    return enrichment.select(pl.col("asn").is_not_null().any()).collect().item() is not True


def _search_kind(pk: pl.DataFrame, krows: pl.DataFrame, kind: str, query: CollabQuery, lim: Limits):
    """Covers under one key kind: group by (key, port), cut windows, search each."""
    if krows.height == 0:
        return [], 0
    keyed = pk.join(krows.select("day", "dport", "src", "key"), on=["day", "dport", "src"], how="inner").sort("t")
    out, windows = [], 0
    for (key, port), part in keyed.partition_by("key", "dport", as_dict=True, maintain_order=True).items():
        t = part["t"].to_numpy()
        src = part["src"].to_numpy()
        dst = part["dst"].to_numpy()
        for lo, hi in cut_windows(t, src, query.window_us):
            a, b = np.searchsorted(t, [lo, hi], side="left")
            if b - a == 0:
                continue
            windows += 1
            for scan in scans_in_window(t[a:b], src[a:b], dst[a:b], lim):  # one order whatever the reads
                out.append({**scan, "kind": kind, "key_id": int(key), "port": int(port), "window_start": lo,
                            "_unit": (int(key), int(port), int(lo))})
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


def _labels(tables: dict[str, KeyTable], kept: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """The text of the kept scans' keys of the kinds keyed by a table."""
    out: dict[tuple[str, int], str] = {}
    for kind, table in tables.items():
        ids = sorted({i for c in kept for k, i in c["_keys"] if k == kind})
        out.update({(kind, i): text for i, text in table.labels(ids).items()})
    return out


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


def _candidate(c: dict[str, Any], query: CollabQuery, lim: Limits, asn_of: dict, as_names: dict,
            standalone: dict, labels: dict[tuple[str, int], str]) -> CandidateScan:
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
        port=int(c["port"]), day=first_day, window=query.window_label, key=_key(own, labels),
        asn=asn, as_name=as_names.get(asn), prefix24=prefixes.pop() if len(prefixes) == 1 else None,
        sources=sources, dsts=dsts, union=c["union"], total=c["total"], telescope_size=lim.size,
        cover_multiple=c["cover_multiple"],
        overlap=round((c["total"] - c["union"]) / c["total"], 4) if c["total"] else 0.0,
        timing=Timing(c["timing"]), timing_containment=c["timing_containment"],
        split=tuple(round(d / c["union"], 4) for d in dsts), start_us=int(c["start"]), end_us=int(c["end"]),
        packets=c["packets"], score=c["score"], score_parts=ScoreParts(**c["score_parts"]),
        excluded_standalone=tuple(int(s) for s in _standalone_near(c, standalone)),
        also_keys=tuple(_key((k, i), labels) for k, i in keys if (k, i) != own),
        reasons=tuple(c.get("reasons", ())),
    )


def _key(kind_id: tuple[str, int], labels: dict[tuple[str, int], str]) -> CandidateKey:
    kind, i = kind_id
    return CandidateKey(KeyKind(kind), int(i), labels.get((kind, int(i)), ""))
