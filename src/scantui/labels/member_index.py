"""Which labelled groups hold an address, by lookups: the member index of one version of the labels.

Matching a record against every group (``group.contains(ip)`` for each group and
address) costs groups x addresses x member CIDRs in Python: minutes at thousands of
groups and candidates. :class:`MemberIndex` is built once per version of the labels
(:meth:`MemberIndex.of` keeps the last one, for the same group objects) and answers,
for a record's addresses, how many of them each group holds, in
O(addresses x prefix lengths present) dict lookups:

* exact members (an address, or a ``/32``): address -> the groups holding it;
* CIDR members, one table per prefix length: network -> the groups holding it
  (a ``/24`` member is one lookup of ``ip >> 8`` in the /24 table);
* the recorded keys (``zmap_generator``/``fingerprint`` of a recorded scan, the watch's
  rule): (kind, key) -> groups; and ids -> groups (for the recorded scans' counts).

Groups are known by their position in the sequence the index was built from, so a
caller that walks the touched positions in order visits them in the groups' order
(the order the full loops used: same answers, same tie-breaks).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

from scantui.labels.model import Group, ip_to_int

#: The kinds of key that tie a scan to a group by themselves (a /24 or an AS is shared by strangers).
KEY_KINDS = ("zmap_generator", "fingerprint")


def group_keys(group: Group) -> set[tuple[str, str]]:
    """The (kind, key) of the group's recorded scans that tie a scan to it (zmap generator, fingerprint)."""
    out = set()
    for scan in group.scans:
        kind, key = scan.extra.get("key_kind"), scan.extra.get("key")
        if kind in KEY_KINDS and isinstance(key, str) and key:
            out.add((kind, key))
    return out


class MemberIndex:
    """Exact members, CIDR members by prefix length, recorded keys and ids of *groups* -> their positions."""

    _last: tuple[tuple[Group, ...], MemberIndex] | None = None
    _lock = threading.Lock()

    def __init__(self, groups: Iterable[Group]) -> None:
        self.groups = tuple(groups)
        exact: dict[int, list[int]] = {}
        blocks: dict[int, dict[int, list[int]]] = {}
        keys: dict[tuple[str, str], list[int]] = {}
        ids: dict[str, list[int]] = {}
        for pos, group in enumerate(self.groups):
            ids.setdefault(group.id, []).append(pos)
            for net, plen in group.member_ranges:
                if plen == 32:
                    exact.setdefault(net, []).append(pos)
                else:
                    blocks.setdefault(plen, {}).setdefault(net >> (32 - plen), []).append(pos)
            for key in group_keys(group):
                keys.setdefault(key, []).append(pos)
        # an address written twice (``192.0.2.1`` and ``192.0.2.1/32``) is one membership
        self._exact = {ip: tuple(dict.fromkeys(p)) for ip, p in exact.items()}
        self._blocks = tuple((32 - plen, {net: tuple(p) for net, p in table.items()})
                             for plen, table in sorted(blocks.items(), reverse=True))
        self._keys = {key: tuple(p) for key, p in keys.items()}
        self._ids = {gid: tuple(p) for gid, p in ids.items()}

    @classmethod
    def of(cls, groups: Iterable[Group]) -> MemberIndex:
        """The index of *groups*: the last one built when these are the same group objects (groups are
        immutable: an edit replaces the object), else a new one."""
        groups = tuple(groups)
        with cls._lock:
            last = cls._last
        if last is not None and len(last[0]) == len(groups) and all(a is b for a, b in zip(groups, last[0])):
            return last[1]
        index = cls(groups)
        with cls._lock:
            cls._last = (groups, index)
        return index

    @cached_property
    def by_id(self) -> tuple[int, ...]:
        """The positions in id order (the groups' order among equal ids): how groups that hold none are listed."""
        return tuple(sorted(range(len(self.groups)), key=lambda pos: self.groups[pos].id))

    def parse(self, ips: Iterable[Any]) -> list[int]:
        """*ips* (dotted text, integers or address objects) as integers (:class:`ValueError` on a bad one, as
        ``Group.contains`` raises); nothing is parsed when there are no groups (no group was ever asked)."""
        return [ip_to_int(ip) for ip in ips] if self.groups else []

    def holders(self, ip: int) -> tuple[int, ...]:
        """The positions of the groups holding *ip* (an integer), each once, in no particular order."""
        found = self._exact.get(ip, ())
        more = False
        for shift, table in self._blocks:
            got = table.get(ip >> shift)
            if got:
                if found:
                    found, more = found + got, True
                else:
                    found = got
        return tuple(set(found)) if more else found

    def counts(self, ints: Iterable[int]) -> dict[int, int]:
        """{position: how many of *ints* the group holds} for the groups holding at least one (with repeats,
        as ``sum(group.contains(ip) for ip in ints)`` counts them)."""
        out: dict[int, int] = {}
        for ip in ints:
            for pos in self.holders(ip):
                out[pos] = out.get(pos, 0) + 1
        return out

    def with_key(self, key: tuple[str, str]) -> tuple[int, ...]:
        """The positions of the groups with a recorded scan holding *key* ((kind, text))."""
        return self._keys.get(key, ())

    def with_id(self, group_id: str) -> tuple[int, ...]:
        """The positions of the groups with id *group_id*."""
        return self._ids.get(group_id, ())

    def shares(self, ints: Sequence[int]) -> dict[int, float]:
        """{position: the share of *ints* the group holds} for the groups holding any (unrounded)."""
        n = len(ints)
        return {pos: count / n for pos, count in self.counts(ints).items()} if n else {}
