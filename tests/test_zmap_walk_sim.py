"""The ZMap walk simulator (:mod:`scantui.sample.zmap_walk`) against plain Python ports of ZMap's
loops in the small groups, against ``zmap --dryrun`` of Debian's zmap 2.1.1 (recorded under
tests/data/zmap211, see its README), and ZMap's own numbers (the shipped blocklist's size)."""

from __future__ import annotations

import gzip
import ipaddress
import json
from pathlib import Path

import numpy as np
import pytest

from scantui.sample import zmap_walk as zw

DATA = Path(__file__).parent / "data" / "zmap211"


def _reference_order(allow: list[str], block: list[str], radix: int) -> list[int]:
    """Allowed addresses in constraint order, by brute force: fully allowed /radix blocks first."""
    nets = [ipaddress.ip_network(c) for c in allow]
    blocked = [ipaddress.ip_network(c) for c in block]
    addrs = sorted({int(a) for n in nets for a in n if not any(a in b for b in blocked)})
    size = 1 << (32 - radix)
    per_block: dict[int, int] = {}
    for a in addrs:
        per_block[a // size] = per_block.get(a // size, 0) + 1
    return sorted(addrs, key=lambda a: (per_block[a // size] != size, a))


def _reference_walk_v4(g: int, offset: int, p: int, sub: int, subs: int, n_addrs: int, order: list[int]) -> list[int]:
    """shard_init / shard_roll_to_valid / shard_get_next_target of ZMap 4.3, one port, in plain Python."""
    n = p - 1
    begin = ((n // subs) * sub + offset) % n
    end = ((n // subs) * ((sub + 1) % subs) + offset) % n
    cur, last = pow(g, begin, p), pow(g, end, p)
    out = []
    if cur - 1 < n_addrs:
        out.append(order[cur - 1])
    while True:
        cur = cur * g % p
        if cur == last:
            return out
        if cur >= 1 << 32:
            continue
        if cur - 1 < n_addrs:
            out.append(order[cur - 1])


@pytest.mark.parametrize("allow,block,radix", [
    (["44.0.0.0/24"], ["44.0.0.64/27"], 18),                       # group 257
    (["44.0.0.0/17", "44.3.0.0/18"], ["44.0.16.0/20"], 18),        # group 65537, partial and full /18s
    (["44.0.0.0/17", "44.3.0.0/18"], ["44.0.16.0/20"], 20),
])
@pytest.mark.parametrize("shards,threads", [(1, 1), (1, 3), (3, 2)])
def test_v4_walk_matches_a_plain_port_of_zmap(allow, block, radix, shards, threads):
    allowed = zw.Allowed(allow, block, radix)
    order = _reference_order(allow, block, radix)
    assert allowed.address(np.arange(allowed.count)).tolist() == order
    group = zw.group_for(allowed.count)
    assert group.prime == (257 if allowed.count <= 256 else 65537)
    seen = []
    for shard in range(shards):
        scan = zw.Scan.from_words(0xDEADBEEF, 0x12345, allowed, shard=shard, shards=shards, threads=threads)
        for t in range(threads):
            got = np.concatenate([a for a, _, _ in scan.thread_walk(t, chunk=1000)]).tolist()
            ref = _reference_walk_v4(scan.generator, scan.offset, group.prime, shard * threads + t, shards * threads,
                                     allowed.count, order)
            assert got == ref
            seen.extend(got)
    assert sorted(seen) == sorted(order)  # every allowed address once over all shards and threads


def test_generator_search_v4():
    p32 = zw.GROUPS[4]
    for word in (0, 1, 0xFFFFFFFF, 0x3FFFFF, 123456789, 2**40 + 5):
        g = zw.generator_v4(word, p32)
        assert 0 < g < 2**22 and zw.is_primitive_root(g, p32)
        c = ((word & 0xFFFFFFFF) % p32.prime + 1) % 2**22
        assert all(not zw.is_primitive_root(x, p32) for x in range(max(c, 1), g))  # the first root from c on
    assert zw.generator_v4(5, zw.GROUPS[0]) == 6  # 6 is the first primitive root mod 257 after 5


def test_shipped_blocklist_and_groups():
    allowed = zw.Allowed()
    assert allowed.count == 3_702_258_432
    assert zw.group_for(allowed.count).prime == 2**32 + 15
    assert round(1 - allowed.count / (2**32 + 14), 3) == 0.138  # share of skipped walk steps
    assert zw.group_for(allowed.count, 2).prime == 2**33 + 17 and zw.group_for(256).prime == 257
    assert zw.group_for(257).prime == 65537 and zw.group_for(4352, version=2).prime == 65537
    for grp in zw.GROUPS:  # the table's factors are p - 1's prime factors and the known root is one
        n = grp.prime - 1
        for q in grp.factors:
            while n % q == 0:
                n //= q
        assert n == 1 and zw.is_primitive_root(grp.known_root, grp)


def _dryrun() -> dict:
    with gzip.open(DATA / "dryrun.json.gz", "rt") as f:
        return json.load(f)


def test_v211_walk_matches_zmap_dryrun():
    """The recorded dry runs: one thread, three threads, and two shards of two threads (one seed,
    so one generator and offset). The offset is not printed: every offset consistent with the
    single-thread run is tried, and the threaded and sharded runs must match one of them."""
    doc = _dryrun()
    base = int(ipaddress.ip_address(doc["base"]))
    allowed = zw.Allowed(doc["targets"], [], radix=20)
    group = zw.group_for(allowed.count, version=2)
    g, p = doc["generator"], group.prime
    runs = [[base + d for d in r["daddr"]] for r in doc["runs"]]
    order = allowed.address(np.arange(allowed.count)).tolist()
    x0 = order.index(runs[0][0]) + 1

    def streams(offset: int, run: dict) -> list[list[int]]:
        scan = zw.Scan(g, offset, allowed, group, shard=run["shard"], shards=run["shards"], threads=run["threads"], version=2)
        return [np.concatenate([a for a, _, _ in scan.thread_walk(t)]).tolist() for t in range(run["threads"])]

    def interleaves(out: list[int], parts: list[list[int]]) -> bool:
        owner = {a: i for i, s in enumerate(parts) for a in s}
        return sorted(owner) == sorted(out) and all([a for a in out if owner[a] == i] == s for i, s in enumerate(parts))

    offsets = [o for o in (x0 * pow(g, -(1 + k), p) % p for k in range(64)) if streams(o, doc["runs"][0])[0] == runs[0]]
    assert offsets
    for run, out in zip(doc["runs"][1:], runs[1:]):
        assert any(interleaves(out, streams(o, run)) for o in offsets), run["command"]
    assert sorted(runs[2] + runs[3]) == sorted(order)  # the two shards split the targets


def test_probes_keep_filter_and_threads_share_rate():
    allowed = zw.Allowed()
    scan = zw.Scan.from_words(77, 99, allowed, threads=2)
    ts, dst, _ = zw.probes(scan, rate=1000.0, limit=50_000)
    tele = zw.cidr_addresses("44.1.0.0/24", "45.0.0.0/16")
    ts2, dst2, _ = zw.probes(scan, rate=1000.0, limit=50_000, keep=tele)
    m = np.isin(dst, tele)
    assert dst2.tolist() == dst[m].tolist() and np.allclose(ts2, ts[m])
    assert np.all(np.diff(ts) >= 0) and 0.95 < len(ts) / 1000.0 / ts[-1] < 1.05  # two threads at 500/s each
