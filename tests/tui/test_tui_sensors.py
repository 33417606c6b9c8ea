"""Sensors compared in the TUI (issue 15 part 4) on the two-sensor sample: the overview's per-sensor rows, ``s`` opening
the comparison (a/b/x choose the sensors, rows open the detail screens), the candidates list's "found on" column
(sortable, exported by ctrl+s), a hostile sensor name shown as data, and nothing new for data with one sensor (tiny
data)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from test_tui_table_actions import export_to
from tuihelp import make_app, run_app, screen_text, settle
from scantui.analysis.collab_types import dotted
from scantui.tui.screens.detail import CandidateDetailScreen, ScannerDetailScreen
from scantui.tui.screens.help import key_rows
from scantui.tui.screens.overview import OverviewScreen
from scantui.tui.screens.sensors import SensorsScreen

SENSORS_DIR = Path(__file__).resolve().parents[2] / "sample_data" / "sensors"
DATA = SENSORS_DIR / "sensors.parquet"
TRUTH = json.loads((SENSORS_DIR / "truth.json").read_text())
HOSTILE = "[bold red]hp\x1b[31m\x07b"


def _scan(sid):
    return next(s for s in TRUTH["scans"] if s["id"] == sid)


def test_overview_rows_and_the_comparison(tui_cache, tmp_path):
    async def scenario(app, pilot):
        text = screen_text(app)
        assert "sensors (s compares two)" in text
        rows = {line.split()[1]: line.split()[2:7] for line in text.splitlines() if line.split()[1:2] in (["tel-a"], ["hp-b"])}
        assert rows["tel-a"] == ["13,023", "13,023", "125", "1,024", "4"] and rows["hp-b"][3] == "256"
        assert "sensors: compare" in [name for name, _help, _cb in app.palette_commands(app.screen)]
        assert ("this screen", "s", "Sensors compared") in key_rows(app.screen)  # listed by ?
        await pilot.press("s")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SensorsScreen) and (screen.a, screen.b) == ("hp-b", "tel-a")
        assert {dotted(s) for s in screen.sources["src"]} == set(TRUTH["sources"]["only"]["hp-b"])
        assert [list(c.source_ips) for c in screen.scans] == [_scan("SB")["sources"]]
        await pilot.press("x")  # A and B swapped
        await settle(app, pilot)
        assert (screen.a, screen.b) == ("tel-a", "hp-b")
        assert {dotted(s) for s in screen.sources["src"]} == set(TRUTH["sources"]["only"]["tel-a"])
        assert [list(c.source_ips) for c in screen.scans] == [_scan("SA")["sources"]]
        text = screen_text(app)
        assert "sources seen by tel-a, not by hp-b" in text and "scans covering tel-a's space, not hp-b's" in text
        assert " sources and 1 scan A saw and B did not" in text  # not "1 scans"
        await pilot.press("b")  # B steps past A: with two sensors it stays
        await settle(app, pilot)
        assert (screen.a, screen.b) == ("tel-a", "hp-b")
        await pilot.press("enter")  # the busiest source first: a member of SA
        await settle(app, pilot)
        assert isinstance(app.screen, ScannerDetailScreen) and dotted(app.screen.row.src) in _scan("SA")["sources"]
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CandidateDetailScreen)
        assert list(app.screen.record.source_ips) == _scan("SA")["sources"]
        assert "found on tel-a · reached tel-a 100%" in screen_text(app)

        # the candidates list names where each scan was found: sortable, exported as shown
        await pilot.press("escape", "3")
        await settle(app, pilot)
        table = app.screen.candidates_table
        keys = [c.key for c in table.columns]
        assert keys[keys.index("key") + 1] == "sensor" and "found on" in screen_text(app)
        table.focus()
        table.sort_by("sensor", descending=False)
        await settle(app, pilot)
        found = table.frame["sensor"].to_list()
        assert found == sorted(found) and {"tel-a", "hp-b"} <= set(found)
        assert await export_to(app, pilot, tmp_path / "scans.csv") == f"wrote {len(found)} rows to {tmp_path / 'scans.csv'}"
        assert pl.read_csv(tmp_path / "scans.csv")["sensor"].to_list() == found

    run_app(make_app([DATA], tui_cache, window="burst"), scenario, size=(120, 40))


def _bar_rows(lines: list[str]) -> int:
    """How many of the packets-per-day chart's rows hold bars."""
    top = next(i for i, line in enumerate(lines) if "packets per day" in line)
    return sum("█" in line for line in lines[top + 1:])


def test_the_chart_keeps_its_bars_beside_the_sensors(tui_cache):
    """At 80x24 the sensors' table left the packets-per-day chart its axis and dates only: there, one line of
    sensors and at least 3 rows of bars; at 160x48 the table and the bars."""
    async def scenario(app, pilot):
        lines = screen_text(app).splitlines()
        assert app.screen.max_scroll_y == 0
        assert any(line.startswith(" sensors (s compares two) hp-b 3,287 packets · tel-a 13,023") for line in lines)
        assert not any("from..to" in line for line in lines)  # the table's header: not at 80x24
        assert _bar_rows(lines) >= 3
        await pilot.resize_terminal(160, 48)
        await settle(app, pilot)
        lines = screen_text(app).splitlines()
        assert any("from..to" in line for line in lines) and any(line.split()[1:3] == ["tel-a", "13,023"] for line in lines)
        assert not any("sensors (s compares two) hp-b" in line for line in lines)
        assert _bar_rows(lines) >= 20 and app.screen.max_scroll_y == 0

    run_app(make_app([DATA], tui_cache), scenario, size=(80, 24))


def test_hostile_sensor_name_is_data_in_the_overview(tui_cache, tmp_path):
    path = tmp_path / "hostile.parquet"
    pl.read_parquet(DATA).with_columns(pl.col("sensor").replace("hp-b", HOSTILE)).write_parquet(path)

    async def scenario(app, pilot):
        text = screen_text(app)
        assert "[bold red]hp\\x1b[31m\\x07b" in text  # literal, escaped: no markup applied, no escape sent
        assert "\x1b" not in text and "\x07" not in text
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, SensorsScreen)
        assert "[bold red]hp\\x1b[31m\\x07b" in screen_text(app)

    run_app(make_app([path], tui_cache), scenario, size=(120, 40))


def test_one_sensor_changes_nothing(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        assert isinstance(app.screen, OverviewScreen)
        assert not app.screen.query_one("#sensors-panel").display
        assert not any(what == "Sensors compared" for _group, _keys, what in key_rows(app.screen))  # ? leaves it out
        await pilot.press("s")  # still says why nothing opens
        await settle(app, pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert any("fewer than two sensors" in str(n.message) for n in app._notifications)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_a_long_sensor_name_and_many_sensors_keep_the_figures_on_the_panel(tui_cache, tmp_path):
    path = tmp_path / "many.parquet"
    long_name = "a" * 200 + "-hp"
    pl.read_parquet(DATA).with_columns(
        pl.when(pl.col("sensor") == "hp-b").then(pl.lit(long_name))
        .otherwise(pl.format("tel-{}", pl.col("src") % 7)).alias("sensor")
    ).write_parquet(path)

    async def scenario(app, pilot):
        lines = screen_text(app).splitlines()
        row = next(line for line in lines if "aaaa" in line and "3,287" in line)
        assert "a" * 30 not in row and "…" in row  # the name ends in "…"
        assert row.split()[2:4] == ["3,287", "3,287"]  # its packets and probes stay on the panel
        assert sum("tel-" in line for line in lines if "2024-03-04.." in line) == 3  # 8 sensors: 4 rows, then a count
        assert any("… and 4 more" in line for line in lines)
        assert any("││ sensors " in line for line in lines)  # the inputs panel's labels are not cut ("se…")
        assert app.screen.max_scroll_y == 0

        await pilot.resize_terminal(80, 24)  # the screen does not scroll: the sensors in one line, the chart's bars
        await settle(app, pilot)
        lines = screen_text(app).splitlines()
        assert app.screen.max_scroll_y == 0 and not any("more" in line for line in lines)
        line = next(line for line in lines if "sensors (s compares two)" in line)
        assert "a" * 23 + "…" in line and "a" * 24 not in line and line.rstrip().endswith("…")
        assert _bar_rows(lines) >= 3
        assert any("╮" in line for line in lines[1:3])  # the top row's last panel is whole

        await pilot.press("s")  # A is the long name: the summary names it in 40 characters, on 2 lines at most
        await settle(app, pilot)
        assert isinstance(app.screen, SensorsScreen) and app.screen.a == long_name
        assert app.screen.query_one("#sensors-summary").outer_size.height <= 4
        assert "a" * 40 not in screen_text(app) and "a" * 39 + "…" in screen_text(app)

    run_app(make_app([path], tui_cache), scenario, size=(160, 48))
