"""An exact simulator of ZMap's address walk (2.1.1 and >= 4.0), for tests and sample data.

Written from ZMap's sources (``src/cyclic.c``, ``src/shard.c``, ``src/iterator.c``,
``lib/constraint.c`` at tags v2.1.1, v3.0.0, v4.0.0-RC1, v4.1.0, v4.3.4) and independently of the
detector (:mod:`scantui.analysis.zmap_walk`), which inverts it, so that a misreading would have to
be made twice. The AES-driven random words are drawn directly (``word`` arguments).

What the walk is (every line checked against the sources named; the tests check the simulator
against exact Python ports of the loops and against ``zmap --dryrun`` of Debian's zmap 2.1.1):

- Group: the first prime of :data:`GROUPS` above ``2**(bits(A-1) + bits(P-1))`` (>= 3.0; A allowed
  addresses, P ports, ``bits(0) = 0``); 2.1.1 takes the first prime above A itself (and has only
  the first five groups, single port).
- Generator, >= 4.0.0: ``c = (word & 0xFFFFFFFF) % p`` as a uint32, then repeat ``c += 1; c %= p;
  c %= 2**22`` until ``c != 0`` (the zero check is from 4.1; 4.0 would accept 0) and ``c`` is a
  primitive root (``c**((p-1)/q) != 1`` for every prime factor q of p-1): g < 2**22. 3.x and 2.1.1
  map a random exponent coprime to p-1 through the group's known root: a full-size g.
- Offset: ``(word & 0xFFFFFFFF) % p``, an exponent (>= 3.0) or a group element (2.1.1).
- Subshards, >= 3.0: S = shards * threads, sub = shard * threads + thread, W = (p-1) // S; the
  subshard walks exponents ``[W*sub + offset, W*((sub+1) % S) + offset)`` (mod p-1), i.e. the last
  one takes the remainder and S = 1 walks all p-1 elements, multiplying by g each step.
  2.1.1: subshard (s, t) starts at ``offset * g**(s + t*N + 1)`` and multiplies by ``g**S``, ending
  before ``offset * g**(end + 1)``, ``end = (e - e % S + s + t*N) % e`` (+S mod e when end >= S).
- Element x -> target: idx = x - 1, ip_index = idx >> bits(P-1), port_index = the low bits; the
  element is skipped if ip_index >= A or port_index >= P, and since 4.3.1 (commit b7c815a, bug
  #913) if x >= 2**(32 + bits(P-1)); before 4.3.1 the 14 elements above 2**32 of p = 2**32 + 15
  wrapped (uint32 cast) onto indices 0-13, probed twice (not simulated: modelled as 4.3.1+).
  2.1.1 skips x >= 2**32 and x - 1 >= A. The first element is only checked against ip/port
  (``roll_to_valid``).
- Index -> address (``constraint_lookup_index``): all fully allowed /R blocks ascending (R = 18
  since 4.1.0, commit 3e5f387; 20 before, checked at the tags), then the allowed addresses of the
  other /R blocks ascending. ZMap always blocks 0.0.0.0 itself (blocklist.c), so with no
  blocklist 0.0.0.0/18 is partial and K = 1 above 0.0.64.0.

Verified here (tests/test_zmap_walk_sim.py, tests/test_zmap_walk_detect.py): the walk equals plain
ports of shard.c in the groups 257 and 65537 for 1 x 1, 1 x 3 and 3 x 2 shards x threads, radix 18
and 20, and every allowed address is visited once over all subshards; 2.1.1's interleaved order
equals ``zmap --dryrun`` of Debian's 2.1.1 for -T 1, -T 3 and --shards 2 -T 2 (and 2.1.1 refuses
--shards without --seed); A = 3,702,258,432 for the shipped blocklist (13.8 % of steps skipped);
1,109,646 primitive roots below 2**22 for p = 2**32 + 15. Header facts read at v4.3.4, not run:
TTL 64 (``--probe-ttl`` default since 4.1.0; 255 before), window 65535, source address
``(dst + offset) % n_src`` with several ``-S`` addresses. Timing (:func:`probes`): each thread's
probes leave in batches of 64, as in the real 4.3.4 capture (tests/data/zmap4).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

MAX_ROOT_V4 = 1 << 22


@dataclass(frozen=True)
class Group:
    prime: int
    known_root: int
    factors: tuple[int, ...]  # the distinct prime factors of prime - 1


#: ZMap's group table (cyclic.c), ascending.
GROUPS = (
    Group(257, 3, (2,)),
    Group(65537, 3, (2,)),
    Group(16777259, 2, (2, 23, 103, 3541)),
    Group(268435459, 2, (2, 3, 19, 87211)),
    Group(4294967311, 3, (2, 3, 5, 131, 364289)),
    Group(8589934609, 19, (2, 3, 59, 3033169)),
    Group(17179869209, 3, (2, 83, 1277, 20261)),
    Group(68719476767, 5, (2, 163, 883, 238727)),
    Group(1099511627791, 3, (2, 3, 5, 36650387593)),
    Group(17592186044423, 5, (2, 11, 53, 97, 155542661)),
    Group(281474976710677, 6, (2, 3, 7, 1361, 2462081249)),
)

#: ZMap's shipped blocklist (conf/blocklist.conf, identical in Debian's /etc/zmap/blacklist.conf).
SHIPPED_BLOCKLIST = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32", "224.0.0.0/4",
)


def bits_needed(n: int) -> int:
    """iterator.c's ``bits_needed``: bits of n - 1 (0 for n = 1)."""
    return max(n - 1, 0).bit_length()


def group_for(n_addrs: int, n_ports: int = 1, *, version: int = 4) -> Group:
    if version < 3:
        return next(g for g in GROUPS[:5] if g.prime > n_addrs)
    return next(g for g in GROUPS if g.prime > 1 << (bits_needed(n_addrs) + bits_needed(n_ports)))


def is_primitive_root(c: int, group: Group) -> bool:
    p = group.prime
    return c % p != 0 and all(pow(c, (p - 1) // q, p) != 1 for q in group.factors)


def generator_v4(word: int, group: Group) -> int:
    """find_primroot of ZMap >= 4.0 started from the random *word*."""
    c = (word & 0xFFFFFFFF) % group.prime
    while True:
        c = ((c + 1) & 0xFFFFFFFF) % group.prime % MAX_ROOT_V4
        if c and is_primitive_root(c, group):
            return c


def offset_of(word: int, group: Group) -> int:
    return (word & 0xFFFFFFFF) % group.prime


# -- allowed addresses in constraint order ------------------------------------------------------


def _intervals(cidrs: Iterable[str]) -> list[tuple[int, int]]:
    out = []
    for c in cidrs:
        net = ipaddress.ip_network(c, strict=False)
        out.append((int(net.network_address), int(net.broadcast_address) + 1))
    out.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in out:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _subtract(allow: list[tuple[int, int]], block: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for lo, hi in allow:
        cur = lo
        for blo, bhi in block:
            if bhi <= cur or blo >= hi:
                continue
            if blo > cur:
                out.append((cur, blo))
            cur = max(cur, bhi)
        if cur < hi:
            out.append((cur, hi))
    return out


class Allowed:
    """The allowed addresses (allowlist minus blocklist) and ZMap's index -> address map."""

    def __init__(self, allow: Iterable[str] = ("0.0.0.0/0",), block: Iterable[str] = SHIPPED_BLOCKLIST,
                 radix: int = 18):
        self.radix = radix
        self.intervals = _subtract(_intervals(allow), _intervals(block))
        size = 1 << (32 - radix)
        full, partial = [], []
        for lo, hi in self.intervals:
            first_full, last_full = -(-lo // size), hi // size  # blocks [first_full, last_full) lie inside
            if first_full >= last_full:
                partial.append((lo, hi))
                continue
            if lo < first_full * size:
                partial.append((lo, first_full * size))
            full.extend(range(first_full, last_full))
            if last_full * size < hi:
                partial.append((last_full * size, hi))
        self.full_blocks = np.array(full, dtype=np.uint64)
        self.partial = np.array(partial, dtype=np.uint64).reshape(-1, 2)
        lengths = self.partial[:, 1] - self.partial[:, 0]
        self._starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.uint64)
        self.count = int(len(full) * size + int(lengths.sum()))

    def indices_of(self, addresses: np.ndarray) -> np.ndarray:
        """The sorted indices of those *addresses* that are allowed (used only to pre-filter a walk
        cheaply: the walk's addresses still come from :meth:`address`)."""
        addresses = np.asarray(addresses, dtype=np.uint64)
        size = np.uint64(1 << (32 - self.radix))
        out = []
        if len(self.full_blocks):
            pos = np.searchsorted(self.full_blocks, addresses // size)
            pos_c = np.minimum(pos, len(self.full_blocks) - 1)
            hit = self.full_blocks[pos_c] == addresses // size
            out.append(pos_c[hit].astype(np.uint64) * size + addresses[hit] % size)
        if len(self.partial):
            k = np.searchsorted(self.partial[:, 0], addresses, side="right") - 1
            kc = np.maximum(k, 0)
            hit = (k >= 0) & (addresses < self.partial[kc, 1])
            base = np.uint64(len(self.full_blocks)) * size
            out.append(base + self._starts[kc[hit]] + addresses[hit] - self.partial[kc[hit], 0])
        return np.unique(np.concatenate(out)) if out else np.zeros(0, np.uint64)

    def address(self, index: np.ndarray) -> np.ndarray:
        """The ``index``-th allowed address (uint32), in constraint order."""
        index = np.asarray(index, dtype=np.uint64)
        shift = np.uint64(32 - self.radix)
        in_radix = (index >> shift) < np.uint64(len(self.full_blocks))
        out = np.zeros(index.shape, dtype=np.uint64)
        if len(self.full_blocks):
            block = self.full_blocks[np.minimum(index >> shift, np.uint64(len(self.full_blocks) - 1)).astype(np.int64)]
            out = np.where(in_radix, (block << shift) | (index & ((np.uint64(1) << shift) - np.uint64(1))), out)
        rest = index - np.uint64(len(self.full_blocks)) * (np.uint64(1) << shift)
        if len(self.partial):
            k = np.clip(np.searchsorted(self._starts, np.where(in_radix, 0, rest), side="right") - 1, 0, len(self.partial) - 1)
            out = np.where(in_radix, out, self.partial[k, 0] + np.where(in_radix, 0, rest) - self._starts[k])
        return out.astype(np.uint32)


# -- modular arithmetic on uint64 arrays ----------------------------------------------------------


def mulmod(a: np.ndarray, b: int | np.ndarray, p: int) -> np.ndarray:
    """(a * b) % p elementwise for a, b < p < 2**50: the quotient from float64 (off by at most
    one), the remainder from wrapping uint64 products, then corrected."""
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    q = np.floor(a.astype(np.float64) * b.astype(np.float64) / p).astype(np.uint64)
    r = (a * b - q * np.uint64(p)).view(np.int64) if isinstance(a * b, np.ndarray) else np.int64(a * b - q * np.uint64(p))
    r = np.where(r < 0, r + p, r)
    return np.where(r >= p, r - p, r).astype(np.uint64)


def powers(g: int, n: int, p: int) -> np.ndarray:
    """g**0 .. g**(n-1) mod p."""
    out = np.ones(1, dtype=np.uint64)
    while len(out) < n:
        out = np.concatenate([out, mulmod(out, pow(g, len(out), p), p)])
    return out[:n]


# -- the walk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """One ZMap instance: the scan's seed-derived g and offset, this instance's shard, its threads."""

    generator: int
    offset: int
    allowed: Allowed
    group: Group
    shard: int = 0
    shards: int = 1
    threads: int = 1
    n_ports: int = 1
    version: int = 4  # 2 (2.1.1, interleaved subshards) or >= 3 (contiguous subshards)

    @classmethod
    def from_words(cls, gen_word: int, offset_word: int, allowed: Allowed, **kw) -> Scan:
        group = group_for(allowed.count, kw.get("n_ports", 1))
        return cls(generator_v4(gen_word, group), offset_of(offset_word, group), allowed, group, **kw)

    @property
    def subshards(self) -> int:
        return self.shards * self.threads

    def bounds(self, thread: int) -> tuple[int, int, int]:
        """(first element, factor, number of elements walked) of this instance's *thread*."""
        p, g, n, s = self.group.prime, self.generator, self.group.prime - 1, self.subshards
        if self.version < 3:
            begin = self.shard + thread * self.shards
            end = (n - n % s + begin) % n
            if end >= s:
                end = (end + s) % n
            first = pow(g, begin + 1, p) * self.offset % p
            last = pow(g, end + 1, p) * self.offset % p
            factor = pow(g, s, p)
            # steps until the element equals `last` (exclusive)
            return first, factor, _steps_between(first, last, factor, p, n // _order_cofactor(factor, p, n))
        sub, w = self.shard * self.threads + thread, n // s
        length = (w * ((sub + 1) % s) - w * sub) % n or n  # S = 1 walks the whole group
        return pow(g, (w * sub + self.offset) % n, p), g, length

    def valid(self, x: np.ndarray, *, first: bool = False) -> np.ndarray:
        """Which elements name a target (both skip rules; the 2**k bound not for the first)."""
        bp = bits_needed(self.n_ports)
        top = np.uint64(1 << (32 + (bp if self.version >= 3 else 0)))
        idx = x - np.uint64(1)
        ok = ((idx >> np.uint64(bp)) < np.uint64(self.allowed.count)) & ((idx & np.uint64((1 << bp) - 1)) < np.uint64(self.n_ports))
        return ok if first else ok & (x < top)

    def thread_walk(self, thread: int, *, chunk: int = 1 << 20, limit: int | None = None,
                    keep: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Chunks of (address, port index, send number) in this thread's send order; *limit* caps the
        walk steps; *keep* (sorted uint32 addresses) keeps only targets among them."""
        p = self.group.prime
        first, factor, length = self.bounds(thread)
        if limit is not None:
            length = min(length, limit)
        pw = powers(factor, min(chunk, length), p)
        jump = pow(factor, len(pw), p)
        cur, done, bp, n_sent = first, 0, bits_needed(self.n_ports), 0
        if keep is not None:
            keep_idx = self.allowed.indices_of(keep)
            coarse = np.zeros((1 << 18) + 1, dtype=bool)
            coarse[(keep_idx >> np.uint64(14)).astype(np.int64)] = True
        while done < length:
            x = mulmod(pw[: min(len(pw), length - done)], cur, p)
            ok = self.valid(x)
            if done == 0:
                ok[0] = self.valid(x[:1], first=True)[0]
            idx = x[ok] - np.uint64(1)
            sent = np.arange(n_sent, n_sent + len(idx), dtype=np.int64)
            n_sent += len(idx)
            if keep is not None:
                ip_idx = idx >> np.uint64(bp)
                maybe = coarse[(ip_idx >> np.uint64(14)).astype(np.int64)]
                ip_idx, idx, sent = ip_idx[maybe], idx[maybe], sent[maybe]
                pos = np.minimum(np.searchsorted(keep_idx, ip_idx), len(keep_idx) - 1)
                hit = keep_idx[pos] == ip_idx if len(keep_idx) else np.zeros(len(ip_idx), bool)
                idx, sent = idx[hit], sent[hit]
            addr = self.allowed.address(idx >> np.uint64(bp))
            if keep is not None:
                assert np.isin(addr, keep).all()
            yield addr, (idx & np.uint64((1 << bp) - 1)).astype(np.uint32), sent
            done += len(x)
            cur = cur * jump % p


def _order_cofactor(factor: int, p: int, n: int) -> int:
    """n / order(factor): 1 for a generator (>= 3.0); g**S has order n / gcd(S, n)."""
    order = n
    for q in _factor(n):
        while order % q == 0 and pow(factor, order // q, p) == 1:
            order //= q
    return n // order


def _factor(n: int) -> list[int]:
    out, d = [], 2
    while d * d <= n:
        if n % d == 0:
            out.append(d)
            while n % d == 0:
                n //= d
        d += 1
    if n > 1:
        out.append(n)
    return out


def _steps_between(first: int, last: int, factor: int, p: int, order: int) -> int:
    """Smallest k >= 1 with first * factor**k == last (the whole cycle when last == first).

    Baby-step giant-step: done once per thread, on the walk's own cycle of *order* elements."""
    target = last * pow(first, p - 2, p) % p  # factor**k
    m = int(order ** 0.5) + 1
    baby = {}
    e = 1
    for j in range(m):
        baby.setdefault(e, j)
        e = e * factor % p
    giant = pow(pow(factor, m, p), p - 2, p)
    y = target
    for i in range(m + 1):
        j = baby.get(y)
        if j is not None:
            k = (i * m + j) % order
            return k or order
        y = y * giant % p
    raise ValueError("last is not on the walk")


# -- timed probes -------------------------------------------------------------------------------


#: Probes a ZMap >= 4.1 sender thread hands the kernel at once (``batch`` in send.c; the real 4.3.4
#: capture of tests/data/zmap4 shows each thread's probes leaving in runs of 64).
BATCH = 64
#: Seconds between two probes of one batch (back to back on the wire).
BATCH_GAP = 1e-6


def probes(scan: Scan, *, rate: float, start: float = 0.0, limit: int | None = None,
           keep: np.ndarray | None = None, jitter: float = 0.0, seed: int = 0,
           batch: int | None = BATCH) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ts seconds, dst uint32, port index) of the instance's probes, time-sorted.

    Threads send concurrently at ``rate / threads`` valid targets per second each (skipped
    elements cost no time); *limit* caps each thread's walk steps; *keep* (a sorted uint32
    array of telescope addresses) keeps only probes to those; *jitter* adds uniform noise of
    that many seconds. Each thread sends its probes in runs of *batch* back to back (:data:`BATCH_GAP`
    apart), one run per ``batch / (rate / threads)`` seconds, the threads' runs evenly staggered;
    ``batch=None`` spaces every probe evenly instead (threads interleaved probe by probe)."""
    rng = np.random.default_rng(seed)
    per_thread = rate / scan.threads
    ts_all, dst_all, port_all = [], [], []
    for t in range(scan.threads):
        for addr, port, k in scan.thread_walk(t, limit=limit, keep=keep):
            if batch is None:
                ts_all.append(start + k / per_thread)
            else:
                period = batch / per_thread
                gap = min(BATCH_GAP, period / scan.threads / (2 * batch))
                ts_all.append(start + (k // batch) * period + t * period / scan.threads + (k % batch) * gap)
            dst_all.append(addr)
            port_all.append(port)
    ts = np.concatenate(ts_all) if ts_all else np.zeros(0)
    if jitter:
        ts = ts + rng.uniform(0, jitter, len(ts))
    order = np.argsort(ts, kind="stable")
    return ts[order], np.concatenate(dst_all)[order], np.concatenate(port_all)[order]


def cidr_addresses(*cidrs: str) -> np.ndarray:
    """Every address of the CIDRs, sorted uint32 (a telescope)."""
    parts = [np.arange(lo, hi, dtype=np.uint64) for lo, hi in _intervals(cidrs)]
    return np.concatenate(parts).astype(np.uint32)
