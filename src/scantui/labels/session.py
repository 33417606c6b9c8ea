"""The labelling workflow over a labels store: every change saved at once, and undoable.

What an analyst does from a candidate scan or a suggested group (the TUI calls
these; nothing here knows Textual): create a group from it or add it to an
existing one, accept / reject / mark unsure, merge two groups, remove members,
edit fields, and undo the last change. Each change is applied to the store and
saved immediately (atomic, comments kept, merged with another analyst's
concurrent edits; conflicts come back in the result, naming who made the
change that was kept). A change whose save fails is rolled back in memory, so
what is shown is what is on disk, and the error is raised for the caller to show.
Every change records its author (``created_by``/``updated_by``).

Rejecting something not labelled yet creates a group with verdict
``not_collaborative`` (ids ``R01``, ``R02``...): that is how a rejection is
remembered (see :mod:`scantui.labels.match`). New groups get ids ``G01``,
``G02``... unless the analyst names them. The id is chosen under the file's
lock against what is on disk then: when the id the analyst saw was taken
meanwhile by another analyst's new group, the new group gets the next free id
and the result says so; an id the analyst typed that is taken raises
:class:`IdTaken` (the caller asks again, keeping the input). Two new groups
are never merged.

:meth:`LabelSession.note_sources` sets the tags and note of single sources
(the file's ``sources:``), saved, merged and undone like a group's fields.

:meth:`LabelSession.batch` runs several actions (the marked rows of a list) as one
change: one save, one undo.

Undo is the reverse of *your* last change only, and only of the fields it
changed, applied against the file as it is now (under the lock); where
another analyst changed the same field since (or edited a group you created),
the undo is refused with :class:`UndoRefused`, naming who and what, and
nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scantui.errors import ScantuiError
from scantui.labels.merge import changed_fields, revert_group
from scantui.labels.match import ScanIndex
from scantui.labels.model import Group, Source, show
from scantui.labels import sources_block
from scantui.labels.store import LabelsStore, SaveResult

MAX_UNDO = 100


@dataclass(frozen=True)
class ScanRef:
    """A scan as evidence: port, UTC day, sources (dotted IPs), and the key that found it (``key_kind``/``key``,
    kept in the scan's entry so that ``scantui watch`` knows the group by its zmap generator or fingerprint)."""

    port: int
    day: dt.date
    sources: tuple[str, ...]
    key_kind: str | None = None
    key: str | None = None

    @property
    def extra(self) -> dict[str, str]:
        """The optional keys of the scan's entry in the file."""
        return {"key_kind": self.key_kind, "key": self.key} if self.key_kind and self.key else {}


@dataclass(frozen=True)
class Change:
    """What one action did: its description, the group it leaves selected, and the save's result."""

    description: str
    group_id: str | None
    saved: SaveResult
    conflicts: tuple[str, ...] = ()


class IdTaken(ScantuiError):
    """The id typed for a new group is taken (perhaps just now, by another analyst); nothing was written."""


class UndoRefused(ScantuiError):
    """The last change cannot be undone without dropping another analyst's later work; nothing was written."""


@dataclass
class _Undo:
    """One change: each group it touched, before and after (as this session left it, before any merge)."""

    description: str
    groups: dict[str, tuple[Group | None, Group | None]] = field(default_factory=dict)
    sources: dict[str, tuple[Source | None, Source | None]] = field(default_factory=dict)
    # the ids (IPs) in file order before a change that removed some: where an undo puts them back
    group_order: list[str] | None = None
    source_order: list[str] | None = None
    # the comment and blank lines that were right above each removed record, where the save knew them
    above: dict[tuple[str, str], str] = field(default_factory=dict)
    # the own lines of each removed record that held a comment inside it
    own: dict[tuple[str, str], str] = field(default_factory=dict)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _unrecorded(group: Any, scans: Sequence[ScanRef]) -> list[ScanRef]:
    """The *scans* that *group* does not record yet (same port and day, sources within a recorded scan's)."""
    index = ScanIndex([group])
    return [s for s in scans if not index.recorded_in((s.port, str(s.day)[:10], tuple(s.sources)))]


def new_members(group: Any, members: Sequence[str]) -> list[str]:
    """The *members* that *group* does not hold yet: not written in it, and (an address) not inside one of its
    CIDRs; a CIDR is new unless written as such. One set of the written members (a group can hold thousands)."""
    written = set(group.members)
    return [m for m in members if m not in written and ("/" in m or not group.contains(m))]


def _scan_name(scan: Any) -> str:
    return f"scan {scan.port}/{scan.day.isoformat()}"


class LabelSession:
    """Labelling actions on one labels file, saved immediately, with an undo stack."""

    def __init__(self, store: LabelsStore) -> None:
        self.store = store
        self._history: list[_Undo] = []

    @classmethod
    def open(cls, path: str, *, author: str | None = None, **options: Any) -> LabelSession:
        """The labels file at *path*; edits are recorded as by *author* (default: :func:`scantui.config.labels_author`)."""
        if author is None:
            from scantui.config import labels_author

            author = labels_author()
        return cls(LabelsStore.load(path, author=author, **options))

    @property
    def author(self) -> str | None:
        return self.store.author

    def reload(self) -> None:
        """Read the file again (another analyst saved it); the undo history stays (an undo is checked against the file).
        Only the groups and notes whose text changed are parsed where that can be proven (:mod:`scantui.labels.stitch`)."""
        store = self.store
        self.store = LabelsStore.load(store.path, now=store.now, lock_timeout=store.lock_timeout, author=store.author,
                                      previous=store)

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
               verdict: str = "collaborative", suggested: bool = False, **fields: Any) -> Change:
        """A new group of *members* with *scans* as evidence (ports from the scans).

        The id is *group_id*, else the next free one, chosen under the lock. A
        *suggested* id (the one prefilled for the analyst) taken meanwhile is
        replaced by the next free id, and the description says so; a typed one
        raises :class:`IdTaken`.
        """
        members = list(members)
        prefix = "R" if verdict == "not_collaborative" else "G"

        def do(store: LabelsStore) -> tuple[str, str]:
            gid, note = group_id or self.next_id(prefix), ""
            taken = store.find(gid)
            if taken is not None:
                who = f" by {taken.created_by}" if taken.created_by else ""
                if not suggested:
                    raise IdTaken(f"group {show(gid)} already exists (created{who}): choose another id, or add to it",
                                  path=str(store.path))
                wanted, gid = gid, self.next_id(_id_prefix(gid, prefix))
                note = f" — {wanted} was taken{who} meanwhile"
            store.add(Group(gid, verdict=verdict, members=members, **fields))
            for s in scans:
                store.record_scan(gid, s.port, s.day, s.sources, extra=s.extra)
            return f"create {gid} ({_plural(len(store.get(gid).members), 'member')}){note}", gid

        return self._change(do, fresh=True)

    def add_to(self, group_id: str, members: Iterable[str], *, scans: Sequence[ScanRef] = ()) -> Change:
        """Add *members* and *scans* to an existing group; the description says what was actually new."""
        members = list(members)

        def do(store: LabelsStore) -> tuple[str, str]:
            group = store.get(group_id)
            new = new_members(group, members)
            if new:
                store.add_members(group_id, new)
            fresh = _unrecorded(group, scans)
            for s in fresh:
                store.record_scan(group_id, s.port, s.day, s.sources, extra=s.extra)
            added = len(store.get(group_id).members) - len(group.members)
            scans_text = _scan_name(fresh[0]) if len(fresh) == 1 else _plural(len(fresh), "scan")
            if not added and not fresh:
                return f"nothing new for {group_id}: it already holds these members and scans", group_id
            if not added:
                return f"added {scans_text} to {group_id} (no new members)", group_id
            members_text = _plural(added, "new member")
            return f"added {members_text}{' and ' + scans_text if fresh else ''} to {group_id}", group_id

        return self._change(do)

    def record_scans(self, group_id: str, scans: Sequence[ScanRef], *, verdict: str | None = None) -> Change:
        """Record *scans* as evidence in *group_id* (their sources join the members), and set *verdict*
        when given: one change, one undo (the candidates screen's "same IPs as G01, not recorded")."""

        def do(store: LabelsStore) -> tuple[str, str]:
            group = store.get(group_id)
            fresh = _unrecorded(group, scans)
            for s in fresh:
                store.record_scan(group_id, s.port, s.day, s.sources, extra=s.extra)
            if verdict is not None and store.get(group_id).verdict != verdict:
                store.set_verdict(group_id, verdict)
            what = f"record {_plural(len(fresh), 'scan')} in {group_id}" if fresh else group_id
            return what + (f" ({verdict})" if verdict and fresh else f": {verdict}" if verdict else ""), group_id

        return self._change(do)

    def set_verdict(self, group_id: str, verdict: str) -> Change:
        return self._change(lambda store: (f"{group_id}: {verdict}", store.set_verdict(group_id, verdict).id))

    def reject(self, members: Iterable[str], *, scans: Sequence[ScanRef] = (), group_id: str | None = None, **fields: Any) -> Change:
        """Mark as not collaborative: the labelled group when given, else a new rejected group (remembered)."""
        if group_id is not None:
            return self.set_verdict(group_id, "not_collaborative")
        return self.create(members, scans=scans, verdict="not_collaborative", **fields)

    def edit(self, group_id: str, **changes: Any) -> Change:
        """Change fields (title, verdict, category, members, ports, tags, notes...)."""
        names = ", ".join(sorted(changes))
        return self._change(lambda store: (f"{group_id}: edit {names}", store.update(group_id, **changes).id))

    def remove_members(self, group_id: str, members: Iterable[str]) -> Change:
        members = list(members)
        return self._change(lambda store: (f"{group_id}: remove {_plural(len(members), 'member')}",
                                           store.remove_members(group_id, members).id))

    def merge(self, into_id: str, other_id: str) -> Change:
        return self._change(lambda store: (f"merge {other_id} into {into_id}", store.merge(into_id, other_id).id))

    def delete(self, group_id: str) -> Change:
        def do(store: LabelsStore) -> tuple[str, None]:
            store.remove(group_id)
            return f"delete {group_id}", None

        return self._change(do)

    def note_sources(self, ips: Iterable[str], *, tags: Iterable[str] | None = None, add_tags: Iterable[str] = (),
                     note: str | None = None) -> Change:
        """Set the note on each of *ips*: *tags* replace its tags (None: kept), *add_tags* join them, *note*
        replaces its note (None: kept; ``""`` clears it). A source left with neither is removed from the file.
        One change, one save, one undo."""
        ips = list(dict.fromkeys(ips))
        tags = None if tags is None else tuple(t for t in (str(t).strip() for t in tags) if t)
        add = tuple(t for t in (str(t).strip() for t in add_tags) if t)

        def do(store: LabelsStore) -> tuple[str, None]:
            for ip in ips:
                old = store.source(ip)
                changes: dict[str, Any] = {}
                new_tags = tags if tags is not None else (old.tags if old else ())
                new_tags = tuple(dict.fromkeys(new_tags + add))
                if new_tags != (old.tags if old else ()):
                    changes["tags"] = new_tags
                if note is not None and (note or None) != (old.note if old else None):
                    changes["note"] = note or None
                if changes:
                    store.set_source(ip, **changes)
            what = ips[0] if len(ips) == 1 else _plural(len(ips), "source")
            return f"note on {what}", None

        return self._change(do)

    def batch(self, description: str, steps: Sequence[Callable[[LabelSession], Change | None]]) -> Change | None:
        """Run several actions (each ``step(session)`` calls one of the methods above, deciding against the
        store as the earlier steps left it) as **one** change: one save, one undo. None when no step changed
        anything. When a step fails nothing is written (the store goes back as the file)."""
        done: list[str] = []

        def do(store: LabelsStore) -> tuple[str, str | None]:
            selected = None
            self._inline = True
            try:
                for step in steps:
                    change = step(self)
                    if change is not None and change.group_id is not None:
                        done.append(change.description)
                        selected = change.group_id
            finally:
                self._inline = False
            said = "; ".join(done[:3]) + (f"; … {len(done) - 3} more" if len(done) > 3 else "")
            return (f"{description}: {said}" if done else description), selected

        change = self._change(do, fresh=True)
        return change if done else None

    _inline = False

    def undo(self) -> Change | None:
        """Reverse your last change, field by field, against the file as it is now (saved at once).

        None when there is nothing to undo. :class:`UndoRefused` (nothing
        written, the change dropped from the history) when another analyst
        changed one of the same fields since, or edited a group it created.
        """
        if not self._history:
            return None
        last = self._history[-1]

        def do(store: LabelsStore) -> tuple[str, str | None]:
            reverts = {gid: revert_group(before, after, store.find(gid)) for gid, (before, after) in last.groups.items()}
            source_reverts = {ip: revert_group(before, after, store.source(ip)) for ip, (before, after) in last.sources.items()}
            refused = [(gid, r) for gid, r in reverts.items() if r.conflicts]
            refused += [(f"the note on {ip}", r) for ip, r in source_reverts.items() if r.conflicts]
            if refused:
                why = "; ".join(_refusal(gid, r) for gid, r in refused)
                raise UndoRefused(f"cannot undo '{last.description}': {why}; their work is kept, and this change "
                                  "leaves the undo list")
            now = store.now()
            for gid, r in _in_order(reverts, last.group_order):
                if r.unchanged:
                    continue
                at = _place(gid, last.group_order, store.ids)
                above, own = last.above.get(("groups", gid)), last.own.get(("groups", gid))
                if r.group is None:
                    store.discard(gid)
                elif last.groups[gid][0] is not None and not changed_fields(r.group, last.groups[gid][0]):
                    store.put(last.groups[gid][0], at=at, above=above, own=own)  # exactly as it was, time stamps included
                else:
                    store.put(r.group.replace(updated=now, updated_by=store.author or r.group.updated_by), at=at, above=above)
            store.put_sources_block(last.above.get(sources_block.KEY))  # (put back when every note comes back)
            for ip, r in _in_order(source_reverts, last.source_order):
                before = last.sources[ip][0]
                if r.unchanged:
                    continue
                at = _place(ip, last.source_order, [s.ip for s in store.sources])
                above, own = last.above.get(("sources", ip)), last.own.get(("sources", ip))
                if r.group is None:
                    store.discard_source(ip)
                elif before is not None and not changed_fields(r.group, before):
                    store.put_source(before, at=at, above=above, own=own)  # exactly as it was, time stamps included
                else:
                    store.put_source(r.group.replace(updated=now, updated_by=store.author or r.group.updated_by), at=at, above=above)
            selected = next((gid for gid, r in reverts.items() if r.group is not None), None)
            return f"undo {last.description}", selected

        try:
            change = self._change(do, fresh=True, record=False)
        except UndoRefused:
            self._history.pop()
            raise
        self._history.pop()
        return change

    # -- applying and saving ------------------------------------------------------

    def _change(self, do: Callable[[LabelsStore], tuple[str, str | None]], *, fresh: bool = False, record: bool = True) -> Change:
        """Apply ``do(store)`` (it returns the description and the group to select) and save.

        *fresh*: apply it under the lock to the file as it is now (new ids,
        undo); else to what was loaded, merged with the disk on save (an edit
        made from what the analyst saw). Any failure leaves memory as the file.
        """
        store = self.store
        if self._inline:  # a step of batch(): applied now, saved (and undone) with the whole batch
            description, selected = do(store)
            return Change(description, selected if selected in store else None, None)  # type: ignore[arg-type]
        out: dict[str, Any] = {}

        def apply(target: LabelsStore) -> None:
            before, before_sources = target.by_id, target.sources_by_ip
            out["description"], out["selected"] = do(target)
            after, after_sources = target.by_id, target.sources_by_ip
            out["groups"] = _touched(before, after)
            out["sources"] = _touched(before_sources, after_sources)
            out["group_order"] = _order_if_removed(before, after)
            out["source_order"] = _order_if_removed(before_sources, after_sources)

        try:
            if fresh:
                saved = store.save(edit=apply)
            else:
                apply(store)
                saved = store.save()
        except Exception:
            store.revert()  # memory matches the file again
            raise
        if record and (out["groups"] or out["sources"]):
            above, own = ({k: v for k, v in lines.items()
                           if (out["groups"] if k[0] == "groups" else out["sources"]).get(k[1], (None, None))[1] is None}
                          for lines in (store.lines_above, store.own_lines))
            self._history.append(_Undo(out["description"], out["groups"], out["sources"], out["group_order"], out["source_order"],
                                       above, own))
            del self._history[:-MAX_UNDO]
        conflicts = tuple(c.told() for c in saved.conflicts)
        selected = out["selected"]
        return Change(out["description"], selected if selected in store else None, saved, conflicts)


def _touched(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """(before, after) of each record a change replaced, added or removed."""
    return {key: (before.get(key), after.get(key)) for key in list(before) + [k for k in after if k not in before]
            if before.get(key) is not after.get(key)}


def _order_if_removed(before: dict[str, Any], after: dict[str, Any]) -> list[str] | None:
    """The keys of *before* in order when the change removed one of them (an undo puts it back in its place)."""
    return list(before) if any(key not in after for key in before) else None


def _in_order(reverts: dict[str, Any], order: list[str] | None) -> list[tuple[str, Any]]:
    """*reverts* by their place in *order* (the file before the change): each record put back finds those above it."""
    if order is None:
        return list(reverts.items())
    rank = {key: i for i, key in enumerate(order)}
    return sorted(reverts.items(), key=lambda kv: rank.get(kv[0], len(rank)))


def _place(key: str, order: list[str] | None, now: list[str]) -> int | None:
    """Where a removed record goes back: below the nearest record above it (in *order*, the file before the change)
    that the file holds *now*, or first when none is left; None (the end) when its place is not known."""
    if order is None or key not in order:
        return None
    held = {k: i for i, k in enumerate(now)}
    for k in reversed(order[:order.index(key)]):
        if k in held:
            return held[k] + 1
    return 0


def _refusal(group_id: str, revert: Any) -> str:
    """``bob changed G04 since (title, notes)``: why one group's change cannot be undone."""
    who = revert.by or "someone else"
    if revert.conflicts == ("(group removed)",):
        return f"someone else removed {group_id} since"
    if revert.conflicts == ("(group created again)",):
        return f"{who} created {group_id} again since"
    return f"{who} changed {group_id} since ({', '.join(revert.conflicts)})"


def _id_prefix(group_id: str, default: str) -> str:
    """``G`` of ``G04``: the prefix the next free id keeps."""
    m = re.fullmatch(r"(.*?)\d+", group_id)
    return m.group(1) if m and m.group(1) else default
