"""The packets behind a scanner, a scan or a group: selection, paging, frequency tables (no Textual).

:class:`PacketSelection` says which packets (sources, CIDRs, ports, days, a time
window, a field filter in the :mod:`scantui.analysis.packet_filter` syntax).
:func:`select_packets` returns them as a lazy, time-ordered frame read through a
:class:`~scantui.analysis.packet_source.PacketSource`: on the rollup's day
tables only the selected days' files are opened and a port or source filter
skips their row groups; each day is sorted on its own and the days are
concatenated in order; :func:`packet_page` on such a frame reads day by day, so
the first page reads only the first days with matching packets (any other frame:
``slice`` then ``collect``). Views page with :func:`packet_page` and count with
:func:`packet_count` (counts kept per day); nothing collects every row to show fifty.

:func:`frequency` is VisiData's frequency table of one column (value, count,
share). Dissection and bytes: :mod:`scantui.analysis.dissection`,
:mod:`scantui.io.packet_refs`, :mod:`scantui.io.pcap_export` (re-exported here so
the front ends import one module).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from scantui.analysis.dissection import Dissection, Layer, dissect, hexdump
from scantui.analysis.packet_filter import KEYS, WHERE_HELP, PacketFilterError, flag_text, flags_expr, parse_where
from scantui.analysis.packet_source import FramePackets, PacketSource, as_source, in_sources
from scantui.io.packet_frames import synthesize_frame
from scantui.io.packet_refs import REF_COLUMNS, CaptureFile, ChangedCapture, packet_bytes
from scantui.io.pcap_export import PcapExport, write_pcap
from scantui.io.schema import CANONICAL, EXTRA, ip_to_str
from scantui.netaddr import ipv4_network
from scantui.safetext import safe_line
from scantui.utctime import in_utc

__all__ = [
    "CaptureFile", "ChangedCapture", "Dissection", "Layer", "PacketFilterError", "PacketSelection", "PcapExport",
    "REF_COLUMNS", "WHERE_HELP", "dissect", "display_frame", "flag_text", "frequency", "hexdump", "packet_bytes",
    "packet_count", "packet_page", "parse_where", "select_packets", "synthesize_frame", "write_pcap",
]

#: The tie-break after ``ts`` when the rows carry no record reference (file order otherwise).
_TIE = ("src", "dst", "sport", "dport", "proto", "ip_id", "tcp_seq")


@dataclass(frozen=True)
class PacketSelection:
    """Which packets: every given part must match (None / empty: no restriction)."""

    srcs: tuple[int, ...] | None = None
    nets: tuple[tuple[int, int], ...] = ()  # inclusive address ranges (from CIDRs)
    ports: tuple[int, ...] | None = None  # destination ports
    days: tuple[dt.date, ...] | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive
    where: str = ""  # the field filter (packet_filter syntax)

    @staticmethod
    def parse_src(text: str) -> tuple[tuple[int, ...] | None, tuple[tuple[int, int], ...]]:
        """``IP|CIDR[,...]`` -> (single addresses or None, CIDR ranges); ValueError naming the bad part."""
        srcs: list[int] = []
        nets: list[tuple[int, int]] = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            try:
                net = ipv4_network(part)
            except ValueError as why:
                raise ValueError(f"{why}: {part!r}") from None
            if net.num_addresses == 1 and "/" not in part:
                srcs.append(int(net.network_address))
            else:
                nets.append((int(net.network_address), int(net.broadcast_address)))
        if not srcs and not nets:
            raise ValueError(f"{text!r}: no address given")
        return (tuple(srcs) if srcs else None), tuple(nets)

    @classmethod
    def of_sources(cls, text: str, **kw) -> PacketSelection:
        srcs, nets = cls.parse_src(text)
        return cls(srcs=srcs, nets=nets, **kw)


def _days(source: PacketSource, sel: PacketSelection) -> list[dt.date] | None:
    """The days to read (None: all), from ``days`` and the time window."""
    days = None if sel.days is None else set(sel.days)
    if sel.since is not None or sel.until is not None:
        known = source.days()
        if known is not None:
            lo = in_utc(sel.since).date() if sel.since else dt.date.min
            hi = in_utc(sel.until).date() if sel.until else dt.date.max
            window = {d for d in known if lo <= d <= hi}
            days = window if days is None else days & window
    return None if days is None else sorted(days)


def _narrow(lf: pl.LazyFrame, sel: PacketSelection, where: pl.Expr | None) -> pl.LazyFrame:
    """Everything but the port/source/day narrowing the source already did."""
    if sel.nets:
        lf = lf.filter(in_sources(sel.srcs, sel.nets))
    if sel.since is not None:
        lf = lf.filter(pl.col("ts") >= in_utc(sel.since))
    if sel.until is not None:
        lf = lf.filter(pl.col("ts") < in_utc(sel.until))
    if where is not None:
        lf = lf.filter(where)
    return lf


def _order(lf: pl.LazyFrame) -> pl.LazyFrame:
    names = lf.collect_schema().names()
    ties = REF_COLUMNS if all(c in names for c in REF_COLUMNS) else tuple(c for c in _TIE if c in names)
    return lf.sort(["ts", *ties], nulls_last=True, maintain_order=True)


def _src_narrowing(sel: PacketSelection) -> tuple[int, ...] | None:
    """Sources the packet source can skip row groups by (only when no CIDR widens them)."""
    return sel.srcs if not sel.nets else None


def select_packets(source: PacketSource | pl.LazyFrame, sel: PacketSelection) -> pl.LazyFrame:
    """The selected packets, time-ordered (ts, then file order or the fields), lazily.

    Every canonical column, plus ``sensor``/enrichment and the reference columns
    when the input has them. Raises :class:`PacketFilterError` for a bad ``where``
    (at once, before any data is read).
    """
    where = parse_where(sel.where) if sel.where.strip() else None
    source = as_source(source)
    days = _days(source, sel)
    ports = sel.ports
    srcs = _src_narrowing(sel)
    if isinstance(source, FramePackets):
        return _order(_narrow(source.read(days, ports, srcs), sel, where))
    known = source.days()
    picked = known if days is None else days
    if picked is None:  # a source without a day list: one read
        return _order(_narrow(source.read(None, ports, srcs), sel, where))
    frames = [_order(_narrow(source.read([day], ports, srcs), sel, where)) for day in picked]
    if not frames:
        return _order(_narrow(source.read([], ports, srcs), sel, where))
    frames = _aligned(frames)
    lf = pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]
    # a selection of sources, ports and days only is counted from the days' port_day rows (a top scanner's
    # 15 M packets at 200 M: 0.3 against 5 CPU s); a time window or a where filter counts the packets read
    countable = where is None and sel.since is None and sel.until is None
    _remember(lf, frames, [source.day_count(day, ports, sel.srcs, sel.nets) if countable else None for day in picked])
    return lf


def _aligned(frames: list[pl.LazyFrame]) -> list[pl.LazyFrame]:
    """*frames* with the same columns: days built from different inputs differ in their optional columns (a
    capture's record references, a sensor, enrichment), which a vertical concatenation refuses ("schema
    lengths differ"); a day lacking one gets it as nulls, columns in the order the days first give them."""
    if len(frames) < 2:
        return frames
    schemas = [f.collect_schema() for f in frames]
    if all(s == schemas[0] for s in schemas[1:]):
        return frames
    union: dict[str, pl.DataType] = {}
    for schema in schemas:
        for name, dtype in schema.items():
            union.setdefault(name, dtype)
    rank = {name: i for i, name in enumerate((*CANONICAL, *EXTRA, *REF_COLUMNS))}
    names = sorted(union, key=lambda n: rank.get(n, len(rank)))
    return [f if list(s) == names else
            f.select([pl.col(n) if n in s else pl.lit(None, dtype=union[n]).alias(n) for n in names])
            for f, s in zip(frames, schemas)]


class _Days:
    """A day-table selection's parts (one time-ordered frame per day, in day order) and their row counts."""

    def __init__(self, parts: list[pl.LazyFrame], counters: Sequence[pl.LazyFrame | None]) -> None:
        self.parts = parts
        self.counters = counters  # per part: a frame of one value, its count without reading it (or None)
        self.counts: list[int | None] = [None] * len(parts)

    def count(self, i: int) -> int:
        if self.counts[i] is None:
            counter = self.counters[i]
            if counter is None:
                counter = self.parts[i].select(pl.len())
            self.counts[i] = int(counter.collect().item() or 0)
        return self.counts[i]  # type: ignore[return-value]

    def page(self, offset: int, n: int) -> pl.DataFrame:
        """Rows ``offset .. offset + n``: only the days before them are counted, only the days holding them read."""
        got: list[pl.DataFrame] = []
        for i, part in enumerate(self.parts):
            if n <= 0:
                break
            if offset > 0:
                size = self.count(i)
                if offset >= size:
                    offset -= size
                    continue
            rows = part.slice(offset, n).collect()
            if offset == 0 and rows.height < n:
                self.counts[i] = rows.height  # the whole day was read
            got.append(rows)
            n -= rows.height
            offset = 0
        if not got:
            return self.parts[0].head(0).collect()
        return pl.concat(got, how="vertical_relaxed") if len(got) > 1 else got[0]


#: The last selections made on day tables, by the id of the frame handed out (kept alive here).
_DAYS: dict[int, tuple[pl.LazyFrame, _Days]] = {}
_DAYS_KEPT = 32


def _remember(lf: pl.LazyFrame, parts: list[pl.LazyFrame], counters: Sequence[pl.LazyFrame | None]) -> None:
    while len(_DAYS) >= _DAYS_KEPT:
        _DAYS.pop(next(iter(_DAYS)))
    _DAYS[id(lf)] = (lf, _Days(parts, counters))


def _days_of(lf: pl.LazyFrame) -> _Days | None:
    found = _DAYS.get(id(lf))
    return found[1] if found is not None and found[0] is lf else None


def packet_page(lf: pl.LazyFrame, offset: int, n: int) -> pl.DataFrame:
    """Rows ``offset .. offset + n`` of *lf*. A frame straight from :func:`select_packets` on day tables
    is paged day by day (the first page reads the first days with packets, not all of them); any
    other frame by a slice pushed into its read."""
    days = _days_of(lf)
    if days is not None:
        return days.page(max(0, offset), max(0, n))
    return lf.slice(max(0, offset), max(0, n)).collect()


def packet_count(lf: pl.LazyFrame) -> int:
    """How many packets *lf* holds (reads the columns the filters need, no sort; counts kept per day)."""
    days = _days_of(lf)
    if days is not None:
        return sum(days.count(i) for i in range(len(days.parts)))
    return int(lf.select(pl.len()).collect().item())


def _column(name: str) -> str:
    return KEYS.get(name.lower(), name)


def _display(expr: pl.Expr, column: str, dtype: pl.DataType) -> pl.Expr:
    if column in ("src", "dst"):
        return ip_to_str(expr)
    if column == "tcp_flags":
        return flags_expr(expr)
    if column == "ts":
        return expr.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
    return expr.cast(pl.String)


def frequency(lf: pl.LazyFrame, column: str, limit: int = 1000) -> pl.DataFrame:
    """VisiData's frequency table of *column* (filter key names work too): ``value`` (text: IPs
    dotted, flags as letters), ``count``, ``share`` of all rows; by count, most first; at most
    *limit* rows. A column the frame lacks raises :class:`PacketFilterError`."""
    name = _column(column)
    schema = lf.collect_schema()
    if name not in schema.names():
        raise PacketFilterError(f"unknown column {column!r} (one of: {', '.join(schema.names())})")
    counts = (lf.group_by(name).agg(pl.len().alias("count"))
              .with_columns(share=pl.col("count") / pl.col("count").sum())
              .sort(["count", name], descending=[True, False], nulls_last=True)
              .head(limit))
    out = counts.select(_display(pl.col(name), name, schema[name]).alias("value"),
                        pl.col("count").cast(pl.UInt64), pl.col("share").cast(pl.Float64)).collect()
    if schema[name] == pl.String:  # text from the data (a sensor name): shown, never acted on
        out = out.with_columns(pl.col("value").map_elements(safe_line, return_dtype=pl.String))
    return out


def display_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Packets for people: IPs dotted, flags as letters, times RFC 3339 with ``Z``; reference columns dropped."""
    exprs = []
    for name, dtype in df.schema.items():
        if name in REF_COLUMNS:
            continue
        if name in ("src", "dst", "tcp_flags", "ts"):
            exprs.append(_display(pl.col(name), name, dtype).alias(name))
        else:
            exprs.append(pl.col(name))
    return df.select(exprs)


#: Canonical columns in table order, for views that show every field.
COLUMNS: Sequence[str] = tuple(CANONICAL)
