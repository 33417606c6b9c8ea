"""The groups ZMap walks and their arithmetic: the primes of ZMap's cyclic.c with a known primitive
root, (a * b) mod m and powers on uint64 arrays, discrete logarithms (Pohlig-Hellman) and the candidate
generators of a group (the primitive roots ZMap >= 4.0 may draw, with their inverse logs).
Used by :mod:`scantui.analysis.zmap_walk`'s test (``../shared/docs/zmap4.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

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
