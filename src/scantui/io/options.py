"""Options every loader accepts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoadOptions:
    #: Year for syslog timestamps that carry none (``Mon dd HH:MM:SS``); None = the current year.
    year: int | None = None
    #: Time zone of timestamps that carry none (syslog, naive CSV/Parquet times).
    tz: str = "UTC"
    #: A file that ends inside a record is an error unless this is set; then the cut record is skipped and counted.
    allow_truncated: bool = False
    #: A row/line with an unparseable value is an error unless this is set; then it is skipped and counted.
    skip_bad_rows: bool = False
    #: Records decoded per chunk by streaming loaders (bounds memory, not the file size).
    chunk_records: int = 1 << 20
    #: Value for the ``sensor`` column when the input has none (None = leave the column out).
    sensor: str | None = None
    #: Capture readers add ``ref_off`` (each record's offset in the decompressed file; see
    #: :mod:`scantui.io.packet_refs`). Set by the rollup's day split only.
    record_refs: bool = False
