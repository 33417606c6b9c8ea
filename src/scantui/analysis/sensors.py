"""Sensors compared: per-sensor figures and who was seen by one sensor but not another, from the rollup's tables.

Data with a ``sensor`` column (contract.md) keeps it in the rollup: ``day_totals`` is one row per
(day, sensor), ``port_day`` one per (day, sensor, src, port, kind). Everything here reads those two
tables only (never the packets):

- :func:`sensor_names`: the sensors of the data (sorted; a null sensor is not one). Data with fewer
  than two has nothing to compare, and every output stays as it was.
- :func:`sensor_summary`: per sensor its packets, probes, distinct sources, *space*, days and first
  and last day.
- :func:`sensor_spaces`: a sensor's **space** is its estimated telescope size, by the same estimator as
  the whole telescope's (:func:`scantui.analysis.telescope.estimate_size_from_daily`): the median over
  the days it saw traffic of its distinct destinations that day. The sensors' spaces are taken to be
  disjoint (the whole telescope's estimate sums them), as telescopes and honeypots are.
- :func:`source_sensors`: per source, the sensors that saw any packet of it.
- :func:`seen_by_not`: the sources seen by sensor A but not by B, with their figures on A.
- :func:`sources_of_sensors`: the sources seen by any of some sensors (the query's ``sensor:``);
  names are matched case-insensitively, and a name no sensor has matches nothing.

Candidate scans per sensor (a scan covering one sensor's space but not another's):
:mod:`scantui.analysis.sensor_collab`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from scantui.analysis.telescope import estimate_size_from_daily

_NAMED = pl.col("sensor").is_not_null()


@dataclass(frozen=True)
class SensorSummary:
    """One sensor's figures (``scantui sensors``, the overview's per-sensor rows)."""

    sensor: str
    packets: int
    probes: int
    sources: int
    space: int
    days: int
    first_day: dt.date | None
    last_day: dt.date | None

    def to_json(self) -> dict[str, Any]:
        return {"sensor": self.sensor, "packets": self.packets, "probes": self.probes, "sources": self.sources,
                "space": self.space, "days": self.days,
                "first_day": self.first_day.isoformat() if self.first_day else None,
                "last_day": self.last_day.isoformat() if self.last_day else None}


def sensor_names(day_totals: pl.LazyFrame) -> list[str]:
    """The data's sensors, sorted (empty when the data has no sensor column or only nulls)."""
    names = day_totals.filter(_NAMED).select(pl.col("sensor").unique()).collect()["sensor"]
    return sorted(names.to_list())


def sensor_spaces(day_totals: pl.LazyFrame) -> dict[str, int]:
    """Each sensor's space (see the module doc): the median over its days of its distinct destinations."""
    daily = day_totals.filter(_NAMED).select("sensor", "day", pl.col("dsts").cast(pl.Int64)).collect()
    return {name: estimate_size_from_daily(part.select("day", "dsts"))
            for (name,), part in sorted(daily.partition_by("sensor", as_dict=True).items())}


def sensor_summary(day_totals: pl.LazyFrame, port_day: pl.LazyFrame,
                   pairs: pl.LazyFrame | None = None) -> list[SensorSummary]:
    """Per-sensor figures, in name order (empty for data without sensors). The distinct sources from the rollup's
    distinct (src, sensor) *pairs* (:mod:`~scantui.analysis.sensor_sources`) where given, else counted over every
    ``port_day`` row (77.6 M at 200 M packets: 2.1-2.3 CPU s, linear in the days)."""
    days = (day_totals.filter(_NAMED).group_by("sensor")
            .agg(pl.col("packets").sum().alias("packets"), pl.col("probes").sum().alias("probes"),
                 pl.col("day").n_unique().alias("days"), pl.col("day").min().alias("first"),
                 pl.col("day").max().alias("last"))
            .collect())
    if pairs is not None:
        from scantui.analysis.sensor_sources import counts

        per_sensor = counts(pairs)
    else:
        per_sensor = port_day.filter(_NAMED).group_by("sensor").agg(pl.col("src").n_unique())
    sources = dict(per_sensor.collect().iter_rows())
    spaces = sensor_spaces(day_totals)
    out = [SensorSummary(name, int(packets), int(probes), int(sources.get(name, 0)), spaces.get(name, 0), int(n),
                         first, last)
           for name, packets, probes, n, first, last in days.sort("sensor").iter_rows()]
    return out


def source_sensors(port_day: pl.LazyFrame) -> pl.DataFrame:
    """One row per source seen by a named sensor: ``src`` and ``sensors`` (its sensors, sorted)."""
    return (port_day.filter(_NAMED).group_by("src").agg(pl.col("sensor").unique().sort().alias("sensors"))
            .sort("src").collect())


def _lower(names: Iterable[str]) -> list[str]:
    return sorted({n.lower() for n in names})


def sources_of_sensors(port_day: pl.LazyFrame, names: Iterable[str], pairs: pl.LazyFrame | None = None) -> pl.Series:
    """The sources seen by any of the sensors *names* (case-insensitive; an unknown name matches nothing), sorted: from
    the rollup's distinct (src, sensor) *pairs* where given (one row per source and sensor), else from every
    ``port_day`` row (77.6 M at 200 M packets: 1-2 CPU s, linear in the days)."""
    wanted = _lower(names)
    rows = pairs if pairs is not None else port_day
    return (rows.filter(pl.col("sensor").str.to_lowercase().is_in(wanted)).select("src").unique().sort("src")
            .collect()["src"])


def seen_by_not(port_day: pl.LazyFrame, only: str, not_: str) -> pl.DataFrame:
    """The sources seen by sensor *only* but never by *not_*: ``src``, their ``packets``, ``probes``, ``ports``
    and ``days`` on *only*, and ``first_day``/``last_day`` there; most packets first (ties: by address)."""
    on_b = port_day.filter(pl.col("sensor") == not_).select("src").unique()
    rows = port_day.filter(pl.col("sensor") == only).join(on_b, on="src", how="anti")
    probe = pl.col("kind") == "probe"
    return (rows.group_by("src")
            .agg(pl.col("packets").sum().cast(pl.UInt64).alias("packets"),
                 pl.col("packets").filter(probe).sum().cast(pl.UInt64).alias("probes"),
                 pl.col("dport").filter(probe).n_unique().cast(pl.UInt32).alias("ports"),
                 pl.col("day").n_unique().cast(pl.UInt32).alias("days"),
                 pl.col("day").min().alias("first_day"), pl.col("day").max().alias("last_day"))
            .sort(["packets", "src"], descending=[True, False]).collect())
