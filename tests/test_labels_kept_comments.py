"""Removing a group or a source note keeps the comment and blank lines above the next one (real files, real saves).

ruamel attaches the lines above item N to the end of item N-1 (or to item N):
a save that removes item N-1 must still write them, above item N. What goes
with a removed item is only what is inside it (here ``# A's own``); when the last
source note goes, so does the ``sources:`` line, not the comment lines around its items.
"""

from __future__ import annotations

import datetime as dt

import pytest

from scantui.labels import LabelsStore
from scantui.labels.store import read_snapshot

T0 = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.timezone.utc)

ITEMS = {
    "A": "  - id: A\n    verdict: unsure   # A's own\n    members: [192.0.2.1]\n",
    "B": "  - id: B\n    verdict: unsure\n    members: [192.0.2.2]\n    scans:\n      - {port: 80, day: 2024-02-06, sources: [192.0.2.2]}\n",
    "C": "  - id: C\n    verdict: unsure\n    members: [192.0.2.3]\n    notes: |\n      x\n",
    "192.0.2.1": "  - ip: 192.0.2.1\n    note: a\n",
    "192.0.2.2": "  - ip: 192.0.2.2\n    note: b\n",
}
TEXT = (
    "# the team's labels\nscantui_labels: 1\ngroups:\n  # above A\n" + ITEMS["A"] + "  # above B\n\n" + ITEMS["B"]
    + "  # above C\n" + ITEMS["C"] + "  # after the last group\nsources:\n  # above s1\n" + ITEMS["192.0.2.1"]
    + "  # above s2\n" + ITEMS["192.0.2.2"] + "# the end\n"
)


def column0(text: str) -> str:
    """*text* with its lists' dashes at the key's column (``groups:\\n- id: x``)."""
    return "".join(line[2:] if line.startswith("  ") else line for line in text.splitlines(True))


def remove(store: LabelsStore, key: str) -> None:
    if key[0].isdigit():
        store.set_source(key, note=None, tags=())
    else:
        store.remove(key)


@pytest.mark.parametrize("style", [str, column0], ids=["indented", "column0"])
@pytest.mark.parametrize("removed", [["A"], ["B"], ["C"], ["A", "B"], ["B", "C"], ["192.0.2.1"], ["192.0.2.2"], ["192.0.2.1", "192.0.2.2"]])
def test_a_removal_writes_every_line_but_the_removed_items_own(tmp_path, style, removed):
    path = tmp_path / "labels.yaml"
    path.write_text(style(TEXT))
    store = LabelsStore.load(path, now=lambda: T0)
    for key in removed:
        remove(store, key)
    store.save()
    expected = TEXT
    for key in removed:
        expected = expected.replace(ITEMS[key], "")
    if "- ip: " not in expected:  # the last note removed: "sources:" goes, the lines around its items stay
        expected = expected.replace("sources:\n", "")
    assert path.read_text() == style(expected)
    assert read_snapshot(path).groups == store.groups


def test_the_comments_stay_through_several_saves_of_one_store(tmp_path):
    """An edit, then removals, each saved from the tree the store kept from the save before: every line kept."""
    path = tmp_path / "labels.yaml"
    path.write_text(TEXT)
    store = LabelsStore.load(path, now=lambda: T0, author="ana")
    store.set_verdict("C", "collaborative")
    store.save()
    store.remove("B")
    store.save()
    store.set_source("192.0.2.1", note=None, tags=())
    store.save()
    text = path.read_text()
    for line in ("# the team's labels", "# above A", "# above B", "# above C", "# after the last group", "# above s1",
                 "# above s2", "# the end", "# A's own"):
        assert text.count(line) == 1, line
    assert text.index("# above C") < text.index("- id: C") and text.index("# above s2") < text.index("- ip: 192.0.2.2")
    assert "\n\n  # above C\n  - id: C\n" in text  # the blank line too, where it was


@pytest.mark.parametrize("style", [str, column0], ids=["indented", "column0"])
@pytest.mark.parametrize("note", ["D", "two\nlines"])
def test_groups_and_notes_added_go_above_the_comment_lines_after_their_list(tmp_path, style, note):
    """An item added after a list's last one goes above the comment lines below that item at the dashes' column
    or left of it (they head what follows: 'sources:', the end of the file), save after save (was: below them,
    '# the end' then the new note)."""
    from scantui.labels.model import Group

    path = tmp_path / "labels.yaml"
    path.write_text(style(TEXT))
    store = LabelsStore.load(path, now=lambda: T0, author="ana")
    for i, gid in enumerate(("D", "E")):
        store.add(Group(id=gid, verdict="unsure", members=(f"192.0.2.{20 + i}",)))
        store.set_source(f"192.0.2.{30 + i}", note=note + gid)
        store.save()
        text = path.read_text()
        assert text.index(f"- id: {gid}") < text.index("# after the last group") < text.index("\nsources:\n")
        assert text.index(f"- ip: 192.0.2.{30 + i}") < text.index("# the end") and text.endswith("# the end\n")
        for line in ("# the team's labels", "# above A", "# above B", "# above C", "# after the last group",
                     "# above s1", "# above s2", "# the end", "# A's own"):
            assert text.count(line) == 1, line
        assert read_snapshot(path).groups == store.groups and read_snapshot(path).sources == store.sources


SOURCES_FIRST = (
    "# the team's labels\nscantui_labels: 1\n# the notes on single sources\nsources:\n  # above s1\n" + ITEMS["192.0.2.1"]
    + "  # above s2\n\n" + ITEMS["192.0.2.2"] + "# the groups\ngroups:\n" + ITEMS["A"] + "  # above B\n" + ITEMS["B"]
    + "# the end\n"
)
SOURCES_BETWEEN = TEXT.replace("sources:\n", "").replace(ITEMS["192.0.2.1"], "").replace(ITEMS["192.0.2.2"], "")
SOURCES_BETWEEN = SOURCES_BETWEEN.replace("# the end\n", "owner: the team   # a key after them\n# the end\n")
SOURCES_BETWEEN = SOURCES_BETWEEN.replace("  # after the last group\n", "  # after the last group\nsources:\n  # above s1\n"
                                          + ITEMS["192.0.2.1"] + "  # above s2\n" + ITEMS["192.0.2.2"] + "# above owner\n")


@pytest.mark.parametrize("style", [str, column0], ids=["indented", "column0"])
@pytest.mark.parametrize("text", [TEXT, SOURCES_FIRST, SOURCES_BETWEEN], ids=["last", "first", "between"])
def test_the_last_note_removed_keeps_the_lines_of_its_list_wherever_sources_sits(tmp_path, style, text):
    """'sources:' before 'groups:' (comments between) or before another key: removing the last note removes the
    'sources:' line and the notes' own lines, every comment and blank line stays where it was (they were lost
    unless 'sources:' was the file's last key)."""
    path = tmp_path / "labels.yaml"
    path.write_text(style(text))
    store = LabelsStore.load(path, now=lambda: T0)
    store.set_source("192.0.2.1", note=None, tags=())
    store.set_source("192.0.2.2", note=None, tags=())
    store.save()
    expected = text.replace(ITEMS["192.0.2.1"], "").replace(ITEMS["192.0.2.2"], "").replace("sources:\n", "")
    assert path.read_text() == style(expected)
    assert read_snapshot(path).groups == store.groups and not read_snapshot(path).sources


STAMPS = "    created: 2026-12-01T08:30:00Z\n    updated: 2026-12-01T08:30:00Z\n"
NEW_GROUP = "  - id: N\n    verdict: unsure\n    members: [198.51.100.1]\n" + STAMPS
NEW_NOTE = "  - ip: 192.0.2.9\n    note: new\n" + STAMPS
ONE = "  - id: A\n    verdict: unsure\n    members: [192.0.2.1]\n"
NOTE = "  - ip: 192.0.2.1\n    note: a\n"
#: (the file, the file with the new group and note): the other places an item is added next to comment lines
PLACES = {
    "first item of an empty list": (
        "scantui_labels: 1\ngroups: []\n# notes below\nsources:\n" + NOTE + "# the end\n",
        "scantui_labels: 1\ngroups:\n" + NEW_GROUP + "# notes below\nsources:\n" + NOTE + NEW_NOTE + "# the end\n"),
    "a blank line, a comment, the next key": (
        "scantui_labels: 1\ngroups:\n" + ONE + "\n# notes below\nsources:\n" + NOTE + "\n# the end\n",
        "scantui_labels: 1\ngroups:\n" + ONE + NEW_GROUP + "\n# notes below\nsources:\n" + NOTE + NEW_NOTE + "\n# the end\n"),
    "the last item's own comment line, then one heading the next key": (
        "scantui_labels: 1\ngroups:\n" + ONE + "    # A's last line\n# notes below\nsources:\n" + NOTE,
        "scantui_labels: 1\ngroups:\n" + ONE + "    # A's last line\n" + NEW_GROUP + "# notes below\nsources:\n" + NOTE + NEW_NOTE),
    "a block of text last": (
        "scantui_labels: 1\ngroups:\n" + ONE + "    notes: |\n      two\n      lines\n\n# notes below\nsources:\n" + NOTE,
        "scantui_labels: 1\ngroups:\n" + ONE + "    notes: |\n      two\n      lines\n" + NEW_GROUP
        + "\n# notes below\nsources:\n" + NOTE + NEW_NOTE),
}


@pytest.mark.parametrize("style", [str, column0], ids=["indented", "column0"])
@pytest.mark.parametrize("place", list(PLACES))
def test_an_item_added_next_to_comment_lines_goes_above_those_that_head_what_follows(tmp_path, style, place):
    """The first group of an empty list goes above the comment heading 'sources:' (was below it); a group added
    after one whose own comment line (deeper than the dashes) ends the list goes below that line (was above it)
    and above the comment heading what follows (was below it); blank lines go with the comment they precede."""
    from scantui.labels.model import Group

    text, expected = PLACES[place]
    path = tmp_path / "labels.yaml"
    path.write_text(style(text))
    store = LabelsStore.load(path, now=lambda: T0)
    store.add(Group("N", verdict="unsure", members=["198.51.100.1"], updated=T0))
    store.set_source("192.0.2.9", note="new", updated=T0)
    store.save()
    assert path.read_text() == style(expected)
    assert read_snapshot(path).groups == store.groups and read_snapshot(path).sources == store.sources
