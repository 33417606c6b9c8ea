"""Where the analyses read packets: the rollup's per-day packet tables, or a plain LazyFrame.

A :class:`PacketSource` answers ``read(days, ports, srcs)``: the canonical rows of
those days, destination ports and sources (None: all), lazily. Two kinds:

* :class:`DayPackets` — the rollup's day states (``meta["day_keys"]``): each day's
  ``packets/`` table (:mod:`scantui.analysis.day_packets`, sorted by port, then
  source, then time). Only the asked days' files are scanned, and a port or
  source filter skips most of their row groups by Parquet statistics. It also
  has each day's distinct (src, kind, dst) pairs (``src_dsts.parquet``; for every
  day, the rollup's merged ``merge/dsts/`` files), for a destination count by day
  window, and the Unicorn sessions over every day (the rollup's
  ``unicorn_sessions.parquet``, else merged from the days' key counts), for a
  ``tool`` column without reading every packet. Its capture files (the original
  records behind a packet) are the rollup's inputs as they are named now.
* :class:`FramePackets` — one LazyFrame (tests, a rollup without day states):
  the same filters on it, one scan of the whole table.

The analyses (scanner list, collab, track, timing) take either and keep one code
path; their results are identical on both (tested).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from scantui.analysis.day_packets import DAY_CAPTURES, day_packets_files
from scantui.io.packet_refs import CaptureFile
from scantui.io.schema import empty_frame

#: One day's narrowing for :meth:`PacketSource.read_each`: (ports, sources), None meaning all.
Narrowing = tuple["Collection[int] | None", "Collection[int] | None"]


def narrow(lf: pl.LazyFrame, ports: Collection[int] | None = None, srcs: Collection[int] | None = None) -> pl.LazyFrame:
    """*lf*'s rows of those ports and sources; the range bounds let a Parquet scan skip row groups."""
    if ports is not None:
        ports = sorted({int(p) for p in ports})
        if not ports:
            return lf.filter(pl.lit(False))
        port = pl.col("dport")
        lf = lf.filter(port.is_between(ports[0], ports[-1]) & port.is_in(pl.Series(ports, dtype=pl.UInt16).implode()))
    if srcs is not None:
        lf = lf.filter(src_in(srcs))
    return lf


def src_in(srcs: Collection[int]) -> pl.Expr:
    """A row whose ``src`` is one of *srcs*: their range first, so a Parquet scan of a table sorted by source skips
    the row groups outside it by their statistics (``is_in`` alone skips none)."""
    values = pl.Series(list(srcs), dtype=pl.UInt32).unique().sort()
    if values.len() == 0:
        return pl.lit(False)
    return pl.col("src").is_between(values[0], values[-1]) & pl.col("src").is_in(values.implode())


def in_sources(srcs: Collection[int] | None, nets: Sequence[tuple[int, int]]) -> pl.Expr:
    """A row whose ``src`` lies in one of *nets* (inclusive ranges) or is one of *srcs*."""
    src = pl.col("src")
    inside = pl.any_horizontal([src.is_between(lo, hi) for lo, hi in nets])
    return inside | src.is_in(pl.Series(list(srcs), dtype=pl.UInt32).implode()) if srcs is not None else inside


#: The columns of :meth:`PacketSource.probes_each`.
PROBE_COLUMNS = ("src", "dport", "ts", "dst")


class PacketSource:
    """The interface; see the module doc."""

    #: What a destination count read from it is called in ``ScannerList.dsts_from``.
    label = "packets"

    def days(self) -> list[dt.date] | None:
        """The days it holds (sorted), or None when unknown without a scan."""
        return None

    def read(self, days: Iterable[dt.date] | None = None, ports: Collection[int] | None = None,
             srcs: Collection[int] | None = None) -> pl.LazyFrame:
        raise NotImplementedError

    def read_each(self, wanted: Mapping[dt.date, Narrowing]) -> pl.LazyFrame:
        """The rows of each day in *wanted* narrowed by its own (ports, sources)."""
        raise NotImplementedError

    def probes_each(self, wanted: Mapping[dt.date, Narrowing]) -> pl.LazyFrame:
        """The TCP SYN probes of :meth:`read_each` (*wanted*), only their ``src``, ``dport``, ``ts``, ``dst``: every
        probe of each day's (ports, sources), maybe with others (callers keep their own (day, port, source) rows)."""
        from scantui.analysis.traffic import is_probe

        return self.read_each(wanted).filter(is_probe()).select(PROBE_COLUMNS)

    def read_columns(self, columns: Sequence[str], days: Iterable[dt.date] | None = None,
                     ports: Collection[int] | None = None, srcs: Collection[int] | None = None) -> pl.LazyFrame:
        """:meth:`read` of only the canonical *columns* (no record references): the same rows, maybe read faster."""
        return self.read(days, ports, srcs).select(columns)

    def pairs(self, days: Iterable[dt.date] | None = None) -> pl.LazyFrame | None:
        """Distinct (src, kind, dst) per day of *days* (a source may repeat over days), or None when not kept."""
        return None

    def day_count(self, day: dt.date, ports: Collection[int] | None, srcs: Collection[int] | None,
                  nets: Sequence[tuple[int, int]] = ()) -> pl.LazyFrame | None:
        """One value: how many of *day*'s packets have those ports and sources (or lie in *nets*), from a
        per-day table without reading the packets; None when there is none."""
        return None

    def sessions(self) -> pl.DataFrame | pl.LazyFrame:
        """The Unicorn sessions over the whole data (for :func:`~scantui.analysis.fingerprints.with_tool`)."""
        raise NotImplementedError

    def capture_files(self) -> list[CaptureFile]:
        """The capture files the rows' ``ref_file`` indexes (empty: no row carries a record reference)."""
        return []


class FramePackets(PacketSource):
    """A plain LazyFrame of the canonical table."""

    def __init__(self, lf: pl.LazyFrame) -> None:
        self.lf = lf

    def read(self, days: Iterable[dt.date] | None = None, ports: Collection[int] | None = None,
             srcs: Collection[int] | None = None) -> pl.LazyFrame:
        lf = self.lf
        if days is not None:
            lf = lf.filter(pl.col("ts").dt.date().is_in(pl.Series(sorted(set(days)), dtype=pl.Date).implode()))
        return narrow(lf, ports, srcs)

    def read_each(self, wanted: Mapping[dt.date, Narrowing]) -> pl.LazyFrame:
        """One scan: the union of the days' narrowings (callers keep only their (day, port, source) rows)."""
        if any(p is None for p, _ in wanted.values()):
            ports = None
        else:
            ports = {int(p) for ps, _ in wanted.values() for p in ps}
        if any(s is None for _, s in wanted.values()):
            srcs = None
        else:
            srcs = {int(s) for _, ss in wanted.values() for s in ss}
        return narrow(self.lf, ports, srcs)

    def sessions(self) -> pl.LazyFrame:
        """Counted over the whole frame (lazily), whatever is read of it."""
        from scantui.analysis.fingerprints import unicorn_sessions

        return unicorn_sessions(self.lf)


class DayPackets(PacketSource):
    """The rollup's day states: ``{day: state folder}`` (each with ``packets/`` and ``src_dsts.parquet``)."""

    label = "days"

    def __init__(self, states: Mapping[dt.date, Path], unicorn_min_packets: int, merged_pairs: Sequence[Path] = (),
                 sessions: Path | None = None, inputs: Sequence[Mapping[str, Any]] = ()) -> None:
        self.states = dict(sorted(states.items()))
        self.inputs = list(inputs)  # the rollup's inputs as they are now (path, size, mtime_ns, format)
        self.unicorn_min_packets = unicorn_min_packets
        self.merged_pairs = list(merged_pairs)  # the rollup's disjoint (src, kind, dst) files over every day, if kept
        self.sessions_file = sessions  # the rollup's merged Unicorn sessions, if kept
        self._sessions: pl.DataFrame | None = None
        self._captures: tuple[list[CaptureFile], dict[dt.date, list[int]]] | None = None

    def days(self) -> list[dt.date]:
        return list(self.states)

    def _picked(self, days: Iterable[dt.date] | None) -> list[dt.date]:
        return list(self.states) if days is None else sorted(set(days) & set(self.states))

    def read(self, days: Iterable[dt.date] | None = None, ports: Collection[int] | None = None,
             srcs: Collection[int] | None = None) -> pl.LazyFrame:
        return self.read_each({day: (ports, srcs) for day in self._picked(days)})

    def read_each(self, wanted: Mapping[dt.date, Narrowing]) -> pl.LazyFrame:
        from scantui.analysis.rollup_days import concat_frames

        frames = [self._global_refs(day, narrow(pl.scan_parquet(day_packets_files(self.states[day]), glob=False), ports, srcs))
                  for day, (ports, srcs) in sorted(wanted.items()) if day in self.states]
        return concat_frames(frames) if frames else empty_frame().lazy()

    def probes_each(self, wanted: Mapping[dt.date, Narrowing]) -> pl.LazyFrame:
        """A day's probes of its fingerprint-keyed sources from their own small table where the state has one
        (:mod:`~scantui.analysis.keyed_probes`: every probe of such a source is there), the rest from the
        packet table: the same rows, without decoding a busy port's row groups for sources spread over it.
        The keyed tables of every day are one scan (a scan a day cost ~10 ms each in planning and opening)."""
        from scantui.analysis import keyed_probes as kp
        from scantui.analysis.traffic import is_probe

        days = [d for d in sorted(wanted) if d in self.states]
        served = kp.sources_by_day({d: self.states[d] for d in days if wanted[d][1] is not None})
        frames, keyed_files, keyed_srcs, keyed_ports = [], [], set(), set()
        for day in days:
            ports, srcs = wanted[day]
            state = self.states[day]
            if day in served:
                asked = {int(s) for s in srcs}
                mine = asked & served[day]
                if mine:
                    keyed_files.append(state / kp.DAY_FILE)
                    keyed_srcs |= mine
                    keyed_ports = None if ports is None or keyed_ports is None else keyed_ports | {int(p) for p in ports}
                    srcs = sorted(asked - mine)
                    if not srcs:
                        continue
            table = pl.scan_parquet(day_packets_files(state), glob=False)
            frames.append(narrow(table, ports, srcs).filter(is_probe()).select(PROBE_COLUMNS))
        if keyed_files:  # a superset of each day's rows (the days' sources and ports together): callers keep theirs
            frames.append(narrow(pl.scan_parquet(keyed_files, glob=False), keyed_ports, keyed_srcs).select(PROBE_COLUMNS))
        if not frames:
            return empty_frame().lazy().select(PROBE_COLUMNS)
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")

    def day_count(self, day: dt.date, ports: Collection[int] | None, srcs: Collection[int] | None,
                  nets: Sequence[tuple[int, int]] = ()) -> pl.LazyFrame | None:
        """From the day's ``port_day`` (every packet in one row of its (sensor, source, protocol, port, kind),
        sorted by source: a source's rows are a row group or two)."""
        from scantui.analysis.rollup_layout import PORT_DAY_BASE

        path = self.states[day] / PORT_DAY_BASE if day in self.states else None
        if path is None or not path.is_file():
            return None
        lf = narrow(pl.scan_parquet(path, glob=False), ports, None if nets else srcs)
        if nets:
            lf = lf.filter(in_sources(srcs, nets))
        return lf.select(pl.col("packets").cast(pl.Int64).sum())

    def read_columns(self, columns: Sequence[str], days: Iterable[dt.date] | None = None,
                     ports: Collection[int] | None = None, srcs: Collection[int] | None = None) -> pl.LazyFrame:
        """One Parquet scan of every picked day's files (a concatenation of one scan a day, each conformed, cost
        ~0.06 CPU s in planning alone at 84 days, and twice the CPU to read a port's keys): a day's file lacking
        a column reads it as nulls, as :func:`~scantui.io.schema.conform` would."""
        from scantui.io.schema import CANONICAL

        files = [f for day in self._picked(days)
                 for f in day_packets_files(self.states[day])]
        if not files:
            return empty_frame().lazy().select(columns)
        schema = {c: CANONICAL[c] for c in columns}
        lf = pl.scan_parquet(files, schema=schema, missing_columns="insert", extra_columns="ignore", glob=False)
        return narrow(lf, ports, srcs).select(columns)

    def _capture_tables(self) -> tuple[list[CaptureFile], dict[dt.date, list[int]]]:
        """Every day's capture table (``captures.json``) merged into one: (files, per day its indices in it)."""
        if self._captures is None:
            import json

            placed = _placing(self.inputs)
            files: list[CaptureFile] = []
            seen: dict[CaptureFile, int] = {}
            per_day: dict[dt.date, list[int]] = {}
            for day, state in self.states.items():
                try:
                    table = json.loads((state / DAY_CAPTURES).read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    table = []
                indices = []
                for d in table:
                    f = placed(CaptureFile.from_dict(d))
                    if f not in seen:
                        seen[f] = len(files)
                        files.append(f)
                    indices.append(seen[f])
                per_day[day] = indices
            self._captures = files, per_day
        return self._captures

    def _global_refs(self, day: dt.date, lf: pl.LazyFrame) -> pl.LazyFrame:
        """A day's ``ref_file`` (an index into the day's capture table) as an index into :meth:`capture_files`."""
        local = self._capture_tables()[1].get(day)
        if not local or local == list(range(len(local))):
            return lf
        ref = pl.col("ref_file")
        return lf.with_columns(ref.replace_strict(list(range(len(local))), local, default=None, return_dtype=pl.UInt32))

    def capture_files(self) -> list[CaptureFile]:
        return self._capture_tables()[0]

    def pairs(self, days: Iterable[dt.date] | None = None) -> pl.LazyFrame:
        from scantui.analysis import rollup_days as rd

        picked = self._picked(days)
        if not picked:
            return pl.LazyFrame(schema=rd.PAIRS_SCHEMA)
        if self.merged_pairs and len(picked) == len(self.states):  # every day: one row per pair, not one per day
            return pl.scan_parquet(self.merged_pairs, glob=False)
        return pl.scan_parquet([self.states[d] / rd.PAIRS for d in picked], glob=False)

    def sessions(self) -> pl.DataFrame:
        if self._sessions is None and self.sessions_file is not None:
            self._sessions = pl.read_parquet(self.sessions_file, glob=False)
        if self._sessions is None:  # merged again from every day's key counts (no packet read)
            from scantui.analysis import rollup_days as rd

            self._sessions = rd.merge_sessions([s / rd.KEYS for s in self.states.values()], self.unicorn_min_packets)
        return self._sessions


def _placing(inputs: Sequence[Mapping[str, Any]]) -> Callable[[CaptureFile], CaptureFile]:
    """A day state's capture file named where it is now: the rollup's input of the same size, modification time and
    format (a day state is kept by its inputs' bytes, so it may have been made from them under another name, or from
    a path relative to another folder); that input's own path where it is one of them, else the one of the same
    name, else the first."""
    here: dict[tuple[int, int, str], list[str]] = {}
    for i in inputs:
        here.setdefault((int(i["size"]), int(i["mtime_ns"]), str(i["format"])), []).append(str(i["path"]))

    def placed(f: CaptureFile) -> CaptureFile:
        paths = here.get((f.size, f.mtime_ns, f.format))
        if not paths:
            return f
        own = os.path.abspath(f.path)
        name = os.path.basename(f.path)
        path = own if own in paths else next((p for p in paths if os.path.basename(p) == name), paths[0])
        return f if path == f.path else dataclasses.replace(f, path=path)

    return placed


def as_source(packets: pl.LazyFrame | PacketSource) -> PacketSource:
    """*packets* as a :class:`PacketSource` (a LazyFrame becomes a :class:`FramePackets`)."""
    return packets if isinstance(packets, PacketSource) else FramePackets(packets)
