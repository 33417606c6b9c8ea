"""One time range for every area, the overview's brush, the same rows as the CLI's ``--query``, and saved views
(issue 14 parts 3, 4, 6): real Apps with Pilot on the tiny data (the sample where candidates are needed)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import threading

import polars as pl

from clihelp import run as run_cli
from tuihelp import SAMPLE, make_app, run_app, screen_text, settle, tiny_frame, until_said
from scantui.errors import InputError
from scantui.tui.messages import TimeRangeChanged
from scantui.tui.screens.candidates import CandidatesScreen
from scantui.tui.screens.overview import OverviewScreen
from scantui.tui.screens.scanners import ScannersScreen

D = dt.date


async def press(app, pilot, *keys: str) -> None:
    await pilot.press(*[{" ": "space", ".": "full_stop", ">": "greater_than_sign"}.get(k, k) if len(k) == 1 else k for k in keys])
    await settle(app, pilot)


def probes_per_source(first: dt.date, last: dt.date) -> dict[str, int]:
    """The tiny data's TCP probes (SYN) per source on the days first..last, counted by polars itself."""
    frame = tiny_frame().filter((pl.col("proto") == 6) & (pl.col("tcp_flags") == 2)
                                & pl.col("ts").dt.date().is_between(first, last))
    counts = frame.group_by("src").len()
    return {str(ipaddress.IPv4Address(s)): n for s, n in zip(counts["src"].to_list(), counts["len"].to_list())}


def shown_scanners(screen) -> dict[str, int]:
    frame = screen.table.frame
    return {str(ipaddress.IPv4Address(s)) if isinstance(s, int) else s: p
            for s, p in zip(frame["src"].to_list(), frame["packets"].to_list())}


def test_t_sets_the_range_scanners_recount_and_T_clears(tiny_parquet, tui_cache, monkeypatch):
    seen: list = []
    # a screen hears the message (as the packets view will)
    monkeypatch.setattr(ScannersScreen, "on_time_range_changed", lambda self, message: seen.append(message.time_range),
                        raising=False)

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        screen = app.screen
        assert isinstance(screen, ScannersScreen) and screen.table.row_count == 5
        await press(app, pilot, "t", "ctrl+u", *"2024-03-02..2024-03-03", "enter")
        assert app.time_range == (D(2024, 3, 2), D(2024, 3, 3))
        assert seen == [(D(2024, 3, 2), D(2024, 3, 3))]
        wanted = probes_per_source(D(2024, 3, 2), D(2024, 3, 3))
        assert shown_scanners(screen) == wanted and len(wanted) == 4  # 203.0.113.5 probed on 03-04 only
        text = screen_text(app)
        assert "scantui · 2024-03-02..2024-03-03" in text  # the header
        assert "4 of 4 sources" in text and "days 2024-03-02..2024-03-03" in text
        await press(app, pilot, "slash", *"port:443", "enter")  # the query bar filters the recounted list
        assert set(shown_scanners(screen)) == {"192.0.2.10", "192.0.2.11"}
        await press(app, pilot, "t", "ctrl+u", *"..2024-03-01", "enter")  # an open end: the data's first day
        assert app.time_range == (D(2024, 3, 1), D(2024, 3, 1))
        assert shown_scanners(screen) == {k: v for k, v in probes_per_source(D(2024, 3, 1), D(2024, 3, 1)).items()
                                          if k in ("192.0.2.10", "192.0.2.11")}
        await press(app, pilot, "t", "ctrl+u", *"2024-03-09..2024-03-01", "enter")  # a bad range: said in the prompt
        assert "the span ends before it starts" in screen_text(app) and app.time_range == (D(2024, 3, 1), D(2024, 3, 1))
        assert "ValueError" not in screen_text(app)  # the check's words, not its exception's class
        await press(app, pilot, "escape")
        # the calendar's ends (Python's date arithmetic overflowed past them: the App stopped)
        await press(app, pilot, "t", "ctrl+u", *">9999-12-31", "enter")
        assert "there is no day after 9999-12-31" in screen_text(app) and app.time_range == (D(2024, 3, 1), D(2024, 3, 1))
        await press(app, pilot, "ctrl+u", *"0001-01-01..9999-12-31", "enter")
        assert app.time_range == (D.min, D.max)
        assert shown_scanners(screen) == {k: v for k, v in probes_per_source(D.min, D.max).items()
                                          if k in ("192.0.2.10", "192.0.2.11")}
        await press(app, pilot, "T")
        assert app.time_range is None and seen[-1] is None
        assert set(shown_scanners(screen)) == {"192.0.2.10", "192.0.2.11"}
        await press(app, pilot, "ctrl+u")
        assert screen.table.row_count == 5 and "scantui ·" not in screen_text(app)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_the_overview_brush_sets_the_same_range(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        plot = screen.day_plot
        await press(app, pilot, "right")  # the cursor appears on the first day
        assert plot.brush_span() == (D(2024, 3, 1), D(2024, 3, 1))
        await press(app, pilot, "right", "shift+right", "shift+right", "shift+left")
        assert plot.brush_span() == (D(2024, 3, 2), D(2024, 3, 3))
        assert "2024-03-02..2024-03-03 · enter: time range" in screen_text(app)
        await press(app, pilot, "right_square_bracket", "right_square_bracket")  # [ ] stretch too; the edge holds
        assert plot.brush_span() == (D(2024, 3, 2), D(2024, 3, 4))
        await press(app, pilot, "escape")  # drops the brush, stays here
        assert not plot.brushing and app.screen is screen and app.time_range is None
        await press(app, pilot, "left", "shift+left", "shift+left", "enter")  # from the last day
        assert app.time_range == (D(2024, 3, 2), D(2024, 3, 4)) and app.screen is screen and not plot.brushing
        assert "scantui · 2024-03-02..2024-03-04" in screen_text(app)
        await press(app, pilot, "2")
        assert shown_scanners(app.screen) == probes_per_source(D(2024, 3, 2), D(2024, 3, 4))
        await press(app, pilot, "1", "enter")  # no brush: enter opens the scanner list as before
        assert isinstance(app.screen, ScannersScreen)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_the_cli_query_lists_the_rows_of_the_tui_query_bar(tiny_parquet, tui_cache, capsys, monkeypatch):
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tui_cache))  # the app's rollup of the tiny data, not a second one
    text = "day:2024-03-02 -tool:zmap"
    code, out, err = run_cli(["scanners", str(tiny_parquet), "--json", "--query", text], capsys)
    assert code == 0, err
    cli = [r["src"] for r in json.loads(out)]

    async def scenario(app, pilot):
        await press(app, pilot, "slash", *text, "enter")
        assert list(shown_scanners(app.screen)) == cli and cli == ["198.51.100.7", "203.0.113.9"]

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def _cli(capsys, *argv) -> list[dict]:
    code, out, err = run_cli([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_range_and_query_on_candidates_and_groups_are_the_clis(tui_cache, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./scantui-labels.yaml for the CLI: every row is new, as in the app
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tui_cache))  # the app's rollup of the sample, not a second one
    span = ["--window", "day", "--day", "2024-02-05..2024-02-09"]
    cands = {(c["port"], c["day"], c["key"]) for c in _cli(capsys, "collab", str(SAMPLE), *span)}
    groups = [g["group"] for g in _cli(capsys, "groups", str(SAMPLE), *span)]
    query = ["--query", "port:3306,6379 -timing:sequential"]
    q_cands = {(c["port"], c["day"], c["key"]) for c in _cli(capsys, "collab", str(SAMPLE), *span, *query)}
    q_groups = [g["group"] for g in _cli(capsys, "groups", str(SAMPLE), *span, *query)]
    every = _cli(capsys, "collab", str(SAMPLE), "--window", "day")
    assert 0 < len(q_cands) < len(cands) < len(every)

    def rows(screen):
        scans = screen.candidates_table.frame
        shown = {(p, d.isoformat(), k) for p, d, k in zip(scans["port"], scans["day"], scans["key"])}
        return shown, sorted(screen.groups_table.frame["group"].to_list(), key=lambda g: int(g[1:]))

    async def scenario(app, pilot):
        await press(app, pilot, "3")
        screen = app.screen
        assert isinstance(screen, CandidatesScreen) and screen.candidates_table.row_count == len(every)
        await press(app, pilot, "t", "ctrl+u", *"2024-02-05..2024-02-09", "enter")
        assert rows(screen) == (cands, groups)
        assert f"candidate scans · {len(every)} · {len(every)} new · {len(cands)} in days 2024-02-05..2024-02-09" \
            in screen_text(app)
        screen.filter_input.value = query[1]
        await settle(app, pilot)
        assert rows(screen) == (q_cands, q_groups)
        await press(app, pilot, "T")
        assert screen.candidates_table.row_count > len(q_cands)
        await press(app, pilot, "escape")
        assert screen.candidates_table.row_count == len(every)

    run_app(make_app([SAMPLE], tui_cache), scenario)


def test_a_saved_view_comes_back_after_a_restart(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("# mine\nlabels:\n  author: alice  # me\n")
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def save(app, pilot):
        await press(app, pilot, "slash", *"tool:zmap", "enter")
        screen = app.screen
        screen.table.sort_by("ports", False)
        await press(app, pilot, "t", "ctrl+u", *"2024-03-01..2024-03-02", "enter")
        await press(app, pilot, "w", *"my triage", "enter")
        assert any(n.title == "view saved" for n in app._notifications)

    run_app(make_app([tiny_parquet], tui_cache), save)
    text = config.read_text()
    assert text.startswith("# mine\nlabels:\n  author: alice  # me\n")  # the user's keys and comments stay
    assert "name: my triage" in text and "query: tool:zmap" in text and "range: 2024-03-01..2024-03-02" in text

    async def reopen(app, pilot):
        assert isinstance(app.screen, OverviewScreen) and app.time_range is None
        names = [name for name, _help, _cb in app.palette_commands(app.screen)]
        assert "view: my triage" in names
        await press(app, pilot, "v", "enter")
        screen = app.screen
        assert isinstance(screen, ScannersScreen) and app.time_range == (D(2024, 3, 1), D(2024, 3, 2))
        assert screen.query_text == "tool:zmap" and screen.query_one("#filter").value == "tool:zmap"
        assert (screen.table.sort_key, screen.table.descending) == ("ports", False)
        assert set(shown_scanners(screen)) == {"192.0.2.10", "192.0.2.11"}

    run_app(make_app([tiny_parquet], tui_cache), reopen)


def test_a_malformed_saved_view_is_a_notification(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("views:\n  - {name: bad, area: nowhere}\n")
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        await press(app, pilot, "v")
        assert any("views[0]: area must be one of" in n.message for n in app._notifications)
        assert "no saved views yet" in screen_text(app)
        await press(app, pilot, "escape", "2")
        assert isinstance(app.screen, ScannersScreen) and app.screen.table.row_count == 5

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_a_saved_views_name_is_listed_as_text_not_markup(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    """A view named ``[red]x`` was listed by ``v`` as a red ``x``: the name is the user's text."""
    config = tmp_path / "config.yaml"
    config.write_text('views:\n  - {name: "[red]x[/red] \\e]0;t", area: scanners}\n')  # \e: ESC in YAML
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        await press(app, pilot, "v")
        text = screen_text(app)
        assert "[red]x[/red] \\x1b]0;t · scanners" in text and "\x1b" not in text, text

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_the_message_is_named_for_the_packets_view():
    assert TimeRangeChanged((D(2024, 3, 1), D(2024, 3, 2))).time_range == (D(2024, 3, 1), D(2024, 3, 2))
    assert TimeRangeChanged.bubble is False


def test_a_recount_says_so_until_its_rows_come(tiny_parquet, tui_cache, monkeypatch):
    """A recount for other days (minutes at a year) says what it counts and what the rows still shown are, until
    its rows come; one that fails stops saying so (the notification tells why)."""
    gate = threading.Event()

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        screen = app.screen
        state, real = app.state, app.state.scanners_in

        def held(days, *rest):
            assert gate.wait(20)
            return real(days, *rest)

        monkeypatch.setattr(state, "scanners_in", held)
        await pilot.press("t", "ctrl+u", *"2024-03-02..2024-03-03", "enter")
        text = await until_said(app, pilot, "counting the list")
        assert ("counting the list for days 2024-03-02..2024-03-03… shown: 5 of 5 sources of every day · sorted by "
                "packets ↓") in text
        assert screen.table.row_count == 5
        gate.set()
        await settle(app, pilot)
        text = screen_text(app)
        assert "counting" not in text and "4 of 4 sources · sorted by packets ↓ · days 2024-03-02..2024-03-03" in text
        gate.clear()
        await pilot.press("U")
        text = await until_said(app, pilot, "counting the list")
        assert ("counting the list for days 2024-03-02..2024-03-03 with UDP probes… shown: 4 of 4 sources of days "
                "2024-03-02..2024-03-03 · sorted") in text
        gate.set()
        await settle(app, pilot)
        text = screen_text(app)
        assert "counting" not in text and "days 2024-03-02..2024-03-03 · UDP probes counted" in text

        def failing(days, *rest):
            raise InputError("the rollup's day 2024-03-01 is unreadable")

        monkeypatch.setattr(state, "scanners_in", failing)
        await press(app, pilot, "T")
        text = screen_text(app)
        assert "counting the list" not in text and "days 2024-03-02..2024-03-03 · UDP probes counted" in text  # still
        assert any(n.severity == "error" and "unreadable" in n.message for n in app._notifications)
        monkeypatch.setattr(state, "scanners_in", real)

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(200, 30))
