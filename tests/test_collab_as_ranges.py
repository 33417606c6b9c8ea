"""Collab's AS burst pass one source range at a time (``collab_bursts._as_pairs``): on random day tables whose
(AS, port) groups span the ranges (sources all over the address space, some changing AS at midnight, some with
no AS on a day, bursts at the days' edges), the pairs kept are those of the pass holding every key at once."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from scantui.analysis import bursts as bw
from scantui.analysis import collab_bursts as cbu
from scantui.analysis.collab_query import CollabQuery

S = 1_000_000
DAY0 = dt.date(2024, 2, 1)
T0 = int(dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc).timestamp()) * S
DAY_US = 86_400 * S
COVER = 2000.0
N_DAYS = 4


def random_data(rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(day tables, enrichment): 90 sources anywhere in the address space in 30 ASes, on 1-3 ports."""
    srcs = rng.choice(2**32, 90, replace=False)
    bursts, enrich = [], []
    for src in srcs.tolist():
        asn = int(rng.integers(64500, 64530))
        for d in range(N_DAYS):
            r = rng.random()
            if r < 0.1:
                continue  # no AS that day
            enrich.append((src, DAY0 + dt.timedelta(days=d), asn if r > 0.25 else asn + 1))  # another AS that day
        for port in rng.choice([22, 80, 443], int(rng.integers(1, 4)), replace=False).tolist():
            for d in rng.choice(N_DAYS, int(rng.integers(1, N_DAYS + 1)), replace=False).tolist():
                dsts = int(rng.choice([2, 40, 300, 600, 900, 1990, 2100]))
                where = rng.random()
                if where < 0.3:  # ends at midnight: may join the next day's early burst
                    start, end = T0 + (d + 1) * DAY_US - 600 * S, T0 + (d + 1) * DAY_US - S
                elif where < 0.6:  # starts at midnight
                    start, end = T0 + d * DAY_US + S, T0 + d * DAY_US + 600 * S
                else:
                    start, end = T0 + d * DAY_US + 10 * 3600 * S, T0 + d * DAY_US + 11 * 3600 * S
                bursts.append((src, port, DAY0 + dt.timedelta(days=d), start, end, dsts, dsts))
    days = pl.DataFrame(bursts, schema=["src", "dport", "day", "start_us", "end_us", "packets", "dsts"], orient="row")
    days = days.with_columns(pl.lit(bw.FLOOR_US).alias("thr_us")).cast(dict(bw.SCHEMA)).select(bw.SCHEMA.names())
    enrichment = pl.DataFrame(enrich, schema={"src": pl.UInt32, "day": pl.Date, "asn": pl.UInt32}, orient="row")
    return days, enrichment.sort("src", "day")


def kept(days: pl.DataFrame, enrichment: pl.DataFrame, query: CollabQuery) -> list[tuple[int, int]]:
    lf = days.lazy().filter(pl.col("dport").is_in(list(query.ports))) if query.ports else days.lazy()
    return sorted(cbu.burst_sources(lf, [("asn", None)], enrichment.lazy(), query, COVER).iter_rows())


@pytest.mark.parametrize("seed", range(5))
def test_the_pairs_kept_range_by_range_are_those_of_one_range(seed, monkeypatch):
    days, enrichment = random_data(np.random.default_rng(seed))
    queries = (CollabQuery(bursts=True), CollabQuery(bursts=True, min_sources=3), CollabQuery(bursts=True, min_sources=1),
               CollabQuery(bursts=True, ports=(80, 443)), CollabQuery(bursts=True, tools=("zmap",)))
    want = [kept(days, enrichment, q) for q in queries]
    assert len(cbu._as_ranges(enrichment.lazy())) == 1
    monkeypatch.setattr(cbu, "AS_ROWS_PER_RANGE", enrichment.height // 6)
    ranges = cbu._as_ranges(enrichment.lazy())
    assert len(ranges) >= 5 and ranges[0][0] == 0 and ranges[-1][1] == 2**32 - 1
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))  # the whole address space, once
    for q, w in zip(queries, want):
        assert kept(days, enrichment, q) == w
    pairs = days.select("src", "dport").unique().height
    assert want[0] and len(want[0]) < pairs  # something passes, something is pruned
    assert len(want[1]) < len(want[0]) < len(want[2])  # the sources asked for matter
