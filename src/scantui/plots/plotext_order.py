"""Make plotext draw the same figure in every process: tick labels kept in order.

plotext removes duplicate (tick, label) pairs through a ``set`` (``_utility.no_duplicates``),
so when two labels are close, which one is drawn (and where) depends on the process's
string hash seed: the same data gave different axes run to run, and flaky snapshots.
:func:`stable_tick_order` swaps in an order-keeping version, once; widgets that draw
plotext figures call it when they are imported.
"""

from __future__ import annotations


def _ordered_unique(data):
    return list(dict.fromkeys(data))


def stable_tick_order() -> None:
    """Patch plotext's duplicate removal to keep first-seen order (idempotent)."""
    import plotext._utility as utility

    if utility.no_duplicates is not _ordered_unique:
        utility.no_duplicates = _ordered_unique
