"""The labels file's word on each row of a scanner list: its source note (tags, note) and the groups it is in.

:func:`annotate_sources` adds the columns the query terms ``tag:``, ``note:``,
``label:`` and ``review:`` read (:data:`scantui.analysis.query.SOURCE_COLUMNS`,
lowercased for matching) and the ``tags``/``note`` cells the tables show
(:data:`SHOWN`, as written). Both front ends call it: the TUI's scanners list
and ``scantui scanners --query``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from scantui.analysis.query import SOURCE_COLUMNS
from scantui.labels.model import ip_to_int

#: The columns shown in tables: the source's tags (joined by ", ") and its note (first line).
SHOWN = ("tags", "note")


def annotate_sources(frame: pl.DataFrame, store: Any) -> pl.DataFrame:
    """*frame* (with a ``src`` column) with :data:`SOURCE_COLUMNS` and :data:`SHOWN` from *store* (a labels
    store; None: no labels file, every source is new)."""
    frame = frame.drop([c for c in (*SOURCE_COLUMNS, *SHOWN) if c in frame.columns])
    sources = store.sources if store is not None else []
    groups = store.groups if store is not None else []
    notes = pl.DataFrame(
        {"src": [ip_to_int(s.ip) for s in sources], "src_tags": [[t.lower() for t in s.tags] for s in sources],
         "src_note": [s.note.lower() if s.note else None for s in sources],
         "tags": [", ".join(s.tags) or None for s in sources],
         "note": [s.note if s.note else None for s in sources]},
        schema={"src": pl.UInt32, "src_tags": pl.List(pl.String), "src_note": pl.String, "tags": pl.String, "note": pl.String},
    )
    src_dtype = frame.schema["src"]
    out = frame.with_columns(pl.col("src").cast(pl.UInt32).alias("__src")).join(
        notes.rename({"src": "__src"}), on="__src", how="left", maintain_order="left")
    src = pl.col("__src")
    ids, titles = [], []
    for group in groups:
        hosts = [net for net, plen in group.member_ranges if plen == 32]
        tests = [src.is_in(hosts)] if hosts else []
        for net, plen in group.member_ranges:
            if plen < 32:
                mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
                tests.append((src & mask) == net)
        member = pl.any_horizontal(tests) if tests else pl.lit(False)
        ids.append(pl.when(member).then(pl.lit(group.id.lower())))
        titles.append(pl.when(member).then(pl.lit((group.title or "").lower())))
    if ids:
        out = out.with_columns(pl.concat_list(ids).list.drop_nulls().alias("src_label_ids"),
                               pl.concat_list(titles).list.drop_nulls().list.join(" ").alias("src_label_titles"))
    else:
        out = out.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("src_label_ids"),
                               pl.lit(None, dtype=pl.String).alias("src_label_titles"))
    return out.with_columns(pl.col("src_tags").fill_null(pl.lit([], dtype=pl.List(pl.String)))).drop("__src").with_columns(
        pl.col("src").cast(src_dtype))
