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


def _with_groups(frame: pl.DataFrame, groups: list[Any]) -> pl.DataFrame:
    """``src_label_ids``/``src_label_titles`` of each row of *frame* (its ``__src``): the groups it is a member of.

    One join per prefix length among the members (addresses are /32): the row's network at that length
    against the members of that length, never one test per member.
    """
    by_len: dict[int, list[tuple[int, str, str]]] = {}
    for g in groups:
        for net, plen in g.member_ranges:
            by_len.setdefault(plen, []).append((net, g.id.lower(), (g.title or "").lower()))
    empty = pl.lit([], dtype=pl.List(pl.String))
    ids, titles, out = [], [], frame
    for i, (plen, members) in enumerate(sorted(by_len.items(), reverse=True)):
        table = pl.DataFrame({"__net": [m[0] for m in members], "id": [m[1] for m in members], "title": [m[2] for m in members]},
                             schema={"__net": pl.UInt32, "id": pl.String, "title": pl.String})
        table = table.unique(["__net", "id"], maintain_order=True).group_by("__net", maintain_order=True).agg(
            pl.col("id").alias(f"__ids{i}"), pl.col("title").alias(f"__titles{i}"))
        mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        out = (out.with_columns((pl.col("__src") & pl.lit(mask, dtype=pl.UInt32)).alias("__net"))
               .join(table, on="__net", how="left", maintain_order="left").drop("__net"))
        ids.append(pl.col(f"__ids{i}").fill_null(empty))
        titles.append(pl.col(f"__titles{i}").fill_null(empty))
    if not ids:
        return out.with_columns(empty.alias("src_label_ids"), pl.lit(None, dtype=pl.String).alias("src_label_titles"))
    out = out.with_columns(pl.concat_list(ids).list.unique(maintain_order=True).alias("src_label_ids"),
                           pl.concat_list(titles).list.join(" ").alias("src_label_titles"))
    return out.drop([c for c in out.columns if c.startswith(("__ids", "__titles"))])


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
    out = _with_groups(out, groups)
    return out.with_columns(pl.col("src_tags").fill_null(pl.lit([], dtype=pl.List(pl.String)))).drop("__src").with_columns(
        pl.col("src").cast(src_dtype))
