"""The on-disk rollup cache: keyed by the inputs, built atomically, reopened without a rescan.

``open_rollup(dataset)`` returns the :class:`Rollup` of a loaded data set,
building it on the first open. The cache folder is ``$SCANTUI_CACHE_DIR`` when
set, else ``platformdirs.user_cache_dir("scantui")``; rollups live in
``rollups/<key>/``. The key hashes the rollup layout version, each input's
resolved path, size, ``mtime_ns`` and a hash of its first and last 64 KiB, the
load options and the Unicorn threshold, so a changed input gets a new key and
is never served a stale rollup. Checking the key reads nothing of an input but
its ``stat`` and those 128 KiB.

Enrichment tables given as PATHs (:attr:`Dataset.enrichment_paths`, written
by ``scantui enrich``) are not part of that key: changing one must not cost a
rebuild of the packet aggregates. They are laid over the rollup's own
per-(src, day) enrichment in ``enrichment-<key2>.parquet`` inside the rollup
folder, where ``key2`` hashes the rollup key, each table's identity (as for
inputs) and the overlay version, so a changed table gets a new overlay and
:attr:`Rollup.enrichment` never serves a stale one (see
:func:`scantui.enrich.table.overlay`; the data's own columns win field by field).

The queries that read packets (the scanner list under a port/day/UDP
selection, collab's candidates, track, timing) read each day state's packet
table (``packets/``, :mod:`scantui.analysis.day_packets`) through
:meth:`Rollup.packet_source`: only the days, ports and sources they need.

Inputs decoded on the fly (pcap, pcapng, CSV, LOG) get a decoded copy
``decoded/<key3>.parquet`` beside ``rollups/`` (``key3`` hashes the inputs and
load options as above, not the threshold: rollups that differ only there share
it) for whatever still reads ``dataset.lf`` whole after a rollup (a rollup
whose day states were pruned, a caller passing ``dataset.lf``). It is written
on the first such read, from the inputs' day splits (each input's rows in day
order; no decoding): :func:`open_rollup` points the data set at it
(:meth:`~scantui.io.loader.Dataset.decode_to`), so the capture is never decoded
again; while the day tables are there, the queries never write it.

A rollup is made of days (:mod:`scantui.analysis.rollup_days`), kept in
``days/`` beside ``rollups/``: ``days/inputs/<key4>/`` holds one input file split
by day, or only the list of its days for a Parquet file of one day, read in
place (``key4`` hashes that file's identity as above, the load options and the
layout version; a file read in place is checked again, size and mtime, before
a day built from it is committed, as a split is: :func:`check_unchanged`),
``days/state/<day>-<key5>/`` one day's state (``key5`` hashes the day and the keys of the inputs covering it, in order): the tables of
:func:`~scantui.analysis.rollup_days.build_day_state` and the day's packet table
``packets/`` (:func:`~scantui.analysis.day_packets.write_day_packets`, written
by the same task). A rollup not in the
cache reuses every input split and day state whose key is unchanged, so adding,
removing or changing an input rebuilds only the days it touches, then merges
(:func:`update_rollup` says what it built and reused). Day-store folders are
committed like rollups (below) and pruned like them.

The build's loops (the input splits, the day states, the tool counts, the
merge's key and source ranges) go through a runner (:mod:`scantui.analysis.runner`):
in this process by default, as Dask tasks with ``--workers``/``--scheduler``.
Each task is a module-level function here (:func:`split_input`,
:func:`build_state`, :func:`day_port_day`) or in :mod:`~scantui.analysis.rollup_days`
of a small job of paths, so the cache folder must be on a file system every
worker sees, under the same path.

A build writes into a hidden temporary folder beside its final place and
renames it there; the rename is the commit (and ``meta.json``, written last,
marks a finished build). A second process building the same key at the same
time loses the rename and discards its copy; a crashed build leaves only a
hidden temporary folder that is never read (see :func:`prune_cache`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from scantui.analysis import rollup as ru
from scantui.analysis import rollup_days as rd
from scantui.analysis import bursts
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import session_counts
from scantui.analysis.bursts import write_day_bursts
from scantui.analysis.collab_sums import SUM_KINDS, CollabSums, scan_sums
from scantui.analysis.day_packets import DAY_CAPTURES, day_packets_files, held_day, write_day_packets
from scantui.analysis.fingerprint_keys import scan_fingerprints
from scantui.analysis.fingerprints import UNICORN_MIN_PACKETS
from scantui.analysis.packet_source import DayPackets, PacketSource
from scantui.analysis.runner import LocalRunner, Runner
from scantui.config import rollup_keep_ports, rollup_keep_top_ports
from scantui.errors import InputError
from scantui.fsutil import TMP_MARK, atomic_path, parquet_files
from scantui.io import netfilter_log
from scantui.io.compressed import compression
from scantui.io.detect import PARQUET, PCAP, PCAPNG
from scantui.io.loader import ENRICHMENT_TABLE, Dataset, InputUnit
from scantui.io.read_panics import is_panic
from scantui.io.options import LoadOptions
from scantui.io.packet_refs import CaptureFile
from scantui.io.parquet import first_line
from scantui.io.schema import ENRICHMENT, drop_refs
from scantui.io.stats import FileStats, LoadStats

CACHE_ENV = "SCANTUI_CACHE_DIR"
#: The Unicorn sessions over every day (``unicorn_key``, ``unicorn_session``), kept in a cached rollup's folder.
SESSIONS = "unicorn_sessions.parquet"
EDGE_BYTES = 64 * 1024
_OLD_MARK = ".old-"
# Load options that change the table's content (``chunk_records`` only changes batch sizes).
_CONTENT_NEUTRAL_OPTIONS = {"chunk_records"}


# ---------------------------------------------------------------- the rollup handle


@dataclass(frozen=True)
class Rollup:
    """A finished rollup folder; every table is a lazy scan of its Parquet."""

    path: Path
    meta: dict[str, Any]
    enrichment_path: Path | None = None  # the overlay of enrichment tables, when some were given

    @property
    def port_day(self) -> pl.LazyFrame:
        return ru.scan_port_day(self.path)

    @property
    def port_day_by_port(self) -> pl.LazyFrame | None:
        """``port_day``'s rows with each day's file sorted by (kind, dport, src), for port filters; None in
        a rollup without the copy (built before it existed)."""
        return ru.scan_port_day(self.path, ru.PORT_DAY_BY_PORT) if (self.path / ru.PORT_DAY_BY_PORT).is_dir() else None

    @property
    def collab_sums(self) -> CollabSums | None:
        """Collab's per-day group sums (:mod:`~scantui.analysis.collab_sums`), or None in a rollup without them;
        their AS part only while no enrichment table is laid over the data's own AS numbers."""
        table = scan_sums(self.path)
        if table is None:
            return None
        return CollabSums(table, ("prefix24",) if self.enrichment_path is not None else SUM_KINDS)

    @property
    def fingerprints(self) -> pl.LazyFrame | None:
        """Per-day header-artifact signatures of the sources (:mod:`~scantui.analysis.fingerprint_keys`), or None in
        a rollup without them."""
        return scan_fingerprints(self.path)

    @property
    def bursts(self) -> pl.LazyFrame | None:
        """The days' burst tables (:mod:`~scantui.analysis.bursts`), or None in a rollup without them."""
        return bursts.scan_days(self.path)

    @property
    def src_totals(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path / ru.SRC_TOTALS, glob=False)

    @property
    def src_profile(self) -> pl.LazyFrame | None:
        """Per-(src, kind) raw aggregates of the scanner list; None in a folder without it
        (layout 1, e.g. opened with :func:`load_rollup`): the list then works from ``port_day``."""
        path = self.path / ru.SRC_PROFILE
        return pl.scan_parquet(path, glob=False) if path.exists() else None

    @property
    def day_totals(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path / ru.DAY_TOTALS, glob=False)

    @property
    def zmap_walks(self) -> pl.LazyFrame | None:
        """The ZMap walk test's matches per (day, src, dport) (:mod:`~scantui.analysis.zmap_rollup`), or None
        in a rollup built without them."""
        from scantui.analysis.zmap_rollup import scan

        return scan(self.path)

    @property
    def enrichment(self) -> pl.LazyFrame | None:
        """Per-(src, day) enrichment (the overlay of enrichment tables when given), or None when there is none."""
        if self.enrichment_path is not None:
            return pl.scan_parquet(self.enrichment_path, glob=False)
        path = self.path / ru.ENRICHMENT_FILE
        return pl.scan_parquet(path, glob=False) if path.exists() else None

    @property
    def day_states(self) -> dict[dt.date, Path]:
        """Each day's state folder in the day store (``meta["day_keys"]``); empty for a rollup built
        outside the cache (:func:`~scantui.analysis.rollup.build_rollup` keeps no day state)."""
        root = self.path.parent.parent / "days" / "state"
        return {dt.date.fromisoformat(day): root / name for day, name in self.meta.get("day_keys", {}).items()}

    def packet_source(self) -> PacketSource | None:
        """The per-day packet tables (:class:`~scantui.analysis.packet_source.DayPackets`), or None when
        the rollup has no day states or one of them is gone (e.g. pruned): then read the packets themselves."""
        states = self.day_states
        if not states or not all(folder.is_dir() for folder in states.values()):
            return None
        merged = rd.dst_pair_files(self.path) or []
        sessions = self.path / SESSIONS
        return DayPackets(states, int(self.meta.get("unicorn_min_packets", UNICORN_MIN_PACKETS)), merged,
                          sessions if sessions.is_file() else None)

    @property
    def skipped(self) -> dict[str, int]:
        """What the loader skipped while the rollup was built (reason -> count)."""
        return dict(self.meta.get("skipped", {}))

    @property
    def own_enrichment(self) -> pl.LazyFrame | None:
        """Per-(src, day) enrichment from the data's own columns only (no enrichment tables laid over it)."""
        path = self.path / ru.ENRICHMENT_FILE
        return pl.scan_parquet(path, glob=False) if path.exists() else None

    @property
    def dst_pairs(self) -> pl.LazyFrame | None:
        """The distinct (src, kind, dst) of the whole data (the merged state's disjoint ``dsts`` files), or
        None for a rollup kept without its merged state."""
        return rd.scan_dst_pairs(self.path)


def load_rollup(path: str | os.PathLike[str]) -> Rollup:
    """Open a finished rollup folder (one with ``meta.json``) directly, e.g. one built elsewhere."""
    folder = Path(path)
    return Rollup(folder, ru.read_meta(folder))


def telescope_size_estimate(rollup: Rollup) -> int:
    """Median over days of the distinct destinations seen that day (robust to spike days)."""
    return ru.telescope_size_from_day_totals(rollup.day_totals)


# ---------------------------------------------------------------- where and under which key


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding ``<key>/`` rollup folders."""
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV) or None
    if cache_dir is None:
        import platformdirs

        cache_dir = platformdirs.user_cache_dir("scantui")
    return Path(cache_dir) / "rollups"


def decoded_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding ``<key>.parquet`` decoded copies of non-Parquet inputs."""
    return cache_root(cache_dir).parent / "decoded"


def _edge_hash(path: Path, size: int) -> str:
    """sha256 of the first and last 64 KiB (the whole file when smaller than 128 KiB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        digest.update(fh.read(EDGE_BYTES))
        if size > EDGE_BYTES:
            fh.seek(max(EDGE_BYTES, size - EDGE_BYTES))
            digest.update(fh.read(EDGE_BYTES))
    return digest.hexdigest()


def describe_inputs(dataset: Dataset, *, enrichment: bool = False) -> list[dict[str, Any]]:
    """Each packet input's identity for the key (or each enrichment table's, with *enrichment*):
    resolved path, size, mtime_ns, edge hash, format."""
    out = []
    for item in dataset.inputs:
        if (item.format == ENRICHMENT_TABLE) != enrichment:
            continue
        path = Path(item.path).resolve()
        st = path.stat()
        out.append(
            {
                "path": str(path),
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "edge_sha256": _edge_hash(path, st.st_size),
                "format": item.format,
            }
        )
    return out


def _options_dict(opts: LoadOptions) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(opts).items() if k not in _CONTENT_NEUTRAL_OPTIONS}


def cache_key(inputs: list[dict[str, Any]], opts: LoadOptions, unicorn_min_packets: int) -> str:
    payload = {
        "layout_version": ru.LAYOUT_VERSION,
        "days_version": DAYS_VERSION,
        "inputs": inputs,
        "load_options": _options_dict(opts),
        "unicorn_min_packets": unicorn_min_packets,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


#: Bumped when the canonical table a decoder produces changes, so older decoded copies are not served.
DECODED_VERSION = 1


def decoded_key(inputs: list[dict[str, Any]], opts: LoadOptions) -> str:
    payload = {"decoded_version": DECODED_VERSION, "inputs": inputs, "load_options": _options_dict(opts)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _is_finished(folder: Path, key: str) -> bool:
    try:
        meta = ru.read_meta(folder)
    except (OSError, ValueError):
        return False
    return meta.get("layout_version") == ru.LAYOUT_VERSION and meta.get("key") == key


# ---------------------------------------------------------------- open (and build when needed)


def open_rollup(
    dataset: Dataset,
    *,
    opts: LoadOptions | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    rebuild: bool = False,
    unicorn_min_packets: int = UNICORN_MIN_PACKETS,
    progress: ru.Progress | None = None,
    runner: Runner | None = None,
) -> Rollup:
    """The rollup of *dataset*, from the cache when its inputs are unchanged, else built now
    (from the cached days where they are still valid: see :func:`update_rollup`).

    *opts* are the load options *dataset* was opened with (part of the key;
    defaults to ``dataset.opts`` when the dataset carries them, else
    ``LoadOptions()``). *progress* is called as ``progress(message, fraction)``,
    possibly from a helper thread. *runner* runs the build's steps
    (:mod:`scantui.analysis.runner`; default: in this process).
    """
    return update_rollup(dataset, opts=opts, cache_dir=cache_dir, rebuild=rebuild,
                         unicorn_min_packets=unicorn_min_packets, progress=progress, runner=runner).rollup


@dataclass(frozen=True)
class Action:
    """One step of :func:`update_rollup`: *verb* (``built``, ``reused``, ``merged``, ``skipped``; ``extended``: a
    port list brought up to date from the previous rollup's) and what
    (``port list P``: a scanner list kept with the build, asked for by the config's ``rollup.keep_ports`` or one of the busiest ports,
    ``rollup.keep_top_ports``: *why* says which, *cpu_seconds* what it cost the process; ``skipped``: a busy port's
    list not kept, *why* says why)."""

    verb: str
    what: str
    seconds: float = 0.0
    why: str = ""
    cpu_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"action": self.verb, "what": self.what, "seconds": round(self.seconds, 3)}
        if self.why:
            out["why"] = self.why
        if self.cpu_seconds is not None:
            out["cpu_seconds"] = round(self.cpu_seconds, 3)
        return out


@dataclass(frozen=True)
class RollupUpdate:
    rollup: Rollup
    actions: tuple[Action, ...]

    def count(self, verb: str, kind: str) -> int:
        return sum(1 for a in self.actions if a.verb == verb and a.what.startswith(kind + " "))


def update_rollup(
    dataset: Dataset,
    *,
    opts: LoadOptions | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    rebuild: bool = False,
    unicorn_min_packets: int = UNICORN_MIN_PACKETS,
    progress: ru.Progress | None = None,
    runner: Runner | None = None,
) -> RollupUpdate:
    """:func:`open_rollup`, also saying what it built and what it reused.

    A rollup not in the cache is built from days (:mod:`scantui.analysis.rollup_days`)
    kept in ``days/`` beside ``rollups/``: each input split by day once
    (``days/inputs/<input key>/``), each day's state keyed by the inputs that
    cover it (``days/state/<day key>/``), so adding, removing or changing an
    input rebuilds only the days it touches before the merge. *rebuild*
    rebuilds everything. *runner* runs the splits, the days and the merge's
    ranges (:class:`~scantui.analysis.runner.DaskRunner`: as Dask tasks, which
    needs the cache folder on a file system every worker sees); the result
    does not depend on it.
    """
    opts = opts or getattr(dataset, "opts", None) or LoadOptions()
    inputs = [_with_log_year(i, opts, days_root(cache_dir)) for i in describe_inputs(dataset)]
    key = cache_key(inputs, opts, unicorn_min_packets)
    root = cache_root(cache_dir)
    final = root / key
    copy = None
    if getattr(dataset, "needs_decoding", False):
        copy = decoded_root(cache_dir) / f"{decoded_key(inputs, opts)}.parquet"
        if rebuild:
            copy.unlink(missing_ok=True)
        _touch(copy)
        dataset.decode_to(copy)
        _mkdir(copy.parent)
    builder = _DayBuilder(dataset, opts, days_root(cache_dir), rebuild, progress, inputs, runner)
    if not rebuild and _is_finished(final, key):
        _touch(final)
        if copy is not None and not copy.is_file() and builder.find_splits() and builder.has_packets():
            dataset.decode_to(copy, source=builder.splits_frame)
        rollup = _with_overlay(load_rollup(final), dataset, key)
        for state in rollup.day_states.values():  # the queries read them: kept as long as the rollup is used
            _touch(state)
        return RollupUpdate(rollup, (Action("reused", f"rollup {key}"),))

    root.mkdir(parents=True, exist_ok=True)
    meta = {"key": key, "inputs": inputs, "load_options": _options_dict(opts), "unicorn_min_packets": unicorn_min_packets}
    # read before the build: a bad value fails first. Only the ports the config asks for and the busiest ones: a
    # list kept by a query is not carried into the next rollup, as each carried list costs every later build its
    # port's sources (~0.4-1.2 CPU s a day at 200 M, brought up to date: port_list_state)
    asked, top_k = rollup_keep_ports(), rollup_keep_top_ports()
    with atomic_path(final, commit=lambda tmp, final: _commit(tmp, final, key, replace=rebuild)) as tmp:
        builder.build(tmp, meta, unicorn_min_packets)
    if builder.superseded is not None:
        release_state(builder.superseded)
    if copy is not None and not copy.is_file() and builder.has_packets():
        dataset.decode_to(copy, source=builder.splits_frame)  # written on the first read, without decoding
    rollup = _with_overlay(load_rollup(final), dataset, key)
    ports, skipped = _kept_ports(rollup, asked, top_k)
    lists = _keep_port_lists(rollup, ports, progress, builder.superseded)
    return RollupUpdate(rollup, (*builder.actions, *lists, *skipped))


def _kept_ports(rollup: Rollup, asked: tuple[int, ...], top_k: int) -> tuple[list[tuple[int, str]], list[Action]]:
    """The ports whose lists a build keeps, each with why: config ``rollup.keep_ports`` first, then up to *top_k*
    of the busiest by probe packets not asked already (:func:`~scantui.analysis.port_lists.busiest_ports`); and a
    ``skipped port list P`` action for each busier one passed over as too costly to keep on every build."""
    from scantui.analysis.port_lists import TOP_PORTS_SHARE, busiest_ports

    out = [(port, "config rollup.keep_ports") for port in asked]
    skipped = []
    total = int(rollup.meta.get("packets") or 0)
    for rank, (port, packets, fits) in enumerate(busiest_ports(rollup.src_profile, top_k, total), 1):
        if port in asked:
            continue
        share = f"busiest port {rank}: {packets:,} probe packet{'' if packets == 1 else 's'}, {packets / max(total, 1):.1%} of the packets"
        if fits:
            out.append((port, share))
        else:
            skipped.append(Action("skipped", f"port list {port}", why=f"{share}; the lists kept by default hold at most "
                                  f"{TOP_PORTS_SHARE:.0%} of the packets together: config rollup.keep_ports keeps it"))
    return out, skipped


def _keep_port_lists(rollup: Rollup, ports: list[tuple[int, str]], progress: ru.Progress | None,
                     previous: Path | None = None) -> list[Action]:
    """Keep in the new *rollup* the lists of *ports* (:mod:`~scantui.analysis.port_lists`; :func:`_kept_ports`),
    so they are fast on every rollup (one ``built port list P`` action each, with why and its cost; ``extended``
    where brought up to date from the lists of *previous*, the rollup this build extended, as their state allows)."""
    from scantui.analysis.scanners import keep_port_list

    actions = []
    for port, why in ports:
        what = f"port list {port}"
        if progress is not None:
            progress(f"keeping the {what}", 1.0)
        t0, c0 = time.perf_counter(), time.process_time()
        kept = keep_port_list(rollup, (port,), previous)
        if kept is not None:
            verb = "extended" if kept[1] else "built"  # extended: from the previous rollup's list and the new days
            actions.append(Action(verb, what, time.perf_counter() - t0, why, time.process_time() - c0))
    if progress is not None and ports:  # the build's last word again, not the last list's
        progress("rollup done", 1.0)
    return actions


OVERLAY_VERSION = 1


def _with_overlay(rollup: Rollup, dataset: Dataset, key: str) -> Rollup:
    """*rollup* with the dataset's enrichment tables laid over its own enrichment (cached in its folder)."""
    paths = tuple(getattr(dataset, "enrichment_paths", ()))
    if not paths:
        return rollup
    payload = {"rollup": key, "tables": describe_inputs(dataset, enrichment=True), "version": OVERLAY_VERSION}
    key2 = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]
    target = rollup.path / f"enrichment-{key2}.parquet"
    if not target.exists():
        from scantui.enrich.table import overlay, scan_tables

        active = ru.scan_port_day(rollup.path).select("src", "day").unique()
        merged = overlay(rollup.enrichment, scan_tables(paths), active)
        with atomic_path(target) as tmp:  # a concurrent writer's identical file may win; either is complete
            merged.write_parquet(tmp)
    return dataclasses.replace(rollup, enrichment_path=target)


#: Bumped when what an input's day split or a day's state holds changes (besides :data:`ru.LAYOUT_VERSION`);
#: part of every rollup's key too. 2: capture inputs' splits and day tables carry record references;
#: 3: the ZMap walk table tests IP-ID-tagged pairs as well.
DAYS_VERSION = 3
_UNIT_DONE = "index.json"
_STATE_DONE = "state.json"


#: Under :func:`days_root`: the last syslog day of each compressed yearless LOG input (:func:`_log_last_day`).
LOG_ENDS = "log-ends"


def days_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the per-input day splits (``inputs/``) and per-day states (``state/``)."""
    return cache_root(cache_dir).parent / "days"


def _digest(payload: Any, n: int = 32) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


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
        self.superseded: Path | None = None  # the rollup whose merged state this build extended
        # per held day of the rollup the sessions extended: its port_day file name and the keys that became sessions
        self.held: dict[str, tuple[str, list[int]]] = {}

    def build(self, out: Path, meta: dict[str, Any], unicorn_min_packets: int) -> None:
        started = time.perf_counter()
        out.mkdir()
        self.split = self._split_inputs(self.dataset.units())
        self._publish_stats()
        covering: dict[str, list[_Split]] = {}
        for split in self.split:
            for day in split.index["days"]:
                covering.setdefault(day, []).append(split)
        days = sorted(covering)
        states = self._day_states(days, covering)
        sessions = self._sessions(out, days, states, unicorn_min_packets)
        sessions_file = out / SESSIONS  # read by the tool-count tasks, and kept (see Rollup.packet_source)
        sessions.write_parquet(sessions_file)
        jobs = [{"day": day, "state": str(state), "sessions": str(sessions_file), "frames": self._frames(covering[day]),
                 "opts": self.dataset.opts, "held": self.held.get(day), **self._direct(covering[day])}
                for day, state in zip(days, states)]
        step = self._step("tool counts", 0.7, 0.15)
        results = self.runner.map(day_port_day, jobs, lambda i, n, job: step(i, n, job["day"]))
        files = []
        for day, (day_files, built, seconds) in zip(days, results):
            if built:
                self.actions.append(Action("built", f"tools {day}", seconds))
            files.append(day_files)
        enrich = [c for c in ENRICHMENT if any(c in split.index["enrichment_columns"] for split in self.split)]
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
        what = f"rollup of {len(days)} day{'' if len(days) == 1 else 's'}" + (f" (extending {previous.name})" if extended else "")
        self.superseded = previous if extended else None
        self.actions.append(Action("merged", what, time.perf_counter() - t0))
        ru.finish(out, {
            **meta,
            "enrichment_columns": enrich,
            "skipped": dict(sorted(self.dataset.stats.skipped().items())),
            "files": [f for split in self.split for f in split.index["files"]],
            "day_keys": {day: state.name for day, state in zip(days, states)},
        }, started, self.report)

    def _sessions(self, out: Path, days: list[str], states: list[Path], min_packets: int) -> pl.DataFrame:
        """The Unicorn sessions over every day: the older rollup's this build will extend, plus
        the new days' keys that now pass the threshold (counts only grow when days are added), or
        merged from every day's key counts."""
        mine = [rd.DayFiles(dt.date.fromisoformat(day), state, state / rd.PORT_DAY_BASE) for day, state in zip(days, states)]
        previous = None if self.rebuild else self._previous(out, mine)
        if previous is not None and _read_json(previous / ru.META).get("unicorn_min_packets") == min_packets:
            held = rd.held_days(previous)
            try:
                old = pl.read_parquet(previous / SESSIONS, glob=False)
            except OSError:
                pass
            else:
                new = rd.extend_sessions(old, [s / rd.KEYS for d, s in zip(days, states) if d in held],
                                         [s / rd.KEYS for d, s in zip(days, states) if d not in held], min_packets,
                                         memo=self.store / session_counts.FOLDER)
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
        """The finished rollup whose merged state holds the most of *files*' days unchanged (to extend)."""
        best, held = None, 0
        for folder in out.parent.iterdir():
            if folder.name.startswith(".") or folder == out:
                continue
            n = rd.extends(folder, files)
            if n > held and _is_finished(folder, folder.name):
                best, held = folder, n
        return best

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
            found.append(_Split(folder, _read_json(folder / _UNIT_DONE), unit))
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

    def _unit_identity(self, unit: InputUnit) -> list[dict[str, Any]]:
        return [self.known.get(str(Path(f).resolve())) or _with_log_year(_identity(Path(f), unit.format), self.opts, self.store)
                for f in unit.files]

    def _unit_folder(self, unit: InputUnit) -> Path:
        ukey = _digest({"layout_version": ru.LAYOUT_VERSION, "days_version": DAYS_VERSION,
                        "files": self._unit_identity(unit), "load_options": _options_dict(self.opts)})
        return self.store / "inputs" / ukey

    def _split_inputs(self, units: list[InputUnit]) -> list[_Split]:
        """Each input's day split (or, for a Parquet file of one day, only the list of its days): reused
        when in the store, else made by :func:`split_input` (through the runner)."""
        folders = [self._unit_folder(unit) for unit in units]
        labels = [str(u.files[0]) if len(u.files) == 1 else f"{u.group.paths[0]} ({len(u.files)} files)" for u in units]
        todo = [i for i, folder in enumerate(folders) if self.rebuild or not (folder / _UNIT_DONE).is_file()]
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
            out.append(_Split(folder, _read_json(folder / _UNIT_DONE), unit))
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


# ---------------------------------------------------------------- the steps, as tasks (a runner's items)
# Each takes one small picklable job (paths as strings, the load options, an input unit) and
# writes its result into the day store; the same functions run in this process or on a Dask worker.


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
        write_day_packets(held, tmp)
        write_day_bursts(day_packets_files(tmp), tmp / bursts.DAY_FILE)
        if held is not packets:  # in memory: grouped here, not read back from the packet table (day_files' way)
            fk.write_day_fingerprints(tmp, lambda: held, table=False)
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


def _identity(path: Path, fmt: str) -> dict[str, Any]:
    path = path.resolve()
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "edge_sha256": _edge_hash(path, st.st_size), "format": fmt}


def _with_log_year(identity: dict[str, Any], opts: LoadOptions, days: Path) -> dict[str, Any]:
    """*identity* with, for a yearless syslog LOG input, the year its reading gives its last line today (it moves
    with the date: a split cached last year must not serve this year's reading)."""
    if identity["format"] != netfilter_log.FORMAT or opts.year is not None:
        return identity
    return {**identity, "syslog_end_year": netfilter_log.year_today(_log_last_day(identity, days))}


def year_notes(rollup: Rollup) -> list[str]:
    """One note per LOG input of *rollup* whose syslog times carry no year, read without ``--year``: the year
    :func:`_with_log_year` gave its last line (:func:`~scantui.io.netfilter_log.year_note`)."""
    return [netfilter_log.year_note(i["path"], i["syslog_end_year"]) for i in rollup.meta.get("inputs") or ()
            if i.get("syslog_end_year") is not None]


def _log_last_day(identity: dict[str, Any], days: Path) -> int | None:
    """:func:`~scantui.io.netfilter_log.last_month_day` of a LOG input, kept under *days* (``log-ends/``) for a
    compressed one: finding its last line decompresses all of it, which a cached rollup must not redo on every open
    (the identity changes with the file)."""
    path = identity["path"]
    if compression(path) is None:
        return netfilter_log.last_month_day(path)
    memo = days / LOG_ENDS / f"{_digest(identity)}.json"
    try:
        return json.loads(memo.read_text(encoding="utf-8"))["last"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    last = netfilter_log.last_month_day(path)
    try:
        _mkdir(memo.parent)
        with atomic_path(memo) as tmp:
            Path(tmp).write_text(json.dumps({"last": last}), encoding="utf-8")
    except OSError:
        pass  # a cache that cannot be written: read again next time
    return last


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


def release_state(rollup: Path) -> None:
    """Remove the merged state (``merge/``) of a rollup another one has extended: the newer state holds
    every day it held, so keeping both would cost a copy of the state per added day (a year of daily
    additions: 365 states). The rollup's tables stay readable; extending it again (or ``info`` on
    it) then works from the days. Renamed away first, so a build reading it fails cleanly (and merges
    every day) instead of reading half a folder."""
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
    """Remove rollups and decoded copies not opened for *max_age_days* and temporaries of builds that died.

    Returns the removed paths. A temporary younger than *stale_tmp_hours* may
    belong to a build still running and is kept.
    """
    now = time.time()
    removed = []
    days = days_root(cache_dir)
    for root in (cache_root(cache_dir), decoded_root(cache_dir), days / "inputs", days / "state", days / LOG_ENDS,
                 days / session_counts.FOLDER):
        if not root.is_dir():
            continue
        for entry in root.iterdir():
            age = now - entry.stat().st_mtime
            leftover = entry.name.startswith(".") and (TMP_MARK in entry.name or _OLD_MARK in entry.name)
            if (leftover and age > stale_tmp_hours * 3600) or (not entry.name.startswith(".") and age > max_age_days * 86400):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed
