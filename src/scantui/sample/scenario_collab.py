"""The scenario's planted collaborative scans: the groups (AK01, DOM, HUR, ... FPP), each scan's truth
record (:meth:`CollabPlanting.collab`), and the decoys that look like collaboration but are not.
"""

from __future__ import annotations

import numpy as np

from . import actors as A
from . import planted_bursts as PB
from .fingerprint_pools import artifacts
from .fingerprints import STYLE_TOOL, Packets, tcp_syn
from .scenario_layout import iso, prefix24


class CollabPlanting:
    """Collaborative groups and decoys of :class:`~scantui.sample.scenario.Scenario` (a mixin of it)."""

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
