"""A labels save merged item by item: only a window of items around each change is rendered, whatever the file looks like.

The whole-file save (:func:`scantui.labels.document.rewrite`) parses the file
O, patches its tree and merges three texts line by line (O, the dump B of the
tree, the dump E of the patched tree); difflib over a whole hand-formatted file
of thousands of alike lines is quadratic. Here the file is cut at its items
instead: under ``groups:`` (``sources:``) every item starts with a line
``- id: `` (``- ip: ``) at the file's dash column. Around each change, a
*window* of items (the changed, removed and new ones and one unchanged item
on each side; from the ``groups:`` line when it reaches the first item, to the
end of the file when it reaches the last) is made into a small labels file of
its own (a version line, ``groups:``, the window's lines), and that small file
goes through the whole-file save's steps: parse, patch, dump twice, merge,
read back. Its result replaces the window's lines; every other line of the file
is kept as it is. So the bytes outside the windows are O's by construction,
and a comment above or inside a changed item is kept, moved or taken exactly
as the whole-file save does it with the same neighbours around (the comment
lines between items belong to the item above them: a removed item's lines
below it stay with the unchanged neighbour above).

Why the file written reads back as the edited groups, without reading it all:

* in O, the lines opening an item are found by text alone and proven to be the
  items: there are as many lines starting with the dash prefix in the whole
  file as there are groups and notes, each block's are its records' count and
  each reads ``- id: `` (``- ip: ``); a line of a scalar that looked like one
  would make one too many. So each window starts at an item's first line (or
  under the block's key line) and ends before the next item's first line (or
  at the end of the file);
* the small file reads back, before the edit, as exactly the window's old
  records, and after it as exactly its new ones, the other keys and the other
  block it may hold (the file's tail) unchanged;
* a window that does not reach the end gives lines that all stay inside the
  block (indented, blank, or a comment or item at the dash column 0), ending
  with a line end, so the item after it still opens an item of the same list;
  the new file is checked again by text: its blocks' item lines are exactly
  the new records' count.

An item's value depends only on its own lines once its first line is an item
of the block (the same text under the same key at the same indentation; what
:mod:`scantui.labels.splice` and :mod:`scantui.labels.stitch` rely on too), so
the new file holds the old records outside the windows and the read-back new
records in them. Nothing here rests on how difflib matches lines: the merge
only decides which bytes of the window are written, and those are read back.

It declines (``None``) otherwise, and the caller renders the whole file: items
reordered, a block emptied or made, a file whose item lines are not proven, a
window reaching the end with more than :data:`MAX_TAIL` lines after the block
(or taking along the other block, changed too), a window that does not read
back.
The tree is not needed (nor changed): the caller parses the written text when
a later save needs its tree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from scantui.errors import InputError
from scantui.labels import document
from scantui.labels.line_merge import merge_lines
from scantui.labels.model import FORMAT_VERSION, VERSION_KEY, Group, Source
from scantui.labels.validate import check_labels, plain

#: The most lines after the block's last item that a window reaching it takes along (the file's tail: another
#: block, other keys); beyond, the whole file is rendered.
MAX_TAIL = 2000
_BLOCKS = (("groups", "id"), ("sources", "ip"))
_KEY_LINE = re.compile(r"[ \t]*(?:#[^\n]*)?\n")  # what may follow "groups:" on its line: a comment


def split_lines(text: str) -> list[str]:
    """*text*'s lines with their ``\\n``: YAML's line breaks only (``str.splitlines`` also cuts at ``\\x85``,
    ``\\u2028``, ... which a scalar may hold)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _in_block(line: str, offset: int) -> bool:
    # (as scantui.labels.splice.find_block: indented, blank, or at column 0 when the dashes are there)
    return line[:1] == " " or line == "\n" or (not offset and line[:1] in "-#")


class _Block:
    """A block sequence in a text, by character offsets: its key's line, each item's first line, the end of its lines."""

    def __init__(self, head: int, starts: list[int], end: int):
        self.head, self.starts, self.end = head, starts, end


def find_items(text: str, counts: dict[str, int], layout: document.Layout) -> dict[str, _Block] | None:
    """The blocks of *text* whose item lines are proven (see the module's docstring) for *counts* records of each
    key; ``None`` when not proven. (Regular expressions over the text: a 5,000-group file is 87,000 lines.)"""
    prefix = " " * layout.offset + "- "
    opening = re.compile("^" + re.escape(prefix), re.M)
    if len(opening.findall(text)) != sum(counts.values()):
        return None
    # the first line after the key's that is not the block's (see _in_block)
    outside = re.compile(r"^[^ \n]" if layout.offset else r"^[^ \n#-]", re.M)
    out: dict[str, _Block] = {}
    for key, attr in _BLOCKS:
        if not counts.get(key):
            continue
        heads = [m.start() for m in re.finditer(f"^{key}:" + _KEY_LINE.pattern, text, re.M)]
        if len(heads) != 1:
            return None
        first = text.index("\n", heads[0]) + 1
        after = outside.search(text, first)
        end = len(text) if after is None else after.start()
        starts = [m.start() for m in opening.finditer(text, first, end)]
        if len(starts) != counts[key] or not all(text.startswith(f"{prefix}{attr}: ", k) for k in starts):
            return None
        out[key] = _Block(heads[0], starts, end)
    return out


def _windows(old: Sequence[Group | Source], new: Sequence[Group | Source], attr: str) -> list[tuple[int, int, list[Any]]] | None:
    """The windows of old items ``(a, b, new records)`` (``a..b`` inclusive) around the changes, in file order;
    ``None`` when items moved."""
    old_ids = [getattr(r, attr) for r in old]
    new_ids = [getattr(r, attr) for r in new]
    old_pos = {k: i for i, k in enumerate(old_ids)}
    new_set = set(new_ids)
    if [k for k in new_ids if k in old_pos] != [k for k in old_ids if k in new_set]:
        return None
    n = len(old_ids)
    by_id = {getattr(r, attr): r for r in new}
    spans = [(i - 1, i + 1) for i, k in enumerate(old_ids) if k not in new_set or by_id[k] != old[i]]
    slots: list[int] = []  # each new record's place among the old items (a new one: the next kept item's)
    at = n
    for k in reversed(new_ids):
        if k in old_pos:
            at = old_pos[k]
        else:
            spans.append((at - 1, at))
        slots.append(at)
    slots.reverse()
    ranges: list[list[int]] = []
    for lo, hi in sorted((max(lo, 0), min(hi, n - 1)) for lo, hi in spans):
        if ranges and lo <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], hi)
        else:
            ranges.append([lo, hi])
    out = []
    for a, b in ranges:
        # a new record at slot p lies between old items p-1 and p, both in its window (p-1 < 0, p == n: an edge)
        records = [r for r, p in zip(new, slots)
                   if (a <= p <= b and (getattr(r, attr) in old_pos or p > a or a == 0)) or (p == b + 1 == n)]
        out.append((a, b, records))
    return out


class _Dicts:
    """What the whole-file save records for an undo, gathered from the windows (kept only when all of them write)."""

    def __init__(self) -> None:
        self.above: document.Lines = {}
        self.own: document.Lines = {}


def save_items(text: str, layout: document.Layout, old_groups: Sequence[Group], groups: Sequence[Group],
               old_sources: Sequence[Source], sources: Sequence[Source], path: str,
               lines_above: document.Lines | None = None, own_lines: document.Lines | None = None,
               put_back: dict[tuple[str, str], str | None] | None = None,
               put_text: document.Lines | None = None) -> str | None:
    """The text of *text* (whose records are *old_groups* and *old_sources*) changed to hold *groups* and *sources*,
    or ``None`` when not proven (see the module's docstring). *lines_above*, *own_lines*, *put_back*, *put_text*: as
    :func:`scantui.labels.document.patch_document`'s (filled only when the text is returned)."""
    changed = [(key, attr, old, new) for (key, attr), old, new in zip(_BLOCKS, (old_groups, old_sources), (groups, sources))
               if list(old) != list(new)]
    if not changed or any(not old or not new for _key, _attr, old, new in changed):
        return None  # (a block made or emptied: the whole-file save places its key)
    blocks = find_items(text, {"groups": len(old_groups), "sources": len(old_sources)}, layout)
    if blocks is None:
        return None
    dicts = _Dicts()
    pieces: list[tuple[int, int, str]] = []
    for key, attr, old, new in changed:
        windows = _windows(old, new, attr)
        block = blocks[key]
        n = len(old)
        if windows is None or (windows[-1][1] == n - 1 and text.count("\n", block.end) > MAX_TAIL):
            return None
        for a, b, records in windows:
            lo = block.head if a == 0 else block.starts[a]  # (from the key's line: a comment on it stays)
            hi = len(text) if b == n - 1 else block.starts[b + 1]
            key_line = text[lo:text.index("\n", lo) + 1] if a == 0 else ""
            part = _merge_window(key, text[lo:hi], a == 0, old[a:b + 1], records, layout, path, dicts, put_back, put_text)
            if part is None or not part.startswith(key_line):
                return None  # (the key's line is the frame's: kept as it is)
            if b < n - 1 and not _stays_in_block(part[len(key_line):], layout.offset):
                return None
            pieces.append((lo, hi, part))
    pieces.sort()
    if any(p[1] > q[0] for p, q in zip(pieces, pieces[1:])):
        return None  # (a window reaching the end of one block took the other one along)
    out: list[str] = []
    at = 0
    for lo, hi, part in pieces:
        out.append(text[at:lo])
        out.append(part)
        at = hi
    out.append(text[at:])
    written = "".join(out)
    if find_items(written, {"groups": len(groups), "sources": len(sources)}, layout) is None:
        return None
    if lines_above is not None:
        lines_above.update(dicts.above)
    if own_lines is not None:
        own_lines.update(dicts.own)
    return written


def _stays_in_block(part: str, offset: int) -> bool:
    return part.endswith("\n") and all(_in_block(line, offset) for line in split_lines(part))


def _merge_window(key: str, body: str, keyed: bool, old: Sequence[Any], new: list[Any], layout: document.Layout,
                  path: str, dicts: _Dicts, put_back: dict[tuple[str, str], str | None] | None,
                  put_text: document.Lines | None) -> str | None:
    """The window's new lines: its lines *body* (holding *old*; from the block key's line when *keyed*) as a small
    labels file, saved as the whole-file save saves a file to hold *new*; ``None`` when it does not read back."""
    head = ("---\n" if layout.explicit_start else "") + f"{VERSION_KEY}: {FORMAT_VERSION}\n"
    head += "groups: []\n" if key == "sources" else ""
    mini = head + (body if keyed else f"{key}:\n" + body)
    if not keyed:
        head += f"{key}:\n"
    try:
        doc = document.parse(mini, path)
    except InputError:
        return None
    g0, s0, problems = check_labels(doc)
    if problems or (g0 if key == "groups" else s0) != list(old):
        return None
    other = s0 if key == "groups" else g0  # (a block in the file's tail: it stays as it is)
    top = plain({k: v for k, v in doc.items() if k not in ("groups", "sources")})
    before = document.dump(doc, layout)
    above: document.Lines = {}
    own: document.Lines = {}
    if key == "groups":
        document.patch_document(doc, new, None, mini, above, put_back, own, put_text)
    else:
        document.patch_document(doc, g0, new, mini, above, put_back, own, put_text)
    after = document.dump(doc, layout)
    spliced = "".join(merge_lines(mini.splitlines(True), before.splitlines(True), after.splitlines(True)))
    for candidate in ([spliced, after] if spliced != after else [after]):
        if not candidate.startswith(head):
            continue
        try:
            back = document.parse(candidate, path)
        except InputError:
            continue
        g, s, problems = check_labels(back)
        if (not problems and (g, s) == ((new, other) if key == "groups" else (other, new))
                and plain({k: v for k, v in back.items() if k not in ("groups", "sources")}) == top):
            dicts.above.update(above)
            dicts.own.update(own)
            return candidate[len(head):]
    return None
