"""A burst cluster longer than two steps is searched in overlapping spans (:func:`collab_bursts.sliced`): short
clusters stay whole, every scan of at most a step lies whole in one span, the spans' bursts are clipped with their
estimates scaled, the read's spans merge where they overlap (:func:`collab_bursts.burst_spans`); and a cover inside
a botnet of its AS chaining for weeks is found with no read holding the botnet's weeks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

import test_collab_cover_multiplicity as tm
from scantui.analysis import collab as cb
from scantui.analysis import collab_batches as cbb
from scantui.analysis import collab_bursts as cbu

STEP = cbu.SLICE_STEP_US
BASE = 19_700 * 86_400 * 10**6  # 2023-12-08, a multiple of no step in particular


def windows(rows) -> pl.DataFrame:
    """Window rows (wid, start offset, length, packets) as collab_bursts makes them, each burst of its own source
    (a source's bursts never overlap)."""
    start = [BASE + a for _, a, _, _ in rows]
    end = [BASE + a + n for _, a, n, _ in rows]
    day = lambda us: dt.date(1970, 1, 1) + dt.timedelta(microseconds=us)  # noqa: E731
    return pl.DataFrame({
        "wid": [w for w, *_ in rows], "key": [7] * len(rows), "dport": [23] * len(rows), "src": list(range(1, len(rows) + 1)),
        "start_us": start, "end_us": end, "day": [day(x) for x in start], "last_day": [day(x) for x in end],
        "packets": [p for *_, p in rows]},
        schema={"wid": pl.UInt32, "key": pl.UInt32, "dport": pl.UInt16, "src": pl.UInt32, "start_us": pl.Int64,
                "end_us": pl.Int64, "day": pl.Date, "last_day": pl.Date, "packets": pl.UInt32})


row = st.tuples(st.integers(0, 3), st.integers(0, 12 * STEP), st.integers(0, 4 * STEP), st.integers(1, 10_000))


@settings(max_examples=150, deadline=None)
@given(st.lists(row, min_size=1, max_size=12))
def test_long_windows_become_overlapping_spans_that_hold_every_short_scan(rows):
    win = windows(rows)
    out = cbu.sliced(win)
    spans = win.group_by("wid").agg(pl.col("start_us").min().alias("a"), pl.col("end_us").max().alias("b"))
    long = {w for w, a, b in spans.iter_rows() if b - a >= 2 * STEP}
    kept = out.filter(pl.col("wid").is_in(list(set(win["wid"]) - long)))
    assert kept.sort(out.columns).equals(win.filter(~pl.col("wid").is_in(list(long))).sort(out.columns))
    new = out.filter(pl.col("wid") > win["wid"].max())
    assert new.height == out.height - kept.height
    day = lambda us: (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)).date()  # noqa: E731
    for _wid, part in new.group_by("wid"):
        a, b = part["start_us"].min(), part["end_us"].max()
        assert b // STEP - 1 <= a // STEP  # inside one span [k, k + 2) steps
        for _w, _k, _p, _s, s0, e0, d0, d1, _n in part.iter_rows():
            assert s0 <= e0 and d0 == day(s0) and d1 == day(e0)
    # every moment of a long window's bursts, and every interval of at most a step inside one, is in one span
    for w in long:
        src = win.filter(pl.col("wid") == w)
        for s, a, b, p in src.select("src", "start_us", "end_us", "packets").iter_rows():
            for lo in {a, (a + b) // 2, max(a, b - STEP)}:
                hi = min(b, lo + STEP)
                hit = new.filter((pl.col("src") == s) & (pl.col("start_us") <= lo) & (pl.col("end_us") >= hi))
                assert hit.height >= 1
            pieces = new.filter(pl.col("src") == s)
            assert pieces["packets"].max() <= p  # scaled, never above the whole burst's
            assert pieces["start_us"].min() == a and pieces["end_us"].max() == b  # clipped, not moved


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 50), st.integers(0, 30)), min_size=1, max_size=15))
def test_the_read_spans_merge_where_they_overlap(rows):
    frame = pl.DataFrame({"src": [s for s, _, _ in rows], "dport": [23] * len(rows),
                          "start_us": [BASE + a * 3_600 * 10**6 for _, a, _ in rows],
                          "end_us": [BASE + (a + n) * 3_600 * 10**6 for _, a, n in rows]},
                         schema={"src": pl.UInt32, "dport": pl.UInt16, "start_us": pl.Int64, "end_us": pl.Int64})
    spans = cbu.burst_spans([frame])
    merged = spans.unique(["src", "start_us"])
    for s, part in merged.group_by("src"):
        iv = sorted(part.select("start_us", "end_us").iter_rows())
        assert all(b0 < a1 for (_, b0), (a1, _) in zip(iv, iv[1:]))  # disjoint: a probe in at most one
        for a, b in frame.filter(pl.col("src") == s[0]).select("start_us", "end_us").iter_rows():
            assert any(x <= a and b <= y for x, y in iv)  # each input span inside one merged span
    days = spans.group_by("src", "start_us").agg(pl.col("day").min().alias("d0"), pl.len(), pl.col("end_us").first())
    for _s, a, d0, n, b in days.select("src", "start_us", "d0", "len", "end_us").iter_rows():
        first = (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=a)).date()
        last = (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=b)).date()
        assert d0 == first and n == (last - first).days + 1


def botnet_with_a_cover(days: int, cover_day: int) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """A botnet of its AS on port 23 chaining into one cluster for *days* days, and 5 sources of the AS covering the
    telescope once in 3 hours of day *cover_day*: (every probe, the botnet's)."""
    rng = np.random.default_rng(5)
    noise = tm.botnet(rng, 60, 60 * days, days)
    parts = [tm.probes(np.full(len(c), 2 * 10**9 + m), c,
                       tm.T0 + cover_day * tm.DAY + rng.integers(0, 3 * 3600 * 10**6, len(c)))
             for m, c in enumerate(np.array_split(rng.permutation(tm.T), 5))]
    return pl.concat([*parts, noise]).sort("ts").lazy(), noise


def test_a_cover_inside_a_weeks_long_botnet_of_its_as_is_found_in_a_span(monkeypatch):
    days = 28
    lf, noise = botnet_with_a_cover(days, 20)
    reads, plan = [], cbb.plan
    monkeypatch.setattr(cbb, "plan", lambda units, b: reads.append(units) or plan(units, b))
    (scan,) = cb.collab_scans(lf, telescope_size=tm.T, query=tm.QUERIES["burst"]).candidates
    assert scan.sources == tuple(sorted(2 * 10**9 + m for m in range(5))) and scan.union == tm.T
    assert scan.day == dt.date(2024, 2, 21) and scan.cover_multiple == 1
    units = reads[0]
    assert units.height > days // 3  # the botnet's cluster in spans of two steps
    assert units["packets"].max() < noise.height / 3  # no span holds the weeks


def canonical(frame: pl.DataFrame) -> set[tuple]:
    """*frame*'s windows whatever their ids: each a frozenset of its rows but the ``wid``."""
    return {frozenset(part.drop("wid").iter_rows()) for _w, part in frame.group_by("wid")}


HOUR = 3_600 * 10**6
big_row = st.tuples(st.integers(0, 3), st.integers(0, 12 * STEP), st.integers(0, 4 * STEP), st.integers(1, 4_000))


@settings(max_examples=150, deadline=None)
@given(st.lists(big_row, min_size=1, max_size=12), st.integers(1, 12_000))
def test_a_window_past_the_budget_is_cut_in_spans_of_a_day_or_two(rows, budget):
    win = windows(rows)
    out = cbu.sliced(win, budget=budget)
    totals = dict(win.group_by("wid").agg(pl.col("packets").sum()).iter_rows())
    big = {w for w, p in totals.items() if p > budget}
    # a window within the budget is cut as ever (the three-day step)
    small = win.filter(~pl.col("wid").is_in(list(big)))
    of = dict(zip(win["src"], win["wid"]))  # each row its own source: the window each part comes from
    from_small = out.filter(pl.col("src").replace_strict(of, return_dtype=pl.UInt32).is_in(list(set(of.values()) - big)))
    assert canonical(from_small) == canonical(cbu.sliced(small) if small.height else small)
    day = cbu.FINE_STEPS_US[-1] * 2
    for w in big:
        src = win.filter(pl.col("wid") == w)
        a, b = src["start_us"].min(), src["end_us"].max()
        length = b - a + 1
        pieces = out.filter(pl.col("src").is_in(src["src"].implode()))
        spans = pieces.group_by("wid").agg(pl.col("start_us").min().alias("a"), pl.col("end_us").max().alias("b"))
        longest = (spans["b"] - spans["a"] + 1).max()
        if length <= day:  # a day or less: whole
            assert canonical(pieces) == canonical(src)
            continue
        # spans of two days at most; of one day when two days' share of the window's packets passes the budget
        assert longest <= 2 * day
        if totals[w] * min(1.0, 2 * day / length) > budget:
            assert longest <= day
        elif (src["end_us"] - src["start_us"]).max() >= 3 * day:  # two days fit: spans of two days (one lies inside)
            assert longest == 2 * day
        for s, a0, b0 in src.select("src", "start_us", "end_us").iter_rows():  # every 12 hours inside one span
            for lo in {a0, (a0 + b0) // 2, max(a0, b0 - 12 * HOUR)}:
                hi = min(b0, lo + 12 * HOUR)
                assert pieces.filter((pl.col("src") == s) & (pl.col("start_us") <= lo) & (pl.col("end_us") >= hi)).height


def test_a_botnet_past_the_budget_is_read_a_day_at_a_time_and_its_cover_found(monkeypatch):
    days = 12
    lf, noise = botnet_with_a_cover(days, 8)
    per_day = noise.height // days
    monkeypatch.setattr(cbu, "FINE_SLICE_PACKETS", 3 * per_day)  # two days fit, six do not
    reads, plan = [], cbb.plan
    monkeypatch.setattr(cbb, "plan", lambda units, b: reads.append(units) or plan(units, b))
    (scan,) = cb.collab_scans(lf, telescope_size=tm.T, query=tm.QUERIES["burst"]).candidates
    assert scan.sources == tuple(sorted(2 * 10**9 + m for m in range(5))) and scan.union == tm.T
    units = reads[0]
    assert units["packets"].max() <= 2.6 * per_day + tm.T  # two days of the botnet (and the cover), not six
    monkeypatch.setattr(cbu, "FINE_SLICE_PACKETS", per_day)  # not even a day fits: a day at a time
    reads.clear()
    (scan,) = cb.collab_scans(lf, telescope_size=tm.T, query=tm.QUERIES["burst"]).candidates
    assert scan.sources == tuple(sorted(2 * 10**9 + m for m in range(5))) and scan.union == tm.T
    assert reads[0]["packets"].max() <= 1.3 * per_day + tm.T
