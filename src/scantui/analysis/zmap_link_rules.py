"""What the ZMap walk test counts: its parameters (the link window, the tight distance, the slope
tolerance, the false-match rate, ...), the links of hits to earlier ones (:func:`_links`,
:func:`_link_pairs`), the most consistent of them (:func:`_consistent`) and how many links chance allows
(:func:`_needed`). Shared by :mod:`scantui.analysis.zmap_walk` and :mod:`scantui.analysis.zmap_pretest`.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

WINDOW = 16        # earlier hits a hit may link to (a thread's previous hit is ~threads hits back)
TIGHT = 10.0       # a link is tight below TIGHT mean gaps: a true gap exceeds it with P = e**-10
SLOPE_TOL = 0.05   # consistent links: steps per second within +-5 % of each other
FALSE_RATE = 1e-4  # expected wrong generators matched per source test
MAX_HITS = 32      # hits used in the vectorised pass (all hits are used to confirm)
CHUNK = 1 << 17    # candidate generators per vectorised block
CHAIN_SHARE = 0.02  # a chain (thread) holds at least this share of the hits (links a wrong window broke aside)
CHAIN_BACK = 0.25  # a chain's next hit on the cycle may be sent this share of the capture's span earlier (jitter)
STAGE1_HITS = 12   # the first pass over every candidate (a true g with <= 8 threads has >= 2 tight pairs)


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


@lru_cache(maxsize=64)
def _link_pairs(h: int) -> tuple[np.ndarray, np.ndarray]:
    """The (k, j) of the links :func:`_links` looks at for *h* hits: hit k to hit k - j, 1 <= j <= min(WINDOW, k)."""
    k, j = np.nonzero(np.arange(1, WINDOW + 1)[None, :] <= np.arange(h)[:, None])
    return k, j + 1
