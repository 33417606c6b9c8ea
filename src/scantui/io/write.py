"""Writing the canonical table to Parquet, atomically.

Output appears complete or not at all: everything is written beside the
target under a hidden temporary name, synced, then renamed into place
(:func:`scantui.fsutil.atomic_path`). A failed or interrupted write leaves no
partial file behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from scantui.errors import InputError
from scantui.fsutil import atomic_path, remove

PARTITION_KEYS = ("day",)


def write_parquet(lf: pl.LazyFrame, out: Path, *, partition_by: str | None = None, sort_by_ts: bool = False,
                  check: Callable[[], None] | None = None) -> Path:
    """Stream *lf* into ``out`` (a file, or a hive-partitioned folder when *partition_by* is ``"day"``).

    *check* runs after the data is written and before it is put in place; raising there
    discards the write (``ingest`` raises an input error its readers deferred, see
    :mod:`scantui.io.sources`).
    """
    out = Path(out)
    if not out.parent.exists():
        raise InputError("output folder does not exist", path=out.parent)
    if partition_by is not None and partition_by not in PARTITION_KEYS:
        raise InputError(f"cannot partition by {partition_by!r} (choose from {', '.join(PARTITION_KEYS)})")
    if partition_by is None and out.is_dir():
        raise InputError("is a folder; give a file name, or use --partition-by day to write a folder", path=out)
    if partition_by is not None and out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", path=out)
    if sort_by_ts:
        lf = lf.sort("ts")
    tmp: Path | None = None
    sunk = False  # the sink returned: polars has finished writing
    try:
        with atomic_path(out) as tmp:
            if partition_by is None:
                lf.sink_parquet(tmp, compression="zstd", statistics=True)
            else:
                tmp.mkdir()
                key = pl.col("ts").dt.date().alias("day")
                lf.sink_parquet(pl.PartitionBy(tmp, key=key, include_key=False), compression="zstd", mkdir=True)
            sunk = True
            if check is not None:
                check()
    except BaseException:
        if tmp is not None and not sunk:  # atomic_path removed it once; polars may still be creating it
            _remove(tmp, grace_s=REMOVE_GRACE_S)
        raise
    return out


#: After a failed write, how long to keep removing a temporary file that a writer still creates.
REMOVE_GRACE_S = 0.5


def _remove(tmp: Path, grace_s: float) -> None:
    """Remove a temporary output; again if it reappears within the grace time.

    A write that failed inside polars can return before polars' own writer has
    created (or finished creating) the file: removing once could leave it behind.
    """
    deadline = time.monotonic() + grace_s
    while True:
        remove(tmp)
        if time.monotonic() >= deadline:
            return
        time.sleep(0.05)
