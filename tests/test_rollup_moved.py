"""Inputs under other names reuse the day store: an archive moved or renamed, a copy that kept its times, a
relative path from another folder; the rollup names them as they are now (files, capture records)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from clihelp import SAMPLE_DIR, run_captured
from scantui.analysis import day_builder
from scantui.analysis import rollup_cache as rc
from scantui.analysis import rollup_keys as rk
from scantui.io.loader import open_inputs

CAPTURE = SAMPLE_DIR / "cuts" / "telescope-cut.pcap"
LOG = SAMPLE_DIR / "cuts" / "iptables.csv"


@pytest.fixture()
def archive(tmp_path) -> Path:
    """A folder of a capture, a CSV export and three one-day Parquet files (read in place, no split copy)."""
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy2(CAPTURE, folder / CAPTURE.name)
    shutil.copy2(LOG, folder / LOG.name)
    sample = pl.read_parquet(SAMPLE_DIR / "telescope.parquet")
    for day in sorted(sample["ts"].dt.date().unique())[:3]:
        sample.filter(pl.col("ts").dt.date() == day).write_parquet(folder / f"{day}.parquet")
    return folder


def _inputs(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _tables(rollup: rc.Rollup) -> dict[str, pl.DataFrame]:
    return {"port_day": rollup.port_day.collect().sort(pl.all(), nulls_last=True),
            "src_totals": rollup.src_totals.collect().sort(pl.all(), nulls_last=True),
            "src_profile": rollup.src_profile.collect().sort("src", "kind"),
            "day_totals": rollup.day_totals.collect().sort(pl.all(), nulls_last=True)}


def _counts(update: rc.RollupUpdate) -> tuple[int, int, int, int]:
    return (update.count("built", "input"), update.count("built", "day"),
            update.count("reused", "input"), update.count("reused", "day"))


def test_a_moved_archive_reuses_every_day_and_names_its_files_where_they_are(tmp_path, archive, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(rk.CACHE_ENV, str(cache))
    first = rc.update_rollup(open_inputs(_inputs(archive)))
    n_inputs, n_days = len(_inputs(archive)), first.rollup.meta["days"]
    assert _counts(first) == (n_inputs, n_days, 0, 0)
    before = run_captured(["packets", *map(str, _inputs(archive)), "--day", "2024-02-05", "--limit", "20", "-o", str(tmp_path / "a.pcap")])
    assert before.returncode == 0, before.stderr

    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    archive.rename(moved)  # a move keeps the bytes and the modification times
    again = rc.update_rollup(open_inputs(_inputs(moved)))
    assert _counts(again) == (0, 0, n_inputs, n_days)
    assert [a.what for a in again.actions if a.verb == "merged"] == [
        f"rollup of {n_days} days (extending {first.rollup.path.name})"]
    for name, table in _tables(again.rollup).items():
        assert_frame_equal(table, _tables(first.rollup)[name], check_row_order=True)
    fresh = rc.update_rollup(open_inputs(_inputs(moved)), cache_dir=tmp_path / "fresh")
    assert _counts(fresh) == (n_inputs, n_days, 0, 0)
    for name, table in _tables(again.rollup).items():
        assert_frame_equal(table, _tables(fresh.rollup)[name])

    # what the user sees names the files as they are now
    info = run_captured(["info", "--json", *map(str, _inputs(moved))])
    assert info.returncode == 0, info.stderr
    assert [i["path"] for i in json.loads(info.stdout)["inputs"]] == [str(p) for p in _inputs(moved)]
    assert str(archive) not in info.stdout + info.stderr
    # the original records of the capture are read from where it is now
    after = run_captured(["packets", *map(str, _inputs(moved)), "--day", "2024-02-05", "--limit", "20", "-o", str(tmp_path / "b.pcap")])
    assert after.returncode == 0, after.stderr
    assert "(20 original)" in after.stdout + after.stderr
    assert (tmp_path / "b.pcap").read_bytes() == (tmp_path / "a.pcap").read_bytes()


def test_a_capture_first_given_by_a_relative_path_is_read_from_another_folder(tmp_path, monkeypatch):
    """The capture's records were looked for under the path as first typed (relative to a folder since left):
    'capture file is gone'."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy2(CAPTURE, data / CAPTURE.name)
    env = {rk.CACHE_ENV: str(tmp_path / "cache")}
    monkeypatch.chdir(data)
    there = run_captured(["packets", CAPTURE.name, "--limit", "5", "-o", str(tmp_path / "a.pcap")], **env)
    assert there.returncode == 0, there.stderr
    monkeypatch.chdir(tmp_path)
    here = run_captured(["packets", str(Path("data") / CAPTURE.name), "--limit", "5", "-o", str(tmp_path / "b.pcap")], **env)
    assert here.returncode == 0, here.stderr
    assert (tmp_path / "b.pcap").read_bytes() == (tmp_path / "a.pcap").read_bytes()
    assert len(list((tmp_path / "cache" / "days" / "inputs").iterdir())) == 1  # one split, reused


def test_a_copy_that_changed_its_time_is_built_again(tmp_path, archive, monkeypatch):
    """The day store knows bytes by size, times and edges: a copy with a new modification time is not assumed to
    be the same bytes (an in-place edit keeps the size and edges as often as a copy does)."""
    monkeypatch.setenv(rk.CACHE_ENV, str(tmp_path / "cache"))
    rc.update_rollup(open_inputs([archive / CAPTURE.name]))
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(archive / CAPTURE.name, copy / CAPTURE.name)  # contents only: a new modification time
    os.utime(copy / CAPTURE.name, ns=(1, 1))
    update = rc.update_rollup(open_inputs([copy / CAPTURE.name]))
    assert update.count("built", "input") == 1 and update.count("reused", "input") == 0


def test_the_same_bytes_given_twice_are_split_once_and_counted_twice(tmp_path, archive, monkeypatch):
    monkeypatch.setenv(rk.CACHE_ENV, str(tmp_path / "cache"))
    other = tmp_path / "twin"
    other.mkdir()
    shutil.copy2(archive / CAPTURE.name, other / CAPTURE.name)
    once = rc.update_rollup(open_inputs([archive / CAPTURE.name]), cache_dir=tmp_path / "once")
    twice = rc.update_rollup(open_inputs([archive / CAPTURE.name, other / CAPTURE.name]))
    assert twice.count("built", "input") == 1 and twice.count("reused", "input") == 1
    assert twice.rollup.meta["packets"] == 2 * once.rollup.meta["packets"]


def test_day_splits_keyed_by_path_before_this_change_are_still_used(tmp_path, archive, monkeypatch):
    """A day store made when its keys named the inputs' paths is reused where those paths are unchanged (no
    rebuild of a year after the upgrade)."""
    monkeypatch.setenv(rk.CACHE_ENV, str(tmp_path / "cache"))
    with monkeypatch.context() as old:
        old.setattr(day_builder, "content_identity", lambda identity: identity)
        first = rc.update_rollup(open_inputs(_inputs(archive)))
    expected = _tables(first.rollup)
    shutil.rmtree(first.rollup.path)  # not served as a hit: built again from the day store
    update = rc.update_rollup(open_inputs(_inputs(archive)))
    assert update.count("built", "input") == 0 and update.count("built", "day") == 0
    for name, table in _tables(update.rollup).items():
        assert_frame_equal(table, expected[name])


def test_the_same_bytes_under_two_hive_partitions_keep_their_own_partition_values(tmp_path, monkeypatch):
    """A hive file's partition folders are columns of its rows: the same file under ``sensor=a`` and ``sensor=b``
    is two inputs, not one split; the hive folder moved elsewhere reuses both."""
    monkeypatch.setenv(rk.CACHE_ENV, str(tmp_path / "cache"))
    day = pl.read_parquet(SAMPLE_DIR / "telescope.parquet").drop("sensor", strict=False)
    day = day.filter(pl.col("ts").dt.date() == day["ts"].dt.date().min())
    root = tmp_path / "hive"
    for sensor in ("a", "b"):
        (root / f"sensor={sensor}").mkdir(parents=True)
        day.write_parquet(root / f"sensor={sensor}" / "part-0.parquet")
    a = os.stat(root / "sensor=a" / "part-0.parquet")
    os.utime(root / "sensor=b" / "part-0.parquet", ns=(a.st_atime_ns, a.st_mtime_ns))  # the same bytes, times and all
    first = rc.update_rollup(open_inputs([root]))
    assert first.count("built", "input") == 2
    sensors = first.rollup.day_totals.collect().group_by("sensor").agg(pl.col("packets").sum()).sort("sensor")
    assert sensors.rows() == [("a", day.height), ("b", day.height)]
    moved = tmp_path / "elsewhere" / "hive"
    moved.parent.mkdir()
    root.rename(moved)
    again = rc.update_rollup(open_inputs([moved]))
    assert again.count("built", "input") == 0 and again.count("reused", "input") == 2
    assert_frame_equal(again.rollup.day_totals.collect().sort("sensor"), first.rollup.day_totals.collect().sort("sensor"))
