"""The enrichment table: its layout, writing it atomically, and reading it back per (source, day).

``scantui enrich`` writes one Parquet file with :data:`TABLE_SCHEMA`, one row
per source and per day on which what is known of it changes: a row holds
from its ``day`` (a UTC day of the data) until the source's next row; before
a source's first row its first row holds. ``source`` names where the AS came
from (``input``, ``ipinfo``, ``mmdb:<database type>``), ``as_of`` the day that
answer describes (the look-up day, or the database's build day). ``org``,
``category`` and ``rule`` are the rules' verdict when the table was written
(``rule = "input"`` when the data itself said so); readers apply the current
rules again (:mod:`scantui.enrich.rules`).

The table is recognized by its columns wherever a PATH is taken
(:func:`scantui.io.loader.open_inputs`: a Parquet file with ``src`` and
``day`` and no ``ts``), so ``scantui scanners DATA enrich.parquet`` (and
``collab``, ``groups``, ``track``, ``info``, the TUI) use it. The rollup cache
expands it to every (source, day) of the data (:func:`expand`) and merges it
under the data's own enrichment columns (:func:`overlay`), which are preferred
field by field.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from scantui.errors import InputError
from scantui.fsutil import atomic_path

TABLE_SCHEMA = pl.Schema({
    "src": pl.UInt32(), "day": pl.Date(),
    "asn": pl.UInt32(), "as_name": pl.String(), "country": pl.String(), "hostname": pl.String(),
    "company": pl.String(), "org": pl.String(), "category": pl.String(), "rule": pl.String(),
    "source": pl.String(), "as_of": pl.Date(),
})
#: Columns that describe the source (a new row is written when one of them changes).
VALUE_COLUMNS = ("asn", "as_name", "country", "hostname", "company", "org", "category", "rule")
#: What the rollup's per-(src, day) enrichment carries after the overlay.
OVERLAY_SCHEMA = pl.Schema({
    "src": pl.UInt32(), "day": pl.Date(),
    "asn": pl.UInt32(), "as_name": pl.String(), "country": pl.String(), "hostname": pl.String(),
    "org": pl.String(), "category": pl.String(), "company": pl.String(), "rule": pl.String(),
})
FACT_COLUMNS = ("asn", "as_name", "country", "hostname", "company")
PARQUET_META = {"scantui": "enrichment-table", "scantui_enrichment_version": "1"}


def conform_table(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Any enrichment-like frame -> :data:`TABLE_SCHEMA` (missing columns null)."""
    names = set(lf.collect_schema().names())
    return lf.select(
        (pl.col(c).cast(t) if c in names else pl.lit(None, dtype=t)).alias(c) for c, t in TABLE_SCHEMA.items()
    )


def compress(df: pl.DataFrame) -> pl.DataFrame:
    """Keep a source's first row and every row where a value column differs from its previous row."""
    df = df.sort("src", "day")
    first = pl.col("src").ne_missing(pl.col("src").shift(1))
    changed = pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in VALUE_COLUMNS])
    return df.filter(first | changed)


def write_table(df: pl.DataFrame, out: Path) -> Path:
    """Write the table atomically (:func:`scantui.fsutil.atomic_path`)."""
    out = Path(out)
    if not out.parent.exists():
        raise InputError("output folder does not exist", path=out.parent)
    if out.is_dir():
        raise InputError("is a folder; give a file name", path=out)
    with atomic_path(out) as tmp:
        df.select(TABLE_SCHEMA.names()).cast(dict(TABLE_SCHEMA)).write_parquet(
            tmp, compression="zstd", statistics=True, metadata=PARQUET_META)
    return out


def _check_columns(schema: pl.Schema, path: Path) -> None:
    """Each column the table shares with :data:`TABLE_SCHEMA` of a type that casts to it: else the file and the
    column are named (the cast itself fails later, deep in a rollup, naming neither)."""
    for name, want in TABLE_SCHEMA.items():
        got = schema.get(name)
        if got is None or got == pl.Null or got == want:
            continue
        ok = (got.is_integer() if want.is_integer() else isinstance(got, (pl.Date, pl.Datetime)) if want == pl.Date()
              else isinstance(got, (pl.String, pl.Categorical, pl.Enum)))
        if not ok:
            raise InputError(f"enrichment table column {name!r} is {got}, expected {want}", path=path)


def scan_tables(paths: Sequence[Path]) -> pl.LazyFrame:
    """One or more enrichment tables as one frame (:data:`TABLE_SCHEMA`)."""
    frames = []
    for path in paths:
        try:
            lf = pl.scan_parquet(path, glob=False)  # a file found already: "[1]" is a name
            _check_columns(lf.collect_schema(), path)
            frames.append(conform_table(lf))
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"unreadable enrichment table: {str(exc).splitlines()[0] if str(exc) else exc}",
                             path=path) from None
    return pl.concat(frames) if len(frames) > 1 else frames[0]


#: A date's day number plus this is a non-negative 32-bit integer: (src, day) packed into one UInt64.
_DAY_OFFSET = 1 << 31


def src_day_key(src: pl.Expr, day: pl.Expr) -> pl.Expr:
    """(src, day) of an enrichment row as one UInt64 ordered as the pair, the source above the day (null where
    either is): one column to sort by or join on, several times cheaper than the two."""
    return src.cast(pl.UInt64) * (1 << 32) + (day.cast(pl.Int32).cast(pl.Int64) + _DAY_OFFSET).cast(pl.UInt64)


def expand(table: pl.LazyFrame, active: pl.LazyFrame) -> pl.DataFrame:
    """The table's row holding on each (src, day) of *active* (see the module doc), sorted by (src, day).

    Per (src, day): the source's last row from that day or before, else its first row (a day before the
    source's first row); a source the table lacks gets no row. One binary search of the table's sorted
    (src, day) keys for every active pair, then one gather (at 84 days of the benchmark data, 6.6 M pairs:
    ~1 CPU s where two as-of joins by source took 24)."""
    key = src_day_key(pl.col("src"), pl.col("day"))
    tab = conform_table(table).with_columns(key.alias("_k")).drop_nulls("_k").collect()
    # a key given twice: its last row (a stable sort, the last of each run of equal keys)
    tab = tab.sort("_k", maintain_order=True).filter(pl.col("_k").ne_missing(pl.col("_k").shift(-1)))
    keys = active.select(key.alias("k")).drop_nulls().collect()["k"].to_numpy().copy()
    keys.sort()  # numpy's sort and a comparison with the next: 4x less CPU than polars' unique and sort here
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys
    held = tab["_k"].to_numpy()
    srcs, held_srcs = keys >> np.uint64(32), held >> np.uint64(32)
    last = np.searchsorted(held, keys, side="right").astype(np.int64) - 1  # the last row at or before the pair
    n = len(held)
    before = (last >= 0) & (held_srcs[np.clip(last, 0, max(n - 1, 0))] == srcs) if n else np.zeros(len(keys), bool)
    after = (last + 1 < n) & (held_srcs[np.clip(last + 1, 0, max(n - 1, 0))] == srcs) if n else before
    row = np.where(before, last, last + 1)  # else the source's first row, after the pair
    found = before | after
    values = [c for c in TABLE_SCHEMA.names() if c not in ("src", "day")]
    picked = tab.select(values)[row[found]]
    day = pl.Series((keys[found] & np.uint64(0xFFFFFFFF)).astype(np.int64) - _DAY_OFFSET).cast(pl.Int32).cast(pl.Date)
    out = picked.with_columns(pl.Series("src", srcs[found].astype(np.uint32)), day.alias("day")).select(TABLE_SCHEMA.names())
    return out.filter(pl.col("source").is_not_null() | pl.any_horizontal([pl.col(c).is_not_null() for c in VALUE_COLUMNS]))


def overlay(own: pl.LazyFrame | None, table: pl.LazyFrame, active: pl.LazyFrame) -> pl.DataFrame:
    """Per (src, day): the data's own enrichment (*own*, preferred field by field) over the expanded *table*."""
    ext = expand(table, active)
    if own is None:
        merged = ext
    else:
        mine = own.collect()
        names = set(mine.columns)
        mine = mine.rename({c: f"{c}_own" for c in mine.columns if c not in ("src", "day")})
        merged = ext.join(mine, on=["src", "day"], how="full", coalesce=True)
        own_org = [pl.col(f"{c}_own") for c in ("org", "category") if c in names]
        has_own_org = pl.any_horizontal([e.is_not_null() for e in own_org]) if own_org else pl.lit(False)
        exprs = []
        for c in OVERLAY_SCHEMA.names():
            if c in ("src", "day"):
                continue
            if c == "rule":
                exprs.append(pl.when(has_own_org).then(pl.lit("input")).otherwise(pl.col("rule")).alias("rule"))
            elif c in ("org", "category") and c in names:
                # org and category go together: the data's pair, or the table's
                exprs.append(pl.when(has_own_org).then(pl.col(f"{c}_own")).otherwise(pl.col(c)).alias(c))
            elif c in names:
                exprs.append(pl.coalesce(pl.col(f"{c}_own"), pl.col(c)).alias(c))
            else:
                exprs.append(pl.col(c))
        merged = merged.select("src", "day", *exprs)
    out = merged.select(OVERLAY_SCHEMA.names()).cast(dict(OVERLAY_SCHEMA))
    # expand's rows are in (src, day) order already; the full join's are not: sorted by one packed key
    return out if own is None else out.sort(src_day_key(pl.col("src"), pl.col("day")))


def latest_per_source(table: pl.LazyFrame) -> pl.LazyFrame:
    """Each source's last row (its most recent state)."""
    return table.sort("src", "day").group_by("src").agg(pl.all().last())
