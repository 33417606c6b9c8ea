"""The labels file as YAML text: parsing, patching and rewriting with minimal diffs.

ruamel.yaml's round-trip mode keeps comments, key order, quoting and flow
style. Two things keep a rewrite down to the lines that must change:

* :func:`patch_document` edits the parsed tree in place, touching only the
  keys and list items whose value changed (a scalar keeps its quoting or
  block style, a flow list stays a flow list);
* :func:`rewrite` splices the result into the original text: ruamel
  re-emits some hand formatting differently (a flow list wrapped by hand, a
  long string folded over lines), so the text is merged three ways (original,
  re-emitted as loaded, re-emitted after the edit) and the original lines are
  kept wherever the edit did not reach (:mod:`scantui.labels.line_merge`).
  The splice is checked by parsing it back; if it does not read back to the
  same groups the plain re-emission is used instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import io
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.emitter import RoundTripEmitter
from ruamel.yaml.events import AliasEvent, ScalarEvent, SequenceEndEvent
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    ScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.timestamp import TimeStamp

from scantui.errors import InputError
from scantui.labels.kept_comments import (attach_after, detach_lines_after, holds_comments, keep_after_last, keep_between,
                                         keep_after_empty, keep_block_comments, keep_inner_end, lines_after_key,
                                         place_above, put_above)
from scantui.labels.line_merge import merge_lines
from scantui.labels.model import (
    FIELD_ORDER,
    FORMAT_VERSION,
    SOURCE_FIELD_ORDER,
    VERSION_KEY,
    Group,
    Scan,
    Source,
    parse_member,
    show,
    to_utc,
)
from scantui.labels.validate import Tagged, check_labels, plain

#: Comment and blank lines by item: ``("groups", id)`` or ``("sources", ip)`` to the lines' text.
Lines = dict[tuple[str, str], str]
#: Flow lists (``[a, b, ...]``) break before an item that would end past this column; nothing else is wrapped.
WRAP_WIDTH = 100
_UTC_Z = dt.timezone(dt.timedelta(0), "Z")


class Layout:
    """Indentation of a file, guessed from its text so a rewrite keeps it."""

    def __init__(self, mapping: int = 2, sequence: int = 4, offset: int = 2, explicit_start: bool = False):
        self.mapping, self.sequence, self.offset, self.explicit_start = mapping, sequence, offset, explicit_start

    @classmethod
    def guess(cls, text: str) -> Layout:
        layout = cls(explicit_start=bool(re.match(r"(?:[ \t]*(?:#[^\n]*)?\n)*---", text)))
        item = re.search(r"^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*( *)(- +)\S", text, re.M)
        if item:
            # a block sequence under a key: where its "-" sits and where the item's content starts
            layout.offset = len(item.group(2)) - len(item.group(1))
            layout.sequence = layout.offset + len(item.group(3))
        nested = re.search(r"^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n( *)[^\s#-]", text, re.M)
        if nested and len(nested.group(2)) > len(nested.group(1)):
            layout.mapping = len(nested.group(2)) - len(nested.group(1))
        return layout


#: The deepest nesting a labels file may have (a group's scan's extra data is 5 levels down).
MAX_DEPTH = 32


class _Refused(MarkedYAMLError):
    """YAML that a labels file must not hold (an anchor, an alias, deep nesting)."""


class _Composer(Composer):
    """The round-trip composer, refusing anchors, aliases and deep nesting at the first occurrence."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(problem="YAML anchors and aliases (&name, *name) are not allowed in a labels file",
                           problem_mark=event.start_mark)
        if self.depth >= MAX_DEPTH:
            raise _Refused(problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=event.start_mark)
        return super().compose_node(parent, index)


class _Constructor(RoundTripConstructor):
    """Round-trip construction where an impossible date (2024-02-30) stays text for validation to report with its line,
    and so does a word of signs and underscores that ruamel's int pattern takes (``-_``, ``0x_``: text in YAML 1.2;
    ruamel's int reader fails on it with an ``IndexError``).

    A value its explicit tag cannot read (``!!int abc``, ``!!bool x``) is a
    one-line error at its line, not the constructor's ``ValueError``.
    """

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, TypeError, OverflowError, IndexError):
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            value = node.value if isinstance(node.value, str) else "..."
            raise _Refused(problem=f"cannot read {show(value)} as {tag}", problem_mark=node.start_mark) from None

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return str(self.construct_scalar(node))


    def construct_yaml_int(self, node: Any) -> Any:
        text = str(self.construct_scalar(node))
        body = text.lstrip("+-")
        if not body[2 if body[:2] in ("0x", "0o", "0b") else 0:].replace("_", ""):
            return text
        return super().construct_yaml_int(node)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)
_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)


class _Emitter(RoundTripEmitter):
    """Round-trip emission that wraps a long flow list at :data:`WRAP_WIDTH` columns, keeping every other line whole.

    A 240-member list is ~40 lines of a hundred columns rather than one line
    of 3,600 characters (or 240 lines): adding a member at its end changes its
    last line. The continuation lines are indented under the list's key.
    """

    def expect_flow_sequence_item(self) -> None:
        if isinstance(self.event, SequenceEndEvent) or self.canonical:
            return super().expect_flow_sequence_item()
        self.write_indicator(self.flow_seq_separator, False)
        width = len(self.event.value) if isinstance(self.event, ScalarEvent) and self.event.value else 0
        if self.column + 1 + width + 1 > WRAP_WIDTH:  # " item," would end past the wrap column
            self.write_indent()
        self.states.append(self.expect_flow_sequence_item)
        self.expect_node(sequence=True)


class _Representer(RoundTripRepresenter):
    """Round-trip representation that never writes an anchor: a value used twice (one day object in two scans) is written twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml(layout: Layout | None = None) -> YAML:
    layout = layout or Layout()
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.Composer = _Composer
    yaml.Representer = _Representer
    yaml.Emitter = _Emitter
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long lines: a rewrite must not reflow what it did not change
    yaml.indent(mapping=layout.mapping, sequence=max(layout.sequence, layout.offset + 2), offset=layout.offset)
    yaml.explicit_start = layout.explicit_start
    return yaml


def decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", path=path, where=f"line {line}") from None


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: building a big tree it finds nothing to free, and costs ~20 % of the parse."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse(text: str, path: str) -> Any:
    """The round-trip tree of *text*; a YAML syntax error is an :class:`InputError` with its line."""
    try:
        with no_gc():
            return _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else None
        if isinstance(exc, _Refused):
            raise InputError(str(exc.problem), path=path, where=where) from None
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "unreadable"
        raise InputError(f"YAML syntax error: {_one_line(what)}", path=path, where=where) from None
    except YAMLError as exc:
        raise InputError(f"YAML syntax error: {_one_line(str(exc))}", path=path) from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def dump(doc: Any, layout: Layout) -> str:
    out = io.StringIO()
    with no_gc():  # as in parse: ~10 % of a big file's dump, with nothing for the collector to free
        _yaml(layout).dump(doc, out)
    return out.getvalue()


def new_document() -> CommentedMap:
    doc = CommentedMap()
    doc[VERSION_KEY] = FORMAT_VERSION
    doc["groups"] = CommentedSeq()
    return doc


# -- plain values to nodes ----------------------------------------------------


def _timestamp_node(value: dt.datetime) -> TimeStamp:
    value = to_utc(value)
    node = TimeStamp(value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, tzinfo=_UTC_Z)
    node._yaml["t"] = True
    node._yaml["tz"] = "Z"
    return node


def _seq(items: Sequence[Any], flow: bool = True) -> CommentedSeq:
    seq = CommentedSeq(items)
    if flow:
        seq.fa.set_flow_style()
    else:
        seq.fa.set_block_style()
    return seq


def _block_safe(value: str) -> bool:
    """Whether a ``|`` block holds *value* exactly (several lines, printable, no edge spaces)."""
    return (
        "\n" in value.rstrip("\n")
        and all(c.isprintable() or c == "\n" for c in value)
        and not value[:1].isspace()
        and not any(line != line.rstrip() for line in value.split("\n"))
    )


def _text_node(value: str) -> Any:
    """Multi-line text as a ``|`` block when a block can hold it exactly, else a string ruamel can quote."""
    if _block_safe(value):
        return LiteralScalarString(value)
    if value.startswith(("?", ":")) or not all(c.isprintable() or c == "\n" for c in value):
        # ruamel writes these plain where they do not read back: NEL as a line break, "?x" or ": x" in flow style
        return DoubleQuotedScalarString(value)
    return value


def _node(value: Any, *, flow: bool = True) -> Any:
    """A new ruamel node for a plain model value, in the contract's style."""
    if isinstance(value, Scan):
        return _scan_node(value)
    if isinstance(value, dt.datetime):
        return _timestamp_node(value)
    if isinstance(value, str):
        return _text_node(value)
    if isinstance(value, (tuple, list)):
        if value and all(isinstance(v, Scan) for v in value):
            flow = False  # one scan a line, as in the contract: a new scan is a one-line diff
        return _seq([_node(v) for v in value], flow)
    if isinstance(value, dict):
        node = CommentedMap()
        for k, v in value.items():
            node[k] = _node(v)
        return node
    if isinstance(value, Tagged):
        return TaggedScalar(value.value, tag=value.tag)
    return value


def _scan_node(scan: Scan) -> CommentedMap:
    node = CommentedMap()
    node["port"] = scan.port
    node["day"] = scan.day
    node["sources"] = _seq(list(scan.sources), flow=True)
    for k, v in scan.extra.items():
        node[k] = _node(v)
    node.fa.set_flow_style()
    return node


def group_node(group: Group | Source) -> CommentedMap:
    node = CommentedMap()
    for key, value in group.fields().items():
        node[key] = _node(value)
    return node


def own_node(key: str, text: str | None, record: Group | Source, path: str) -> Any | None:
    """The node of an item's own lines *text* (as a removed item held them, comments inside it included), read alone,
    when they read back as exactly *record*: what an undo puts back instead of a new node (:func:`group_node`)."""
    if not text:
        return None
    head = f"{VERSION_KEY}: {FORMAT_VERSION}\n" + ("groups: []\n" if key == "sources" else "") + f"{key}:\n"
    try:
        tree = parse(head + text, path)
    except InputError:
        return None
    groups, sources, problems = check_labels(tree)
    return tree[key][0] if not problems and (groups if key == "groups" else sources) == [record] else None


# -- patching -----------------------------------------------------------------


def _model_value(key: str, node: Any) -> Any:
    """The value a group field node stands for, comparable with ``Group.fields()``."""
    value = plain(node)
    if key in ("members", "ports", "asns", "tags") and isinstance(value, list):
        return tuple(parse_member(v) for v in value) if key == "members" else tuple(value)
    if key == "scans" and isinstance(value, list):
        return tuple(Scan(v["port"], v["day"], tuple(v["sources"]), {k: x for k, x in v.items() if k not in ("port", "day", "sources")}) for v in value)
    return value


def _empty(value: Any) -> bool:
    return value is None or value == () or value == []


def patch_group(node: CommentedMap, group: Group | Source) -> None:
    """Make *node* say what *group* (or a source note) says, changing only what differs."""
    order = SOURCE_FIELD_ORDER if isinstance(group, Source) else FIELD_ORDER
    wanted = group.fields()
    below = None
    for key in list(node.keys()):
        if key not in wanted and not _empty(plain(node[key])):
            if key == list(node)[-1]:
                below = lines_after_key(node, key)
            del node[key]
    for key, value in wanted.items():
        if key in node:
            if _model_value(key, node[key]) != value:
                _set(node, key, value)
        elif not _empty(value):
            at = _insert_at(node, key, order)
            if at == len(node) and at:  # a new last key: the lines below the old last one stay below the item
                below = (below or "") + (detach_lines_after(node, list(node)[-1]) or "") or None
            node.insert(at, key, _node(value))
    if below:
        attach_after(node, below)


def _insert_at(node: CommentedMap, key: str, order: tuple[str, ...] = FIELD_ORDER) -> int:
    """Where a new key goes: after the last present key that precedes it in the canonical order."""
    if key not in order:
        return len(node)
    rank = order.index(key)
    keys = list(node.keys())
    pos = 0
    for i, k in enumerate(keys):
        if k in order and order.index(k) < rank:
            pos = i + 1
    return pos


def _set(node: CommentedMap, key: str, value: Any) -> None:
    old = node[key]
    if isinstance(value, tuple) and isinstance(old, CommentedSeq):
        _patch_seq(old, list(value), _node, lambda item: _model_value(key, [item])[0])
        return
    if isinstance(value, str) and isinstance(old, ScalarString) and _keeps_style(old, value):
        node[key] = type(old)(value)  # keep the quoting or block style the file used
        return
    node[key] = _node(value)


def _keeps_style(old: ScalarString, value: str) -> bool:
    if isinstance(old, (LiteralScalarString, FoldedScalarString)):
        return _block_safe(value)
    if isinstance(old, SingleQuotedScalarString):
        return all(c.isprintable() for c in value)
    return isinstance(old, DoubleQuotedScalarString)


def _patch_seq(seq: CommentedSeq, wanted: list[Any], make: Callable[[Any], Any], value_of: Callable[[Any], Any]) -> None:
    """Edit *seq* in place into *wanted*: drop items no longer wanted, insert new ones where they belong."""
    current = [value_of(v) for v in seq]
    keep = set(wanted)
    for i in reversed(range(len(current))):
        if current[i] not in keep:
            del seq[i]
            del current[i]
    for i, value in enumerate(wanted):
        if i < len(current) and current[i] == value:
            continue
        if value in current[i:]:  # an order change: move the item
            j = current.index(value, i)
            item = seq[j]
            del seq[j]
            del current[j]
            seq.insert(i, item)
        else:
            seq.insert(i, make(value))
        current.insert(i, value)
    while len(seq) > len(wanted):
        del seq[len(wanted)]


def patch_document(doc: CommentedMap, groups: Sequence[Group], sources: Sequence[Source] | None = None,
                   original: str | None = None, lines_above: Lines | None = None,
                   put_back: dict[tuple[str, str], str | None] | None = None, own_lines: Lines | None = None,
                   put_text: Lines | None = None) -> None:
    """Make the ``groups`` list of *doc* hold *groups*, in that order, editing in place; the same for the
    ``sources`` list and *sources* when given (the key is added only when there is a source note to hold).
    *original*: the text *doc* was parsed from, whose comment lines between items a removal keeps.
    *lines_above*, when given, gets the comment and blank lines that were right above each removed item (by
    ``("groups", id)``, ``("sources", ip)``, where known); *put_back*: the new items an undo puts back, with such
    lines (None: not known), which go above them again when they are still there
    (:func:`~scantui.labels.kept_comments.place_above`); an item put back after the last one does not go above
    the lines below that one (they were above it). *own_lines*, when given, gets the own lines of each removed item
    holding a comment inside it; *put_text*: such lines of items put back, read again when they still read back as
    the record (:func:`own_node`), so that its comments come back."""
    lines = original.splitlines(True) if original else []
    seq = doc.get("groups")
    if not isinstance(seq, CommentedSeq):
        seq = CommentedSeq()
        doc["groups"] = seq
    _patch_records(seq, groups, "id", lines, lines_above, put_back, doc, own_lines, put_text)
    if sources is None:
        return
    seq = doc.get("sources")
    if not isinstance(seq, CommentedSeq):
        if not sources:
            return
        seq = CommentedSeq()
        doc["sources"] = seq
    if not sources and len(seq):  # the last note removed (or undone): the file as it was without notes
        keep_block_comments(doc, "sources", lines)
        del doc["sources"]
        return
    _patch_records(seq, sources, "ip", lines, lines_above, put_back, doc, own_lines, put_text)


def removes_comments(doc: CommentedMap, groups: Sequence[Group], sources: Sequence[Source]) -> bool:
    """Whether making *doc* hold *groups* and *sources* removes an item holding comment or blank lines (which
    :func:`patch_document` finds in the text by the tree's line marks: the tree must be the text's parse)."""
    for key, attr, records in (("groups", "id", groups), ("sources", "ip", sources)):
        seq = doc.get(key)
        if isinstance(seq, CommentedSeq):
            wanted = {getattr(r, attr) for r in records}
            if holds_comments(seq, {i for i in range(len(seq)) if str(seq[i][attr]) not in wanted}):
                return True
    return False


def _patch_records(seq: CommentedSeq, records: Sequence[Group | Source], key: str, lines: list[str],
                   lines_above: Lines | None = None, put_back: dict[tuple[str, str], str | None] | None = None,
                   owner: Any = None, own_lines: Lines | None = None, put_text: Lines | None = None) -> None:
    list_key = "groups" if key == "id" else "sources"
    if not len(seq) and records:
        if seq.fa.flow_style() is not False and owner is not None:  # ("[]": no style read)
            keep_after_empty(owner, list_key)
        seq.fa.set_block_style()  # "groups: []" grows into one group a block
    back = {k: v for (which, k), v in (put_back or {}).items() if which == list_key}
    by_key = {str(node[key]): node for node in seq}
    wanted = {getattr(r, key) for r in records}
    below = inner = None
    last = str(seq[-1][key]) if len(seq) else None
    if (records and last in wanted and getattr(records[-1], key) != last
            and all(back.get(getattr(r, key)) is None
                    for r in records[next(i for i, r in enumerate(records) if getattr(r, key) == last) + 1:])):
        # an item will follow the last one: it goes above the lines below it (unless one put back goes below them)
        below = keep_after_last(seq, lines)
        inner = keep_inner_end(seq), str(seq[-1][key])  # (but not above the last one's own lines)
    removed = {i for i in range(len(seq)) if str(seq[i][key]) not in wanted}
    above: dict[int, str] | None = {} if lines_above is not None and removed else None
    own: dict[int, str] | None = {} if own_lines is not None and removed else None
    keep_between(seq, removed, lines, above, own)
    if above:
        lines_above.update({(list_key, str(seq[i][key])): text for i, text in above.items()})
    if own:
        own_lines.update({(list_key, str(seq[i][key])): text for i, text in own.items()})
    for i in reversed(range(len(seq))):
        if str(seq[i][key]) not in wanted:
            del seq[i]
    if not records and not len(seq) and owner is not None:
        _emptied(owner, list_key, seq)
    for i, record in enumerate(records):
        node = by_key.get(getattr(record, key))
        if node is None:
            made = own_node(list_key, (put_text or {}).get((list_key, getattr(record, key))), record, "")
            seq.insert(i, made if made is not None else group_node(record))
            if back.get(getattr(record, key)) is not None:
                place_above(seq, i, back[getattr(record, key)], lines, owner)
            continue
        patch_group(node, record)
        j = next(k for k in range(len(seq)) if seq[k] is node)
        if j != i:
            del seq[j]
            seq.insert(i, node)
    if below:
        attach_after(seq[-1], below)
    if inner and inner[0]:
        at = next(k for k in range(len(seq)) if str(seq[k][key]) == inner[1]) + 1
        put_above(seq, at, inner[0])


def _emptied(doc: CommentedMap, key: str, seq: CommentedSeq) -> None:
    """The block list of top-level *key* just lost its last item: it dumps as ``key: []``, and the comment lines
    ruamel attached above its first item (the key's before-value slot and the list's) would be written between
    ``key:`` and ``[]``, where the file no longer reads (two analysts' saves removing a file's last two groups, the
    second over a ``# comment`` line above the last: "not saved ... a scantui bug"). They headed the items and go
    with them; the key's own end-of-line comment stays."""
    seq.ca.comment = None
    slot = doc.ca.items.get(key)
    if slot is None:
        return
    for i in (1, 3):
        if len(slot) > i:
            slot[i] = None
    if not any(slot):
        del doc.ca.items[key]


# -- minimal-diff rewrite -------------------------------------------------------


def rewrite(original: str | None, doc: CommentedMap, groups: Sequence[Group], sources: Sequence[Source] | None = None,
            before: str | None = None, lines_above: Lines | None = None,
            put_back: dict[tuple[str, str], str | None] | None = None, own_lines: Lines | None = None,
            put_text: Lines | None = None) -> list[str]:
    """Candidate texts for *doc* (parsed from *original*) changed to hold *groups* (and *sources*), best first.

    The splice into the original text comes first, the plain re-emission
    second; the caller keeps the first that reads back to exactly *groups*.
    *before*: ``dump(doc)`` in *original*'s layout when the caller has it already; *lines_above*, *put_back*,
    *own_lines*, *put_text*: as :func:`patch_document`'s.
    """
    layout = Layout.guess(original) if original else Layout()
    if before is None:
        before = dump(doc, layout) if original else ""
    patch_document(doc, groups, sources, original, lines_above, put_back, own_lines, put_text)
    after = dump(doc, layout)
    if not original:
        return [after]
    spliced = "".join(merge_lines(original.splitlines(True), before.splitlines(True), after.splitlines(True)))
    return [spliced, after] if spliced != after else [after]
