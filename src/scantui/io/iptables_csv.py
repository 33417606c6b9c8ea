"""CSV exports of packet logs (iptables-style column names) -> the canonical packet table.

Honeypot pipelines export one row per packet with columns such as ``SRC, DST,
PROTO, SPT, DPT, ID, TTL, LEN, SEQ, ACK, WINDOW, TCP_Flags``, a timestamp and
the TCP options as hex. The separator (comma, semicolon or tab) is sniffed from
the header; every column is read as text and converted by
:mod:`scantui.io.normalize`, which also knows the many other names these
columns go by. Unknown columns are ignored. A compressed CSV is read a
decompressed block of lines at a time (:mod:`scantui.io.compressed`).
"""

from __future__ import annotations

import os

import polars as pl

from scantui.errors import InputError
from scantui.io import compressed
from scantui.io.column_names import resolve_columns
from scantui.io.normalize import Normalized, load_text_input, normalize_values
from scantui.io.options import LoadOptions
from scantui.io.stats import LoadStats
from scantui.io.text_end import TextEnd

FORMAT = "iptables_csv"
SEPARATORS = (",", ";", "\t")
_HEAD_BYTES = 64 << 10


def _head_line(path: str) -> str:
    kind = compressed.compression(path)
    if kind is not None:
        head = compressed.head(path, _HEAD_BYTES, kind, allow_cut=True)  # a cut is told by the read of the rows
        head = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    else:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in head.splitlines():
        if line.strip():
            return line
    return ""


def _count_outside_quotes(line: str, sep: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            count += 1
    return count


def sniff_separator(header: str) -> str:
    """The separator that splits the header line into the most fields (comma on a tie or none)."""
    counts = {sep: _count_outside_quotes(header, sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def looks_like_iptables_csv(head: str) -> bool:
    """Content sniffing for the loader: does the first line name a source and a destination column?"""
    lines = [line for line in head.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines:
        return False
    header = lines[0]
    names = [n.strip().strip('"') for n in header.split(sniff_separator(header))]
    try:
        resolve_columns(names, None)
    except InputError:
        return False
    return True


def _normalized(path: str, opts: LoadOptions, end: TextEnd) -> Normalized:
    header = _head_line(path)
    if not header:
        raise InputError("empty CSV file (no header line)", path=path)
    lf = _scan_csv(path, sniff_separator(header), end)
    names = lf.collect_schema().names()
    mapping = resolve_columns(names, path)
    # `a, "b"`: polars only honours quotes right after the separator; drop the ones after a space.
    lf = lf.with_columns(pl.col(c).str.strip_chars().str.strip_prefix('"').str.strip_suffix('"') for c in mapping)
    # Line numbers assume one line per row: a quoted field spanning lines shifts the ones after it.
    return normalize_values(lf, mapping, path, opts, row_label=lambda i: f"line {i + 2}")


_CSV_OPTIONS = dict(quote_char='"', infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True,
                    raise_if_empty=False)


def _scan_csv(path: str, separator: str, end: TextEnd | None = None) -> pl.LazyFrame:
    """Every column as text; a compressed file is parsed a block of whole lines at a time.

    Blocks end at a line end, so a quoted field spanning lines (rare in packet exports) is read
    as in a plain file only when it does not straddle two blocks (4 MiB apart).
    """
    kind = compressed.compression(path)
    if kind is None:
        return pl.scan_csv(path, separator=separator, glob=False, **_CSV_OPTIONS)  # "[1]" is a name
    first = compressed.head(path, _HEAD_BYTES, kind, allow_cut=True)
    names = pl.read_csv(first.partition(b"\n")[0] + b"\n", separator=separator, n_rows=0, **_CSV_OPTIONS).columns
    schema = pl.Schema({name: pl.String for name in names})

    def parse(block: bytes) -> pl.DataFrame:
        return pl.read_csv(block, separator=separator, has_header=False, schema=schema, **_CSV_OPTIONS)

    return compressed.scan_text(path, kind, parse, schema, "csv", skip_first_line=True, end=end)


def scan_iptables_csv(path: str | os.PathLike[str], opts: LoadOptions, stats: LoadStats) -> pl.LazyFrame:
    """Load one CSV export; validates it now (raising InputError on the first bad value unless
    ``opts.skip_bad_rows``), publishes its FileStats, and returns the canonical LazyFrame."""
    path = os.fspath(path)
    return load_text_input(path, lambda end: _normalized(path, opts, end), opts, stats, FORMAT, "CSV")
