"""Collab's /24 burst pre-filter from each day's (/24, port) sums of its bursts (``collab_burst_sums``): the
same (source, port) pairs as the pass over every burst, on random day tables (light days, standalone bursts,
one source or many, ``--port``, three sources asked); a pair that passes only with its light days' bound; no
pruning where the light days alone could reach the cover minimum; and through a rollup, its days' tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from scantui.analysis import bursts as bw
from scantui.analysis import collab_burst_sums as cbs
from scantui.analysis import collab_bursts as cbu
from scantui.analysis.collab_query import CollabQuery

S = 1_000_000
DAY0 = dt.date(2024, 2, 1)
T0 = int(dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc).timestamp()) * S
COVER = 2000.0


def table(rows) -> pl.DataFrame:
    """Day-table bursts from (src, dport, day index, dsts) rows, each an hour in the middle of its day."""
    out = [(src, port, DAY0 + dt.timedelta(days=d), T0 + d * 86_400 * S + 10 * 3600 * S,
            T0 + d * 86_400 * S + 11 * 3600 * S, dsts, dsts) for src, port, d, dsts in rows]
    df = pl.DataFrame(out, schema=["src", "dport", "day", "start_us", "end_us", "packets", "dsts"], orient="row")
    return df.with_columns(pl.lit(bw.FLOOR_US).alias("thr_us")).cast(dict(bw.SCHEMA)).select(bw.SCHEMA.names())


def sums_of(days: pl.DataFrame, n_days: int) -> cbs.BurstSums:
    parts = [cbs.day_table(part.lazy()).collect().with_columns(pl.lit(day).alias("day"))
             for (day,), part in days.partition_by("day", as_dict=True).items()]
    return cbs.BurstSums(pl.concat(parts).select(cbs.TABLE.columns).lazy(), n_days)


def kept(days: pl.DataFrame, query: CollabQuery, sums: cbs.BurstSums | None) -> list[tuple[int, int]]:
    lf = days.lazy().filter(pl.col("dport").is_in(list(query.ports))) if query.ports else days.lazy()  # as collab does
    got = cbu.burst_sources(lf, [("prefix24", None)], None, query, COVER, sums=sums)
    return sorted(got.iter_rows())


def random_days(rng: np.random.Generator, n_days: int) -> pl.DataFrame:
    """/24s of 1-4 sources on 1-3 ports over the days: light bursts, heavy ones, a standalone now and then."""
    rows = []
    for net in range(40):
        srcs = [(0x0A000000 | net << 8) + int(i) for i in rng.choice(250, int(rng.integers(1, 5)), replace=False)]
        for port in rng.choice([22, 80, 443], int(rng.integers(1, 4)), replace=False):
            for src in srcs:
                for d in rng.choice(n_days, int(rng.integers(1, n_days + 1)), replace=False):
                    dsts = int(rng.choice([2, 5, 20, 31, 40, 300, 900, 1990, 2100]))
                    rows.append((src, int(port), int(d), dsts))
    return table(rows)


@pytest.mark.parametrize("seed", range(6))
def test_the_pairs_kept_are_those_of_the_pass_over_every_burst(seed):
    rng = np.random.default_rng(seed)
    n_days = 6  # 6 x 31 < COVER: the table prunes
    days = random_days(rng, n_days)
    sums = sums_of(days, n_days)
    outcomes = set()
    for query in (CollabQuery(bursts=True), CollabQuery(bursts=True, min_sources=3),
                  CollabQuery(bursts=True, ports=(80, 443))):
        want = kept(days, query, None)
        assert kept(days, query, sums) == want
        # the rows held by the passes are every row of the kept pairs (what the merge across midnight reads)
        lf = days.lazy().filter(pl.col("dport").is_in(list(query.ports))) if query.ports else days.lazy()
        pairs, rows = cbu.burst_picks(lf, [("prefix24", None), ("fingerprint", keys(days))], None, query, COVER, sums)
        assert rows is not None
        every = lf.join(pairs.lazy(), on=["src", "dport"], how="semi").collect()
        assert rows.sort(rows.columns).equals(every.sort(every.columns))
        assert cbu.burst_picks(lf, [("prefix24", None)], None, query, COVER, None)[1] is None  # streamed: not held
        passing = cbs.passing_pairs(sums, query.ports, COVER, query.min_sources)
        assert {cbs_pair(s, p) for s, p in want} <= set(passing.to_list())
        outcomes.add(bool(want))
        outcomes.add(len(passing) < days.select(pl.col("src") // 256, "dport").unique().height)  # it pruned
    assert outcomes == {True}


def keys(days: pl.DataFrame) -> pl.LazyFrame:
    """A key table (as collab's fingerprint kind) giving every third source of day 0 one key on every day."""
    srcs = days.select("src").unique().sort("src")["src"].to_list()[::3]
    n = days["day"].max()
    rows = [(DAY0 + dt.timedelta(days=d), s, 7) for s in srcs for d in range((n - DAY0).days + 1)]
    return pl.DataFrame(rows, schema={"day": pl.Date, "src": pl.UInt32, "key": pl.UInt64}, orient="row").lazy()


def cbs_pair(src: int, port: int) -> int:
    return (src // 256) * 65536 + port


def test_a_pair_passes_with_its_light_days_bound():
    """Two sources sum 1,900 on day 0 (heavy); a third adds 20 on each of days 1-8 (each day light, < FLOOR):
    2,060 over the data, above the cover minimum. Without the light days' bound the table would drop it."""
    a, b, c = 0x0A000001, 0x0A000002, 0x0A000003
    days = table([(a, 80, 0, 950), (b, 80, 0, 950), *[(c, 80, d, 20) for d in range(1, 9)]])
    sums = sums_of(days, 9)
    assert sums.table.collect().height == 1  # only day 0's group is in the table
    want = kept(days, CollabQuery(bursts=True), None)
    assert want == [(a, 80), (b, 80), (c, 80)]
    assert kept(days, CollabQuery(bursts=True), sums) == want
    assert cbs.passing_pairs(sums, None, COVER, 2).to_list() == [cbs_pair(a, 80)]
    # the bound is 1,900 + 8 x 31 = 2,148: a superset (the true sum is 2,060)
    assert cbs.passing_pairs(sums, None, 2148.0, 2).to_list() == [cbs_pair(a, 80)]
    assert cbs.passing_pairs(sums, None, 2149.0, 2).to_list() == []


def test_no_pruning_where_light_days_alone_could_pass():
    days = table([(0x0A000001, 80, 0, 40)])
    assert cbs.passing_pairs(sums_of(days, 65), None, COVER, 2) is None  # 65 x 31 >= 2,000
    assert cbs.passing_pairs(sums_of(days, 64), None, COVER, 2).to_list() == []


def test_one_source_alone_never_passes_on_days_all_in_the_table():
    a = 0x0A000001
    days = table([(a, 80, 0, 1500), (a, 80, 1, 1500)])
    assert cbs.passing_pairs(sums_of(days, 2), None, COVER, 2).to_list() == []
    assert cbs.passing_pairs(sums_of(days, 2), None, COVER, 1).to_list() == [cbs_pair(a, 80)]
    assert cbs.passing_pairs(sums_of(days, 3), None, COVER, 2).to_list() == [cbs_pair(a, 80)]  # a light day: unknown sources
