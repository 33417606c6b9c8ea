"""When and how an extending merge folds the merged state's layers back (:mod:`~scantui.analysis.merge_state`).

An extension adds a layer to :data:`~scantui.analysis.rollup_layout.PORTS`, ``PORT_SCANS``, ``SRC_DAYS``
and ``DSTS`` (the new days' rows, one file per source range); after :data:`MAX_DELTAS` of them in a row
the next one folds. The files of these tables come in three tiers, told apart by name:

- the *base* (``<range>.parquet``, no ``-`` in the name): one file per range, written by a full merge or
  a *full* fold, which reads every file of every table and rewrites them all as one per range;
- the *middle* (``m<days>-<range>.parquet``): written by a *middle* fold, which keeps (hard links) the base
  files and folds only the files above them (the last middle and the deltas) with the new days' rows
  into one middle file per range (``dsts``, ``src_days``: the disjoint files' rows concatenated);
- the *deltas* (``<days>-<range>.parquet``): one per extension.

The base is most of the rows (84 full-size days: ports 27.7 M rows, dsts 55.7 M), the layers above it a
few days each, so a middle fold costs about a layered extension plus the fold of the rows above the base,
where a full fold rewrote the whole state (``benchmarks/RESULTS.md``, "Session 16", wt-fold16). A full
fold comes after :data:`MIDDLE_FOLDS` middle ones in a row, so that the middle (which grows by a fold's
days each time) stays a fraction of the base. Readers fold every file of a table whatever its tier (the
``ports`` rows of one key in several files are partial aggregates; ``dsts`` and ``src_days`` files are
disjoint), so the tiers change nothing of what the state means: an older reader extends or folds such a
state as it is. ``days.json``'s ``folds`` counts the middle folds since the last full one (absent: 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scantui.analysis.merge_plan import _Catalog, _Range
from scantui.analysis.rollup_layout import (
    DSTS, LAYERED, MAX_DELTAS, PAIRS_SCHEMA, PORTS, ROW_GROUP, SRC_DAYS, SRC_DAYS_SCHEMA, _SCHEMAS,
)
from scantui.analysis.merge_partials import _fold
from scantui.analysis.sort_keys import sort_by

#: Middle folds in a row; the next fold is a full one (rewrites the base).
MIDDLE_FOLDS = 3
#: The tables an extension adds layers to (and a middle fold folds above the base).
TIERED = (*LAYERED, DSTS)

LAYER, MIDDLE, FULL = "layer", "middle", "full"


def plan(index: dict) -> tuple[str, int, int]:
    """(what this extension does: :data:`LAYER`, :data:`MIDDLE` or :data:`FULL`, the new index's ``deltas``
    and ``folds``) from the held state's *index*."""
    deltas = index.get("deltas", 0) + 1
    folds = index.get("folds", 0)
    if deltas <= MAX_DELTAS:
        return LAYER, deltas, folds
    if folds < MIDDLE_FOLDS:
        return MIDDLE, 0, folds + 1
    return FULL, 0, 0


def is_base(name: str) -> bool:
    """A base file: written by a full merge or a full fold (``<range>.parquet``)."""
    return "-" not in name


def middle_name(r: _Range) -> str:
    return f"m{r.days:05d}-{r.name}"


def kept(mode: str, files: Sequence[Path]) -> list[Path]:
    """The held files of a tiered table linked into the new state: all of them when adding a layer,
    the base ones in a middle fold."""
    return list(files) if mode == LAYER else [f for f in files if is_base(f.name)] if mode == MIDDLE else []


def upper(files: Sequence[Path]) -> list[Path]:
    """The held files a middle fold folds: those above the base."""
    return [f for f in files if not is_base(f.name)]


def layer_files(state: Path, table: str, held: Sequence[Path], r: _Range, mode: str) -> list[Path]:
    """The files of *table* holding range *r*'s rows in the new state: the held ones kept, and what the range wrote."""
    added = state / table / (middle_name(r) if mode == MIDDLE else r.delta)
    return [state / table / f.name for f in kept(mode, held)] + ([added] if added.is_file() else [])


def _scan(table: str, files: Sequence[Path], where: pl.Expr) -> pl.DataFrame:
    schema = {SRC_DAYS: SRC_DAYS_SCHEMA, DSTS: PAIRS_SCHEMA}.get(table) or _SCHEMAS[table]
    if not files:
        return pl.DataFrame(schema=schema)
    return pl.scan_parquet([str(f) for f in files], schema=schema, glob=False).filter(where).collect()


def _dropped(catalog: _Catalog, df: pl.DataFrame) -> None:
    """The held rows per /16 a middle fold rewrites: taken off the held files' counts the catalog keeps (every
    held file's, the upper ones' included: ``merge_days``' ``kept_nets``)."""
    if df.height:
        catalog.nets.append(df.group_by((pl.col("src") // 65536).alias("net"))
                            .agg((-pl.len().cast(pl.Int64)).alias("rows")))


def middle(table: str, files: Sequence[Path], added: pl.LazyFrame, r: _Range, catalog: _Catalog) -> pl.LazyFrame:
    """*table*'s middle file of range *r*: the rows of the held *files* above the base in the range, with
    *added* (the new days' rows: folded partials, or src_days rows); folded for ``ports`` and ``port_scans``."""
    held = _scan(table, files, r.where)
    if table == PORTS:
        _dropped(catalog, held)
    if table == SRC_DAYS:
        return pl.concat([held.lazy(), added])
    return _fold([held.lazy(), added], table)


def middle_dsts(files: Sequence[Path], wanted: pl.DataFrame, r: _Range, state: Path, catalog: _Catalog) -> None:
    """The range's middle ``dsts`` file: the held pairs above the base (disjoint files) and the new pairs
    *wanted* (held by no file), sorted as :func:`~scantui.analysis.sort_keys.sort_by` sorts them."""
    held = _scan(DSTS, files, r.where)
    _dropped(catalog, held)
    merged = pl.concat([held, wanted]) if wanted.height else held
    if merged.height:
        merged = sort_by(merged, ["src", "kind", "dst"])
        merged.write_parquet(state / DSTS / middle_name(r), row_group_size=ROW_GROUP)
        catalog.wrote(DSTS, middle_name(r), merged)
