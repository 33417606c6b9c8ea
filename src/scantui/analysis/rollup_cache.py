"""The on-disk rollup cache: keyed by the inputs, built atomically, reopened without a rescan.

``open_rollup(dataset)`` returns the :class:`~scantui.analysis.rollup_handle.Rollup` of a loaded
data set, building it on the first open; :func:`update_rollup` also says what it built and
reused. Rollups live in ``rollups/<key>/`` under the cache folder; the key hashes the rollup
layout version, each input's identity (resolved path, size, ``mtime_ns`` and a hash of its first
and last 64 KiB), the load options and the Unicorn threshold, so a changed input gets a new key
and is never served a stale rollup (:mod:`scantui.analysis.rollup_keys`; a yearless syslog LOG
input's identity carries the year it is read in, :mod:`scantui.analysis.rollup_log_year`).

Enrichment tables given as PATHs (:attr:`Dataset.enrichment_paths`, written
by ``scantui enrich``) are not part of that key: changing one must not cost a
rebuild of the packet aggregates. They are laid over the rollup's own
per-(src, day) enrichment in ``enrichment-<key2>/`` inside the rollup
folder (:mod:`~scantui.analysis.enrichment_overlay`), where ``key2`` hashes the rollup key, each table's identity (as for
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
``days/`` beside ``rollups/`` and reused wherever their key is unchanged
(:mod:`scantui.analysis.day_builder`): adding, removing or changing an input
rebuilds only the days it touches, then merges (where an input holds the newest day and the
day before, first the days before the newest alone, a stepping stone the next file's build
extends: :func:`_stepping_stone`). The build's loops (the input
splits, the day states, the tool counts, the merge's key and source ranges) go
through a runner (:mod:`scantui.analysis.runner`): in this process by default,
as Dask tasks with ``--workers``/``--scheduler``. Each task is a module-level
function (:mod:`scantui.analysis.day_tasks`) or in :mod:`~scantui.analysis.rollup_days`
of a small job of paths, so the cache folder must be on a file system every
worker sees, under the same path.

A build writes into a hidden temporary folder beside its final place and
renames it there; the rename is the commit (and ``meta.json``, written last,
marks a finished build). A second process building the same key at the same
time loses the rename and discards its copy; a crashed build leaves only a
hidden temporary folder that is never read (:mod:`scantui.analysis.rollup_store`,
whose :func:`~scantui.analysis.rollup_store.prune_cache` removes it). After a build,
the scanner lists of the ports the config asks for and of the busiest ports are
kept in the rollup's folder (:mod:`scantui.analysis.port_lists`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import polars as pl

from scantui.analysis import cache_damage
from scantui.analysis import rollup as ru
from scantui.analysis.day_builder import _DayBuilder
from scantui.analysis.fingerprints import UNICORN_MIN_PACKETS
from scantui.analysis import enrichment_overlay as eo
from scantui.analysis.merge_state import scan_src_days
from scantui.analysis.rollup_handle import Action, Rollup, RollupUpdate, load_rollup, telescope_size_estimate
from scantui.analysis.rollup_keys import (
    DAYS_VERSION, _digest, _is_finished, _options_dict, cache_key, cache_root, days_root, decoded_key, decoded_root, describe_inputs,
)
from scantui.analysis.rollup_log_year import _with_log_year
from scantui.analysis.rollup_store import (
    STONE, _commit, _mkdir, _touch, release_earlier, release_superseded, revive, sweep_memos,
)
from scantui.analysis.runner import Runner
from scantui.config import rollup_settings
from scantui.errors import InputError
from scantui.fsutil import atomic_path
from scantui.io.loader import Dataset
from scantui.io.options import LoadOptions

# The rollup handle lives in rollup_handle; callers may keep importing it from here.
__all__ = ["Action", "Rollup", "RollupUpdate", "load_rollup", "open_rollup", "telescope_size_estimate", "update_rollup"]


# ---------------------------------------------------------------- open (and build when needed)


def open_rollup(
    dataset: Dataset,
    *,
    opts: LoadOptions | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    rebuild: bool = False,
    unicorn_min_packets: int | None = None,
    progress: ru.Progress | None = None,
    runner: Runner | None = None,
) -> Rollup:
    """The rollup of *dataset*, from the cache when its inputs are unchanged, else built now
    (from the cached days where they are still valid: see :func:`update_rollup`).

    *opts* are the load options *dataset* was opened with (part of the key;
    defaults to ``dataset.opts`` when the dataset carries them, else
    ``LoadOptions()``). *progress* is called as ``progress(message, fraction)``,
    possibly from a helper thread. *runner* runs the build's steps
    (:mod:`scantui.analysis.runner`; default: in this process). *unicorn_min_packets*: the Unicorn
    threshold (part of the key); None: the configured one (``rollup.unicorn_min_packets``, else 150).
    """
    return update_rollup(dataset, opts=opts, cache_dir=cache_dir, rebuild=rebuild,
                         unicorn_min_packets=unicorn_min_packets, progress=progress, runner=runner).rollup


def update_rollup(
    dataset: Dataset,
    *,
    opts: LoadOptions | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    rebuild: bool = False,
    unicorn_min_packets: int | None = None,
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
    settings = rollup_settings()  # read before the cache: a bad value fails every command, not only a later build
    if unicorn_min_packets is None:
        unicorn_min_packets = UNICORN_MIN_PACKETS if settings.unicorn_min_packets is None else settings.unicorn_min_packets
    inputs = [_with_log_year(i, opts, days_root(cache_dir)) for i in describe_inputs(dataset)]
    key = cache_key(inputs, opts, unicorn_min_packets)
    root = cache_root(cache_dir)
    cache_damage.track(root.parent)
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
    if not rebuild and (found := _leased(final, key)) is not None:
        _touch(final)
        revive(final)
        if copy is not None and not copy.is_file() and builder.find_splits() and builder.has_packets():
            dataset.decode_to(copy, source=builder.splits_frame)
        rollup = _with_overlay(found, dataset, key)
        for state in rollup.day_states.values():  # the queries read them: kept as long as the rollup is used
            _touch(state)
        if damaged := cache_damage.states_to_build(rollup.day_states.values()):
            builder.prepare()  # built again from the inputs, under the same names
            cache_damage.built_again(damaged)
            return RollupUpdate(rollup, (*[a for a in builder.actions if a.verb == "built"],
                                         Action("reused", f"rollup {key}")))
        return RollupUpdate(rollup, (Action("reused", f"rollup {key}"),))

    root.mkdir(parents=True, exist_ok=True)
    meta = {"key": key, "inputs": inputs, "load_options": _options_dict(opts), "unicorn_min_packets": unicorn_min_packets}
    # only the ports the config asks for and the busiest ones: a list kept by a query is not carried into the next
    # rollup, as each carried list costs every later build its port's sources (~0.4-1.2 CPU s a day at 200 M, brought
    # up to date: port_list_state)
    asked, top_k, late = settings.keep_ports, settings.keep_top_ports, settings.late_days
    builder.prepare()
    if not rebuild and (before := builder.days_before_newest(root)):
        _stepping_stone(builder, root, before, meta, asked, top_k, late, progress)
    with atomic_path(final, commit=lambda tmp, final: _commit(tmp, final, key, replace=rebuild)) as tmp:
        builder.build(tmp, meta, unicorn_min_packets, late_days=late)
    kept = [] if builder.superseded is None else release_superseded(final, builder.superseded, late)
    release_earlier(final, kept)
    sweep_memos(root)
    if copy is not None and not copy.is_file() and builder.has_packets():
        dataset.decode_to(copy, source=builder.splits_frame)  # written on the first read, without decoding
    rollup = _with_overlay(load_rollup(final), dataset, key)
    ports, skipped = _kept_ports(rollup, asked, top_k)
    lists = _keep_port_lists(rollup, ports, progress, builder.superseded)
    return RollupUpdate(rollup, (*builder.actions, *lists, *skipped))


def _stepping_stone(builder: _DayBuilder, root: Path, days: int, meta: dict[str, Any], asked: tuple[int, ...],
                    top_k: int, late_days: int, progress: ru.Progress | None) -> None:
    """Make (or reuse) the rollup of the first *days* days of *builder*'s data, every day but the newest, which the
    build then extends by the newest day (:meth:`~scantui.analysis.day_builder._DayBuilder.days_before_newest`:
    why). Keyed by those days' states, not by inputs (no input set names it: ``meta.json``'s ``stone``), with the
    port lists a rollup keeps (brought up to date from its own base's), so that the build's lists are brought up to
    date from its own. Its actions are the build's: ``merged the N days before the newest``."""
    key = _digest({"stone": [state.name for state in builder.states[:days]], "load_options": meta["load_options"],
                   "unicorn_min_packets": meta["unicorn_min_packets"], "layout_version": ru.LAYOUT_VERSION,
                   "rollup_version": ru.ROLLUP_VERSION, "days_version": DAYS_VERSION})
    final = root / key
    what = f"the {days} day{'' if days == 1 else 's'} before the newest"
    if _is_finished(final, key):
        _touch(final)
        revive(final)
        builder.actions.append(Action("reused", f"{what} (rollup {key})"))
        return
    covered = {s.folder for day in builder.days[:days] for s in builder.covering[day]}
    inputs = [i for split in builder.split if split.folder in covered for i in builder.unit_inputs(split.unit)]
    report = builder.report

    def stepping(message: str, fraction: float | None) -> None:  # held where the build's own merge starts
        report(f"{what}: {message}", None if fraction is None else min(fraction, 0.7))

    builder.report = stepping
    try:
        with atomic_path(final, commit=lambda tmp, final: _commit(tmp, final, key, replace=False)) as tmp:
            builder.build(tmp, {**meta, "key": key, "inputs": inputs, STONE: True}, meta["unicorn_min_packets"], days=days,
                          late_days=late_days)
        if builder.superseded is not None:
            release_superseded(final, builder.superseded, late_days)
        stone = load_rollup(final)
        ports, _ = _kept_ports(stone, asked, top_k)
        lists = _keep_port_lists(stone, ports, None if progress is None else stepping, builder.superseded)
    finally:
        builder.report = report
    builder.actions.extend(dataclasses.replace(a, what=f"{a.what} of {what}") for a in lists)


def _leased(final: Path, key: str) -> Rollup | None:
    """The finished rollup at *final*, leased; None when there is none (or the cache is removing it meanwhile)."""
    if not _is_finished(final, key):
        return None
    try:
        return load_rollup(final)
    except FileNotFoundError:
        return None


def _kept_ports(rollup: Rollup, asked: tuple[int, ...], top_k: int) -> tuple[list[tuple[int, str]], list[Action]]:
    """The ports whose lists a build keeps, each with why: config ``rollup.keep_ports`` first, then up to *top_k*
    of the busiest by probe packets not asked already (:func:`~scantui.analysis.port_lists.busiest_ports`); and a
    ``skipped port list P`` action for each busier one passed over as too costly to keep on every build."""
    from scantui.analysis.port_lists import TOP_PORTS_SHARE, busiest_ports

    out = [(port, "config rollup.keep_ports") for port in asked]
    skipped = []
    total = int(rollup.meta.get("packets") or 0)
    for rank, (port, packets, fits) in enumerate(busiest_ports(rollup.src_profile, top_k, total, per_port=rollup.port_sources), 1):
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
    from scantui.analysis.port_list_build import keep_port_list

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


OVERLAY_VERSION = 2  # 2: a folder of source-range parts and each source's latest fields (enrichment_overlay)


def _with_overlay(rollup: Rollup, dataset: Dataset, key: str) -> Rollup:
    """*rollup* with the dataset's enrichment tables laid over its own enrichment (cached in its folder,
    :mod:`~scantui.analysis.enrichment_overlay`)."""
    paths = tuple(getattr(dataset, "enrichment_paths", ()))
    if not paths:
        return rollup
    tables = {"tables": describe_inputs(dataset, enrichment=True), "version": OVERLAY_VERSION}
    key2 = hashlib.sha256(json.dumps({"rollup": key, **tables}, sort_keys=True, default=str).encode()).hexdigest()[:24]
    target = rollup.path / f"enrichment-{key2}"
    if not target.is_dir():
        from scantui.enrich.table import scan_tables

        held = scan_src_days(rollup.path)  # the data's (src, day) pairs (one per kind: made unique by the overlay)
        active = (held if held is not None else ru.scan_port_day(rollup.path)).select("src", "day")
        try:
            eo.build(target, rollup.own_enrichment, scan_tables(paths), active)
        except pl.exceptions.PolarsError as exc:  # a value that does not fit its column (a negative source ...)
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"unusable enrichment table: {why}", path=paths[0] if len(paths) == 1 else None,
                             where=None if len(paths) == 1 else "one of " + ", ".join(map(str, paths))) from None
    tables_key = hashlib.sha256(json.dumps(tables, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return dataclasses.replace(rollup, enrichment_path=target, tables_key=tables_key)
