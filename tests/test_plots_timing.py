"""The per-IP timing plot: binning, row order, zoom, text rendering and the time axis."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scantui.plots.ticks import int_ticks, nice_ticks
from scantui.plots.timing import axis_labels, render_row, render_rows, resample, timing_grid

T0 = dt.datetime(2024, 2, 1, 10, 0, tzinfo=dt.timezone.utc)
T0_US = int(T0.timestamp()) * 1_000_000
S = 1_000_000


def packets(offsets_us, srcs, *, lazy: bool = False) -> pl.DataFrame | pl.LazyFrame:
    """A packet table with only ``ts`` (Datetime us UTC, T0 + offset) and ``src`` (UInt32)."""
    ts = pl.Series("ts", np.asarray(offsets_us, dtype=np.int64) + T0_US).cast(pl.Datetime("us", "UTC"))
    df = pl.DataFrame({"ts": ts, "src": pl.Series("src", np.asarray(srcs, dtype=np.uint32))})
    return df.lazy() if lazy else df


def sequential_members() -> pl.DataFrame:
    """Sources 30, 20, 10 take turns: 100 packets 10 s apart each, over 3000 s."""
    i = np.arange(300)
    return packets(i * 10 * S, np.array([30, 20, 10])[i // 100])


def test_parallel_rows_are_fully_marked_over_the_same_span():
    i = np.arange(600)
    grid = timing_grid(packets(i * 5 * S, 100 + i % 3, lazy=True), bins=60)
    rows = render_rows(grid, 30)
    assert grid.sources == [100, 101, 102]
    assert rows == ["█" * 30] * 3


def test_sequential_rows_take_turns():
    grid = timing_grid(sequential_members(), bins=30, start_us=T0_US, end_us=T0_US + 3000 * S)
    assert grid.sources == [30, 20, 10]  # first seen, not IP order
    assert render_rows(grid, 30) == [
        "█" * 10 + " " * 20,
        " " * 10 + "█" * 10 + " " * 10,
        " " * 20 + "█" * 10,
    ]
    assert grid.row_labels() == ["0.0.0.30", "0.0.0.20", "0.0.0.10"]
    assert timing_grid(sequential_members(), order="ip").sources == [10, 20, 30]


def test_bursts_and_rests():
    # DO01-like: 5 bursts of 20 packets, each followed by a rest as long as the burst.
    offsets = np.concatenate([np.arange(20) * S + b * 40 * S for b in range(5)])
    grid = timing_grid(packets(offsets, np.full(100, 7)), bins=10, start_us=T0_US, end_us=T0_US + 200 * S)
    assert render_rows(grid, 10) == ["█ " * 5]
    assert render_rows(grid, 20) == ["██  " * 5]  # fewer bins than cells: a bin spans two cells


def test_intensity_is_log_scaled_against_the_peak():
    assert render_row(np.array([0, 1, 10, 100, 1000]), 5, peak=1000) == " ▁▃▆█"
    assert render_row(np.array([0, 1, 10, 100, 1000]), 5, peak=1) == " ████"  # clipped
    assert render_row(np.array([1, 1, 1, 1]), 2, peak=2) == "██"  # two bins summed per cell
    assert render_row(np.array([3]), 0, peak=3) == ""


def test_rows_share_one_scale():
    # A quiet source beside a busy one stays visibly quiet, but never blank.
    offsets = np.concatenate([np.arange(10) * 10 * S, np.repeat(np.arange(10) * 10 * S, 500)])
    srcs = np.concatenate([np.full(10, 1), np.full(5000, 2)])
    rows = render_rows(timing_grid(packets(offsets, srcs), bins=10), 10)
    assert rows == ["▁" * 10, "█" * 10]


def test_resample_sums_cells():
    counts = np.arange(12).reshape(2, 6)
    assert resample(counts, 3).tolist() == [[1, 5, 9], [13, 17, 21]]
    assert resample(counts, 12).sum() == 2 * counts.sum()  # every bin shown in two cells


def test_zoom_keeps_rows_and_shows_the_middle_member():
    grid = timing_grid(sequential_members(), bins=30, start_us=T0_US, end_us=T0_US + 3000 * S)
    start, end = grid.cells_range_us(10, 19, 30)
    assert (start, end) == (T0_US + 1000 * S, T0_US + 2000 * S)
    zoomed = timing_grid(sequential_members(), bins=50, start_us=start, end_us=end, sources=grid.sources, order="given")
    assert zoomed.sources == grid.sources
    assert render_rows(zoomed, 25) == [" " * 25, "█" * 25, " " * 25]
    assert zoomed.counts.sum() == 100


def test_zoom_that_excludes_everything():
    df = sequential_members()
    empty = timing_grid(df, start_us=0, end_us=10 * S)
    assert empty.sources == [] and empty.counts.shape == (0, 200)
    assert render_rows(empty, 40) == [] and len(axis_labels(empty, 40)) == 40
    kept = timing_grid(df, start_us=0, end_us=10 * S, sources=[10, 20], order="given")
    assert kept.sources == [10, 20] and kept.counts.sum() == 0
    assert render_rows(kept, 5) == [" " * 5] * 2


def test_one_packet_and_identical_timestamps():
    one = timing_grid(packets([0], [5]))
    assert (one.span_us, one.counts.sum(), one.sources) == (1, 1, [5])
    assert render_rows(one, 8) == ["█" + " " * 7]
    assert axis_labels(one, 12) == "10:00:00    "
    same = timing_grid(packets([0] * 5, [9, 3, 9, 3, 3]), bins=4)
    assert same.sources == [3, 9]  # a tie in first seen falls back to IP order
    assert same.counts[:, 0].tolist() == [3, 2] and same.counts.sum() == 5


def test_hundreds_of_sources():
    rng = np.random.default_rng(3)
    srcs = rng.permutation(np.arange(1, 331)).repeat(4)
    offsets = np.arange(len(srcs)) * S
    grid = timing_grid(packets(offsets, srcs), bins=100)
    assert grid.counts.shape == (330, 100)
    assert grid.sources == list(dict.fromkeys(srcs.tolist()))
    assert grid.counts.sum(axis=1).tolist() == [4] * 330
    assert len(render_rows(grid, 80)) == 330


def test_sources_filter_keeps_absent_sources_as_empty_rows():
    grid = timing_grid(sequential_members(), sources=[99, 20])
    assert grid.sources == [20, 99]
    assert grid.counts.sum(axis=1).tolist() == [100, 0]


def test_bin_edges_are_integer_and_cover_the_range():
    grid = timing_grid(packets([0, 9], [1, 1]), bins=3, start_us=T0_US, end_us=T0_US + 10)
    assert (grid.bin_edges_us - T0_US).tolist() == [0, 4, 7, 10]
    assert grid.counts.tolist() == [[1, 0, 1]]


def test_bad_arguments():
    df = packets([0], [1])
    with pytest.raises(ValueError):
        timing_grid(df, bins=0)
    with pytest.raises(ValueError):
        timing_grid(df, order="size")
    with pytest.raises(ValueError):
        timing_grid(df, start_us=T0_US, end_us=T0_US)


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 10**12), min_size=0, max_size=60),
    bins=st.integers(1, 40),
    window=st.none() | st.tuples(st.integers(-(10**6), 10**12), st.integers(1, 10**12)),
)
def test_bin_sums_equal_packets_in_range(offsets, bins, window):
    srcs = [o % 5 for o in offsets]
    if window is None:
        start = end = None
    else:
        start, end = T0_US + window[0], T0_US + window[0] + window[1]
    grid = timing_grid(packets(offsets, srcs), bins=bins, start_us=start, end_us=end)
    t = np.asarray(offsets, dtype=np.int64) + T0_US
    inside = t[(t >= grid.start_us) & (t < grid.end_us)]
    assert grid.counts.sum() == len(inside)
    expected = np.bincount(np.searchsorted(grid.bin_edges_us, inside, side="right") - 1, minlength=bins)
    assert grid.counts.sum(axis=0).tolist() == expected.tolist()


def test_axis_labels_hours_and_dates():
    grid = timing_grid(packets([0, 3600 * S - 1], [1, 1]))  # 10:00 to 11:00
    line = axis_labels(grid, 60)
    assert len(line) == 60 and line.startswith("10:00") and line[30:35] == "10:30"
    days = timing_grid(packets([0, 3 * 86_400 * S], [1, 1]))
    assert "02-02 12:00" in axis_labels(days, 80)  # room for half days
    line = axis_labels(days, 40)
    assert "2024-02-02" in line and "2024-02-03" in line and ":" not in line


def test_ticks_helpers():
    ticks, fmt = nice_ticks(T0_US, T0_US + 90 * 86_400 * S, room=40)
    assert fmt == "%Y-%m-%d" and len(ticks) <= 3
    assert all(dt.datetime.fromtimestamp(t / S, dt.timezone.utc).day == 1 for t in ticks)  # month starts
    assert int_ticks(2, 330) == [50, 100, 150, 200, 250, 300]
    assert int_ticks(1, 7) == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("scale", ["log", "linear"])
@pytest.mark.parametrize("peak", [1, 2, 7, 140, 3413, 75_954])
def test_legend_ranges_cover_every_count_and_match_the_glyphs(scale, peak):
    from scantui.plots.timing import GLYPHS, legend_ranges, legend_text, levels

    ranges = legend_ranges(peak, scale)
    assert ranges[0][1] == 1 and ranges[-1] == (GLYPHS[-1], ranges[-1][1], peak)
    for (_g, _lo, hi), (_g2, lo2, _hi2) in zip(ranges, ranges[1:]):
        assert lo2 == hi + 1  # contiguous: every count from 1 to the peak has one glyph
    counts = np.arange(1, peak + 1)
    drawn = GLYPHS[levels(counts, peak, scale)]
    for glyph, lo, hi in ranges:
        assert set(drawn[lo - 1 : hi]) == {glyph}
    assert legend_text(peak, scale).startswith(ranges[0][0] + "1")
    with pytest.raises(ValueError):
        levels(counts, peak, "sqrt")
