"""The held days' Unicorn session-key counts as one dense count per 32-bit key, saturating at :data:`CAP`: a memo in the
day store that lets an extension find its new sessions from the new days' keys alone.

Extending the sessions needs, for each key of the new days that is not yet a session, its count over the held days.
Reading those from every held day's key file costs the held rows (a year: ~11 G rows, ~3 min a new day), and the
bound that skips the read (:func:`~scantui.analysis.rollup_days.extend_sessions`) passes every key from
``min_packets`` held days on. The memo holds ``min(count over the held days, CAP)`` for every 32-bit key value, in
key order: a non-session key's held count is at most ``min_packets`` (< :data:`CAP`), so the memo gives it exactly
and the new sessions are ``memo[k] + new[k] > min_packets`` (no held file read); the memo then gains the new days'
counts (saturating, never subtracted) and is renamed for the new set of held days. Work: the new days' keys (the
4 MiB windows of the file they fall in: at a year's ~30 M keys a day, the whole file).

- **Where and whose.** ``days/session-counts/<digest>.counts``, the digest of the exact set of day-state folder names
  it counts (a day whose input changed has another state name: that set's memo is never found, and the sessions are
  merged anew or the memo rebuilt from the held key files). The header repeats the set; a file whose size, magic or
  set is not the expected one is removed and rebuilt, never read; so is one that says a non-session key passed
  (it disagrees with the held sessions).
- **Two builds at once.** A build takes the memo by renaming it to a temporary of its own, updates it there and
  renames it to its new name (fsynced first); a build that finds none (another took it) rebuilds its own from the
  held key files. Nothing is updated under a name another build can open.
- **The newest day changing** (an hourly capture updating its day): the next build extends the held days *before*
  that day again (:func:`~scantui.analysis.rollup_store.release_superseded`), whose memo the hour before's build
  took and renamed. So each commit also writes ``<digest of the held set>.undo``: the keys it added to and their
  counts before (5 bytes a key: a year's day ~150 MB), and :meth:`Memo.take` of that held set, finding no memo of its
  own, takes the newer memo and puts those counts back: the held set's memo, byte for byte (a saturated count
  included), with no held key file read. An undo is used once.
- **A late file** for a day before the newest (``rollup.late_days``): the build extends a held set two or more
  extensions back. A memo's content is a function of its set alone, so an undo stays right while the memo it names
  can be had: each commit keeps ``late_days + 1`` links of the chain of undos back from its memo (older links are
  removed, :func:`_trim_chain`), and a take whose undo names a memo extended since follows that memo's own undo on,
  putting each back newest first (:func:`_undone`).
- **Disk.** ``HEADER + 2**32`` bytes (4 GiB, sparse until keys fill it: a window with few keys writes only their
  pages; a year's keys touch every page), one memo per
  chain of extensions (the old name is gone once taken). Below :data:`MEMO_MIN_ROWS` held key rows none is made
  (the held key files, ~3.5 bytes a row, are then smaller than the memo and the held read cheap). An orphan (a chain
  broken by a removed or changed day that made a full merge: no rollup's merged state holds its set, nor a set its
  undos lead back to) is removed by the next build (:func:`sweep_orphans`, once :data:`ORPHAN_AGE_S` old), with the
  undos leading to it; :func:`~scantui.analysis.rollup_store.prune_cache`'s age rule removes what is left.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from scantui.fsutil import fsync_path, remove, temp_beside

#: The day store's folder of memos.
FOLDER = "session-counts"
#: A count is exact below this (uint8); a memo is used only for ``min_packets < CAP``.
CAP = 255
#: Held key rows (over every held day) from which an extension makes and keeps a memo (about 1 G rows: ~3.7 GB of
#: key files, ~35 days of 35 M packets; the memo is 4 GiB). Tests and benchmarks lower it.
MEMO_MIN_ROWS = 1 << 30
KEYS = 1 << 32
#: Bytes before the counts (a page: the windows stay page-aligned).
HEADER = 4096
MAGIC = b"scantui session-counts 1\n"
UNDO_MAGIC = b"scantui session-counts undo 1\n"
#: Key values per window (4 MiB) read, updated and written back at a time.
WINDOW = 1 << 22
PAGE_BITS = 12
PAGE = 1 << PAGE_BITS
PAGES = WINDOW // PAGE
#: A window whose touched pages are fewer than 1/SPARSE_SHARE of its pages writes only those (a new memo, a small
#: day or a test stays sparse: a few hundred keys no longer write 4 GiB); a year's day touches every page.
SPARSE_SHARE = 8


class Inconsistent(Exception):
    """The memo says a key that is not a held session passed: it is not the held days' counts."""


def memo_path(folder: Path, states: Sequence[str]) -> Path:
    return folder / f"{_digest(states)}.counts"


def _digest(states: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(states)).encode()).hexdigest()[:32]


def _header(states: Sequence[str]) -> bytes:
    text = MAGIC + json.dumps({"states": sorted(states)}, separators=(",", ":")).encode() + b"\n"
    if len(text) > HEADER:  # more state names than a page holds: the set is then checked by its digest alone
        text = MAGIC + json.dumps({"digest": _digest(states)}).encode() + b"\n"
    return text.ljust(HEADER, b"\0")


class Memo:
    """A memo taken by this build (its own temporary file): :meth:`add` each key range's new counts, then
    :meth:`commit` under the new held set, or :meth:`discard`."""

    def __init__(self, folder: Path, tmp: Path, states: Sequence[str]) -> None:
        self.folder = folder
        self.tmp = tmp
        self.states = list(states)  # the held set it counts when taken (its undo's target)
        self._added: list[tuple[np.ndarray, np.ndarray]] = []  # (keys, counts before) of each add: the undo

    @classmethod
    def take(cls, folder: Path, states: Sequence[str], held_counts: Callable[[], Iterable[pl.DataFrame]]) -> Memo:
        """The memo of the held day *states*, taken; rebuilt when missing, taken by another build, or not what it
        should be, from *held_counts* (the held days' counts: unicorn_key, n, summed over the days, one key range at
        a time, each sorted: so each page of the file is written once)."""
        path = memo_path(folder, states)
        tmp = temp_beside(path)
        try:
            os.rename(path, tmp)
        except OSError:
            undone = _undone(folder, states, tmp)
            if undone is not None:
                return undone
        else:
            if _valid(tmp, states):
                return cls(folder, tmp, states)
            remove(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        memo = cls(folder, tmp, states)
        try:
            with open(tmp, "wb") as fh:
                fh.write(_header(states))
                fh.truncate(HEADER + KEYS)  # sparse: zero counts
            for counts in held_counts():
                memo._update(counts["unicorn_key"].to_numpy(), counts["n"].to_numpy().astype(np.int64))
        except BaseException:
            memo.discard()
            raise
        return memo

    def add(self, counts: pl.DataFrame, sessions: pl.DataFrame, min_packets: int) -> pl.DataFrame:
        """The keys of *counts* (one key range's new-day counts: unicorn_key, n; sorted, distinct) not in *sessions*
        whose held count plus theirs passes *min_packets*; the memo then counts them."""
        keys = counts["unicorn_key"].to_numpy()
        n = counts["n"].to_numpy().astype(np.int64)
        held = self._update(keys, n)
        self._added.append((keys.astype(np.uint32), held.astype(np.uint8)))
        known = counts["unicorn_key"].is_in(sessions["unicorn_key"].implode()).to_numpy()
        # a non-session key's held count is at most min_packets: more means this file is not the held days' counts
        if (held[~known] > min_packets).any():
            raise Inconsistent(str(self.tmp))
        fresh = keys[~known & (held + n > min_packets)]
        return pl.DataFrame({"unicorn_key": fresh, "unicorn_session": np.ones(len(fresh), dtype=bool)},
                            schema={"unicorn_key": pl.UInt32(), "unicorn_session": pl.Boolean()})

    def _update(self, keys: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Add *n* to the counts of the sorted distinct *keys* (saturating); their counts before, as int64."""
        return _rewrite(self.tmp, keys, lambda old, lo, hi: np.minimum(old + n[lo:hi], CAP))

    def commit(self, states: Sequence[str], undos: int = 1) -> None:
        """Rename the memo for the held day *states* it now counts (the header first), fsynced; beside it the undo
        back to the set it was taken for (module doc), written first: a memo is never found without its undo. The
        chain of undos back from it keeps *undos* links (``rollup.late_days`` + 1: a build extending the held set
        of a late file's day puts each back in turn); older links of the chain are removed."""
        keys = np.concatenate([k for k, _ in self._added]) if self._added else np.empty(0, np.uint32)
        before = np.concatenate([b for _, b in self._added]) if self._added else np.empty(0, np.uint8)
        order = np.argsort(keys, kind="stable")  # (each add's keys are sorted and the ranges disjoint: usually sorted)
        head = json.dumps({"memo": sorted(states), "held": sorted(self.states)}, separators=(",", ":")).encode()
        undo = _undo_path(self.folder, self.states)
        part = temp_beside(undo)
        try:
            with open(part, "wb") as fh:
                fh.write(UNDO_MAGIC + len(head).to_bytes(4, "little") + head)
                fh.write(keys[order].astype("<u4").tobytes())
                fh.write(before[order].tobytes())
            fsync_path(part)
            os.replace(part, undo)
        except BaseException:
            remove(part)
            raise
        with open(self.tmp, "r+b") as fh:
            fh.write(_header(states))
        fsync_path(self.tmp)
        os.replace(self.tmp, memo_path(self.folder, states))
        fsync_path(self.folder)
        _trim_chain(self.folder, self.states, undos)

    def discard(self) -> None:
        remove(self.tmp)


def _undo_path(folder: Path, held: Sequence[str]) -> Path:
    return folder / f"{_digest(held)}.undo"


def _undo_head(path: Path) -> tuple[dict, int] | None:
    """(header, offset of the keys) of an undo file; None when it is not one."""
    try:
        with open(path, "rb") as fh:
            start = fh.read(len(UNDO_MAGIC) + 4)
            if not start.startswith(UNDO_MAGIC) or len(start) != len(UNDO_MAGIC) + 4:
                return None
            size = int.from_bytes(start[len(UNDO_MAGIC):], "little")
            head = json.loads(fh.read(size))
    except (OSError, ValueError):
        return None
    return (head, len(start) + size) if isinstance(head, dict) else None


def _read_undo(path: Path) -> tuple[dict, np.ndarray, np.ndarray] | None:
    """(header, keys, counts before) of an undo file; None when it is not one."""
    found = _undo_head(path)
    if found is None:
        return None
    head, at = found
    try:
        body = memoryview(path.read_bytes())[at:]
    except OSError:
        return None
    n = len(body) // 5
    if len(body) != 5 * n:
        return None
    return head, np.frombuffer(body[:4 * n], dtype="<u4"), np.frombuffer(body[4 * n:], dtype=np.uint8)


#: The most undos a memo is put back through (``rollup.late_days`` is at most 31).
MAX_CHAIN = 32


def _undone(folder: Path, states: Sequence[str], tmp: Path) -> Memo | None:
    """The memo of the held *states*, from the newer memo its undo names with that undo's counts put back, taken to
    *tmp*; where that memo is gone too (extended again since), from the one its own undo names, each undo put back
    newest first. None when a link is missing (or not what it says)."""
    chain: list[tuple[Path, np.ndarray, np.ndarray]] = []
    want = sorted(states)
    for _ in range(MAX_CHAIN):
        path = _undo_path(folder, want)
        undo = _read_undo(path)
        if undo is None or undo[0].get("held") != want or not isinstance(undo[0].get("memo"), list):
            return None
        chain.append((path, undo[1], undo[2]))
        newer = sorted(str(s) for s in undo[0]["memo"])
        try:
            os.rename(memo_path(folder, newer), tmp)
        except OSError:
            want = newer  # that memo was extended again: its own undo leads on
            continue
        break
    else:
        return None
    for path, _, _ in chain:
        remove(path)  # used once: the memos they undo are gone from their names now
    if not _valid(tmp, newer):
        remove(tmp)
        return None
    try:
        for _, keys, before in reversed(chain):
            _rewrite(tmp, keys, lambda _old, lo, hi, before=before: before[lo:hi])
    except BaseException:
        remove(tmp)
        raise
    return Memo(folder, tmp, states)


def _trim_chain(folder: Path, held: Sequence[str], links: int) -> None:
    """Remove the undos more than *links* back along the chain that leads to the memo just committed from the set
    *held* (the undo from *held* is the first link; the undo to *held* the second, and so on); other chains' undos
    (other data in the same cache) are not touched."""
    newer: dict[str, list[tuple[Path, str]]] = {}  # a memo's set -> the undos back from it, with their sets
    for path, memo, before in _links(folder.glob("*.undo")):
        newer.setdefault(memo, []).append((path, before))
    level, depth = [_digest(held)], 1
    for _ in range(MAX_CHAIN + links):
        back = [entry for digest in level for entry in newer.pop(digest, [])]
        if not back:
            return
        depth += 1
        for path, _ in back:
            if depth > links:
                remove(path)
        level = [digest for _, digest in back]


def _links(paths: Iterable[Path]) -> Iterable[tuple[Path, str, str]]:
    """(undo, digest of the set of the memo it goes back from, digest of the set it goes back to) of each undo file
    among *paths*."""
    for path in paths:
        head = _undo_head(path) if path.suffix == ".undo" else None
        if head is not None and isinstance(head[0].get("memo"), list) and isinstance(head[0].get("held"), list):
            yield path, _digest(head[0]["memo"]), _digest(head[0]["held"])


#: A memo or undo younger than this is never swept as an orphan: a build running beside may have just committed it,
#: before its rollup's folder is in place (that rollup's next extension would rebuild it, minutes at a year).
ORPHAN_AGE_S = 3600.0


def sweep_orphans(folder: Path, held: Iterable[Sequence[str]], min_age: float = ORPHAN_AGE_S) -> list[Path]:
    """Remove from *folder* the memos through which no extension can go any more, and the undos that lead nowhere;
    the removed files. *held*: the sets of day states the rollups' merged states hold (what an extension takes a memo
    for). A memo is kept when its set is one of them, or a set its chain of undos leads back to is; an undo when
    the memos it leads forward to (through later undos) include one kept. Files younger than *min_age* stay."""
    wanted = {_digest(states) for states in held}
    try:
        files = [p for p in folder.iterdir() if not p.name.startswith(".")]
    except OSError:
        return []
    back: dict[str, list[str]] = {}  # a memo set's digest -> the digests of the sets its undos lead back to
    forth: dict[str, tuple[Path, str]] = {}  # an undo's held set's digest -> (the undo, the digest of its memo's set)
    for path, memo, before in _links(files):
        back.setdefault(memo, []).append(before)
        forth[before] = (path, memo)

    def useful(digest: str) -> bool:
        seen, todo = set(), [digest]
        while todo:
            d = todo.pop()
            if d in wanted:
                return True
            if d not in seen and len(seen) < 4 * MAX_CHAIN:
                seen.add(d)
                todo.extend(back.get(d, ()))
        return False

    now, removed = time.time(), []

    def old(path: Path) -> bool:
        try:
            return now - path.stat().st_mtime > min_age
        except OSError:
            return False

    memos = {p.stem for p in files if p.suffix == ".counts"}
    for digest in sorted(memos):
        path = folder / f"{digest}.counts"
        if not useful(digest) and old(path) and _removed(path):
            memos.discard(digest)
            removed.append(path)
    for before, (path, memo) in sorted(forth.items()):
        for _ in range(MAX_CHAIN):  # forward to the memo this undo's chain ends at
            if memo in memos or memo not in forth:
                break
            memo = forth[memo][1]
        if memo not in memos and old(path) and _removed(path):
            removed.append(path)
    return removed


def _removed(path: Path) -> bool:
    try:
        remove(path)
    except OSError:  # another user's file in a shared cache, a read-only one
        return False
    return True


def _rewrite(path: Path, keys: np.ndarray, new: Callable[[np.ndarray, int, int], np.ndarray]) -> np.ndarray:
    """Set the counts of the sorted distinct *keys* in the memo file *path* to ``new(old, lo, hi)`` (*old* the counts
    of ``keys[lo:hi]`` as int64); their counts before, as int64. One window of the file at a time, read whole and
    written whole or, with keys on few of its pages, page by page (no page faults: mapping the file cost ~1 us of
    system time a page touched, 2x reading and writing it)."""
    before = np.empty(len(keys), dtype=np.int64)
    if not len(keys):
        return before
    keys = keys.astype(np.int64, copy=False)
    cuts = np.searchsorted(keys, np.arange(0, KEYS + 1, WINDOW, dtype=np.int64))
    window = np.empty(WINDOW, dtype=np.uint8)
    fd = os.open(path, os.O_RDWR)
    try:
        for w in np.flatnonzero(cuts[1:] > cuts[:-1]):
            lo, hi, offset = cuts[w], cuts[w + 1], HEADER + int(w) * WINDOW
            if os.preadv(fd, [window], offset) != WINDOW:
                raise OSError(f"{path}: short read")
            at = keys[lo:hi] - int(w) * WINDOW
            old = window[at].astype(np.int64)
            window[at] = new(old, lo, hi).astype(np.uint8)
            before[lo:hi] = old
            pages = at >> PAGE_BITS  # sorted (the keys are): their distinct values without a sort
            pages = pages[np.concatenate(([True], pages[1:] != pages[:-1]))]
            if len(pages) * SPARSE_SHARE >= PAGES:  # an eighth of its pages or more: written whole
                if os.pwritev(fd, [window], offset) != WINDOW:
                    raise OSError(f"{path}: short write")
                continue
            for page in pages.tolist():  # few keys: only their pages, so the file stays sparse where no key is
                start = page << PAGE_BITS
                if os.pwrite(fd, window[start:start + PAGE], offset + start) != PAGE:
                    raise OSError(f"{path}: short write")
    finally:
        os.close(fd)
    return before


def _valid(path: Path, states: Sequence[str]) -> bool:
    try:
        if path.stat().st_size != HEADER + KEYS:
            return False
        with open(path, "rb") as fh:
            return fh.read(HEADER) == _header(states)
    except OSError:
        return False
