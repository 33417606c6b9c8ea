"""Each day state keeps every TCP SYN probe of its fingerprint-keyed sources apart (``keyed_probes.parquet``),
and collab reads a pool's probes from it: the same candidates as from the packet table alone (the file
removed, or holding only some of the members), and a changed file changes them (it is what is read)."""

from __future__ import annotations

import shutil

import polars as pl

from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import keyed_probes as kp
from scantui.analysis.collab_query import make_query
from scantui.analysis.day_packets import day_packets_files
from scantui.analysis.traffic import is_probe
from scantui.sample import fingerprint_pools as fpools
from scantui.workspace.core import Workspace

TELESCOPE = "198.18.0.0/22"  # fingerprint_pools.T addresses


def two_days(tmp_path):
    """Two days of planted pools (``fingerprint_pools``, seeds 0 and 1, the second a day later) through a rollup."""
    a, truth_a = fpools.planted(0)
    b, truth_b = fpools.planted(1)
    b = b.with_columns(pl.col("ts") + pl.duration(days=1))
    path = tmp_path / "pools.parquet"
    pl.concat([a, b]).sort("ts").write_parquet(path)
    ws = Workspace.open([path], cache_dir=tmp_path / "cache")
    return path, ws.rollup(), sorted((t["port"], t["sources"]) for t in truth_a + truth_b)


def keyed_sources(state) -> list[int]:
    fps = pl.scan_parquet(state / fk.DAY_FILE).with_columns(day=pl.lit(0))
    return sorted(fk.rare_keys(fps).select("src").unique().collect()["src"].to_list())


def probes_of(state, srcs) -> pl.DataFrame:
    return (pl.scan_parquet(day_packets_files(state)).filter(pl.col("src").is_in(srcs) & is_probe())
            .select(kp.COLUMNS).sort(kp.COLUMNS).collect())


def collab(path, tmp_path):
    ws = Workspace.open([path], cache_dir=tmp_path / "cache")
    return ws.collab(make_query(by="all", telescope_cidrs=TELESCOPE))


def test_a_day_keeps_every_probe_of_its_keyed_sources_the_same_bytes_from_memory_or_the_table(tmp_path):
    _path, rollup, _truth = two_days(tmp_path)
    assert len(rollup.day_states) == 2
    for day, state in rollup.day_states.items():
        kept = pl.read_parquet(state / kp.DAY_FILE)
        keyed = keyed_sources(state)
        assert len(keyed) > 10  # the pools, the decoys, the coincidental pairs
        assert kp.sources(state).to_list() == keyed
        assert kept.equals(probes_of(state, keyed))
        # written while the day was held in memory; again from a state holding only its packet table: the same bytes
        again = tmp_path / f"again-{day}"
        again.mkdir()
        shutil.copytree(state / "packets", again / "packets")
        shutil.copy(state / fk.DAY_FILE, again / fk.DAY_FILE)
        kp.write_day_keyed_probes(again, lambda: None)
        assert (again / kp.DAY_FILE).read_bytes() == (state / kp.DAY_FILE).read_bytes()


def test_a_source_above_the_cap_stays_in_the_packet_table_only(tmp_path, monkeypatch):
    _path, rollup, _truth = two_days(tmp_path)
    state = next(iter(rollup.day_states.values()))
    counts = probes_of(state, keyed_sources(state)).group_by("src").len()
    cap = int(counts["len"].median())
    monkeypatch.setattr(kp, "MAX_SOURCE_PROBES", cap)
    (state / kp.DAY_FILE).unlink()
    kp.write_day_keyed_probes(state, lambda: None)
    below = sorted(counts.filter(pl.col("len") <= cap)["src"].to_list())
    assert 0 < len(below) < counts.height
    assert kp.sources(state).to_list() == below
    assert pl.read_parquet(state / kp.DAY_FILE).equals(probes_of(state, below))


def test_collab_finds_the_pools_from_it_and_the_same_without_it_or_with_part_of_it(tmp_path, monkeypatch):
    path, rollup, truth = two_days(tmp_path)
    first = collab(path, tmp_path)
    assert sorted((c.port, sorted(c.source_ips)) for c in first.candidates) == truth
    states = list(rollup.day_states.values())
    saved = {s: (s / kp.DAY_FILE).read_bytes() for s in states}

    for s in states:  # a state built before the file: every probe from the packet table
        (s / kp.DAY_FILE).unlink()
    assert collab(path, tmp_path).candidates == first.candidates
    assert not any((s / kp.DAY_FILE).exists() for s in states)  # a query does not write it

    monkeypatch.setattr(kp, "MAX_SOURCE_PROBES", 300)  # some members there, the rest from the packet table
    for s in states:
        kp.write_day_keyed_probes(s, lambda: None)
    held = [set(kp.sources(s).to_list()) for s in states]
    members = [{int(m) for m in c.sources} for c in first.candidates]
    assert any(m & h and m - h for m in members for h in held)
    assert collab(path, tmp_path).candidates == first.candidates

    # the file is what is read: a pool member's probes moved to other addresses there change its candidate
    for s, data in saved.items():
        (s / kp.DAY_FILE).write_bytes(data)
    member = first.candidates[0].sources[0]
    for s in states:
        df = pl.read_parquet(s / kp.DAY_FILE)
        footer = {kp.SOURCES_KEY: pl.read_parquet_metadata(s / kp.DAY_FILE)[kp.SOURCES_KEY]}  # the sources it serves
        df.with_columns(pl.when(pl.col("src") == member).then(pl.col("dst") + 4096).otherwise("dst").alias("dst")
                        ).write_parquet(s / kp.DAY_FILE, metadata=footer)
    assert collab(path, tmp_path).candidates != first.candidates
    for s in states:  # without its footer's list the file serves no source: the packet table's rows again
        pl.read_parquet(s / kp.DAY_FILE).write_parquet(s / kp.DAY_FILE)
    assert collab(path, tmp_path).candidates == first.candidates
