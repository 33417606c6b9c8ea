"""Known-scanner lists: read the common formats, keep them beside the config file, match sources against them.

A list is a set of IPv4 addresses and CIDR blocks, each with an optional name and category, kept as
``lists/NAME.parquet`` in the folder of the configuration file (:func:`scantui.config.config_path`:
the folder of ``$SCANTUI_CONFIG`` when set). One Parquet file per list, written atomically, holds the
entries (``lo``/``hi`` as IPv4 integers, ``entry`` as written, ``name``, ``category``) and, in the file's
key-value metadata, the list's name, source file, category, format and import time. Importing again
under the same name replaces the list.

:func:`parse_list` reads three formats, told apart by their first line that is neither blank nor a
comment:

- plain: one address or CIDR a line, ``#`` starts a comment, blank lines are skipped;
- maltrail ``mass_scanner.txt``: the same, a comment after an entry naming the scanner
  (``71.6.216.32   # labs.rapid7.com``), kept as the entry's name;
- CSV: a comma before any ``#`` on that line. A header names the address column (``ip``, ``cidr``, ``network``,
  ``address``, ``prefix``, ``src``) and optionally ``name`` (or ``scanner``, ``actor``, ``org``) and
  ``category`` (or ``classification``, ``type``); without a header the columns are address, name, category.

Every line that is not usable is a :class:`BadLine` (1-based line number and why); what to do with
them is the caller's choice. Names are untrusted text: they are stored as read and every front end
shows them through :mod:`scantui.safetext`.

Matching (:func:`match_names`) is vectorised for large lists: per list, the ranges sorted by start
with the running maximum of their ends, then one ``searchsorted`` over all sources; a source is in
the list when the largest end among the ranges starting at or below it reaches it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from scantui.errors import InputError
from scantui.netaddr import ipv4_network

#: A list's name is also its file name: letters, digits, ``.``, ``_``, ``-``.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FORMATS = ("plain", "maltrail", "csv")
_META_KEY = "scantui.list"
_ADDRESS_HEADERS = ("ip", "cidr", "network", "address", "ip_address", "prefix", "src", "range", "subnet")
_NAME_HEADERS = ("name", "scanner", "actor", "org", "organization", "description", "comment")
_CATEGORY_HEADERS = ("category", "classification", "type", "tag")
_SCHEMA = {"lo": pl.UInt32, "hi": pl.UInt32, "entry": pl.String, "name": pl.String, "category": pl.String}


@dataclass(frozen=True)
class BadLine:
    line: int
    why: str


@dataclass
class Parsed:
    """What :func:`parse_list` read: the entries (a frame of :data:`_SCHEMA`), the bad lines, the format."""

    entries: pl.DataFrame
    bad: list[BadLine] = field(default_factory=list)
    format: str = "plain"


@dataclass(frozen=True)
class ListInfo:
    """One stored list: its name, where it was imported from, category, format, when, how many entries."""

    name: str
    source: str
    category: str | None
    format: str
    imported: str
    entries: int
    addresses: int
    path: Path

    def as_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "category": self.category, "format": self.format,
                "imported": self.imported, "entries": self.entries, "addresses": self.addresses,
                "path": str(self.path)}


def lists_folder() -> Path:
    """Where the lists live: ``lists/`` in the configuration file's folder."""
    from scantui.config import config_path

    return config_path().parent / "lists"


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise InputError(f"bad list name {name!r}: letters, digits, '.', '_' and '-' only (at most 64)", where="--name")
    return name


def name_from_path(path: Path) -> str:
    """A list name from a file name (``mass_scanner.txt`` -> ``mass_scanner``), other characters as ``_``."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", path.stem).lstrip("._-")[:64]
    return stem or "list"


# ---------------------------------------------------------------- reading the formats


def _range(text: str) -> tuple[int, int, str]:
    """(first, last, canonical text) of an address or CIDR; ValueError says why not."""
    try:
        net = ipv4_network(text)
    except ValueError as why:
        raise ValueError(f"{why}: {text[:60]!r}") from None
    lo = int(net.network_address)
    return lo, lo + net.num_addresses - 1, (str(net.network_address) if net.prefixlen == 32 else str(net))


def _content_lines(text: str) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped


def parse_list(text: str, category: str | None = None) -> Parsed:
    """The entries of a list file's *text* in whichever format it is (see the module doc); *category*
    for entries that carry none."""
    first = next(iter(_content_lines(text)), None)
    if first is not None and "," in first[1].partition("#")[0]:  # (a maltrail name may hold a comma)
        return _parse_csv(text, category)
    rows: list[tuple] = []
    bad: list[BadLine] = []
    named = False
    for number, line in _content_lines(text):
        body, hash_, comment = line.partition("#")
        fields = body.split()
        if len(fields) != 1:
            bad.append(BadLine(number, "expected one address or CIDR (a name goes after '#')"))
            continue
        try:
            lo, hi, entry = _range(fields[0])
        except ValueError as exc:
            bad.append(BadLine(number, str(exc)))
            continue
        name = comment.strip() or None
        named = named or name is not None
        rows.append((lo, hi, entry, name, category))
    return Parsed(_frame(rows), bad, "maltrail" if named else "plain")


def _column(header: list[str], names: Sequence[str]) -> int | None:
    lowered = [h.strip().lower().lstrip("#").strip() for h in header]
    return next((lowered.index(n) for n in names if n in lowered), None)


def _parse_csv(text: str, category: str | None) -> Parsed:
    lines = text.splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.reader([line for _, line in numbered])
    records = list(zip((n for n, _ in numbered), reader))
    rows: list[tuple] = []
    bad: list[BadLine] = []
    if not records:
        return Parsed(_frame(rows), bad, "csv")
    header_line, header = records[0]
    at = _column(header, _ADDRESS_HEADERS)
    if at is not None:
        name_at, cat_at = _column(header, _NAME_HEADERS), _column(header, _CATEGORY_HEADERS)
        body = records[1:]
    else:
        try:
            _range(header[0].strip())
        except ValueError:
            return Parsed(_frame(rows), [BadLine(header_line, "a CSV header needs an address column "
                                                 f"(one of: {', '.join(_ADDRESS_HEADERS[:6])})")], "csv")
        at, name_at, cat_at, body = 0, 1, 2, records
    for number, record in body:
        cell = record[at].strip() if at < len(record) else ""
        if not cell:
            bad.append(BadLine(number, "no address in this row"))
            continue
        try:
            lo, hi, entry = _range(cell)
        except ValueError as exc:
            bad.append(BadLine(number, str(exc)))
            continue
        name = record[name_at].strip() if name_at is not None and name_at < len(record) else ""
        cat = record[cat_at].strip() if cat_at is not None and cat_at < len(record) else ""
        rows.append((lo, hi, entry, name or None, cat or category))
    return Parsed(_frame(rows), bad, "csv")


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row").unique(["lo", "hi"], keep="first", maintain_order=True)


def read_list_file(path: Path, category: str | None = None) -> Parsed:
    """:func:`parse_list` of the file at *path* (an unreadable file is an :class:`InputError`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", path=path, where=f"line {line}") from None
    return parse_list(text, category)


# ---------------------------------------------------------------- the store


def save_list(name: str, parsed: Parsed, source: str, category: str | None, folder: Path | None = None,
              now: dt.datetime | None = None) -> ListInfo:
    """Write *parsed* as list *name* (replacing one of that name), atomically; its :class:`ListInfo`."""
    from scantui.fsutil import atomic_path

    check_name(name)
    folder = folder or lists_folder()
    folder.mkdir(parents=True, exist_ok=True)
    imported = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = {"name": name, "source": source, "category": category, "format": parsed.format, "imported": imported}
    target = folder / f"{name}.parquet"
    with atomic_path(target) as tmp:
        parsed.entries.write_parquet(tmp, metadata={_META_KEY: json.dumps(meta)})
    _CACHE.pop(target, None)
    return _info(target, meta, parsed.entries)


def _addresses(frame: pl.DataFrame) -> int:
    """Distinct addresses the ranges cover (overlaps counted once)."""
    if frame.height == 0:
        return 0
    lo = frame["lo"].to_numpy().astype(np.int64)
    hi = frame["hi"].to_numpy().astype(np.int64)
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)
    starts = np.maximum(lo, np.concatenate(([-1], reach[:-1] + 1)))
    return int(np.clip(hi - starts + 1, 0, None).sum())


def _info(path: Path, meta: dict, frame: pl.DataFrame) -> ListInfo:
    return ListInfo(str(meta.get("name") or path.stem), str(meta.get("source") or ""), meta.get("category"),
                    str(meta.get("format") or ""), str(meta.get("imported") or ""), frame.height, _addresses(frame), path)


@dataclass
class KnownList:
    """A stored list read back: its info, entries, and the sorted ranges :func:`match_names` searches."""

    info: ListInfo
    entries: pl.DataFrame
    starts: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))
    reach: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))
    order: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        lo = self.entries["lo"].to_numpy().astype(np.int64)
        self.order = np.argsort(lo, kind="stable")
        self.starts = lo[self.order]
        self.reach = np.maximum.accumulate(self.entries["hi"].to_numpy().astype(np.int64)[self.order]) \
            if lo.size else np.zeros(0, np.int64)

    def contains(self, srcs: np.ndarray) -> np.ndarray:
        """Whether each source (IPv4 integers) is inside one of the list's ranges."""
        if self.starts.size == 0:
            return np.zeros(len(srcs), bool)
        at = np.searchsorted(self.starts, srcs, side="right") - 1
        return (at >= 0) & (self.reach[np.clip(at, 0, None)] >= srcs)

    def entries_of(self, src: int) -> pl.DataFrame:
        """The entries holding *src* (for a detail view: a handful of rows)."""
        return self.entries.filter((pl.col("lo") <= src) & (pl.col("hi") >= src))


_CACHE: dict[Path, tuple[tuple[int, int], KnownList]] = {}


def read_list(path: Path) -> KnownList:
    """One stored list (cached while the file is unchanged); a broken file is an :class:`InputError`."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
    key = (stat.st_mtime_ns, stat.st_size)
    hit = _CACHE.get(path)
    if hit is not None and hit[0] == key:
        return hit[1]
    try:
        meta = json.loads(pl.read_parquet_metadata(path).get(_META_KEY) or "{}")
        frame = pl.read_parquet(path, glob=False)
        frame = frame.select([pl.col(c).cast(t) for c, t in _SCHEMA.items()])
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file: one line naming it
        raise InputError(f"not a scantui list ({type(exc).__name__}); import it again", path=path) from None
    known = KnownList(_info(path, meta if isinstance(meta, dict) else {}, frame), frame)
    _CACHE[path] = (key, known)
    return known


def load_lists(folder: Path | None = None) -> list[KnownList]:
    """Every stored list, by name (none when the folder does not exist)."""
    folder = folder or lists_folder()
    try:
        paths = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    except OSError:
        return []
    return [read_list(p) for p in paths]


def lists_stamp(folder: Path | None = None) -> tuple[tuple[str, int, int], ...]:
    """(file name, mtime, size) of every stored list: what a cached scanner list was computed with."""
    folder = folder or lists_folder()
    try:
        stats = [(p.name, p.stat()) for p in folder.glob("*.parquet") if not p.name.startswith(".")]
    except OSError:
        return ()
    return tuple(sorted((name, st.st_mtime_ns, st.st_size) for name, st in stats))


def find_list(name: str, folder: Path | None = None) -> KnownList:
    folder = folder or lists_folder()
    path = folder / f"{check_name(name)}.parquet"
    if not path.exists():
        known = ", ".join(k.info.name for k in load_lists(folder)) or "none imported"
        raise InputError(f"no list named {name!r} (lists: {known})", where="--name")
    return read_list(path)


def remove_list(name: str, folder: Path | None = None) -> Path:
    known = find_list(name, folder)
    known.info.path.unlink()
    _CACHE.pop(known.info.path, None)
    return known.info.path


# ---------------------------------------------------------------- matching


def match_names(srcs: pl.Series, lists: Sequence[KnownList] | None = None) -> pl.Series:
    """The names of the lists holding each source of *srcs* (IPv4 integers), as a ``list`` column
    (List of String, empty when none); *lists* default to every stored list."""
    lists = load_lists() if lists is None else lists
    values = srcs.cast(pl.Int64).fill_null(-1).to_numpy()
    if not lists or srcs.len() == 0:
        # one empty list repeated in polars (a Python list of empty lists took 0.4 s on 145 k sources)
        return pl.select(pl.repeat(pl.lit([], dtype=pl.List(pl.String)), srcs.len()).alias("list")).to_series()
    hits = pl.DataFrame({k.info.name: k.contains(values) for k in lists})
    names = [pl.when(pl.col(k.info.name)).then(pl.lit(k.info.name)) for k in lists]
    return hits.select(pl.concat_list(names).list.drop_nulls().alias("list")).to_series()


def with_list_column(frame: pl.DataFrame, lists: Sequence[KnownList] | None = None) -> pl.DataFrame:
    """*frame* (with a ``src`` column) and its ``list`` column."""
    return frame.with_columns(match_names(frame["src"], lists))


def entries_holding(src: int, lists: Sequence[KnownList] | None = None) -> list[tuple[str, str, str | None, str | None]]:
    """(list name, entry, entry name, category) of every entry holding *src*, for a scanner's detail."""
    lists = load_lists() if lists is None else lists
    out = []
    for known in lists:
        if known.contains(np.array([src], np.int64))[0]:
            for row in known.entries_of(src).iter_rows(named=True):
                out.append((known.info.name, row["entry"], row["name"], row["category"] or known.info.category))
    return out


# ---------------------------------------------------------------- writing a list


def entries_frame(rows: Iterable[tuple[str, str | None, str | None]]) -> pl.DataFrame:
    """Entries from (address or CIDR, name, category) rows (the labels' members, for an export)."""
    out = []
    for text, name, category in rows:
        lo, hi, entry = _range(text)
        out.append((lo, hi, entry, name, category))
    return _frame(out)


def export_text(entries: pl.DataFrame, fmt: str) -> str:
    """*entries* as a list file: ``plain`` (one address or CIDR a line) or ``csv`` (``ip,name,category``,
    cells made safe for spreadsheets); both read back by :func:`parse_list` to the same set."""
    return "".join(export_pieces(entries, fmt, ((0, entries.height),)))


def export_pieces(entries: pl.DataFrame, fmt: str, slices: Iterable[tuple[int, int]]) -> Iterator[str]:
    """:func:`export_text` in pieces, one for each (start, length) of *slices* (covering the rows in order),
    each made when the one before was taken (the CSV header in the first, or alone when there are no rows)."""
    from scantui.safetext import csv_safe, csv_writer

    out = io.StringIO()
    writer = csv_writer(out)
    if fmt == "csv":
        writer.writerow(["ip", "name", "category"])
    for start, n in slices:
        part = entries.slice(start, n)
        if fmt == "plain":
            yield out.getvalue() + "".join(f"{e}\n" for e in part["entry"].to_list())
        else:
            for row in part.select("entry", "name", "category").iter_rows():
                writer.writerow([row[0], csv_safe(row[1] or ""), csv_safe(row[2] or "")])
            yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()


def address_set(entries: pl.DataFrame) -> set[tuple[int, int]]:
    """The (first, last) ranges of *entries*: what an export and its re-import must agree on."""
    return set(entries.select("lo", "hi").iter_rows())
