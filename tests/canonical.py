"""Small random canonical tables for tests (``make_canonical``), importable by any test module.

Kept out of ``conftest.py``: two conftest modules (``tests/`` and ``tests/tui/``) share the module name
``conftest``, so ``from conftest import ...`` resolved to either one depending on which ran first.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from scantui.io.schema import conform

TELESCOPE_BASE = (198 << 24) | (18 << 16)  # 198.18.0.0


def make_canonical(n: int = 2000, seed: int = 1, days: int = 4) -> pl.DataFrame:
    """A random but valid canonical table: probes, backscatter and UDP over *days* days."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
    offsets = np.sort(rng.integers(0, days * 86_400_000_000, n))
    proto = rng.choice(np.array([6, 6, 6, 17], dtype=np.uint8), n)
    tcp = proto == 6
    flags = np.where(tcp, rng.choice(np.array([2, 18, 4], dtype=np.uint8), n), 0).astype(np.uint8)
    df = pl.DataFrame(
        {
            "ts": pl.Series([start + dt.timedelta(microseconds=int(o)) for o in offsets]).dt.cast_time_unit("us"),
            "src": rng.integers(1 << 24, 1 << 31, n, dtype=np.uint32) // 7,
            "dst": (TELESCOPE_BASE + rng.integers(0, 1024, n)).astype(np.uint32),
            "proto": proto,
            "sport": rng.integers(1024, 65536, n, dtype=np.uint16),
            "dport": rng.integers(0, 65536, n, dtype=np.uint16),
            "ip_id": rng.integers(0, 65536, n, dtype=np.uint16),
            "ttl": rng.integers(30, 255, n, dtype=np.uint8),
            "ip_len": np.where(tcp, 44, 60).astype(np.uint16),
            "tcp_flags": flags,
            "tcp_seq": rng.integers(0, 2**32, n, dtype=np.uint32),
            "tcp_ack": np.zeros(n, dtype=np.uint32),
            "tcp_window": np.full(n, 1024, dtype=np.uint16),
            "tcp_mss": np.full(n, 1460, dtype=np.uint16),
        }
    )
    tcp_only = ["tcp_flags", "tcp_seq", "tcp_ack", "tcp_window", "tcp_mss"]
    df = df.with_columns([pl.when(pl.col("proto") == 6).then(pl.col(c)).otherwise(None).alias(c) for c in tcp_only])
    return conform(df.lazy()).collect()
