"""Option value types for counts and durations, bounded where polars, the calendar or ``time.sleep`` stop.

Without these bounds ``--top 99999999999999999999``, ``--refresh-days inf`` or
``--interval nan`` reached polars or the standard library and stopped the command
with an internal error (exit 70); now each is click's one line naming the option
and its range (exit 2).
"""

from __future__ import annotations

import math
from typing import Any

import click

#: The largest count polars and numpy hold (a 64-bit integer).
MOST = 2**63 - 1
#: The most rows polars' row index holds in its default build (polars-u64-idx would allow more; one constant keeps
#: polars' import off the CLI's start).
MOST_ROWS = 2**32 - 1


def counts(minimum: int | None = 0, rows: bool = False) -> click.IntRange:
    """A count: at least *minimum*, at most :data:`MOST` (:data:`MOST_ROWS` for a number of *rows*: ``--top``,
    ``--limit``)."""
    return click.IntRange(min=minimum, max=MOST_ROWS if rows else MOST)


class Finite(click.FloatRange):
    """A number in a range, never ``nan`` or ``inf`` (``FloatRange`` lets ``nan`` through: it compares false)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def seconds(minimum: float, most: float, min_open: bool = False) -> Finite:
    """A duration or other finite number from *minimum* to *most*."""
    return Finite(min=minimum, max=most, min_open=min_open)
