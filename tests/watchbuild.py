"""Day files where a group of sources covers a small telescope together: a labelled group that comes back.

:func:`scan_frame` writes canonical packets of *sources* splitting the 256 addresses of
``198.18.7.0/24`` between them on one port and UTC day (a 1-fold, parallel cover: one
candidate scan of ``scantui collab --telescope 198.18.7.0/24``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import polars as pl

from scantui.io.schema import conform

TELESCOPE = "198.18.7.0/24"
_BASE = int(ipaddress.IPv4Address("198.18.7.0"))
SOURCES = tuple(f"185.180.143.{10 + i}" for i in range(4))
_COLUMNS = ("ts", "src", "dst", "proto", "sport", "dport", "ip_id", "ttl", "ip_len", "tcp_flags", "tcp_seq", "tcp_ack",
            "tcp_window", "tcp_mss", "asn", "as_name")


def scan_frame(day: str, sources: tuple[str, ...] = SOURCES, port: int = 8080, *, hour: int = 10,
               asn: int = 64500, as_name: str = "EXAMPLE-RESEARCH") -> pl.DataFrame:
    """The packets of one collaborative scan: *sources* share the telescope's 256 addresses on *port*."""
    start = dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.timezone.utc)
    rows: dict[str, list] = {k: [] for k in _COLUMNS}
    n = len(sources)
    for i, src in enumerate(sources):
        for k in range(i, 256, n):
            values = (start + dt.timedelta(seconds=k * 5 + i), int(ipaddress.IPv4Address(src)), _BASE + k, 6, 40000 + i,
                      port, 54321, 250, 44, 2, k * 7919, 0, 65535, 1460, asn, as_name)
            for key, value in zip(_COLUMNS, values):
                rows[key].append(value)
    frame = pl.DataFrame(rows, schema_overrides={"asn": pl.UInt32}, strict=False)
    return conform(frame.with_columns(pl.col("ts").dt.cast_time_unit("us")).lazy()).collect().sort("ts")


def write_day(folder: Path, name: str, *scans: pl.DataFrame) -> Path:
    """One day file holding *scans*, renamed into place complete (as a capture rotator writes it)."""
    path = folder / name
    tmp = folder / f".{name}.part"
    pl.concat(scans).sort("ts").write_parquet(tmp)
    tmp.rename(path)
    return path
