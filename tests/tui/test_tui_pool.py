"""Pools at a glance on the detail screens (issue 15 part 5), on the sample data.

The sample's biggest AS6939 scan (230 sources on 5432/tcp, 2024-02-14) and its
group S04 (240 sources, 3 scans) get the summary above their strips; a scan of a
few sources does not. Snapshots of the scan's summary at 80x24 and 160x48.
"""

from __future__ import annotations

import threading

import pytest

import scantui.analysis.pool_summary as pool_mod
from tuihelp import SAMPLE, make_app, run_app, screen_text, settle
from scantui.analysis.pool_summary import POOL_MIN_SOURCES
from scantui.tui.screens.detail import CandidateDetailScreen, GroupDetailScreen
from scantui.tui.screens.detail_pool import POOL_HELP
from scantui.tui.widgets.pool import PoolPanel

SIZES = [(80, 24), (160, 48)]


def _biggest_as6939(app):
    return max((c for c in app.state.collab.candidates if c.key.text == "AS6939"), key=lambda c: c.n_sources)


def test_a_pool_gets_its_summary_above_the_strips_computed_off_the_ui_thread(tui_cache, monkeypatch):
    threads, failing = [], []
    real = pool_mod.pool_summary

    def recording(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        if failing:
            raise OSError("disk gone")
        return real(*args, **kwargs)

    monkeypatch.setattr(pool_mod, "pool_summary", recording)

    async def scenario(app, pilot):
        scan = _biggest_as6939(app)
        assert scan.n_sources == 230
        app.open_candidate(scan)
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CandidateDetailScreen)
        summary = screen.query_one("#detail-pool", PoolPanel).summary
        assert summary is not None and threads == [False]
        assert (summary.n_sources, summary.n_active, summary.n_prefixes, summary.n_asns) == (230, 230, 2, 1)
        assert [(k.key, k.members) for k in summary.prefixes] == [("64.62.157.0/24", 117), ("64.62.156.0/24", 113)]
        assert [(k.key, k.members) for k in summary.asns] == [("AS6939", 230)]
        assert summary.bin_us == 60_000_000 and len(summary.active) == 40  # 17:42:13 → 18:22:13 in 1-minute bins
        assert summary.share_counts[3] == 230  # an even split: every member within 0.9-1.1× the mean share
        text = screen_text(app)
        assert "pool · 230 sources · 2 /24s · 1 AS" in text
        assert "64.62.157.0/24   117" in text and "AS6939           230" in text
        assert f"peak {summary.peak:,} at" in text and "230 of 230 seen" in text
        pool, timing = screen.query_one("#detail-pool"), screen.timing
        assert pool.region.y < timing.region.y and timing.row_count == 230  # the strips stay, below

        await pilot.press("escape")
        small = next(c for c in app.state.collab.candidates if c.n_sources < 10)
        app.open_candidate(small)
        await settle(app, pilot)
        assert not app.screen.query("#detail-pool") and "pool ·" not in screen_text(app)

        await pilot.press("escape")
        group = next(g for g in app.state.groups if g.n_members >= 200)
        app.open_group(group)
        await settle(app, pilot)
        assert isinstance(app.screen, GroupDetailScreen)
        summary = app.screen.query_one("#detail-pool", PoolPanel).summary
        assert summary is not None and summary.n_sources == group.n_members == 240
        assert sum(k.members for k in summary.prefixes) == 240 and summary.n_asns == 1
        assert "pool · 240 sources" in screen_text(app) and app.screen.timing.row_count == group.sizes[0]

        await pilot.press("escape")  # a failing summary is a notification and a line in the panel; the strips stay
        failing.append(True)
        app.open_candidate(scan)
        await settle(app, pilot)
        assert isinstance(app.screen, CandidateDetailScreen) and app.screen.timing.row_count == 230
        assert "could not sum up the pool: OSError: disk gone" in screen_text(app)
        assert any("disk gone" in str(n.message) for n in app._notifications)
        assert not any(threads)  # never on the UI thread
        assert str(POOL_MIN_SOURCES) in POOL_HELP

    run_app(make_app([SAMPLE], tui_cache), scenario, size=(160, 48))


@pytest.fixture
def ordered_plotext(monkeypatch):
    """The candidate detail's split figure is plotext: keep its tick order independent of the hash seed
    (as tests/tui/test_tui_detail.py does)."""
    import plotext._utility as plotext_utility

    from scantui.plots.plotext_order import stable_tick_order

    monkeypatch.setattr(plotext_utility, "no_duplicates", plotext_utility.no_duplicates)  # restored after the test
    stable_tick_order()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pool_summary_snapshot(snap_compare, tui_cache, size, ordered_plotext):
    async def run_before(pilot):
        app = pilot.app
        await settle(app, pilot)
        app.open_candidate(_biggest_as6939(app))
        await settle(app, pilot)
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(make_app([SAMPLE], tui_cache), terminal_size=size, run_before=run_before)
