"""Collab's burst windows (``--window burst``): which bursts the cover search runs over, together.

The bursts (:mod:`scantui.analysis.bursts`, from the rollup's day tables merged across
midnight, or computed from the packets without a rollup) of one (key, port) — the key of
a burst is its source's /24, or its AS on the burst's first day — form *clusters*: sorted
by start, a burst joins the cluster before it when it starts at most a gap after the latest
end so far. Two gaps are tried, so both shapes of a scan are searched:

* :data:`CLUSTER_GAP_US` (4 h): bursts that overlap or follow each other closely, e.g. the
  members of a sequential scan with a rest between them (the thesis' shapes have rests of
  up to 2 h);
* 0: bursts that overlap only. This separates what a wide cluster joins: two rounds of one
  pool in one day with a silence between them (each round is searched alone: a re-sharded
  second round breaks the day's cover), or a sweep among a trickle of small bursts around it.
  A sub-cluster equal to its wide cluster is not searched twice.

**A cluster of six days or more** (two :data:`SLICE_STEP_US`) is searched in spans of six days starting every three
(:func:`sliced`), its bursts clipped to each: a big AS's bots on one port chain into one cluster for as long as the
data lasts, and searched whole its probes were one read and its search grew with its span (a year: GBs and minutes).
A scan of at most three days inside it lies whole in one span and is found there; one longer than three days inside
such a cluster may not be (a cluster under six days is searched whole, as before). A cluster of more probes than
:data:`FINE_SLICE_PACKETS` (its bursts' ``packets``) is cut finer, in spans of two days every day or of one day every
12 hours (:data:`FINE_STEPS_US`): a read then holds at most that many probes or one day of its (key, port).

The cover search (:func:`~scantui.analysis.collab_cover.scans_in_window`) then runs on the
packets of each cluster's bursts only (its members' probes outside those bursts, e.g. a
trickle far from the sweep, are not counted). A burst reaching the cover minimum alone
is a standalone scanner: never in a cluster (so a standalone sweep in the /24 does not
join the rounds around it), reported in ``excluded_standalone`` on the days it touches.

**The pre-filter is a superset** (:func:`burst_windows`). A cluster is searched only when
at least ``min_sources`` sources have bursts in it and their bursts' ``dsts`` sum to the
cover minimum: every cover found in the cluster is a subset of its bursts' sources, and a
source's distinct destinations in the cluster are at most the sum of its bursts' ``dsts``
(each at least the burst's distinct destinations), so a cluster that fails cannot hold a
cover. The packets read are exactly those clusters' bursts' probes (:func:`burst_spans`), a batch of
clusters at a time (:mod:`~scantui.analysis.collab_batches`, each cluster's estimate its bursts'
``packets``). With
``--tool`` or ``--telescope``, fewer of a burst's probes count, so a standalone burst may
become a member: then standalone bursts stay in the clusters (the search still leaves out
any source reaching the cover minimum in the window).

**Before the merge across midnight** (:func:`burst_sources`), with the rollup's day tables:
only the bursts of the (source, port) pairs that may be in a passing (key, port) are read
and merged, not every burst of the data (6.3 M rows at 200 M packets, ~3 CPU s to merge).
The same pair test runs on the day tables' rows (each burst of a day, not merged), which
passes every pair the merged bursts pass: a merged burst's ``dsts`` is the sum of its
parts' and its parts are below the cover minimum when it is (so each counts, and its source
with it); its key is its source's on its first day, so a part that may join another (at a
day's edge, :func:`~scantui.analysis.bursts.at_edge`) counts under every key its source
(and port, for a per-port kind) has on any day, and any other part under its own day's key.
Every burst of a (source, port) with a part in a passing pair is then read, so the chains
merge as they would over every row: the same merged bursts for those pairs, the same
windows (tested against the merge of every row).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from scantui.analysis import bursts as bw
from scantui.analysis import collab_burst_sums as cbs
from scantui.analysis.bursts import SECOND_US
from scantui.analysis.collab_prune import _keyed as key_rows  # one keying for both window kinds
from scantui.analysis.collab_query import CollabQuery
from scantui.analysis.packet_source import narrow
from scantui.analysis.source_cuts import source_cuts
from scantui.enrich.table import src_day_key

#: Bursts of one (key, port) starting at most this long after the latest end before them are one cluster.
CLUSTER_GAP_US = 4 * 3600 * SECOND_US
#: A cluster longer than two steps is searched in spans of two steps starting every step (on multiples of the step
#: since the epoch): every scan of at most one step inside it lies whole in one span (:func:`sliced`).
SLICE_STEP_US = 3 * 86_400 * SECOND_US
#: The shorter steps of a cluster whose probes pass the batch budget (:func:`sliced`), longest first: spans of two
#: days, then of one day (so a read holds at most one day of one (key, port) when the budget cannot).
FINE_STEPS_US = (86_400 * SECOND_US, 43_200 * SECOND_US)
#: A window of more probes (its bursts' ``packets``) than this is cut with :data:`FINE_STEPS_US`: the batch budget
#: (:data:`~scantui.analysis.collab_batches.PACKETS_PER_BATCH`), kept apart so that the batches' size never changes
#: what is found (this does: a scan longer than the finer step inside such a window may be missed).
FINE_SLICE_PACKETS = 4_000_000
WINDOW_COLUMNS = ("wid", "key", "dport", "src", "start_us", "end_us")
#: (key, port) as one integer where the key fits 32 bits (/24, AS): a one-column group-by, ~a fifth cheaper.
_PAIR = (pl.col("key").cast(pl.UInt64) * 65536 + pl.col("dport").cast(pl.UInt64)).alias("pair")


def keyed(bursts: pl.LazyFrame, kind: str, enrichment: pl.LazyFrame | None, query: CollabQuery,
          key_table: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """Merged bursts of the query's ports with their ``key``: the key of their source on their first day, as
    stage 1 keys a (day, source) row (/24, AS that day, or a kind's *key_table*: :mod:`~scantui.analysis.collab_keys`)."""
    lf = bursts.filter(pl.col("dport").is_in(list(query.ports))) if query.ports else bursts
    return key_rows(lf, kind, enrichment, key_table)


def burst_sources(days: pl.LazyFrame, kinds: Sequence[tuple[str, pl.LazyFrame | None]],
                  enrichment: pl.LazyFrame | None, query: CollabQuery, cover_min: float,
                  sums: cbs.BurstSums | None = None) -> pl.DataFrame:
    """(src, dport) of the day tables' bursts (:data:`~scantui.analysis.bursts.SCHEMA`, the query's ports) whose
    merged bursts may be in a (key, port) :func:`burst_windows` keeps, under any of *kinds* ((kind, key table or
    None)): the rule in the module doc (:func:`burst_picks`' pairs)."""
    return burst_picks(days, kinds, enrichment, query, cover_min, sums)[0]


def burst_picks(days: pl.LazyFrame, kinds: Sequence[tuple[str, pl.LazyFrame | None]],
                enrichment: pl.LazyFrame | None, query: CollabQuery, cover_min: float,
                sums: cbs.BurstSums | None = None,
                keyed_rows: dict[str, pl.LazyFrame] | None = None) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """:func:`burst_sources`' (src, dport) pairs, and every day-table row of those pairs when the passes read them
    all (else None: the caller reads them). Two streamed passes over the rows for the /24 and the AS (their pairs'
    sums, then the sources of the pairs that pass): memory the (key, port) groups, not the rows (at 200 M
    packets 250 MiB against 510 MiB holding their five narrow columns, for ~15 % more CPU; the AS keys of one
    source range at a time, :func:`_as_pairs`); one pass for a
    kind keyed by a table, whose keyed sources' rows are held (175 k rows of 6.3 M at 200 M packets). With the
    rollup's per-day (/24, port) *sums* (:mod:`~scantui.analysis.collab_burst_sums`), the /24 pass reads only the
    bursts of the pairs they may pass (none read where none may), and holds them. The rows held are then what
    the merge across midnight needs: no second read of every day table for the pairs (0.5-0.6 CPU s at 200 M).
    *keyed_rows*: per kind keyed by a table, rows of *days* holding every row of its keyed sources (the rollup's
    :mod:`~scantui.analysis.keyed_bursts` for ``fingerprint``): read instead of every day's rows."""
    columns = ("src", "dport", "day", "dsts", bw.at_edge().alias("edge"))
    counted = (lambda lf: lf) if query.tools or query.telescope_ranges else (
        lambda lf: lf.filter(pl.col("dsts") < cover_min))
    # at least min_sources distinct sources; two: the smallest is not the largest (a fifth cheaper than counting)
    sources_ok = (pl.col("src").n_unique() >= query.min_sources if query.min_sources > 2
                  else pl.col("src").min() != pl.col("src").max() if query.min_sources == 2 else pl.lit(True))
    found, held, whole = [], [], True
    for kind, key_table in kinds:
        if kind == "prefix24":
            passing = cbs.passing_pairs(sums, query.ports, cover_min, query.min_sources) if sums is not None else None
            if passing is None:
                whole = False  # every row, streamed
                rows = days.select(columns)
            elif passing.is_empty():
                continue
            else:
                ports = (passing % 65536).unique().sort()
                mine = narrow(days, ports.to_list()).filter(
                    cbs.pair_of(pl.col("src"), pl.col("dport")).is_in(passing.implode())).collect(engine="streaming")
                held.append(mine)
                rows = mine.lazy().select(columns)
            keyed = key_rows(rows, kind, enrichment, key_table)
        elif key_table is None:  # an AS: nearly every source has one, on each of its days
            whole = False
            found.extend(_as_pairs(days, columns, enrichment, query, cover_min, counted, sources_ok))
            continue
        else:
            table = key_table.select(*[c for c in ("day", "src", "dport") if c in key_table.collect_schema().names()],
                                     "key").collect()
            if table.is_empty():
                continue
            on = [c for c in ("src", "dport") if c in table.columns]
            # the keyed sources' rows only, before the joins (a fingerprint key: 0.2 % of the sources a day); every
            # column of their rows held (the merge's input too)
            keyed_srcs = pl.col("src").is_in(table["src"].unique().implode())
            among = (keyed_rows or {}).get(kind, days)
            held.append(among.filter(keyed_srcs).collect(engine="streaming"))
            parts = held[-1].lazy().select(columns)
            own = parts.filter(~pl.col("edge")).join(table.lazy(), on=["day", *on], how="inner")
            every = parts.filter("edge").join(table.drop("day").unique().lazy(), on=on, how="inner")
            keyed = pl.concat([own.select("src", "dport", "dsts", "key"), every.select("src", "dport", "dsts", "key")],
                              how="vertical_relaxed")
        keyed = keyed.select(_PAIR if key_table is None else pl.struct("key", "dport").alias("pair"),
                             "src", "dport", "dsts")
        if key_table is not None:  # a table's keys are rare (a kind of its own): its sources' rows held, one pass
            keyed = keyed.collect(engine="streaming").lazy()
        pairs = (counted(keyed).group_by("pair").agg(sources_ok.alias("ok"), pl.col("dsts").cast(pl.Int64).sum().alias("t"))
                 .filter(pl.col("ok") & (pl.col("t") >= cover_min)).select("pair").collect(engine="streaming"))
        if not pairs.is_empty():
            found.append(keyed.join(pairs.lazy(), on="pair", how="semi").select("src", "dport").unique()
                         .collect(engine="streaming"))
    if not found:
        empty = pl.DataFrame(schema={"src": pl.UInt32, "dport": pl.UInt16})
        return empty, pl.DataFrame(schema=days.collect_schema())
    kept = pl.concat(found).unique()
    if not whole:
        return kept, None
    # a burst held by two passes is one row (no two bursts share every column: a (src, dport, day) and its start)
    return kept, pl.concat(held).unique().join(kept, on=["src", "dport"], how="semi")


#: The AS pass holds its keys (a row per source and day with an AS, ~40 bytes a row while they are made) for one
#: range of sources at a time, of at most about this many enrichment rows: one range at 84 days of the benchmark
#: data (6.6 M rows, ~0.3 GB), several at a year of a large telescope (hundreds of millions of rows), each range
#: streaming the days' bursts again (their rows are in port order: a source range skips no row group).
AS_ROWS_PER_RANGE = 16_000_000


def _as_pairs(days: pl.LazyFrame, columns: Sequence, enrichment: pl.LazyFrame, query: CollabQuery, cover_min: float,
              counted, sources_ok: pl.Expr) -> list[pl.DataFrame]:
    """The AS pass of :func:`burst_picks`: the (src, dport) pairs of the (AS, port) groups that may pass (none, or
    one frame), the keys held for one source range at a time (:func:`_as_ranges`). Within a range as for the other
    kinds (each group's sources and ``dsts`` summed; its passing groups' rows read again, of their ports only);
    over several, each range's groups counted apart and added up (a source is in one range: its distinct
    count adds), then each range's rows of the groups that pass."""
    ranges = _as_ranges(enrichment)
    one = len(ranges) == 1

    def part(lo: int, hi: int) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        mine = pl.col("src").is_between(lo, hi)
        return (enrichment, days) if one else (enrichment.filter(mine), days.filter(mine))

    sums, held = [], None
    for lo, hi in ranges:
        table, rows = part(lo, hi)
        keys = _as_keys(table)
        if keys is None:
            continue
        keyed = _as_rows(rows, columns, keys).select(_PAIR, "src", "dport", "dsts")
        n = sources_ok.alias("ok") if one else pl.col("src").n_unique().alias("n")
        sums.append(counted(keyed).group_by("pair").agg(n, pl.col("dsts").cast(pl.Int64).sum().alias("t"))
                    .collect(engine="streaming"))
        held = keys if one else None
    if not sums:
        return []
    if one:
        pairs = sums[0].filter(pl.col("ok") & (pl.col("t") >= cover_min)).select("pair")
    else:
        pairs = (pl.concat(sums).group_by("pair").agg(pl.col("n").sum(), pl.col("t").sum())
                 .filter((pl.col("n") >= max(query.min_sources, 1)) & (pl.col("t") >= cover_min)).select("pair"))
    if pairs.is_empty():
        return []
    ports = (pairs["pair"] % 65536).unique().to_list()
    found = []
    for lo, hi in ranges:  # the AS rows again, of the passing pairs' ports only
        table, rows = part(lo, hi)
        keys = held if one else _as_keys(table)
        if keys is None:
            continue
        keyed = _as_rows(narrow(rows, ports), columns, keys).select(_PAIR, "src", "dport")
        found.append(keyed.join(pairs.lazy(), on="pair", how="semi").select("src", "dport").unique()
                     .collect(engine="streaming"))
    return found


def _as_ranges(enrichment: pl.LazyFrame) -> list[tuple[int, int]]:
    """Inclusive source ranges of about :data:`AS_ROWS_PER_RANGE` rows of *enrichment* each, cut at a sample of
    its sources (one range, the whole address space, for fewer rows)."""
    n = enrichment.select(pl.len()).collect().item()
    bounds = [0, *source_cuts(enrichment, -(-n // AS_ROWS_PER_RANGE), n), 2**32]
    return [(lo, hi - 1) for lo, hi in zip(bounds, bounds[1:])]


def _as_keys(enrichment: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The AS pass's keys: (``ds``: :func:`~scantui.enrich.table.src_day_key`, ``key``) per source and day, and
    (src, key) of every AS a source has on any day; None when no source has an AS."""
    table = enrichment.select(src_day_key(pl.col("src"), pl.col("day")).alias("ds"), "src",
                              pl.col("asn").cast(pl.UInt32).alias("key")).filter(pl.col("key").is_not_null()).collect()
    if table.is_empty():
        return None
    packed = table.select((pl.col("src").cast(pl.UInt64) * (1 << 32) + pl.col("key").cast(pl.UInt64)).unique().alias("p"))
    any_day = packed.select((pl.col("p") // (1 << 32)).cast(pl.UInt32).alias("src"),
                            (pl.col("p") % (1 << 32)).cast(pl.UInt32).alias("key"))
    return table.select("ds", "key"), any_day


def _as_rows(days: pl.LazyFrame, columns: Sequence, keys: tuple[pl.DataFrame, pl.DataFrame]) -> pl.LazyFrame:
    """The AS pass's (src, dport, dsts, key) rows of the day tables' bursts (streamed): a burst at a day's edge
    under every AS its source has on any day, any other under its own day's."""
    by_day, any_day = keys
    rows = days.select(columns)
    own = (rows.filter(~pl.col("edge")).with_columns(src_day_key(pl.col("src"), pl.col("day")).alias("ds"))
           .join(by_day.lazy(), on="ds", how="inner"))
    every = rows.filter("edge").join(any_day.lazy(), on="src", how="inner")
    return pl.concat([own.select("src", "dport", "dsts", "key"), every.select("src", "dport", "dsts", "key")])


def burst_windows(bursts: pl.LazyFrame, kind: str, enrichment: pl.LazyFrame | None, query: CollabQuery,
                  cover_min: float, *, prune: bool = True,
                  key_table: pl.LazyFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(windows, standalone): one row per burst of each cluster that may hold a cover (``wid`` names the
    cluster; :data:`WINDOW_COLUMNS` plus ``day``, ``last_day``, ``packets``), and the standalone bursts of those
    (key, port) pairs as (day, dport, src, key) rows, one per day they touch. *prune* False keeps every
    cluster of at least one source (what the pre-filter is checked against: the same candidates)."""
    need_n, need_t = (query.min_sources, cover_min) if prune else (1, 0)
    stand = pl.col("dsts") >= cover_min
    if kind == "asn" and key_table is None and enrichment is not None:
        # the bursts' sources only (the enrichment has a row per source and day of the whole data: 6.6 M at 84
        # days, made unique by (src, day) in the keying), and the keyed rows made once for both uses below
        enrichment = enrichment.join(bursts.select("src").unique(), on="src", how="semi")
    all_rows = keyed(bursts, kind, enrichment, query, key_table).collect().lazy()
    lf = all_rows if query.tools or query.telescope_ranges else all_rows.filter(~stand)
    # a cluster's bursts are some of its (key, port)'s: a pair whose bursts alone fail holds no cluster that passes
    pairs = (lf.group_by("key", "dport").agg(pl.col("src").n_unique().alias("n"), pl.col("dsts").cast(pl.Int64).sum().alias("t"))
             .filter((pl.col("n") >= need_n) & (pl.col("t") >= need_t)).select("key", "dport"))
    members, rows = pl.collect_all([lf.join(pairs, on=["key", "dport"], how="semi"),
                                    all_rows.filter(stand).join(pairs, on=["key", "dport"], how="semi")])
    s = members.sort("key", "dport", "start_us")
    group_start = ((pl.col("key") != pl.col("key").shift()) | (pl.col("dport") != pl.col("dport").shift())).fill_null(True)
    reach = pl.col("end_us").cum_max().over("key", "dport").shift()
    s = s.with_columns(
        (group_start | (pl.col("start_us") > reach + CLUSTER_GAP_US)).fill_null(True).cum_sum().alias("wide"),
        (group_start | (pl.col("start_us") > reach)).fill_null(True).cum_sum().alias("narrow"))
    s = s.with_columns(pl.len().over("wide").alias("_nw"), pl.len().over("narrow").alias("_nn"))
    windows = []
    for level, column in ((0, "wide"), (1, "narrow")):
        part = s if level == 0 else s.filter(pl.col("_nn") < pl.col("_nw"))
        ok = (part.group_by(column).agg(pl.col("src").n_unique().alias("n"), pl.col("dsts").cast(pl.Int64).sum().alias("t"))
              .filter((pl.col("n") >= need_n) & (pl.col("t") >= need_t)).select(column))
        windows.append(part.join(ok, on=column, how="semi").with_columns((pl.col(column) * 2 + level).alias("wid")))
    win = sliced(pl.concat(windows).select(*WINDOW_COLUMNS, "day", "last_day", "packets"), need_n)
    pairs = win.select("key", "dport").unique()
    standalone = (rows.join(pairs, on=["key", "dport"], how="semi")
                  .select(pl.date_ranges("day", "last_day").alias("day"), "dport", "src", "key").explode("day"))
    return win, standalone


def need_rows(windows: pl.DataFrame) -> pl.DataFrame:
    """The (day, dport, src) rows whose packets the windows' bursts hold."""
    return (windows.select(pl.date_ranges("day", "last_day").alias("day"), "dport", "src").explode("day").unique())


def sliced(win: pl.DataFrame, min_sources: int = 1, budget: int | None = None) -> pl.DataFrame:
    """*win* with each window longer than two steps replaced by its spans ``[k, k + 2)`` steps (every step k it
    touches), each a window of its own (a new ``wid`` after the others) holding its bursts clipped to it
    (``packets`` scaled by the share of the burst kept: the read's estimate), when they are of at least
    *min_sources* sources. A cluster chaining for weeks (a botnet of one AS on one port: its union is the whole
    telescope) was one search over all its probes, its memory and time growing with its span; a scan of at most a
    step inside it is found in a span as in the whole (a longer one, inside such a cluster, is not).

    The step is :data:`SLICE_STEP_US`, or, for a window whose bursts' ``packets`` pass *budget* (default
    :data:`FINE_SLICE_PACKETS`), the longest of :data:`FINE_STEPS_US` whose spans' share of its packets (at its
    mean rate) fits the budget, else the shortest: a big botnet's days are then read a day or two at a time, not
    six, and no read of it holds more than the budget or one day of its (key, port)."""
    if win.is_empty():
        return win
    budget = FINE_SLICE_PACKETS if budget is None else budget
    span = win.group_by("wid").agg(pl.col("start_us").min().alias("_a"), pl.col("end_us").max().alias("_b"),
                                   pl.col("packets").cast(pl.Int64).sum().alias("_p"))
    length = (pl.col("_b") - pl.col("_a") + 1).cast(pl.Float64)
    step = pl.lit(FINE_STEPS_US[-1], pl.Int64)
    for fine in reversed(FINE_STEPS_US[:-1]):  # the longest that fits wins: tried last
        step = pl.when(pl.col("_p") * pl.min_horizontal(pl.lit(1.0), 2 * fine / length) <= budget).then(fine).otherwise(step)
    step = pl.when(pl.col("_p") <= budget).then(SLICE_STEP_US).otherwise(step)
    span = span.with_columns(step.cast(pl.Int64).alias("_step"))
    long = span.filter(pl.col("_b") - pl.col("_a") >= 2 * pl.col("_step")).drop("_p")
    if long.is_empty():
        return win
    top = int(win["wid"].max())
    st = pl.col("_step")
    parts = (win.join(long, on="wid", how="inner")
             .with_columns(pl.int_ranges(pl.col("start_us") // st - 1, pl.col("end_us") // st + 1).alias("_k"))
             .explode("_k")
             .filter((pl.col("_k") >= pl.col("_a") // st) & (pl.col("_k") <= pl.col("_b") // st))
             .with_columns(pl.max_horizontal("start_us", pl.col("_k") * st).alias("_s"),
                           pl.min_horizontal("end_us", (pl.col("_k") + 2) * st - 1).alias("_e"))
             .filter(pl.col("_s") <= pl.col("_e")))
    whole = (pl.col("end_us") - pl.col("start_us") + 1).cast(pl.Float64)
    parts = parts.with_columns(
        (pl.col("packets").cast(pl.Float64) * (pl.col("_e") - pl.col("_s") + 1) / whole).ceil().cast(pl.UInt32).alias("packets"),
        pl.from_epoch("_s", "us").dt.date().alias("day"), pl.from_epoch("_e", "us").dt.date().alias("last_day"),
    ).drop("start_us", "end_us").rename({"_s": "start_us", "_e": "end_us"})
    parts = parts.filter(pl.col("src").n_unique().over("wid", "_k") >= min_sources)
    ids = parts.select("wid", "_k").unique().sort("wid", "_k").with_row_index("_new", offset=top + 1)
    parts = parts.join(ids, on=["wid", "_k"]).with_columns(pl.col("_new").cast(win["wid"].dtype).alias("wid"))
    return pl.concat([win.join(long, on="wid", how="anti"), parts.select(win.columns)])


def burst_spans(windows: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """The probes' spans the *windows* frames' bursts cover, as (day, dport, src, start_us, end_us), one row per day
    each touches: a burst is in several windows (its cluster's wide and narrow ones, each key kind's, a long
    cluster's overlapping spans clipped), so overlapping spans of a (source, port) are merged and a probe is
    inside at most one of these rows of its day."""
    rows = pl.concat([w.select("src", "dport", "start_us", "end_us") for w in windows]).sort("src", "dport", "start_us")
    reach = pl.col("end_us").cum_max().shift(1).over("src", "dport")
    rows = rows.with_columns((pl.col("start_us") > reach).fill_null(True).cum_sum().alias("_g"))
    merged = rows.group_by("_g").agg(pl.col("src").first(), pl.col("dport").first(), pl.col("start_us").min(),
                                     pl.col("end_us").max())
    return (merged.select("src", "dport", "start_us", "end_us",
                          pl.date_ranges(pl.from_epoch("start_us", "us").dt.date(),
                                         pl.from_epoch("end_us", "us").dt.date()).alias("day"))
            .explode("day").select("day", "dport", "src", "start_us", "end_us"))


def window_packets(pk: pl.DataFrame, windows: pl.DataFrame) -> pl.DataFrame:
    """The packets (``t``, ``src``, ``dst``) of each window's bursts with ``wid``, ``key``, ``dport``,
    sorted by window, source, destination and time (so each window's distinct (source, destination) pairs need no
    sort of their own: :func:`~scantui.analysis.collab_cover.scans_in_window`'s *presorted*).

    Each burst meets only the packets of its own days (a packet inside it is on one of them): joined on
    (source, port) alone, every packet of a source met every burst of its port on every day, a frame the days
    times the packets (2.1 GiB at 84 days of the benchmark data, for 0.4 M packets)."""
    spans = windows.select(*WINDOW_COLUMNS, pl.date_ranges("day", "last_day").alias("day")).explode("day")
    return (pk.join(spans, on=["day", "dport", "src"], how="inner")
            .filter(pl.col("t").is_between(pl.col("start_us"), pl.col("end_us")))
            .select("wid", "key", "dport", "t", "src", "dst").sort("wid", "src", "dst", "t"))
