"""Checking a parsed labels document and turning it into :class:`Group` values.

Every problem is collected (not just the first) with its line, column and
field path, so ``scantui labels validate`` lists them all and an editor can
jump to each. Messages read
``labels.yaml: line 12: groups[1].members[2]: bad IP or CIDR '10.0.0.300'``
(indexes count from 0; the column is kept on :class:`Problem` for editors).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import TaggedScalar

from scantui.errors import InputError
from scantui.labels.model import (
    CATEGORIES,
    FIELD_ORDER,
    FORMAT_VERSION,
    SET_FIELDS,
    SOURCE_FIELD_ORDER,
    TEXT_FIELDS,
    VERDICTS,
    VERSION_KEY,
    Group,
    Scan,
    Source,
    check_asn,
    check_choice,
    check_id,
    check_members,
    check_port,
    check_tag,
    parse_address,
    parse_member,
    plain_time,
    show,
    to_utc,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a labels file: 1-based line and column (``None`` when unknown)."""

    field: str
    why: str
    line: int | None = None
    column: int | None = None

    @property
    def where(self) -> str | None:
        return f"line {self.line}" if self.line is not None else None

    def message(self, path: str | None) -> str:
        return ": ".join(p for p in (path, self.where, self.field, self.why) if p)


class LabelsInvalid(InputError):
    """A labels file that parses as YAML but breaks the format; carries every :class:`Problem`."""

    def __init__(self, problems: list[Problem], *, path: str | None = None, prefix: str = ""):
        self.problems = list(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        why = prefix + ": ".join(p for p in (first.field, first.why) if p)
        if more:
            why += f" (and {more} more problem{'s' if more > 1 else ''}; see 'scantui labels validate')"
        super().__init__(why, path=path, where=first.where)


def _pos(node: Any, key: Any = None, *, of_value: bool = True) -> tuple[int | None, int | None]:
    """1-based (line, column) of *node*, of its item *key*, or (None, None)."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None, None
    try:
        if key is None:
            line, col = lc.line, lc.col
        elif isinstance(key, int) and not isinstance(node, dict):
            line, col = lc.item(key)
        else:
            line, col = lc.value(key) if of_value else lc.key(key)
    except (KeyError, IndexError, TypeError, AttributeError):
        return None, None
    return (line + 1 if line is not None else None), (col + 1 if col is not None else None)


class _Checker:
    """Walks the document once, collecting problems and building groups."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.sources: list[Source] = []

    def problem(self, field: str, why: str, node: Any = None, key: Any = None, *, of_value: bool = True) -> None:
        line, col = _pos(node, key, of_value=of_value)
        self.problems.append(Problem(field, why, line, col))

    def check(self, fn: Callable[[Any], Any], value: Any, field: str, node: Any, key: Any) -> Any:
        try:
            return fn(value)
        except ValueError as exc:
            self.problem(field, str(exc), node, key)
            return None

    # -- document -------------------------------------------------------------

    def document(self, doc: Any) -> list[Group]:
        if doc is None:
            self.problem("", f"empty file; a labels file starts with '{VERSION_KEY}: {FORMAT_VERSION}'")
            return []
        if not isinstance(doc, dict):
            self.problem("", f"not a labels file: the top level must be a mapping with '{VERSION_KEY}: {FORMAT_VERSION}' and 'groups:'", doc)
            return []
        if VERSION_KEY not in doc:
            self.problem(VERSION_KEY, f"missing; add '{VERSION_KEY}: {FORMAT_VERSION}' at the top", doc)
        elif doc[VERSION_KEY] != FORMAT_VERSION or isinstance(doc[VERSION_KEY], bool):
            self.problem(VERSION_KEY, f"unsupported version {show(doc[VERSION_KEY])} (this scantui reads version {FORMAT_VERSION})", doc, VERSION_KEY)
        self.sources = self.source_list(doc)
        groups = doc.get("groups")
        if groups is None:
            return []
        if not isinstance(groups, list):
            self.problem("groups", "must be a list of groups", doc, "groups")
            return []
        out: list[Group] = []
        first_seen: dict[str, int | None] = {}
        for i, node in enumerate(groups):
            group = self.group(node, f"groups[{i}]", groups, i)
            gid = node.get("id") if isinstance(node, dict) else None
            if isinstance(gid, str) and gid in first_seen:
                line = first_seen[gid]
                self.problem(f"groups[{i}].id", f"duplicate id {show(gid)}" + (f" (first at line {line})" if line else ""), node, "id")
                continue
            if isinstance(gid, str):
                first_seen[gid] = _pos(node, "id")[0]
            if group is not None:
                out.append(group)
        return out

    # -- notes on single sources ------------------------------------------------

    def source_list(self, doc: Any) -> list[Source]:
        nodes = doc.get("sources")
        if nodes is None:
            return []
        if not isinstance(nodes, list):
            self.problem("sources", "must be a list of sources ({ip, tags, note})", doc, "sources")
            return []
        out: list[Source] = []
        first_seen: dict[str, int | None] = {}
        for i, node in enumerate(nodes):
            at = f"sources[{i}]"
            if not isinstance(node, dict):
                self.problem(at, "must be a mapping (ip, tags, note, ...)", nodes, i)
                continue
            before = len(self.problems)
            if node.get("ip") is None:
                self.problem(f"{at}.ip", "missing (required)", node)
            values: dict[str, Any] = {}
            for key, value in node.items():
                if key not in SOURCE_FIELD_ORDER or value is None:
                    continue
                if key == "ip":
                    values[key] = self.check(parse_address, value, f"{at}.ip", node, key)
                elif key == "tags":
                    values[key] = self.items(key, value, f"{at}.tags", node)
                elif key in ("created", "updated"):
                    values[key] = self.check(_timestamp, value, f"{at}.{key}", node, key)
                else:
                    values[key] = self.check(_text, value, f"{at}.{key}", node, key)
            ip = values.get("ip")
            if ip is not None and ip in first_seen:
                line = first_seen[ip]
                self.problem(f"{at}.ip", f"duplicate source {show(ip)}" + (f" (first at line {line})" if line else ""), node, "ip")
            elif ip is not None:
                first_seen[ip] = _pos(node, "ip")[0]
            if len(self.problems) > before:
                continue
            extra = {k: v for k, v in node.items() if k not in SOURCE_FIELD_ORDER}
            try:
                out.append(Source(**{k: v for k, v in values.items() if v is not None}, extra=plain(extra)))
            except ValueError as exc:  # defensive: the checks above should have caught it
                self.problem(at, str(exc), nodes, i)
        return out

    # -- one group ------------------------------------------------------------

    def group(self, node: Any, at: str, parent: Any, index: int) -> Group | None:
        if not isinstance(node, dict):
            self.problem(at, "must be a mapping (id, verdict, members, ...)", parent, index)
            return None
        before = len(self.problems)
        for key in ("id", "verdict", "members"):
            if node.get(key) is None:
                self.problem(f"{at}.{key}", "missing (required)", node)
        values: dict[str, Any] = {}
        for key, value in node.items():
            if key not in FIELD_ORDER or value is None:
                continue
            values[key] = self.field(key, value, f"{at}.{key}", node)
        if node.get("members") == []:  # not when every member was bad: those are the problems
            self.check(check_members, (), f"{at}.members", node, "members")
        if len(self.problems) > before:
            return None
        extra = {k: v for k, v in node.items() if k not in FIELD_ORDER}
        values = {k: v for k, v in values.items() if v is not None}
        try:
            return Group(**values, extra=plain(extra))
        except ValueError as exc:  # defensive: every check above should have caught it
            self.problem(at, str(exc), parent, index)
            return None

    def field(self, key: str, value: Any, at: str, node: Any) -> Any:
        if key == "id":
            return self.check(check_id, value, at, node, key)
        if key == "verdict":
            return self.check(lambda v: check_choice(v, VERDICTS, "verdict"), value, at, node, key)
        if key == "category":
            return self.check(lambda v: check_choice(v, CATEGORIES, "category"), value, at, node, key)
        if key in TEXT_FIELDS:
            return self.check(_text, value, at, node, key)
        if key in ("created", "updated"):
            return self.check(_timestamp, value, at, node, key)
        if key in SET_FIELDS:
            return self.items(key, value, at, node)
        raise AssertionError(key)

    def items(self, key: str, value: Any, at: str, node: Any) -> tuple | None:
        if not isinstance(value, list):
            self.problem(at, "must be a list", node, key)
            return None
        one = {"members": parse_member, "ports": check_port, "asns": check_asn, "tags": check_tag}.get(key)
        seen: dict[Any, int] = {}
        out = []
        for j, item in enumerate(value):
            parsed = self.scan(item, f"{at}[{j}]", value, j) if key == "scans" else self.check(one, item, f"{at}[{j}]", value, j)
            if parsed is None:
                continue
            if parsed in seen:
                self.problem(f"{at}[{j}]", f"duplicate of {at}[{seen[parsed]}]", value, j)
                continue
            seen[parsed] = j
            out.append(parsed)
        return tuple(out)

    def scan(self, item: Any, at: str, parent: Any, index: int) -> Scan | None:
        if not isinstance(item, dict):
            self.problem(at, "must be a mapping {port, day, sources}", parent, index)
            return None
        before = len(self.problems)
        for key in ("port", "day", "sources"):
            if item.get(key) is None:
                self.problem(f"{at}.{key}", "missing (required)", item)
        port = self.check(check_port, item.get("port"), f"{at}.port", item, "port") if item.get("port") is not None else None
        day = self.check(_day, item.get("day"), f"{at}.day", item, "day") if item.get("day") is not None else None
        sources = item.get("sources")
        if sources is not None and not isinstance(sources, list):
            self.problem(f"{at}.sources", "must be a list", item, "sources")
        elif sources is not None:
            for j, src in enumerate(sources):
                self.check(parse_address, src, f"{at}.sources[{j}]", sources, j)
        if len(self.problems) > before:
            return None
        extra = {k: v for k, v in item.items() if k not in ("port", "day", "sources")}
        return Scan(port, day, tuple(sources), plain(extra))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text (put {show(value)} in quotes)")
    return str(value)


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"bad time {show(value)} (ISO 8601 UTC like 2026-11-21T10:00:00Z)") from None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"bad time {show(value)} (ISO 8601 UTC like 2026-11-21T10:00:00Z)")
    return to_utc(value)


def _day(value: Any) -> dt.date:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"bad day {show(value)} (a date like 2024-02-06)") from None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"bad day {show(value)} (a date like 2024-02-06)")
    return value


@dataclass(frozen=True)
class Tagged:
    """A scalar with an explicit tag (``k: !thing text``) in a key scantui does not know: compared by tag and text."""

    tag: str
    value: Any


_NAN = float("nan")  # one object, so two reads of a file with ``.nan`` in it compare equal (equality checks identity first)


def plain(value: Any) -> Any:
    """A ruamel node as plain Python: dicts, lists, str, int, float, bool, date, UTC datetime."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, TaggedScalar):
        tag = str(value.tag)
        return str(value.value) if tag == "tag:yaml.org,2002:str" else Tagged(tag, value.value)  # "!!str" is written as text
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _NAN if math.isnan(value) else float(value)
    if isinstance(value, dt.datetime):
        return plain_time(value)
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return value


def check_document(doc: Any) -> tuple[list[Group], list[Problem]]:
    """The groups of a parsed document and every problem found (an empty list when valid)."""
    groups, _sources, problems = check_labels(doc)
    return groups, problems


def check_labels(doc: Any) -> tuple[list[Group], list[Source], list[Problem]]:
    """The groups and the source notes (``sources:``) of a parsed document, and every problem found (sorted by line)."""
    checker = _Checker()
    groups = checker.document(doc)
    return groups, checker.sources, sorted(checker.problems, key=lambda p: p.line or 0)
