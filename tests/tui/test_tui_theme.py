"""The theme chosen in the palette ("Change theme") is kept in the config file (``tui.theme``) and applied at
the next start; an unknown saved theme is a notification and the default theme stays."""

from __future__ import annotations

from scantui.config import load_config
from tuihelp import make_app, run_app, settle


def test_a_theme_chosen_in_the_palette_is_there_after_a_restart(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("# my settings\nlabels:\n  author: alice\ntui:\n  keymap:\n    app.quit: \"q\"\n")
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))
    default = {}

    async def choose(app, pilot):
        default["theme"] = app.theme
        assert app.theme != "nord"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"theme")
        await pilot.pause(0.3)
        await pilot.press("enter")  # the first hit: the system command "Theme" (Change the current theme)
        await pilot.pause(0.3)
        await pilot.press(*"nord")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.theme == "nord"

    run_app(make_app([tiny_parquet], tui_cache), choose)
    text = config.read_text()
    assert text.startswith("# my settings")  # comments and the other keys kept
    assert load_config(config) == {"labels": {"author": "alice"}, "tui": {"keymap": {"app.quit": "q"}, "theme": "nord"}}

    async def restarted(app, pilot):
        assert app.theme == "nord"
        assert not [n for n in app._notifications if n.severity != "information"]

    run_app(make_app([tiny_parquet], tui_cache), restarted)
    assert config.read_text() == text  # applying the saved theme writes nothing


def test_an_unknown_saved_theme_is_a_notification_and_the_default_stays(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text('tui:\n  theme: "no-such-theme\\e[31m"\n')
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        assert app.theme == "textual-dark"
        # the name escaped once (was a repr of the escaped text: 'no-such-theme\\\\x1b[31m')
        assert any("theme 'no-such-theme\\x1b[31m' in" in n.message and "tui.theme" in n.message for n in app._notifications)
        await pilot.press("2")
        await settle(app, pilot)
        assert app.current_mode == "scanners" and app.is_running

    run_app(make_app([tiny_parquet], tui_cache), scenario)
    assert config.read_text() == 'tui:\n  theme: "no-such-theme\\e[31m"\n'  # left as the user wrote it


def test_a_malformed_saved_theme_is_a_notification(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("tui:\n  theme: [nord]\n")
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        assert app.theme == "textual-dark"
        assert any("tui.theme" in n.message for n in app._notifications)

    run_app(make_app([tiny_parquet], tui_cache), scenario)
