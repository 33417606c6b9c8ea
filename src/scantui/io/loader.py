"""Open any mix of accepted inputs as one canonical LazyFrame.

Paths may be files, folders (walked recursively; a folder of Parquet files is
scanned as one, hive partitions included) or globs. Each file's format is
sniffed from its content (:mod:`scantui.io.detect`); consecutive Parquet
files are scanned together. Format modules are imported only when a file of
their kind appears, so opening Parquet never imports the pcap decoder.
"""

from __future__ import annotations

import glob
import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from scantui.errors import InputError
from scantui.io import detect
from scantui.io.options import LoadOptions
from scantui.io.schema import EXTRA, conform
from scantui.io.stats import LoadStats

# format -> "module:function" taking (path, opts, stats) and returning a LazyFrame
_SCANNERS: dict[str, str] = {
    detect.PCAP: "scantui.io.pcap:scan_pcap",
    detect.PCAPNG: "scantui.io.pcapng:scan_pcapng",
    detect.IPTABLES_CSV: "scantui.io.iptables_csv:scan_iptables_csv",
    detect.NETFILTER_LOG: "scantui.io.netfilter_log:scan_netfilter_log",
}

_IGNORED_NAMES = {"_SUCCESS", "_metadata", "_common_metadata", ".DS_Store"}


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str


@dataclass
class Dataset:
    """The canonical table of some inputs, with what was read and skipped."""

    lf: pl.LazyFrame
    inputs: list[InputFile]
    stats: LoadStats = field(default_factory=LoadStats)

    @property
    def total_bytes(self) -> int:
        return sum(_size(f.path) for f in self.inputs)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _parquet_schema(path: Path) -> object:
    try:
        return pl.read_parquet_schema(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"unreadable Parquet: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}", path=path) from None


def _scanner(fmt: str) -> Callable[[Path, LoadOptions, LoadStats], pl.LazyFrame]:
    module, func = _SCANNERS[fmt].split(":")
    return getattr(importlib.import_module(module), func)


def _walk(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name in _IGNORED_NAMES or name.endswith(".crc"):
                continue
            files.append(Path(root) / name)
    return files


def expand(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, bool]]:
    """Paths -> [(path, is_hive_folder)] with globs expanded and folders walked."""
    out: list[tuple[Path, bool]] = []
    for raw in paths:
        text = os.fspath(raw)
        path = Path(text)
        if path.is_dir():
            files = _walk(path)
            if not files:
                raise InputError("folder holds no data files", path=path)
            if all(detect.sniff(f) == detect.PARQUET for f in files):
                out.append((path, True))
            else:
                out.extend((f, False) for f in files)
        elif path.exists():
            out.append((path, False))
        elif glob.has_magic(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise InputError("no file matches this pattern", path=text)
            out.extend((m, False) for m in matches)
        else:
            raise InputError("no such file or folder", path=text)
    return out


def open_inputs(paths: Sequence[str | os.PathLike[str]], opts: LoadOptions | None = None) -> Dataset:
    """Open *paths* as one canonical LazyFrame. Raises :class:`InputError` on bad input."""
    from scantui.io.parquet import scan_parquet

    opts = opts or LoadOptions()
    if not paths:
        raise InputError("no input given")
    stats = LoadStats()
    frames: list[pl.LazyFrame] = []
    inputs: list[InputFile] = []
    pending_parquet: list[Path] = []
    pending_schema: list[object] = []

    def flush_parquet() -> None:
        if pending_parquet:
            frames.append(scan_parquet(list(pending_parquet), opts, stats))
            pending_parquet.clear()
            pending_schema.clear()

    for path, hive in expand(paths):
        if hive:
            flush_parquet()
            frames.append(scan_parquet([path], opts, stats, hive=True))
            inputs.extend(InputFile(f, detect.PARQUET) for f in _walk(path))
            continue
        fmt = detect.sniff(path)
        inputs.append(InputFile(path, fmt))
        if fmt == detect.PARQUET:
            # files scanned together must share a schema (polars takes the first file's)
            schema = _parquet_schema(path)
            if pending_schema and pending_schema[0] != schema:
                flush_parquet()
            pending_schema[:1] = [schema]
            pending_parquet.append(path)
            continue
        flush_parquet()
        frames.append(_scanner(fmt)(path, opts, stats))
    flush_parquet()

    lf = frames[0] if len(frames) == 1 else pl.concat([conform(f) for f in frames], how="diagonal_relaxed")
    if opts.sensor is not None:
        names = lf.collect_schema().names()
        fixed = pl.lit(opts.sensor, dtype=EXTRA["sensor"])
        lf = lf.with_columns((pl.col("sensor").fill_null(fixed) if "sensor" in names else fixed).alias("sensor"))
    return Dataset(lf=conform(lf), inputs=inputs, stats=stats)
