"""The result of a similar-sources search (:func:`scantui.analysis.similar.similar_sources`): typed values.

IPs are IPv4 integers, times µs since the epoch (UTC). Every ranked source carries its score and
the parts it is made of (each in [0, 1]; ``artifacts`` None when its packets were not read), the
seed it is nearest to, and ``why``: the parts that matched well, in words. :meth:`SimilarSource.to_json`
is one row of ``scantui similar --json`` / ``--jsonl`` (``scantui/schemas/similar.schema.json``),
:meth:`SimilarSource.row` one CSV row (the parts as columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scantui.analysis.collab_types import dotted, iso_us_z

#: The parts of a score, in the order they are shown (see :mod:`scantui.analysis.similar` for each).
PARTS = ("ports", "port_classes", "tools", "rate", "coverage", "timing", "artifacts")


@dataclass(frozen=True, slots=True)
class SimilarSource:
    """One ranked source: how alike it is to the nearest seed (``like``), and why."""

    rank: int
    src: int
    score: float
    like: int  # the seed it is nearest to
    ports: float
    port_classes: float
    tools: float
    rate: float
    coverage: float
    timing: float
    artifacts: float | None
    why: tuple[str, ...]
    tool: str
    packets: int
    n_ports: int
    days_active: int
    first_seen_us: int
    last_seen_us: int
    top_ports: tuple[int, ...]

    @property
    def ip(self) -> str:
        return dotted(self.src)

    @property
    def ip_like(self) -> str:
        return dotted(self.like)

    def parts(self) -> dict[str, float | None]:
        return {p: getattr(self, p) for p in PARTS}

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "src": self.ip, "score": self.score, "like": dotted(self.like),
            "parts": {p: v for p, v in self.parts().items()}, "why": list(self.why), "tool": self.tool,
            "packets": self.packets, "ports": self.n_ports, "days_active": self.days_active,
            "first_seen": iso_us_z(self.first_seen_us), "last_seen": iso_us_z(self.last_seen_us),
            "top_ports": list(self.top_ports),
        }

    def row(self) -> dict[str, Any]:
        """A flat row (``--csv``): the parts as ``part_*`` columns, lists as text."""
        doc = self.to_json()
        parts = doc.pop("parts")
        doc["why"] = "; ".join(self.why)
        doc["top_ports"] = " ".join(str(p) for p in self.top_ports)
        return {**doc, **{f"part_{p}": v for p, v in parts.items()}}


@dataclass(frozen=True, slots=True)
class SimilarResult:
    """The seeds, how many sources were compared at each stage, and the ranked sources (best first)."""

    seeds: tuple[int, ...]  # the seed sources found in the data (probes), sorted
    compared_seeds: tuple[int, ...]  # those compared one by one (the busiest, at most MAX_SEEDS)
    candidates: int  # sources scored by the cheap features
    shortlisted: int  # sources scored by every feature
    artifacts_read: bool  # header artifacts compared (packets read for the short list)
    sources: tuple[SimilarSource, ...]
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> list[dict[str, Any]]:
        """The ``--json`` document: the ranked rows (the counts are said on stderr, as the other lists do)."""
        return [s.to_json() for s in self.sources]

    def summary(self) -> str:
        """One line: the seeds and how many sources each stage compared."""
        seeds = ", ".join(dotted(s) for s in self.seeds[:3]) + (f" and {len(self.seeds) - 3} more" if len(self.seeds) > 3 else "")
        art = "with" if self.artifacts_read else "without"
        return (f"like {seeds}: {self.candidates:,} sources compared, {self.shortlisted:,} short-listed and scored "
                f"{art} header artifacts")


#: The columns of :meth:`SimilarSource.row`, in order.
ROW_COLUMNS = ("rank", "src", "score", "like", "why", "tool", "packets", "ports", "days_active", "first_seen",
               "last_seen", "top_ports", *(f"part_{p}" for p in PARTS))
