"""Collab's burst pre-filter before the merge across midnight (``collab_bursts.burst_sources``): the
(source, port) pairs it keeps give the same windows as merging every burst, also when a source's key
changes at midnight (its merged burst is keyed by its first day) or is missing on the second day."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from scantui.analysis import bursts as bw
from scantui.analysis import collab_bursts as cbu
from scantui.analysis.collab_query import CollabQuery

S = 1_000_000
MIN = 60 * S
HOUR = 60 * MIN
DAY1, DAY2 = dt.date(2024, 2, 1), dt.date(2024, 2, 2)
T1 = int(dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc).timestamp()) * S
T2 = T1 + 24 * HOUR
COVER = 2000.0
A, B, C, D = 0x0A000001, 0x0B000001, 0x0C000001, 0x0C000002  # A and B in different /24s; C and D share one
K1, K2, K3 = 64500, 64501, 64502


def day_tables() -> pl.DataFrame:
    """The day tables' rows: A's chain across midnight (600 + 600), B just before it (900), C and D light."""
    rows = [
        (A, 80, DAY1, T1 + 23 * HOUR + 50 * MIN, T1 + 23 * HOUR + 58 * MIN, 700, 600),  # late edge
        (A, 80, DAY2, T2 + 1 * MIN, T2 + 30 * MIN, 700, 600),  # early edge: joins it
        (B, 80, DAY1, T1 + 22 * HOUR, T1 + 23 * HOUR, 1000, 900),  # within 4 h of A: one cluster
        (C, 80, DAY1, T1 + 10 * HOUR, T1 + 11 * HOUR, 50, 40),
        (D, 80, DAY1, T1 + 10 * HOUR, T1 + 11 * HOUR, 50, 40),
    ]
    df = pl.DataFrame(rows, schema=["src", "dport", "day", "start_us", "end_us", "packets", "dsts"], orient="row")
    return df.with_columns(pl.lit(bw.FLOOR_US).alias("thr_us")).cast(dict(bw.SCHEMA)).select(bw.SCHEMA.names())


def keys_by_day(per_port: bool) -> pl.DataFrame:
    """A's key is K1 on its first day and K2 (AS) or none (table) on the second; B has K1, C and D K3."""
    rows = [(DAY1, A, K1), (DAY1, B, K1), (DAY1, C, K3), (DAY1, D, K3), (DAY2, A, K2)]
    df = pl.DataFrame(rows, schema={"day": pl.Date, "src": pl.UInt32, "key": pl.UInt64}, orient="row")
    return df.with_columns(pl.lit(80, pl.UInt16).alias("dport")).select("day", "src", "dport", "key") if per_port else df


def windows(merged: pl.DataFrame, kind: str, enrichment, table) -> pl.DataFrame:
    win, stand = cbu.burst_windows(merged.lazy(), kind, enrichment, CollabQuery(bursts=True), COVER,
                                   key_table=None if table is None else table.lazy())
    assert stand.is_empty()
    return win.sort(win.columns)


@pytest.mark.parametrize("kind", ["prefix24", "asn", "fingerprint", "zmap_generator"])
def test_a_chain_keyed_by_its_first_day_is_kept_with_every_part(kind):
    days = day_tables()
    enrichment = table = None
    if kind == "asn":  # A's AS changes at midnight: its day-2 part counts under K2 by its own day
        enrichment = keys_by_day(False).filter(pl.col("key") != K3).select(
            "src", "day", pl.col("key").cast(pl.UInt32).alias("asn")).lazy()
    elif kind != "prefix24":  # A has no key on day 2: its part there has no key of its own day
        table = keys_by_day(kind == "zmap_generator").filter(pl.col("day") == DAY1)
    query = CollabQuery(bursts=True)
    kept = cbu.burst_sources(days.lazy(), [(kind, None if table is None else table.lazy())], enrichment, query, COVER)
    every = windows(bw.merge_days(days.lazy()).collect(), kind, enrichment, table)
    only = windows(bw.merge_days(days.join(kept, on=["src", "dport"], how="semi").lazy()).collect(), kind,
                   enrichment, table)
    assert only.equals(every)
    if kind == "prefix24":  # A and B in different /24s: nothing to search, nothing kept
        assert kept.is_empty() and every.is_empty()
        return
    assert sorted(every["src"].unique()) == [A, B]  # the cluster: A's merged burst (1,200) and B's (900)
    assert sorted(kept.rows()) == [(A, 80), (B, 80)]  # C and D (40 + 40) are not read
    # keyed by each part's own day the pair would fail (600 + 900 < 2,000): the rule for edge parts matters
    own = days.join(keys_by_day(False).select("day", "src", "key"), on=["day", "src"]).filter(pl.col("key") == K1)
    assert own["dsts"].sum() < COVER


def test_a_source_over_the_cover_minimum_is_kept_for_the_standalone_report():
    heavier = {C: 2500, D: 1990}
    days = day_tables().with_columns(pl.col("src").replace_strict(heavier, default=pl.col("dsts"), return_dtype=pl.UInt32)
                                     .alias("dsts"))
    days = pl.concat([days, days.filter(pl.col("src") == D).with_columns(pl.col("src") + 1)])  # a third source
    query = CollabQuery(bursts=True)
    kept = cbu.burst_sources(days.lazy(), [("prefix24", None)], None, query, COVER)
    assert sorted(kept.rows()) == [(C, 80), (D, 80), (D + 1, 80)]  # C is standalone: reported, so read
    win, stand = cbu.burst_windows(bw.merge_days(days.lazy()), "prefix24", None, query, COVER)
    win2, stand2 = cbu.burst_windows(bw.merge_days(days.join(kept, on=["src", "dport"], how="semi").lazy()),
                                     "prefix24", None, query, COVER)
    assert win.sort(win.columns).equals(win2.sort(win2.columns)) and stand.sort("src").equals(stand2.sort("src"))
    assert stand["src"].to_list() == [C] and sorted(win["src"].unique()) == [D, D + 1]
