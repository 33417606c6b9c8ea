"""Parquet input: files, folders (hive-partitioned included) and globs.

A file already in the canonical schema is scanned as it is (only a cheap
``select``); anything else goes through :mod:`scantui.io.normalize`, which maps
column aliases (``SRC``, ``src_ip``, ``saddr`` ...) and converts values.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scantui.errors import InputError
from scantui.io.options import LoadOptions
from scantui.io.schema import CANONICAL, EXTRA, REQUIRED, TS_FIRST, TS_LAST, conform
from scantui.io.stats import FileStats, LoadStats


def _describe(sources: Sequence[Path]) -> str:
    return str(sources[0]) if len(sources) == 1 else f"{sources[0]} (+{len(sources) - 1} more)"


def _is_canonical(schema: pl.Schema) -> bool:
    return all(schema.get(name) == dtype for name, dtype in CANONICAL.items()) and all(
        schema[name] == EXTRA[name] for name in schema if name in EXTRA
    )


def scan_parquet(sources: Sequence[Path], opts: LoadOptions, stats: LoadStats, *, hive: bool = False,
                 files: Sequence[Path] | None = None) -> pl.LazyFrame:
    """Scan one or more Parquet files (or one hive-partitioned folder) as the canonical table.

    *files*: a hive folder's data files as its walk found them (the folder may also hold a README or
    checksums, which polars, given the folder, would try to read)."""
    label = _describe(sources)
    target = str(sources[0]) if hive and not files else [str(s) for s in (files or sources)]
    try:  # glob=False: the paths are files and folders already found (a name may hold "[1]" or "*")
        lf = pl.scan_parquet(target, hive_partitioning=hive, missing_columns="insert", extra_columns="ignore", glob=False)
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _cut(files or sources) or InputError(f"unreadable Parquet: {first_line(exc)}", path=label) from None
    if _is_canonical(schema):
        return _checked_canonical(conform(lf), files or sources, label, opts, stats, hive and not files)
    return _normalized(lf, schema, label, opts, stats)


def _checked_canonical(lf: pl.LazyFrame, sources: Sequence[Path], label: str, opts: LoadOptions, stats: LoadStats,
                       hive: bool) -> pl.LazyFrame:
    """Canonical-typed Parquet still may hold nulls where a value is required, or times outside years 1 to 9999:
    the same rule as for loosely typed input (refuse with the row, or skip and count with ``skip_bad_rows``)."""
    # comparisons, not dt.year(): row groups whose statistics hold no such time are not read
    missing = pl.any_horizontal([pl.col(c).is_null() for c in REQUIRED]) | (pl.col("ts") < TS_FIRST) | (pl.col("ts") > TS_LAST)
    try:
        # as a filter, so that row groups whose statistics say "no nulls" are not read at all
        bad = lf.filter(missing).select(pl.len()).collect().item()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _cut(sources) or InputError(f"unreadable Parquet: {first_line(exc)}", path=label) from None
    skipped: Counter[str] = Counter()
    if bad:
        if not opts.skip_bad_rows:
            raise _first_missing(sources if not hive and len(sources) > 1 else [label], missing)
        skipped["bad_row"] = bad
        lf = lf.filter(~missing)
    stats.publish(FileStats(path=label, format="parquet", skipped=skipped, complete=True))
    return lf


def _first_missing(sources: Sequence[Path | str], missing: pl.Expr) -> InputError:
    """The error for the first row with a required value missing, naming its file and row."""
    for source in sources:
        hit = (pl.scan_parquet(str(source), hive_partitioning=Path(source).is_dir(), missing_columns="insert", glob=False,
                               extra_columns="ignore")
               .with_row_index("__row").filter(missing)
               # no value leaves polars: a time outside years 1 to 9999 has no Python datetime, so it is said as text
               .select("__row", *(pl.col(c).is_null() for c in REQUIRED), pl.col("ts").cast(pl.String).alias("__ts"))
               .head(1).collect())
        if hit.height:
            row = hit.row(0, named=True)
            where = f"row {row['__row'] + 1}"
            col = next((c for c in REQUIRED if row[c]), None)
            if col is None:
                return InputError(f"bad value {row['__ts']!r} in column ts (times are read in years 1 to 9999)",
                                  path=str(source), where=where)
            return InputError(f"missing value in column {col}", path=str(source), where=where)
    return InputError("missing value in a required column", path=str(sources[0]))


def _normalized(lf: pl.LazyFrame, schema: pl.Schema, label: str, opts: LoadOptions, stats: LoadStats) -> pl.LazyFrame:
    """Aliased or loosely typed Parquet: map names, convert values, validate once.

    The validation pass reads the file once more; ``scantui ingest`` it to the
    canonical layout to skip that on every later open.
    """
    from scantui.io.column_names import resolve_columns
    from scantui.io.normalize import normalize_values

    norm = normalize_values(lf, resolve_columns(schema.names(), label), label, opts)
    try:
        checked = norm.check()
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"unreadable Parquet: {first_line(exc)}", path=label) from None
    stats.publish(FileStats(path=label, format="parquet", rows=checked.rows, skipped=checked.skipped, complete=True))
    return norm.frame


def cut_error(path: Path | str) -> InputError | None:
    """The error for a Parquet file that does not end with its footer (the footer's length and ``PAR1``,
    written last: a file cut short, or still being written), at the byte where it ends; else None."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            tail = os.pread(fh.fileno(), 8, max(0, size - 8))
    except OSError:
        return None
    if size >= 12 and tail[4:] in (b"PAR1", b"PARE") and int.from_bytes(tail[:4], "little") + 12 <= size:
        return None
    return InputError("the file ends without its Parquet footer (cut short, or still being written?)",
                      path=str(path), where=f"byte {size}")


def _cut(sources: Sequence[Path | str]) -> InputError | None:
    """:func:`cut_error` of the first file among *sources* that is cut (a folder is not looked into)."""
    return next((err for err in (cut_error(s) for s in sources if os.path.isfile(s)) if err is not None), None)


def first_line(exc: BaseException) -> str:
    """The first line of an error's text (polars' messages run on with context lines)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
