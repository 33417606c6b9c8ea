"""Building the enrichment table: what the data says, what the sources answer, what the rules name.

:func:`build_table` takes every (source IP, UTC day) of the data, the data's
own enrichment per (src, day) when it has any, and the configured sources
(:mod:`scantui.enrich.sources`), and returns the compressed table of
:mod:`scantui.enrich.table` with a report.

1. Only sources the data leaves incomplete are looked up (a null in a field
   some configured source can fill, on any of its days).
2. Per source of answers (``ipinfo``; one per MMDB database type, dated
   files of one type being snapshots), the answer whose ``as_of`` is nearest
   each day of the data is taken: so AS is resolved per day of the data where
   the source allows it (dated MMDB snapshots, IPinfo answers cached over
   time); a single answer holds for every day.
3. Field by field the data's own value wins, then the sources in order
   (IPinfo, then the MMDB files as given). ``source`` and ``as_of`` name the
   first one that gave anything.
4. The rules (:func:`scantui.enrich.rules.classify`) name organization and
   category; the rows are compressed to one per source and day where
   something changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from scantui.enrich.answers import FIELDS
from scantui.enrich.rules import INPUT_RULE, Rules, classify, is_low_confidence
from scantui.enrich.sources import ANSWER_SCHEMA, Source
from scantui.enrich.table import TABLE_SCHEMA, compress


@dataclass
class BuildReport:
    sources: int = 0  # distinct source IPs in the data
    looked_up: int = 0  # of them, incomplete in the data and so asked
    answered: dict[str, int] = field(default_factory=dict)  # per answer source: IPs with an answer
    unresolved: int = 0  # IPs a source should have answered but could not reach
    notes: list[str] = field(default_factory=list)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    identified: dict[str, int] = field(default_factory=dict)  # category -> sources named
    low_confidence: int = 0
    unknown_asn: int = 0  # sources whose AS stays unknown on their last day
    rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _known_frame(active: pl.DataFrame, known: pl.LazyFrame | None) -> pl.DataFrame:
    """*active* (src, day) with the data's own enrichment columns (null where it has none)."""
    cols = {c: TABLE_SCHEMA[c] for c in (*FIELDS, "org", "category")}
    if known is None:
        return active.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in cols.items())
    k = known.collect()
    if "rule" in k.columns:  # an earlier table's rule-made org is not the data's: the rules name it again
        made = pl.col("rule").is_not_null() & (pl.col("rule") != INPUT_RULE)
        k = k.with_columns(pl.when(made).then(None).otherwise(pl.col(c)).alias(c) for c in ("org", "category") if c in k.columns)
    k = k.select("src", "day", *[(pl.col(c).cast(t) if c in k.columns else pl.lit(None, dtype=t)).alias(c)
                                 for c, t in cols.items()])
    return active.join(k.unique(["src", "day"], keep="first"), on=["src", "day"], how="left")


def build_table(active: pl.LazyFrame, known: pl.LazyFrame | None, sources: Sequence[Source],
                rules: Rules | None = None) -> tuple[pl.DataFrame, BuildReport]:
    """The enrichment table for (src, day) pairs *active*; see the module doc."""
    report = BuildReport()
    pairs = active.select(pl.col("src").cast(pl.UInt32), pl.col("day").cast(pl.Date)).unique().collect()
    base = _known_frame(pairs, known)
    report.sources = base["src"].n_unique()

    fillable = sorted({f for s in sources for f in s.fields})
    need: list[int] = []
    if fillable:
        incomplete = base.group_by("src").agg(pl.any_horizontal([pl.col(f).is_null() for f in fillable]).any().alias("x"))
        need = incomplete.filter(pl.col("x"))["src"].sort().to_list()
    report.looked_up = len(need)

    by_name: dict[str, list[pl.DataFrame]] = {}
    for source in sources:
        if not need:
            break
        result = source.lookup(need)
        report.unresolved += result.unresolved
        report.notes.extend(result.notes)
        report.stats.setdefault(source.name, {}).update(result.stats)
        by_name.setdefault(source.name, []).append(result.answers)

    frame = base.sort("day")
    names = ["input"]
    for name, parts in by_name.items():
        answers = pl.concat(parts).unique(["src", "as_of"], keep="last").sort("as_of")
        report.answered[name] = answers["src"].n_unique()
        if answers.height == 0:
            continue
        k = len(names)  # the answers of names[k] get the suffix _k
        renamed = answers.rename({c: f"{c}_{k}" for c in ANSWER_SCHEMA.names() if c != "src"})
        frame = frame.join_asof(renamed, left_on="day", right_on=f"as_of_{k}", by="src", strategy="nearest",
                                check_sortedness=False)
        names.append(name)

    idx = list(range(1, len(names)))
    filled = [pl.coalesce(pl.col(f), *[pl.col(f"{f}_{k}") for k in idx]).alias(f) for f in FIELDS]
    any_own = pl.any_horizontal([pl.col(f).is_not_null() for f in FIELDS])
    source = pl.when(any_own).then(pl.lit("input"))
    as_of = pl.when(any_own).then(pl.lit(None, pl.Date))
    for k in idx:
        got = pl.any_horizontal([pl.col(f"{f}_{k}").is_not_null() for f in FIELDS])
        source = source.when(got).then(pl.lit(names[k]))
        as_of = as_of.when(got).then(pl.col(f"as_of_{k}"))
    frame = frame.with_columns(source.otherwise(None).alias("source"), as_of.otherwise(None).alias("as_of"))
    frame = frame.with_columns(filled)
    has_own_org = pl.col("org").is_not_null() | pl.col("category").is_not_null()
    frame = frame.with_columns(pl.when(has_own_org).then(pl.lit(INPUT_RULE)).otherwise(None).alias("rule"))
    frame = classify(frame.select([c for c in TABLE_SCHEMA.names()]), rules)
    table = compress(frame.cast(dict(TABLE_SCHEMA)))

    last = table.group_by("src").agg(pl.all().sort_by("day").last())
    named = last.filter(pl.col("org").is_not_null() | pl.col("category").is_not_null())
    report.identified = {c: n for c, n in named.group_by("category").len().iter_rows() if c is not None}
    report.low_confidence = named.filter(is_low_confidence(pl.col("rule"))).height
    report.unknown_asn = last.filter(pl.col("asn").is_null()).height
    report.rows = table.height
    return table, report
