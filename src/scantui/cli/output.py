"""Rendering results for the terminal or for scripts.

Data goes to stdout (a Rich table sized to the terminal, one JSON document with
``--json``, or CSV with ``--csv``); messages and progress go to stderr.
Untrusted text (AS names, hostnames, file content) is printed as plain text,
never interpreted as Rich markup or terminal control sequences.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scantui.safetext import safe_text

def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def print_json(doc: Any) -> None:
    json.dump(doc, sys.stdout, default=_json_default, ensure_ascii=False)
    sys.stdout.write("\n")


def print_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=_json_default)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def stdout_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, show_header: bool = True) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", header_style="bold", show_header=show_header)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(Text(safe_text(v)) for v in row))
    stdout_console().print(table)


def print_mapping(title: str, items: Sequence[tuple[str, Any]]) -> None:
    """A two-column key/value table (values are plain text)."""
    print_table(title, ("", ""), ((k, f"{v:,}" if isinstance(v, int) else v) for k, v in items), show_header=False)
