"""Cells both front ends print: the ``scantui groups``/``collab`` tables and the TUI's candidate lists.

Plain text from result records, no click and no Textual, so ``cli`` and ``tui``
show a group or a candidate scan the same way without importing each other
(the layer contracts in ``pyproject.toml`` forbid that).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from scantui.safetext import safe_line

SHORT_REASONS = {"shared_ips": "ips", "timing": "time", "partition": "split"}

#: The most characters a name from the data (a sensor's) takes in a table cell or a title.
NAME_CHARS = 40


def name_cell(name: object) -> str:
    """*name*, a name from the data, cut to :data:`NAME_CHARS` characters with ``…`` and on one line (unsafe
    characters escaped, as the TUI's sensor titles): a 500-character sensor name cannot fold a table over a
    screen. ``--json``/``--csv`` carry it whole."""
    return safe_line(name, limit=NAME_CHARS)


def days_cell(days: Sequence[dt.date]) -> str:
    """``02-05`` or ``02-05..02-12 (4)`` (month-day; the year is in the JSON)."""
    return f"{days[0]:%m-%d}" if len(days) == 1 else f"{days[0]:%m-%d}..{days[-1]:%m-%d} ({len(days)})"


def asns_cell(asns: Iterable[int]) -> str:
    """``AS202425,AS14061``: AS numbers as their labels."""
    return ",".join(f"AS{a}" for a in asns)


def split_cell(split: Sequence[float], cover: int = 1) -> str:
    """``1/9 each`` for an equal split (``1/2 each x2`` for a double cover), else percentages ``83:17``."""
    if not split:
        return ""
    times = f" x{cover}" if cover > 1 else ""
    if split[0] <= 1.25 * split[-1]:
        return f"1/{max(round(len(split) / cover), 1)} each{times}"
    return ":".join(f"{s * 100:.0f}" for s in split[:4]) + ("…" if len(split) > 4 else "") + times


def reasons_cell(reasons: Iterable[str]) -> str:
    """``ips+time`` for why scans were tied into a group, ``-`` for none."""
    return "+".join(SHORT_REASONS.get(r, r) for r in reasons) or "-"


def list_cell(items: Sequence[object], limit: int, sep: str = ",") -> str:
    """The first *limit* items joined, ``…`` when some were left out."""
    return sep.join(str(i) for i in items[:limit]) + ("…" if len(items) > limit else "")


def cover_cell(cover_multiple: int, union: int, telescope_size: int) -> str:
    """``1x 99.2%``: the telescope covers reached, and the share of the telescope the sources hit."""
    return f"{cover_multiple}x {union / telescope_size:.1%}" if telescope_size else f"{cover_multiple}x"


def sensors_cell(candidate, name: Callable[[object], str] = name_cell) -> list[str]:
    """(found on, reached) of a candidate scan on data with several sensors: the sensor whose space it was found on
    (``all``: the whole telescope) and the share of each sensor's space it reached. Sensor names
    are data: each is written by *name* (default :func:`name_cell`: escaped and cut), and the caller shows them as
    text, never as markup."""
    found = name(candidate.sensor) if candidate.sensor is not None else "all"
    covers = ", ".join(f"{name(c.sensor)} {c.share:.0%}" for c in candidate.sensor_cover if c.reached)
    return [found, covers or "-"]
