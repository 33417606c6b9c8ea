"""The overview's figures (packets, sources, days, traffic kinds, tools, top ports), from the rollup tables only.

:func:`overview_from_rollup` reads a few small scans of the rollup (``day_totals``,
``src_totals``, ``src_profile``, the days' probe packets per port, then the sources of the top
ports only, from the merge's per-port counts: :mod:`~scantui.analysis.port_sources`), never the packets;
its totals agree with ``scantui info`` (which reads the packets). The TUI's overview
screen draws an :class:`Overview`; :meth:`scantui.workspace.Workspace.overview` memoizes it.
polars is imported inside the function: the TUI's App module imports :class:`Overview`
before its first paint, and polars only after.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scantui.analysis.rollup_cache import Rollup
    from scantui.io.loader import Dataset

TOP_PORTS_SHOWN = 10


@dataclass(frozen=True)
class ToolShare:
    tool: str
    packets: int
    share: float  # of probes
    sources: int


@dataclass(frozen=True)
class PortShare:
    port: int
    packets: int
    sources: int
    share: float  # of probes


@dataclass(frozen=True)
class Overview:
    """The overview screen's figures, all from the rollup tables."""

    packets: int
    sources: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    days: int
    telescope_size: int
    telescope_from: str  # "cidr" | "given" | "estimated"
    traffic: dict[str, int]  # kind -> packets (probe, backscatter, other_tcp, udp, icmp, other)
    tools: tuple[ToolShare, ...]
    top_ports: tuple[PortShare, ...]
    day_list: tuple[dt.date, ...]
    day_packets: tuple[int, ...]
    day_probes: tuple[int, ...]
    skipped: dict[str, int] = field(default_factory=dict)
    sensors: tuple[str, ...] = ()
    inputs: tuple[tuple[str, str, int], ...] = ()  # (path, format, bytes)
    #: Per-sensor figures (:class:`~scantui.analysis.sensors.SensorSummary`) when the data has two sensors or more.
    sensor_rows: tuple[Any, ...] = ()

    @property
    def probes(self) -> int:
        return self.traffic.get("probe", 0)

    @property
    def backscatter(self) -> int:
        return self.traffic.get("backscatter", 0)

    @property
    def other(self) -> int:
        return self.packets - self.probes - self.backscatter


def overview_from_rollup(rollup: Rollup, telescope_size: int, telescope_from: str, dataset: Dataset | None = None) -> Overview:
    """The overview figures of a rollup (a few small scans of its tables; ``port_day`` for the top ports).

    *dataset* (optional) names the input files.
    """
    import polars as pl

    from scantui.analysis.day_ports import busiest
    from scantui.analysis.fingerprints import TOOLS
    from scantui.analysis.rollup import TOOL_COLUMNS

    days = (rollup.day_totals.group_by("day").agg(pl.col("packets", "probes").sum()).sort("day")).collect()
    kinds = rollup.src_totals.group_by("kind").agg(pl.col("packets").sum()).collect()
    traffic = {str(k): int(n) for k, n in kinds.iter_rows()}
    sources = rollup.src_totals.select(pl.col("src").n_unique()).collect().item()
    probes = traffic.get("probe", 0)
    profile = rollup.src_profile
    if profile is not None:
        per_src = profile.filter(pl.col("kind") == "probe")
    else:  # a layout-1 folder: the same sums from port_day
        per_src = rollup.port_day.filter(pl.col("kind") == "probe").group_by("src").agg(pl.col(TOOL_COLUMNS).sum())
    tool_row = per_src.select(
        *[pl.col(c).sum().alias(f"p_{t}") for t, c in zip(TOOLS, TOOL_COLUMNS)],
        *[(pl.col(c) > 0).sum().alias(f"s_{t}") for t, c in zip(TOOLS, TOOL_COLUMNS)],
    ).collect().row(0, named=True)
    tools = tuple(
        ToolShare(t, int(tool_row[f"p_{t}"] or 0), (tool_row[f"p_{t}"] or 0) / probes if probes else 0.0, int(tool_row[f"s_{t}"] or 0))
        for t in TOOLS
    )
    # the busiest ports and their distinct sources from the merge's table (port_sources: a row per port), else the
    # busiest by packets from the days' port tables (at most 65,536 rows a day), then the sources of those ten from
    # the port-sorted copy's row groups of those ports only (0.9 CPU s at 200 M packets; counted for every port they
    # took 8 of the 9 CPU s and 1.2 GiB of the overview there)
    kept = rollup.port_sources
    by_port = rollup.port_day_by_port
    rows = (by_port if by_port is not None else rollup.port_day).filter(pl.col("kind") == "probe")
    totals = kept if kept is not None else rollup.port_totals
    ports = busiest(rows if totals is None else totals, TOP_PORTS_SHOWN).collect()
    shown = ports["dport"].sort()
    if kept is not None:  # counted by the merge: at most 65,536 rows, whatever the data's size
        ports = ports.join(kept.select("dport", "sources").filter(pl.col("dport").is_in(shown.implode())).collect(),
                           on="dport", how="left", maintain_order="left")
    elif len(shown):
        counted = (rows.filter(pl.col("dport").is_between(shown[0], shown[-1]) & pl.col("dport").is_in(shown.implode()))
                   .group_by("dport").agg(pl.col("src").n_unique().alias("sources")).collect())
        ports = ports.join(counted, on="dport", how="left", maintain_order="left")
    else:
        ports = ports.with_columns(pl.lit(0, pl.UInt32).alias("sources"))
    top_ports = tuple(
        PortShare(int(p), int(n), int(s), n / probes if probes else 0.0) for p, n, s in ports.select("dport", "packets", "sources").iter_rows()
    )
    sensors = rollup.day_totals.select(pl.col("sensor").drop_nulls().unique().sort()).collect().to_series().to_list()
    inputs = tuple((str(f.path), f.format, _size(f.path)) for f in dataset.inputs) if dataset is not None else ()
    sensor_rows: tuple[Any, ...] = ()
    if len(sensors) >= 2:
        from scantui.analysis.sensors import sensor_summary

        sensor_rows = tuple(sensor_summary(rollup.day_totals, rollup.port_day, rollup.sensor_pairs))
    meta = rollup.meta
    return Overview(
        packets=int(days["packets"].sum() or 0),
        sources=int(sources or 0),
        first_seen=_parse_ts(meta.get("first_ts")),
        last_seen=_parse_ts(meta.get("last_ts")),
        days=days.height,
        telescope_size=telescope_size,
        telescope_from=telescope_from,
        traffic=traffic,
        tools=tools,
        top_ports=top_ports,
        day_list=tuple(days["day"].to_list()),
        day_packets=tuple(int(v) for v in days["packets"].to_list()),
        day_probes=tuple(int(v) for v in days["probes"].to_list()),
        skipped=rollup.skipped,
        sensors=tuple(sensors),
        inputs=inputs,
        sensor_rows=sensor_rows,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _parse_ts(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None
