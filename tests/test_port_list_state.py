"""A build's kept port list brought up to date from the previous rollup's list and state plus the days the build
adds (:mod:`scantui.analysis.port_list_state`): the same bytes as the list a from-scratch build keeps, after adding
a day (sources new on the port, sources only in held days), a day before the held ones, and computed from every
day again where the state does not apply (a day removed or changed, the old list or state missing or damaged)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from canonical import make_canonical
from clihelp import run
from scantui.analysis import port_list_state as st
from scantui.analysis import port_list_build


@pytest.fixture(params=[False])
def days(tmp_path, monkeypatch, request):
    """Five day files (port 443 one packet in three; day 4 adds sources the held days lack, and day 0 sources only
    it has), a config keeping port 443's list, and a spy counting lists computed from every day. With the param
    True, three sensors (a ``sensor`` column): the repeated sources on each, on held and added days."""
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    Path(os.environ["SCANTUI_CONFIG"]).write_text("rollup:\n  keep_ports: [443]\n  keep_top_ports: 0\n")
    df = make_canonical(n=6000, seed=11, days=5)
    i = pl.int_range(pl.len())
    df = df.with_columns(pl.when(i % 3 == 0).then(443).otherwise(pl.col("dport")).cast(pl.UInt16).alias("dport"),
                         # a few sources on many days, with repeated destinations: held keys hit again
                         pl.when(i % 5 == 0).then((pl.col("src") % 17) + 1000).otherwise(pl.col("src")).alias("src"),
                         pl.when(i % 5 == 0).then(pl.col("dst") - pl.col("dst") % 8).otherwise(pl.col("dst")).alias("dst"))
    if request.param:
        df = df.with_columns(pl.Series("sensor", np.array(["tel-a", "hp-b", "tel-c"])[np.arange(df.height) // 15 % 3]))
    files = []
    for n, (_, part) in enumerate(sorted(df.group_by(pl.col("ts").dt.date()), key=lambda kv: kv[0])):
        files.append(str(tmp_path / f"day{n}.parquet"))
        part.write_parquet(files[-1])
    computed = []
    real = port_list_build._kept_table
    monkeypatch.setattr(port_list_build, "_kept_table", lambda *a, **k: computed.append(1) or real(*a, **k))
    return files, computed


def build_said(capsys, files, *args) -> tuple[Path, str]:
    """The rollup folder a build of *files* makes, and what it said on stderr."""
    code, out, err = run(["rollup", *files, *args], capsys)
    assert code == 0, err
    return Path(out.strip()), err


def build(capsys, files, *args) -> Path:
    return build_said(capsys, files, *args)[0]


def kept(folder: Path) -> Path:
    return folder / "port_lists" / "v1-443.parquet"


def from_scratch(capsys, files, tmp_path) -> bytes:
    """The list a build of *files* from an empty cache keeps."""
    old = os.environ["SCANTUI_CACHE_DIR"]
    os.environ["SCANTUI_CACHE_DIR"] = str(tmp_path / f"scratch-{len(list(tmp_path.iterdir()))}")
    try:
        return kept(build(capsys, files)).read_bytes()
    finally:
        os.environ["SCANTUI_CACHE_DIR"] = old


def assert_same(got: Path, want: bytes, tmp_path) -> None:
    (tmp_path / "want.parquet").write_bytes(want)
    a, b = pl.read_parquet(got), pl.read_parquet(tmp_path / "want.parquet")
    assert a.columns == b.columns and a.height == b.height > 50
    for c in a.columns:  # every column, then every byte
        assert a[c].equals(b[c]), c
    assert got.read_bytes() == want


@pytest.mark.parametrize("days", [False, True], ids=["one sensor", "three sensors"], indirect=True)
def test_adding_days_extends_the_list_to_the_bytes_of_a_computed_one(days, capsys, tmp_path):
    files, computed = days
    first = build(capsys, files[1:3])
    assert computed == [1] and (st.state_path(kept(first)) / st.INDEX).is_file()
    computed.clear()
    second, said = build_said(capsys, files[1:4])  # day 3 added at the end
    assert "extended port list 443 (config rollup.keep_ports; " in said and "built port list" not in said
    third = build(capsys, files[1:5])  # day 4: sources new on the port, sources only in the held days
    fourth = build(capsys, files)  # day 0, before the held days: the window starts earlier
    assert computed == [], "extended, not computed"
    for folder, fs in ((second, files[1:4]), (third, files[1:5]), (fourth, files)):
        assert_same(kept(folder), from_scratch(capsys, fs, tmp_path), tmp_path)
    old, new = set(pl.read_parquet(kept(second))["src"]), set(pl.read_parquet(kept(third))["src"])
    assert new - old and old <= new
    intervals = pl.read_parquet(st.state_path(kept(fourth)) / st.INTERVALS)
    sensors = intervals.group_by("src", "proto", "dport").agg(pl.col("sensor").n_unique())["sensor"].max()
    assert sensors == (3 if pl.read_parquet(files[0]).width > 14 else 1)  # a port scanned from one source at each
    # the runs: sorted, disjoint, their union the port's distinct (src, dst) probe keys, counted per source
    folder = st.state_path(kept(fourth))
    index = json.loads((folder / st.INDEX).read_text())
    runs = st.read_runs(folder, index["runs"])
    assert 1 <= len(runs) < 4 and sorted(index["days"]) == [dt.date(2024, 2, d).isoformat() for d in range(1, 6)]
    assert (index["first_day"], index["n_days"]) == ("2024-02-01", 5)
    union = np.sort(np.concatenate(runs))
    assert np.all(np.diff(union.astype(np.int64)) > 0)
    table = pl.read_parquet(kept(fourth)).select("src", "dsts").sort("src")
    assert st.per_source(union).equals(table)


@pytest.mark.parametrize("change", ["removed", "changed", "tools redone", "state damaged", "state of another version",
                                    "state gone", "list damaged", "list of other columns"])
def test_where_the_state_does_not_apply_the_list_is_computed_again(days, capsys, tmp_path, change):
    files, computed = days
    held = build(capsys, files[:4])
    computed.clear()
    folder = st.state_path(kept(held))
    if change == "removed":  # a day removed: the state of four days does not apply
        files = files[:3]
    elif change == "changed":  # a held day changed (a packet less)
        frame = pl.read_parquet(files[1])
        frame.head(frame.height - 1).write_parquet(files[1])
    elif change == "tools redone":  # as after new Unicorn sessions: a held day's port_day file not the one merged
        index = json.loads((folder / st.INDEX).read_text())
        index["days"][min(index["days"])][1] = "port_day-0000000000000000.parquet"
        (folder / st.INDEX).write_text(json.dumps(index))
        files = files[:5]
    elif change == "state damaged":
        (folder / st.SCANS).write_bytes(b"not parquet")
    elif change == "state of another version":
        index = json.loads((folder / st.INDEX).read_text())
        (folder / st.INDEX).write_text(json.dumps({**index, "version": st.VERSION + 1}))
    elif change == "state gone":
        shutil.rmtree(folder)
    elif change == "list of other columns":
        pl.read_parquet(kept(held)).drop("first_seen").write_parquet(kept(held))
    else:
        kept(held).write_bytes(b"not parquet")
    grown, said = build_said(capsys, files)
    assert computed == [1] and "built port list 443 (config" in said and "extended" not in said
    assert_same(kept(grown), from_scratch(capsys, files, tmp_path), tmp_path)


def test_a_fold_is_the_sorted_union_of_two_disjoint_runs(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    keys = np.unique(rng.integers(0, 1 << 63, 5000, dtype=np.uint64))
    pick = rng.random(len(keys)) < 0.3
    a, b = keys[pick], keys[~pick]
    monkeypatch.setattr(st, "FOLD_CHUNK", 97)  # many value slices
    for x, y in ((a, b), (b, a), (a, np.empty(0, np.uint64))):
        st.fold(x, y, tmp_path / "out.u64")
        assert np.array_equal(np.fromfile(tmp_path / "out.u64", dtype="<u8"), np.sort(np.concatenate([x, y])))
    assert np.array_equal(st.new_keys([a], keys), b) and np.array_equal(st.new_keys([a, b], keys), keys[:0])


def _port_lists(folder: Path) -> dict[str, bytes]:
    """Every file under a rollup's ``port_lists/`` (relative path: bytes)."""
    root = folder / "port_lists"
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


def test_the_state_is_the_same_bytes_in_two_builds_and_two_extensions(days, capsys, tmp_path, monkeypatch):
    files, _ = days
    fresh = []
    for i in range(2):  # two fresh caches
        monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / f"fresh{i}"))
        fresh.append(_port_lists(build(capsys, files[:4])))
    assert any(name.endswith(".u64") for name in fresh[0]) and fresh[1] == fresh[0]
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "held"))
    build(capsys, files[:4])
    extended = []
    for i in range(2):  # the same extension, each from its own copy of the held rollup
        shutil.copytree(tmp_path / "held", tmp_path / f"copy{i}")
        monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / f"copy{i}"))
        folder, said = build_said(capsys, files)
        assert "extended port list 443" in said
        extended.append(_port_lists(folder))
    assert extended[1] == extended[0]
    index = json.loads(extended[0][f"v1-443.state/{st.INDEX}"])
    assert index["runs"] and all(f"v1-443.state/{run}" in extended[0] for run in index["runs"])
