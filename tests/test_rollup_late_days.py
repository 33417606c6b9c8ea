"""A file for a day before the newest, arriving late or delivered again (a transfer that finished after the next
day's first file, a collector catching up, a corrected capture): the cache keeps the merged state of the days before
it (config ``rollup.late_days``, default 1: the chain of extensions keeps one more link), so the build extends that
state by the changed day and the newest, instead of merging every held day. Every table equals a fresh build's;
``late_days: 0`` merges every day, as before; a bad value is one error line."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from clihelp import run
from rollup_patch import patch_rollup
from scantui.analysis import rollup_cache as rc
from scantui.analysis import rollup_keys as rk
from scantui.analysis import session_counts as sc
from scantui.io.loader import open_inputs
from test_rollup_days import DAY1, _built, _recurring, _same_as_scratch
from test_rollup_growing_day import _with_state
from test_rollup_stepping_stone import T0, _cut, _extended, _merges


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(rk.CACHE_ENV, str(folder))
    return folder


def _late_days(n: int) -> None:
    Path(os.environ["SCANTUI_CONFIG"]).write_text(f"rollup:\n  keep_top_ports: 0\n  late_days: {n}\n")


def _day(n: int) -> str:
    return f"day {DAY1 + dt.timedelta(days=n - 1)}"


@pytest.mark.parametrize(("late", "memo"), [(1, False), (1, True), (0, False)], ids=["key_files", "memo", "late_days_0"])
def test_a_file_of_the_day_before_the_newest_extends_the_state_kept_for_it(tmp_path, cache_dir, monkeypatch, late, memo):
    """Days 1-5 as day files added one by one (day 4's last two hours missing from its file), then those hours as a
    late file of day 4: the build extends day 3's rollup, kept for it, by days 4 and 5, not a merge of every day;
    the rollups holding day 4 as it was give up their states. Day 6 then extends that rollup, and day 5 delivered
    again extends day 3's (still the newest state without day 5). Through the Unicorn key-count memo, the late
    build reads no held key file: it puts the memo back through two undos. With ``late_days: 0`` the late file
    merges every day (day 3's state was released once day 5 came)."""
    _late_days(late)
    if memo:
        monkeypatch.setattr(sc, "MEMO_MIN_ROWS", 0)
    df = _recurring(6).sort("ts")
    files = _cut(df, tmp_path / "in", [T0 + dt.timedelta(days=k) for k in range(7)])
    day4_end = T0 + dt.timedelta(days=4)
    held = df.filter((pl.col("ts") >= day4_end - dt.timedelta(days=1)) & (pl.col("ts") < day4_end - dt.timedelta(hours=2)))
    held.write_parquet(files[3])
    late_file = tmp_path / "in" / "003-late.parquet"
    df.filter((pl.col("ts") >= day4_end - dt.timedelta(hours=2)) & (pl.col("ts") < day4_end)).write_parquet(late_file)
    names = [rc.update_rollup(open_inputs(files[:n])).rollup.path.name for n in range(1, 6)]
    assert _with_state(cache_dir) == set(names[-1 - late - 1:])  # the chain keeps late_days + 2 states

    inputs = [*files[:5], late_file]
    with monkeypatch.context() as m:
        if memo:  # the memo of days 1-3 from that of days 1-5 and two undos: no held key file read
            patch_rollup(m, "_held_counts", None)
        update = rc.update_rollup(open_inputs(inputs))
    assert _built(update, "day") == [_day(4)]
    if not late:
        assert _merges(update) == ["rollup of 5 days"]
        _same_as_scratch(update, inputs, tmp_path)
        return
    assert _merges(update) == [f"rollup of 5 days (extending {names[2]})"]
    _same_as_scratch(update, inputs, tmp_path)
    # day 3's kept (days 1-2's went when day 5 came); day 4 and 5's rollups held day 4 as it was
    assert _with_state(cache_dir) == {names[2], update.rollup.path.name}

    six = rc.update_rollup(open_inputs([*inputs, files[5]]))
    assert _merges(six) == [f"rollup of 6 days (extending {update.rollup.path.name})"]
    assert _with_state(cache_dir) == {names[2], update.rollup.path.name, six.rollup.path.name}
    # day 5's file delivered again, cut: the newest state without it is day 3's (the late build added days 4-5)
    pl.read_parquet(files[4]).head(200).write_parquet(files[4])
    again = rc.update_rollup(open_inputs([*inputs, files[5]]))
    assert _built(again, "day") == [_day(5)]
    assert _merges(again) == [f"rollup of 6 days (extending {names[2]})"]
    _same_as_scratch(again, [*inputs, files[5]], tmp_path)


@pytest.mark.parametrize("late", [1, 0])
def test_a_late_hour_of_the_day_before_extends_it_and_the_next_hour_makes_a_stone(tmp_path, cache_dir, late):
    """Days 1-3 as day files, day 4 as three 8-hour files, day 5 likewise; day 4's last file arrives after day 5's
    first. It extends days 1-3's rollup (kept from day 4's hours) by days 4 and 5; day 5's second file then makes
    the stone of days 1-4 (its best rollup to extend lacked day 4 besides the newest: every later hour would extend
    it by both days again), and day 5's third reuses that stone. With ``late_days: 0``, a merge of every day."""
    _late_days(late)
    df = _recurring(5).sort("ts")
    day4, day5 = T0 + dt.timedelta(days=3), T0 + dt.timedelta(days=4)
    files = _cut(df, tmp_path / "in", [T0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2), day4,
                                        *(day4 + dt.timedelta(hours=h) for h in (8, 16)), day5,
                                        *(day5 + dt.timedelta(hours=h) for h in (8, 16, 24))])
    days3, d4, d5 = files[:3], files[3:6], files[6:]
    base = rc.update_rollup(open_inputs(days3)).rollup.path.name
    for n in (1, 2):
        assert _merges(rc.update_rollup(open_inputs([*days3, *d4[:n]]))) == [f"rollup of 4 days (extending {base})"]
    rc.update_rollup(open_inputs([*days3, *d4[:2], d5[0]]))

    late_build = rc.update_rollup(open_inputs([*days3, *d4, d5[0]]))
    assert _built(late_build, "day") == [f"day {day4.date()}"]
    if not late:
        assert _merges(late_build) == ["rollup of 5 days"]
        _same_as_scratch(late_build, [*days3, *d4, d5[0]], tmp_path)
        return
    assert _merges(late_build) == [f"rollup of 5 days (extending {base})"]
    _same_as_scratch(late_build, [*days3, *d4, d5[0]], tmp_path)

    second = rc.update_rollup(open_inputs([*days3, *d4, *d5[:2]]))
    stone = _extended(second)
    assert _merges(second) == [f"the 4 days before the newest (extending {base})", f"rollup of 5 days (extending {stone})"]
    _same_as_scratch(second, [*days3, *d4, *d5[:2]], tmp_path)
    third = rc.update_rollup(open_inputs([*days3, *d4, *d5]))
    assert [a.verb for a in third.actions if "before the newest" in a.what] == []  # the stone is the best base
    assert _merges(third) == [f"rollup of 5 days (extending {stone})"]
    _same_as_scratch(third, [*days3, *d4, *d5], tmp_path)


@pytest.mark.parametrize("value", ["-1", "32", "soon", "true"])
def test_a_bad_late_days_is_one_error_line(tmp_path, capsys, value):
    data = tmp_path / "d.parquet"
    _recurring(1).write_parquet(data)
    config = Path(os.environ["SCANTUI_CONFIG"])
    config.write_text(f"rollup:\n  late_days: {value}\n")
    code, out, err = run(["rollup", str(data)], capsys)
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and err.startswith("scantui: error: ") and "rollup.late_days" in err, err
    assert "must be a number of days (0-31)" in err and str(config) in err, err


@pytest.mark.parametrize("aged", [True, False])
def test_a_memo_a_full_merge_left_behind_is_swept_by_the_next_build(tmp_path, cache_dir, monkeypatch, aged):
    """Days 1-4 added one by one through the Unicorn key-count memo, then day 1's file delivered again (older than
    ``late_days`` allows: a full merge): the memo of days 1-4 and its undos are of no use to any merged state left, and
    go with that build once older than an hour (else a build beside may have just written them: kept); the next day
    then keeps only its own memo and undo."""
    monkeypatch.setattr(sc, "MEMO_MIN_ROWS", 0)
    df = _recurring(5).sort("ts")
    files = _cut(df, tmp_path / "in", [T0 + dt.timedelta(days=k) for k in range(6)])
    for n in range(1, 5):
        rc.update_rollup(open_inputs(files[:n]))
    memos = cache_dir / "days" / sc.FOLDER
    before = {p.name for p in memos.iterdir()}
    assert sorted(p.rsplit(".")[-1] for p in before) == ["counts", "undo", "undo"]
    if aged:
        for path in memos.iterdir():
            os.utime(path, (path.stat().st_atime, path.stat().st_mtime - 2 * sc.ORPHAN_AGE_S))
    pl.read_parquet(files[0]).head(100).write_parquet(files[0])
    update = rc.update_rollup(open_inputs(files[:4]))
    assert _merges(update) == ["rollup of 4 days"]
    assert {p.name for p in memos.iterdir()} == (set() if aged else before)
    five = rc.update_rollup(open_inputs(files[:5]))
    mine = {sc.memo_path(memos, [p.name for p in five.rollup.day_states.values()]).name,
            sc._undo_path(memos, [p.name for p in update.rollup.day_states.values()]).name}
    assert {p.name for p in memos.iterdir()} == (mine if aged else before | mine)
