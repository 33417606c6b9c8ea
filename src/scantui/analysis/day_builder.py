"""One build of a rollup from days: the inputs split by day, the day states, the tool counts, the merge.

The days (:mod:`scantui.analysis.rollup_days`) are kept in ``days/`` beside
``rollups/``: ``days/inputs/<key4>/`` holds one input file split by day, or only
the list of its days for a Parquet file of one day, read in place (``key4``
hashes that file's identity without its path, :mod:`~scantui.analysis.rollup_keys`,
the load options and the layout version: inputs moved or renamed reuse their
splits and days, whose file names are read as the inputs' own);
``days/state/<day>-<key5>/`` one day's state (``key5`` hashes the day and the
keys of the inputs covering it, in order). A build reuses every input split and
day state whose key is unchanged, so adding, removing or changing an input
rebuilds only the days it touches, then merges (extending the merged state of
an older rollup that holds most of the days unchanged). Each step is a task of
:mod:`scantui.analysis.day_tasks`, run through the build's runner.
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from scantui.analysis import merge_state as mst
from scantui.analysis import rollup as ru
from scantui.analysis import rollup_days as rd
from scantui.analysis import session_counts
from scantui.analysis.day_tasks import _STATE_DONE, _UNIT_DONE, _frame, build_state, day_port_day, split_input
from scantui.analysis.rollup_handle import SESSIONS, Action
from scantui.analysis.rollup_keys import DAYS_VERSION, _digest, _identity, _is_finished, _options_dict, content_identity
from scantui.analysis.rollup_log_year import _with_log_year
from scantui.analysis.rollup_store import _read_json, _touch
from scantui.analysis.runner import LocalRunner, Runner
from scantui.io.loader import Dataset, InputUnit
from scantui.io.options import LoadOptions
from scantui.io.schema import ENRICHMENT, drop_refs
from scantui.io.stats import FileStats, LoadStats


def _as_named(index: dict[str, Any], unit: InputUnit) -> dict[str, Any]:
    """A split's index with its files named as *unit*'s (the split may have been made of the same bytes under
    other names: an archive moved, a path given from another folder)."""
    files = index.get("files") or []
    if len(files) != len(unit.files):
        return index
    return {**index, "files": [{**f, "path": str(path)} for f, path in zip(files, unit.files)]}


def _extendable(root: Path, files: list[rd.DayFiles], out: Path | None = None) -> Path | None:
    """The finished rollup in *root* (but *out*) whose merged state holds the most of *files*' days unchanged."""
    return _best_base(root, files, out)[0]


def _best_base(root: Path, files: list[rd.DayFiles], out: Path | None = None) -> tuple[Path | None, int]:
    """:func:`_extendable`, with how many of *files*' days it holds (0: none)."""
    best, held = None, 0
    try:
        folders = list(root.iterdir())
    except FileNotFoundError:  # an empty cache
        return None, 0
    for folder in folders:
        if folder.name.startswith(".") or folder == out:
            continue
        n = mst.extends(folder, files)
        if n > held and _is_finished(folder, folder.name):
            best, held = folder, n
    return best, held


@dataclass(frozen=True)
class _Split:
    """One input's entry in the day store: its folder, its ``index.json`` and the input itself."""

    folder: Path
    index: dict[str, Any]
    unit: InputUnit


class _DayBuilder:
    """One :func:`update_rollup` build: the inputs split by day, the days, the merge (with the actions taken).

    Its loops go through *runner* (:mod:`scantui.analysis.runner`): each step is a
    module-level function of a small job (paths, options, the input unit), the
    same in this process and on a Dask worker.
    """

    def __init__(self, dataset: Dataset, opts: LoadOptions, store: Path, rebuild: bool, progress: ru.Progress | None,
                 inputs: list[dict[str, Any]], runner: Runner | None = None) -> None:
        self.dataset = dataset
        self.known = {i["path"]: i for i in inputs}  # identities already read by describe_inputs
        self.opts = opts
        self.store = store
        self.rebuild = rebuild
        self.report = progress or (lambda _m, _f: None)
        self.runner = runner or LocalRunner()
        self.actions: list[Action] = []
        self.split: list[_Split] = []
        self.covering: dict[str, list[_Split]] = {}  # day -> the inputs holding it (prepare)
        self.days: list[str] = []
        self.states: list[Path] = []
        self.superseded: Path | None = None  # the rollup whose merged state this build extended
        # per held day of the rollup the sessions extended: its port_day file name and the keys that became sessions
        self.held: dict[str, tuple[str, list[int]]] = {}

    def prepare(self) -> None:
        """Split the inputs by day and build (or reuse) every day's state: what :meth:`build` merges."""
        self.split = self._split_inputs(self.dataset.units())
        self._publish_stats()
        self.covering = {}
        for split in self.split:
            for day in split.index["days"]:
                self.covering.setdefault(day, []).append(split)
        self.days = sorted(self.covering)
        self.states = self._day_states(self.days, self.covering)

    def days_before_newest(self, root: Path) -> int:
        """How many days the *stepping stone* of this build holds (0: none), after :meth:`prepare`; *root*: the
        rollups' folder.

        A changed day cannot be taken out of a merged state, so a build whose newest day changed can extend only a
        state without it. When an input holding the newest day also holds an earlier one (captures rotated off UTC
        midnight: daily files cut at local midnight or wherever ``tcpdump -G 86400`` started, an hourly file holding
        the last packets of the day before), the next input will change the newest day *and* add days; as the
        newest day always has such a file, no rollup of the data would ever hold the days before it alone, and each
        new file would merge every held day again (or extend a state ever further behind). And when the newest day
        is held by several inputs (hourly files) and no rollup holds any of the days to extend, this build merges
        every day, and so would the next hour's. In both cases the build first makes (or reuses) the rollup of every
        day but the newest, the stone (:func:`~scantui.analysis.rollup_cache.update_rollup`), and extends it by
        the newest day: the next build extends the stone again, as for the day's hourly files
        (:func:`~scantui.analysis.rollup_store.release_superseded`). So does one whose newest day has several
        inputs and whose best rollup to extend lacks a day besides the newest (a file for the day before, late:
        the state kept for it holds the days before that one; or a day of hourly files missed): else each next hour
        would extend that rollup by every missing day again. Data of one input, or of inputs each within a
        day and added to a rollup of the days before, never makes one."""
        if len(self.split) < 2 or len(self.days) < 2:
            return 0
        newest = self.covering[self.days[-1]]
        if any(len(split.index["days"]) > 1 for split in newest):
            return len(self.days) - 1
        if len(newest) > 1 and _best_base(root, self._day_files(self.days, self.states))[1] < len(self.days) - 1:
            return len(self.days) - 1
        return 0

    @staticmethod
    def _day_files(days: list[str], states: list[Path]) -> list[rd.DayFiles]:
        """The days as :class:`~scantui.analysis.rollup_days.DayFiles` of their states' base ``port_day`` files
        (what :func:`~scantui.analysis.merge_state.extends` compares: the days and their state folders)."""
        return [rd.DayFiles(dt.date.fromisoformat(day), state, state / rd.PORT_DAY_BASE) for day, state in zip(days, states)]

    def build(self, out: Path, meta: dict[str, Any], unicorn_min_packets: int, *, days: int | None = None,
              late_days: int = 0) -> None:
        """Merge the first *days* days (default: every day) into the rollup folder *out*, extending the merged
        state of the rollup that holds most of them unchanged; *meta* goes to its ``meta.json``. *late_days*
        (config ``rollup.late_days``): how far back the Unicorn key-count memo can be put back."""
        started = time.perf_counter()
        out.mkdir()
        self.held, self.superseded = {}, None
        days_, states = self.days[:days], self.states[:days]
        covering = {day: self.covering[day] for day in days_}
        splits = [split for split in self.split if any(day in covering for day in split.index["days"])]
        sessions = self._sessions(out, days_, states, unicorn_min_packets, late_days + 1)
        sessions_file = out / SESSIONS  # read by the tool-count tasks, and kept (see Rollup.packet_source)
        sessions.write_parquet(sessions_file)
        jobs = [{"day": day, "state": str(state), "sessions": str(sessions_file), "frames": self._frames(covering[day]),
                 "opts": self.dataset.opts, "held": self.held.get(day), **self._direct(covering[day])}
                for day, state in zip(days_, states)]
        step = self._step("tool counts", 0.7, 0.15)
        results = self.runner.map(day_port_day, jobs, lambda i, n, job: step(i, n, job["day"]))
        files = []
        for day, (day_files, built, seconds) in zip(days_, results):
            if built:
                self.actions.append(Action("built", f"tools {day}", seconds))
            files.append(day_files)
        enrich = [c for c in ENRICHMENT if any(c in split.index["enrichment_columns"] for split in splits)]
        t0 = time.perf_counter()
        previous = None if self.rebuild else self._previous(out, files)
        merge = functools.partial(rd.merge_days, files, out, enrich=bool(enrich), buckets=1,
                                  progress=rd.scaled(self.report, 0.85, 0.15))
        try:
            extended = merge(previous=previous)
        except OSError:  # e.g. the rollup being extended was pruned meanwhile: merge every day
            if previous is None:
                raise
            for entry in out.iterdir():
                if entry.name != SESSIONS:
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            extended = merge(previous=None)
        n = len(days_)
        what = (f"rollup of {n} day{'' if n == 1 else 's'}" if days is None else f"the {n} day{'' if n == 1 else 's'} before the newest") \
            + (f" (extending {previous.name})" if extended else "")
        self.superseded = previous if extended else None
        self.actions.append(Action("merged", what, time.perf_counter() - t0))
        ru.finish(out, {
            **meta,
            "enrichment_columns": enrich,
            "skipped": dict(sorted(self.dataset.stats.skipped().items())),
            "files": [f for split in splits for f in split.index["files"]],
            "day_keys": {day: state.name for day, state in zip(days_, states)},
            "extended": previous.name if extended else None,  # whose merged state this one extended (rollup_store)
        }, started, self.report)

    def _sessions(self, out: Path, days: list[str], states: list[Path], min_packets: int, undos: int = 1) -> pl.DataFrame:
        """The Unicorn sessions over every day: the older rollup's this build will extend, plus
        the new days' keys that now pass the threshold (counts only grow when days are added), or
        merged from every day's key counts."""
        mine = self._day_files(days, states)
        previous = None if self.rebuild else self._previous(out, mine)
        if previous is not None and _read_json(previous / ru.META).get("unicorn_min_packets") == min_packets:
            held = mst.held_days(previous)
            try:
                old = pl.read_parquet(previous / SESSIONS, glob=False)
            except OSError:
                pass
            else:
                new = rd.extend_sessions(old, [s / rd.KEYS for d, s in zip(days, states) if d in held],
                                         [s / rd.KEYS for d, s in zip(days, states) if d not in held], min_packets,
                                         memo=self.store / session_counts.FOLDER, undos=undos)
                changed = new.join(old.cast(dict(rd.SESSIONS_SCHEMA)), on="unicorn_key", how="anti")["unicorn_key"]
                files = rd.held_files(previous)
                self.held = {d: (files[d][1], changed.to_list()) for d, s in zip(days, states)
                             if d in files and files[d][0] == s.name}
                return new
        return rd.merge_sessions([s / rd.KEYS for s in states], min_packets, map=self.runner.map)

    def _step(self, verb: str, start: float, share: float) -> Callable[[int, int, str], None]:
        """The runner's ``step`` for a loop over days: ``verb DAY`` at its share of the progress (a checkpoint)."""
        return lambda i, n, day: self.report(f"{verb} {day}", start + share * i / max(1, n))

    def _previous(self, out: Path, files: list[rd.DayFiles]) -> Path | None:
        """The finished rollup beside *out* whose merged state holds the most of *files*' days unchanged (to extend)."""
        return _extendable(out.parent, files, out)

    def splits_frame(self) -> pl.LazyFrame:
        """The data set's table from its inputs' day splits (each input's rows in day order; the
        captures' own order when, as usual, they are in time order), for its decoded copy."""
        return drop_refs(rd.concat_frames([self._day_frame(split, day) for split in self.split
                                           for day in split.index["days"]]))

    def has_packets(self) -> bool:
        return any(split.index["days"] for split in self.split)

    def find_splits(self) -> bool:
        """On a rollup hit: find every input's day split without reading the inputs (False when
        one is missing); their loader counts go to the data set's stats."""
        found = []
        for unit in self.dataset.units():
            folder = self._unit_folder(unit)
            if not (folder / _UNIT_DONE).is_file():
                return False
            found.append(_Split(folder, _as_named(_read_json(folder / _UNIT_DONE), unit), unit))
        self.split = found
        self._publish_stats()
        return True

    def _publish_stats(self) -> None:
        for split in self.split:
            for f in split.index["files"]:
                self.dataset.stats.publish(FileStats(f["path"], f["format"], f["rows"], Counter(f["skipped"]), f["complete"]))

    def _day_frame(self, split: _Split, day: str) -> pl.LazyFrame:
        return _frame(self._frames([split])[0], day, self.dataset.opts)

    def _frames(self, covering: list[_Split]) -> list[tuple[str, Any]]:
        """Where a day's packets are, per input covering it, for a task (see :func:`_frame`; read with
        the data set's own load options, as it was opened)."""
        return [("direct", s.unit) if s.index.get("direct") else ("split", str(s.folder)) for s in covering]

    def _direct(self, covering: list[_Split]) -> dict[str, Any]:
        """The identities, when listed, of the Parquet files among *covering* read in place (no split
        keeps their rows): a task reading them checks them again before it commits (:func:`_check_direct`)."""
        files = [(str(f), ident) for s in covering if s.index.get("direct")
                 for f, ident in zip(s.unit.files, self._unit_identity(s.unit))]
        return {"direct_files": [f for f, _ in files], "direct_identity": [i for _, i in files]}

    # -------------------------------------------------------- the inputs split by day

    def unit_inputs(self, unit: InputUnit) -> list[dict[str, Any]]:
        """The identities of *unit*'s files, as the rollup's key holds them."""
        return self._unit_identity(unit)

    def _unit_identity(self, unit: InputUnit) -> list[dict[str, Any]]:
        return [self.known.get(str(Path(f).resolve())) or _with_log_year(_identity(Path(f), unit.format), self.opts, self.store)
                for f in unit.files]

    def _unit_folder(self, unit: InputUnit) -> Path:
        """The input's day split folder, keyed by its files' bytes, not their names (:func:`content_identity`); an
        existing split keyed by path as well (the key before moved inputs were recognised) is still used."""
        identity = self._unit_identity(unit)
        keyed = {"layout_version": ru.LAYOUT_VERSION, "days_version": DAYS_VERSION,
                 "load_options": _options_dict(self.opts)}
        content = [content_identity(i) for i in identity]
        if unit.group.hive:  # a hive file's partition folders are columns of its rows: part of what it holds
            content = [{**c, "hive": [p for p in Path(f).resolve().parent.parts if "=" in p]}
                       for c, f in zip(content, unit.files)]
        folder = self.store / "inputs" / _digest({**keyed, "files": content})
        if not (folder / _UNIT_DONE).is_file():
            by_path = self.store / "inputs" / _digest({**keyed, "files": identity})
            if (by_path / _UNIT_DONE).is_file():
                return by_path
        return folder

    def _split_inputs(self, units: list[InputUnit]) -> list[_Split]:
        """Each input's day split (or, for a Parquet file of one day, only the list of its days): reused
        when in the store, else made by :func:`split_input` (through the runner)."""
        folders = [self._unit_folder(unit) for unit in units]
        labels = [str(u.files[0]) if len(u.files) == 1 else f"{u.group.paths[0]} ({len(u.files)} files)" for u in units]
        todo = [i for i, folder in enumerate(folders) if self.rebuild or not (folder / _UNIT_DONE).is_file()]
        todo = [i for i in todo if folders[i] not in folders[:i]]  # the same bytes given twice: split once
        jobs = [{"unit": units[i], "folder": str(folders[i]), "label": labels[i], "opts": self.dataset.opts,
                 "rebuild": self.rebuild, "n": n, "identity": self._unit_identity(units[i])} for n, i in enumerate(todo)]
        if self.runner.local:  # in this process: byte progress from the loader while each input is read
            def run(job: dict[str, Any]) -> float:
                return split_input(job, self._byte_progress(job["n"] / len(todo) * 0.5, 0.5 / len(todo)))
            seconds = self.runner.map(run, jobs)
        else:
            step = self._step("split", 0.0, 0.5)
            seconds = self.runner.map(split_input, jobs, lambda i, n, job: step(i, n, job["label"]))
        took = dict(zip(todo, seconds))
        out = []
        for i, (unit, folder) in enumerate(zip(units, folders)):
            if i in took:
                self.actions.append(Action("built", f"input {labels[i]}", took[i]))
            else:
                _touch(folder)
                self.actions.append(Action("reused", f"input {labels[i]}"))
            out.append(_Split(folder, _as_named(_read_json(folder / _UNIT_DONE), unit), unit))
        return out

    def _byte_progress(self, start: float, share: float) -> Callable[[LoadStats, str, float | None], None]:
        scaled = rd.scaled(self.report, start, share)

        def report(stats: LoadStats, text: str, fraction: float | None) -> None:
            for path, (done, total) in stats.progress().items():  # for byte progress bars on the data set
                self.dataset.stats.advance(path, done, total)
            scaled(text, fraction)

        return report

    # -------------------------------------------------------- the days

    def _day_states(self, days: list[str], covering: dict[str, list[_Split]]) -> list[Path]:
        """Each day's state folder: reused when in the store, else built by :func:`build_state` (through the runner)."""
        folders, todo = [], []
        for day in days:
            inputs = [split.folder.name for split in covering[day]]
            dkey = _digest({"layout_version": ru.LAYOUT_VERSION, "days_version": DAYS_VERSION, "day": day, "inputs": inputs})
            folder = self.store / "state" / f"{day}-{dkey}"
            folders.append(folder)
            if self.rebuild or not (folder / _STATE_DONE).is_file():
                todo.append({"day": day, "folder": str(folder), "inputs": inputs, "frames": self._frames(covering[day]),
                             "opts": self.dataset.opts, "rebuild": self.rebuild, **self._direct(covering[day])})
        step = self._step("rolling up", 0.5, 0.2)
        took = dict(zip([job["day"] for job in todo],
                        self.runner.map(build_state, todo, lambda i, n, job: step(i, n, job["day"]))))
        for day, folder in zip(days, folders):
            if day in took:
                self.actions.append(Action("built", f"day {day}", took[day]))
            else:
                _touch(folder)
                self.actions.append(Action("reused", f"day {day}"))
        return folders
