"""``src_totals`` and ``src_profile`` of one source range from the merged state (:mod:`scantui.analysis.rollup_days`).

:func:`finish_sources` profiles a range's sources from its folded tables (a full merge) or updates the
older rollup's rows of the sources the new days touched (an extension): ports and port classes
(:func:`_port_counts`), the top ports (:func:`_top_sorted`) and the schedules (:func:`_schedules`).
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
    BASE, COVER, INTERVALS, LAYERED, PORTS, PORT_SCANS, PORT_SCANS_SCHEMA, SRC_DAYS, SRC_DAYS_SCHEMA, _SCAN_KEYS,
    _SCHEMAS,
)
from scantui.analysis.sort_keys import sort_by


#: ``src_profile`` columns that come from :data:`BASE` (the rest but the schedule come from the ports).
_VOLUME = ("packets", "first_seen", "last_seen", *ru.TOOL_COLUMNS, "days_active")
_SCHEDULE = ("schedule", "period_days", "schedule_strength")
_PORT_SIDE = tuple(c for c in ru.SRC_PROFILE_SCHEMA.names() if c not in ("src", "kind", *_VOLUME, *_SCHEDULE))


def finish_sources(state: Path, r: _Range, first_day: dt.date | None, n_days: int,
                   previous: tuple[Path, pl.DataFrame, bool] | None = None,
                   layers: dict[str, list[Path]] | None = None,
                   grown: dict[str, pl.DataFrame] | None = None,
                   tables: dict[str, pl.DataFrame] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
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
    *tables* (a full merge): the range's :data:`BASE`, :data:`PORTS`, :data:`PORT_SCANS` and
    :data:`SRC_DAYS` as :func:`_merge_range` just wrote them (the same rows in the same order), not read again.
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
        kept = _PORT_SIDE + (_SCHEDULE if same_window else ())
        held_profile = pl.scan_parquet(folder / ru.SRC_PROFILE, glob=False).filter(r.where).select(*keys, *kept).collect()
        hit = held_profile.select(_src_kind_key().is_in(touched.select(_src_kind_key()).to_series().implode()).fill_null(False)).to_series()
        old_profile = held_profile.filter(~hit)
        old_totals = old_profile.select(*keys, "ports")
        classes = ["ports", *bh.PORT_CLASS_COUNTS]
        before = held_profile.filter(hit).lazy().select(*keys, *classes, "coverage_dsts_max", "top_ports")
        port_counts = (pl.concat([before.select(*keys, *classes), grown["new_ports"].lazy()])
                       .group_by(keys).agg(pl.col(classes).fill_null(0).sum()).filter(pl.col("ports") > 0)
                       .with_columns(pl.col(classes).cast(pl.UInt32)))
        intervals_all = pl.scan_parquet(state / INTERVALS / r.name, glob=False).join(touched.lazy(), on=keys, how="semi")
        cover = pl.scan_parquet(state / COVER / r.name, glob=False).join(touched.lazy(), on=keys, how="semi")
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
    volume = base.lazy().select(
        *keys, "packets", pl.col("first_ts").alias("first_seen"), pl.col("last_ts").alias("last_seen"),
        *[pl.col(c).cast(pl.UInt64) for c in ru.TOOL_COLUMNS], pl.col("days").alias("days_active"))
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
    per_port = scans.lazy()
    if previous is None:
        coverage = per_port.group_by(keys).agg(
            pl.col("dsts").max().alias("coverage_dsts_max"), pl.col("dsts").mean().alias("coverage_dsts_mean"))
    else:
        coverage = coverage_all.lazy()
    item = pl.struct(pl.col("dport").alias("port"), "proto", "packets", "scans", "dsts")
    top = (_top_sorted(per_port, scans).group_by(keys, maintain_order=True)
           .agg(item.head(bh.TOP_PORTS).alias("top_ports")))
    fresh = volume if previous is None else volume.join(previous[1].lazy(), on=keys, how="semi")
    sched = _schedules(src_days, first_day, n_days).lazy()
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
    keys = np.sort(rows.select(_src_kind_key() * pl.lit(1 << 16, _U64) + port.cast(_U64)).to_series().to_numpy())
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


def _join_parts(parts: Sequence[pl.LazyFrame]) -> pl.LazyFrame:
    """:func:`~scantui.analysis.behaviour.join_parts` of lazy parts by (src, kind) (the first lists every source)."""
    out = parts[0]
    for part in parts[1:]:
        out = out.join(part, on=["src", "kind"], how="left")
    return out
