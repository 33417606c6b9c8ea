"""A pool's summary figures as Rich renderables: members active per bin, shares, top /24s and ASes.

Pure (no Textual): the detail screens lay these out above the per-member strips
(:mod:`scantui.tui.widgets.pool`). The values come from
:class:`scantui.analysis.pool_summary.PoolSummary`, passed here as plain
numbers and ``(key, members, name, keys)`` rows (plots sit below analysis). Every
text from the data (AS names) goes through :func:`scantui.safetext.safe_text`
into ``rich.text.Text``, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from scantui.plots.ticks import format_us, time_format
from scantui.safetext import safe_text

EIGHTHS = " ▁▂▃▄▅▆▇█"
BAR = "█"
KeyRow = tuple[str, int, "str | None", int]  # (key, members, AS name or None, keys summed: >1 for "other")


def merge_bins(values: Sequence[int], width: int) -> tuple[list[int], int]:
    """*values* in runs of *k* consecutive bins (the max of each run) so at most *width* remain; (values, k)."""
    k = max(1, -(-len(values) // max(1, width)))
    return [max(values[i:i + k]) for i in range(0, len(values), k)], k


def column_rows(values: Sequence[int], *, width: int, height: int) -> list[str]:
    """Columns of eighth blocks, *height* lines (top first), the values spread over *width* cells (each at least
    one cell wide: *values* already fit). A non-zero value always shows at least ``▁``."""
    peak = max(values, default=0)
    n = max(1, len(values))
    cells = [max(1, width * (i + 1) // n - width * i // n) for i in range(len(values))]
    levels = [0 if v <= 0 or peak <= 0 else max(1, round(v / peak * height * 8)) for v in values]
    return ["".join(EIGHTHS[min(8, max(0, lv - r * 8))] * c for lv, c in zip(levels, cells))
            for r in range(height - 1, -1, -1)]


def activity_chart(active: Sequence[int], start_us: int, bin_us: int, *, width: int, height: int) -> tuple[Text, int]:
    """Members active per bin as columns *height* lines high in *width* cells (y gutter included), then the
    time axis (the first bin's start and the last one's end, UTC); returns (the chart, bins merged per column)."""
    peak = max(active, default=0)
    gutter = len(f"{peak:,}")
    values, k = merge_bins(list(active), width - gutter - 1)
    rows = column_rows(values, width=width - gutter - 1, height=height)
    text = Text(no_wrap=True, overflow="crop")
    for i, row in enumerate(rows):
        label = f"{peak:,}" if i == 0 else ("0" if i == height - 1 else "")
        text.append(f"{label:>{gutter}}", style="dim")
        text.append("┤" if label else "│", style="dim")
        text.append(row, style="bold")
        text.append("\n")
    span = max(1, len(active)) * bin_us
    fmt = time_format(bin_us * k, span)
    first = format_us(start_us, fmt)
    last = format_us(start_us + span, fmt)
    drawn = len(rows[0]) if rows else 0
    room = max(0, drawn - len(first) - len(last))
    text.append(" " * (gutter + 1) + first + " " * room + (last if room else ""), style="dim")
    return text, k


def key_table(title: str, rows: Sequence[KeyRow], total: int, *, key_width: int = 16, bar_cells: int = 6,
              name_width: int = 0) -> Table:
    """A top table: *title*, then one row per key (``other`` rows say how many keys they sum): members, a bar of
    their share of *total*, and (``name_width`` > 0) the AS name cut to that width."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, width=key_width)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    if name_width:
        table.add_column(no_wrap=True, max_width=name_width, overflow="ellipsis")
    table.add_row(Text(title, style="bold"), "", "")
    for key, members, name, keys in rows:
        label = Text(safe_text(key, limit=key_width))
        if keys > 1:
            label = Text(safe_text(f"{keys:,} {key}", limit=key_width), style="dim")
        cells = 0 if not total else max(1 if members else 0, round(members / total * bar_cells))
        cols = [label, f"{members:,}", Text(BAR * cells, style="bold")]
        if name_width:
            cols.append(Text(safe_text(name or "", limit=name_width), style="dim"))
        table.add_row(*cols)
    return table


def share_table(counts: Sequence[int], labels: Sequence[str], *, bar_cells: int = 10) -> Table:
    """Members per share bin (*labels*), from the first non-empty bin to the last, with a bar each."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_row(Text("share ÷ mean", style="bold"), "", "")
    filled = [i for i, n in enumerate(counts) if n]
    top = max(counts, default=0)
    for i in range(filled[0], filled[-1] + 1) if filled else ():
        n = counts[i]
        cells = 0 if not top else max(1 if n else 0, round(n / top * bar_cells))
        table.add_row(labels[i], f"{n:,}", Text(BAR * cells, style="bold"))
    return table


def share_line(low: float, median: float, high: float, *, label: bool = True) -> Text:
    """``share min 0.42% · median 0.43% · max 0.44%`` (without the first word when not *label*)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if label:
        text.append("share ", style="bold")
    text.append(f"min {pct(low)} · median {pct(median)} · max {pct(high)}")
    return text


def pct(value: float) -> str:
    """A share as ``12.5%``, ``0.43%`` or ``0.012%`` (enough digits for a pool's small shares)."""
    if value >= 0.1 or value == 0:
        return f"{value:.1%}"
    if value >= 0.001:
        return f"{value:.2%}"
    return f"{value:.3%}"
