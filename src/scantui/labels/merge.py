"""Three-way merge of label sets: what we loaded, what we changed, what is on disk now.

Policy (the store applies it on every save that finds the file changed):

* a group added, removed or edited on one side only takes that side;
* a group edited on both sides is merged field by field against the version
  loaded: list fields (members, ports, asns, scans, tags) as sets (each side's
  additions and removals both apply); ``created`` takes the earlier,
  ``updated`` the later time; any other field changed differently on both
  sides is a **conflict**: the file keeps *their* value and the conflict
  (group, field, both values) is reported;
* a group removed on one side and edited on the other is kept, with the edit,
  and reported: a label is never dropped by a merge;
* ``created_by``/``updated_by`` follow ``created``/``updated`` (the author of
  the earlier creation, of the later edit), never a conflict;
* the same id added on both sides merges as if the base were empty (the
  labelling session never lets that happen to new groups: it allocates ids
  under the lock, see :mod:`scantui.labels.session`).

The notes on single sources (``sources:``, :class:`~scantui.labels.model.Source`,
keyed by IP) merge by the same rules: ``tags`` as a set, ``note`` as a text
field (changed differently on both sides: a conflict, theirs kept).

:func:`revert_group` is the reverse of one change, applied three ways to the
group as it is now (how an undo leaves other analysts' work alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scantui.errors import ScantuiError
from scantui.labels.model import AUTHOR_FIELDS, SET_FIELDS, Group, Source, show

Record = Group | Source

_ABSENT = object()


@dataclass(frozen=True)
class Conflict:
    """A field both sides changed differently; *kept* is the value now in the file (theirs, by *by*)."""

    group: str
    field: str
    ours: Any
    theirs: Any
    by: str | None = None  # who made their change (their ``updated_by``), when recorded
    kind: str = "group"  # or "source": a note on a single source IP

    @property
    def kept(self) -> Any:
        return self.theirs

    def told(self) -> str:
        """The conflict as the analyst whose save it was is told it (who, what was kept)."""
        who = self.by or "the other analyst"
        if self.field == "(source)":
            return (f"the note on {self.group} was removed by the other analyst meanwhile; kept, with your change" if self.theirs == "removed"
                    else f"kept {who}'s change of the note on {self.group}: your removal was not applied")
        if self.field == "(group)" and self.theirs == "removed":  # they deleted it, we changed it: ours is kept
            return f"{self.group} was deleted by the other analyst meanwhile; kept, with your change (u undoes it)"
        if self.field == "(group)":  # we deleted it, they changed it: theirs is kept
            return f"kept {who}'s change of {self.group}: your delete was not applied"
        return f"kept {who}'s value for {'the note on ' if self.kind == 'source' else ''}{self.group}: {self.field}"

    def describe(self) -> str:
        whose = f"{self.by}'s" if self.by else "theirs"
        return f"{self.kind} {show(self.group)}: {self.field}: kept {whose} {_show_value(self.theirs)}, ours was {_show_value(self.ours)}"


def _show_value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, (Group, Source)):
        return "(edited)"
    return show(value)


class LabelsConflict(ScantuiError):
    """Concurrent edits that could not both be kept; lists every :class:`Conflict`."""

    exit_code = 1

    def __init__(self, conflicts: Sequence[Conflict], *, path: str | None = None):
        self.conflicts = tuple(conflicts)
        why = "; ".join(c.describe() for c in self.conflicts[:3])
        if len(self.conflicts) > 3:
            why += f"; and {len(self.conflicts) - 3} more"
        super().__init__(f"changed by someone else since loaded: {why}", path=path)


def merge3(base: Mapping[str, Record], ours: Mapping[str, Record], theirs: Mapping[str, Record]) -> tuple[list, list[Conflict]]:
    """Merged groups (:func:`merged_order`) and the conflicts found; the same for source notes."""
    order = merged_order(ours, theirs)
    merged: list[Group] = []
    conflicts: list[Conflict] = []
    for gid in order:
        group = _merge_group(gid, base.get(gid), ours.get(gid), theirs.get(gid), conflicts)
        if group is not None:
            merged.append(group)
    return merged, conflicts


def merged_order(ours: Mapping[str, Record], theirs: Mapping[str, Record]) -> list[str]:
    """Their order, with each of our records they do not hold where we hold it: after the record before it in our
    order that they hold (first when none is), or at the end when no record of theirs follows it in ours (new
    groups, after theirs: another analyst's new group saved first comes first). A group an undo restores to its
    place stays there."""
    ids = list(ours)
    tail = len(ids)
    while tail and ids[tail - 1] not in theirs:
        tail -= 1
    after: dict[str | None, list[str]] = {}
    anchor = None
    for gid in ids[:tail]:
        if gid in theirs:
            anchor = gid
        else:
            after.setdefault(anchor, []).append(gid)
    if not after:
        return list(theirs) + ids[tail:]
    order = after.get(None, [])
    for gid in theirs:
        order.append(gid)
        order.extend(after.get(gid, ()))
    return order + ids[tail:]


_UNDECIDED = object()


def _one_sided(base: Any, ours: Any, theirs: Any) -> Any:
    """The merged value when at most one side changed it, else ``_UNDECIDED``."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    return _UNDECIDED


def _kind(record: Record) -> str:
    return "source" if isinstance(record, Source) else "group"


def _merge_group(gid: str, base: Record | None, ours: Record | None, theirs: Record | None, conflicts: list[Conflict]) -> Record | None:
    decided = _one_sided(base, ours, theirs)
    if decided is not _UNDECIDED:
        return decided
    if ours is None or theirs is None:
        kind = _kind(ours if ours is not None else theirs)
        conflicts.append(Conflict(gid, f"({kind})", ours if ours is not None else "removed", theirs if theirs is not None else "removed",
                                  theirs.updated_by if theirs is not None else None, kind))
        return ours if ours is not None else theirs
    return _merge_fields(base, ours, theirs, conflicts)


def _merge_fields(base: Record | None, ours: Record, theirs: Record, conflicts: list[Conflict]) -> Record:
    b = base.fields() if base is not None else {}
    o, t = ours.fields(), theirs.fields()
    out: dict[str, Any] = {}
    for name in list(t) + [k for k in o if k not in t]:
        value = _merge_field(name, b.get(name, _ABSENT), o.get(name, _ABSENT), t.get(name, _ABSENT))
        if name == "updated_by":  # both sides edited: the author of the later edit, whatever the base said
            value = o.get(name, _ABSENT) if _ours_decides(name, ours, theirs) else t.get(name, _ABSENT)
        elif isinstance(value, Conflict) and name in AUTHOR_FIELDS:
            value = value.ours if _ours_decides(name, ours, theirs) else value.theirs
        elif isinstance(value, Conflict):
            conflicts.append(Conflict(ours.id, name, _none(value.ours), _none(value.theirs), theirs.updated_by, _kind(ours)))
            value = value.theirs
        if value is not _ABSENT:
            out[name] = value
    if isinstance(ours, Group) and not out.get("members"):  # each side removed the members the other kept: a group keeps at least one
        conflicts.append(Conflict(ours.id, "members", ours.members, theirs.members))
        out["members"] = theirs.members
    return _build(type(ours), out)


def _build(cls: type, out: dict[str, Any]) -> Any:
    """A :class:`Group` or :class:`Source` from its file fields (unknown keys as ``extra``)."""
    known = {k: v for k, v in out.items() if k in cls.__dataclass_fields__}
    extra = {k: v for k, v in out.items() if k not in cls.__dataclass_fields__}
    return cls(**known, extra=extra)


def _ours_decides(name: str, ours: Record, theirs: Record) -> bool:
    """Whether our author goes with the merged time: the earlier ``created``, the later ``updated``."""
    if name == "created_by":
        return ours.created is not None and (theirs.created is None or ours.created <= theirs.created)
    return ours.updated is not None and (theirs.updated is None or ours.updated >= theirs.updated)


def _none(value: Any) -> Any:
    return None if value is _ABSENT else value


def _merge_field(name: str, base: Any, ours: Any, theirs: Any) -> Any:
    decided = _one_sided(base, ours, theirs)
    if decided is not _UNDECIDED:
        return decided
    if name in SET_FIELDS:
        return merge_sets(_seq(base), _seq(ours), _seq(theirs))
    if name in ("created", "updated") and ours is not _ABSENT and theirs is not _ABSENT:
        return min(ours, theirs) if name == "created" else max(ours, theirs)
    return Conflict("", name, ours, theirs)


def _seq(value: Any) -> tuple:
    return () if value is _ABSENT else tuple(value)


def merge_sets(base: Sequence[Any], ours: Sequence[Any], theirs: Sequence[Any]) -> tuple:
    """Their list, minus what we removed, plus what we added (in our order)."""
    base_set, ours_set, theirs_set = set(base), set(ours), set(theirs)
    removed_by_us = base_set - ours_set
    kept = [x for x in theirs if x not in removed_by_us]
    added = [x for x in ours if x not in base_set and x not in theirs_set]
    return tuple(kept + added)


#: Fields an undo does not restore: they record the undo itself.
_STAMPS = ("updated", "updated_by")


def changed_fields(a: Record | None, b: Record | None) -> list[str]:
    """The fields (time stamps aside) that differ between two versions of a group."""
    fa = a.fields() if a is not None else {}
    fb = b.fields() if b is not None else {}
    names = list(fa) + [k for k in fb if k not in fa]
    return [n for n in names if n not in _STAMPS and fa.get(n, _ABSENT) != fb.get(n, _ABSENT)]


@dataclass(frozen=True)
class Revert:
    """The reverse of one change to one group, against the group as it is now.

    *group* is what to write (None: remove it), *unchanged* when there is
    nothing to do; *conflicts* lists the fields someone else changed since
    (then nothing may be written), *by* who that was.
    """

    group: Record | None
    unchanged: bool = False
    conflicts: tuple[str, ...] = ()
    by: str | None = None


def revert_group(before: Record | None, after: Record | None, now: Record | None) -> Revert:
    """Undo the change *before* -> *after* (one analyst's) on *now* (the file as it is).

    Only the fields the change touched are restored; list fields lose what
    the change added and get back what it removed, keeping what others added
    or removed since; a field someone else changed since is a conflict. A
    group the change created is removed only when nobody changed it since; a
    group it removed comes back only when its id is still free.
    """
    if before == after or (now is None and before is None):
        return Revert(now, unchanged=True)
    by = now.updated_by if now is not None else None
    if before is None:  # we created it
        diff = changed_fields(after, now)
        return Revert(None) if not diff else Revert(now, conflicts=tuple(diff), by=by)
    if after is None or now is None:  # we removed it / someone else removed it since
        if now is None:
            return Revert(before) if after is None else Revert(None, conflicts=("(group removed)",))
        return Revert(now, conflicts=("(group created again)",), by=by)
    b, a, n = before.fields(), after.fields(), now.fields()
    out = dict(n)
    conflicts: list[str] = []
    for name in changed_fields(before, after):
        was, ours, cur = b.get(name, _ABSENT), a.get(name, _ABSENT), n.get(name, _ABSENT)
        if cur == ours:
            value = was
        elif name in SET_FIELDS:
            value = merge_sets(_seq(ours), _seq(was), _seq(cur))
        elif cur == was:
            continue
        else:
            conflicts.append(name)
            continue
        if value is _ABSENT or value in ((), None):
            out.pop(name, None)
        else:
            out[name] = value
    if conflicts:
        return Revert(now, conflicts=tuple(conflicts), by=by)
    if out == n:
        return Revert(now, unchanged=True)
    record = _build(type(now), out)
    if isinstance(record, Source) and record.empty:  # a note the change emptied... or restored to nothing
        return Revert(None)
    return Revert(record)
