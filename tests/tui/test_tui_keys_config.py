"""A ``tui.keymap`` id that no key has (a typo in the config file) is a notification naming it and the file,
the id shown as data; the ids that exist still remap their keys. Before: Textual's ``set_keymap`` skipped
it without a word."""

from __future__ import annotations

from tuihelp import make_app, run_app, settle


def test_an_unknown_keymap_id_is_a_notification_naming_it_and_the_file(tiny_parquet, tui_cache, tmp_path,
                                                                        monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text('tui:\n  keymap:\n    app.qiut: "x"\n    app.scanners: "9"\n    "[b]evil\\e[31m": "y"\n')
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        await settle(app, pilot)
        (note,) = [n for n in app._notifications if n.title == "keymap"]
        assert str(config) in note.message
        assert "'app.qiut' (did you mean 'app.quit'?)" in note.message
        assert "'[b]evil\\x1b[31m'" in note.message  # as data: quoted, the escape written out
        assert "app.scanners" not in note.message and note.message.isprintable()
        assert not note.markup  # the brackets shown as they are, not read as markup
        await pilot.press("9")
        await settle(app, pilot)
        assert app.current_mode == "scanners"  # the known id still remapped

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(160, 48))


def test_a_keymap_of_known_ids_says_nothing(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text('tui:\n  keymap:\n    app.quit: "q,ctrl+q"\n    filter.leave: "escape,ctrl+g"\n'
                      '    table.down: "down,j"\n    timing.up: "up,k"\n')
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        await settle(app, pilot)
        assert [n for n in app._notifications if n.title == "keymap"] == []

    run_app(make_app([tiny_parquet], tui_cache), scenario)
