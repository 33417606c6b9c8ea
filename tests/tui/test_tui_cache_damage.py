"""A damaged cache file met in the TUI: a notification naming it and what was set aside; the app keeps running, and
the data opened again (the palette's "Open data") builds the day anew and reads it (:mod:`scantui.analysis.cache_damage`)."""

from __future__ import annotations

import gc
import threading

import polars as pl

from tuihelp import make_app, run_app, screen_text, settle, tiny_frame
from scantui.analysis import cache_damage as cd
from scantui.tui.screens.packets import PacketsScreen


def test_a_damaged_day_state_is_a_notification_and_opening_the_data_again_builds_it(tmp_path, monkeypatch):
    data, cache = tmp_path / "tiny.parquet", tmp_path / "cache"  # its own cache: damaged here
    tiny_frame().write_parquet(data)
    cd._ROOTS.clear()
    searched_on = []  # the threads the cache was searched on: never the UI thread (seconds at a year)
    real_check = cd.check_cache

    def check(top):
        searched_on.append(threading.current_thread() is threading.main_thread())
        return real_check(top)

    monkeypatch.setattr(cd, "check_cache", check)
    gc.collect()  # earlier tests' data sets, whose files may be gone: a changed input would explain the failure first

    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        src = app.screen.table.selected_row["src"]
        parts = sorted((cache / "days" / "state").glob("*/packets/*.parquet"))
        assert parts
        for part in parts:
            part.write_bytes(part.read_bytes()[:100])
        await pilot.press("p")
        await settle(app, pilot)
        said = [n.message for n in app._notifications if n.severity == "error"]
        days = sorted(part.parent.parent.name[:10] for part in parts)
        assert len(parts) == 4 and len(said) == 1 and ": a damaged cache file (and 3 more): " in said[0], said
        assert said[0].endswith(f"set aside 4 day states ({days[0]} to {days[-1]}): opening the data again builds "
                                "them anew"), said
        text = screen_text(app)
        assert "Error" not in text  # its status line too: not polars' line from a second search
        assert "reading the packets" not in text and "could not read the packets (the status line" in text, text
        assert not any(p.exists() for p in parts)
        assert searched_on == [False]
        await pilot.press("escape")  # the app goes on: another screen, the same data
        await settle(app, pilot)
        await pilot.press("1")
        await settle(app, pilot)
        assert app.overview is not None and app.overview.packets == tiny_frame().height

        app.open_data([str(data)])  # the palette's "Open data": the rollup reused, its days built anew
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        assert app.screen.table.selected_row["src"] == src
        await pilot.press("p")
        await settle(app, pilot)
        assert isinstance(app.screen, PacketsScreen), type(app.screen).__name__
        got = app.screen.lf.collect()
        assert got.height == tiny_frame().filter(pl.col("src") == src).height > 0 and set(got["src"]) == {src}
        assert all(p.is_file() for p in parts)

    run_app(make_app([data], cache), scenario)
