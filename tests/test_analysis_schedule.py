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


def _reference_scores(act: np.ndarray) -> np.ndarray:
    """The module doc's score(P), a period at a time (a block's mean adds a period's columns left to right)."""
    rows, n_days = act.shape
    m = fft_size(n_days)
    spec = np.abs(np.fft.rfft(act.astype(np.float64), n=m, axis=1))
    n = act.sum(axis=1).astype(np.float64)
    out = np.zeros((rows, n_days // 2 or 1))
    for j, p in enumerate(candidate_periods(n_days)):
        bins = [0] if p == 1 else [int(round(k * m / p)) for k in range(1, p // 2 + 1)]
        total = spec[:, bins[0]].copy()
        for b in bins[1:]:
            total += spec[:, b]
        out[:, j] = total / len(bins) / np.maximum(n, n_days / p)
    return out


@pytest.mark.parametrize("n_days", [1, 2, 5, 21, 84, 85, 130])
def test_scores_are_the_reference_floats(n_days):
    """The harmonic sums, one rank of harmonics at a time for every period, are each period's sum left to right."""
    rng = np.random.default_rng(n_days + 7)
    act = rng.random((300, n_days)) < rng.random((300, 1))
    assert np.array_equal(period_scores(act), _reference_scores(act))


def test_rivals_are_the_best_unrelated_period():
    from scantui.analysis.schedule import _rivals

    rng = np.random.default_rng(4)
    periods = candidate_periods(84)
    scores = rng.random((500, len(periods)))
    best_i = rng.integers(0, len(periods), 500)
    p, b = periods[None, :], periods[best_i][:, None]
    related = (((p % b == 0) | (b % p == 0)) & (p >= 2) & (b >= 2)) | (p == b)
    assert np.array_equal(_rivals(scores, periods, best_i), np.where(related, -np.inf, scores).max(axis=1))
    assert np.array_equal(_rivals(scores[:, :1], periods[:1], np.zeros(500, dtype=np.intp)), np.full(500, -np.inf))


def _pairs(rng, sources: int, n_days: int):
    keys = rng.choice(1 << 40, sources, replace=False).astype(np.uint64)
    days = rng.integers(0, 12, sources)  # 0 .. 11 active days each: many below three
    key = np.repeat(keys, days)
    col = np.concatenate([rng.choice(n_days, d, replace=False) for d in days])
    # repeated pairs and pairs outside the window are ignored
    key = np.concatenate([key, key[:50], keys[:20], keys[:5]])
    col = np.concatenate([col, col[:50], np.full(20, n_days), np.full(5, -1)])
    order = rng.permutation(len(key))
    return key[order], col[order]


@pytest.mark.parametrize("n_days", [21, 84])
def test_keyed_schedules_are_classify_of_the_activity_rows(n_days, monkeypatch):
    """(key, day) pairs in any order: the sources ascending, each classified as its activity row is, and only
    the sources with three or more active days scored (the others get no row of the matrix)."""
    import scantui.analysis.schedule as sched

    rng = np.random.default_rng(n_days)
    key, col = _pairs(rng, 400, n_days)
    inside = (col >= 0) & (col < n_days)
    srcs, inverse = np.unique(key[inside], return_inverse=True)
    act = np.zeros((len(srcs), n_days), dtype=bool)
    act[inverse, col[inside]] = True
    want = sched.classify_codes(act)
    matrix_rows = []
    unique = sched.unique_rows
    monkeypatch.setattr(sched, "unique_rows", lambda a: matrix_rows.append(a.shape[0]) or unique(a))
    got_srcs, *got = sched.keyed_schedules(key, col, n_days)
    assert np.array_equal(got_srcs, srcs) and got_srcs.dtype == np.uint64
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and np.array_equal(g, w, equal_nan=g.dtype == np.float64)
    assert matrix_rows == [int((act.sum(axis=1) >= 3).sum())] and 0 < matrix_rows[0] < len(srcs)
    # keys too wide to pack with the day: sorted as two columns, the same results
    wide = key + np.uint64(1 << 63)
    wide_srcs, *wide_got = sched.keyed_schedules(wide, col, n_days)
    assert np.array_equal(wide_srcs, srcs + np.uint64(1 << 63))
    assert all(np.array_equal(g, w, equal_nan=g.dtype == np.float64) for g, w in zip(wide_got, want))


def test_keyed_schedules_of_nothing_and_of_sporadic_sources_only():
    from scantui.analysis.schedule import keyed_schedules

    srcs, code, period, strength = keyed_schedules(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), 21)
    assert len(srcs) == len(code) == len(period) == len(strength) == 0
    srcs, code, period, strength = keyed_schedules(np.array([5, 5, 3], dtype=np.uint64), np.array([0, 1, 40]), 21)
    assert srcs.tolist() == [5] and code.tolist() == [2] and period.tolist() == [0] and np.isnan(strength).all()


def test_schedules_frame_ignores_null_sources_and_days():
    start = dt.date(2024, 2, 1)
    rows = [(1, start + dt.timedelta(days=d)) for d in range(0, 21, 7)] + [(None, start), (4, None)]
    frame = pl.DataFrame(rows, schema={"src": pl.UInt32, "day": pl.Date}, orient="row")
    out = schedules(frame, start, 21)
    assert out["src"].to_list() == [1] and out["schedule"].to_list() == ["periodic"] and out.schema["src"] == pl.UInt32
