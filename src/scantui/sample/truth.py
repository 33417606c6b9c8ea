"""The ground truth of the sample data set (``truth.json``), computed from the packets.

Layout (version 1; IPs are dotted strings, times ISO 8601 UTC with microseconds,
days ``YYYY-MM-DD``; keys are stable, new keys may be added)::

    {
      "version": 1, "generator": "scantui.sample", "seed": 7, "scale": 1.0,
      "start": "2024-02-01T00:00:00.000000Z", "end": <exclusive>, "days": 21,
      "sensor": "tel-1",
      "telescope": {"cidrs": ["198.18.0.0/20"], "size": 4096},
      "packets": N, "sources": N,
      "probes": N,            # TCP with SYN set and ACK clear
      "backscatter": N,       # TCP SYN-ACK / RST / RST-ACK from DDoS victims
      "other_tcp": N,         # TCP that is neither (Nmap OS-detection ACK/FIN/null probes)
      "udp": N, "icmp": N,
      "tool_packets": {"zmap": n, "masscan": n, "mirai": n, "unicorn": n, "nmap": n, "other": n},
                              # over probes; rules and precedence in "tool_rules"
      "tool_rules": {"precedence": [...], "unicorn_min_packets": 150,
                     "nmap_os_probes": [[flags, window, mss|null], ...]},
      "thresholds": {"focused_max_ports": 29, "full_min_ports": 64881},
      "scanners": [           # planted single scanners and announced organizations' hosts
        {"src", "label", "kind": "single"|"org", "tool", "style", "range_class", "schedule",
         "period_days", "picture": "snapshot"|"background"|null, "active_days": [...],
         "org", "category", "asn", "as_name", "hostname", "note"?,
         "packets", "ports", "dsts", "first_seen", "last_seen"}  # the last five from the data
      ],
      "orgs": [{"label", "org", "category", "asn", "sources": [...], "packets", "ports",
                "range_class", "schedule", "period_days", "picture"}],
      "collab_scans": [
        {"id": "STS-01", "group": "STS", "port", "proto": "tcp", "day", "start", "end",
         "crosses_midnight", "key_kind": "prefix24"|"asn", "key",   # the narrowest key finding it
         "asn": "AS202425", "prefix24": "80.82.77.0/24"|null,       # both keys where they apply
         "sources": [...], "dsts_per_source": {ip: n}, "union", "telescope_size",
         "cover_multiple", "packets", "split": [share of the telescope per source, in
         "sources" order], "timing": "parallel"|"sequential", "tool", "style", "note"?,
         "class"?, "missed_by"?, "artifacts"?}
         # issue 13's shapes carry "class" (resharded_rounds, drift, trickle_sweep, split_groups,
         # fingerprint_pool, zmap4_walk) and "missed_by": the --window modes (day, 24h, 48h) and
         # --by key sets (both) expected to miss them (the default burst windows find them all); a
         # fingerprint_pool has "key_kind": "fingerprint", its signature text as "key", asn/prefix24
         # null and its "artifacts"; a zmap4_walk "key_kind": "zmap_generator", "key": "zmap g=G",
         # "tool": "zmap", "variant": "walk" and "zmap" (version, generator, shards, threads, batch,
         # allowlist, blocklist, rate_pps)
      ],
      "groups": [{"id", "shape", "members", "ports", "days", "scans": [scan ids], "asn",
                  "prefixes", "tool", "timing", "split_rule", "pool"?, "split_counts"?}],
      "decoys": [{"id", "kind", "violates": "collaboration"|"cover"|"location"|"same_port"|"burst",
                  "sources", "ports", "days", "dsts_per_source", "union", "total",
                  "telescope_size", "note", "group"?}],
      "background": {"noise_tcp": {"sources", "packets"}, "mirai_bots": {...},
                     "noise_udp": {...}, "noise_icmp": {...},
                     "backscatter": {"victims", "packets", "bursts"}},
      "cuts": {file name: {"format", "packets" (IPv4 rows, all in telescope.parquet),
               "skipped": {"ipv6": n, "arp": n}, ...}}
    }

Every collaborative scan's members partition the telescope exactly (``cover_multiple``
times); within its (key, port, day) no other source sends, except a decoy of kind
``standalone_in_group_prefix``, which covers the telescope alone, and the other group of a
``split_groups`` pair. Members of a ``trickle_sweep`` scan also probe its port outside the
scan's own hours.
"""

from __future__ import annotations

import numpy as np

from .actors import DAY_US
from .fingerprints import ACK, NMAP_OS_SIGNATURES, RST, SYN, TOOLS, UNICORN_MIN_PACKETS, is_probe
from .scenario import Scenario
from .scenario_layout import FULL_RANGE_MIN, SENSOR, TELESCOPE_CIDR, iso, range_class

VERSION = 1


def _per_source(cols: dict[str, np.ndarray], srcs: list[int], t_start: int) -> dict[int, dict]:
    """packets, distinct ports/dsts, first/last seen and active days of the given sources."""
    want = np.array(sorted(srcs), dtype=np.int64)
    m = np.isin(cols["src"], want)
    src, dport, dst, ts = cols["src"][m], cols["dport"][m], cols["dst"][m], cols["ts"][m]
    out = {}
    order = np.argsort(src, kind="stable")
    src, dport, dst, ts = src[order], dport[order], dst[order], ts[order]
    bounds = np.flatnonzero(np.diff(src)) + 1
    for s, p, d, t in zip(np.split(src, bounds), np.split(dport, bounds), np.split(dst, bounds), np.split(ts, bounds)):
        if not len(s):
            continue
        days = np.unique((t - t_start) // DAY_US)
        out[int(s[0])] = {"packets": int(len(s)), "ports": int(len(np.unique(p[p >= 0]))),
                          "dsts": int(len(np.unique(d))), "first_seen": iso(int(t.min())),
                          "last_seen": iso(int(t.max())), "_days": [int(x) for x in days]}
    return out


def build_truth(sc: Scenario, cols: dict[str, np.ndarray], labels: np.ndarray) -> dict:
    """The truth dict, with data-derived fields filled in and checked against the intended ones."""
    probe = is_probe(cols)
    tcp = cols["proto"] == 6
    flags = cols["tcp_flags"]
    backscatter = tcp & (((flags & SYN) > 0) & ((flags & ACK) > 0) | ((flags & RST) > 0))
    t_end = sc.t(sc.days)
    stats = _per_source(cols, [_ip(s["src"]) for s in sc.scanners], sc.t_start)
    scanners = []
    for s in sc.scanners:
        got = stats[_ip(s["src"])]
        days = [sc.day_iso(d) for d in got.pop("_days")]
        if days != s["active_days"]:
            raise AssertionError(f"{s['label']} {s['src']}: active days {days} != planned {s['active_days']}")
        if s["range_class"] != range_class(got["ports"]):
            raise AssertionError(f"{s['label']} {s['src']}: {got['ports']} ports is not {s['range_class']}")
        scanners.append({**s, **got})
    orgs = []
    for label in dict.fromkeys(s["label"] for s in scanners if s["kind"] == "org"):
        hosts = [s for s in scanners if s["label"] == label]
        hs = np.array([_ip(h["src"]) for h in hosts])
        m = np.isin(cols["src"], hs)
        ports = int(len(np.unique(cols["dport"][m])))
        h0 = hosts[0]
        orgs.append({"label": label, "org": h0["org"], "category": h0["category"], "asn": h0["asn"],
                     "as_name": h0["as_name"], "sources": [h["src"] for h in hosts], "packets": int(m.sum()),
                     "ports": ports, "range_class": range_class(ports), "schedule": h0["schedule"],
                     "period_days": h0["period_days"], "picture": h0["picture"]})
    tool_packets = {t: int((labels == t).sum()) for t in TOOLS}
    return {
        "version": VERSION, "generator": "scantui.sample", "seed": sc.seed, "scale": sc.scale,
        "start": iso(sc.t_start), "end": iso(t_end), "days": sc.days, "sensor": SENSOR,
        "telescope": {"cidrs": [TELESCOPE_CIDR], "size": int(len(sc.telescope))},
        "packets": int(len(cols["ts"])), "sources": int(len(np.unique(cols["src"]))),
        "probes": int(probe.sum()), "backscatter": int(backscatter.sum()),
        "other_tcp": int((tcp & ~probe & ~backscatter).sum()),
        "udp": int((cols["proto"] == 17).sum()), "icmp": int((cols["proto"] == 1).sum()),
        "tool_packets": tool_packets,
        "tool_rules": {"precedence": ["unicorn", "masscan", "mirai", "nmap", "zmap", "other"],
                       "unicorn_min_packets": UNICORN_MIN_PACKETS,
                       "nmap_os_probes": [[f, w, m if m >= 0 else None] for f, w, m in sorted(NMAP_OS_SIGNATURES)]},
        "thresholds": {"focused_max_ports": 29, "full_min_ports": FULL_RANGE_MIN},
        "scanners": scanners, "orgs": orgs,
        "collab_scans": sc.collab_scans, "groups": sc.groups, "decoys": sc.decoys,
        "background": sc.summaries,
    }


def _ip(s: str) -> int:
    a, b, c, d = (int(x) for x in s.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d

