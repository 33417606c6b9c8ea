"""Remapping keys from the config file (``tui.keymap``), a broken config file as a
notification, and another analyst's save to the labels file read again while the app runs."""

from __future__ import annotations

from tuihelp import make_app, run_app, settle


def test_keymap_from_the_config_file(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text('tui:\n  keymap:\n    app.scanners: "9"\n')
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        await pilot.press("9")
        await settle(app, pilot)
        assert app.current_mode == "scanners"
        await pilot.press("1", "2")
        await settle(app, pilot)
        assert app.current_mode == "overview"  # "2" no longer opens the scanners

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_broken_keymap_is_a_notification(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("tui:\n  keymap: [q]\n")
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def scenario(app, pilot):
        assert any("tui.keymap" in n.message for n in app._notifications)
        await pilot.press("2")
        await settle(app, pilot)
        assert app.current_mode == "scanners" and app.is_running

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_another_analysts_save_is_read_again(tiny_parquet, tui_cache, tmp_path):
    from scantui.labels import Group, LabelsStore

    labels = tmp_path / "labels.yaml"

    async def scenario(app, pilot):
        assert len(app.state.labels.store) == 0
        app.check_labels_file()  # nothing changed: nothing read
        await settle(app, pilot)
        version = app.labels_version
        other = LabelsStore.load(labels)
        other.add(Group("THEIRS", verdict="unsure", members=["192.0.2.10"]))
        other.save()
        app.check_labels_file()
        await settle(app, pilot)
        assert "THEIRS" in app.state.labels.store and app.labels_version == version + 1
        assert any("changed on disk" in n.message for n in app._notifications)
        # our next change keeps theirs
        app.change_labels(lambda s: s.create(["192.0.2.11"], group_id="OURS"))
        await settle(app, pilot)
        assert {g.id for g in LabelsStore.load(labels).groups} == {"THEIRS", "OURS"}

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)
