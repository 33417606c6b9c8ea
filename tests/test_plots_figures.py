"""The plotext figure builders, drawn with the real plotext module and with a call recorder."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import plotext
import polars as pl
import pytest

from scantui.plots.daily import calendar_series, per_day
from scantui.plots.distributions import monthday_bars, size_histogram, weekday_bars
from scantui.plots.ports import port_bins, port_histogram
from scantui.plots.split import MAX_MEMBERS, share_histogram, split_bars, split_rows

PLOTEXT_SGR = re.compile(r"\x1b\[(?:0|1|[34]8;5;\d+|[34]8;2;\d+;\d+;\d+)m")  # plotext's own colour codes
HOSTILE = "evil\x1b[31mred\x1b]0;pwned\x07"
D0 = dt.date(2024, 2, 1)


def fresh():
    """An empty plotext figure of a fixed size, so the text is stable."""
    plotext.clf()
    plotext.theme("clear")
    plotext.limitsize(False)
    plotext.plotsize(100, 24)


@pytest.fixture
def plt():
    fresh()
    yield plotext
    plotext.clf()


def build(plt) -> list[str]:
    """The figure's lines, after checking that no escape or control code but plotext's colours got in."""
    raw = PLOTEXT_SGR.sub("", plt.build())
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", raw), repr(raw)
    return raw.splitlines()


class Recorder:
    """A plotext stand-in that keeps the calls; clearing, showing or building is a mistake here."""

    FORBIDDEN = {"clf", "clear_figure", "cld", "clear_data", "show", "build", "plotsize", "theme"}

    def __init__(self):
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name):
        assert name not in self.FORBIDDEN, f"builders must not call plt.{name}"
        assert hasattr(plotext, name), name
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))

    def args(self, name: str) -> list[tuple]:
        return [args for n, args, _ in self.calls if n == name]


def test_calendar_series_fills_gaps_and_sums_repeats():
    first, series = calendar_series([D0 + dt.timedelta(days=4), D0, D0], [7, 1, 2])
    assert first == D0 and series.tolist() == [3, 0, 0, 0, 7]
    assert calendar_series([], []) == (None, pytest.approx(np.zeros(0)))
    with pytest.raises(ValueError):
        calendar_series([D0], [1, 2])


def test_per_day_draws_missing_days_as_zero(plt):
    days, values = [D0, D0 + dt.timedelta(days=4), D0 + dt.timedelta(days=20)], [3, 7, 5]
    rec = Recorder()
    per_day(rec, days, values)
    x, y = rec.args("bar")[0]
    assert x == list(range(21)) and y[:5] == [3, 0, 0, 0, 7] and sum(y) == 15
    per_day(plt, days, values, title="scans per day")
    lines = build(plt)
    assert "scans per day" in lines[0]
    assert "2024-02-01" in lines[-2] and "2024-02-15" in lines[-2]
    baseline = next(line for line in lines if line.startswith("0┤"))  # whole-number ticks: 0.0 was a fraction
    assert len([run for run in baseline.split("┤", 1)[1].strip("│").split(" ") if run]) == 3  # three bars, gaps between


def test_per_day_over_years_sums_days(plt):
    days = [D0 + dt.timedelta(days=i) for i in range(900)]
    rec = Recorder()
    per_day(rec, days, np.ones(900))
    x, y = rec.args("bar")[0]
    assert len(y) <= 400 and sum(y) == 900
    assert rec.args("title") == [("packets per day (3-day sums)",)]
    per_day(plt, days, np.ones(900))
    assert "2025-01-01" in build(plt)[-2]


def test_per_day_with_no_days(plt):
    per_day(plt, [], [], title="nothing yet")
    assert "nothing yet" in build(plt)[0]


def test_port_bins():
    bins = port_bins(np.array([0, 255, 256, 1024, 65535]))
    assert bins.shape == (256,) and bins.sum() == 5
    assert (bins[0], bins[1], bins[4], bins[255]) == (2, 1, 1, 1)
    weighted = port_bins(pl.Series([80, None, 443], dtype=pl.UInt16), pl.Series([2.0, 100.0, 3.0]))
    assert (weighted[0], weighted[1], weighted.sum()) == (2.0, 3.0, 5.0)  # the null port's weight is dropped with it
    with pytest.raises(ValueError):
        port_bins(np.array([70000]))


def test_port_histogram_marks_1024_and_49152(plt):
    rec = Recorder()
    port_histogram(rec, port_bins(np.arange(0, 65536, 7)))
    assert [args[0] for args in rec.args("vline")] == [1024, 49152]
    assert len(rec.args("bar")[0][0]) == 256
    port_histogram(plt, port_bins(np.concatenate([np.arange(0, 65536, 3), np.full(5000, 80)])), title="scans per port")
    lines = build(plt)
    top, bottom, labels = next(line for line in lines if "┌" in line), lines[-3], lines[-2]
    marks = [i for i, ch in enumerate(bottom) if ch == "┴"]  # where the vertical lines cross the frame
    assert len(marks) == 2 and all(top[i] == "┬" for i in marks)
    for mark, port in zip(marks, ("1024", "49152")):
        start = labels.index(port)
        assert start <= mark < start + len(port)
    assert "port" in lines[-1]
    with pytest.raises(ValueError):
        port_histogram(plt, np.zeros(10))


def test_weekday_and_monthday_bars(plt):
    weekday_bars(plt, [5, 1, 1, 1, 1, 1, 9], title="scans per weekday")
    lines = build(plt)
    assert "scans per weekday" in lines[0]
    assert lines[-1].split() == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    fresh()
    monthday_bars(plt, list(range(31)), title="by day of month")
    assert build(plt)[-1].split() == ["1", "5", "10", "15", "20", "25", "31"]
    with pytest.raises(ValueError):
        weekday_bars(plt, [1, 2, 3])
    with pytest.raises(ValueError):
        monthday_bars(plt, [1] * 30)


def test_size_histogram_has_one_bar_per_size(plt):
    sizes = np.concatenate([np.arange(2, 331), np.full(40, 205), np.full(30, 327)])
    rec = Recorder()
    size_histogram(rec, sizes)
    x, y = rec.args("bar")[0]
    assert x[0] == 2 and x[-1] == 330 and len(x) == 329 and sum(y) == len(sizes)
    assert y[205 - 2] == 41 and max(y) == 41
    size_histogram(plt, sizes)
    lines = build(plt)
    assert "group size per scan" in lines[0]
    assert {"100", "200", "300"} <= set(lines[-2].split())
    rec = Recorder()
    size_histogram(rec, [2, 5000])
    x, y = rec.args("bar")[0]
    assert len(x) <= 400 and sum(y) == 2 and "bins of" in rec.args("title")[0][0]


def _split_lines(plt, n: int, shares) -> list[str]:
    plt.plotsize(100, split_rows(shares))
    split_bars(plt, [f"10.0.{i // 256}.{i % 256}" for i in range(n)], shares, title="")
    return build(plt)


@pytest.mark.parametrize("n", [1, 37, MAX_MEMBERS])
def test_split_draws_every_member_up_to_the_limit(plt, n):
    shares = np.random.default_rng(n).uniform(0.001, 0.05, n)
    plotext.limitsize(False, False)
    lines = _split_lines(plt, n, shares)
    rows = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert len(rows) == n and set(rows) == {f"10.0.0.{i}" for i in range(n)}  # a 37-member scan showed 10 bars
    assert rows[0] == f"10.0.0.{int(np.argmax(shares))}"  # the largest share on top
    assert f"{n} member" in lines[0]


@pytest.mark.parametrize("n", [MAX_MEMBERS + 1, 205, 3000])
def test_split_past_the_limit_is_a_histogram_whose_counts_add_up(plt, n):
    shares = np.random.default_rng(n).uniform(0.0048, 0.0050, n)
    labels, counts = share_histogram(shares)
    assert sum(counts) == n and len(labels) == len(counts) <= 12  # 9 bars + "others (165)" summed to 174 of 205
    assert len(set(labels)) == len(labels) and labels[0].startswith("0.49") and labels[-1].startswith("0.48")
    rec = Recorder()
    split_bars(rec, [str(i) for i in range(n)], shares)
    x, y = rec.args("bar")[0]
    assert sum(y) == n and rec.args("yticks")[0][1] == labels
    assert rec.args("title")[0][0] == f"share of the telescope · {n} members, by share of the telescope"
    plotext.limitsize(False, False)
    lines = _split_lines(plt, n, shares)
    assert [line.split("┤")[0].strip() for line in lines if "┤" in line] == labels
    assert not re.search(r"\d\.\d", lines[-2])  # the count axis has whole numbers only


def test_share_histogram_edge_cases():
    assert share_histogram([]) == ([], [])
    assert share_histogram([0.01] * 50) == (["1.0%"], [50])
    assert split_rows([0.01] * 50) == split_rows([0.5]) == 1 + 5  # one bar: a short figure, not 12 rows of it
    labels, counts = share_histogram([0.01] * 49 + [0.02])
    assert counts == [1, 49] and labels == ["1.50-2.00%", "1.00-1.50%"]


def test_split_bars_largest_on_top_and_hostile_labels_are_inert(plt):
    split_bars(plt, ["192.0.2.11", HOSTILE, "192.0.2.10"], [1 / 6, 0.01, 5 / 6], title=f"split {HOSTILE}")
    lines = build(plt)
    assert "split evil\\x1b[31mred" in lines[0]
    rows = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert rows == ["192.0.2.10", "192.0.2.11", "evil\\x1b[31mred\\x1b]0;pwned\\x07"]
    rec = Recorder()
    split_bars(rec, [f"h{i}" for i in range(45)], [0.01] * 45)
    assert rec.args("yticks")[0][1] == ["1.0%"] and rec.args("bar")[0][1] == [45.0]


@pytest.mark.parametrize("height", [8, 12, 24])
def test_count_axes_have_whole_number_ticks(plt, height):
    """Scans per weekday showed 0.33 scans, packets per day 3413.3 packets."""
    plt.plotsize(100, height)
    weekday_bars(plt, [0, 1, 3, 1, 0, 0, 2])
    labels = [line.split("┤")[0].strip() for line in build(plt) if "┤" in line]
    assert labels and all(re.fullmatch(r"\d+", label) for label in labels) and "3" in labels
    fresh()
    plt.plotsize(100, height)
    per_day(plt, [D0 + dt.timedelta(days=i) for i in range(3)], [10_240, 3_413, 75_954])
    labels = [line.split("┤")[0].strip() for line in build(plt) if "┤" in line]
    assert labels and all(re.fullmatch(r"[\d,]+", label) for label in labels) and "0" in labels
