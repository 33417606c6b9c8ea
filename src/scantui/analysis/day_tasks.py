"""The rollup build's steps as tasks (a runner's items): an input split by day, a day's state, its tool counts.

Each takes one small picklable job (paths as strings, the load options, an input
unit) and writes its result into the day store (:mod:`scantui.analysis.day_builder`);
the same functions run in this process or on a Dask worker (:mod:`scantui.analysis.runner`).
A split of an input (:func:`split_input`, committed with its ``index.json``) or a
day's state (:func:`build_state`, with its ``state.json``) is committed only when
every input it read is still the size and mtime its key was made of
(:func:`check_unchanged`); a read that fails on a changed or corrupt input names
that input (:func:`unreadable_parquet`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from scantui.analysis import rollup as ru
from scantui.analysis import rollup_days as rd
from scantui.analysis import bursts
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import keyed_probes as kp
from scantui.analysis.bursts import write_day_bursts
from scantui.analysis.day_packets import DAY_CAPTURES, day_packets_files, held_day, write_day_packets
from scantui.analysis.rollup_store import _commit_entry, _read_json, _write_json
from scantui.analysis.unicorn_sessions import HEAVY, write_heavy
from scantui.errors import InputError
from scantui.fsutil import WRITE_ERRNOS, atomic_path, error_code, parquet_files
from scantui.io.detect import PARQUET, PCAP, PCAPNG
from scantui.io.loader import Dataset
from scantui.io.read_panics import is_panic
from scantui.io.options import LoadOptions
from scantui.io.packet_refs import CaptureFile
from scantui.io.parquet import first_line
from scantui.io.schema import drop_refs
from scantui.io.stats import LoadStats


_UNIT_DONE = "index.json"
_STATE_DONE = "state.json"


def _frame(where: tuple[str, Any], day: str, opts: LoadOptions) -> pl.LazyFrame:
    """One input's packets of *day*: its day split (``("split", folder)``), or the input itself
    (``("direct", unit)``) when it is a Parquet file of that one day (no copy is kept of those)."""
    kind, what = where
    if kind == "direct":
        return Dataset([what.group], [], opts).read_unit(what, LoadStats())
    return pl.scan_parquet(parquet_files(rd.day_part(Path(what), dt.date.fromisoformat(day))), glob=False)


def split_input(job: dict[str, Any], progress: Callable[[LoadStats, str, float | None], None] | None = None) -> float:
    """One input's day split into ``job["folder"]`` (committed with its ``index.json``); the seconds taken.

    *progress* (in this process only) gets the loader's counts while the input is read."""
    t0 = time.perf_counter()
    unit, folder, label, opts = job["unit"], Path(job["folder"]), job["label"], job["opts"]
    stats = LoadStats()
    captures = [CaptureFile.of(f, unit.format).to_dict() for f in unit.files] if unit.format in (PCAP, PCAPNG) else []
    if captures:  # each packet keeps where its record is (one capture file per unit; see packet_refs)
        opts = dataclasses.replace(opts, record_refs=True)
    commit = functools.partial(_commit_entry, marker=_UNIT_DONE, replace=job["rebuild"])
    with _unchanged(unit.files, job.get("identity"), sole=True):
        lf = Dataset([unit.group], [], opts).read_unit(unit, stats)
        check_unchanged(unit.files, job.get("identity"))  # validated (CSV, LOG, Parquet), then changed: not read again
        message = "reading packets" if unit.format == PARQUET else "decoding packets"
        direct = False
        if unit.format == PARQUET and len(unit.files) == 1:
            days = rd.frame_days(lf)  # usually from the file's statistics (else it reads one column)
            direct = len(days) <= 1
        folder.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder, commit=commit) as tmp:
            if direct:
                tmp.mkdir()
            elif progress is not None:
                with ru.poll_loader_progress(stats, message, lambda text, fraction: progress(stats, text, fraction)):
                    days = rd.split_by_day(lf, tmp)
            else:
                days = rd.split_by_day(lf, tmp)
            stats.raise_error()  # a stream that ended on a latched error is not a complete split
            check_unchanged(unit.files, job.get("identity"))
            from scantui.io.sources import closing

            if closing():
                raise InputError("interrupted while reading", path=label)
            index = {"days": [d.isoformat() for d in days], "files": [f.to_dict() for f in stats.files()],
                     "enrichment_columns": ru.enrichment_columns(lf), "direct": direct, "captures": captures}
            _write_json(tmp / _UNIT_DONE, index)
    return time.perf_counter() - t0


@contextmanager
def _unchanged(files: Sequence[Path], identity: list[dict[str, Any]] | None, *, sole: bool = False) -> Iterator[None]:
    """Around a read of *files*: when it fails with polars' error (naming no file) or a panic (a Parquet
    file cut after its footer was read), :func:`check_unchanged`'s error instead where they changed.

    *sole*: the task reads nothing but these files, so polars' error on an unchanged one file (a corrupt
    page: the loader's checks read only footers and statistics) is that file's, and names it."""
    try:
        yield
    except BaseException as exc:
        if error_code(exc) in WRITE_ERRNOS:
            raise  # writing the cache failed (a full disk): not the input's doing (cache_damage.cache_write_error)
        if not isinstance(exc, InputError) and (isinstance(exc, Exception) or is_panic(exc)):
            check_unchanged(files, identity)
            if sole and len(files) == 1 and isinstance(exc, pl.exceptions.PolarsError):
                raise InputError(f"unreadable data: {first_line(exc)}", path=str(files[0])) from None
            if len(files) > 1 or (files and not sole):
                found = unreadable_parquet(files)  # which of the day's inputs, if one fails read on its own
                if found is not None:
                    raise found from None
        raise


def unreadable_parquet(files: Sequence[Path]) -> InputError | None:
    """The error of the first of *files* (Parquet read in place) whose data does not read, naming the file and
    the column (polars' error on a day read from several names none: a corrupt page); None when all read.
    Read a column at a time (the memory of one column of one file); only after a read failed."""
    for path in files:
        try:
            names = pl.scan_parquet(path, glob=False).collect_schema().names()
        except pl.exceptions.PolarsError as exc:
            return InputError(f"unreadable Parquet: {first_line(exc)}", path=str(path))
        for name in names:
            try:
                pl.scan_parquet(path, glob=False).select(name).collect()
            except BaseException as exc:  # a panic is a BaseException
                if not (isinstance(exc, pl.exceptions.PolarsError) or is_panic(exc)):
                    raise
                return InputError(f"unreadable data: {first_line(exc)}", path=str(path), where=f"column {name}")
    return None


def check_unchanged(files: Sequence[Path], identity: list[dict[str, Any]] | None) -> None:
    """Refuse a split of an input whose size or mtime is not the one its key was made of: it grew or
    shrank between being listed and being read (still being written, cut or replaced in place), so
    what was read is not what the key names (nothing is committed; read again once it is complete)."""
    for path, ident in zip(files, identity or ()):
        try:
            st = os.stat(path)
            now = (st.st_size, st.st_mtime_ns)
        except OSError:
            now = None
        if now != (ident["size"], ident["mtime_ns"]):
            size = "gone" if now is None else f"{now[0]:,} bytes now"
            raise InputError(f"the file changed while it was read ({ident['size']:,} bytes when listed, {size}): "
                             "nothing of it was cached; read it again once it is complete", path=str(path))


def _check_direct(job: dict[str, Any]) -> None:
    """:func:`check_unchanged` for the Parquet inputs a task read in place (their rows are read again when
    a day is built, long after the split that listed their days)."""
    check_unchanged([Path(f) for f in job.get("direct_files", ())], job.get("direct_identity"))


def _direct_unchanged(job: dict[str, Any]):
    """:func:`_unchanged` for the Parquet inputs a task reads in place, checked before too."""
    _check_direct(job)
    files = [Path(f) for f in job.get("direct_files", ())]
    sole = all(kind == "direct" for kind, _what in job.get("frames", ()))  # no day split of another input read
    return _unchanged(files, job.get("direct_identity"), sole=sole)


def build_state(job: dict[str, Any]) -> float:
    """One day's state into ``job["folder"]`` (committed with its ``state.json``); the seconds taken."""
    t0 = time.perf_counter()
    day, folder = job["day"], Path(job["folder"])
    folder.parent.mkdir(parents=True, exist_ok=True)
    commit = functools.partial(_commit_entry, marker=_STATE_DONE, replace=job["rebuild"])
    with _direct_unchanged(job), atomic_path(folder, commit=commit) as tmp:
        packets, captures = _with_refs([_frame(w, day, job["opts"]) for w in job["frames"]], job["frames"])
        held = held_day(packets)
        rd.build_day_state(drop_refs(held), tmp, held=held is not packets)
        write_heavy(tmp / rd.KEYS, tmp / HEAVY)  # what an extension's session bound reads of the day, once it is held
        write_day_packets(held, tmp)
        write_day_bursts(day_packets_files(tmp), tmp / bursts.DAY_FILE)
        if held is not packets:  # in memory: grouped here, not read back from the packet table (day_files' way)
            fk.write_day_fingerprints(tmp, lambda: held, table=False)
            kp.write_day_keyed_probes(tmp, lambda: held, table=False)
        _write_json(tmp / DAY_CAPTURES, captures)
        _check_direct(job)
        _write_json(tmp / _STATE_DONE, {"day": day, "inputs": job["inputs"]})
    return time.perf_counter() - t0


def _with_refs(frames: list[pl.LazyFrame], where: list[tuple[str, Any]]) -> tuple[pl.LazyFrame, list[dict[str, Any]]]:
    """The day's frames joined, each capture input's rows numbered ``ref_file`` into the day's capture table."""
    captures: list[dict[str, Any]] = []
    out = []
    for frame, (kind, what) in zip(frames, where):
        index = _read_json(Path(what) / _UNIT_DONE) if kind == "split" else {}
        files = index.get("captures") or []
        if len(files) == 1 and "ref_off" in frame.collect_schema().names():
            frame = frame.with_columns(ref_file=pl.lit(len(captures), dtype=pl.UInt32))
            captures.extend(files)
        out.append(frame)
    return rd.concat_frames(out), captures


def day_port_day(job: dict[str, Any]) -> tuple[rd.DayFiles, bool, float]:
    """One day's ``port_day`` under the merged sessions (``job["sessions"]``, a Parquet file):
    its :class:`~scantui.analysis.rollup_days.DayFiles`, whether a file was written, the seconds taken."""
    day, state = job["day"], Path(job["state"])
    before = set(state.glob("port_day-*.parquet"))
    t0 = time.perf_counter()
    # a day the extended rollup held is re-checked against every session only when a new one may be among its keys
    held = rd.held_port_day(state, *job["held"]) if job.get("held") else None
    sessions = None if held else pl.read_parquet(job["sessions"], glob=False)
    with _direct_unchanged(job):
        files = rd.day_files(dt.date.fromisoformat(day), state, sessions,
                             lambda: rd.concat_frames([_frame(w, day, job["opts"]) for w in job["frames"]]),
                             port_day=held)
    built = files.port_day.name != rd.PORT_DAY_BASE and files.port_day not in before
    try:
        _check_direct(job)
    except InputError:
        if built:  # its rows may come from the changed file: not kept under the day's key
            for stale in (files.port_day, rd.by_port(files.port_day)):
                stale.unlink(missing_ok=True)
        raise
    return files, built, time.perf_counter() - t0
