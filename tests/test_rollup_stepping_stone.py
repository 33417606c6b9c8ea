"""Captures rotated off UTC midnight: each new file changes the newest day *and* adds the next. A build whose newest
day shares an input with the day before first makes the rollup of every day but the newest (a *stepping stone*,
keyed by those days' states), then extends it by the newest day; the next file's build extends that stone in turn,
instead of merging every held day again (daily files) or extending a state ever further behind (hourly files holding
the day before's last packets). Every table equals a fresh build's; two merged states stay on disk."""

from __future__ import annotations

import datetime as dt
import gc
import json
from pathlib import Path

import polars as pl
import pytest

from clihelp import run
from scantui.analysis import rollup_cache as rc
from scantui.analysis import rollup_keys as rk
from scantui.analysis import rollup_store as rs
from scantui.analysis import session_counts as sc
from scantui.io.loader import open_inputs
from test_rollup_days import DAY1, _built, _recurring, _same_as_scratch, _unicorn
from test_rollup_growing_day import _with_state

UTC = dt.timezone.utc
T0 = dt.datetime.combine(DAY1, dt.time(0), tzinfo=UTC)


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(rk.CACHE_ENV, str(folder))
    return folder


def _cut(df: pl.DataFrame, folder: Path, edges: list[dt.datetime]) -> list[Path]:
    """*df* as one file per [edge, next edge)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, (lo, hi) in enumerate(zip(edges, edges[1:])):
        path = folder / f"{n:03d}.parquet"
        df.filter((pl.col("ts") >= lo) & (pl.col("ts") < hi)).write_parquet(path)
        paths.append(path)
    return paths


def _merges(update: rc.RollupUpdate) -> list[str]:
    return [a.what for a in update.actions if a.verb == "merged"]


def _rollups(cache: Path) -> set[str]:
    return {p.name for p in (cache / "rollups").iterdir() if not p.name.startswith(".")}


def _extended(update: rc.RollupUpdate) -> str:
    return json.loads((update.rollup.path / "meta.json").read_text())["extended"]


def _same_kept_lists(update: rc.RollupUpdate, paths: list[Path], tmp_path: Path) -> None:
    """The port lists the rollup keeps are the bytes of those a build of *paths* in an empty cache keeps."""
    scratch = rc.update_rollup(open_inputs(paths), cache_dir=tmp_path / f"lists-{len(list(tmp_path.iterdir()))}")
    mine, theirs = (sorted((u.rollup.path / "port_lists").glob("*.parquet")) for u in (update, scratch))
    assert [p.name for p in mine] == [p.name for p in theirs] and mine
    for a, b in zip(mine, theirs):
        assert a.read_bytes() == b.read_bytes(), a.name


def _lists(update: rc.RollupUpdate) -> dict[str, str]:
    return {a.what: a.verb for a in update.actions if a.what.startswith("port list")}


@pytest.mark.parametrize("memo", [False, True], ids=["key_files", "memo"])
def test_daily_files_cut_at_23h_extend_the_days_before_the_newest(tmp_path, cache_dir, monkeypatch, memo):
    """Seven daily files cut at 23:00 UTC (each but the first and last holds an hour of one UTC day and 23 hours of
    the next), added one by one: from the second on the build makes the stone (the days before its newest) and
    extends it by the newest day; from the third on the stone extends the one before (no full merge); the last
    file, of one day, reuses the last stone. A Unicorn session key of 100 SYNs late on day 3 and 60 early on day 4
    (one file holds both) becomes a session only with that file, moving day 3's tool counts inside the stone. Every
    table and kept port list equals a fresh build's; the earlier stones and newest rollups are swept; the merged
    states are the two newest stones' and the rollup's (the first build's, of a file all later builds hold, released
    once a build merged every day without it; its folder stays)."""
    if memo:
        monkeypatch.setattr(sc, "MEMO_MIN_ROWS", 0)
    (tmp_path / "config.yaml").write_text("rollup:\n  keep_ports: [8080, 20]\n  keep_top_ports: 0\n")
    monkeypatch.setenv("SCANTUI_CONFIG", str(tmp_path / "config.yaml"))
    day3 = DAY1 + dt.timedelta(days=2)
    late = _unicorn(day3, 100).with_columns(pl.col("ts") + dt.timedelta(hours=17, minutes=5))  # 23:05-23:06:39
    early = _unicorn(day3 + dt.timedelta(days=1), 60).with_columns(pl.col("ts") - dt.timedelta(hours=5))  # 01:00
    df = pl.concat([_recurring(6), late, early]).sort("ts")
    files = _cut(df, tmp_path / "in", [T0 - dt.timedelta(hours=1) + dt.timedelta(days=k) for k in range(8)])
    first = rc.update_rollup(open_inputs(files[:1]))
    assert _merges(first) == ["rollup of 1 day"]  # one input: no stone
    stones = []
    for n in range(2, len(files) + 1):
        update = rc.update_rollup(open_inputs(files[:n]))
        merges, stone = _merges(update), _extended(update)
        if n < 7:
            assert _built(update, "day") == [f"day {DAY1 + dt.timedelta(days=n - 2)}", f"day {DAY1 + dt.timedelta(days=n - 1)}"]
            before = f"the {n - 1} day{'s' if n > 2 else ''} before the newest"
            assert merges == [before + (f" (extending {stones[-1]})" if stones else ""),
                              f"rollup of {n} days (extending {stone})"]
            stones.append(stone)
            # the stone keeps the port lists, brought up to date from its own base's; the rollup's from the stone's
            # (counted again where a held day's tool counts moved: n = 4)
            lists = _lists(update)
            assert sorted(lists) == ["port list 20", f"port list 20 of {before}", "port list 8080",
                                     f"port list 8080 of {before}"]
            if n != 4:
                assert lists["port list 20"] == lists["port list 8080"] == "extended"
            if n > 2 and n != 5:
                assert lists[f"port list 20 of {before}"] == "extended"
        else:  # the last file holds day 6's last hour: the stone of days 1-5 is reused
            assert _built(update, "day") == [f"day {DAY1 + dt.timedelta(days=5)}"]
            assert merges == [f"rollup of 6 days (extending {stones[-1]})"] and stone == stones[-1]
            assert [a.verb for a in update.actions if "before the newest" in a.what] == ["reused"]
        if n >= 4:
            sessions = update.rollup.port_day.filter(pl.col("day") == day3).select(pl.col("tool_unicorn").sum())
            assert sessions.collect().item() == 100  # the key's day-3 SYNs
        # and the stone before, kept for a file of the day before the newest delivered again (rollup.late_days: 1)
        assert _with_state(cache_dir) == {*stones[-2:], update.rollup.path.name}
        gc.collect()
        rs.sweep_superseded(cache_dir / "rollups")
        assert _rollups(cache_dir) == {first.rollup.path.name, *stones[-2:], update.rollup.path.name}
        if n >= 4 or not memo:  # the memo path from the session's birth on (the same builds before it)
            _same_as_scratch(update, files[:n], tmp_path)
        if n in (2, 4, 5, 7):  # the first stone's, the lists counted again, the stones' extended, the stone reused
            _same_kept_lists(update, files[:n], tmp_path)


def test_hourly_files_holding_the_day_befores_last_packets_reuse_the_stone(tmp_path, cache_dir):
    """Days 1-3 as day files but day 3's last half hour, which day 4's first 8-hour file holds (a rotation late); then
    day 4's second file, and a third holding day 4's last 8 hours and day 5's first quarter hour; then the rest of
    day 5. Day 4's first file makes the stone (days 1-3 as it changes day 3; nothing held that: merged); its second
    reuses it and extends it by day 4 as it is then; the third makes the next stone by extending that one with the
    whole day 4, and the last reuses it. Each equals a fresh build; two merged states stay, three once the stones
    chain (the one before kept for a late file; the first build's, whose files the later ones all hold, is released
    by the stone's full merge)."""
    df = _recurring(5).sort("ts")
    day4, day5 = T0 + dt.timedelta(days=3), T0 + dt.timedelta(days=4)
    edges = [T0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2), day4 - dt.timedelta(minutes=30),
             day4 + dt.timedelta(hours=8), day4 + dt.timedelta(hours=16), day5 + dt.timedelta(minutes=15),
             day5 + dt.timedelta(days=1)]
    for lo, hi in ((day4 - dt.timedelta(minutes=30), day4), (day5, day5 + dt.timedelta(minutes=15))):
        assert df.filter((pl.col("ts") >= lo) & (pl.col("ts") < hi)).height  # the files do straddle midnight
    files = _cut(df, tmp_path / "in", edges)
    base = rc.update_rollup(open_inputs(files[:3])).rollup.path.name
    first = rc.update_rollup(open_inputs(files[:4]))
    stone = _extended(first)
    assert _merges(first) == ["the 3 days before the newest", f"rollup of 4 days (extending {stone})"]
    _same_as_scratch(first, files[:4], tmp_path)
    second = rc.update_rollup(open_inputs(files[:5]))
    assert [a.verb for a in second.actions if "before the newest" in a.what] == ["reused"]
    assert _merges(second) == [f"rollup of 4 days (extending {stone})"] and _built(second, "day") == [f"day {day4.date()}"]
    assert _with_state(cache_dir) == {stone, second.rollup.path.name} and (cache_dir / "rollups" / base).is_dir()
    _same_as_scratch(second, files[:5], tmp_path)
    third = rc.update_rollup(open_inputs(files[:6]))
    assert _merges(third) == [f"the 4 days before the newest (extending {stone})",
                              f"rollup of 5 days (extending {_extended(third)})"]
    assert _with_state(cache_dir) == {stone, _extended(third), third.rollup.path.name}  # stone: for a late file
    _same_as_scratch(third, files[:6], tmp_path)
    last = rc.update_rollup(open_inputs(files))
    assert [a.verb for a in last.actions if "before the newest" in a.what] == ["reused"]
    assert _merges(last) == [f"rollup of 5 days (extending {_extended(third)})"]
    assert _with_state(cache_dir) == {stone, _extended(third), last.rollup.path.name}
    _same_as_scratch(last, files, tmp_path)
    # day 3's file delivered again, its first hour cut: the days before the newest are not that stone's any more
    files[2].unlink()
    df.filter((pl.col("ts") >= edges[2] + dt.timedelta(hours=1)) & (pl.col("ts") < edges[3])).write_parquet(files[2])
    again = rc.update_rollup(open_inputs(files))
    assert _merges(again)[0] == "the 4 days before the newest" and _extended(again) != _extended(third)
    _same_as_scratch(again, files, tmp_path)


def test_one_input_of_many_days_and_files_each_within_a_day_make_no_stone(tmp_path, cache_dir):
    """No file shares the newest day with the day before, or there is one input only: one merge, as before."""
    df = _recurring(4).sort("ts")
    whole = tmp_path / "whole.parquet"
    df.write_parquet(whole)
    assert _merges(rc.update_rollup(open_inputs([whole]))) == ["rollup of 4 days"]
    days = _cut(df, tmp_path / "in", [T0 + dt.timedelta(days=k) for k in range(5)])
    assert _merges(rc.update_rollup(open_inputs(days))) == ["rollup of 4 days"]
    # a file of days 1-3, then day 4's: the newest day's file holds no other day
    three = _cut(df, tmp_path / "three", [T0, T0 + dt.timedelta(days=3)])
    assert _merges(rc.update_rollup(open_inputs([*three, days[3]]))) == ["rollup of 4 days"]


def test_the_rollup_command_says_it_merged_the_days_before_the_newest(tmp_path, cache_dir, capsys):
    """``scantui rollup`` names the stone's merge and its reuse is silent; the summary counts the build's days."""
    df = _recurring(3).sort("ts")
    files = _cut(df, tmp_path / "in", [T0 - dt.timedelta(hours=1) + dt.timedelta(days=k) for k in range(4)])
    code, _, err = run(["rollup", *map(str, files)], capsys)
    assert code == 0
    lines = err.splitlines()
    assert len([line for line in lines if line.startswith("merged the 2 days before the newest (")]) == 1, err
    assert len([line for line in lines if line.startswith("merged rollup of 3 days (extending ")]) == 1, err
    assert ": built 3 inputs and 3 days, reused 0 inputs and 0 days" in err, err
    code, _, err = run(["rollup", *map(str, files)], capsys)
    assert code == 0 and "before the newest" not in err and "unchanged" in err, err


def test_the_progress_of_a_build_with_a_stone_never_goes_back_nor_says_done_early(tmp_path, cache_dir):
    """The stone's steps are told as its own (``the 2 days before the newest: …``) and held where the build's merge
    starts, so the fraction never goes back and ``rollup done`` is said only after them."""
    df = _recurring(3).sort("ts")
    files = _cut(df, tmp_path / "in", [T0 - dt.timedelta(hours=1) + dt.timedelta(days=k) for k in range(4)])
    said: list[tuple[str, float | None]] = []
    rc.update_rollup(open_inputs(files), progress=lambda m, f: said.append((m, f)))
    stone = [m for m, _ in said if m.startswith("the 2 days before the newest: ")]
    assert any("tool counts" in m for m in stone) and any("port list" in m for m in stone), said
    fractions = [f for _, f in said if f is not None]
    assert fractions == sorted(fractions), said
    last_stone = max(i for i, (m, _) in enumerate(said) if m.startswith("the 2 days before the newest: "))
    assert said[-1][0] == "rollup done" and all(m != "rollup done" for m, _ in said[:last_stone]), said


def test_a_first_build_whose_newest_day_has_several_files_makes_a_stone_for_the_next_hour(tmp_path, cache_dir):
    """Days 1-3 as day files and day 4's first two 8-hour files, built in an empty cache (a first run on a folder of
    hourly captures, or after a full merge): every day is merged anyway, so the days before the newest are merged as
    a stone and the newest day extends it; day 4's third file then extends the stone instead of merging every day
    again. With a rollup of the days before at hand, no stone (the hours extend it:
    ``test_rollup_growing_day.py``)."""
    df = _recurring(4).sort("ts")
    day4 = T0 + dt.timedelta(days=3)
    files = _cut(df, tmp_path / "in", [T0 + dt.timedelta(days=k) for k in range(4)]
                 + [day4 + dt.timedelta(hours=h) for h in (8, 16, 24)])
    first = rc.update_rollup(open_inputs(files[:5]))
    stone = _extended(first)
    assert _merges(first) == ["the 3 days before the newest", f"rollup of 4 days (extending {stone})"]
    _same_as_scratch(first, files[:5], tmp_path)
    later = rc.update_rollup(open_inputs(files))
    assert _merges(later) == [f"rollup of 4 days (extending {stone})"]
    _same_as_scratch(later, files, tmp_path)
    # day 4's first file alone onto days 1-3's rollup: that rollup is extended, no stone
    other = tmp_path / "other-cache"
    rc.update_rollup(open_inputs(files[:3]), cache_dir=other)
    assert [m.split(" (")[0] for m in _merges(rc.update_rollup(open_inputs(files[:4]), cache_dir=other))] == ["rollup of 4 days"]
    assert _merges(rc.update_rollup(open_inputs(files[:5]), cache_dir=other))[0].startswith("rollup of 4 days (extending ")


def test_a_full_merge_releases_the_state_of_the_earlier_versions_of_its_inputs_only(tmp_path, cache_dir):
    """A re-delivered file of the first day (a changed held day): the rollup it replaces (the same files, one of them
    older) gives up its merged state and, as no input set can name it again, is swept with its old day 1 state once
    no process reads it (a handle held keeps it meanwhile); so is a rollup of another Unicorn threshold that read the
    old day 1. The build extends the rollup of days 2-3 (another threshold: its tool sums are swapped); one of day 4
    alone with that threshold, and one of a file the build does not hold, keep their states. (A replaced rollup whose
    files are all unchanged keeps its folder: the first build in the test above.)"""
    df = _recurring(4).sort("ts")
    days = _cut(df, tmp_path / "in", [T0 + dt.timedelta(days=k) for k in range(5)])
    other = tmp_path / "other.parquet"
    df.filter(pl.col("ts") < T0 + dt.timedelta(days=2)).write_parquet(other)
    held = rc.update_rollup(open_inputs(days)).rollup  # a TUI still showing it
    before = held.path
    old_day1 = cache_dir / "days" / "state" / held.meta["day_keys"][str(DAY1)]
    read_day1 = rc.update_rollup(open_inputs(days[:2]), unicorn_min_packets=100).rollup.path
    middle = rc.update_rollup(open_inputs(days[1:3]), unicorn_min_packets=100).rollup.path
    threshold = rc.update_rollup(open_inputs(days[3:]), unicorn_min_packets=100).rollup.path
    elsewhere = rc.update_rollup(open_inputs([other, days[2]])).rollup.path
    pl.read_parquet(days[0]).head(100).write_parquet(days[0])  # delivered again, cut
    after = rc.update_rollup(open_inputs(days))
    assert _merges(after) == [f"rollup of 4 days (extending {middle.name})"]
    _same_as_scratch(after, days, tmp_path)
    assert _with_state(cache_dir) == {after.rollup.path.name, middle.name, threshold.name, elsewhere.name}
    assert not read_day1.exists()  # unread: swept at once
    assert (before / rs.SUPERSEDED).is_file() and rc.load_rollup(before).meta["days"] == 4  # read: kept
    del held
    gc.collect()
    assert rs.sweep_superseded(cache_dir / "rollups") == [before] and not old_day1.exists()
    assert (cache_dir / "days" / "state" / after.rollup.meta["day_keys"][str(DAY1)]).is_dir()
