"""A labels save spliced from the changed items' own neighbourhood, whatever the rest of the file looks like.

The whole-file save (:func:`scantui.labels.document.rewrite`) merges three
texts line by line with difflib (:func:`scantui.labels.line_merge.merge_lines`):
the file O, the dump B of its tree and the dump E of the patched tree; it
writes the merge when it reads back. :func:`splice_local` writes the same
bytes without B or E when a window W of one block sequence (from one item's
``- `` line, or the ``groups:``/``sources:`` line above the first, to a later
item's ``- `` line, the ``sources:`` line below the last, or the end of the
file) holds every change, and:

* every item inside W carries no comment and its lines in O are exactly its
  own dump, the line ending W is too: B equals O on W;
* the *anchors* of O (lines opening an item, ``groups:``, ``sources:``) are
  unique; in B and E the lines opening items are unique because the ids are;
* W has more lines than any run of O without an anchor (or W ends the file).

Then difflib matches B's lines of W to O's one to one (a matching block that
holds an anchor sits where the anchor is in both files, in the same order; one
without is shorter than W, so it is never the longest while W is whole in the
range being split, and only such a block could cross W), and B matches E one
to one before and after W (each side runs from the file's start or end to an
anchor both hold). The merge is O before W, E's lines of W, O after W: what
is written here, each changed item dumped and read back alone as
:mod:`scantui.labels.splice` does. It declines (``None``, the tree
untouched) otherwise; the caller renders the whole file.
"""

from __future__ import annotations

from typing import Any, Sequence

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from scantui.labels import document
from scantui.labels.model import Group, Source
from scantui.labels.splice import _Block, carried_lines, commented, find_block, item_text, lines_above_removed, render_items, stop

#: The most items a window may grow to before the save renders the whole file instead.
MAX_WINDOW = 400
#: Longer ids could be folded over lines by the dump (its width is 4,096): no longer unique line by line.
_MAX_ID = 1000
_HEADS = ("groups:\n", "sources:\n")


def _gap(lines: list[str], prefix: str, items: int) -> int | None:
    """The longest run of lines without an anchor; ``None`` when two anchors are the same line or the lines opening
    an item are not *items* (one may be inside a scalar)."""
    if sum(line.startswith(prefix) for line in lines) != items:
        return None
    seen: set[str] = set()
    longest = last = -1
    for k, line in enumerate(lines):
        if line.startswith(prefix) or line in _HEADS:
            if line in seen:
                return None
            seen.add(line)
            longest = max(longest, k - last - 1)
            last = k
    return max(longest, len(lines) - last - 1)


class _Window:
    """Items ``s..e-1`` of *block* (``s == -1``: from the block's ``key:`` line), each checked to be its own dump."""

    def __init__(self, lines: list[str], block: _Block, layout: document.Layout, doc: CommentedMap):
        self.lines, self.block, self.layout, self.doc = lines, block, layout, doc
        self.head = block.starts[0] - 1
        self.dumps: dict[int, str | None] = {}

    def dump(self, i: int) -> str | None:
        if i not in self.dumps:
            node = self.block.seq[i]
            self.dumps[i] = None if node is None else item_text(self.block.key, node, self.layout)
        return self.dumps[i]

    def own(self, i: int) -> bool:
        """Item *i*'s lines are exactly its dump, with no comment: B has them as O does."""
        if i in self.block.seq.ca.items or commented(self.block.seq[i]):
            return False
        return self.dump(i) == "".join(self.lines[self.block.starts[i]:stop(self.block, i)])

    def first(self, s: int) -> int:
        return self.head if s < 0 else self.block.starts[s]

    def last(self, e: int) -> int | None:
        """The line ending a window up to item *e* (its ``- `` line, ``sources:``, or the end: ``len(lines)``);
        ``None`` when B might not have it."""
        block, n = self.block, len(self.block.starts)
        if e < n:
            text = self.dump(e)
            if e in block.seq.ca.items or text is None or text.splitlines(True)[0] != self.lines[block.starts[e]]:
                return None
            return block.starts[e]
        if block.end == len(self.lines):
            return block.end
        after = self.doc.get("sources")
        if (block.key == "groups" and self.lines[block.end] == "sources:\n" and isinstance(after, CommentedSeq) and len(after)
                and not after.fa.flow_style() and "sources" not in self.doc.ca.items):
            return block.end
        return None


def splice_local(text: str, doc: Any, layout: document.Layout, old_groups: Sequence[Group], groups: Sequence[Group],
                 old_sources: Sequence[Source], sources: Sequence[Source], path: str,
                 lines_above: dict[tuple[str, str], str] | None = None,
                 put_text: dict[tuple[str, str], str] | None = None) -> str | None:
    """The text the whole-file save writes for *doc* (the parse of *text*) changed to hold *groups* and
    *sources*, or ``None`` (the tree untouched) when the window proof fails. Raises :class:`Dirty` (the tree
    untouched too) when an item did not read back. *lines_above*, *put_text*: as :func:`~scantui.labels.splice.splice`'s."""
    if not isinstance(doc, CommentedMap):
        return None
    changed = [c for c in (("groups", "id", old_groups, groups), ("sources", "ip", old_sources, sources)) if list(c[2]) != list(c[3])]
    if len(changed) != 1:
        return None
    key, attr, old, new = changed[0]
    if any(isinstance(v, (dict, list, LiteralScalarString, FoldedScalarString)) or (isinstance(v, str) and "\n" in v)
           for k, v in doc.items() if k not in ("groups", "sources")):
        return None  # other top-level keys stay on their own line in B: no line of theirs can open an item
    if any(len(g.id) > _MAX_ID for g in (*old_groups, *groups)):
        return None
    lines = text.splitlines(True)
    block = find_block(lines, key, attr, doc.get(key), old, new, layout)
    if block is None or key in doc.ca.items:
        return None
    items = sum(len(v) for v in (doc.get("groups"), doc.get("sources")) if isinstance(v, CommentedSeq))
    gap = _gap(lines, " " * layout.offset + "- ", items)
    plan = _plan(block, old, new, attr)
    if gap is None or plan is None:
        return None
    s, e = plan
    win = _Window(lines, block, layout, doc)
    n = len(block.starts)
    carried = carried_lines(lines, block, layout, path)
    if carried is None:
        return None
    after, proven = carried
    # (a removed item holding the comment lines above the next one: B has its lines as O does, its dump checked)
    if any(not (win.own(i) or (i in proven and win.dump(i) == "".join(lines[block.starts[i]:stop(block, i)])))
           for i in range(max(s, 0), e)):
        return None
    while True:
        end = win.last(e)
        if end is None and e == n:
            return None
        size = (len(lines) if end is None else end) - win.first(s) + 1
        if end is not None and (end == len(lines) or size > gap):
            break
        if e - max(s, 0) >= MAX_WINDOW:
            return None
        if e < n and win.own(e) and (e + 1 < n or win.last(n) is not None):
            e += 1
        elif s >= 0 and (s == 0 or win.own(s - 1)):
            s -= 1
        else:
            return None
    if lines_above is not None:
        lines_above_removed(lines, block, lines_above)
    return _apply(win, s, e, old, new, attr, path, after, put_text)


def _plan(block: _Block, old: Sequence[Any], new: Sequence[Any], attr: str) -> tuple[int, int] | None:
    """The window's first and end items for this change (``-1``: from the block's key line); ``None`` when items
    moved or nothing changed. An edited item can open the window (its ``- `` line stays); a removed item, or a new
    one before old item *p*, needs the line above."""
    old_ids = [getattr(r, attr) for r in old]
    new_ids = [getattr(r, attr) for r in new]
    if any(str(block.seq[i].get(attr)) != k for i, k in enumerate(old_ids)):
        return None
    old_pos = {k: i for i, k in enumerate(old_ids)}
    new_set = set(new_ids)
    if [k for k in new_ids if k in old_pos] != [k for k in old_ids if k in new_set]:
        return None
    by_id = {getattr(r, attr): r for r in new}
    firsts: list[int] = []
    ends: list[int] = []
    for i, k in enumerate(old_ids):
        if k not in new_set:
            firsts.append(i - 1)
            ends.append(i + 1)
        elif by_id[k] != old[i]:
            firsts.append(i)
            ends.append(i + 1)
    at = len(old_ids)
    for k in reversed(new_ids):
        if k in old_pos:
            at = old_pos[k]
        else:
            firsts.append(at - 1)
            ends.append(at)
    return (min(firsts), max(ends)) if firsts else None


def _apply(win: _Window, s: int, e: int, old: Sequence[Any], new: Sequence[Any], attr: str, path: str,
           after: dict[int, str] | None = None, put_text: dict[tuple[str, str], str] | None = None) -> str:
    """O with the window's lines replaced by E's: the unchanged items' lines kept, the others dumped and read back
    alone; the tree's sequence patched as the whole-file path patches it."""
    block, lines = win.block, win.lines
    first = max(s, 0)
    # (an edited item opening the window must keep its "- " line: B and E hold it there)
    out, nodes = render_items(lines, block, new[first:len(new) - (len(old) - e)], old, attr, win.layout, path, opening=s,
                              after=after, put_text=put_text)
    items = list(block.seq)
    items[first:e] = nodes
    block.seq.clear()
    block.seq.extend(items)
    end = block.starts[e] if e < len(block.starts) else block.end
    return "".join(lines[:block.starts[first]] + out + lines[end:])
