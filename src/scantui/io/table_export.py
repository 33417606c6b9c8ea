"""Writing a table the user is looking at to a file: CSV, Parquet or a plain IP list, atomically.

Every export (the TUI's ``ctrl+s`` on any table, ``scantui packets -o``) goes
through :func:`write_table`. The format comes from the name's suffix
(:func:`export_format`) unless given. Text cells in CSV are made safe for
spreadsheets and terminals (:func:`scantui.safetext.csv_safe`); Parquet keeps the
frame's types; an IP list holds one address per line, each once, in the table's
order. The file appears complete or not at all (:func:`scantui.fsutil.atomic_path`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from pathlib import Path

import polars as pl

from scantui.errors import InputError
from scantui.fsutil import atomic_path
from scantui.safetext import csv_safe, csv_writer

FORMATS = ("csv", "parquet", "ips")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".txt": "ips", ".ips": "ips", ".lst": "ips"}


def export_format(path: Path | str, fmt: str | None = None) -> str:
    """*fmt* when given (checked), else the format *path*'s suffix names; an :class:`InputError` otherwise."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})", path=path)
        return fmt
    found = _SUFFIXES.get(Path(path).suffix.lower())
    if found is None:
        raise InputError("cannot tell the format from the name (use .csv, .parquet or .txt for an IP list)", path=path)
    return found


def _ip(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, int):
        return str(ipaddress.IPv4Address(value))
    return str(value)


def _cell(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"
    if isinstance(value, (list, tuple, dict)):
        return csv_safe(json.dumps(value, default=str))
    return csv_safe(value)


def write_table(frame: pl.DataFrame, path: Path | str, fmt: str | None = None, *, ip_column: str = "src") -> int:
    """Write *frame* to *path* (format by :func:`export_format`); returns the rows (or IPs) written.

    For ``ips`` the column *ip_column* is written (UInt32 addresses become dotted text);
    a frame without it is an :class:`InputError`.
    """
    path = Path(path)
    fmt = export_format(path, fmt)
    if fmt == "ips" and ip_column not in frame.columns:
        raise InputError(f"this table has no {ip_column!r} column to list", path=path)
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist", path=path)
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            frame.write_parquet(tmp)
            return frame.height
        with open(tmp, "w", newline="", encoding="utf-8") as out:
            if fmt == "ips":
                seen = dict.fromkeys(ip for ip in map(_ip, frame[ip_column].to_list()) if ip is not None)
                out.write("".join(f"{csv_safe(ip)}\n" for ip in seen))
                return len(seen)
            writer = csv_writer(out)
            writer.writerow([csv_safe(c) for c in frame.columns])
            for row in frame.iter_rows():
                writer.writerow([_cell(v) for v in row])
            return frame.height
