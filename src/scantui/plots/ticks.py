"""Round axis ticks: times in UTC (seconds to years) and plain integers.

``nice_ticks`` picks the smallest round step (1 s, 5 min, 6 h, 1 day, 1 month,
...) whose labels fit in the columns available, and the ``strftime`` format
that suits it: ``HH:MM:SS`` below a minute, ``HH:MM`` below a day (``MM-DD
HH:MM`` when the range spans more than a day), ``YYYY-MM-DD`` from a day up.
``int_ticks`` does the same for integers with 1-2-5 steps.
"""

from __future__ import annotations

import datetime as dt

SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
LABEL_GAP = 2  # blank columns wanted between two labels

_FIXED_STEPS_US = (
    *(s * SECOND_US for s in (1, 2, 5, 10, 15, 30)),
    *(m * MINUTE_US for m in (1, 2, 5, 10, 15, 30)),
    *(h * HOUR_US for h in (1, 2, 3, 6, 12)),
    *(d * DAY_US for d in (1, 2, 7, 14)),
)
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def to_datetime(us: int) -> dt.datetime:
    """Microseconds since the epoch as an aware UTC datetime (exact, no float)."""
    return _EPOCH + dt.timedelta(microseconds=int(us))


def format_us(us: int, fmt: str) -> str:
    """One timestamp (µs, UTC) formatted with *fmt*."""
    return to_datetime(us).strftime(fmt)


def time_format(step_us: int, span_us: int) -> str:
    """The label format for ticks *step_us* apart over a range *span_us* long."""
    if step_us >= DAY_US:
        return "%Y-%m-%d"
    if step_us < MINUTE_US:
        return "%H:%M:%S"
    return "%m-%d %H:%M" if span_us > DAY_US else "%H:%M"


def _fixed_ticks(start_us: int, end_us: int, step_us: int) -> range:
    first = -(-start_us // step_us) * step_us
    return range(first, end_us, step_us)


def _month_ticks(start_us: int, end_us: int, months: int) -> list[int]:
    start = to_datetime(start_us)
    index = start.year * 12 + start.month - 1
    if start != dt.datetime(start.year, start.month, 1, tzinfo=dt.timezone.utc):
        index += 1
    index = -(-index // months) * months
    ticks = []
    while True:
        us = (dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.timezone.utc) - _EPOCH) // dt.timedelta(microseconds=1)
        if us >= end_us:
            return ticks
        ticks.append(us)
        index += months


def _fits(count: int, fmt: str, room: int) -> bool:
    return count * (len(format_us(0, fmt)) + LABEL_GAP) <= room


def nice_ticks(start_us: int, end_us: int, *, room: int, min_step_us: int = SECOND_US) -> tuple[list[int], str]:
    """Round tick times in ``[start_us, end_us)`` whose labels fit in *room* columns, and their format.

    Returns ``([], format)`` when not even one label per ten years fits.
    """
    span = max(end_us - start_us, 1)
    for step in _FIXED_STEPS_US:
        if step < min_step_us:
            continue
        fmt = time_format(step, span)
        ticks = _fixed_ticks(start_us, end_us, step)
        if _fits(len(ticks), fmt, room):
            return list(ticks), fmt
    fmt = time_format(DAY_US, span)
    for months in _MONTH_STEPS:
        if not _fits(span // (months * 28 * DAY_US), fmt, room):
            continue  # surely too many: do not even list them
        ticks = _month_ticks(start_us, end_us, months)
        if _fits(len(ticks), fmt, room):
            return ticks, fmt
    return [], fmt


def int_ticks(lo: int, hi: int, *, max_ticks: int = 8) -> list[int]:
    """Round integers in ``[lo, hi]`` (steps 1, 2, 5, 10, 20, ...), at most *max_ticks* of them."""
    if hi < lo:
        return []
    step = 1
    while True:
        for mult in (1, 2, 5):
            s = step * mult
            ticks = range(-(-lo // s) * s, hi + 1, s)
            if len(ticks) <= max_ticks:
                return list(ticks)
        step *= 10
