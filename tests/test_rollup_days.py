"""A rollup made of days: adding, removing or changing an input rebuilds only the days it touches,
and the result is the same, table for table, as a build from scratch (issue 12 parts 1-2)."""

from __future__ import annotations

import datetime as dt
import json
import os
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from clihelp import run
from canonical import make_canonical
from rollup_patch import patch_rollup
from scantui.analysis import bursts as bw
from scantui.analysis import merge_partials as mpa
from scantui.analysis import merge_plan as mpl
from scantui.analysis import merge_sources as msr
from scantui.analysis import merge_state as mst
from scantui.analysis import port_day_files as pdf
from scantui.analysis import port_sources as ps
from scantui.analysis import sensor_sources as ss
from scantui.analysis import rollup as ru
from scantui.analysis import rollup_cache as rc
from scantui.analysis import rollup_days as rd
from scantui.analysis import rollup_handle as rh
from scantui.analysis import rollup_keys as rk
from scantui.analysis import rollup_layout as rl
from scantui.analysis import session_counts as sc
from scantui.analysis import unicorn_sessions as us
from scantui.analysis.day_packets import DAY_PACKETS
from scantui.analysis.fingerprints import UNICORN_MIN_PACKETS
from scantui.io.loader import open_inputs
from scantui.io.schema import TS_DTYPE, conform

UTC = dt.timezone.utc
DAY1 = dt.date(2024, 2, 1)
UNICORN_SRC = 0x0B0B0B0B


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(rk.CACHE_ENV, str(folder))
    return folder


def _unicorn(day: dt.date, n: int, sport: int = 40000) -> pl.DataFrame:
    """*n* SYNs of one Unicornscan session key (same src, sport, dport, seq) on *day*: nmap-looking
    packets that are ``unicorn`` only when the key is shared by more than 150 over the whole input."""
    start = dt.datetime.combine(day, dt.time(6), tzinfo=UTC)
    rows = {
        "ts": [start + dt.timedelta(seconds=i) for i in range(n)], "src": [UNICORN_SRC] * n,
        "dst": [(198 << 24) | (18 << 16) | (1000 + i) for i in range(n)], "proto": [6] * n, "sport": [sport] * n,
        "dport": [8080] * n, "ip_id": [1] * n, "ttl": [64] * n, "ip_len": [44] * n, "tcp_flags": [2] * n,
        "tcp_seq": [123456] * n, "tcp_ack": [0] * n, "tcp_window": [1024] * n, "tcp_mss": [1460] * n,
    }
    return conform(pl.DataFrame(rows).with_columns(pl.col("ts").dt.cast_time_unit("us")).lazy()).collect()


def _data(days: int = 4) -> pl.DataFrame:
    """Random traffic over *days* days plus one Unicorn session split over the first and last day
    (100 + 100 packets: a session only when both days are in) and one of 150 packets on day 2 and
    a single one on day 3 (a key seen once on a day: its packet is found again in that day's packets)."""
    base = make_canonical(n=3000, seed=3, days=days)
    last = DAY1 + dt.timedelta(days=days - 1)
    sessions = [_unicorn(DAY1, 100), _unicorn(last, 100), _unicorn(DAY1 + dt.timedelta(days=1), 150, sport=41000),
                _unicorn(DAY1 + dt.timedelta(days=2), 1, sport=41000)]
    return pl.concat([base, *sessions]).sort("ts")


def _by_day(df: pl.DataFrame, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (day,), part in sorted(df.group_by(pl.col("ts").dt.date()), key=lambda kv: kv[0]):
        path = folder / f"{day}.parquet"
        part.write_parquet(path)
        paths.append(path)
    return paths


def _tables(rollup: rc.Rollup) -> dict[str, pl.DataFrame]:
    out = {
        "port_day": rollup.port_day.collect().sort(list(ru.PORT_DAY_KEYS), nulls_last=True),
        "src_totals": rollup.src_totals.collect().sort("src", "kind"),
        "src_profile": rollup.src_profile.collect().sort("src", "kind"),
        "day_totals": rollup.day_totals.collect().sort("day", "sensor", nulls_last=True),
    }
    if rollup.enrichment is not None:
        out["enrichment"] = rollup.enrichment.collect().sort("src", "day")
    if rollup.collab_sums is not None:
        out["collab_sums"] = rollup.collab_sums.table.collect().sort("day", "key_kind", "dport", "key")
    if rollup.keyed_bursts is not None:
        out["keyed_bursts"] = rollup.keyed_bursts.collect().sort("day", "dport", "src", "start_us")
    if rollup.burst_sums is not None:
        out["burst_sums"] = rollup.burst_sums.table.collect().sort("day", "pair")
        assert rollup.burst_sums.days == rollup.day_totals.select(pl.col("day").n_unique()).collect().item()
    for name, keys in (("destinations", ["day", "dst"]), ("port_totals", ["day", "dport"]),
                       ("protocols", ["day", "kind", "proto"]), ("port_sources", ["dport"]),
                       ("sensor_pairs", ["src", "sensor"])):
        table = getattr(rollup, name)
        assert table is not None, name  # every day state of this code has it
        out[name] = table.collect().sort(keys, nulls_last=True)
    return out


def _same_as_scratch(update: rc.RollupUpdate, paths: list[Path], tmp_path: Path) -> None:
    """Every table of *update* equals that of a build of *paths* in an empty cache."""
    scratch = rc.update_rollup(open_inputs(paths), cache_dir=tmp_path / f"scratch-{len(list(tmp_path.iterdir()))}")
    assert scratch.count("reused", "day") == 0
    mine, theirs = _tables(update.rollup), _tables(scratch.rollup)
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert_frame_equal(mine[name], theirs[name])
    direct = ru.port_day(ru.prepare(open_inputs(paths).lf)).collect()  # the whole input's sessions, no days
    assert_frame_equal(mine["port_day"], direct.sort(list(ru.PORT_DAY_KEYS), nulls_last=True))
    # each port's probe packets and probing sources over every day: the merge's (by range, or extended) are the
    # sum and the distinct ones
    by_port = (direct.filter((pl.col("kind") == "probe") & pl.col("dport").is_not_null()).group_by("dport")
               .agg(pl.col("packets").cast(pl.UInt64).sum(), pl.col("src").n_unique().cast(pl.UInt32).alias("sources"))
               .sort("dport"))
    assert by_port.height > 1
    assert_frame_equal(mine["port_sources"], by_port)
    # each named sensor's sources over every day and kind: the ranges' (or the extended) distinct pairs
    pairs = direct.filter(pl.col("sensor").is_not_null()).select(pl.col("src").cast(pl.UInt32), "sensor").unique()
    assert_frame_equal(mine["sensor_pairs"], pairs.sort("src", "sensor"))
    for field in ("packets", "days", "first_ts", "last_ts", "rows", "enrichment_columns", "skipped"):
        assert update.rollup.meta[field] == scratch.rollup.meta[field], field
    _same_files(update.rollup, scratch.rollup)


def _day_states(rollup: rc.Rollup) -> dict[str, Path]:
    index = json.loads((rollup.path / rd.MERGE / rl.MERGE_DAYS).read_text())
    return {day: rollup.path.parents[1] / "days" / "state" / state for day, (state, _) in index["days"].items()}


def _same_files(update: rc.Rollup, scratch: rc.Rollup) -> None:
    """The files whose row order is defined are the same bytes as a build from scratch: each day's totals and
    enrichment, and the merged state's tables where both hold one file per range (else the same rows)."""
    assert (update.path / ps.FILE).read_bytes() == (scratch.path / ps.FILE).read_bytes()
    mine, theirs = _day_states(update), _day_states(scratch)
    assert mine.keys() == theirs.keys()
    for day in mine:
        for name in (rd.DAY_TOTALS, rd.ENRICHMENT):
            assert (mine[day] / name).read_bytes() == (theirs[day] / name).read_bytes(), (day, name)
    for table in (rl.BASE, rl.PORTS, rl.PORT_SCANS, rl.SRC_DAYS, rl.INTERVALS, rl.COVER, ss.TABLE):
        files = [sorted((r.path / rd.MERGE / table).glob("*.parquet")) for r in (update, scratch)]
        assert bool(files[0]) == bool(files[1]), table
        if not files[0]:
            continue
        frames = [[pl.read_parquet(f) for f in fs] for fs in files]
        if any("-" in f.name for f in files[0]):  # an extension's layers: the same rows, as partials
            a, b = (mpa._fold([pl.concat(fs).lazy()], table).collect() if table in rl._SCHEMAS else pl.concat(fs)
                    for fs in frames)
            assert_frame_equal(a.sort(pl.all(), nulls_last=True), b.sort(pl.all(), nulls_last=True))
            continue
        # ranges in order, each sorted by its key: the same rows in the same order, however the ranges fell
        assert_frame_equal(pl.concat(frames[0]), pl.concat(frames[1]))
        for (fa, a), (fb, b) in zip(zip(files[0], frames[0]), zip(files[1], frames[1])):
            if a.equals(b):  # the same range: the same bytes
                assert fa.read_bytes() == fb.read_bytes(), (table, fa.name)


def _profile_from_rows(rollup: rc.Rollup) -> None:
    """The source tables from the merged state equal those computed from every ``port_day`` row at once."""
    rows = rollup.port_day.collect()
    first, last = rows["day"].min(), rows["day"].max()
    profile = ru.src_profile(rows, first, (last - first).days + 1).sort("src", "kind")
    assert_frame_equal(rollup.src_profile.collect().sort("src", "kind"), profile)
    assert rollup.src_totals.collect().height == profile.height


def _built(update: rc.RollupUpdate, kind: str) -> list[str]:
    return sorted(a.what for a in update.actions if a.verb == "built" and a.what.startswith(kind + " "))


def test_adding_a_day_rebuilds_it_alone_and_equals_a_fresh_build(tmp_path):
    files = _by_day(_data(), tmp_path / "in")
    last = files[-1].stem
    first = rc.update_rollup(open_inputs(files[:-1]))
    assert len(_built(first, "day")) == 3
    unicorn = first.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item()
    assert unicorn == 151  # the first key has 100 packets so far: not a session

    added = rc.update_rollup(open_inputs(files))
    assert _built(added, "input") == [f"input {files[-1]}"]
    assert _built(added, "day") == [f"day {last}"]
    assert added.count("reused", "day") == 3 and added.count("reused", "input") == 3
    # the new day pushed the key over the threshold: the first day's tool counts are redone, not its state
    assert _built(added, "tools") == [f"tools {DAY1}", f"tools {last}"]
    assert added.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item() == 351
    # the merge folded the new day and the first day's new tool counts into the previous merged state
    assert [a.what for a in added.actions if a.verb == "merged"] == [f"rollup of 4 days (extending {first.rollup.path.name})"]
    _same_as_scratch(added, files, tmp_path)
    _profile_from_rows(added.rollup)

    removed = rc.update_rollup(open_inputs(files[1:]))  # dropping the first day: nothing to build
    assert _built(removed, "day") == [] and _built(removed, "input") == []
    assert [a.what for a in removed.actions if a.verb == "merged"] == ["rollup of 3 days"]  # a day left: merged anew
    assert removed.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item() == 151
    _same_as_scratch(removed, files[1:], tmp_path)


def test_a_rollup_merged_before_port_and_sensor_sources_gets_them_when_extended(tmp_path):
    """A previous rollup without ``port_sources.parquet`` and the (src, sensor) pairs (``src_sensors``, in its
    folder and its merged state: merged before they existed) is still extended, and the tables are counted from the merged
    state's held rows: the same bytes as a build from scratch."""
    import shutil

    df = _recurring(4, seed=6).with_columns(
        pl.when(pl.col("dst") % 3 == 0).then(pl.lit("s1")).otherwise(pl.lit("s2")).alias("sensor"))
    files = _by_day(df, tmp_path / "in")
    first = rc.update_rollup(open_inputs(files[:-1]))
    state = first.rollup.path / rd.MERGE
    assert list((state / ss.TABLE).glob("*.parquet")) and first.rollup.sensor_pairs.collect()["sensor"].n_unique() == 2
    (first.rollup.path / ps.FILE).unlink()
    shutil.rmtree(first.rollup.path / ss.TABLE)
    shutil.rmtree(state / ss.TABLE)
    index = json.loads((state / rl.MERGE_DAYS).read_text())
    del index["files"][ss.TABLE], index["bounds"][ss.TABLE]
    (state / rl.MERGE_DAYS).write_text(json.dumps(index))
    assert first.rollup.port_sources is None and first.rollup.sensor_pairs is None
    added = rc.update_rollup(open_inputs(files))
    assert [a.what for a in added.actions if a.verb == "merged"] == [f"rollup of 4 days (extending {first.rollup.path.name})"]
    _same_as_scratch(added, files, tmp_path)


def _count_held_checks(monkeypatch) -> tuple[list[str], list[list[int]]]:
    """Spy on the tool-count checks: the days whose keys are joined with every session (day_sessions), and the
    changed keys each held day was checked against."""
    full, changed = [], []
    day_sessions, held_port_day = pdf.day_sessions, rd.held_port_day

    def spy_full(keys_file, sessions):
        full.append(keys_file.parent.name[:10])
        return day_sessions(keys_file, sessions)

    def spy_held(state, name, keys):
        changed.append(list(keys))
        return held_port_day(state, name, keys)

    patch_rollup(monkeypatch, "day_sessions", spy_full)
    patch_rollup(monkeypatch, "held_port_day", spy_held)
    return full, changed


def _port_days_as_rechecked(rollup: rc.Rollup) -> None:
    """Each day's port_day file in the merged index is the one a full check against every session names."""
    sessions = pl.read_parquet(rollup.path / rh.SESSIONS)
    index = json.loads((rollup.path / rd.MERGE / rl.MERGE_DAYS).read_text())
    for day, (state, name) in index["days"].items():
        folder = rollup.path.parents[1] / "days" / "state" / state

        def no_packets():
            raise AssertionError("every file exists: nothing to build")

        assert rd.day_files(dt.date.fromisoformat(day), folder, sessions, no_packets).port_day.name == name, day


@pytest.mark.parametrize("few", [pdf.FEW_CHANGED_KEYS, 0])
def test_a_new_session_rechecks_only_the_held_days_holding_its_key(tmp_path, monkeypatch, few):
    """Adding the last day of _data(): its key (100 packets on day 1 and 100 on the last) becomes a session; of
    the held days only day 1 holds it: its tool counts are checked against every session and redone, days 2 and
    3 (holding the session of day 2's key, unchanged) keep their files without their keys joined to the sessions.
    The changed keys looked up one by one, or (few=0) as one set."""
    patch_rollup(monkeypatch, "FEW_CHANGED_KEYS", few)
    files = _by_day(_data(), tmp_path / "in")
    first = rc.update_rollup(open_inputs(files[:-1]))
    held = json.loads((first.rollup.path / rd.MERGE / rl.MERGE_DAYS).read_text())["days"]
    assert held[str(DAY1)][1] == rd.PORT_DAY_BASE and held[files[1].stem][1] != rd.PORT_DAY_BASE
    with monkeypatch.context() as m:
        full, changed = _count_held_checks(m)
        added = rc.update_rollup(open_inputs(files))
    assert sorted(full) == [str(DAY1), files[-1].stem]
    assert len(changed) == 3 and all(len(keys) == 1 for keys in changed)  # the one new session, each held day
    assert _built(added, "tools") == [f"tools {DAY1}", f"tools {files[-1].stem}"]
    assert added.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item() == 351
    index = json.loads((added.rollup.path / rd.MERGE / rl.MERGE_DAYS).read_text())["days"]
    assert index[str(DAY1)][1] != rd.PORT_DAY_BASE
    assert [index[f.stem] for f in files[1:3]] == [held[f.stem] for f in files[1:3]]
    _port_days_as_rechecked(added.rollup)
    _same_as_scratch(added, files, tmp_path)


@pytest.mark.parametrize("case", ["new_day_only", "none"])
def test_a_day_whose_sessions_reach_no_held_day_rechecks_none(tmp_path, monkeypatch, case):
    """A new day whose new session's key no held day holds (new_day_only), or with no new session (none):
    no held day's keys are joined to the sessions, each keeps its file; the tables equal a fresh build."""
    df = _data()
    last = DAY1 + dt.timedelta(days=3)
    df = df.filter(~((pl.col("src") == UNICORN_SRC) & (pl.col("sport") == 40000)))  # day 1 and the last's key
    if case == "new_day_only":
        df = pl.concat([df, _unicorn(last, 200, sport=42000)]).sort("ts")
    files = _by_day(df, tmp_path / "in")
    first = rc.update_rollup(open_inputs(files[:-1]))
    held = json.loads((first.rollup.path / rd.MERGE / rl.MERGE_DAYS).read_text())["days"]
    with monkeypatch.context() as m:
        full, changed = _count_held_checks(m)
        added = rc.update_rollup(open_inputs(files))
    assert full == [last.isoformat()]
    assert len(changed) == 3 and all(keys == changed[0] for keys in changed)  # each held day, the same keys
    assert len(changed[0]) == (1 if case == "new_day_only" else 0)
    assert _built(added, "tools") == ([f"tools {last}"] if case == "new_day_only" else [])
    index = json.loads((added.rollup.path / rd.MERGE / rl.MERGE_DAYS).read_text())["days"]
    assert {d: index[d] for d in held} == held
    unicorn = added.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item()
    assert unicorn == (151 + 200 if case == "new_day_only" else 151)
    _port_days_as_rechecked(added.rollup)
    _same_as_scratch(added, files, tmp_path)


def test_adding_days_through_the_held_counts_memo_equals_a_fresh_build(tmp_path, monkeypatch):
    """With the memo forced (its threshold lowered), each added day's sessions come from the held days' memo (built
    at the first extension, then taken and renamed by each next one): the first key becomes a session through its held
    count only (100 held + 100 new). A removed or changed held day merges the sessions anew, and the next extension
    builds the memo of its own days. Every table equals a fresh build."""
    monkeypatch.setattr(sc, "MEMO_MIN_ROWS", 0)
    files = _by_day(_data(6), tmp_path / "in")
    memos = tmp_path / "cache" / "days" / sc.FOLDER

    def memo_of(update):
        return sc.memo_path(memos, [s.name for _d, s in sorted(_day_states(update.rollup).items())])

    rc.update_rollup(open_inputs(files[:4]))
    assert not memos.exists()  # a full build makes none
    five = rc.update_rollup(open_inputs(files[:5]))
    assert [p.name for p in memos.glob("*.counts")] == [memo_of(five).name]  # (and its undo: test_session_counts)
    _same_as_scratch(five, files[:5], tmp_path)
    with monkeypatch.context() as m:
        patch_rollup(m, "_held_counts", None)  # taken, not rebuilt: no held day read
        six = rc.update_rollup(open_inputs(files))
    six_memo = memo_of(six)
    assert [p.name for p in memos.glob("*.counts")] == [six_memo.name]
    assert six.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item() == 351
    _same_as_scratch(six, files, tmp_path)

    removed = rc.update_rollup(open_inputs(files[1:]))  # the first day (half the first key's packets) gone
    assert [a.what for a in removed.actions if a.verb == "merged"] == ["rollup of 5 days"]
    _same_as_scratch(removed, files[1:], tmp_path)
    day2 = pl.read_parquet(files[1])
    day2.filter(pl.col("src") != UNICORN_SRC).write_parquet(files[1])  # a held day changed: its 150-packet key gone
    changed = rc.update_rollup(open_inputs(files[:5]))
    _same_as_scratch(changed, files[:5], tmp_path)
    added = rc.update_rollup(open_inputs(files))  # extends the changed days: their memo built anew
    assert memo_of(added).is_file() and six_memo != memo_of(added)
    assert "extending" in [a.what for a in added.actions if a.verb == "merged"][0]
    _same_as_scratch(added, files, tmp_path)


def test_an_hourly_file_updates_its_day_only(tmp_path):
    df = _data()
    files = _by_day(df.filter(pl.col("ts").dt.date() != DAY1), tmp_path / "in")
    day1 = df.filter(pl.col("ts").dt.date() == DAY1)
    hours = [tmp_path / "in" / f"h{h:02d}.parquet" for h in (0, 1)]
    day1.filter(pl.col("ts").dt.hour() < 12).write_parquet(hours[0])
    day1.filter(pl.col("ts").dt.hour() >= 12).head(10).write_parquet(hours[1])
    rc.update_rollup(open_inputs([*hours, *files]))

    day1.filter(pl.col("ts").dt.hour() >= 12).write_parquet(hours[1])  # the hour's file grew
    changed = rc.update_rollup(open_inputs([*hours, *files]))
    assert _built(changed, "input") == [f"input {hours[1]}"]
    assert _built(changed, "day") == [f"day {DAY1}"]
    _same_as_scratch(changed, [*hours, *files], tmp_path)

    # the same packets as one file per day: the same tables
    whole = _by_day(df, tmp_path / "whole")
    assert_frame_equal(_tables(changed.rollup)["port_day"], _tables(rc.open_rollup(open_inputs(whole)))["port_day"])


def test_a_file_holding_several_days_contributes_to_each(tmp_path):
    df = _data()
    day = pl.col("ts").dt.date()
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    df.filter(day <= DAY1 + dt.timedelta(days=1)).write_parquet(a)  # days 1-2
    df.filter(day >= DAY1 + dt.timedelta(days=1)).write_parquet(b)  # days 2-4: day 2 twice
    both = rc.update_rollup(open_inputs([a, b]))
    assert len(_built(both, "day")) == 4
    whole = tmp_path / "whole.parquet"
    pl.concat([df.filter(day <= DAY1 + dt.timedelta(days=1)), df.filter(day >= DAY1 + dt.timedelta(days=1))]).write_parquet(whole)
    _same_as_scratch(both, [whole], tmp_path)

    df.filter(day >= DAY1 + dt.timedelta(days=2)).write_parquet(b)  # b loses day 2
    changed = rc.update_rollup(open_inputs([a, b]))
    assert _built(changed, "day") == [f"day {DAY1 + dt.timedelta(days=n)}" for n in (1, 2, 3)]
    assert changed.count("reused", "day") == 1
    _same_as_scratch(changed, [a, b], tmp_path)


def test_a_hive_folder_gains_a_day_file_by_file(tmp_path):
    """A folder partitioned by day (``scantui ingest --partition-by day``): each file is an input of
    its own, read in place, so a new day's file is the only thing read."""
    df = _data().with_columns(pl.lit("tel-1").alias("sensor"))
    folder = tmp_path / "hive"
    for (day,), part in df.group_by(pl.col("ts").dt.date()):
        (folder / "sensor=tel-1" / f"day={day}").mkdir(parents=True)
        part.drop("sensor").write_parquet(folder / "sensor=tel-1" / f"day={day}" / "part-0.parquet")
    last = sorted(folder.glob("sensor=tel-1/day=*"))[-1]
    aside = tmp_path / "aside"
    last.rename(aside)
    rc.update_rollup(open_inputs([folder]))
    aside.rename(last)
    added = rc.update_rollup(open_inputs([folder]))
    assert _built(added, "input") == [f"input {last / 'part-0.parquet'}"]
    assert _built(added, "day") == [f"day {last.name.split('=')[1]}"]
    assert added.rollup.day_totals.collect()["sensor"].unique().to_list() == ["tel-1"]  # from the folder name
    assert not any((tmp_path / "cache" / "days" / "inputs").glob("*/day=*"))  # nothing copied
    whole = tmp_path / "whole.parquet"
    df.write_parquet(whole)
    _same_as_scratch(added, [whole], tmp_path)


def test_merge_ranges_do_not_change_the_tables(tmp_path, monkeypatch):
    files = _by_day(_data(), tmp_path / "in")
    whole = rc.update_rollup(open_inputs(files))
    patch_rollup(monkeypatch, "ROWS_PER_RANGE", 200)
    patch_rollup(monkeypatch, "KEYS_PER_RANGE", 100)
    assert mpl.plan_source_ranges([]) == []
    split = rc.update_rollup(open_inputs(files), cache_dir=tmp_path / "small-ranges")
    state = sorted((tmp_path / "small-ranges" / "days" / "state").iterdir())
    ranges = mpl.plan_source_ranges([rd.DayFiles(DAY1, s, s / rd.PORT_DAY_BASE) for s in state])
    assert len(ranges) > 5 and all(lo <= hi for lo, hi in ranges)
    assert all(ranges[i][1] < ranges[i + 1][0] for i in range(len(ranges) - 1))
    for name, table in _tables(whole.rollup).items():
        assert_frame_equal(table, _tables(split.rollup)[name])


def test_extending_sessions_holds_one_key_range_at_a_time(tmp_path, monkeypatch):
    """The sessions of an extension group the new days' key counts one key range at a time (ranges
    planned on their rows, as merge_sessions does), never all at once: that grew with the days added
    in one run (63 full-size days: 7.75 GB). Same sessions as merging every day's keys."""
    files = _by_day(_data(4), tmp_path / "in")
    rc.update_rollup(open_inputs(files))
    keys = [s / rd.KEYS for s in sorted((tmp_path / "cache" / "days" / "state").iterdir())]
    held, new = keys[:2], keys[2:]
    min_packets = UNICORN_MIN_PACKETS
    old = rd.merge_sessions(held, min_packets)
    patch_rollup(monkeypatch, "KEYS_PER_RANGE", 50)
    grouped = []
    real = us.extend_range

    def counted(new_files, held_files, sessions, r, ranges, mp):
        grouped.append(pl.scan_parquet(new_files).filter(us._key_range(r, ranges)).select(pl.len()).collect().item())
        return real(new_files, held_files, sessions, r, ranges, mp)

    patch_rollup(monkeypatch, "extend_range", counted)
    got = rd.extend_sessions(old, held, new, min_packets)
    total = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in new)
    assert total > 4 * 50 and sum(grouped) == total
    assert len(grouped) >= total / 50 and max(grouped) < total / 2
    assert old.height == 0 and got.height == 2  # both sessions span a held and a new day: found from the held counts
    assert_frame_equal(got, rd.merge_sessions(keys, min_packets))



def test_extending_sessions_reads_exact_counts_only_for_keys_that_may_pass(tmp_path):
    """An extension bounds each new key's held count by its held rows of two or more, each other held day
    counting it at most once, and reads the exact counts only for the keys whose bound may pass: the
    sessions are still exactly those of merging every day (a key passing by ones alone, one by a heavy
    held day, and keys one short of the threshold)."""
    def day(name, rows):
        path = tmp_path / f"{name}.parquet"
        pl.DataFrame(sorted(rows.items()), schema=rd.KEY_COUNTS_SCHEMA, orient="row").write_parquet(path)
        return path

    min_packets = 5
    # 1: once a held day (4) + 2 new = 6 passes; 2: 4 + 1 = 5 does not; 3: 4 heavy + 2 new passes;
    # 4: 3 heavy in one day + 1 + 1 new = 5 does not; 5: 2 new only; 6: held only; 7: a held session
    held = [day("h0", {1: 1, 2: 1, 3: 4, 4: 3, 6: 9, 7: 9}), day("h1", {1: 1, 2: 1, 4: 1}),
            day("h2", {1: 1, 2: 1}), day("h3", {1: 1, 2: 1, 5: 1})]
    new = [day("n0", {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 7: 1}), day("n1", {1: 1, 3: 1, 5: 1})]
    old = rd.merge_sessions(held, min_packets)
    assert old["unicorn_key"].to_list() == [6, 7]
    got = rd.extend_sessions(old, held, new, min_packets)
    assert got["unicorn_key"].to_list() == [1, 3, 6, 7]
    assert_frame_equal(got, rd.merge_sessions([*held, *new], min_packets))
    counts = pl.DataFrame({"unicorn_key": [1, 2, 3, 4, 5], "n": [2, 1, 2, 1, 2]},
                          schema={"unicorn_key": pl.UInt32(), "n": pl.UInt64()})
    maybe = us._maybe_sessions([str(f) for f in held], pl.lit(True), counts, min_packets)
    # bounds: 2 + 4 days, 1 + 4 days (cannot pass), 2 + 4 + 3 days, 1 + 3 + 3 days, 2 + 4 days
    assert sorted(maybe["unicorn_key"].to_list()) == [1, 3, 4, 5]


def test_the_session_bound_reads_a_held_days_rows_of_two_or_more_from_their_own_file(tmp_path, monkeypatch):
    """The bound of an extension's new keys reads of a held day state only its key rows of two or more: kept beside
    its key counts (``unicorn_heavy.parquet``, written by the day's build, or on first use for a state built
    before), so the day's key file is not read again (here it is made unreadable); the same bound. Key files
    outside a day state (another name) are read as they are."""
    state = tmp_path / "2024-01-01-k"
    state.mkdir()
    keys = state / rd.KEYS
    pl.DataFrame([(1, 1), (2, 3), (3, 1), (4, 2), (5, 1)], schema=rd.KEY_COUNTS_SCHEMA, orient="row").write_parquet(keys)
    loose = tmp_path / "h1.parquet"
    pl.DataFrame([(2, 1), (4, 3)], schema=rd.KEY_COUNTS_SCHEMA, orient="row").write_parquet(loose)
    counts = pl.DataFrame({"unicorn_key": [1, 2, 4, 5], "n": [2, 1, 1, 2]}, schema={"unicorn_key": pl.UInt32(), "n": pl.UInt64()})
    def unwritable(_keys, _target):
        raise OSError("read-only cache")

    with monkeypatch.context() as m:  # a cache it cannot write to: the day's key file is read, the same bound
        m.setattr(us, "write_heavy", unwritable)
        unkept = us._maybe_sessions([str(keys), str(loose)], pl.lit(True), counts, 5)
    assert not (state / us.HEAVY).exists()
    bound = us._maybe_sessions([str(keys), str(loose)], pl.lit(True), counts, 5)
    assert_frame_equal(unkept, bound)
    # bounds: 2 + 2 days, 1 + 3 + 1 day, 1 + 2 + 3 (passes), 2 + 2 days
    assert bound["unicorn_key"].to_list() == [4]
    heavy = state / us.HEAVY
    assert_frame_equal(pl.read_parquet(heavy), pl.read_parquet(keys).filter(pl.col("n") >= 2))
    keys.write_bytes(b"not a parquet file")
    assert_frame_equal(us._maybe_sessions([str(keys), str(loose)], pl.lit(True), counts, 5), bound)
    assert not (tmp_path / us.HEAVY).exists()


def test_one_days_key_counts_are_not_grouped_again(tmp_path):
    """A day's key-count file holds each key once: the sums of one file are its rows (an extension's new day: no
    group-by of its ~2 M keys), of several a group-by; the same sums either way."""
    files = []
    for i, rows in enumerate([{1: 2, 5: 1, 9: 3}, {1: 1, 9: 4}]):
        files.append(str(tmp_path / f"d{i}.parquet"))
        pl.DataFrame(sorted(rows.items()), schema=rd.KEY_COUNTS_SCHEMA, orient="row").write_parquet(files[-1])
    assert "AGG" not in us._range_sums(files[:1], 0, 1).explain().upper()
    assert "AGG" in us._range_sums(files, 0, 1).explain().upper()
    assert us._range_counts(files[:1], 0, 1).rows() == [(1, 2), (5, 1), (9, 3)]
    assert us._range_counts(files, 0, 1).rows() == [(1, 3), (5, 1), (9, 7)]
    assert us._range_counts(files[:1], 1, 2).rows() == [] and us._range_counts(files[:1], 0, 2).rows() == [(1, 2), (5, 1), (9, 3)]


def test_a_built_day_state_keeps_its_key_rows_of_two_or_more(tmp_path):
    """Every day state a build makes holds ``unicorn_heavy.parquet``: its key counts' rows of two or more."""
    rc.update_rollup(open_inputs(_by_day(_data(3), tmp_path / "in")), cache_dir=tmp_path / "cache")
    states = sorted((tmp_path / "cache" / "days" / "state").iterdir())
    assert len(states) == 3
    for state in states:
        assert_frame_equal(pl.read_parquet(state / us.HEAVY), pl.read_parquet(state / rd.KEYS).filter(pl.col("n") >= 2))


def _per_day_partials(d: rd.DayFiles, where: pl.Expr) -> list[pl.LazyFrame]:
    """The merge's partials of one day as the merge computed them before one scan read every day
    (a group-by per day and file): the reference the one-scan partials are checked against."""
    rows = pl.scan_parquet(d.port_day).filter(where)
    day = pl.lit(d.day, pl.Date())
    base = rows.group_by("src", "kind").agg(
        pl.col("packets").cast(pl.UInt64).sum(), pl.col("first_ts").min(), pl.col("last_ts").max(),
        *[pl.col(c).cast(pl.Int64).sum() for c in ru.TOOL_COLUMNS],
    ).with_columns(pl.lit(1, pl.UInt32()).alias("days"), pl.lit(0, pl.UInt64()).alias("dsts"))
    ports = rows.select("src", "kind", "sensor", "proto", "dport").unique().with_columns(
        pl.lit(1, pl.UInt32()).alias("scans"), day.alias("d0"), day.alias("d1"))
    scans = rows.group_by("src", "kind", "proto", "dport").agg(
        pl.col("packets").cast(pl.UInt64).sum(), pl.col("dsts").sum().cast(pl.UInt32),
    ).with_columns(pl.lit(1, pl.UInt32()).alias("scans"))
    src_days = rows.select("src", "kind").unique().with_columns(day.alias("day"))
    return [base.select(rl.BASE_SCHEMA.names()), ports.select(rl.PORTS_SCHEMA.names()),
            scans.select(rl.PORT_SCANS_SCHEMA.names()), src_days.cast(dict(rl.SRC_DAYS_SCHEMA))]


def test_the_partials_of_many_days_read_in_one_scan_equal_each_day_folded(tmp_path):
    """The merge reads every day's ``port_day`` rows of a source range in one scan and groups them
    once: the same state rows as one partial per day folded, for a range and for every source."""
    # few sources and ports, so that (source, port) pairs recur over days; two sensors (ports are per sensor)
    df = conform(make_canonical(n=3000, seed=11, days=5).with_columns(
        (pl.col("src") % 60 + 16_777_216).alias("src"), (pl.col("dport") % 7).alias("dport"),
        pl.when(pl.col("dst") % 2 == 0).then(pl.lit("s1")).otherwise(pl.lit("s2")).alias("sensor")).lazy()).collect()
    update = rc.update_rollup(open_inputs(_by_day(df, tmp_path / "in")))
    index = json.loads((update.rollup.path / rd.MERGE / rl.MERGE_DAYS).read_text())
    store = update.rollup.path.parents[1] / "days" / "state"
    days = [rd.DayFiles(dt.date.fromisoformat(d), store / s, store / s / f) for d, (s, f) in sorted(index["days"].items())]
    assert len(days) == 5
    srcs = pl.read_parquet(days[0].port_day)["src"].sort()
    for where in (pl.lit(True), pl.col("src").is_between(srcs[len(srcs) // 4], srcs[len(srcs) // 2])):
        mine = pl.collect_all(mpa._day_partials(days, where))
        each = [_per_day_partials(d, where) for d in days]
        theirs = pl.collect_all([mpa._fold([p[0] for p in each], rl.BASE), mpa._fold([p[1] for p in each], rl.PORTS),
                                 mpa._fold([p[2] for p in each], rl.PORT_SCANS), pl.concat([p[3] for p in each])])
        for a, b in zip(mine, theirs):
            assert a.height > 0
            assert_frame_equal(a.sort(pl.all(), nulls_last=True), b.sort(pl.all(), nulls_last=True))
        assert mine[1]["scans"].max() > 1 and mine[1]["sensor"].n_unique() == 2


def test_a_day_built_in_passes_equals_one_pass(tmp_path, monkeypatch):
    """A day bigger than ``PASS_PACKETS`` is built one source range and one key range a pass: every
    per-day table holds the same rows in the same order, and the rollup is the same."""
    files = _by_day(_data(), tmp_path / "in")
    day = pl.read_parquet(files[0])  # day 1: random traffic and 100 packets of one Unicorn key
    assert day.height > 700
    one, passes = tmp_path / "one", tmp_path / "passes"
    rd.build_day_state(day.lazy(), one)
    rd.build_day_state(day.lazy(), passes, pass_packets=150)
    assert sorted(p.name for p in passes.iterdir()) == sorted(p.name for p in one.iterdir())  # no piece left
    for name in (rd.PORT_DAY_BASE, rd.KEYS, rd.GROUPS, rd.PAIRS, rd.DAY_TOTALS):
        assert_frame_equal(pl.read_parquet(passes / name), pl.read_parquet(one / name))
    assert_frame_equal(pl.read_parquet(passes / rd.ENRICHMENT).sort("src"), pl.read_parquet(one / rd.ENRICHMENT).sort("src"))
    assert pl.read_parquet(one / rd.GROUPS).height > 0  # the session's key is in one pass's range, its groups too
    whole = rc.update_rollup(open_inputs(files))
    patch_rollup(monkeypatch, "PASS_PACKETS", 200)
    split = rc.update_rollup(open_inputs(files), cache_dir=tmp_path / "in-passes")
    assert split.count("built", "day") == len(files)
    for name, table in _tables(whole.rollup).items():
        assert_frame_equal(table, _tables(split.rollup)[name])


def test_days_of_an_older_layout_are_rebuilt_not_reused(tmp_path, monkeypatch):
    files = _by_day(_data(), tmp_path / "in")
    with monkeypatch.context() as mp:  # not monkeypatch.undo(): that drops the test's cache folder too
        mp.setattr(ru, "LAYOUT_VERSION", 4)  # day states without their burst table
        rc.update_rollup(open_inputs(files))
    new = rc.update_rollup(open_inputs(files))
    assert new.count("reused", "day") == 0 and new.count("reused", "input") == 0
    assert new.rollup.meta["layout_version"] == ru.LAYOUT_VERSION == 7
    assert all((state / DAY_PACKETS).is_dir() and (state / bw.DAY_FILE).is_file() for state in new.rollup.day_states.values())


def test_rollup_command_says_what_it_built_and_reused(tmp_path, capsys):
    files = [str(p) for p in _by_day(_data(), tmp_path / "in")]
    code, out, err = run(["rollup", *files[:-1]], capsys)
    assert code in (0, None), err
    folder = Path(out.strip())
    assert (folder / ru.META).is_file() and ru.read_meta(folder)["days"] == 3
    assert "built 3 inputs and 3 days, reused 0 inputs and 0 days" in err

    code, out, err = run(["rollup", *files], capsys)
    lines = err.splitlines()
    assert f"built day {Path(files[-1]).stem}" in {line.split(" (")[0] for line in lines}
    assert lines[-1].endswith("built 1 input and 1 day, reused 3 inputs and 3 days")
    assert Path(out.strip()) != folder

    code, out, err = run(["rollup", *files, "--json"], capsys)
    doc = json.loads(out)
    schema = json.loads((resources.files("scantui") / "schemas" / "rollup.schema.json").read_text(encoding="utf-8"))
    assert not list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    assert doc["days"] == 4 and [a["action"] for a in doc["actions"]] == ["reused"]
    code, out, err = run(["rollup", *files], capsys)
    assert err.strip().endswith("packets: unchanged")


def test_rollup_command_refuses_bad_input_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 7)
    code, out, err = run(["rollup", str(bad)], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("scantui: error: ")


def test_watcher_waits_for_a_file_to_settle(tmp_path):
    from scantui.analysis.rollup_follow import Watcher

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.pcap").write_bytes(b"x" * 10)
    (folder / ".b.pcap.part").write_bytes(b"y")  # a download's temporary name: never read
    watcher = Watcher(settle=0)
    assert watcher.poll([folder]) == []  # seen once: not yet known to be complete
    assert watcher.poll([folder]) == [folder / "a.pcap"]
    with open(folder / "a.pcap", "ab") as fh:
        fh.write(b"more")  # still being written
    assert watcher.poll([folder]) == []
    assert watcher.poll([folder]) == [folder / "a.pcap"]
    assert Watcher(settle=3600).poll([folder]) == [] and watcher.poll([folder], now=0.0) == []


def test_rollup_follow_folds_each_new_file_in(tmp_path):
    import os
    import queue
    import signal
    import subprocess
    import sys
    import threading

    src = Path(__file__).resolve().parents[1] / "src"
    days = _by_day(_data(), tmp_path / "staging")
    folder = tmp_path / "in"
    folder.mkdir()
    for path in days[:2]:
        path.rename(folder / path.name)
    env = {**os.environ, "PYTHONPATH": str(src), rk.CACHE_ENV: str(tmp_path / "cache")}
    env.pop("COLUMNS", None)
    proc = subprocess.Popen([sys.executable, "-m", "scantui", "rollup", str(folder), "--follow", "--interval", "0.2",
                             "--settle", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        first = Path(lines.get(timeout=60).strip())
        assert ru.read_meta(first)["days"] == 2
        tmp = folder / f".{days[2].name}.part"  # written under a hidden name, then renamed: complete at once
        days[2].rename(tmp)
        tmp.rename(folder / days[2].name)
        second = Path(lines.get(timeout=60).strip())
        assert second != first and ru.read_meta(second)["days"] == 3
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"built day {days[2].stem}" in {line.split(" (")[0] for line in err.splitlines()}
    assert "Traceback" not in err


@pytest.mark.parametrize("rows_per_range", [rl.ROWS_PER_RANGE, 300])
def test_a_chain_of_extended_merges_equals_a_fresh_build(tmp_path, monkeypatch, rows_per_range):
    """Days added one by one, then two at once: every merge extends the one before (the merged
    state is folded, the destination sets gain a disjoint file each time) and stays exact, in
    one source range or in many (planned anew each time)."""
    patch_rollup(monkeypatch, "ROWS_PER_RANGE", rows_per_range)
    files = _by_day(_data(days=6), tmp_path / "in")
    rc.update_rollup(open_inputs(files[:2]))
    for n in (3, 4, 6):
        update = rc.update_rollup(open_inputs(files[:n]))
        assert [a.what for a in update.actions if a.verb == "merged"][0].startswith(f"rollup of {n} days (extending ")
        _same_as_scratch(update, files[:n], tmp_path)
    _profile_from_rows(update.rollup)
    assert len(list((update.rollup.path / rd.MERGE / rl.DSTS).glob("*.parquet"))) >= 3


def test_a_damaged_state_to_extend_is_merged_anew(tmp_path):
    """A previous rollup whose merged state lost a file (e.g. pruned while being read) is not
    extended from what is left: the merge starts over from the days, and stays exact; the damaged state, of an
    earlier version of the same inputs, is then released."""
    files = _by_day(_data(), tmp_path / "in")
    for table in (rl.PORTS, rl.DSTS):
        cache = tmp_path / f"cache-{table}"
        first = rc.update_rollup(open_inputs(files[:-1]), cache_dir=cache)
        victim = sorted((first.rollup.path / rd.MERGE / table).glob("*.parquet"))[0]
        victim.rename(victim.with_suffix(".gone"))
        added = rc.update_rollup(open_inputs(files), rebuild=False, cache_dir=cache)
        assert [a.what for a in added.actions if a.verb == "merged"] == ["rollup of 4 days"]
        _same_as_scratch(added, files, tmp_path)
        assert not (first.rollup.path / rd.MERGE).exists() and (first.rollup.path / ru.META).is_file()


def test_an_extended_rollup_gives_up_its_merged_state_and_stays_readable(tmp_path):
    """Adding a day every day must not keep a copy of the merged state per day: once a rollup's extension is
    extended in turn, it loses its ``merge/`` (the newer ones hold every day it held; the one it extended keeps
    its state until then, for the newest day changing: ``test_rollup_growing_day.py``), keeps its tables, and a
    build that would extend it again merges from the days instead, exactly. With ``rollup.late_days: 0``: the
    default keeps one more link of the chain (``test_rollup_late_days.py``)."""
    Path(os.environ["SCANTUI_CONFIG"]).write_text("rollup:\n  late_days: 0\n")
    files = _by_day(_data(days=5), tmp_path / "in")
    older = rc.update_rollup(open_inputs(files[:2]))
    before = _tables(older.rollup)
    middle = rc.update_rollup(open_inputs(files[:3]))
    assert (older.rollup.path / rd.MERGE / rl.MERGE_DAYS).is_file()  # kept while its extension is the newest
    newer = rc.update_rollup(open_inputs(files[:4]))
    assert [a.what for a in newer.actions if a.verb == "merged"][0] == f"rollup of 4 days (extending {middle.rollup.path.name})"
    assert not (older.rollup.path / rd.MERGE).exists() and (newer.rollup.path / rd.MERGE / rl.MERGE_DAYS).is_file()
    assert (middle.rollup.path / rd.MERGE / rl.MERGE_DAYS).is_file()
    assert not [p for p in older.rollup.path.iterdir() if p.name.startswith(".")]  # nothing left half-removed
    again = rc.load_rollup(older.rollup.path)
    assert again.dst_pairs is None
    after = _tables(again)
    assert after.keys() == before.keys()
    for name in before:
        assert_frame_equal(after[name], before[name])
    # a second branch from the older input set cannot extend it any more: every day is merged, exactly
    branch = [*files[:2], files[4]]
    update = rc.update_rollup(open_inputs(branch))
    assert [a.what for a in update.actions if a.verb == "merged"] == ["rollup of 3 days"]
    _same_as_scratch(update, branch, tmp_path)


def _recurring(days: int, seed: int = 5) -> pl.DataFrame:
    """Random traffic from 80 sources spread over the address space, on 40 ports: sources active on
    most days, ports scanned again (schedules, intervals and top ports all move when a day is added)."""
    df = make_canonical(n=2400, seed=seed, days=days)
    pool = pl.Series([(i * 0x01F0_0000 + 12_345) & 0xFFFF_FFFF for i in range(80)], dtype=pl.UInt32)
    return df.with_columns(pl.lit(pool).gather(pl.col("src") % 80).alias("src"), (pl.col("dport") % 40).alias("dport"))


def _day(df: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return df.filter(pl.col("ts").dt.date() == day)


@pytest.mark.parametrize("case", ["later", "earlier", "gap", "new_sources", "some_ranges"])
def test_an_extended_merge_equals_a_fresh_build(tmp_path, monkeypatch, case):
    """One day added to a held rollup, in every shape: after the last day (the day range grows, old
    sources only, a Unicorn key of the first day becomes a session: that day's tool counts change),
    before the first, into a gap (the day range stays: untouched sources keep their schedules), a
    day of sources never seen before, a day touching only some source ranges (many ranges). Each
    extends the held state (without merging the sessions of every day again) and equals a fresh build."""
    patch_rollup(monkeypatch, "ROWS_PER_RANGE", 300)
    days = [DAY1 + dt.timedelta(days=i) for i in range(6)]
    df = _recurring(6)
    added = {"later": days[5], "earlier": days[0], "gap": days[2], "new_sources": days[5], "some_ranges": days[5]}[case]
    if case == "new_sources":
        df = pl.concat([df.filter(pl.col("ts").dt.date() != added),
                        _day(df, added).with_columns((pl.col("src") % 4096 + 0xE000_0000).cast(pl.UInt32).alias("src"))])
    elif case == "some_ranges":
        df = df.filter((pl.col("ts").dt.date() != added) | (pl.col("src") < 0x3000_0000))
    other = days[1] if added == days[0] else days[0]
    df = pl.concat([df, _unicorn(other, 100), _unicorn(added, 100)]).sort("ts")
    files = _by_day(df, tmp_path / "in")
    held = [f for f in files if f.stem != added.isoformat()]
    first = rc.update_rollup(open_inputs(held))
    assert first.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item() == 0

    def whole(*_a, **_k):
        raise AssertionError("an extension merges the sessions of the new day only")

    with monkeypatch.context() as m:
        patch_rollup(m, "merge_sessions", whole)
        update = rc.update_rollup(open_inputs(files))
    assert [a.what for a in update.actions if a.verb == "merged"] == [f"rollup of 6 days (extending {first.rollup.path.name})"]
    assert update.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item() == 200
    assert _built(update, "tools") == sorted([f"tools {other}", f"tools {added}"])
    _same_as_scratch(update, files, tmp_path)
    _profile_from_rows(update.rollup)
    profile = update.rollup.src_profile.collect()
    assert profile.filter(pl.col("schedule") != "sporadic").height > 10  # schedules that could have changed


def test_layers_are_folded_back_after_max_deltas(tmp_path, monkeypatch):
    """Extending merges add a layer to the port tables each (the held files hard links, not
    rewritten); every MAX_DELTAS + 1-th folds them back: the layers above the base into one middle
    file per range (the base files kept), and after MIDDLE_FOLDS of those everything into one file per
    range. Each step is exact, and the index holds what the files hold."""
    patch_rollup(monkeypatch, "MAX_DELTAS", 2)
    patch_rollup(monkeypatch, "MIDDLE_FOLDS", 1)
    patch_rollup(monkeypatch, "ROWS_PER_RANGE", 500)
    # two sensors (by destination parity) and a third from day 7 on: the sensors' sources kept through every fold
    df = _recurring(10, seed=8).with_columns(
        pl.when(pl.col("ts").dt.date() >= DAY1 + dt.timedelta(days=6)).then(pl.lit("s3"))
        .when(pl.col("dst") % 2 == 0).then(pl.lit("s1")).otherwise(pl.lit("s2")).alias("sensor"))
    files = _by_day(df, tmp_path / "in")
    previous = rc.update_rollup(open_inputs(files[:3]))
    steps = ((4, "layer"), (5, "layer"), (6, "middle"), (7, "layer"), (8, "layer"), (9, "full"), (10, "layer"))
    for n, fold in steps:
        tables = (rl.PORTS, rl.PORT_SCANS, rl.SRC_DAYS, rl.DSTS)
        held = {t: {p.name: p.stat().st_ino for p in (previous.rollup.path / rd.MERGE / t).glob("*.parquet")} for t in tables}
        update = rc.update_rollup(open_inputs(files[:n]))
        assert [a.what for a in update.actions if a.verb == "merged"][0].startswith(f"rollup of {n} days (extending ")
        for t in tables:
            mine = {p.name: p.stat().st_ino for p in (update.rollup.path / rd.MERGE / t).glob("*.parquet")}
            if fold == "layer":  # the held files are the same files, plus one new layer per range
                assert held[t].items() <= mine.items() and len(mine) > len(held[t]), t
            elif fold == "middle":  # the base files kept, the rest one middle file per range
                base = {k: v for k, v in held[t].items() if "-" not in k}
                assert len(base) < len(held[t]) and base.items() <= mine.items(), t
                assert all(k in base or k.startswith(f"m{n:05d}-") for k in mine) and len(mine) > len(base), t
                assert not set(held[t].values()) & {v for k, v in mine.items() if k not in base}, t
            else:  # one file per range again
                assert not set(held[t].values()) & set(mine.values()) and all("-" not in name for name in mine), t
        index = json.loads((update.rollup.path / rd.MERGE / rl.MERGE_DAYS).read_text())
        assert (index["deltas"], index["folds"]) == {4: (1, 0), 5: (2, 0), 6: (0, 1), 7: (1, 1), 8: (2, 1),
                                                     9: (0, 0), 10: (1, 0)}[n]
        _index_holds_what_the_files_hold(update.rollup)
        if fold != "layer" or n in (4, 10):  # each kind of step against a fresh build (a chain of layers alone:
            _same_as_scratch(update, files[:n], tmp_path)  # test_a_chain_of_extended_merges_equals_a_fresh_build)
        previous = update
    _profile_from_rows(update.rollup)


def test_the_day_tables_a_merge_reads_by_source_have_small_row_groups(tmp_path, monkeypatch, capfd):
    """``port_day`` and ``src_dsts`` are written in row groups of ``NARROW_ROW_GROUP`` rows (a merge's
    source range takes a few thousand rows of each day), the session keys in ``ROW_GROUP``; in one pass
    or in several, the day's ``port_day`` under Unicorn sessions and the port-sorted copy too."""
    patch_rollup(monkeypatch, "NARROW_ROW_GROUP", 20)
    patch_rollup(monkeypatch, "ROW_GROUP", 60)
    day = pl.read_parquet(_by_day(_data(), tmp_path / "in")[0])

    def groups(path: Path, column: str = "src") -> tuple[int, int]:
        """(rows, row groups) of a Parquet file, the groups from the reader's log of a pushed-down filter."""
        capfd.readouterr()
        with pl.Config(verbose=True):
            first = pl.scan_parquet(path).select(pl.col(column).drop_nulls().first()).collect().item()
            pl.scan_parquet(path).filter(pl.col(column) == first).collect()
        line = [x for x in capfd.readouterr().err.splitlines() if "Predicate pushdown: reading" in x][-1]
        return pl.scan_parquet(path).select(pl.len()).collect().item(), int(line.split(" / ")[1].split()[0])

    for passes, folder in ((None, tmp_path / "one"), (150, tmp_path / "passes")):
        rd.build_day_state(day.lazy(), folder, pass_packets=passes)
        for name, size in ((rd.PORT_DAY_BASE, 20), (rd.PAIRS, 20), (rd.KEYS, 60)):
            rows, n = groups(folder / name, "unicorn_key" if name == rd.KEYS else "src")
            assert rows > size and n == -(-rows // size), (name, rows, n)
    sessions = pl.read_parquet(tmp_path / "one" / rd.KEYS).sort("n", descending=True).head(1).select(
        "unicorn_key", pl.lit(True).alias("unicorn_session"))
    pdf.port_day_with(tmp_path / "one", sessions, lambda: day.lazy(), tmp_path / "with.parquet")
    rows, n = groups(tmp_path / "with.parquet")
    assert rows > 20 and n == -(-rows // 20)
    rd.write_by_port(tmp_path / "with.parquet")
    rows, n = groups(rd.by_port(tmp_path / "with.parquet"), "dport")
    assert rows > 20 and n == -(-rows // 20)


def test_a_busy_range_reads_its_new_days_a_run_at_a_time(tmp_path, monkeypatch):
    """A source range whose new days hold more than ``DAY_ROWS_PER_PART`` ``port_day`` rows (a busy /16 the
    plan cannot split, over many new days: 63 full-size days held 2.6 M rows in one /16 and peaked at
    712 MiB) reads them in runs of consecutive days, one run's rows at a time, folded: an extension of
    four days and a full merge give the same tables as reading every new day at once."""
    files = _by_day(_recurring(6), tmp_path / "in")
    patch_rollup(monkeypatch, "ROWS_PER_RANGE", 600)
    at_once = rc.update_rollup(open_inputs(files), cache_dir=tmp_path / "at-once")
    patch_rollup(monkeypatch, "DAY_ROWS_PER_PART", 150)
    read = []
    real = mpa._day_partials

    def counted(run, where, **k):
        read.append((len(run), pl.scan_parquet([d.port_day for d in run]).filter(where).select(pl.len()).collect().item()))
        return real(run, where, **k)

    patch_rollup(monkeypatch, "_day_partials", counted)
    rc.update_rollup(open_inputs(files[:2]))
    extended = rc.update_rollup(open_inputs(files))
    assert [a.what for a in extended.actions if a.verb == "merged"][0].startswith("rollup of 6 days (extending ")
    scratch = rc.update_rollup(open_inputs(files), cache_dir=tmp_path / "runs")
    # runs of several days within the budget (a day alone may pass it), and ranges that needed several runs
    assert all(rows <= 150 for n, rows in read if n > 1) and any(n > 1 for n, _ in read)
    assert sum(rows for _, rows in read) > 150 * len(read) / 2
    assert all(rows <= 150 for n, rows in read if n > 1) and any(n > 1 for n, _ in read) and any(n == 1 for n, _ in read)
    for update in (extended, scratch):
        for name, table in _tables(at_once.rollup).items():
            assert_frame_equal(table, _tables(update.rollup)[name])


def test_an_extension_opens_only_the_held_files_of_each_range(tmp_path, monkeypatch, capfd):
    """An extending merge reads, per source range, only the held state files holding sources of it (their
    lowest and highest source read once a merge), not every held file of every table (84 full-size days:
    ~40 k footers parsed for one added day); the older rollup's ``src_profile`` is in row groups of
    ``PROFILE_ROW_GROUP`` rows (read one range at a time). The tables equal a fresh build's."""
    patch_rollup(monkeypatch, "ROWS_PER_RANGE", 300)
    patch_rollup(monkeypatch, "PROFILE_ROW_GROUP", 50)
    files = _by_day(_recurring(6), tmp_path / "in")
    first = rc.update_rollup(open_inputs(files[:5]))
    profile = first.rollup.path / ru.SRC_PROFILE
    capfd.readouterr()
    with pl.Config(verbose=True):
        pl.scan_parquet(profile).filter(pl.col("src") == 0).collect()
    line = [x for x in capfd.readouterr().err.splitlines() if "Predicate pushdown: reading" in x][-1]
    rows = pl.scan_parquet(profile).select(pl.len()).collect().item()
    assert rows > 50 and int(line.split(" / ")[1].split()[0]) == -(-rows // 50)
    held = {t: sorted((first.rollup.path / rd.MERGE / t).glob("*.parquet")) for t in (rl.BASE, rl.PORTS, rl.DSTS)}
    opened = []
    real = mst._merge_range

    def seen(r, new, changed, old, *a, **k):  # the held files with rows of the range, the files the range opens
        holding = {t: {p for p in held[t] if pl.scan_parquet(p).filter(r.where).select(pl.len()).collect().item()}
                   for t in held}
        opened.append((r.index, holding, {t: set(old[t]) for t in held}))
        return real(r, new, changed, old, *a, **k)

    with monkeypatch.context() as m:
        patch_rollup(m, "_merge_range", seen)
        update = rc.update_rollup(open_inputs(files))
    assert [a.what for a in update.actions if a.verb == "merged"][0].startswith("rollup of 6 days (extending ")
    assert len(opened) > 2
    for i, holding, old in opened:
        for t in held:
            assert holding[t] <= old[t] <= set(held[t]), (i, t)
    assert sum(len(old[t]) for _, _, old in opened for t in held) < len(opened) * sum(map(len, held.values())) / 2
    _same_as_scratch(update, files, tmp_path)


def _index_holds_what_the_files_hold(rollup: rc.Rollup) -> None:
    """The index's bounds of every merged-state file and its nets.parquet are what reading the files gives."""
    state = rollup.path / rd.MERGE
    index = json.loads((state / rl.MERGE_DAYS).read_text())
    paths = {t: [state / t / name for name in names] for t, names in index["files"].items()}
    read = mpl._src_bounds([f for fs in paths.values() for f in fs])
    assert any(b is not None for b in read.values())
    assert {f: (None if index["bounds"][t][f.name] is None else tuple(index["bounds"][t][f.name]))
            for t, fs in paths.items() for f in fs} == read
    counts = mpl._net_rows([str(f) for f in paths[rl.PORTS] + paths[rl.DSTS]]).values()
    want = pl.concat(list(counts), how="vertical_relaxed").group_by("net").agg(pl.col("rows").cast(pl.Int64).sum())
    assert_frame_equal(pl.read_parquet(state / mpl.NETS), want.sort("net"))


@pytest.mark.parametrize("middle_folds", [0, 1])
def test_an_extension_takes_the_held_files_bounds_and_sizes_from_the_index(tmp_path, monkeypatch, middle_folds):
    """Each merge's index holds every merged-state file's lowest and highest source and the rows per /16 of
    its ports and dsts files (a full merge, layered extensions, a fold: full, or of the layers above the
    base), as the files hold them. An extension reads neither from the held files; of a state without them
    (written before), it reads the files instead: the same bytes, layered or folded."""
    import shutil
    patch_rollup(monkeypatch, "MAX_DELTAS", 2)
    patch_rollup(monkeypatch, "MIDDLE_FOLDS", middle_folds)
    patch_rollup(monkeypatch, "ROWS_PER_RANGE", 500)
    files = _by_day(_recurring(6, seed=8), tmp_path / "in")
    reads = []
    src_bounds = mpl._src_bounds
    patch_rollup(monkeypatch, "_src_bounds", lambda paths: reads.append(list(paths)) or src_bounds(paths))
    previous = None
    for n in (3, 4, 5, 6):  # a full merge, two layers, a fold (past MAX_DELTAS)
        held = {}
        if previous is not None:  # the state to extend, as it is and stripped of what the index says of its files
            for name in ("indexed", "bare"):
                held[name] = tmp_path / f"{name}-{n}"
                shutil.copytree(previous.rollup.path, held[name])
            bare = held["bare"] / rd.MERGE
            index = json.loads((bare / rl.MERGE_DAYS).read_text())
            del index["bounds"], index["nets"]
            (bare / rl.MERGE_DAYS).write_text(json.dumps(index))
            (bare / mpl.NETS).unlink()
        update = rc.update_rollup(open_inputs(files[:n]))
        _index_holds_what_the_files_hold(update.rollup)
        ports = json.loads((update.rollup.path / rd.MERGE / rl.MERGE_DAYS).read_text())["days"]
        days = [rd.DayFiles(dt.date.fromisoformat(day), state, state / ports[day][1])
                for day, state in _day_states(update.rollup).items()]
        outs = {}
        for name, state in held.items():
            outs[name] = tmp_path / f"out-{name}-{n}"
            outs[name].mkdir()
            reads.clear()
            assert rd.merge_days(days, outs[name], enrich=bool(update.rollup.meta["enrichment_columns"]), previous=state)
            assert bool(reads) == (name == "bare"), name
        if outs:
            written = [sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) for out in outs.values()]
            assert written[0] == written[1] and Path(rd.MERGE, mpl.NETS) in written[0]
            assert any("-" in p.name for p in written[0] if p.parent.name == rl.PORTS) == (n < 6 or middle_folds > 0)
            assert any(p.name.startswith("m") for p in written[0] if p.parent.name == rl.PORTS) == (n == 6 and middle_folds > 0)
            for rel in written[0]:
                assert (outs["indexed"] / rel).read_bytes() == (outs["bare"] / rel).read_bytes(), (n, rel)
        previous = update


def test_day_runs_and_ranges_from_one_count_of_the_sources(tmp_path, monkeypatch):
    """The source ranges and each range's runs of days come from one count of the files' sources per /16
    (read once, shared): the same as counting every day and range apart (the per-row loop it replaced)."""
    patch_rollup(monkeypatch, "DAY_ROWS_PER_PART", 5)
    patch_rollup(monkeypatch, "ROWS_PER_RANGE", 8)
    nets = [0, 1, 1, 3, 7, 7, 7, 9]  # /16s, with gaps between ranges' /16s left out of every range
    days = []
    for i in range(6):
        path = tmp_path / f"d{i}.parquet"
        src = [n * 65536 + j for n in nets[i % 3:] for j in range(i % 2 + 1)]
        pl.DataFrame({"src": src}, schema={"src": pl.UInt32()}).write_parquet(path)
        days.append(rd.DayFiles(DAY1 + dt.timedelta(days=i), tmp_path, path))
    files = [str(d.port_day) for d in days]
    ranges = mpl._plan(files)
    assert ranges == mpl._plan_rows(list(mpl._net_rows(files).values())) and len(ranges) > 2
    ranges = [(lo, hi) for lo, hi in ranges if lo // 65536 != 1] + [(2 * 65536, 2 * 65536 + 65535)]  # one range empty
    ranges.sort()

    def reference(days, ranges):  # the loop of main before (bisect per counted /16)
        import bisect
        lows = [lo // 65536 for lo, _ in ranges]
        rows = [[0] * len(days) for _ in ranges]
        for i, d in enumerate(days):
            for net, n in pl.read_parquet(d.port_day).group_by((pl.col("src") // 65536).alias("net")).agg(pl.len()).iter_rows():
                k = bisect.bisect_right(lows, net) - 1
                if k >= 0 and net <= ranges[k][1] // 65536:
                    rows[k][i] += n
        out = []
        for per_day in rows:
            runs, acc = [[]], 0
            for d, n in zip(days, per_day):
                if runs[-1] and acc + n > rl.DAY_ROWS_PER_PART:
                    runs.append([])
                    acc = 0
                runs[-1].append(d)
                acc += n
            out.append(runs)
        return out

    expected = reference(days, ranges)
    assert any(len(runs) > 1 for runs in expected)
    assert mpl._day_groups(days, ranges) == expected
    assert mpl._day_groups(days, ranges, mpl._net_rows(files)) == expected
    assert mpl._day_groups(days[2:], ranges, mpl._net_rows(files)) == reference(days[2:], ranges)


def test_distinct_pairs_from_packed_keys_equal_unique_then_sorted(tmp_path):
    """A range's distinct (src, kind, dst) from one sorted UInt64 key per pair: the rows and order of a
    three-column unique sorted by (src, kind, dst), for the range's sources only; a range too wide for the
    key and a null destination take the unique path, with the same result."""
    rng = np.random.default_rng(7)
    files = []
    for i in range(4):  # overlapping files (not a day's: repeats within too); every kind; sources around the range's ends
        n = 3000
        src = rng.choice([0x0A000000, 0x0A00FFFF, 0x0A010000, 0x0A01FFFF, 0x0A020000, 0xFFFFFFFF], n)
        frame = pl.DataFrame({"src": src, "kind": rng.choice(list(ru.KINDS), n),
                              "dst": rng.choice([0, 1, 2**31, 2**32 - 1], n)},
                             schema=dict(rd.PAIRS_SCHEMA))
        files.append(str(tmp_path / f"d{i}.parquet"))
        frame.write_parquet(files[-1], row_group_size=500)

    def reference(lo, hi, paths=files):
        rows = pl.read_parquet(paths).filter(pl.col("src").is_between(lo, hi)).unique()
        return rows.sort("src", pl.col("kind").to_physical(), "dst", nulls_last=False)

    for lo, hi in [(0x0A000000, 0x0A01FFFF), (0x0A010000, 0x0A01FFFF), (0x0A020000, 0xFFFFFFFF), (0, 2**32 - 1)]:
        got = mpa.distinct_pairs(files, lo, hi)
        assert_frame_equal(got, reference(lo, hi))
        assert got.height > 0 and got.schema == rd.PAIRS_SCHEMA
    assert (0xFFFFFFFF - 0).bit_length() + rl._PAIR_LOW_BITS > 64  # the last range above took the wide path
    empty = mpa.distinct_pairs(files, 0x0B000000, 0x0B00FFFF)  # no source in the range
    assert empty.height == 0
    assert_frame_equal(empty, reference(0x0B000000, 0x0B00FFFF))
    with_null = tmp_path / "null.parquet"
    pl.DataFrame({"src": [0x0A000001, 0x0A000001], "kind": ["udp", "udp"], "dst": [None, 5]},
                 schema=dict(rd.PAIRS_SCHEMA)).write_parquet(with_null)
    got = mpa.distinct_pairs([*files, str(with_null)], 0x0A000000, 0x0A01FFFF)
    assert got["dst"].null_count() == 1
    assert_frame_equal(got, reference(0x0A000000, 0x0A01FFFF, [*files, str(with_null)]))
    one = tmp_path / "one-day.parquet"  # a day state's pairs: distinct and sorted, read as they are
    reference(0, 2**32 - 1, files[:1]).write_parquet(one, row_group_size=500)
    assert_frame_equal(mpa.distinct_pairs([str(one)], 0x0A010000, 0x0A01FFFF), reference(0x0A010000, 0x0A01FFFF, files[:1]))


def test_partials_of_one_sensor_with_a_null_count_take_the_group_bys(tmp_path):
    """One sensor's partials come from one sort of the rows (``_sorted_partials``) unless a summed column holds a
    null (the group-bys skip it, a reduction would not): then the packed group-bys, with the rows of the plain ones."""
    days = []
    for i, tool in enumerate([[1, 2, 3], [None, 4, 5]]):
        day = DAY1 + dt.timedelta(days=i)
        rows = pl.DataFrame({"sensor": ["tel-1"] * 3, "src": [7, 7, 9], "proto": [6, 6, 17], "dport": [22, 80, 53],
                             "kind": ["probe", "probe", "udp"], "packets": [5, 6, 7], "dsts": [1, 2, 3],
                             "first_ts": [dt.datetime.combine(day, dt.time(1), tzinfo=UTC)] * 3,
                             "last_ts": [dt.datetime.combine(day, dt.time(2), tzinfo=UTC)] * 3,
                             **{c: tool if c == "tool_zmap" else [0, 0, 1] for c in ru.TOOL_COLUMNS}},
                            schema={c: t for c, t in ru.PORT_DAY_SCHEMA.items() if c != "day"})
        path = tmp_path / f"{day}.parquet"
        rows.write_parquet(path)
        days.append(rd.DayFiles(day, tmp_path, path))
    everything = pl.col("src").is_between(0, 0xFFFFFFFF)
    for few in (days[:1], days):  # the first: no null (sorted path); both: a null tool count
        mine = mpa._day_partials(few, everything)
        assert mine.ordered
        mine = pl.collect_all(list(mine))
        rows = pl.concat([pl.read_parquet(d.port_day).with_columns(pl.lit(d.day).alias("day")) for d in few])
        theirs = pl.collect_all(list(mpa._plain_partials(rows.lazy())))
        for table, a, b in zip((rl.BASE, rl.PORTS, rl.PORT_SCANS, rl.SRC_DAYS), mine, theirs):
            assert_frame_equal(a, mpa._key_sorted(b, mpa._ORDER[table]))
    assert mine[0].filter(pl.col("src") == 7)["tool_zmap"].to_list() == [7]  # 1 + 2 + (null) + 4
    assert mine[0].filter(pl.col("src") == 7)["days"].to_list() == [2]


def test_port_counts_and_top_port_order_by_packed_keys_equal_the_column_group_bys(tmp_path):
    """The profile's port counts (numpy-sorted packed keys) and the top ports' order (one UInt128 key) equal the
    group-by and five-column sort they replace: ports at each class boundary and null, a null proto, packets 0 and
    2^64 - 1, ties broken by port then proto, sources 0 and 2^32 - 1; a null source takes the column path."""
    rng = np.random.default_rng(11)
    n = 3000
    ports = pl.DataFrame({
        "src": pl.Series(rng.choice([0, 5, 0xFFFFFFFF], n), dtype=pl.UInt32),
        "kind": pl.Series(rng.choice(list(ru.KINDS), n), dtype=ru.KIND_DTYPE),
        "sensor": pl.Series(rng.choice(["a", "b"], n), dtype=pl.String),
        "proto": pl.Series([None if v == 0 else int(v) for v in rng.choice([0, 6, 17], n)], dtype=pl.UInt8),
        "dport": pl.Series([None if v < 0 else int(v) for v in rng.choice([-1, 0, 1023, 1024, 49151, 49152, 65535], n)],
                           dtype=pl.UInt16),
    }).unique(["src", "kind", "sensor", "proto", "dport"], keep="first", maintain_order=True)
    port = pl.col("dport")

    def counts_by_columns(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(port.is_not_null()).select("src", "kind", "dport").unique().group_by("src", "kind").agg(
            pl.len().cast(pl.UInt32).alias("ports"), (port <= 1023).sum().cast(pl.UInt32).alias("ports_well_known"),
            ((port > 1023) & (port <= 49151)).sum().cast(pl.UInt32).alias("ports_registered"),
            (port > 49151).sum().cast(pl.UInt32).alias("ports_ephemeral"))

    with_null = pl.concat([ports, ports.head(3).with_columns(pl.lit(None, pl.UInt32).alias("src"))])
    for frame in (ports, with_null):
        mine, theirs = msr._port_counts(frame), counts_by_columns(frame)
        assert mine.schema == theirs.schema and mine.height > 0
        assert_frame_equal(mine.sort(pl.all(), nulls_last=True), theirs.sort(pl.all(), nulls_last=True))
    assert msr._port_counts(ports.filter(port.is_null())).height == 0

    scans = ports.drop("sensor").unique(maintain_order=True).with_columns(
        pl.Series(np.array([0, 3, 3, 9, 2**64 - 1], dtype=np.uint64)[rng.integers(0, 5, ports.drop("sensor").unique().height)])
        .alias("packets"))
    for frame in (scans, pl.concat([scans, scans.head(2).with_columns(pl.lit(None, pl.UInt32).alias("src"))])):
        mine = msr._top_sorted(frame.lazy(), frame).collect()
        theirs = frame.sort(["src", "kind", "packets", "dport", "proto"], descending=[False, False, True, False, False])
        assert_frame_equal(mine, theirs)
    assert scans.group_by("src", "kind", "packets").len()["len"].max() > 1  # ties on packets


@pytest.mark.parametrize("sensors", [["tel-1"], [None], ["s2", None, "s1"], [f"s{i}" for i in range(8)]])
def test_partials_by_packed_keys_equal_those_by_columns(tmp_path, sensors):
    """The merge's partials grouped by packed keys: the rows of the group-bys by column, each frame in its
    table's order; nulls in proto and dport, sources at both ends, one sensor (a scan's day is one row), a
    null sensor, several, and more than the key holds (the column path)."""
    rng = np.random.default_rng(3)
    n = 4000
    keys = pl.DataFrame({
        "sensor": pl.Series(rng.choice(np.array(sensors, dtype=object), n), dtype=pl.String),
        "src": pl.Series(rng.choice([0, 1, 0x0A000001, 0xFFFFFFFE, 0xFFFFFFFF], n), dtype=pl.UInt32),
        "proto": pl.Series([None if v == 0 else int(v) for v in rng.choice([0, 6, 17, 255], n)], dtype=pl.UInt8),
        "dport": pl.Series([None if v < 0 else int(v) for v in rng.choice([-1, 0, 80, 65535], n)], dtype=pl.UInt16),
        "kind": pl.Series(rng.choice(list(ru.KINDS), n), dtype=ru.KIND_DTYPE),
    })
    days = []
    for i in range(4):  # a day's file: one row per key (as port_day groups them), some keys on several days
        day = DAY1 + dt.timedelta(days=3 * i)
        rows = keys.sample(2000, seed=i).unique(maintain_order=True)
        m = rows.height
        rows = rows.with_columns(
            pl.Series(rng.integers(1, 1000, m), dtype=pl.UInt32).alias("packets"),
            pl.Series(rng.integers(1, 50, m), dtype=pl.UInt32).alias("dsts"),
            pl.lit(dt.datetime.combine(day, dt.time(1), tzinfo=UTC)).cast(ru.TS_DTYPE).alias("first_ts"),
            pl.lit(dt.datetime.combine(day, dt.time(2), tzinfo=UTC)).cast(ru.TS_DTYPE).alias("last_ts"),
            *[pl.Series(rng.integers(0, 5, m), dtype=pl.UInt32).alias(c) for c in ru.TOOL_COLUMNS])
        path = tmp_path / f"{day}.parquet"
        rows.select([c for c in ru.PORT_DAY_SCHEMA.names() if c != "day"]).write_parquet(path)
        days.append(rd.DayFiles(day, tmp_path, path))
    where = pl.col("src").is_between(0, 0xFFFFFFFF)
    mine = mpa._day_partials(days, where)
    assert mine.ordered == (len(sensors) <= mpa._PACKED_SENSORS)
    mine = pl.collect_all(list(mine), engine="streaming")
    rows = pl.concat([pl.read_parquet(d.port_day).with_columns(pl.lit(d.day).alias("day")) for d in days])
    theirs = pl.collect_all(list(mpa._plain_partials(rows.lazy())))
    for table, a, b in zip((rl.BASE, rl.PORTS, rl.PORT_SCANS, rl.SRC_DAYS), mine, theirs):
        assert a.schema == b.schema and a.height > 0
        assert_frame_equal(a.sort(pl.all(), nulls_last=True), b.sort(pl.all(), nulls_last=True))
        if len(sensors) <= mpa._PACKED_SENSORS:  # in order: written without a sort
            assert_frame_equal(a, mpa._key_sorted(a, mpa._ORDER[table]))
    assert mine[2]["scans"].max() > 1 and mine[1]["dport"].null_count() > 0 and mine[1]["proto"].null_count() > 0


@pytest.mark.parametrize("statistics", [True, False])
def test_the_days_of_a_parquet_input_equal_every_rows_day(tmp_path, statistics):
    """``frame_days`` (the day check on a Parquet input, usually answered by its min/max statistics) gives
    the days of every row's timestamp, sorted, as reading them does: with and without statistics, a file
    whose last row group strays past midnight, one whose first row is not its earliest, a row on either
    side of midnight, no rows, a null timestamp; a one-day file without statistics is still read in place."""
    base = _data().filter(pl.col("ts").dt.date() == DAY1)
    midnight = dt.datetime.combine(DAY1 + dt.timedelta(days=1), dt.time(), UTC)

    def at(frame: pl.DataFrame, i: int, ts: dt.datetime) -> pl.DataFrame:
        return frame.with_columns(pl.when(pl.int_range(pl.len()) == i).then(pl.lit(ts, TS_DTYPE))
                                  .otherwise(pl.col("ts")).alias("ts"))

    cases = {
        "one day": (base, [DAY1]),
        "last row just before midnight": (at(base, base.height - 1, midnight - dt.timedelta(microseconds=1)), [DAY1]),
        "last row at midnight": (at(base, base.height - 1, midnight), [DAY1, DAY1 + dt.timedelta(days=1)]),
        "first row the day before": (at(base, 0, dt.datetime.combine(DAY1, dt.time(), UTC) - dt.timedelta(microseconds=1)),
                                     [DAY1 - dt.timedelta(days=1), DAY1]),
        "first row not the earliest": (at(base, 0, midnight + dt.timedelta(hours=30)), [DAY1, DAY1 + dt.timedelta(days=2)]),
        "no rows": (base.head(0), []),
    }
    for name, (frame, days) in cases.items():
        path = tmp_path / f"{name}.parquet"
        frame.write_parquet(path, statistics=statistics, row_group_size=100)
        lf = pl.scan_parquet(path)
        assert rd.frame_days(lf) == days, name
        assert rd.frame_days(lf) == lf.select(pl.col("ts").dt.date().unique().sort()).collect()["ts"].to_list(), name
    with_null = pl.concat([base.lazy(), base.head(1).with_columns(pl.lit(None, TS_DTYPE).alias("ts")).lazy()])
    assert rd.frame_days(with_null) == [None, DAY1]

    one = tmp_path / "in" / "day.parquet"
    one.parent.mkdir()
    base.write_parquet(one, statistics=statistics, row_group_size=100)
    rc.update_rollup(open_inputs([one]))
    [index] = (tmp_path / "cache").rglob("index.json")
    assert json.loads(index.read_text())["days"] == [DAY1.isoformat()]
    assert json.loads(index.read_text())["direct"] is True  # no day split written: the file is read in place


def test_an_extension_keeps_its_rows_in_base_order_and_takes_the_numpy_means(tmp_path, monkeypatch):
    """The shortcuts of an extension's finish_sources (tests/test_merge_sources_extension.py) are the ones taken
    on a real extension, which equals a fresh build."""
    files = _by_day(_data(), tmp_path / "in")
    rc.update_rollup(open_inputs(files[:-1]))
    taken = {"ordered": 0, "means": 0}
    ordered, means = msr._ordered_rows, msr._mean_intervals

    def counted(name, fn):
        def inner(*args, **kwargs):
            out = fn(*args, **kwargs)
            taken[name] += out is not None
            return out
        return inner

    monkeypatch.setattr(msr, "_ordered_rows", counted("ordered", ordered))
    monkeypatch.setattr(msr, "_mean_intervals", counted("means", means))
    added = rc.update_rollup(open_inputs(files))
    assert [a.what for a in added.actions if a.verb == "merged"][0].startswith("rollup of 4 days (extending")
    assert taken["ordered"] >= 1 and taken["means"] >= 1
    _same_as_scratch(added, files, tmp_path)


def test_grown_ports_by_packed_keys_equal_the_joins_on_columns(monkeypatch):
    """``_grown_ports`` finds the held rows of the new days' ports and folds them with the new rows by packed
    integer keys (``sort_key``, ``_port_key``); with nulls in the sensor, protocol and port, held rows in two
    layers, ports held and not, several runs of days and one, every frame it returns holds the rows of the
    multi-column joins and group-bys it replaced (the path taken when the keys do not pack)."""
    rng = np.random.default_rng(11)

    def pick(values: list, n: int) -> list:
        return [values[i] for i in rng.integers(0, len(values), n)]

    def ports(n: int, day0: int, more: list = []) -> pl.DataFrame:  # noqa: B006
        d0 = [DAY1 + dt.timedelta(days=int(x)) for x in rng.integers(day0, day0 + 3, n)]
        rows = pl.DataFrame({
            "src": pick([10, 11, 12, 0x0A000001], n), "kind": pick(["probe", "udp", "other"], n),
            "sensor": pick(["s1", "s2", None], n), "proto": pick([6, 17, None], n),
            "dport": pick([22, 80, 443, None, 8080, *more], n), "scans": rng.integers(1, 4, n),
            "d0": d0, "d1": [d + dt.timedelta(days=int(x)) for d, x in zip(d0, rng.integers(0, 3, n))],
        })
        return mpa._fold([rows.lazy()], rl.PORTS).collect()

    def scans(frame: pl.DataFrame) -> pl.DataFrame:
        rows = frame.select(*rl._SCAN_KEYS, pl.col("scans").cast(pl.UInt64).alias("packets"), "scans",
                            pl.col("scans").alias("dsts"))
        return mpa._fold([rows.lazy()], rl.PORT_SCANS).collect()

    layers = [ports(300, 0), ports(40, 5)]
    held = {rl.PORTS: [f.lazy() for f in layers], rl.PORT_SCANS: [scans(f).lazy() for f in layers]}
    new = [ports(60, 9, [9999]), ports(50, 12, [7547])]  # ports no held row has, too
    for parts in ([(None, new[0].lazy(), scans(new[0]).lazy())],
                  [(None, f.lazy(), scans(f).lazy()) for f in new]):
        got = mpa._grown_ports(parts, lambda t: held[t])
        with monkeypatch.context() as m:
            m.setattr(mpa, "sort_key", lambda *a, **k: None)  # the joins on columns
            want = mpa._grown_ports(parts, lambda t: held[t])
        assert got.keys() == want.keys()
        assert got["new_ports"].height and got[rl.INTERVALS].height and got["scans"]["dport"].null_count()
        for name, frame in want.items():
            assert_frame_equal(got[name], frame, check_row_order=False)


def test_an_extension_adding_layers_plans_larger_ranges(tmp_path, monkeypatch):
    """An extension that rewrites no held ``ports``/``dsts`` file plans ranges of ``LAYERED_RANGE_SCALE`` times
    ``ROWS_PER_RANGE`` rows (fewer ranges, each a fixed cost), a folding one (and a full merge) of ``ROWS_PER_RANGE``:
    the tables are the same whatever the ranges."""
    patch_rollup(monkeypatch, "ROWS_PER_RANGE", 300)
    files = _by_day(_recurring(6), tmp_path / "in")
    real = mst._merge_range
    tables, ranges = {}, {}
    for scale, deltas in ((1, rl.MAX_DELTAS), (3, rl.MAX_DELTAS), (3, 0)):
        seen = []

        def counted(r, *a, **k):
            seen.append(r)
            return real(r, *a, **k)

        with monkeypatch.context() as m:
            patch_rollup(m, "LAYERED_RANGE_SCALE", scale)
            patch_rollup(m, "MAX_DELTAS", deltas)
            cache = tmp_path / f"cache-{scale}-{deltas}"
            rc.update_rollup(open_inputs(files[:5]), cache_dir=cache)
            seen.clear()
            patch_rollup(m, "_merge_range", counted)
            update = rc.update_rollup(open_inputs(files), cache_dir=cache)
        assert [a.what for a in update.actions if a.verb == "merged"][0].startswith("rollup of 6 days (extending ")
        ranges[scale, deltas], tables[scale, deltas] = len(seen), _tables(update.rollup)
    assert ranges[3, rl.MAX_DELTAS] < ranges[1, rl.MAX_DELTAS] == ranges[3, 0]
    for key in ((3, rl.MAX_DELTAS), (3, 0)):
        for name, table in tables[1, rl.MAX_DELTAS].items():
            assert_frame_equal(tables[key][name], table)
