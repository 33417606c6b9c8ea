"""The labelling workflow on a real YAML file: create from a candidate, add, accept /
reject / unsure, merge, remove members, edit, undo (each checked on disk), a rejection
remembered as review state, another analyst's concurrent edit merged, and a failed save
rolled back in memory with nothing lost on disk."""

from __future__ import annotations

import datetime as dt

import pytest

from scantui.errors import ScantuiError
from scantui.labels import Group, LabelsStore
from scantui.labels.match import label_matches, review_state
from scantui.labels.session import LabelSession, ScanRef

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
    other = LabelsStore.load(path)
    other.update("AK01", title="theirs")
    other.save()
    c = mine.edit("AK01", title="mine")
    assert c.conflicts == ("AK01: title",) and on_disk(path)["AK01"].title == "theirs"


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
