"""Addresses -> ZMap walk elements: what a scanner was told to scan (:class:`Hypothesis`: allowlist,
blocklist, constraint radix), each address's index in ZMap's constraint order (:class:`IndexMap`) and
the group a scan of that many targets walks (:func:`group_prime`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from scantui.analysis.zmap_group import GROUPS

SHIPPED_BLOCKLIST = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32", "224.0.0.0/4",
)


# -- addresses -> walk elements ------------------------------------------------------------------


def _intervals(cidrs: Iterable[str]) -> list[tuple[int, int]]:
    spans = sorted((int(n.network_address), int(n.broadcast_address) + 1)
                   for n in (ipaddress.ip_network(c, strict=False) for c in cidrs))
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


@dataclass(frozen=True)
class Hypothesis:
    """What the scanner was told to scan: allowlist, blocklist, and ZMap's constraint radix."""

    allow: tuple[str, ...] = ("0.0.0.0/0",)
    block: tuple[str, ...] = SHIPPED_BLOCKLIST
    radix: int = 18  # 4.1+; 20 for 4.0 and before

    def describe(self) -> str:
        allow = "Internet" if self.allow == ("0.0.0.0/0",) else ",".join(self.allow)
        block = "shipped blocklist" if self.block == SHIPPED_BLOCKLIST else f"{len(self.block)} blocked prefixes"
        return f"{allow} minus {block}, /{self.radix} radix"


class IndexMap:
    """Address -> index in ZMap's constraint order (fully allowed /radix blocks first), the inverse
    of ``constraint_lookup_index``; -1 for addresses the hypothesis does not allow."""

    def __init__(self, hyp: Hypothesis):
        allowed: list[tuple[int, int]] = []
        blocked = _intervals(hyp.block)
        for lo, hi in _intervals(hyp.allow):
            cur = lo
            for blo, bhi in blocked:
                if bhi <= cur or blo >= hi:
                    continue
                if blo > cur:
                    allowed.append((cur, blo))
                cur = max(cur, bhi)
            if cur < hi:
                allowed.append((cur, hi))
        self.size = 1 << (32 - hyp.radix)
        full, partial = [], []
        for lo, hi in allowed:
            a, b = -(-lo // self.size), hi // self.size
            if a >= b:
                partial.append((lo, hi))
                continue
            if lo < a * self.size:
                partial.append((lo, a * self.size))
            full.append((a, b))
            if b * self.size < hi:
                partial.append((b * self.size, hi))
        # runs of full blocks: (first block, end block, index of the run's first address)
        self.runs = np.array(full, dtype=np.int64).reshape(-1, 2)
        run_len = (self.runs[:, 1] - self.runs[:, 0]) * self.size
        self.run_start = np.concatenate([[0], np.cumsum(run_len)])[:-1]
        n_full = int(run_len.sum())
        self.partial = np.array(partial, dtype=np.int64).reshape(-1, 2)
        plen = self.partial[:, 1] - self.partial[:, 0]
        self.partial_start = n_full + np.concatenate([[0], np.cumsum(plen)])[:-1]
        self.count = n_full + int(plen.sum())

    def index(self, addresses) -> np.ndarray:
        a = np.asarray(addresses, dtype=np.int64)
        out = np.full(a.shape, -1, dtype=np.int64)
        blk = a // self.size
        if len(self.runs):
            k = np.searchsorted(self.runs[:, 0], blk, side="right") - 1
            kc = np.maximum(k, 0)
            hit = (k >= 0) & (blk < self.runs[kc, 1])
            out = np.where(hit, self.run_start[kc] + a - self.runs[kc, 0] * self.size, out)
        if len(self.partial):
            k = np.searchsorted(self.partial[:, 0], a, side="right") - 1
            kc = np.maximum(k, 0)
            hit = (k >= 0) & (a < self.partial[kc, 1])
            out = np.where(hit, self.partial_start[kc] + a - self.partial[kc, 0], out)
        return out

    def allowed_count(self, ranges: Sequence[tuple[int, int]]) -> int:
        """Allowed addresses inside [lo, hi) ranges (the telescope's M)."""
        total = 0
        for lo, hi in ranges:
            for a, b in list(self.runs * self.size) + list(self.partial):
                total += max(0, min(hi, int(b)) - max(lo, int(a)))
        return total


@lru_cache(maxsize=8)
def index_map(hyp: Hypothesis) -> IndexMap:
    return IndexMap(hyp)


def group_prime(n_allowed: int, *, version: int = 4) -> int:
    """ZMap's group for a single-port scan of *n_allowed* targets (2.1.1: first prime above it)."""
    floor = n_allowed if version < 3 else 1 << max(n_allowed - 1, 0).bit_length()
    return next(p for p in sorted(GROUPS) if p > floor)
