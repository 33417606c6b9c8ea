"""``U`` on the scanner list counts UDP probes too, as ``scantui scanners --include-udp`` does: the same rows as the
CLI, the query bar's ``port:`` and ``day:`` matching UDP, with the time range; ``U`` again is the TCP list (a real
App with Pilot on the tiny data: five TCP scanners and one source of 40 UDP packets to port 53 on 2024-03-02)."""

from __future__ import annotations

import dataclasses
import json

from clihelp import run as run_cli
from tuihelp import make_app, run_app, screen_text
from scantui.tui.screens.detail import ScannerDetailScreen
from scantui.tui.screens.scanners import ScannersScreen
from test_tui_time_range import press, shown_scanners

UDP_SOURCE = "192.0.2.99"


def cli_rows(capsys, *argv) -> dict[str, int]:
    code, out, err = run_cli(["scanners", *argv, "--json"], capsys)
    assert code == 0, err
    return {r["src"]: r["packets"] for r in json.loads(out)}


def test_U_counts_udp_probes_as_the_cli_include_udp(tiny_parquet, tui_cache, capsys, monkeypatch):
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tui_cache))  # the app's rollup of the tiny data, not a second one
    path = str(tiny_parquet)
    tcp = cli_rows(capsys, path)
    udp = cli_rows(capsys, path, "--include-udp")
    assert UDP_SOURCE not in tcp and udp[UDP_SOURCE] == 40 and set(udp) == {*tcp, UDP_SOURCE}
    on_53 = cli_rows(capsys, path, "--include-udp", "--query", "port:53")
    assert set(on_53) == {UDP_SOURCE}
    day = "2024-03-02"
    udp_day = cli_rows(capsys, path, "--include-udp", "--day", day)
    assert UDP_SOURCE in udp_day

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        screen = app.screen
        assert isinstance(screen, ScannersScreen) and shown_scanners(screen) == tcp
        await press(app, pilot, "U")
        assert shown_scanners(screen) == udp
        assert f"{len(udp)} of {len(udp)} sources" in screen_text(app) and "UDP probes counted" in screen_text(app)
        await press(app, pilot, "slash", *"port:53", "enter")  # the query bar's port: matches the UDP probes
        assert shown_scanners(screen) == on_53
        await press(app, pilot, "slash", "ctrl+u", *f"day:{day}", "enter")  # day: too
        assert shown_scanners(screen) == {s: n for s, n in udp.items() if s in udp_day}
        await press(app, pilot, "slash", "ctrl+u", "enter")
        await press(app, pilot, "t", "ctrl+u", *day, "enter")  # with the time range: --include-udp --day
        assert shown_scanners(screen) == udp_day
        await press(app, pilot, "T", "U")  # back to the TCP list
        assert shown_scanners(screen) == tcp and "UDP probes counted" not in screen_text(app)
        await press(app, pilot, "U", "slash", *f"src:{UDP_SOURCE}", "enter")
        assert shown_scanners(screen) == {UDP_SOURCE: 40}
        await press(app, pilot, "enter")  # the UDP scanner's detail: its ports, tools and timing plot count UDP too
        detail = app.screen
        assert isinstance(detail, ScannerDetailScreen) and detail.row.packets == 40 and detail.include_udp
        text = screen_text(app)
        assert UDP_SOURCE in text and "port 53" in text and "1970-01-01" not in text  # not an empty plot
        figures = detail.app.state.workspace.detail([detail.src], kinds=detail.kinds)
        assert figures.ports.rows() == [(53, 40, 1)] and sum(figures.tools.values()) == 40
        await press(app, pilot, "escape")
        assert app.screen is screen and screen.include_udp

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_a_saved_view_keeps_U_and_watch_counts_udp_as_the_app(tiny_parquet, tui_cache, tmp_path, capsys, monkeypatch):
    """``w`` on the list with UDP counted saves ``udp: true``; opening the view counts UDP again (U was off), and
    ``scantui watch``'s view matches the same sources as the app shows."""
    from scantui.config import saved_views
    from scantui.workspace import Workspace
    from scantui.workspace.watch import scanner_view_hits

    config = tmp_path / "config.yaml"
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tui_cache))
    shown = {}

    async def save(app, pilot):
        await press(app, pilot, "2", "U", "slash", *"port:53", "enter")
        shown.update(shown_scanners(app.screen))
        await press(app, pilot, "w", *"dns", "enter")

    run_app(make_app([tiny_parquet], tui_cache), save)
    assert set(shown) == {UDP_SOURCE} and "udp: true" in config.read_text()
    view = saved_views(path=config)[0]
    assert view.udp

    async def reopen(app, pilot):
        await press(app, pilot, "2")
        assert not app.screen.include_udp
        await press(app, pilot, "v", "enter")
        screen = app.screen
        assert isinstance(screen, ScannersScreen) and screen.include_udp and shown_scanners(screen) == shown
        assert "UDP probes counted" in screen_text(app)

    run_app(make_app([tiny_parquet], tui_cache), reopen)
    ws = Workspace.open([tiny_parquet], cache_dir=tui_cache)
    assert [h.key for h in scanner_view_hits(view, ws)] == [UDP_SOURCE]
    assert [h.key for h in scanner_view_hits(dataclasses.replace(view, udp=False), ws)] == []
