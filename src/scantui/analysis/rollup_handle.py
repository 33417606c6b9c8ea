"""The handle of a finished rollup folder, and what an update of the cache did.

:class:`Rollup` reads a rollup folder's tables as lazy scans of their Parquet
(:mod:`scantui.analysis.rollup`'s layout) and finds the day states and per-day
packet tables of a rollup built in the cache (:mod:`scantui.analysis.rollup_cache`).
:class:`Action` is one step of :func:`~scantui.analysis.rollup_cache.update_rollup`
(built, reused, merged, extended, skipped) and :class:`RollupUpdate` the rollup with
the steps taken.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from scantui.analysis import merge_state as mst
from scantui.analysis import rollup as ru
from scantui.analysis import (
    bursts, day_destinations, day_ports, day_protocols, keyed_bursts, port_sources, sensor_sources,
)
from scantui.analysis import collab_burst_sums as cbs
from scantui.analysis import enrichment_overlay
from scantui.analysis.collab_sums import SUM_KINDS, CollabSums, overlay_as_sums, scan_sums
from scantui.analysis.fingerprint_keys import scan_fingerprints
from scantui.analysis.fingerprints import UNICORN_MIN_PACKETS
from scantui.analysis.packet_source import DayPackets, PacketSource
from scantui.lock import hold_shared


#: The Unicorn sessions over every day (``unicorn_key``, ``unicorn_session``), kept in a cached rollup's folder.
SESSIONS = "unicorn_sessions.parquet"


# ---------------------------------------------------------------- the rollup handle


@dataclass(frozen=True)
class Rollup:
    """A finished rollup folder; every table is a lazy scan of its Parquet."""

    path: Path
    meta: dict[str, Any]
    enrichment_path: Path | None = None  # the overlay's folder of enrichment tables, when some were given
    tables_key: str | None = None  # those tables' identity (without the rollup's): the days' files made under them
    # while any handle of the folder lives in this process, the cache does not remove it (:class:`_Lease`)
    lease: _Lease | None = field(default=None, compare=False, repr=False)

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

    def collab_sums_with_as(self) -> CollabSums | None:
        """:attr:`collab_sums` with an AS part under enrichment tables too: each day's AS rows of the overlay,
        made once per day state and tables on first use (:func:`~scantui.analysis.collab_sums.overlay_as_sums`)."""
        sums = self.collab_sums
        if sums is None or self.enrichment_path is None or self.tables_key is None:
            return sums
        asn = overlay_as_sums(self.day_states, self.enrichment, self.tables_key)
        if asn is None:
            return sums
        return CollabSums(pl.concat([sums.table.filter(pl.col("key_kind") == "prefix24"), asn]), SUM_KINDS)

    @property
    def fingerprints(self) -> pl.LazyFrame | None:
        """Per-day header-artifact signatures of the sources (:mod:`~scantui.analysis.fingerprint_keys`), or None in
        a rollup without them."""
        return scan_fingerprints(self.path)

    @property
    def burst_sums(self) -> cbs.BurstSums | None:
        """The days' (/24, port) sums of their bursts (:mod:`~scantui.analysis.collab_burst_sums`), or None in a
        rollup merged before them."""
        return cbs.scan(self.path)

    @property
    def bursts(self) -> pl.LazyFrame | None:
        """The days' burst tables (:mod:`~scantui.analysis.bursts`), or None in a rollup without them."""
        return bursts.scan_days(self.path)

    @property
    def keyed_bursts(self) -> pl.LazyFrame | None:
        """Every burst of the sources a fingerprint keys on some day (:mod:`~scantui.analysis.keyed_bursts`;
        written here, once, in a rollup merged before them), or None when the rollup has no bursts or fingerprints
        or the file cannot be written."""
        return keyed_bursts.scan(self.path)

    @property
    def destinations(self) -> pl.LazyFrame | None:
        """The days' distinct destinations (:mod:`~scantui.analysis.day_destinations`), or None in a rollup with
        a day built without them."""
        return day_destinations.TABLE.scan(self.path)

    @property
    def port_totals(self) -> pl.LazyFrame | None:
        """The days' probe packets per port (:mod:`~scantui.analysis.day_ports`), or None in a rollup with a day
        built without them."""
        return day_ports.TABLE.scan(self.path)

    @property
    def port_sources(self) -> pl.LazyFrame | None:
        """Each port's distinct probing sources over the data (:mod:`~scantui.analysis.port_sources`), or None in a
        rollup merged without them."""
        return port_sources.scan(self.path)

    @property
    def sensor_pairs(self) -> pl.LazyFrame | None:
        """The distinct (src, sensor) pairs over the data (named sensors; :mod:`~scantui.analysis.sensor_sources`), or
        None in a rollup merged without them."""
        return sensor_sources.scan_pairs(self.path)

    @property
    def protocols(self) -> pl.LazyFrame | None:
        """The days' packets per traffic kind and protocol (:mod:`~scantui.analysis.day_protocols`), or None in a
        rollup with a day built without them."""
        return day_protocols.TABLE.scan(self.path)

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
            return enrichment_overlay.scan(self.enrichment_path)
        return self.own_enrichment

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
        merged = mst.dst_pair_files(self.path) or []
        sessions = self.path / SESSIONS
        return DayPackets(states, int(self.meta.get("unicorn_min_packets", UNICORN_MIN_PACKETS)), merged,
                          sessions if sessions.is_file() else None, self.meta.get("inputs") or ())

    @property
    def skipped(self) -> dict[str, int]:
        """What the loader skipped while the rollup was built (reason -> count)."""
        return dict(self.meta.get("skipped", {}))

    @property
    def enrichment_latest(self) -> pl.LazyFrame | None:
        """Each source's latest fields of :attr:`enrichment` over the whole data, kept with it (the overlay's, or the
        data's own: :mod:`~scantui.analysis.enrichment_overlay`); None without enrichment."""
        folder = self._enrichment_folder
        return enrichment_overlay.scan_latest(folder) if folder.is_dir() else None

    @property
    def _enrichment_folder(self) -> Path:
        """The folder :attr:`enrichment` reads: the overlay of enrichment tables, else the data's own."""
        return self.enrichment_path if self.enrichment_path is not None else self.path / ru.ENRICHMENT_DIR

    @property
    def enrichment_parts(self) -> list[pl.LazyFrame] | None:
        """:attr:`enrichment` by its folder's parts (disjoint source ranges, each in (src, day) order); None without."""
        folder = self._enrichment_folder
        files = enrichment_overlay.parts(folder) if folder.is_dir() else []
        return [pl.scan_parquet(f, glob=False) for f in files] or None

    @property
    def own_enrichment(self) -> pl.LazyFrame | None:
        """Per-(src, day) enrichment from the data's own columns only (no enrichment tables laid over it)."""
        folder = self.path / ru.ENRICHMENT_DIR
        return enrichment_overlay.scan(folder) if folder.is_dir() else None

    @property
    def dst_pairs(self) -> pl.LazyFrame | None:
        """The distinct (src, kind, dst) of the whole data (the merged state's disjoint ``dsts`` files), or
        None for a rollup kept without its merged state."""
        return mst.scan_dst_pairs(self.path)


class _Lease:
    """A shared lock on a rollup folder's ``meta.json``, held while a :class:`Rollup` of it lives in this process: the
    cache removes a superseded rollup only when it can lock it exclusively
    (:func:`~scantui.analysis.rollup_store.sweep_superseded`), never one a process is reading."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple:
        return type(None), ()  # a copy (pickled to another process) holds no lease: never this process's descriptor

    def __del__(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def load_rollup(path: str | os.PathLike[str]) -> Rollup:
    """Open a finished rollup folder (one with ``meta.json``) directly, e.g. one built elsewhere, leased (a folder
    being removed by the cache is :class:`FileNotFoundError`)."""
    folder = Path(path)
    fd = hold_shared(folder / ru.META)
    return Rollup(folder, ru.read_meta(folder), lease=None if fd is None else _Lease(fd))


def telescope_size_estimate(rollup: Rollup) -> int:
    """Median over days of the distinct destinations seen that day (robust to spike days)."""
    return ru.telescope_size_from_day_totals(rollup.day_totals)


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
