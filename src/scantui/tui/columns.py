"""Column specs for the TUI's tables: header, width, alignment, cell text (no Textual here).

A :class:`Column` turns one raw polars value into the text of one cell. The
virtual table (:mod:`scantui.tui.widgets.table`) formats only the rows on
screen, so these run a few hundred times per repaint, never once per row of the
data. Untrusted text (AS names, hostnames, organisations) goes through
:func:`scantui.safetext.safe_line`: control characters (and line breaks: a cell
is one line) show as ``\\xNN`` and, since the table draws plain segments, Rich
markup is never interpreted.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scantui.safetext import safe_line

NULL = "-"


def ip_text(value: Any) -> str:
    return str(ipaddress.IPv4Address(int(value)))


def int_text(value: Any) -> str:
    return f"{int(value):,}"


def plain_int_text(value: Any) -> str:
    return str(int(value))


def float_text(value: Any) -> str:
    return f"{value:.1f}"


def ratio_text(value: Any) -> str:
    return f"{value:.2f}"


def percent_text(value: Any) -> str:
    return f"{value:.1%}"


def time_text(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else str(value)


def tools_text(value: Any) -> str:
    """``{"zmap": 0.9, "other": 0.1, ...}`` -> ``zmap 90% other 10%`` (non-zero shares, largest first)."""
    shares = sorted(((s, t) for t, s in (value or {}).items() if s), reverse=True)
    return " ".join(f"{t} {s:.0%}" for s, t in shares) or NULL


def ports_text(value: Any) -> str:
    """``top_ports`` (list of structs) -> ``443,80,22``."""
    return ",".join(str(p["port"]) for p in (value or []) if p and p.get("port") is not None) or NULL


def names_text(value: Any) -> str:
    """A list of names (the known-scanner lists holding a source) -> ``benign, mass_scanner``; names are data."""
    return ", ".join(safe_line(v) for v in (value or ()) if v is not None) or NULL


def other_keys(keys: Any, *shown: Any) -> str | None:
    """The keys (``AS6939``, ``192.0.2.0/24``) of *keys* that are not already *shown* in the row, comma-joined;
    None when there is none (the "also as" column repeated the AS column)."""
    rest = [str(k) for k in keys or () if k not in shown]
    return ",".join(rest) or None


def untrusted_text(value: Any) -> str:
    return safe_line(value)


@dataclass(frozen=True)
class Column:
    """One table column: *key* in the frame, *header* shown, *width* in cells (text is cut to it)."""

    key: str
    header: str
    width: int
    align: str = "left"  # "left" | "right"
    fmt: Callable[[Any], str] = untrusted_text
    sortable: bool = True

    def cell(self, value: Any) -> str:
        """The cell's text: never longer than :attr:`width`, ``-`` for nulls, control characters escaped."""
        text = NULL if value is None else self.fmt(value)
        if len(text) > self.width:
            text = text[: max(self.width - 1, 0)] + "…"
        return text


def _num(key: str, header: str, width: int, fmt: Callable[[Any], str] = int_text) -> Column:
    return Column(key, header, width, "right", fmt)


#: Every column of ``scantui scanners`` (:data:`scantui.analysis.scanners.COLUMNS`), in that order.
SCANNER_COLUMNS: tuple[Column, ...] = (
    Column("src", "src", 15, fmt=ip_text),
    _num("packets", "packets", 11),
    _num("ports", "ports", 7),
    _num("dsts", "dsts", 9),
    Column("first_seen", "first seen", 16, fmt=time_text),
    Column("last_seen", "last seen", 16, fmt=time_text),
    _num("days_active", "days", 5),
    Column("tool", "tool", 7),
    Column("tools", "tools", 22, fmt=tools_text, sortable=False),
    Column("range_class", "range", 7),
    Column("schedule", "schedule", 10),
    _num("period_days", "period", 6, plain_int_text),
    _num("schedule_strength", "strength", 8, ratio_text),
    _num("well_known_share", "wk%", 6, percent_text),
    _num("registered_share", "reg%", 6, percent_text),
    _num("ephemeral_share", "eph%", 6, percent_text),
    _num("days_scanned", "scanned", 7, percent_text),
    _num("avg_scan_interval_days", "interval", 8, float_text),
    _num("ports_rescanned", "rescanned", 9),
    _num("coverage_max", "cover", 6, percent_text),
    _num("coverage_mean", "cover~", 6, percent_text),
    Column("picture", "picture", 10),
    _num("asn", "asn", 10, plain_int_text),
    Column("as_name", "as name", 24),
    Column("country", "cc", 4),
    Column("hostname", "hostname", 28),
    Column("org", "org", 24),
    Column("category", "category", 10),
    Column("rule", "rule", 16),
    Column("top_ports", "top ports", 30, fmt=ports_text, sortable=False),
    Column("list", "list", 22, fmt=names_text, sortable=False),
)
#: The labels file's note on each source (``sources:``), after the scanner list's columns.
SOURCE_NOTE_COLUMNS: tuple[Column, ...] = (Column("tags", "tags", 16), Column("note", "note", 30))
_BY_KEY = {c.key: c for c in (*SCANNER_COLUMNS, *SOURCE_NOTE_COLUMNS)}
GENERIC_WIDTH = 14


#: The scanner table's columns before the list is known (the ``list`` column joins when a source is on a list).
SCANNER_TABLE_COLUMNS = tuple(c for c in SCANNER_COLUMNS if c.key != "list")


def scanner_display(frame: Any, listed: bool | None = None) -> tuple[Any, tuple[Column, ...]]:
    """The scanner list as the table shows it: ``variant`` folded into the tool column (``zmap (walk)``
    for a ZMap found by its address walk alone, the column widened only then), not a column of its own;
    the ``list`` column after the tool, and only when some source is on a known-scanner list (*listed*: whether
    one is, decided on the whole list so that a filter does not move the columns; default: in *frame*)."""
    import polars as pl

    names = [n for n in frame.columns if n != "variant"]
    if "list" in names:  # the known-scanner lists: beside the tool when some source is on one, else not shown
        names.remove("list")
        if listed if listed is not None else bool(frame.height and frame["list"].list.len().max()):
            names.insert(names.index("tool") + 1 if "tool" in names else len(names), "list")
    columns = scanner_columns(names)
    if "variant" in frame.columns and frame.filter(pl.col("variant") == "walk").height:
        frame = frame.with_columns(pl.when(pl.col("variant") == "walk").then(pl.lit("zmap (walk)"))
                                   .otherwise(pl.col("tool")).alias("tool_label"))
        columns = tuple(Column("tool_label", "tool", 11) if c.key == "tool" else c for c in columns)
    return frame, columns


def scanner_columns(names: list[str] | tuple[str, ...]) -> tuple[Column, ...]:
    """Specs for a scanner list's columns, in the frame's order; a column this module does not know
    (the list grows) is shown as text, cut to :data:`GENERIC_WIDTH`."""
    return tuple(_BY_KEY.get(name) or Column(name, name.replace("_", " "), max(GENERIC_WIDTH, len(name))) for name in names)
