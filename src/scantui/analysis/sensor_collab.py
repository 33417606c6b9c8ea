"""Candidate scans per sensor: a scan that covers one sensor's space but not another's is a finding.

The cover test of :mod:`scantui.analysis.collab` measures a scan against the whole telescope:
with two sensors A and B, a scan covering exactly A's space reaches ``|A| / (|A| + |B|)`` of it
and is no candidate. So on data with several sensors (:func:`scantui.analysis.sensors.sensor_names`)
:func:`with_sensors` runs the same search once more per sensor, on that sensor's packets and
``port_day`` rows with that sensor's space as the telescope
(:func:`scantui.analysis.sensors.sensor_spaces`), and adds the scans it finds that the whole-telescope
search did not (the same scan: same port, overlapping times, a shared member, as collab's own
one-scan-one-row rule), with ``sensor`` naming the sensor they were found on (None: found on the whole
telescope). Then every candidate gets its cover of each sensor's space (``sensor_cover``: the distinct
destinations its members' probes on its port reached there between its start and end, read from the
packets of its members only, and whether that passes the cover test's lower bound).

The per-sensor searches do not use the rollup's per-day group sums or burst tables (they sum every
sensor, and a source's destinations on the other sensors would make it look standalone), so each reads
its sensor's ``port_day`` rows in full and, with the default burst windows, finds its sensor's bursts
in one pass over that sensor's packets: the price of exact per-sensor covers. Data with one sensor (or
none) is returned as it is: its output does not change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping

import polars as pl

from scantui.analysis.collab_types import CandidateScan, SensorCover
from scantui.analysis.packet_source import Narrowing, PacketSource
from scantui.analysis.traffic import is_probe

#: ``search(packets, port_day, telescope_size)`` -> that search's candidates (the caller's collab_scans, same query).
Search = Callable[[PacketSource, pl.LazyFrame, int], "list[CandidateScan]"]


class SensorPackets(PacketSource):
    """The packets of one sensor of another :class:`PacketSource`."""

    def __init__(self, inner: PacketSource, sensor: str) -> None:
        self.inner = inner
        self.sensor = sensor
        self.label = inner.label

    def _only(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        return lf.filter(pl.col("sensor") == self.sensor)

    def days(self) -> list[dt.date] | None:
        return self.inner.days()

    def read(self, days: Iterable[dt.date] | None = None, ports: Collection[int] | None = None,
             srcs: Collection[int] | None = None) -> pl.LazyFrame:
        return self._only(self.inner.read(days, ports, srcs))

    def read_each(self, wanted: Mapping[dt.date, Narrowing]) -> pl.LazyFrame:
        return self._only(self.inner.read_each(wanted))

    def sessions(self):
        return self.inner.sessions()

    def capture_files(self):
        return self.inner.capture_files()


def same_scan(a: CandidateScan, b: CandidateScan) -> bool:
    """collab's one-scan-one-row rule: the same port, overlapping times and a shared member."""
    return (a.port == b.port and a.start_us <= b.end_us and b.start_us <= a.end_us
            and not set(a.sources).isdisjoint(b.sources))


def with_sensors(candidates: list[CandidateScan], source: PacketSource, port_day: pl.LazyFrame,
                 spaces: Mapping[str, int], low: float, search: Search, top: int | None = None) -> list[CandidateScan]:
    """*candidates* (the whole telescope's, ranked) and the scans found on each sensor alone, ranked by score,
    each with its ``sensor_cover``; *candidates* unchanged when *spaces* holds fewer than two sensors."""
    if len(spaces) < 2:
        return candidates
    found = list(candidates)
    for name, size in spaces.items():
        if size <= 0:
            continue
        for cand in search(SensorPackets(source, name), port_day.filter(pl.col("sensor") == name), size):
            if not any(same_scan(cand, other) for other in found):
                found.append(dataclasses.replace(cand, sensor=name))
    found.sort(key=lambda c: -c.score)  # stable: the whole telescope's first among equals
    if top is not None:
        found = found[:top]
    return covers(found, source, spaces, low)


def covers(candidates: list[CandidateScan], source: PacketSource, spaces: Mapping[str, int],
           low: float) -> list[CandidateScan]:
    """*candidates* with their cover of each sensor's space (one read of their members' probes)."""
    if not candidates:
        return candidates
    from scantui.analysis.collab_types import utc_day

    wanted: dict[dt.date, tuple[set[int], set[int]]] = {}
    for c in candidates:
        day = utc_day(c.start_us)
        while day <= utc_day(c.end_us):
            ports, srcs = wanted.setdefault(day, (set(), set()))
            ports.add(c.port)
            srcs.update(c.sources)
            day += dt.timedelta(days=1)
    probes = (source.read_each({d: (p, s) for d, (p, s) in wanted.items()}).filter(is_probe())
              .select(pl.col("ts").dt.epoch("us").alias("t"), "src", "dport", "dst", "sensor").collect())
    out = []
    for c in candidates:
        mine = probes.filter(pl.col("dport") == c.port, pl.col("src").is_in(list(c.sources)),
                             pl.col("t").is_between(c.start_us, c.end_us))
        reached = dict(mine.group_by("sensor").agg(pl.col("dst").n_unique()).iter_rows())
        cover = tuple(SensorCover(name, int(reached.get(name, 0)), size,
                                  size > 0 and reached.get(name, 0) >= (1 - low) * size)
                      for name, size in spaces.items())
        out.append(dataclasses.replace(c, sensor_cover=cover))
    return out


def covering(candidates: Iterable[CandidateScan], only: str, not_: str) -> list[CandidateScan]:
    """The candidates that cover sensor *only*'s space but not *not_*'s (``scantui sensors --only A --not B``)."""
    return [c for c in candidates if only in c.covered_sensors and not_ not in c.covered_sensors]
