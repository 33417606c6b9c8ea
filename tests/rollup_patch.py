"""Patch a name of the day rollup where its modules look it up.

The day rollup (:mod:`scantui.analysis.rollup_days`) is split into modules that import the shared
constants and each other's functions by name: a test that changes one (a size, a spy) sets it in
every module holding it, so the caller sees it whichever module it lives in.
"""

from __future__ import annotations

from scantui.analysis import (
    day_packets, day_state, merge_fold, merge_partials, merge_plan, merge_sources, merge_state, port_day_files,
    rollup_days, rollup_layout, unicorn_sessions,
)

MODULES = (rollup_layout, day_state, port_day_files, unicorn_sessions, merge_plan, merge_partials, merge_fold,
           merge_sources, merge_state, rollup_days, day_packets)


def patch_rollup(monkeypatch, name: str, value: object) -> None:
    """``monkeypatch.setattr`` of *name* in every module of :data:`MODULES` that has it (at least one)."""
    holders = [m for m in MODULES if hasattr(m, name)]
    assert holders, name
    for module in holders:
        monkeypatch.setattr(module, name, value)
