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

from typing import Any, Callable, Iterator

from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString
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
    return _lines_of(list(_node_tokens(seq)), lines)


def _lines_of(tokens: Any, lines: list[str]) -> set[int]:
    """The numbers of the whole lines that *tokens* (read from *lines*) hold."""
    out: set[int] = set()
    for token in _tokens(tokens):
        mark = getattr(token, "start_mark", None)
        line = getattr(mark, "line", None)  # (a comment made here, not read, has a column only)
        if line is None or not 0 <= line < len(lines):
            continue
        parts = token.value.splitlines(True)
        j = next((k for k in range(1, len(parts)) if parts[k].strip()), None) if token.value.startswith("\n") else None
        if j is not None:  # the value's line end, blank lines, then the first comment on the mark's line
            out.update(range(line - (j - 1), line + len(parts) - j))
        else:
            first = line if not lines[line][:mark.column].strip() else line + 1
            out.update(range(first, line + token.value.count("\n")))
    return out


def set_end(seq: Any, tokens: list[Any]) -> None:
    """Set the comment lines below the block list *seq* (its end). ruamel writes them only when the list has a
    comment slot (``ca.comment``, None when the list was read without a comment on its key's line): else they
    were dropped from the file (the lines between two notes deleted at once, ``sources:`` last)."""
    seq.ca.end = tokens
    if tokens and seq.ca.comment is None:
        seq.ca.comment = [None, None]


def _token(text: str) -> CommentToken:
    indent = len(text) - len(text.lstrip(" "))
    return CommentToken(text[indent:], CommentMark(indent), None)


def holds_comments(seq: CommentedSeq, removed: set[int]) -> bool:
    """Whether an item of *removed* holds a comment or blank line (else :func:`keep_between` has nothing to do and
    does not read the text or the tree's line marks)."""
    return any(i in seq.ca.items or next(_node_tokens(seq[i]), None) is not None for i in removed)


def keep_between(seq: CommentedSeq, removed: set[int], lines: list[str], above: dict[int, str] | None = None,
                 own: dict[int, str] | None = None) -> None:
    """Before items *removed* (indexes) are deleted from *seq* (parsed from *lines*), move the comment and blank
    lines between items that they hold to the kept item below them, or the list's end. *above*, when given, gets
    the comment and blank lines right above each removed item (what an undo puts back above it:
    :func:`place_above`), for those with such lines above them or above the next item. *own*, when given, gets the
    lines of each removed item that holds a comment inside it (above the comment and blank lines below it, which
    stay): what an undo puts back as they were."""
    n = len(seq)
    if (not holds_comments(seq, removed) and above is None) or not lines or any(seq.lc.data.get(i) is None for i in range(n)):
        return
    covered = _covered(seq, lines)
    starts = [seq.lc.item(i)[0] for i in range(n)]
    if above is not None:
        for r in removed:
            top = starts[r]
            while top - 1 > (starts[r - 1] if r else -1) and top - 1 in covered:
                top -= 1
            # (else it goes back where a new item goes: no lines to place; "" when the lines to place are above
            # an item after it, removed too, or the next kept one: it goes back above them)
            k = next((k for k in range(r + 1, n) if k not in removed), n)  # the next kept item
            if top < starts[r] or any(starts[j] - 1 > starts[j - 1] and starts[j] - 1 in covered for j in range(r + 1, min(k + 1, n))):
                above[r] = "".join(lines[top:starts[r]])
        if not holds_comments(seq, removed):
            return
    if own is not None:
        for r in removed:
            end = starts[r + 1] if r + 1 < n else _item_end(lines, starts[r], seq.lc.item(0)[1] - 2, covered)
            top = end
            while top - 1 > starts[r] and top - 1 in covered:
                top -= 1
            if _lines_of(list(_node_tokens(seq[r])), lines) & set(range(starts[r], top)) or any(
                    getattr(getattr(t, "start_mark", None), "line", -1) in range(starts[r], top) for t in _node_tokens(seq[r])):
                own[r] = "".join(lines[starts[r]:top])
    at_end = _lines_of(getattr(seq.ca, "end", None), lines)
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
            kept.extend(lines[k] for k in range(top, end) if k not in at_end)
        if not kept:
            continue
        token = _token("".join(kept))
        if i < n:
            slot = seq.ca.items.setdefault(i, [None, None, None, None])
            slot[1] = [token]
        else:  # above the lines the list's end holds already (they stay there, below the last kept item)
            set_end(seq, [token, *(getattr(seq.ca, "end", None) or [])])


def _item_end(lines: list[str], start: int, dash: int, covered: set[int]) -> int:
    """The line after the last item's own lines and the comment lines below it (the next key, or the end)."""
    k = start + 1
    while k < len(lines) and (k in covered or len(lines[k]) - len(lines[k].lstrip(" ")) > dash):
        k += 1
    return k


def keep_block_comments(doc: Any, key: str, lines: list[str]) -> None:
    """Before the top-level *key* (a block list, not the first key) is deleted from *doc*: its comment and blank
    lines outside its items stay where they were, below the key before it (at the end of its list when it is a
    block list, else after its value's line), wherever *key* sits (the ``key:`` line and the items go)."""
    seq, keys = doc.get(key), list(doc)
    if not lines or not isinstance(seq, CommentedSeq) or not len(seq) or keys.index(key) == 0 or any(
            seq.lc.data.get(i) is None for i in range(len(seq))):
        return
    before = keys[keys.index(key) - 1]
    above = doc[before]
    if isinstance(above, CommentedSeq) and len(above) and not above.fa.flow_style():
        def put(text: str) -> None:
            set_end(above, [*(getattr(above.ca, "end", None) or []), _token(text)])
    elif not isinstance(above, (dict, list, LiteralScalarString, FoldedScalarString)):
        def put(text: str) -> None:  # the lines below a scalar's line: its end-of-line slot, the line's end first
            slot = doc.ca.items.setdefault(before, [None, None, None, None])
            old = slot[2].value if isinstance(slot[2], CommentToken) else "\n"
            slot[2] = CommentToken(old + text, CommentMark(0), None)
    else:
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
        put("".join(kept))


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
    found = _below(seq, len(seq) - 1, lines, everything=False)
    if found is None:
        return None
    moved, take = found
    take()
    return moved


def keep_inner_end(seq: CommentedSeq) -> str | None:
    """Before items are added after the last item of *seq*: the first comment lines of the list's end (where ruamel
    puts the lines below a last item whose last value is a flow list) that are indented deeper than the dashes,
    taken from it: they are the last item's, and go above the first new item (else below the new items)."""
    end = getattr(seq.ca, "end", None)
    if not end or not len(seq) or seq.lc.data.get(0) is None or not all(
            isinstance(t, CommentToken) and getattr(t.start_mark, "column", None) is not None for t in end):
        return None
    dash = seq.lc.item(0)[1] - 2
    texts = "".join(" " * t.start_mark.column + t.value for t in end).splitlines(True)
    k = 0
    while k < len(texts) and texts[k].strip() and not _outside(texts[k], dash):
        k += 1
    if not k:
        return None
    rest = "".join(texts[k:])
    set_end(seq, [_token(rest)] if rest else [])
    return "".join(texts[:k])


def put_above(seq: CommentedSeq, i: int, text: str) -> None:
    """Write the comment lines *text* above item *i* of *seq*."""
    seq.ca.items.setdefault(i, [None, None, None, None])[1] = [_token(text)]


def keep_after_empty(doc: Any, key: str) -> None:
    """Before the first item is added to the empty flow list of top-level *key* (``groups: []  # none yet``): the
    comment lines below the key's line, which ruamel attached to it, go below the new items (they head what
    follows); the key's own end-of-line comment stays on its line."""
    slot = doc.ca.items.get(key)
    token = slot[2] if slot and len(slot) > 2 else None
    seq = doc.get(key)
    if not isinstance(token, CommentToken) or not isinstance(seq, CommentedSeq) or "\n" not in token.value:
        return
    own, rest = token.value.split("\n", 1)
    if rest.strip():
        token.value = own + "\n"
        set_end(seq, [*(getattr(seq.ca, "end", None) or []), _token(rest)])


def _below(seq: CommentedSeq, item: int, lines: list[str], *, everything: bool) -> tuple[str, Callable[[], None]] | None:
    """The comment and blank lines below item *item* of *seq* (parsed from *lines*) that ruamel attached to its last
    value (*everything*: all of them; else the last ones at the list's dash column or left of it), and how to take
    them from it; None when there are none or the token is not the text's lines."""
    if not 0 <= item < len(seq) or not lines or seq.lc.data.get(0) is None:  # (the first item's column: the dashes')
        return None
    dash = seq.lc.item(0)[1] - 2
    found = _last_token(seq[item])
    if found is None:
        return _below_nested(seq[item], dash, everything)
    slot, at = found
    token = slot[at]
    mark = getattr(token, "start_mark", None)
    line = getattr(mark, "line", None)
    parts = token.value.splitlines(True)
    if line is None:  # made by attach_after on an earlier save of this tree: the line end, then the lines as they were
        if not token.value.startswith("\n") and not token.value.lstrip(" ").startswith("#"):
            return None
        texts, first = parts, 1
    elif token.value.startswith("\n") and not token.value.strip():  # the value's line end, then blank lines
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
    k = first if everything else len(parts)
    while k > first and (not texts[k - 1].strip() or _outside(texts[k - 1], dash)):
        k -= 1
    if k == len(parts):
        return None

    def take() -> None:
        if k:
            token.value = "".join(parts[:k])
        else:
            slot[at] = None

    return "".join(texts[k:]), take


def _below_nested(node: Any, dash: int, everything: bool) -> tuple[str, Callable[[], None]] | None:
    """:func:`_below` when ruamel put the lines at the end of a block list that is the item's last value (or that
    value's last value...): ``scans:`` then the lines below its last entry."""
    while True:
        if isinstance(node, list) and getattr(node.ca, "end", None):
            break
        if isinstance(node, dict) and len(node):
            node = node[list(node)[-1]]
        elif isinstance(node, list) and len(node):
            node = node[-1]
        else:
            return None
        if not hasattr(node, "ca") or not len(node) or getattr(node, "fa", None) is None or node.fa.flow_style():
            return None
    tokens = node.ca.end
    if not all(isinstance(t, CommentToken) and getattr(t.start_mark, "column", None) is not None for t in tokens):
        return None
    texts = "".join(" " * t.start_mark.column + t.value for t in tokens).splitlines(True)
    k = 0 if everything else len(texts)
    while k > 0 and (not texts[k - 1].strip() or _outside(texts[k - 1], dash)):
        k -= 1
    if k == len(texts):
        return None

    def take() -> None:
        set_end(node, [_token("".join(texts[:k]))] if k else [])

    return "".join(texts[k:]), take


def place_above(seq: CommentedSeq, i: int, text: str, lines: list[str], owner: Any = None) -> None:
    """Put new item *i* of *seq* (an item put back by an undo) below the comment and blank lines *text* (those that
    were above it when it was removed: the removal kept them, above the next item) when the lines between item
    *i - 1* and the next (or the list's end) start with them; the rest of those lines go below it. Else nothing
    changes (ruamel's place: below the lines attached to item *i - 1*, above those of the next). *owner*: the
    mapping holding *seq* (its key's comment slot is the list's, above the first item)."""
    above = _below(seq, i - 1, lines, everything=True) if i else None
    if i and above is None and _last_token(seq[i - 1]) is not None:
        return  # lines below item i - 1 not read: its place is not known
    # (above the first item: the lines below the list's key, which ruamel holds in the list's comment, after the
    # key's end-of-line comment when it has one)
    head = seq.ca.comment[1] if not i and seq.ca.comment and len(seq.ca.comment) > 1 and seq.ca.comment[1] else []
    key_line = seq.ca.comment[0] if not i and seq.ca.comment and isinstance(seq.ca.comment[0], CommentToken) else None
    if key_line is not None:
        if head or "\n" not in key_line.value:
            return
        own = key_line.value[:key_line.value.index("\n") + 1]
        above = key_line.value[len(own):], lambda: setattr(key_line, "value", own + text)
    last = i + 1 >= len(seq)
    slot = None if last else seq.ca.items.get(i + 1)
    tokens = (getattr(seq.ca, "end", None) or []) if last else (slot[1] if slot and len(slot) > 1 and slot[1] else [])
    if not all(isinstance(t, CommentToken) for t in (*head, *tokens)):
        return
    gap = (above[0] if above else "") + "".join(" " * t.start_mark.column + t.value for t in (*head, *tokens))
    if not gap.startswith(text) or (head and not text and owner is None):
        return
    if above:
        above[1]()
    if key_line is not None:
        pass  # (the lines above the first item follow the key's comment: *text* put there by above[1])
    elif head and text:
        head[:] = [_token(text)]  # (the same list as the key's comment slot: changed in place)
    elif head:  # (an empty list would be written as a flow list's start)
        seq.ca.comment[1] = None
        for slot in getattr(getattr(owner, "ca", None), "items", {}).values():
            if len(slot) > 3 and slot[3] is head:
                slot[3] = None
    elif text:
        seq.ca.items[i] = [None, [_token(text)], None, None]
    rest = gap[len(text):]
    if last:
        set_end(seq, [_token(rest)] if rest else [])
    elif rest:
        seq.ca.items.setdefault(i + 1, [None, None, None, None])[1] = [_token(rest)]
    elif slot is not None:
        slot[1] = None


def lines_after_key(node: Any, key: Any) -> str | None:
    """The comment and blank lines below the value of *key* (the last key of *node*, an item) that ruamel attached
    to it (its end-of-line slot, after the line's end): before the key is deleted, so that :func:`attach_after`
    puts them below the item's new last value (else they went with the key: '# notes' above ``sources:``)."""
    slot = node.ca.items.get(key)
    token = slot[2] if slot and len(slot) > 2 else None
    if not isinstance(token, CommentToken) or isinstance(node[key], (dict, list)) and not _flow(node[key]):
        return None
    text = token.value
    end = text.find("\n")
    return text[end + 1:] if 0 <= end < len(text) - 1 else None


def detach_lines_after(node: Any, key: Any) -> str | None:
    """:func:`lines_after_key`, taken off *key* (its line's own end and comment stay): before a key is added below
    it, so that :func:`attach_after` puts them below the new last key (else ruamel wrote them above it: the comment
    heading the next item landed inside this one)."""
    value = node[key]
    if isinstance(value, (LiteralScalarString, FoldedScalarString)):
        # below a block of text the slot holds only the lines after it (the block's own line ends are its text);
        # a first comment line right below it starts the token, its indent kept as the token's column
        slot = node.ca.items.get(key)
        token = slot[2] if slot and len(slot) > 2 else None
        if not isinstance(token, CommentToken) or not token.value:
            return None
        text = token.value if token.value.startswith("\n") else " " * token.start_mark.column + token.value
        slot[2] = None
        return text
    if isinstance(value, list) and hasattr(value, "ca") and len(value) and not _flow(value):
        slot = value.ca.items.get(len(value) - 1)  # below a block list: its last item's slot, after the item's line
        token = slot[0] if slot else None
        end = token.value.find("\n") if isinstance(token, CommentToken) else -1
        text = token.value[end + 1:] if 0 <= end < len(token.value) - 1 else None
    else:
        text = lines_after_key(node, key)
        token = node.ca.items[key][2] if text else None
    if text:
        token.value = token.value[: len(token.value) - len(text)]
    return text


def _flow(value: Any) -> bool:
    fa = getattr(value, "fa", None)
    return fa is not None and fa.flow_style()


def attach_after(node: Any, text: str) -> None:
    """Put the comment and blank lines *text* below *node* (a new last item: a mapping of scalars), where ruamel
    would have attached them when reading (its last value's end-of-line slot, the line's end first)."""
    if not isinstance(node, dict) or not len(node):
        return
    key = list(node)[-1]
    value = node[key]
    if isinstance(value, list) and hasattr(value, "ca") and len(value) and not _flow(value):
        set_end(value, [*(getattr(value.ca, "end", None) or []), _token(text)])  # below a block list: at its end
        return
    slot = node.ca.items.setdefault(key, [None, None, None, None])
    if isinstance(value, (LiteralScalarString, FoldedScalarString)) and not isinstance(slot[2], CommentToken):
        slot[2] = _token(text)  # below a block of text: the lines as they are, its own line end written already
        return
    if isinstance(value, dict) and not _flow(value):
        return
    kept = slot[2] if isinstance(slot[2], CommentToken) else None
    # (the kept token's mark holds its end-of-line comment's column: '  # why' stays two spaces after its value)
    slot[2] = CommentToken((kept.value if kept else "\n") + text, kept.start_mark if kept else CommentMark(0), None)


def _outside(line: str, dash: int) -> bool:
    text = line.lstrip(" ")
    return text.startswith("#") and len(line) - len(text) <= dash
