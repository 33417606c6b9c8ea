"""Collab's stage 2 a batch at a time: the packets of the groups that pass the pre-filter, read and
searched in batches of at most :data:`PACKETS_PER_BATCH` estimated probes (:mod:`scantui.analysis.collab`).

Read at once, they were what a search held: 2.5 GB for the 21 M packets of ``bench_collab``'s 330
planted scans, and at a year of a telescope that many scans cover, more than a machine holds.

A *unit* is what one search needs whole: a burst window (``--window burst``: one cluster's bursts, or a
span of a long one, ``wid``), a (key, port, day) of a key kind with calendar-day windows, or a (key,
port) group with rolling windows (their anchors are cut over all its packets; a group above the budget
is searched by :mod:`~scantui.analysis.collab_rolling` in batches of its days instead). Its estimate
comes from the rollup, without reading a packet: its bursts' ``packets``, or its ``port_day`` rows'
``packets``. Units are taken in order of their first day, so a batch reads few days' files; a unit
bigger than the budget is a batch of its own (its packets are searched together). No unit is more than a day of
one (key, port) once it passes the budget: a calendar day is one, a rolling group is searched a day at a time,
and a burst window that large is cut into spans of one or two days
(:data:`~scantui.analysis.collab_bursts.FINE_SLICE_PACKETS`). A batch reads the
probes of its units' (day, port, source) rows once for every key kind it holds (with bursts, only those
inside its bursts), so its packets are at most its estimate.

Each unit's covers come back tagged with their place in one order (per kind: a window's ``wid``; the
key, port and window start) and are put back in that order, kind by kind, so the deduplication that
follows sees the same list for any budget: the result does not depend on how the reads were cut
(``tests/test_collab_batches.py`` compares tiny budgets with one read).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from scantui.analysis.rollup import Progress

#: Estimated probes read and searched at once: ~100 bytes each at the peak (the probes, their rows per
#: window and that frame sorted), so ~0.4 GB a batch; a single larger unit is read alone.
PACKETS_PER_BATCH = 4_000_000

#: (the batch's probes, a kind, that kind's rows of the batch) -> (covers tagged with ``_unit``, windows searched)
Search = Callable[[pl.DataFrame, str, pl.DataFrame], tuple[list[dict[str, Any]], int]]


def plan(units: pl.DataFrame, budget: int) -> list[pl.DataFrame]:
    """Batches of *units* (``kind``, ``unit``, ``day``: its first, ``packets``: its estimate) as (kind, unit)
    frames: one when all fit in *budget*, else cut greedily in order of first day (then kind and unit), each at
    most *budget* packets or a single unit."""
    if units.is_empty():
        return []
    if int(units["packets"].sum()) <= budget:
        return [units.select("kind", "unit")]
    s = units.sort("day", "kind", "unit")
    ids, batch, filled, held = [], 0, 0, 0
    for p in s["packets"].to_list():
        if held and filled + p > budget:
            batch, filled, held = batch + 1, 0, 0
        filled, held = filled + p, held + 1
        ids.append(batch)
    return s.select("kind", "unit", pl.Series("_batch", ids)).partition_by("_batch", maintain_order=True,
                                                                            include_key=False)


def read_and_search(per_kind: dict[str, pl.DataFrame], unit_of: Sequence[str], need_of: Callable[[pl.DataFrame], pl.DataFrame],
                    load: Callable[[pl.DataFrame, list[pl.DataFrame]], pl.DataFrame], search: Search,
                    stats: dict[str, int], extra: Sequence[tuple[str, list[dict[str, Any]]]] = (),
                    progress: Progress | None = None) -> list[dict[str, Any]]:
    """Covers of every kind's rows (*per_kind*: rows with ``day``, ``packets`` and the *unit_of* columns naming
    their unit), in the order of one read; counts ``packets_read``, ``windows`` and ``batches`` into *stats*.

    *need_of* gives a kind's rows' (day, dport, src) rows, *load* (need, the batch's rows of every kind) the
    batch's probes, *search* a kind's covers in them; *extra*: (kind, covers tagged with ``_unit``) searched
    elsewhere (:mod:`~scantui.analysis.collab_rolling`), put in the same order; *progress*: told ``candidate batch I
    of N`` as each batch starts, and may raise there to stop the search (a cancelled task's reporter)."""
    kinds = list(per_kind)
    units, ids = [], {}
    for i, k in enumerate(kinds):
        rows = per_kind[k]
        if rows.is_empty():
            continue
        u = (rows.group_by(*unit_of).agg(pl.col("day").min().alias("_first"), pl.col("packets").cast(pl.Int64).sum())
             .sort(*unit_of).with_row_index("unit").with_columns(pl.lit(i, pl.Int32).alias("kind")))
        ids[i] = u.select("unit", *unit_of)
        units.append(u.select("kind", "unit", pl.col("_first").alias("day"), "packets"))
    raw: list[tuple[int, dict[str, Any]]] = []
    windows = read = 0
    batches = plan(pl.concat(units), PACKETS_PER_BATCH) if units else []
    for b, batch in enumerate(batches):
        if progress is not None:
            progress(f"candidate batch {b + 1} of {len(batches)}", b / len(batches))
        parts = {}
        for i, k in enumerate(kinds):
            mine = batch.filter(pl.col("kind") == i)
            if mine.height:
                parts[k] = per_kind[k].join(ids[i].join(mine.select("unit"), on="unit", how="semi").drop("unit"),
                                            on=list(unit_of), how="semi")
        need = pl.concat([need_of(p).select("day", "dport", "src") for p in parts.values()]).unique()
        pk = load(need, list(parts.values()))
        read += pk.height
        for k, rows in parts.items():
            found, n = search(pk, k, rows)
            raw.extend((kinds.index(k), c) for c in found)
            windows += n
        del pk
    stats.update(packets_read=read, windows=windows, batches=len(batches))
    raw.extend((kinds.index(k), c) for k, found in extra for c in found)
    raw.sort(key=lambda kc: (kc[0], kc[1]["_unit"]))  # stable: a unit's covers keep their order
    return [{k: v for k, v in c.items() if k != "_unit"} for _, c in raw]
