"""The labelled group: what an analyst decided about a set of scanner IPs.

A :class:`Group` is an immutable value (a frozen dataclass): the store hands
out groups and replaces them whole on every edit, so a group read by the TUI
never changes under its feet and the three-way merge can compare versions
with ``==``.

Members are IPv4 addresses or CIDR blocks, kept as canonical text
(``192.0.2.10``, ``198.51.100.0/28``). A CIDR with host bits set
(``198.51.100.5/28``) is rejected, not silently widened: a label is an
analyst's claim, and a typo must not grow it to 16 addresses.

The rules of a valid group live here and only here: ``scantui labels
validate``, the store and the TUI's forms all build a :class:`Group` (or call
the ``check_*`` functions below), so what one accepts the others accept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from scantui.utctime import in_utc

FORMAT_VERSION = 1
VERSION_KEY = "scantui_labels"
VERDICTS = ("collaborative", "not_collaborative", "unsure")
CATEGORIES = ("research", "commercial", "other", "unknown")

#: Canonical key order of a group in the YAML file (unknown keys follow).
FIELD_ORDER = ("id", "title", "verdict", "category", "members", "ports", "asns", "scans", "tags", "notes",
               "created", "created_by", "updated", "updated_by")
#: Fields holding a list with set semantics (order kept, no duplicates).
SET_FIELDS = ("members", "ports", "asns", "scans", "tags")
TEXT_FIELDS = ("title", "notes", "created_by", "updated_by")
#: Who made a group and who changed it last (an analyst's name; see :func:`scantui.config.labels_author`).
AUTHOR_FIELDS = ("created_by", "updated_by")
TIME_FIELDS = ("created", "updated")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Why a group with no members is refused (the file, the edit form and the store all say this).
NO_MEMBERS = "a group needs at least one member (delete the group instead)"


def show(value: Any, limit: int = 60) -> str:
    """A value quoted for an error message: control characters escaped, long text cut."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return f"'{text}'" if isinstance(value, str) else text


def now_utc() -> dt.datetime:
    """The current time in UTC, to the second (what ``created``/``updated`` record)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


#: A dotted IPv4 address already in canonical text (no leading zeros): what ``ipaddress`` would give back unchanged,
#: known without its parse (a labels file of thousands of groups holds tens of thousands of addresses).
_CANONICAL_IP = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\Z")


def parse_member(text: str) -> str:
    """Canonical text of an IPv4 address or CIDR block; :class:`ValueError` when it is neither.

    ``/32`` is kept when written (``192.0.2.1/32``); a CIDR with host bits set
    is an error naming the network that was probably meant.
    """
    if isinstance(text, str) and _CANONICAL_IP.match(text):
        return str(text)
    if not isinstance(text, str) or not text or text != text.strip():
        raise ValueError(f"bad IP or CIDR {show(text)}")
    if "/" not in text:
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            raise ValueError(f"bad IP or CIDR {show(text)}") from None
    try:
        return ipaddress.IPv4Network(text, strict=True).with_prefixlen
    except ValueError:
        try:
            loose = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            raise ValueError(f"bad IP or CIDR {show(text)}") from None
        raise ValueError(f"host bits set in {show(text)} (did you mean {loose.with_prefixlen}?)") from None


def parse_address(text: str) -> str:
    """Canonical text of one IPv4 address (a scan's source); :class:`ValueError` otherwise."""
    if isinstance(text, str) and _CANONICAL_IP.match(text):
        return str(text)
    try:
        if not isinstance(text, str) or text != text.strip():
            raise ValueError
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ValueError(f"bad IP address {show(text)}") from None


def ip_to_int(ip: int | str | ipaddress.IPv4Address) -> int:
    """An IPv4 address as an integer, from text, an integer or an address object."""
    if isinstance(ip, int) and not isinstance(ip, bool):
        if not 0 <= ip < 1 << 32:
            raise ValueError(f"not an IPv4 address: {ip}")
        return ip
    return int(ipaddress.IPv4Address(ip))


def check_port(value: Any) -> int:
    if not _is_int(value) or not 0 <= value <= 65535:
        raise ValueError(f"bad port {show(value)} (0-65535)")
    return int(value)


def check_asn(value: Any) -> int:
    if not _is_int(value) or not 0 <= value < 1 << 32:
        raise ValueError(f"bad AS number {show(value)}")
    return int(value)


def check_tag(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"a tag must be non-empty text (put {show(value)} in quotes)")
    return str(value)


def check_members(members: tuple[str, ...]) -> tuple[str, ...]:
    """*members* (already canonical) when there is at least one; :class:`ValueError` otherwise."""
    if not members:
        raise ValueError(NO_MEMBERS)
    return members


def check_choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"bad {what} {show(value)} (one of {', '.join(choices)})")
    return value


def check_id(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"id must be text (put {show(value)} in quotes)")
    if not value or value != value.strip() or _CONTROL.search(value):
        raise ValueError(f"bad id {show(value)} (non-empty text, no surrounding spaces or control characters)")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def to_utc(value: dt.datetime) -> dt.datetime:
    """A plain ``datetime`` in UTC; a time without a zone is taken as UTC; ``ValueError`` outside years 1-9999 in UTC."""
    value = in_utc(value)
    return dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, tzinfo=dt.timezone.utc)


def plain_time(value: dt.datetime) -> dt.datetime:
    """A time as the labels' plain values hold it: :func:`to_utc`, or, where UTC has no such time (a key scantui
    does not read, ``9999-12-31T23:00:00-05:00``), a plain ``datetime`` with the offset written."""
    try:
        return to_utc(value)
    except ValueError:
        return dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond,
                           tzinfo=dt.timezone(value.utcoffset()))


def _tuple_unique(values: Iterable[Any]) -> tuple:
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True)
class Scan:
    """One collaborative scan the analyst confirmed as evidence for a group."""

    port: int
    day: dt.date
    sources: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "port", check_port(self.port))
        if isinstance(self.day, dt.datetime) or not isinstance(self.day, dt.date):
            raise ValueError(f"bad day {show(self.day)} (a date like 2024-02-06)")
        object.__setattr__(self, "sources", _tuple_unique(parse_address(s) for s in self.sources))
        object.__setattr__(self, "extra", dict(self.extra))

    def to_dict(self) -> dict[str, Any]:
        return {"port": self.port, "day": self.day.isoformat(), "sources": list(self.sources), **self.extra}


def _check_texts(record: Any, names: Iterable[str]) -> None:
    """Each named optional field of *record* is text (or absent)."""
    for name in names:
        value = getattr(record, name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be text, not {show(value)}")


def _settle_common(record: Any, order: tuple[str, ...]) -> None:
    """The fields a group and a source note share, validated in place: tags, times (as UTC) and the unknown keys
    (which may not shadow a field of *order*)."""
    put = lambda name, value: object.__setattr__(record, name, value)  # noqa: E731 - frozen dataclass
    put("tags", _tuple_unique(check_tag(t) for t in record.tags))
    for name in TIME_FIELDS:
        if getattr(record, name) is not None:
            put(name, to_utc(getattr(record, name)))
    unknown = set(record.extra) & set(order)
    if unknown:
        raise ValueError(f"extra keys shadow fields: {', '.join(sorted(unknown))}")
    put("extra", dict(record.extra))


def _file_fields(record: Any, order: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    """*record*'s fields as they appear in the file: empty optional ones left out, unknown keys included."""
    out: dict[str, Any] = {}
    for name in order:
        value = getattr(record, name)
        if name in required or value not in (None, ()):
            out[name] = value
    out.update(record.extra)
    return out


@dataclass(frozen=True)
class Group:
    """A labelled group of scanner IPs (``created_by``/``updated_by``: who made it, who changed it last).

    Construct with any iterables; members, sources and lists are validated and
    canonicalized (duplicates dropped, order kept). Use :meth:`replace` (or the
    store) to change a group.
    """

    id: str
    verdict: str = "unsure"
    members: tuple[str, ...] = ()
    title: str | None = None
    category: str | None = None
    ports: tuple[int, ...] = ()
    asns: tuple[int, ...] = ()
    scans: tuple[Scan, ...] = ()
    tags: tuple[str, ...] = ()
    notes: str | None = None
    created: dt.datetime | None = None
    created_by: str | None = None
    updated: dt.datetime | None = None
    updated_by: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen dataclass
        put("id", check_id(self.id))
        put("verdict", check_choice(self.verdict, VERDICTS, "verdict"))
        if self.category is not None:
            check_choice(self.category, CATEGORIES, "category")
        _check_texts(self, TEXT_FIELDS)
        put("members", check_members(_tuple_unique(parse_member(m) for m in self.members)))
        put("ports", _tuple_unique(check_port(p) for p in self.ports))
        put("asns", _tuple_unique(check_asn(a) for a in self.asns))
        put("scans", _tuple_unique(self.scans))
        if not all(isinstance(s, Scan) for s in self.scans):
            raise ValueError("scans must be Scan records")
        _settle_common(self, FIELD_ORDER)

    def replace(self, **changes: Any) -> Group:
        """A copy with *changes* applied (validated like a new group)."""
        return dataclasses.replace(self, **changes)

    def fields(self) -> dict[str, Any]:
        """The fields as they appear in the file: empty optional fields left out, unknown keys included."""
        return _file_fields(self, FIELD_ORDER, ("id", "verdict", "members"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: IPs as strings, times as ISO 8601 (``Z``)."""
        out = {name: getattr(self, name) for name in FIELD_ORDER}
        out.update(
            members=list(self.members), ports=list(self.ports), asns=list(self.asns), tags=list(self.tags),
            scans=[s.to_dict() for s in self.scans],
            created=iso_utc(self.created), updated=iso_utc(self.updated),
        )
        out.update(self.extra)
        return out

    # -- membership ---------------------------------------------------------

    @cached_property
    def member_ranges(self) -> tuple[tuple[int, int], ...]:
        """Members as ``(network, prefixlen)`` integer pairs (an address is a /32), for vectorized tests."""
        pairs = []
        for member in self.members:
            net = ipaddress.IPv4Network(member)
            pairs.append((int(net.network_address), net.prefixlen))
        return tuple(pairs)

    @cached_property
    def _lookup(self) -> tuple[frozenset[int], tuple[tuple[int, int], ...]]:
        hosts = frozenset(net for net, plen in self.member_ranges if plen == 32)
        blocks = tuple((net, 32 - plen) for net, plen in self.member_ranges if plen < 32)
        return hosts, blocks

    def contains(self, ip: int | str | ipaddress.IPv4Address) -> bool:
        """Whether *ip* is a member, directly or inside one of the member CIDRs."""
        value = ip_to_int(ip)
        hosts, blocks = self._lookup
        return value in hosts or any(value >> shift == net >> shift for net, shift in blocks)


def iso_utc(value: dt.datetime | None) -> str | None:
    """``2026-11-21T10:00:00Z`` (the file's and the JSON output's time format)."""
    if value is None:
        return None
    return to_utc(value).isoformat().replace("+00:00", "Z")


#: Canonical key order of a source note in the file's ``sources:`` list (unknown keys follow).
SOURCE_FIELD_ORDER = ("ip", "tags", "note", "created", "created_by", "updated", "updated_by")


@dataclass(frozen=True)
class Source:
    """Tags and a note on one source IP (the file's ``sources:`` list): the single-source counterpart of a group.

    Immutable like :class:`Group`, merged and undone by the same rules (``tags``
    as a set, ``note`` as text, the times and authors as a group's).
    """

    ip: str
    tags: tuple[str, ...] = ()
    note: str | None = None
    created: dt.datetime | None = None
    created_by: str | None = None
    updated: dt.datetime | None = None
    updated_by: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen dataclass
        put("ip", parse_address(self.ip))
        _check_texts(self, ("note", "created_by", "updated_by"))
        _settle_common(self, SOURCE_FIELD_ORDER)

    @property
    def id(self) -> str:
        """The key of the record (its IP): what merge conflicts and undo name."""
        return self.ip

    @property
    def empty(self) -> bool:
        """No tags, no note, nothing else: a source note cleared by the analyst is removed from the file."""
        return not self.tags and not self.note and not self.extra

    def replace(self, **changes: Any) -> Source:
        return dataclasses.replace(self, **changes)

    def fields(self) -> dict[str, Any]:
        """The fields as they appear in the file (empty optional ones left out, unknown keys included)."""
        return _file_fields(self, SOURCE_FIELD_ORDER, ("ip",))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 ``Z``)."""
        out = {name: getattr(self, name) for name in SOURCE_FIELD_ORDER}
        out.update(tags=list(self.tags), created=iso_utc(self.created), updated=iso_utc(self.updated))
        out.update(self.extra)
        return out
