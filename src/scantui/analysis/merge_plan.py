"""A merge's source ranges and the merged state's catalog (:mod:`scantui.analysis.rollup_days`, step 5).

:func:`plan_source_ranges` cuts the address space at /16 boundaries into ranges of at most
:data:`~scantui.analysis.rollup_layout.ROWS_PER_RANGE` rows; :class:`_Range` is one of them;
:func:`_day_groups` cuts a busy range's new days into runs. :class:`_Catalog` is what a merge wrote
for its index (each file's lowest and highest source, the rows per /16 in :data:`NETS`), read back by
an extension (:func:`_held_bounds`, :func:`_held_nets`) so it opens only the held files of each range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from scantui.analysis.port_day_files import DayFiles
from scantui.analysis.sensor_sources import TABLE as SENSOR_PAIRS
from scantui.analysis.rollup_layout import (
    DAY_ROWS_PER_PART, DSTS, PAIRS, PORTS, ROWS_PER_RANGE, SRC_DAYS, _SCHEMAS, _SUMS,
)


@dataclass(frozen=True)
class _Range:
    """One source range of a merge: its number, the merge's day count (for file names) and its sources (inclusive)."""

    index: int
    days: int
    lo: int
    hi: int

    @property
    def where(self) -> pl.Expr:
        return pl.col("src").is_between(self.lo, self.hi)

    @property
    def name(self) -> str:
        return f"{self.index:05d}.parquet"

    @property
    def delta(self) -> str:
        """The name of the file an extending merge adds to a layered table (or ``dsts``) for this range."""
        return f"{self.days:05d}-{self.name}"


def _src_bounds(files: Sequence[Path]) -> dict[Path, tuple[int, int] | None]:
    """The lowest and highest source of each file (None: no rows), read once a merge: a file of the merged
    state holds the sources of one range of the merge that wrote it, so most source ranges of a later
    merge need a few of a table's files, not all of them (an extension read every held file's footer
    once per range and table: 84 full-size days, ~40 k footers for one added day)."""
    scans = [pl.scan_parquet(f, glob=False).select(pl.col("src").min().alias("lo"), pl.col("src").max().alias("hi")) for f in files]
    frames = [df for i in range(0, len(scans), 64) for df in pl.collect_all(scans[i:i + 64])]  # a few files' reads at once
    return {f: None if df["lo"][0] is None else (int(df["lo"][0]), int(df["hi"][0])) for f, df in zip(files, frames)}


def _overlaps(bounds: tuple[int, int] | None, lo: int, hi: int) -> bool:
    return bounds is not None and bounds[0] <= hi and bounds[1] >= lo


#: The merged state's rows per /16 of its :data:`PORTS` and :data:`DSTS` files summed (``net``, ``rows``): an
#: extension sizes its source ranges by them (as if it had counted the files' rows: :func:`_net_rows`).
NETS = "nets.parquet"


class _Catalog:
    """What a merge wrote, for its index: each merged-state file's lowest and highest source (``bounds``:
    :func:`_src_bounds` without reading the file again) and the rows per /16 of its :data:`PORTS` and
    :data:`DSTS` files (:data:`NETS`), so that an extension reads neither from the held files (at 84
    full-size days ~0.9 of its ~12 CPU s: ``benchmarks/RESULTS.md``, "Session 12", wt-extend12).
    *kept*: the rows per /16 of the held files an extension keeps."""

    def __init__(self, kept: Sequence[pl.DataFrame] = ()) -> None:
        self.bounds: dict[str, dict[str, list[int] | None]] = {t: {} for t in (*_SCHEMAS, SRC_DAYS, DSTS, *_SUMS,
                                                                             SENSOR_PAIRS)}
        self.nets = list(kept)

    def wrote(self, table: str, name: str, df: pl.DataFrame) -> None:
        src = df["src"]
        self.bounds[table][name] = None if src.len() == src.null_count() else [int(src.min()), int(src.max())]
        if table in (PORTS, DSTS):
            self.nets.append(df.group_by((pl.col("src") // 65536).alias("net")).agg(pl.len().alias("rows")))

    def write(self, state: Path, files: dict[str, list[str]]) -> dict:
        """:data:`NETS` into *state*; the index's entries (none when a file it names is not known here)."""
        if any(name not in self.bounds[t] for t, names in files.items() for name in names):
            return {}
        nets = (pl.concat(self.nets, how="vertical_relaxed") if self.nets
                else pl.DataFrame(schema={"net": pl.UInt32(), "rows": pl.Int64()}))
        nets.group_by("net").agg(pl.col("rows").cast(pl.Int64).sum()).sort("net").write_parquet(state / NETS)
        return {"nets": NETS, "bounds": {t: {name: self.bounds[t][name] for name in names} for t, names in files.items()}}


def _held_nets(old: Path, index: dict) -> pl.DataFrame | None:
    """The rows per /16 of the :data:`PORTS` and :data:`DSTS` files of the merged state *old* (*index*: its
    index), summed; None when it has none (written before the index held them)."""
    if index.get("nets") != NETS or not (old / NETS).is_file():
        return None
    return pl.read_parquet(old / NETS, glob=False)


def _held_bounds(old: Path, index: dict, files: dict[str, list[Path]]) -> dict[Path, tuple[int, int] | None]:
    """Each held file's lowest and highest source: from the index of the merged state *old* where it has them,
    else read (:func:`_src_bounds`)."""
    known = index.get("bounds") if isinstance(index.get("bounds"), dict) else {}
    out: dict[Path, tuple[int, int] | None] = {}
    missing = []
    for t, paths in files.items():
        for f in paths:
            entry = (known.get(t) or {}).get(f.name, False)
            if entry is False:
                missing.append(f)
            else:
                out[f] = None if entry is None else (int(entry[0]), int(entry[1]))
    return {**out, **(_src_bounds(missing) if missing else {})}


def _day_groups(days: Sequence[DayFiles], ranges: Sequence[tuple[int, int]],
                nets: dict[str, pl.DataFrame] | None = None) -> list[list[list[DayFiles]]]:
    """Per source range, *days* (sorted) cut into runs of consecutive days holding at most about
    :data:`DAY_ROWS_PER_PART` of the range's ``port_day`` rows each (a day more than that is a run of its
    own): one run for most ranges. From the days' ``port_day`` rows counted per /16 (:func:`_net_rows`;
    *nets*: already counted, by path)."""
    if not days or not ranges:
        return [[list(days)] if days else [] for _ in ranges]
    paths = [str(d.port_day) for d in days]
    nets = nets if nets is not None and all(f in nets for f in paths) else _net_rows(paths)
    counts = pl.concat([nets[f].with_columns(pl.lit(i, pl.Int64()).alias("i")) for i, f in enumerate(paths)])
    lows = np.array([lo // 65536 for lo, _ in ranges], dtype=np.int64)
    highs = np.array([hi // 65536 for _, hi in ranges], dtype=np.int64)
    net = counts["net"].cast(pl.Int64).to_numpy()
    k = np.searchsorted(lows, net, side="right") - 1  # the range whose first /16 is the last at or below net
    keep = (k >= 0) & (net <= highs[np.maximum(k, 0)])
    rows = np.zeros((len(ranges), len(days)), dtype=np.int64)
    np.add.at(rows, (k[keep], counts["i"].to_numpy()[keep]), counts["rows"].cast(pl.Int64).to_numpy()[keep])
    out = []
    for per_day in rows.tolist():
        runs, acc = [[]], 0
        for d, n in zip(days, per_day):
            if runs[-1] and acc + n > DAY_ROWS_PER_PART:
                runs.append([])
                acc = 0
            runs[-1].append(d)
            acc += n
        out.append(runs)
    return out


def _net_rows(files: Sequence[str]) -> dict[str, pl.DataFrame]:
    """Per file (any with a ``src`` column; one without counts its rows under a null ``net``): its rows
    counted per /16 of the source (``net``, ``rows``). One scan per file, a few at once."""
    scans = [pl.scan_parquet(f, schema=pl.Schema({"src": pl.UInt32()}), missing_columns="insert", extra_columns="ignore", glob=False)
             .group_by((pl.col("src") // 65536).alias("net")).agg(pl.len().alias("rows")) for f in files]
    frames = [df for i in range(0, len(scans), 64) for df in pl.collect_all(scans[i:i + 64])]
    return dict(zip(files, frames))


def plan_source_ranges(days: Sequence[DayFiles], buckets: int = 1) -> list[tuple[int, int]]:
    """Inclusive (low, high) source ranges cut at /16 boundaries, each with at most
    :data:`ROWS_PER_RANGE` (or the total / *buckets*) ``port_day`` plus ``src_dsts`` rows."""
    return _plan([str(d.port_day) for d in days] + [str(d.state / PAIRS) for d in days], buckets)


def _plan(files: Sequence[str], buckets: int = 1) -> list[tuple[int, int]]:
    """:func:`plan_source_ranges` over the rows of any files with a ``src`` column."""
    return _plan_rows(list(_net_rows(files).values()), buckets) if files else []


def _plan_rows(counts: Sequence[pl.DataFrame], buckets: int = 1, scale: int = 1) -> list[tuple[int, int]]:
    """:func:`_plan` from the files' rows per /16 (:func:`_net_rows`); ranges of up to *scale* times
    :data:`ROWS_PER_RANGE` rows (an extension adding layers: :data:`LAYERED_RANGE_SCALE`)."""
    if not counts:
        return []
    hist = pl.concat(counts, how="vertical_relaxed").group_by("net").agg(pl.col("rows").cast(pl.Int64).sum()).sort("net")
    if hist.height == 0:
        return []
    target = min(ROWS_PER_RANGE * scale, max(1, -(-int(hist["rows"].sum()) // max(1, buckets))))
    ranges, start, acc, prev = [], None, 0, 0
    for net, rows in hist.iter_rows():
        if start is not None and acc + rows > target:
            ranges.append((start, prev))
            start, acc = None, 0
        if start is None:
            start = net
        acc += rows
        prev = net
    ranges.append((start, prev))
    return [(lo * 65536, hi * 65536 + 65535) for lo, hi in ranges]
