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


class Count(click.ParamType):
    """An integer from *minimum* up to *most*; the help shows the least value only (``[x>=1]``): the most is where
    polars stops, not a choice."""

    name = "integer"

    def __init__(self, minimum: int | None, most: int):
        self.minimum, self.most = minimum, most

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.INT.convert(value, param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{number} is less than {self.minimum}", param, ctx)
        if number > self.most:
            self.fail(f"{number} is more than {self.most:,}, the most this command holds", param, ctx)
        return number

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str | None:
        return None if self.minimum is None else f"INTEGER (>={self.minimum})"


def counts(minimum: int | None = 0, rows: bool = False) -> Count:
    """A count: at least *minimum*, at most :data:`MOST` (:data:`MOST_ROWS` for a number of *rows*: ``--top``,
    ``--limit``)."""
    return Count(minimum, MOST_ROWS if rows else MOST)


class Finite(click.FloatRange):
    """A number in a range, never ``nan`` or ``inf`` (``FloatRange`` lets ``nan`` through: it compares false)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number

    def _describe_range(self) -> str:  # (click's hook for the help's and errors' range: none when unbounded)
        return "" if self.min is None and self.max is None else super()._describe_range()


def seconds(minimum: float, most: float, min_open: bool = False) -> Finite:
    """A duration or other finite number from *minimum* to *most*."""
    return Finite(min=minimum, max=most, min_open=min_open)
