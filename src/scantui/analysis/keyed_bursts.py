"""Every burst of the sources a fingerprint keys on some day, written by the merge: collab's fingerprint pass reads it.

Collab's fingerprint pass (:func:`~scantui.analysis.collab_bursts.burst_picks`) needs every burst of every source
that :func:`~scantui.analysis.fingerprint_keys.rare_keys` keys on any day: its bursts on the days it is keyed, and
its bursts at a day's edge on the other days (a chain across midnight is keyed by its first day). A key is a day's
(a signature rare among that day's sources), but the sources keyed on *any* day are the data's: a day cannot hold
these rows when it is built. So the merge writes them once per rollup, ``keyed_bursts.parquet``: the linked day
tables' bursts (:data:`~scantui.analysis.bursts.SCHEMA`) of the sources of ``rare_keys`` over the linked
fingerprints, sorted by (dport, src, day, start). Exactly the rows the pass filtered from every day's bursts at each
query (0.57 CPU s at 84 days of 2.4 M packets, for 42,828 rows of 200 sources; 0.13 at 21 days): now a scan of every
day's ``src`` and the kept rows at each merge (a new day re-merges: the keyed sources may change), and a read of
this file at each query. A rollup merged before the file gets it on its first read (:func:`scan`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from scantui.analysis import bursts as bw
from scantui.analysis import fingerprint_keys as fk
from scantui.fsutil import atomic_path

FILE = "keyed_bursts.parquet"


def keyed_sources(fingerprints: pl.LazyFrame) -> pl.Series:
    """The sources a fingerprint keys on some day (:func:`~scantui.analysis.fingerprint_keys.rare_keys`), sorted."""
    return fk.rare_keys(fingerprints).select(pl.col("src").unique().sort()).collect()["src"]


def write(rollup: Path) -> bool:
    """``rollup/keyed_bursts.parquet`` from its linked ``bursts/`` and ``fingerprints/`` (written whole or not at
    all); False when it has either not (a day state built before them): collab then filters every day's bursts."""
    fingerprints, days = fk.scan_fingerprints(rollup), bw.scan_days(rollup)
    if fingerprints is None or days is None:
        return False
    srcs = keyed_sources(fingerprints)
    rows = days.filter(pl.col("src").is_in(srcs.implode())).collect(engine="streaming")
    with atomic_path(rollup / FILE) as tmp:
        rows.sort("dport", "src", "day", "start_us").write_parquet(tmp, row_group_size=bw.ROW_GROUP)
    return True


def scan(rollup: Path) -> pl.LazyFrame | None:
    """The rollup's keyed sources' bursts, or None when it has none. A rollup merged before them gets the file
    here, once (the same rows; as a port list is kept on first use): None when it cannot be written there."""
    path = rollup / FILE
    if not path.is_file():
        try:
            if not write(rollup):
                return None
        except OSError:  # a read-only cache: collab filters every day's bursts
            return None
    return pl.scan_parquet(path, glob=False).select(bw.SCHEMA.names())
