"""Which labelled groups a set of IPs belongs to: the review state of a suggestion or scan.

A suggestion (or candidate scan) *matches* a labelled group when at least
``min_share`` (default half) of its IPs are members of it, directly or through
a member CIDR. Rejected groups (verdict ``not_collaborative``) match too: that is
how a rejection is remembered and the same suggestion does not come back as new.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from scantui.labels.model import Group

REVIEW_NEW, REVIEW_LABELLED, REVIEW_REJECTED = "new", "labelled", "rejected"


def label_matches(groups: Iterable[Group], ips: Sequence[str], *, min_share: float = 0.5) -> list[dict[str, Any]]:
    """``[{"id", "verdict", "share"}]`` for every group holding ≥ *min_share* of *ips*, best share first."""
    if not ips:
        return []
    out = []
    for group in groups:
        share = sum(group.contains(ip) for ip in ips) / len(ips)
        if share >= min_share:
            out.append({"id": group.id, "verdict": group.verdict, "share": round(share, 4)})
    return sorted(out, key=lambda m: (-m["share"], m["id"]))


def review_state(matches: Sequence[dict[str, Any]]) -> str:
    """``new`` (no label), ``rejected`` (the best match says not collaborative) or ``labelled``."""
    if not matches:
        return REVIEW_NEW
    return REVIEW_REJECTED if matches[0]["verdict"] == "not_collaborative" else REVIEW_LABELLED
