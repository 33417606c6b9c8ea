"""Remapping keys from the config file (``tui.keymap``: binding id -> keys), and a broken
config file as a notification while the app keeps running."""

from __future__ import annotations

from tuihelp import make_app, run_app, settle


def test_keymap_from_the_config_file(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text('tui:\n  keymap:\n    app.scanners: "9"\n')
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        await pilot.press("9")
        await settle(app, pilot)
        assert app.current_mode == "scanners"
        await pilot.press("1", "2")
        await settle(app, pilot)
        assert app.current_mode == "overview"  # "2" no longer opens the scanners

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_broken_keymap_is_a_notification(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("tui:\n  keymap: [q]\n")
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        assert any("tui.keymap" in n.message for n in app._notifications)
        await pilot.press("2")
        await settle(app, pilot)
        assert app.current_mode == "scanners" and app.is_running

    run_app(make_app([tiny_parquet], tui_cache), scenario)
