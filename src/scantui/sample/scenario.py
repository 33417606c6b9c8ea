"""The population of the sample telescope: who sends what, when, to where, and the truth of it.

:class:`Scenario` places every actor (noise, Mirai bots, backscatter, single
scanners of each tool, announced organizations, planted collaborative groups and
their decoys) on the timeline, collects the packet batches, the per-source
enrichment and the intended ground truth (scanner classes, collaborative scans,
groups, decoys). Randomness comes from one generator per actor, seeded with
``(seed, crc32(actor name))``, so changing one actor does not move the others.

Planted structures (collaborative scans, decoys, the full-range scanner) keep their
exact size at any ``scale``; ``scale`` multiplies the volume of noise, backscatter
and background scanning only.
"""

from __future__ import annotations

import ipaddress
import zlib
from datetime import datetime, timezone

import numpy as np

from . import actors as A
from .catalog import ASNS, MIRAI_ASNS, NOISE_PREFIXES, ORGS, hostname_for
from ..errors import UsageError
from .fingerprint_pools import artifacts
from .fingerprints import STYLE_TOOL, Packets, tcp_syn
from . import planted_bursts as PB
from . import zmap_walk as ZW

TELESCOPE_CIDR = "198.18.0.0/20"
SENSOR = "tel-1"
ALL_PORTS = 65536
FULL_RANGE_MIN = 64881  # > 99 % of 65,536 ports

#: Ports used by planted collaborative scans and decoys; no other actor of the same
#: AS or /24 touches them, so each planted (key, port, day) holds exactly its sources.
COLLAB_PORTS = (8081, 2375, 6379, 9200, 5432, 502, 3306, 27017, 9000, 8888, 10000, 7547, 81,
                8000, 4443, 8088, 9090, 9443, 8181, 8010, 8020, 8030, 7001)


def range_class(ports: int) -> str:
    if ports >= FULL_RANGE_MIN:
        return "full"
    return "focused" if ports < 30 else "wide"


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def prefix24(v: int) -> str:
    return f"{A.ip_str(v & 0xFFFFFF00)}/24"


class Scenario:
    def __init__(self, seed: int, days: int, start: str, scale: float):
        if days < 14:
            raise UsageError(f"--days {days}: the sample needs at least 14 days")
        if not scale > 0:
            raise UsageError(f"--scale {scale}: must be positive")
        try:
            day0 = datetime.fromisoformat(start).date()
        except ValueError:
            raise UsageError(f"--start {start!r}: not a date (YYYY-MM-DD)") from None
        self.seed, self.days, self.scale = seed, days, scale
        self.t_start = int(datetime(day0.year, day0.month, day0.day, tzinfo=timezone.utc).timestamp()) * 1_000_000
        net = ipaddress.ip_network(TELESCOPE_CIDR)
        self.telescope = np.arange(int(net.network_address), int(net.network_address) + net.num_addresses, dtype=np.int64)
        self.batches: list[Packets] = []
        self.enrich: dict[int, dict] = {}
        self.scanners: list[dict] = []
        self.collab_scans: list[dict] = []
        self.groups: list[dict] = []
        self.decoys: list[dict] = []
        self.summaries: dict[str, dict] = {}
        self.reserved24: set[int] = set()
        self._rngs: dict[str, np.random.Generator] = {}

    # -- helpers -------------------------------------------------------------------------
    def rng(self, name: str) -> np.random.Generator:
        if name not in self._rngs:
            self._rngs[name] = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
        return self._rngs[name]

    def t(self, day: float, hour: float = 0.0) -> int:
        return self.t_start + int(round(day * A.DAY_US + hour * A.HOUR_US))

    def day_iso(self, day: int) -> str:
        return iso(self.t(day))[:10]

    def n(self, base: float) -> int:
        """A volume scaled by ``scale`` (at least 1)."""
        return max(1, int(round(base * self.scale)))

    def add(self, pk: Packets) -> Packets:
        self.batches.append(pk)
        return pk

    def source(self, addr: str | int, asn: int | None = None, *, hostname: str | None = None,
               org: str | None = None, category: str | None = None, country: str | None = None) -> int:
        """Register a planted source (reserving its /24 from random draws) and its enrichment."""
        v = A.ip(addr) if isinstance(addr, str) else int(addr)
        self.reserved24.add(v >> 8)
        if asn is not None:
            name, cc = ASNS[asn]
            self.enrich[v] = {"asn": asn, "as_name": name, "country": country or cc,
                              "hostname": hostname, "org": org, "category": category}
        return v

    def scanner(self, src: int, kind: str, tool: str, style: str, range_cls: str, schedule: str,
                active_days: list[int], *, period: int | None = None, picture: str | None = None,
                label: str, **extra) -> None:
        info = self.enrich.get(src, {})
        self.scanners.append({
            "src": A.ip_str(src), "label": label, "kind": kind, "tool": tool, "style": style,
            "range_class": range_cls, "schedule": schedule, "period_days": period, "picture": picture,
            "active_days": [self.day_iso(d) for d in sorted(set(active_days))],
            "org": info.get("org"), "category": info.get("category"),
            "asn": info.get("asn"), "as_name": info.get("as_name"), "hostname": info.get("hostname"), **extra,
        })

    # -- the whole population ----------------------------------------------------------------
    def build(self, progress=None) -> None:
        steps = [("collaborative groups", self.plant_groups), ("decoys", self.plant_decoys),
                 ("single scanners", self.plant_singles), ("organizations", self.plant_orgs),
                 ("noise", self.plant_noise), ("backscatter", self.plant_backscatter),
                 ("a sharded ZMap walk", self.plant_zmap_walk)]
        for name, step in steps:
            if progress:
                progress(f"planting {name}")
            step()

    # -- collaborative scans ---------------------------------------------------------------
    def collab(self, group: str, port: int, parts: list[tuple[int, np.ndarray]], style: str,
               windows: list[tuple[int, int]], timing: str, rng: np.random.Generator, *,
               batches: list[Packets] | None = None, **extra) -> dict:
        """One collaborative scan: source i probes ``parts[i][1]`` on ``port`` within ``windows[i]``
        (or sends the given *batches*, one per part, timed by the caller)."""
        if batches is None:
            batches = [self.add(A.scan(style, src, d, port, t0, t1, rng)) for (src, d), (t0, t1) in zip(parts, windows)]
        else:
            batches = [self.add(b) for b in batches]
        per_src: dict[int, int] = {}
        for src, d in parts:
            per_src[src] = per_src.get(src, 0) + len(d)
        srcs = sorted(per_src)
        all_d = np.concatenate([d for _, d in parts])
        union = int(len(np.unique(all_d)))
        size = len(self.telescope)
        start = int(min(b.cols["ts"].min() for b in batches))
        end = int(max(b.cols["ts"].max() for b in batches))
        asns = {self.enrich[s]["asn"] for s in srcs}
        p24 = {s >> 8 for s in srcs}
        asn_key = f"AS{asns.pop()}" if len(asns) == 1 else None
        p24_key = prefix24(srcs[0]) if len(p24) == 1 else None
        key_kind, key = ("prefix24", p24_key) if p24_key else ("asn", asn_key)
        if "key_kind" in extra:  # a pool across ASes: found by a key of its own (its header artifacts)
            key_kind, key = extra.pop("key_kind"), extra.pop("key")
        scan_id = f"{group}-{len([c for c in self.collab_scans if c['group'] == group]) + 1:02d}"
        rec = {
            "id": scan_id, "group": group, "port": port, "proto": "tcp",
            "day": iso(start)[:10], "start": iso(start), "end": iso(end),
            "crosses_midnight": iso(start)[:10] != iso(end)[:10],
            "key_kind": key_kind, "key": key,
            "asn": asn_key, "prefix24": p24_key,
            "sources": [A.ip_str(s) for s in srcs],
            "dsts_per_source": {A.ip_str(s): per_src[s] for s in srcs},
            "union": union, "telescope_size": size,
            "cover_multiple": round(len(all_d) / size), "packets": int(len(all_d)),
            "split": [round(per_src[s] / size, 4) for s in srcs],
            "timing": timing, "tool": STYLE_TOOL[style], "style": style, **extra,
        }
        self.collab_scans.append(rec)
        return rec

    def group(self, gid: str, shape: str, scans: list[dict], **extra) -> None:
        members = sorted({A.ip(s) for c in scans for s in c["sources"]})
        self.groups.append({
            "id": gid, "shape": shape, "members": [A.ip_str(m) for m in members],
            "ports": sorted({c["port"] for c in scans}), "days": sorted({c["day"] for c in scans}),
            "scans": [c["id"] for c in scans], "asn": scans[0]["asn"],
            "prefixes": sorted({prefix24(m) for m in members}, key=lambda p: A.ip(p[:-3])),
            "tool": scans[0]["tool"], "timing": scans[0]["timing"], **extra,
        })

    def parallel(self, k: int, t0: int, t1: int) -> list[tuple[int, int]]:
        return [(t0, t1)] * k

    def sequential(self, counts: list[int], t0: int, t1: int) -> list[tuple[int, int]]:
        """Back-to-back windows, each as long as its share of the probes."""
        edges = t0 + np.round(np.cumsum([0, *counts]) / sum(counts) * (t1 - t0)).astype(np.int64)
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    def plant_groups(self) -> None:
        size = len(self.telescope)
        self._ak01(size)
        self._dom(size)
        self._hur(size)
        self._sts(size)
        self._cr01(size)
        self._chn(size)
        self._n2(size)
        self._mid(size)
        self._rsh(size)
        self._dft(size)
        self._trk(size)
        self._two(size)
        self._fpp(size)

    def _ak01(self, size: int) -> None:
        """AK01-like: pool of 8 Linode hosts over 3 /24s; 2 per scan, 5/6 : 1/6, pairs rotate."""
        rng = self.rng("group:AK01")
        pool = [self.source(a, 63949) for a in (
            "172.104.138.21", "172.104.138.87", "172.104.138.140",
            "139.162.99.12", "139.162.99.203", "45.79.128.33", "45.79.128.71", "45.79.128.190")]
        pairs = [(0, 3), (1, 5), (2, 4), (6, 7), (3, 6), (0, 1)]  # rotating; two stay in one /24
        plan = [(8081, 1), (2375, 3), (8081, 5), (2375, 7), (8081, 9), (2375, 12)]
        big = round(size * 5 / 6)
        scans = []
        for (port, day), (i, j) in zip(plan, pairs):
            parts = A.partition(rng, self.telescope, [big, size - big])
            t0 = self.t(day, 6 + rng.uniform(0, 8))
            scans.append(self.collab("AK01", port, [(pool[i], parts[0]), (pool[j], parts[1])], "masscan",
                                     self.parallel(2, t0, t0 + 2 * A.HOUR_US), "parallel", rng))
        self.group("AK01", "pool_pairs_5to1", scans, pool=[A.ip_str(p) for p in pool],
                   split_rule="2 per scan: 5/6 and 1/6")

    def _dom(self, size: int) -> None:
        """DOM-like: 3 DigitalOcean hosts per scan (different /24s), fixed counts."""
        rng = self.rng("group:DOM")
        pool = [self.source(a, 14061) for a in (
            "167.99.40.17", "159.89.170.42", "134.209.82.5", "138.68.12.199", "167.99.201.66",
            "159.89.33.140", "134.209.150.23", "138.68.101.88", "167.99.128.251")]
        a = round(39476 / 61000 * size)
        b = round(11998 / 61000 * size)
        counts = [a, b, size - a - b]
        plan = [(6379, 2, (0, 1, 2)), (9200, 4, (3, 4, 5)), (6379, 8, (6, 7, 0)), (9200, 11, (1, 4, 8))]
        scans = []
        for port, day, trio in plan:
            parts = A.partition(rng, self.telescope, counts)
            t0 = self.t(day, 2 + rng.uniform(0, 12))
            scans.append(self.collab("DOM", port, [(pool[k], p) for k, p in zip(trio, parts)], "zmap",
                                     self.parallel(3, t0, t0 + int(1.5 * A.HOUR_US)), "parallel", rng))
        self.group("DOM", "fixed_counts_3", scans, pool=[A.ip_str(p) for p in pool], split_counts=counts,
                   split_rule=f"3 per scan: exactly {counts[0]}, {counts[1]} and the rest ({counts[2]})")

    def _hur(self, size: int) -> None:
        """HUR/GEM-like: ~200 Hurricane hosts over two /24s, 1/N each, perfectly parallel."""
        rng = self.rng("group:HUR")
        pool = [self.source(f"64.62.{b}.{i}", 6939) for b in (156, 157) for i in range(10, 130)]
        plan = [(5432, 3, 205), (502, 6, 187), (5432, 13, 230)]
        scans = []
        for port, day, k in plan:
            members = np.sort(rng.choice(len(pool), k, replace=False))
            parts = A.partition(rng, self.telescope, A.even_counts(size, k))
            t0 = self.t(day, 13 + rng.uniform(0, 6))
            scans.append(self.collab("HUR", port, [(pool[m], p) for m, p in zip(members, parts)], "zmap4",
                                     self.parallel(k, t0, t0 + 40 * 60_000_000), "parallel", rng))
        self.group("HUR", "large_1_over_n", scans, pool=[A.ip_str(p) for p in pool], split_rule="1/N each")

    def _sts(self, size: int) -> None:
        """STS-like: 9 consecutive IPs of one /24, 1/9 each, ~3.5 h per port, ports back to back."""
        rng = self.rng("group:STS")
        members = [self.source(f"80.82.77.{i}", 202425) for i in range(130, 139)]
        scans = []
        for day in (4, 11):
            for k, port in enumerate((3306, 27017, 9000)):
                parts = A.partition(rng, self.telescope, A.even_counts(size, 9))
                t0 = self.t(day, 9 + 3.5 * k)
                scans.append(self.collab("STS", port, list(zip(members, parts)), "masscan",
                                         self.parallel(9, t0, t0 + int(3.5 * A.HOUR_US)), "parallel", rng))
        self.group("STS", "consecutive_9_back_to_back", scans, split_rule="1/9 each")

    def _cr01(self, size: int) -> None:
        """CR01-like: 2 CARInet hosts of one /24 scanning one after the other, half each."""
        rng = self.rng("group:CR01")
        pair = [self.source("71.6.232.6", 10439), self.source("71.6.232.7", 10439)]
        scans = []
        for port, day in ((8888, 2), (10000, 5), (8888, 9)):
            counts = A.even_counts(size, 2)
            parts = A.partition(rng, self.telescope, counts)
            t0 = self.t(day, 7 + rng.uniform(0, 6))
            scans.append(self.collab("CR01", port, list(zip(pair, parts)), "zmap",
                                     self.sequential(counts, t0, t0 + 4 * A.HOUR_US), "sequential", rng))
        self.group("CR01", "sequential_pair", scans, split_rule="1/2 each, one after the other")

    def _chn(self, size: int) -> None:
        """A group over four /24s of one AS: only AS grouping finds it."""
        rng = self.rng("group:CHN")
        members = [self.source(a, 4134) for a in ("222.186.10.51", "61.177.172.14", "218.92.0.77", "180.101.88.230")]
        scans = []
        for port, day in ((7547, 3), (81, 12)):
            parts = A.partition(rng, self.telescope, A.even_counts(size, 4))
            t0 = self.t(day, 1 + rng.uniform(0, 10))
            scans.append(self.collab("CHN", port, list(zip(members, parts)), "linux",
                                     self.parallel(4, t0, t0 + 3 * A.HOUR_US), "parallel", rng))
        self.group("CHN", "as_spread_1_over_4", scans, split_rule="1/4 each, four /24s of one AS")

    def _n2(self, size: int) -> None:
        """Covers the telescope twice: two halvings by four hosts of one /24 (cover multiple 2)."""
        rng = self.rng("group:N2")
        members = [self.source(f"89.38.97.{i}", 9009) for i in (20, 21, 22, 23)]
        scans = []
        for port, day in ((8000, 6), (8000, 13)):
            first = A.partition(rng, self.telescope, A.even_counts(size, 2))
            second = A.partition(rng, self.telescope, A.even_counts(size, 2))
            t0 = self.t(day, 15 + rng.uniform(0, 4))
            scans.append(self.collab("N2", port, list(zip(members, first + second)), "zmap",
                                     self.parallel(4, t0, t0 + 2 * A.HOUR_US), "parallel", rng))
        self.group("N2", "double_cover", scans, split_rule="1/2 of the telescope each, telescope covered twice")

    def _mid(self, size: int) -> None:
        """A burst across UTC midnight (22:30-01:30) and one ordinary scan of the same group."""
        rng = self.rng("group:MID")
        members = [self.source(f"51.75.146.{i}", 16276) for i in (101, 102, 103)]
        scans = []
        for port, day, hour in ((4443, 7, 22.5), (4443, 12, 10.0)):
            parts = A.partition(rng, self.telescope, A.even_counts(size, 3))
            t0 = self.t(day, hour)
            scans.append(self.collab("MID", port, list(zip(members, parts)), "masscan",
                                     self.parallel(3, t0, t0 + 3 * A.HOUR_US), "parallel", rng))
        scans[0]["note"] = "crosses UTC midnight: a calendar-day window splits it (~1/2 per day); a 24 h window finds it"
        scans[0]["missed_by"] = ["day"]
        self.group("MID", "midnight_burst", scans, split_rule="1/3 each")

    # -- issue 13: shapes that calendar days / rolling windows / location keys miss ---------------
    def _rsh(self, size: int) -> None:
        """Re-sharded rounds: two hosts sweep twice a day, a new split each round (each round covers, the day not)."""
        rng = self.rng("group:RSH")
        pool = [self.source(f"45.32.77.{i}", 20473) for i in (10, 11)]
        scans = []
        for day in (self.days - 6, self.days - 3):
            for hour in PB.ROUND_HOURS:
                t0 = self.t(day, hour)
                parts = A.partition(rng, self.telescope, A.even_counts(size, 2))
                scans.append(self.collab("RSH", 2375, list(zip(pool, parts)), "zmap",
                                         self.parallel(2, t0, t0 + PB.ROUND_US), "parallel", rng,
                                         **{"class": "resharded_rounds", "missed_by": ["day", "24h", "48h"]}))
        self.group("RSH", "resharded_rounds", scans, split_rule="1/2 each, a new split every round, two rounds a day")

    def _dft(self, size: int) -> None:
        """A daily scan that starts 20 minutes earlier each day from 23:00, three hours long (crosses midnight)."""
        rng = self.rng("group:DFT")
        members = [self.source(f"5.101.222.{i}", 49505) for i in (5, 6, 7)]
        scans = []
        for d in range(4):
            t0 = self.t(self.days - 7 + d, PB.drift_start_h(d))
            parts = A.partition(rng, self.telescope, A.even_counts(size, 3))
            # a 24 h window anchored at a run holds the next run's first minutes: only the last run fits one
            missed = ["day", "24h", "48h"] if d < 3 else ["day", "48h"]
            scans.append(self.collab("DFT", 9200, list(zip(members, parts)), "masscan",
                                     self.parallel(3, t0, t0 + PB.DRIFT_HOURS * A.HOUR_US), "parallel", rng,
                                     **{"class": "drift", "missed_by": missed}))
        self.group("DFT", "daily_drift", scans, split_rule="1/3 each, a new split every day")

    def _trk(self, size: int) -> None:
        """Trickle plus sweep: four hosts probe the port a few hundred times a day, and sweep it together once."""
        rng = self.rng("group:TRK")
        members = [self.source(f"51.15.210.{20 + i}", 12876) for i in range(4)]
        days = range(self.days - 12, self.days - 7)
        sweep = [(self.days - 11, 11.0), (self.days - 9, 15.0)]  # (day, hour): two sweeps, two hours each
        windows = [(self.t(day, h), self.t(day, h + 2)) for day, h in sweep]
        for s in members:
            n = PB.TRICKLE_PER_DAY * len(days)
            ts = np.sort(rng.integers(self.t(days[0]), self.t(days[-1] + 1), n))
            for a, b in windows:  # the trickle pauses during the sweeps only: a few minutes' gap
                ts = ts[(ts < a) | (ts >= b)]
            self.add(tcp_syn("linux", ts, np.full(len(ts), s), rng.choice(self.telescope, len(ts)),
                             np.full(len(ts), 8888), A.hops_of(np.full(len(ts), s)), rng))
        scans = []
        for a, b in windows:
            parts = A.partition(rng, self.telescope, A.even_counts(size, 4))
            scans.append(self.collab("TRK", 8888, list(zip(members, parts)), "linux", self.parallel(4, a, b),
                                     "parallel", rng, **{"class": "trickle_sweep", "missed_by": ["day", "24h", "48h"]}))
        self.group("TRK", "trickle_plus_sweep", scans, split_rule="1/4 each; 300 trickle probes a day each besides",
                   trickle_days=[self.day_iso(d) for d in days], trickle_per_day=PB.TRICKLE_PER_DAY)

    def _two(self, size: int) -> None:
        """Two groups in one /24 on one port at overlapping times: 3 x 1/3 (10-12 h) and 5/6 + 1/6 (11-15 h)."""
        rng = self.rng("group:TWO")
        thirds = [self.source(f"193.32.162.{i}", 206728) for i in (10, 11, 12)]
        pair = [self.source(f"193.32.162.{i}", 206728) for i in (40, 41)]
        big = round(size * 5 / 6)
        a_scans, b_scans = [], []
        for day in (self.days - 5, self.days - 2):
            parts = A.partition(rng, self.telescope, A.even_counts(size, 3))
            a_scans.append(self.collab("TWA", 7547, list(zip(thirds, parts)), "zmap",
                                       self.parallel(3, self.t(day, 10), self.t(day, 12)), "parallel", rng,
                                       **{"class": "split_groups", "missed_by": []}))
            parts = A.partition(rng, self.telescope, [big, size - big])
            b_scans.append(self.collab("TWB", 7547, list(zip(pair, parts)), "masscan",
                                       self.parallel(2, self.t(day, 11), self.t(day, 15)), "parallel", rng,
                                       **{"class": "split_groups", "missed_by": []}))
        note = ("shares its /24, port and hours with another group: the five together are an N = 2 cover, "
                "which the finest exact cover splits (reasons)")
        for c in a_scans + b_scans:
            c["note"] = note
        self.group("TWA", "split_groups_thirds", a_scans, split_rule="1/3 each", shares_prefix_with="TWB")
        self.group("TWB", "split_groups_pair", b_scans, split_rule="5/6 and 1/6", shares_prefix_with="TWA")

    def _fpp(self, size: int) -> None:
        """A pool of four hosts in four /24s of two ASes, sharing rare header artifacts: only the fingerprint key ties it."""
        rng = self.rng("group:FPP")
        members = [self.source("45.76.33.14", 20473), self.source("45.77.150.90", 20473),
                   self.source("144.126.130.7", 40021), self.source("167.86.99.201", 40021)]
        art = artifacts(0, rng)
        assert art["ip_id"] == "dst"  # TTL 64, window 1025-1074, MSS only, IP-ID = dst, source ports 40000-40999
        fp_text = f"ttl={art['ttl0']} win={art['window']} opt=4/{art['mss']} ipid=dst seq=rnd sport=40000+1024"
        scans = []
        for port, day in ((502, self.days - 9), (5432, self.days - 2)):
            counts = [round(size * w) for w in (0.35, 0.3, 0.2)]
            parts = A.partition(rng, self.telescope, [*counts, size - sum(counts)])
            t0 = self.t(day, 8)
            rec = self.collab("FPP", port, list(zip(members, parts)), "linux", self.parallel(4, t0, t0 + int(1.5 * A.HOUR_US)),
                              "parallel", rng, key_kind="fingerprint", key=fp_text,
                              **{"class": "fingerprint_pool", "missed_by": [],
                                 "artifacts": {k: list(v) if isinstance(v, tuple) else v for k, v in art.items()}})
            for b in self.batches[-4:]:  # the pool's own header artifacts on its probes
                c, n = b.cols, len(b)
                c["ttl"] = np.maximum(art["ttl0"] - A.hops_of(c["src"]), 1)
                c["tcp_window"] = np.full(n, art["window"])
                c["sport"] = rng.integers(*art["sports"], n)
                c["ip_id"] = c["dst"] & 0xFFFF
                c["ip_len"] = np.full(n, art["ip_len"])
                c["tcp_mss"] = np.full(n, art["mss"])
            scans.append(rec)
        self.group("FPP", "fingerprint_pool_across_ases", scans, split_rule="35 %, 30 %, 20 % and the rest")

    # -- decoys --------------------------------------------------------------------------
    def decoy(self, kind: str, violates: str, parts: list[tuple[int, np.ndarray, int, int, int]], style: str | dict[int, str],
              rng: np.random.Generator, note: str, **extra) -> None:
        """A decoy: parts are (src, dsts, port, t0, t1); style is one tool style or one per source."""
        per_src: dict[str, int] = {}
        all_d = []
        for src, d, port, t0, t1 in parts:
            self.add(A.scan(style if isinstance(style, str) else style[src], src, d, port, t0, t1, rng))
            per_src[A.ip_str(src)] = per_src.get(A.ip_str(src), 0) + len(d)
            all_d.append(d)
        all_d = np.concatenate(all_d)
        days = sorted({iso(t0)[:10] for *_, t0, _ in parts} | {iso(t1 - 1)[:10] for *_, t1 in parts})
        self.decoys.append({
            "id": f"D{len(self.decoys) + 1}", "kind": kind, "violates": violates,
            "sources": sorted(per_src, key=A.ip), "ports": sorted({p for _, _, p, _, _ in parts}),
            "days": days, "dsts_per_source": per_src, "union": int(len(np.unique(all_d))),
            "total": int(len(all_d)), "telescope_size": len(self.telescope), "note": note, **extra,
        })

    def plant_decoys(self) -> None:
        rng = self.rng("decoys")
        size = len(self.telescope)
        tel = self.telescope
        # D1: two standalone full scanners in one /24, same port and day
        a, b = self.source("161.97.140.11", 51167), self.source("161.97.140.12", 51167)
        t0 = self.t(5, 8)
        self.decoy("standalone_pair_same_prefix", "collaboration",
                   [(a, rng.permutation(tel), 8088, t0, t0 + 2 * A.HOUR_US),
                    (b, rng.permutation(tel), 8088, t0 + A.HOUR_US, t0 + 3 * A.HOUR_US)],
                   {a: "zmap", b: "masscan"}, rng, "each covers the telescope alone: standalone scanners, not members")
        # D2: a standalone full scanner inside the STS /24, same port and day as an STS scan
        s = self.source("80.82.77.33", 202425)
        t0 = self.t(4, 10)
        self.decoy("standalone_in_group_prefix", "collaboration", [(s, rng.permutation(tel), 3306, t0, t0 + int(1.5 * A.HOUR_US))],
                   "zmap4", rng, "covers alone; must be left out of the STS scan on port 3306 that day", group="STS")
        # D3: same /24, one port and day, union only 60 % of the telescope
        srcs = [self.source(f"43.135.20.{i}", 45090) for i in (5, 6, 7)]
        parts = A.partition(rng, tel, A.even_counts(round(0.6 * size), 3))
        t0 = self.t(8, 12)
        self.decoy("partial_union", "cover", [(s, p, 9090, t0, t0 + 2 * A.HOUR_US) for s, p in zip(srcs, parts)],
                   "zmap", rng, "union is 60 % of the telescope")
        # D4: pair in one /24 whose probes add up to 1.5 telescopes (union full, half overlapping)
        srcs = [self.source(f"88.198.50.{i}", 24940) for i in (140, 141)]
        perm = rng.permutation(tel)
        q = size // 4
        t0 = self.t(9, 4)
        self.decoy("one_and_a_half_cover", "cover",
                   [(srcs[0], perm[:3 * q], 9443, t0, t0 + 2 * A.HOUR_US), (srcs[1], perm[q:], 9443, t0, t0 + 2 * A.HOUR_US)],
                   "masscan", rng, "each covers 3/4: probes sum to 1.5 x the telescope, not an integer multiple")
        # D5: exact cover by two sources of different /24s and ASNs
        srcs = [self.source("123.160.221.9", 4837), self.source("1.34.77.201", 3462)]
        parts = A.partition(rng, tel, A.even_counts(size, 2))
        t0 = self.t(10, 3)
        self.decoy("different_locations", "location", [(s, p, 8181, t0, t0 + 2 * A.HOUR_US) for s, p in zip(srcs, parts)],
                   "zmap", rng, "exact cover, but different /24s and different ASNs")
        # D6: exact cover by one /24, but each source on another port
        srcs = [self.source(f"47.92.33.{i}", 37963) for i in (60, 61, 62)]
        parts = A.partition(rng, tel, A.even_counts(size, 3))
        t0 = self.t(11, 14)
        self.decoy("different_ports", "same_port",
                   [(s, p, port, t0, t0 + 2 * A.HOUR_US) for s, p, port in zip(srcs, parts, (8010, 8020, 8030))],
                   "masscan", rng, "the three partition the telescope, each on its own port")
        # D7: exact cover by one /24 on one port, spread over four days at random times
        srcs = [self.source(f"152.32.140.{i}", 135377) for i in (3, 4, 5)]
        parts = A.partition(rng, tel, A.even_counts(size, 3))
        pieces = []
        for s, p in zip(srcs, parts):
            chunks = np.array_split(p, 4)
            for day, chunk in zip(range(self.days - 9, self.days - 5), chunks):
                h = rng.uniform(0, 20)
                pieces.append((s, chunk, 7001, self.t(day, h), self.t(day, h + rng.uniform(0.5, 3.5))))
        self.decoy("multi_day_spread", "burst", pieces, "zmap4", rng,
                   "exact cover only over four days (~1/4 a day, random times): no one-day burst")

    # -- single scanners -------------------------------------------------------------------
    def plant_singles(self) -> None:
        d, tel = self.days, self.telescope
        # ZMap, one port, full telescope every 5 days
        rng = self.rng("single:zmap-periodic")
        s = self.source("185.242.226.17", None)
        days = list(range(0, d, 5))
        for day in days:
            self.add(A.scan("zmap", s, rng.permutation(tel), 80, self.t(day, 3), self.t(day, 4), rng))
        self.scanner(s, "single", "zmap", "zmap", "focused", "periodic", days, period=5, picture="snapshot",
                     label="zmap-periodic5")
        # ZMap, two ports, a 12 % sample every day within 30 min
        rng = self.rng("single:zmap-continuous")
        s = self.source("45.148.10.80", None)
        k = self.n(0.12 * len(tel))
        for day in range(d):
            for port in (443, 8443):
                t0 = self.t(day, 14 + rng.uniform(0, 0.3))
                self.add(A.scan("zmap", s, rng.choice(tel, k, replace=False), port, t0, t0 + 15 * 60_000_000, rng))
        self.scanner(s, "single", "zmap", "zmap", "focused", "continuous", list(range(d)), period=1,
                     picture="snapshot", label="zmap-continuous")
        # Masscan, wide (1200 ports), two days
        rng = self.rng("single:masscan-wide")
        s = self.source("193.163.125.40", None)
        ports = rng.choice(np.setdiff1d(np.arange(1, ALL_PORTS), COLLAB_PORTS), 1200, replace=False)
        days = [6, d - 4]
        for day, half in zip(days, np.array_split(ports, 2)):
            dd, pp = A.grid(rng.choice(tel, 8, replace=False), half, rng)
            self.add(A.scan("masscan", s, dd, pp, self.t(day, 1), self.t(day, 7), rng))
        self.scanner(s, "single", "masscan", "masscan", "wide", "sporadic", days, label="masscan-wide-sporadic")
        # Masscan, three ports, full telescope every 7 days
        rng = self.rng("single:masscan-periodic")
        s = self.source("92.63.197.153", None)
        days = list(range(2, d, 7))
        for day in days:
            dd, pp = A.grid(tel, np.array([22, 2222, 3389]), rng)
            self.add(A.scan("masscan", s, dd, pp, self.t(day, 18), self.t(day, 20), rng))
        self.scanner(s, "single", "masscan", "masscan", "focused", "periodic", days, period=7, picture="snapshot",
                     label="masscan-periodic7")
        # Masscan -p0-65535: every port once, over two days
        rng = self.rng("single:full-range")
        s = self.source("104.152.52.61", 14618)
        ports = rng.permutation(ALL_PORTS)
        dsts = rng.choice(tel, ALL_PORTS)
        self.add(A.scan("masscan", s, dsts, ports, self.t(3, 6), self.t(4, 12), rng))
        self.scanner(s, "single", "masscan", "masscan", "full", "sporadic", [3, 4], label="masscan-full-range")
        # Nearly full range (97.7 % of the ports): still 'wide'
        rng = self.rng("single:near-full")
        s = self.source("185.180.143.9", None)
        ports = rng.choice(ALL_PORTS, 64000, replace=False)
        self.add(A.scan("zmap4", s, rng.choice(tel, 64000), ports, self.t(d - 3, 0), self.t(d - 2, 20), rng))
        self.scanner(s, "single", "other", "zmap4", "wide", "sporadic", [d - 3, d - 2], label="zmap4-near-full",
                     note="64,000 distinct ports: 97.7 %, just under the full-range threshold")
        # A busy Mirai bot: port 23/2323 every day
        rng = self.rng("single:mirai")
        s = self.source("222.186.175.4", 4134)
        for day in range(d):
            k = self.n(150)
            port = np.where(rng.random(k) < 0.85, 23, 2323)
            self.add(A.scan("mirai", s, rng.choice(tel, k), port, self.t(day), self.t(day + 1) - 1, rng))
        self.scanner(s, "single", "mirai", "mirai", "focused", "continuous", list(range(d)), period=1,
                     label="mirai-bot")
        # Unicornscan: 20 ports, two sessions (one key each, > 150 probes per key)
        rng = self.rng("single:unicorn")
        s = self.source("5.188.206.14", None)
        ports = rng.choice(np.setdiff1d(np.arange(1, 10000), COLLAB_PORTS), 20, replace=False)
        days = [8, d - 6]
        for day in days:
            dd, pp = A.grid(rng.choice(tel, 300, replace=False), ports, rng)
            key = int(rng.integers(0, 1 << 32))
            self.add(A.scan("unicorn", s, dd, pp, self.t(day, 10), self.t(day, 12), rng, session_key=key))
        self.scanner(s, "single", "unicorn", "unicorn", "focused", "sporadic", days, label="unicorn")
        # Nmap -sS top ports on ten hosts, then -O
        rng = self.rng("single:nmap-wide")
        s = self.source("94.102.61.7", None)
        ports = np.setdiff1d(np.arange(1, 1025), COLLAB_PORTS)[:1000]
        self.add(A.nmap_host_scan(s, rng.choice(tel, 10, replace=False), ports, self.t(9, 20), self.t(9, 21), rng))
        self.scanner(s, "single", "nmap", "nmap", "wide", "sporadic", [9], label="nmap-top1000-os")
        # Nmap on five ports over a /24-sized slice, every 7 days
        rng = self.rng("single:nmap-periodic")
        s = self.source("31.43.185.2", None)
        days = list(range(1, d, 7))
        for day in days:
            dd, pp = A.grid(tel[:256], np.array([21, 22, 80, 443, 8080]), rng)
            self.add(A.scan("nmap", s, dd, pp, self.t(day, 21), self.t(day, 22), rng, sport=int(rng.integers(33000, 65000))))
        self.scanner(s, "single", "nmap", "nmap", "focused", "periodic", days, period=7, picture="snapshot",
                     label="nmap-periodic7")
        # Linux-like SYN, 8 ports, irregular days with varying volume: acyclic
        rng = self.rng("single:acyclic")
        s = self.source("198.235.24.130", None)
        ports = np.array([1723, 5985, 6443, 8009, 8089, 9001, 9100, 11211])
        days = [x for x in (0, 1, 3, 7, 8, 12, 13, 14, 19) if x < d]
        for day in days:
            frac = rng.uniform(0.02, 0.12)
            for port in ports:
                h = rng.uniform(0, 20)
                self.add(A.scan("linux", s, rng.choice(tel, self.n(frac * len(tel)), replace=False), port,
                                self.t(day, h), self.t(day, h + 2), rng))
        self.scanner(s, "single", "other", "linux", "focused", "acyclic", days, label="linux-acyclic",
                     note="same irregular days on every port, volumes vary: a routine but no cycle")
        # Windows-like SYN, ~200 ports, a slice every day: background
        rng = self.rng("single:windows-background")
        s = self.source("41.216.188.52", None)
        ports = rng.choice(np.setdiff1d(np.arange(1, 20000), COLLAB_PORTS), 200, replace=False)
        for day in range(d):
            pp = rng.choice(ports, self.n(40), replace=False)
            dd, pp = A.grid(rng.choice(tel, 12, replace=False), pp, rng)
            self.add(A.scan("windows", s, dd, pp, self.t(day), self.t(day + 1) - 1, rng))
        self.scanner(s, "single", "other", "windows", "wide", "continuous", list(range(d)), period=1,
                     picture="background", label="windows-background")

    # -- announced organizations ---------------------------------------------------------------
    def org_sources(self, key: str) -> list[int]:
        o = ORGS[key]
        return [self.source(h, o["asn"], hostname=hostname_for(key, i, h), org=o["org"], category=o["category"],
                            country=o["country"]) for i, h in enumerate(o["hosts"])]

    def background(self, key: str, style: str, n_ports: int, ports_per_day: int, dsts_per_port: int,
                   days: list[int], port_pool: np.ndarray | None = None) -> list[int]:
        """Each host, each active day, probes a random slice of the org's ports on a few addresses."""
        rng = self.rng(f"org:{key}")
        srcs = self.org_sources(key)
        pool = np.setdiff1d(np.arange(1, ALL_PORTS) if port_pool is None else port_pool, COLLAB_PORTS)
        ports = np.sort(rng.choice(pool, n_ports, replace=False))
        for s in srcs:
            for day in days:
                pp = rng.choice(ports, min(self.n(ports_per_day), n_ports), replace=False)
                dd, pp = A.grid(rng.choice(self.telescope, dsts_per_port, replace=False), pp, rng)
                self.add(A.scan(style, s, dd, pp, self.t(day), self.t(day + 1) - 1, rng))
        return srcs

    def snapshot(self, key: str, style: str, ports: list[int], frac: float, hour: float, days: list[int]) -> list[int]:
        """Every active day, all ports within an hour; each port from one host, a sample of the telescope."""
        rng = self.rng(f"org:{key}")
        srcs = self.org_sources(key)
        k = self.n(frac * len(self.telescope))
        for day in days:
            for j, port in enumerate(ports):
                s = srcs[(j + day) % len(srcs)]
                t0 = self.t(day, hour + rng.uniform(0, 0.5))
                self.add(A.scan(style, s, rng.choice(self.telescope, k, replace=False), port, t0, t0 + 20 * 60_000_000, rng))
        return srcs

    def plant_orgs(self) -> None:
        d = self.days
        every = list(range(d))
        tool = {"zmap": "zmap", "zmap4": "other", "masscan": "masscan", "linux": "other"}
        plans = [
            # key, style, behaviour, schedule, period, picture, range class, active days
            ("censys", "zmap4", lambda: self.background("censys", "zmap4", 350, 18, 20, every), "continuous", 1, "background", "wide", every),
            ("shodan", "zmap", lambda: self.background("shodan", "zmap", 900, 30, 10, every), "continuous", 1, "background", "wide", every),
            ("driftnet", "zmap4", lambda: self.background("driftnet", "zmap4", 2000, 40, 8, every), "continuous", 1, "background", "wide", every),
            ("paloalto", "zmap4", lambda: self.background("paloalto", "zmap4", 3000, 30, 5, every), "continuous", 1, "background", "wide", every),
            ("stretchoid", "linux", lambda: self.background("stretchoid", "linux", 20, 6, 15, every, np.arange(1, 10000)), "continuous", 1, "background", "focused", every),
            ("binaryedge", "masscan", lambda: self.background("binaryedge", "masscan", 200, 120, 10, list(range(2, d, 5))), "periodic", 5, None, "wide", list(range(2, d, 5))),
        ]
        snapshots = [
            ("shadowserver", "zmap", [21, 22, 23, 25, 80, 110, 143, 443, 445, 502, 993, 995, 1723, 1883, 3389, 5060, 5672,
                                      5900, 5985, 6443, 8080, 8443, 9100, 11211, 47808], 0.04, 2.0, every, "continuous", 1),
            ("umich", "zmap", [22, 80, 443], 0.08, 5.0, every, "continuous", 1),
        ]
        for key, style, run, schedule, period, picture, rclass, days in plans:
            for s in run():
                self.scanner(s, "org", tool[style], style, rclass, schedule, days, period=period, picture=picture, label=key)
        for key, style, ports, frac, hour, days, schedule, period in snapshots:
            ports = [p for p in ports if p not in COLLAB_PORTS]
            srcs = self.snapshot(key, style, ports, frac, hour, days)
            for s in srcs:
                self.scanner(s, "org", tool[style], style, "focused", schedule, days, period=period, picture="snapshot", label=key)
        # RWTH: every 7 days, each host a ZMap full scan of its port, both in the same two hours
        rng = self.rng("org:rwth")
        srcs = self.org_sources("rwth")
        for s, port in zip(srcs, (443, 8080)):
            days = list(range(1, d, 7))
            for day in days:
                self.add(A.scan("zmap", s, rng.permutation(self.telescope), port, self.t(day, 9), self.t(day, 11), rng))
            self.scanner(s, "org", "zmap", "zmap", "focused", "periodic", days, period=7, picture="snapshot", label="rwth")

    # -- noise and backscatter ---------------------------------------------------------------
    def known_asn_ips(self, rng: np.random.Generator, n: int, asns: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """n distinct addresses inside the AS prefixes of the catalog (not in reserved /24s)."""
        keys = asns or list(NOISE_PREFIXES)
        w = np.array([NOISE_PREFIXES[a][1] for a in keys])
        asn = rng.choice(np.array(keys), n, p=w / w.sum())
        base = np.array([A.ip(rng.choice(NOISE_PREFIXES[a][0])) for a in asn], dtype=np.int64)
        ips = base + rng.integers(256, 65280, n)
        ok = ~np.isin(ips >> 8, np.array(sorted(self.reserved24)))
        ips, asn = ips[ok], asn[ok]
        _, first = np.unique(ips, return_index=True)
        keep = np.sort(first)
        return ips[keep], asn[keep]

    def noise_sources(self, name: str, n: int, known_share: float, asns: list[int] | None = None) -> np.ndarray:
        rng = self.rng(f"sources:{name}")
        k = int(round(n * known_share))
        known, asn = self.known_asn_ips(rng, k, asns)
        unknown = A.random_public_ips(rng, n - len(known), self.reserved24)
        unknown = unknown[~np.isin(unknown, known)]
        for v, a in zip(known, asn):
            self.source(int(v), int(a))
        self.reserved24.update(int(x) >> 8 for x in unknown)
        return np.concatenate([known, unknown])

    def random_times(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.t_start + rng.integers(0, self.days * A.DAY_US, n, dtype=np.int64)

    def plant_noise(self) -> None:
        tel = self.telescope
        # TCP: a few probes per source to common ports, one kernel/tool per source
        rng = self.rng("noise:tcp")
        srcs = self.noise_sources("tcp", self.n(5000), 0.35)
        per = rng.geometric(0.3, len(srcs))
        src = np.repeat(srcs, per)
        ports = np.array(list(A.NOISE_TCP_PORTS))
        assert not set(ports) & set(COLLAB_PORTS)
        w = np.array(list(A.NOISE_TCP_PORTS.values()), dtype=float)
        styles = np.array(["linux", "windows", "zmap", "masscan", "zmap4"])
        style_of_src = rng.choice(len(styles), len(srcs), p=[0.45, 0.2, 0.15, 0.1, 0.1])
        sty = np.repeat(style_of_src, per)
        dport = rng.choice(ports, len(src), p=w / w.sum())
        dst = rng.choice(tel, len(src))
        ts = self.random_times(rng, len(src))
        for i, name in enumerate(styles):
            m = sty == i
            self.add(tcp_syn(name, ts[m], src[m], dst[m], dport[m], A.hops_of(src[m]), rng))
        self.summaries["noise_tcp"] = {"sources": int(len(srcs)), "packets": int(len(src))}
        # Mirai bots: 23/2323 from residential networks
        rng = self.rng("noise:mirai")
        bots = self.noise_sources("mirai", self.n(400), 0.6, list(MIRAI_ASNS))
        per = rng.integers(5, 40, len(bots))
        src = np.repeat(bots, per)
        dport = np.where(rng.random(len(src)) < 0.9, 23, 2323)
        self.add(tcp_syn("mirai", self.random_times(rng, len(src)), src, rng.choice(tel, len(src)), dport,
                         A.hops_of(src), rng))
        self.summaries["mirai_bots"] = {"sources": int(len(bots)), "packets": int(len(src))}
        # UDP probes (tool unknown)
        rng = self.rng("noise:udp")
        srcs = self.noise_sources("udp", self.n(1500), 0.3)
        per = rng.integers(1, 7, len(srcs))
        src = np.repeat(srcs, per)
        dport = rng.choice(np.array(list(A.UDP_SERVICES)), len(src))
        self.add(A.udp_probes(self.random_times(rng, len(src)), src, rng.choice(tel, len(src)), dport, rng))
        self.summaries["noise_udp"] = {"sources": int(len(srcs)), "packets": int(len(src))}
        # ICMP echo
        rng = self.rng("noise:icmp")
        srcs = self.noise_sources("icmp", self.n(1000), 0.3)
        per = rng.integers(1, 6, len(srcs))
        src = np.repeat(srcs, per)
        self.add(A.icmp_echo(self.random_times(rng, len(src)), src, rng.choice(tel, len(src)), rng))
        self.summaries["noise_icmp"] = {"sources": int(len(srcs)), "packets": int(len(src))}

    def plant_backscatter(self) -> None:
        rng = self.rng("backscatter")
        victims = self.noise_sources("victims", self.n(50), 0.5)
        total = bursts = 0
        for v in victims:
            sport = int(rng.choice(A.BACKSCATTER_PORTS))
            linux = bool(rng.random() < 0.6)
            for _ in range(int(rng.integers(1, 4))):
                n = self.n(int(rng.integers(100, 1200)))
                t0 = self.t_start + int(rng.integers(0, self.days * A.DAY_US - A.HOUR_US))
                t1 = t0 + int(rng.integers(5, 60)) * 60_000_000
                self.add(A.backscatter_burst(int(v), sport, n, int(t0), int(t1), self.telescope, rng, linux))
                total += n
                bursts += 1
        self.summaries["backscatter"] = {"victims": int(len(victims)), "packets": total, "bursts": bursts}

    # -- a sharded ZMap >= 4.1 scan (planted last: its sources and draws move nothing else) ---------------
    def plant_zmap_walk(self) -> None:
        """ZMW: one seeded ZMap 4.3 scan of the telescope's /20 (``-b /dev/null``, the /20 as its only allowlist
        entry), 3 shards x 2 threads, random IP-ID, one port, from three /24s of two ASes, run on two days with
        one ``--seed``: no /24 or AS covers, only the generator its address walk recovers ties the shards
        (``key_kind`` ``zmap_generator``).

        The scanned range is the telescope itself, not the Internet: the telescope (198.18.0.0/20) lies in
        ZMap's shipped blocklist, so the rollup's Internet hypothesis cannot hold for it, and its second
        hypothesis is the smallest CIDR holding a pair's destinations (what the real 4.3.4 capture is)."""
        rng = self.rng("group:ZMW")
        members = [self.source("153.127.40.21", 9370), self.source("160.16.77.140", 9370),
                   self.source("43.131.8.66", 45090)]
        port, shards, threads = 8086, 3, 2
        allowed = ZW.Allowed((TELESCOPE_CIDR,), ())
        words = [int(w) for w in rng.integers(0, 2**32, 2)]  # one --seed: the same g and offset every run
        recs = []
        for day, hour in ((self.days - 6, 15.25), (self.days - 3, 9.5)):
            t0 = self.t(day, hour)
            batches, parts, windows, gens = [], [], [], set()
            for shard, src in enumerate(members):
                scan = ZW.Scan.from_words(*words, allowed, shard=shard, shards=shards, threads=threads)
                gens.add(scan.generator)
                ts, dst, _ = ZW.probes(scan, rate=4.0, seed=int(rng.integers(0, 2**31)))
                ts_us = t0 + np.round(ts * 1e6).astype(np.int64) + int(rng.integers(0, 2_000_000))
                dst = dst.astype(np.int64)
                src_a = np.full(len(dst), src, dtype=np.int64)
                pk = tcp_syn("zmap4", ts_us, src_a, dst, np.full(len(dst), port, dtype=np.int64), A.hops_of(src_a), rng)
                _scrub_own(pk, rng)
                batches.append(pk)
                parts.append((src, dst))
                windows.append((int(ts_us.min()), int(ts_us.max())))
            (g,) = gens
            recs.append(self.collab("ZMW", port, parts, "zmap4", windows, "parallel", rng, batches=batches,
                                    key_kind="zmap_generator", key=f"zmap g={g}",
                                    **{"class": "zmap4_walk", "missed_by": ["both"], "tool": "zmap", "variant": "walk",
                                       "zmap": {"version": "4.3", "generator": g, "shards": shards, "threads": threads,
                                                "batch": ZW.BATCH, "allowlist": [TELESCOPE_CIDR], "blocklist": [],
                                                "rate_pps": 4.0}}))
        self.group("ZMW", "zmap4_walk_shards_across_ases", recs,
                   split_rule="ZMap's address walk, 3 shards x 2 threads, one seed, run on two days")


def _scrub_own(pk: Packets, rng: np.random.Generator) -> None:
    """Re-draw this batch's IP-IDs that match another tool's rule by chance (so the final scrub, whose draws
    are shared by every actor, finds nothing here)."""
    from .fingerprints import fingerprint_matches

    for _ in range(20):
        bad = np.zeros(len(pk), dtype=bool)
        for name, mask in fingerprint_matches(pk.cols).items():
            bad |= mask & (pk.tool != name)
        if not bad.any():
            return
        pk.cols["ip_id"][bad] = rng.integers(0, 65536, int(bad.sum()))
    raise RuntimeError("could not scrub the ZMap walk's probes")
