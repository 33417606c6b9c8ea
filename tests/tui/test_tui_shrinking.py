"""A capture cut short by another process while the TUI reads it: a notification, and the app stays up.

The cut is made on the real file (``os.truncate``) once the reader has opened it and decoded its first
window; the memory-mapped reader before died there of SIGBUS, taking the app (and this test run) down.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tuihelp import make_app, run_app, tiny_frame
from scantui.io import file_pieces
from scantui.io.stats import LoadStats

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_a_capture_cut_while_loaded_is_a_notification_and_the_app_stays_up(tmp_path, monkeypatch):
    import capgen

    capture = tmp_path / "day.pcap"
    capgen.write_pcap(str(capture), 40_000, seed=5)
    monkeypatch.setattr(file_pieces, "PIECE_BYTES", 256 << 10)
    advance = LoadStats.advance

    def cut_once(self, path, done, total):
        advance(self, path, done, total)
        if Path(path) == capture and 0 < done < total and capture.stat().st_size > 100_000:
            os.truncate(capture, 100_000)

    monkeypatch.setattr(LoadStats, "advance", cut_once)

    async def scenario(app, pilot):
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any("day.pcap" in m and "the file shrank while it was read" in m for m in errors), errors
        assert app.is_running and not app.loading
        assert app.failures and app.failures[0][0] in ("inputs", "rollup")
        await pilot.press("2")
        await pilot.pause()
        assert app.is_running

    run_app(make_app([capture], tmp_path / "cache"), scenario)



def test_a_csv_cut_inside_a_line_and_a_parquet_file_cut_once_validated_are_notifications(tmp_path, monkeypatch):
    """The CSV's cut row was a 'bad value' before; the Parquet file, cut after its footer was read, made
    polars panic (a BaseException, past the app's error handling)."""
    from scantui.io import parquet

    data = (Path(__file__).resolve().parents[2] / "sample_data" / "cuts" / "iptables.csv").read_bytes()
    csv = tmp_path / "cut.csv"
    csv.write_bytes(data[: len(data) // 2 + 7])
    day = tmp_path / "day.parquet"
    tiny_frame().write_parquet(day, row_group_size=8)
    checked = parquet._checked_canonical

    def cut_after(lf, sources, *args):
        out = checked(lf, sources, *args)
        if [Path(s) for s in sources] == [day] and day.stat().st_size > 600:
            os.truncate(day, 600)
        return out

    monkeypatch.setattr(parquet, "_checked_canonical", cut_after)
    for path, want in ((csv, "the file ends inside this line"), (day, "the file changed while it was read")):
        async def scenario(app, pilot, path=path, want=want):
            errors = [n.message for n in app._notifications if n.severity == "error"]
            assert any(path.name in m and want in m for m in errors), errors
            assert app.is_running and not app.loading and app.failures
            await pilot.press("2")
            await pilot.pause()
            assert app.is_running

        run_app(make_app([path], tmp_path / "cache"), scenario)


def test_a_parquet_file_cut_after_loading_makes_a_query_panic_into_a_notification(tmp_path):
    """Loaded, then cut: the packets screen reads the file itself (its day states pruned) and polars panics.
    Before: the panic (a BaseException) went past the worker's ``except Exception``: no notification, the
    screen said nothing. Now: a notification naming the file, and the app stays up."""
    import shutil

    day = tmp_path / "day.parquet"
    tiny_frame().write_parquet(day, row_group_size=64)
    cache = tmp_path / "cache"

    async def scenario(app, pilot):
        from tuihelp import settle

        app.state.workspace.packets().collect_schema()  # the file's table, validated while it was whole
        for state in (cache / "days" / "state").iterdir():
            shutil.rmtree(state)
        size = day.stat().st_size
        os.truncate(day, size // 10)  # the rows of every day past the cut
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any(m.startswith(f"{day}: the file changed while it was read ({size:,} bytes when opened")
                   for m in errors), errors
        assert app.is_running and not any(not w.is_finished for w in app.workers)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running

    run_app(make_app([day], cache), scenario)
