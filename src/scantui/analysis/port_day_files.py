"""A day's finished ``port_day`` under the Unicorn sessions (step 4 of :mod:`scantui.analysis.rollup_days`).

:func:`day_files` gives the day's :class:`DayFiles`: its base ``port_day`` when none of its keys is a
session, else :func:`port_day_with` (the base rows with the sessions' packets moved to
``tool_unicorn``), written once per session set (:func:`sessions_digest`); a day an extension holds
keeps its file unless a new session is among its keys (:func:`held_port_day`). :func:`by_port` is the
copy sorted by port beside each ``port_day`` file (:func:`write_by_port`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from scantui.analysis import collab_sums as cs
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import keyed_probes as kp
from scantui.analysis import rollup as ru
from scantui.analysis.fingerprints import SESSIONS_SCHEMA, TOOLS, unicorn_eligible, unicorn_key
from scantui.analysis.rollup_layout import (
    BY_PORT_ORDER, DAY_CODEC, ENRICHMENT, GROUPS, GROUP_KEYS, KEYS, NARROW_ROW_GROUP, PORT_DAY_BASE,
)
from scantui.analysis.sort_keys import sort_by
from scantui.fsutil import atomic_path


def port_day_with(state: Path, sessions: pl.DataFrame, packets: Callable[[], pl.LazyFrame], target: Path) -> None:
    """The day's ``port_day`` rows with the Unicorn *sessions* among its keys (:func:`day_sessions`,
    not empty) into *target* (:func:`port_day_rows`)."""
    port_day_rows(state, sessions, packets).write_parquet(target, row_group_size=NARROW_ROW_GROUP, **DAY_CODEC)


def port_day_rows(state: Path, sessions: pl.DataFrame, packets: Callable[[], pl.LazyFrame]) -> pl.DataFrame:
    """The day's ``port_day`` rows with the Unicorn *sessions* among its keys (not empty): the base rows,
    in their order (by source, as the merge reads them), with each session packet moved from the tool it
    had without sessions to ``unicorn``. The packets come from ``unicorn_groups`` (keys seen at least
    twice that day); only a session key seen once that day reads the day's *packets* again. Memory: the
    day's ``port_day`` rows, as :func:`write_by_port` (which then sorts these instead of reading them back)."""
    hits = pl.scan_parquet(state / GROUPS, glob=False).join(sessions.lazy(), on="unicorn_key", how="semi").drop("unicorn_key")
    singles = pl.scan_parquet(state / KEYS, glob=False).filter(pl.col("n") < 2).join(sessions.lazy(), on="unicorn_key", how="semi")
    singles = singles.select("unicorn_key").collect()
    frames = [hits]
    if singles.height:
        tooled = ru.prepare(packets(), sessions=pl.DataFrame(schema=SESSIONS_SCHEMA))
        frames.append(tooled.filter(unicorn_eligible()).with_columns(unicorn_key())
                      .join(singles.lazy(), on="unicorn_key", how="semi")
                      .group_by(*GROUP_KEYS, "tool").agg(pl.len().cast(pl.UInt32).alias("packets")))
    moved = pl.concat(frames).group_by(GROUP_KEYS).agg(
        [pl.col("packets").filter(pl.col("tool") == t).sum().cast(pl.UInt32).alias(f"moved_{t}") for t in TOOLS]
    )
    moved_cols = [f"moved_{t}" for t in TOOLS]
    moved = moved.collect()
    rows = pl.read_parquet(state / PORT_DAY_BASE, glob=False)
    # only the rows of a moved group change (~3,400 of a dev day's 266 k): found through their sources and
    # set in place, not a left join of every row (0.072-0.082 -> 0.028-0.037 CPU s a dev day)
    src = pl.col("src")
    hit = (rows.lazy().with_row_index("_row").filter(src.is_in(moved["src"].unique().implode()) | src.is_null())
           .join(moved.lazy(), on=list(GROUP_KEYS), how="inner", nulls_equal=True)
           .select("_row", *[(pl.col(c) - pl.col(f"moved_{t}")).alias(c) for t, c in zip(TOOLS, ru.TOOL_COLUMNS)
                             if t != "unicorn"],
                   (pl.col("tool_unicorn") + pl.sum_horizontal(moved_cols)).cast(pl.UInt32).alias("tool_unicorn"))
           .collect())
    if hit.height:
        rows = rows.with_columns(rows[c].clone().scatter(hit["_row"], hit[c]) for c in ru.TOOL_COLUMNS)
    return rows


def day_sessions(keys_file: Path, sessions: pl.DataFrame) -> pl.DataFrame:
    """The sessions among one day's keys (sorted): all :func:`port_day_with` needs of them."""
    keys = pl.scan_parquet(keys_file, glob=False).select("unicorn_key").join(sessions.lazy(), on="unicorn_key", how="inner")
    return keys.collect().sort("unicorn_key").cast(dict(SESSIONS_SCHEMA))


def day_files(day: dt.date, state: Path, sessions: pl.DataFrame | None, packets: Callable[[], pl.LazyFrame], *,
              port_day: Path | None = None) -> DayFiles:
    """The day's finished files under the merged *sessions*: its base ``port_day`` when none of
    its keys is a session, else a ``port_day-<digest>.parquet`` beside it (written once per session set).
    *port_day*: the day's file, already known to be the one for *sessions* (see :func:`held_port_day`;
    *sessions* then unused)."""
    if port_day is not None:
        target = port_day
    elif (mine := day_sessions(state / KEYS, sessions)).height == 0:
        target = state / PORT_DAY_BASE
    else:
        target = state / f"port_day-{sessions_digest(mine)}.parquet"
        if not target.is_file():
            rows = port_day_rows(state, mine, packets)
            with atomic_path(target) as tmp:  # a concurrent writer's identical file may win; either is complete
                rows.write_parquet(tmp, row_group_size=NARROW_ROW_GROUP, **DAY_CODEC)
            write_by_port(target, rows)  # from the rows held, not read back
            del rows
    write_by_port(target)  # once per file: nothing to do when written above
    # from the base rows (sessions move tool counts only) and the day's own enrichment; once per state (a state
    # built since session 11 has it from build_day_state's rows in memory: nothing to do)
    cs.write_day_sums(state / PORT_DAY_BASE, state / ENRICHMENT, state / cs.DAY_FILE)
    fk.write_day_fingerprints(state, packets)  # collab's fingerprint keys, from the state's packet table; once per state
    kp.write_day_keyed_probes(state, packets)  # their probes kept apart for collab's reads; once per state
    return DayFiles(day, state, target)


#: Up to this many changed keys, :func:`held_port_day` looks each up (a day's key file is read only where its row
#: groups' bounds hold one: 83 days at 200 M, 0.06 CPU s for 1 key, 0.26 for 10); more are one ``is_in`` (~1 s).
FEW_CHANGED_KEYS = 16


def held_port_day(state: Path, name: str, changed: Sequence[int]) -> Path | None:
    """A held day's ``port_day`` file for an extension's sessions: *name*, the file the extended rollup
    merged (under its sessions), when none of the *changed* keys (those that became sessions since)
    is among the day's keys, so that its session set is the same; None when one is (or the file is
    gone): the day must be checked against every session (:func:`day_files`). Reads none of the day's
    keys when nothing changed."""
    target = state / name
    if not target.is_file():
        return None
    if changed:
        key = pl.col("unicorn_key")
        if len(changed) <= FEW_CHANGED_KEYS:  # the key file is sorted: equalities skip row groups by their statistics
            where = functools.reduce(operator.or_, [key == k for k in changed])
        else:
            where = key.is_in(pl.Series(list(changed), dtype=pl.UInt32).implode())
        if pl.scan_parquet(state / KEYS, glob=False).select(key).filter(where).head(1).collect().height:
            return None
    return target


def by_port(port_day: Path) -> Path:
    """The copy of a day's ``port_day`` file sorted by :data:`BY_PORT_ORDER`, beside it."""
    return port_day.with_name(f"by_port-{port_day.name}")


def write_by_port(port_day: Path, rows: pl.DataFrame | None = None) -> None:
    """Write :func:`by_port` of *port_day* once (from its *rows* when the caller holds them): the same rows,
    sorted by port so that a port filter skips the other row groups by their statistics (the file itself is
    sorted by source, as the merge reads it). Memory: the day's ``port_day`` rows."""
    target = by_port(port_day)
    if target.is_file():
        return
    with atomic_path(target) as tmp:
        rows = pl.read_parquet(port_day, glob=False) if rows is None else rows
        _by_port_sorted(rows).write_parquet(tmp, row_group_size=NARROW_ROW_GROUP, **DAY_CODEC)


def _by_port_sorted(rows: pl.DataFrame) -> pl.DataFrame:
    """A day's ``port_day`` *rows*, in :data:`PORT_DAY_ORDER` (as every ``port_day`` file is), sorted by
    :data:`BY_PORT_ORDER` (nulls last): the rows of one (kind, dport) are in (src, proto, sensor) order already, so
    a stable sort by (kind, dport) alone orders them (a smaller key: a dev day's 266 k rows ~0.022 -> 0.018 CPU s).
    Where src, proto or sensor holds nulls beside values (first there, last here), by the whole order."""
    if any(0 < rows[c].null_count() < rows.height for c in ("src", "proto", "sensor")):
        return sort_by(rows, BY_PORT_ORDER, nulls_last=True)
    return sort_by(rows, BY_PORT_ORDER[:2], nulls_last=True)


def sessions_digest(sessions: pl.DataFrame) -> str:
    """A short hash of a (sorted) session set, for file names."""
    data = sessions["unicorn_key"].cast(pl.UInt32).to_numpy().astype("<u4").tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class DayFiles:
    """One day's finished state: the :func:`build_day_state` folder and its ``port_day`` file."""

    day: dt.date
    state: Path
    port_day: Path
