"""The scanner list's raw per-source columns from the rollup's ``src_profile``, ``--include-udp`` included.

``src_profile`` and ``src_totals`` hold one row per (source, kind), each exact over the whole data. Without a
port or day narrowing the list's row of a source is its profile row when the query's kinds (probes; with
``--include-udp`` probes and UDP) leave it one: its columns, top ports and exact destinations are that row's and
its ``src_totals`` row's. Only a source with rows of both kinds (a TCP and UDP scanner) needs them merged: its
columns come from its own ``port_day`` rows (:func:`~scantui.analysis.scanner_rows._from_rows`, one source range
at a time above the row budget) and its destinations, which do not add up across kinds, are recounted from the
day tables like the row path's (:func:`~scantui.analysis.dst_recount.exact_dsts`), only for the mixed sources
that make the cut (all of them when the list is sorted by ``dsts``).

So ``--include-udp`` reads the profile and totals rows of both kinds plus the mixed sources' rows, where it
recomputed every probe and UDP row of the data (at 200 M packets over 84 days: 101.7 CPU s); the answer is the
row path's, column for column (tested).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from scantui.analysis import behaviour as bh
from scantui.analysis.packet_source import PacketSource
from scantui.analysis.rollup import Progress
from scantui.analysis.scanner_query import TOP_PORTS, ScannerQuery
from scantui.analysis.scanner_rows import _from_rows, _in_cidrs, _Rows, _source_filters, from_ranges


def profile_answers(q: ScannerQuery) -> bool:
    """True when the profile rows answer *q*: no port or day narrowing (``--include-udp`` may be on)."""
    return not q.ports and q.since is None and q.until is None


@dataclass
class Profiled:
    """The raw columns, ``dsts`` and ``top_ports`` included, and the mixed sources whose ``dsts`` is still null."""

    raw: pl.DataFrame
    mixed: pl.DataFrame | None = None  # ``src`` of the sources recounted after the cut
    rows: _Rows | None = None  # their selected ``port_day`` rows (the days a recount reads)
    recounted: bool = False  # some ``dsts`` were recounted from the packets (in source ranges, with the rows)


def from_profile(src_profile: pl.LazyFrame, src_totals: pl.LazyFrame, port_day: pl.LazyFrame, q: ScannerQuery,
                 src_filter: pl.LazyFrame | None, first_day: dt.date | None, n_days: int,
                 walked: pl.DataFrame | None, recount: PacketSource | None, budget: int,
                 progress: Progress | None = None) -> Profiled:
    """The list's raw columns of every selected source (see the module doc). *recount*: the packets a ranged
    computation of the mixed sources counts their destinations from while it reads their rows; *budget*: the
    packets of one source range (:data:`~scantui.analysis.scanners.ROW_PACKETS_PER_RANGE`); *progress*: as
    :func:`~scantui.analysis.scanner_rows.ranged_table`'s."""
    kinds = pl.col("kind").cast(pl.String).is_in(q.kinds)
    lf = src_profile.filter(kinds)
    if q.cidrs:
        lf = lf.filter(_in_cidrs(q.cidrs))
    if src_filter is not None:
        lf = lf.join(src_filter, on="src", how="semi")
    totals = src_totals.filter(kinds).select("src", "kind", "dsts")
    prof = lf.join(totals, on=["src", "kind"], how="left").collect()
    mixed = prof.filter(pl.col("src").is_duplicated()).select(pl.col("src").unique(maintain_order=True))
    raw = _source_filters(prof.filter(~pl.col("src").is_duplicated()).drop("kind"), q, walked)
    if mixed.height == 0:
        return Profiled(raw)
    ranged = from_ranges(port_day, q, mixed.lazy(), first_day, n_days, recount, walked, budget, progress)
    if ranged is not None:  # each range's top ports (and, with *recount*, destinations) came with it
        part, rows = ranged
        part = part.join(rows.top_ports, on="src", how="left")
    else:
        part, rows = _from_rows(port_day, q, mixed.lazy(), first_day, n_days, None, walked)
        part = part.join(bh.top_ports_from_scans(rows.scans.lazy(), TOP_PORTS).collect(), on="src", how="left")
    if rows.exact is not None:
        part = part.join(rows.exact, on="src", how="left")
    else:
        part = part.with_columns(pl.lit(None, pl.UInt32).alias("dsts"))
    raw = pl.concat([raw, part.select(raw.columns)], how="vertical_relaxed")
    if rows.exact is not None:
        return Profiled(raw, recounted=True)
    return Profiled(raw, part.select("src"), rows)
