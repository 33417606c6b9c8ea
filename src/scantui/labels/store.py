"""The labels store: one labels file, loaded, edited in memory, saved safely.

``LabelsStore.load(path)`` reads and validates the file (a missing file is an
empty store, created by the first :meth:`~LabelsStore.save`). Edits replace
whole :class:`~scantui.labels.model.Group` values and stamp ``updated`` (and,
when the store has an *author*, ``created_by``/``updated_by``).

:meth:`~LabelsStore.save` takes the writers' lock (``FILE.lock``), re-reads
the file, and if someone changed it since we loaded, merges three ways
(base = as loaded, ours = in memory, theirs = on disk; policy in
:mod:`scantui.labels.merge`). The result is written atomically with the
previous content kept as ``FILE.bak``; the text is patched rather than
regenerated, so comments, order and quoting survive and the diff is the
edit. Before anything is written the new text is parsed back and must give
exactly the merged groups; otherwise nothing is written.

The store keeps the file's parse as last read or written (the tree that
reading the written text back gave): the next save parses the file again
only when its bytes differ from those (another analyst saved in between).
Only the changed groups and notes are rendered, read back and spliced into
its text (the same bytes) when a window of unchanged-format items around
them proves what the whole-file merge would write, whatever the rest of the
file looks like (:mod:`scantui.labels.local_splice`), or when the file is
exactly the dump of that tree (a file scantui wrote, :mod:`scantui.labels.splice`);
otherwise the whole file is rendered and read back.

``save(edit=...)`` instead applies an edit to the file *as it is now*, under
the lock (the store is first brought up to date with the disk): how new ids
are allocated without two analysts taking the same one, and how an undo is
checked against what others did since.

The notes on single sources (the file's ``sources:`` list,
:class:`~scantui.labels.model.Source`) live in the same store and are saved,
merged and checked the same way (:meth:`~LabelsStore.set_source`). A file
without ``sources:`` is written back without it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scantui.errors import InputError, ScantuiError
from scantui.labels import document
from scantui.labels.files import read_bytes, sidecar, write_atomic
from scantui.lock import FileLock
from scantui.labels.member_index import MemberIndex
from scantui.labels.merge import Conflict, LabelsConflict, merge3
from scantui.labels.fast_read import read_data
from scantui.labels.item_merge import save_items
from scantui.labels.local_splice import splice_local
from scantui.labels import sources_block
from scantui.labels.splice import Dirty, Spliceable, layout_key, lines_to_record, splice
from scantui.labels.stitch import stitch
from scantui.labels.model import Group, Scan, Source, now_utc, parse_address, parse_member, show
from scantui.labels.validate import LabelsInvalid, Problem, check_labels, plain

_BOM = "\ufeff"


class UnknownGroup(InputError, KeyError):
    """No group with that id in the labels file."""

    def __str__(self) -> str:
        return self.message


class LabelsWriteError(ScantuiError):
    """The rewritten file would not read back as the groups in memory; nothing was written."""


@dataclass(frozen=True)
class SaveResult:
    """What :meth:`LabelsStore.save` did: *merged* when the file had changed on disk since load."""

    path: Path
    written: bool
    merged: bool
    conflicts: tuple[Conflict, ...] = ()


class _Snapshot:
    """The file as read (or written): its bytes, text, records, and its round-trip tree, built on first use.

    *doc* is the tree: given, or made by *later* on first use (a whole parse, or :func:`~scantui.labels.stitch.stitch`
    from the tree of the text read before). *stitched*: the tree's items were put together from trees of other texts
    (their line marks are not this text's); a save reading line marks parses the text whole first.
    """

    def __init__(self, data: bytes, text: str, doc: Any, groups: list[Group], bom: bool, sources: list[Source] | None = None,
                 spliceable: Spliceable | None = None, spliced: bool = False, *, later: Callable[[], Any] | None = None,
                 stitched: bool = False):
        self.data, self.text, self.groups, self.bom = data, text, groups, bom
        self.sources = sources if sources is not None else []
        self.spliceable = spliceable  # proof that text is the dump of doc (None: not known)
        self.spliced = spliced  # doc was patched by a splice, not parsed from text
        self.stitched = stitched
        self._doc, self._later = doc, later
        self._lock = threading.Lock()  # (the TUI builds the tree in a worker while a save may ask for it)

    @property
    def doc(self) -> Any:
        if self._later is not None:
            with self._lock:
                if self._later is not None:
                    self._doc = self._later()
                    self._later = None
        return self._doc

    @property
    def built(self) -> bool:
        """Whether the tree is there, or being made (then :attr:`doc` waits for it)."""
        return self._later is None or self._lock.locked()

    @property
    def ready(self) -> bool:
        """Whether the tree is there now (not being made: asking for it would wait)."""
        return self._later is None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def whole(self, path: str) -> _Snapshot:
        """This snapshot with the tree of its text parsed whole (itself when that is what it holds)."""
        if not self.stitched:
            return self
        return _Snapshot(self.data, self.text, document.parse(self.text, path), self.groups, self.bom, self.sources)


def read_snapshot(path: Path, kept: _Snapshot | None = None) -> _Snapshot | None:
    """The file parsed and validated, ``None`` when it does not exist; :class:`LabelsInvalid` when invalid.

    *kept*: a snapshot of the file as read before, returned (not parsed again) when the bytes are the same; when
    they differ and its tree is built (or being built: waited for), the changed items alone are parsed
    (:mod:`scantui.labels.stitch`). *kept* is
    used once: its tree may become the new snapshot's. Otherwise the values are read fast where that reads them
    exactly (:mod:`scantui.labels.fast_read`), the tree parsed when first used; else parsed whole now.
    """
    name = str(path)
    data = read_bytes(path)
    if data is None:
        return None
    if kept is not None and kept.data == data:
        return kept
    text = document.decode(data, name)
    bom = data.startswith(_BOM.encode())
    if kept is not None and kept.built:  # (not when its tree was never wanted: that would be a whole parse)
        try:
            made = stitch(kept.text, kept.doc, kept.groups, kept.sources, text, name)
        except InputError:  # the old text's tree could not be built: it does not matter now
            made = None
        if made is not None:
            return _Snapshot(data, text, made[0], made[1], bom, made[2], stitched=True)
    values = read_data(text)
    if values is not None:
        groups, sources, problems = check_labels(values)
        if not problems:
            return _Snapshot(data, text, None, groups, bom, sources, later=lambda: document.parse(text, name))
    doc = document.parse(text, name)
    groups, sources, problems = check_labels(doc)
    if problems:
        raise LabelsInvalid(problems, path=name)
    return _Snapshot(data, text, doc, groups, bom, sources)


def check_file_sources(path: str | Path) -> tuple[list[Group], list[Source], list[Problem]]:
    """Like :func:`check_file`, with the valid source notes (``sources:``) too."""
    data = read_bytes(Path(path))
    if data is None:
        raise InputError("no such file", path=str(path))
    text = document.decode(data, str(path))
    values = read_data(text)
    if values is not None:
        checked = check_labels(values)
        if not checked[2]:
            return checked
    return check_labels(document.parse(text, str(path)))  # (every problem with its line)


def check_file(path: str | Path) -> tuple[list[Group], list[Problem]]:
    """The valid groups and every problem of the labels file at *path*.

    Raises :class:`~scantui.errors.InputError` when the file cannot be read
    as YAML at all (missing, unreadable, not UTF-8, syntax error).
    """
    groups, _sources, problems = check_file_sources(path)
    return groups, problems


class LabelsStore:
    """The groups of one labels file, with the state it was loaded in (for merging on save)."""

    def __init__(self, path: str | Path, *, now: Callable[[], dt.datetime] = now_utc, lock_timeout: float = 10.0,
                 author: str | None = None):
        self.path = Path(path)
        self.now = now
        self.lock_timeout = lock_timeout
        self.author = author  # recorded as created_by/updated_by on every edit (None: not recorded)
        self._groups: dict[str, Group] = {}
        self._base: dict[str, Group] = {}
        self._base_digest: str | None = None
        self._sources: dict[str, Source] = {}
        self._sources_base: dict[str, Source] = {}
        self._kept: _Snapshot | None = None  # the file as last read or written, its tree not yet patched
        self._put_back: dict[tuple[str, str], str | None] = {}  # the records an undo puts back: the lines above them
        #: The comment and blank lines that were right above each record the last save removed, where known
        #: (``("groups", id)``/``("sources", ip)`` to text): what an undo puts back above it.
        self.lines_above: document.Lines = {}
        #: The own lines of each record the last save removed that held a comment inside it (same keys), where known:
        #: what an undo puts back as it was (:func:`scantui.labels.document.own_node`).
        self.own_lines: document.Lines = {}
        self._put_text: document.Lines = {}  # the records an undo puts back: their own lines, where known
        self._put_block: str | None = None  # the sources: block an undo puts back (sources_block.taken)
        #: How the last save that wrote rendered the file: ``"splice"``, ``"local_splice"``, ``"item_merge"`` (only
        #: the changed items), ``"whole"`` (the whole file: the fallback), ``"sources_block"``; None before one.
        self.rendered_by: str | None = None

    @classmethod
    def load(cls, path: str | Path, *, must_exist: bool = False, previous: LabelsStore | None = None, **options: Any) -> LabelsStore:
        """Read *path*; a missing file gives an empty store unless *must_exist*. *previous*: a store of the same file
        (read again because someone saved it) whose parse is reused for the items that did not change; it gives it up
        (its next save reads the file afresh)."""
        store = cls(path, **options)
        kept = None
        if previous is not None and previous.path == store.path:
            kept, previous._kept = previous._kept, None
        snap = read_snapshot(store.path, kept)
        if snap is None:
            if must_exist:
                raise InputError("no such file", path=str(path))
            if not store.path.parent.is_dir():
                raise InputError("folder does not exist", path=str(store.path.parent))
            return store
        store._adopt(snap.groups, snap.digest, snap.sources)
        store._kept = snap
        return store

    def prepare(self) -> None:
        """Build the round-trip tree of the file as read, which the next save needs (reading the file builds it only
        when first used): a front end calls this in the background after opening the file."""
        kept = self._kept
        if kept is not None:
            kept.doc  # noqa: B018 - built on first use

    def _adopt(self, groups: Iterable[Group], digest: str | None, sources: Iterable[Source] = ()) -> None:
        self._groups = {g.id: g for g in groups}
        self._base = dict(self._groups)
        self._sources = {s.ip: s for s in sources}
        self._sources_base = dict(self._sources)
        self._base_digest = digest

    # -- reading --------------------------------------------------------------

    @property
    def groups(self) -> list[Group]:
        return list(self._groups.values())

    @property
    def by_id(self) -> dict[str, Group]:
        """The groups by id (a copy: groups are immutable, so it is a snapshot)."""
        return dict(self._groups)

    @property
    def ids(self) -> list[str]:
        return list(self._groups)

    @property
    def dirty(self) -> bool:
        """Whether there are edits not yet saved."""
        return (list(self._groups.items()) != list(self._base.items())
                or list(self._sources.items()) != list(self._sources_base.items()))

    def __len__(self) -> int:
        return len(self._groups)

    def __iter__(self) -> Iterator[Group]:
        return iter(self.groups)

    def __contains__(self, group_id: object) -> bool:
        return group_id in self._groups

    def find(self, group_id: str) -> Group | None:
        """The group *group_id*, or None."""
        return self._groups.get(group_id)

    def get(self, group_id: str) -> Group:
        try:
            return self._groups[group_id]
        except KeyError:
            raise UnknownGroup(f"no group {show(group_id)}", path=str(self.path)) from None

    def containing(self, ip: int | str | ipaddress.IPv4Address) -> list[Group]:
        """The groups *ip* belongs to (directly or through a CIDR), in the file's order: by lookups in the
        :class:`MemberIndex` of this version of the groups (built on the first call after an edit)."""
        index = MemberIndex.of(self._groups.values())
        return [index.groups[pos] for value in index.parse([ip]) for pos in sorted(index.holders(value))]

    # -- editing --------------------------------------------------------------

    def _checked(self, group_id: str, make: Callable[[], Group]) -> Group:
        try:
            return make()
        except ValueError as exc:
            raise InputError(str(exc), path=str(self.path), where=f"group {show(group_id)}") from None

    def add(self, group: Group) -> Group:
        """Add a new group (``created``/``updated`` stamped when unset)."""
        if group.id in self._groups:
            raise InputError(f"group {show(group.id)} already exists", path=str(self.path))
        now = self.now()
        group = group.replace(created=group.created or now, updated=group.updated or group.created or now,
                              created_by=group.created_by or self.author, updated_by=group.updated_by or self.author)
        self._groups[group.id] = group
        return group

    def update(self, group_id: str, **changes: Any) -> Group:
        """Change fields of a group (validated); ``updated`` is stamped unless given."""
        if "id" in changes and changes["id"] != group_id:
            raise InputError("a group's id cannot be changed; add a new group and merge", path=str(self.path))
        old = self.get(group_id)
        changes.setdefault("updated", self.now())
        if self.author is not None:
            changes.setdefault("updated_by", self.author)
        group = self._checked(group_id, lambda: old.replace(**changes))
        self._groups[group_id] = group
        return group

    def put(self, group: Group, *, at: int | None = None, above: str | None = None, own: str | None = None) -> None:
        """Insert or replace *group* exactly as given (no time stamps): how an undo restores a group; *at*: the
        place (index) of a group not held (default: the end); *above*: the comment and blank lines that were
        above it (:attr:`lines_above`), put back above it by the next save when they are still there (None: not
        known; then it goes below the lines attached to the group above it, as ruamel reads them); *own*: its own
        lines as they were (:attr:`own_lines`), written again when they still read back as *group*."""
        self._groups = _placed(self._groups, group.id, group, at)
        self._put_back[("groups", group.id)] = above
        if own is not None:
            self._put_text[("groups", group.id)] = own

    def revert(self) -> None:
        """Drop the edits not saved: memory holds the file as last read or written again."""
        self._groups = dict(self._base)
        self._sources = dict(self._sources_base)
        self._put_back, self._put_text, self._put_block = {}, {}, None

    def discard(self, group_id: str) -> None:
        """Remove *group_id* when present."""
        self._groups.pop(group_id, None)

    def remove(self, group_id: str) -> Group:
        group = self.get(group_id)
        del self._groups[group_id]
        return group

    def set_verdict(self, group_id: str, verdict: str) -> Group:
        return self.update(group_id, verdict=verdict)

    def add_members(self, group_id: str, members: Iterable[str]) -> Group:
        members = [self._checked(group_id, lambda m=m: parse_member(m)) for m in members]
        return self.update(group_id, members=self.get(group_id).members + tuple(members))

    def remove_members(self, group_id: str, members: Iterable[str]) -> Group:
        drop = {self._checked(group_id, lambda m=m: parse_member(m)) for m in members}
        return self.update(group_id, members=tuple(m for m in self.get(group_id).members if m not in drop))

    def record_scan(self, group_id: str, port: int, day: dt.date, sources: Iterable[str], *, add_members: bool = True,
                    extra: Mapping[str, Any] | None = None) -> Group:
        """Record a confirmed scan (*extra*: optional keys of its entry, e.g. ``key_kind``/``key``); its port joins
        ``ports`` and (unless told not to) sources not yet covered join ``members``."""
        group = self.get(group_id)
        scan = self._checked(group_id, lambda: Scan(port, day, tuple(sources), dict(extra or {})))
        changes: dict[str, Any] = {"scans": group.scans + (scan,), "ports": group.ports + (scan.port,)}
        if add_members:
            changes["members"] = group.members + tuple(s for s in scan.sources if not group.contains(s))
        return self.update(group_id, **changes)

    def merge(self, into_id: str, other_id: str) -> Group:
        """Fold group *other_id* into *into_id* (lists united, notes joined) and remove it."""
        if into_id == other_id:
            raise InputError("cannot merge a group with itself", path=str(self.path))
        into, other = self.get(into_id), self.get(other_id)
        notes = "\n".join(n for n in dict.fromkeys((into.notes, other.notes)) if n) or None
        created = min((t for t in (into.created, other.created) if t), default=None)
        created_by = other.created_by if other.created and created == other.created and created != into.created else into.created_by
        merged = self.update(
            into_id,
            members=into.members + other.members, ports=into.ports + other.ports, asns=into.asns + other.asns,
            scans=into.scans + other.scans, tags=into.tags + other.tags, notes=notes, created=created, created_by=created_by,
            title=into.title or other.title, category=into.category or other.category,
            extra={**other.extra, **into.extra},
        )
        del self._groups[other_id]
        return merged

    # -- notes on single sources ------------------------------------------------

    @property
    def sources(self) -> list[Source]:
        """The source notes, in file order."""
        return list(self._sources.values())

    @property
    def sources_by_ip(self) -> dict[str, Source]:
        """The source notes by IP (a copy)."""
        return dict(self._sources)

    def source(self, ip: str) -> Source | None:
        """The note on *ip* (dotted text), or None."""
        return self._sources.get(ip)

    def set_source(self, ip: str, **changes: Any) -> Source | None:
        """Set fields (``tags``, ``note``) of the note on *ip*, creating it (stamped) when new; a note left
        with no tags and no note is removed (None)."""
        ip = self._checked(str(ip), lambda: parse_address(ip))
        old = self._sources.get(ip)
        now = self.now()
        changes.setdefault("updated", now)
        if self.author is not None:
            changes.setdefault("updated_by", self.author)
        if old is None:
            changes.setdefault("created", now)
            changes.setdefault("created_by", self.author)
            source = self._checked(ip, lambda: Source(ip, **changes))
        else:
            source = self._checked(ip, lambda: old.replace(**changes))
        if source.empty:
            self._sources.pop(ip, None)
            return None
        self._sources[ip] = source
        return source

    def put_sources_block(self, record: str | None) -> None:
        """The ``sources:`` block that the save removing the last note took out (:attr:`lines_above`, key
        :data:`scantui.labels.sources_block.KEY`): the next save puts it back where it was when it can."""
        self._put_block = record

    def put_source(self, source: Source, *, at: int | None = None, above: str | None = None, own: str | None = None) -> None:
        """Insert or replace a source note exactly as given (how an undo restores one; *at*, *above*, *own* as
        :meth:`put`'s)."""
        self._sources = _placed(self._sources, source.ip, source, at)
        self._put_back[("sources", source.ip)] = above
        if own is not None:
            self._put_text[("sources", source.ip)] = own

    def discard_source(self, ip: str) -> None:
        self._sources.pop(ip, None)

    # -- saving ---------------------------------------------------------------

    def save(self, *, strict: bool = False, edit: Callable[[LabelsStore], Any] | None = None) -> SaveResult:
        """Write the groups, merging with changes made on disk since load.

        Conflicting fields keep the value on disk and are listed in the
        result; with *strict*, a conflict raises :class:`LabelsConflict`
        instead and nothing is written. After a save the store holds what was
        written (the merge included).

        *edit*, when given, is called with the store under the lock, after
        the store was brought up to date with the file (when it had no
        unsaved edits): it sees and changes what is on disk now, and no other
        writer can come between. When it raises, nothing is written (call
        :meth:`revert` to drop its partial edits).
        """
        self.lines_above, self.own_lines = {}, {}
        with FileLock(sidecar(self.path, ".lock"), self.lock_timeout):
            kept, self._kept = self._kept, None  # a save patches the tree it renders from: used once
            try:
                disk = read_snapshot(self.path, kept)
            except LabelsInvalid as exc:
                raise LabelsInvalid(exc.problems, path=str(self.path), prefix="changed on disk and now invalid, not saved: ") from None
            changed = disk is not None and disk.digest != self._base_digest
            if edit is not None:
                if changed and not self.dirty:
                    self._adopt(disk.groups, disk.digest, disk.sources)  # up to date: the merge below is the edit alone
                edit(self)
            newer = disk is not None and disk.digest != self._base_digest
            theirs = {g.id: g for g in disk.groups} if newer else self._base
            merged, conflicts = merge3(self._base, self._groups, theirs)
            their_sources = {s.ip: s for s in disk.sources} if newer else self._sources_base
            sources, source_conflicts = merge3(self._sources_base, self._sources, their_sources)
            sources = [s for s in sources if not s.empty]
            conflicts += source_conflicts
            if conflicts and strict:
                raise LabelsConflict(conflicts, path=str(self.path))
            if disk is not None and merged == disk.groups and sources == disk.sources:
                self._adopt(merged, disk.digest, sources)
                self._kept, self._put_back, self._put_text, self._put_block = disk, {}, {}, None
                return SaveResult(self.path, False, changed, tuple(conflicts))
            written = self._render(disk, merged, sources)
            write_atomic(self.path, written.data, previous=disk.data if disk else None)
            self._adopt(merged, written.digest, sources)
            self._kept, self._put_back, self._put_text, self._put_block = written, {}, {}, None
        return SaveResult(self.path, True, changed, tuple(conflicts))

    def _render(self, disk: _Snapshot | None, groups: list[Group], sources: list[Source]) -> _Snapshot:
        """The new file (bytes, and the snapshot reading them gives: the tree parsed back from them)."""
        bom = bool(disk and disk.bom)
        before = None
        if disk is not None and self._put_block and sources and "sources" not in disk.doc and groups == disk.groups:
            text = sources_block.restored(disk.text, self._put_block)  # (the undo of removing the last note)
            back = self._reads_back(text, groups, sources, plain({k: v for k, v in disk.doc.items() if k != "groups"})) if text else None
            if back is not None:
                self.rendered_by = "sources_block"
                return _Snapshot(((_BOM if bom else "") + text).encode(), text, back[0], back[1], bom, back[2])
        if disk is not None:
            layout = document.Layout.guess(disk.text)
            key = layout_key(layout)
            placing = any(v is not None for v in self._put_back.values())  # records put back among comment lines
            tried = disk.spliceable is None or disk.spliceable.layout != key  # (the item merge, below)
            if tried:
                # not known to be the dump of its tree: first the proof around the changed items alone (it does not
                # place records put back among comment lines: the splice below does where it proves their place)
                # (the window merge needs no tree: tried before the splice that needs one when it is not there yet,
                # or still being made in the background: the save does not wait for it)
                for way in ("local_splice", "item_merge") if disk.ready else ("item_merge", "local_splice"):
                    made = self._render_part(way, disk, layout, groups, sources, placing)
                    if made is not None:
                        return made
                disk = disk.whole(str(self.path))  # the whole-file path reads the tree's line marks
                before = document.dump(disk.doc, layout)  # the whole-file path needs it anyway
                disk.spliceable = Spliceable(key) if before == disk.text else None
                if disk.spliceable is None:  # (a spliced tree proven the text's dump splices without its line marks)
                    parsed = self._parsed(disk, groups, sources)
                    if parsed is not disk:
                        disk, before = parsed, None
            if disk.spliceable is not None and disk.spliceable.layout == key:
                try:
                    text = splice(disk.text, disk.doc, layout, disk.groups, groups, disk.sources, sources, str(self.path),
                                  self.lines_above, self._put_back, self._put_text)
                except Dirty:
                    text = None
                if text is not None:
                    self.rendered_by = "splice"
                    return _Snapshot(((_BOM if bom else "") + text).encode(), text, disk.doc, list(groups), bom, list(sources),
                                     Spliceable(key), spliced=True)
                made = None if tried else self._render_part("item_merge", disk, layout, groups, sources, placing)
                if made is not None:
                    return made
                parsed = self._parsed(disk, groups, sources)
                if parsed is not disk:
                    disk, before = parsed, None
        doc = disk.doc if disk else document.new_document()
        top = plain({k: v for k, v in doc.items() if k not in ("groups", "sources")})
        whole = disk is not None and not disk.spliced  # (a spliced tree's line marks are not the text's)
        for text in document.rewrite(disk.text if disk else None, doc, groups, sources, before, self.lines_above if whole else None,
                                     self._put_back, self.own_lines if whole else None, self._put_text):
            back = self._reads_back(text, groups, sources, top)
            if back is not None:
                tree, back_groups, back_sources = back
                self.rendered_by = "whole"
                if disk is not None and disk.sources and not sources:  # (taken reads the texts alone)
                    record = sources_block.taken(disk.text, text, document.Layout.guess(disk.text))
                    if record is not None:
                        self.lines_above[sources_block.KEY] = record
                return _Snapshot(((_BOM if bom else "") + text).encode(), text, tree, back_groups, bom, back_sources)
        raise LabelsWriteError("not saved: the rewritten file would not read back the same groups (a scantui bug; please report it)", path=str(self.path))

    def _render_part(self, way: str, disk: _Snapshot, layout: document.Layout, groups: list[Group], sources: list[Source],
                     placing: bool) -> _Snapshot | None:
        """The new file rendered from the changed items alone, *way*: ``"local_splice"`` (the window proof, when no
        record is put back among comment lines) or ``"item_merge"`` (a window of items saved as a file of its own);
        ``None`` when that way declines."""
        bom, name = disk.bom, str(self.path)
        if way == "local_splice":
            try:
                text = None if placing else splice_local(disk.text, disk.doc, layout, disk.groups, groups, disk.sources,
                                                         sources, name, self.lines_above, self._put_text)
            except Dirty:
                text = None
            if text is None:
                return None
            self.rendered_by = way
            return _Snapshot(((_BOM if bom else "") + text).encode(), text, disk.doc, list(groups), bom, list(sources),
                             spliced=True, stitched=disk.stitched)
        text = save_items(disk.text, layout, disk.groups, groups, disk.sources, sources, name,
                          self.lines_above, self.own_lines, self._put_back, self._put_text)
        if text is None:
            return None
        self.rendered_by = way
        # (its tree, when a later save needs it, is the written text's parse)
        return _Snapshot(((_BOM if bom else "") + text).encode(), text, None, list(groups), bom, list(sources),
                         later=lambda: document.parse(text, name))

    def _parsed(self, disk: _Snapshot, groups: list[Group], sources: list[Source]) -> _Snapshot:
        """*disk*, or its text parsed again when the whole-file path cannot render from its tree: a tree patched by
        a splice dumps as the text's parse does, but its line marks are not the text's, and a removal reads them (the
        comment lines it moves, and the lines above the removed item that an undo puts back, which the text shows).
        (A splice that failed left the tree untouched.)"""
        if disk.spliced and (document.removes_comments(disk.doc, groups, sources)
                             or any(v is not None for v in self._put_back.values())  # (place_above reads them too)
                             or lines_to_record(disk.text, disk.doc, document.Layout.guess(disk.text),
                                                (("groups", "id", disk.groups, groups), ("sources", "ip", disk.sources, sources)))):
            return _Snapshot(disk.data, disk.text, document.parse(disk.text, str(self.path)), disk.groups, disk.bom, disk.sources)
        return disk

    def _reads_back(self, text: str, groups: list[Group], sources: list[Source], top: dict) -> tuple[Any, list[Group], list[Source]] | None:
        """(tree, groups, sources) of *text* when it reads back as exactly *groups*, *sources* and the other keys *top*."""
        try:
            doc = document.parse(text, str(self.path))
        except InputError:
            return None
        back, back_sources, problems = check_labels(doc)
        if (not problems and back == groups and back_sources == sources
                and plain({k: v for k, v in doc.items() if k not in ("groups", "sources")}) == top):
            return doc, back, back_sources
        return None


def _placed(records: dict[str, Any], key: str, record: Any, at: int | None) -> dict[str, Any]:
    """*records* holding *record* under *key*: replaced in place, or new at index *at* (None: the end)."""
    if key in records or at is None or at >= len(records):
        records[key] = record
        return records
    items = list(records.items())
    items.insert(max(at, 0), (key, record))
    return dict(items)
