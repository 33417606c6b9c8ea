"""Labelling from any screen: one key creates a group from a candidate or suggestion, or adds to one.

(Signatures fixed; bodies being built.) ``record`` is a ``collab`` candidate
record (``sources``, ``port``, ``day``...) or a ``groups`` suggestion record
(``members``, ``scan_refs``...). Every change goes through
:meth:`scantui.tui.app.ScantuiApp.change_labels` (saved at once, undoable with ``u``).
"""

from __future__ import annotations

from typing import Any


def record_ips(record: dict[str, Any]) -> list[str]:
    """The IPs of a candidate (``sources``) or a suggestion (``members``)."""
    return list(record.get("members") or record.get("sources") or [])


def label_dialog(app: Any, record: dict[str, Any]) -> None:
    """Ask: a new group (id, title prefilled) or add to an existing one; then save."""
    raise NotImplementedError


def set_verdict(app: Any, record: dict[str, Any], verdict: str) -> None:
    """Accept (``collaborative``), reject (``not_collaborative``) or ``unsure``: the matching labelled
    group gets the verdict; with none, a new group is created with it (a rejection is remembered)."""
    raise NotImplementedError
