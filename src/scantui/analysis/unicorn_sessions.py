"""The Unicorn session keys over all the days (step 3 of :mod:`scantui.analysis.rollup_days`).

:func:`merge_sessions` sums the days' key counts one session-key range at a time (:func:`key_ranges`)
and keeps the keys above the threshold; :func:`extend_sessions` adds new days to a held session set,
reading the held days' counts only for the keys that may pass (through the held counts' memo,
:mod:`~scantui.analysis.session_counts`, when there is one).

The bound that decides which keys may pass reads each held day's key rows of two or more only
(:func:`_maybe_sessions`): kept beside the day's key counts in a day state as :data:`HEAVY` (those
rows, as they are there; written once per state, :func:`heavy_file`), so an extension reads ~700 rows
a held day, not the day's ~2 M key rows to find them (83 days at 200 M, load ~10: 1.4-1.6 -> 0.12-0.17 CPU s).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

from scantui.analysis import session_counts as sc
from scantui.analysis.fingerprints import KEY_COUNTS_SCHEMA, SESSIONS_SCHEMA
from scantui.analysis.rollup_layout import KEYS, KEYS_PER_RANGE, MAX_KEY_RANGES, Mapper, serial
from scantui.fsutil import atomic_path


#: In a day state, beside its key counts (:data:`~scantui.analysis.rollup_layout.KEYS`): their rows with ``n`` of
#: two or more, in their order (all :func:`_maybe_sessions` reads of a held day).
HEAVY = "unicorn_heavy.parquet"


def merge_sessions(key_files: Sequence[Path], min_packets: int, *, map: Mapper | None = None) -> pl.DataFrame:
    """The session keys shared by more than *min_packets* SYN probes over all the days' key counts.

    *map* runs :func:`session_range` over the key ranges (default: a loop; a Dask runner's map
    runs them as tasks)."""
    out = [pl.DataFrame(schema=SESSIONS_SCHEMA)]
    files = [str(f) for f in key_files]
    if not files:
        return out[0]
    ranges = key_ranges(files)
    jobs = [(files, r, ranges, min_packets) for r in range(ranges)]
    out.extend((map or serial)(session_range, jobs))
    return pl.concat(out).sort("unicorn_key")


def key_ranges(files: Sequence[str]) -> int:
    """How many even session-key ranges the key-count *files* are read in: enough for each to hold
    about :data:`KEYS_PER_RANGE` of their rows (an upper bound on its distinct keys; the keys are
    hash-like), up to :data:`MAX_KEY_RANGES`."""
    total = sum(_rows(f) for f in files)
    return max(1, min(MAX_KEY_RANGES, -(-total // KEYS_PER_RANGE)))


def _key_range(r: int, ranges: int) -> pl.Expr:
    """Rows of session-key range *r* of *ranges* (the key files are sorted by key: a range reads only
    its row groups); the last range runs to the largest key."""
    width = (1 << 32) // ranges
    key = pl.col("unicorn_key")
    return key >= r * width if r == ranges - 1 else (key >= r * width) & (key <= (r + 1) * width - 1)


def extend_sessions(sessions: pl.DataFrame, held: Sequence[Path], new: Sequence[Path], min_packets: int, *,
                    memo: Path | None = None, memo_min_rows: int | None = None, undos: int = 1) -> pl.DataFrame:
    """:func:`merge_sessions` of the key files *held* and *new* from *sessions*, those of *held*
    alone: a key's count only grows with more days, so they stay sessions, and only the keys of
    the *new* days can join them (their counts in *held* are read for those keys only).

    One key range at a time (:func:`extend_range`), as :func:`merge_sessions` does, the ranges planned
    on the *new* days' rows: memory is the distinct new keys of one range, at most :data:`KEYS_PER_RANGE`
    (all the new days' keys at once grew with the days added in one run: 63 full-size days, 7.75 GB).

    *memo*: the day store's folder of held-count memos (:mod:`~scantui.analysis.session_counts`): with one for the
    *held* days, or from *memo_min_rows* held key rows on (default :data:`~.session_counts.MEMO_MIN_ROWS`), the
    held counts come from it and no held file is read (the same sessions); *undos*: the links of the memo's chain of
    undos kept (:meth:`~.session_counts.Memo.commit`)."""
    sessions = sessions.cast(dict(SESSIONS_SCHEMA))
    new_files, held_files = [str(f) for f in new], [str(f) for f in held]
    out = [sessions]
    if new_files:
        ranges = key_ranges(new_files)
        found = None
        if memo is not None and held_files and min_packets < sc.CAP:
            found = _memo_sessions(memo, sessions, held_files, new_files, ranges, min_packets,
                                   sc.MEMO_MIN_ROWS if memo_min_rows is None else memo_min_rows, undos)
        if found is None:
            found = [extend_range(new_files, held_files, sessions, r, ranges, min_packets) for r in range(ranges)]
        out.extend(found)
    return pl.concat(out).sort("unicorn_key")


def _memo_sessions(folder: Path, sessions: pl.DataFrame, held: Sequence[str], new: Sequence[str], ranges: int,
                   min_packets: int, min_rows: int, undos: int = 1) -> list[pl.DataFrame] | None:
    """:func:`extend_sessions` through the held days' memo, updated for the *new* days and renamed for every day
    (taken, or built from the held key files); None (read the held files) below *min_rows* held rows without a
    memo, when the memo cannot be written, or when a rebuilt one still disagrees with *sessions*."""
    states = [Path(f).parent.name for f in held]
    if not sc.memo_path(folder, states).is_file() and sum(_rows(f) for f in held) < min_rows:
        return None
    for _attempt in range(2):  # a memo that disagrees is removed; the second one is built from the key files
        try:
            memo = sc.Memo.take(folder, states, lambda: _held_counts(held))
        except OSError:
            return None  # e.g. a read-only or full cache
        try:
            found = [memo.add(_range_counts(new, r, ranges), sessions, min_packets) for r in range(ranges)]
            memo.commit([*states, *(Path(f).parent.name for f in new)], undos)
            return found
        except (sc.Inconsistent, OSError):
            memo.discard()
        except BaseException:
            memo.discard()
            raise
    return None


def _held_counts(held: Sequence[str]) -> Iterator[pl.DataFrame]:
    """Every key's count over the *held* key files, one key range at a time (as :func:`merge_sessions` reads them)."""
    ranges = key_ranges(held)
    for r in range(ranges):
        yield _range_counts(held, r, ranges)


def _range_counts(files: Sequence[str], r: int, ranges: int) -> pl.DataFrame:
    """:func:`_range_sums`, sorted by key."""
    return _range_sums(files, r, ranges).sort("unicorn_key").collect(engine="streaming")


def _range_sums(files: Sequence[str], r: int, ranges: int) -> pl.LazyFrame:
    """Key range *r* of *ranges* of the key-count *files*: each key's count summed (``unicorn_key``, ``n``)."""
    lf = pl.scan_parquet(list(files), schema=KEY_COUNTS_SCHEMA, glob=False)
    if ranges > 1:
        lf = lf.filter(_key_range(r, ranges))
    if len(files) == 1:  # one day's key counts hold each key once: summed already (the new day of an extension:
        return lf.select("unicorn_key", pl.col("n").cast(pl.UInt64))  # 2 M keys, 0.25 -> 0.05 CPU s)
    return lf.group_by("unicorn_key").agg(pl.col("n").cast(pl.UInt64).sum())


def extend_range(new: Sequence[str], held: Sequence[str], sessions: pl.DataFrame, r: int, ranges: int,
                 min_packets: int) -> pl.DataFrame:
    """The new sessions of key range *r* of *ranges* (see :func:`extend_sessions`): the range's keys of
    the *new* key files not yet in *sessions*, whose count over *new* and *held* passes *min_packets*."""
    key = "unicorn_key"
    where = _key_range(r, ranges) if ranges > 1 else pl.lit(True)
    counts = _range_sums(new, r, ranges).join(sessions.lazy(), on=key, how="anti").collect(engine="streaming")
    if held and counts.height and len(held) < min_packets:  # else every new key's bound passes
        counts = counts.join(_maybe_sessions(held, where, counts, min_packets), on=key, how="semi")
    if held and counts.height:
        before = (pl.scan_parquet(list(held), schema=KEY_COUNTS_SCHEMA, glob=False).filter(where)
                  .join(counts.lazy().select(key), on=key, how="semi")
                  .group_by(key).agg(pl.col("n").cast(pl.UInt64).sum()))
        counts = pl.concat([counts.lazy(), before]).group_by(key).agg(pl.col("n").sum()).collect(engine="streaming")
    hot = counts.filter(pl.col("n") > min_packets).select(key, pl.lit(True).alias("unicorn_session"))
    return hot.cast(dict(SESSIONS_SCHEMA))


def _maybe_sessions(held: Sequence[str], where: pl.Expr, counts: pl.DataFrame, min_packets: int) -> pl.DataFrame:
    """The keys of *counts* (the new days' counts) whose count over the *held* days too may pass
    *min_packets*: an upper bound from the held rows counting a key twice or more, each other held day
    (one row a key a day) counting it at most once. Probing every held row for the new keys cost 2.4 of
    2.8 CPU s of adding day 84 at 200 M; the rows of two or more are few (57 k of 171 M there: 0.6 CPU s,
    mostly decoding the key column; read from each day state's :data:`HEAVY` file now, a few hundred rows a day), and
    the exact counts are then read for the keys left (none there)."""
    key = "unicorn_key"
    held = [heavy_file(f) or f for f in held]  # the same rows (those of two or more), from the small file when kept
    heavy = (pl.scan_parquet(held, schema=KEY_COUNTS_SCHEMA, glob=False).filter(where & (pl.col("n") >= 2))
             .join(counts.lazy().select(key), on=key, how="semi")
             .group_by(key).agg(pl.col("n").cast(pl.UInt64).sum().alias("heavy"), pl.len().cast(pl.UInt64).alias("days")))
    bound = (counts.lazy().join(heavy, on=key, how="left")
             .select(key, pl.col("n") + pl.col("heavy").fill_null(0) + len(held) - pl.col("days").fill_null(0)))
    return bound.filter(pl.col("n") > min_packets).select(key).collect(engine="streaming")


def heavy_rows(keys_file: str | Path) -> pl.LazyFrame:
    """The rows of the key-count file *keys_file* with ``n`` of two or more, in its order."""
    return pl.scan_parquet(keys_file, schema=KEY_COUNTS_SCHEMA, glob=False).filter(pl.col("n") >= 2)


def write_heavy(keys_file: Path, target: Path) -> None:
    """:func:`heavy_rows` of *keys_file* into *target* (a day state's :data:`HEAVY`)."""
    heavy_rows(keys_file).collect().write_parquet(target)


def heavy_file(keys_file: str | Path) -> str | None:
    """The :data:`HEAVY` file beside a day state's key counts *keys_file*, written first when missing (once per
    state; a state built before it existed gets it on its first extension); None when *keys_file* is not a day
    state's (:data:`~scantui.analysis.rollup_layout.KEYS`) or the file cannot be written (a read-only cache: the
    caller reads *keys_file*)."""
    keys_file = Path(keys_file)
    if keys_file.name != KEYS:
        return None
    target = keys_file.with_name(HEAVY)
    if not target.is_file():
        try:
            with atomic_path(target) as tmp:  # a concurrent writer's identical file may win; either is complete
                write_heavy(keys_file, tmp)
        except (OSError, pl.exceptions.PolarsError):  # polars' error for a file it cannot write, too
            return None
    return str(target)


def session_range(job: tuple[list[str], int, int, int]) -> pl.DataFrame:
    """The sessions of key range *r* of *ranges* (job: key files, r, ranges, min_packets)."""
    files, r, ranges, min_packets = job
    hot = (_range_sums(files, r, ranges).filter(pl.col("n") > min_packets)
           .select("unicorn_key", pl.lit(True).alias("unicorn_session")))
    return hot.collect(engine="streaming").cast(dict(SESSIONS_SCHEMA))


def _rows(path: str) -> int:
    return int(pl.scan_parquet(path, glob=False).select(pl.len()).collect().item())
