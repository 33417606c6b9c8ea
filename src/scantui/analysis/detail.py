"""What a detail view shows about some sources: per-day volume, ports, tools, and their packets.

For one scanner, a candidate scan's members or a group's members (IPv4 ints).
Volumes, ports and tools come from the rollup's ``port_day`` (small, no packet
read), on every day or on the days of a span (``days=(first, last)``, inclusive: the
TUI's time range; :func:`day_window_us` is the same span in µs for a timing read); the per-IP timing plot needs the packets themselves, read lazily with the
sources, port and time range pushed down (from the rollup's day tables: only the
days ``port_day`` has for them), capped at ``max_rows`` (the plot bins
them; a cap keeps a huge scanner from filling memory, and is reported). Ports, tools and timing are of the
sources' probes, or of the traffic *kinds* given (``("probe", "udp")``: the scanner list with UDP counted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import polars as pl

from scantui.analysis.collab_types import utc_day
from scantui.analysis.fingerprints import TOOLS
from scantui.analysis.packet_source import PacketSource, as_source, src_in
from scantui.analysis.traffic import PROBES, kind_is, of_kinds

T = TypeVar("T")

MAX_TIMING_ROWS = 2_000_000
_DAY_US = 86_400_000_000

#: (first, last) days, inclusive.
DaySpan = tuple[dt.date, dt.date]


def _src_filter(srcs: Sequence[int], days: DaySpan | None = None) -> pl.Expr:
    # port_day's day files are sorted by source: is_in alone read every row group (a source's figures at 200 M,
    # 2.3 -> 0.3 CPU s with the range first)
    cond = src_in(srcs)
    return cond if days is None else cond & pl.col("day").is_between(days[0], days[1])


def day_window_us(days: DaySpan) -> tuple[int, int]:
    """The span of *days* in µs: ``[first day 00:00 UTC, the day after the last 00:00 UTC)``."""
    epoch = dt.date(1970, 1, 1)
    return (days[0] - epoch).days * _DAY_US, ((days[1] - epoch).days + 1) * _DAY_US


def per_day(port_day: pl.LazyFrame, srcs: Sequence[int], *, probes_only: bool = False,
            days: DaySpan | None = None) -> pl.DataFrame:
    """``day``, ``packets``, ``sources`` for *srcs* (all traffic kinds unless *probes_only*; on *days* only)."""
    lf = port_day.filter(_src_filter(srcs, days))
    if probes_only:
        lf = lf.filter(pl.col("kind") == "probe")
    return (lf.group_by("day").agg(pl.col("packets").sum().cast(pl.UInt64), pl.col("src").n_unique().alias("sources"))
            .sort("day").collect())


def ports(port_day: pl.LazyFrame, srcs: Sequence[int], *, days: DaySpan | None = None,
          kinds: Sequence[str] = PROBES) -> pl.DataFrame:
    """``dport``, ``packets``, ``days`` of the sources' probes (of *kinds*; on *days* only), most packets first."""
    return (port_day.filter(_src_filter(srcs, days) & kind_is(kinds))
            .group_by("dport").agg(pl.col("packets").sum().cast(pl.UInt64), pl.col("day").n_unique().alias("days"))
            .sort("packets", "dport", descending=[True, False]).collect())


def tools(port_day: pl.LazyFrame, srcs: Sequence[int], *, days: DaySpan | None = None,
          kinds: Sequence[str] = PROBES) -> dict[str, int]:
    """Packets per tool fingerprint (probes, or *kinds*; on *days* only), largest first, zeros left out."""
    row = (port_day.filter(_src_filter(srcs, days) & kind_is(kinds))
           .select(pl.col(f"tool_{t}").sum().cast(pl.UInt64).alias(t) for t in TOOLS).collect())
    counts = {t: int(row[t][0] or 0) for t in TOOLS}
    return {t: n for t, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n}


def scans_in_days(scans: Sequence[T], days: DaySpan) -> list[T]:
    """The scans (anything with a ``day``: candidate scans) whose day is in *days*, in order: a group's scans
    in the time range, as the candidates list keeps a scan active in it."""
    return [s for s in scans if days[0] <= s.day <= days[1]]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TimingPackets:
    packets: pl.DataFrame  # ts (Datetime us UTC), src (UInt32), dst (UInt32), dport (UInt16)
    capped: bool


def timing_packets(packets: pl.LazyFrame | PacketSource, srcs: Sequence[int], *, port: int | None = None,
                   start_us: int | None = None, end_us: int | None = None,
                   max_rows: int = MAX_TIMING_ROWS, port_day: pl.LazyFrame | None = None,
                   kinds: Sequence[str] = PROBES) -> TimingPackets:
    """The sources' probes (or packets of *kinds*; optionally one port and a time range) for the per-IP timing plot.

    From the rollup's day tables with *port_day*: only the days in the time range on which
    ``port_day`` has the sources' probes (on *port*) are read, narrowed to the sources and port."""
    source = as_source(packets)
    cond = of_kinds(kinds)
    if start_us is not None:
        cond &= pl.col("ts").dt.epoch("us") >= start_us
    if end_us is not None:
        cond &= pl.col("ts").dt.epoch("us") <= end_us

    ports_of: dict[dt.date, list[int]] = {}

    def first(days: list[dt.date] | None, n: int) -> pl.DataFrame:
        """The first *n* probes in time of *days* (not in the order a table holds them: sorted by port); each day
        narrowed to the ports port_day has for the sources that day (its row groups of the others skipped)."""
        if days is not None and ports_of:
            lf = source.read_each({d: (ports_of[d], srcs) for d in days}).filter(cond)
        else:
            lf = source.read(days, ports=None if port is None else [port], srcs=srcs).filter(cond)
        return lf.select("ts", "src", "dst", "dport").sort("ts", maintain_order=True).head(n).collect(engine="streaming")

    if port_day is None or source.days() is None:
        df = first(None, max_rows + 1)
    else:
        rows = port_day.filter(_src_filter(srcs) & kind_is(kinds))
        if port is not None:
            rows = rows.filter(pl.col("dport") == port)
        if start_us is not None:
            rows = rows.filter(pl.col("day") >= utc_day(start_us))
        if end_us is not None:
            rows = rows.filter(pl.col("day") <= utc_day(end_us))
        per_day = rows.group_by("day").agg(pl.col("packets").sum(), pl.col("dport").unique()).sort("day").collect()
        days, counts = per_day["day"].to_list(), per_day["packets"].to_list()
        ports_of.update(zip(days, per_day["dport"].to_list()))
        # the days in order, only until the cap is reached (a scanner's 15 M probes over 84 days: the first
        # ~11 days read, not all); each read takes the days port_day says hold the rows still needed
        parts, have, i = [], 0, 0
        while i < len(days) and have <= max_rows:
            j, held = i, 0
            while j < len(days) and held <= max_rows - have:
                held += counts[j]
                j += 1
            parts.append(first(days[i:j], max_rows + 1 - have))
            have += parts[-1].height
            i = j
        df = pl.concat(parts) if parts else first([], 1)
    capped = df.height > max_rows
    return TimingPackets(df.head(max_rows).sort("ts"), capped)
