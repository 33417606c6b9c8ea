"""The labelling workflow on a real YAML file: create from a candidate, add, accept /
reject / unsure, merge, remove members, edit, undo (each checked on disk), a rejection
remembered as review state, another analyst's concurrent edit merged, and a failed save
rolled back in memory with nothing lost on disk; and two analysts on one file: undo reverses only
your own change (refused, naming who and what, when the other changed the same thing since), new ids
allocated under the lock (never two new groups fused), authors recorded, "add" saying what was new."""

from __future__ import annotations

import datetime as dt

import pytest

from scantui.errors import ScantuiError
from scantui.labels import Group, LabelsStore
from scantui.labels.match import label_matches, review_state
from scantui.labels.session import IdTaken, LabelSession, ScanRef, UndoRefused

DAY = dt.date(2024, 2, 6)
PAIR = ["192.0.2.10", "192.0.2.11"]


def on_disk(path):
    return {g.id: g for g in LabelsStore.load(path, must_exist=True).groups}


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "labels.yaml"
    p.write_text("scantui_labels: 1\n# the team's file\ngroups:\n  - id: AK01  # keep me\n    verdict: unsure\n"
                 "    members: [198.51.100.0/28]\n")
    return p


def test_create_add_verdicts_edit_and_undo_each_saved(path):
    s = LabelSession.open(str(path))
    c = s.create(PAIR, scans=[ScanRef(8080, DAY, tuple(PAIR))], title="pair")
    assert c.group_id == "G01" and c.saved.written
    g = on_disk(path)["G01"]
    assert g.members == tuple(PAIR) and g.ports == (8080,) and g.scans[0].day == DAY and g.verdict == "collaborative"
    s.add_to("G01", ["192.0.2.12", "192.0.2.10"], scans=[ScanRef(8081, DAY, ("192.0.2.10", "192.0.2.12"))])
    assert on_disk(path)["G01"].members == (*PAIR, "192.0.2.12") and on_disk(path)["G01"].ports == (8080, 8081)
    s.set_verdict("AK01", "collaborative")
    s.edit("G01", tags=["hosting"], notes="one covers 5/6")
    s.remove_members("G01", ["192.0.2.11"])
    assert on_disk(path)["G01"].members == ("192.0.2.10", "192.0.2.12")
    s.merge("AK01", "G01")
    disk = on_disk(path)
    assert set(disk) == {"AK01"} and "192.0.2.12" in disk["AK01"].members and disk["AK01"].tags == ("hosting",)
    text = path.read_text()
    assert "# the team's file" in text and "# keep me" in text
    # undo, step by step, each on disk
    assert s.undo_description == "merge G01 into AK01"
    s.undo()
    assert set(on_disk(path)) == {"AK01", "G01"} and on_disk(path)["AK01"].members == ("198.51.100.0/28",)
    s.undo()
    assert on_disk(path)["G01"].members == (*PAIR, "192.0.2.12")
    s.undo(), s.undo()
    assert on_disk(path)["AK01"].verdict == "unsure"
    s.undo(), s.undo()
    assert set(on_disk(path)) == {"AK01"} and not s.can_undo and s.undo() is None
    assert "# keep me" in path.read_text()


def test_reject_is_remembered(path):
    s = LabelSession.open(str(path))
    c = s.reject(PAIR, scans=[ScanRef(23, DAY, tuple(PAIR))])
    assert c.group_id == "R01" and on_disk(path)["R01"].verdict == "not_collaborative"
    assert review_state(label_matches(on_disk(path).values(), PAIR)) == "rejected"
    s.reject(["198.51.100.3"], group_id="AK01")
    assert on_disk(path)["AK01"].verdict == "not_collaborative"
    assert s.next_id("R") == "R02" and s.next_id() == "G01"


def test_concurrent_edit_by_another_analyst_is_merged(path):
    mine = LabelSession.open(str(path))
    theirs = LabelsStore.load(path)
    theirs.add(Group("THEIRS", verdict="unsure", members=["203.0.113.1"]))
    theirs.save()
    c = mine.create(PAIR)
    assert c.saved.merged and not c.conflicts
    assert set(on_disk(path)) == {"AK01", "THEIRS", "G01"}
    # both change AK01's title: theirs is kept and the conflict is reported
    other = LabelsStore.load(path, author="bob")
    other.update("AK01", title="theirs")
    other.save()
    c = mine.edit("AK01", title="mine")
    assert c.conflicts == ("kept bob's value for AK01: title",) and on_disk(path)["AK01"].title == "theirs"


def test_failed_save_rolls_back_and_loses_nothing(path):
    s = LabelSession.open(str(path))
    s.create(PAIR)
    before = path.read_bytes()
    path.write_text("groups: [\n")  # someone broke the file
    with pytest.raises(ScantuiError):
        s.create(["192.0.2.99"])
    assert "G02" not in s.store and "G01" in s.store
    path.write_bytes(before)
    assert s.undo_description == "create G01 (2 members)"
    with pytest.raises(ScantuiError):
        s.edit("G01", verdict="maybe")
    assert s.store.get("G01").verdict == "collaborative" and path.read_bytes() == before


# ---------------------------------------------------------------- two analysts on one file


def two(path):
    return LabelSession.open(str(path), author="alice"), LabelSession.open(str(path), author="bob")


def test_undo_never_drops_the_other_analysts_work(path):
    alice, bob = two(path)
    alice.reject(PAIR)  # R01
    bob.reload()
    bob.edit("R01", notes="bob's note")
    # alice's undo of the creation would delete bob's note with the group: refused, naming who and what
    with pytest.raises(UndoRefused, match=r"bob changed R01 since \(notes\)"):
        alice.undo()
    assert on_disk(path)["R01"].notes == "bob's note" and not alice.can_undo
    # bob's undo takes back his note only: R01 stays
    bob.undo()
    assert on_disk(path)["R01"].notes is None and on_disk(path)["R01"].members == tuple(PAIR)
    # bob's verdict on AK01, then alice's title: bob's undo reverts his verdict, alice's title stays
    bob.set_verdict("AK01", "collaborative")
    alice.reload()
    alice.edit("AK01", title="alice's title")
    bob.undo()
    ak = on_disk(path)["AK01"]
    assert (ak.verdict, ak.title, ak.updated_by) == ("unsure", "alice's title", "bob")
    # the same field changed by both since: refused, nothing written
    bob.set_verdict("AK01", "collaborative")
    alice.reload()
    alice.set_verdict("AK01", "not_collaborative")
    before = path.read_bytes()
    with pytest.raises(UndoRefused, match="alice changed AK01 since .verdict."):
        bob.undo()
    assert path.read_bytes() == before


def test_undo_of_a_list_change_keeps_the_others_items(path):
    alice, bob = two(path)
    alice.add_to("AK01", ["192.0.2.10"])
    bob.reload()
    bob.add_to("AK01", ["192.0.2.20"])
    bob.edit("AK01", tags=["bob"])
    alice.undo()
    ak = on_disk(path)["AK01"]
    assert ak.members == ("198.51.100.0/28", "192.0.2.20") and ak.tags == ("bob",)


def test_undo_of_a_merge_and_a_delete_by_one_analyst(path):
    alice, bob = two(path)
    alice.create(PAIR, title="pair")
    alice.merge("AK01", "G01")
    bob.reload()
    bob.edit("AK01", notes="seen")
    alice.undo()  # the merge: AK01 loses the pair, keeps bob's note; G01 comes back
    disk = on_disk(path)
    assert disk["AK01"].members == ("198.51.100.0/28",) and disk["AK01"].notes == "seen" and disk["G01"].title == "pair"


def test_new_groups_of_two_analysts_are_never_fused(path):
    alice, bob = two(path)
    seen_by_bob = bob.next_id()  # both dialogs show G01
    assert alice.next_id() == seen_by_bob == "G01"
    alice.create(PAIR, group_id="G01", suggested=True, title="alice's")
    c = bob.create(["203.0.113.1"], group_id=seen_by_bob, suggested=True, title="bob's")
    assert c.group_id == "G02" and "G01 was taken by alice meanwhile" in c.description
    disk = on_disk(path)
    assert disk["G01"].members == tuple(PAIR) and disk["G01"].title == "alice's"
    assert disk["G02"].members == ("203.0.113.1",) and disk["G02"].title == "bob's" and disk["G02"].created_by == "bob"
    # an id bob typed himself: refused, nothing written, he can try again
    before = path.read_bytes()
    with pytest.raises(IdTaken, match="created by alice"):
        bob.create(["203.0.113.2"], group_id="G01", title="typed")
    assert path.read_bytes() == before and "G01" in bob.store and bob.store.get("G01").title == "alice's"
    # rejections (ids chosen by scantui) never collide either
    alice.reject(["203.0.113.3"])
    assert bob.reject(["203.0.113.4"]).group_id == "R02"


def test_authors_are_recorded(path):
    alice, bob = two(path)
    alice.create(PAIR)
    bob.reload()
    bob.edit("G01", title="bob's")
    g = on_disk(path)["G01"]
    assert (g.created_by, g.updated_by) == ("alice", "bob")
    assert "created_by: alice" in path.read_text() and "updated_by: bob" in path.read_text()
    # a merge of concurrent edits: the later edit's author
    alice.edit("G01", notes="alice's")
    assert on_disk(path)["G01"].updated_by == "alice" and on_disk(path)["G01"].title == "bob's"


def test_the_author_comes_from_the_config_else_the_login(tmp_path, monkeypatch):
    import getpass

    from scantui.config import labels_author

    config = tmp_path / "config.yaml"
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))
    config.write_text("labels:\n  author: carol\n")
    assert labels_author() == "carol"
    config.write_text("labels: [broken\n")
    monkeypatch.setenv("LOGNAME", "dave")
    assert labels_author() == getpass.getuser() == "dave"


def test_scantui_author_names_who_edits_over_the_config_and_the_login(tmp_path, monkeypatch):
    """Analysts sharing one box account (one login, one config file) each set SCANTUI_AUTHOR: a label edit made in
    a process of its own records that name; unset or blank, the config's labels.author as before."""
    import os
    import subprocess
    import sys

    config = tmp_path / "config.yaml"
    config.write_text("labels:\n  author: carol\n")
    labels = tmp_path / "labels.yaml"
    edit = ("from scantui.labels.session import LabelSession\n"
            "import sys\n"
            "s = LabelSession.open(sys.argv[1])\n"
            "s.create(['192.0.2.10', '192.0.2.11']) if not s.store.groups else s.edit('G01', notes=sys.argv[2])\n")
    env = {**os.environ, "SCANTUI_CONFIG": str(config)}
    for who, note in (("erin", "first"), ("  ", "second"), ("frank", "third")):
        env["SCANTUI_AUTHOR"] = who
        subprocess.run([sys.executable, "-c", edit, str(labels), note], env=env, check=True, timeout=60)
        if note == "first":
            assert (on_disk(labels)["G01"].created_by, on_disk(labels)["G01"].updated_by) == ("erin", "erin")
        elif note == "second":
            assert on_disk(labels)["G01"].updated_by == "carol"  # blank: the config's author
    g = on_disk(labels)["G01"]
    assert (g.created_by, g.updated_by, g.notes) == ("erin", "frank", "third")


def test_add_says_what_was_actually_added(path):
    s = LabelSession.open(str(path), author="alice")
    s.create(PAIR, scans=[ScanRef(8080, DAY, tuple(PAIR))])
    c = s.add_to("G01", PAIR, scans=[ScanRef(8081, DAY, tuple(PAIR))])
    assert c.description == "added scan 8081/2024-02-06 to G01 (no new members)"
    c = s.add_to("G01", [*PAIR, "192.0.2.12"], scans=[ScanRef(8082, DAY, (*PAIR, "192.0.2.12"))])
    assert c.description == "added 1 new member and scan 8082/2024-02-06 to G01"
    written = path.read_bytes()
    c = s.add_to("G01", PAIR, scans=[ScanRef(8082, DAY, tuple(PAIR))])
    assert c.description.startswith("nothing new for G01") and path.read_bytes() == written
    assert s.undo_description == "added 1 new member and scan 8082/2024-02-06 to G01"


def test_undo_of_an_edit_to_a_group_deleted_since_is_refused(path):
    alice, bob = two(path)
    alice.edit("AK01", title="alice's")
    bob.reload()
    bob.delete("AK01")
    with pytest.raises(UndoRefused, match="someone else removed AK01 since"):
        alice.undo()
    assert "AK01" not in on_disk(path) and not alice.can_undo


def test_batch_is_one_save_and_one_undo_and_all_or_nothing(path):
    """The marked rows of a list: several actions, each deciding against what the earlier ones did (R01 then R02),
    saved once and undone whole; a failing step writes nothing."""
    s = LabelSession.open(str(path))
    before = path.read_bytes()
    saves = []
    real_save = s.store.save
    s.store.save = lambda **kw: saves.append(1) or real_save(**kw)
    steps = [lambda x: x.reject(PAIR, scans=[ScanRef(443, DAY, tuple(PAIR))]),
             lambda x: x.reject(["203.0.113.5"], scans=[ScanRef(22, DAY, ("203.0.113.5",))]),
             lambda x: x.set_verdict("AK01", "not_collaborative"),
             lambda x: None]  # a step with nothing to do
    change = s.batch("rejected 4 rows", steps)
    assert len(saves) == 1 and change.description.startswith("rejected 4 rows: create R01")
    disk = on_disk(path)
    assert {g: disk[g].verdict for g in disk} == {"AK01": "not_collaborative", "R01": "not_collaborative",
                                                   "R02": "not_collaborative"}
    assert "# keep me" in path.read_text()
    s.undo()
    assert path.read_bytes() == before
    assert s.batch("nothing", [lambda x: None]) is None and path.read_bytes() == before
    with pytest.raises(IdTaken):
        s.batch("two", [lambda x: x.reject(PAIR), lambda x: x.create(PAIR, group_id="AK01")])
    assert path.read_bytes() == before and set(s.store.ids) == {"AK01"}
