"""The ZMap walk detector (:mod:`scantui.analysis.zmap_walk`): its number theory against Python's
``pow`` and the simulator, simulated >= 4.0 scans (threaded, sharded) seen through a /16 and a /20
telescope, and non-ZMap orders that must never match."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scantui.analysis import zmap_walk as zd
from scantui.analysis.zmap_group import GROUPS
from scantui.analysis.zmap_targets import IndexMap
from scantui.sample import zmap_walk as zw

P32 = 2**32 + 15


def _range(cidr: str) -> list[tuple[int, int]]:
    net = ipaddress.ip_network(cidr)
    return [(int(net.network_address), int(net.broadcast_address) + 1)]


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(sorted(GROUPS)), st.lists(st.integers(min_value=1, max_value=2**40), min_size=1, max_size=20))
def test_pohlig_hellman_matches_pow(p, xs):
    xs = [x % (p - 1) + 1 for x in xs]
    logs = zd.dlog(p)(np.array(xs, dtype=np.uint64))
    root = GROUPS[p][0]
    assert [pow(root, int(k), p) for k in logs] == xs
    assert all(int(k) < p - 1 for k in logs)


def test_generator_count_and_inverses():
    cand = zd.candidates(P32)
    assert len(cand.generators) == 1_109_646  # primitive roots below 2**22 (zmap4.md's count)
    assert int(cand.generators.max()) < 2**22
    rng = np.random.default_rng(5)
    sample = rng.integers(1, 2**22, 2000)
    group = zw.GROUPS[4]
    roots = set(cand.generators.tolist())
    assert all((int(c) in roots) == zw.is_primitive_root(int(c), group) for c in sample)
    pick = rng.choice(len(cand.generators), 200)
    logs = zd.dlog(P32)(cand.generators[pick])
    assert all(int(a) * int(b) % (P32 - 1) == 1 for a, b in zip(logs, cand.inv_log[pick]))
    assert len(zd.candidates(65537).generators) == 32768  # every primitive root of the small group


@pytest.mark.parametrize("allow,block,radix", [
    (("0.0.0.0/0",), zw.SHIPPED_BLOCKLIST, 18),
    (("0.0.0.0/0",), zw.SHIPPED_BLOCKLIST, 20),
    (("44.0.0.0/17", "44.3.0.0/18", "45.1.2.0/23"), ("44.0.16.0/20",), 18),
])
def test_index_map_inverts_the_simulator(allow, block, radix):
    allowed = zw.Allowed(allow, block, radix)
    imap = IndexMap(zd.Hypothesis(allow, block, radix))
    assert imap.count == allowed.count
    rng = np.random.default_rng(1)
    idx = np.concatenate([rng.integers(0, allowed.count, 5000), [0, allowed.count - 1]]).astype(np.uint64)
    assert imap.index(allowed.address(idx)).tolist() == idx.astype(np.int64).tolist()
    if block:
        assert imap.index([int(ipaddress.ip_address(block[0].split("/")[0]))])[0] == -1


def _scan_hits(threads=1, shards=1, shard=0, cidr="44.1.0.0/16", steps=1_000_000, words=(0xC0FFEE, 0xBEEF), rate=20_000.0):
    scan = zw.Scan.from_words(*words, zw.Allowed(), shard=shard, shards=shards, threads=threads)
    ts, dst, _ = zw.probes(scan, rate=rate, keep=zw.cidr_addresses(cidr), limit=steps, jitter=0.002, seed=shard)
    return scan, ts, dst


@pytest.mark.parametrize("threads,cidr,steps", [(1, "44.1.0.0/16", 1_000_000), (4, "44.1.0.0/16", 1_000_000),
                                                (1, "61.8.16.0/20", 12_000_000), (3, "61.8.16.0/20", 8_000_000)])
def test_simulated_scans_match_and_recover_g(threads, cidr, steps):
    scan, ts, dst = _scan_hits(threads, cidr=cidr, steps=steps)
    m = zd.match_walk(dst, ts, _range(cidr))
    assert m is not None, len(dst)
    assert m.generator == scan.generator and m.prime == P32
    assert m.threads_seen == threads
    if threads > 1:
        assert m.subshards == threads
    expected_rate = 20_000.0 / threads / (zw.Allowed().count / (P32 - 1))  # steps per second per thread
    assert abs(m.steps_per_s / expected_rate - 1) < 0.05


def test_shards_of_one_scan_share_g():
    """Three ZMap instances, one seed, --shards 3: three sources (any /24, any AS) with one g."""
    gens = set()
    for shard in range(3):
        scan, ts, dst = _scan_hits(threads=2, shards=3, shard=shard, steps=1_000_000)
        m = zd.match_walk(dst, ts, _range("44.1.0.0/16"))
        assert m is not None and m.subshards == 6 and m.threads_seen == 2
        gens.add(m.generator)
    assert gens == {scan.generator}
    other, ts, dst = _scan_hits(threads=1, steps=1_000_000, words=(0xABCDEF, 0x1))
    m = zd.match_walk(dst, ts, _range("44.1.0.0/16"))
    assert m is not None and m.generator == other.generator != scan.generator


def _feistel(k: np.ndarray, key: int, bits: int = 32) -> np.ndarray:
    """A keyed 4-round Feistel permutation of [0, 2**bits) (Masscan's blackrock is one)."""
    half = bits // 2
    mask = np.uint64((1 << half) - 1)
    left, right = k >> np.uint64(half), k & mask
    for r in range(4):
        f = ((right * np.uint64(0x9E3779B1) + np.uint64(key * 7919 + r)) ^ (right >> np.uint64(5))) & mask
        left, right = right, left ^ f
    return (left << np.uint64(half)) | right


def _negatives(n_hits: int, lo: int, size: int, span: float) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    out = []

    def times(n):
        return np.sort(rng.uniform(0, span, n))

    for s in range(8):  # uniform random destinations at the same hit rate
        out.append((f"random{s}", lo + rng.integers(0, size, n_hits), times(n_hits)))
    for s in range(4):  # sequential sweeps (whole Internet or the telescope itself), steady rate
        start = int(rng.integers(0, size))
        out.append((f"sequential{s}", lo + (start + np.arange(n_hits)) % size, np.linspace(0, span, n_hits)))
    for s, stride in enumerate((3, 257, 4099, 65521, 7, 1031, 16411, 40503)):  # strided sweeps
        out.append((f"stride{stride}", lo + (int(rng.integers(0, size)) + stride * np.arange(n_hits)) % size,
                    np.linspace(0, span, n_hits)))
    base = lo & 0xFF000000
    for s in range(8):  # Masscan-like: a keyed permutation of the /8 around the telescope, hits kept
        a = base + _feistel(np.arange(0, 1 << 18, dtype=np.uint64), 1000 + s, bits=24).astype(np.int64)
        hit = np.flatnonzero((a >= lo) & (a < lo + size))[:n_hits]
        out.append((f"feistel{s}", a[hit], hit.astype(np.float64) / 5e2))
    for s in range(4):  # linear congruential orders over the telescope
        mult = int(rng.integers(1, size)) | 1
        out.append((f"lcg{s}", lo + (mult * np.arange(1, n_hits + 1) + s) % size, times(n_hits)))
    return out


@pytest.mark.parametrize("cidr,n_hits", [("44.1.0.0/16", 24), ("61.8.16.0/20", 24)])
def test_non_zmap_orders_never_match(cidr, n_hits):
    (lo, hi), = _range(cidr)
    cases = _negatives(n_hits, lo, hi - lo, 600.0)
    assert len(cases) == 32
    matched = [name for name, dst, ts in cases if len(dst) >= 4 and zd.match_walk(dst, ts, [(lo, hi)]) is not None]
    assert matched == []


def test_too_few_hits_or_blocked_destinations_do_not_match():
    scan, ts, dst = _scan_hits(steps=1_000_000)
    tele = _range("44.1.0.0/16")
    assert zd.match_walk(dst[:3], ts[:3], tele) is None
    bogus = np.concatenate([dst, int(ipaddress.ip_address("10.0.0.1")) + np.arange(len(dst))])
    assert zd.match_walk(bogus, np.concatenate([ts, ts]), tele) is None  # ZMap never probes its blocklist


@pytest.mark.parametrize("n", [2, 3, 5, 8, 12, 13, 32])
def test_sorting_network_sorts_columns(n):
    rows = list(np.random.default_rng(n).random((n, 300)))
    expected = np.sort(np.array(rows), axis=0)
    for i, k in zd._sorting_network(n):
        rows[i], rows[k] = np.minimum(rows[i], rows[k]), np.maximum(rows[i], rows[k])
    assert np.array_equal(np.array(rows), expected)


def _thread_runs(scan: zw.Scan, ts: np.ndarray, dst: np.ndarray, hyp: zd.Hypothesis) -> np.ndarray:
    """Lengths of the runs of one subshard's probes in time order (subshard from the exponent on g's cycle)."""
    p = scan.group.prime
    inv = pow(int(zd.dlog(p)(np.array([scan.generator], dtype=np.uint64))[0]), -1, p - 1)
    e = zd.dlog(p)((zd.index_map(hyp).index(dst) + 1).astype(np.uint64)).astype(np.int64) * inv % (p - 1)
    sub = (e - scan.offset) % (p - 1) // ((p - 1) // scan.subshards)
    return np.diff(np.concatenate([[0], np.flatnonzero(np.diff(sub) != 0) + 1, [len(sub)]]))


def test_simulated_threads_send_in_batches_and_shards_still_match():
    """A scan of a /20 seen whole (as the real 4.3.4 capture): each thread's probes leave in runs of 64 by
    default, probe by probe with ``batch=None``; the batched shards match with the scan's g, two
    threads each and S = 4 (the rollup's prefix hypothesis)."""
    cidr = "61.8.16.0/20"
    allowed = zw.Allowed((cidr,), ())
    hyp = zd.Hypothesis(allow=(cidr,), block=())
    gens = set()
    for shard in range(2):
        scan = zw.Scan.from_words(0xC0FFEE, 0xF00D, allowed, shard=shard, shards=2, threads=2)
        ts, dst, _ = zw.probes(scan, rate=1000.0, jitter=1e-5, seed=shard)
        runs = _thread_runs(scan, ts, dst, hyp)
        assert np.median(runs) == 64 and (runs[:-1] == 64).mean() > 0.9
        assert np.all(np.diff(ts) >= 0) and 0.9 < len(ts) / 1000.0 / ts[-1] < 1.1
        m = zd.match_walk(dst, ts, _range(cidr), hyp)
        assert m is not None and m.prime == 65537 and m.threads_seen == 2 and m.subshards == 4
        gens.add(m.generator)
        one_by_one = _thread_runs(scan, *zw.probes(scan, rate=1000.0, batch=None)[:2], hyp)
        assert np.median(one_by_one) == 1
    assert gens == {scan.generator}


@pytest.mark.parametrize("batch", [64, None])
def test_batched_internet_wide_shards_match_through_a_telescope(batch):
    """Internet-wide, 3 shards x 2 threads, through a /16: batching or not, every shard gives the scan's g."""
    for shard in range(3):
        scan = zw.Scan.from_words(0xC0FFEE, 0xBEEF, zw.Allowed(), shard=shard, shards=3, threads=2)
        ts, dst, _ = zw.probes(scan, rate=20_000.0, keep=zw.cidr_addresses("44.1.0.0/16"), limit=1_000_000,
                               seed=shard, batch=batch)
        m = zd.match_walk(dst, ts, _range("44.1.0.0/16"))
        assert m is not None and m.generator == scan.generator and m.subshards == 6 and m.threads_seen == 2
