"""A rollup is the same bytes every build: a day made of several inputs (captures, CSV, LOG, Parquet) gives the
same files in a fresh cache each time, and the day's ``port_day`` (and its port-sorted copy) does not depend on
the order its packets come in (its group-by's rows come in no set order: the sort is on its whole key)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import polars as pl

from clihelp import SAMPLE_DIR, run_captured
from scantui.analysis import rollup_days as rd
from scantui.analysis import rollup_layout as rl
from scantui.io.loader import open_inputs
from scantui.io.options import LoadOptions

DAY = dt.date(2024, 2, 10)


def _day_inputs(folder: Path) -> list[Path]:
    """The sample's captures, CSV and LOG (no sensor) and its Parquet's rows of one day they cover (sensor ``tel-1``)."""
    folder.mkdir()
    for f in sorted((SAMPLE_DIR / "cuts").iterdir()):
        shutil.copy(f, folder / f.name)
    (pl.scan_parquet(SAMPLE_DIR / "telescope.parquet").filter(pl.col("ts").dt.date() == DAY).collect()
     .write_parquet(folder / "telescope-day.parquet"))
    return sorted(folder.iterdir())


def _files(cache: Path) -> dict[str, str]:
    """Every file of a cache (relative path: digest of its bytes), the port lists' state and its ``run-*.u64``
    names included; ``meta.json`` without its ``build_seconds``."""
    out = {}
    for f in sorted(p for p in cache.rglob("*") if p.is_file()):
        rel, data = str(f.relative_to(cache)), f.read_bytes()
        if f.name == "meta.json":
            meta = json.loads(data)
            meta.pop("build_seconds")
            data = json.dumps(meta, sort_keys=True).encode()
        out[rel] = hashlib.sha256(data).hexdigest()
    return out


def test_a_day_of_several_inputs_is_the_same_bytes_in_every_build(tmp_path):
    inputs = _day_inputs(tmp_path / "in")
    builds = []
    for i in range(2):
        cache = tmp_path / f"cache{i}"
        done = run_captured(["rollup", *map(str, inputs), "--year", "2024"], SCANTUI_CACHE_DIR=str(cache))
        assert done.returncode == 0, done.stderr
        builds.append(_files(cache))
    assert any(f"port_day/day={DAY}/" in name for name in builds[0])
    assert any("/port_lists/" in name and name.endswith(".u64") for name in builds[0])
    differ = sorted(name for name in builds[0].keys() | builds[1].keys() if builds[0].get(name) != builds[1].get(name))
    assert differ == []


def test_port_day_is_the_same_bytes_whatever_order_the_packets_come_in(tmp_path):
    inputs = _day_inputs(tmp_path / "in")
    packets = open_inputs(inputs, LoadOptions(year=2024)).lf.filter(pl.col("ts").dt.date() == DAY).collect()
    # ties of the old (src, dport) order: one source's rows of several sensors, protocols or kinds (ICMP: no port)
    assert packets.group_by("src", "dport").agg(pl.col("sensor").n_unique(), pl.col("proto").n_unique()).filter(
        (pl.col("sensor") > 1) | (pl.col("proto") > 1)).height
    files = []
    for name, rows in (("as-read", packets), ("reversed", packets.reverse()), ("shuffled", packets.sample(
            fraction=1.0, shuffle=True, seed=7))):
        out = tmp_path / name
        rd.build_day_state(rows.lazy(), out, held=True)
        rd.write_by_port(out / rd.PORT_DAY_BASE)
        files.append([(out / rd.PORT_DAY_BASE).read_bytes(), rd.by_port(out / rd.PORT_DAY_BASE).read_bytes()])
    assert files[1] == files[0] and files[2] == files[0]
    port_day = pl.read_parquet(tmp_path / "as-read" / rd.PORT_DAY_BASE)
    assert port_day.equals(port_day.sort(*rl.PORT_DAY_ORDER, maintain_order=True))
    assert not port_day.select(rl.PORT_DAY_ORDER).is_duplicated().any()  # the order is total: the table's key
