"""One day's state (step 2 of :mod:`scantui.analysis.rollup_days`): every per-day table from the day's packets.

:func:`build_day_state` writes ``port_day``, ``unicorn_keys``, ``unicorn_groups``, ``src_dsts``,
``day_totals`` and ``enrichment`` (and collab's group sums, :mod:`~scantui.analysis.collab_sums`, and
the ZMap walk test's day file, :mod:`~scantui.analysis.zmap_rollup`) in one pass, or in passes by
source and session-key range for a day of more than :data:`PASS_PACKETS` packets; the helpers sort
its tables (packed keys, :mod:`~scantui.analysis.sort_keys`) and cut the day into source ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scantui.analysis import collab_sums as cs
from scantui.analysis import day_destinations as dd
from scantui.analysis import day_ports as dp
from scantui.analysis import day_protocols as dpr
from scantui.analysis import rollup as ru
from scantui.analysis import zmap_rollup as zr
from scantui.analysis.fingerprints import SESSIONS_SCHEMA, unicorn_candidate, unicorn_eligible, unicorn_key
from scantui.analysis.rollup_layout import (
    DAY_CODEC, DAY_TOTALS, ENRICHMENT, GROUPS, GROUP_KEYS, KEYS, NARROW_ROW_GROUP, PAIRS, PORT_DAY_BASE,
    PORT_DAY_ORDER, ROW_GROUP, _KIND_BITS, _PAIR_LOW_BITS,
)
from scantui.analysis.sort_keys import frame_hints, sort_by, sort_key, unpacked
from scantui.analysis.source_cuts import source_cuts


def build_day_state(packets: pl.LazyFrame, out: Path, *, pass_packets: int | None = None, held: bool = False) -> None:
    """One day's *packets* into the folder *out* (created): every per-day table, none of which
    depends on the other days (tool counts are those without Unicorn sessions; see :func:`port_day_with`).

    A day of more than *pass_packets* packets (default :data:`PASS_PACKETS`) is built in passes, one
    source range (``port_day``, ``src_dsts``) and one session-key range (``unicorn_keys``,
    ``unicorn_groups``) a pass, each written to a piece and the pieces concatenated in order:
    the same rows in the same order as one pass (every table is sorted by source or by key),
    with the memory of one pass's groups.

    *held*: *packets* are in memory (:func:`~scantui.analysis.day_packets.held_day`); a day of one pass is
    then classified and tooled once into a frame that every table groups (sharing the held columns; the
    new ones ~12 bytes a packet), not once per table (~0.02 CPU s of a 600 k-packet day's ~0.21)."""
    out.mkdir(parents=True, exist_ok=True)
    limit = PASS_PACKETS if pass_packets is None else pass_packets
    n = packets.select(pl.len()).collect().item()  # Parquet metadata for a day split
    passes = max(1, -(-n // limit))
    src_cuts = source_cuts(packets, passes, n)
    key_cuts = [(1 << 32) * i // passes for i in range(1, passes)]  # session keys are hash-like: even ranges
    tooled, packed, counted = None, None, None
    if held and passes == 1:
        prepared = ru.prepare(packets, sessions=pl.DataFrame(schema=SESSIONS_SCHEMA)).collect()
        packed = _packed_port_day(prepared)
        tooled = prepared.lazy()
        del prepared
        counted = _counted_keys(packets)
    classified = ru.classify(packets) if tooled is None else tooled  # (tool is one more column: unread here)
    # sorted by their keys: the same day makes the same bytes
    small = [ru.day_totals(classified).sort("day", "sensor", nulls_last=True).sink_parquet(out / DAY_TOTALS, lazy=True),
             ru.src_day_enrichment(classified, ru.enrichment_columns(packets)).sort("src", "day")
             .sink_parquet(out / ENRICHMENT, lazy=True),
             dd.day_table(classified).sink_parquet(out / dd.TABLE.day_file, lazy=True),
             dp.day_table(classified).sink_parquet(out / dp.TABLE.day_file, lazy=True),
             dpr.day_table(classified).sink_parquet(out / dpr.TABLE.day_file, lazy=True)]
    names = (PORT_DAY_BASE, KEYS, GROUPS, PAIRS)
    pieces: dict[str, list[Path]] = {name: [] for name in names}
    for i in range(passes):
        by_src = packets if passes == 1 else packets.filter(_in_range("src", src_cuts, i))
        by_key = packets if passes == 1 else packets.filter(_in_range("unicorn_key", key_cuts, i, unicorn_key()))
        tables = _day_tables(by_src, by_key, tooled, counted)
        if packed is not None:
            tables[0] = packed[0]
        # sorted in memory after the streaming run: a streaming sort costs more than the rest of the day
        frames = pl.collect_all([*tables, *(small if i == 0 else [])], engine="streaming")
        for name, frame, (order, nulls_last) in zip(names, frames, _DAY_ORDER):
            target = out / name if passes == 1 else out / f"{name}.{i}.tmp"
            if name == PAIRS:
                frame = _distinct_pairs_sorted(frame)
            elif name == KEYS:  # held: counted in key order already
                frame = _keys_sorted(frame) if counted is None else frame
            elif packed is not None and name == PORT_DAY_BASE:  # grouped by its packed sort key: sorted by that
                frame = frame.sort(_PACKED).select(packed[1])
            elif name == PORT_DAY_BASE:  # its sort columns pack into one integer key: ~3x cheaper
                frame = sort_by(frame, order, nulls_last=nulls_last)
            else:
                frame = frame.sort(*order, nulls_last=nulls_last)
            frame.write_parquet(target, row_group_size=_row_group(name), **DAY_CODEC)
            pieces[name].append(target)
            if passes == 1 and name == PORT_DAY_BASE:  # collab's sums from the rows held (day_files' read saved)
                cs.write_day_sums(frame, out / ENRICHMENT, out / cs.DAY_FILE)
        del frames, tables, frame
    del tooled, classified, small, packed, counted
    if passes > 1:
        for name in names:  # streamed: one row group at a time, in pass order
            pl.scan_parquet(pieces[name], glob=False).sink_parquet(out / name, row_group_size=_row_group(name),
                                                                   engine="streaming", **DAY_CODEC)
            for piece in pieces[name]:
                piece.unlink()
        cs.write_day_sums(out / PORT_DAY_BASE, out / ENRICHMENT, out / cs.DAY_FILE)  # not held whole: read back
    zr.write_day(packets, out)  # the ZMap walk test on the day's pre-screened sources (after day_totals)


#: Packets one pass of :func:`build_day_state` groups at once. Measured on a 35 M-packet day (state
#: alone): one pass 3.5 GiB peak, 48.8 CPU s; passes of 18 M 1.9 GiB, 53.8 s; 12 M 1.5 GiB, 54.5 s;
#: 6 M 1.3 GiB, 63.9 s (every pass reads the whole day again).
PASS_PACKETS = 12_000_000


def _row_group(name: str) -> int:
    """Rows per row group of a per-day table: :data:`NARROW_ROW_GROUP` for those the merge reads by source range."""
    return NARROW_ROW_GROUP if name in (PORT_DAY_BASE, PAIRS) else ROW_GROUP


#: Sort order (and nulls last?) of each per-day table (``port_day``, ``unicorn_keys``, ``unicorn_groups``, ``src_dsts``).
_DAY_ORDER = ((PORT_DAY_ORDER, False), (("unicorn_key",), False), (("unicorn_key", *GROUP_KEYS, "tool"), True),
              (("src", "kind", "dst"), False))


def _day_tables(by_src: pl.LazyFrame, by_key: pl.LazyFrame, tooled: pl.LazyFrame | None = None,
                counted: pl.DataFrame | None = None) -> list[pl.LazyFrame]:
    """``port_day`` and ``src_dsts`` of the packets *by_src*, session keys and groups of *by_key*; *tooled*: the
    packets (both) already through :func:`~scantui.analysis.rollup.prepare`, held in memory; *counted*: the
    session keys already counted (:func:`_counted_keys`)."""
    held = tooled is not None
    tooled = ru.prepare(by_src, sessions=pl.DataFrame(schema=SESSIONS_SCHEMA)) if tooled is None else tooled
    keyed = ru.prepare(by_key, sessions=pl.DataFrame(schema=SESSIONS_SCHEMA)) if by_key is not by_src else tooled
    keys = (by_key.filter(unicorn_candidate()).select(unicorn_key()).group_by("unicorn_key")
            .agg(pl.len().cast(pl.UInt32).alias("n"))) if counted is None else counted.lazy()
    shared = keys.filter(pl.col("n") >= 2).select("unicorn_key")
    groups = (keyed.filter(unicorn_eligible()).with_columns(unicorn_key()).join(shared, on="unicorn_key", how="semi")
              .group_by("unicorn_key", *GROUP_KEYS, "tool").agg(pl.len().cast(pl.UInt32).alias("packets")))
    # a held day's pairs are made distinct by their sort (_distinct_pairs_sorted), not by a unique() first; a day
    # not held keeps the unique() in its streaming run (one pass's distinct pairs held, not its packets)
    pairs = (tooled if held else ru.classify(by_src)).select("src", "kind", "dst")
    return [ru.port_day(tooled).drop("day"), keys, groups, pairs if held else pairs.unique()]


#: The packed key's column in the held day's ``port_day`` group-by (:func:`_packed_port_day`).
_PACKED = "_port_day_key"


def _packed_port_day(tooled: pl.DataFrame) -> tuple[pl.LazyFrame, list[pl.Expr]] | None:
    """The held day's ``port_day`` grouped by one ``UInt64``, the :func:`sort_key` of :data:`PORT_DAY_ORDER` (the
    day's ``String`` sensors as an enum, its columns without a null given no slot for one), not by the five columns
    and the day: the group-by (the key as :data:`_PACKED`) and the expressions taking its rows, sorted by the key,
    to ``port_day``'s columns (but the day). The same rows in the same order as :func:`~scantui.analysis.rollup.port_day`
    sorted by :func:`sort_by` (one integer hashed, and sorted, in place of six columns: a dev day's 266 k rows
    0.11 -> 0.08 CPU s). None (group by the columns) when the packets are not of one day, or the key would pass 64 bits."""
    day = tooled["day"]
    if tooled.height == 0 or day.null_count() or day.min() != day.max():
        return None
    enums, no_nulls = frame_hints(tooled, PORT_DAY_ORDER)
    columns = unpacked(pl.col(_PACKED), tooled.schema, PORT_DAY_ORDER, enums=enums, no_nulls=no_nulls)
    key = sort_key(tooled.schema, PORT_DAY_ORDER, enums=enums, no_nulls=no_nulls)
    if columns is None or key is None:
        return None
    unpack = {e.meta.output_name(): e for e in columns}
    grouped = tooled.lazy().group_by(key.alias(_PACKED)).agg(ru.port_day_aggregates())
    return grouped, [unpack.get(c, pl.col(c)) for c in ru.PORT_DAY_SCHEMA.names() if c != "day"]


def _distinct_pairs_sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """The distinct (src, kind, dst) rows of *frame* sorted by them, as :func:`sort_by` sorts its distinct rows.

    Each row is one ``UInt128`` (the source above the kind's index above the destination), sorted and kept
    where it differs from the one before, then unpacked: no hash ``unique`` and no gather of the rows by a
    sorted index (a dev day's 600 k packets: 0.067 -> 0.026 CPU s). A frame with a null takes
    ``unique`` and :func:`sort_by` instead (nulls sort first there; the same rows either way)."""
    if any(frame[c].null_count() for c in ("src", "kind", "dst")):
        return sort_by(frame.unique(), ("src", "kind", "dst"))
    u128 = pl.UInt128()
    high, low = pl.lit(1 << _PAIR_LOW_BITS, u128), pl.lit(1 << 32, u128)
    k = pl.col("k")
    kinds = pl.lit(pl.Series(ru.KINDS, dtype=ru.KIND_DTYPE))
    key = pl.col("src").cast(u128) * high + pl.col("kind").to_physical().cast(u128) * low + pl.col("dst").cast(u128)
    return (frame.lazy().select(key.alias("k")).sort("k").filter((k != k.shift(1)).fill_null(True))
            .select((k // high).cast(pl.UInt32).alias("src"),
                    kinds.gather((k // low % pl.lit(1 << _KIND_BITS, u128)).cast(pl.UInt32)).alias("kind"),
                    (k % low).cast(pl.UInt32).alias("dst"))
            .collect())


def _counted_keys(packets: pl.LazyFrame) -> pl.DataFrame | None:
    """The held day's key counts (``unicorn_keys``): its SYN probes' session keys sorted and counted in runs, not
    hashed by a group-by and then sorted (:func:`_keys_sorted`; a dev day's 528 k keys: 0.027 -> 0.016 CPU s).
    None when a key is null (the group-by and its sort then place it)."""
    keys = packets.filter(unicorn_candidate()).select(unicorn_key()).collect()["unicorn_key"]
    if keys.null_count():
        return None
    runs = keys.sort().rle().struct.unnest()
    return pl.DataFrame([runs["value"].alias("unicorn_key"), runs["len"].cast(pl.UInt32).alias("n")])


def _keys_sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """The day's key counts (distinct ``unicorn_key``, ``n``) sorted by key: each row packed into one ``UInt64``
    (key above count) and that one column sorted, not a sort of the frame by index and a gather (a dev day's
    516 k keys: 0.023 -> 0.013 CPU s). A null key (nulls first) takes the frame's sort."""
    if frame["unicorn_key"].null_count():
        return frame.sort("unicorn_key")
    s = (frame["unicorn_key"].cast(pl.UInt64) * (1 << 32) + frame["n"].cast(pl.UInt64)).sort()
    return pl.DataFrame([(s // (1 << 32)).cast(pl.UInt32).alias("unicorn_key"), (s % (1 << 32)).cast(pl.UInt32).alias("n")])


def _in_range(column: str, cuts: Sequence[int], i: int, expr: pl.Expr | None = None) -> pl.Expr:
    """Rows of range *i* of *column* cut at *cuts* (range ``i`` is ``[cuts[i-1], cuts[i])``; nulls in the last)."""
    col = pl.col(column) if expr is None else expr
    if i > len(cuts):
        return pl.lit(False)
    lower = None if i == 0 else col >= cuts[i - 1]
    upper = col.is_null() if i == len(cuts) else col < cuts[i]
    if i == len(cuts):
        return upper if lower is None else (lower | upper)
    return upper if lower is None else (lower & upper)
