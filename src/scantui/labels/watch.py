"""Watching labelled groups: which candidate scans bring a group back, and which were already said.

The rule (the README's "Watching" section says the same):

* every labelled group is watched. A ``collaborative`` or ``unsure`` group is *back*
  when a candidate scan matches it and is not recorded as its evidence (a new port,
  day or sources); a ``not_collaborative`` (rejected) group fires only when its members
  come back in a *new shape*: a port, a sources set or a key that none of its recorded
  scans has, so the rejection does not cover it (a rejected group with no recorded scan
  fires on every matching scan: the rejection never saw one);
* a candidate *matches* a group when at least half of its sources are members of it
  (the review's rule, :func:`scantui.labels.match.label_matches`), or when it shares a
  ``zmap_generator`` or ``fingerprint`` key that a recorded scan of the group holds
  (``key_kind``/``key`` in the scan's entry, written when a candidate is labelled; older
  files without them still match by members). A /24 or AS key is too broad to tie a
  scan to a group by itself, so those keys do not count.

A hit is known by :attr:`Hit.id`: its kind, the group, the port and the UTC day. It fires
once: :class:`WatchState` remembers the ids that fired (a small JSON file, written
atomically), so a cron job run again on the same data prints nothing, and one run after
a new day arrives prints only the new day's scans. :func:`locked_state` holds the state
file's lock from reading it to writing it (two runs at once never both report a hit), after
checking that its folder can be written (before anything is reported). Several candidates with one id (two
bursts of a port on one day, a scan growing as the day's files arrive) are one hit.

Pure: the candidates come in as :class:`Seen` values (the front ends build them from
the collaborative-scan search: :func:`scantui.workspace.watch.seen_scans`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scantui.errors import InputError
from scantui.labels.match import ScanIndex
from scantui.labels.member_index import MemberIndex, group_keys
from scantui.labels.model import Group, ip_to_int, iso_utc, now_utc
from scantui.safetext import safe_line

BACK, NEW_SHAPE = "back", "new_shape"
#: The share of a scan's sources a group must hold (the review's rule, :func:`scantui.labels.match.label_matches`).
MIN_SHARE = 0.5
#: The state file's version key and its default name beside the labels file (``FILE.watch.json``).
STATE_KEY = "scantui_watch"
STATE_SUFFIX = ".watch.json"


@dataclass(frozen=True)
class Seen:
    """A candidate scan as the watch sees it: port, UTC day, sources (dotted), its keys ((kind, text),
    the key that found it first), start and end (ISO 8601 ``Z``) and the AS when the members share one."""

    port: int
    day: dt.date
    sources: tuple[str, ...]
    keys: tuple[tuple[str, str], ...] = ()
    start: str | None = None
    end: str | None = None
    asn: int | None = None
    as_name: str | None = None

    @property
    def key_kind(self) -> str | None:
        return self.keys[0][0] if self.keys else None

    @property
    def key(self) -> str | None:
        return self.keys[0][1] if self.keys else None


@dataclass(frozen=True)
class Hit:
    """A labelled group seen again: *kind* ``back`` or ``new_shape``, the *scan*, and *via* ``members`` (with
    the *share* of its sources the group holds) or ``key`` (the shared zmap generator or fingerprint)."""

    kind: str
    group: Group
    scan: Seen
    via: str
    share: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def id(self) -> str:
        """``back|G01|8080|2024-02-20``: what the state file remembers (one hit per group, port and day)."""
        return "|".join((self.kind, self.group.id, str(self.scan.port), self.scan.day.isoformat()))

    @property
    def _title(self) -> str:
        """`` "title"`` (a quote or backslash in it escaped), or nothing for an untitled group."""
        if not self.group.title:
            return ""
        return ' "' + self.group.title.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def line(self) -> str:
        """``back G01 "title" port 8080 2024-02-20 5 sources (AS64500 NAME) via members``: one safe line."""
        title = self._title
        n = len(self.scan.sources)
        asn = f" (AS{self.scan.asn}{' ' + self.scan.as_name if self.scan.as_name else ''})" if self.scan.asn else ""
        via = f"key {self.scan_key_text}" if self.via == "key" else "members"
        return safe_line(f"{self.kind} {self.group.id}{title} port {self.scan.port} {self.scan.day.isoformat()} "
                         f"{n} source{'s' if n != 1 else ''}{asn} via {via}")

    def notice(self) -> str:
        """The TUI's notification: ``G01 "title" is back: port 8080, 2024-02-20, 5 sources`` (plain text)."""
        title = self._title
        what = "is back" if self.kind == BACK else "returns in a new shape"
        n = len(self.scan.sources)
        return safe_line(f"{self.group.id}{title} {what}: port {self.scan.port}, {self.scan.day.isoformat()}, "
                         f"{n} source{'s' if n != 1 else ''}")

    @property
    def scan_key_text(self) -> str | None:
        return self.extra.get("matched_key") or self.scan.key

    def to_json(self) -> dict[str, Any]:
        """The ``scantui watch --json`` shape (``schemas/watch.schema.json``)."""
        g, s = self.group, self.scan
        return {
            "id": self.id, "kind": self.kind, "group": g.id, "title": g.title, "verdict": g.verdict,
            "port": s.port, "day": s.day.isoformat(), "start": s.start, "end": s.end,
            "sources": list(s.sources), "n_sources": len(s.sources), "key_kind": s.key_kind, "key": s.key,
            "asn": s.asn, "as_name": s.as_name, "via": self.via, "share": self.share,
        }


def _shapes(group: Group) -> list[tuple[int, frozenset[str], str | None]]:
    """(port, sources, key) of each recorded scan (key None where the entry has none: it then matches any key)."""
    return [(s.port, frozenset(s.sources), s.extra.get("key") if isinstance(s.extra.get("key"), str) else None)
            for s in group.scans]


def _covered(group: Group, scan: Seen) -> bool:
    """Whether the rejection of *group* covers *scan*: a recorded scan of the same port, sources and key."""
    sources = frozenset(scan.sources)
    keys = {k for _kind, k in scan.keys}
    return any(port == scan.port and recorded == sources and (key is None or key in keys)
               for port, recorded, key in _shapes(group))


def scan_addresses(scans: Sequence[Seen]) -> list[tuple[int, ...]]:
    """Each scan's sources as integers: what :func:`hits` tests against every group (parsed once)."""
    return [tuple(ip_to_int(ip) for ip in scan.sources) for scan in scans]


def hits(groups: Iterable[Group], scans: Sequence[Seen], *, since: dt.date | None = None,
         addresses: Sequence[tuple[int, ...]] | None = None, between: Callable[[], object] | None = None,
         index: MemberIndex | None = None) -> list[Hit]:
    """Every hit of *scans* (candidate scans, any order) against the labelled *groups*, one per :attr:`Hit.id`
    (the scan with the most sources when several share one), in (day, group, port) order; *since*: only scans
    on or after that UTC day; *addresses*: :func:`scan_addresses` of *scans*, when the caller has them;
    *between*: called every few hundred scans (it may raise to stop the matching: a worker's cancel);
    *index*: the :class:`MemberIndex` of *groups*, when the caller has it.

    Only the groups that hold one of a scan's sources or share one of its keys are looked at (the member
    index), group by group in the groups' order and scan by scan, as a loop over every group and scan would."""
    index = index if index is not None else MemberIndex.of(groups)
    groups = index.groups
    if addresses is None:
        addresses = scan_addresses(scans)
    pairs: list[tuple[int, int, float]] = []  # (group position, scan position, share) worth a look
    for n, (scan, ints) in enumerate(zip(scans, addresses)):
        if between is not None and n % 256 == 255:
            between()
        if since is not None and scan.day < since:
            continue
        counts = index.counts(ints)
        keyed = {pos for k in scan.keys for pos in index.with_key(k)}
        for pos in counts.keys() | keyed:
            share = counts.get(pos, 0) / len(ints) if ints else 0.0
            if pos in keyed or share >= MIN_SHARE:
                pairs.append((pos, n, share))
    pairs.sort()
    found: dict[str, Hit] = {}
    recorded: dict[int, ScanIndex] = {}
    keys: dict[int, set[tuple[str, str]]] = {}
    for i, (pos, n, share) in enumerate(pairs):
        if between is not None and i % 1024 == 1023:
            between()
        group, scan = groups[pos], scans[n]
        if pos not in recorded:
            recorded[pos], keys[pos] = ScanIndex([group]), group_keys(group)
        if recorded[pos].recorded_in((scan.port, scan.day.isoformat(), scan.sources)):
            continue
        shared = [k for k in scan.keys if k in keys[pos]]
        if group.verdict == "not_collaborative":
            if _covered(group, scan):
                continue
            kind = NEW_SHAPE
        else:
            kind = BACK
        by_members = share >= MIN_SHARE
        hit = Hit(kind, group, scan, "members" if by_members else "key", round(share, 4),
                  {} if by_members else {"matched_key": shared[0][1]})
        old = found.get(hit.id)
        if old is None or len(scan.sources) > len(old.scan.sources):
            found[hit.id] = hit
    return sorted(found.values(), key=lambda h: (h.scan.day, h.group.id, h.scan.port, h.kind))


# ---------------------------------------------------------------- what already fired


def default_state_path(labels_path: str | Path) -> Path:
    """``FILE.watch.json`` beside the labels file ``FILE``."""
    path = Path(labels_path)
    return path.with_name(path.name + STATE_SUFFIX)


class WatchState:
    """The ids of the hits that fired (with when), read from and written to a small JSON file."""

    def __init__(self, path: Path, fired: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.fired: dict[str, str] = dict(fired or {})

    @classmethod
    def load(cls, path: str | Path) -> WatchState:
        """The state at *path* (empty when the file does not exist); a file that is not ours is an InputError."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the watch state: {exc}", path=str(path)) from None
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InputError(f"not a watch state file (bad JSON: {exc})", path=str(path)) from None
        fired = doc.get("fired") if isinstance(doc, dict) and doc.get(STATE_KEY) == 1 else None
        if not isinstance(fired, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in fired.items()):
            raise InputError(f"not a watch state file (expected {{\"{STATE_KEY}\": 1, \"fired\": {{...}}}})", path=str(path))
        return cls(path, fired)

    def fresh(self, found: Iterable[Any]) -> list[Any]:
        """The hits of *found* that did not fire before."""
        return [h for h in found if h.id not in self.fired]

    def remember(self, fired: Iterable[Any], when: dt.datetime | None = None) -> None:
        """Remember the ids of *fired* (hits, or anything with an ``id``) with the time they fired."""
        stamp = iso_utc(when or now_utc())
        for hit in fired:
            self.fired.setdefault(hit.id, stamp)

    # a watched saved view's first run is its baseline: its rows are remembered, not reported

    def primed(self, view: str) -> bool:
        """Whether the saved view *view* was watched before (its baseline taken)."""
        return f"view|{view}" in self.fired

    def prime(self, view: str, rows: Iterable[Any], when: dt.datetime | None = None) -> None:
        """Take the baseline of *view*: *rows* are remembered as fired, and the view as watched."""
        self.remember(rows, when)
        self.fired.setdefault(f"view|{view}", iso_utc(when or now_utc()))

    def save(self) -> None:
        """Write the file atomically (a crash leaves the old one)."""
        from scantui.fsutil import write_bytes_atomic

        doc = {STATE_KEY: 1, "fired": dict(sorted(self.fired.items()))}
        write_bytes_atomic(self.path, (json.dumps(doc, indent=1) + "\n").encode())


def check_writable(path: Path) -> None:
    """InputError unless a file can be written in *path*'s folder (a real probe, as root sees it too)."""
    from scantui.fsutil import temp_beside

    probe = temp_beside(path)
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the watch state in its folder: {exc.strerror or exc}", path=str(path)) from None


@contextmanager
def locked_state(path: str | Path, wait: float) -> Iterator[WatchState]:
    """``with locked_state(path, wait) as state:`` the state at *path*, read and (by the body) saved under its lock
    (``PATH.lock``), so that a second run waits up to *wait* s for the first and then sees what it fired. InputError
    when the folder cannot be written or the lock stays held longer (before anything is read or reported)."""
    from scantui.lock import FileLock, Locked, lock_path

    path = Path(path)
    check_writable(path)
    lock = FileLock(lock_path(path), timeout=wait)
    try:
        lock.__enter__()
    except Locked:
        raise InputError(f"another scantui watch is still using this state file (waited {wait:g} s)",
                         path=str(path)) from None
    try:
        yield WatchState.load(path)
    finally:
        lock.__exit__(None, None, None)
