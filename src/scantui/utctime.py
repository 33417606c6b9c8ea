"""UTC times and days at the edges of the calendar (years 1-9999), where Python's datetime arithmetic overflows.

A user may write ``--until 9999-12-31`` ("no end"), ``day:>9999-12-31`` or a time
whose zone carries it past the calendar (``9999-12-31T23:00-05:00`` is in year
10000 in UTC). These helpers turn such input into a clear ``ValueError`` (callers
add the option or line) or, for a day's exclusive end, clamp to the last
microsecond Python can hold.
"""

from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc
#: The exclusive end of 9999-12-31: its last microsecond is the one thing a clamped end leaves out.
LAST = dt.datetime.max.replace(tzinfo=UTC)


def rfc3339(value: dt.datetime | dt.date) -> str:
    """``value.isoformat()`` with a UTC offset written ``Z`` (RFC 3339, as every output writes times)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def in_utc(value: dt.datetime) -> dt.datetime:
    """*value* in UTC (a time without a zone is taken as UTC); ``ValueError`` when that is outside years 1-9999."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is outside the years 1-9999 in UTC") from None


def day_start(day: dt.date) -> dt.datetime:
    """UTC midnight opening *day*."""
    return dt.datetime.combine(day, dt.time(), UTC)


def day_after(day: dt.date) -> dt.datetime:
    """The exclusive end of *day* (the next UTC midnight); :data:`LAST` for 9999-12-31."""
    return LAST if day == dt.date.max else day_start(day + dt.timedelta(days=1))


def next_day(day: dt.date) -> dt.date | None:
    """The day after *day*; ``None`` after 9999-12-31."""
    return None if day == dt.date.max else day + dt.timedelta(days=1)


def previous_day(day: dt.date) -> dt.date | None:
    """The day before *day*; ``None`` before 0001-01-01."""
    return None if day == dt.date.min else day - dt.timedelta(days=1)
