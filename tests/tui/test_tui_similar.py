"""The "similar sources" action: from a scanner's detail (``m``) a ranked table; enter opens a source;
a seed without probes is a notification and the app keeps running (tiny data)."""

from __future__ import annotations

from tuihelp import make_app, run_app, screen_text, settle
from scantui.tui.screens.detail import ScannerDetailScreen
from scantui.tui.screens.similar import SimilarScreen


def _ip(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def test_similar_from_the_scanner_detail(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        app.open_scanner(app.state.scanners.row(_ip("192.0.2.10")))
        await settle(app, pilot)
        detail = app.screen
        assert isinstance(detail, ScannerDetailScreen)
        assert "detail: similar sources" in [name for name, _help, _cb in app.palette_commands(detail)]
        await pilot.press("m")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SimilarScreen) and screen.result is not None
        first = screen.result.sources[0]
        # the other ZMap scanner of the same AS on port 443 is the most alike
        assert first.ip == "192.0.2.11" and first.like == _ip("192.0.2.10") and "same tool" in first.why
        assert _ip("192.0.2.10") not in {s.src for s in screen.result.sources}
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ScannerDetailScreen) and app.screen.row.src == _ip("192.0.2.11")
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(160, 40))


def test_a_seed_without_probes_is_a_notification(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        app.push_screen(SimilarScreen(["192.0.2.99"], "scanner 192.0.2.99"))  # only UDP: no probes
        await settle(app, pilot)
        assert isinstance(app.screen, SimilarScreen) and app.screen.result is None
        assert any("none of the seed sources" in str(n.message) for n in app._notifications)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_similar_from_a_labelled_group(tiny_parquet, tui_cache, tmp_path):
    from scantui.tui.screens.track import TrackScreen

    labels = tmp_path / "labels.yaml"
    labels.write_text("scantui_labels: 1\ngroups:\n  - id: '[b]G1'\n    verdict: unsure\n    members: [192.0.2.10]\n")

    async def scenario(app, pilot):
        app.open_track("[b]G1")
        await settle(app, pilot)
        assert isinstance(app.screen, TrackScreen)
        await pilot.press("m")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SimilarScreen) and screen.result is not None
        assert screen.result.sources[0].ip == "192.0.2.11"
        assert "similar to group [b]G1" in screen_text(app)  # the id is data: shown as typed, not as markup

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)
