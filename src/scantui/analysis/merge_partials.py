"""The merge's partial aggregates and their folds (:mod:`scantui.analysis.rollup_days`, step 5).

Each day's ``port_day`` rows become partials of the merged state's tables (:func:`_day_partials`:
plain group-bys, or one packed integer key and a numpy sort), folded by the same aggregates however
they are grouped (:func:`_fold`, :func:`_fold_sums`); :func:`distinct_pairs` unions the destination
pairs of a source range; :func:`_grown_ports` is what an extension's new days change in the port tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from scantui.analysis import behaviour as bh
from scantui.analysis import port_sources
from scantui.analysis import rollup as ru
from scantui.analysis.port_day_files import DayFiles
from scantui.analysis.rollup_layout import (
    BASE, BASE_SCHEMA, COVER, INTERVALS, PAIRS_SCHEMA, PORTS, PORTS_SCHEMA, PORT_SCANS, PORT_SCANS_SCHEMA, SRC_DAYS,
    SRC_DAYS_SCHEMA, _KIND_BITS, _PAIR_LOW_BITS, _PORT_KEYS, _SCAN_KEYS, _SCHEMAS, _SUMS,
)
from scantui.analysis.sort_keys import sort_by, sort_key, sorted_u64


class _Partials(tuple):
    """The four partial frames of :func:`_day_partials`; ``ordered``: each in its table's :data:`_ORDER`."""

    ordered = False


def _day_partials(days: Sequence[DayFiles], where: pl.Expr, *, collect: bool = False) -> _Partials:
    """The contribution of *days* to :data:`BASE` (without ``dsts``), :data:`PORTS`, :data:`PORT_SCANS` and
    :data:`SRC_DAYS` in the source range *where*: already folded (one row per key), so a valid partial
    of each. Every day's ``port_day`` rows of the range are read in one scan of all their files (row
    groups outside the range skipped by statistics) and grouped in memory once: a group-by per day and
    file, folded after, cost ~8x as much (each of thousands of small scans has a fixed cost).
    *collect*: the partials are computed now and the rows dropped (one of several runs of days).
    Grouped by packed keys where the rows allow (:func:`_packed_partials`; rows of one sensor reduced in one
    sort, :func:`_sorted_partials`: then ``ordered``)."""
    paths = [str(d.port_day) for d in days]
    file_day = dict(zip(paths, [d.day for d in days]))
    # a scan per file with its day as a literal, collected together: ~20 % less CPU than one scan's file-path
    # column mapped to days, the same rows in the same order
    rows = (pl.concat(pl.collect_all([pl.scan_parquet(f, glob=False).filter(where).with_columns(pl.lit(day, pl.Date()).alias("day"))
                                      for f, day in file_day.items()]), rechunk=False) if days
            else pl.DataFrame(schema=ru.PORT_DAY_SCHEMA))
    names = rows["sensor"].unique()
    sensors = sorted(names.drop_nulls().to_list())
    span = (max(file_day.values()) - min(file_day.values())).days if days else 0
    packs = (bool(days) and span < 1 << _DAY_BITS and len(sensors) <= _PACKED_SENSORS
             and rows["src"].null_count() == 0 and rows["kind"].null_count() == 0)
    if packs and len(names) <= 1 and rows.height and not any(rows[c].null_count() for c in _SUMMED):
        out = [f.lazy() for f in _sorted_partials(rows, min(file_day.values()), sensors)]
    elif packs:
        out = _packed_partials(rows.lazy(), min(file_day.values()), sensors, len(names) <= 1)
    else:
        out = _plain_partials(rows.lazy())
    if collect:
        out = [f.lazy() for f in pl.collect_all(out)]
    parts = _Partials(out)
    parts.ordered = packs
    return parts


def _plain_partials(rows: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """:func:`_day_partials` of *rows* (``port_day`` rows with their ``day``) grouped by the key columns (the
    reference for :func:`_packed_partials`, and the path of rows it cannot pack)."""
    days_of = pl.col("day").n_unique().cast(pl.UInt32)
    base = rows.group_by("src", "kind").agg(
        pl.col("packets").cast(pl.UInt64).sum(), pl.col("first_ts").min(), pl.col("last_ts").max(),
        *[pl.col(c).cast(pl.Int64).sum() for c in ru.TOOL_COLUMNS], days_of.alias("days"),
    ).with_columns(pl.lit(0, pl.UInt64()).alias("dsts"))
    ports = rows.group_by(_PORT_KEYS).agg(
        days_of.alias("scans"), pl.col("day").min().alias("d0"), pl.col("day").max().alias("d1"))
    # a day's port scan sums its sensors; over the days: packets summed, days counted, the best day's dsts
    scans = (rows.group_by(*_SCAN_KEYS, "day")
             .agg(pl.col("packets").cast(pl.UInt64).sum(), pl.col("dsts").sum().cast(pl.UInt32))
             .group_by(_SCAN_KEYS)
             .agg(pl.col("packets").sum(), pl.len().cast(pl.UInt32).alias("scans"), pl.col("dsts").max()))
    src_days = rows.select("src", "kind", "day").unique()
    return (base.select(BASE_SCHEMA.names()), ports.select(PORTS_SCHEMA.names()),
            scans.select(PORT_SCANS_SCHEMA.names()), src_days.cast(dict(SRC_DAYS_SCHEMA)))


#: The packed keys of :func:`_packed_partials`: (src, kind) in 35 bits; with (proto, dport, sensor), each one
#: more than its value or index (0: null), in 64; with the day's offset from the first day in 55.
_U64 = pl.UInt64()
_PROTO_BITS, _DPORT_BITS, _SENSOR_BITS, _DAY_BITS = 9, 17, 3, 20
_PORT_BITS = _PROTO_BITS + _DPORT_BITS + _SENSOR_BITS
#: Sensors a source range's rows may name for :func:`_packed_partials` (one slot is for null).
_PACKED_SENSORS = (1 << _SENSOR_BITS) - 1


def _src_kind_key() -> pl.Expr:
    return pl.col("src").cast(_U64) * pl.lit(1 << _KIND_BITS, _U64) + pl.col("kind").to_physical().cast(_U64)


def _slot(value: pl.Expr) -> pl.Expr:
    return (value.cast(_U64) + pl.lit(1, _U64)).fill_null(pl.lit(0, _U64))


def _port_key(sensors: Sequence[str]) -> pl.Expr:
    """(src, kind, proto, dport, sensor) as one key; *sensors*: the sensor names, sorted (their index is packed)."""
    index = pl.col("sensor").replace_strict({name: i for i, name in enumerate(sensors)}, return_dtype=pl.UInt8)
    key = _src_kind_key()
    for value, bits in ((pl.col("proto"), _PROTO_BITS), (pl.col("dport"), _DPORT_BITS), (index, _SENSOR_BITS)):
        key = key * pl.lit(1 << bits, _U64) + _slot(value)
    return key


def _unpack(k: pl.Expr, sensors: Sequence[str] | None = None) -> list[pl.Expr]:
    """The key columns of a packed (src, kind) key, or of a port key (*sensors*: its sensor names)."""
    sk = k if sensors is None else k // pl.lit(1 << _PORT_BITS, _U64)
    kinds = pl.lit(pl.Series(ru.KINDS, dtype=ru.KIND_DTYPE))
    out = [(sk // pl.lit(1 << _KIND_BITS, _U64)).cast(pl.UInt32).alias("src"),
           kinds.gather(sk % pl.lit(1 << _KIND_BITS, _U64)).alias("kind")]
    if sensors is not None:
        def field(shift: int, bits: int) -> pl.Expr:
            return k // pl.lit(1 << shift, _U64) % pl.lit(1 << bits, _U64)
        proto, dport = field(_DPORT_BITS + _SENSOR_BITS, _PROTO_BITS), field(_SENSOR_BITS, _DPORT_BITS)
        names = pl.lit(pl.Series([None, *sensors], dtype=pl.String()))
        out += [pl.when(proto > 0).then(proto - 1).cast(pl.UInt8).alias("proto"),
                pl.when(dport > 0).then(dport - 1).cast(pl.UInt16).alias("dport"),
                names.gather(field(0, _SENSOR_BITS)).alias("sensor")]
    return out


def _packed_partials(rows: pl.LazyFrame, first: dt.date, sensors: Sequence[str], one_sensor: bool
                     ) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """:func:`_plain_partials` grouped by one packed integer key instead of two to five columns: the same rows
    (``benchmarks/RESULTS.md``, "Session 12", wt-merge12). *rows* hold no null source or kind, their days are
    fewer than 2^20 from *first*, and their sensors are the sorted *sensors* (at most :data:`_PACKED_SENSORS`)
    and null; *one_sensor*: all rows have the same sensor (or all none).

    A ``port_day`` file holds one row per (sensor, src, proto, dport, kind) of its day, so a port's days
    are its rows, and with one sensor a port scan's day is one row. Each frame comes out sorted by its
    key (:data:`_ORDER`; sensors by name): one integer sorted per table, not its columns when written."""
    days_of = pl.col("day").n_unique().cast(pl.UInt32)
    k = pl.col("_k")
    port_key = _port_key(sensors)
    base = rows.group_by(_src_kind_key().alias("_k")).agg(
        pl.col("packets").cast(pl.UInt64).sum(), pl.col("first_ts").min(), pl.col("last_ts").max(),
        *[pl.col(c).cast(pl.Int64).sum() for c in ru.TOOL_COLUMNS], days_of.alias("days"),
    ).sort("_k").with_columns(*_unpack(k), pl.lit(0, pl.UInt64()).alias("dsts"))
    ports = rows.group_by(port_key.alias("_k")).agg(
        pl.len().cast(pl.UInt32).alias("scans"), pl.col("day").min().alias("d0"), pl.col("day").max().alias("d1")
    ).sort("_k").with_columns(*_unpack(k, sensors))
    # a port scan (the port key less the sensor) of a day sums its sensors' rows
    scan_key = (port_key // pl.lit(1 << _SENSOR_BITS, _U64)).alias("_k")
    by_day = (rows.select(scan_key, "day", pl.col("packets").cast(pl.UInt64), pl.col("dsts").cast(pl.UInt32))
              if one_sensor else
              rows.group_by(scan_key, "day").agg(pl.col("packets").cast(pl.UInt64).sum(),
                                                 pl.col("dsts").sum().cast(pl.UInt32)))
    scans = (by_day.group_by("_k").agg(pl.col("packets").sum(), pl.len().cast(pl.UInt32).alias("scans"),
                                       pl.col("dsts").max())
             .sort("_k").with_columns(*_unpack(k * pl.lit(1 << _SENSOR_BITS, _U64), sensors)))
    offset = (pl.col("day") - pl.lit(first)).dt.total_days().cast(_U64)
    src_days = (rows.select((_src_kind_key() * pl.lit(1 << _DAY_BITS, _U64) + offset).alias("_k")).unique().sort("_k")
                .select(*_unpack(k // pl.lit(1 << _DAY_BITS, _U64)),
                        (pl.lit(first).cast(pl.Int32) + (k % pl.lit(1 << _DAY_BITS, _U64)).cast(pl.Int32))
                        .cast(pl.Date).alias("day")))
    return (base.select(BASE_SCHEMA.names()), ports.select(PORTS_SCHEMA.names()),
            scans.select(PORT_SCANS_SCHEMA.names()), src_days.cast(dict(SRC_DAYS_SCHEMA)))


#: The ``port_day`` columns :func:`_sorted_partials` reduces (none may hold a null there: the group-bys skip them).
_SUMMED = ("day", "packets", "dsts", "first_ts", "last_ts", *ru.TOOL_COLUMNS)


def _starts(keys: np.ndarray) -> np.ndarray:
    """The index of the first row of each run of equal *keys* (sorted, at least one)."""
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))


def _sorted_partials(rows: pl.DataFrame, first: dt.date, sensors: Sequence[str]
                     ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """:func:`_packed_partials` of *rows* of one sensor (or none), at least one, with no null in :data:`_SUMMED`:
    the rows ordered once by their port key, whose leading bits are the port scan's and the (src, kind)'s
    keys, so each table's groups are runs of that one order, reduced in place (``np.ufunc.reduceat``)
    instead of four hash group-bys and four sorts of their results (``benchmarks/RESULTS.md``, "Session
    15", wt-merge15). The same rows in the same order: a port scan's day is one row with one sensor, sums
    and extrema do not depend on the order of a run's rows, and the days of a (src, kind) are its distinct
    (key, day) pairs. numpy sorts one integer column several times faster than polars here (SIMD sorts)."""
    u64 = np.uint64
    keys = rows.select(_port_key(sensors)).to_series().to_numpy()
    order = np.argsort(keys)
    keys = keys[order]
    n = len(keys)

    def column(name: str) -> np.ndarray:
        return rows[name].to_physical().to_numpy()[order]

    def counts(starts: np.ndarray, total: int) -> np.ndarray:
        return np.diff(np.append(starts, total)).astype(np.uint32)

    day, packets = column("day"), column("packets").astype(u64)
    k = pl.col("_k")
    at = _starts(keys)
    ports = (pl.DataFrame({"_k": keys[at], "scans": counts(at, n), "d0": np.minimum.reduceat(day, at),
                           "d1": np.maximum.reduceat(day, at)})
             .with_columns(pl.col("d0", "d1").cast(pl.Date), *_unpack(k, sensors)).select(PORTS_SCHEMA.names()))
    scan_keys = keys >> u64(_SENSOR_BITS)
    at = _starts(scan_keys)
    scans = (pl.DataFrame({"_k": scan_keys[at] << u64(_SENSOR_BITS), "packets": np.add.reduceat(packets, at),
                           "scans": counts(at, n), "dsts": np.maximum.reduceat(column("dsts"), at)})
             .with_columns(*_unpack(k, sensors)).select(PORT_SCANS_SCHEMA.names()))
    src_kind = keys >> u64(_PORT_BITS)
    offset = (day - np.int32((first - dt.date(1970, 1, 1)).days)).astype(u64)
    day_keys = sorted_u64((src_kind << u64(_DAY_BITS)) + offset)  # (src, kind, day)
    day_keys = day_keys[_starts(day_keys)]
    at_days = _starts(day_keys >> u64(_DAY_BITS))
    at = _starts(src_kind)
    base = pl.DataFrame({
        "_k": src_kind[at], "packets": np.add.reduceat(packets, at),
        "first_ts": np.minimum.reduceat(column("first_ts"), at), "last_ts": np.maximum.reduceat(column("last_ts"), at),
        **{c: np.add.reduceat(column(c).astype(np.int64), at) for c in ru.TOOL_COLUMNS},
        "days": counts(at_days, len(day_keys))})
    base = base.with_columns(pl.col("first_ts", "last_ts").cast(ru.TS_DTYPE), *_unpack(k),
                             pl.lit(0, pl.UInt64()).alias("dsts")).select(BASE_SCHEMA.names())
    src_days = pl.DataFrame({"_k": day_keys}).select(
        *_unpack(k // pl.lit(1 << _DAY_BITS, _U64)),
        (pl.lit(first).cast(pl.Int32) + (k % pl.lit(1 << _DAY_BITS, _U64)).cast(pl.Int32)).cast(pl.Date).alias("day"))
    return base, ports, scans, src_days.cast(dict(SRC_DAYS_SCHEMA))


def _tool_sums(port_day: Path, sign: int, where: pl.Expr) -> pl.LazyFrame:
    """A :data:`BASE` row per (src, kind) holding *sign* times the file's tool counts and nothing else."""
    return pl.scan_parquet(port_day, glob=False).filter(where).group_by("src", "kind").agg(
        *[(pl.col(c).cast(pl.Int64).sum() * sign).alias(c) for c in ru.TOOL_COLUMNS]
    ).with_columns(pl.lit(0, pl.UInt64()).alias("packets"), pl.lit(None, ru.TS_DTYPE).alias("first_ts"),
                   pl.lit(None, ru.TS_DTYPE).alias("last_ts"), pl.lit(0, pl.UInt32()).alias("days"),
                   pl.lit(0, pl.UInt64()).alias("dsts")).select(BASE_SCHEMA.names())


def _fold(frames: Sequence[pl.LazyFrame], kind: str) -> pl.LazyFrame:
    """Partial aggregates of one kind (all of one schema) into one row per key: exact, and the
    same whatever the grouping of the partials (sums, minima, maxima)."""
    lf = pl.concat([f.cast(dict(_SCHEMAS[kind])) for f in frames])
    if kind == BASE:
        out = lf.group_by("src", "kind").agg(
            pl.col("packets").sum(), pl.col("first_ts").min(), pl.col("last_ts").max(),
            *[pl.col(c).sum() for c in ru.TOOL_COLUMNS], pl.col("days").sum(), pl.col("dsts").sum())
    elif kind == PORTS:
        out = lf.group_by("src", "kind", "sensor", "proto", "dport").agg(
            pl.col("scans").sum(), pl.col("d0").min(), pl.col("d1").max())
    else:
        out = lf.group_by("src", "kind", "proto", "dport").agg(
            pl.col("packets").sum(), pl.col("scans").sum(), pl.col("dsts").max())
    return out.select(_SCHEMAS[kind].names())


def _intervals(ports: pl.LazyFrame, sign: int = 1) -> pl.LazyFrame:
    """:data:`INTERVALS` rows (``n`` = *sign*) of folded :data:`PORTS` rows scanned on two days or more."""
    return ports.filter(pl.col("scans") >= 2).select(
        "src", "kind", (pl.col("d1") - pl.col("d0")).dt.total_days().cast(pl.Int64).alias("gap"),
        (pl.col("scans") - 1).cast(pl.UInt32).alias("k"), pl.lit(sign, pl.Int64()).alias("n"))


def _cover(scans: pl.LazyFrame, sign: int = 1) -> pl.LazyFrame:
    """:data:`COVER` rows (*sign* times one per row) of folded :data:`PORT_SCANS` rows."""
    return scans.select("src", "kind", pl.lit(sign, pl.Int64()).alias("ports"), (pl.col("dsts").cast(pl.Int64) * sign).alias("dsts"))


def _fold_sums(frames: Sequence[pl.LazyFrame], table: str) -> pl.LazyFrame:
    """Signed :data:`_SUMS` partials into one row per key (rows that sum to nothing dropped)."""
    keys = ["src", "kind", "gap", "k"] if table == INTERVALS else ["src", "kind"]
    value = "n" if table == INTERVALS else "ports"
    lf = pl.concat([f.cast(dict(_SUMS[table])) for f in frames])
    return lf.group_by(keys).agg(pl.all().sum()).filter(pl.col(value) != 0).select(_SUMS[table].names())


#: The order of each merged-state table's rows: its key (unique in a file), source first.
_ORDER = {BASE: ("src", "kind"), PORTS: ("src", "kind", "proto", "dport", "sensor"), PORT_SCANS: tuple(_SCAN_KEYS),
          SRC_DAYS: ("src", "kind", "day"), INTERVALS: ("src", "kind", "gap", "k"), COVER: ("src", "kind")}


def _key_sorted(df: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """*df* sorted by *columns*, the longest leading run of them that packs (:func:`sort_key`) as one key."""
    for n in range(len(columns), 0, -1):
        key = sort_key(df.schema, columns[:n])
        if key is not None:
            return df.sort([key, *columns[n:]]) if n < len(columns) else df.sort(key)
    return df.sort(columns)


def distinct_pairs(files: Sequence[str], lo: int, hi: int) -> pl.DataFrame:
    """The distinct (src, kind, dst) rows of the pair *files* (:data:`PAIRS_SCHEMA`) with a source in [*lo*,
    *hi*], sorted by (src, kind, dst) as :func:`~scantui.analysis.sort_keys.sort_by` sorts them.

    Each pair is one ``UInt64`` (the source less *lo*, above the kind's index, above the destination), sorted
    and kept where it differs from the one before: one sort of one integer column, where a three-column
    ``unique`` and then a sort of the distinct rows cost about twice as much (84 days' pairs of one range:
    ``benchmarks/RESULTS.md``, "Session 11", wt-merge11); numpy's sort of it, ~4x cheaper than polars'
    ("Session 15", wt-merge15). A range too wide for the key, or a null, takes
    that path instead (the same rows). Each file must hold distinct pairs (a day state's ``src_dsts``)."""
    lf = pl.scan_parquet(list(files), schema=PAIRS_SCHEMA, glob=False).filter(pl.col("src").is_between(lo, hi))
    if len(files) == 1:  # one day's pairs (an extension by a day): distinct and sorted already (build_day_state)
        return lf.collect()
    pairs = ["src", "kind", "dst"]
    if (hi - lo).bit_length() + _PAIR_LOW_BITS <= 64:
        u64 = pl.UInt64()
        high, low = pl.lit(1 << _PAIR_LOW_BITS, u64), pl.lit(1 << 32, u64)
        key = ((pl.col("src").cast(u64) - pl.lit(lo, u64)) * high + pl.col("kind").to_physical().cast(u64) * low
               + pl.col("dst").cast(u64))  # null when any column is
        k = pl.col("k")
        keys = lf.select(key.alias("k")).collect().to_series()
        if not keys.null_count():  # sorted as one integer column (sorted_u64), kept where it changes
            keys = keys.sort().to_numpy()
            kinds = pl.lit(pl.Series(ru.KINDS, dtype=ru.KIND_DTYPE))
            return pl.DataFrame({"k": keys[_starts(keys)] if len(keys) else keys}).select(
                (k // high + pl.lit(lo, u64)).cast(pl.UInt32).alias("src"),
                kinds.gather(k // low % pl.lit(1 << _KIND_BITS, u64)).alias("kind"), (k % low).cast(pl.UInt32).alias("dst"))
    return sort_by(lf.unique().collect(engine="streaming"), pairs)


def _grown_ports(parts: Sequence[tuple[pl.LazyFrame, ...]], held: Callable[[str], list[pl.LazyFrame]]) -> dict[str, pl.DataFrame]:
    """What the new days' *parts* change in the port tables of an extension, from the held rows of
    the ports they scanned only (never all of a source's rows):

    - :data:`PORTS`, :data:`PORT_SCANS`: the new days' partials folded (a layer's rows);
    - :data:`INTERVALS`, :data:`COVER`: signed partials (the touched ports' held rows out, their
      folded rows in);
    - ``new_ports``: per (src, kind), the distinct ports (and their classes) none of the held rows has;
    - ``scans``: the touched ports' folded :data:`PORT_SCANS` rows (coverage maximum, top ports);
    - ``port_sources``: per port, the probing sources of those new ports and the new days' probe packets
      (:func:`~scantui.analysis.port_sources.fresh_part`).
    """
    def fold(frames: list[pl.LazyFrame], table: str) -> pl.LazyFrame:
        return _fold(frames, table) if frames else pl.LazyFrame(schema=_SCHEMAS[table])

    # one run's partials are folded already (one row per key): only cast, not grouped again
    ports, scans = pl.collect_all([fold([p[1] for p in parts], PORTS) if len(parts) != 1 else parts[0][1].cast(dict(PORTS_SCHEMA)),
                                   fold([p[2] for p in parts], PORT_SCANS) if len(parts) != 1
                                   else parts[0][2].cast(dict(PORT_SCANS_SCHEMA))], engine="streaming")
    by_port = ["src", "kind", "dport"]
    day_ports = ports.select(by_port).unique()
    # the held rows of the new days' ports: first those of their port numbers (a filter the scan applies as it
    # reads: ~15 % of a range's held rows pass at dev size), then those of their (src, kind, dport) and
    # (src, kind, proto, dport): one packed integer each (sort_key: nulls get a value of their own, as
    # nulls_equal joins match them), tested in the scan's filter, not a join on three and four columns
    dports = pl.col("dport").is_in(day_ports["dport"].unique().implode(), nulls_equal=True)
    port_key, scan_key = sort_key(PORTS_SCHEMA, by_port), sort_key(PORT_SCANS_SCHEMA, _SCAN_KEYS)
    if port_key is not None and scan_key is not None:
        port_keys = day_ports.select(port_key).to_series().implode()
        scan_keys = scans.select(scan_key).to_series().unique().implode()
        held_ports = fold([pl.concat(held(PORTS)).filter(dports & port_key.is_in(port_keys))] if held(PORTS) else [], PORTS)
        held_scans = fold([pl.concat(held(PORT_SCANS)).filter(dports & scan_key.is_in(scan_keys))]
                          if held(PORT_SCANS) else [], PORT_SCANS)
    else:
        held_ports = fold([pl.concat(held(PORTS)).filter(dports).join(day_ports.lazy(), on=by_port, how="semi", nulls_equal=True)]
                          if held(PORTS) else [], PORTS)
        held_scans = fold([pl.concat(held(PORT_SCANS)).filter(dports).join(scans.lazy().select(_SCAN_KEYS), on=_SCAN_KEYS,
                                                                           how="semi", nulls_equal=True)]
                          if held(PORT_SCANS) else [], PORT_SCANS)
    held_ports, held_scans = pl.collect_all([held_ports, held_scans], engine="streaming")
    sensors = sorted(set(ports["sensor"].drop_nulls().unique().to_list()) | set(held_ports["sensor"].drop_nulls().unique().to_list()))
    port = pl.col("dport")
    if (port_key is not None and scan_key is not None and len(sensors) <= _PACKED_SENSORS
            and not any(f[c].null_count() for f in (ports, held_ports) for c in ("src", "kind"))):
        # each port's held row (at most one: folded) joined to its new one by one packed key; the same rows
        # as the fold of both (sums and extrema of two rows; sum_horizontal adds nulls as 0, as sum does)
        key = _port_key(sensors).alias("_k")
        held_rows = held_ports.lazy().select(key, pl.col("scans", "d0", "d1").name.prefix("_"))
        before = held_ports.lazy().filter(_port_key(sensors).is_in(ports.select(key).to_series().implode()))
        after = ports.lazy().with_columns(key).join(held_rows, on="_k", how="left").select(
            "src", "kind", pl.sum_horizontal("scans", "_scans").cast(PORTS_SCHEMA["scans"]).alias("scans"),
            pl.min_horizontal("d0", "_d0").alias("d0"), pl.max_horizontal("d1", "_d1").alias("d1"))
        scans_after = scans.lazy().with_columns(scan_key.alias("_k")).join(
            held_scans.lazy().select(scan_key.alias("_k"), pl.col("packets", "scans", "dsts").name.prefix("_")), on="_k",
            how="left").select(
            *_SCAN_KEYS, *[pl.sum_horizontal(c, f"_{c}").cast(PORT_SCANS_SCHEMA[c]).alias(c) for c in ("packets", "scans")],
            pl.max_horizontal("dsts", "_dsts").cast(PORT_SCANS_SCHEMA["dsts"]).alias("dsts"))
        held_keys = held_ports.select(port_key).to_series().implode()
        fresh = ports.lazy().filter(port.is_not_null() & ~port_key.is_in(held_keys)).select(by_port).unique()
    else:
        before = held_ports.lazy().join(ports.lazy().select(_PORT_KEYS), on=_PORT_KEYS, how="semi", nulls_equal=True)
        after = _fold([before, ports.lazy()], PORTS)
        scans_after = _fold([held_scans.lazy(), scans.lazy()], PORT_SCANS)
        fresh = (ports.lazy().filter(port.is_not_null()).select(by_port).unique()
                 .join(held_ports.lazy().select(by_port), on=by_port, how="anti", nulls_equal=True))
    intervals, cover, new_ports, scans_after, sources = pl.collect_all([
        pl.concat([_intervals(before, -1), _intervals(after)]), pl.concat([_cover(held_scans.lazy(), -1), _cover(scans_after)]),
        fresh.group_by("src", "kind").agg(*bh.port_class_counts()), scans_after, port_sources.fresh_part(fresh, scans.lazy())])
    return {PORTS: ports, PORT_SCANS: scans, INTERVALS: intervals, COVER: cover, "new_ports": new_ports, "scans": scans_after,
            "port_sources": sources}


def _as_base(counts: pl.LazyFrame) -> pl.LazyFrame:
    """Destination counts as :data:`BASE` rows that add to ``dsts`` only."""
    return counts.select(
        "src", "kind", pl.lit(0, pl.UInt64()).alias("packets"), pl.lit(None, ru.TS_DTYPE).alias("first_ts"),
        pl.lit(None, ru.TS_DTYPE).alias("last_ts"), *[pl.lit(0, pl.Int64()).alias(c) for c in ru.TOOL_COLUMNS],
        pl.lit(0, pl.UInt32()).alias("days"), pl.col("n").alias("dsts"))
