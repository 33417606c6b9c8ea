"""The enrichment overlay built one source range at a time (``analysis.enrichment_overlay``): its parts read
together are the overlay of the whole data laid at once, in (src, day) order; its latest fields are each
source's over every row; a scanner list shows the same enrichment from them as from every row."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from scantui.analysis import enrichment_overlay as eo
from scantui.analysis.scanners import latest_enrichment
from scantui.enrich.table import TABLE_SCHEMA, overlay

D0 = dt.date(2024, 2, 1)


def _frames(seed: int) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """(own enrichment, tables, active pairs): 300 sources over 20 days; tables name some sources from some
    day (a source's rows change AS), the data's own AS for others; sources at both ends of the address range."""
    rng = np.random.default_rng(seed)
    srcs = np.unique(np.concatenate([rng.integers(0, 2**32, 298, dtype=np.uint64), [0, 2**32 - 1]])).astype(np.uint32)
    pairs = [(int(s), D0 + dt.timedelta(days=int(d))) for s in srcs for d in rng.choice(20, int(rng.integers(1, 12)), replace=False)]
    active = pl.DataFrame(pairs, schema={"src": pl.UInt32, "day": pl.Date}, orient="row")
    named = rng.choice(srcs, 200, replace=False)
    table = pl.DataFrame({
        "src": np.concatenate([named, named[:50]]),
        "day": [D0 + dt.timedelta(days=int(d)) for d in rng.integers(0, 25, 250)],
        "asn": rng.integers(64500, 64600, 250).astype(np.uint32),
        "as_name": [f"AS {i}" if i % 7 else None for i in range(250)],
        "source": "mmdb:test",
    })
    table = pl.concat([pl.DataFrame(schema=TABLE_SCHEMA), table], how="diagonal_relaxed")
    own = (active.sample(fraction=0.3, seed=seed).with_columns(pl.lit(65000, pl.UInt32).alias("asn"),
                                                                pl.lit(None, pl.String).alias("org"),
                                                                pl.lit(None, pl.String).alias("category")))
    return own.lazy(), table.lazy(), active.lazy()


@pytest.mark.parametrize("per_part", [1, 37, 1000, 10**9])
def test_the_parts_are_the_whole_overlay_and_the_latest_its_every_row(tmp_path, monkeypatch, per_part):
    monkeypatch.setattr(eo, "PAIRS_PER_PART", per_part)
    own, tables, active = _frames(per_part)
    eo.build(tmp_path / "ov", own, tables, active)
    whole = overlay(own, tables, active)
    parts = eo.parts(tmp_path / "ov")
    sources = active.select(pl.col("src").n_unique()).collect().item()
    assert len(parts) == {1: sources, 10**9: 1}.get(per_part, len(parts)) and (len(parts) > 1 or per_part >= 1000)
    got = eo.scan(tmp_path / "ov").collect()
    assert got.equals(whole) and got.equals(got.sort("src", "day"))
    latest = eo.scan_latest(tmp_path / "ov").collect()
    assert latest.equals(latest_enrichment(whole.lazy()).collect())
    assert not list(tmp_path.glob(".ov.tmp-*"))  # the build's own folder renamed into place


def test_a_finished_folder_is_kept_and_no_data_gives_an_empty_overlay(tmp_path):
    own, tables, active = _frames(3)
    eo.build(tmp_path / "ov", None, tables, active)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "ov").iterdir()}
    eo.build(tmp_path / "ov", None, tables, active)  # a concurrent builder's folder won: ours is dropped
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "ov").iterdir()} == before
    eo.build(tmp_path / "empty", None, tables, active.filter(pl.lit(False)))
    assert eo.scan(tmp_path / "empty").collect().is_empty() and eo.scan_latest(tmp_path / "empty").collect().is_empty()


def _own_days(tmp_path, seed: int) -> tuple[list, pl.DataFrame]:
    """Day files of the data's own enrichment (each sorted by source, as a day state writes them), and their rows."""
    from scantui.analysis import rollup as ru

    rng = np.random.default_rng(seed)
    srcs = np.unique(np.concatenate([rng.integers(0, 2**32, 400, dtype=np.uint64), [0, 2**32 - 1]])).astype(np.uint32)
    files, frames = [], []
    for d in range(6):
        day = rng.choice(srcs, int(rng.integers(100, 300)), replace=False)
        df = pl.DataFrame({"src": day, "day": D0 + dt.timedelta(days=d),
                           "asn": rng.integers(64500, 64510, len(day)).astype(np.uint32),
                           "as_name": [None if i % 3 else f"AS day {d}" for i in range(len(day))]})
        df = pl.concat([pl.DataFrame(schema=ru.ENRICHMENT_SCHEMA), df], how="diagonal_relaxed").sort("src", "day")
        files.append(tmp_path / f"day{d}.parquet")
        df.write_parquet(files[-1])
        frames.append(df)
    return files, pl.concat(frames)


@pytest.mark.parametrize("per_part", [50, 400, 10**9])
def test_the_datas_own_enrichment_is_written_by_source_range(tmp_path, monkeypatch, per_part):
    from scantui.analysis import rollup as ru

    monkeypatch.setattr(eo, "ROWS_PER_PART", per_part)
    files, rows = _own_days(tmp_path, per_part)
    eo.write_days(files, tmp_path / "own", ru.ENRICHMENT_SCHEMA)
    parts = eo.parts(tmp_path / "own")
    assert (len(parts) == 1) == (per_part >= rows.height) and len(parts) <= -(-rows.height // per_part) + 1
    if per_part == 50:
        assert len(parts) > 10
    got = eo.scan(tmp_path / "own").collect()
    assert got.equals(rows.sort("src", "day"))  # the one sort of every row the merge made before
    assert eo.scan_latest(tmp_path / "own").collect().equals(latest_enrichment(rows.lazy()).collect())
    assert sorted(p.name for p in (tmp_path / "own").iterdir()) == sorted([*(p.name for p in parts), eo.LATEST])


@pytest.mark.parametrize("span", [(None, None), (D0 + dt.timedelta(days=1), D0 + dt.timedelta(days=3)),
                                  (D0 + dt.timedelta(days=4), None)])
def test_a_day_spans_latest_fields_part_by_part_are_those_of_every_row(tmp_path, monkeypatch, span):
    from scantui.analysis import rollup as ru
    from scantui.analysis.scanners import latest_by_parts

    monkeypatch.setattr(eo, "ROWS_PER_PART", 100)
    files, rows = _own_days(tmp_path, 5)
    eo.write_days(files, tmp_path / "own", ru.ENRICHMENT_SCHEMA)
    parts = [pl.scan_parquet(p) for p in eo.parts(tmp_path / "own")]
    assert len(parts) > 5
    got = latest_by_parts(parts, *span).collect()
    assert got.height > 0 and got.equals(latest_enrichment(rows.lazy(), *span).collect())
