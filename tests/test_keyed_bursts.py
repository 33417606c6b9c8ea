"""The merge's ``keyed_bursts.parquet`` (:mod:`scantui.analysis.keyed_bursts`): every burst of the sources a
fingerprint keys on some day, which collab's fingerprint pass reads instead of every day's bursts.

On the sample (its planted fingerprint pool across ASes): the file is the day tables' bursts of the keyed sources,
row for row; collab with it finds what it finds filtering every day's bursts, and finds no fingerprint candidate
when the file is emptied (it is what the pass reads), through the workspace too.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scantui.analysis import collab as cb
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import keyed_bursts as kb
from scantui.analysis.collab_query import make_query
from scantui.analysis.rollup_cache import open_rollup
from scantui.io.loader import open_inputs

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
ORDER = ["day", "dport", "src", "start_us"]


@pytest.fixture
def rollup(shared_rollup_cache):
    return open_rollup(open_inputs([SAMPLE / "telescope.parquet"]))


def _search(rollup, query, keyed_bursts):
    size = json.loads((SAMPLE / "truth.json").read_text())["telescope"]["size"]
    return cb.collab_scans(rollup.packet_source(), port_day=rollup.port_day, enrichment=rollup.enrichment,
                           telescope_size=size, query=query, sums=rollup.collab_sums, walks=rollup.zmap_walks,
                           fingerprints=rollup.fingerprints, bursts=rollup.bursts, burst_sums=rollup.burst_sums,
                           keyed_bursts=keyed_bursts)


def _fingerprint_candidates(result: cb.CollabResult) -> list:
    return [c for c in result.candidates if c.key.kind == "fingerprint"]


def test_the_file_is_every_burst_of_the_keyed_sources(rollup):
    srcs = fk.rare_keys(rollup.fingerprints).select(pl.col("src").unique()).collect()["src"]
    want = rollup.bursts.filter(pl.col("src").is_in(srcs.implode())).collect().sort(ORDER)
    got = rollup.keyed_bursts.collect()
    assert got.height == want.height > 0 and 0 < srcs.len() < rollup.bursts.select(pl.col("src").n_unique()).collect().item()
    assert_frame_equal(got.sort(ORDER), want)
    assert got["dport"].is_sorted()  # port first: a --port query's row groups


@pytest.mark.parametrize("by", ["all", "fingerprint"])
def test_collab_reads_the_file_and_finds_the_same(rollup, by):
    query = make_query(by=by)
    every = _search(rollup, query, None)
    kept = _search(rollup, query, rollup.keyed_bursts)
    assert _fingerprint_candidates(every) and kept.candidates == every.candidates and kept.stats == every.stats
    empty = pl.LazyFrame(schema=rollup.keyed_bursts.collect_schema())
    assert not _fingerprint_candidates(_search(rollup, query, empty))  # the pass reads the file, not the days


def test_the_workspace_passes_the_file(shared_rollup_cache, monkeypatch):
    from scantui.workspace.core import Workspace

    query = make_query(by="fingerprint")
    assert _fingerprint_candidates(Workspace.open([SAMPLE / "telescope.parquet"]).collab(query))
    monkeypatch.setattr(kb, "scan", lambda rollup: pl.scan_parquet(rollup / kb.FILE).head(0))
    assert not _fingerprint_candidates(Workspace.open([SAMPLE / "telescope.parquet"]).collab(query))


def test_a_rollup_merged_before_the_file_gets_it_on_first_read(rollup, tmp_path):
    import shutil

    folder = tmp_path / "r"
    shutil.copytree(rollup.path, folder, symlinks=True)
    want = kb.scan(folder).collect()
    (folder / kb.FILE).unlink()
    assert_frame_equal(kb.scan(folder).collect(), want)
    assert (folder / kb.FILE).is_file() and not list(folder.glob("*.tmp*"))
    (folder / kb.FILE).unlink()
    (folder / kb.FILE).mkdir()  # the file cannot be written there (as in a read-only cache): the days are filtered
    assert kb.scan(folder) is None and not [p for p in folder.iterdir() if "tmp" in p.name]
