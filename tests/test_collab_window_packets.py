"""Collab's burst windows meet only the packets of their own days (the same packets as a join on source and port)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scantui.analysis import collab_bursts as cbu

DAY_US = 86_400_000_000
DAY0 = dt.date(2024, 2, 1)
EPOCH0 = int((dt.datetime(2024, 2, 1, tzinfo=dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()) * 1_000_000


def _data(seed: int, days: int = 12) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Packets of a few sources on every day and bursts of theirs, some across midnight, several a day."""
    rng = np.random.default_rng(seed)
    n = 4000
    t = EPOCH0 + rng.integers(0, days * DAY_US, n)
    pk = pl.DataFrame({"t": t, "src": rng.integers(1, 6, n).astype(np.uint32),
                       "dst": rng.integers(0, 300, n).astype(np.uint32), "dport": rng.choice([22, 80], n).astype(np.uint16)})
    pk = pk.with_columns(pl.from_epoch("t", time_unit="us").dt.date().alias("day"))
    rows = []
    for wid in range(40):
        start = EPOCH0 + int(rng.integers(0, days * DAY_US))
        end = start + int(rng.integers(60_000_000, 30 * 3_600_000_000))  # a minute to 30 h: some cross midnight
        first, last = (DAY0 + dt.timedelta(days=(x - EPOCH0) // DAY_US) for x in (start, end))
        key, port = int(rng.integers(0, 3)), int(rng.choice([22, 80]))  # a window is one (key, port)'s bursts
        for src in rng.choice(np.arange(1, 6), int(rng.integers(1, 4)), replace=False):
            rows.append({"wid": wid, "key": key, "dport": port, "src": int(src),
                         "start_us": start, "end_us": end, "day": first, "last_day": last})
    windows = pl.DataFrame(rows).cast({"src": pl.UInt32, "dport": pl.UInt16, "key": pl.UInt32})
    return pk, windows


@pytest.mark.parametrize("seed", range(6))
def test_window_packets_are_those_of_a_join_on_source_and_port(seed):
    pk, windows = _data(seed)
    got = cbu.window_packets(pk, windows)
    every = (pk.join(windows.select(cbu.WINDOW_COLUMNS), on=["dport", "src"], how="inner")
             .filter(pl.col("t").is_between(pl.col("start_us"), pl.col("end_us")))
             .select("wid", "key", "dport", "t", "src", "dst"))
    assert got.height > 100
    assert_frame_equal(got, every.sort("wid", "src", "dst", "t", "key", "dport"))  # the same rows, in window, source,
    # destination and time order (each window's pairs come sorted to the search)
    assert windows.filter(pl.col("last_day") > pl.col("day")).height  # bursts across midnight were met
