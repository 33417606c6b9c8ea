"""The newest day growing file by file (hourly captures, as CAIDA ships them): each version of the day extends the
merged state of the days before it, kept for that, instead of merging every held day again; a chain of extensions
keeps two merged states, not one per step; every table equals a fresh build's."""

from __future__ import annotations

import datetime as dt
import json
import gc
import os
import pickle
from pathlib import Path

import polars as pl
import pytest

from clihelp import run
from rollup_patch import patch_rollup
from scantui.analysis import rollup_cache as rc
from scantui.analysis import rollup_days as rd
from scantui.analysis import rollup_keys as rk
from scantui.analysis import rollup_store as rs
from scantui.analysis import session_counts as sc
from scantui.io.loader import open_inputs
from test_rollup_days import DAY1, _built, _by_day, _recurring, _same_as_scratch, _tables, _unicorn

DAY5 = DAY1 + dt.timedelta(days=4)
#: The hours each of day 5's files holds: [0, 8), [8, 16), [16, 24).
HOURS = ((0, 8), (8, 16), (16, 24))


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(rk.CACHE_ENV, str(folder))
    return folder


def _merged(update: rc.RollupUpdate) -> str:
    return [a.what for a in update.actions if a.verb == "merged"][0]


def _with_state(cache: Path) -> set[str]:
    """The rollups of the cache holding a merged state."""
    return {p.name for p in (cache / "rollups").iterdir() if (p / rd.MERGE).is_dir()}


def _unicorn_packets(update: rc.RollupUpdate) -> int:
    return update.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item()


@pytest.mark.parametrize("memo", [False, True], ids=["key_files", "memo"])
def test_the_newest_day_growing_by_the_hour_extends_the_days_before_it(tmp_path, cache_dir, monkeypatch, memo):
    """Days 1-4 as day files, day 5 arriving as three files of 8 hours. Each hour's rollup extends the 4-day state
    (the hour before's, holding day 5 as it was, is released); a Unicorn session key of 100 SYNs on day 4 and 30 in
    day 5's first file passes the threshold (150) with the 40 more of its second file: day 4's tool counts move. The
    next day extends the whole day 5's rollup; the 4-day state stays, for a file of day 5 arriving late."""
    if memo:
        monkeypatch.setattr(sc, "MEMO_MIN_ROWS", 0)
    # the Unicorn keys' port and a port of every day kept as lists (their state brought up to date by each hour)
    Path(os.environ["SCANTUI_CONFIG"]).write_text("rollup:\n  keep_ports: [8080, 20]\n  keep_top_ports: 0\n")
    key = [_unicorn(DAY5 - dt.timedelta(days=1), 100), _unicorn(DAY5, 30),
           _unicorn(DAY5, 40).with_columns(pl.col("ts") + dt.timedelta(hours=4)),  # 06:00 and 10:00 of day 5
           # and a key of 100 + 30 in the first file only: never a session (were day 5's first file counted twice,
           # as a memo not put back would, it would be one from the second file on)
           _unicorn(DAY5 - dt.timedelta(days=1), 100, sport=41000), _unicorn(DAY5, 30, sport=41000)]
    df = pl.concat([_recurring(6), *key]).sort("ts")
    days = _by_day(df.filter(pl.col("ts").dt.date() != DAY5), tmp_path / "in")
    day5 = df.filter(pl.col("ts").dt.date() == DAY5)
    six = days.pop()  # day 6, added last
    hours = []
    for lo, hi in HOURS:
        path = tmp_path / "in" / f"{DAY5}-{lo:02d}.parquet"
        day5.filter(pl.col("ts").dt.hour().is_between(lo, hi - 1)).write_parquet(path)
        hours.append(path)

    base = rc.update_rollup(open_inputs(days))
    assert _merged(base) == "rollup of 4 days"
    for n in range(1, len(hours) + 1):
        with monkeypatch.context() as m:
            if memo and n > 1:  # the held days' memo is the hour before's, taken back: no held key file read
                patch_rollup(m, "_held_counts", None)
            update = rc.update_rollup(open_inputs([*days, *hours[:n]]))
        assert _built(update, "day") == [f"day {DAY5}"]
        assert _merged(update) == f"rollup of 5 days (extending {base.rollup.path.name})"
        assert _with_state(cache_dir) == {base.rollup.path.name, update.rollup.path.name}
        assert _unicorn_packets(update) == (0 if n == 1 else 170)
        _same_as_scratch(update, [*days, *hours[:n]], tmp_path)
        # brought up to date from the 4-day rollup's lists until day 4's tool counts move (from the second file on
        # its port_day file is not the one those lists counted: computed again, test_port_list_state.py)
        _same_lists(update, [*days, *hours[:n]], tmp_path, extended=n == 1)

    later = rc.update_rollup(open_inputs([*days, *hours, six]))
    assert _merged(later) == f"rollup of 6 days (extending {update.rollup.path.name})"
    # the 4-day state stays for a file of day 5 arriving late (rollup.late_days: 1)
    assert _with_state(cache_dir) == {base.rollup.path.name, update.rollup.path.name, later.rollup.path.name}
    _same_as_scratch(later, [*days, *hours, six], tmp_path)
    _same_lists(later, [*days, *hours, six], tmp_path, extended=True)
    if memo:  # the newest memo and its chain of undos back to the days before day 6 and to days 1-4 (late_days: 1)
        names = {p.name for p in (cache_dir / "days" / sc.FOLDER).iterdir()}
        assert names == {sc.memo_path(Path(), _states(later)).name, sc._undo_path(Path(), _states(update)).name,
                         sc._undo_path(Path(), _states(base)).name}


def _same_lists(update: rc.RollupUpdate, paths: list[Path], tmp_path: Path, *, extended: bool) -> None:
    """The port lists the rollup keeps (*extended*: brought up to date from the older rollup's) are the bytes of
    those a build of *paths* in an empty cache keeps."""
    assert sorted(a.what for a in update.actions if a.verb == ("extended" if extended else "built")
                  and a.what.startswith("port list")) == ["port list 20", "port list 8080"]
    scratch = rc.update_rollup(open_inputs(paths), cache_dir=tmp_path / f"lists-{len(list(tmp_path.iterdir()))}")
    mine, theirs = (sorted((u.rollup.path / "port_lists").glob("*.parquet")) for u in (update, scratch))
    assert [p.name for p in mine] == [p.name for p in theirs] and mine
    for a, b in zip(mine, theirs):
        assert a.read_bytes() == b.read_bytes(), a.name


def _states(update: rc.RollupUpdate) -> list[str]:
    return [p.name for p in update.rollup.day_states.values()]


def test_an_earlier_version_of_the_day_is_removed_once_no_process_reads_it(tmp_path, cache_dir):
    """Each version of the newest day leaves a rollup folder (and the day's state as it was) that nothing will ask
    for again: removed by the next version's build, unless a process holds a handle of it (a TUI showing it), then by
    a later build's sweep once none does. Its day state goes with it unless another rollup names it; the days'
    states and the 4-day rollup stay. Asked for again, the earlier version is built anew, extending the 4 days."""
    df = _recurring(5)
    days = _by_day(df.filter(pl.col("ts").dt.date() < DAY5), tmp_path / "in")
    day5 = df.filter(pl.col("ts").dt.date() == DAY5)
    files = [tmp_path / "in" / f"{name}.parquet" for name in ("a", "b", "c")]
    for f, (lo, hi) in zip(files, HOURS):
        day5.filter(pl.col("ts").dt.hour().is_between(lo, hi - 1)).write_parquet(f)
    base = rc.update_rollup(open_inputs(days)).rollup.path
    rollups = cache_dir / "rollups"

    def build(paths: list[Path]) -> tuple[Path, str]:
        update = rc.update_rollup(open_inputs(paths))
        return update.rollup.path, rc.load_rollup(update.rollup.path).meta["day_keys"][DAY5.isoformat()]

    first, first_day = build([*days, files[0]])
    only_a, _ = build([files[0]])  # names the same day-5 state as the first version
    second, second_day = build([*days, *files[:2]])
    gc.collect()
    assert not first.exists() and {base, only_a, second} <= set(rollups.iterdir())
    assert (cache_dir / "days" / "state" / first_day).is_dir()  # the other rollup of it names it
    reader = rc.load_rollup(second)  # a process reading the second version
    third, _ = build([*days, *files])
    assert second.is_dir() and (second / rs.SUPERSEDED).is_file() and _tables(reader)["port_day"].height
    assert rs.sweep_superseded(rollups) == []  # still read
    del reader
    gc.collect()
    assert rs.sweep_superseded(rollups) == [second]
    assert not second.exists() and not (cache_dir / "days" / "state" / second_day).exists()
    assert all(p.is_dir() for p in rc.load_rollup(third).day_states.values())
    assert not [p for p in rollups.iterdir() if p.name.startswith(".")]  # nothing left half-removed
    again = rc.update_rollup(open_inputs([*days, *files[:2]]))  # the second version, asked for again
    assert _merged(again) == f"rollup of 5 days (extending {base.name})" and _built(again, "day") == [f"day {DAY5}"]
    _same_as_scratch(again, [*days, *files[:2]], tmp_path)


def test_an_earlier_version_asked_for_again_is_kept_and_leased(tmp_path, cache_dir):
    """A superseded version asked for again (its files as they were) is reused and no longer swept; the handle its
    reuse returns is a lease like a new build's: a sweep leaves the folder while it is held."""
    df = _recurring(5)
    days = _by_day(df.filter(pl.col("ts").dt.date() < DAY5), tmp_path / "in")
    day5 = df.filter(pl.col("ts").dt.date() == DAY5)
    a, b = tmp_path / "in" / "a.parquet", tmp_path / "in" / "b.parquet"
    day5.filter(pl.col("ts").dt.hour() < 12).write_parquet(a)
    day5.filter(pl.col("ts").dt.hour() >= 12).write_parquet(b)
    rc.update_rollup(open_inputs(days))
    reader = rc.update_rollup(open_inputs([*days, a])).rollup
    path = reader.path
    rc.update_rollup(open_inputs([*days, a, b]))
    assert (path / rs.SUPERSEDED).is_file()
    del reader
    gc.collect()
    again = rc.update_rollup(open_inputs([*days, a]))  # before any sweep: reused, kept from now on
    assert [x.verb for x in again.actions] == ["reused"] and again.rollup.path == path
    copy = pickle.loads(pickle.dumps(again.rollup))  # e.g. sent to a Dask worker: the same rollup, no lease
    assert copy.lease is None and again.rollup.lease is not None and copy.meta == again.rollup.meta
    assert rs.sweep_superseded(cache_dir / "rollups") == [] and not (path / rs.SUPERSEDED).exists()
    (path / rs.SUPERSEDED).touch()  # marked again by another process's build meanwhile: the reuse's handle holds it
    assert rs.sweep_superseded(cache_dir / "rollups") == [] and (path / "meta.json").is_file()
    del again
    gc.collect()
    assert rs.sweep_superseded(cache_dir / "rollups") == [path]


def test_rollup_prune_removes_what_no_command_used_for_days_but_not_what_a_process_reads(tmp_path, cache_dir, capsys):
    """``scantui rollup PATH --prune DAYS`` (for cron): after the update, the rollups, day states and splits unused
    for DAYS days are gone, the fresh ones stay, and an old rollup a process holds stays; one line says how many."""
    df = _recurring(5)
    days = _by_day(df, tmp_path / "in")
    reader = rc.update_rollup(open_inputs(days[:2])).rollup  # another process's, say, still open
    old = rc.update_rollup(open_inputs(days[2:3])).rollup
    old_path, old_state = old.path, old.day_states[DAY1 + dt.timedelta(days=2)]
    del old
    gc.collect()
    ages = [reader.path, old_path, old_state, *reader.day_states.values()]
    for path in ages:
        os.utime(path, (0, 1_000_000_000))  # 2001
    code, out, err = run(["rollup", str(days[3]), "--prune", "30"], capsys)
    assert code == 0 and "pruned 2 cache entries unused for 30 days" in err, err  # the old rollup and its state
    new = Path(out.strip())
    assert new.is_dir() and not old_path.exists() and not old_state.exists()
    assert reader.path.is_dir() and all(p.is_dir() for p in reader.day_states.values())  # kept rollups' states too
    code, out, err = run(["rollup", str(days[3]), "--prune", "1", "--json"], capsys)
    assert code == 0 and json.loads(out)["pruned"] == [] and new.is_dir()
