"""A polars panic while reading user data, as one error that names the file when it can be known.

Polars raises pyo3's ``PanicException`` when a Rust assertion fails, e.g. reading a Parquet file cut
or rewritten after its footer was read. It derives from BaseException, not Exception, so an ordinary
``except Exception`` lets it through: :data:`FAILURES` is the tuple a handler that shows every failure
catches instead (KeyboardInterrupt and SystemExit stay out of it). :func:`panic_error` turns a panic
into an :class:`~scantui.errors.InputError`: the changed input's own error when one of the data sets
opened in this process (:func:`track`) has an input whose size or mtime is no longer the one it had
when opened, else ``polars failed reading the data: WHY``.

Polars' own Rust panic text (``thread ... panicked at ...``) is written to fd 2 by Rust's panic
hook, which cannot be replaced from Python and which polars offers no setting to silence;
``RUST_BACKTRACE=0`` shortens it to its first lines (see :mod:`scantui.cli.main`), and
:mod:`scantui.io.native_stderr` keeps it off the CLI's stderr and the TUI's screen.
"""

from __future__ import annotations

import re
import sys
import weakref
from typing import Any

from scantui.errors import InputError


def __getattr__(name: str) -> Any:
    """``FAILURES``: what a handler that reports every failure of a polars query catches (errors, and polars'
    panics), made on first use so that importing this module (the TUI does before its first paint) does not
    load polars. Handlers name it as ``read_panics.FAILURES``: evaluated only when an exception reaches them."""
    if name == "FAILURES":
        import polars as pl

        return (Exception, pl.exceptions.PanicException)
    raise AttributeError(name)

# the data sets opened in this process, oldest first (weakly: a closed one drops out)
_DATASETS: list[weakref.ref[Any]] = []

# a panic in a polars worker thread is re-raised wrapped: "... JoinError::Panic(Id(12), \"...\", ...)"
_INNER = re.compile(r'JoinError::Panic\(Id\(\d+\), \\*"')


def track(dataset: Any) -> None:
    """Remember *dataset* (a :class:`~scantui.io.loader.Dataset`, weakly) for :func:`panic_error`."""
    _DATASETS[:] = [ref for ref in _DATASETS if ref() is not None and ref() is not dataset]
    _DATASETS.append(weakref.ref(dataset))


def is_panic(exc: BaseException) -> bool:
    """Whether *exc* is polars' (pyo3's) ``PanicException`` (never without polars loaded: nothing else raises it,
    so this does not load it)."""
    mod = sys.modules.get("polars")
    panic = getattr(getattr(mod, "exceptions", None), "PanicException", None) if mod else None
    return panic is not None and isinstance(exc, panic)


def panic_error(exc: BaseException) -> InputError:
    """The error to report for the panic *exc* (see the module doc)."""
    changed = changed_input_error()
    if changed is not None:
        return changed
    return InputError(f"polars failed reading the data: {panic_why(exc)}")


def as_error(exc: BaseException) -> BaseException:
    """*exc*, or for a panic its :func:`panic_error` (an Exception, shown like any other)."""
    return panic_error(exc) if is_panic(exc) else exc


def changed_input_error() -> InputError | None:
    """The error of an input changed since it was opened, of the data set opened last first (the one a query
    reads now: the TUI's palette may have opened others before it)."""
    for ref in reversed(list(_DATASETS)):
        dataset = ref()
        if dataset is None:
            continue
        try:
            dataset.check_unchanged()
        except InputError as err:
            return err
    return None


def panic_why(exc: BaseException) -> str:
    """The panic's own message: the innermost one of a panic re-raised across polars' threads."""
    text = str(exc).strip()
    inner = list(_INNER.finditer(text))
    if inner:
        rest = text[inner[-1].end():]
        text = re.split(r'\\*"', rest, maxsplit=1)[0]
    lines = text.strip().splitlines()
    return lines[0] if lines else "a panic with no message"
