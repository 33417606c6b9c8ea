"""One packed integer per row that sorts as several columns do: the day state's sorts, ~3-4x cheaper.

polars sorts one ``UInt64``/``UInt128`` column several times faster than the same rows by
two or three columns (measured on a 600 k-packet day, ``benchmarks/RESULTS.md``, "Session 9":
the packet table by (dport, src, ts) 0.35 -> 0.09 CPU s, ``src_dsts`` by (src, kind, dst)
0.09 -> 0.04 s). :func:`sort_key` packs the columns, each shifted above the ones after it, so
that comparing keys compares the columns in order; nulls get a value of their own below or
above every value, as ``nulls_last`` says, and a stable sort on the key keeps the row order of
ties as ``maintain_order=True`` does. The rows are the same and in the same order as the
multi-column sort (tests/test_sort_keys.py).

Only unsigned integers, ``Int64``-backed temporals and enums pack (the day tables' sort columns);
:func:`sort_key` returns None for anything else or past 128 bits, and the caller sorts by column.
A ``String`` column of a :class:`~polars.DataFrame` (``port_day``'s ``sensor``: a few distinct values)
packs in :func:`sort_by` as an enum of its distinct values, sorted: its index orders as the strings do.
:func:`unpacked` reads the columns back from a ``UInt64`` key, so that rows grouped by their key (one integer
hashed, not several columns) come out sorted by those columns once sorted by the key (the held day's ``port_day``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import polars as pl

_UNSIGNED = {pl.UInt8: 8, pl.UInt16: 16, pl.UInt32: 32, pl.UInt64: 64}
_SIGNED64 = (pl.Int64, pl.Datetime, pl.Duration)  # Int64 underneath


def sorted_u64(values: np.ndarray) -> np.ndarray:
    """*values* (unsigned 64-bit integers, no nulls) sorted, by polars, read-only (polars' buffer): 2-3x less CPU
    than numpy's sort on this box for 16 M keys, random or runs of sorted days (0.46-0.52 against 1.06-1.46 CPU s,
    numpy 2.4.6 on an AVX-512 AMD EPYC; ``benchmarks/RESULTS.md``, "Session 26"), where an older box's numpy sorted
    them ~4x faster than polars. Keys already in a polars ``Series`` are sorted by its ``sort`` where they are made
    (the same sort: ``dst_recount``, ``port_sources``, ``merge_partials.distinct_pairs``)."""
    return pl.Series(values, dtype=pl.UInt64).sort().to_numpy()


def _width(dtype: pl.DataType) -> int | None:
    """Bits of a column's values once made unsigned (without the null slot), or None when it does not pack."""
    if isinstance(dtype, pl.Enum):
        return max(1, (len(dtype.categories) - 1).bit_length())
    if dtype.base_type() in _UNSIGNED:
        return _UNSIGNED[dtype.base_type()]
    if dtype.base_type() in _SIGNED64:
        return 64
    return None


def _unsigned(name: str, dtype: pl.DataType, wide: pl.DataType, cast: bool = False) -> pl.Expr:
    """The column as an unsigned integer of the key's type, in the column's order (nulls kept); *cast*: the
    column is cast to *dtype* (an enum) first."""
    col = pl.col(name).cast(dtype) if cast else pl.col(name)
    if isinstance(dtype, pl.Enum):  # an enum sorts in its categories' order: by its physical index
        return col.to_physical().cast(wide)
    if dtype.base_type() in _UNSIGNED:
        return col.cast(wide)
    return (col.to_physical().cast(pl.Int128) + pl.lit(1 << 63, pl.Int128)).cast(wide)  # signed: shift to 0..2**64


def sort_key(schema: pl.Schema, columns: Sequence[str], *, nulls_last: bool = False,
             enums: Mapping[str, pl.Enum] | None = None, no_nulls: Collection[str] = ()) -> pl.Expr | None:
    """One ``UInt64`` (or ``UInt128``) expression ordering rows as ``sort(*columns, nulls_last=nulls_last)``
    does, or None when a column does not pack or the key would pass 128 bits. *enums*: ``String`` columns
    cast to an enum of their values in sorted order; *no_nulls*: columns holding no null, which get no slot
    for one (:func:`sort_by`)."""
    enums = enums or {}
    schema = pl.Schema({**schema, **enums})
    widths = [_width(schema[c]) for c in columns]
    if any(w is None for w in widths):
        return None
    slots = [w if c in no_nulls else w + 1 for c, w in zip(columns, widths)]  # one more value for nulls
    if sum(slots) > 128:
        return None
    wide = pl.UInt64 if sum(slots) <= 64 else pl.UInt128
    key: pl.Expr | None = None
    for name, width, slot in zip(columns, widths, slots):
        value = _unsigned(name, schema[name], wide, name in enums)
        if name not in no_nulls:
            value = (value.fill_null(pl.lit(1 << width, wide)) if nulls_last
                     else (value + pl.lit(1, wide)).fill_null(pl.lit(0, wide)))
        key = value if key is None else key * pl.lit(1 << slot, wide) + value
    return key


def unpacked(key: pl.Expr, schema: pl.Schema, columns: Sequence[str], *, nulls_last: bool = False,
             enums: Mapping[str, pl.Enum] | None = None, no_nulls: Collection[str] = ()) -> list[pl.Expr] | None:
    """The *columns* back from *key*, the ``UInt64`` :func:`sort_key` of the same arguments, each named and typed
    as in *schema* (an *enums* ``String`` column back to its strings); None when that key is not a ``UInt64`` or
    a column is signed (not unpacked here)."""
    enums = enums or {}
    packed = pl.Schema({**schema, **enums})
    widths = [_width(packed[c]) for c in columns]
    if any(w is None for w in widths) or any(packed[c].base_type() in _SIGNED64 for c in columns):
        return None
    slots = [w if c in no_nulls else w + 1 for c, w in zip(columns, widths)]
    if sum(slots) > 64:
        return None
    u64 = pl.UInt64
    out, below = [], 0
    for name, width, slot in reversed(list(zip(columns, widths, slots))):
        value = key // pl.lit(1 << below, u64) % pl.lit(1 << slot, u64)
        below += slot
        if name not in no_nulls:
            value = (pl.when(value != pl.lit(1 << width, u64)).then(value) if nulls_last
                     else pl.when(value != pl.lit(0, u64)).then(value - pl.lit(1, u64)))
        dtype = packed[name]
        if isinstance(dtype, pl.Enum):  # back from its index
            values = pl.Series(dtype.categories.to_list(), dtype=schema[name] if name in enums else dtype)
            out.append(pl.lit(values).gather(value.cast(pl.UInt32)).alias(name))
        else:
            out.append(value.cast(dtype).alias(name))
    return out[::-1]


def frame_hints(frame: pl.DataFrame, columns: Sequence[str]) -> tuple[dict[str, pl.Enum], set[str]]:
    """:func:`sort_key`'s *enums* and *no_nulls* of the *columns* of *frame*: its ``String`` columns as enums of
    their distinct values, sorted, and its columns without a null."""
    enums = {c: pl.Enum(frame[c].drop_nulls().unique().sort()) for c in columns if frame.schema[c] == pl.String}
    return enums, {c for c in columns if frame[c].null_count() == 0}


def sort_by(frame: pl.DataFrame | pl.LazyFrame, columns: Sequence[str], *, nulls_last: bool = False):
    """*frame* sorted by *columns* (stable: ties keep their order), through :func:`sort_key` when they pack
    (a frame's ``String`` columns as enums of their distinct values, and its columns without a null given no
    slot for one: ``port_day``'s five sort columns then pack into a ``UInt64``, ~1.4x cheaper than a ``UInt128``)."""
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    enums, no_nulls = frame_hints(frame, columns) if isinstance(frame, pl.DataFrame) else ({}, set())
    key = sort_key(schema, columns, nulls_last=nulls_last, enums=enums, no_nulls=no_nulls)
    if key is None:
        return frame.sort(*columns, nulls_last=nulls_last, maintain_order=True)
    return frame.sort(key, maintain_order=True)
