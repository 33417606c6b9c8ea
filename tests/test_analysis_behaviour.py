"""Per-source behaviour from rollup rows: range class, port shares, days, intervals, coverage, picture."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from scantui.analysis import behaviour as bh

DAY0 = dt.date(2024, 2, 1)


def rows(items) -> pl.LazyFrame:
    """``port_day``-shaped rows from (src, port, day offset[, dsts[, sensor]]) tuples (one packet per dst)."""
    recs = []
    for src, port, day, dsts, sensor in (_pad(item) for item in items):
        recs.append({"src": src, "sensor": sensor, "proto": 6, "dport": port, "day": DAY0 + dt.timedelta(days=day),
                     "packets": dsts, "dsts": dsts})
    schema = {"src": pl.UInt32, "sensor": pl.String, "proto": pl.UInt8, "dport": pl.UInt16, "day": pl.Date,
              "packets": pl.UInt32, "dsts": pl.UInt32}
    return pl.LazyFrame(recs, schema=schema)


def _pad(item: tuple) -> tuple:
    return (*item, 1, "s1")[:5] if len(item) == 3 else (*item, "s1") if len(item) == 4 else item


def one_src(n_ports: int, start: int = 0) -> pl.LazyFrame:
    frame = pl.DataFrame({"dport": pl.arange(start, start + n_ports, eager=True).cast(pl.UInt16)})
    return frame.lazy().select(
        pl.lit(1, pl.UInt32).alias("src"), pl.lit("s1").alias("sensor"), pl.lit(6, pl.UInt8).alias("proto"), "dport",
        pl.lit(DAY0).alias("day"), pl.lit(1, pl.UInt32).alias("packets"), pl.lit(1, pl.UInt32).alias("dsts"),
    )


@pytest.mark.parametrize(("n_ports", "expected"), [(1, "focused"), (29, "focused"), (30, "wide"), (64880, "wide"),
                                                   (64881, "full"), (65536, "full")])
def test_range_class_thresholds(n_ports, expected):
    out = bh.port_profile(one_src(n_ports)).collect()
    assert out["ports"][0] == n_ports and out["range_class"][0] == expected


def test_port_class_shares():
    items = [(1, p, 0) for p in (22, 80, 1023, 1024, 8080, 49151, 49152, 65535)]
    out = bh.port_profile(rows(items)).collect()
    assert out["well_known_share"][0] == pytest.approx(3 / 8)
    assert out["registered_share"][0] == pytest.approx(3 / 8)
    assert out["ephemeral_share"][0] == pytest.approx(2 / 8)


def test_scan_interval_per_port_and_sensor_averaged_over_rescanned_ports():
    items = [(1, 80, d) for d in (0, 2, 4)]          # interval 2
    items += [(1, 443, d) for d in (0, 6)]           # interval 6
    items += [(1, 22, 3)]                            # scanned once: not averaged
    items += [(1, 23, 0, 1, "a"), (1, 23, 10, 1, "b")]  # two sensors, once each: no interval
    out = bh.scan_intervals(rows(items)).collect()
    assert out["avg_scan_interval_days"][0] == pytest.approx(4.0)
    assert out["ports_rescanned"][0] == 2


def test_no_rescanned_port_gives_no_interval_and_no_picture():
    out = bh.behaviour(rows([(1, 80, 0), (1, 81, 5)]), 21, 100)
    assert out["avg_scan_interval_days"][0] is None and out["picture"][0] is None


def test_days_scanned_is_a_share_of_the_window():
    out = bh.activity(rows([(1, 80, 0), (1, 81, 0), (1, 80, 5)]), 10).collect()
    assert out["days_active"][0] == 2 and out["days_scanned"][0] == pytest.approx(0.2)


def test_coverage_is_the_best_one_day_share_per_port():
    items = [(1, 80, 0, 50), (1, 80, 1, 100), (1, 443, 0, 20)]
    out = bh.coverage_summary(rows(items), 200).collect()
    assert out["coverage_max"][0] == pytest.approx(0.5)
    assert out["coverage_mean"][0] == pytest.approx((0.5 + 0.1) / 2)
    top = bh.top_ports(rows(items), 200, 1).collect()
    assert top["top_ports"][0].to_list() == [{"port": 80, "proto": 6, "packets": 150, "scans": 2, "coverage": 0.5}]


def test_sensors_add_up_for_coverage():
    items = [(1, 80, 0, 30, "a"), (1, 80, 0, 40, "b")]
    assert bh.coverage_summary(rows(items), 100).collect()["coverage_max"][0] == pytest.approx(0.7)


def test_picture_snapshot_and_background():
    # snapshot: every 7 days, all ports each time
    snap = [(1, p, d) for d in (0, 7, 14) for p in (22, 80, 443)]
    # background: every day, a rotating slice of 10 ports out of 50 (each port every 5 days)
    back = [(2, 1000 + (d * 10 + i) % 50, d) for d in range(21) for i in range(10)]
    out = bh.behaviour(rows(snap + back), 21, 100).sort("src")
    assert out["picture"].to_list() == ["snapshot", "background"]
    assert out["avg_scan_interval_days"].to_list() == pytest.approx([7.0, 5.0])


def test_picture_boundary():
    interval, share = pl.col("i"), pl.col("d")
    frame = pl.DataFrame({"i": [4.0, 3.99, None], "d": [0.5, 0.5, 1.0]})
    assert frame.select(bh.picture(interval, share).alias("p"))["p"].to_list() == ["background", "snapshot", None]


# ---------------------------------------------------------------- port scans and top ports against plain polars

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ROW = st.tuples(st.integers(0, 5), st.sampled_from([6, 17, None]), st.sampled_from([0, 22, 80, 65535, None]),
                 st.integers(0, 4), st.sampled_from(["s1", "s2"]), st.integers(1, 9), st.integers(1, 9))


def _rows_of(items) -> pl.LazyFrame:
    schema = {"src": pl.UInt32, "proto": pl.UInt8, "dport": pl.UInt16, "day": pl.Date, "sensor": pl.String,
              "dsts": pl.UInt32, "packets": pl.UInt32}
    return pl.LazyFrame([(s, pr, po, DAY0 + dt.timedelta(days=d), se, ds, pk) for s, pr, po, d, se, ds, pk in items],
                        schema=schema, orient="row")


def _plain_port_scans(rows: pl.LazyFrame) -> pl.DataFrame:
    """port_scans as three-column group-bys: summed over sensors per day, then over days."""
    per_day = rows.group_by("src", "proto", "dport", "day").agg(pl.col("dsts").sum(), pl.col("packets").sum())
    return per_day.group_by("src", "proto", "dport").agg(
        pl.col("packets").sum().cast(pl.UInt64), pl.len().cast(pl.UInt32).alias("scans"),
        pl.col("dsts").max().cast(pl.UInt32), pl.col("day").min().alias("d0"), pl.col("day").max().alias("d1"),
    ).collect()


def _by_key(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort("src", "proto", "dport", nulls_last=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(_ROW, max_size=40))
def test_port_scans_packed_equal_plain_group_bys(items):
    """Null protocols and ports keep groups of their own through the packed key; one row per (source, protocol,
    port, day) and one sensor: the per-day step left out gives the same rows."""
    rows = _rows_of(items)
    got = bh.port_scans(rows, with_days=True).collect()
    assert got.columns == ["src", "proto", "dport", "packets", "scans", "dsts", "d0", "d1"]
    assert _by_key(got).equals(_by_key(_plain_port_scans(rows)))
    one = rows.filter(pl.col("sensor") == "s1").unique(["src", "proto", "dport", "day"])
    assert _by_key(bh.port_scans(one, with_days=True, one_per_day=True).collect()).equals(
        _by_key(_plain_port_scans(one)))


@settings(max_examples=60, deadline=None)
@given(st.lists(_ROW, max_size=40), st.integers(1, 4))
def test_top_ports_sorted_per_source_as_one_sort_of_every_row(items, n):
    scans = bh.port_scans(_rows_of(items)).collect()
    item = pl.struct(pl.col("dport").alias("port"), "proto", "packets", "scans", "dsts")
    plain = (scans.sort(["src", "packets", "dport", "proto"], descending=[False, True, False, False])
             .group_by("src", maintain_order=True).agg(item.head(n).alias("top_ports")))
    assert bh.top_ports_from_scans(scans.lazy(), n).collect().equals(plain)
