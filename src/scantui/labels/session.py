"""The labelling workflow over a labels store: every change saved at once, and undoable.

What an analyst does from a candidate scan or a suggested group (the TUI calls
these; nothing here knows Textual): create a group from it or add it to an
existing one, accept / reject / mark unsure, merge two groups, remove members,
edit fields, and undo the last change. Each change is applied to the store and
saved immediately (atomic, comments kept, merged with another analyst's
concurrent edits; conflicts come back in the result). A change whose save fails
is rolled back in memory, so what is shown is what is on disk, and the error is
raised for the caller to show.

Rejecting something not labelled yet creates a group with verdict
``not_collaborative`` (ids ``R01``, ``R02``...): that is how a rejection is
remembered (see :mod:`scantui.labels.match`). New groups get ids ``G01``,
``G02``... unless the analyst names them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scantui.labels.model import Group
from scantui.labels.store import LabelsStore, SaveResult

MAX_UNDO = 100


@dataclass(frozen=True)
class ScanRef:
    """A scan as evidence: port, UTC day, sources (dotted IPs)."""

    port: int
    day: dt.date
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """What one action did: its description, the group it leaves selected, and the save's result."""

    description: str
    group_id: str | None
    saved: SaveResult
    conflicts: tuple[str, ...] = ()


@dataclass
class _Undo:
    description: str
    before: dict[str, Group | None] = field(default_factory=dict)


class LabelSession:
    """Labelling actions on one labels file, saved immediately, with an undo stack."""

    def __init__(self, store: LabelsStore) -> None:
        self.store = store
        self._history: list[_Undo] = []

    @classmethod
    def open(cls, path: str, **options: Any) -> LabelSession:
        return cls(LabelsStore.load(path, **options))

    def reload(self) -> None:
        """Read the file again (another analyst saved it); the undo history stays (undo merges like a save)."""
        store = self.store
        self.store = LabelsStore.load(store.path, now=store.now, lock_timeout=store.lock_timeout)

    def stamp(self) -> tuple[int, int] | None:
        """(mtime in ns, size) of the labels file; None while it does not exist."""
        try:
            st = self.store.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    @property
    def can_undo(self) -> bool:
        return bool(self._history)

    @property
    def undo_description(self) -> str | None:
        return self._history[-1].description if self._history else None

    def next_id(self, prefix: str = "G") -> str:
        """The first free ``PREFIXnn`` id."""
        used = {int(m.group(1)) for gid in self.store.ids if (m := re.fullmatch(re.escape(prefix) + r"(\d+)", gid))}
        n = 1
        while n in used:
            n += 1
        return f"{prefix}{n:02d}"

    # -- the actions ------------------------------------------------------------

    def create(self, members: Iterable[str], *, scans: Sequence[ScanRef] = (), group_id: str | None = None,
               verdict: str = "collaborative", **fields: Any) -> Change:
        """A new group of *members* with *scans* as evidence (ports from the scans)."""
        gid = group_id or self.next_id("R" if verdict == "not_collaborative" else "G")
        members = list(members)

        def do() -> None:
            self.store.add(Group(gid, verdict=verdict, members=members, **fields))
            for s in scans:
                self.store.record_scan(gid, s.port, s.day, s.sources)

        return self._change(f"create {gid} ({len(members)} members)", [gid], do, gid)

    def add_to(self, group_id: str, members: Iterable[str], *, scans: Sequence[ScanRef] = ()) -> Change:
        """Add *members* and *scans* to an existing group."""
        members = list(members)

        def do() -> None:
            group = self.store.get(group_id)
            new = [m for m in members if "/" in m or not group.contains(m)]
            if new:
                self.store.add_members(group_id, new)
            for s in scans:
                self.store.record_scan(group_id, s.port, s.day, s.sources)

        return self._change(f"add {len(members)} members to {group_id}", [group_id], do, group_id)

    def record_scans(self, group_id: str, scans: Sequence[ScanRef], *, verdict: str | None = None) -> Change:
        """Record *scans* as evidence in *group_id* (their sources join the members), and set *verdict*
        when given: one change, one undo (the candidates screen's "same IPs as G01, not recorded")."""

        def do() -> None:
            for s in scans:
                self.store.record_scan(group_id, s.port, s.day, s.sources)
            if verdict is not None and self.store.get(group_id).verdict != verdict:
                self.store.set_verdict(group_id, verdict)

        if scans:
            what = f"record {len(scans)} scan{'s' if len(scans) != 1 else ''} in {group_id}" + (f" ({verdict})" if verdict else "")
        else:
            what = f"{group_id}: {verdict}"
        return self._change(what, [group_id], do, group_id)

    def set_verdict(self, group_id: str, verdict: str) -> Change:
        return self._change(f"{group_id}: {verdict}", [group_id], lambda: self.store.set_verdict(group_id, verdict), group_id)

    def reject(self, members: Iterable[str], *, scans: Sequence[ScanRef] = (), group_id: str | None = None, **fields: Any) -> Change:
        """Mark as not collaborative: the labelled group when given, else a new rejected group (remembered)."""
        if group_id is not None:
            return self.set_verdict(group_id, "not_collaborative")
        return self.create(members, scans=scans, verdict="not_collaborative", **fields)

    def edit(self, group_id: str, **changes: Any) -> Change:
        """Change fields (title, verdict, category, members, ports, tags, notes...)."""
        names = ", ".join(sorted(changes))
        return self._change(f"{group_id}: edit {names}", [group_id], lambda: self.store.update(group_id, **changes), group_id)

    def remove_members(self, group_id: str, members: Iterable[str]) -> Change:
        members = list(members)
        return self._change(f"{group_id}: remove {len(members)} members", [group_id],
                            lambda: self.store.remove_members(group_id, members), group_id)

    def merge(self, into_id: str, other_id: str) -> Change:
        return self._change(f"merge {other_id} into {into_id}", [into_id, other_id],
                            lambda: self.store.merge(into_id, other_id), into_id)

    def delete(self, group_id: str) -> Change:
        return self._change(f"delete {group_id}", [group_id], lambda: self.store.remove(group_id), None)

    def undo(self) -> Change | None:
        """Put back the groups the last change touched (saved at once); None when there is nothing to undo."""
        if not self._history:
            return None
        last = self._history.pop()

        def do() -> None:
            for gid, group in last.before.items():
                if group is None:
                    self.store.discard(gid)
                else:
                    self.store.put(group)

        try:
            return self._save(f"undo {last.description}", dict.fromkeys(last.before), do, next(iter(last.before), None), record=False)
        except Exception:
            self._history.append(last)
            raise

    # -- applying and saving ------------------------------------------------------

    def _change(self, description: str, touched: Sequence[str], do: Callable[[], Any], selected: str | None) -> Change:
        return self._save(description, dict.fromkeys(touched), do, selected, record=True)

    def _save(self, description: str, touched: dict[str, None], do: Callable[[], Any], selected: str | None, *, record: bool) -> Change:
        before = {gid: (self.store.get(gid) if gid in self.store else None) for gid in touched}
        try:
            do()
            saved = self.store.save()
        except Exception:
            for gid, group in before.items():  # roll back: memory matches the file again
                if group is None:
                    self.store.discard(gid)
                else:
                    self.store.put(group)
            raise
        if record:
            self._history.append(_Undo(description, before))
            del self._history[:-MAX_UNDO]
        conflicts = tuple(f"{c.group}: {c.field}" for c in saved.conflicts) if saved.conflicts else ()
        return Change(description, selected if selected in self.store else None, saved, conflicts)
