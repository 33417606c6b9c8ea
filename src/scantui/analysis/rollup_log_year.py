"""The year of a yearless syslog LOG input, part of its identity in the rollup cache.

A LOG input read without ``--year`` takes the year its last line gets today
(:func:`~scantui.io.netfilter_log.year_today`): it moves with the date, so it is
part of the input's identity (:func:`_with_log_year`), and :func:`year_notes`
says which year each such input of a rollup was given. A compressed input's last
day is kept under the day store's ``log-ends/`` (:data:`~scantui.analysis.rollup_keys.LOG_ENDS`):
finding it decompresses all of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scantui.analysis.rollup_keys import LOG_ENDS, _digest, content_identity
from scantui.analysis.rollup_store import _mkdir
from scantui.fsutil import atomic_path
from scantui.io import netfilter_log
from scantui.io.compressed import compression
from scantui.io.options import LoadOptions

if TYPE_CHECKING:
    from scantui.analysis.rollup_handle import Rollup


def _with_log_year(identity: dict[str, Any], opts: LoadOptions, days: Path) -> dict[str, Any]:
    """*identity* with, for a yearless syslog LOG input, the year its reading gives its last line today (it moves
    with the date: a split cached last year must not serve this year's reading)."""
    if identity["format"] != netfilter_log.FORMAT or opts.year is not None:
        return identity
    return {**identity, "syslog_end_year": netfilter_log.year_today(_log_last_day(identity, days))}


def year_notes(rollup: Rollup) -> list[str]:
    """One note per LOG input of *rollup* whose syslog times carry no year, read without ``--year``: the year
    :func:`_with_log_year` gave its last line (:func:`~scantui.io.netfilter_log.year_note`)."""
    return [netfilter_log.year_note(i["path"], i["syslog_end_year"]) for i in rollup.meta.get("inputs") or ()
            if i.get("syslog_end_year") is not None]


def _log_last_day(identity: dict[str, Any], days: Path) -> int | None:
    """:func:`~scantui.io.netfilter_log.last_month_day` of a LOG input, kept under *days* (``log-ends/``) for a
    compressed one: finding its last line decompresses all of it, which a cached rollup must not redo on every open
    (the identity changes with the file)."""
    path = identity["path"]
    if compression(path) is None:
        return netfilter_log.last_month_day(path)
    memo = days / LOG_ENDS / f"{_digest(content_identity(identity))}.json"
    try:
        return json.loads(memo.read_text(encoding="utf-8"))["last"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    last = netfilter_log.last_month_day(path)
    try:
        _mkdir(memo.parent)
        with atomic_path(memo) as tmp:
            Path(tmp).write_text(json.dumps({"last": last}), encoding="utf-8")
    except OSError:
        pass  # a cache that cannot be written: read again next time
    return last
