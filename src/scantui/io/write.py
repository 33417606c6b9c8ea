"""Writing the canonical table to Parquet, atomically.

Output appears complete or not at all: everything is written beside the
target under a hidden temporary name, synced, then renamed into place. A
failed or interrupted write leaves no partial file behind.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import polars as pl

from scantui.errors import InputError
from scantui.fsutil import fsync_path, fsync_tree

PARTITION_KEYS = ("day",)


def _temp_beside(target: Path) -> Path:
    return target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"






def write_parquet(lf: pl.LazyFrame, out: Path, *, partition_by: str | None = None, sort_by_ts: bool = False) -> Path:
    """Stream *lf* into ``out`` (a file, or a hive-partitioned folder when *partition_by* is ``"day"``)."""
    out = Path(out)
    if not out.parent.exists():
        raise InputError("output folder does not exist", path=out.parent)
    if partition_by is not None and partition_by not in PARTITION_KEYS:
        raise InputError(f"cannot partition by {partition_by!r} (choose from {', '.join(PARTITION_KEYS)})")
    if partition_by is None and out.is_dir():
        raise InputError("is a folder; give a file name, or use --partition-by day to write a folder", path=out)
    if sort_by_ts:
        lf = lf.sort("ts")
    tmp = _temp_beside(out)
    try:
        if partition_by is None:
            lf.sink_parquet(tmp, compression="zstd", statistics=True)
            fsync_path(tmp)
            os.replace(tmp, out)
        else:
            tmp.mkdir()
            key = pl.col("ts").dt.date().alias("day")
            lf.sink_parquet(pl.PartitionBy(tmp, key=key, include_key=False), compression="zstd", mkdir=True)
            fsync_tree(tmp)
            _replace_folder(tmp, out)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
    fsync_path(out.parent)
    return out


def _replace_folder(new: Path, out: Path) -> None:
    """Put folder *new* at *out*; an existing *out* is moved aside first and removed after."""
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", path=out)
    old = None
    if out.exists():
        old = _temp_beside(out)
        os.replace(out, old)
    os.replace(new, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
