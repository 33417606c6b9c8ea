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
