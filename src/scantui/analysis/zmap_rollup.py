"""The ZMap walk test in the rollup: a cheap header pre-screen per day, the test on the candidates, one table.

Running :func:`scantui.analysis.zmap_walk.match_walk` on every source costs 40-85 ms of CPU each
(11-24 CPU hours per million sources), so each day state (:func:`write_day`, called by
:func:`scantui.analysis.rollup_days.build_day_state`) tests only the (source, port) pairs whose
TCP SYN probes of the day look like ZMap's packet builder (``../shared/docs/zmap4.md`` and the
real 2.1.1 captures in ``tests/data/zmap211``):

- window 65535, and either no MSS option (2.1.1, 40-byte packets) or MSS 1460 (4.x's option
  sets), no payload (IP length at most 60): at least :data:`HEADER_SHARE` of the pair's SYN probes;
- at least :data:`MIN_HITS` distinct destinations that day (the fewest the test's 1e-4 false-match
  bound accepts on a /16 telescope; smaller views need more and the test says no by itself).

Pairs whose probes carry ZMap's old IP-ID tag 54321 (<= 4.0; ``tagged``) are tested too, for their
generator key (``variant`` stays ``ipid``: the IP-ID rule names them), but only as a scan of one prefix
(:func:`span_hypothesis`, below): 2.1.1 and 3.x draw a full-size generator that the Internet-wide test
cannot search, and that test on every tagged pair cost 43 CPU s on one 600 k-packet dev day (1,522
pairs; ``benchmarks/RESULTS.md``). ZMap >= 4.1 randomises the IP-ID. The
test's telescope is the day's distinct destinations (``day_totals``, summed over sensors), every
address allowed by the default hypothesis (the Internet minus ZMap's shipped blocklist). A pair that
fails it, with at least :data:`SPAN_MIN_HITS` destinations, is tested once more as a scan of one
prefix seen whole (:func:`span_hypothesis`: the smallest CIDR holding its destinations, a
/:data:`SPAN_MAX_PREFIX` or smaller, as ZMap's only allowlist entry; ZMap then walks a small group,
e.g. 65537 for a /20): the real zmap 4.3.4 capture of ``tests/data/zmap4`` (two shards of a /20 in
198.19.0.0/16, which the shipped blocklist holds).

Each matching pair is one row of the day's ``zmap_walks.parquet`` (:data:`SCHEMA`);
:func:`merge` concatenates the days into the rollup's ``zmap_walks.parquet`` (sorted by source,
day, port). Per source (:func:`walk_sources`): the generator of its row with the most hits.
A scan crossing midnight is tested once per day (each day's part on its own).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from scantui.analysis import zmap_group, zmap_link_rules, zmap_pretest
from scantui.analysis import zmap_walk as zw
from scantui.analysis.fingerprints import ZMAP_IP_ID, scan_candidate
from scantui.analysis.sort_keys import sort_by
from scantui.io.schema import ACK, SYN

DAY_FILE = "zmap_walks.parquet"
TABLE = "zmap_walks.parquet"
DAY_TOTALS = "day_totals.parquet"

#: Fewest distinct destinations of a (source, port) on a day for the walk test to run.
MIN_HITS = 5
#: Share of a (source, port)'s SYN probes that must carry ZMap's header.
HEADER_SHARE = 0.9
#: The test reads a pair's first this many distinct destinations (its cost grows with the hits: 0.15 CPU s
#: for 1,024, 8.6 s for 19,544 of one scan; a match needs a handful).
MAX_TEST_HITS = 1024
#: The widest prefix :func:`span_hypothesis` takes (a /16: ZMap's group 65537, its 32,768 roots; cheap to test).
SPAN_MAX_PREFIX = 16
#: Fewest distinct destinations for :func:`match_span`: a scan seen whole shows every probe, so a real one has
#: many (the few-hit pairs, most of a day's, cost 4 ms each in group 65537 and rarely pass the bound there).
SPAN_MIN_HITS = 32

SCHEMA = pl.Schema({
    "day": pl.Date(), "src": pl.UInt32(), "dport": pl.UInt16(), "zmap_generator": pl.UInt64(), "prime": pl.UInt64(),
    "hits": pl.UInt32(), "distinct": pl.UInt32(), "tight": pl.UInt32(), "consistent": pl.UInt32(),
    "threads_seen": pl.UInt16(), "subshards": pl.UInt32(), "steps_per_s": pl.Float64(),
    "tagged": pl.Boolean(), "generator_key": pl.UInt64(),
})

#: 2.1.1's subshards interleave (each thread multiplies by g**S): a shard's probes fix g only up to an S-th
#: root of unity, so a tagged match's key is the smallest g * z over the z with z**AMBIGUITY == 1 (S up
#: to 16 in the 2-power groups 257 and 65537 that :func:`match_span` uses).
AMBIGUITY = 16


def generator_class(g: int, prime: int) -> int:
    """The smallest of g * z mod *prime* over the roots of unity z of order dividing gcd(:data:`AMBIGUITY`, prime - 1)."""
    n = prime - 1
    d = math.gcd(AMBIGUITY, n)
    z = pow(zmap_group.GROUPS[prime][0], n // d, prime) if prime in zmap_group.GROUPS else 1
    return min(g * pow(z, j, prime) % prime for j in range(d))


def _syn() -> pl.Expr:
    return scan_candidate() & ((pl.col("tcp_flags") & (SYN | ACK)) == SYN)


def zmap_header() -> pl.Expr:
    """A SYN probe whose header ZMap's builder could have written (window, MSS option, no payload),
    with or without the old IP-ID tag."""
    mss = pl.col("tcp_mss")
    return ((pl.col("tcp_window") == 65535) & (mss.is_null() | (mss == 1460))
            & (pl.col("ip_len").is_null() | (pl.col("ip_len") <= 60))).fill_null(False)


def _tag() -> pl.Expr:
    return (pl.col("ip_id") == ZMAP_IP_ID).fill_null(False)


def prescreen(packets: pl.LazyFrame) -> pl.LazyFrame:
    """The (``src``, ``dport``) pairs worth the walk test, with ``probes`` (SYN probes of the pair) and
    ``tagged`` (most of its ZMap-header probes carry the IP-ID tag: old ZMap, tested on its prefix only)."""
    # the pairs with MIN_HITS header probes first (a third of a day's SYNs, a third of its pairs), then the
    # SYNs of those pairs alone counted: ~0.065 CPU s in place of 0.095 for one group-by of every SYN (2.4 M-packet day)
    syn, keys = packets.filter(_syn()), ["src", "dport"]
    marked = (syn.filter(zmap_header()).group_by(keys)
              .agg(pl.len().alias("header"), _tag().sum().alias("tag"))
              .filter(pl.col("header") >= MIN_HITS))
    probes = (syn.join(marked.select(keys), on=keys, how="semi", nulls_equal=True)
              .group_by(keys).agg(pl.len().alias("probes")))
    return (marked.join(probes, on=keys, nulls_equal=True)
            .filter(pl.col("header") >= HEADER_SHARE * pl.col("probes"))
            .select("src", "dport", "probes", (2 * pl.col("tag") > pl.col("header")).alias("tagged")))


def candidate_probes(packets: pl.LazyFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs' ZMap-header SYN probes, one row per pair: ``dst`` and ``ts`` (epoch us) lists in time
    order and the pair's ``tagged`` (False when *pairs* lacks it); pairs with fewer than :data:`MIN_HITS`
    distinct destinations left out, and tagged pairs that :func:`match_span` would refuse (fewer than
    :data:`SPAN_MIN_HITS`, or wider than a /:data:`SPAN_MAX_PREFIX`)."""
    keys = pairs.lazy().select("src", "dport", pl.col("tagged") if "tagged" in pairs.columns else pl.lit(False).alias("tagged"))
    probes = (packets.filter(_syn() & zmap_header()).join(keys, on=["src", "dport"], how="inner")
              .select("src", "dport", "ts", "dst", "tagged"))
    # by destination within a microsecond (several sensors' probes): one order whatever the join's
    return (sort_by(probes, ("ts", "dst"))
            .group_by("src", "dport", maintain_order=True)
            .agg(pl.col("dst"), pl.col("ts").dt.epoch("us"), pl.col("dst").n_unique().alias("distinct"),
                 pl.col("tagged").first(),
                 (pl.col("dst").min().cast(pl.Int64).xor(pl.col("dst").max().cast(pl.Int64))
                  < (1 << (32 - SPAN_MAX_PREFIX))).alias("in_prefix"))
            .filter((pl.col("distinct") >= MIN_HITS)
                    & (~pl.col("tagged") | (pl.col("in_prefix") & (pl.col("distinct") >= SPAN_MIN_HITS))))
            .drop("in_prefix")
            .sort("src", "dport")
            .collect())


def match_pairs(groups: pl.DataFrame, telescope: Sequence[tuple[int, int]] | int, day=None) -> pl.DataFrame:
    """:func:`~scantui.analysis.zmap_walk.match_walk` on each pair of :func:`candidate_probes`: the matches.

    A ``tagged`` pair (IP-ID 54321: ZMap <= 4.0) is tested under :func:`span_hypothesis` only: 2.1.1 and
    3.x draw a full-size generator, which the Internet-wide test (roots below 2**22) cannot find, while a
    prefix of a /16 or less puts the scan in a group small enough to try every root."""
    rows = []
    tagged_col = groups["tagged"] if "tagged" in groups.columns else pl.Series([False] * groups.height)
    dst, ts, bounds = first_hits(groups)
    # most pairs (every tagged one on the bench days) end in may_match's first verdict: taken for all at once
    span = span_screen(dst, bounds, telescope)
    tags = tagged_col.fill_null(False).to_numpy().astype(bool)
    tested = np.flatnonzero(span | ~tags)
    keys = groups.select("src", "dport", "distinct")[tested]
    for (src, dport, distinct), i in zip(keys.iter_rows(), tested):
        tagged, lo, hi = bool(tags[i]), bounds[i], bounds[i + 1]
        d, t = dst[lo:hi], ts[lo:hi]
        m = None if tagged else zw.match_walk(d, t, telescope, distinct=True)
        if m is None and span[i]:
            m = match_span(d, t, telescope, distinct=True)
        if m is not None:
            key = generator_class(m.generator, m.prime) if tagged else m.generator
            rows.append((day, src, dport, m.generator, m.prime, m.hits, distinct, m.tight, m.consistent,
                         m.threads_seen, m.subshards, m.steps_per_s, bool(tagged), key))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def first_hits(groups: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of :func:`candidate_probes` at once: the first probe of each of its destinations, in time
    order, at most :data:`MAX_TEST_HITS` of them: ``dst`` (int64) and ``ts`` (seconds) of all pairs one after
    the other, and the bounds (pair i's are ``[bounds[i], bounds[i + 1])``). One sort of the day's probes in
    place of a ``np.unique`` and Python lists per pair."""
    lengths = groups["dst"].list.len().to_numpy().astype(np.int64)
    flat = groups.select(pl.col("dst").explode(), pl.col("ts").explode())
    dst = flat["dst"].to_numpy().astype(np.int64)
    ts = flat["ts"].to_numpy().astype(np.float64) / 1e6
    pair = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    _, first = np.unique((pair << 32) | dst, return_index=True)  # a pair's first probe of each address
    first.sort()  # back to pair order, time order within a pair
    counts = np.bincount(pair[first], minlength=len(lengths))
    starts = np.concatenate([[0], np.cumsum(counts)])
    rank = np.arange(len(first)) - np.repeat(starts[:-1], counts)
    first = first[rank < MAX_TEST_HITS]
    kept = np.minimum(counts, MAX_TEST_HITS)
    return dst[first], ts[first], np.concatenate([[0], np.cumsum(kept)])


def span_screen(dst: np.ndarray, bounds: np.ndarray, telescope: Sequence[tuple[int, int]] | int) -> np.ndarray:
    """Per pair of :func:`first_hits` (``dst`` and ``bounds``): False where :func:`match_span` surely gives
    None (too few hits, wider than a /:data:`SPAN_MAX_PREFIX`, too few for the bound, or
    :func:`~scantui.analysis.zmap_walk.may_match`'s first verdict), True where it may match. Every pair's
    prefix, group, logs and first verdict at once (the steps of :func:`match_span` and
    :func:`~scantui.analysis.zmap_walk.match_walk` before the candidates, in the same integers); a
    telescope of ranges: True for every pair (those are tested one by one)."""
    pairs = len(bounds) - 1
    h = zw.MAX_HITS
    if not isinstance(telescope, int) or SPAN_MIN_HITS < h:  # (a tested pair has h hits: its logs are one row)
        return np.ones(pairs, dtype=bool)
    out = np.zeros(pairs, dtype=bool)
    lengths = np.diff(bounds)
    rows = np.flatnonzero(lengths >= SPAN_MIN_HITS)
    if not len(rows):
        return out
    first = bounds[rows]
    filled = np.flatnonzero(lengths > 0)  # reduceat's segments: the pairs with hits, each to the next one's start
    at = np.searchsorted(filled, rows)
    lo = np.minimum.reduceat(dst, bounds[filled])[at]
    hi = np.maximum.reduceat(dst, bounds[filled])[at]
    bits = np.frexp((lo ^ hi).astype(np.float64))[1].astype(np.int64)  # (lo ^ hi).bit_length()
    narrow = bits <= 32 - SPAN_MAX_PREFIX
    rows, first, lo, bits = rows[narrow], first[narrow], lo[narrow], bits[narrow]
    count = np.int64(1) << bits  # the prefix's addresses: its index map's count (one allowed CIDR)
    floor = np.int64(1) << np.frexp((count - 1).astype(np.float64))[1].astype(np.int64)  # group_prime's, version 4
    prime = np.array([min(p for p in zmap_group.GROUPS if p > f) for f in floor.tolist()], dtype=np.int64)
    m_tele = np.minimum(telescope, count)
    base = lo >> bits << bits
    hits = dst[first[:, None] + np.arange(h)[None, :]] - base[:, None]  # the first h hits' indexes
    for p in np.unique(prime).tolist():
        at = np.flatnonzero((prime == p) & (m_tele > 0))
        n_cand = len(zw.candidates(p).generators)
        need = np.empty(len(at), dtype=np.int64)
        links = len(zmap_link_rules._link_pairs(h)[0])
        for m in np.unique(m_tele[at]).tolist():
            p0 = zw.WINDOW * zw.TIGHT / m
            nd = min(zw._needed(h - 1, p0, n_cand, 1.0), zw._needed(h - 1, p0, n_cand, 2 * zw.SLOPE_TOL))
            need[m_tele[at] == m] = nd
            if nd <= h - 1 and zmap_pretest.dense(links, min(math.ceil(zw.TIGHT * (p - 1) / m) - 1, p - 2), p - 1, nd):
                out[rows[at[m_tele[at] == m]]] = True  # left to may_match: its logs not taken here
                need[m_tele[at] == m] = h
        at, need = at[need <= h - 1], need[need <= h - 1]
        if not len(at):
            continue
        e = zw.dlog(p)((hits[at] + 1).astype(np.uint64))
        limit = zw.TIGHT * (p - 1) / m_tele[at].astype(np.float64)
        out[rows[at]] = zmap_pretest.may_match_many(e, p, limit, need)
    return out


def span_hypothesis(dst: np.ndarray) -> zw.Hypothesis | None:
    """A scan of one prefix: the smallest CIDR holding every destination as ZMap's only allowlist
    entry, no blocklist; None when that CIDR is wider than a /:data:`SPAN_MAX_PREFIX`."""
    lo, hi = int(dst.min()), int(dst.max())
    bits = (lo ^ hi).bit_length()
    if bits > 32 - SPAN_MAX_PREFIX:
        return None
    return zw.Hypothesis(allow=(str(ipaddress.ip_network((lo >> bits << bits, 32 - bits))),), block=())


def match_span(dst: np.ndarray, ts: np.ndarray, telescope: Sequence[tuple[int, int]] | int, *,
               distinct: bool = False) -> zw.WalkMatch | None:
    """The walk test under :func:`span_hypothesis`, for at least :data:`SPAN_MIN_HITS` destinations; a
    telescope given by its size is taken to hold the whole prefix when it is at least that large.
    *distinct*: *dst* holds each address once (its first probe), as :func:`first_hits` gives them."""
    hyp = span_hypothesis(dst) if (len(dst) if distinct else len(np.unique(dst))) >= SPAN_MIN_HITS else None
    if hyp is None:
        return None
    if isinstance(telescope, int):
        telescope = min(telescope, zw.index_map(hyp).count)
    return zw.match_walk(dst, ts, telescope, hyp, distinct=distinct)


def day_telescope(day_totals: Path) -> int:
    """The test's telescope size for a day: its distinct destinations, summed over sensors."""
    return int(pl.read_parquet(day_totals, columns=["dsts"], glob=False)["dsts"].sum() or 0)


def write_day(packets: pl.LazyFrame, state: Path) -> None:
    """The day's walk matches into ``state/zmap_walks.parquet`` (after ``day_totals`` is written there)."""
    day = None
    size = day_telescope(state / DAY_TOTALS)
    pairs = prescreen(packets).collect(engine="streaming")
    found = pl.DataFrame(schema=SCHEMA)
    if pairs.height and size:
        groups = candidate_probes(packets, pairs)
        if groups.height:
            day = pl.read_parquet(state / DAY_TOTALS, columns=["day"], glob=False)["day"].min()
            found = match_pairs(groups, size, day)
    found.write_parquet(state / DAY_FILE)


def merge(states: Sequence[Path], out: Path) -> None:
    """The days' matches into the rollup's ``zmap_walks.parquet``; nothing when a day state lacks its file."""
    files = [s / DAY_FILE for s in states]
    if not all(f.is_file() for f in files):
        return
    frames = [pl.read_parquet(f, glob=False).cast(dict(SCHEMA)) for f in files]
    table = pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)
    table.sort("src", "day", "dport").write_parquet(out / TABLE)


def scan(rollup: Path) -> pl.LazyFrame | None:
    """The rollup's walk matches, or None in a rollup built without them."""
    path = rollup / TABLE
    return pl.scan_parquet(path, glob=False) if path.is_file() else None


#: :func:`walk_sources`' columns.
SOURCES_SCHEMA = pl.Schema({"src": pl.UInt32(), "zmap_generator": pl.UInt64(), "dport": pl.UInt16(),
                            "threads_seen": pl.UInt16(), "subshards": pl.UInt32(), "hits": pl.UInt32(),
                            "days": pl.UInt32()})


def walk_sources(walks: pl.LazyFrame | None) -> pl.DataFrame:
    """One row per source that matched on some day: the generator, port, threads and subshards of its
    match with the most distinct destinations (then the earliest), its tested hits there, and the days
    it matched on."""
    if walks is None:
        return pl.DataFrame(schema=SOURCES_SCHEMA)
    df = walks.collect()
    if df.height == 0:
        return pl.DataFrame(schema=SOURCES_SCHEMA)
    days = df.group_by("src").agg(pl.col("day").n_unique().cast(pl.UInt32).alias("days"))
    best = (df.sort(["src", "distinct", "day", "dport"], descending=[False, True, False, False])
            .group_by("src", maintain_order=True).first())
    return (best.join(days, on="src").select(SOURCES_SCHEMA.names()).cast(dict(SOURCES_SCHEMA)).sort("src"))


# -- what the analyses read of it -----------------------------------------------------------------

#: The scanner list's ``variant`` of tool ``zmap``: the IP-ID tag (<= 4.0) or the walk test alone (>= 4.1).
VARIANTS = ("ipid", "walk")


def with_variant(df: pl.DataFrame, walked: pl.DataFrame | None) -> pl.DataFrame:
    """*df* (``src``, ``tool``: the dominant tool) with ``tool`` ``zmap`` for the sources of *walked*
    (:func:`walk_sources`) whose dominant tool is ``other``, and ``variant``: ``ipid`` for a ``zmap``
    by the IP-ID rule, ``walk`` for one by the walk test alone, null for every other tool."""
    tool = pl.col("tool")
    if walked is None or walked.height == 0:
        return df.with_columns(pl.when(tool == "zmap").then(pl.lit("ipid")).otherwise(pl.lit(None, pl.String))
                               .alias("variant"))
    walk = (tool == "other") & pl.col("src").is_in(walked["src"].cast(pl.UInt32).implode())
    return df.with_columns(
        pl.when(walk).then(pl.lit("zmap")).otherwise(tool).alias("tool"),
        pl.when(tool == "zmap").then(pl.lit("ipid")).when(walk).then(pl.lit("walk"))
        .otherwise(pl.lit(None, pl.String)).alias("variant"),
    )


def walk_pairs(walks: pl.LazyFrame) -> pl.LazyFrame:
    """The (``day``, ``src``, ``dport``) the walk test matched, once each."""
    return walks.select("day", "src", "dport").unique()


#: Collab's ``zmap_generator`` key rows (:func:`generator_keys`).
KEY_SCHEMA = pl.Schema({"day": pl.Date(), "src": pl.UInt32(), "dport": pl.UInt16(), "key": pl.UInt64()})


def generator_keys(walks: pl.LazyFrame) -> pl.LazyFrame:
    """Collab's ``zmap_generator`` key (:mod:`~scantui.analysis.collab_keys`): (``day``, ``src``, ``dport``,
    ``key``) with ``key`` = the generator the walk test recovered for that source and port that day
    (``generator_key``: for an IP-ID-tagged match its :func:`generator_class`). The shards of one seeded
    scan share it whatever their /24 or AS."""
    return (walks.select("day", "src", "dport", pl.col("generator_key").cast(pl.UInt64).alias("key"))
            .unique(["day", "src", "dport"], keep="any"))


def describe_source(walks: pl.LazyFrame | None, src: int, days: tuple[dt.date, dt.date] | None = None) -> str | None:
    """The scanner detail's line from the rollup's matches of *src* (on *days*, (first, last) inclusive, only when
    given): its best match (most hits) as ``zmap (walk) g=24304 · 183 hits · threads >= 2 · S ~ 4 · port 443 ·
    2 days``; None without a match."""
    if walks is None:
        return None
    rows = walks.filter(pl.col("src") == src)
    if days is not None:
        rows = rows.filter(pl.col("day").is_between(days[0], days[1]))
    rows = rows.collect()
    if rows.height == 0:
        return None
    best = rows.sort(["distinct", "day", "dport"], descending=[True, False, False]).row(0, named=True)
    parts = [f"g={best['zmap_generator']}", f"{best['distinct']} hits"]
    if best["tagged"]:
        parts[0] += f" (IP-ID tag; key g={best['generator_key']})"
    if best["threads_seen"] and best["threads_seen"] > 1:
        parts.append(f"threads >= {best['threads_seen']}")
    if best["subshards"]:
        parts.append(f"S ~ {best['subshards']}")
    parts.append(f"port {best['dport']}")
    days = rows["day"].n_unique()
    parts.append(f"{days} day{'s' if days != 1 else ''}")
    return "zmap (walk) " + " · ".join(parts)


def walk_share(port_day: pl.LazyFrame, walks: pl.LazyFrame | None, n_probes: int,
               by_port: pl.LazyFrame | None = None) -> dict | None:
    """``info``'s ``zmap_walk``: the probes of tool ``other`` in the ``port_day`` rows of the (day, src,
    dport) the walk test matched, their share of the *n_probes*, and those rows' distinct sources; apart
    from the per-packet tool counts (whose ``zmap`` is the IP-ID rule's: these probes are in ``other``
    there). None without the walk table.

    The matched pairs first (a small table): none, and no ``port_day`` row is read; else only the rows of their
    ports, from *by_port* (``port_day``'s port-sorted copy) where the rollup has it. Every ``port_day`` row was
    filtered (77.6 M at 200 M packets: 1.0-1.1 CPU s, half of ``info``'s, for data without a match)."""
    if walks is None:
        return None
    pairs = walk_pairs(walks).collect()
    if pairs.is_empty():
        return {"packets": 0, "share": 0.0, "sources": 0}
    ports = pairs["dport"].unique().sort()
    port = pl.col("dport")
    rows = (by_port if by_port is not None else port_day).filter(
        (pl.col("kind").cast(pl.String) == "probe") & port.is_between(ports[0], ports[-1]) & port.is_in(ports.implode())
        & (pl.col("tool_other") > 0))
    row = (rows.join(pairs.lazy(), on=["day", "src", "dport"], how="semi")
           .select(pl.col("tool_other").sum().cast(pl.Int64).alias("packets"),
                   pl.col("src").n_unique().cast(pl.Int64).alias("sources"))
           .collect())
    n = int(row["packets"][0] or 0)
    return {"packets": n, "share": round(n / n_probes, 4) if n_probes else 0.0, "sources": int(row["sources"][0] or 0)}
