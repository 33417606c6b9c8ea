"""The rollup cache's folders on disk: committed by rename, marked used, pruned.

A build writes into a hidden temporary folder beside its final place and
renames it there; the rename is the commit (:func:`_commit` for a rollup, whose
``meta.json``, written last, marks a finished build; :func:`_commit_entry` for a
day-store folder, marked by its ``index.json`` or ``state.json``). A second
process building the same key at the same time loses the rename and discards its
copy; a crashed build leaves only a hidden temporary folder that is never read.
:func:`prune_cache` removes what was not opened for a while and those leftovers;
:func:`release_superseded` the merged states no later build would extend.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scantui.analysis import rollup_days as rd
from scantui.analysis import session_counts
from scantui.analysis.rollup import META
from scantui.analysis.rollup_keys import LOG_ENDS, _is_finished, cache_root, days_root, decoded_root
from scantui.fsutil import TMP_MARK


_OLD_MARK = ".old-"


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _commit_entry(tmp: Path, final: Path, marker: str, replace: bool) -> None:
    """Rename a finished day-store folder into place; a finished one already there wins unless *replace*."""
    if final.exists() and (replace or not (final / marker).is_file()):
        aside = final.with_name(f".{final.name}{_OLD_MARK}{uuid.uuid4().hex[:8]}")
        try:
            os.rename(final, aside)
        except FileNotFoundError:
            pass
        else:
            shutil.rmtree(aside, ignore_errors=True)
    try:
        os.rename(tmp, final)
    except OSError:
        if not (final / marker).is_file():
            raise


def _commit(tmp: Path, final: Path, key: str, *, replace: bool) -> None:
    """Rename *tmp* to *final* (for :func:`atomic_path`). Losing to a concurrent builder is fine:
    its rollup is as good, and *tmp*, left in place, is removed."""
    if final.exists() and (replace or not _is_finished(final, key)):
        aside = final.with_name(f".{final.name}{_OLD_MARK}{uuid.uuid4().hex[:8]}")
        try:
            os.rename(final, aside)
        except FileNotFoundError:
            pass  # another process moved it first
        else:
            shutil.rmtree(aside, ignore_errors=True)
    try:
        os.rename(tmp, final)
    except OSError:
        if not _is_finished(final, key):  # not a lost race: a real failure
            raise


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # a read-only cache


def _touch(folder: Path) -> None:
    """Mark a rollup or decoded copy as used (for :func:`prune_cache`); the cache may be read-only."""
    try:
        os.utime(folder)
    except OSError:
        pass


# ---------------------------------------------------------------- housekeeping


def release_superseded(new: Path, extended: Path, late_days: int = 0) -> list[Path]:
    """After the rollup *new* extended the merged state of the rollup *extended*: remove the merged states a later
    build has no use for, so that a chain of extensions keeps *late_days* + 2, not one per added day (a year of daily
    additions: 365 states), and a day that keeps changing does not make a full merge each time; the rollups whose
    states are kept for that (*extended* and its *late_days* nearest links up the chain).

    *extended*'s state is kept: the days *new* added to it are usually the newest, and the newest day changes while
    its files arrive (an hourly capture updates its day: a changed day is a set union that cannot be undone, so
    without the state before it every hour merged every held day again; with it the next hour extends *extended*
    again, by the day as it is then). So are the states of the rollups *extended* itself extended, *late_days* links
    up the chain (config ``rollup.late_days``): a file for a day before the newest, arriving late or delivered
    again, then extends the one that holds the days before it, not a merge of every held day. Removed: the state of
    the chain's next older link (its days are all in the kept ones), and that of every other rollup that extended
    *extended* (an earlier version of the newest day, such as the hour before: the next hour extends *extended*,
    never it). Only folders holding a merged state are read (their ``meta.json``'s ``extended``); a rollup built
    before that field was written counts as extending nothing."""
    kept = [extended]
    parent = _meta_field(extended, "extended")
    for _ in range(late_days):
        if not isinstance(parent, str) or not parent or "/" in parent or not (new.parent / parent / rd.MERGE).is_dir():
            break
        kept.append(new.parent / parent)
        parent = _meta_field(kept[-1], "extended")
    try:
        folders = list(new.parent.iterdir())
    except OSError:
        return kept
    for folder in folders:
        if folder.name.startswith(".") or folder == new or folder in kept or not (folder / rd.MERGE).is_dir():
            continue
        if folder.name == parent:
            release_state(folder)
            if _meta_field(folder, STONE):  # a stepping stone no input set names: of no further use
                _mark_superseded(folder)
        elif _meta_field(folder, "extended") == extended.name:
            release_state(folder)
            _mark_superseded(folder)
    sweep_superseded(new.parent)
    return kept


def release_earlier(new: Path, keep: Sequence[Path] = ()) -> None:
    """After the rollup *new* was built: remove the merged state of every other rollup of the same load options and
    Unicorn threshold whose inputs are all among *new*'s, but those in *keep* (what :func:`release_superseded` kept:
    the rollup *new* extended and its links kept for late files). Such a rollup is an
    earlier version of the same data (before a late or re-delivered file made this build merge every day, or the
    first build of a folder of captures cut off midnight, merged before its stone): a full merge extends nothing, so
    :func:`release_superseded` never released its state, which stayed until pruned (at a year, a merged state is
    tens of GB). Its folder stays: its tables are readable, and it is reused if asked for again.

    Any other rollup (whatever its options) that read one of *new*'s paths when it held other bytes (another size,
    time or edge hash: a capture delivered again) can never be asked for again, as no input set names it any more:
    it is swept like an earlier version of the newest day (:func:`sweep_superseded`), with the day states of that
    file's old bytes no other rollup names (at a year, a day's state is GBs)."""
    try:
        meta = _read_json(new / META)
        folders = list(new.parent.iterdir())
    except (OSError, ValueError):
        return
    now = {i.get("path"): _bytes_of(i) for i in meta.get("inputs") or [] if isinstance(i, dict)}
    marked = False
    for folder in folders:
        if folder.name.startswith(".") or folder == new or folder in keep or (folder / SUPERSEDED).exists():
            continue
        try:
            other = _read_json(folder / META)
        except (OSError, ValueError):
            continue
        inputs = [i for i in other.get("inputs") or [] if isinstance(i, dict)]
        if any(i.get("path") in now and now[i.get("path")] != _bytes_of(i) for i in inputs):  # a file changed since
            release_state(folder)
            _mark_superseded(folder)
            marked = True
            continue
        same = all(other.get(k) == meta.get(k) for k in ("load_options", "unicorn_min_packets"))
        mine = {i.get("path") for i in inputs}
        if same and mine and mine <= now.keys():
            release_state(folder)
    if marked:
        sweep_superseded(new.parent)


def sweep_memos(root: Path) -> list[Path]:
    """Remove the Unicorn key-count memos (and undos) of the cache of the rollups folder *root* through which no
    extension can go any more: those of no set a rollup's merged state holds
    (:func:`~scantui.analysis.session_counts.sweep_orphans`: a chain broken by a full merge left a 4 GiB memo, kept
    until pruned before). Run after each build, once its states were released; the removed files."""
    folder = root.parent / "days" / session_counts.FOLDER
    if not folder.is_dir():
        return []
    held = []
    try:
        folders = [f for f in root.iterdir() if not f.name.startswith(".") and (f / rd.MERGE).is_dir()]
    except OSError:
        return []
    for rollup in folders:
        files = rd.held_files(rollup)
        if files:
            held.append([state for state, _ in files.values()])
    return session_counts.sweep_orphans(folder, held)


def _bytes_of(identity: dict[str, Any]) -> tuple[Any, ...]:
    """What an input identity says of the file's bytes (:func:`~scantui.analysis.rollup_keys._identity`)."""
    return identity.get("size"), identity.get("mtime_ns"), identity.get("edge_sha256")


#: ``meta.json``'s field marking a *stepping stone*: the rollup of every day but the newest, which a build whose
#: newest day shares an input with the day before extends (:func:`~scantui.analysis.rollup_cache.update_rollup`);
#: once a later stone extends it, it is swept like an earlier version of the newest day.
STONE = "stone"

#: A file in a rollup folder that an earlier version of the newest day left behind (:func:`sweep_superseded`).
SUPERSEDED = "superseded"


def _mark_superseded(folder: Path) -> None:
    try:
        (folder / SUPERSEDED).touch()
    except OSError:
        pass  # a read-only cache: kept


def revive(folder: Path) -> None:
    """A superseded rollup asked for again (its input set came back): kept from now on."""
    try:
        (folder / SUPERSEDED).unlink()
    except OSError:
        pass


def sweep_superseded(root: Path) -> list[Path]:
    """Remove the rollups of *root* an earlier version of the newest day left behind (each hour of an hourly feed
    builds a rollup folder: ~110 MB of its own at 84 days of 2.4 M packets, far more at a year) that no process
    reads, and their day states no other rollup names; the removed rollups.

    Such a rollup is marked (:data:`SUPERSEDED`) when the next version of its day extends the days before it
    (:func:`release_superseded`); it is removed once its ``meta.json`` can be locked exclusively: every process
    holding a :class:`~scantui.analysis.rollup_handle.Rollup` of it holds a shared lock (``load_rollup``), so a TUI
    still showing it keeps it, and a later build's sweep removes it. The folder is renamed away under the lock (a
    reader arriving meanwhile finds it gone and builds the rollup anew). Its day states (the newest day as it
    was: the day's size) go when no remaining rollup's ``meta.json`` names them; a build reusing such a state at
    that moment (one rebuilding that exact earlier version) would fail and could be run again."""
    removed, states = [], set()
    try:
        marked = [f for f in root.iterdir() if not f.name.startswith(".") and (f / SUPERSEDED).is_file()]
    except OSError:
        return removed
    for folder in marked:
        day_keys = _meta_field(folder, "day_keys") or {}
        if os.name == "nt" or not _remove_unread(folder):
            continue  # read by a process now (or no locks here: kept)
        removed.append(folder)
        if isinstance(day_keys, dict):
            states.update(str(name) for name in day_keys.values())
    if states:
        states -= _named_states(root)
        store = root.parent / "days" / "state"
        for name in sorted(states):
            state = store / name
            if name and "/" not in name and state.is_dir():
                doomed = state.with_name(f".{name}{_OLD_MARK}{uuid.uuid4().hex[:8]}")
                try:
                    state.rename(doomed)
                except OSError:
                    continue
                shutil.rmtree(doomed, ignore_errors=True)
    return removed


def _meta_field(rollup: Path, name: str) -> Any:
    try:
        meta = _read_json(rollup / META)
    except (OSError, ValueError):
        return None
    return meta.get(name) if isinstance(meta, dict) else None


def _named_states(root: Path) -> set[str]:
    """The day states the finished rollups under *root* name."""
    named: set[str] = set()
    try:
        folders = [f for f in root.iterdir() if not f.name.startswith(".")]
    except OSError:
        return named
    for folder in folders:
        names = _meta_field(folder, "day_keys")
        if isinstance(names, dict):
            named.update(str(name) for name in names.values())
    return named


def _remove_unread(folder: Path) -> bool:
    """Remove the rollup *folder* when no process reads it (renamed away under its exclusive lock, then deleted);
    False when one does. Where locks are not to be had (Windows), or the folder has no ``meta.json`` (never
    finished), it is removed as it is."""
    from scantui.lock import take_exclusive

    meta = folder / META
    fd = take_exclusive(meta) if os.name != "nt" and meta.is_file() else None
    if fd is None and os.name != "nt" and meta.is_file():
        return False
    try:
        doomed = folder.with_name(f".{folder.name}{_OLD_MARK}{uuid.uuid4().hex[:8]}")
        try:
            folder.rename(doomed)
        except OSError:
            return False
    finally:
        if fd is not None:
            os.close(fd)
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def release_state(rollup: Path) -> None:
    """Remove the merged state (``merge/``) of a rollup no later build would extend (:func:`release_superseded`).
    The rollup's tables stay readable; extending it again (or ``info`` on it) then works from the days. Renamed
    away first, so a build reading it fails cleanly (and merges every day) instead of reading half a folder."""
    state = rollup / rd.MERGE
    if not state.is_dir():
        return
    doomed = rollup / f".{rd.MERGE}{_OLD_MARK}{uuid.uuid4().hex}"
    try:
        state.rename(doomed)
    except OSError:
        return  # gone meanwhile, or a read-only cache
    shutil.rmtree(doomed, ignore_errors=True)


def prune_cache(cache_dir: str | os.PathLike[str] | None = None, *, max_age_days: float = 30.0, stale_tmp_hours: float = 24.0) -> list[Path]:
    """Remove rollups and decoded copies not opened for *max_age_days* and temporaries of builds that died
    (``scantui rollup --prune DAYS``; opening a rollup marks it and its days used).

    Returns the removed paths. A temporary younger than *stale_tmp_hours* may
    belong to a build still running and is kept; so is a rollup a process reads (its lease, :func:`sweep_superseded`),
    however old.
    """
    now = time.time()
    removed = []
    days = days_root(cache_dir)
    named: set[str] = set()  # the day states of the rollups kept: they read them, however old they are
    for root in (cache_root(cache_dir), decoded_root(cache_dir), days / "inputs", days / "state", days / LOG_ENDS,
                 days / session_counts.FOLDER):
        if root == days / "state":
            named = _named_states(cache_root(cache_dir))
        if not root.is_dir():
            continue
        for entry in root.iterdir():
            if entry.name in named:
                continue
            age = now - entry.stat().st_mtime
            leftover = entry.name.startswith(".") and (TMP_MARK in entry.name or _OLD_MARK in entry.name)
            if (leftover and age > stale_tmp_hours * 3600) or (not entry.name.startswith(".") and age > max_age_days * 86400):
                if root == cache_root(cache_dir) and not leftover:  # a rollup: never one a process reads
                    if _remove_unread(entry):
                        removed.append(entry)
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed
