"""A teammate's save read item by item: only the groups and source notes whose text changed are parsed.

A labels file is a *frame* (the version key, comments, the ``groups:`` and
``sources:`` lines, other keys) and, under ``groups:`` and ``sources:``, *items*:
each from its ``- `` line (at the file's dash column) to the next one or the end
of the block. When a teammate saved, most items of the new text are, byte for
byte, items of the text we hold parsed (the kept snapshot). :func:`stitch` then
reuses their round-trip nodes and validated records, parses only the other
items, each alone (as :mod:`scantui.labels.splice` reads an item back), and puts
the nodes in the kept tree's sequences, in the new order. Those nodes are what a
whole parse gives (the same text under the same key at the same indentation;
a comment line ends the item above it, whose node holds it either way); only
their line marks are the old text's, so the store parses the whole text again
before a save that reads them (:attr:`scantui.labels.store._Snapshot.stitched`).

It declines (``None``; the caller reads the whole text) unless the frames are the
same bytes, each item starts with its id (``- id:``/``- ip:``), the kept tree's
sequences hold no comment of their own (``seq.ca.items``), and every item parsed
anew holds no comment or blank line (whose place in a tree read alone could
differ) and reads back as exactly one valid record; the ids must stay unique.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from scantui.labels import document
from scantui.labels.model import Group, Source
from scantui.labels.splice import item_tree
from scantui.labels.validate import check_labels

_BLOCKS = (("groups", "id"), ("sources", "ip"))


@dataclass(frozen=True)
class Split:
    """A text cut into its frame (the text outside the items, with a mark where each block's items were) and the
    items of each block, in order."""

    frame: tuple[str, ...]
    items: dict[str, list[str]]


def split(text: str, layout: document.Layout) -> Split | None:
    """*text* as frame and items; ``None`` when an item does not start with its id."""
    lines = text.splitlines(True)
    prefix = " " * layout.offset + "- "
    frame: list[str] = []
    items: dict[str, list[str]] = {}
    k = 0
    heads = {f"{key}:\n": (key, attr) for key, attr in _BLOCKS}
    while k < len(lines):
        line = lines[k]
        k += 1
        frame.append(line)
        if line not in heads or heads[line][0] in items:
            continue
        key, attr = heads[line]
        chunks: list[list[str]] = []
        # (the block's lines as find_block has them: indented, blank, or at column 0 when the dashes are there)
        while k < len(lines) and (lines[k][:1] == " " or lines[k] == "\n" or (not layout.offset and lines[k][:1] in "-#")):
            if lines[k].startswith(prefix):
                if not lines[k].startswith(f"{prefix}{attr}: "):
                    return None
                chunks.append([])
            (chunks[-1] if chunks else frame).append(lines[k])
            k += 1
        items[key] = ["".join(c) for c in chunks]
        frame.append("\0")  # where the items were
    return Split(tuple(frame), items)


def _alone(key: str, text: str, path: str) -> tuple[Any, Group | Source] | None:
    """The node and the record of one item's lines read alone, when they hold one valid record."""
    tree = item_tree(key, text, path)
    if tree is None:
        return None
    groups, sources, problems = check_labels(tree)
    records = groups if key == "groups" else sources
    if problems or len(records) != 1 or not isinstance(tree.get(key), CommentedSeq) or len(tree[key]) != 1:
        return None
    return tree[key][0], records[0]


def stitch(old_text: str, doc: Any, groups: list[Group], sources: list[Source], text: str,
           path: str) -> tuple[Any, list[Group], list[Source]] | None:
    """The tree, groups and sources of *text*, from *doc* (the tree of *old_text*, whose records are *groups* and
    *sources*) with only the changed items parsed; ``None`` when not proven (see the module's docstring). *doc* is
    changed in place only when the result is returned: the caller must not use it for *old_text* again."""
    layout = document.Layout.guess(text)
    if not isinstance(doc, CommentedMap) or vars(layout) != vars(document.Layout.guess(old_text)):
        return None
    old, new = split(old_text, layout), split(text, layout)
    if old is None or new is None or old.frame != new.frame:
        return None
    out: dict[str, tuple[list[Any], list[Any]]] = {}
    for key, attr in _BLOCKS:
        if key not in new.items:
            continue
        seq, records = doc.get(key), groups if key == "groups" else sources
        kept = old.items[key]
        if (not isinstance(seq, CommentedSeq) or seq.ca.items or len(seq) != len(kept) or len(records) != len(kept)
                or any(str(node.get(attr)) != getattr(r, attr) for node, r in zip(seq, records))):
            return None
        at = {chunk: i for i, chunk in enumerate(kept)}
        nodes, made = [], []
        for chunk in new.items[key]:
            i = at.pop(chunk, None)
            if i is not None:
                nodes.append(seq[i])
                made.append(records[i])
                continue
            if "#" in chunk or "\n\n" in chunk:
                return None
            read = _alone(key, chunk, path)
            if read is None:
                return None
            nodes.append(read[0])
            made.append(read[1])
        if len({getattr(r, attr) for r in made}) != len(made):
            return None  # a duplicate id: the whole parse says where
        out[key] = nodes, made
    if set(out) != {key for key, _ in _BLOCKS if isinstance(doc.get(key), CommentedSeq)}:
        return None
    for key, (nodes, _) in out.items():
        seq = doc[key]
        seq.clear()
        seq.extend(nodes)
    return doc, out["groups"][1] if "groups" in out else [], out["sources"][1] if "sources" in out else []
