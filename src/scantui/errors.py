"""Errors scantui reports to users as one line, never as a traceback.

Every error raised because of bad input is an :class:`InputError` carrying the
file and, where it applies, the position (record number, byte offset, line) so
the CLI can print ``scantui: error: FILE: POSITION: WHY`` and exit 2, and the
TUI can show the same text as a notification.
"""

from __future__ import annotations

import os


#: Files named otherwise in messages: standard input's temporary copy is ``<stdin>`` (:mod:`scantui.io.stdin`).
_SHOWN_AS: dict[str, str] = {}


def show_path_as(path: str | os.PathLike[str], name: str) -> None:
    """Name *path* *name* in every message from now on (this process)."""
    _SHOWN_AS[os.fspath(path)] = name


def shown_path(path: str | os.PathLike[str]) -> str:
    """*path* as messages name it (:func:`show_path_as`)."""
    text = os.fspath(path)
    return _SHOWN_AS.get(text, text)


class ScantuiError(Exception):
    """Base of every error scantui expects and reports without a traceback."""

    exit_code = 2

    def __init__(self, why: str, *, path: str | os.PathLike[str] | None = None, where: str | None = None):
        self.why = why
        self.path = os.fspath(path) if path is not None else None
        self.where = where
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [p for p in (self.path and shown_path(self.path), self.where, self.why) if p]
        return ": ".join(parts)


class InputError(ScantuiError):
    """The input (a data file, a labels file, an option value) is unusable."""


class UsageError(ScantuiError):
    """The command line asks for something that cannot be done."""
