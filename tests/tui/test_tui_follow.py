"""``scantui PATH --follow``: the TUI folds each complete new file in while it runs (tiny data, Pilot).

Day files arrive in a watched folder the way a capture rotator writes them (a hidden temporary
name, then a rename); the app loads the first complete file, then the next one when it lands,
and says so; a file still being written (hidden name) is never read.
"""

from __future__ import annotations

import asyncio
import os
import time

import polars as pl
from tuihelp import make_app, tiny_frame, until_followed


def _day_file(folder, day: int, name: str | None = None):
    frame = tiny_frame().filter(pl.col("ts").dt.day() == day)
    final = folder / (name or f"day{day}.parquet")
    tmp = folder / f".{final.name}.part"
    frame.write_parquet(tmp)
    old = time.time() - 3600
    os.utime(tmp, (old, old))
    tmp.rename(final)
    return frame.height


def _notes_of(app) -> list[str]:
    """The messages *app* notifies from now on (each still shown)."""
    notes: list[str] = []
    real_notify = app.notify

    def notify(message, **kw):
        notes.append(message)
        real_notify(message, **kw)

    app.notify = notify
    return notes


def test_follow_folds_new_files_in_while_the_app_runs(tmp_path, monkeypatch):
    from scantui.labels.session import LabelSession

    real_open = LabelSession.open

    def slow_open(*args, **kwargs):  # the labels file opens after the first files are found: the load must still run
        time.sleep(0.5)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(LabelSession, "open", staticmethod(slow_open))
    folder = tmp_path / "incoming"
    folder.mkdir()
    first = _day_file(folder, 1)
    (folder / ".day2.parquet.part").write_bytes(b"PAR1 half written")  # a download in progress: hidden, never read
    app = make_app([folder], tmp_path / "cache", follow=True, follow_interval=0.05, follow_settle=0.0)
    notes = _notes_of(app)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until_followed(app, pilot, lambda: app.overview is not None and not app.loading, "the first load")
            assert app.load_error is None
            assert app.overview.packets == first and app.overview.days == 1
            second = _day_file(folder, 2)
            await until_followed(app, pilot, lambda: app.overview is not None and app.overview.days == 2, "the second day")
            assert app.overview.packets == first + second
            assert any("folding in 1 new file: day2.parquet" in n for n in notes)
            assert app.state.request.follow and app.state.request.files == (str(folder / "day1.parquet"), str(folder / "day2.parquet"))
            await pilot.press("q")

    asyncio.run(main())


def test_a_broken_new_file_is_left_out_and_the_data_stays(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    first = _day_file(folder, 1)
    app = make_app([folder], tmp_path / "cache", follow=True, follow_interval=0.05, follow_settle=0.0)
    notes = _notes_of(app)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until_followed(app, pilot, lambda: app.overview is not None and not app.loading, "the first load")
            broken = folder / "day2\x1b[31m.parquet"
            broken.write_bytes(b"PAR1 cut short")  # a copy cut off: no footer
            old = time.time() - 3600
            os.utime(broken, (old, old))
            await until_followed(app, pilot, lambda: any("left out until it changes" in n for n in notes), "the bad file said")
            await until_followed(app, pilot, lambda: app.overview is not None and not app.loading, "loaded again without it")
            assert app.load_error is None and app.overview.packets == first  # the data is back, without the bad file
            assert app.state.request.files == (str(folder / "day1.parquet"),)
            shown = [str(n.message) for n in app._notifications]  # the toast's text: the file name escaped
            assert any("left out until it changes" in n and "day2\\x1b[31m.parquet" in n and "\x1b" not in n for n in shown)
            second = _day_file(folder, 2)  # a good file after it is folded in as usual
            await until_followed(app, pilot, lambda: app.overview is not None and app.overview.packets == first + second,
                                 "the next good file")
            await pilot.press("q")

    asyncio.run(main())


def test_a_broken_only_file_is_said_not_loading_for_ever(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    broken = folder / "day1.parquet"
    broken.write_bytes(b"PAR1 cut short")
    old = time.time() - 3600
    os.utime(broken, (old, old))
    app = make_app([folder], tmp_path / "cache", follow=True, follow_interval=0.05, follow_settle=0.0)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until_followed(app, pilot, lambda: app.load_error is not None, "the failure said")
            for _ in range(10):  # the watcher looks again: nothing else to load, the failure stays said
                app._follow_wake.set()
                await pilot.pause(0.05)
            assert app.load_error is not None and not app.loading and "day1.parquet" in app.load_error
            assert any("left out until it changes" in str(n.message) for n in app._notifications)
            await pilot.press("q")

    asyncio.run(main())
