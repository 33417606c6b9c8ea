"""The data of a labels file read with libyaml (C), for files where that gives exactly what the round-trip parse gives.

The round-trip parse (:func:`scantui.labels.document.parse`, pure Python, so that
comments and quoting survive a save) costs ~0.2 ms a line: seconds for a team's
file of thousands of groups. Opening, listing and re-reading a file a teammate
saved need only its values, which libyaml composes ~50x faster. :func:`read_data`
returns them as plain Python (dicts, lists, str, int, float, bool, None, date,
datetime), the same values :func:`scantui.labels.validate.plain` makes of the
round-trip tree, or ``None`` where it cannot vouch for that; the caller then parses
round-trip as before (which also gives every error its line).

libyaml reads YAML 1.1 and the round-trip parse YAML 1.2, so libyaml only splits
the text into nodes here: every plain scalar is resolved by ruamel's own 1.2 rules
(:data:`ruamel.yaml.resolver.implicit_resolvers`) and built as ruamel's round-trip
constructor builds it; a form whose value this module does not build exactly as
that constructor (an integer in octal, hex or with ``_``, an infinite float, a merge
key) declines. So do texts that may hold what the round-trip parse refuses or reads
differently: an anchor, an alias or a tag (``&``, ``*``, ``!`` opening a word), a
directive, a tab, a carriage return or another character YAML 1.1 and 1.2 break
lines at or treat otherwise, a duplicate key, a key that is not a scalar, nesting
deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

try:
    from yaml.cyaml import CParser as _CParser  # libyaml through PyYAML; without it every read is round-trip
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode
    from yaml.resolver import BaseResolver
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.resolver import implicit_resolvers
from ruamel.yaml.util import create_timestamp

from scantui.labels.document import no_gc
from scantui.labels.model import plain_time

#: Deeper nesting declines (the round-trip parse refuses 32 levels; a labels file has about 6).
MAX_DEPTH = 24

# A word opened by an anchor, alias or tag; a directive; characters the two YAML versions read differently, or that
# libyaml and ruamel may scan differently (tabs, carriage returns, NEL and the Unicode line separators, controls).
_DECLINE = re.compile(r"(?:^|[\s\[\]{},])[&*!]|^%|<<|[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]",
                      re.M)
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+\Z")
_TRUE = ("true", "True", "TRUE")
_STR, _BOOL, _NULL, _INT_TAG, _FLOAT_TAG, _TIME = (f"tag:yaml.org,2002:{t}" for t in ("str", "bool", "null", "int", "float",
                                                                                     "timestamp"))
_TIMESTAMP = re.compile(SafeConstructor.timestamp_regexp.pattern, SafeConstructor.timestamp_regexp.flags)

#: ruamel's YAML 1.2 implicit resolvers by a plain scalar's first character, in ruamel's order (compiled here: ruamel
#: wraps each in a lazily compiling object that costs an attribute lookup a match).
_RESOLVERS: dict[str, list[tuple[str, Any]]] = {}
for _versions, _tag, _regexp, _firsts in implicit_resolvers:
    if (1, 2) in _versions:
        for _first in _firsts:
            _RESOLVERS.setdefault(_first, []).append((_tag, re.compile(_regexp.pattern, _regexp.flags)))


class _Decline(Exception):
    """The text holds something this reader does not build exactly as the round-trip parse."""


if _CParser is not None:
    class _Loader(_CParser, BaseResolver):
        """libyaml's parser and composer; every scalar left as text (resolved below, by YAML 1.2's rules)."""

        def __init__(self, text: str):
            _CParser.__init__(self, text)

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            return ""  # (not read: _value goes by the node's kind and style)


def _tag_of(text: str) -> str:
    tag = _SEEN.get(text)
    if tag is None:
        if len(_SEEN) >= 100_000:
            _SEEN.clear()
        tag = _SEEN[text] = _resolved(text)
    return tag


_SEEN: dict[str, str] = {}  # plain scalars' tags already found (verdicts, days, tags repeat)


def _resolved(text: str) -> str:
    for tag, regexp in _RESOLVERS.get(text[:1], ()):  # ("" holds the empty scalar's: null)
        if regexp.match(text):
            return tag
    return _STR


def _scalar(node: Any) -> Any:
    text = node.value
    if node.style:  # quoted or a block scalar: text (libyaml says "" for plain)
        return text
    tag = _tag_of(text)
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return text in _TRUE
    if tag == _INT_TAG and _INT.match(text):
        return int(text)
    if tag == _FLOAT_TAG and _FLOAT.match(text):
        return float(text)
    if tag == _TIME:
        match = _TIMESTAMP.match(text)
        if match is None:
            raise _Decline(text)
        try:
            stamp = create_timestamp(**match.groupdict())
        except ValueError:
            return text  # an impossible day stays text, as the round-trip parse keeps it (validation says why)
        return plain_time(stamp) if isinstance(stamp, dt.datetime) else stamp  # as plain(): no zone is UTC, in UTC
    raise _Decline(text)


def _value(node: Any, depth: int) -> Any:
    if isinstance(node, ScalarNode):
        return _scalar(node)
    if depth >= MAX_DEPTH:
        raise _Decline("deep")
    if isinstance(node, SequenceNode):
        return [_value(item, depth + 1) for item in node.value]
    if isinstance(node, MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Decline("key")
            key = _scalar(key_node)
            if key in out or isinstance(key, (dt.date, float)):  # (a date or float key: ruamel's types differ)
                raise _Decline("duplicate key")
            out[key] = _value(value_node, depth + 1)
        return out
    raise _Decline(type(node).__name__)


def read_data(text: str) -> Any | None:
    """The plain data of *text* (decoded, without its BOM), or ``None`` where the round-trip parse must read it."""
    if _CParser is None or _DECLINE.search(text):
        return None
    loader = _Loader(text)
    try:
        with no_gc():  # (as the round-trip parse: the collector finds nothing to free in a new tree, and costs 2/3 of the read)
            node = loader.get_single_node()
            return None if node is None else _value(node, 0)
    except (_Decline, RecursionError):
        return None
    except Exception:  # noqa: BLE001 - libyaml's errors: the round-trip parse says what is wrong, with its line
        return None
    finally:
        loader.dispose()
