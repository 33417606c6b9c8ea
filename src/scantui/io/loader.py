"""Open any mix of accepted inputs as one canonical LazyFrame.

Paths may be files, folders (walked recursively; a folder of Parquet files is
scanned as one, hive partitions included), globs or ``-`` for standard input
(:mod:`scantui.io.stdin`); anything else that is not a regular file (a FIFO, a
device) is refused before it is opened. Each file's format is
sniffed from its content (:mod:`scantui.io.detect`); consecutive Parquet
files are scanned together. Format modules are imported only when a file of
their kind appears, so opening Parquet never imports the pcap decoder.

A Parquet file with ``src`` and ``day`` columns and no ``ts`` is an
enrichment table (written by ``scantui enrich``, see
:mod:`scantui.enrich.table`), not packets: it is listed in
:attr:`Dataset.inputs` with format ``enrichment`` and in
:attr:`Dataset.enrichment_paths`, and the rollup cache lays it over the data
(:func:`scantui.analysis.rollup_cache.open_rollup`). Give it as its own PATH,
not inside a folder of packet files.

Inputs decoded on the fly (pcap, pcapng, CSV, LOG) can be decoded once into a
Parquet copy: :meth:`Dataset.decode_to` names the file (the rollup cache keys
it like the rollup), and from then on :attr:`Dataset.lf` scans that copy,
writing it on the first access when it is missing.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from scantui.errors import InputError
from scantui.io import detect, read_panics
from scantui.io.options import LoadOptions
from scantui.io.schema import EXTRA, conform
from scantui.io.stats import FileStats, LoadStats
from scantui.io.stdin import is_stdin, stdin_path

# format -> "module:function" taking (path, opts, stats) and returning a LazyFrame
_SCANNERS: dict[str, str] = {
    detect.PCAP: "scantui.io.pcap:scan_pcap",
    detect.PCAPNG: "scantui.io.pcapng:scan_pcapng",
    detect.IPTABLES_CSV: "scantui.io.iptables_csv:scan_iptables_csv",
    detect.NETFILTER_LOG: "scantui.io.netfilter_log:scan_netfilter_log",
}

_IGNORED_NAMES = {"_SUCCESS", "_metadata", "_common_metadata", ".DS_Store"}
#: What a folder walk skips besides those names: documentation, checksums and signatures kept beside
#: captures (``README.md``, ``truth.json``, ``SHA256SUMS``); a file given by name is never skipped.
_NOT_DATA_SUFFIXES = (".crc", ".json", ".md", ".rst", ".yaml", ".yml", ".html", ".pdf", ".sha256", ".sha1", ".md5",
                      ".sig", ".asc")
_NOT_DATA_STEMS = ("README", "LICENSE", "LICENCE", "SHA256SUMS", "MD5SUMS", "CHECKSUMS")

#: Format name of an enrichment table given as a PATH.
ENRICHMENT_TABLE = "enrichment"


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str


@dataclass(frozen=True)
class _Group:
    """Files read by one format scanner call (consecutive Parquet files with one schema, or one file)."""

    format: str
    paths: tuple[Path, ...]
    hive: bool = False


@dataclass(frozen=True)
class InputUnit:
    """A piece of a data set read on its own (:meth:`Dataset.units`)."""

    group: _Group
    files: tuple[Path, ...]

    @property
    def format(self) -> str:
        return self.group.format


class Dataset:
    """The canonical table of some inputs, with what was read and skipped.

    Opening only expands paths and sniffs formats; the loaders run on the first
    access to :attr:`lf` (some validate their input then, e.g. CSV), so a caller
    served by a cached rollup never reads the packet files.
    """

    def __init__(self, groups: list[_Group], inputs: list[InputFile], opts: LoadOptions,
                 enrichment_paths: tuple[Path, ...] = ()) -> None:
        self.inputs = inputs
        self.opts = opts
        self.enrichment_paths = enrichment_paths
        self.stats = LoadStats()
        self._groups = groups
        self._lf: pl.LazyFrame | None = None
        self._lock = threading.Lock()
        self.decoded_path: Path | None = None
        self._source: Callable[[], pl.LazyFrame] | None = None
        # polars reads these again after validating them (no reader of ours sees a cut): their identity when opened
        self._opened = {f.path: _identity(f.path) for f in inputs if f.format not in (detect.PCAP, detect.PCAPNG)}
        read_panics.track(self)  # a panic anywhere later names the input that changed

    @property
    def lf(self) -> pl.LazyFrame:
        with self._lock:
            if self._lf is None:
                if self._source is not None and self.decoded_path is not None:
                    self._lf = _decoded_copy(self._source(), self.decoded_path, self.stats)
                else:
                    self._lf = _build_frame(self._groups, self.opts, self.stats)
                    if self.decoded_path is not None:
                        self._lf = _decoded_copy(self._lf, self.decoded_path, self.stats)
            return self._lf

    def check_unchanged(self) -> None:
        """Refuse a CSV, LOG or Parquet input whose size or mtime is not the one it had when opened: it was
        cut, grown or rewritten since, so rows read from it may be cut short or missing (polars reads such
        a file as it is now). Captures are read by readers of ours that see a cut where it is."""
        for path, then in self._opened.items():
            now = _identity(path)
            if now != then:
                size = "gone" if now is None else f"{now[0]:,} bytes now"
                raise InputError(f"the file changed while it was read ({then[0]:,} bytes when opened, {size}): "
                                 "nothing was written; read it again once it is complete", path=path)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Around a read of :attr:`lf`: when it fails, :meth:`check_unchanged`'s error instead where an input
        changed (polars' error for a file cut under it names no file, or is a panic; our readers' own errors
        say where, and stay). The caller checks again before it keeps what it read."""
        try:
            yield
        except BaseException as exc:
            if not isinstance(exc, InputError) and (isinstance(exc, Exception) or read_panics.is_panic(exc)):
                self.check_unchanged()
            raise

    @property
    def needs_decoding(self) -> bool:
        """True when some packet input is not Parquet (its every read decodes the file again)."""
        return any(g.format != detect.PARQUET for g in self._groups)

    def decode_to(self, path: Path, source: Callable[[], pl.LazyFrame] | None = None) -> None:
        """Serve :attr:`lf` from the Parquet copy *path*, written on the first access when missing.

        The copy must hold exactly this data set with these options (the caller
        keys its name by them). It is read as is, the decoders never run:
        :attr:`stats` gets the counts the copy's writer saw (kept in its metadata).
        *source*, when given, makes a missing copy from the table it returns (e.g.
        the same packets already decoded elsewhere; :attr:`stats` must hold their
        counts) instead of decoding the inputs.
        """
        with self._lock:
            self.decoded_path = Path(path)
            self._source = source
            self._lf = None
            if _is_file(self.decoded_path):
                _restore_stats(self.decoded_path, self.stats)
                self._lf = pl.scan_parquet(self.decoded_path, glob=False)

    @property
    def total_bytes(self) -> int:
        return sum(_size(f.path) for f in self.inputs)

    def units(self) -> list[InputUnit]:
        """The packet inputs as pieces read on their own (:meth:`read_unit`): each file (a file
        of a hive-partitioned folder with the partition columns its folder names give it)."""
        out = []
        for group in self._groups:
            if group.hive:
                out.extend(InputUnit(_Group(group.format, (p,), hive=True), (p,)) for p in _walk(group.paths[0]))
            elif group.format == detect.PARQUET:
                out.extend(InputUnit(_Group(group.format, (p,)), (p,)) for p in group.paths)
            else:
                out.append(InputUnit(group, group.paths))
        return out

    def read_unit(self, unit: InputUnit, stats: LoadStats) -> pl.LazyFrame:
        """One unit's canonical table, with these load options; *stats* gets its loader counts."""
        return _build_frame([unit.group], self.opts, stats)

    @property
    def table_bytes(self) -> int:
        """About how many bytes the inputs hold decoded: :attr:`total_bytes` with compressed files
        counted at their expected ratio (:func:`scantui.io.compressed.expected_size`), for sizing work."""
        from scantui.io import compressed

        text = (detect.IPTABLES_CSV, detect.NETFILTER_LOG)
        return sum(_size(f.path) if f.format in (detect.PARQUET, ENRICHMENT_TABLE)
                   else compressed.expected_size(f.path, text=f.format in text) for f in self.inputs)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


#: Parquet metadata key of a decoded copy holding its loader counts (:meth:`FileStats.to_dict` list).
STATS_KEY = "scantui_load_stats"


def _decoded_copy(lf: pl.LazyFrame, path: Path, stats: LoadStats) -> pl.LazyFrame:
    """Decode *lf* once into the Parquet file *path* (streamed, written atomically) and scan it."""
    from scantui.fsutil import atomic_path
    from scantui.io.sources import closing

    if not _is_file(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            writable = os.access(path.parent, os.W_OK)
        except OSError:
            writable = False
        if not writable:  # a read-only cache: read the inputs as they are
            return lf

        def counts(_context: object) -> dict[str, str]:  # called once the last row is written
            return {STATS_KEY: json.dumps([f.to_dict() for f in stats.files()])}

        with atomic_path(path) as tmp:  # a concurrent writer's identical copy may win; either is complete
            # lz4: the copy is read whole by most later reads; decoding speed matters more than size
            lf.sink_parquet(tmp, compression="lz4", metadata=counts, engine="streaming")
            stats.raise_error()  # a stream that ended on a latched error is not a complete copy
            if closing():
                raise InputError("interrupted while decoding", path=path)
    return pl.scan_parquet(path, glob=False)


def _restore_stats(path: Path, stats: LoadStats) -> None:
    """Publish the loader counts kept in a decoded copy's metadata (none when unreadable)."""
    try:
        files = json.loads(pl.read_parquet_metadata(path).get(STATS_KEY, "[]"))
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return
    for f in files:
        stats.publish(FileStats(f["path"], f["format"], f["rows"], Counter(f["skipped"]), f["complete"]))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _parquet_schema(path: Path) -> object:
    try:
        with open(path, "rb") as handle:  # a handle, not the name: polars would read "tel[1].parquet" as a glob
            return pl.read_parquet_schema(handle)
    except (pl.exceptions.PolarsError, OSError) as exc:
        from scantui.io.parquet import cut_error

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise cut_error(path) or InputError(f"unreadable Parquet: {first}", path=path) from None


def is_enrichment_schema(schema: object) -> bool:
    """True for the columns of an enrichment table: ``src`` and ``day``, no packet time ``ts``."""
    names = set(getattr(schema, "names", lambda: list(schema))())
    return {"src", "day"} <= names and "ts" not in names


def _scanner(fmt: str) -> Callable[[Path, LoadOptions, LoadStats], pl.LazyFrame]:
    module, func = _SCANNERS[fmt].split(":")
    return getattr(importlib.import_module(module), func)


def _not_data(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(_NOT_DATA_SUFFIXES) or name.split(".")[0].upper() in _NOT_DATA_STEMS


def _walk(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name in _IGNORED_NAMES or _not_data(name):
                continue
            files.append(Path(root) / name)
    return files


def expand(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, bool]]:
    """Paths -> [(path, is_hive_folder)] with globs expanded and folders walked."""
    out: list[tuple[Path, bool]] = []
    for raw in paths:
        text = os.fspath(raw)
        if is_stdin(text):
            out.append((stdin_path(), False))
            continue
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
    """Open *paths* as one canonical table. Raises :class:`InputError` on bad input.

    Missing files and unrecognized formats fail here; errors inside a file
    (bad records, bad values) surface when :attr:`Dataset.lf` is built or read.
    """
    opts = opts or LoadOptions()
    if not paths:
        raise InputError("no input given")
    groups: list[_Group] = []
    inputs: list[InputFile] = []
    enrichment: list[Path] = []
    parquet_run: list[Path] = []
    run_schema: list[object] = []

    def flush_parquet() -> None:
        if parquet_run:
            groups.append(_Group(detect.PARQUET, tuple(parquet_run)))
            parquet_run.clear()
            run_schema.clear()

    for path, hive in expand(paths):
        if hive:
            flush_parquet()
            groups.append(_Group(detect.PARQUET, (path,), hive=True))
            inputs.extend(InputFile(f, detect.PARQUET) for f in _walk(path))
            continue
        fmt = detect.sniff(path)
        inputs.append(InputFile(path, fmt))
        if fmt == detect.PARQUET:
            # files scanned together must share a schema (polars takes the first file's)
            schema = _parquet_schema(path)
            if is_enrichment_schema(schema):
                inputs[-1] = InputFile(path, ENRICHMENT_TABLE)
                enrichment.append(path)
                continue
            if run_schema and run_schema[0] != schema:
                flush_parquet()
            run_schema[:1] = [schema]
            parquet_run.append(path)
            continue
        flush_parquet()
        groups.append(_Group(fmt, (path,)))
    flush_parquet()
    if not groups:
        raise InputError("only enrichment tables given; add the packet data they describe", path=enrichment[0])
    return Dataset(groups, inputs, opts, tuple(enrichment))


def _build_frame(groups: list[_Group], opts: LoadOptions, stats: LoadStats) -> pl.LazyFrame:
    from scantui.io.captures import scan_captures
    from scantui.io.parquet import scan_parquet

    frames = []
    captures: list[tuple[Path, str]] = []  # consecutive capture files, read together
    for group in groups:
        if group.format in (detect.PCAP, detect.PCAPNG):
            captures.append((group.paths[0], group.format))
            continue
        if captures:
            frames.extend(scan_captures(captures, opts, stats))
            captures = []
        if group.format == detect.PARQUET:
            frames.append(scan_parquet(list(group.paths), opts, stats, hive=group.hive,
                                       files=_walk(group.paths[0]) if group.hive and group.paths[0].is_dir() else None))
        else:
            frames.append(_scanner(group.format)(group.paths[0], opts, stats))
    if captures:
        frames.extend(scan_captures(captures, opts, stats))
    lf = frames[0] if len(frames) == 1 else pl.concat([conform(f) for f in frames], how="diagonal_relaxed")
    if opts.sensor is not None:
        names = lf.collect_schema().names()
        fixed = pl.lit(opts.sensor, dtype=EXTRA["sensor"])
        lf = lf.with_columns((pl.col("sensor").fill_null(fixed) if "sensor" in names else fixed).alias("sensor"))
    return conform(lf)
