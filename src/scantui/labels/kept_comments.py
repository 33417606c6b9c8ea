"""The comment and blank lines between items that a removed item must not take with it.

ruamel attaches the comment lines above item N to the end of item N-1 (the
last value's end-of-line slot, a nested list's end, ...), or to item N itself;
removing item N-1 from the tree would drop the lines above item N. Before the
removal, :func:`keep_between` copies, from the text the tree was parsed from,
the comment and blank lines that follow each removed item (the lines above the
next one) and the lines above the first removed item that ruamel attached to it
to the kept item below (a comment before it) or to the end of the list.

What goes with a removed item: only what is inside it (end-of-line comments,
comments between its fields). The lines above it stay, above the next item.

An item added after the last one goes above the comment lines that follow the
list (``# notes\nsources:``, ``# the end``): :func:`keep_after_last` takes
them from the last item, where ruamel attached them, :func:`attach_after` puts
them below the new last item.
"""

from __future__ import annotations

from typing import Any, Iterator

from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken


def _tokens(value: Any) -> Iterator[Any]:
    if isinstance(value, CommentToken):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _tokens(v)


def _node_tokens(node: Any) -> Iterator[Any]:
    ca = getattr(node, "ca", None)
    if ca is not None:
        yield from _tokens(ca.comment)
        for slot in ca.items.values():
            yield from _tokens(slot)
        yield from _tokens(getattr(ca, "end", None))
    if isinstance(node, dict):
        for v in node.values():
            yield from _node_tokens(v)
    elif isinstance(node, list):
        for v in node:
            yield from _node_tokens(v)


def _covered(seq: CommentedSeq, lines: list[str]) -> set[int]:
    """The numbers of the lines that hold only a comment or nothing, by the tokens ruamel read them into."""
    out: set[int] = set()
    for token in _node_tokens(seq):
        mark = getattr(token, "start_mark", None)
        line = getattr(mark, "line", None)  # (a comment made here, not read, has a column only)
        if line is None or not 0 <= line < len(lines):
            continue
        col = mark.column
        first = line if not lines[line][:col].strip() else line + 1
        out.update(range(first, line + token.value.count("\n")))
    return out


def _token(text: str) -> CommentToken:
    indent = len(text) - len(text.lstrip(" "))
    return CommentToken(text[indent:], CommentMark(indent), None)


def holds_comments(seq: CommentedSeq, removed: set[int]) -> bool:
    """Whether an item of *removed* holds a comment or blank line (else :func:`keep_between` has nothing to do and
    does not read the text or the tree's line marks)."""
    return any(i in seq.ca.items or next(_node_tokens(seq[i]), None) is not None for i in removed)


def keep_between(seq: CommentedSeq, removed: set[int], lines: list[str]) -> None:
    """Before items *removed* (indexes) are deleted from *seq* (parsed from *lines*), move the comment and blank
    lines between items that they hold to the kept item below them, or the list's end."""
    n = len(seq)
    if not holds_comments(seq, removed) or not lines or any(seq.lc.data.get(i) is None for i in range(n)):
        return
    covered = _covered(seq, lines)
    starts = [seq.lc.item(i)[0] for i in range(n)]
    dash = seq.lc.item(0)[1] - 2 if n else 0
    i = 0
    while i < n:
        if i not in removed:
            i += 1
            continue
        first = i
        while i < n and i in removed:
            i += 1
        kept: list[str] = []
        pre = seq.ca.items.get(first)
        if pre and len(pre) > 1 and pre[1]:  # the lines above the run's first item, attached to it
            for token in _tokens(pre[1]):
                kept.extend((" " * token.start_mark.column + token.value).splitlines(True))
        for r in range(first, i):
            end = starts[r + 1] if r + 1 < n else _item_end(lines, starts[r], dash, covered)
            top = end
            while top - 1 > starts[r] and top - 1 in covered:
                top -= 1
            kept.extend(lines[top:end])
        if not kept:
            continue
        token = _token("".join(kept))
        if i < n:
            slot = seq.ca.items.setdefault(i, [None, None, None, None])
            slot[1] = [token]
        else:
            end_tokens = getattr(seq.ca, "end", None) or []
            seq.ca.end = [*end_tokens, token]


def _item_end(lines: list[str], start: int, dash: int, covered: set[int]) -> int:
    """The line after the last item's own lines and the comment lines below it (the next key, or the end)."""
    k = start + 1
    while k < len(lines) and (k in covered or len(lines[k]) - len(lines[k].lstrip(" ")) > dash):
        k += 1
    return k


def keep_block_comments(doc: Any, key: str, before: str, lines: list[str]) -> None:
    """Before the top-level *key* (a block list, the last key, right after the block list *before*) is deleted
    from *doc*: its comment and blank lines outside its items go to the end of *before*'s list (the ``key:`` line
    and the items go)."""
    seq, above = doc.get(key), doc.get(before)
    keys = list(doc)
    if (not lines or not isinstance(seq, CommentedSeq) or not isinstance(above, CommentedSeq) or not len(seq)
            or keys[-2:] != [before, key] or above.fa.flow_style() or any(seq.lc.data.get(i) is None for i in range(len(seq)))):
        return
    covered = _covered(seq, lines)
    for token in _tokens(doc.ca.items.get(key)):
        line = getattr(token.start_mark, "line", None)
        if line is not None:
            covered.update(range(line, line + token.value.count("\n")))
    starts = [seq.lc.item(i)[0] for i in range(len(seq))]
    dash = seq.lc.item(0)[1] - 2
    kept: list[str] = []
    k = starts[0]
    while k - 1 in covered:
        k -= 1
    kept.extend(lines[k:starts[0]])
    for r in range(len(seq)):
        end = starts[r + 1] if r + 1 < len(seq) else _item_end(lines, starts[r], dash, covered)
        top = end
        while top - 1 > starts[r] and top - 1 in covered:
            top -= 1
        kept.extend(lines[top:end])
    if kept:
        above.ca.end = [*(getattr(above.ca, "end", None) or []), _token("".join(kept))]


def _last_token(node: Any) -> tuple[list[Any], int] | None:
    """The slot (list, index) of the comment token ruamel attached after the last value of *node* (an item)."""
    while True:
        if isinstance(node, dict) and len(node):
            key = list(node)[-1]
            child, slot, at = node[key], node.ca.items.get(key), 2
        elif isinstance(node, list) and len(node) and hasattr(node, "ca"):
            key = len(node) - 1
            child, slot, at = node[key], node.ca.items.get(key), 0
        else:
            return None
        if slot and len(slot) > at and isinstance(slot[at], CommentToken):
            return slot, at
        if not hasattr(child, "ca") or not len(child) or getattr(child, "fa", None) is None or child.fa.flow_style():
            return None
        node = child


def keep_after_last(seq: CommentedSeq, lines: list[str]) -> str | None:
    """Before items are added after the last item of *seq* (parsed from *lines*): the comment and blank lines below
    that item at the list's dash column or left of it, which ruamel attached to its last value, taken from it and
    returned, for :func:`attach_after` to put below the new last item (they head what follows the list)."""
    n = len(seq)
    if not n or not lines or seq.lc.data.get(0) is None:  # (the first item's column: the dashes')
        return None
    found = _last_token(seq[n - 1])
    if found is None:
        return None
    slot, at = found
    token = slot[at]
    mark = getattr(token, "start_mark", None)
    line = getattr(mark, "line", None)
    dash = seq.lc.item(0)[1] - 2
    parts = token.value.splitlines(True)
    if line is None:  # made by attach_after on an earlier save of this tree: the line end, then the lines as they were
        if not token.value.startswith("\n") and not token.value.lstrip(" ").startswith("#"):
            return None
        texts, first = parts, 1
    else:
        if token.value.startswith("\n"):  # the value's line end, blank lines, the first comment on the mark's line
            j = next((k for k in range(1, len(parts)) if parts[k].strip()), None)
            if j is None:
                return None
            line, first = line - j, 1
        else:  # an end-of-line comment stays on its line
            first = 1 if 0 <= line < len(lines) and lines[line][:mark.column].strip() else 0
        if line < 0 or line + len(parts) > len(lines) or any(
                lines[line + k].strip() != parts[k].strip() for k in range(first, len(parts))):
            return None  # the token is not the text's lines: leave it
        texts = lines[line:line + len(parts)]
    k = len(parts)
    while k > first and (not texts[k - 1].strip() or _outside(texts[k - 1], dash)):
        k -= 1
    if k == len(parts):
        return None
    moved = "".join(texts[k:])
    if k:
        token.value = "".join(parts[:k])
    else:
        slot[at] = None
    return moved


def attach_after(node: Any, text: str) -> None:
    """Put the comment and blank lines *text* below *node* (a new last item: a mapping of scalars), where ruamel
    would have attached them when reading (its last value's end-of-line slot, the line's end first)."""
    if not isinstance(node, dict) or not len(node):
        return
    key = list(node)[-1]
    slot = node.ca.items.setdefault(key, [None, None, None, None])
    old = slot[2].value if isinstance(slot[2], CommentToken) else "\n"
    slot[2] = CommentToken(old + text, CommentMark(0), None)


def _outside(line: str, dash: int) -> bool:
    text = line.lstrip(" ")
    return text.startswith("#") and len(line) - len(text) <= dash
