"""A labels save that renders only the changed groups and source notes, spliced into the file's text.

When the file is exactly ruamel's emission of its tree (a file scantui wrote:
:attr:`Spliceable` says so, proven once by a whole dump), the whole-file save
(:func:`scantui.labels.document.rewrite`: patch the tree, dump it, read it all
back) writes that emission of the patched tree. Each item of the ``groups``
(``sources``) block sequence is emitted on its own lines, so :func:`splice`
builds the same text from the file's lines: the lines of every unchanged item
kept, each changed or new item dumped alone (a one-item ``groups:`` document in
the file's layout) and read back alone (it must give exactly that group, and
dump again to the same lines, so the result is still the emission of its tree).

It declines (``None``, the tree untouched) whenever it cannot prove a case:
no block sequence at the top level, an item whose lines are not exactly its own
dump (hand formatting, a comment, flow style), comments on a changed item,
items reordered, a ``sources:`` key appearing or going. The caller then
renders the whole file as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from scantui.errors import InputError
from scantui.labels import document
from scantui.labels.model import FORMAT_VERSION, VERSION_KEY, Group, Source
from scantui.labels.validate import check_labels


@dataclass(frozen=True)
class Spliceable:
    """Proof that a text is ``document.dump(tree, layout)`` of its tree, for this layout."""

    layout: tuple[int, int, int, bool]


def layout_key(layout: document.Layout) -> tuple[int, int, int, bool]:
    return (layout.mapping, layout.sequence, layout.offset, layout.explicit_start)


class Dirty(Exception):
    """An item of the splice did not read back: nothing of the tree was changed (a changed item is patched
    as read alone from its lines), so the whole-file path may render from it."""


def commented(node: Any) -> bool:
    ca = getattr(node, "ca", None)
    if ca is not None and (ca.comment or ca.items or getattr(ca, "_post", None) or getattr(ca, "_pre", None)):
        return True
    if isinstance(node, dict):
        return any(commented(v) for v in node.values())
    if isinstance(node, list):
        return any(commented(v) for v in node)
    return False


def item_text(key: str, node: Any, layout: document.Layout) -> str | None:
    """The lines *node* takes as an item of the top-level *key* sequence, dumped alone."""
    mini = CommentedMap()
    seq = CommentedSeq([node])
    seq.fa.set_block_style()
    mini[key] = seq
    text = document.dump(mini, layout)
    head = f"{key}:\n"
    return text[len(head):] if text.startswith(head) else None


def item_tree(key: str, text: str, path: str) -> Any | None:
    """The tree of one item's lines *text* read alone (under *key* in a file of their own), ``None`` when not YAML."""
    head = f"{VERSION_KEY}: {FORMAT_VERSION}\n" + ("groups: []\n" if key == "sources" else "") + f"{key}:\n"
    try:
        return document.parse(head + text, path)
    except InputError:
        return None


def read_back(key: str, text: str, record: Group | Source, layout: document.Layout, path: str) -> Any | None:
    """The node *text* (one item's lines) parses to, when it reads back as exactly *record* and dumps again to *text*."""
    tree = item_tree(key, text, path)
    if tree is None:
        return None
    groups, sources, problems = check_labels(tree)
    if problems or (groups if key == "groups" else sources) != [record]:
        return None
    node = tree[key][0]
    return node if item_text(key, node, layout) == text else None


def _alone(key: str, text: str, path: str) -> Any | None:
    """The node of an item's lines (exactly its dump) read alone: what a changed item is patched from, so that the
    tree stays as parsed until every item reads back (a deep copy of a node loses a timestamp's ``Z``)."""
    head = f"{VERSION_KEY}: {FORMAT_VERSION}\n" + ("groups: []\n" if key == "sources" else "") + f"{key}:\n"
    try:
        return document.parse(head + text, path)[key][0]
    except (InputError, KeyError, IndexError, TypeError):
        return None


@dataclass
class _Block:
    key: str
    attr: str
    seq: CommentedSeq
    old: Sequence[Group | Source]
    new: Sequence[Group | Source]
    starts: list[int]
    end: int
    changed: bool = False


def find_block(lines: list[str], key: str, attr: str, seq: Any, old: Sequence[Any], new: Sequence[Any],
                layout: document.Layout) -> _Block | None:
    if not isinstance(seq, CommentedSeq) or not len(seq) or len(seq) != len(old) or not new or seq.ca.comment or seq.ca.items:
        return None
    try:
        head = lines.index(f"{key}:\n")
    except ValueError:
        return None
    prefix = " " * layout.offset + "- "
    starts: list[int] = []
    end = head + 1
    # (at column 0, "groups:\n- id: x", the items' "- " lines and comment lines are the block's at the key's column)
    while end < len(lines) and (lines[end][:1] == " " or lines[end] == "\n" or (not layout.offset and lines[end][:1] in "-#")):
        if lines[end].startswith(prefix):
            starts.append(end)
        end += 1
    if len(starts) != len(seq) or starts[0] != head + 1 or any(not lines[k].startswith(f"{prefix}{attr}: ") for k in starts):
        return None
    # the comment and blank lines after the last item at the dashes' column or left of it head what follows the
    # list ("# notes\nsources:", "# the end"): outside the block, an item added after the last goes above them
    # (as the whole-file path puts it: scantui.labels.kept_comments.keep_after_last)
    while end > starts[-1] + 1 and (lines[end - 1] == "\n" or outside_comment(lines[end - 1], layout.offset)):
        end -= 1
    return _Block(key, attr, seq, old, new, starts, end)


def outside_comment(line: str, offset: int) -> bool:
    text = line.lstrip(" ")
    return text.startswith("#") and len(line) - len(text) <= offset


def _plan(lines: list[str], block: _Block, layout: document.Layout) -> bool:
    """Whether *block* can be spliced: order kept, every changed or removed item's lines exactly its dump."""
    old_ids = [getattr(r, block.attr) for r in block.old]
    new_ids = [getattr(r, block.attr) for r in block.new]
    old_pos = {k: i for i, k in enumerate(old_ids)}
    new_set = set(new_ids)
    if any(str(block.seq[i].get(block.attr)) != k for i, k in enumerate(old_ids)):
        return False
    if [k for k in new_ids if k in old_pos] != [k for k in old_ids if k in new_set]:
        return False  # an order change: the whole-file path moves items
    by_id = {getattr(r, block.attr): r for r in block.new}
    touched = [i for i, k in enumerate(old_ids) if k not in new_set or by_id[k] != block.old[i]]
    block.changed = bool(touched) or len(new_ids) != len(old_ids)
    for i in touched:
        node = block.seq[i]
        if ((commented(node) and old_ids[i] in new_set)  # (a removed one's comment lines: carried_lines)
                or item_text(block.key, node, layout) != "".join(lines[block.starts[i]:stop(block, i)])):
            return False
    return True


def carried_lines(lines: list[str], block: _Block, layout: document.Layout,
                  path: str) -> tuple[dict[int, str], set[int]] | None:
    """The comment and blank lines that removed items of *block* hold (ruamel attached the lines above the next item
    to the item above them), which the whole-file path keeps above the next kept item
    (:func:`scantui.labels.kept_comments.keep_between`): by the old index of the kept item above the removed run,
    the lines that follow its own lines then; and the removed items proven to hold nothing else (their own lines
    above those read alone as exactly their record, no comment, exactly their dump). ``None`` when not proven: a
    removed item with another comment, or a run with such lines that is first or last, or whose item above is
    changed or holds a comment itself."""
    kept = {getattr(r, block.attr): r for r in block.new}
    keys = [getattr(r, block.attr) for r in block.old]
    after: dict[int, str] = {}
    proven: set[int] = set()
    n, i = len(keys), 0
    while i < n:
        if keys[i] in kept:
            i += 1
            continue
        first, texts = i, []
        while i < n and keys[i] not in kept:
            if i in block.seq.ca.items:
                return None
            if commented(block.seq[i]):
                end = top = stop(block, i)
                while top - 1 > block.starts[i] and _between(lines[top - 1]):
                    top -= 1
                own = "".join(lines[block.starts[i]:top])
                back = read_back(block.key, own, block.old[i], layout, path) if top < end else None
                if back is None or commented(back):
                    return None
                texts.append("".join(lines[top:end]))
                proven.add(i)
            i += 1
        if texts:
            p = first - 1
            if p < 0 or i >= n or p in block.seq.ca.items or commented(block.seq[p]) or kept[keys[p]] != block.old[p]:
                return None
            after[p] = "".join(texts)
    return after, proven


def stop(block: _Block, i: int) -> int:
    return block.starts[i + 1] if i + 1 < len(block.starts) else block.end


def render_items(lines: list[str], block: _Block, records: Sequence[Group | Source], old: Sequence[Group | Source],
                 attr: str, layout: document.Layout, path: str, *, opening: int | None = None,
                 lift: dict[str, int] | None = None, after: dict[int, str] | None = None,
                 put_text: dict[tuple[str, str], str] | None = None) -> tuple[list[str], list[Any]]:
    """The lines of *records* (the block's items, *old* as they were) and their nodes for the tree's
    sequence: an unchanged item keeps its own lines and node; a changed one, read alone from its lines, is patched
    as the whole-file path patches it, a new one made, each dumped and read back alone. Raises :class:`Dirty` (the
    tree untouched) when one does not read back, or when old item *opening* (a window's first line) would not
    keep its first line. *lift*: new items (by key) that go that many lines above the end of the item before them
    (:func:`put_back_places`); *after*: the lines that follow an unchanged old item now (:func:`carried_lines`), its
    node read again with them (as the file's parse holds them: attached to it); *put_text*: the own lines of new
    items put back by an undo (:func:`scantui.labels.document.own_node`)."""
    old_pos = {getattr(r, attr): i for i, r in enumerate(old)}
    out: list[str] = []
    nodes: list[Any] = []
    for record in records:
        i = old_pos.get(getattr(record, attr))
        if i is not None and record == old[i] and i in (after or {}):
            text = "".join(lines[block.starts[i]:stop(block, i)]) + after[i]
            back = read_back(block.key, text, record, layout, path)
            if back is None:
                raise Dirty
            out.append(text)
            nodes.append(back)
            continue
        if i is not None and record == old[i]:
            out.extend(lines[block.starts[i]:stop(block, i)])
            nodes.append(block.seq[i])
            continue
        if i is None:
            node = document.own_node(block.key, (put_text or {}).get((block.key, getattr(record, attr))), record, path)
            node = node if node is not None else document.group_node(record)
        else:
            node = _alone(block.key, "".join(lines[block.starts[i]:stop(block, i)]), path)
            if node is None:
                raise Dirty
            document.patch_group(node, record)
        text = item_text(block.key, node, layout)
        back = read_back(block.key, text, record, layout, path) if text is not None else None
        if back is None or (i is not None and i == opening and text.splitlines(True)[0] != lines[block.starts[i]]):
            raise Dirty
        if lift and lift.get(getattr(record, attr)):
            out.insert(len(out) - lift[getattr(record, attr)], text)  # (the item before kept its lines: one a line)
        else:
            out.append(text)
        nodes.append(back)
    return out, nodes


def _render(lines: list[str], block: _Block, layout: document.Layout, path: str,
            lift: dict[str, int] | None = None, after: dict[int, str] | None = None,
            put_text: dict[tuple[str, str], str] | None = None) -> tuple[list[str], list[Any]]:
    """The block's new item lines and the nodes its sequence holds then (the whole-file path's patch)."""
    return render_items(lines, block, block.new, block.old, block.attr, layout, path, lift=lift, after=after,
                        put_text=put_text)


def put_back_places(lines: list[str], block: _Block, put_back: dict[tuple[str, str], str | None]) -> dict[str, int] | None:
    """For each item of *block* that an undo puts back below comment lines (*put_back*: as
    :attr:`scantui.labels.store.LabelsStore.put_back`), how many of the comment and blank lines above the next
    item go below it: the whole-file path (:func:`scantui.labels.kept_comments.place_above`) puts it below its
    lines when the lines between the item before and the next start with them, the rest below it. ``None`` when
    that place is not proven here (the whole-file path places it): the item before it new, changed or holding a
    scalar that may span lines, or the next one not the old one after it, or the lines there not starting so."""
    old_pos = {getattr(r, block.attr): i for i, r in enumerate(block.old)}
    lift: dict[str, int] = {}
    for j, record in enumerate(block.new):
        key = getattr(record, block.attr)
        text = put_back.get((block.key, key))
        if text is None or key in old_pos:
            continue
        k = old_pos.get(getattr(block.new[j - 1], block.attr)) if j else None
        if k is None or block.new[j - 1] != block.old[k] or _spans_lines(block.seq[k]):
            return None
        nxt = old_pos.get(getattr(block.new[j + 1], block.attr)) if j + 1 < len(block.new) else len(block.old)
        if nxt != k + 1:
            return None
        end = stop(block, k)
        top = end
        while top - 1 > block.starts[k] and _between(lines[top - 1]):
            top -= 1
        cut = next((c for c in range(top, end + 1) if "".join(lines[top:c]) == text), None)
        if cut is None:
            return None
        lift[key] = end - cut
    return lift


def _spans_lines(node: Any) -> bool:
    """A key or value of *node* that the dump may write over several lines (a line of it could look like a comment)."""
    if isinstance(node, dict):
        return any(_spans_lines(k) or _spans_lines(v) for k, v in node.items())
    if isinstance(node, list):
        return any(_spans_lines(v) for v in node)
    return isinstance(node, str) and ("\n" in node or len(node) > 1000)


def lines_above_removed(lines: list[str], block: _Block, out: dict[tuple[str, str], str]) -> None:
    """Into *out*: the comment and blank lines right above each item of *block* that the change removes (what an
    undo puts back above it, :attr:`scantui.labels.store.LabelsStore.lines_above`), for those with such lines
    above them or above the next item (else it goes back where a new item goes: no lines to place)."""
    kept = {getattr(r, block.attr) for r in block.new}
    for i, record in enumerate(block.old):
        key = getattr(record, block.attr)
        if key not in kept:
            top, floor = block.starts[i], block.starts[i - 1] if i else block.starts[0] - 1
            while top - 1 > floor and _between(lines[top - 1]):
                top -= 1
            n = len(block.old)  # (the next kept item, and the removed ones before it: as keep_between's)
            k = next((k for k in range(i + 1, n) if getattr(block.old[k], block.attr) in kept), n)
            if top < block.starts[i] or any(_between(lines[block.starts[j] - 1]) for j in range(i + 1, min(k + 1, n))):
                out[(block.key, key)] = "".join(lines[top:block.starts[i]])  # (else no lines to place)


def lines_to_record(text: str, doc: Any, layout: document.Layout, changes: Sequence[tuple[str, str, Sequence[Any], Sequence[Any]]]) -> bool:
    """Whether removing items (*changes*: ``(key, attr, old, new)`` of each list) from *text* records lines above
    one (:func:`lines_above_removed`), by the text alone (True when its blocks are not found)."""
    lines = text.splitlines(True)
    for key, attr, old, new in changes:
        if {getattr(r, attr) for r in old} <= {getattr(r, attr) for r in new}:
            continue
        block = find_block(lines, key, attr, doc.get(key), old, new, layout)
        out: dict[tuple[str, str], str] = {}
        if block is None:
            return True
        lines_above_removed(lines, block, out)
        if out:
            return True
    return False


def _between(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def splice(text: str, doc: Any, layout: document.Layout, old_groups: Sequence[Group], groups: Sequence[Group],
           old_sources: Sequence[Source], sources: Sequence[Source], path: str,
           lines_above: dict[tuple[str, str], str] | None = None,
           put_back: dict[tuple[str, str], str | None] | None = None,
           put_text: dict[tuple[str, str], str] | None = None) -> str | None:
    """The text of *doc* (whose dump in *layout* is *text*) changed to hold *groups* and *sources*; ``None`` when
    it cannot be proven (the tree untouched). Raises :class:`Dirty` (the tree untouched too) when an item did not
    read back. *lines_above*: as :func:`lines_above_removed`'s *out*; *put_back*: as :func:`put_back_places`'s;
    *put_text*: as :func:`render_items`'."""
    if not isinstance(doc, CommentedMap) or _commented_top(doc):
        return None
    lines = text.splitlines(True)
    blocks: list[_Block] = []
    for key, attr, old, new in (("groups", "id", old_groups, groups), ("sources", "ip", old_sources, sources)):
        if list(old) == list(new):
            continue
        block = find_block(lines, key, attr, doc.get(key), old, new, layout)
        if block is None or not _plan(lines, block, layout):
            return None
        if block.changed:
            blocks.append(block)
    lifts = [put_back_places(lines, b, put_back or {}) for b in blocks]
    carried = [carried_lines(lines, b, layout, path) for b in blocks]
    if any(lift is None for lift in lifts) or any(c is None or (c[0] and lift) for c, lift in zip(carried, lifts)):
        return None  # (a record put back in the same change: the item before it holding the lines is not proven)
    rendered = [_render(lines, b, layout, path, lift, c[0], put_text) for b, lift, c in zip(blocks, lifts, carried)]  # every block read back before the tree changes
    pieces: list[tuple[int, int, list[str]]] = []
    for b, (new_lines, nodes) in zip(blocks, rendered):
        b.seq.clear()
        b.seq.extend(nodes)
        pieces.append((b.starts[0], b.end, new_lines))
    out: list[str] = []
    at = 0
    for start, end, new_lines in sorted(pieces, key=lambda p: p[0]):
        out.extend(lines[at:start])
        out.extend(new_lines)
        at = end
    out.extend(lines[at:])
    if lines_above is not None:
        for b in blocks:
            lines_above_removed(lines, b, lines_above)
    return "".join(out)


def _commented_top(doc: CommentedMap) -> bool:
    """Comments on the top-level keys that hold the groups or the notes (their lines are outside any item)."""
    ca = doc.ca
    return any(k in ca.items for k in ("groups", "sources"))
