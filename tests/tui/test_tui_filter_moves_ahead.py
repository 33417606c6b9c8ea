"""Cursor moves typed ahead of a filter's result are made again on the filtered rows
(:mod:`scantui.tui.widgets.moves_ahead`).

The filters run in thread workers; here each one waits at a gate until the keys typed after it have moved the
cursor over the old rows, as a big list's filter lands after a fast ``/port:443⏎jj``. Before: the result put
the cursor back on the row it had been on before the filter (else the top), so ``jj`` was lost.
"""

from __future__ import annotations

import threading

import pytest

from test_tui_type_ahead import burst
from tuihelp import SAMPLE, make_app, run_app, settle


def _gated(monkeypatch, module, name: str) -> threading.Event:
    """*module.name* waits for the returned event before it computes (at most 20 s)."""
    gate = threading.Event()
    real = getattr(module, name)

    def waiting(*args, **kwargs):
        gate.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, waiting)
    return gate


def _labels_file(tmp_path):
    labels = tmp_path / "labels.yaml"
    groups = "".join(f"  - id: G{n}\n    verdict: unsure\n    title: {'alpha' if n % 2 else 'beta'} {n}\n"
                     f"    members: [192.0.2.{n}]\n" for n in range(1, 10))  # alpha: every other group
    labels.write_text("scantui_labels: 1\ngroups:\n" + groups)
    return labels


def _gate_of(area: str, monkeypatch) -> threading.Event:
    if area == "2":
        import scantui.analysis.query as module

        return _gated(monkeypatch, module, "filter_scanners")
    if area == "3":
        import scantui.tui.screens.candidates_filter as module

        return _gated(monkeypatch, module, "shown_frames")
    import scantui.tui.screens.labels as module

    return _gated(monkeypatch, module, "filtered_frame")


@pytest.mark.parametrize(("area", "query"), [("2", "port:443"), ("3", "scans>2"), ("4", "alpha")])
@pytest.mark.parametrize(("moves", "row_of"), [("jjj", lambda rows: 3), ("Gk", lambda rows: rows - 2)])
def test_moves_typed_before_the_filter_lands_are_made_on_its_rows(tui_cache, tmp_path, monkeypatch, area, query,
                                                                   moves, row_of):
    async def scenario(app, pilot):
        await pilot.press(area)
        await settle(app, pilot)
        table = app.focused
        before = table.row_count
        gate = _gate_of(area, monkeypatch)
        burst(app, "/" + query, "<enter>", moves, then=None)
        for _ in range(200):  # the keys handed out, the filter still at its gate (every move made: a loaded
            await pilot.pause()  # machine may hand them out over several pauses)
            if app.focused is table and table.cursor_row == row_of(before) and not app._held:
                break
        assert table.cursor_row == row_of(before), "the moves were made on the old rows first"
        gate.set()
        await settle(app, pilot)
        rows = table.row_count
        assert 4 <= rows < before  # the filtered list
        assert table.cursor_row == row_of(rows)
        assert table.selected_row == table.frame.row(row_of(rows), named=True)

    labels = _labels_file(tmp_path) if area == "4" else None
    run_app(make_app([SAMPLE], tui_cache, **({"labels_path": labels} if labels else {})), scenario)


@pytest.mark.parametrize(("area", "query", "keys", "slow"), [("2", "port:443", "jj<enter>", False),
                                                           ("4", "alpha", "jj<space>", False),
                                                           ("2", "port:443", "jj<enter>", True)])
def test_a_key_acting_on_a_row_waits_for_the_filters_rows(tui_cache, tmp_path, monkeypatch, area, query, keys, slow):
    """``/port:443⏎jj⏎``: the detail of the filtered list's third row (before: of the old list's third row,
    opened before the filter landed); ``space`` marks the filtered list's third row. *slow*: the filter lands
    after the screen-change net (``HOLD_AT_MOST``, 2 s), as a year's list may: the key still waits for it."""
    async def scenario(app, pilot):
        await pilot.press(area)
        await settle(app, pilot)
        table = app.focused
        gate = _gate_of(area, monkeypatch)
        moves, key = keys.split("<")
        burst(app, "/" + query, "<enter>", moves, "<" + key, then=None)
        for _ in range(200):
            await pilot.pause()
            if table.cursor_row == 2:
                break
        old_third = table.selected_row
        if slow:
            import asyncio

            from scantui.tui.focus import HOLD_AT_MOST

            from scantui.tui.screens.detail import ScannerDetailScreen

            await asyncio.sleep(HOLD_AT_MOST + 0.5)
            assert not isinstance(app.screen, ScannerDetailScreen)  # enter still waits for the filtered rows
        gate.set()
        await settle(app, pilot)
        third = table.frame.row(2, named=True)
        assert third != old_third
        if area == "2":
            from scantui.tui.screens.detail import ScannerDetailScreen

            assert isinstance(app.screen, ScannerDetailScreen) and app.screen.row.src == third["src"]
        else:
            assert table.marks == {third["id"]} and table.cursor_row == 3

    labels = _labels_file(tmp_path) if area == "4" else None
    run_app(make_app([SAMPLE], tui_cache, **({"labels_path": labels} if labels else {})), scenario)
