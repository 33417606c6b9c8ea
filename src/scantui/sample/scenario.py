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

The actors are planted by the mixins Scenario inherits: :mod:`~scantui.sample.scenario_collab` (groups,
decoys), :mod:`~scantui.sample.scenario_scanners` (single scanners, organizations),
:mod:`~scantui.sample.scenario_background` (noise, backscatter), :mod:`~scantui.sample.scenario_zmap_walk`;
the telescope's layout is :mod:`~scantui.sample.scenario_layout`.
"""

from __future__ import annotations

import ipaddress
import zlib
from datetime import datetime, timezone

import numpy as np

from . import actors as A
from .catalog import ASNS
from ..errors import UsageError
from .fingerprints import Packets
from .scenario_background import BackgroundPlanting
from .scenario_collab import CollabPlanting
from .scenario_layout import TELESCOPE_CIDR, iso
from .scenario_scanners import ScannerPlanting
from .scenario_zmap_walk import ZmapWalkPlanting


class Scenario(CollabPlanting, ScannerPlanting, BackgroundPlanting, ZmapWalkPlanting):
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
