"""The held days' session-key count memo (:mod:`scantui.analysis.session_counts`): an extension through it finds the
sessions of merging every day, reads no held key file, and a memo that is missing, stale or not what it should be is
rebuilt from the key files, never trusted."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rollup_patch import patch_rollup
from scantui.analysis import rollup_days as rd
from scantui.analysis import session_counts as sc
from scantui.analysis import unicorn_sessions as us

MIN = 5


def _day(root: Path, name: str, rows: dict[int, int]) -> Path:
    """A day state's key counts (sorted by key), in a folder named like a day state."""
    path = root / name / rd.KEYS
    path.parent.mkdir(parents=True)
    pl.DataFrame(sorted(rows.items()), schema=rd.KEY_COUNTS_SCHEMA, orient="row").write_parquet(path)
    return path


@pytest.fixture
def days(tmp_path):
    """Held days and two new ones (the threshold: more than 5). With the first new day, 1: once a held day (4) + 2
    new passes only through the held counts; 2: 4 + 1 does not; 3: 4 on a heavy held day + 2 passes; 4: 3 + 1 + 1
    does not; 5: 1 + 2 does not (+ 3 more the next day does); 6: held only (a session); 7: a held session past the cap
    (300); keys at both ends and in the middle of the 32-bit space (the last passes, the middle one is one short)."""
    top, mid = (1 << 32) - 1, 1 << 31
    held = [_day(tmp_path, "2024-02-01-a", {1: 1, 2: 1, 3: 4, 4: 3, 6: 9, 7: 300, top: 2}),
            _day(tmp_path, "2024-02-02-b", {1: 1, 2: 1, 4: 1, mid: 3}),
            _day(tmp_path, "2024-02-03-c", {1: 1, 2: 1}), _day(tmp_path, "2024-02-04-d", {1: 1, 2: 1, 5: 1})]
    new = [_day(tmp_path, "2024-02-05-e", {1: 2, 2: 1, 3: 2, 4: 1, 5: 2, 7: 1, mid: 2, top: 4}),
           _day(tmp_path, "2024-02-06-f", {1: 1, 3: 1, 5: 3, top: 1})]
    return held, new


def _states(files) -> list[str]:
    return [f.parent.name for f in files]


def _count(memo: Path, key: int) -> int:
    with open(memo, "rb") as fh:
        fh.seek(sc.HEADER + key)
        return fh.read(1)[0]


def _held_reads(monkeypatch) -> list[int]:
    """Each time the memo is built from the held key files."""
    calls, real = [], us._held_counts
    patch_rollup(monkeypatch, "_held_counts", lambda held: calls.append(len(held)) or real(held))
    return calls


@pytest.mark.parametrize("ranges", [1, 3])
def test_an_extension_through_the_memo_finds_the_sessions_of_every_day(tmp_path, days, monkeypatch, ranges):
    """Built from the held key files, the memo gives the held counts of the new days' keys (key 1 passes only through
    them); renamed for the extended days, the next extension takes it and reads no held file. Each time the sessions of
    merging every day; the memo holds each key's count over its days, saturated at the cap."""
    held, new = days
    if ranges > 1:
        patch_rollup(monkeypatch, "KEYS_PER_RANGE", 3)
    reads = _held_reads(monkeypatch)
    folder = tmp_path / "memo"
    old = rd.merge_sessions(held, MIN)
    assert old["unicorn_key"].to_list() == [6, 7]
    got = rd.extend_sessions(old, held, new[:1], MIN, memo=folder, memo_min_rows=0)
    assert got["unicorn_key"].to_list() == [1, 3, 6, 7, (1 << 32) - 1]
    assert_frame_equal(got, rd.merge_sessions([*held, *new[:1]], MIN))
    assert reads == [4]
    memo = sc.memo_path(folder, _states([*held, *new[:1]]))
    undo = sc._undo_path(folder, _states(held))  # the memo taken, not copied; beside it, its undo back to the held days
    assert sorted(p.name for p in folder.iterdir()) == sorted([memo.name, undo.name])
    assert [_count(memo, k) for k in (1, 2, 3, 4, 5, 6, 7, 8, 1 << 31, (1 << 32) - 1)] == [6, 5, 6, 5, 3, 9, 255, 0, 5, 6]

    patch_rollup(monkeypatch, "_held_counts", None)  # the next extension must not read the held days
    again = rd.extend_sessions(got, [*held, *new[:1]], new[1:], MIN, memo=folder, memo_min_rows=1 << 40)
    assert_frame_equal(again, rd.merge_sessions([*held, *new], MIN))
    assert again["unicorn_key"].to_list() == [1, 3, 5, 6, 7, (1 << 32) - 1]  # 5: 1 held + 2 + 3 new
    assert sorted(p.name for p in folder.iterdir()) == sorted([sc.memo_path(folder, _states([*held, *new])).name,
                                                               sc._undo_path(folder, _states([*held, *new[:1]])).name])


def test_below_the_threshold_or_past_the_cap_no_memo_is_made(tmp_path, days, monkeypatch):
    held, new = days
    folder = tmp_path / "memo"
    rows = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in held)
    for min_rows, min_packets in ((rows + 1, MIN), (0, sc.CAP)):
        old = rd.merge_sessions(held, min_packets)
        got = rd.extend_sessions(old, held, new, min_packets, memo=folder, memo_min_rows=min_rows)
        assert_frame_equal(got, rd.merge_sessions([*held, *new], min_packets))
        assert not folder.exists()
    rd.extend_sessions(rd.merge_sessions(held, MIN), held, new, MIN, memo=folder, memo_min_rows=rows)
    assert sorted(p.suffix for p in folder.iterdir()) == [".counts", ".undo"]


def test_another_version_of_the_new_day_takes_the_held_days_memo_back_through_its_undo(tmp_path, monkeypatch):
    """The newest day changed (an hourly file updated it): extending the held days by its second version finds no
    memo of the held days (the first version's extension took it and renamed it), puts back the counts that
    extension changed (its undo) and reads no held file: the held days' exact counts, a count the first version
    had pushed to the cap (254 + 5) among them; the sessions of merging every day. Key 12 (4 held + 1 in each
    version) is no session: counted with the first version still in, it would be one."""
    held = [_day(tmp_path, "2024-02-01-a", {10: 250, 11: 1, 12: 3}), _day(tmp_path, "2024-02-02-b", {10: 4, 12: 1})]
    first = [_day(tmp_path, "2024-02-03-c", {10: 5, 11: 4, 12: 1})]
    second = [_day(tmp_path, "2024-02-03-d", {11: 3, 12: 1, 13: 2})]
    folder = tmp_path / "memo"
    old = rd.merge_sessions(held, MIN)
    rd.extend_sessions(old, held, first, MIN, memo=folder, memo_min_rows=0)
    assert _count(sc.memo_path(folder, _states([*held, *first])), 10) == sc.CAP
    with monkeypatch.context() as m:
        patch_rollup(m, "_held_counts", None)  # through the undo: no held day read
        got = rd.extend_sessions(old, held, second, MIN, memo=folder, memo_min_rows=0)
    assert_frame_equal(got, rd.merge_sessions([*held, *second], MIN))
    assert got["unicorn_key"].to_list() == [10]
    memo = sc.memo_path(folder, _states([*held, *second]))
    assert [_count(memo, k) for k in (10, 11, 12, 13, 14)] == [254, 4, 5, 2, 0]
    assert sorted(p.name for p in folder.iterdir()) == sorted([memo.name, sc._undo_path(folder, _states(held)).name])
    # a third version, the same way: the undo is the second's now
    third = [_day(tmp_path, "2024-02-03-e", {12: 2})]
    with monkeypatch.context() as m:
        patch_rollup(m, "_held_counts", None)
        got = rd.extend_sessions(old, held, third, MIN, memo=folder, memo_min_rows=0)
    assert got["unicorn_key"].to_list() == [10, 12]  # 4 held + 2
    assert [_count(sc.memo_path(folder, _states([*held, *third])), k) for k in (10, 11, 12, 13)] == [254, 1, 6, 0]


@pytest.mark.parametrize("undos", [2, 1])
def test_a_late_day_takes_the_memo_back_through_two_undos(tmp_path, monkeypatch, undos):
    """The held days extended by day a, then by day b (each commit keeping *undos* links of the chain back from its
    memo); day a then changes (a late file): extending the held days by a' and b finds neither the held days' memo
    nor the one after a (each taken and renamed), follows the chain back through both undos and reads no held file:
    the held days' exact counts (a saturated one among them), the sessions of merging every day. With one link kept
    (``rollup.late_days: 0``) the older undo is gone: the memo is built again from the held key files. A fourth
    extension keeps the chain at *undos* links."""
    held = [_day(tmp_path, "2024-02-01-a", {10: 250, 11: 1, 12: 3}), _day(tmp_path, "2024-02-02-b", {10: 4, 12: 1})]
    a = [_day(tmp_path, "2024-02-03-c", {10: 5, 11: 4, 12: 1})]
    b = [_day(tmp_path, "2024-02-04-d", {11: 1, 13: 2})]
    late = [_day(tmp_path, "2024-02-03-e", {11: 3, 12: 1, 13: 2})]
    folder = tmp_path / "memo"
    old = rd.merge_sessions(held, MIN)
    after_a = rd.extend_sessions(old, held, a, MIN, memo=folder, memo_min_rows=0, undos=undos)
    rd.extend_sessions(after_a, [*held, *a], b, MIN, memo=folder, memo_min_rows=0, undos=undos)
    assert len(list(folder.glob("*.undo"))) == undos
    reads = _held_reads(monkeypatch)
    got = rd.extend_sessions(old, held, [*late, *b], MIN, memo=folder, memo_min_rows=0, undos=undos)
    assert_frame_equal(got, rd.merge_sessions([*held, *late, *b], MIN))
    assert got["unicorn_key"].to_list() == [10]  # 11: 1 + 3 + 1 and 12: 3 + 1 + 1; counted with a, both would pass
    assert reads == ([] if undos == 2 else [2])
    memo = sc.memo_path(folder, _states([*held, *late, *b]))
    assert [_count(memo, k) for k in (10, 11, 12, 13, 14)] == [254, 5, 5, 4, 0]
    mine = [memo.name, sc._undo_path(folder, _states(held)).name]
    if undos == 2:
        assert sorted(p.name for p in folder.iterdir()) == sorted(mine)
    else:  # the memo after b is left behind (an orphan: pruned by age), with its undo back to the days after a
        orphan = [sc.memo_path(folder, _states([*held, *a, *b])).name, sc._undo_path(folder, _states([*held, *a])).name]
        assert sorted(p.name for p in folder.iterdir()) == sorted(mine + orphan)
    # two more days on the late chain: its undos stay at the links asked for, the oldest removed
    c, d = (_day(tmp_path, f"2024-02-0{n}-x", {14: 1}) for n in (5, 6))
    chain = [*held, *late, *b]
    for day in (c, d):
        rd.extend_sessions(got, chain, [day], MIN, memo=folder, memo_min_rows=0, undos=undos)
        chain.append(day)
    left = {p.name for p in folder.glob("*.undo")} - set(orphan if undos == 1 else ())  # another chain's: kept
    assert sorted(left) == sorted(sc._undo_path(folder, _states(chain[:-k])).name for k in range(1, undos + 1))


def test_a_memo_no_merged_state_can_extend_through_is_swept_with_its_undos(tmp_path):
    """A chain of three extensions (two undos kept): its memo stays while a rollup's merged state holds its set or a
    set its undos lead back to; with none, the memo and its undos go; an undo whose memo is gone goes; nothing younger
    than the age asked for goes."""
    held = [_day(tmp_path, "2024-02-01-a", {10: 3}), _day(tmp_path, "2024-02-02-b", {11: 1})]
    a, b = [_day(tmp_path, "2024-02-03-c", {10: 1})], [_day(tmp_path, "2024-02-04-d", {12: 1})]
    folder = tmp_path / "memo"
    sessions = rd.merge_sessions(held, MIN)
    rd.extend_sessions(sessions, held, a, MIN, memo=folder, memo_min_rows=0, undos=2)
    rd.extend_sessions(sessions, [*held, *a], b, MIN, memo=folder, memo_min_rows=0, undos=2)
    memo = sc.memo_path(folder, _states([*held, *a, *b]))
    undos = {sc._undo_path(folder, _states(held)), sc._undo_path(folder, _states([*held, *a]))}
    assert set(folder.iterdir()) == {memo, *undos}
    assert sc.sweep_orphans(folder, [], min_age=3600) == []  # just written: a build beside may not have committed
    assert sc.sweep_orphans(folder, [_states([*held, *a, *b])], min_age=0) == []
    assert sc.sweep_orphans(folder, [_states(held)], min_age=0) == []  # its undos lead back to a held set
    stray = sc._undo_path(folder, _states(held[:1]))  # an undo to a memo gone (a build that failed)
    head = json.dumps({"memo": ["2024-02-09-gone"], "held": _states(held[:1])}).encode()
    stray.write_bytes(sc.UNDO_MAGIC + len(head).to_bytes(4, "little") + head)
    assert sc.sweep_orphans(folder, [_states(held)], min_age=0) == [stray]
    assert sorted(sc.sweep_orphans(folder, [_states(held[:1])], min_age=0)) == sorted([memo, *undos])
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncated", "other_days", "foreign_header", "a_count_too_high", "a_temporary"])
def test_a_memo_not_what_it_should_be_is_rebuilt(tmp_path, days, monkeypatch, damage):
    """A memo under the held days' name that is cut short, counts other days, is not a memo, or says a key that is
    not a held session passed (its count raised to 200 here: trusted, key 2 would become a session) is removed and
    rebuilt from the key files; a memo of other days (stale: a held day changed) is left alone and not read; so is a
    build's temporary. The sessions are those of merging every day."""
    held, new = days
    folder = tmp_path / "memo"
    old = rd.merge_sessions(held, MIN)
    # the memo of the held days, as an extension would have left it
    memo = sc.memo_path(folder, _states(held))
    taken = sc.Memo.take(folder, _states(held), lambda: us._held_counts([str(f) for f in held]))
    taken.commit(_states(held))
    assert memo.is_file() and _count(memo, 7) == 255
    stale = sc.memo_path(folder, _states(held[:3]))
    if damage == "truncated":
        with open(memo, "r+b") as fh:
            fh.truncate(sc.HEADER + (1 << 20))
    elif damage == "other_days":  # a memo of other days under this name: its header names them
        with open(memo, "r+b") as fh:
            fh.write(sc._header(_states(held[:3])))
    elif damage == "foreign_header":
        with open(memo, "r+b") as fh:
            fh.write(b"not a memo")
    elif damage == "a_count_too_high":
        with open(memo, "r+b") as fh:
            fh.seek(sc.HEADER + 2)
            fh.write(bytes([200]))
    else:  # a build's temporary beside it, and a stale memo of other days: neither read
        memo.rename(folder / f".{memo.name}.tmp-1-abcdef12")
        stale.write_bytes(b"stale")
    reads = _held_reads(monkeypatch)
    got = rd.extend_sessions(old, held, new, MIN, memo=folder, memo_min_rows=0 if damage == "a_temporary" else 1 << 40)
    assert_frame_equal(got, rd.merge_sessions([*held, *new], MIN))
    assert reads == [4]  # built again from the held key files
    after = sc.memo_path(folder, _states([*held, *new]))
    assert after.is_file() and not memo.exists()
    assert [_count(after, k) for k in (1, 2, 5, 7)] == [7, 5, 6, 255]
    if damage == "a_temporary":
        assert stale.read_bytes() == b"stale"


#: Where the keys of a many-day memo test sit: both ends of the 32-bit space and between.
CLUSTERS = np.array([0, 1 << 30, 1 << 31, 3 << 30, (1 << 32) - (1 << 16)], dtype=np.uint64)


def test_the_memo_counts_are_the_key_files_counts(tmp_path):
    """Built in key ranges from many days, each key's count is its sum over the days, saturated at the cap."""
    rng = np.random.default_rng(7)
    files, total = [], {}
    for d in range(6):
        # spread over the key space in five clusters: each a window or two of the memo written, not all 4 GiB of it
        keys = np.unique(rng.choice(CLUSTERS, 400) + rng.integers(0, 1 << 16, 400, dtype=np.uint64)).tolist() + [17, 99]
        # and one window with a key on most of its pages: written whole, where the others write only their pages
        keys += ((np.arange(sc.PAGES // 2, dtype=np.uint64) << sc.PAGE_BITS) + (3 << 28) + d).tolist()
        rows = {int(k): int(rng.integers(1, 90)) for k in keys} | {17: 60, (1 << 32) - 1: 3}  # 17: 6 x 60, past the cap; the last key
        files.append(_day(tmp_path, f"2024-02-0{d + 1}-x", rows))
        for k, n in rows.items():
            total[k] = total.get(k, 0) + n
    folder = tmp_path / "memo"
    memo = sc.Memo.take(folder, _states(files), lambda: us._held_counts([str(f) for f in files]))
    memo.commit(_states(files))
    path = sc.memo_path(folder, _states(files))
    assert {k: _count(path, k) for k in total} == {k: min(n, sc.CAP) for k, n in total.items()}
    assert _count(path, 17) == sc.CAP and _count(path, 18) == 0
    allocated = path.stat().st_blocks * 512
    assert sc.WINDOW <= allocated < 2 * sc.WINDOW  # the dense window whole, the rest only the pages with keys


def test_pruning_removes_unused_memos_and_dead_builds_temporaries(tmp_path):
    """A memo not extended for the age limit (a chain broken by a removed or changed day) and a dead build's
    temporary go with the cache's pruning; a memo in use stays."""
    from scantui.analysis.rollup_store import prune_cache

    folder = tmp_path / "cache" / "days" / sc.FOLDER
    folder.mkdir(parents=True)
    orphan, used, dead = folder / "a.counts", folder / "b.counts", folder / ".b.counts.tmp-1-abcdef12"
    for path in (orphan, used, dead):
        path.write_bytes(b"x")
    old = time.time() - 40 * 86400
    os.utime(orphan, (old, old))
    os.utime(dead, (old, old))
    assert sorted(prune_cache(tmp_path / "cache")) == sorted([orphan, dead])
    assert [p.name for p in folder.iterdir()] == ["b.counts"]
