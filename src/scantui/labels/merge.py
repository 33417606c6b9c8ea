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
* the same id added on both sides merges as if the base were empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scantui.errors import ScantuiError
from scantui.labels.model import SET_FIELDS, Group, show

_ABSENT = object()


@dataclass(frozen=True)
class Conflict:
    """A field both sides changed differently; *kept* is the value now in the file (theirs)."""

    group: str
    field: str
    ours: Any
    theirs: Any

    @property
    def kept(self) -> Any:
        return self.theirs

    def describe(self) -> str:
        return f"group {show(self.group)}: {self.field}: kept theirs {_show_value(self.theirs)}, ours was {_show_value(self.ours)}"


def _show_value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Group):
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


def merge3(base: Mapping[str, Group], ours: Mapping[str, Group], theirs: Mapping[str, Group]) -> tuple[list[Group], list[Conflict]]:
    """Merged groups (their order, then our new groups) and the conflicts found."""
    order = list(theirs) + [gid for gid in ours if gid not in theirs]
    merged: list[Group] = []
    conflicts: list[Conflict] = []
    for gid in order:
        group = _merge_group(gid, base.get(gid), ours.get(gid), theirs.get(gid), conflicts)
        if group is not None:
            merged.append(group)
    return merged, conflicts


_UNDECIDED = object()


def _one_sided(base: Any, ours: Any, theirs: Any) -> Any:
    """The merged value when at most one side changed it, else ``_UNDECIDED``."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    return _UNDECIDED


def _merge_group(gid: str, base: Group | None, ours: Group | None, theirs: Group | None, conflicts: list[Conflict]) -> Group | None:
    decided = _one_sided(base, ours, theirs)
    if decided is not _UNDECIDED:
        return decided
    if ours is None or theirs is None:
        conflicts.append(Conflict(gid, "(group)", ours if ours is not None else "removed", theirs if theirs is not None else "removed"))
        return ours if ours is not None else theirs
    return _merge_fields(base, ours, theirs, conflicts)


def _merge_fields(base: Group | None, ours: Group, theirs: Group, conflicts: list[Conflict]) -> Group:
    b = base.fields() if base is not None else {}
    o, t = ours.fields(), theirs.fields()
    out: dict[str, Any] = {}
    for name in list(t) + [k for k in o if k not in t]:
        value = _merge_field(name, b.get(name, _ABSENT), o.get(name, _ABSENT), t.get(name, _ABSENT))
        if isinstance(value, Conflict):
            conflicts.append(Conflict(ours.id, name, _none(value.ours), _none(value.theirs)))
            value = value.theirs
        if value is not _ABSENT:
            out[name] = value
    if not out.get("members"):  # each side removed the members the other kept: a group keeps at least one
        conflicts.append(Conflict(ours.id, "members", ours.members, theirs.members))
        out["members"] = theirs.members
    known = {k: v for k, v in out.items() if k in Group.__dataclass_fields__}
    extra = {k: v for k, v in out.items() if k not in Group.__dataclass_fields__}
    return Group(**known, extra=extra)


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
