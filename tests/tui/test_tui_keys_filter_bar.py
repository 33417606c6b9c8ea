"""The candidates' query bar says ``Clear`` for escape through its own class's ``BINDINGS``
(:class:`~scantui.tui.widgets.filter_input.ClearingFilterInput`), not by writing Textual's private
``_bindings`` of one ``FilterInput``; one ``filter.leave`` in the keymap moves every bar's escape, the
candidates' ``Clear`` too. Before: ``FilterInput(escape="Clear")`` patched the instance's bindings."""

from __future__ import annotations

from textual.widgets import Input

from scantui.tui.widgets.filter_input import ClearingFilterInput, FilterInput
from scantui.tui.widgets.footer import KeysFooter
from tuihelp import SAMPLE, make_app, run_app, settle


def _footer_keys(app) -> list[str]:
    from textual.widgets._footer import FooterKey

    return [f"{k.key_display} {k.description}".strip() for k in app.screen.query_one(KeysFooter).query(FooterKey)]


def test_the_bars_escape_is_their_classes_binding_and_the_keymap_moves_it(tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text('tui:\n  keymap:\n    filter.leave: "ctrl+g"\n')
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))
    (clear,) = ClearingFilterInput.BINDINGS
    assert (clear.key, clear.description, clear.id) == ("escape", "Clear", "filter.leave")

    async def in_bar(app, pilot, area: str, query: str) -> Input:
        await pilot.press(area, "slash", *query)
        await settle(app, pilot)
        bar = app.focused
        assert isinstance(bar, FilterInput) and bar.value == query
        return bar

    async def scenario(app, pilot):
        bar = await in_bar(app, pilot, "3", "port:22")
        assert type(bar) is ClearingFilterInput
        assert "^g Clear" in _footer_keys(app)
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        assert bar.value == "" and app.focused is not bar  # cleared, back to the list
        bar = await in_bar(app, pilot, "2", "port:22")
        assert type(bar) is FilterInput and "^g Back to table" in _footer_keys(app)
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        assert bar.value == "port:22" and app.focused is not bar  # the scanners' escape keeps the filter

    run_app(make_app([SAMPLE], tui_cache), scenario)
