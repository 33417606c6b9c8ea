"""Planted collaborative scans that calendar days and rolling windows miss, in noise: for the burst windows.

:func:`planted` returns a canonical packet table over five days on a 4,096-address telescope
(198.18.0.0/20) and its ground truth, one dict per planted scan (``cls``, ``port``,
``sources``, ``start``/``end`` in µs). The classes (issue 13):

* ``resharded``: a pool of two sources sweeps port 6379 twice in one day (02:00 and 05:00,
  90 minutes each) with a new seed for the second round: each round is an exact cover, the
  day is not (each member's day set is ≈ 0.75 of the telescope);
* ``drift``: three sources scan port 8443 daily for three hours, starting 20 minutes earlier
  each day from 23:00 (each run crosses midnight), a new split every day;
* ``trickle``: four sources send 300 probes a day each to port 5900 at random times, and
  sweep it once together (day 3, 10:00-12:00).

The noise: a standalone scanner in each of those /24s sweeping the same port at overlapping
times, sources of the same /24s probing the port a little, Mirai-like random bots over every
port (a few of them on the planted ports), and backscatter floods (SYN-ACKs). Every part has
its own AS number, the /24s' noise the /24's.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import numpy as np
import polars as pl

from scantui.io.schema import conform

T = 4096
TELESCOPE = (198 << 24) | (18 << 16)
START = dt.datetime(2024, 3, 4, tzinfo=dt.timezone.utc)
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
DAYS = 5
T0 = (START - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)

#: The classes' shapes, shared with the sample scenario (:mod:`scantui.sample.scenario`).
ROUND_HOURS = (2, 5)  # re-sharded rounds: start hours of the two rounds of one day
ROUND_US = 90 * 60_000_000  # ... and each round's length
DRIFT_HOURS = 3  # drift: each run's length
TRICKLE_PER_DAY = 300  # trickle: probes per member per day, besides the sweep


def drift_start_h(d: int) -> float:
    """Hour (of its day) when the drifting scan's run of day *d* starts: 23:00, 22:40, 22:20, ..."""
    return 23 - d * 20 / 60


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


class _Packets:
    """Columns collected part by part."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, src: int, dsts: np.ndarray, ports: np.ndarray | int, ts: np.ndarray, asn: int, flags: int = 2) -> None:
        n = len(dsts)
        self.parts.append({
            "t": np.asarray(ts, dtype=np.int64), "src": np.full(n, src, dtype=np.uint32),
            "dst": (TELESCOPE + np.asarray(dsts)).astype(np.uint32),
            "dport": np.broadcast_to(np.asarray(ports, dtype=np.uint16), (n,)).copy(),
            "flags": np.full(n, flags, dtype=np.uint8), "asn": np.full(n, asn, dtype=np.uint32),
        })

    def sweep(self, src: int, dsts: np.ndarray, port: int, start_us: int, dur_us: int, asn: int) -> tuple[int, int]:
        """*dsts* in a random order, evenly spread over [start, start + dur) with jitter: the (first, last) time."""
        n = len(dsts)
        ts = start_us + (np.arange(n) * (dur_us / n)).astype(np.int64) + self.rng.integers(0, max(1, dur_us // n // 2), n)
        self.add(src, self.rng.permutation(dsts), port, ts, asn)
        return int(ts.min()), int(ts.max())

    def frame(self) -> pl.DataFrame:
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        n = len(cols["t"])
        rng = self.rng
        df = pl.DataFrame({
            "ts": pl.Series(cols["t"]).cast(pl.Datetime("us", "UTC")), "src": cols["src"], "dst": cols["dst"],
            "proto": np.full(n, 6, dtype=np.uint8), "sport": rng.integers(1024, 65535, n, dtype=np.uint16),
            "dport": cols["dport"], "ip_id": rng.integers(0, 65536, n, dtype=np.uint16),
            "ttl": rng.integers(40, 250, n, dtype=np.uint8), "ip_len": np.full(n, 44, dtype=np.uint16),
            "tcp_flags": cols["flags"], "tcp_seq": rng.integers(0, 2**32, n, dtype=np.uint32),
            "tcp_ack": np.zeros(n, dtype=np.uint32), "tcp_window": np.full(n, 1024, dtype=np.uint16),
            "tcp_mss": np.full(n, 1460, dtype=np.uint16), "asn": cols["asn"],
        })
        return conform(df.sort("ts").lazy()).collect()


def _scan(cls: str, port: int, srcs: list[int], spans: list[tuple[int, int]]) -> dict:
    return {"cls": cls, "port": port, "sources": tuple(sorted(srcs)),
            "start": min(a for a, _b in spans), "end": max(b for _a, b in spans)}


def planted(seed: int = 13) -> tuple[pl.DataFrame, list[dict]]:
    """(packets, truth): the table and its planted scans (see the module doc)."""
    rng = np.random.default_rng(seed)
    pk = _Packets(rng)
    truth: list[dict] = []
    everything = np.arange(T)

    # re-sharded rounds: two members, two rounds, a new split each round
    pool = [ip("45.33.10.10"), ip("45.33.10.11")]
    for start_h in ROUND_HOURS:
        order = rng.permutation(T)
        spans = [pk.sweep(s, order[i::2], 6379, T0 + start_h * HOUR_US, ROUND_US, 64501) for i, s in enumerate(pool)]
        truth.append(_scan("resharded", 6379, pool, spans))
    pk.sweep(ip("45.33.10.99"), everything, 6379, T0 + 3 * HOUR_US, 4 * HOUR_US, 64501)  # standalone, same /24

    # drift: 23:00, 22:40, 22:20 ... each run three hours, a new split each day
    pool = [ip("103.77.20.5"), ip("103.77.20.6"), ip("103.77.20.7")]
    for d in range(DAYS - 1):
        start = T0 + d * DAY_US + round(drift_start_h(d) * HOUR_US)
        parts = np.array_split(rng.permutation(T), 3)
        spans = [pk.sweep(s, part, 8443, start, DRIFT_HOURS * HOUR_US, 64502) for s, part in zip(pool, parts)]
        truth.append(_scan("drift", 8443, pool, spans))
    pk.sweep(ip("103.77.20.99"), everything, 8443, T0 + 2 * DAY_US + 12 * HOUR_US, 2 * HOUR_US, 64502)

    # trickle plus sweep: 300 probes a day each at random, and one sweep together
    pool = [ip(f"185.220.30.{20 + i}") for i in range(4)]
    for s in pool:
        n = TRICKLE_PER_DAY * DAYS
        pk.add(s, rng.integers(0, T, n), 5900, T0 + np.sort(rng.integers(0, DAYS * DAY_US, n)), 64503)
    parts = np.array_split(rng.permutation(T), 4)
    spans = [pk.sweep(s, part, 5900, T0 + 2 * DAY_US + 10 * HOUR_US, 2 * HOUR_US, 64503) for s, part in zip(pool, parts)]
    truth.append(_scan("trickle", 5900, pool, spans))
    pk.sweep(ip("185.220.30.99"), everything, 5900, T0 + 2 * DAY_US + 10 * HOUR_US + HOUR_US // 2, HOUR_US, 64503)

    # the /24s' own light noise on the planted ports
    for prefix, port, asn in (("45.33.10", 6379, 64501), ("103.77.20", 8443, 64502), ("185.220.30", 5900, 64503)):
        for host in range(50, 54):
            n = 40
            pk.add(ip(f"{prefix}.{host}"), rng.integers(0, T, n), port, T0 + np.sort(rng.integers(0, DAYS * DAY_US, n)), asn)
    # Mirai-like bots: random sources, ports (a tenth on the planted ones), destinations and times
    for b in range(400):
        n = int(rng.integers(5, 60))
        ports = np.where(rng.random(n) < 0.1, rng.choice([6379, 8443, 5900], n), rng.integers(1, 65535, n))
        src = int(rng.integers(1 << 24, 223 << 24))
        pk.add(src, rng.integers(0, T, n), ports, T0 + np.sort(rng.integers(0, DAYS * DAY_US, n)), 60000 + b % 50)
    # backscatter floods: SYN-ACKs to many addresses
    for k in range(4):
        n = 3000
        pk.add(ip(f"151.101.{k}.1"), rng.integers(0, T, n), rng.integers(1024, 65535, n),
               T0 + k * DAY_US + np.sort(rng.integers(0, 2 * HOUR_US, n)), 54113, flags=0x12)
    return pk.frame(), truth
