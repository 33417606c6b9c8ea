"""The scenario's noise (TCP, Mirai, UDP, ICMP from random and catalog sources) and backscatter.
"""

from __future__ import annotations

import numpy as np

from . import actors as A
from .catalog import MIRAI_ASNS, NOISE_PREFIXES
from .fingerprints import tcp_syn
from .scenario_layout import COLLAB_PORTS


class BackgroundPlanting:
    """Noise and backscatter of :class:`~scantui.sample.scenario.Scenario` (a mixin of it)."""

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
