"""Bursts and ``--window burst``: the cutting rule (floor, ceiling, midnight), the planted classes
calendar days and rolling windows miss (re-sharded rounds, drift across days, trickle plus sweep,
in noise), the rollup's tables against the packets, and burst mode finding everything the
calendar day finds on the paper shapes and the sample's ground truth."""

from __future__ import annotations

import datetime as dt
import inspect
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import test_analysis_collab as tac
from clihelp import SAMPLE, run
from scantui.analysis import bursts as bw
from scantui.analysis import collab as cb
from scantui.analysis import collab_burst_sums as cbs
from scantui.analysis import collab_bursts as cbu
from scantui.analysis.collab_query import make_query
from scantui.analysis.rollup_cache import open_rollup
from scantui.errors import InputError
from scantui.io.loader import open_inputs
from scantui.sample import planted_bursts as pb

S = 1_000_000
MIN = 60 * S
DAY0 = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
T0 = (DAY0 - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def probe_rows(src: int, times_us, port: int = 80) -> pl.DataFrame:
    n = len(times_us)
    return pl.DataFrame({
        "src": pl.Series([src] * n, dtype=pl.UInt32), "dport": pl.Series([port] * n, dtype=pl.UInt16),
        "day": pl.Series([(DAY0 + dt.timedelta(microseconds=int(t) - T0)).date() for t in times_us], dtype=pl.Date),
        "t": pl.Series(list(times_us), dtype=pl.Int64), "dst": pl.Series(range(n), dtype=pl.UInt32),
    })


def spans(df: pl.DataFrame) -> list[tuple[int, int]]:
    return [((a - T0) // S, (b - T0) // S) for a, b in df.sort("start_us").select("start_us", "end_us").iter_rows()]


# ---------------------------------------------------------------- the cutting rule


def test_a_steady_source_is_cut_at_the_floor_and_a_slow_one_at_the_ceiling():
    # one probe a second: median gap 1 s, threshold 20 s -> the floor (5 min); a 4 min pause stays, a 6 min one cuts
    fast = [T0 + 3600 * S + i * S for i in range(100)]
    fast += [fast[-1] + 4 * MIN + i * S for i in range(100)]
    fast += [fast[-1] + 6 * MIN + i * S for i in range(100)]
    got = bw.day_bursts(probe_rows(1, fast).lazy()).collect()
    assert spans(got) == [(3600, 3600 + 99 + 240 + 99), (3600 + 99 + 240 + 99 + 360, 3600 + 99 + 240 + 99 + 360 + 99)]
    assert got.sort("start_us")["packets"].to_list() == [200, 100] and set(got["thr_us"]) == {bw.FLOOR_US}
    # one probe every 10 min: 20 x 10 min is above the ceiling (1 h); a 50 min silence stays, a 2 h one cuts
    slow = [T0 + 3600 * S + i * 10 * MIN for i in range(12)]
    slow += [slow[-1] + 50 * MIN + i * 10 * MIN for i in range(3)]
    slow += [slow[-1] + 120 * MIN + i * 10 * MIN for i in range(3)]
    got = bw.day_bursts(probe_rows(2, slow).lazy()).collect()
    assert got.height == 2 and got.sort("start_us")["packets"].to_list() == [15, 3] and set(got["thr_us"]) == {bw.CEIL_US}


def test_single_probes_are_kept_only_at_the_day_edges():
    lone = [T0 + 2 * MIN, T0 + 12 * 3600 * S, T0 + 86_400 * S - 3 * MIN]
    got = pl.concat([bw.day_bursts(probe_rows(10 + i, [t]).lazy()).collect() for i, t in enumerate(lone)])
    assert sorted(got["src"].to_list()) == [10, 12]


def test_bursts_join_across_midnight_when_the_silence_is_short_for_both_days():
    before = [T0 + 86_400 * S - 12 * MIN + i * S for i in range(600)]  # 23:48-23:58
    for gap_min, joined in ((4, True), (6, False)):
        after = [before[-1] + gap_min * MIN + i * S for i in range(100)]
        merged = bw.merge_days(bw.day_bursts(probe_rows(1, before + after).lazy())).collect()
        assert merged.height == (1 if joined else 2), gap_min
        if joined:
            assert merged.row(0, named=True)["dsts"] == 700 and merged["last_day"][0] == dt.date(2024, 2, 2)
    # the smaller threshold rules: a slow source on day 2 (threshold 1 h) does not join a fast day 1 across 20 min
    slow = [before[-1] + 20 * MIN + i * 10 * MIN for i in range(10)]
    assert bw.merge_days(bw.day_bursts(probe_rows(1, before + slow).lazy())).collect().height == 2


# ---------------------------------------------------------------- the planted classes


@pytest.fixture(scope="module")
def planted():
    return pb.planted()


def _find(lf, **query) -> list:
    return cb.collab_scans(lf, telescope_size=pb.T, query=cb.CollabQuery(**query)).candidates


def _hits(truth, candidates, slack_us=30 * MIN):
    """(the truth rows found, the candidates matching none): same port and members, the span within *slack*."""
    found, extra = [], []
    for c in candidates:
        match = [t for t in truth if t["port"] == c.port and t["sources"] == c.sources
                 and abs(c.start_us - t["start"]) <= slack_us and abs(c.end_us - t["end"]) <= slack_us]
        (found.extend(match) if match else extra.append(c))
    return found, extra


def test_burst_windows_find_every_planted_class_with_no_false_candidate(planted):
    df, truth = planted
    cands = _find(df.lazy(), bursts=True)
    found, extra = _hits(truth, cands)
    assert not extra, [(c.port, c.day, c.key.text, c.source_ips) for c in extra]
    assert sorted(t["cls"] for t in found) == sorted(t["cls"] for t in truth) and len(cands) == len(truth) == 7
    assert {c.window for c in cands} == {"burst"}
    rounds = sorted((c for c in cands if c.port == 6379), key=lambda c: c.start_us)
    assert [c.start.hour for c in rounds] == [2, 5] and all(c.excluded_standalone == (pb.ip("45.33.10.99"),) for c in rounds)
    drift = sorted((c for c in cands if c.port == 8443), key=lambda c: c.start_us)
    assert [c.day for c in drift] == [dt.date(2024, 3, 4 + d) for d in range(4)]  # the day each run starts
    assert all(c.end.date() == c.day + dt.timedelta(days=1) for c in drift)
    sweep = next(c for c in cands if c.port == 5900)
    assert sweep.day == dt.date(2024, 3, 6) and sweep.cover_multiple == 1 and sweep.timing == "parallel"


def test_calendar_day_and_rolling_windows_miss_the_planted_classes(planted):
    df, truth = planted
    assert _find(df.lazy()) == []  # rounds: ~1.5 T in the day; drift: every run crosses midnight; trickle: Σ too high
    rolling = _find(df.lazy(), window_us=cb.parse_window("24h"))
    found, extra = _hits(truth, rolling)
    assert not extra and {t["cls"] for t in found} == {"drift"} and len(found) < 4  # a drifted run breaks a window


def test_the_rollup_tables_give_the_same_bursts_and_candidates(planted, tmp_path, monkeypatch):
    df, _truth = planted
    path = tmp_path / "planted.parquet"
    df.write_parquet(path)
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    rollup = open_rollup(open_inputs([path]))
    assert rollup.bursts is not None and set(rollup.bursts.collect()["day"].unique()) == {
        dt.date(2024, 3, 4) + dt.timedelta(days=d) for d in range(5)}
    order = ["src", "dport", "start_us"]
    assert bw.merge_days(rollup.bursts).collect().sort(order).equals(bw.bursts_of(df.lazy()).collect().sort(order))
    query = cb.CollabQuery(bursts=True)
    from_rollup = cb.collab_scans(rollup.packet_source(), port_day=rollup.port_day, enrichment=rollup.enrichment,
                                  telescope_size=pb.T, query=query, sums=rollup.collab_sums, bursts=rollup.bursts)
    assert from_rollup.candidates == _find(df.lazy(), bursts=True)
    # only the clusters' packets are read: a fraction of the probes
    assert from_rollup.stats["packets_read"] < df.height / 2
    narrowed = cb.collab_scans(rollup.packet_source(), port_day=rollup.port_day, enrichment=rollup.enrichment,
                               telescope_size=pb.T, query=cb.CollabQuery(bursts=True, ports=(8443,)), bursts=rollup.bursts)
    assert [c.port for c in narrowed.candidates] == [8443] * 4


def test_the_burst_prefilter_is_a_superset(planted, monkeypatch):
    df, _truth = planted
    pruned = cb.collab_scans(df.lazy(), telescope_size=pb.T, query=cb.CollabQuery(bursts=True))
    windows = cbu.burst_windows
    monkeypatch.setattr(cbu, "burst_windows", lambda *args, **kw: windows(*args, **kw, prune=False))
    every = cb.collab_scans(df.lazy(), telescope_size=pb.T, query=cb.CollabQuery(bursts=True))
    assert every.candidates == pruned.candidates and len(pruned.candidates) == 7
    assert every.stats["windows"] > 3 * pruned.stats["windows"] and every.stats["packets_read"] > pruned.stats["packets_read"]


# ---------------------------------------------------------------- burst mode finds what the calendar day finds


def _paper_cases():
    cases = []
    for name, fn in sorted(vars(tac).items()):
        if not name.startswith("test_") or not callable(fn):
            continue
        params = inspect.signature(fn).parameters
        marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
        if not params:
            cases.append(pytest.param(name, {}, id=name))
        elif marks and set(params) == {n.strip() for n in marks[0].args[0]}:
            names = list(params)
            cases += [pytest.param(name, dict(zip(names, values)), id=f"{name}-{i}") for i, values in enumerate(marks[0].args[1])]
    return cases


@pytest.mark.parametrize(("name", "kwargs"), _paper_cases())
def test_burst_windows_find_every_paper_shape_the_calendar_day_finds(name, kwargs, monkeypatch):
    compared = []

    def both(lf, **query):
        query.setdefault("by", ("prefix24", "asn"))  # as tac.find: the thesis' location rule unless a test names by
        day = cb.collab_scans(lf, telescope_size=tac.T, query=cb.CollabQuery(**query))
        if "window_us" not in query:
            burst = cb.collab_scans(lf, telescope_size=tac.T, query=cb.CollabQuery(bursts=True, **query))
            assert {(c.port, c.sources) for c in day.candidates} <= {(c.port, c.sources) for c in burst.candidates}
            compared.append(len(day.candidates))
        return day

    monkeypatch.setattr(tac, "find", both)
    getattr(tac, name)(**kwargs)


def test_burst_windows_find_the_sample_ground_truth_and_the_midnight_scan(sample_collab_runs, shared_rollup_cache,
                                                                         monkeypatch):
    truth, runs = sample_collab_runs
    rollup = open_rollup(open_inputs([Path(SAMPLE)]))
    size = runs["day"].telescope_size
    burst = cb.collab_scans(rollup.packet_source(), port_day=rollup.port_day, enrichment=rollup.enrichment,
                            telescope_size=size, query=cb.CollabQuery(bursts=True), sums=rollup.collab_sums,
                            bursts=rollup.bursts, walks=rollup.zmap_walks, burst_sums=rollup.burst_sums)
    # its /24 pass prunes by the sums
    assert rollup.burst_sums is not None and rollup.burst_sums.days * (cbs.FLOOR - 1) < (1 - cb.STUDY_LOW) * size
    located = truth["collab_scans"]  # the default (--by all) finds the fingerprint pool and the ZMap walk across ASes too
    hits, extra = tac._match(located, burst.candidates)
    assert not extra and len(hits) == len(located) == len(burst.candidates)  # MID-01 and issue 13's shapes too
    key = lambda c: (c.port, c.day, c.sources)  # noqa: E731
    by_burst = {key(c): c for c in burst.candidates}
    for c in runs["day"].candidates:  # every calendar-day candidate, with the same span, timing and decoys left out
        b = by_burst[key(c)]
        assert (b.start_us, b.end_us, b.timing, b.union, b.excluded_standalone) == (
            c.start_us, c.end_us, c.timing, c.union, c.excluded_standalone)
    assert burst.stats["packets_read"] < truth["probes"] / 4
    # the pre-filter keeps every cover: searching every cluster of every (key, port) finds the same candidates
    windows = cbu.burst_windows
    monkeypatch.setattr(cbu, "burst_windows", lambda *args, **kw: windows(*args, **kw, prune=False))
    monkeypatch.setattr(cbu, "burst_picks", lambda days, *args: (days.select("src", "dport").unique().collect(), None))
    every = cb.collab_scans(rollup.packet_source(), port_day=rollup.port_day, enrichment=rollup.enrichment,
                            telescope_size=size, query=cb.CollabQuery(bursts=True), bursts=rollup.bursts,
                            walks=rollup.zmap_walks)
    assert every.candidates == burst.candidates and every.stats["windows"] > 100 * burst.stats["windows"]


def _sample_run(truth, query):
    rollup = open_rollup(open_inputs([Path(SAMPLE)]))
    return cb.collab_scans(rollup.packet_source(), port_day=rollup.port_day, enrichment=rollup.enrichment,
                           telescope_size=truth["telescope"]["size"], query=query, sums=rollup.collab_sums,
                           walks=rollup.zmap_walks, fingerprints=rollup.fingerprints, bursts=rollup.bursts)


def test_burst_windows_by_all_find_every_sample_scan_with_its_key(sample_collab_runs, shared_rollup_cache):
    """Issue 13's classes in the sample (re-sharded rounds, drift, trickle plus sweep, two groups in one /24,
    a fingerprint pool across ASes): the default burst windows with --by all find every planted scan,
    each by the key kind its truth names, the split groups with their reasons, and nothing else."""
    truth, _runs = sample_collab_runs
    scans = truth["collab_scans"]
    assert {s.get("class") for s in scans} >= {"resharded_rounds", "drift", "trickle_sweep", "split_groups",
                                               "fingerprint_pool"}
    found = _sample_run(truth, make_query(by="all")).candidates
    hits, extra = tac._match(scans, found)  # also checks key kind and key text (the fingerprint's signature)
    assert not extra, [(c.port, c.day, c.key.text) for c in extra]
    assert hits == [s["id"] for s in scans] and len(found) == len(scans)
    by_id = {(c.port, c.day.isoformat(), c.sources): c for c in found}
    for s in scans:
        c = by_id[(s["port"], s["day"], tuple(sorted(tac.ip(x) for x in s["sources"])))]
        if s.get("class") == "split_groups":  # found as two scans, and why
            assert c.reasons and all(r.startswith("split from a 2-fold cover of 5 sources") for r in c.reasons), s["id"]
        elif s["cover_multiple"] == 1:
            assert not c.reasons, s["id"]


@pytest.mark.parametrize("window", ["day", "24h", "48h"])
def test_window_modes_miss_what_the_sample_truth_says(sample_collab_runs, shared_rollup_cache, window):
    """Calendar days and rolling windows miss the scans whose truth lists them in ``missed_by`` (re-sharded
    rounds, drift, trickle plus sweep, the midnight burst) and find every other scan (the default, --by all: the
    fingerprint pool across ASes too)."""
    truth, runs = sample_collab_runs
    result = runs[window] if window in runs else _sample_run(truth, make_query(window=window))
    located = truth["collab_scans"]
    expected = [s for s in located if window not in s.get("missed_by", [])]
    missed = [s for s in located if window in s.get("missed_by", [])]
    assert {s["group"] for s in missed} >= ({"MID", "RSH", "DFT", "TRK"} if window == "day" else {"RSH", "DFT", "TRK"})
    hits, extra = tac._match(expected, result.candidates)
    assert not extra and hits == [s["id"] for s in expected]
    for s in missed:  # no candidate of its port holds its members within its hours
        members = {tac.ip(x) for x in s["sources"]}
        assert not [c for c in result.candidates if c.port == s["port"] and members & set(c.sources)
                    and c.start_us <= tac.us(s["end"]) and c.end_us >= tac.us(s["start"])], s["id"]


# ---------------------------------------------------------------- the option


def test_window_burst_option_and_its_errors(capsys, shared_rollup_cache):
    query = make_query(window="burst")
    assert query.bursts and query.window_us is None and query.window_label == "burst"
    assert not make_query(window="day").bursts and make_query(window="24h").window_label == "24h"
    with pytest.raises(InputError, match="burst"):
        make_query(window="bursty")
    code, out, err = run(["collab", SAMPLE, "--window", "burst", "--json", "--port", "4443"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert [(c["day"], c["window"]) for c in doc] == [("2024-02-08", "burst"), ("2024-02-13", "burst")]
    assert np.all([c["sources"] == ["51.75.146.101", "51.75.146.102", "51.75.146.103"] for c in doc])
