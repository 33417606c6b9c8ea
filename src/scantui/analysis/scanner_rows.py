"""The scanner list's per-source columns computed from the selected ``port_day`` rows.

:func:`select_rows` narrows the rollup's ``port_day`` to a query's kinds, days, ports
and CIDRs (and a source set); :func:`_from_rows` reads those rows once and computes
every source's volume, behaviour and schedule columns from them
(:mod:`scantui.analysis.behaviour`, :mod:`scantui.analysis.schedule`), keeping the rows
(:class:`_Rows`) for what the list reads of them after the cut; meanwhile, when asked,
every selected source's destinations are recounted in a thread
(:func:`~scantui.analysis.dst_recount.exact_dsts`). :func:`_source_filters` gives each
source its dominant tool and applies the per-source filters.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from scantui.analysis import behaviour as bh
from scantui.analysis.dst_recount import _IS_IN_MAX, exact_dsts
from scantui.analysis.fingerprints import TOOLS
from scantui.analysis.packet_source import PacketSource
from scantui.analysis.rollup import TOOL_COLUMNS, Progress
from scantui.analysis.scanner_query import ScannerQuery
from scantui.analysis.schedule import schedules

if TYPE_CHECKING:
    from concurrent.futures import Future


def _in_cidrs(cidrs: tuple[ipaddress.IPv4Network, ...]) -> pl.Expr:
    src = pl.col("src").cast(pl.UInt32)
    return pl.any_horizontal([(src & int(n.netmask)) == int(n.network_address) for n in cidrs])


def _window(day_totals: pl.LazyFrame, q: ScannerQuery) -> tuple[dt.date | None, int]:
    lo, hi = day_totals.select(pl.col("day").min().alias("lo"), pl.col("day").max().alias("hi")).collect().row(0)
    if lo is None:
        return None, 0
    lo = max(lo, q.since) if q.since else lo
    hi = min(hi, q.until) if q.until else hi
    return lo, max(0, (hi - lo).days + 1)


_ROW_COLUMNS = ("day", "sensor", "src", "proto", "dport", "packets", "dsts", "first_ts", "last_ts", *TOOL_COLUMNS)


def select_rows(port_day: pl.LazyFrame, q: ScannerQuery, srcs: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """The ``port_day`` rows the query selects (kinds, days, ports, CIDRs, optionally a source set)."""
    kind = pl.col("kind")
    rows = port_day.filter(pl.any_horizontal([kind == k for k in q.kinds]))  # Enum compares, no cast to string
    if q.since:
        rows = rows.filter(pl.col("day") >= q.since)
    if q.until:
        rows = rows.filter(pl.col("day") <= q.until)
    if q.ports:
        rows = rows.filter(pl.col("dport").is_in(q.ports))
    if q.cidrs:
        rows = rows.filter(_in_cidrs(q.cidrs))
    if srcs is not None:
        rows = _only_sources(rows, srcs)
    return rows


def _only_sources(lf: pl.LazyFrame, srcs: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of the given sources: a pushed-down ``is_in`` for a short list, else a semi join."""
    few = srcs.head(_IS_IN_MAX + 1).collect()["src"]
    if len(few) <= _IS_IN_MAX:
        return lf.filter(pl.col("src").is_in(few.cast(pl.UInt32).implode()))
    return lf.join(srcs, on="src", how="semi")


def _dominant_tool() -> pl.Expr:
    """The tool with the most packets (the first in :data:`TOOLS` order on a tie)."""
    top = pl.max_horizontal(TOOL_COLUMNS)
    expr = pl.when(pl.col(TOOL_COLUMNS[0]) == top).then(pl.lit(TOOLS[0]))
    for tool, col in zip(TOOLS[1:], TOOL_COLUMNS[1:]):
        expr = expr.when(pl.col(col) == top).then(pl.lit(tool))
    return expr.alias("tool")


def _source_filters(df: pl.DataFrame, q: ScannerQuery, walked: pl.DataFrame | None = None) -> pl.DataFrame:
    """Dominant tool (``zmap`` also for a source of *walked*, the walk-identified sources, whose dominant
    tool is ``other``; ``variant`` says which rule), then the per-source filters (``--tool``, ``--min-packets``)."""
    from scantui.analysis.zmap_rollup import with_variant

    return _keep_sources(with_variant(df.with_columns(_dominant_tool()), walked), q)


def _keep_sources(df: pl.DataFrame, q: ScannerQuery) -> pl.DataFrame:
    """The per-source filters (``--tool``, ``--min-packets``) of rows that have their ``tool``."""
    if q.tools:
        df = df.filter(pl.col("tool").is_in(q.tools))
    if q.min_packets:
        df = df.filter(pl.col("packets") >= q.min_packets)
    return df


@dataclass
class _Rows:
    """The selected ``port_day`` rows and what the list reads of them again after the cut."""

    rows: pl.DataFrame
    n_sources: int  # the distinct sources of the rows
    scans: pl.DataFrame  # :func:`behaviour.port_scans` of the rows (coverage, then the top ports)
    days: pl.Series  # the distinct days of the rows
    counted: Future[pl.DataFrame] | None = None  # every source's exact destinations, counted in the background
    exact: pl.DataFrame | None = None  # every source's exact destinations, known (kept: :mod:`port_lists`)
    top_ports: pl.DataFrame | None = None  # every source's top ports, known (kept)

    def cancel(self) -> None:
        if self.counted is not None:
            self.counted.cancel()
            self.counted = None

    def of(self, srcs: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
        """(port scans, distinct days) of the rows of the sources *srcs* (distinct, each one of the rows')."""
        if srcs.height == self.n_sources:  # every source of the rows (the whole list)
            return self.scans, self.days
        picked = srcs.select("src")
        return (self.scans.join(picked, on="src", how="semi"),
                self.rows.join(picked, on="src", how="semi")["day"].unique())


def _from_rows(
    port_day: pl.LazyFrame, q: ScannerQuery, src_filter: pl.LazyFrame | None, first_day: dt.date | None, n_days: int,
    recount: PacketSource | None = None, walked: pl.DataFrame | None = None, within: tuple[int, int] | None = None,
) -> tuple[pl.DataFrame, _Rows]:
    """The raw per-source columns computed from the selected ``port_day`` rows (and those rows).

    The rows are read once; the distinct (source, day) pairs (active days, schedule) and the port scans
    (coverage, top ports) are computed once, with the other aggregates, in one ``collect_all``. With
    *recount*, every selected source's exact destinations are counted from it meanwhile, in a thread
    started as soon as the sources are known (polars and numpy release the GIL while they work). *within*: only
    the sources from..to (inclusive), a range of :func:`~scantui.analysis.port_lists.source_ranges`."""
    if within is not None:
        port_day = port_day.filter(pl.col("src").is_between(*within))
    rows = select_rows(port_day, q, src_filter).select(_ROW_COLUMNS).collect()
    base = _source_filters(bh.volume(rows.lazy(), TOOL_COLUMNS).collect(), q, walked)
    if q.tools or q.min_packets:
        rows = rows.join(base.select("src"), on="src", how="semi")
    counted = None
    if recount is not None and base.height:
        pool = ThreadPoolExecutor(1, thread_name_prefix="scantui-dsts")
        counted = pool.submit(exact_dsts, recount, q, base["src"], set(rows["day"].unique().to_list()), within)
        pool.shutdown(wait=False)
    try:
        raw, kept = _aggregates(rows, base, first_day, n_days, apart=_kinds_apart(q))
    except BaseException:
        if counted is not None:
            counted.cancel()
        raise
    kept.counted = counted
    return raw, kept


def _kinds_apart(q: ScannerQuery) -> bool:
    """True when the query's kinds are told apart by the protocol (probes are TCP, UDP is UDP): a (source, day,
    protocol, port) is then one ``port_day`` row per sensor."""
    return set(q.kinds) <= {"probe", "udp"}


def _aggregates(rows: pl.DataFrame, base: pl.DataFrame, first_day: dt.date | None, n_days: int,
                apart: bool = False) -> tuple[pl.DataFrame, _Rows]:
    """The behaviour and schedule columns of *rows* joined to *base* (the volume columns), and the rows kept.
    *apart*: the rows' kinds are told apart by the protocol (:func:`_kinds_apart`)."""
    lazy = rows.lazy()
    # with one sensor, a port's scan days (for the intervals) are its port scans' days: no pass of their own
    one_sensor = rows["sensor"].n_unique() <= 1
    src_days, scans, *intervals = pl.collect_all([
        lazy.select("src", "day").unique(), bh.port_scans(lazy, with_days=one_sensor, one_per_day=one_sensor and apart),
        *([] if one_sensor else [bh.scan_intervals(lazy)])])
    # the distinct ports from the port scans (one row per source and port), not from every row again
    active, coverage, ports, *intervals = pl.collect_all([
        bh.active_days_from(src_days.lazy()), bh.coverage_from_scans(scans.lazy()), bh.port_counts(scans.lazy()),
        *([bh.intervals_from(scans.lazy())] if one_sensor else [])]) + intervals
    window = first_day is not None and n_days > 0  # else no data: no schedule
    sched = schedules(src_days if window else pl.DataFrame(), first_day, n_days)
    raw = bh.join_parts([base, active, ports, intervals[0], coverage, sched])
    return raw, _Rows(rows, base.height, scans, src_days["day"].unique())


def ranged_table(port_day: pl.LazyFrame, q: ScannerQuery, src_filter: pl.LazyFrame | None, first_day: dt.date | None,
                 n_days: int, recount: PacketSource | None, walked: pl.DataFrame | None,
                 ranges: list[tuple[int, int] | None], sink: Callable[[np.ndarray | None], None] | None = None,
                 each_rows: Callable[[pl.DataFrame], None] | None = None,
                 packets_at_most: int | None = None, progress: Progress | None = None) -> pl.DataFrame:
    """Every selected source's raw columns, exact ``dsts`` (with *recount*) and ``top_ports``, computed one source
    range of *ranges* (:func:`~scantui.analysis.port_lists.source_ranges`) at a time: a source's columns are its own,
    so the table is the same whatever the ranges, and one range's rows, keys and schedules are held at once.
    *sink*: given each range's distinct keys (:func:`~scantui.analysis.dst_recount.exact_dsts`); *each_rows*: each
    range's selected rows (a kept list's state, :mod:`port_list_state`); *packets_at_most*: a bound on the packets of
    the selected kinds and days of every range of several sources, whatever the source (each such range's destination
    pairs are then at most that: :func:`~scantui.analysis.dst_recount.exact_dsts`' *pairs_at_most*); *progress*: told
    ``source range I of N`` as each range starts (a day span of a year: minutes of ranges), and may raise there (a
    cancelled :class:`~scantui.workspace.task.Task`'s reporter) to stop the work: nothing is kept of it."""
    from scantui.analysis.scanner_query import TOP_PORTS

    # every range's destinations are counted in one thread, range after range, from the start (they need only the
    # range: a count of a source not in the rows is dropped by the left join), while the ranges' other columns are
    # computed here: the two never wait on each other, and one range's keys and one range's rows are held at once
    counted: list[Future[pl.DataFrame]] = []
    if recount is not None:
        pool = ThreadPoolExecutor(1, thread_name_prefix="scantui-dsts")
        counted = [pool.submit(exact_dsts, recount, q, None, None, within, sink,
                               packets_at_most if within is not None and within[0] != within[1] else None)
                   for within in ranges]
        pool.shutdown(wait=False)
    parts = []
    try:
        for i, within in enumerate(ranges):
            if progress is not None:
                progress(f"source range {i + 1} of {len(ranges)}", i / len(ranges))
            raw, rows = _from_rows(port_day, q, src_filter, first_day, n_days, None, walked, within)
            # rechunked: a join gathers the nested values from many chunks slowly (0.27 CPU s at 145 k sources, 0.02 so)
            top = bh.top_ports_from_scans(rows.scans.lazy(), TOP_PORTS).collect().rechunk()
            if counted:
                raw = raw.join(counted[i].result(), on="src", how="left")
            parts.append(raw.join(top, on="src", how="left"))
            if each_rows is not None:
                each_rows(rows.rows)
    finally:
        for count in counted:
            count.cancel()
    return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical_relaxed").rechunk()


def from_ranges(port_day: pl.LazyFrame, q: ScannerQuery, src_filter: pl.LazyFrame | None, first_day: dt.date | None,
                n_days: int, recount: PacketSource | None, walked: pl.DataFrame | None,
                budget: int, progress: Progress | None = None) -> tuple[pl.DataFrame, _Rows] | None:
    """:func:`_from_rows` one source range at a time (:func:`ranged_table`) when the selected rows hold more than
    *budget* packets; None when they fit in one (then :func:`_from_rows` as ever). The memory is a range's, not the
    data's (``--include-udp`` over 84 days of the 200 M benchmark set held every probe and UDP row at once: 10-13
    GiB). Every source's exact destinations (with *recount*) and top ports ride along in the returned
    :class:`_Rows`, as a kept list's do."""
    from scantui.analysis.port_lists import source_ranges

    ranges = source_ranges(select_rows(port_day, q, src_filter), budget, total_first=True)
    if len(ranges) < 2:
        return None
    # a range of several sources holds at most *budget* selected packets; every source's pairs are counted in it, so
    # that bounds them only when no source was left out of the rows (no source filter, no CIDR)
    bound = budget if src_filter is None and not q.cidrs else None
    table = ranged_table(port_day, q, src_filter, first_day, n_days, recount, walked, ranges, packets_at_most=bound,
                         progress=progress)
    counted = recount is not None
    raw = table.drop("top_ports", *(["dsts"] if counted else []))
    return raw, _Rows(pl.DataFrame(), raw.height, pl.DataFrame(), pl.Series("day", [], pl.Date),
                      exact=table.select("src", "dsts") if counted else None, top_ports=table.select("src", "top_ports"))
