"""The per-IP timing plot: one text row per source IP, time on x, a mark per time bin.

This is the figure analysts confirm collaboration with: parallel members fill
the same columns, sequential ones take turns, bursts and rests show as blocks
and gaps. :func:`timing_grid` bins packets (``ts`` Datetime, ``src`` UInt32)
into a :class:`TimingGrid` with polars, lazily, never looping per packet; the
range is half-open, ``[start_us, end_us)``, by default first packet to last
packet + 1 µs. :func:`render_rows` turns the grid into strings of *width*
characters (counts summed per character cell, shown as ``' '`` for none and
``▁▂▃▄▅▆▇█`` against the busiest cell of the whole grid, so rows compare; on a
log scale by default, or linear: see :data:`SCALES`), :func:`legend_ranges`
says which counts each glyph stands for, and :func:`axis_labels` gives the time
axis line under them.

Zooming: ``grid.cells_range_us(first, last, width)`` is the time range of some
character cells; build the zoomed grid with ``timing_grid(packets,
start_us=..., end_us=..., sources=grid.sources, order="given")`` to keep rows.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from scantui.plots.ticks import format_us, nice_ticks, time_format

GLYPHS = np.array(list(" ▁▂▃▄▅▆▇█"))
LEVELS = len(GLYPHS) - 1
#: ``log``: a glyph per doubling or so, a 5:1 split looks alike; ``linear``: height proportional to packets.
SCALES = ("log", "linear")
ORDERS = ("first_seen", "ip", "given")
_INT64_LIMIT = 2**63 - 1


@dataclass(frozen=True, eq=False)
class TimingGrid:
    """Packets per (source, time bin); ``counts[i, b]`` is source ``sources[i]`` in bin ``b``."""

    sources: list[int]
    start_us: int
    end_us: int
    bins: int
    counts: np.ndarray

    @property
    def span_us(self) -> int:
        """Length of the range ``[start_us, end_us)``."""
        return self.end_us - self.start_us

    @property
    def bin_edges_us(self) -> np.ndarray:
        """The ``bins + 1`` bin edges (µs); bin ``b`` is ``[edges[b], edges[b + 1])``."""
        k = np.arange(self.bins + 1, dtype=object)
        return (self.start_us - (-k * self.span_us) // self.bins).astype(np.int64)

    def row_labels(self) -> list[str]:
        """The sources as dotted IPv4 addresses, in row order."""
        return [str(ipaddress.IPv4Address(s)) for s in self.sources]

    def cells_range_us(self, first: int, last: int, width: int) -> tuple[int, int]:
        """The time range ``[start, end)`` shown by character cells *first*..*last* of a *width* row."""
        if width < 1:
            raise ValueError("width must be at least 1")
        lo, hi = _cell_bins(self.bins, width)
        first, last = sorted((min(max(first, 0), width - 1), min(max(last, 0), width - 1)))
        edges = self.bin_edges_us
        return int(edges[lo[first]]), int(edges[hi[last]])


def _bin_expr(start_us: int, span_us: int, bins: int) -> pl.Expr:
    offset = pl.col("t") - start_us
    if span_us * bins <= _INT64_LIMIT:
        return (offset * bins) // span_us
    # Absurdly long ranges (centuries at fine resolution): float, clipped to the bins.
    return (offset.cast(pl.Float64) * (bins / span_us)).floor().cast(pl.Int64).clip(0, bins - 1)


def _default_range(lf: pl.LazyFrame, start_us: int | None, end_us: int | None) -> tuple[int, int]:
    if start_us is None or end_us is None:
        lo, hi = lf.select(pl.col("t").min().alias("lo"), pl.col("t").max().alias("hi")).collect().row(0)
        if start_us is None:
            start_us = lo if lo is not None else (end_us - 1 if end_us is not None else 0)
        if end_us is None:
            end_us = max(hi + 1 if hi is not None else start_us + 1, start_us + 1)
    if end_us <= start_us:
        raise ValueError(f"end_us ({end_us}) must be after start_us ({start_us})")
    return int(start_us), int(end_us)


def _row_order(agg: pl.DataFrame, order: str, sources: Sequence[int] | None) -> list[int]:
    if order == "given" and sources is not None:
        return list(dict.fromkeys(int(s) for s in sources))
    firsts = agg.group_by("src").agg(pl.col("first").min())
    if sources is not None:
        wanted = pl.DataFrame({"src": list(dict.fromkeys(int(s) for s in sources))}, schema={"src": pl.Int64})
        firsts = wanted.join(firsts, on="src", how="left")
    by = ["src"] if order == "ip" else ["first", "src"]
    return firsts.sort(by, nulls_last=True)["src"].to_list()


def timing_grid(
    packets: pl.DataFrame | pl.LazyFrame,
    *,
    bins: int = 200,
    start_us: int | None = None,
    end_us: int | None = None,
    order: str = "first_seen",
    sources: Sequence[int] | None = None,
) -> TimingGrid:
    """Bin *packets* per source into *bins* equal time bins over ``[start_us, end_us)``.

    *order*: ``first_seen`` (first packet in the range, then IP), ``ip``, or
    ``given`` (the order of *sources*; ``first_seen`` without them). Without *sources*, rows are the sources
    with a packet in the range; with it, exactly those sources (zero rows kept).
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    lf = packets.lazy().select(pl.col("ts").dt.epoch("us").alias("t"), pl.col("src").cast(pl.Int64))
    if sources is not None:
        lf = lf.filter(pl.col("src").is_in(pl.Series([int(s) for s in sources], dtype=pl.Int64).implode()))
    start_us, end_us = _default_range(lf, start_us, end_us)
    span = end_us - start_us
    agg = (
        lf.filter((pl.col("t") >= start_us) & (pl.col("t") < end_us))
        .group_by("src", _bin_expr(start_us, span, bins).alias("bin"))
        .agg(pl.len().alias("n"), pl.col("t").min().alias("first"))
        .collect()
    )
    rows = _row_order(agg, order, sources)
    counts = np.zeros((len(rows), bins), dtype=np.int64)
    if agg.height:
        row_src = np.array(rows, dtype=np.int64)
        by_src = np.argsort(row_src, kind="stable")
        pos = by_src[np.searchsorted(row_src[by_src], agg["src"].to_numpy())]
        counts[pos, agg["bin"].to_numpy()] = agg["n"].to_numpy()
    return TimingGrid(sources=rows, start_us=start_us, end_us=end_us, bins=bins, counts=counts)


def _cell_bins(bins: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of *width* cells, the bins ``[lo, hi)`` it covers (one bin repeats when bins < width)."""
    c = np.arange(width, dtype=np.int64)
    lo = c * bins // width
    return lo, np.maximum((c + 1) * bins // width, lo + 1)


def resample(counts: np.ndarray, width: int) -> np.ndarray:
    """Sum *counts* (1-D or 2-D, bins on the last axis) into *width* cells."""
    counts = np.asarray(counts, dtype=np.int64)
    lo, hi = _cell_bins(counts.shape[-1], width)
    cum = np.concatenate([np.zeros(counts.shape[:-1] + (1,), dtype=np.int64), np.cumsum(counts, axis=-1)], axis=-1)
    return cum[..., hi] - cum[..., lo]


def _check_scale(scale: str) -> None:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}")


def levels(cells: np.ndarray, peak: int, scale: str = "log") -> np.ndarray:
    """The glyph level (0 = no packets, 1..8) of each count in *cells*, against *peak*."""
    _check_scale(scale)
    cells = np.asarray(cells)
    peak = max(int(peak), 1)
    if scale == "log":
        level = np.ceil(LEVELS * np.log1p(cells) / np.log1p(peak))
    else:
        level = np.ceil(LEVELS * cells / peak)
    return np.where(cells > 0, np.clip(level.astype(np.int64), 1, LEVELS), 0)


def _glyphs(cells: np.ndarray, peak: int, scale: str = "log") -> np.ndarray:
    return GLYPHS[levels(cells, peak, scale)]


def legend_ranges(peak: int, scale: str = "log") -> list[tuple[str, int, int]]:
    """``(glyph, lo, hi)``: the packet counts per cell each glyph stands for (glyphs no count reaches left out)."""
    peak = max(int(peak), 1)
    out, lo = [], 1
    for level in range(1, LEVELS + 1):
        a, b = lo - 1, peak  # the largest count at this level or below, by bisection (levels never go down)
        while a < b:
            mid = (a + b + 1) // 2
            if int(levels(np.array([mid]), peak, scale)[0]) <= level:
                a = mid
            else:
                b = mid - 1
        if a >= lo:
            out.append((str(GLYPHS[level]), lo, a))
            lo = a + 1
    return out


def _count(n: int) -> str:
    if n < 10_000:
        return f"{n:,}"
    return f"{n // 1000:,}k" if n < 1_000_000 else f"{n / 1e6:.1f}M".replace(".0M", "M")


def legend_text(peak: int, scale: str = "log") -> str:
    """``▁1 ▂3 ▃6 … █75-140``: each glyph and the fewest packets per cell it stands for (the last: to the peak)."""
    ranges = legend_ranges(peak, scale)
    parts = [f"{g}{_count(lo)}" for g, lo, _hi in ranges]
    g, lo, hi = ranges[-1]
    if hi > lo:
        parts[-1] = f"{g}{_count(lo)}-{_count(hi)}"
    return " ".join(parts)


def render_row(counts_row: np.ndarray, width: int, *, peak: int, scale: str = "log") -> str:
    """One row of *width* characters: ``' '`` for no packets, ``▁``..``█`` by count against *peak* on *scale*."""
    if width < 1:
        return ""
    return "".join(_glyphs(resample(counts_row, width), peak, scale))


def render_rows(grid: TimingGrid, width: int, scale: str = "log") -> list[str]:
    """Every row of *grid* at *width* characters, all scaled against the grid's busiest cell."""
    if width < 1 or not grid.sources:
        return ["" for _ in grid.sources]
    cells = resample(grid.counts, width)
    return ["".join(row) for row in _glyphs(cells, int(cells.max()), scale)]


def axis_labels(grid: TimingGrid, width: int) -> str:
    """A line of *width* characters with round time labels, each starting at the column of its time (UTC)."""
    if width < 1:
        return ""
    ticks, fmt = nice_ticks(grid.start_us, grid.end_us, room=width)
    line = [" "] * width
    free = 0
    for tick in ticks:
        col = (tick - grid.start_us) * width // grid.span_us
        label = format_us(tick, fmt)
        if col >= free and col + len(label) <= width:
            line[col : col + len(label)] = label
            free = col + len(label) + 1
    if free == 0:  # no round time inside the range: label its start
        label = format_us(grid.start_us, time_format(1, grid.span_us))[:width]
        line[: len(label)] = label
    return "".join(line)
