"""The scanner list's exact destination counts, recounted from the packets under a row selection.

Distinct destinations do not add up over rollup rows, so under a port, day or UDP
selection :func:`exact_dsts` recounts them per source from the packets (a
:class:`~scantui.analysis.packet_source.PacketSource` or a LazyFrame): from the
rollup's day tables only the window's days; with a port selection, those days' packet
tables filtered by port (row groups skipped by statistics; only source, destination and
the columns that classify a packet), the distinct ``src << 32 | dst`` keys counted per
source by sorting them (:func:`_distinct_per_source`); without, their distinct
(src, kind, dst) pairs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection

import numpy as np
import polars as pl

from scantui.analysis.packet_source import PacketSource, as_source, narrow
from scantui.analysis.scanner_query import ScannerQuery
from scantui.analysis.traffic import of_kinds as _of_kinds


_IS_IN_MAX = 10_000


def exact_dsts(packets: pl.LazyFrame | PacketSource, q: ScannerQuery, srcs: pl.Series | None,
               active: Collection[dt.date] | None = None, within: tuple[int, int] | None = None,
               sink: Callable[[np.ndarray | None], None] | None = None,
               pairs_at_most: int | None = None) -> pl.DataFrame:
    """Distinct destinations per source (``src``, ``dsts``) recounted from the packets, with the query's
    row selection, for the sources of *srcs* that have selected packets (None: every source that has, e.g.
    before the sources are known).

    *active*: the days the selected rows of *srcs* are on (from ``port_day``), when known: only they are read.
    *within*: (first, last) source address that *srcs* lie in, when known: only their packets are read.
    *sink*: with a port selection and every source (*srcs* None), given the distinct keys counted (sorted), or None
    when there are none to give (a packet without a destination): a kept list's state (:mod:`port_list_state`).
    *pairs_at_most*: a bound the caller knows on the (source, destination) pairs read (e.g. *within*'s selected
    packets): at most :data:`PAIRS_PER_RANGE`, they are counted in one piece, without a pass to size them."""
    source = as_source(packets)
    held = source.days()
    days = None if held is None else [d for d in held if (not q.since or d >= q.since) and (not q.until or d <= q.until)
                                      and (active is None or d in active)]
    wanted = None if srcs is None else pl.LazyFrame({"src": srcs.cast(pl.UInt32)})
    pairs = None if q.ports else source.pairs(days)
    if pairs is not None:  # distinct (src, kind, dst) per day: their union per source is exact
        pairs = pairs.filter(pl.col("kind").cast(pl.String).is_in(q.kinds))
        if within is not None:  # a source range: the pairs' row groups outside it skipped by their statistics
            pairs = pairs.filter(pl.col("src").is_between(*within))
        if srcs is not None and srcs.len() <= _IS_IN_MAX:  # a few sources: their row groups only, hashed
            return _hashed_counts(narrow(pairs, None, srcs.to_list()))
        counts = _pair_counts(pairs, at_most=pairs_at_most)
        return counts if wanted is None else counts.join(wanted.collect(), on="src", how="semi")
    # inside a port, row groups skipped by source too
    few = srcs if srcs is not None and srcs.len() <= _IS_IN_MAX else None
    columns = _KEY_COLUMNS if q.since or q.until else _KEY_COLUMNS[1:]  # the time only for a time window
    lf = source.read_columns(columns, days, ports=q.ports or None, srcs=few)  # only those ports (and few sources)
    if within is not None and few is None:  # a source range: row groups outside it skipped by their statistics
        lf = lf.filter(pl.col("src").is_between(*within))
    lf = lf.filter(_of_kinds(q.kinds))
    day = pl.col("ts").dt.date()
    if q.since:
        lf = lf.filter(day >= q.since)
    if q.until:
        lf = lf.filter(day <= q.until)
    # streamed: the key columns read are not all held at once (16 M keys: 0.24 GiB peak against 0.38 in memory)
    keys = lf.select(_key()).collect(engine="streaming")["key"]
    if keys.null_count():  # a packet without a destination (not in canonical data): counted as one more value
        counts = _hashed_counts(lf)
        if sink is not None:
            sink(None)
    else:
        ordered = keys.sort()  # polars' sort: ~2.5x less CPU than numpy's for these keys (see _distinct_per_source)
        del keys
        counts = _distinct_per_source(ordered.to_numpy(), sink, presorted=True)
    # a source's count depends only on its own packets: the many-source case keeps the counts of *srcs*
    # after counting (one semi join of the counts, not of every packet read)
    return counts if few is not None or wanted is None else counts.join(wanted.collect(), on="src", how="semi")


#: Pairs one source range of :func:`_pair_counts` holds at most (8 bytes each as a key, sorted in place): with
#: ``--include-udp`` or a day window the pairs of every day (or of the window) are counted a range at a time,
#: so the memory is the range's, not the data's (84 days of the 200 M benchmark set: 156 M pairs, a hashed count
#: per source of them all took 13.4 GiB and 69 CPU s).
PAIRS_PER_RANGE = 16_000_000


def _pair_counts(pairs: pl.LazyFrame, budget: int | None = None, at_most: int | None = None) -> pl.DataFrame:
    """Distinct destinations per source (``src``, ``dsts``, by source) of (src, kind, dst) *pairs* (repeated over
    days and kinds), counted by sorting each source range's ``src << 32 | dst`` keys (:func:`_distinct_per_source`):
    ranges of whole /16s of about *budget* pairs (:data:`PAIRS_PER_RANGE`; a /16 holding more is a range of its
    own), each read alone (the pairs' files are sorted by source: a range reads its row groups only). *at_most*: a
    known bound on the pairs: within *budget*, they are not counted first (that pass read a day span's pair files
    once more: a 78-day list at 200 M packets, 22 source ranges, ~4 of its ~16 CPU s here)."""
    budget = budget or PAIRS_PER_RANGE
    ranges: list[tuple[int, int] | None] = [None]
    if (at_most is None or at_most > budget) and (pairs.select(pl.len()).collect().item() or 0) > budget:
        per16 = (pairs.group_by((pl.col("src") // 65536).alias("b")).agg(pl.len().alias("n")).sort("b")
                 .collect(engine="streaming"))
        ranges, first, last, held = [], None, 0, 0
        for b, n in per16.iter_rows():
            if first is not None and held + n > budget:
                ranges.append((first << 16, (last << 16) | 0xFFFF))
                first, held = None, 0
            first = b if first is None else first
            last, held = b, held + n
        if first is not None:
            ranges.append((first << 16, (last << 16) | 0xFFFF))
    parts = []
    for within in ranges:
        part = pairs if within is None else pairs.filter(pl.col("src").is_between(*within))
        keys = part.select(_key()).collect(engine="streaming")["key"]
        if keys.null_count():  # a pair without a destination (not in canonical data): hashed
            parts.append(_hashed_counts(part).sort("src"))
            continue
        ordered = keys.sort()
        del keys
        parts.append(_distinct_per_source(ordered.to_numpy(), presorted=True))
    return parts[0] if len(parts) == 1 else pl.concat(parts)


#: What :func:`exact_dsts` reads of a packet: the day (first: left out without a time window), the key, the classes
#: (:func:`_of_kinds`).
_KEY_COLUMNS = ("ts", "src", "dst", "proto", "dport", "tcp_flags")


def _hashed_counts(lf: pl.LazyFrame) -> pl.DataFrame:
    """Distinct destinations per source by a hashed ``n_unique`` (a few sources, or a destination missing)."""
    return lf.group_by("src").agg(pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts")).collect()


def _key() -> pl.Expr:
    """A (source, destination) pair as one integer, ``src << 32 | dst``: sorted, a source's keys are one run."""
    return (pl.col("src").cast(pl.UInt64) * (1 << 32) + pl.col("dst").cast(pl.UInt64)).alias("key")


def _distinct_per_source(keys: np.ndarray, sink: Callable[[np.ndarray | None], None] | None = None, *,
                         presorted: bool = False) -> pl.DataFrame:
    """The distinct ``src << 32 | dst`` keys counted per source: the keys sorted, then their runs (a hashed
    ``n_unique`` per source took three times the CPU on 16 M packets); *sink* is given the distinct keys, sorted.
    *presorted*: *keys* are sorted already; the callers sort them with polars (16 M random keys: 0.53 CPU s
    against numpy's 1.29 here), the array here then being polars' own (read-only, not copied)."""
    if len(keys) == 0:
        if sink is not None:
            sink(keys.astype(np.uint64))
        return pl.DataFrame(schema={"src": pl.UInt32, "dsts": pl.UInt32})
    if presorted:
        ordered = keys
    elif keys.flags.writeable and keys.flags.owndata:  # the caller's own array: sorted in place, no second copy
        keys.sort()
        ordered = keys
    else:
        ordered = np.sort(keys)
    new = np.empty(len(ordered), dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    if sink is not None:
        sink(ordered[new])
    # each key's source as a view of its high half (no copy of the distinct keys: 16 M keys, 0.13 GiB less peak),
    # and the new keys summed over each source's run
    src = ordered.view(np.uint32)[1 if np.little_endian else 0::2]
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(src[1:], src[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return pl.DataFrame({"src": src[starts], "dsts": np.add.reduceat(new, starts, dtype=np.uint32)})
