"""ZMap recognised from the order it visits addresses (the multiplicative-group walk).

ZMap >= 4.1 randomises the IP-ID, so :mod:`scantui.analysis.fingerprints`' IP-ID rule misses it.
Every ZMap walks the allowed targets as x, x*g, x*g**2, ... mod p (``../shared/docs/zmap4.md``;
the simulator :mod:`scantui.sample.zmap_walk` states the walk exactly, with what was checked).
This module inverts one source's probes:

1. Each destination -> its index in ZMap's constraint order under a hypothesis (allowlist,
   blocklist, radix /18 for >= 4.1 or /20 before; default: the whole Internet minus ZMap's
   shipped blocklist) -> element x = index + 1 -> e = log_r(x) mod p - 1 for the group's known
   root r (Pohlig-Hellman: p - 1 = 2 * 3**2 * 5 * 131 * 364289 for p = 2**32 + 15).
2. For every candidate generator g at once (>= 4.0 draws g < 2**22: the primitive roots below
   2**22, 1,109,646 of them for p = 2**32 + 15; all primitive roots in the small groups), the
   exponents along g's walk are E = e * log_r(g)**-1 mod p - 1. A thread walks E upwards; two hits
   of one thread are D = E_k - E_l steps apart, proportional to the time between them.
3. Each hit is linked to the earlier hit (among the last :data:`WINDOW`) with the smallest D. A
   link is *tight* when D < :data:`TIGHT` * (p - 1) / M, M the telescope's allowed addresses (a
   thread meets the telescope every (p - 1) / M steps on average; a wrong g makes D uniform). Tight
   links are *consistent* when their steps per second agree within :data:`SLOPE_TOL`.
4. g matches when the tight links, or the consistent ones, are more than chance allows for that
   many candidates: the counts required come from the binomial bound
   ``candidates * P(Bin(links, WINDOW*TIGHT/M) >= k) < FALSE_RATE`` (and the same times
   ``(2*SLOPE_TOL)**(k-1)`` for consistent links). Several matching g: the one with the smallest
   steps (a power of the true g walks in multiples of its steps). Over the candidates a first pass
   leaves (all of them through a tiny telescope), steps 3-4 run in :mod:`scantui.analysis.zmap_links`,
   which drops a candidate as soon as its links so far cannot reach those counts.

The recovered g is shared by every shard of one scan (one seed), so it ties sources together.
From the tight links: the threads seen (chains of linked hits) and, with two or more, the
subshard count S = round((p - 1) / spacing of the chains); 2.1.1's interleaved threads walk g's
exponents in turn, so they read as one thread of g (checked on a real two-thread capture). Limits: one port per scan (the
multi-port element packs the port in its low bits, in an order the telescope cannot know);
subshards fewer than about M / TIGHT (else hits of other subshards are as near as a thread's
own); ZMap <= 3.x draws a full-size g, found here only in groups small enough to try every root
(e.g. 2.1.1 over a /16 or less). Forks that keep ZMap's iterator match too: "ZMap-family walk".
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from scantui.analysis import zmap_links

#: ZMap's cyclic.c groups usable here: prime -> (known primitive root, p - 1's distinct prime factors).
_TABLE = {
    257: (3, (2,)),
    65537: (3, (2,)),
    16777259: (2, (2, 23, 103, 3541)),
    268435459: (2, (2, 3, 19, 87211)),
    4294967311: (3, (2, 3, 5, 131, 364289)),
}


def _with_powers(p: int, factors: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    n, out = p - 1, []
    for q in factors:
        k = 0
        while n % q == 0:
            n //= q
            k += 1
        out.append((q, k))
    assert n == 1, p
    return tuple(out)


#: prime -> (known root, ((q, multiplicity), ...) of p - 1)
GROUPS = {p: (root, _with_powers(p, fs)) for p, (root, fs) in _TABLE.items()}
MAX_ROOT_V4 = 1 << 22
SHIPPED_BLOCKLIST = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32", "224.0.0.0/4",
)

WINDOW = 16        # earlier hits a hit may link to (a thread's previous hit is ~threads hits back)
TIGHT = 10.0       # a link is tight below TIGHT mean gaps: a true gap exceeds it with P = e**-10
SLOPE_TOL = 0.05   # consistent links: steps per second within +-5 % of each other
FALSE_RATE = 1e-4  # expected wrong generators matched per source test
MAX_HITS = 32      # hits used in the vectorised pass (all hits are used to confirm)
CHUNK = 1 << 17    # candidate generators per vectorised block
CHAIN_SHARE = 0.02  # a chain (thread) holds at least this share of the hits (links a wrong window broke aside)
CHAIN_BACK = 0.25  # a chain's next hit on the cycle may be sent this share of the capture's span earlier (jitter)
STAGE1_HITS = 12   # the first pass over every candidate (a true g with <= 8 threads has >= 2 tight pairs)


# -- arithmetic on uint64 arrays ----------------------------------------------------------------


def mulmod(a, b, m: int) -> np.ndarray:
    """(a * b) % m elementwise for a, b < m < 2**50 (float64 quotient, wrapping uint64 remainder)."""
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    q = np.floor(a.astype(np.float64) * b.astype(np.float64) / m).astype(np.uint64)
    r = np.atleast_1d(a * b - q * np.uint64(m)).view(np.int64)
    r = np.where(r < 0, r + m, r)
    return np.where(r >= m, r - m, r).astype(np.uint64).reshape(np.broadcast(a, b).shape)


def powmod(a, e: int, m: int) -> np.ndarray:
    result = np.ones(np.shape(a), dtype=np.uint64)
    base = np.asarray(a, dtype=np.uint64) % np.uint64(m)
    while e:
        if e & 1:
            result = mulmod(result, base, m)
        base = mulmod(base, base, m)
        e >>= 1
    return result


def _powers(g: int, n: int, m: int) -> np.ndarray:
    out = np.ones(1, dtype=np.uint64)
    while len(out) < n:
        out = np.concatenate([out, mulmod(out, pow(g, len(out), m), m)])
    return out[:n]


# -- discrete logarithms ------------------------------------------------------------------------


class DiscreteLog:
    """log_r(x) mod p - 1 for the group's known root r, by Pohlig-Hellman over p - 1's prime
    powers (a sorted table of r**((p-1)/q * j), j < q, per prime q; 364,289 entries at most)."""

    def __init__(self, p: int):
        self.p = p
        self.root, self.factors = GROUPS[p]
        n = p - 1
        self.tables = {}
        for q, _ in self.factors:
            gamma = pow(self.root, n // q, p)
            vals = _powers(gamma, q, p)
            order = np.argsort(vals)
            self.tables[q] = (vals[order], order.astype(np.uint64))

        # a small group's whole table (65,536 entries for 65537): one lookup per element
        self.full = None
        if p <= 1 << 17:
            self.full = np.zeros(p, dtype=np.uint64)
            self.full[_powers(self.root, p - 1, p).astype(np.int64)] = np.arange(p - 1, dtype=np.uint64)

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.uint64)
        p, n = self.p, self.p - 1
        if self.full is not None:
            if np.any((x == 0) | (x >= p)):
                raise ValueError("not a group element")
            return self.full[x.astype(np.int64)]
        residues, moduli = [], []
        for q, k in self.factors:
            vals, idx = self.tables[q]
            qk = q ** k
            h = powmod(x, n // qk, p)                 # in the subgroup of order q**k
            r_inv = pow(pow(self.root, n // qk, p), p - 2, p)
            digits = np.zeros(x.shape, dtype=np.uint64)
            for i in range(k):
                # (h * r_q**-digits)**(q**(k-1-i)) = gamma**d_i
                cur = mulmod(h, _pow_each(r_inv, digits, p), p)
                y = powmod(cur, q ** (k - 1 - i), p)
                pos = np.minimum(np.searchsorted(vals, y), len(vals) - 1)
                if not np.all(vals[pos] == y):
                    raise ValueError("not a group element")
                digits = digits + idx[pos] * np.uint64(q ** i)
            residues.append(digits)
            moduli.append(qk)
        out = np.zeros(x.shape, dtype=np.uint64)
        for res, qk in zip(residues, moduli):  # CRT
            rest = n // qk
            coef = rest * pow(rest, -1, qk) % n
            out = (out + mulmod(res, coef, n)) % np.uint64(n)
        return out


def _pow_each(base: int, exps: np.ndarray, p: int) -> np.ndarray:
    """base ** exps[i] mod p for an array of exponents."""
    result = np.ones(exps.shape, dtype=np.uint64)
    b, e = np.full(exps.shape, base, dtype=np.uint64), exps.copy()
    while np.any(e):
        odd = (e & np.uint64(1)).astype(bool)
        result = np.where(odd, mulmod(result, b, p), result)
        b = mulmod(b, b, p)
        e = e >> np.uint64(1)
    return result


@lru_cache(maxsize=None)
def dlog(p: int) -> DiscreteLog:
    return DiscreteLog(p)


@dataclass(frozen=True)
class Candidates:
    """The generators ZMap may draw in group p, and log_r(g)**-1 mod p - 1 for each."""

    p: int
    generators: np.ndarray  # uint64, ascending
    inv_log: np.ndarray     # uint64
    inv_frac: np.ndarray    # inv_log / (p - 1), float64


@lru_cache(maxsize=None)
def candidates(p: int, bound: int = MAX_ROOT_V4) -> Candidates:
    """Primitive roots below min(bound, p): logs of 1 .. bound-1 by a sieve (log is additive:
    log(ab) = log a + log b, so only primes need Pohlig-Hellman), roots are the logs coprime
    to p - 1, inverses by Euler (g**(phi(n) - 1))."""
    n, top = p - 1, min(bound, p)
    spf = np.zeros(top, dtype=np.int64)
    for d in range(2, math.isqrt(top - 1) + 1):
        if spf[d] == 0:
            block = spf[d * d::d]
            block[block == 0] = d
    c = np.arange(top, dtype=np.int64)
    is_prime = (spf == 0) & (c >= 2)
    spf[is_prime] = c[is_prime]
    logs = np.zeros(top, dtype=np.uint64)
    known = np.zeros(top, dtype=bool)
    known[1] = True
    primes = c[is_prime]
    logs[primes] = dlog(p)(primes.astype(np.uint64))
    known[primes] = True
    todo = np.flatnonzero(~known & (c >= 2))
    while len(todo):
        rest = todo // spf[todo]
        ready = known[rest]
        now = todo[ready]
        logs[now] = (logs[spf[now]] + logs[now // spf[now]]) % np.uint64(n)
        known[now] = True
        todo = todo[~ready]
    coprime = np.ones(top, dtype=bool)
    coprime[0] = False
    for q, _ in GROUPS[p][1]:
        coprime &= (logs % np.uint64(q)) != 0
    gens = np.flatnonzero(coprime).astype(np.uint64)
    phi = n
    for q, _ in GROUPS[p][1]:
        phi = phi // q * (q - 1)
    inv = powmod(logs[gens.astype(np.int64)], phi - 1, n)
    return Candidates(p, gens, inv, inv.astype(np.float64) / n)


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


# -- the test -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkMatch:
    generator: int          # g (for 2.1.1: g**S, the factor its threads multiply by)
    prime: int
    hits: int               # distinct allowed destinations tested
    tight: int              # tight links of the matched g over all hits
    consistent: int         # tight links agreeing on one rate
    threads_seen: int       # chains of linked hits (a lower bound on threads)
    subshards: int | None   # S estimated from the chains' spacing (None with one chain)
    steps_per_s: float      # walk steps per second per thread
    candidates: int         # generators that matched (the smallest-step one is reported)
    hypothesis: str


@lru_cache(maxsize=1024)
def _needed(links: int, p0: float, n_cand: int, slope_factor: float) -> int:
    """Smallest k with n_cand * P(Bin(links, p0) >= k) * slope_factor**(k-1) < FALSE_RATE (kept: a day's
    pairs ask it again and again for the same few telescopes, ~0.3 ms of Python each)."""
    p0 = min(max(p0, 1e-12), 1.0)
    for k in range(2, links + 1):
        tail = sum(math.comb(links, j) * p0 ** j * (1 - p0) ** (links - j) for j in range(k, links + 1))
        if n_cand * tail * slope_factor ** (k - 1) < FALSE_RATE:
            return k
    return links + 1


@lru_cache(maxsize=None)
def _sorting_network(n: int) -> tuple[tuple[int, int], ...]:
    """Batcher's odd-even merge sort comparators for n values (the power of two above, cut to n:
    comparators against the padding are no-ops)."""
    size = 1 << max(n - 1, 1).bit_length()
    pairs: list[tuple[int, int]] = []

    def merge(lo: int, hi: int, r: int) -> None:
        step = r * 2
        if step < hi - lo:
            merge(lo, hi, step)
            merge(lo + r, hi, step)
            pairs.extend((i, i + r) for i in range(lo + r, hi - r, step))
        else:
            pairs.append((lo, lo + r))

    def sort(lo: int, hi: int) -> None:
        if hi - lo >= 1:
            mid = lo + (hi - lo) // 2
            sort(lo, mid)
            sort(mid + 1, hi)
            merge(lo, hi, 1)

    sort(0, size - 1)
    return tuple((i, k) for i, k in pairs if k < n)


def _links(E: np.ndarray, ts: np.ndarray, n: int, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For hits 1..h-1 of E (h, c): the smallest forward distance to one of the previous *window*
    hits, the lag it was found at, and its time gap."""
    h = E.shape[0]
    dmin = np.full((h - 1,) + E.shape[1:], np.iinfo(np.int64).max, dtype=np.int64)
    lag = np.zeros(dmin.shape, dtype=np.int64)
    E = E.astype(np.int64)
    for k in range(1, h):
        for j in range(1, min(window, k) + 1):
            d = E[k] - E[k - j]
            d += (d < 0) * np.int64(n)
            better = d < dmin[k - 1]
            dmin[k - 1] = np.where(better, d, dmin[k - 1])
            lag[k - 1] = np.where(better, j, lag[k - 1])
    idx = np.arange(1, h).reshape((-1,) + (1,) * (E.ndim - 1))
    dt = ts[idx] - ts[np.maximum(idx - lag, 0)]
    return dmin, lag, dt


def _consistent(dmin: np.ndarray, dt: np.ndarray, tight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the most tight links whose steps/s lie within a (1 +- SLOPE_TOL) band, and
    that band's middle."""
    rate = np.where(tight & (dt > 0), dmin / np.maximum(dt, 1e-12), np.nan)
    srt = np.sort(rate, axis=0)  # NaN last
    best = np.zeros(rate.shape[1], dtype=np.int64)
    centre = np.full(rate.shape[1], np.nan)
    hi_factor = (1 + SLOPE_TOL) / (1 - SLOPE_TOL)
    for i in range(int((~np.isnan(srt)).sum(axis=0).max(initial=0))):  # rows below: NaN in every column
        lo = srt[i]
        inside = (srt >= lo) & (srt <= lo * hi_factor)
        cnt = inside.sum(axis=0)
        better = cnt > best
        best = np.where(better, cnt, best)
        centre = np.where(better, lo * math.sqrt(hi_factor), centre)
    return best, centre


def match_walk(dst, ts, telescope: Sequence[tuple[int, int]] | int, hyp: Hypothesis = Hypothesis(), *,
                version: int = 4, pretest: bool = True, distinct: bool = False) -> WalkMatch | None:
    """Whether one source's probes (destinations, timestamps in seconds, time-ordered) follow a
    ZMap walk under *hyp*, seen through a telescope of [lo, hi) address ranges (or of that many
    addresses, all allowed by *hyp*). *pretest*: :func:`may_match` first where it applies (same
    answers; False only to check that). *distinct*: the caller's *dst* holds each address once
    already (its first probes kept), so that step is skipped."""
    imap = index_map(hyp)
    p = group_prime(imap.count, version=version)
    n = p - 1
    dst = np.asarray(dst, dtype=np.int64)
    ts = np.asarray(ts, dtype=np.float64)
    if not distinct:
        _, first = np.unique(dst, return_index=True)
        first.sort()
        dst, ts = dst[first], ts[first]
    idx = imap.index(dst)
    ok = idx >= 0
    if ok.sum() < 0.9 * len(idx):  # ZMap never probes what its blocklist forbids
        return None
    idx, ts = idx[ok], ts[ok]
    m_tele = telescope if isinstance(telescope, int) else imap.allowed_count(telescope)
    if len(idx) < 3 or m_tele == 0:
        return None
    cand = candidates(p)
    p0 = WINDOW * TIGHT / m_tele
    h = min(len(idx), MAX_HITS)
    need_tight = _needed(h - 1, p0, len(cand.generators), 1.0)
    need_slope = _needed(h - 1, p0, len(cand.generators), 2 * SLOPE_TOL)
    if min(need_tight, need_slope) > h - 1:  # too few hits for this view: no logs taken
        return None
    e = dlog(p)((idx + 1).astype(np.uint64))
    limit = TIGHT * n / m_tele
    if pretest and not may_match(e[:h], ts[:h], p, limit, need_tight, need_slope):
        return None
    # stage 1, every candidate: the first hits' positions on g's cycle as fractions (float64: off
    # by ~2**-21 of a turn, far below a tight gap); a true g puts most of them in tight pairs
    h1 = min(h, STAGE1_HITS)
    gap = np.float32(TIGHT / m_tele)
    network = _sorting_network(h1)
    survivors = []
    for start in range(0, len(cand.generators), CHUNK):
        f = e[:h1, None].astype(np.float64) * cand.inv_frac[None, start:start + CHUNK]
        f -= np.floor(f)
        rows = list(f.astype(np.float32))
        for i, k in network:  # sort each candidate's positions, all candidates at once
            rows[i], rows[k] = np.minimum(rows[i], rows[k]), np.maximum(rows[i], rows[k])
        close = (rows[0] + np.float32(1) - rows[-1] < gap).astype(np.int32)
        for i in range(h1 - 1):
            close += rows[i + 1] - rows[i] < gap
        survivors.append(start + np.flatnonzero(close >= min(2, h1 - 1)))
    alive = np.concatenate(survivors)
    # stage 2, the survivors: up to MAX_HITS hits, the full window, the counts chance allows
    # (:mod:`~scantui.analysis.zmap_links`: the dense _links and _consistent's answer, pruned as links arrive)
    found = []
    for start in range(0, len(alive), zmap_links.CHUNK):
        sel = alive[start:start + zmap_links.CHUNK]
        keep = zmap_links.passing(lambda k, cols: mulmod(e[k], cand.inv_log[sel[cols]], n), h, ts[:h], n, limit,
                                  need_tight, need_slope, len(sel), window=WINDOW, tol=SLOPE_TOL)
        found.extend(int(k) for k in sel[keep])
    if not found:
        return None
    return _describe(found, cand, e, ts, n, limit, hyp, p)


#: :func:`may_match` enumerates at most this many (link, generator) pairs (else it says "maybe").
SPARSE_MAX = 1 << 17


@lru_cache(maxsize=None)
def _odd_inverses(p: int) -> bool:
    """Whether group p's n = p - 1 is a power of two (257, 65537: the prefix test's) and every candidate's
    inverse log is odd (a primitive root's log is): :func:`may_match`'s ground."""
    n = p - 1
    return not n & (n - 1) and bool(np.all(candidates(p).inv_log & np.uint64(1)))


def may_match(e: np.ndarray, ts: np.ndarray, p: int, limit: float, need_tight: int, need_slope: int) -> bool:
    """Stage 2 of :func:`match_walk` over every candidate at once, from the other end: False only when no
    candidate's links (of hits *e*, logs of the first ``h`` elements, times *ts*) reach *need_tight*
    tight ones or *need_slope* consistent ones, so the full test would find nothing (exact: same
    integers, same :func:`_consistent`); True when one might, or where it does not apply.

    A link of hit k to hit k - j is tight for the candidates whose inverse log ``c`` puts
    d = (e_k - e_{k-j}) * c mod n below *limit*. With n = 2**m and e_k - e_{k-j} = 2**a * u (u odd),
    every such d is 2**a * s, s odd (c is odd), so c = s * u**-1 mod 2**(m-a) plus any multiple of
    2**(m-a): about limit / 2 candidates per link, listed directly instead of trying all 32,768 of
    group 65537. A source that does not walk ends here, in about a millisecond."""
    if len(e) < 2 or not _odd_inverses(p):
        return True
    n, h = p - 1, len(e)
    bits = n.bit_length() - 1
    top = min(math.ceil(limit) - 1, n - 1)  # the largest integer distance below limit
    k, j = _link_pairs(h)
    e = e.astype(np.int64)
    delta = (e[k] - e[k - j]) % n
    if not delta.all():  # (distinct hits have distinct logs)
        return True
    a = np.frexp((delta & -delta).astype(np.float64))[1] - 1
    u = (delta >> a).astype(np.uint64)
    inv = u.copy()
    for _ in range(5):  # Newton: u * inv = 1 mod 2**64 (right to 3 bits at the start)
        inv *= np.uint64(2) - u * inv
    inv = (inv & np.uint64(n - 1)).astype(np.int64)  # u**-1 mod n (and so mod every 2**(m-a))
    levels = [(lv, np.flatnonzero(a == lv)) for lv in range(bits) if (1 << lv) <= top]
    if sum((((top >> lv) + 1) // 2 << lv) * len(sel) for lv, sel in levels) > SPARSE_MAX:
        return True
    cs, blocks = [], []  # blocks: (first entry, entries per link, lifts, level, links)
    start = 0
    for lv, sel in levels:
        if not len(sel):
            continue
        odd = np.arange(1, (top >> lv) + 1, 2, dtype=np.int64)
        c = (inv[sel, None] * odd[None, :]) & ((1 << (bits - lv)) - 1)
        if lv:
            lifts = np.arange(1 << lv, dtype=np.int64) << (bits - lv)
            c = c[:, :, None] + lifts[None, None, :]
        cs.append(c.ravel())
        blocks.append((start, len(odd) << lv, 1 << lv, lv, sel))
        start += c.size
    if not cs:
        return False
    cand = np.concatenate(cs)
    # a candidate's marks bound its tight links from above (two lags of one hit may both be tight)
    marks = np.bincount(cand, minlength=n)
    over = marks >= min(need_tight, need_slope)
    sel = np.flatnonzero(over)
    if not len(sel):
        return False
    q = np.flatnonzero(over[cand])  # the entries of those candidates, back to (link, distance)
    cl = np.searchsorted(sel, cand[q])
    b = np.searchsorted(np.array([bl[0] for bl in blocks]), q, side="right") - 1
    first, per, nlift, lv = (np.array([bl[i] for bl in blocks])[b] for i in range(4))
    w = q - first
    link = np.concatenate([bl[4] for bl in blocks])[np.cumsum([0] + [len(bl[4]) for bl in blocks])[b] + w // per]
    d = (2 * (w % per // nlift) + 1) << lv
    row = k[link] - 1
    dmin = np.full((h - 1, len(sel)), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(dmin, (row, cl), d)
    tight = dmin < limit
    n_tight = tight.sum(axis=0)
    if n_tight.max() >= need_tight:
        return True
    if n_tight.max() < need_slope:
        return False
    lag = np.zeros(dmin.shape, dtype=np.int64)
    at_min = d == dmin[row, cl]
    lag[row[at_min], cl[at_min]] = j[link[at_min]]
    idx = np.arange(1, h)[:, None]
    dt = ts[idx] - ts[np.maximum(idx - lag, 0)]
    best, _ = _consistent(dmin.astype(np.float64), dt, tight)
    return bool((best >= need_slope).any())


#: :func:`may_match_many` leaves rows to :func:`may_match` when chance alone gives more candidates than this
#: with enough marks (a tiny telescope: most rows go on to the detail, and the screen would be work done twice).
DENSE_OVER = 0.5


def dense(links: int, top: int, n: int, need: int) -> bool:
    """Whether chance alone gives more than :data:`DENSE_OVER` candidates *need* marks from *links* links
    (each marks ~(top + 1) / 2 of the n / 2 odd candidates): :func:`may_match_many` leaves such rows to
    :func:`may_match`."""
    lam = links * (top + 1) / n
    return n // 2 * (1 - sum(math.exp(-lam) * lam ** i / math.factorial(i) for i in range(max(need, 1)))) > DENSE_OVER


def may_match_many(e: np.ndarray, p: int, limit: np.ndarray, need: np.ndarray) -> np.ndarray:
    """:func:`may_match`'s first verdict for many hit sets at once: False for a row of *e* (its ``h`` logs,
    shape (rows, h)) only where :func:`may_match` (*limit* and ``min(need_tight, need_slope)`` = *need* of
    that row) returns False because no candidate has *need* marks (or none at all); True where it returns
    True or goes on to the links' detail (the caller then asks it, exactly as before). The same integers
    as :func:`may_match`, its Python per row replaced by array operations over every row's links."""
    rows, h = e.shape
    out = np.ones(rows, dtype=bool)
    if h < 2 or not rows or not _odd_inverses(p):
        return out
    n = p - 1
    bits = n.bit_length() - 1
    top = np.minimum(np.ceil(np.asarray(limit, dtype=np.float64)).astype(np.int64) - 1, n - 1)
    need = np.maximum(np.asarray(need, dtype=np.int64), 1)  # (below 1: any entry's candidate is over, as at 1)
    k, j = _link_pairs(h)
    e = e.astype(np.int64)
    delta = (e[:, k] - e[:, k - j]) % n
    live = np.flatnonzero(delta.all(axis=1))  # a zero delta: may_match says True
    delta, top, need = delta[live], top[live], need[live]
    a = np.frexp((delta & -delta).astype(np.float64))[1] - 1
    u = (delta >> a).astype(np.uint64)
    inv = u.copy()
    for _ in range(5):  # Newton, as in may_match
        inv *= np.uint64(2) - u * inv
    inv = (inv & np.uint64(n - 1)).astype(np.int64)
    screened = np.zeros(len(live), dtype=bool)  # rows within SPARSE_MAX (else may_match says True)
    hit = np.zeros(len(live), dtype=bool)  # some candidate of the row has `need` marks
    for t, nd in set(zip(top.tolist(), need.tolist())):  # (one pair in practice: both follow the telescope's size)
        if dense(len(k), t, n, nd):
            continue  # most rows would go on to the detail: left to may_match (True), not screened twice
        group = np.flatnonzero((top == t) & (need == nd))
        ga = a[group]
        levels = [lv for lv in range(bits) if (1 << lv) <= t]
        per = {lv: ((t >> lv) + 1) // 2 << lv for lv in levels}  # entries of one link at level lv
        entries = sum(per[lv] * (ga == lv).sum(axis=1) for lv in levels) if levels else np.zeros(len(group), int)
        group = group[entries <= SPARSE_MAX]
        screened[group] = True
        ga, ginv = a[group], inv[group]
        rows_at, cs = [], []
        for lv in levels:
            r, link = np.nonzero(ga == lv)
            if not len(r):
                continue
            odd = np.arange(1, (t >> lv) + 1, 2, dtype=np.int64)
            c = (ginv[r, link][:, None] * odd[None, :]) & ((1 << (bits - lv)) - 1)
            if lv:
                c = (c[:, :, None] + (np.arange(1 << lv, dtype=np.int64) << (bits - lv))[None, None, :])
            rows_at.append(np.repeat(r, per[lv]))
            cs.append(c.ravel())
        if not cs:
            continue
        # a candidate's marks: the run of its (row, candidate) key in one sort; candidates are odd (c >> 1 is one)
        key = (np.concatenate(rows_at) << (bits - 1)) | (np.concatenate(cs) >> 1)
        if len(group) << (bits - 1) <= 1 << 32:
            key = key.astype(np.uint32)  # a narrower sort
        key.sort()
        runs = key[:len(key) - nd + 1][key[nd - 1:] == key[:len(key) - nd + 1]]  # nd equal keys in a row
        hit[group[(runs >> (bits - 1)).astype(np.int64)]] = True
    out[live] = ~screened | hit
    return out


@lru_cache(maxsize=64)
def _link_pairs(h: int) -> tuple[np.ndarray, np.ndarray]:
    """The (k, j) of the links :func:`_links` looks at for *h* hits: hit k to hit k - j, 1 <= j <= min(WINDOW, k)."""
    k, j = np.nonzero(np.arange(1, WINDOW + 1)[None, :] <= np.arange(h)[:, None])
    return k, j + 1


def _describe(found: list[int], cand: Candidates, e: np.ndarray, ts: np.ndarray, n: int, limit: float,
              hyp: Hypothesis, p: int) -> WalkMatch:
    """All hits, for each matching g: the most consistent links win, then the most tight ones, then
    the smallest typical step (a power of the true g, or a g that folds its threads together,
    links some hits too, with other steps)."""
    E = mulmod(e[:, None], cand.inv_log[found][None, :], n)
    dmin, _, dt = _links(E, ts, n, WINDOW)
    tight = dmin < limit
    best_all, _ = _consistent(dmin.astype(np.float64), dt, tight)
    med = [np.median(dmin[tight[:, j], j]) if tight[:, j].any() else np.inf for j in range(len(found))]
    j = min(range(len(found)), key=lambda i: (-int(tight[:, i].sum()), -int(best_all[i]), med[i]))
    best, _ = _consistent(dmin[:, [j]].astype(np.float64), dt[:, [j]], tight[:, [j]])
    chains = _chains(E[:, j].astype(np.int64), ts, n, limit)
    real = [c for c in chains if len(c) >= max(2, math.ceil(CHAIN_SHARE * len(e)))]
    Ej = E[:, j].astype(np.float64)
    spans = [(float((Ej[c[-1]] - Ej[c[0]]) % n), float(ts[c[-1]] - ts[c[0]])) for c in real]
    if sum(t for _, t in spans) > 0:  # steps over time from end to end of each thread's chain
        rate = sum(d for d, _ in spans) / sum(t for _, t in spans)
    else:
        sel = tight[:, j] & (dt[:, j] > 0)
        rate = float(np.median(dmin[sel, j] / dt[sel, j])) if sel.any() else 0.0
    subshards = None
    if len(real) >= 2 and rate > 0:
        # each chain's exponent at the first hit's time, by its own rate (threads' rates differ by their
        # blocks' skipped shares; a small scan's blocks differ by some %): its subshard's base plus a common term
        t0 = float(ts.min())
        own = [d / t if t > 0 else rate for d, t in spans]
        bases = sorted(float(np.median((Ej[c] - r * (ts[c] - t0)) % n)) for c, r in zip(real, own))
        gaps = [b - a for a, b in zip(bases, bases[1:])] + [bases[0] + n - bases[-1]]
        spacing = min(gaps)
        if spacing > 0:
            subshards = int(round(n / spacing))
    return WalkMatch(
        generator=int(cand.generators[found[j]]), prime=p, hits=len(e), tight=int(tight[:, j].sum()),
        consistent=int(best[0]), threads_seen=max(len(real), 1), subshards=subshards, steps_per_s=rate,
        candidates=len(found), hypothesis=hyp.describe(),
    )


def _chains(E: np.ndarray, ts: np.ndarray, n: int, limit: float) -> list[np.ndarray]:
    """The threads' chains: hits next to each other on g's cycle (by exponent E) less than *limit*
    steps apart, the later one on the cycle not sent more than :data:`CHAIN_BACK` of the capture's
    time span before the earlier one (a thread walks its block upwards in send order; where one
    thread's block ends, the next one's began at the scan's start). Each chain's hits in cycle order.
    Not built from time-order links: ZMap >= 4.1 sends each thread's probes in batches of 64, so a
    view that sees every probe has a thread's previous hit more than :data:`WINDOW` hits back."""
    order = np.argsort(E, kind="stable")
    nxt = np.roll(order, -1)
    gap = (E[nxt] - E[order]) % n
    back = CHAIN_BACK * float(ts.max() - ts.min()) if len(ts) else 0.0
    join = (gap < limit) & (ts[nxt] >= ts[order] - back)
    cuts = np.flatnonzero(~join)
    if len(order) < 2 or not len(cuts):
        return [order]
    shift = int(cuts[0]) + 1  # the ring from just after a cut
    ring, joined = np.roll(order, -shift), np.roll(join, -shift)
    return np.split(ring, np.flatnonzero(~joined)[:-1] + 1)


# -- from the canonical table ---------------------------------------------------------------------


def telescope_ranges(cidrs: Iterable[str]) -> list[tuple[int, int]]:
    """``["198.18.0.0/16", ...]`` -> merged [lo, hi) ranges."""
    return _intervals(cidrs)


def source_probes(packets, src: int, *, port: int | None = None) -> tuple[np.ndarray, np.ndarray, int | None]:
    """One source's SYN probes from the canonical table (a polars LazyFrame or DataFrame): time-ordered
    destinations and timestamps (seconds) to *port*, by default the port it probed most."""
    import polars as pl

    from scantui.analysis.fingerprints import scan_candidate
    from scantui.io.schema import ACK, SYN

    lf = packets.lazy().filter((pl.col("src") == src) & scan_candidate()
                               & ((pl.col("tcp_flags") & (SYN | ACK)) == SYN))
    if port is None:
        top = lf.group_by("dport").agg(pl.len().alias("n")).sort(["n", "dport"], descending=[True, False]).head(1).collect()
        if top.height == 0:
            return np.zeros(0, np.int64), np.zeros(0), None
        port = int(top["dport"][0])
    df = lf.filter(pl.col("dport") == port).select("ts", "dst").sort("ts").collect()
    return df["dst"].to_numpy().astype(np.int64), df["ts"].dt.epoch("us").to_numpy() / 1e6, port


def match_source(packets, src: int, telescope: Sequence[tuple[int, int]] | int, hyp: Hypothesis = Hypothesis(), *,
                 port: int | None = None, version: int = 4) -> WalkMatch | None:
    """:func:`match_walk` on one source's probes to one port of the loaded table."""
    dst, ts, _ = source_probes(packets, src, port=port)
    return match_walk(dst, ts, telescope, hyp, version=version) if len(dst) else None


def detail_walk(packets, telescope: Sequence[tuple[int, int]] | int) -> WalkMatch | None:
    """The test on one source's probes as a detail view reads them (``ts``, ``dst``, ``dport``: e.g.
    :class:`scantui.analysis.detail.TimingPackets`' frame), on its most probed port."""
    if packets.height == 0:
        return None
    top = packets.group_by("dport").len().sort(["len", "dport"], descending=[True, False])["dport"][0]
    one = packets.filter(packets["dport"] == top).sort("ts")
    return match_walk(one["dst"].to_numpy().astype(np.int64), one["ts"].dt.epoch("us").to_numpy() / 1e6, telescope)


def telescope_arg(cidrs: str | None, size: int) -> Sequence[tuple[int, int]] | int:
    """The telescope as the test takes it: the ``--telescope`` CIDRs when given, else its size."""
    if cidrs:
        from scantui.analysis.telescope import parse_cidrs

        return telescope_ranges(str(n) for n in parse_cidrs(cidrs))
    return int(size)


def describe(m: WalkMatch) -> str:
    """One line for a detail view: ``zmap (walk) g=65520 · threads >= 2 · S ~ 4``."""
    parts = [f"g={m.generator}", f"{m.tight}/{m.hits - 1} links"]
    if m.threads_seen > 1:
        parts.append(f"threads >= {m.threads_seen}")
    if m.subshards:
        parts.append(f"S ~ {m.subshards}")
    return "zmap (walk) " + " · ".join(parts)


#: :func:`generator_keys`' columns: one row per (source, port) whose probes follow a ZMap walk.
KEYS_SCHEMA = {"src": "UInt32", "dport": "UInt16", "zmap_generator": "UInt32", "threads_seen": "UInt16",
               "subshards": "UInt32", "hits": "UInt32"}


def generator_keys(packets, telescope: Sequence[tuple[int, int]] | int, hyp: Hypothesis = Hypothesis(), *,
                   min_hits: int = 5, srcs: Sequence[int] | None = None):
    """The ``zmap_generator`` key: for every (source, port) with at least *min_hits* SYN probes (of
    *srcs*, or all), the g its walk recovers. Shards of one seeded scan get one g whatever their
    /24 or AS, so grouping rows by ``zmap_generator`` (and port) ties them; the collaborative-scan
    search can take it as a key beside /24 and AS (not wired there yet)."""
    import polars as pl

    from scantui.analysis.fingerprints import scan_candidate
    from scantui.io.schema import ACK, SYN

    lf = packets.lazy().filter(scan_candidate() & ((pl.col("tcp_flags") & (SYN | ACK)) == SYN))
    if srcs is not None:
        lf = lf.filter(pl.col("src").is_in(pl.Series(list(srcs), dtype=pl.UInt32).implode()))
    groups = (lf.select("src", "dport", "ts", "dst").sort("ts")
              .group_by("src", "dport", maintain_order=True)
              .agg(pl.col("dst"), pl.col("ts").dt.epoch("us"))
              .filter(pl.col("dst").list.len() >= min_hits).collect())
    rows = []
    for src, dport, dst, ts in groups.iter_rows():
        m = match_walk(np.asarray(dst, dtype=np.int64), np.asarray(ts, dtype=np.float64) / 1e6, telescope, hyp)
        if m is not None:
            rows.append((src, dport, m.generator, m.threads_seen, m.subshards, m.hits))
    schema = {k: getattr(pl, v) for k, v in KEYS_SCHEMA.items()}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("zmap_generator", "dport", "src")
