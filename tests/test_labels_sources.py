"""Notes and tags on single sources (the labels file's ``sources:``): model, validation, store, merge, undo.

Real YAML files on disk; two analysts are two sessions on one file.
"""

from __future__ import annotations

import datetime as dt

import pytest

from scantui.errors import InputError
from scantui.labels import LabelsStore, check_file
from scantui.labels.merge import merge3
from scantui.labels.model import Source
from scantui.labels.session import LabelSession, UndoRefused
from scantui.labels.store import read_snapshot
from scantui.labels.validate import LabelsInvalid

OLD = """\
scantui_labels: 1
# the team's labels
groups:
  - id: G01
    title: 'two hosts'   # kept quoted
    verdict: collaborative
    members: [192.0.2.10, 192.0.2.11]
    created: 2026-11-21T10:00:00Z
"""

WITH_SOURCES = OLD + """\
sources:
  - ip: 198.51.100.7   # the university one
    tags: [benign, research]
    note: |
      announced on their web page
      contact: abuse@example.org
    created: 2026-11-22T09:00:00Z
    created_by: alice
    reviewer: carol        # a key this scantui does not know
  - ip: 198.51.100.8
    note: odd TTLs
"""


def _clock(start: str = "2026-12-01T12:00:00"):
    t = [dt.datetime.fromisoformat(start).replace(tzinfo=dt.timezone.utc)]

    def now() -> dt.datetime:
        t[0] += dt.timedelta(seconds=1)
        return t[0]

    return now


def _session(path, author: str) -> LabelSession:
    return LabelSession(LabelsStore.load(path, author=author, now=_clock()))


def test_old_file_without_sources_saves_byte_identical(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(OLD)
    store = LabelsStore.load(path, author="alice")
    assert store.sources == []
    store.update("G01", tags=("hosting",))
    store.save()
    text = path.read_text()
    assert "sources" not in text and "    tags: [hosting]\n" in text and text.startswith(OLD.split("    members")[0])
    # a session that touches no source note writes nothing about sources
    path.write_text(OLD)
    session = _session(path, "alice")
    session.edit("G01", notes="seen again")
    session.undo()
    assert path.read_text() == OLD


def test_sources_load_with_unknown_keys_and_comments_kept(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(WITH_SOURCES)
    store = LabelsStore.load(path)
    first, second = store.sources
    assert first.ip == "198.51.100.7" and first.tags == ("benign", "research")
    assert first.note == "announced on their web page\ncontact: abuse@example.org\n"
    assert first.extra == {"reviewer": "carol"}
    assert second.note == "odd TTLs" and second.tags == ()
    store.update("G01", verdict="unsure", updated=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
    store.save()  # a group edit leaves the sources' text alone
    assert path.read_text() == WITH_SOURCES.replace("verdict: collaborative", "verdict: unsure").replace(
        "    created: 2026-11-21T10:00:00Z\n", "    created: 2026-11-21T10:00:00Z\n    updated: 2026-12-01T00:00:00Z\n", 1)


def test_a_note_edit_is_a_small_diff_keeping_comments(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(WITH_SOURCES)
    session = _session(path, "bob")
    session.note_sources(["198.51.100.8"], add_tags=["ttl"])
    text = path.read_text()
    assert "# the university one" in text and "reviewer: carol        # a key" in text and "title: 'two hosts'" in text
    old_lines, new_lines = WITH_SOURCES.splitlines(), text.splitlines()
    added = [line for line in new_lines if line not in old_lines]
    assert added == ["    tags: [ttl]", "    updated: 2026-12-01T12:00:01Z", "    updated_by: bob"]
    assert [line for line in old_lines if line not in new_lines] == []


def test_new_note_creates_sources_section_and_reads_back(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(OLD)
    session = _session(path, "alice")
    change = session.note_sources(["192.0.2.99"], tags=["benign", "benign", " x "], note="first\nsecond")
    assert change.saved.written
    snap = read_snapshot(path)
    assert snap.sources == [Source("192.0.2.99", tags=("benign", "x"), note="first\nsecond",
                                   created=snap.sources[0].created, created_by="alice",
                                   updated=snap.sources[0].updated, updated_by="alice")]
    assert path.read_text().startswith(OLD)  # appended after the groups, nothing above changed
    # clearing both fields removes the entry
    session.note_sources(["192.0.2.99"], tags=[], note="")
    assert read_snapshot(path).sources == []


def test_validate_reports_source_problems_with_lines(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(OLD + "sources:\n  - ip: 10.0.0.300\n    tags: [ok, 7]\n  - note: no ip\n"
                          "  - ip: 192.0.2.1\n  - ip: 192.0.2.1\n    updated: yesterday\n")
    groups, problems = check_file(path)
    got = [(p.line, p.field) for p in problems]
    assert (10, "sources[0].ip") in got
    assert (11, "sources[0].tags[1]") in got
    assert (12, "sources[1].ip") in got
    assert (14, "sources[3].ip") in got and any("duplicate source" in p.why for p in problems)
    assert (15, "sources[3].updated") in got
    assert [g.id for g in groups] == ["G01"]
    with pytest.raises(LabelsInvalid):
        LabelsStore.load(path)
    path.write_text(OLD + "sources: {ip: 192.0.2.1}\n")
    assert [(p.line, p.field) for p in check_file(path)[1]] == [(9, "sources")]


def test_two_analysts_notes_on_different_sources_and_fields(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(WITH_SOURCES)
    alice, bob = _session(path, "alice"), _session(path, "bob")
    alice.note_sources(["192.0.2.50"], tags=["a"])          # a new source each
    bob.note_sources(["192.0.2.51"], note="bob's")
    alice.note_sources(["198.51.100.8"], add_tags=["ttl"])  # one source, different fields
    bob.note_sources(["198.51.100.8"], note="odd TTLs, and IP-ID 54321")
    alice.note_sources(["198.51.100.7"], add_tags=["uni"])  # one set field, both add
    change = bob.note_sources(["198.51.100.7"], add_tags=["edu"])
    assert change.conflicts == ()
    by_ip = {s.ip: s for s in read_snapshot(path).sources}
    assert by_ip["192.0.2.50"].tags == ("a",) and by_ip["192.0.2.51"].note == "bob's"
    assert by_ip["198.51.100.8"].tags == ("ttl",) and by_ip["198.51.100.8"].note == "odd TTLs, and IP-ID 54321"
    assert set(by_ip["198.51.100.7"].tags) == {"benign", "research", "uni", "edu"}
    assert by_ip["198.51.100.7"].extra == {"reviewer": "carol"}
    assert by_ip["198.51.100.8"].updated_by == "bob"


def test_both_change_the_same_note_keeps_theirs_and_reports(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(WITH_SOURCES)
    alice, bob = _session(path, "alice"), _session(path, "bob")
    alice.note_sources(["198.51.100.8"], note="alice says")
    change = bob.note_sources(["198.51.100.8"], note="bob says")
    assert read_snapshot(path).sources[1].note == "alice says"
    assert change.conflicts == ("kept alice's value for the note on 198.51.100.8: note",)


def test_merge3_of_sources_follows_the_group_rules():
    base = {"192.0.2.1": Source("192.0.2.1", tags=("a", "b"), note="n")}
    ours = {"192.0.2.1": Source("192.0.2.1", tags=("a", "c"), note="n")}
    theirs = {"192.0.2.1": Source("192.0.2.1", tags=("b", "d"), note="n2"), "192.0.2.2": Source("192.0.2.2", note="x")}
    merged, conflicts = merge3(base, ours, theirs)
    assert merged == [Source("192.0.2.1", tags=("d", "c"), note="n2"), Source("192.0.2.2", note="x")]
    assert conflicts == []
    # removed by us, edited by them: kept, reported
    merged, conflicts = merge3(base, {}, theirs)
    assert merged[0].note == "n2" and conflicts[0].field == "(source)" and conflicts[0].kind == "source"


def test_undo_of_a_note_restores_it_exactly_and_leaves_others_work(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(WITH_SOURCES)
    alice, bob = _session(path, "alice"), _session(path, "bob")
    alice.note_sources(["198.51.100.8"], note="rewritten")
    bob.note_sources(["192.0.2.51"], note="bob's")
    undone = alice.undo()
    assert undone.description == "undo note on 198.51.100.8"
    by_ip = {s.ip: s for s in read_snapshot(path).sources}
    assert by_ip["198.51.100.8"] == Source("198.51.100.8", note="odd TTLs") and "192.0.2.51" in by_ip
    # undo of a note someone changed since is refused, nothing written
    alice.note_sources(["192.0.2.51"], add_tags=["alice"])
    bob.note_sources(["192.0.2.51"], add_tags=["bob"])
    before = path.read_bytes()
    # tags are a set: alice's undo removes only her tag
    alice.undo()
    assert {s.ip: s for s in read_snapshot(path).sources}["192.0.2.51"].tags == ("bob",)
    bob.note_sources(["192.0.2.51"], note="changed by bob")
    assert path.read_bytes() != before
    alice.note_sources(["192.0.2.77"], note="mine")
    bob.reload()  # bob sees alice's note (the TUI reloads on the file watch) and changes it
    bob.note_sources(["192.0.2.77"], note="bob's now")
    with pytest.raises(UndoRefused):
        alice.undo()
    assert {s.ip: s for s in read_snapshot(path).sources}["192.0.2.77"].note == "bob's now"


def test_bad_ip_is_an_input_error_nothing_written(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(OLD)
    session = _session(path, "alice")
    with pytest.raises(InputError):
        session.note_sources(["192.0.2.300"], note="x")
    assert path.read_text() == OLD and session.store.sources == []


def test_hostile_note_text_round_trips_as_data(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(OLD)
    hostile = "[red]x[/] \x1b[31m ?: *alias &anchor\n--- !!python/object\x85end"
    _session(path, "alice").note_sources(["192.0.2.5"], note=hostile, tags=["[b]tag[/b]"])
    source = read_snapshot(path).sources[0]
    assert source.note == hostile and source.tags == ("[b]tag[/b]",)


def test_a_note_added_then_undone_leaves_an_old_file_byte_identical(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(OLD)
    session = _session(path, "alice")
    session.note_sources(["192.0.2.10", "192.0.2.11"], add_tags=["x"], note="both")
    assert "sources:" in path.read_text()
    session.undo()
    assert path.read_text() == OLD
