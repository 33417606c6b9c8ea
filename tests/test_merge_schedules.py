"""The merge's schedules per (src, kind) of ``src_days`` rows (scantui.analysis.merge_sources._schedules)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from scantui.analysis import rollup as ru
from scantui.analysis.merge_sources import _schedules
from scantui.analysis.rollup_layout import SRC_DAYS_SCHEMA
from scantui.analysis.schedule import classify


def test_each_src_kind_is_classified_from_its_own_days():
    """Sources of several kinds, the layers' rows one after the other (not sorted), a day outside the window:
    each (src, kind) gets what classify gives its activity row; fewer than three days, sporadic with nulls."""
    rng = np.random.default_rng(2)
    start, n_days = dt.date(2024, 2, 1), 84
    rows = []
    for src in rng.choice(1 << 32, 300, replace=False).tolist():
        for kind in rng.choice(ru.KINDS, rng.integers(1, len(ru.KINDS) + 1), replace=False).tolist():
            for day in rng.choice(n_days, rng.integers(1, 30), replace=False).tolist():
                rows.append((src, kind, start + dt.timedelta(days=day)))
    rows.append((rows[0][0], rows[0][1], start + dt.timedelta(days=n_days)))  # after the window: ignored
    frame = pl.DataFrame(rows, schema=SRC_DAYS_SCHEMA, orient="row").sample(fraction=1.0, shuffle=True, seed=1)
    out = _schedules(frame, start, n_days).sort("src", "kind")
    inside = frame.filter(pl.col("day") < start + dt.timedelta(days=n_days))
    want = inside.select("src", "kind").unique().sort("src", "kind")
    assert out.select("src", "kind").equals(want) and out.schema["src"] == pl.UInt32
    act = np.zeros((want.height, n_days), dtype=bool)
    at = inside.join(want.with_row_index("i"), on=["src", "kind"])
    act[at["i"].to_numpy(), at.select((pl.col("day") - pl.lit(start)).dt.total_days()).to_series().to_numpy()] = True
    schedule, period, strength = classify(act)
    assert out["schedule"].to_list() == schedule.tolist()
    assert out["period_days"].fill_null(0).to_list() == period.tolist()
    got = out["schedule_strength"].fill_null(np.nan).to_numpy()
    assert np.array_equal(got, np.where(np.isfinite(strength), strength, np.nan), equal_nan=True)
    assert (out.filter(pl.col("schedule") == "sporadic")["schedule_strength"].null_count()
            >= int((act.sum(axis=1) < 3).sum()) > 0)


def test_no_rows_or_no_window():
    empty = pl.DataFrame(schema=SRC_DAYS_SCHEMA)
    for frame, first, n in ((empty, dt.date(2024, 2, 1), 21),
                            (pl.DataFrame([(1, "probe", dt.date(2024, 2, 1))], schema=SRC_DAYS_SCHEMA, orient="row"), None, 0)):
        out = _schedules(frame, first, n)
        assert out.height == 0 and {"src", "kind", "schedule", "period_days", "schedule_strength"} <= set(out.columns)
