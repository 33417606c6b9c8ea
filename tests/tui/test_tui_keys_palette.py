"""The command palette's bottom row says its own keys, never those of the screen beneath; it is still Textual's
``CommandPalette`` (the footer is mounted in it), opened over a list or a pop-up and closed back to it.
Before: the row under the palette was the screen beneath's (``q Quit``... where ``q`` types a ``q``)."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets._footer import FooterKey

from tuihelp import SAMPLE, make_app, run_app, screen_text, settle

PALETTE_ROW = ["↑ Previous", "↓ Next", "⏎ Run", "esc Close"]


def _row(app) -> tuple[str, list[str]]:
    """The bottom row as drawn, and the keys the palette's own footer composed."""
    keys = [f"{k.key_display} {k.description}".strip() for k in app.screen.query(FooterKey)]
    return screen_text(app).splitlines()[-1].rstrip(), keys


async def _press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


def test_the_palettes_bottom_row_is_its_own_keys(tui_cache):
    async def scenario(app, pilot):
        await _press(app, pilot, "2")
        beneath = _row(app)[0]
        assert "q Quit" in beneath and "p Packets" in beneath
        for size in ((80, 24), (160, 48)):
            await pilot.resize_terminal(*size)
            await _press(app, pilot, "ctrl+p")
            assert type(app.screen) is CommandPalette
            row, keys = _row(app)
            assert keys == PALETTE_ROW and row == " ".join(PALETTE_ROW)
            await _press(app, pilot, "escape")
            assert type(app.screen).__name__ == "ScannersScreen" and _row(app)[0] == beneath
        await _press(app, pilot, "ctrl+p", *"reverse sort", "enter")  # the keys it says: typing, then run
        assert type(app.screen).__name__ == "ScannersScreen" and not app.screen.table.descending  # it ran
        await _press(app, pilot, "l", "ctrl+p")  # over a pop-up (the label dialog)
        assert type(app.screen) is CommandPalette and _row(app)[1] == PALETTE_ROW
        await _press(app, pilot, "escape")
        assert type(app.screen).__name__ == "LabelAsScreen" and "esc Cancel" in _row(app)[0]

    run_app(make_app([SAMPLE], tui_cache), scenario)
