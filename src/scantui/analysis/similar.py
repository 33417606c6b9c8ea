"""Sources that behave like some seed sources: ranked, each score split into the parts that made it.

Seeds are one source, several, or a labelled group's members (CIDR members stand for the probing
sources inside them). Every other probing source is a candidate; a candidate's score is its
similarity to the **nearest** seed (``like``), a weighted mean of these parts, each in [0, 1]:

============  ======  ===========================================================================
part          weight  how
============  ======  ===========================================================================
ports         0.30    weighted Jaccard (sum of minima / sum of maxima) of the two sources' packet
                      shares per destination port: the busiest :data:`MAX_PORTS` ports, the rest
                      pooled into one "other ports" bucket (so two full-range scanners match)
port_classes  0.05    1 - half the L1 distance of the well-known / registered / ephemeral port shares
tools         0.15    cosine of the packets per tool fingerprint (zmap, masscan, ..., other)
rate          0.10    packets per active day: 1 - |log10 ratio| / 2, floored at 0 (100x apart -> 0)
coverage      0.10    best one-day distinct destinations of a port, the same log closeness
timing        0.10    mean of: active days (smaller / larger), same schedule label (periodic,
                      continuous, ...), cosine of the hour-of-day histogram of scan starts (the
                      ``first_ts`` of each (day, port) row)
artifacts     0.20    header artifacts, mean over ttl, tcp_window, tcp_mss, ip_len (options),
                      ip_id class (54321 / 0 / other) and sport class (the value when a source uses
                      at most 4 ports, else "random") of each one's value histogram, weighted Jaccard
============  ======  ===========================================================================

A part that cannot be computed (no packets read) drops out of the mean; the score is never
made up of guesses. ``why`` names the parts at or above :data:`WHY_AT`.

**Bounded in two stages.** (1) Cheap, every probing source, from the rollup's ``src_profile`` only
(no packet, no ``port_day`` read): ports from its stored top ports, plus the scalar parts against
the seeds' mean; the best :data:`SHORTLIST` go on. (2) Full, those and the seeds: their
``port_day`` rows (one filtered read) give full port vectors and hours; header artifacts come
from the rollup's day packet tables, for each source only its busiest :data:`ARTIFACT_ROWS`
(day, port) row of ``port_day``, each read as that day's table narrowed to that port and those
sources (the tables are sorted by port: Parquet statistics skip the other row groups), at most
:data:`ARTIFACT_PACKETS` packets each: never a scan of all packets. Seeds are compared one by one
up to :data:`MAX_SEEDS` (the busiest); the rest still count in the seeds' mean. Measured on the
quarter-size dev data (84 days, 50 M packets, 238 k probing sources, a loaded 2-core box): 2 s for
a median seed, 6-7 s for the busiest or widest one (its short list is wide scanners: 7.7 M
``port_day`` rows to turn into port vectors), 1.2 GB peak.

Useful to find a labelled group's next rotation of IPs: same ports, tool, rate and header
artifacts, other addresses. Similar is not the same: a score is a lead to look at, not evidence.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from scantui.analysis import behaviour as bh
from scantui.analysis.fingerprints import TOOLS
from scantui.analysis.packet_source import DayPackets, PacketSource, as_source
from scantui.analysis.rollup import TOOL_COLUMNS
from scantui.analysis.similar_types import PARTS, SimilarResult, SimilarSource
from scantui.errors import InputError
from scantui.netaddr import ipv4_network

WEIGHTS = {"ports": 0.30, "port_classes": 0.05, "tools": 0.15, "rate": 0.10, "coverage": 0.10, "timing": 0.10,
           "artifacts": 0.20}
SHORTLIST = 300
MAX_SEEDS = 64
MAX_PORTS = 256
ARTIFACT_ROWS = 1
ARTIFACT_PACKETS = 512
FIXED_SPORTS = 4
WHY_AT = 0.8
DEFAULT_TOP = 20
_OTHER_PORTS = -1
_LOG_SPAN = 2.0  # decades apart at which rate / coverage closeness reaches 0
_ARTIFACTS = ("ttl", "tcp_window", "tcp_mss", "ip_len", "ip_id_class", "sport_class")


@dataclass(frozen=True)
class SimilarQuery:
    """Seeds (networks: a /32 is one source) and how many to rank."""

    seeds: tuple[ipaddress.IPv4Network, ...]
    top: int = DEFAULT_TOP
    shortlist: int = SHORTLIST
    artifacts: bool = True

    def __post_init__(self) -> None:
        if not self.seeds:
            raise InputError("no seed source given", where="--src")
        if self.top < 1:
            raise InputError(f"must be >= 1, got {self.top}", where="--top")


def parse_seeds(text: str, where: str = "--src") -> tuple[ipaddress.IPv4Network, ...]:
    """``IP[,IP|CIDR...]`` -> networks (a bare IP is a /32)."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(ipv4_network(part))
        except ValueError as why:
            raise InputError(f"{why}: {part!r}", where=where) from None
    if not out:
        raise InputError("no source given", where=where)
    return tuple(dict.fromkeys(out))


def seeds_of_members(members: Sequence[str]) -> tuple[ipaddress.IPv4Network, ...]:
    """A labelled group's members (IPs and CIDRs, already checked by the labels file) as seed networks."""
    return tuple(dict.fromkeys(ipaddress.IPv4Network(m, strict=False) for m in members))


# ---------------------------------------------------------------- the search


def similar_sources(src_profile: pl.LazyFrame, port_day: pl.LazyFrame, query: SimilarQuery,
                    packets: pl.LazyFrame | PacketSource | None = None) -> SimilarResult:
    """The sources most like the query's seeds, ranked (seeds left out); see the module doc."""
    profile = _profiles(src_profile)
    seeds = _resolve(profile, query.seeds)
    notes: list[str] = []
    if seeds.height == 0:
        raise InputError("none of the seed sources sent probes in this data", where="--src")
    compared = seeds.sort(["packets", "src"], descending=[True, False]).head(MAX_SEEDS)
    if seeds.height > MAX_SEEDS:
        notes.append(f"{seeds.height} seeds: compared one by one with the {MAX_SEEDS} busiest")
    cands = profile.join(seeds.select("src"), on="src", how="anti")
    short = _shortlist(cands, seeds, compared, query.shortlist)
    ids = pl.concat([short["src"], compared["src"]]).unique()
    rows = port_day.filter((pl.col("kind") == "probe") & pl.col("src").is_in(ids.implode())).select(
        "day", "src", "dport", "packets", "first_ts").collect()
    vectors = _port_vectors(rows)
    artifacts = None
    if query.artifacts and packets is not None and ids.len():
        artifacts = _artifacts(as_source(packets), rows)
        if artifacts.height == 0:
            artifacts = None
    pairs = _score_pairs(short, compared, vectors, _hours(rows), artifacts)
    best = (pairs.sort(["score", "like"], descending=[True, False]).group_by("src", maintain_order=True).first()
            .sort(["score", "src"], descending=[True, False]).head(query.top))
    sources = tuple(_source(i + 1, r) for i, r in enumerate(best.join(short, on="src", how="left")
                                                           .sort(["score", "src"], descending=[True, False])
                                                           .iter_rows(named=True)))
    return SimilarResult(tuple(sorted(int(s) for s in seeds["src"])), tuple(sorted(int(s) for s in compared["src"])),
                         cands.height, short.height, artifacts is not None, sources, tuple(notes))


def _profiles(src_profile: pl.LazyFrame) -> pl.DataFrame:
    """One row per probing source: the scalar features and its stored top ports as shares."""
    df = src_profile.filter(pl.col("kind") == "probe").select(
        "src", "packets", "first_seen", "last_seen", *TOOL_COLUMNS, "days_active", pl.col("ports").alias("n_ports"), *bh.PORT_CLASS_COUNTS,
        "coverage_dsts_max", "schedule", "top_ports").collect()
    total = pl.col("packets").cast(pl.Float64)
    classes = pl.sum_horizontal(bh.PORT_CLASS_COUNTS).cast(pl.Float64)
    return df.with_columns(
        (total / pl.col("days_active").clip(1)).log10().alias("log_rate"),
        pl.col("coverage_dsts_max").cast(pl.Float64).clip(1).log10().alias("log_cover"),
        *((pl.col(c) / total).fill_nan(0).alias(f"s_{c}") for c in TOOL_COLUMNS),
        *((pl.col(c) / classes).fill_nan(0).fill_null(0).alias(f"s_{c}") for c in bh.PORT_CLASS_COUNTS),
        pl.col("top_ports").list.eval(pl.element().struct.field("port")).alias("top_port_list"),
    )


def _resolve(profile: pl.DataFrame, nets: Sequence[ipaddress.IPv4Network]) -> pl.DataFrame:
    src = pl.col("src").cast(pl.UInt32)
    hit = pl.any_horizontal([(src & int(n.netmask)) == int(n.network_address) for n in nets])
    return profile.filter(hit)


def _closeness(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (1 - (a - b).abs() / _LOG_SPAN).clip(0, 1)


def _tool_matrix(df: pl.DataFrame) -> np.ndarray:
    m = df.select(f"s_{c}" for c in TOOL_COLUMNS).to_numpy().astype(float)
    norm = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norm, out=np.zeros_like(m), where=norm > 0)


def _shortlist(cands: pl.DataFrame, seeds: pl.DataFrame, compared: pl.DataFrame, size: int) -> pl.DataFrame:
    """The *size* candidates best by the cheap score: half the best top-ports Jaccard with a compared seed, half
    the scalar parts against the seeds' mean (tools, port classes, rate, coverage, active days)."""
    if cands.height == 0:
        return cands
    shares = _top_port_shares(cands)
    seed_shares = _top_port_shares(compared).rename({"src": "seed", "share": "seed_share"})
    inter = (shares.join(seed_shares, on="key").group_by("src", "seed")
             .agg(pl.min_horizontal("share", "seed_share").sum().alias("i")))
    jac = inter.group_by("src").agg((pl.col("i") / (2 - pl.col("i"))).max().alias("cheap_ports"))
    mean_tools = _tool_matrix(seeds).mean(axis=0)
    tools_cos = _tool_matrix(cands) @ (mean_tools / (np.linalg.norm(mean_tools) or 1.0))
    classes = seeds.select(pl.col(f"s_{c}").mean() for c in bh.PORT_CLASS_COUNTS).row(0)
    rate, cover, days = seeds.select(pl.col("log_rate").mean(), pl.col("log_cover").mean(),
                                     pl.col("days_active").cast(pl.Float64).mean()).row(0)
    l1 = pl.sum_horizontal((pl.col(f"s_{c}") - v).abs() for c, v in zip(bh.PORT_CLASS_COUNTS, classes))
    d = pl.col("days_active").cast(pl.Float64)
    scalar = (pl.lit(pl.Series(tools_cos)) * 0.3 + (1 - l1 / 2) * 0.1 + _closeness(pl.col("log_rate"), pl.lit(rate)) * 0.2
              + _closeness(pl.col("log_cover"), pl.lit(cover)) * 0.2 + (pl.min_horizontal(d, days) / pl.max_horizontal(d, days)) * 0.2)
    return (cands.with_columns(scalar.alias("cheap_scalar")).join(jac, on="src", how="left")
            .with_columns((pl.col("cheap_ports").fill_null(0) * 0.5 + pl.col("cheap_scalar") * 0.5).alias("cheap"))
            .sort(["cheap", "src"], descending=[True, False]).head(size))


def _top_port_shares(df: pl.DataFrame) -> pl.DataFrame:
    """(src, key, share): each source's stored top ports as shares of its packets (real ports only)."""
    return (df.select("src", "packets", "top_ports").explode("top_ports").drop_nulls("top_ports")
            .select("src", pl.col("top_ports").struct.field("port").cast(pl.Int32).alias("key"),
                    (pl.col("top_ports").struct.field("packets") / pl.col("packets")).alias("share")))


def _port_vectors(rows: pl.DataFrame) -> pl.DataFrame:
    """(src, key, share): the busiest :data:`MAX_PORTS` ports' packet shares, the rest as key -1."""
    # one UInt64 key (src << 16 | port): a single-column group-by (as behaviour.port_counts does)
    key = (pl.col("src").cast(pl.UInt64) * bh.ALL_PORTS + pl.col("dport").cast(pl.UInt64)).alias("k")
    per = rows.group_by(key).agg(pl.col("packets").sum().cast(pl.Float64)).select(
        (pl.col("k") // bh.ALL_PORTS).cast(pl.UInt32).alias("src"), (pl.col("k") % bh.ALL_PORTS).cast(pl.Int32).alias("key"),
        "packets")
    per = per.with_columns((pl.col("packets") / pl.col("packets").sum().over("src")).alias("share"))
    top = (per.sort(["src", "share", "key"], descending=[False, True, False])
           .group_by("src", maintain_order=True).head(MAX_PORTS).select("src", "key", "share"))
    rest = (top.group_by("src").agg((1 - pl.col("share").sum()).alias("share")).filter(pl.col("share") > 1e-9)
            .select("src", pl.lit(_OTHER_PORTS, pl.Int32).alias("key"), "share"))
    return pl.concat([top, rest])


def _hours(rows: pl.DataFrame) -> dict[int, np.ndarray]:
    """Per source, its unit hour-of-day histogram of (day, port) scan starts."""
    counts = rows.group_by("src", pl.col("first_ts").dt.hour().alias("h")).len()
    out: dict[int, np.ndarray] = {}
    for src, h, n in counts.iter_rows():
        out.setdefault(int(src), np.zeros(24))[int(h)] += n
    for v in out.values():
        v /= np.linalg.norm(v) or 1.0
    return out


# ---------------------------------------------------------------- header artifacts


def _artifacts(source: PacketSource, rows: pl.DataFrame) -> pl.DataFrame:
    """(src, feature, key, share): the histograms of :data:`_ARTIFACTS` over each source's busiest rows' packets."""
    busiest = rows.sort(["packets", "day", "dport"], descending=[True, False, False]).group_by("src").head(ARTIFACT_ROWS)
    wanted: dict[dt.date, tuple[set[int], set[int]]] = {}
    for day, src, port in busiest.select("day", "src", "dport").iter_rows():
        ports, srcs = wanted.setdefault(day, (set(), set()))
        ports.add(int(port))
        srcs.add(int(src))
    if not wanted:
        return pl.DataFrame(schema={"src": pl.UInt32, "feature": pl.String, "key": pl.Int64, "share": pl.Float64})
    keep = busiest.select(pl.col("day"), pl.col("src"), pl.col("dport"))
    if isinstance(source, DayPackets):  # one narrow read per (day, port): the day tables are sorted by port
        from scantui.analysis.rollup_days import concat_frames

        lf = concat_frames([source.read([day], [port], srcs) for day, port, srcs in
                            keep.group_by("day", "dport").agg("src").iter_rows()])
    else:  # one scan of the frame for every day's narrowing
        lf = source.read_each(wanted)
    lf = lf.with_columns(pl.col("ts").dt.date().alias("day"))
    pk = (lf.join(keep.lazy(), on=["day", "src", "dport"], how="semi")
          .select("src", "sport", "ip_id", "ttl", "ip_len", "tcp_window", "tcp_mss")
          .group_by("src", maintain_order=True).head(ARTIFACT_PACKETS).collect())
    fixed = pk.group_by("src").agg((pl.col("sport").n_unique() <= FIXED_SPORTS).alias("fixed"))
    pk = pk.join(fixed, on="src").with_columns(
        pl.when(pl.col("ip_id") == 54321).then(1).when(pl.col("ip_id") == 0).then(0).otherwise(2).alias("ip_id_class"),
        pl.when(pl.col("fixed")).then(pl.col("sport").cast(pl.Int64)).otherwise(-1).alias("sport_class"))
    parts = []
    for feature in _ARTIFACTS:
        h = (pk.select("src", pl.col(feature).cast(pl.Int64).fill_null(-2).alias("key")).group_by("src", "key").len()
             .with_columns((pl.col("len") / pl.col("len").sum().over("src")).alias("share"))
             .select("src", pl.lit(feature).alias("feature"), "key", "share"))
        parts.append(h)
    return pl.concat(parts)


# ---------------------------------------------------------------- pairs


def _weighted_jaccard(vectors: pl.DataFrame, pairs: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Per (src, seed[, *by]): sum of minima / sum of maxima of unit-sum share vectors (``key``, ``share``)."""
    a = vectors.join(pairs, on="src")
    b = vectors.rename({"src": "seed", "share": "seed_share"})
    i = (a.join(b, on=["seed", *by, "key"]).group_by("src", "seed", *by)
         .agg(pl.min_horizontal("share", "seed_share").sum().alias("i")))
    return i.with_columns((pl.col("i") / (2 - pl.col("i")).clip(1e-12)).clip(0, 1).alias("j")).drop("i")


def _score_pairs(short: pl.DataFrame, compared: pl.DataFrame, vectors: pl.DataFrame, hours: dict[int, np.ndarray],
                 artifacts: pl.DataFrame | None) -> pl.DataFrame:
    """Every (candidate, compared seed) with its parts and score."""
    schema = {"src": pl.UInt32, "like": pl.UInt32, "score": pl.Float64, **{p: pl.Float64 for p in PARTS}, "why": pl.List(pl.String)}
    if short.height == 0:
        return pl.DataFrame(schema=schema)
    pairs = short.select("src").join(compared.select(pl.col("src").alias("seed")), how="cross")
    ports = _weighted_jaccard(vectors, pairs).rename({"j": "ports"})
    out = pairs.join(ports, on=["src", "seed"], how="left").with_columns(pl.col("ports").fill_null(0.0))
    sv = short.select(pl.exclude("top_ports"))
    cv = compared.select(pl.exclude("top_ports")).rename(lambda c: c if c == "src" else f"seed_{c}").rename({"src": "seed"})
    out = out.join(sv, on="src").join(cv, on="seed")
    l1 = pl.sum_horizontal((pl.col(f"s_{c}") - pl.col(f"seed_s_{c}")).abs() for c in bh.PORT_CLASS_COUNTS)
    d, sd = pl.col("days_active").cast(pl.Float64), pl.col("seed_days_active").cast(pl.Float64)
    out = out.with_columns(
        (1 - l1 / 2).clip(0, 1).alias("port_classes"),
        _closeness(pl.col("log_rate"), pl.col("seed_log_rate")).alias("rate"),
        _closeness(pl.col("log_cover"), pl.col("seed_log_cover")).alias("coverage"),
        (pl.min_horizontal(d, sd) / pl.max_horizontal(d, sd).clip(1)).alias("days_close"),
        (pl.col("schedule") == pl.col("seed_schedule")).fill_null(False).cast(pl.Float64).alias("same_schedule"),
    )
    tools_c, tools_s = _tool_matrix(out), _tool_matrix(out.select(pl.col(f"seed_s_{c}").alias(f"s_{c}") for c in TOOL_COLUMNS))
    zero = np.zeros(24)
    hours_cos = [float(hours.get(int(a), zero) @ hours.get(int(b), zero)) for a, b in out.select("src", "seed").iter_rows()]
    out = out.with_columns(pl.Series("tools", (tools_c * tools_s).sum(axis=1)).clip(0, 1),
                           pl.Series("hours", hours_cos, dtype=pl.Float64))
    out = out.with_columns(((pl.col("days_close") + pl.col("same_schedule") + pl.col("hours")) / 3).alias("timing"))
    if artifacts is not None:
        per = _weighted_jaccard(artifacts, pairs, by=("feature",))
        matched = per.filter(pl.col("j") >= WHY_AT).sort("feature").group_by("src", "seed").agg(pl.col("feature").alias("alike"))
        art = per.group_by("src", "seed").agg((pl.col("j").sum() / len(_ARTIFACTS)).alias("artifacts"))
        have = artifacts.select(pl.col("src").unique())
        out = (out.join(art, on=["src", "seed"], how="left").join(matched, on=["src", "seed"], how="left")
               .with_columns(pl.when(pl.col("src").is_in(have["src"].implode()) & pl.col("seed").is_in(have["src"].implode()))
                             .then(pl.col("artifacts").fill_null(0.0)).alias("artifacts")))
    else:
        out = out.with_columns(pl.lit(None, pl.Float64).alias("artifacts"), pl.lit(None, pl.List(pl.String)).alias("alike"))
    num = pl.sum_horizontal(pl.col(p).fill_null(0) * w for p, w in WEIGHTS.items())
    den = pl.sum_horizontal(pl.when(pl.col(p).is_not_null()).then(w).otherwise(0.0) for p, w in WEIGHTS.items())
    out = out.with_columns((num / den).alias("score"))
    return out.with_columns(_why()).select(pl.col("src"), pl.col("seed").alias("like"), "score", *PARTS, "why")


def _why() -> pl.Expr:
    """The parts at or above :data:`WHY_AT`, in words (artifacts: which header fields)."""
    words = {"ports": "same ports", "port_classes": "same port classes", "tools": "same tool", "rate": "same rate",
             "coverage": "same coverage", "timing": "same timing"}
    items = [pl.when(pl.col(p) >= WHY_AT).then(pl.lit(w)) for p, w in words.items()]
    art = pl.when(pl.col("artifacts") >= WHY_AT).then(
        pl.lit("same header artifacts (") + pl.col("alike").list.join(", ") + pl.lit(")")
    ).when(pl.col("alike").list.len() > 0).then(pl.lit("header: ") + pl.col("alike").list.join(", ") + pl.lit(" alike"))
    return pl.concat_list([*items, art]).list.drop_nulls().alias("why")


def _source(rank: int, r: dict) -> SimilarSource:
    counts = {t: int(r[c] or 0) for t, c in zip(TOOLS, TOOL_COLUMNS)}
    tool = max(TOOLS, key=lambda t: (counts[t], -TOOLS.index(t)))
    us = lambda t: int(t.timestamp() * 1_000_000) if t is not None else 0  # noqa: E731
    top = tuple(int(p) for p in (r["top_port_list"] or [])[:5])
    return SimilarSource(
        rank=rank, src=int(r["src"]), score=round(float(r["score"]), 4), like=int(r["like"]),
        ports=round(float(r["ports"]), 4), port_classes=round(float(r["port_classes"]), 4),
        tools=round(float(r["tools"]), 4), rate=round(float(r["rate"]), 4), coverage=round(float(r["coverage"]), 4),
        timing=round(float(r["timing"]), 4), artifacts=None if r["artifacts"] is None else round(float(r["artifacts"]), 4),
        why=tuple(r["why"] or ()), tool=tool, packets=int(r["packets"]), n_ports=int(r["n_ports"] or 0),
        days_active=int(r["days_active"]), first_seen_us=us(r["first_seen"]), last_seen_us=us(r["last_seen"]), top_ports=top)
