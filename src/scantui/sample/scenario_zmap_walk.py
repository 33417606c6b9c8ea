"""The scenario's sharded ZMap >= 4.1 scan (group ZMW): shards tied only by the generator of their address walk.
"""

from __future__ import annotations

import numpy as np

from . import actors as A
from . import zmap_walk as ZW
from .fingerprints import Packets, tcp_syn
from .scenario_layout import TELESCOPE_CIDR


class ZmapWalkPlanting:
    """The ZMW group of :class:`~scantui.sample.scenario.Scenario` (a mixin of it)."""

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
