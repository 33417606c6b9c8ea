"""The ZMap walk test's pretest: whether any candidate generator could reach the counts, found by listing
the candidates each link makes tight instead of trying them all (groups whose p - 1 is a power of two),
for one source (:func:`may_match`) or many hit sets at once (:func:`may_match_many`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from scantui.analysis.zmap_group import candidates
from scantui.analysis.zmap_link_rules import _consistent, _link_pairs

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
