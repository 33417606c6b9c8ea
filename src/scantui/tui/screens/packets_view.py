"""What a packets screen shows: the sources, ports, days and time window asked for, and its columns.

:class:`PacketsView` is what each entry point (``p`` on a scanner, a candidate
scan, a group's scan, a timing-plot row) hands the packets screen; it becomes the
model's :class:`~scantui.analysis.packets.PacketSelection` in the screen's worker
and names itself for the title (:meth:`PacketsView.what`). :data:`PACKET_COLUMNS`
are the table's columns (every canonical field; ``sensor`` when the data has it; ``tags`` when a source shown has tags in the labels file)
and :data:`FILTER_KEYS` the field-filter key of each, for the frequency table's
enter (a value becomes a filter term).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scantui.tui.columns import Column, ip_text, plain_int_text, untrusted_text
from scantui.utctime import day_after, day_start

FLAG_LETTERS = "FSRPAUEC"  # bit 0 (FIN) .. bit 7 (CWR), the letters of the field filter's flags:
PROTO_NAMES = {1: "ICMP", 6: "TCP", 17: "UDP"}


def flags_text(value: Any) -> str:
    """The TCP flags byte as letters in bit order (SYN-ACK: ``SA``), ``none`` for none: as the field filter
    and the frequency table write them."""
    value = int(value)
    return "".join(letter for bit, letter in enumerate(FLAG_LETTERS) if value >> bit & 1) or "none"


def proto_text(value: Any) -> str:
    return PROTO_NAMES.get(int(value), str(int(value)))


def packet_time_text(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, dt.datetime) else str(value)


def _num(key: str, header: str, width: int) -> Column:
    return Column(key, header, width, "right", plain_int_text, sortable=False)


PACKET_COLUMNS: tuple[Column, ...] = (
    Column("ts", "time (UTC)", 26, fmt=packet_time_text, sortable=False),
    Column("src", "src", 15, fmt=ip_text, sortable=False),
    Column("dst", "dst", 15, fmt=ip_text, sortable=False),
    Column("proto", "proto", 5, fmt=proto_text, sortable=False),
    _num("sport", "sport", 5),
    _num("dport", "dport", 5),
    Column("tcp_flags", "flags", 5, fmt=flags_text, sortable=False),
    _num("ttl", "ttl", 3),
    _num("ip_id", "ip_id", 5),
    _num("ip_len", "len", 5),
    _num("tcp_seq", "seq", 10),
    _num("tcp_ack", "ack", 10),
    _num("tcp_window", "window", 6),
    _num("tcp_mss", "mss", 5),
)
SENSOR_COLUMN = Column("sensor", "sensor", 16, fmt=untrusted_text, sortable=False)

#: The field filter's key for each column (the frequency table's enter adds ``key:value``).
FILTER_KEYS = {"src": "src", "dst": "dst", "proto": "proto", "sport": "sport", "dport": "dport", "tcp_flags": "flags",
               "ttl": "ttl", "ip_id": "ipid", "ip_len": "len", "tcp_seq": "seq", "tcp_ack": "ack", "tcp_window": "win",
               "tcp_mss": "mss", "sensor": "sensor"}


def packet_columns(names: Iterable[str]) -> tuple[Column, ...]:
    """The table's columns for a frame with columns *names* (``sensor`` only when there; ``tags``, the source's
    tags in the labels file, when the pages carry them: :func:`scantui.tui.member_notes.with_source_tags`)."""
    from scantui.tui.member_notes import TAGS_COLUMN

    names = set(names)
    return PACKET_COLUMNS + ((SENSOR_COLUMN,) if "sensor" in names else ()) + ((TAGS_COLUMN,) if "src_tags" in names else ())


def filter_term(column: str, value: Any) -> str | None:
    """The field-filter term selecting *value* (a frequency table's value text) of *column*; None when the
    column has no filter key, the value is missing, or holds control characters or a backslash (the frequency
    table shows unsafe characters escaped: that text would select nothing, and raw ones are never typed into
    the bar)."""
    key = FILTER_KEYS.get(column)
    if key is None or value is None:
        return None
    text = str(value)
    if not text.replace(" ", "").isprintable() or "\\" in text:
        return None
    if key == "proto":
        text = text.lower()
    if not text or any(c.isspace() or c in "\"'," for c in text):
        return f'{key}:"{text}"' if '"' not in text else None
    return f"{key}:{text}"


def _us(value: int | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value / 1_000_000, dt.timezone.utc)


@dataclass(frozen=True)
class PacketsView:
    """The packets asked for: sources, ports, days and a time window (None: all), and what to call them."""

    srcs: tuple[int, ...] | None = None
    nets: tuple[tuple[int, int], ...] = ()  # inclusive address ranges (a labelled group's CIDR members)
    ports: tuple[int, ...] | None = None
    days: tuple[dt.date, ...] | None = None
    start_us: int | None = None
    end_us: int | None = None  # inclusive
    label: str = ""  # what the sources are (a group's id...), before the generated parts

    @classmethod
    def of_scan(cls, scan: Any, label: str = "") -> PacketsView:
        """A candidate scan or a tracked group's scan: its sources, port, day and span."""
        return cls(tuple(int(s) for s in scan.sources), (), (int(scan.port),), (scan.day,), int(scan.start_us),
                   int(scan.end_us), label)

    @classmethod
    def of_group(cls, group: Any) -> PacketsView:
        """A suggested group: its members on its ports and days (every scan of it)."""
        return cls(tuple(int(s) for s in group.members), (), tuple(int(p) for p in group.ports) or None,
                   tuple(group.days) or None, label=f"group {group.group}")

    @classmethod
    def of_records(cls, records: Sequence[Any]) -> PacketsView:
        """Candidate scans or suggested groups (the candidates screen's rows): one is itself; several, the union
        of their sources, ports and days."""
        views = [cls.of_group(r) if hasattr(r, "members") else cls.of_scan(r) for r in records]
        if len(views) == 1:
            return views[0]
        return cls(tuple(sorted({s for v in views for s in v.srcs or ()})), (),
                   tuple(sorted({p for v in views for p in v.ports or ()})) or None,
                   tuple(sorted({d for v in views for d in v.days or ()})) or None, label=f"{len(views)} rows")

    @classmethod
    def of_labelled(cls, group: Any) -> PacketsView:
        """A labelled group (:class:`scantui.labels.model.Group`): its members (addresses or CIDRs); on the ports
        and days of its recorded scans when it has some."""
        srcs, nets = [], []
        for member in group.members:
            net = ipaddress.IPv4Network(member, strict=False)
            if net.num_addresses == 1:
                srcs.append(int(net.network_address))
            else:
                nets.append((int(net.network_address), int(net.broadcast_address)))
        scans = tuple(group.scans)
        return cls(tuple(srcs) if srcs else None, tuple(nets),
                   tuple(sorted({s.port for s in scans})) or None, tuple(sorted({s.day for s in scans})) or None,
                   label=f"group {group.id}")

    @classmethod
    def of_sources(cls, srcs: Sequence[int], *, port: int | None = None, window: tuple[int, int] | None = None,
                   label: str = "") -> PacketsView:
        start, end = window if window is not None else (None, None)
        return cls(tuple(int(s) for s in srcs), (), None if port is None else (int(port),), None, start,
                   None if end is None else end - 1, label)

    def selection(self, time_range: tuple[dt.date, dt.date] | None = None) -> Any:
        """The model's :class:`~scantui.analysis.packets.PacketSelection` of this view, inside the App's
        *time_range* ((first, last) days, inclusive) when one is set."""
        from scantui.analysis.packets import PacketSelection

        since, until = _us(self.start_us), _us(None if self.end_us is None else self.end_us + 1)
        if time_range is not None:
            first, last = day_start(time_range[0]), day_after(time_range[1])
            since = first if since is None else max(since, first)
            until = last if until is None else min(until, last)
            if until < since:
                until = since  # outside the range: nothing
        return PacketSelection(srcs=self.srcs, nets=self.nets, ports=self.ports, days=self.days,
                               since=since, until=until)

    def what(self) -> str:
        """``198.51.100.7 · port 22 · 2024-03-02 · 01:00–01:05`` (the parts asked for)."""
        parts = [self.label] if self.label else []
        if self.nets and not self.label:
            parts.append(f"{len(self.nets)} networks")
        if self.srcs is not None and (self.srcs or not self.nets):
            if len(self.srcs) == 1:
                parts.append(ip_text(self.srcs[0]))
            elif not self.label:
                parts.append(f"{ip_text(min(self.srcs))} +{len(self.srcs) - 1} sources")
            else:
                parts.append(f"{len(self.srcs)} sources")
        if self.ports is not None:
            ports = sorted(self.ports)
            parts.append(f"port {ports[0]}" if len(ports) == 1 else f"{len(ports)} ports")
        if self.days is not None:
            days = sorted(self.days)
            parts.append(days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}")
        if self.start_us is not None and self.end_us is not None:
            start, end = _us(self.start_us), _us(self.end_us)
            day = "" if self.days is not None and len(self.days) == 1 else f"{start:%Y-%m-%d} "
            parts.append(f"{day}{start:%H:%M:%S}–{end:%H:%M:%S}")
        return " · ".join(parts) or "every packet"
