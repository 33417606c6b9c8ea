"""Parquet input: files, folders (hive-partitioned included) and globs.

A file already in the canonical schema is scanned as it is (only a cheap
``select``); anything else goes through :mod:`scantui.io.normalize`, which maps
column aliases (``SRC``, ``src_ip``, ``saddr`` ...) and converts values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scantui.errors import InputError
from scantui.io.options import LoadOptions
from scantui.io.schema import CANONICAL, EXTRA, conform
from scantui.io.stats import FileStats, LoadStats


def _describe(sources: Sequence[Path]) -> str:
    return str(sources[0]) if len(sources) == 1 else f"{sources[0]} (+{len(sources) - 1} more)"


def _is_canonical(schema: pl.Schema) -> bool:
    return all(schema.get(name) == dtype for name, dtype in CANONICAL.items()) and all(
        schema[name] == EXTRA[name] for name in schema if name in EXTRA
    )


def scan_parquet(sources: Sequence[Path], opts: LoadOptions, stats: LoadStats, *, hive: bool = False) -> pl.LazyFrame:
    """Scan one or more Parquet files (or one hive-partitioned folder) as the canonical table."""
    label = _describe(sources)
    target = str(sources[0]) if hive else [str(s) for s in sources]
    try:
        lf = pl.scan_parquet(target, hive_partitioning=hive, missing_columns="insert", extra_columns="ignore")
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"unreadable Parquet: {_first_line(exc)}", path=label) from None
    if _is_canonical(schema):
        stats.publish(FileStats(path=label, format="parquet", complete=True))
        return conform(lf)
    return _normalized(lf, schema, label, opts, stats)


def _normalized(lf: pl.LazyFrame, schema: pl.Schema, label: str, opts: LoadOptions, stats: LoadStats) -> pl.LazyFrame:
    """Aliased or loosely typed Parquet: map names, convert values, validate once.

    The validation pass reads the file once more; ``scantui ingest`` it to the
    canonical layout to skip that on every later open.
    """
    from scantui.io.normalize import normalize_values, resolve_columns

    norm = normalize_values(lf, resolve_columns(schema.names(), label), label, opts)
    try:
        checked = norm.check()
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"unreadable Parquet: {_first_line(exc)}", path=label) from None
    stats.publish(FileStats(path=label, format="parquet", rows=checked.rows, skipped=checked.skipped, complete=True))
    return norm.frame


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
