"""The rollup's ZMap walk matches in the TUI: the scanner table's tool column says ``zmap (walk)``,
``tool:zmap`` keeps those sources, and the scanner detail shows the rollup's walk line."""

from __future__ import annotations

import ipaddress

import polars as pl

import zmapbuild as zb
from tuihelp import make_app, run_app, screen_text, settle
from scantui.analysis.scanner_row import ScannerRow


def _ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def test_scanner_table_and_detail_show_the_walk(tmp_path, tui_cache):
    cap = zb.sharded_capture(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("2")  # the scanner list
        await settle(app, pilot)
        text = screen_text(app)
        assert text.count("zmap (walk)") == 2  # the two shards; the random-order source stays "other"
        frame = app.state.scanners.frame
        assert frame.filter(pl.col("variant") == "walk")["src"].sort().to_list() == sorted(_ip(s) for s in zb.SHARDS)
        app.open_scanner(ScannerRow.from_row(frame.filter(pl.col("src") == _ip(zb.SHARDS[0])).row(0, named=True)))
        await settle(app, pilot)
        text = screen_text(app)
        assert f"zmap (walk) g={cap['generator']}" in text and f"port {zb.PORT}" in text
        assert "other 100% · zmap (walk)" in text

    run_app(make_app([cap["pcap"]], tui_cache), scenario, size=(160, 48))
