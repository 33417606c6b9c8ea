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


def scan_tables(paths: Sequence[Path]) -> pl.LazyFrame:
    """One or more enrichment tables as one frame (:data:`TABLE_SCHEMA`)."""
    frames = []
    for path in paths:
        try:
            frames.append(conform_table(pl.scan_parquet(path, glob=False)))  # a file found already: "[1]" is a name
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"unreadable enrichment table: {str(exc).splitlines()[0] if str(exc) else exc}",
                             path=path) from None
    return pl.concat(frames) if len(frames) > 1 else frames[0]


def expand(table: pl.LazyFrame, active: pl.LazyFrame) -> pl.DataFrame:
    """The table's row holding on each (src, day) of *active* (see the module doc)."""
    tab = conform_table(table).unique(["src", "day"], keep="last", maintain_order=True).sort("day").collect()
    act = active.select(pl.col("src").cast(pl.UInt32), pl.col("day").cast(pl.Date)).unique().sort("day").collect()
    values = [c for c in TABLE_SCHEMA.names() if c not in ("src", "day")]
    marked = tab.with_columns(pl.col("day").alias("_from"))
    back = act.join_asof(marked, on="day", by="src", strategy="backward", check_sortedness=False)
    fwd = act.join_asof(marked, on="day", by="src", strategy="forward", check_sortedness=False)
    use_back = pl.col("_from").is_not_null()
    fwd = fwd.select("src", "day", *[pl.col(c).alias(f"{c}_f") for c in [*values, "_from"]])
    both = back.join(fwd, on=["src", "day"], how="left")
    return both.select(
        "src", "day",
        *[pl.when(use_back).then(pl.col(c)).otherwise(pl.col(f"{c}_f")).alias(c) for c in values],
    ).filter(pl.col("source").is_not_null() | pl.any_horizontal([pl.col(c).is_not_null() for c in VALUE_COLUMNS]))


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
    return merged.select(OVERLAY_SCHEMA.names()).cast(dict(OVERLAY_SCHEMA)).sort("src", "day")


def latest_per_source(table: pl.LazyFrame) -> pl.LazyFrame:
    """Each source's last row (its most recent state)."""
    return table.sort("src", "day").group_by("src").agg(pl.all().last())
