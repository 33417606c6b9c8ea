"""What a build's kept port list (:mod:`~scantui.analysis.port_lists`) keeps beside it, so the next rollup's
build brings the list up to date from the days it adds instead of recomputing it from every day.

``<rollup>/port_lists/v<VERSION>-<ports>.state/``, written with the list by a build (not by a query):

- ``list_state.json``: :data:`VERSION`, the days covered, each with its day state and ``port_day`` file as the rollup's
  merge recorded them (:func:`~scantui.analysis.rollup_days.held_files`), the window (first day, days) and the key
  runs;
- ``activity.parquet``: per source its active days as bits over the window (``np.packbits`` of its activity row,
  first day in the high bit): the active days and the schedules, every one of which is rescored over the new window
  (:func:`~scantui.analysis.schedule.schedule_frame`), at a bit a source a day instead of a (src, day) row;
- ``scans.parquet``: per (src, proto, dport) packets, scan days and the best one-day destinations, the rows of
  :func:`~scantui.analysis.behaviour.port_scans` (ports, coverage, top ports);
- ``intervals.parquet``: per (src, sensor, proto, dport) scan days, first and last
  (:func:`~scantui.analysis.behaviour.intervals_from`);
- ``run-*.u64``: the distinct ``src << 32 | dst`` keys of the ports' probes, sorted little-endian uint64, in
  disjoint runs (a key is in one run only). A new day's distinct keys are probed in each run by binary search on a
  memory map; the ones no run holds are the sources' new destinations and become a new run; a run is folded into
  the one before it while that one is at most twice its size (:func:`fold`), so there are about log2(days) runs,
  each key is rewritten about log2(days) times over its life, and a fold holds two value-bounded slices, not the
  runs. Older runs are hard-linked from the previous rollup's state, not copied. A run is named for its first key
  and its length (:func:`run_name`: unique, as runs are disjoint; no empty run is kept), so a state is the same
  bytes, names included, whenever the same runs are made.

Every column but the volume ones (kept in the list itself) is recomputed from these tables with the functions
of the computed path, so an extended list is the bytes of a computed one (tested). The state is trusted only
when each day it covers is in the new rollup with the same day state and ``port_day`` file (a held day changed,
removed, or its tool counts redone after new Unicorn sessions: the list is computed from every day again).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import polars as pl

#: Bumped when what the state holds, or how, changes.
VERSION = 1
INDEX = "list_state.json"
SRC_DAYS, SCANS, INTERVALS, ACTIVITY = "src_days", "scans.parquet", "intervals.parquet", "activity.parquet"
#: Keys of each run held at once by a fold (two such slices): 32 MiB each.
FOLD_CHUNK = 1 << 22


def state_path(list_path: Path) -> Path:
    return list_path.with_name(list_path.stem + ".state")


def row_state(rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The state tables of selected ``port_day`` *rows* (one port selection, some days), their (src, day) as rows
    (:func:`activity` makes them bits)."""
    from scantui.analysis import behaviour as bh

    lazy = rows.lazy()
    return dict(zip((SRC_DAYS, SCANS, INTERVALS), pl.collect_all([
        lazy.select("src", "day").unique(),
        bh.port_scans(lazy).select("src", "proto", "dport", "packets", "scans", "dsts"),
        lazy.group_by("src", "sensor", "proto", "dport").agg(
            pl.col("day").n_unique().cast(pl.UInt32).alias("scans"), pl.col("day").min().alias("d0"),
            pl.col("day").max().alias("d1")),
    ])))


def merge_state(old: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The scans and intervals of the days of *old* and of *new* (disjoint days)."""
    scans = pl.concat([old[SCANS], new[SCANS]]).group_by("src", "proto", "dport").agg(
        pl.col("packets").sum().cast(pl.UInt64), pl.col("scans").sum().cast(pl.UInt32), pl.col("dsts").max())
    intervals = pl.concat([old[INTERVALS], new[INTERVALS]]).group_by("src", "sensor", "proto", "dport").agg(
        pl.col("scans").sum().cast(pl.UInt32), pl.col("d0").min(), pl.col("d1").max())
    return {SCANS: scans, INTERVALS: intervals}


def activity(old: pl.DataFrame | None, old_window: tuple[dt.date, int] | None, src_days: pl.DataFrame,
             first_day: dt.date, n_days: int) -> tuple[pl.Series, np.ndarray] | None:
    """The sources (ascending) and their activity rows over the window *first_day*, *n_days*: the bits of *old*
    (``src``, ``bits`` over *old_window*) moved into it, and *src_days*' (src, day) set; None when a day falls
    outside the window (then the state does not apply)."""
    olds = old["src"] if old is not None else pl.Series("src", [], pl.UInt32)
    srcs = pl.concat([olds, src_days["src"].unique()]).unique().sort()
    keys = srcs.to_numpy()
    act = np.zeros((len(srcs), n_days), dtype=bool)
    if old is not None and old.height:
        start, width = (old_window[0] - first_day).days, old_window[1]
        if start < 0 or start + width > n_days:
            return None
        bits = np.unpackbits(old["bits"].to_numpy(), axis=1, count=width).astype(bool)
        act[np.searchsorted(keys, olds.to_numpy()), start:start + width] = bits
    col = (src_days["day"] - first_day).dt.total_days().to_numpy()
    if len(col) and (col.min() < 0 or col.max() >= n_days):
        return None
    act[np.searchsorted(keys, src_days["src"].to_numpy()), col] = True
    return srcs, act


def packed(srcs: pl.Series, act: np.ndarray) -> pl.DataFrame:
    """The ``activity.parquet`` table of :func:`activity`'s result."""
    return pl.DataFrame({"src": srcs, "bits": np.packbits(act, axis=1)})


_SORT = {ACTIVITY: ["src"], SCANS: ["src", "proto", "dport"], INTERVALS: ["src", "sensor", "proto", "dport"]}


def run_name(path: Path) -> str | None:
    """The name of the run file at *path*: ``run-<first key>-<keys>.u64`` in hex; None when it is empty."""
    n = path.stat().st_size // 8
    if not n:
        return None
    first = int(np.fromfile(path, dtype="<u8", count=1)[0])
    return f"run-{first:016x}-{n:x}.u64"


def read_runs(folder: Path, names: list[str]) -> list[np.ndarray]:
    return [np.memmap(folder / n, dtype="<u8", mode="r") if (folder / n).stat().st_size else np.empty(0, "<u8")
            for n in names]


def read_state(folder: Path) -> tuple[dict, dict[str, pl.DataFrame]] | None:
    """(index, tables) of the state at *folder*, or None when there is none readable of this version."""
    try:
        index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
        if not isinstance(index, dict) or index.get("version") != VERSION:
            return None
        tables = {name: pl.read_parquet(folder / name, glob=False) for name in _SORT}
        for run in index["runs"]:
            if (folder / run).stat().st_size % 8:
                return None
        index["window"] = (dt.date.fromisoformat(index["first_day"]), int(index["n_days"]))
        return index, tables
    except Exception:  # noqa: BLE001 - missing, damaged or foreign: the list is computed from every day
        return None


def new_keys(runs: list[np.ndarray], keys: np.ndarray) -> np.ndarray:
    """The keys of *keys* (sorted, distinct) that no run holds."""
    fresh = np.ones(len(keys), dtype=bool)
    for run in runs:
        if not len(run) or not len(keys):
            continue
        at = np.minimum(np.searchsorted(run, keys), len(run) - 1)
        fresh &= np.asarray(run[at]) != keys
    return keys[fresh]


def per_source(keys: np.ndarray) -> pl.DataFrame:
    """How many of the sorted *keys* each source has (``src``, ``dsts``)."""
    srcs, counts = np.unique((keys >> np.uint64(32)).astype(np.uint32), return_counts=True)
    return pl.DataFrame({"src": srcs, "dsts": counts.astype(np.uint32)})


def fold(a: np.ndarray, b: np.ndarray, out: Path) -> None:
    """Write the sorted union of the disjoint sorted runs *a* and *b* to *out*, a value slice at a time: between two
    cuts (every :data:`FOLD_CHUNK`-th key of either run) each run has at most that many keys."""
    cuts = np.union1d(np.asarray(a[::FOLD_CHUNK]), np.asarray(b[::FOLD_CHUNK]))
    ia = ib = 0
    with open(out, "wb") as fh:
        for cut in [*cuts[1:], None]:
            ja = len(a) if cut is None else int(np.searchsorted(a, cut))
            jb = len(b) if cut is None else int(np.searchsorted(b, cut))
            part = np.concatenate([np.asarray(a[ia:ja]), np.asarray(b[ib:jb])])
            part.sort()
            part.astype("<u8", copy=False).tofile(fh)
            ia, ib = ja, jb


class StateWriter:
    """Writes a state folder: runs first (appended, linked or folded), then the tables and the index, renamed into
    place last (a reader never sees half a state; a failure leaves none)."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
        self.tmp.mkdir(parents=True)
        self.runs: list[tuple[str, int]] = []
        self.failed = False
        self.parts: list[dict[str, pl.DataFrame]] = []  # a computed list's state tables, a source range each
        self.tables: dict[str, pl.DataFrame] | None = None  # the state tables to write
        self._made = 0

    def _name(self) -> str:
        """A working name for a run, renamed for its keys by :meth:`finish` (a fold's output may be named as one
        of its inputs)."""
        self._made += 1
        return f"part-{self._made}.u64"

    def link(self, src: Path) -> None:
        """Take the run file *src* (of an older state) as is."""
        name = self._name()
        try:
            os.link(src, self.tmp / name)
        except OSError:  # another file system: copied
            shutil.copyfile(src, self.tmp / name)
        self.runs.append((name, (self.tmp / name).stat().st_size // 8))

    def append(self, keys: np.ndarray | None, new_run: bool) -> None:
        """Keys greater than any written to the last run so far (a computed list's source ranges, in order), or a
        run of their own; None: a key could not be made (a packet without a destination): no state is kept."""
        if keys is None:
            self.failed = True
            return
        if new_run or not self.runs:
            self.runs.append((self._name(), 0))
        name, n = self.runs[-1]
        with open(self.tmp / name, "ab") as fh:
            keys.astype("<u8", copy=False).tofile(fh)
        self.runs[-1] = (name, n + len(keys))

    def fold(self) -> None:
        """Fold the newest run into the one before it while that one is at most twice its size."""
        while len(self.runs) >= 2 and self.runs[-2][1] <= 2 * self.runs[-1][1]:
            (older, _), (newer, _) = self.runs[-2:]
            a, b = read_runs(self.tmp, [older, newer])
            name = self._name()
            fold(a, b, self.tmp / name)
            del a, b
            for gone in (older, newer):
                (self.tmp / gone).unlink()
            self.runs[-2:] = [(name, (self.tmp / name).stat().st_size // 8)]

    def finish(self, tables: dict[str, pl.DataFrame], days: dict[str, tuple[str, str]], window: tuple[dt.date, int]) -> bool:
        """Write *tables* and the index of *days* and the *window* of the activity bits; True when the state is in
        place."""
        try:
            if self.failed:
                raise OSError("no keys")
            self._name_runs()
            for name, cols in _SORT.items():
                tables[name].sort(cols).write_parquet(self.tmp / name, compression="zstd", statistics=False)
            index = {"version": VERSION, "days": {d: list(e) for d, e in sorted(days.items())},
                     "first_day": window[0].isoformat(), "n_days": window[1], "runs": [name for name, _ in self.runs]}
            (self.tmp / INDEX).write_text(json.dumps(index, indent=1), encoding="utf-8")
            if self.final.exists():  # an older state of the same rollup (a rebuild): replaced
                shutil.rmtree(self.final, ignore_errors=True)
            os.replace(self.tmp, self.final)
            return True
        except Exception:  # noqa: BLE001 - a read-only or full cache: the list is kept, only not extensible
            self.discard()
            return False

    def _name_runs(self) -> None:
        """Rename each run for its keys (:func:`run_name`), empty ones dropped."""
        named = []
        for part, n in self.runs:
            name = run_name(self.tmp / part)
            if name is None:
                (self.tmp / part).unlink()
            else:
                os.replace(self.tmp / part, self.tmp / name)
                named.append((name, n))
        self.runs = named

    def reset(self) -> None:
        """Start again, empty (an extension found not to apply after it began)."""
        for name, _ in self.runs:
            (self.tmp / name).unlink(missing_ok=True)
        self.runs, self.failed, self.parts, self.tables = [], False, [], None

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
