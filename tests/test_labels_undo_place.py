"""Undo of a delete puts the group (or source note) back where it was, with the comment lines that were above it
(real hand-commented files, real sessions, every byte compared).

A delete keeps the comment and blank lines above the removed item (above the next one); its undo puts the item
back at its old index, below those lines again, and the lines that were above the next item stay there. When
another analyst added or removed items meanwhile, the item goes back below the nearest item that was above it
and is still there (first when none is). What only the removed item held (comments inside it) goes with it and
comes back with it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scantui.labels import Group, LabelsStore, document
from scantui.labels.session import LabelSession
from scantui.labels.store import read_snapshot
from test_labels_save_bytes import hand_format, written_by_writer_n

T0 = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.timezone.utc)

TEXT = """\
# the team's labels
scantui_labels: 1
groups:
  # above A
  - id: A
    verdict: unsure
    members: [192.0.2.1]
  # above B

  - id: B
    verdict: unsure
    members: [192.0.2.2]
    notes: |
      b's notes
      on two lines
  # above C
  # (two lines)
  - id: C
    verdict: unsure
    members: [192.0.2.3]
    scans:
      - {port: 80, day: 2024-02-06, sources: [192.0.2.3]}
  # above D
  - id: D
    verdict: unsure
    members: [192.0.2.4]
  # after the last group
sources:
  # above s1
  - ip: 192.0.2.1
    note: a
  # above s2
  - ip: 192.0.2.2
    note: b
  - ip: 192.0.2.3
    note: c
# the end
"""


def column0(text: str) -> str:
    """*text* with its lists' dashes at the key's column (``groups:\\n- id: x``), the scans' too."""
    text = "".join(line[2:] if line.startswith("  ") else line for line in text.splitlines(True))
    return text.replace("  scans:\n    - ", "  scans:\n  - ")


def session(path) -> LabelSession:
    return LabelSession.open(str(path), author="ana", now=lambda: T0)


def delete(s: LabelSession, keys: list[str]) -> None:
    if keys[0][0].isdigit():
        s.note_sources(keys, tags=[], note="")
    elif len(keys) == 1:
        s.delete(keys[0])
    else:
        s.batch("delete", [lambda s, k=k: s.delete(k) for k in keys])


@pytest.mark.parametrize("style", [str, column0], ids=["indented", "column0"])
@pytest.mark.parametrize("keys", [["A"], ["B"], ["C"], ["D"], ["A", "B"], ["B", "C"], ["C", "D"], ["A", "D"],
                                  ["192.0.2.1"], ["192.0.2.2"], ["192.0.2.3"], ["192.0.2.1", "192.0.2.3"]])
def test_undo_of_a_delete_writes_the_file_as_it_was(tmp_path, style, keys):
    path = tmp_path / "labels.yaml"
    path.write_text(style(TEXT))
    s = session(path)
    delete(s, keys)
    deleted = path.read_text()
    for key in keys:
        assert f"id: {key}\n" not in deleted and f"ip: {key}\n" not in deleted
    s.undo()
    assert path.read_text() == style(TEXT)
    assert s.store.ids == ["A", "B", "C", "D"] and [n.ip for n in s.store.sources] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


def test_undo_of_a_merge_puts_the_folded_group_back_in_its_place(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(TEXT)
    s = session(path)
    s.merge("D", "B")
    s.undo()
    assert path.read_text() == TEXT


def test_undo_after_the_other_analyst_added_and_removed_groups(tmp_path):
    """B goes back below A (the group above it, still there); the other analyst's new group stays last. With A
    and B's old neighbours gone, C goes back first (nothing above it is left)."""
    path = tmp_path / "labels.yaml"
    path.write_text(TEXT)
    mine, theirs = session(path), LabelSession.open(str(path), author="bob", now=lambda: T0)
    mine.delete("B")
    theirs.create(["198.51.100.1"], group_id="E")
    mine.undo()
    assert LabelsStore.load(path).ids == ["A", "B", "C", "D", "E"]
    assert mine.store.ids == ["A", "B", "C", "D", "E"]
    text = path.read_text()
    assert text.index("# above B") < text.index("- id: B") < text.index("# above C") < text.index("- id: E")

    mine.delete("C")
    theirs.reload()
    theirs.delete("A")
    theirs.delete("B")
    mine.undo()
    assert LabelsStore.load(path).ids == ["C", "D", "E"] == mine.store.ids
    assert read_snapshot(path).groups == mine.store.groups


def test_undo_of_a_delete_while_the_other_analyst_edits_the_comments(tmp_path):
    """The lines that were above the group are not there any more as they were: it goes back in its place (below
    the group above it), every line the other analyst wrote kept."""
    path = tmp_path / "labels.yaml"
    path.write_text(TEXT)
    mine = session(path)
    mine.delete("C")
    path.write_text(path.read_text().replace("  # above C\n", "  # C was here (bob)\n"))
    mine.undo()
    text = path.read_text()
    assert mine.store.ids == ["A", "B", "C", "D"] and read_snapshot(path).groups == mine.store.groups
    for line in ("# C was here (bob)", "# (two lines)", "# above D", "# above B", "b's notes"):
        assert text.count(line) == 1, line
    assert text.index("b's notes") < text.index("- id: C") < text.index("- id: D")


HANDS = st.lists(st.tuples(st.sampled_from([0, 4, 5, 7, 8]), st.integers(0, 999)), min_size=1, max_size=8)
PICKS = st.lists(st.integers(0, 999), min_size=1, max_size=3)


@pytest.mark.parametrize("off", [2, 0])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hand=HANDS, picks=PICKS, notes=st.booleans(), edit_first=st.booleans())
def test_undo_of_random_deletes_in_a_hand_commented_file_writes_it_as_it_was(tmp_path_factory, off, hand, picks, notes,
                                                                              edit_first):
    """Comment and blank lines between items anywhere, a group (or a note, not the last one) deleted, then undone: the file's bytes as they were (whichever save path each took, after an edit saved from the
    kept tree or not). (Removing every note removes ``sources:``; its undo puts the notes back below the lines that
    were in that list.)"""
    path = tmp_path_factory.mktemp("undo") / "labels.yaml"
    written_by_writer_n(path, 8, off)
    path.write_text(hand_format(path.read_text(), hand, off))
    s = session(path)
    if edit_first:
        s.edit(s.store.ids[picks[0] % 8], title="edited")
    before = path.read_bytes()
    keys = [r.ip for r in s.store.sources] if notes else s.store.ids
    chosen = list(dict.fromkeys(keys[p % len(keys)] for p in picks))[:len(keys) - 1]  # (the last note: not done)
    delete(s, chosen)
    assert path.read_bytes() != before
    s.undo()
    assert path.read_bytes() == before


def test_a_new_group_of_another_analyst_saved_first_stays_first(tmp_path):
    """Two new groups made at once: the one saved first comes first (new groups are not placed by the undo rule)."""
    path = tmp_path / "labels.yaml"
    path.write_text(TEXT)
    a, b = LabelsStore.load(path), LabelsStore.load(path)
    a.add(Group("E", verdict="unsure", members=["198.51.100.1"]))
    b.add(Group("F", verdict="unsure", members=["198.51.100.2"]))
    a.save()
    b.save()
    assert LabelsStore.load(path).ids == ["A", "B", "C", "D", "E", "F"]


@pytest.mark.parametrize("style", [str, column0], ids=["indented", "column0"])
@pytest.mark.parametrize("gid", ["A", "B", "C", "D"])
def test_a_delete_writes_each_comment_line_once_and_an_edit_undone_writes_the_file_as_it_was(tmp_path, style, gid):
    """Deleting the last group wrote '# after the last group' twice (the lines below its flow list were both in the
    list's end and taken with it); undoing an edit of the last group lost them (they were attached to the
    ``updated_by`` the undo removes)."""
    path = tmp_path / "labels.yaml"
    path.write_text(style(TEXT))
    s = session(path)
    s.set_verdict(gid, "collaborative")
    s.undo()
    assert path.read_text() == style(TEXT)
    s.delete(gid)
    text = path.read_text()
    for line in ("# above A", "# above B", "# above C", "# (two lines)", "# above D", "# after the last group", "# the end"):
        assert text.count(line) == 1, line


def written_with_comments(path, off: int, comments: dict[str, str], two_lines: str | None = None) -> str:
    """A file scantui wrote (six groups, three notes; dashes *off* columns in) with comment lines put above the
    items named in *comments* by hand: still the dump of its tree, so its saves splice."""
    store = LabelsStore.load(path, now=lambda: T0, author="w")
    for i in range(6):
        store.add(Group(f"G{i}", title=f"group {i}", verdict="unsure", members=[f"10.0.0.{i}"],
                        notes="two\nlines" if f"G{i}" == two_lines else None))
    for k in range(3):
        store.set_source(f"10.1.0.{k}", tags=("noisy",), note="seen")
    store.save()
    if off != 2:
        path.write_text(document.dump(document.parse(path.read_text(), "f"), document.Layout(2, off + 2, off)))
    dash = " " * off + "- "
    text = "".join(" " * off + comments[line[len(dash):].split(": ")[1].strip()] + line
                   if line.startswith(dash) and line[len(dash):].split(": ")[1].strip() in comments else line
                   for line in path.read_text().splitlines(True))
    path.write_text(text)
    return text


@pytest.mark.parametrize("off", [2, 0])
@pytest.mark.parametrize("key, comments", [
    ("G3", {"G3": "# reviewed by ana\n", "G1": "# hand note\n"}),  # lines above it
    ("G3", {"G4": "# above G4\n"}),  # lines above the next only: it goes back above them
    ("G3", {"G3": "# above G3\n", "G4": "# above G4\n"}),  # both: between them
    ("G5", {"G5": "# the last\n"}),
    ("G0", {"G1": "# above G1\n"}),
    ("10.1.0.1", {"10.1.0.1": "# a note\n", "10.1.0.2": "# next\n"}),
])
def test_undo_of_a_delete_in_a_file_scantui_wrote_splices_it_back_below_its_lines(tmp_path, off, key, comments):
    """A file scantui wrote, with comment lines added by hand: the undo splices the item back (no whole-file
    render) below the lines that were above it, the file's bytes as they were."""
    path = tmp_path / "labels.yaml"
    before = written_with_comments(path, off, comments)
    s = session(path)
    delete(s, [key])
    assert path.read_text() != before
    s.undo()
    assert path.read_text() == before
    # (the item merge places G0, first, and G5, last, too, whose lines the splice leaves to the whole-file path:
    # they are below the list's last item at the dashes' column)
    assert s.store.rendered_by == "item_merge"
    path.write_text(before)
    s = session(path)
    s.store.prepare()  # with the tree built, the splices come first
    delete(s, [key])
    s.undo()
    assert path.read_text() == before
    assert s.store.rendered_by == "item_merge"  # (the splice does not place a record put back before its file is proven its tree's dump)


@pytest.mark.parametrize("off", [2, 0])
def test_undo_below_a_group_with_notes_on_two_lines_renders_the_whole_file(tmp_path, off):
    """A scalar over several lines in the item above could hold a line that looks like a comment: the splice
    does not place the item there, the whole-file path does (the same bytes)."""
    path = tmp_path / "labels.yaml"
    before = written_with_comments(path, off, {"G3": "# reviewed\n"}, two_lines="G2")
    s = session(path)
    delete(s, ["G3"])
    s.undo()
    assert path.read_text() == before
    assert not s.store._kept.spliced and s.store.rendered_by == "item_merge"  # (it places it as the whole-file path does)


SPLICEABLE_HANDS = st.lists(st.tuples(st.sampled_from([0, 4]), st.integers(0, 999)), min_size=1, max_size=8)


@pytest.mark.parametrize("off", [2, 0])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hand=SPLICEABLE_HANDS, pick=st.integers(0, 999), notes=st.booleans(), edit_first=st.booleans())
def test_undo_of_random_deletes_in_a_commented_file_scantui_wrote_writes_it_as_it_was(tmp_path_factory, off, hand, pick,
                                                                                     notes, edit_first):
    """Comment and blank lines between the items of a file scantui wrote (its groups' notes on one line: the
    undo may splice), one group or note deleted, then undone: the file's bytes as they were."""
    path = tmp_path_factory.mktemp("undo") / "labels.yaml"
    written_with_comments(path, off, {})
    path.write_text(hand_format(path.read_text(), hand, off))
    s = session(path)
    if edit_first:
        s.edit(s.store.ids[pick % 6], title="edited")
    before = path.read_bytes()
    keys = [r.ip for r in s.store.sources] if notes else s.store.ids
    delete(s, [keys[pick % (len(keys) - 1 if notes else len(keys))]])
    assert path.read_bytes() != before
    s.undo()
    assert path.read_bytes() == before


NEIGHBOURS = """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [192.0.2.1]
  - id: B
    verdict: unsure
    members: [192.0.2.2]
  # above C
  - id: C
    verdict: unsure
    members: [192.0.2.3]
  - id: D
    verdict: unsure
    members: [192.0.2.4]
sources:
  - ip: 192.0.2.1
    note: a
  - ip: 192.0.2.2
    note: b
  # above s3
  - ip: 192.0.2.3
    note: c
"""


@pytest.mark.parametrize("style", [str, column0], ids=["indented", "column0"])
@pytest.mark.parametrize("changes", [[["B", "C", "D"]], [["B", "C"]], [["192.0.2.2", "192.0.2.3"]], [["D"], ["C"], ["B"]],
                                     [["C"], ["B"]], [["192.0.2.3"], ["192.0.2.2"]], [["C", "D"], ["A"]]])
def test_neighbours_deleted_with_comment_lines_between_come_back_exactly(tmp_path, style, changes):
    """Neighbouring items deleted (in one change or one after the other) with comment lines between them, then
    undone, last change first: the delete keeps each comment line once (the lines between two notes deleted at
    once were dropped when ``sources:`` ends the file), and after each undo the file's bytes are those from before
    that change (an item that had no lines above it goes back above the lines of the one after it)."""
    path = tmp_path / "labels.yaml"
    path.write_text(style(NEIGHBOURS))
    s = session(path)
    texts = []
    for keys in changes:
        texts.append(path.read_text())
        delete(s, keys)
        text = path.read_text()
        for line in ("# above C", "# above s3"):
            assert text.count(line) == 1, line
    for before in reversed(texts):
        s.undo()
        assert path.read_text() == before


SEVERAL = st.lists(st.lists(st.integers(0, 999), min_size=1, max_size=3), min_size=1, max_size=3)
# (with end-of-line comments inside the items: they come back with them)
EOL_HANDS = st.lists(st.tuples(st.sampled_from([0, 1, 4, 5, 7, 8]), st.integers(0, 999)), min_size=1, max_size=8)


@pytest.mark.parametrize("off", [2, 0])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hand=EOL_HANDS, changes=SEVERAL, notes=st.booleans())
def test_several_deletes_undone_in_reverse_write_each_file_as_it_was(tmp_path_factory, off, hand, changes, notes):
    """Neighbouring items deleted over several changes (one to three items each), then every change undone, last
    first: after each undo the file's bytes are those from before that change."""
    path = tmp_path_factory.mktemp("undo") / "labels.yaml"
    written_by_writer_n(path, 8, off)
    path.write_text(hand_format(path.read_text(), hand, off))
    s = session(path)
    texts = []
    for picks in changes:
        keys = [r.ip for r in s.store.sources] if notes else s.store.ids
        if len(keys) < 2:
            break
        chosen = list(dict.fromkeys(keys[p % len(keys)] for p in picks))[:len(keys) - 1]
        texts.append(path.read_bytes())
        delete(s, chosen)
    for before in reversed(texts):
        s.undo()
        assert path.read_bytes() == before


def _delete_whole_file(monkeypatch, path, keys) -> bytes:
    """The bytes the whole-file path writes for the delete (the splices turned off)."""
    import scantui.labels.store as store_module
    with monkeypatch.context() as m:
        m.setattr(store_module, "splice_local", lambda *a, **k: None)
        m.setattr(store_module, "splice", lambda *a, **k: None)
        m.setattr(store_module, "save_items", lambda *a, **k: None)
        s = session(path)
        delete(s, keys)
        assert not s.store._kept.spliced
    return path.read_bytes()


@pytest.mark.parametrize("off", [2, 0])
@pytest.mark.parametrize("keys, comments", [
    (["G3"], {"G4": "# above G4\n"}),
    (["G3"], {"G4": "# above G4\n\n"}),
    (["G2", "G3"], {"G3": "# above G3\n", "G4": "# above G4\n"}),
    (["10.1.0.1"], {"10.1.0.2": "# next\n"}),
])
@pytest.mark.parametrize("tree", [True, False])
def test_a_delete_with_comment_lines_above_the_next_item_splices(tmp_path, monkeypatch, off, keys, comments, tree):
    """The removed item holds the comment lines above the next one (ruamel attached them to it): the delete splices
    (no whole-file render), keeping them below the item above, the whole-file path's bytes; its tree dumps to them.
    Without the tree built, the item merge writes them (from the window alone)."""
    ref = tmp_path / "ref.yaml"
    written_with_comments(ref, off, comments)
    expected = _delete_whole_file(monkeypatch, ref, keys)
    path = tmp_path / "labels.yaml"
    before = written_with_comments(path, off, comments)
    s = session(path)
    if tree:
        s.store.prepare()
    delete(s, keys)
    assert path.read_bytes() == expected
    assert s.store._kept.spliced if tree else s.store.rendered_by == "item_merge"
    assert document.dump(s.store._kept.doc, document.Layout.guess(path.read_text())) == path.read_text()
    s.undo()
    assert path.read_text() == before


@pytest.mark.parametrize("off", [2, 0])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hand=SPLICEABLE_HANDS, picks=st.lists(st.integers(0, 999), min_size=1, max_size=3), notes=st.booleans())
def test_a_delete_in_a_commented_file_scantui_wrote_writes_the_whole_file_paths_bytes(tmp_path_factory, monkeypatch, off,
                                                                                      hand, picks, notes):
    """Comment and blank lines between the items of a file scantui wrote, one to three items deleted at once: the
    bytes the whole-file path writes, whichever path the save took (a spliced tree dumps to them)."""
    folder = tmp_path_factory.mktemp("carry")
    paths = folder / "ref.yaml", folder / "labels.yaml"
    for path in paths:
        written_with_comments(path, off, {})
        path.write_text(hand_format(path.read_text(), hand, off))
    s = session(paths[1])
    keys = [r.ip for r in s.store.sources] if notes else s.store.ids
    chosen = list(dict.fromkeys(keys[p % len(keys)] for p in picks))[:len(keys) - 1]
    expected = _delete_whole_file(monkeypatch, paths[0], chosen)
    delete(s, chosen)
    assert paths[1].read_bytes() == expected
    if s.store._kept.spliced:
        assert document.dump(s.store._kept.doc, document.Layout.guess(paths[1].read_text())) == paths[1].read_text()


INNER = """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [192.0.2.1]
  - id: B   # from the march review
    # why unsure: see ticket 12
    verdict: unsure
    members: [192.0.2.2]
    # members checked 2026-11-30
    ports: [80]
  # above C
  - id: C
    verdict: unsure
    members: [192.0.2.3]
sources:
  - ip: 192.0.2.1
    # seen twice
    note: a
  - ip: 192.0.2.2
    note: b
"""


@pytest.mark.parametrize("style", [str, column0], ids=["indented", "column0"])
@pytest.mark.parametrize("changes", [[["B"]], [["A", "B"]], [["B", "C"]], [["192.0.2.1"]], [["C"], ["B"]], [["B"], ["A"]]])
def test_undo_of_a_delete_brings_back_the_comments_inside_the_item(tmp_path, style, changes):
    """The comment lines inside a deleted group's (note's) mapping and its end-of-line comments come back with it;
    the lines below it stay above the next item, as the delete left them."""
    path = tmp_path / "labels.yaml"
    path.write_text(style(INNER))
    s = session(path)
    texts = []
    for keys in changes:
        texts.append(path.read_text())
        delete(s, keys)
        assert path.read_text().count("# above C") == 1
    for before in reversed(texts):
        s.undo()
        assert path.read_text() == before


def test_an_item_put_back_after_another_analyst_edited_the_lines_below_it_keeps_its_comments(tmp_path):
    """The lines the delete left above the next group changed on disk meanwhile: B comes back in its place with
    the comments inside it, the other analyst's line kept."""
    path = tmp_path / "labels.yaml"
    path.write_text(INNER)
    s = session(path)
    s.delete("B")
    path.write_text(path.read_text().replace("  # above C\n", "  # above C (bob)\n"))
    s.undo()
    text = path.read_text()
    assert "# why unsure: see ticket 12" in text and "# above C (bob)" in text
    assert s.store.ids == ["A", "B", "C"] and read_snapshot(path).groups == s.store.groups


def test_a_delete_after_a_spliced_one_records_the_lines_above_the_item(tmp_path):
    """The first delete splices (the tree's line marks are stale then); the second renders the whole file (its file
    is not its tree's dump: a line with two end-of-line comments), which read the lines above the removed note
    from the tree: it recorded none, and its undo put the note back above '# reviewed 724'."""
    path = tmp_path / "labels.yaml"
    written_by_writer_n(path, 8, 2)
    path.write_text(hand_format(path.read_text(), [(8, 12), (0, 724), (7, 758), (8, 310), (8, 836), (5, 105)], 2))
    s = session(path)
    texts = []
    for ip in ("10.1.2.0", "10.1.1.0"):
        texts.append(path.read_text())
        delete(s, [ip])
    assert s._history[-1].above == {("sources", "10.1.1.0"): "  # reviewed 724\n"}
    for before in reversed(texts):
        s.undo()
        assert path.read_text() == before


NOTES_MIDDLE = """\
# the team's labels
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [192.0.2.1]
# notes on single sources
sources:
  # above s1
  - ip: 192.0.2.1
    note: a
  # above s2

  - ip: 192.0.2.2
    note: b
# the tail
owner: ana
"""


@pytest.mark.parametrize("style", [str, column0], ids=["indented", "column0"])
@pytest.mark.parametrize("other", [False, True])
def test_undo_of_removing_every_note_puts_sources_back_where_it_was(tmp_path, style, other):
    """``sources:`` between the groups and another key: removing every note keeps its comment lines in place; the
    undo puts the block back there (not at the file's end), also after another analyst saved a change to a group."""
    path = tmp_path / "labels.yaml"
    path.write_text(style(NOTES_MIDDLE))
    s = session(path)
    s.note_sources(["192.0.2.1", "192.0.2.2"], tags=[], note="")
    deleted = path.read_text()
    assert "sources:" not in deleted and "# above s2" in deleted and deleted.endswith("owner: ana\n")
    if other:
        LabelSession.open(str(path), author="bob", now=lambda: T0).edit("A", title="bob's")
    s.undo()
    text, tail = path.read_text(), style(NOTES_MIDDLE)[style(NOTES_MIDDLE).index("# notes on single sources"):]
    assert text == (style(NOTES_MIDDLE) if not other else text[:text.index("# notes on single sources")] + tail)
    assert ("title: bob's" in text) == other
    assert [n.ip for n in s.store.sources] == ["192.0.2.1", "192.0.2.2"]


HEADED = """\
scantui_labels: 1
groups:
# first group, reviewed by ana
  - id: G1
    verdict: unsure
    members: [192.0.2.1]
# second group
  - id: G2
    verdict: unsure
    members: [192.0.2.2]   # the scanner
    title: x  # why
  # third
  - id: G3
    verdict: unsure
    members:
      - 192.0.2.3  # eol
    # inside the third
  # fourth
  - id: G4
    verdict: unsure
    members: [192.0.2.4]
"""


def test_keys_added_below_a_group_stay_above_the_comment_heading_the_next(tmp_path):
    """A verdict set adds ``updated``/``updated_by`` at the group's end: they were written below the comment lines
    that head the next group (ruamel keeps those lines on the last value: a scalar, a flow list, a block list)."""
    text, _ = _three_verdicts_undone(tmp_path / "labels.yaml", HEADED)
    lines = text.splitlines()
    for comment in ("# second group", "  # third", "  # fourth"):
        assert lines[lines.index(comment) + 1].lstrip().startswith("- id: G"), text
    assert lines[lines.index("    # inside the third") - 1] == "    updated_by: ana"  # below the group's keys, inside it
    assert lines[lines.index("    title: x  # why") + 1].startswith("    updated: ")  # the line's own comment stays


def _three_verdicts_undone(path, original: str) -> tuple[str, list]:
    """The file *original* after verdicts set on G1, G2 and G3 (its text, the groups read back from it), checked to
    come back byte for byte after three undos."""
    path.write_text(original)
    s = session(path)
    for gid in ("G1", "G2", "G3"):
        s.set_verdict(gid, "collaborative")
    text, groups = path.read_text(), list(s.store.groups)
    for _ in range(3):
        s.undo()
    assert path.read_text() == original
    return text, groups


BLOCK_LAST = """\
scantui_labels: 1
groups:
  - id: G1
    verdict: unsure
    members: [192.0.2.1]
    notes: |
      two
      lines

  # second: a blank line above
  - id: G2
    verdict: unsure
    members: [192.0.2.2]
    notes: >
      folded
      text
  # third: right below the text
  - id: G3
    verdict: unsure
    members: [192.0.2.3]
    notes: |  # eol
      x


  - id: G4
    verdict: unsure
    members: [192.0.2.4]
"""


def test_keys_added_below_a_block_of_text_stay_above_the_comment_heading_the_next(tmp_path):
    """The same below ``notes: |`` / ``notes: >``: the lines after the text (blank lines, a comment heading the next
    group, with or without a blank line first) stay below the new keys, and the text itself is unchanged."""
    text, groups = _three_verdicts_undone(tmp_path / "labels.yaml", BLOCK_LAST)
    lines = text.splitlines()
    for comment in ("  # second: a blank line above", "  # third: right below the text"):
        assert lines[lines.index(comment) + 1] == f"  - id: G{2 if 'second' in comment else 3}", text
        assert lines[lines.index(comment) - 1] in ("", "    updated_by: ana"), text
    assert "    notes: |\n      two\n      lines\n    updated: " in text
    assert "    notes: >\n      folded\n      text\n    updated: " in text
    assert "    notes: |  # eol\n      x\n    updated: " in text and "updated_by: ana\n\n\n  - id: G4" in text
    assert [g.notes for g in groups[:3]] == ["two\nlines\n", "folded text\n", "x\n"]
