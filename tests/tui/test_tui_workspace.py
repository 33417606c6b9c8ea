"""The TUI adapts the workspace's Task to its workers: a load worker cancelled mid-build (another data
set opened, a quit) cancels the rollup's Task, and the build stops between its days, leaving no cache
folder behind; the screens read the workspace the loading pipeline filled (tiny data, Pilot)."""

from __future__ import annotations

import asyncio
import threading

from tuihelp import make_app, run_app, settle


def test_a_cancelled_load_stops_the_rollup_build_and_leaves_no_cache(tiny_parquet, tmp_path, monkeypatch):
    from scantui.tui.app import ScantuiApp

    reached, release = threading.Event(), threading.Event()
    real = ScantuiApp._rollup_progress

    def held(self, message, fraction):  # the build's thread stops here until the test has cancelled the worker
        real(self, message, fraction)
        if message.startswith("rolling up 20"):
            reached.set()
            release.wait(30)

    monkeypatch.setattr(ScantuiApp, "_rollup_progress", held)
    cache = tmp_path / "cache"
    app = make_app([tiny_parquet], cache)

    async def main():
        async with app.run_test(size=(80, 24)):
            assert await asyncio.to_thread(reached.wait, 60)
            task = app.state.step_task("rollup")
            assert not task.cancelled and task.message == "rolling up 2024-03-01"
            app.workers.cancel_group(app, "load")
            for _ in range(200):
                if task.cancelled:
                    break
                await asyncio.sleep(0.05)
            assert task.cancelled  # the worker's cancellation reached the token
            release.set()
            for _ in range(200):
                if not app.workers_busy():
                    break
                await asyncio.sleep(0.05)
            assert not app.workers_busy()  # the build thread ended at its checkpoint
            assert app.state.rollup is None and app.is_running
            assert list((cache / "rollups").iterdir()) == []  # no rollup, no temporary folder

    asyncio.run(main())


def test_the_screens_read_the_workspace_the_pipeline_filled(tiny_parquet, tui_cache, monkeypatch):
    import scantui.analysis.detail as detail
    from scantui.analysis.scanner_row import ScannerRow

    calls = []
    real = detail.per_day
    monkeypatch.setattr(detail, "per_day", lambda port_day, srcs, **kw: calls.append(list(srcs)) or real(port_day, srcs, **kw))

    async def scenario(app, pilot):
        state = app.state
        ws = state.workspace
        assert state.dataset is ws.dataset and state.rollup is ws.rollup() and state.overview is ws.overview()
        assert state.scanners is ws.scanners() and (state.telescope_size, state.telescope_from) == ws.telescope()
        await settle(app, pilot)
        assert state.collab is ws.collab(state.request.collab_query()) and state.groups is ws.groups(state.request.collab_query())
        app.open_scanner(ScannerRow.from_row(state.scanners.frame.row(0, named=True)))
        await settle(app, pilot)
        src = int(state.scanners.frame["src"][0])
        assert calls == [[src]] and app.screen.query_one("#detail-per-day").drawn
        ws.detail([src])
        assert calls == [[src]]  # the detail screen's figures came through the workspace: memoized there

    run_app(make_app([tiny_parquet], tui_cache), scenario)
