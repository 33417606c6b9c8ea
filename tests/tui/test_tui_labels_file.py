"""The TUI given a labels file that must not be read (a FIFO, an alias bomb): one error notification, the app keeps running."""

from __future__ import annotations

import os

from tuihelp import make_app, run_app, settle
from yaml_watch import watch_yaml

BOMB = "scantui_labels: 1\ngroups: []\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{k}: &{k} [{', '.join(['*' + p] * 9)}]\n" for p, k in zip("abcdefgh", "bcdefghi"))


def _errors(app) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


def test_a_fifo_as_labels_file_is_refused_and_the_app_keeps_running(tiny_parquet, tui_cache, tmp_path):
    fifo = tmp_path / "labels.yaml"
    os.mkfifo(fifo)  # no writer: opening it for reading would block the loader forever

    async def scenario(app, pilot):
        assert any("labels.yaml: is a FIFO (named pipe), not a labels file" in m for m in _errors(app))
        await pilot.press("2")
        await settle(app, pilot)
        assert app.current_mode == "scanners" and app.is_running

    run_app(make_app([tiny_parquet], tui_cache, labels_path=fifo), scenario)


def test_an_alias_bomb_as_labels_file_is_refused_fast(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    bomb = tmp_path / "labels.yaml"
    bomb.write_text(BOMB)
    composed, constructed = watch_yaml(monkeypatch)

    async def scenario(app, pilot):
        assert any("anchors and aliases" in m for m in _errors(app))
        assert app.is_running and bomb.read_text() == BOMB

    run_app(make_app([tiny_parquet], tui_cache, labels_path=bomb), scenario)
    # refused while composing, at its first anchor (line 3): nothing after it composed, nothing built
    assert composed and max(line for line, _ in composed) == 3 and constructed == []
