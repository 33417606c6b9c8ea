"""The scenario's single scanners (one per tool and schedule) and announced organizations (Censys, Shodan,
... : background slices and snapshots).
"""

from __future__ import annotations

import numpy as np

from . import actors as A
from .catalog import ORGS, hostname_for
from .scenario_layout import ALL_PORTS, COLLAB_PORTS


class ScannerPlanting:
    """Single scanners and organizations of :class:`~scantui.sample.scenario.Scenario` (a mixin of it)."""

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
