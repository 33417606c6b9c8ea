"""A small deterministic two-sensor data set: a telescope ``tel-a`` and a darknet/honeypot range ``hp-b``.

``generate_sensors(out_dir)`` (or ``python -m scantui.sample.sensors OUT_DIR``) writes
``sensors.parquet`` (the canonical table plus ``sensor``, sorted by ``ts``) and
``truth.json``; the committed ``sample_data/sensors/`` is its output for the default seed.

The sensors' spaces are disjoint, inside 198.18.0.0/15: ``tel-a`` is 198.18.4.0/22 (1024
addresses), ``hp-b`` 198.18.12.0/24 (256). A packet's sensor is the one whose space holds
its destination. Over :data:`DAYS` days (all TCP SYN probes, tool styles from
:mod:`scantui.sample.fingerprints`):

- ``census``: two ZMap sources sweeping both spaces every day (port 80, 443): seen by both;
  they make each sensor's daily distinct destinations its whole space;
- ``both``: masscan sources probing part of both spaces (port 22);
- ``a_only`` / ``b_only``: sources probing only one sensor's space;
- three collaborative scans (several sources of one /24, one port, one day, an exact
  partition): ``SA`` covers tel-a's space only, ``SAB`` covers both spaces, ``SB`` hp-b's only;
- ``noise``: one to three probes each to random addresses of either space.

``truth.json``: the sensors (cidr, size), the days, per-source sensor sets computed from the
packets (``sources``: ``both``, ``only`` per sensor), the planted roles, and the scans with the
sensors each covers (``covers``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

from ..fsutil import atomic_path, write_bytes_atomic
from .actors import DAY_US, HOUR_US, ip, ip_str, partition, random_public_ips, scan
from .fingerprints import Packets
from .generate import to_frame

DEFAULT_SEED = 11
DAYS = 4
START = "2024-03-04"
SENSORS = {"tel-a": "198.18.4.0/22", "hp-b": "198.18.12.0/24"}
#: The collaborative scans: id -> (/24 of the members, members' last octets, port, day index, sensors covered).
SCANS = {
    "SA": ("45.83.64.0", (10, 11, 12, 13), 8080, 1, ("tel-a",)),
    "SAB": ("45.83.65.0", (20, 21, 22), 5432, 2, ("tel-a", "hp-b")),
    "SB": ("45.83.66.0", (30, 31), 2222, 3, ("hp-b",)),
}


def _space(cidr: str) -> np.ndarray:
    net = ipaddress.ip_network(cidr)
    lo = int(net.network_address)
    return np.arange(lo, lo + net.num_addresses, dtype=np.int64)


def _sensor_of(dst: np.ndarray) -> np.ndarray:
    out = np.full(len(dst), "", dtype=object)
    for name, cidr in SENSORS.items():
        space = _space(cidr)
        out[(dst >= space[0]) & (dst <= space[-1])] = name
    return out


def sensors_frame(seed: int = DEFAULT_SEED) -> tuple[pl.DataFrame, dict]:
    """The two-sensor table (sorted by ts) and its truth dict, in memory."""
    rng = np.random.default_rng(seed)
    t0 = int(dt.datetime.fromisoformat(START).replace(tzinfo=dt.timezone.utc).timestamp()) * 1_000_000
    spaces = {name: _space(cidr) for name, cidr in SENSORS.items()}
    a, b = spaces["tel-a"], spaces["hp-b"]
    both_space = np.concatenate([a, b])
    reserved = {ip(p) >> 8 for p, *_ in SCANS.values()}
    pool = iter(random_public_ips(rng, 200, reserved))
    roles: dict[str, list[int]] = {"census": [], "both": [], "a_only": [], "b_only": [], "noise": []}
    batches: list[Packets] = []

    def hour(day: int, h: float) -> int:
        return t0 + day * DAY_US + int(h * HOUR_US)

    for port in (80, 443):
        src = int(next(pool))
        roles["census"].append(src)
        for day in range(DAYS):
            start = 1 + 10 * rng.random()
            batches.append(scan("zmap", src, rng.permutation(both_space), port, hour(day, start), hour(day, start + 2), rng))
    for _ in range(3):
        src = int(next(pool))
        roles["both"].append(src)
        for day in sorted(rng.choice(DAYS, 2, replace=False)):
            dsts = np.concatenate([rng.choice(a, 300, replace=False), rng.choice(b, 80, replace=False)])
            start = 12 * rng.random()
            batches.append(scan("masscan", src, rng.permutation(dsts), 22, hour(day, start), hour(day, start + 1), rng))
    for role, space, ports, n in (("a_only", a, (23, 3389), 4), ("b_only", b, (2323, 5555), 3)):
        for _ in range(n):
            src = int(next(pool))
            roles[role].append(src)
            day = int(rng.integers(DAYS))
            dsts = rng.choice(space, min(len(space) // 4, 200), replace=False)
            start = 20 * rng.random()
            batches.append(scan("masscan", src, dsts, int(rng.choice(ports)), hour(day, start), hour(day, start + 1), rng))
    for _ in range(120):
        src = int(next(pool))
        roles["noise"].append(src)
        k = int(rng.integers(1, 4))
        ts = np.sort(rng.integers(t0, t0 + DAYS * DAY_US, k))
        for t in ts:
            batches.append(scan("linux", src, rng.choice(both_space, 1), int(rng.choice([23, 445, 8443])), int(t),
                                int(t) + 1_000_000, rng))
    scans = []
    for sid, (net, octets, port, day, covers) in SCANS.items():
        srcs = [ip(net) + o for o in octets]
        target = np.concatenate([spaces[s] for s in covers])
        parts = partition(rng, target, [len(target) // len(srcs)] * (len(srcs) - 1)
                          + [len(target) - len(target) // len(srcs) * (len(srcs) - 1)])
        start = 9 + 2 * rng.random()
        for src, dsts in zip(srcs, parts):
            batches.append(scan("zmap", src, dsts, port, hour(day, start), hour(day, start + 3), rng))
        scans.append({"id": sid, "port": port, "proto": "tcp", "day": str(dt.date.fromisoformat(START) + dt.timedelta(days=day)),
                      "prefix24": f"{net}/24", "sources": [ip_str(s) for s in srcs],
                      "dsts_per_source": [len(p) for p in parts], "union": len(target), "covers": list(covers)})
    pk = Packets.concat(batches)
    pk = pk.take(np.argsort(pk.cols["ts"], kind="stable"))
    frame = to_frame(pk.cols, {}).with_columns(pl.Series("sensor", _sensor_of(pk.cols["dst"]), dtype=pl.String))
    frame = frame.select([c for c in frame.columns if c not in ("asn", "as_name", "country", "hostname", "org", "category")])
    return frame, _truth(seed, frame, roles, scans)


def _truth(seed: int, frame: pl.DataFrame, roles: dict[str, list[int]], scans: list[dict]) -> dict:
    seen = frame.group_by("src").agg(pl.col("sensor").unique().sort()).sort("src")
    by_set: dict[tuple[str, ...], list[str]] = {}
    for src, sensors in seen.iter_rows():
        by_set.setdefault(tuple(sensors), []).append(ip_str(src))
    return {
        "version": 1, "generator": "scantui.sample.sensors", "seed": seed, "start": START, "days": DAYS,
        "packets": frame.height,
        "sensors": {name: {"cidr": cidr, "size": ipaddress.ip_network(cidr).num_addresses}
                    for name, cidr in SENSORS.items()},
        "sources": {"both": by_set.get(tuple(sorted(SENSORS)), []),
                    "only": {name: by_set.get((name,), []) for name in SENSORS}},
        "roles": {k: [ip_str(s) for s in v] for k, v in roles.items()},
        "scans": scans,
    }


def generate_sensors(out_dir: Path, seed: int = DEFAULT_SEED) -> dict:
    """Write ``sensors.parquet`` and ``truth.json`` into *out_dir*; return the truth dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame, truth = sensors_frame(seed)
    with atomic_path(out_dir / "sensors.parquet") as tmp:
        frame.write_parquet(tmp, compression="zstd", compression_level=12, statistics=True)
    write_bytes_atomic(out_dir / "truth.json", (json.dumps(truth, indent=1) + "\n").encode())
    return truth


if __name__ == "__main__":  # python -m scantui.sample.sensors OUT_DIR
    if len(sys.argv) != 2:
        sys.exit("usage: python -m scantui.sample.sensors OUT_DIR")
    done = generate_sensors(Path(sys.argv[1]))
    print(f"wrote {done['packets']:,} packets and truth.json to {sys.argv[1]}", file=sys.stderr)
