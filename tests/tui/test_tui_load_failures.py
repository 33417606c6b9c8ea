"""A failed or empty load says what is wrong on every screen, the app stays usable (open other data from
the palette), and quitting after a failed load exits 2: Pilot on a missing path, a broken file and an
empty Parquet (tiny data); the exit status through ``run_tui`` and ``scantui PATH``."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tuihelp import make_app, run_app, screen_text, settle, tiny_frame
from scantui.tui.screens.prompt import PromptScreen


async def show(app, pilot, key: str) -> str:
    await pilot.press(key)
    await settle(app, pilot)
    return screen_text(app)


async def quit_app(app, pilot) -> None:
    await pilot.press("q")
    await pilot.pause()
    assert not app.is_running


@pytest.mark.parametrize("kind", ["missing", "broken"])
def test_a_failed_load_is_said_on_every_screen_and_quitting_exits_2(tmp_path, tui_cache, kind):
    path = tmp_path / ("nope.parquet" if kind == "missing" else "broken.parquet")
    if kind == "broken":
        path.write_bytes(b"PAR1 not really parquet")
    why = "no such file" if kind == "missing" else "without its Parquet footer"

    async def scenario(app, pilot):
        assert app.load_error is not None and why in app.load_error and not app.loading
        text = screen_text(app)
        assert "could not open the data" in text and path.name in text and "waiting for the data" not in text
        for panel in ("#tools", "#ports"):  # said as unavailable, not pending for ever
            assert str(app.screen.query_one(panel).render()).strip() == "—", panel
        text = await show(app, pilot, "2")
        assert "no scanners: could not open the data" in text and "(yet)" not in text and "loading" not in text
        text = await show(app, pilot, "3")
        assert "no candidates: could not open the data" in text and "waiting for the data" not in text
        await quit_app(app, pilot)

    app = make_app([path], tui_cache)
    run_app(app, scenario)
    assert app.return_code == 2


def test_open_data_from_the_palette_loads_another_path_and_quitting_then_exits_0(tmp_path, tui_cache, tiny_parquet):
    async def scenario(app, pilot):
        assert app.load_error is not None
        await show(app, pilot, "2")
        await pilot.press("ctrl+p", *"open data")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PromptScreen)
        field = app.screen.query_one("#prompt-path", Input)
        assert field.value.endswith("nope.parquet")  # the current path, to edit
        field.value = '"unclosed'
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PromptScreen) and "unreadable path" in screen_text(app)  # said, modal stays
        field.value = str(tiny_parquet)
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, PromptScreen)
        assert app.load_error is None and app.state.scanners is not None and app.state.request.paths == (str(tiny_parquet),)
        text = screen_text(app)
        assert "5 of 5 sources" in text and "could not open" not in text and "packets.parquet" in text
        await quit_app(app, pilot)

    app = make_app([tmp_path / "nope.parquet"], tui_cache)
    run_app(app, scenario)
    assert app.return_code == 0


def test_an_empty_input_says_no_packets_not_yet(tmp_path, tui_cache):
    path = tmp_path / "empty.parquet"
    tiny_frame().head(0).write_parquet(path)

    async def scenario(app, pilot):
        assert app.load_error is None and app.overview is not None and app.overview.packets == 0
        assert "no packets in empty.parquet" in screen_text(app)
        text = await show(app, pilot, "2")
        assert "no packets in empty.parquet" in text and "(yet)" not in text
        text = await show(app, pilot, "3")
        assert "no packets in empty.parquet" in text and not app.counting
        assert not [n for n in app._notifications if n.severity in ("error", "warning")]  # no "telescope size unknown"
        await quit_app(app, pilot)

    app = make_app([path], tui_cache)
    run_app(app, scenario)
    assert app.return_code == 0


def test_the_exit_status_reaches_run_tui_and_the_command_line(monkeypatch, capsys, tmp_path):
    from clihelp import run
    from scantui.tui.app import ScantuiApp
    from scantui.tui.launch import run_tui

    def failed_run(app):  # what quitting after a failed load leaves (see the Pilot tests above)
        app.failures.append(("inputs", "x.parquet: no such file or folder", None))
        app._return_code = 2

    monkeypatch.setattr(ScantuiApp, "run", failed_run)
    assert run_tui(["x.parquet"], labels_path=tmp_path / "l.yaml") == 2
    code, _out, err = run([str(tmp_path / "x.parquet"), "--labels", str(tmp_path / "l.yaml")], capsys)
    assert code == 2 and "scantui: inputs: x.parquet: no such file or folder" in err

    def hostile_run(app):  # a file name is data: it cannot colour the terminal or forge a second line
        app.failures.append(("inputs", "x\x1b]0;pwned\x07\nscantui: error: forged.parquet: no such file or folder", None))
        app._return_code = 2

    monkeypatch.setattr(ScantuiApp, "run", hostile_run)
    code, _out, err = run([str(tmp_path / "x.parquet"), "--labels", str(tmp_path / "l.yaml")], capsys)
    assert code == 2 and err.count("\n") == 1 and "\x1b" not in err and "x\\x1b]0;pwned\\x07\\x0ascantui" in err
    monkeypatch.setattr(ScantuiApp, "run", lambda app: None)
    code, _out, _err = run([str(tmp_path / "x.parquet"), "--labels", str(tmp_path / "l.yaml")], capsys)
    assert code == 0
