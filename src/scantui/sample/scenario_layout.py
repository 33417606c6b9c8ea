"""The sample telescope's fixed layout (its /20, sensor name, the ports kept for planted collaborative
scans) and the small formatters the scenario and its truth share (range class, ISO time, /24).
"""

from __future__ import annotations

from datetime import datetime, timezone

from . import actors as A

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
