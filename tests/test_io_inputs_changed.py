"""Inputs other than captures that are cut before scantui reads them, or change while it does.

CSV, netfilter LOG and Parquet inputs (plain and compressed): one line ``scantui: error: FILE: POSITION:
WHY``, exit 2, nothing written or cached. A Parquet file of one day is read in place when its day is
built (no split keeps its rows): its size and mtime are checked again before that day is committed.
"""

from __future__ import annotations

import datetime as dt
import os

from pathlib import Path

import polars as pl
import pytest

from scantui.analysis import rollup_cache
from scantui.errors import InputError
from scantui.io.loader import open_inputs
from scantui.io.options import LoadOptions

ROOT = Path(__file__).resolve().parents[1]


def _committed(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.name in ("index.json", "state.json", "meta.json")]


@pytest.fixture(scope="module")
def one_day() -> pl.DataFrame:
    return (pl.scan_parquet(ROOT / "sample_data" / "telescope.parquet")
            .filter(pl.col("ts").dt.date() == dt.date(2024, 2, 3)).head(3000).collect())


def test_a_one_day_parquet_changed_before_its_day_is_built_is_refused_and_not_committed(tmp_path, one_day,
                                                                                         monkeypatch):
    """The split only lists the file's days; the day's state reads the file again, later. A file rewritten
    in between (here: a third of its rows) must not be committed under the key of the file as it was listed."""
    path = tmp_path / "day.parquet"
    one_day.write_parquet(path)
    build_state = rollup_cache.build_state

    def rewritten_first(job):
        one_day.head(1000).write_parquet(path)
        return build_state(job)

    monkeypatch.setattr(rollup_cache, "build_state", rewritten_first)
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match=r"the file changed while it was read \([\d,]+ bytes when listed, "
                                         r"[\d,]+ bytes now\)") as err:
        rollup_cache.open_rollup(open_inputs([path], LoadOptions()), cache_dir=cache)
    assert str(path) in str(err.value)
    assert [p.name for p in _committed(cache)] == ["index.json"]  # the split (its list of days) only
    assert not [p for p in cache.rglob(".*")]  # nor a temporary left behind
