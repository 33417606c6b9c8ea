"""The kept port lists' tables: computed from every day, or extended from an older rollup's list.

A pure port selection's list (every source of the ports, with its exact destinations
and top ports) is kept in the rollup's folder (:mod:`scantui.analysis.port_lists`) once
computed: :func:`_from_kept` reads it for a query, computing it first when there is
none (:func:`_kept_table`, one source range at a time); :func:`keep_port_list` keeps it
for ``scantui rollup --keep-ports`` and every build, with its state
(:mod:`scantui.analysis.port_list_state`), so that a build extending an older rollup
brings that rollup's list up to date from the days it adds (:func:`_extended_table`)
instead of computing it from every day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from scantui.analysis import behaviour as bh
from scantui.analysis.dst_recount import _KEY_COLUMNS, _key
from scantui.analysis.traffic import of_kinds as _of_kinds
from scantui.analysis.packet_source import PacketSource, as_source
from scantui.analysis.port_list_state import ACTIVITY, SRC_DAYS, activity, packed, row_state
from scantui.analysis.rollup import TOOL_COLUMNS
from scantui.analysis.scanner_query import TOP_PORTS, ScannerQuery
from scantui.analysis.scanner_rows import (
    _ROW_COLUMNS, _keep_sources, _Rows, _source_filters, _window, ranged_table, select_rows,
)
from scantui.analysis.schedule import schedule_frame, schedules

if TYPE_CHECKING:
    from scantui.analysis.port_list_state import StateWriter

    from scantui.analysis.rollup_cache import Rollup


def _kept(rollup: Path | None, q: ScannerQuery, packets: pl.LazyFrame | PacketSource | None) -> Path | None:
    """Where *q*'s list is kept (:mod:`port_lists`), when it may be: a pure port selection whose destinations are
    recounted from the rollup's own day tables."""
    from scantui.analysis.port_lists import kept_path

    if packets is None or as_source(packets).label != "days":
        return None
    return kept_path(rollup, q)


#: The kept table's columns besides the raw ones.
_KEPT_EXTRA = ("dsts", "top_ports")


def _from_kept(path: Path, port_day: pl.LazyFrame, q: ScannerQuery, first_day: dt.date | None, n_days: int,
               recount: PacketSource, walked: pl.DataFrame | None, budget: int | None = None) -> tuple[pl.DataFrame, _Rows]:
    """:func:`_from_rows` of the pure port selection *q* from the table kept at *path* (computed and kept first
    when there is none, in source ranges of *budget* packets: :func:`_kept_table`): the raw columns of every source
    of those ports, then the per-source filters; the exact destinations and top ports of every source ride along in
    the returned :class:`_Rows`."""
    from scantui.analysis.port_lists import read_kept, write_kept

    table = read_kept(path)
    if table is None or not set(_KEPT_EXTRA) <= set(table.columns):
        table = _kept_table(port_day, q.ports, first_day, n_days, recount, walked, budget)
        write_kept(path, table)
    raw = _keep_sources(table.drop(_KEPT_EXTRA), q)
    picked = table.select("src", *_KEPT_EXTRA).join(raw.select("src"), on="src", how="semi")
    rows = _Rows(pl.DataFrame(), raw.height, pl.DataFrame(), pl.Series("day", [], pl.Date),
                 exact=picked.select("src", "dsts"), top_ports=picked.select("src", "top_ports").rechunk())
    return raw, rows


def _kept_table(port_day: pl.LazyFrame, ports: tuple[int, ...], first_day: dt.date | None, n_days: int,
                recount: PacketSource, walked: pl.DataFrame | None, budget: int | None = None,
                state: StateWriter | None = None) -> pl.DataFrame:
    """The table :mod:`port_lists` keeps for *ports*: every source's raw columns, exact ``dsts`` and ``top_ports``,
    computed one source range at a time when the port's packets are more than *budget* (default
    :data:`port_lists.PACKETS_PER_RANGE`; :func:`port_lists.source_ranges`: the keys, rows and schedules of one range
    held at once, not the data's); a source's columns are its own, so the table is the same whatever the ranges.
    *state*: given each range's distinct keys (one sorted run, the ranges in order) and state tables
    (:mod:`port_list_state`), for the next build to extend the list."""
    from scantui.analysis.port_lists import source_ranges

    every = ScannerQuery(ports=ports)
    ranges = source_ranges(select_rows(port_day, every), budget, total_first=budget is not None)
    if state is None:
        return ranged_table(port_day, every, None, first_day, n_days, recount, walked, ranges)
    return ranged_table(port_day, every, None, first_day, n_days, recount, walked, ranges,
                        lambda keys: state.append(keys, new_run=False), lambda rows: state.parts.append(row_state(rows)))


def keep_port_list(rollup: Rollup, ports: tuple[int, ...], previous: Path | None = None) -> tuple[Path, bool] | None:
    """Compute and keep the list of *ports* in *rollup*'s folder (:mod:`port_lists`) unless kept already, for
    ``scantui rollup --keep-ports`` and every build (so the first ``--port`` query after a build reads it): (the
    file, whether it was brought up to date from *previous*'s), or None when the rollup has no day tables to recount
    destinations from. Kept with its state
    (:mod:`port_list_state`): a build that extends the rollup folder *previous* brings that folder's list up to
    date from the days it adds when its state allows, else computes it from every day."""
    from scantui.analysis.port_list_state import StateWriter, state_path
    from scantui.analysis.port_lists import kept_path, read_kept, write_kept
    from scantui.analysis.zmap_rollup import walk_sources

    source = rollup.packet_source()
    q = ScannerQuery(ports=ports)
    path = kept_path(rollup.path, q) if source is not None else None
    if path is None:
        return None
    if read_kept(path) is not None:
        return path, False
    first_day, n_days = _window(rollup.day_totals, q)
    by_port = rollup.port_day_by_port
    port_day = by_port if by_port is not None else rollup.port_day
    walked = walk_sources(rollup.zmap_walks)
    days = _state_days(rollup)
    state = None
    if days:
        try:
            state = StateWriter(state_path(path))
        except OSError:  # a read-only cache: the list alone (computed, and not kept: write_kept says nothing)
            pass
    try:
        table, extended = _kept_or_extended(rollup, path, port_day, ports, first_day, n_days, source, walked, days,
                                            state, previous)
    except BaseException:
        if state is not None:
            state.discard()
        raise
    write_kept(path, table)
    return path, extended


def _kept_or_extended(rollup: Rollup, path: Path, port_day: pl.LazyFrame, ports: tuple[int, ...],
                      first_day: dt.date | None, n_days: int, source: PacketSource, walked: pl.DataFrame | None,
                      days: dict[str, tuple[str, str]], state: StateWriter | None,
                      previous: Path | None) -> tuple[pl.DataFrame, bool]:
    """:func:`keep_port_list`'s table and whether it was brought up to date from *previous*'s list, its state (when
    *state*) put in place."""
    table = None
    if previous is not None and state is not None:
        try:
            table = _extended_table(rollup, previous / path.parent.name / path.name, ports, first_day, n_days, source,
                                    walked, days, state)
        except (pl.exceptions.PolarsError, OSError, ValueError, KeyError, TypeError):  # an old list or state not
            table = None  # as this code writes them (a foreign column set, a bad index): computed from every day
    extended = table is not None
    if table is None:
        if state is not None:
            state.reset()
        table = _kept_table(port_day, ports, first_day, n_days, source, walked, state=state)
        if state is not None and state.parts and first_day is not None and n_days > 0:
            tables = {name: pl.concat([part[name] for part in state.parts]) for name in state.parts[0]}
            made = activity(None, None, tables.pop(SRC_DAYS), first_day, n_days)
            state.tables = None if made is None else {**tables, ACTIVITY: packed(*made)}
    if state is not None:
        if state.tables is None:
            state.discard()
        else:
            state.fold()
            state.finish(state.tables, days, (first_day, n_days))
    return table, extended


def _state_days(rollup: Rollup) -> dict[str, tuple[str, str]]:
    """Per day of *rollup*, its day state and ``port_day`` file as its merge recorded them (what a kept list's state
    is valid for); empty when the merge's record is gone or is not of every day of the rollup."""
    from scantui.analysis.rollup_days import held_files

    days = held_files(rollup.path)
    keys = rollup.meta.get("day_keys") or {}
    return days if days and {d: e[0] for d, e in days.items()} == keys else {}


def _extended_table(rollup: Rollup, old_path: Path, ports: tuple[int, ...], first_day: dt.date | None, n_days: int,
                    source: PacketSource, walked: pl.DataFrame | None, days: dict[str, tuple[str, str]],
                    state: StateWriter) -> pl.DataFrame | None:
    """The kept table of *ports* brought up to date from the older rollup's list at *old_path* and its state
    (:mod:`port_list_state`) plus the days *rollup* adds (their ``port_day`` rows and packet keys only), with
    *state* filled for the next build; None when that state does not apply (missing, damaged, another version, or
    a day it covers removed or changed): then the list is computed from every day."""
    from scantui.analysis import port_list_state as st
    from scantui.analysis.port_lists import read_kept

    old_list = read_kept(old_path)
    folder = st.state_path(old_path)
    found = st.read_state(folder)
    if old_list is None or found is None or first_day is None or n_days <= 0:
        return None
    index, old = found
    held = index.get("days")
    if not isinstance(held, dict) or any(days.get(d) != tuple(e) for d, e in held.items()):
        return None
    added = [dt.date.fromisoformat(d) for d in sorted(days) if d not in held]
    every = ScannerQuery(ports=ports)
    by_port = rollup.port_day_by_port
    port_day = by_port if by_port is not None else rollup.port_day
    rows = select_rows(port_day.filter(pl.col("day").is_in(pl.Series(added, dtype=pl.Date).implode())), every)
    rows = rows.select(_ROW_COLUMNS).collect()
    lf = source.read_columns(_KEY_COLUMNS[1:], added, ports=ports).filter(_of_kinds(every.kinds))
    keys = lf.select(_key()).collect()["key"]
    if keys.null_count():
        return None
    try:
        fresh = st.new_keys(st.read_runs(folder, index["runs"]), np.unique(keys.to_numpy()))
    except (OSError, ValueError, TypeError):
        return None
    del keys
    # volume: summed over the old list's rows and the new days'; every other column from the merged state
    volume = ["src", "packets", "first_seen", "last_seen", *TOOL_COLUMNS]
    summed = pl.concat([old_list.select(volume), bh.volume(rows.lazy(), TOOL_COLUMNS).collect().select(volume)])
    summed = summed.group_by("src").agg(pl.col("packets").sum(), pl.col("first_seen").min(), pl.col("last_seen").max(),
                                        *(pl.col(c).sum() for c in TOOL_COLUMNS))
    base = _source_filters(summed, every, walked)
    new = st.row_state(rows)
    made = activity(old[ACTIVITY], index["window"], new[SRC_DAYS], first_day, n_days)
    if made is None:
        return None
    srcs, act = made
    tables = {**st.merge_state(old, new), ACTIVITY: packed(srcs, act)}
    scans = tables[st.SCANS].lazy()
    ports_, intervals, coverage, top = pl.collect_all([
        bh.port_counts(scans), bh.intervals_from(tables[st.INTERVALS].lazy()), bh.coverage_from_scans(scans),
        bh.top_ports_from_scans(scans, TOP_PORTS)])
    # the active days and schedules from the activity rows (what :func:`schedules` builds from (src, day) rows)
    active = pl.DataFrame({"src": srcs, "days_active": act.sum(axis=1, dtype=np.uint32)})
    sched = schedule_frame(srcs, act) if len(srcs) else schedules(pl.DataFrame(), first_day, n_days)
    raw = bh.join_parts([base, active, ports_, intervals, coverage, sched])
    dsts = old_list.select("src", "dsts").join(st.per_source(fresh), on="src", how="full", coalesce=True, suffix="_new")
    dsts = dsts.select("src", pl.when(pl.col("dsts").is_null() & pl.col("dsts_new").is_null()).then(None)
                       .otherwise(pl.col("dsts").fill_null(0) + pl.col("dsts_new").fill_null(0)).cast(pl.UInt32).alias("dsts"))
    table = raw.join(dsts, on="src", how="left").join(top.rechunk(), on="src", how="left")
    for run in index["runs"]:
        state.link(folder / run)
    state.append(fresh, new_run=True)
    state.tables = tables
    return table
