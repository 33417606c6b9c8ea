"""Under the App's time range every figure of a detail screen names the days it covers, and every title fits.

The per-day and per-port figures of a scanner and a group said ``packets per day`` whatever the range (only the
facts and the header named it), and a group's pool title under a range was cut at 80 columns (``… 2 /24s · 1 A…``).
Real Apps on the sample data at 80x24 and 160x48; the titles are read as drawn where the panel is on screen.
"""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from tuihelp import SAMPLE, make_app, run_app, screen_text, settle
from scantui.tui.screens.detail import GroupDetailScreen, ScannerDetailScreen

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
RANGE = "2024-02-04..2024-02-10"
MARGIN = 6  # a top border's cells that are not its title: the corners, a rule cell and a space each side


async def _press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


async def _set_range(app, pilot, text: str) -> None:
    await _press(app, pilot, "t", "ctrl+u", *text, "enter")


def _titles(app) -> dict[str, str]:
    """The panels' titles on the current screen, by id; each one fits its panel whole (never cut)."""
    out = {}
    for panel in app.screen.query("*"):
        if panel.border_title and panel.id and panel.size.width:
            title = str(panel.border_title)
            assert cell_len(title) <= panel.size.width - MARGIN, (panel.id, title, panel.size.width)
            out[panel.id] = title
    return out


def _drawn(app, panel_id: str) -> str:
    """The top border of the panel *panel_id* as drawn."""
    x, y, width, _height = app.screen.query_one(f"#{panel_id}").region
    return screen_text(app).splitlines()[y][x:x + width]


def test_fit_title_takes_the_fullest_form_that_fits():
    from scantui.tui.widgets.figures import TITLE_MARGIN, fit_title, without_years

    assert TITLE_MARGIN == MARGIN
    forms = ["packets per day · 2024-02-04..2024-02-10", "packets per day · 02-04..02-10"]
    assert fit_title(forms, 74) == forms[0] and fit_title(forms, 46) == forms[0]
    assert fit_title(forms, 45) == forms[1] and fit_title(forms, 38) == forms[1]  # 120 columns, three across
    assert fit_title(forms, 10) == forms[1]
    assert without_years("scans 2 of 3 in 2024-02-04..2024-02-10") == "scans 2 of 3 in 02-04..02-10"
    assert without_years("no scan in 2024-02-29: all 3 shown") == "no scan in 02-29: all 3 shown"


async def _a_scanners_figures_name_the_time_range(app, pilot, size) -> None:
    await _press(app, pilot, "2", "enter")
    assert isinstance(app.screen, ScannerDetailScreen)
    assert _titles(app)["detail-per-day"] == "packets per day" and _titles(app)["detail-ports"] == "scans per port"
    await _set_range(app, pilot, RANGE)  # while it is open
    titles = _titles(app)
    assert titles["detail-per-day"] == f"packets per day · {RANGE}"
    assert titles["detail-ports"] == f"scans per port · {RANGE}"
    assert titles["detail-timing"] == f"activity per port · days {RANGE}"
    if size[1] >= 48:  # the figures are on the first page
        assert f"packets per day · {RANGE}" in _drawn(app, "detail-per-day")
    await _press(app, pilot, "T")
    assert _titles(app)["detail-per-day"] == "packets per day" and _titles(app)["detail-ports"] == "scans per port"
    await _press(app, pilot, "escape")
    await _set_range(app, pilot, "2024-02-05")
    await _press(app, pilot, "enter")  # opened under a range
    assert _titles(app)["detail-per-day"] == "packets per day · 2024-02-05"


async def _a_groups_figures_and_pool_name_the_time_range_and_fit(app, pilot, size) -> None:
    """The pool group (240 sources; scans on 02-04, 02-07, 02-14)."""
    group = next(g for g in app.state.groups if g.n_members >= 200)
    await _set_range(app, pilot, RANGE)
    app.open_group(group)
    await settle(app, pilot)
    assert isinstance(app.screen, GroupDetailScreen)
    titles = _titles(app)
    assert titles["detail-per-day"] == f"members' packets per day · {RANGE}"
    assert titles["detail-ports"] == f"members' probes per port · {RANGE}"
    pool = ("pool · scans 2 of 3 in 02-04..02-10 · 232 sources · 2 /24s · 1 AS" if size[0] < 120 else
            f"pool · scans 2 of 3 in {RANGE} · 232 sources · 2 /24s · 1 AS")
    assert titles["detail-pool"] == pool and pool in _drawn(app, "detail-pool")
    await _set_range(app, pilot, "2024-02-01..2024-02-20")  # every scan in it: said too
    assert _titles(app)["detail-pool"].startswith("pool · scans 3 of 3 in ")
    await _set_range(app, pilot, "2024-02-29")  # none in it: all of them summed, said so
    assert _titles(app)["detail-pool"].startswith("pool · no scan in ")
    assert _titles(app)["detail-per-day"].endswith(" · 2024-02-29")  # the members' figures are of the range
    await _press(app, pilot, "T")
    titles = _titles(app)
    assert titles["detail-pool"] == "pool · 240 sources · 2 /24s · 1 AS"
    assert titles["detail-per-day"] == "members' packets per day"


@SIZES
def test_a_scanners_and_a_groups_figures_name_the_time_range_and_fit(tui_cache, size):
    """One App per size for both (an App's start on the sample is ~1 CPU s): the scanner's part, then, back on
    the scanners table with no range (escape, ``T``), the group's part, each as it ran in an App of its own."""
    async def scenario(app, pilot):
        await _a_scanners_figures_name_the_time_range(app, pilot, size)
        await _press(app, pilot, "escape", "T")
        assert app.time_range is None and not isinstance(app.screen, ScannerDetailScreen)
        await _a_groups_figures_and_pool_name_the_time_range_and_fit(app, pilot, size)

    run_app(make_app([SAMPLE], tui_cache), scenario, size=size)
