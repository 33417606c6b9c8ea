"""``src_totals`` and ``src_profile`` of one source range from the merged state (:mod:`scantui.analysis.rollup_days`).

:func:`finish_sources` profiles a range's sources from its folded tables (a full merge) or updates the
older rollup's rows of the sources the new days touched (an extension): ports and port classes
(:func:`_port_counts`), the top ports (:func:`_top_sorted`) and the schedules (:func:`_schedules`).

An extension reads the older profile's rows range after range (:class:`HeldProfile`: each row group once), and
where base's untouched rows are the held ones in the same order (:func:`_in_base_order`, always for a state
an extension wrote) takes them beside base's as they stand and puts the touched ones back among them by
index (:func:`_ordered_rows`): no joins of the untouched rows and no sort. The touched sources' mean scan
interval is summed in numpy (:func:`_mean_intervals`), not from a row per port. The same rows and bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from scantui.analysis import behaviour as bh
from scantui.analysis import rollup as ru
from scantui.analysis import schedule as sch
from scantui.analysis.merge_partials import (
    _DPORT_BITS, _PROTO_BITS, _U64, _fold, _slot, _src_kind_key, _starts, _unpack,
)
from scantui.analysis.merge_plan import _Range
from scantui.analysis.rollup_layout import (
    BASE, COVER, INTERVALS, LAYERED, PORTS, PROFILE_ROW_GROUP, PORT_SCANS, PORT_SCANS_SCHEMA, SRC_DAYS, SRC_DAYS_SCHEMA, _SCAN_KEYS,
    _SCHEMAS,
)
from scantui.analysis.sort_keys import sort_by, sorted_u64


#: ``src_profile`` columns that come from :data:`BASE` (the rest but the schedule come from the ports).
_VOLUME = ("packets", "first_seen", "last_seen", *ru.TOOL_COLUMNS, "days_active")
_SCHEDULE = ("schedule", "period_days", "schedule_strength")
_PORT_SIDE = tuple(c for c in ru.SRC_PROFILE_SCHEMA.names() if c not in ("src", "kind", *_VOLUME, *_SCHEDULE))


class HeldProfile:
    """The port-side columns of an older rollup's ``src_profile`` (sorted by source, written in row groups of
    :data:`PROFILE_ROW_GROUP` rows), read for one source range after the next: each call reads on from where
    the last stopped, to a row group's end, and keeps what is past the range for the next (the held rows of a
    range by row index, found in its ``src`` column read once). A read per range filtered by source decoded
    the row groups at each range's ends again: ~3x the file's rows, and its ``top_ports`` lists cost most."""

    def __init__(self, folder: Path, same_window: bool):
        self.path = folder / ru.SRC_PROFILE
        self.columns = ["src", "kind", *_PORT_SIDE, *(_SCHEDULE if same_window else ())]
        src = pl.read_parquet(self.path, columns=["src"], glob=False)["src"]
        self.src = src.to_numpy() if not src.null_count() and src.is_sorted() else None  # else a filter per range
        self.rows = pl.DataFrame(schema=ru.SRC_PROFILE_SCHEMA).select(self.columns)
        self.start = 0  # the file's row index of self.rows' first

    def of(self, r: _Range) -> pl.DataFrame:
        """The rows of *r*'s sources (the file's, in its order), one chunk."""
        def scan() -> pl.LazyFrame:
            return pl.scan_parquet(self.path, glob=False)

        if self.src is None:
            return scan().filter(r.where).select(self.columns).collect().rechunk()
        lo, hi = int(np.searchsorted(self.src, r.lo, side="left")), int(np.searchsorted(self.src, r.hi, side="right"))
        if lo < self.start:  # not after the last range: read as it stands
            return scan().slice(lo, hi - lo).select(self.columns).collect().rechunk()
        self.rows, self.start = self.rows.slice(min(lo - self.start, self.rows.height)), max(lo, self.start)
        end = self.start + self.rows.height
        if hi > end:  # on to the end of the row group holding the range's last row
            stop = -(-hi // PROFILE_ROW_GROUP) * PROFILE_ROW_GROUP
            self.rows = pl.concat([self.rows, scan().slice(end, stop - end).select(self.columns).collect()])
        return self.rows.slice(lo - self.start, hi - lo).rechunk()


def finish_sources(state: Path, r: _Range, first_day: dt.date | None, n_days: int,
                   previous: tuple[Path, pl.DataFrame, bool] | None = None,
                   layers: dict[str, list[Path]] | None = None,
                   grown: dict[str, pl.DataFrame] | None = None,
                   tables: dict[str, pl.DataFrame] | None = None,
                   held: HeldProfile | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``src_totals`` and ``src_profile`` rows of one source range from the merged state: the
    same columns :func:`~scantui.analysis.rollup.src_profile` computes from all of a source's
    ``port_day`` rows, from one row per (source, port) instead (see the module doc).

    *previous*: (an older rollup folder, the (src, kind) with packets in the days
    added since, whether the day range is the same): the port-side columns of every other source
    are that rollup's, its volume is recomputed (tool counts may have changed), and its schedule
    too unless the day range is the same. *layers*: the files of :data:`PORTS`, :data:`PORT_SCANS`
    and :data:`SRC_DAYS` holding this range's rows (partial aggregates, folded here; default: the
    range's own file of each). *grown* (with *previous*): what :func:`_grown_ports` found the added
    days changed; the touched sources' port-side columns are then the older rollup's updated by it
    and the range's :data:`INTERVALS` and :data:`COVER` rows, never read from all their port rows.
    *tables*: the range's :data:`BASE`, :data:`PORTS`, :data:`PORT_SCANS` and :data:`SRC_DAYS` (a full merge;
    an extension: :data:`BASE`, :data:`INTERVALS` and :data:`COVER`) as :func:`_merge_range` just wrote them (the
    same rows in the same order), not read again. *held* (with *previous*): its profile's reader, kept from
    one range to the next (default: one for this range alone).
    """
    base = tables[BASE] if tables else pl.read_parquet(state / BASE / r.name, glob=False)
    base = base.filter(pl.col("days") > 0)  # pairs-only sources have no port_day row
    keys = ["src", "kind"]
    own = layers is None  # the range's own files: no row outside it
    layers = layers or {t: [state / t / r.name] for t in LAYERED}

    def scan(table: str, files: Sequence[Path], only_touched: bool = True) -> pl.LazyFrame:
        schema = SRC_DAYS_SCHEMA if table == SRC_DAYS else _SCHEMAS[table]
        if not files:
            return pl.LazyFrame(schema=schema)
        lf = pl.scan_parquet([str(f) for f in files], schema=schema, glob=False)
        lf = lf if own else lf.filter(r.where)
        return lf if touched is None or not only_touched else lf.join(touched.lazy(), on=keys, how="semi")

    def folded(table: str) -> pl.LazyFrame:
        """The table's rows, a row per key: the layers' rows of a key that none but the first
        layer holds pass through, the others are folded (the later layers are small: a day each)."""
        first = [f for f in layers[table] if f.name == r.name or "-" not in f.name]
        deltas = [f for f in layers[table] if f not in first]
        rows = scan(table, first)
        if not deltas:
            return rows
        added = scan(table, deltas)
        port_keys = [c for c in _SCHEMAS[table].names() if c in ("src", "kind", "sensor", "proto", "dport")]
        again = added.select(port_keys).unique()
        return pl.concat([rows.join(again, on=port_keys, how="anti", nulls_equal=True),
                          _fold([rows.join(again, on=port_keys, how="semi", nulls_equal=True), added], table)])

    touched = None if previous is None else previous[1]
    old_totals = old_profile = None
    order = None  # an extension's rows in base's order: (base's touched rows, base's others), when they line up
    if previous is None:
        if tables:
            ports, scans = tables[PORTS], tables[PORT_SCANS]
        else:
            ports, scans = pl.collect_all([folded(PORTS), folded(PORT_SCANS)])
        port_counts = _port_counts(ports)
    else:
        folder, _touched, same_window = previous
        # read once: the untouched sources' rows are kept, the touched ones' updated (its ``ports`` are src_totals')
        # only the columns kept (the volume is recomputed), split by one packed-key mask (not two joins)
        held_profile = (held or HeldProfile(folder, same_window)).of(r)
        order = _in_base_order(base, held_profile, touched)
        if order is not None:
            hit = pl.Series(order[1])
        else:
            hit = held_profile.select(_src_kind_key().is_in(touched.select(_src_kind_key()).to_series().implode()).fill_null(False)).to_series()
        old_profile = held_profile.filter(~hit)
        old_totals = old_profile.select(*keys, "ports")
        classes = ["ports", *bh.PORT_CLASS_COUNTS]
        before = held_profile.filter(hit).lazy().select(*keys, *classes, "coverage_dsts_max", "top_ports")
        port_counts = (pl.concat([before.select(*keys, *classes), grown["new_ports"].lazy()])
                       .group_by(keys).agg(pl.col(classes).fill_null(0).sum()).filter(pl.col("ports") > 0)
                       .with_columns(pl.col(classes).cast(pl.UInt32)))
        intervals_all, cover = (
            (tables[t].lazy() if tables and t in tables else pl.scan_parquet(state / t / r.name, glob=False))
            .join(touched.lazy(), on=keys, how="semi") for t in (INTERVALS, COVER))
        # the held top ports the new days did not touch, beside the touched ones: packets only grow, so
        # a port below a source's tenth before stays below it
        held_top = (before.select(*keys, "top_ports").explode("top_ports").filter(pl.col("top_ports").is_not_null())
                    .unnest("top_ports").rename({"port": "dport"})
                    .join(grown["scans"].lazy().select(_SCAN_KEYS), on=_SCAN_KEYS, how="anti", nulls_equal=True))
        scans = pl.concat([held_top.select(PORT_SCANS_SCHEMA.names()).cast(dict(PORT_SCANS_SCHEMA)), grown["scans"].lazy()])
        best = pl.concat([before.select(*keys, pl.col("coverage_dsts_max").alias("dsts")), grown["scans"].lazy().select(*keys, "dsts")])
        coverage_all = (best.group_by(keys).agg(pl.col("dsts").max().alias("coverage_dsts_max"))
                        .join(cover.select(*keys, (pl.col("dsts") / pl.col("ports")).alias("coverage_dsts_mean")), on=keys, how="left"))
        port_counts, scans, intervals_all, coverage_all = pl.collect_all(
            [port_counts.lazy(), scans, intervals_all, coverage_all])
    # the same day range: only the touched sources' schedules can change; else every source's may
    src_days = (tables[SRC_DAYS] if tables and previous is None
                else scan(SRC_DAYS, layers[SRC_DAYS], only_touched=previous is not None and previous[2]).collect())
    port_totals = port_counts.select(*keys, "ports")
    if old_totals is not None:
        port_totals = pl.concat([port_totals, old_totals])
    totals = (base.join(port_totals, on=keys, how="left")
              .with_columns(pl.col("ports").fill_null(0))
              .select(ru.SRC_TOTALS_SCHEMA.names()).cast(dict(ru.SRC_TOTALS_SCHEMA)))
    # every kind's rows in one lazy plan (two in an extension), keyed by (src, kind), collected at once: not a plan
    # and a schedule call per kind, each with its fixed costs (benchmarks/RESULTS.md, "Session 12", wt-extend12)
    volume = _volume(base)
    if previous is None:
        rescans = (ports.lazy().filter(pl.col("scans") >= 2)
                   .select(*keys, ((pl.col("d1") - pl.col("d0")).dt.total_days() / (pl.col("scans") - 1)).alias("interval")))
    else:  # each interval as often as ports have it: the same values, summed in the same (sorted) order
        rescans = (intervals_all.lazy()
                   .select(*keys, (pl.col("gap") / pl.col("k")).repeat_by(pl.col("n").cast(pl.UInt32)).alias("interval"))
                   .explode("interval"))
    intervals = rescans.group_by(keys).agg(
        (pl.col("interval").sort().cum_sum().last() / pl.len()).alias("avg_scan_interval_days"),
        pl.len().cast(pl.UInt32).alias("ports_rescanned"))
    if previous is not None and (mean := _mean_intervals(intervals_all)) is not None:
        intervals = mean
    per_port = scans.lazy()
    if previous is None:
        coverage = per_port.group_by(keys).agg(
            pl.col("dsts").max().alias("coverage_dsts_max"), pl.col("dsts").mean().alias("coverage_dsts_mean"))
    else:
        coverage = coverage_all.lazy()
    item = pl.struct(pl.col("dport").alias("port"), "proto", "packets", "scans", "dsts")
    top = (_top_sorted(per_port, scans).group_by(keys, maintain_order=True)
           .agg(item.head(bh.TOP_PORTS).alias("top_ports")))
    sched = _schedules(src_days, first_day, n_days).lazy()
    if order is not None:
        return _ordered_rows(base, order[0], old_profile, [port_counts.lazy(), intervals, coverage, top], sched,
                             previous[2])
    fresh = volume if previous is None else volume.join(previous[1].lazy(), on=keys, how="semi")
    joined = [_join_parts([fresh, port_counts.lazy(), intervals, coverage, top, sched])]
    if old_profile is not None:  # sources without a packet in the new days: new volume (and schedule)
        kept = old_profile.lazy()
        unchanged = [volume.join(kept.select(keys), on=keys, how="semi"), kept]
        joined.append(_join_parts(unchanged if previous[2] else [*unchanged, sched]))
    out = pl.collect_all([frame.with_columns(pl.col("ports", "ports_rescanned").fill_null(0))
                          .select(ru.SRC_PROFILE_SCHEMA.names()).cast(dict(ru.SRC_PROFILE_SCHEMA)) for frame in joined])
    # each sorted by (src, kind) here, one range's rows (cheaper than the sort of every range's at the end)
    return (sort_by(totals, keys, nulls_last=True),
            sort_by(pl.concat([pl.DataFrame(schema=ru.SRC_PROFILE_SCHEMA), *out]), keys, nulls_last=True))


def _volume(base: pl.DataFrame) -> pl.LazyFrame:
    """The profile's :data:`_VOLUME` columns of :data:`BASE` rows."""
    return base.lazy().select(
        "src", "kind", "packets", pl.col("first_ts").alias("first_seen"), pl.col("last_ts").alias("last_seen"),
        *[pl.col(c).cast(pl.UInt64) for c in ru.TOOL_COLUMNS], pl.col("days").alias("days_active"))


def _in_base_order(base: pl.DataFrame, held: pl.DataFrame, touched: pl.DataFrame
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """Which of *base*'s rows (this range's sources, sorted by (src, kind)) and of the older rollup's
    profile rows *held* (sorted likewise) are *touched*, as two masks, when base's other rows are held's other
    rows in the same order (an extension's state, always): the untouched sources' rows are then taken as they
    stand, beside base's, and every frame of the range is already in (src, kind) order. None where a key is
    null or the rows do not line up (the joins and sorts of :func:`finish_sources` then)."""
    frames = (base, held, touched)
    if any(f["src"].null_count() or f["kind"].null_count() for f in frames):
        return None
    bkey, hkey, tkey = (f.select(_src_kind_key()).to_series().to_numpy() for f in frames)
    if (bkey.size > 1 and not (bkey[1:] > bkey[:-1]).all()) or (hkey.size > 1 and not (hkey[1:] > hkey[:-1]).all()):
        return None
    tkey = sorted_u64(tkey)
    fresh, hit = _member(bkey, tkey), _member(hkey, tkey)
    if not np.array_equal(bkey[~fresh], hkey[~hit]):
        return None
    return fresh, hit


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each of *keys* is one of *sorted_keys* (sorted)."""
    if not sorted_keys.size:
        return np.zeros(keys.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[at] == keys


def _ordered_rows(base: pl.DataFrame, fresh: np.ndarray, old_profile: pl.DataFrame,
                  parts: Sequence[pl.LazyFrame], sched: pl.LazyFrame, same_window: bool
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`finish_sources`' two tables of an extension whose rows line up (:func:`_in_base_order`), in base's
    (sorted) order with no sort: the touched sources' rows (base's rows *fresh*, joined to the port-side
    *parts* keeping their order) and the others' (base's other rows beside *old_profile*'s, in the same
    order), interleaved back by *fresh*. The same rows and values as the joins and sorts."""
    keys = ["src", "kind"]
    mask = pl.Series(fresh)
    touched = _join_parts([_volume(base.filter(mask)), *parts, sched], maintain_order="left")
    unchanged = pl.concat([_volume(base.filter(~mask)), old_profile.lazy().drop(keys)], how="horizontal")
    if not same_window:
        unchanged = _join_parts([unchanged, sched], maintain_order="left")
    frames = pl.collect_all([frame.with_columns(pl.col("ports", "ports_rescanned").fill_null(0))
                             .select(ru.SRC_PROFILE_SCHEMA.names()).cast(dict(ru.SRC_PROFILE_SCHEMA))
                             for frame in (touched, unchanged)])
    at = np.empty(fresh.size, dtype=np.int64)
    at[fresh] = np.arange(int(fresh.sum()))
    at[~fresh] = np.arange(fresh.size - int(fresh.sum())) + int(fresh.sum())
    profile = pl.concat(frames, rechunk=True)[at]  # one chunk: a gather of chunked lists costs ~10x more
    totals = (base.with_columns(profile["ports"])
              .select(ru.SRC_TOTALS_SCHEMA.names()).cast(dict(ru.SRC_TOTALS_SCHEMA)))
    return totals, profile


def _mean_intervals(rows: pl.DataFrame) -> pl.LazyFrame | None:
    """``avg_scan_interval_days`` and ``ports_rescanned`` per (src, kind) of :data:`INTERVALS` rows, in numpy: the
    same floats as each interval ``gap / k`` repeated ``n`` times, sorted, summed one after the other (a
    polars ``cum_sum``) and divided by the count, without a row per port: the (src, kind, interval) rows
    sorted, repeated, and each source's run summed in one ``np.add.accumulate`` along the rows of a matrix of
    the sources whose runs are about as long (zero-padded: adding 0.0 leaves a sum as it is; accumulate adds in
    order, unlike ``np.sum``'s pairwise sums). None where a value is null or ``n`` not positive."""
    if rows.height == 0 or any(rows[c].null_count() for c in rows.columns) or rows["n"].min() <= 0:
        return None
    key = rows.select(_src_kind_key()).to_series().to_numpy()
    value = rows["gap"].to_numpy().astype(np.float64) / rows["k"].to_numpy().astype(np.float64)
    order = np.lexsort((value, key))
    key, value, n = key[order], value[order], rows["n"].to_numpy()[order]
    at = _starts(key)
    count = np.add.reduceat(n, at)
    spread = np.repeat(value, n)  # every port's interval, each source's ascending
    first = np.cumsum(count) - count
    sums = np.empty(count.size)
    width = np.ones(count.size, dtype=np.int64)
    while (short := width < count).any():
        width[short] *= 2
    for w in np.unique(width):
        group = np.flatnonzero(width == w)
        column = np.arange(w)
        inside = column[None, :] < count[group][:, None]
        matrix = np.zeros((group.size, w))
        matrix[inside] = spread[(first[group][:, None] + column[None, :])[inside]]
        sums[group] = np.add.accumulate(matrix, axis=1)[:, -1]
    return pl.DataFrame({"_k": key[at], "avg_scan_interval_days": sums / count,
                         "ports_rescanned": count.astype(np.uint32)}).lazy().select(
        *_unpack(pl.col("_k")), "avg_scan_interval_days", "ports_rescanned")


def _port_counts(ports: pl.DataFrame) -> pl.DataFrame:
    """Per (src, kind) of folded :data:`PORTS` rows: its distinct ports (not null) and how many are of each class.
    Where no source or kind is null, each (src, kind, dport) is one ``UInt64`` sorted by numpy and kept where it
    changes, its runs counted (~4x cheaper than a three-column ``unique`` and a group-by); rows in key order
    (the group-by's are in hash order: the caller joins them by key)."""
    port = pl.col("dport")
    rows = ports.filter(port.is_not_null())
    if ports["src"].null_count() or ports["kind"].null_count() or not rows.height:
        return (rows.lazy().select("src", "kind", "dport").unique().group_by("src", "kind")
                .agg(*bh.port_class_counts()).collect())
    keys = rows.select(_src_kind_key() * pl.lit(1 << 16, _U64) + port.cast(_U64)).to_series().sort().to_numpy()
    keys = keys[_starts(keys)]
    dport = keys & np.uint64(0xFFFF)
    src_kind = keys >> np.uint64(16)
    at = _starts(src_kind)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.add.reduceat(mask.astype(np.uint32), at, dtype=np.uint32)

    return pl.DataFrame({
        "_k": src_kind[at], "ports": np.diff(np.append(at, len(keys))).astype(np.uint32),
        **{name: count(mask) for mask, name in zip(bh.port_classes(dport), bh.PORT_CLASS_COUNTS)},
    }).select(*_unpack(pl.col("_k")), "ports", *bh.PORT_CLASS_COUNTS)


def _top_sorted(per_port: pl.LazyFrame, scans: pl.DataFrame) -> pl.LazyFrame:
    """*per_port* (the frame of *scans*: one row per (src, kind, proto, dport)) in the top ports' order: (src,
    kind), packets descending, then dport and proto (nulls first). As one ``UInt128`` key where no source or
    kind is null (35 + 64 + 17 + 9 bits: one integer sorted, ~20 % less CPU than five columns; the key is
    unique, so the order is the same)."""
    if scans["src"].null_count() or scans["kind"].null_count():
        return per_port.sort(["src", "kind", "packets", "dport", "proto"], descending=[False, False, True, False, False])
    u128 = pl.UInt128()
    key = _src_kind_key().cast(u128) * pl.lit(1 << 64, u128) + pl.lit((1 << 64) - 1, u128) - pl.col("packets").cast(u128)
    for value, bits in ((pl.col("dport"), _DPORT_BITS), (pl.col("proto"), _PROTO_BITS)):
        key = key * pl.lit(1 << bits, u128) + _slot(value).cast(u128)
    return per_port.sort(key)


def _schedules(src_days: pl.DataFrame, first_day: dt.date | None, n_days: int) -> pl.DataFrame:
    """:func:`~scantui.analysis.schedule.source_schedules` per (src, kind) of :data:`SRC_DAYS` rows: every kind's
    sources scored in one call, a (src, kind) keyed as one integer (each source's row is scored on its own:
    the same values as a call per kind), the (key, day) pairs handed to
    :func:`~scantui.analysis.schedule.keyed_schedules` as numpy arrays (no frame unique or sort)."""
    pairs = src_days.select(_src_kind_key().alias("src"), "day").drop_nulls()
    if first_day is None or n_days <= 0 or pairs.height == 0:
        return sch.source_schedules(pairs.lazy(), first_day, n_days).with_columns(_unpack(pl.col("src").cast(_U64)))
    cols = pairs.select((pl.col("day") - pl.lit(first_day)).dt.total_days()).to_series().to_numpy()
    keys, code, period, strength = sch.keyed_schedules(pairs["src"].to_numpy(), cols, n_days)
    return sch.coded_frame(pl.Series("src", keys, dtype=_U64), code, period, strength).with_columns(_unpack(pl.col("src")))


def _join_parts(parts: Sequence[pl.LazyFrame], maintain_order: str | None = None) -> pl.LazyFrame:
    """:func:`~scantui.analysis.behaviour.join_parts` of lazy parts by (src, kind) (the first lists every source)."""
    out = parts[0]
    for part in parts[1:]:
        out = out.join(part, on=["src", "kind"], how="left", maintain_order=maintain_order)
    return out
