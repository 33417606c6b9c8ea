"""A damaged file in the cache (a copy cut short, a disk that lost a write) found, named and set aside; a cache
that cannot be written named.

Polars' error on such a file names no file (``parquet: File out of specification: The file must end with PAR1``),
a cut index (``state.json``, ``index.json``...) was an internal ``JSONDecodeError``, and the damage would stay: every
later command reading that rollup or day would fail the same way. When a command fails on a polars error (or panic)
that no changed input explains, or on a JSON parse error, :func:`damaged_cache_error` checks the Parquet and JSON
files of the caches this process opened (:func:`track`): a Parquet file's end markers, its footer's length and the
footer itself (``read_parquet_metadata``: ~0.1 ms a file, 0.4 s for the 3,641 files of 84 days); a JSON file's parse.
Each damaged one's cache entry
is set aside (renamed away, then removed), so that the next command opening the data (or the TUI opening it
again) builds it anew:

- a file of ``rollups/<key>/``: that rollup (the next build extends the rollup before it, or merges the days);
- a file of ``days/state/<name>/``: that day's state, marked (``.<name>.damaged``) so that the next command opening a
  rollup that names it builds it again from the inputs' day splits, under the same name (:func:`states_to_build`; a
  state missing without the mark, e.g. pruned, is not built again: the queries read the inputs for that day);
- a file of ``days/inputs/<key>/``: that input's day split (split again from the input when a day is built);
- ``decoded/<key>.parquet``: that decoded copy.

The error names the first damaged file and what was set aside. Damage inside a data page, under an intact footer,
is not found this way (polars writes no page checksums): polars' own error is then shown, and ``scantui rollup
--rebuild`` builds the cache of that data again.

A cache that cannot be written is the other failure polars reports without a path: a polars error quoting a
write-only errno (a full disk) names the cache folder opened last and its free space (:func:`cache_write_error`),
never an input. :func:`read_failure` is what the CLI and the TUI ask about a polars error or panic.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scantui.analysis.day_tasks import _STATE_DONE
from scantui.analysis.rollup_store import _OLD_MARK
from scantui.errors import InputError
from scantui.fsutil import WRITE_ERRNOS, error_code, remove

#: The cache folders (the parent of ``rollups/``) opened in this process, oldest first.
_ROOTS: list[Path] = []

#: A Parquet file's first and last four bytes.
_MAGIC = b"PAR1"

#: The end of the name of a day state's mark: set aside as damaged, to be built again (:func:`states_to_build`).
_DAMAGED = ".damaged"


def track(top: Path) -> None:
    """Remember the cache folder *top* (holding ``rollups/``, ``days/``, ``decoded/``) for :func:`read_failure` (a
    rollup opened: damage found before is no longer what its reads fail on)."""
    global _RECENT
    _RECENT = None
    if top in _ROOTS:
        _ROOTS.remove(top)
    _ROOTS.append(top)


@dataclass(frozen=True)
class Checked:
    """What :func:`check_cache` found: the files it read, the damaged ones (path, what is wrong) and the entries it set
    aside (as :func:`set_aside` names them)."""

    files: int
    damaged: list[tuple[Path, str]]
    set_aside: list[str]

    def summary(self) -> str:
        """``3,385 cache files checked: none damaged``, or which entries were set aside."""
        head = f"{self.files:,} cache file{'' if self.files == 1 else 's'} checked"
        if not self.damaged:
            return f"{head}: none damaged"
        gone = f": set aside {_entries(self.set_aside)}, built anew by this and later commands" if self.set_aside else ""
        return f"{head}: {len(self.damaged):,} damaged{gone}"


def check_cache(top: Path) -> Checked:
    """Every Parquet and JSON file of the cache folder *top* checked (:func:`damage`), each damaged one's entry set aside
    (:func:`set_aside`): ``scantui rollup --check``, and the search after a failed read (:func:`damaged_cache_error`)."""
    files, found = 0, []
    for path in _cache_files(top):
        files += 1
        why = damage(path)
        if why is not None:
            found.append((path, why))
    gone: list[str] = []
    for path, _why in found:
        entry = set_aside(top, path)
        if entry is not None and entry not in gone:
            gone.append(entry)
    return Checked(files, found, gone)


def damaged_cache_error() -> InputError | None:
    """The error naming the first damaged file of the caches this process opened, each damaged file's entry set
    aside (see the module doc); None when every file reads."""
    for top in reversed(_ROOTS):
        checked = check_cache(top)
        found, gone = checked.damaged, checked.set_aside
        if not found:
            continue
        path, why = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        what = (f"set aside {_entries(gone)}: opening the data again builds {'it' if len(gone) == 1 else 'them'} anew"
                if gone else "remove it, or run 'scantui rollup --rebuild' on the data")
        global _RECENT
        _RECENT = (time.monotonic(), InputError(f"a damaged cache file{more}: {why}; {what}", path=path))
        return _RECENT[1]
    return None


#: When :func:`damaged_cache_error` last found damage, and its error: reads that failed on the same files at the same
#: time (the TUI reads several tables at once) find nothing left to set aside, and say the same instead of polars'
#: line (:func:`read_failure`), for :data:`RECENT_S` seconds.
_RECENT: tuple[float, InputError] | None = None
RECENT_S = 60.0


#: The kinds of cache entry :func:`set_aside` names, each with its plural.
_KINDS = (("rollup", "rollups"), ("day state", "day states"), ("day split", "day splits"),
          ("decoded copy", "decoded copies"))


def _entries(gone: list[str]) -> str:
    """The entries set aside, one line's worth: each kind's one name, or its count (day states: their first and last
    day), so that a whole cache's worth (every day of a copy cut short) is not a screenful of names."""
    parts = []
    for one, many in _KINDS:
        names = [g[len(one) + 1:] for g in gone if g.startswith(f"{one} ")]
        if len(names) == 1:
            parts.append(f"{one} {names[0]}")
        elif names:
            days = sorted(n[:10] for n in names)
            parts.append(f"{len(names)} {many}" + (f" ({days[0]} to {days[-1]})" if one == "day state" else ""))
    return ", ".join(parts)


def damage(path: Path) -> str | None:
    """What is wrong with the cache file *path*: a Parquet file as far as its ends and footer tell, a JSON file (the
    cache's indexes and marks: ``meta.json``, ``state.json``, ``index.json``...) as its parse does; None when it
    reads."""
    import polars as pl

    if path.suffix == ".json":
        return _json_damage(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(4)
            f.seek(max(size - 8, 0))
            tail = f.read(8)
    except FileNotFoundError:
        return None  # removed meanwhile (a build beside sweeping what it superseded): gone, not damaged
    except OSError as exc:
        return exc.strerror or str(exc)
    if size < 12 or head != _MAGIC or tail[4:] != _MAGIC:
        return f"cut short or overwritten ({size:,} bytes, no Parquet end marker)"
    if int.from_bytes(tail[:4], "little") + 12 > size:
        return f"cut short ({size:,} bytes, less than its footer says)"
    try:
        pl.read_parquet_metadata(path)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - polars' reason, whatever its type
        lines = str(exc).strip().splitlines()
        return f"its footer does not read ({lines[0] if lines else type(exc).__name__})"
    return None


def _json_damage(path: Path) -> str | None:
    try:
        json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        return f"not valid JSON{where} ({path.stat().st_size:,} bytes: cut short or overwritten)"
    return None


def set_aside(top: Path, path: Path) -> str | None:
    """Remove the cache entry of *top* holding the damaged *path* (renamed away first: a reader opening it meanwhile
    finds it gone, never half of it); how the entry is named in the error, or None when *path* is in none."""
    try:
        parts = path.relative_to(top).parts
    except ValueError:
        return None
    if len(parts) >= 3 and parts[0] == "rollups":
        entry, name = top / "rollups" / parts[1], f"rollup {parts[1]}"
    elif len(parts) >= 4 and parts[0] == "days" and parts[1] == "state":
        entry, name = top / "days" / "state" / parts[2], f"day state {parts[2]}"
    elif len(parts) >= 4 and parts[0] == "days" and parts[1] == "inputs":
        entry, name = top / "days" / "inputs" / parts[2], f"day split {parts[2]}"
    elif len(parts) == 2 and parts[0] == "decoded":
        entry, name = path, f"decoded copy {parts[1]}"
    else:
        return None
    doomed = entry.with_name(f".{entry.name}{_OLD_MARK}damaged-{uuid.uuid4().hex[:8]}")  # (pruned if left behind)
    try:
        if entry.parent.name == "state":
            _mark(entry).touch()
        entry.rename(doomed)
    except OSError:
        return None  # gone meanwhile (another process set it aside), or a read-only cache
    remove(doomed)
    return name


def states_to_build(states: Iterable[Path]) -> list[Path]:
    """The day states of *states* set aside as damaged and not built again since (one ``stat`` a day); the mark of
    one built again meanwhile (by another process) is removed."""
    out = []
    for state in states:
        mark = _mark(state)
        if not mark.exists():
            continue
        if (state / _STATE_DONE).is_file():
            built_again([state])
        else:
            out.append(state)
    return out


def built_again(states: Iterable[Path]) -> None:
    """The day states *states* were built again: their marks removed."""
    for state in states:
        try:
            _mark(state).unlink(missing_ok=True)
        except OSError:
            pass  # a read-only cache


def _mark(state: Path) -> Path:
    return state.with_name(f".{state.name}{_DAMAGED}")


def _cache_files(top: Path) -> Iterator[Path]:
    """The Parquet and JSON files of the cache *top*'s entries, temporaries and folders set aside (hidden names) left
    out."""
    for sub in (top / "rollups", top / "days" / "state", top / "days" / "inputs", top / "decoded"):
        for folder, dirs, files in os.walk(sub):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.endswith((".parquet", ".json")) and not name.startswith("."):
                    yield Path(folder) / name


def read_failure(exc: BaseException) -> InputError | None:
    """The error to show for a polars error or panic *exc*: the cache's when polars could not write it (a full disk:
    :func:`cache_write_error`), else an input's that changed since it was opened
    (:func:`~scantui.io.read_panics.changed_input_error`), else a damaged cache file's (:func:`damaged_cache_error`);
    for a JSON parse error (the cache's indexes are its only JSON), the damaged cache file's. None for any other
    exception, or when none explains it (polars' own line is then the best there is)."""
    import sys

    from scantui.io.read_panics import changed_input_error, is_panic

    # asked again (a screen's notification and its status line): the same answer, not a second search finding
    # nothing (what the first set aside is gone)
    if _ANSWER in getattr(exc, "__dict__", {}):
        return getattr(exc, _ANSWER)
    polars = sys.modules.get("polars")
    error = getattr(getattr(polars, "exceptions", None), "PolarsError", None) if polars else None
    if isinstance(exc, json.JSONDecodeError):
        found = damaged_cache_error()
    elif not is_panic(exc) and (error is None or not isinstance(exc, error)):
        return None
    else:
        found = cache_write_error(exc) or changed_input_error() or damaged_cache_error()
    if found is None and _RECENT is not None and time.monotonic() - _RECENT[0] < RECENT_S and (
            is_panic(exc) or "parquet" in str(exc).lower()):
        found = _RECENT[1]
    try:
        setattr(exc, _ANSWER, found)  # on the exception: nothing here keeps it (and its frames) alive
    except AttributeError:
        pass
    return found


#: The attribute :func:`read_failure` keeps its answer in, on the exception.
_ANSWER = "_scantui_read_failure"


def cache_write_error(exc: BaseException) -> InputError | None:
    """A polars error quoting an errno only a write gives (``No space left on device (os error 28)``: polars names no
    file) while this process had a cache open: the error naming the cache folder opened last, with its free space;
    None otherwise. What the failed build wrote is in hidden temporaries, removed as it failed (or pruned)."""
    code = error_code(exc)
    if code not in WRITE_ERRNOS or not _ROOTS:
        return None
    top = _ROOTS[-1]
    if code == errno.EROFS:
        how = "set SCANTUI_CACHE_DIR to a folder that can be written"
    elif code == errno.EFBIG:
        how = "a limit on file sizes (ulimit -f) stopped it"
    else:
        try:
            free = f" ({shutil.disk_usage(top).free / 2**20:,.0f} MiB free there once the build's temporaries went)"
        except OSError:
            free = ""
        how = f"free some space there{free}, or set SCANTUI_CACHE_DIR to a folder with room"
    return InputError(f"cannot write the cache: {os.strerror(code)}; {how}", path=top)
