"""Snapshots (pytest-textual-snapshot) of each screen at 80x24 and 160x48, from the tiny fixture.

The data is generated and the input named by a relative path (the test runs
in its folder), so nothing on screen varies between runs. After a deliberate
change to a screen, review and accept with ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

import pytest

from tuihelp import make_app, snapshot_ready

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_overview(snap_compare, tiny_here, tui_cache, size):
    assert snap_compare(make_app([tiny_here], tui_cache), terminal_size=size, run_before=snapshot_ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_scanners(snap_compare, tiny_here, tui_cache, size):
    async def run_before(pilot):
        await snapshot_ready(pilot, ["2"])

    assert snap_compare(make_app([tiny_here], tui_cache), terminal_size=size, run_before=run_before)


def test_scanners_filtered_and_sorted(snap_compare, tiny_here, tui_cache):
    async def run_before(pilot):
        await snapshot_ready(pilot, ["slash", *"port:443,3389", "enter", "right", "s"])

    assert snap_compare(make_app([tiny_here], tui_cache), terminal_size=(80, 24), run_before=run_before)


def test_help(snap_compare, tiny_here, tui_cache):
    async def run_before(pilot):
        await snapshot_ready(pilot, ["2", "question_mark"])

    assert snap_compare(make_app([tiny_here], tui_cache), terminal_size=(80, 24), run_before=run_before)
