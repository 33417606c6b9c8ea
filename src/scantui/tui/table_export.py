"""``ctrl+s`` on any table: the table as the user sees it, written to CSV, Parquet or a plain IP list.

:func:`export_frame` is what is written: the rows shown (filtered, sorted; only
the marked ones when some are marked), the columns shown in their order, raw
values (IP columns as dotted text, times as they are: UTC). :func:`ask_export`
asks for the path (:class:`~scantui.tui.screens.prompt.PromptScreen`) and writes
in a thread worker through :func:`scantui.io.table_export.write_table` (atomic);
"wrote N rows to PATH" or the error is a notification. An IP list is the
``src`` column, or, for a table whose rows are groups of IPs (candidate scans,
suggested groups), what its ``ips_of`` hook lists for the rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from scantui.io import read_panics
from scantui.tui.columns import ip_text

if TYPE_CHECKING:
    import polars as pl

    from scantui.tui.widgets.table import VirtualTable


def _dotted(name: str) -> Any:
    import polars as pl

    col = pl.col(name).cast(pl.Int64)
    parts = [((col // (1 << shift)) % 256).cast(pl.String) for shift in (24, 16, 8, 0)]
    return pl.concat_str(parts, separator=".").alias(name)


def export_frame(table: VirtualTable) -> pl.DataFrame:
    """The rows and columns the table shows (marked rows only when some are shown marked), IPs dotted."""
    rows = table.chosen_frame()
    shown = [c for c in table.columns if c.key in rows.columns]
    frame = rows.select([c.key for c in shown])
    ips = [c.key for c in shown if c.fmt is ip_text and frame.schema[c.key].is_integer()]
    return frame.with_columns([_dotted(k) for k in ips]) if ips else frame


def ip_frame(table: VirtualTable) -> pl.DataFrame:
    """The IPs of the rows to export, as a one-column (``src``) frame: the ``src`` column, or the table's
    ``ips_of`` hook (the members of candidate scans and suggested groups)."""
    import polars as pl

    rows = table.chosen_frame()
    if table.ips_of is not None:
        return pl.DataFrame({"src": [str(ip) for ip in table.ips_of(rows)]}, schema={"src": pl.String})
    if "src" in rows.columns:  # shown or hidden by the column picker
        frame = rows.select("src")
        return frame.with_columns(_dotted("src")) if frame.schema["src"].is_integer() else frame
    return export_frame(table)  # no IPs: the writer says so


def frame_to_write(table: VirtualTable, path: Path) -> tuple[pl.DataFrame, str]:
    """(what to write, its format) for *path* (the format by its suffix; an InputError when it names none)."""
    from scantui.io.table_export import export_format

    fmt = export_format(path)
    return (ip_frame(table) if fmt == "ips" else export_frame(table)), fmt


def _failure(exc: BaseException, path: Path) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{path}: {exc.strerror}"
    from scantui.tui.state import error_text

    return error_text(exc)


def ask_export(table: VirtualTable) -> None:
    """Ask for a path, then write in a thread worker; the outcome is a notification."""
    from scantui.tui.screens.prompt import PromptScreen

    marked = table.marked_shown
    rows = marked if marked else table.row_count
    what = f"the {marked:,} marked rows" if marked else f"all {rows:,} rows shown (mark rows with space to export only those)"
    help_text = (f"Writes {what}, with the columns shown. The suffix picks the format: .csv, .parquet, "
                 ".txt (one IP a line). The file is written whole or not at all.")
    fields = [("path", "file", table.export_path, "e.g. scanners.csv, scanners.parquet, ips.txt")]

    def chosen(values: dict[str, str] | None) -> None:
        if values is None or not values["path"].strip():
            return
        path = Path(values["path"].strip()).expanduser()
        table.export_path = values["path"].strip()
        try:
            frame, fmt = frame_to_write(table, path)  # the rows as shown now, on the UI thread
        except Exception as exc:  # noqa: BLE001 - a name without a known suffix, said
            table.app.notify(_failure(exc, path), title="export failed", severity="error", markup=False)
            return
        table.run_worker(lambda: _write(table.app, frame, fmt, path), thread=True, group="table-export",
                         exit_on_error=False)

    table.app.push_screen(PromptScreen("export this table", fields, help_text=help_text), chosen)


def _write(app: Any, frame: pl.DataFrame, fmt: str, path: Path) -> None:
    from scantui.io.table_export import write_table

    try:
        n = write_table(frame, path, fmt)
    except read_panics.FAILURES as exc:  # noqa: BLE001 - every failure is said; nothing half-written (atomic)
        app.call_from_thread(app.notify, _failure(exc, path), title="export failed", severity="error", markup=False)
        return
    noun = "IPs" if fmt == "ips" else "rows"
    app.call_from_thread(app.notify, f"wrote {n:,} {noun} to {path}", title="export", markup=False)
