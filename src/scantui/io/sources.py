"""Python batch sources handed to polars, and stopping them before the process exits.

The streaming readers (pcap, pcapng) are Python generators that polars pulls
from its own threads, and one query may scan a file several times (a join of
the table with itself). When one scan fails, polars hands the error to the
caller while its other threads may still be about to call into Python; if the
interpreter is finalizing by then, such a thread is killed inside Rust code and
the process aborts (``FATAL: exception not rethrown``, exit 134) instead of
exiting 2. So:

* an error is latched in the load's :class:`~scantui.io.stats.LoadStats`: a
  later scan of the same file fails at once, without decoding it again;
* with ``stats.defer_errors`` (``ingest``) a failing source ends its stream
  instead of raising, so the writer finishes and returns normally (nothing is
  left running that could write a file after it was removed); the caller then
  raises the latched error;
* at exit every source stops at its next call, and the exit waits (bounded)
  until polars has stopped calling in.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Iterator

import polars as pl
from polars.io.plugins import register_io_source

from scantui.errors import InputError
from scantui.io.stats import LoadStats

#: The exit waits until no source has been called for this long ...
QUIET_S = 0.2
#: ... but never longer than this.
MAX_EXIT_WAIT_S = 5.0

_lock = threading.Lock()
_active = 0  # calls into a source running now
_last_call = 0.0  # monotonic time the last call ended
_closing = False
_registered = False


def scan_batches(make_batches: Callable[[], Iterator[pl.DataFrame]], schema: pl.Schema, name: str, path: str,
                 stats: LoadStats | None = None) -> pl.LazyFrame:
    """A LazyFrame over a batch generator, honouring projection, predicate and row limit.

    *path* names what the generator reads (errors are latched under it in *stats*).
    """
    _register_exit()

    def source(with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None,
               batch_size: int | None) -> Iterator[pl.DataFrame]:
        return _guarded(path, _filtered(make_batches, with_columns, predicate, n_rows), stats)

    return register_io_source(source, schema=schema, explain_name=name, explain_detail=path)


def _filtered(make_batches, with_columns, predicate, n_rows) -> Iterator[pl.DataFrame]:
    remaining = n_rows
    if remaining is not None and remaining <= 0:
        return
    for df in make_batches():
        if predicate is not None:
            df = df.filter(predicate)
        if with_columns is not None:
            df = df.select(with_columns)
        if remaining is not None:
            df = df.head(remaining)
            remaining -= df.height
        if df.height:
            yield df
        if remaining is not None and remaining <= 0:
            return


def _guarded(path: str, batches: Iterator[pl.DataFrame], stats: LoadStats | None) -> Iterator[pl.DataFrame]:
    """*batches*, each step counted as a call; stops when closing, latches and re-raises errors."""
    while True:
        _enter()
        try:
            if _closing:
                return
            if stats is not None:
                if stats.defer_errors and stats.error() is not None:
                    return  # another file of this load failed: stop early, the caller raises
                latched = stats.error(path)
                if latched is not None:
                    raise InputError(latched.why, path=latched.path, where=latched.where)
            try:
                df = next(batches)
            except StopIteration:
                return
            except InputError as exc:
                if stats is None:
                    raise
                stats.fail(path, exc)
                if stats.defer_errors:
                    return
                raise
        finally:
            _leave()
        yield df


def _enter() -> None:
    global _active
    with _lock:
        _active += 1


def _leave() -> None:
    global _active, _last_call
    with _lock:
        _active -= 1
        _last_call = time.monotonic()


def _register_exit() -> None:
    global _registered
    with _lock:
        if _registered:
            return
        _registered = True
    atexit.register(settle)


def closing() -> bool:
    """True once :func:`settle` has run: sources end their streams early, so what was read is partial."""
    return _closing


def settle(quiet_s: float = QUIET_S, max_wait_s: float = MAX_EXIT_WAIT_S) -> None:
    """Make every source stop at its next call and wait until polars stops calling in (at exit)."""
    global _closing
    _closing = True
    deadline = time.monotonic() + max_wait_s
    while True:
        now = time.monotonic()
        with _lock:
            idle = _active == 0 and now - _last_call >= quiet_s
        if idle or now >= deadline:
            return
        time.sleep(0.01)
