"""The ZMap walk test's second stage over a block of candidate generators, pruned as the links arrive.

:func:`scantui.analysis.zmap_walk.match_walk` keeps a candidate g when its links (each hit to the
nearest earlier one of the last ``window`` on g's cycle) hold ``need_tight`` tight ones or ``need_slope``
consistent ones (tight, with steps per second inside one (1 +- tol) band). Through a big telescope stage 1
leaves a few candidates; through a tiny one (a honeypot, a /26, a day of 71 distinct destinations) a link
is tight for most g (the tight distance is a seventh of the cycle), stage 1 keeps all 1.1 M, and this
stage decides alone. It gives the same answer as :func:`~scantui.analysis.zmap_link_rules._links` plus
:func:`~scantui.analysis.zmap_link_rules._consistent` on every candidate, with less work:

- one link per hit: the nearest earlier hit and its lag as one packed integer per (hit, candidate):
  ``distance << 5 | lag`` (distances below 2**33, up to 32 hits), the smallest distance, the smallest
  lag on a tie, as the dense code picks them; hit k's exponents are kept as ``E << 5 | k``, so that one
  subtraction of two hits' rows gives the packed link at once;
- "``k`` consistent links" is "some ``k`` sorted rates fit one band" (a window over the sorted rates,
  not every band's count);
- pruned as links arrive: with ``r`` links still to come, a candidate with fewer than
  ``need_tight - r`` tight links and no ``need_slope - r`` consistent ones cannot pass (each later link
  adds at most one to either count), so it is dropped before its later hits' exponents are computed.
"""

from __future__ import annotations

import numpy as np

#: Candidates per block (arrays of 1 << 15 uint64 stay in a core's cache).
CHUNK = 1 << 15
#: Bits below a packed link's distance that hold its lag (at least; more for more than 32 hits).
LAG_BITS = 5
#: The first consistency check (a sort of the rates so far) once it asks for this many consistent links:
#: fewer drop almost nothing (2 of 21 links in one band: most wrong g have that).
FIRST_CHECK = 3


def fits(rates: np.ndarray, k: int, tol: float) -> np.ndarray:
    """Per row of *rates* (NaN where a link is not counted): whether some *k* of them lie inside one band
    ``[lo, lo * (1 + tol) / (1 - tol)]`` with ``lo`` one of them, i.e. ``_consistent``'s count reaches *k*."""
    if k <= 0:
        return np.ones(rates.shape[0], dtype=bool)
    if k > rates.shape[1]:
        return np.zeros(rates.shape[0], dtype=bool)
    srt = np.sort(rates, axis=1)  # NaN last
    hi_factor = (1 + tol) / (1 - tol)
    out = np.zeros(rates.shape[0], dtype=bool)
    for i in range(srt.shape[1] - k + 1):  # a band from srt[i] up holds srt[i .. i+k-1] when the k-th fits
        out |= srt[:, i + k - 1] <= srt[:, i] * hi_factor
    return out


def passing(row, h: int, ts: np.ndarray, n: int, limit: float, need_tight: int, need_slope: int,
            count: int, *, window: int, tol: float) -> np.ndarray:
    """The columns (of *count* candidates) whose links over *h* hits reach *need_tight* tight ones or
    *need_slope* consistent ones. ``row(k, cols)`` gives hit k's exponents E (uint64, below *n*) for the
    candidates *cols*; *ts* the hits' times."""
    links = h - 1
    if links < 1:
        return np.zeros(0, dtype=np.int64)
    bits = np.uint64(max(LAG_BITS, links.bit_length()))
    cols = np.arange(count)
    shifted = np.uint64(n) << bits
    # hit k's row holds E << bits | k: row k minus row k - j is then the distance (mod n) << bits | j, the lag
    exps: list[np.ndarray | None] = [row(0, cols) << bits]
    rates = np.empty((count, links))  # a candidate's links in a row: its sort below is a contiguous one
    n_tight = np.zeros(count, dtype=np.int64)
    acc, tmp, alt = (np.empty(count, dtype=np.uint64) for _ in range(3))
    for k in range(1, h):
        exps.append((row(k, cols) << bits) | np.uint64(k))
        c = len(cols)
        a, t, u = acc[:c], tmp[:c], alt[:c]
        a.fill(np.iinfo(np.uint64).max)
        for j in range(1, min(window, k) + 1):
            np.subtract(exps[k], exps[k - j], out=t)  # wraps below zero: t + shifted is then the distance
            np.add(t, shifted, out=u)
            np.minimum(t, u, out=t)
            np.minimum(a, t, out=a)
        dmin = (a >> bits).astype(np.int64)
        tight = dmin < limit
        n_tight += tight
        dt = ts[k] - ts[k - (a & ((np.uint64(1) << bits) - np.uint64(1))).astype(np.int64)]
        rates[:, k - 1] = np.where(tight & (dt > 0), dmin.astype(np.float64) / np.maximum(dt, 1e-12), np.nan)
        rest = links - k  # each later link adds at most one tight and one consistent link
        if rest >= min(need_tight, need_slope):
            continue
        keep = n_tight >= need_tight - rest
        maybe = np.flatnonzero(~keep & (n_tight >= need_slope - rest))
        if len(maybe) and (need_slope - rest >= FIRST_CHECK or not rest):
            keep[maybe] = fits(rates[maybe, :k], need_slope - rest, tol)
        else:
            keep[maybe] = True
        if not rest:
            return cols[keep]
        if not keep.all():
            cols, rates, n_tight = cols[keep], rates[keep], n_tight[keep]
            exps = [None if i <= k - window else x[keep] for i, x in enumerate(exps)]  # later links reach back `window`
            if not len(cols):
                return cols
    return cols
