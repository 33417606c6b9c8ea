"""Remapping keys from the config file (``tui.keymap``), a broken config file as a
notification, another analyst's save to the labels file read again while the app runs, and two apps on one
labels file: undo only of your own work, new groups never fused, authors shown; a broken file opened once fixed."""

from __future__ import annotations

import dataclasses

from collabbuild import candidate
from tuihelp import make_app, run_app, screen_text, settle


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


# ---------------------------------------------------------------- two analysts, two apps, one labels file


def run_two(app_a, app_b, scenario, size=(100, 30)) -> None:
    """Run two apps at once on one labels file (alice and bob), wait for both to load, then the scenario."""
    import asyncio

    async def main() -> None:
        async with app_a.run_test(size=size) as pa, app_b.run_test(size=size) as pb:
            await settle(app_a, pa)
            await settle(app_b, pb)
            app_a.state.labels.store.author, app_b.state.labels.store.author = "alice", "bob"
            await scenario(app_a, pa, app_b, pb)

    asyncio.run(main())


async def see(app, pilot) -> None:
    """What the 2 s watch does: read the file again when another app saved it."""
    app.check_labels_file()
    await settle(app, pilot)


def messages(app) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


PAIR = ["192.0.2.10", "192.0.2.11"]
RECORD = candidate(sources=tuple(PAIR), port=443, day="2024-03-01", key_text="192.0.2.0/24")


def test_undo_in_one_app_never_drops_the_other_apps_work(tiny_parquet, tui_cache, tmp_path):
    from textual.widgets import Input, TextArea

    from scantui.labels import LabelsStore
    from scantui.tui.screens.edit_group import EditGroupScreen

    labels = tmp_path / "labels.yaml"

    async def scenario(a, pa, b, pb):
        a.change_labels(lambda s: s.reject(PAIR))  # A rejects: R01 created
        await settle(a, pa)
        await see(b, pb)
        await pb.press("4")  # B edits R01's notes in the form
        await settle(b, pb)
        await pb.press("e")
        await settle(b, pb)
        assert isinstance(b.screen, EditGroupScreen)
        b.screen.query_one("#edit-notes", TextArea).text = "bob: seen from our SOC too"
        b.screen.query_one("#edit-title", Input).focus()
        await pb.press("enter")
        await settle(b, pb)
        assert LabelsStore.load(labels).get("R01").notes == "bob: seen from our SOC too"
        # A presses u: refused, named; R01 and bob's note stay
        await see(a, pa)
        await pa.press("u")
        await settle(a, pa)
        r01 = LabelsStore.load(labels).get("R01")
        assert r01.notes == "bob: seen from our SOC too" and (r01.created_by, r01.updated_by) == ("alice", "bob")
        assert "undo refused" in messages(a) and "bob changed R01 since (notes)" in messages(a)
        text = screen_text(b)  # the details name who created the group and who changed it
        assert "by alice" in text and "by bob" in text
        await pa.press("u")  # nothing of A's left to undo
        await settle(a, pa)
        assert "nothing to undo" in messages(a) and LabelsStore.load(labels).get("R01").notes
        # B's u takes back only his note; his next u has nothing of A's to revert
        await see(b, pb)
        await pb.press("u")
        await settle(b, pb)
        r01 = LabelsStore.load(labels).get("R01")
        assert r01.notes is None and r01.members == tuple(PAIR) and r01.verdict == "not_collaborative"
        assert r01.updated_by == "alice"  # as it was before bob's edit
        await pb.press("u")
        await settle(b, pb)
        assert "R01" in LabelsStore.load(labels) and "nothing to undo" in messages(b)
        assert [n.title for n in b._notifications if n.message == "nothing to undo"][-1] == "labels unchanged"

    run_two(make_app([tiny_parquet], tui_cache, labels_path=labels),
            make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)


def test_an_edit_of_a_group_deleted_meanwhile_is_not_lost(tiny_parquet, tui_cache, tmp_path):
    """B edits R01 while A undoes its creation (R01 deleted): B's save keeps R01 with B's edit and says so;
    a delete of a group the other analyst changed meanwhile keeps their change and says so."""
    from textual.widgets import Input, TextArea

    from scantui.labels import LabelsStore
    from scantui.tui.screens.edit_group import EditGroupScreen

    labels = tmp_path / "labels.yaml"

    async def scenario(a, pa, b, pb):
        a.change_labels(lambda s: s.reject(PAIR))  # A: R01
        await settle(a, pa)
        await see(b, pb)
        await pb.press("4")
        await settle(b, pb)
        await pa.press("u")  # A takes R01 back while B is about to edit it
        await settle(a, pa)
        assert "R01" not in LabelsStore.load(labels)
        await pb.press("e")
        await settle(b, pb)
        assert isinstance(b.screen, EditGroupScreen)
        b.screen.query_one("#edit-notes", TextArea).text = "bob: this pair scans us every Monday"
        b.screen.query_one("#edit-title", Input).focus()
        await pb.press("enter")
        await settle(b, pb)
        r01 = LabelsStore.load(labels).get("R01")
        assert r01.notes == "bob: this pair scans us every Monday" and r01.members == tuple(PAIR)
        assert "R01 was deleted by the other analyst meanwhile; kept, with your change" in messages(b)

        # A sees R01 again; bob changes it once more; A, not having seen that, deletes R01: bob's change is kept
        await see(a, pa)
        b.change_labels(lambda s: s.edit("R01", notes="bob: and on Thursdays"))
        await settle(b, pb)
        a.change_labels(lambda s: s.delete("R01"))
        await settle(a, pa)
        assert LabelsStore.load(labels).get("R01").notes == "bob: and on Thursdays"
        assert "kept bob's change of R01: your delete was not applied" in messages(a)

    run_two(make_app([tiny_parquet], tui_cache, labels_path=labels),
            make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)


def test_two_apps_creating_groups_at_once_get_two_groups(tiny_parquet, tui_cache, tmp_path):
    from textual.widgets import Input

    from scantui.labels import LabelsStore
    from scantui.tui.labelling import label_dialog
    from scantui.tui.screens.label_as import LabelAsScreen

    labels = tmp_path / "labels.yaml"
    other = candidate(sources=("203.0.113.5", "203.0.113.9"), port=3389, day="2024-03-04", key_text="203.0.113.0/24")

    async def scenario(a, pa, b, pb):
        a.call_later(label_dialog, a, RECORD)  # both dialogs open before either saves: both offer G01
        b.call_later(label_dialog, b, other)
        await settle(a, pa)
        await settle(b, pb)
        assert a.screen.query_one("#label-id", Input).value == b.screen.query_one("#label-id", Input).value == "G01"
        a.screen.query_one("#label-title", Input).value = "alice's pair"
        b.screen.query_one("#label-title", Input).value = "bob's pair"
        a.screen.query_one("#label-title", Input).focus()
        await pa.press("enter")
        await settle(a, pa)
        b.screen.query_one("#label-title", Input).focus()
        await pb.press("enter")
        await settle(b, pb)
        disk = {g.id: g for g in LabelsStore.load(labels).groups}
        assert disk["G01"].members == tuple(PAIR) and disk["G01"].title == "alice's pair"
        assert disk["G02"].members == ("203.0.113.5", "203.0.113.9") and disk["G02"].title == "bob's pair"
        assert "G01 was taken by alice meanwhile" in messages(b)
        # an id bob types himself, taken meanwhile by alice: asked again, his input kept
        b.call_later(label_dialog, b, other)
        a.call_later(label_dialog, a, RECORD)
        await settle(a, pa)
        await settle(b, pb)
        b.screen.query_one("#label-id", Input).value = "SHARED"
        b.screen.query_one("#label-title", Input).value = "bob typed this"
        a.screen.query_one("#label-id", Input).value = "SHARED"
        a.screen.query_one("#label-id", Input).focus()
        await pa.press("enter")
        await settle(a, pa)
        b.screen.query_one("#label-id", Input).focus()
        await pb.press("enter")
        await settle(b, pb)
        assert isinstance(b.screen, LabelAsScreen)
        assert b.screen.query_one("#label-id", Input).value == "SHARED"
        assert b.screen.query_one("#label-title", Input).value == "bob typed this"
        assert "created by alice" in screen_text(b)
        b.screen.query_one("#label-id", Input).value = "BOB1"
        await pb.press("enter")
        await settle(b, pb)
        disk = {g.id: g for g in LabelsStore.load(labels).groups}
        assert disk["SHARED"].members == tuple(PAIR) and disk["BOB1"].title == "bob typed this"
        # adding a scan of IPs G01 already holds says what was added
        a.call_later(label_dialog, a, dataclasses.replace(RECORD, port=80))
        await settle(a, pa)
        assert isinstance(a.screen, LabelAsScreen)
        await pa.press("enter")  # on G01, which holds all of them
        await settle(a, pa)
        assert "added scan 80/2024-03-01 to G01 (no new members)" in messages(a)
        assert LabelsStore.load(labels).get("G01").ports == (443, 80)

    run_two(make_app([tiny_parquet], tui_cache, labels_path=labels),
            make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)


def test_a_broken_labels_file_is_opened_once_fixed_and_reloaded_on_demand(tiny_parquet, tui_cache, tmp_path):
    from scantui.labels import Group, LabelsStore

    labels = tmp_path / "labels.yaml"
    labels.write_text("scantui_labels: 1\ngroups:\n  - id: X\n    verdict: perhaps\n    members: [10.0.0.300]\n")

    async def scenario(app, pilot):
        assert app.state.labels is None
        await pilot.press("4")
        app.check_labels_file()  # unchanged and broken: nothing new
        await settle(app, pilot)
        assert app.state.labels is None and "could not open the labels file" in screen_text(app)
        labels.write_text("scantui_labels: 1\ngroups:\n  - id: X\n    verdict: unsure\n    members: [10.0.0.300]\n")
        app.check_labels_file()  # still broken, otherwise: said again
        await settle(app, pilot)
        assert app.state.labels is None and "10.0.0.300" in screen_text(app) and "perhaps" not in screen_text(app)
        labels.write_text("scantui_labels: 1\ngroups:\n  - id: X\n    verdict: unsure\n    members: [10.0.0.30]\n")
        app.check_labels_file()
        await settle(app, pilot)
        assert app.state.labels is not None and "X" in app.state.labels.store
        assert "the labels file can be read now: 1 group" in messages(app)
        assert "could not open" not in screen_text(app) and "1 group · labels.yaml" in screen_text(app)
        # the palette command reads it again at once (the watch would in 2 s)
        other = LabelsStore.load(labels)
        other.add(Group("Y", members=["10.0.0.31"]))
        other.save()
        commands = {name: callback for name, _help, callback in app.palette_commands(app.screen)}
        commands["labels: reload"]()
        await settle(app, pilot)
        assert "Y" in app.state.labels.store
        await pilot.press("ctrl+r")  # its key (binding id app.labels_reload)
        await settle(app, pilot)
        assert "read again: 2 groups" in messages(app)

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)
