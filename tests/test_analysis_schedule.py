"""Schedule classes by FFT of the daily activity series (scantui.analysis.schedule)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from scantui.analysis.schedule import candidate_periods, classify, fft_size, period_scores, schedules, unique_rows


def series(n_days: int, days) -> np.ndarray:
    a = np.zeros(n_days, dtype=bool)
    a[list(days)] = True
    return a


def one(n_days: int, days) -> tuple[str, int, float]:
    schedule, period, strength = classify(series(n_days, days)[None, :])
    return schedule[0], int(period[0]), float(strength[0])


@pytest.mark.parametrize("n_days", [21, 30, 60, 240])
def test_every_day_is_continuous(n_days):
    assert one(n_days, range(n_days))[:2] == ("continuous", 1)


def test_most_days_with_gaps_is_continuous():
    assert one(21, [d for d in range(21) if d not in (4, 11, 12)])[:2] == ("continuous", 1)


@pytest.mark.parametrize(("n_days", "period", "offset"), [(21, 5, 0), (21, 7, 2), (21, 7, 1), (21, 5, 2), (21, 3, 1),
                                                         (30, 6, 0), (60, 10, 3), (240, 30, 5), (28, 7, 0)])
def test_combs_are_periodic_with_their_period(n_days, period, offset):
    assert one(n_days, range(offset, n_days, period))[:2] == ("periodic", period)


def test_comb_with_a_missing_tooth_stays_periodic():
    days = [d for d in range(0, 60, 5) if d != 25]
    assert one(60, days)[:2] == ("periodic", 5)


def test_two_day_pulses_every_week_are_periodic():
    days = [d for start in range(0, 56, 7) for d in (start, start + 1)]
    assert one(56, days)[:2] == ("periodic", 7)


@pytest.mark.parametrize("days", [[], [4], [8, 15], [3, 4]])
def test_fewer_than_three_active_days_are_sporadic(days):
    schedule, period, strength = one(21, days)
    assert (schedule, period) == ("sporadic", 0) and np.isnan(strength)


def test_irregular_routine_is_acyclic():
    # the sample's linux-acyclic scanner: the same irregular days on every port
    assert one(21, [0, 1, 3, 7, 8, 12, 13, 14, 19])[0] == "acyclic"


def test_random_sparse_days_are_mostly_acyclic():
    rng = np.random.default_rng(3)
    act = np.zeros((500, 21), dtype=bool)
    for row in act:
        row[rng.choice(21, 5, replace=False)] = True
    schedule, _, _ = classify(act)
    assert (schedule == "acyclic").mean() > 0.85


def test_scores_are_normalized_to_a_perfect_comb():
    scores = period_scores(np.stack([series(21, range(21)), series(21, range(0, 21, 7))]))
    periods = candidate_periods(21)
    assert scores.max() <= 1.0 + 1e-9
    assert scores[0, 0] == pytest.approx(1.0)  # every day: the DC term is the share of days active
    assert scores[1, list(periods).index(7)] == pytest.approx(1.0, abs=0.01)
    assert scores[1, 0] == pytest.approx(3 / 21)


def test_scores_in_chunks_on_two_threads_are_the_same_values(monkeypatch):
    """Each row's scores are its own: the spectrum cut into chunks (scored on two threads) gives the same floats."""
    import scantui.analysis.schedule as sched

    rng = np.random.default_rng(11)
    act = rng.random((700, 84)) < rng.random((700, 1))
    monkeypatch.setattr(sched, "_CHUNK_BYTES", 1 << 40)  # one chunk
    whole = period_scores(act)
    monkeypatch.setattr(sched, "_CHUNK_BYTES", 2 * 16 * (fft_size(84) // 2 + 1) * 64)  # 64 rows a chunk: 11 chunks
    chunked = period_scores(act)
    assert np.array_equal(chunked, whole) and whole.shape == (700, 42)
    assert np.array_equal(chunked[[5, 321]], period_scores(act[[5, 321]]))


@pytest.mark.parametrize("n_days", [21, 84, 365])
def test_a_rows_scores_do_not_depend_on_the_rows_beside_it(n_days):
    """A row scored alone (a chunk or a merge range of one source) gets the floats it gets in a block:
    numpy's mean over a single row sums pairwise, over a block column by column (last-bit differences)."""
    rng = np.random.default_rng(n_days)
    act = rng.random((120, n_days)) < rng.random((120, 1))
    block = period_scores(act)
    alone = np.vstack([period_scores(act[i:i + 1]) for i in range(len(act))])
    assert np.array_equal(alone, block)
    pairs = np.vstack([period_scores(act[i:i + 2]) for i in range(0, len(act), 2)])
    assert np.array_equal(pairs, block)


def test_fft_size_and_periods():
    assert fft_size(21) == 256 and fft_size(240) == 2048
    assert list(candidate_periods(21)) == list(range(1, 11))
    assert list(candidate_periods(2)) == [1]


def test_identical_rows_get_identical_results_and_empty_input():
    act = np.stack([series(21, range(0, 21, 5))] * 3 + [series(21, range(21))])
    schedule, period, _ = classify(act)
    assert list(schedule) == ["periodic"] * 3 + ["continuous"] and list(period) == [5, 5, 5, 1]
    schedule, period, strength = classify(np.zeros((0, 21), dtype=bool))
    assert len(schedule) == len(period) == len(strength) == 0


def test_schedules_frame():
    start = dt.date(2024, 2, 1)
    rows = [(1, start + dt.timedelta(days=d)) for d in range(0, 21, 7)]
    rows += [(2, start + dt.timedelta(days=d)) for d in range(21)] + [(2, start)]  # a duplicate is ignored
    rows += [(3, start + dt.timedelta(days=40))]  # outside the window: no activity in it
    frame = pl.DataFrame(rows, schema={"src": pl.UInt32, "day": pl.Date}, orient="row")
    out = schedules(frame, start, 21).sort("src")
    assert out["src"].to_list() == [1, 2]
    assert out["schedule"].to_list() == ["periodic", "continuous"]
    assert out["period_days"].to_list() == [7, 1]
    assert out["schedule_strength"][1] > 1.5


@pytest.mark.parametrize("n_days", [1, 7, 21, 64, 65, 84, 130])
def test_unique_rows_are_numpys_unique_rows_in_the_same_order(n_days):
    """The distinct activity rows (each scored once) are numpy's, in its order, with the same inverse."""
    rng = np.random.default_rng(n_days)
    for density in (0.05, 0.5, 0.95):
        act = rng.random((600, n_days)) < density
        act[200:400] = act[:200]  # repeated rows
        want, want_inverse = np.unique(act, axis=0, return_inverse=True)
        got, inverse = unique_rows(act)
        assert got.dtype == bool and np.array_equal(got, want) and np.array_equal(inverse, want_inverse.reshape(-1))
    got, inverse = unique_rows(np.zeros((0, n_days), dtype=bool))
    assert got.shape == (0, n_days) and len(inverse) == 0
