"""Test helpers: captures of simulated ZMap 4.1 scans (random IP-ID, TTL 64, window 65535, its TCP
options), written with the byte-level pcap writer of ``pcapbuild.py``."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import numpy as np
import polars as pl

from scantui.enrich.table import TABLE_SCHEMA
from scantui.sample import zmap_walk as zw

from pcapbuild import Rec, ether, ipv4, tcp, udp, write_pcap

ZMAP41_OPTIONS = bytes([2, 4, 0x05, 0xB4, 1, 3, 3, 8, 1, 1, 4, 2])  # MSS 1460, NOP, WS 8, NOP, NOP, SACK-permitted
T0 = 1_700_000_000.0


def zmap41_records(src: int, ts: np.ndarray, dst: np.ndarray, port: int, seed: int) -> list[Rec]:
    """One SYN per (time, destination) from *src* to *port*, with ZMap 4.1's header fields."""
    rng = np.random.default_rng(seed)
    ip_ids = rng.integers(0, 65536, len(dst))
    ip_ids[ip_ids == 54321] = 54320  # the old tag would make these the IP-ID rule's
    out = []
    for t, d, ipid in zip(ts, dst, ip_ids):
        seg = tcp(sport=int(rng.integers(32768, 61000)), dport=port, seq=int(rng.integers(0, 2**32)), flags=0x02,
                  window=65535, options=ZMAP41_OPTIONS)
        out.append(Rec(ether(ipv4(src, int(d), 6, seg, ip_id=int(ipid), ttl=64)), ts=T0 + float(t)))
    return out


def zmap211_records(src: int, ts: np.ndarray, dst: np.ndarray, port: int, seed: int) -> list[Rec]:
    """One SYN per (time, destination) with zmap 2.1.1's header (tests/data/zmap211): IP-ID 54321, TTL
    255, window 65535, no TCP options."""
    rng = np.random.default_rng(seed)
    return [Rec(ether(ipv4(src, int(d), 6, tcp(sport=int(rng.integers(32768, 61000)), dport=port,
                                               seq=int(rng.integers(0, 2**32)), flags=0x02, window=65535),
                           ip_id=54321, ttl=255)), ts=T0 + float(t)) for t, d in zip(ts, dst)]


def sharded_211_capture(folder: Path, cidr: str = "61.8.16.0/20", shards: int = 2, threads: int = 2,
                        exponent: int = 12345) -> dict:
    """A sharded zmap 2.1.1 scan of *cidr* (one seed: g = 3**exponent in group 65537, interleaved
    subshards, IP-ID 54321) from *shards* sources in different /24s of different ASes, every probe seen
    (the telescope is the prefix), with an enrichment table putting source i in AS 64600 + i."""
    allowed = zw.Allowed((cidr,), (), radix=20)
    group = zw.group_for(allowed.count, version=2)
    g = pow(group.known_root, exponent, group.prime)
    sources = [_addr(f"{20 + 40 * i}.{i + 1}.2.{9 + i}") for i in range(shards)]
    records = []
    for shard, src in enumerate(sources):
        scan = zw.Scan(g, 1000 + exponent, allowed, group, shard=shard, shards=shards, threads=threads, version=2)
        ts, dst, _ = zw.probes(scan, rate=500.0, seed=shard)
        records += zmap211_records(src, ts, dst, PORT, shard)
    path = write_pcap(folder / "zmap211_shards.pcap", sorted(records, key=lambda r: r.ts))
    day = dt.datetime.fromtimestamp(T0, dt.timezone.utc).date()
    table = pl.DataFrame({"src": sources, "day": [day] * shards, "asn": [64600 + i for i in range(shards)],
                          "as_name": [f"AS{i}" for i in range(shards)]})
    enrich = folder / "enrich211.parquet"
    pl.concat([pl.DataFrame(schema=TABLE_SCHEMA), table], how="diagonal_relaxed").write_parquet(enrich)
    return {"pcap": str(path), "enrich": str(enrich), "generator": g, "sources": sources, "cidr": cidr,
            "prime": group.prime}


def _addr(text: str) -> int:
    return int(ipaddress.ip_address(text))


#: The telescope: a /16, every address of it reached each day (a UDP sweep in the capture).
TELESCOPE = "44.1.0.0/16"
SHARDS = ("204.0.113.9", "80.10.20.30")  # two /24s, two ASes (the enrichment table below)
OTHER = "91.0.0.7"  # same header, random order: pre-screened, tested, no match
SWEEP = "60.0.0.1"
PORT = 8443


def sharded_capture(folder: Path) -> dict:
    """A sharded ZMap 4.1 scan (one seed, 2 shards x 2 threads, random IP-ID: tool ``other`` by the
    header rules) from two sources in two /24s of two ASes, each thread walked for 3 M steps (the
    first ~0.07 % of the scan: some 90 hits per shard in the /16); a source with the same header
    probing random telescope addresses; a UDP sweep of the whole /16 (the day's destinations, so the
    walk test's telescope size is the real one). Collab is given the shards' union as the telescope
    size (``--telescope-size``): the shards of the partial walk are then an exact cover. An enrichment
    table puts the shards in AS 64500 and AS 64511."""
    keep = zw.cidr_addresses(TELESCOPE)
    records, gens, dsts = [], set(), []
    for shard, src in enumerate(SHARDS):
        scan = zw.Scan.from_words(0x5EED, 0xF00D, zw.Allowed(), shard=shard, shards=2, threads=2)
        gens.add(scan.generator)
        ts, dst, _ = zw.probes(scan, rate=20_000.0, keep=keep, limit=3_000_000, jitter=0.001, seed=shard)
        records += zmap41_records(_addr(src), ts, dst, PORT, shard)
        dsts.append(dst)
    rng = np.random.default_rng(5)
    records += zmap41_records(_addr(OTHER), np.sort(rng.uniform(0, 300, 200)), rng.choice(keep, 200, replace=False),
                              PORT, 9)
    sweep = _addr(SWEEP)
    records += [Rec(ether(ipv4(sweep, int(d), 17, udp(40000, 53))), ts=T0 + 400 + i * 1e-4) for i, d in enumerate(keep)]
    path = write_pcap(folder / "zmap41.pcap", sorted(records, key=lambda r: r.ts))
    day = dt.datetime.fromtimestamp(T0, dt.timezone.utc).date()
    table = pl.DataFrame({"src": [_addr(s) for s in SHARDS], "day": [day, day], "asn": [64500, 64511],
                          "as_name": ["ONE", "TWO"]})
    enrich = folder / "enrich.parquet"
    pl.concat([pl.DataFrame(schema=TABLE_SCHEMA), table], how="diagonal_relaxed").write_parquet(enrich)
    (g,) = gens
    union = int(np.unique(np.concatenate(dsts)).size)
    return {"pcap": str(path), "enrich": str(enrich), "generator": g, "union": union}
