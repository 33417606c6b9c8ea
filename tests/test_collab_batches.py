"""Collab's reads a batch at a time (:mod:`scantui.analysis.collab_batches`): the plan puts every unit in one
batch, each within the budget or alone, in order of first day; on the sample's rollup, collab hands its
deduplication the same covers in the same order, and finds the same candidates, whatever the budget (burst,
calendar-day and rolling windows), while no read holds more probes than its batch's estimate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clihelp import SAMPLE
from scantui.analysis import collab as cb
from scantui.analysis import collab_batches as cbb
from scantui.analysis.rollup_cache import open_rollup, telescope_size_estimate
from scantui.io.loader import open_inputs

DAY0 = dt.date(2024, 3, 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 120)), max_size=40), st.integers(1, 300))
def test_the_plan_keeps_each_batch_within_the_budget_or_alone(rows, budget):
    units = pl.DataFrame({"kind": [i % 3 for i in range(len(rows))], "unit": list(range(len(rows))),
                          "day": [DAY0 + dt.timedelta(days=d) for d, _ in rows], "packets": [p for _, p in rows]},
                         schema={"kind": pl.Int32, "unit": pl.UInt32, "day": pl.Date, "packets": pl.Int64})
    batches = cbb.plan(units, budget)
    est = {(k, u): p for k, u, p in units.select("kind", "unit", "packets").iter_rows()}
    day = {(k, u): d for k, u, d in units.select("kind", "unit", "day").iter_rows()}
    got = [(k, u) for b in batches for k, u in b.iter_rows()]
    assert sorted(got) == sorted(est) and len(got) == len(set(got))  # every unit, once
    if not rows:
        assert batches == []
    elif sum(est.values()) <= budget:
        assert len(batches) == 1
    sums = [sum(est[r] for r in b.iter_rows()) for b in batches]
    for i, b in enumerate(batches):
        assert sums[i] <= budget or b.height == 1
        if i + 1 < len(batches):  # greedy: the next batch's first unit did not fit; days never go back
            assert sums[i] + est[next(batches[i + 1].iter_rows())] > budget
            assert max(day[r] for r in b.iter_rows()) <= min(day[r] for r in batches[i + 1].iter_rows())


QUERIES = {
    "burst": cb.CollabQuery(bursts=True),
    "day": cb.CollabQuery(),
    "24h": cb.CollabQuery(window_us=cb.parse_window("24h")),
}


def _spied(monkeypatch, budget):
    """Collab's deduplication input, each read's probes and each batch's estimate, with *budget*."""
    seen = {"raw": [], "reads": [], "estimates": []}
    dedupe, load, plan = cb._dedupe, cb.load_packets, cbb.plan

    def spy_dedupe(raw):
        seen["raw"].append([{k: v for k, v in c.items()} for c in raw])
        return dedupe(raw)

    def spy_load(*args, **kw):
        pk = load(*args, **kw)
        seen["reads"].append(pk.height)
        return pk

    def spy_plan(units, b):
        out = plan(units, b)
        seen["estimates"] += [int(units.join(x, on=["kind", "unit"], how="semi")["packets"].sum()) for x in out]
        return out

    monkeypatch.setattr(cbb, "PACKETS_PER_BATCH", budget)
    monkeypatch.setattr(cb, "_dedupe", spy_dedupe)
    monkeypatch.setattr(cb, "load_packets", spy_load)
    monkeypatch.setattr(cbb, "plan", spy_plan)
    return seen


@pytest.mark.parametrize("window", sorted(QUERIES))
def test_collab_finds_the_same_covers_in_the_same_order_whatever_the_budget(window, shared_rollup_cache, monkeypatch):
    rollup = open_rollup(open_inputs([Path(SAMPLE)]))

    def run(budget):
        with monkeypatch.context() as mp:
            seen = _spied(mp, budget)
            result = cb.collab_scans(rollup.packet_source(), port_day=rollup.port_day, enrichment=rollup.enrichment,
                                     telescope_size=telescope_size_estimate(rollup), query=QUERIES[window],
                                     sums=rollup.collab_sums, walks=rollup.zmap_walks, fingerprints=rollup.fingerprints,
                                     bursts=rollup.bursts, burst_sums=rollup.burst_sums)
        return result, seen

    whole, one = run(10**12)
    assert whole.stats["batches"] == 1 and len(one["reads"]) == 1 and whole.candidates
    largest = max(one["reads"])
    for budget in (1, max(1, largest // 5)):
        cut, seen = run(budget)
        assert seen["raw"] == one["raw"] and cut.candidates == whole.candidates
        assert cut.stats["windows"] == whole.stats["windows"]
        if budget > 1:
            assert max(seen["reads"]) < largest
        if window == "24h":  # groups above the budget: a batch of days at a time (collab_rolling), two passes
            assert budget > 1 or (cut.stats["big_groups"] > 3 and len(seen["reads"]) >= 2 * cut.stats["big_groups"])
            continue
        assert cut.stats["batches"] > 3 and len(seen["reads"]) == cut.stats["batches"]
        # a read holds at most its batch's estimate (with bursts: only the probes inside them)
        assert all(r <= e for r, e in zip(seen["reads"], seen["estimates"], strict=True))


def test_calendar_days_of_one_group_are_read_apart(monkeypatch):
    """A botnet of one AS on one port passes the pre-filter every day: with calendar-day windows each day of its group is
    a unit, so no read holds its weeks; the same candidates as one read (a cover planted on one day among it)."""
    import numpy as np

    import test_collab_cover_multiplicity as tm

    rng = np.random.default_rng(11)
    days, per_day = 14, 80 * 100  # Σ a day above the cover minimum: every day of the group passes
    noise = tm.botnet(rng, 80, 100 * days, days)
    parts = [tm.probes(np.full(len(c), 2 * 10**9 + m), c, tm.T0 + 9 * tm.DAY + rng.integers(0, 3 * 3600 * 10**6, len(c)))
             for m, c in enumerate(np.array_split(rng.permutation(tm.T), 4))]
    lf = pl.concat([*parts, noise]).sort("ts").lazy()
    query = tm.QUERIES["day"]
    whole = cb.collab_scans(lf, telescope_size=tm.T, query=query)
    assert [c.day for c in whole.candidates] == [dt.date(2024, 2, 10)] and whole.stats["batches"] == 1
    reads, load = [], cb.load_packets
    monkeypatch.setattr(cb, "load_packets", lambda *a, **k: reads.append(load(*a, **k).height) or load(*a, **k))
    monkeypatch.setattr(cbb, "PACKETS_PER_BATCH", 2 * per_day)
    cut = cb.collab_scans(lf, telescope_size=tm.T, query=query)
    assert cut.candidates == whole.candidates and cut.stats["batches"] >= days // 2
    assert max(reads) <= 2 * per_day + tm.T < noise.height / 4


def test_a_rolling_window_group_above_the_budget_is_read_a_batch_of_days_at_a_time(monkeypatch):
    """With rolling windows a group's anchors need all its probes: one above the budget is read in two passes over
    batches of days (collab_rolling), and gives the windows and candidates of one read."""
    import numpy as np

    import test_collab_cover_multiplicity as tm

    rng = np.random.default_rng(12)
    days, per_day = 14, 80 * 100
    noise = tm.botnet(rng, 80, 100 * days, days)
    parts = [tm.probes(np.full(len(c), 2 * 10**9 + m), c,
                       tm.T0 + 9 * tm.DAY + 20 * 3600 * 10**6 + rng.integers(0, 8 * 3600 * 10**6, len(c)))
             for m, c in enumerate(np.array_split(rng.permutation(tm.T), 4))]  # across midnight into day 11
    lf = pl.concat([*parts, noise]).sort("ts").lazy()
    query = tm.QUERIES["24h"]
    whole = cb.collab_scans(lf, telescope_size=tm.T, query=query)
    assert len(whole.candidates) == 1 and whole.stats["big_groups"] == 0
    reads, load = [], cb.load_packets
    monkeypatch.setattr(cb, "load_packets", lambda *a, **k: reads.append(load(*a, **k).height) or load(*a, **k))
    monkeypatch.setattr(cbb, "PACKETS_PER_BATCH", 3 * per_day)
    cut = cb.collab_scans(lf, telescope_size=tm.T, query=query)
    assert cut.candidates == whole.candidates and cut.stats["windows"] == whole.stats["windows"]
    assert cut.stats["big_groups"] == 1 and len(reads) >= 2 * days // 3
    assert max(reads) <= 3 * per_day + tm.T < noise.height / 3
