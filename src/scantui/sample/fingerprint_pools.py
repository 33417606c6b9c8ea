"""Planted data for collab's ``fingerprint`` key: pools split across ASes that share rare header artifacts.

:func:`planted` writes one day of a small telescope (``198.18.0.0`` + :data:`T`
addresses) holding, per pool, on its own port:

* the **pool**: 3-6 members, each in a /24 of its own, spread over 2-3 ASes (so no /24
  and no AS covers), whose probes together partition the telescope exactly (unequal
  shares, in parallel or one after another), all built with the pool's artifacts (an
  unusual window, TTL, options, an IP-ID relation or constant, a source-port range or a
  fixed port: :func:`artifacts`);
* **noise on the same port**: a standalone ZMap (default artifacts) in a member's /24,
  Linux-kernel bots (a few probes each), a *decoy* built like the pool that scans a
  third of the telescope, a *coincidental pair* of unrelated sources sharing a rare
  artifact of their own (each scanning 60 % at random: together more than the
  telescope, but no cover), and sources with one-off
  custom artifacts; plus Mirai-like bots on port 23 and a SYN-ACK backscatter flood.

Only the pools are collaborative scans; :func:`planted` returns the packets (the
canonical columns and ``asn``) and the truth (``port``, ``sources``, ``artifacts``).
Nothing here reads the analysis: the tests and ``benchmarks/measure_fingerprint_keys.py``
compare its candidates with the truth.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import numpy as np
import polars as pl

T = 1024
BASE = (198 << 24) | (18 << 16)
DAY = dt.datetime(2024, 3, 4, tzinfo=dt.timezone.utc)
HOUR = 3_600_000_000

#: Default artifacts (they must never make a fingerprint key).
ZMAP = dict(ttl0=255, window=65535, ip_len=44, mss=1460, ip_id=54321, sports=(32768, 61000), seq="rnd")
LINUX = dict(ttl0=64, window=64240, ip_len=60, mss=1460, ip_id="rnd", sports=(32768, 61000), seq="rnd")
MIRAI = dict(ttl0=64, window="rnd", ip_len=40, mss=None, ip_id="rnd", sports=(1024, 65536), seq="dst")


def _ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def artifacts(i: int, rng: np.random.Generator) -> dict:
    """The *i*-th pool's rare artifacts: an unusual window and TTL, and one IP-ID and source-port habit."""
    ip_id = ("dst", "sport", "seq-lo", 4242 + i)[i % 4]
    sports = ((40000 + 1000 * (i % 7), 41000 + 1000 * (i % 7)), (44321 + i, 44322 + i), (50000, 52000))[i % 3]
    ip_len, mss = ((44, 1460), (48, 1380), (40, None))[i % 3]
    return dict(ttl0=(64, 128, 255)[i % 3], window=int(1025 + 97 * i + rng.integers(0, 50)), ip_len=ip_len, mss=mss,
                ip_id=ip_id, sports=sports, seq="rnd")


def probes(src: int, dsts: np.ndarray, port: int, start_h: float, hours: float, art: dict, *, asn: int,
           rng: np.random.Generator, hops: int | None = None, flags: int = 2) -> pl.DataFrame:
    """Probes from *src* to telescope offsets *dsts* over [start_h, start_h + hours) built with the artifacts *art*."""
    n = len(dsts)
    hops = int(rng.integers(6, 25)) if hops is None else hops
    t0 = int(DAY.timestamp() * 1e6) + int(start_h * HOUR)
    ts = t0 + np.sort(rng.integers(0, max(int(hours * HOUR), 1), n))
    dst = (BASE + np.asarray(dsts, dtype=np.int64)).astype(np.int64)
    seq = dst.copy() if art["seq"] == "dst" else rng.integers(0, 2**32, n)
    sport = rng.integers(*art["sports"], n)
    ip_id = art["ip_id"]
    ip_id = {"dst": dst & 0xFFFF, "sport": sport, "seq-lo": seq & 0xFFFF,
             "rnd": rng.integers(1, 54000, n)}.get(ip_id, np.full(n, ip_id)) if isinstance(ip_id, str) else np.full(n, ip_id)
    window = rng.integers(1, 65535, n) if art["window"] == "rnd" else np.full(n, art["window"])
    return pl.DataFrame({
        "ts": pl.Series(ts).cast(pl.Datetime("us", "UTC")), "src": np.full(n, src, np.uint32),
        "dst": dst.astype(np.uint32), "proto": np.full(n, 6, np.uint8), "sport": sport.astype(np.uint16),
        "dport": np.full(n, port, np.uint16), "ip_id": np.asarray(ip_id).astype(np.uint16),
        "ttl": np.full(n, art["ttl0"] - hops, np.uint8), "ip_len": np.full(n, art["ip_len"], np.uint16),
        "tcp_flags": np.full(n, flags, np.uint8), "tcp_seq": seq.astype(np.uint32), "tcp_ack": np.zeros(n, np.uint32),
        "tcp_window": window.astype(np.uint16),
        "tcp_mss": pl.Series([art["mss"]] * n, dtype=pl.UInt16), "asn": pl.Series([asn] * n, dtype=pl.UInt32),
    })


def _shares(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """A random partition of the telescope into *n* unequal parts (each at least a tenth of an equal share)."""
    weights = rng.uniform(0.5, 1.5, n)
    edges = np.concatenate([[0], np.round(np.cumsum(weights) / weights.sum() * T).astype(int)])
    order = rng.permutation(T)
    return [np.sort(order[a:b]) for a, b in zip(edges[:-1], edges[1:])]


def planted(seed: int = 0, pools: int = 6) -> tuple[pl.DataFrame, list[dict]]:
    """One day of packets with *pools* planted pools (see the module doc), and their truth."""
    rng = np.random.default_rng(seed)
    frames: list[pl.DataFrame] = []
    truth: list[dict] = []
    for i in range(pools):
        port = 7000 + 11 * i
        art = artifacts(i, rng)
        n = int(rng.integers(3, 7))
        asns = [64600 + 10 * i + k for k in range(int(rng.integers(2, 4)))]
        members = [(_ip(f"{20 + i}.{30 + k}.{int(rng.integers(0, 256))}.{int(rng.integers(2, 250))}"), asns[k % len(asns)])
                   for k in range(n)]
        parallel = bool(rng.integers(0, 2))
        for k, ((src, asn), part) in enumerate(zip(members, _shares(rng, n))):
            start = 8 + (0 if parallel else 1.5 * k)
            frames.append(probes(src, part, port, start, 1.5, art, asn=asn, rng=rng))
        truth.append({"port": port, "sources": sorted(str(ipaddress.IPv4Address(s)) for s, _ in members),
                      "artifacts": art})
        first = members[0][0]
        frames.append(probes((first & ~0xFF) | 251, np.arange(T), port, 7, 3, ZMAP, asn=members[0][1], rng=rng))
        for b in range(30):
            frames.append(probes(_ip(f"100.{64 + i}.{b}.9"), rng.choice(T, int(rng.integers(16, 40)), replace=False), port,
                                 rng.uniform(0, 20), 3, LINUX, asn=65000 + b, rng=rng))
        frames.append(probes(_ip(f"100.{80 + i}.0.5"), rng.choice(T, T // 3, replace=False), port, 9, 2, art, asn=65300,
                             rng=rng))
        pair = dict(artifacts(i + 50, rng), window=int(30000 + i))
        for k in range(2):
            frames.append(probes(_ip(f"100.{90 + i}.{k}.7"), rng.choice(T, int(T * 0.6), replace=False), port, 8, 2, pair,
                                 asn=65400 + k, rng=rng))
        for k in range(10):
            own = dict(artifacts(i * 10 + k + 100, rng), window=int(20000 + 10 * i + k))
            frames.append(probes(_ip(f"100.{100 + i}.{k}.3"), rng.choice(T, int(rng.integers(20, 200)), replace=False),
                                 port, rng.uniform(0, 20), 2, own, asn=65500 + k, rng=rng))
    for b in range(40):
        frames.append(probes(_ip(f"100.120.{b}.1"), rng.choice(T, 25, replace=False), 23, rng.uniform(0, 20), 2, MIRAI,
                             asn=65600 + b, rng=rng))
    frames.append(probes(_ip("100.121.0.1"), rng.choice(T, T // 2, replace=False), 80, 5, 1, LINUX, asn=65700, rng=rng,
                         flags=0x12))  # SYN-ACK backscatter
    df = pl.concat(frames).sort("ts")
    return df, truth
