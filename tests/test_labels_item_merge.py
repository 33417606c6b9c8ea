"""A hand-formatted labels file saved item by item (:mod:`scantui.labels.item_merge`): a window of items around each
change is saved as a small file of its own, the rest of the file kept byte for byte.

The reference is the whole-file save (``reference_bytes``: parse, patch, two whole dumps, difflib over the whole
text, read back), which the item merge must equal; on top, the lines outside the changed items are checked to be the
file's, and no whole-file parse or dump may happen (what the whole-file save does, on main too).
"""

from __future__ import annotations

import difflib
import multiprocessing
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_labels_save_bytes import HOSTILE, T0, _edit, reference_bytes

from scantui.labels import Group, LabelsStore, document, item_merge
from scantui.labels.session import LabelSession
from scantui.labels.store import read_snapshot

#: How each group is written by hand: (a comment line above, an inline comment, members' style, notes' style,
#: a blank line after it).
SHAPE = st.tuples(st.booleans(), st.booleans(), st.sampled_from(["block", "flow", "wrapped"]),
                  st.sampled_from([None, "folded", "literal", "quoted"]), st.booleans())


def hand_text(shapes: list[tuple[bool, bool, str, str | None, bool]], sources: bool = False) -> str:
    """A labels file formatted by hand, one group a shape (as ``benchmarks/bench_labels.py``'s ``hand`` file)."""
    out = ["# team labels file\nscantui_labels: 1\n\ngroups:\n"]
    for i, (above, inline, members, notes, blank) in enumerate(shapes):
        m = [f"10.0.{i}.{k}" for k in range(3 + i % 4)]
        out.append(f"  # --- group {i}\n" if above else "")
        out.append(f"  - id: H{i:02d}\n    title: {'hand ' + str(i) if i % 3 else repr('hand ' + str(i))}"
                   f"{'   # a title' if inline else ''}\n    verdict: {'unsure' if i % 5 else 'collaborative'}\n")
        if members == "block":
            out.append("    members:\n" + "".join(f"      - {x}   # by hand\n" if k == 1 else f"      - {x}\n" for k, x in enumerate(m)))
        elif members == "flow":
            out.append(f"    members: [{', '.join(m)}]\n")
        else:
            out.append(f"    members: [{', '.join(m[:2])},\n              {', '.join(m[2:])}]\n")
        out.append(f"    ports: [{8000 + i}]\n")
        if notes == "folded":
            out.append(f"    notes: >\n      folded note {i}\n      more\n")
        elif notes == "literal":
            out.append(f"    notes: |\n      line one {i}\n      line two\n")
        elif notes == "quoted":
            out.append(f'    notes: "quoted {i}"   # why\n')
        out.append("    created: 2026-11-21T10:00:00Z\n" + ("\n" if blank else ""))
    if sources:
        out.append("# notes on single sources\nsources:\n  - ip: 192.0.2.10   # the noisy one\n    note: noisy\n")
    return "".join(out)


def _starts(text: str) -> list[int]:
    return [k for k, line in enumerate(text.splitlines(True)) if line.startswith("  - id: ")]


def untouched_outside(previous: str, written: str, old: list[Group], new: list[Group]) -> None:
    """Every line before the first changed (removed, new) group's first line and after the last one's lines is the
    file's as it was (a group's lines: from its ``- id:`` line to the next one)."""
    lines, starts = previous.splitlines(True), _starts(previous)
    new_ids, by_id = [g.id for g in new], {g.id: g for g in new}
    old_ids = [g.id for g in old]
    touched = [i for i, g in enumerate(old) if by_id.get(g.id) != g]
    at = [old_ids.index(next((k for k in new_ids[j:] if k in old_ids), old_ids[-1])) for j, k in enumerate(new_ids) if k not in old_ids]
    if not touched and not at:
        return
    first = min(starts[i] for i in touched + at)
    last = max([starts[i + 1] if i + 1 < len(starts) else len(lines) for i in touched + at])
    if old_ids[-1] in new_ids and any(k not in old_ids for k in new_ids[new_ids.index(old_ids[-1]) + 1:]):
        last = len(lines)  # (a group added after the last one)
    assert written.startswith("".join(lines[:first]))
    assert written.endswith("".join(lines[last:]))


def whole_file_parses(monkeypatch, size: int) -> list[int]:
    """The sizes of the texts parsed or dumped from now on that are more than half the file's *size*."""
    big: list[int] = []
    parse, dump = document.parse, document.dump

    def parsing(text, name):
        if len(text) > size / 2:
            big.append(len(text))
        return parse(text, name)

    def dumping(doc, layout):
        text = dump(doc, layout)
        if len(text) > size / 2:
            big.append(len(text))
        return text

    monkeypatch.setattr(document, "parse", parsing)
    monkeypatch.setattr(document, "dump", dumping)
    return big


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(shapes=st.lists(SHAPE, min_size=3, max_size=9), sources=st.booleans(),
       edits=st.lists(st.lists(st.tuples(st.sampled_from([0, 1, 2, 3, 4, 5, 7, 8, 9, 10]), st.integers(0, 999),
                                         st.sampled_from(HOSTILE)), min_size=1, max_size=2), min_size=1, max_size=4))
def test_a_hand_formatted_file_saved_item_by_item_writes_the_whole_file_saves_bytes(tmp_path_factory, shapes, sources, edits):
    """Random hand formatting, random one- and two-group changes (a field, members, a group added, removed, the first
    or the last, two folded into one): each save takes the item merge, writes the whole-file save's bytes, and leaves
    every line outside the changed groups as it was."""
    path = tmp_path_factory.mktemp("items") / "labels.yaml"
    path.write_text(hand_text(shapes, sources))
    store = LabelsStore.load(path, now=lambda: T0, author="ana")
    for batch in edits:
        old = store.groups
        for op, pick, text in batch:
            _edit(store, op, pick, text)
        previous = path.read_bytes()
        renders: list[int] = []
        rewrite = document.rewrite
        with pytest.MonkeyPatch.context() as m:
            m.setattr(document, "rewrite", lambda *a: renders.append(1) or rewrite(*a))
            if not store.save().written:
                continue
        assert not renders and store.rendered_by != "whole"  # (the file without a comment: a splice may take it)
        assert path.read_bytes() == reference_bytes(previous, store.groups, store.sources)
        untouched_outside(previous.decode(), path.read_text(), old, store.groups)
        fresh = read_snapshot(path)
        assert (fresh.groups, fresh.sources) == (store.groups, store.sources)


#: Twelve groups by hand: a comment line above each but the third, a title's comment on every other one.
HAND = hand_text([(i != 2, i % 2 == 0, ("wrapped", "block", "flow")[i % 3], ("folded", "quoted", None, "literal")[i % 4], i % 3 != 1)
                  for i in range(12)], sources=True)


@pytest.fixture
def hand(tmp_path) -> Path:
    path = tmp_path / "labels.yaml"
    path.write_text(HAND)
    return path


def _changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    gone, new = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before.splitlines(True), after.splitlines(True)).get_opcodes():
        if tag != "equal":
            gone.extend(before.splitlines(True)[i1:i2])
            new.extend(after.splitlines(True)[j1:j2])
    return gone, new


@pytest.mark.parametrize("gid", ["H00", "H01", "H02", "H06", "H11"])  # the top, comments above and inside, none, the bottom
def test_a_title_change_keeps_the_comments_above_and_inside_the_group(hand, monkeypatch, gid):
    store = LabelsStore.load(hand, now=lambda: T0, author="ana")
    store.prepare()  # (the tree the TUI builds in its worker: the save still does not render the whole file)
    big = whole_file_parses(monkeypatch, len(HAND))
    store.update(gid, title="renamed")
    store.save()
    text = hand.read_text()
    assert not big and store.rendered_by == "item_merge"
    gone, new = _changed_lines(HAND, text)
    i = int(gid[1:])
    assert [line.split("#")[0].strip() for line in gone] == [f"title: {'hand ' + str(i) if i % 3 else repr('hand ' + str(i))}"]
    assert [line.split("#")[0].strip().replace("'", "") for line in new] == ["title: renamed", "updated: 2026-12-01T08:30:00Z",
                                                                             "updated_by: ana"]
    # every comment of the file still there, in order, the title's own on its line
    assert re.findall(r"#[^\n]*", text) == re.findall(r"#[^\n]*", HAND)
    if "# a title" in HAND.split(f"- id: {gid}\n")[1].split("\n")[0]:
        assert re.search(r"title: '?renamed'? +# a title\n", text)
    if f"# --- group {i}" in HAND:
        assert f"# --- group {i}\n  - id: {gid}\n" in text
    assert read_snapshot(hand).groups == store.groups


def test_two_groups_changed_by_one_save_each_in_its_own_window(hand, monkeypatch):
    store = LabelsStore.load(hand, now=lambda: T0, author="ana")
    calls: list[str] = []
    merge = item_merge._merge_window
    monkeypatch.setattr(item_merge, "_merge_window", lambda key, body, *a: calls.append(body) or merge(key, body, *a))
    store.set_verdict("H00", "not_collaborative")
    store.add_members("H11", ["192.0.2.5"])
    store.save()
    assert len(calls) == 2 and store.rendered_by == "item_merge"  # (H00..H01; H10..H11 and the file's tail)
    text = hand.read_text()
    middle = "  - id: H02\n", "  # --- group 10\n"  # (from H01's last line to H09's: untouched)
    assert text.split(middle[0])[1].split(middle[1])[0] == HAND.split(middle[0])[1].split(middle[1])[0]
    assert hand.read_bytes() == reference_bytes(HAND.encode(), store.groups, store.sources)
    assert "192.0.2.5" in text.split("- id: H11")[1] and "verdict: not_collaborative" in text.split("- id: H01")[0]


def whole_file_session(monkeypatch, path: Path, steps) -> list[bytes]:
    """The bytes each of *steps* (on a session of *path*) writes through the whole-file save (the others turned off)."""
    import scantui.labels.store as store_module
    out = []
    with monkeypatch.context() as m:
        for name in ("save_items", "splice_local", "splice"):
            m.setattr(store_module, name, lambda *a, **k: None)
        session = LabelSession.open(str(path), author="ana", now=lambda: T0)
        for step in steps:
            step(session)
            assert session.store.rendered_by == "whole"
            out.append(path.read_bytes())
    return out


@pytest.mark.parametrize("gid", ["H00", "H01", "H02", "H03", "H11"])
def test_a_delete_and_its_undo_put_the_group_and_its_comment_lines_back(hand, tmp_path, monkeypatch, gid):
    """The group's comment lines (above it, inside it) and values come back where they were, as the whole-file save
    puts them back (its hand wrapping and quoting as the whole-file save writes a group put back: the comments
    inside it keep its lines, else it is written anew)."""
    steps = (lambda s: s.delete(gid), lambda s: s.undo())
    (tmp_path / "ref.yaml").write_text(HAND)
    expected = whole_file_session(monkeypatch, tmp_path / "ref.yaml", steps)
    session = LabelSession.open(str(hand), author="ana", now=lambda: T0)
    big = whole_file_parses(monkeypatch, len(HAND))
    written = []
    for step in steps:
        step(session)
        assert not big and session.store.rendered_by == "item_merge"
        written.append(hand.read_bytes())
    assert written == expected
    assert f"- id: {gid}\n" not in written[0].decode()
    text = written[1].decode()
    assert re.findall(r"#[^\n]*", text) == re.findall(r"#[^\n]*", HAND)
    i = int(gid[1:])
    if f"# --- group {i}\n" in HAND:
        assert f"# --- group {i}\n  - id: {gid}\n" in text
    assert read_snapshot(hand).groups == LabelsStore.load(tmp_path / "ref.yaml").groups


def test_a_group_added_at_the_end_goes_above_the_lines_that_head_the_notes(hand, monkeypatch):
    store = LabelsStore.load(hand, now=lambda: T0, author="ana")
    big = whole_file_parses(monkeypatch, len(HAND))
    store.add(Group("N1", title="new", members=("198.18.0.1",)))
    store.save()
    text = hand.read_text()
    assert not big and store.rendered_by == "item_merge"
    assert text.index("- id: N1") < text.index("# notes on single sources") and text.startswith(HAND.split("  - id: H11")[0])
    assert hand.read_bytes() == reference_bytes(HAND.encode(), store.groups, store.sources)


def test_what_the_item_merge_cannot_vouch_for_renders_the_whole_file(hand, monkeypatch):
    """The fallback: a block made (the first note of a file without ``sources:``), items reordered, a window that
    would take more of the file's tail along than allowed; each save writes the whole-file save's bytes."""
    store = LabelsStore.load(hand, now=lambda: T0, author="ana")
    store.set_source("192.0.2.10", note=None, tags=())  # the last note removed: the block goes
    previous = hand.read_bytes()
    store.save()
    assert store.rendered_by == "whole" and "sources:" not in hand.read_text()
    assert hand.read_bytes() == reference_bytes(previous, store.groups, store.sources)
    monkeypatch.setattr(item_merge, "MAX_TAIL", 0)
    store.update("H11", title="last")  # its window takes the comment lines below it along
    previous = hand.read_bytes()
    store.save()
    assert store.rendered_by == "whole"
    assert hand.read_bytes() == reference_bytes(previous, store.groups, store.sources)
    store.update("H05", title="middle")  # far from the tail: still item by item
    previous = hand.read_bytes()
    store.save()
    assert store.rendered_by == "item_merge" and hand.read_bytes() == reference_bytes(previous, store.groups, store.sources)


def test_an_item_line_inside_a_scalar_is_not_taken_for_an_item(tmp_path):
    """A quoted note whose second line reads like an item's first line: the lines opening items are not proven,
    the whole file is rendered (one line too many starts with the dash prefix)."""
    path = tmp_path / "labels.yaml"
    text = HAND.replace('    notes: "quoted 1"   # why\n', '    notes: "quoted 1\n  - id: H99\n      more"\n')
    path.write_text(text)
    store = LabelsStore.load(path, now=lambda: T0, author="ana")
    assert store.get("H01").notes.startswith("quoted 1 - id: H99")
    assert item_merge.find_items(text, {"groups": 12, "sources": 1}, document.Layout.guess(text)) is None
    assert item_merge.find_items(HAND, {"groups": 12, "sources": 1}, document.Layout.guess(HAND)) is not None
    store.update("H01", title="x")
    store.save()
    assert store.rendered_by == "whole" and read_snapshot(path).groups == store.groups


ROUNDS = 5


def _analyst(path: str, who: str, barrier, results) -> None:
    """One analyst's process: every round a title of one of its groups, saved when the other one saves too."""
    session = LabelSession.open(path, author=who)
    ways = []
    for i in range(ROUNDS):
        gid = f"H{(2 * i + (who == 'bob')) % 10:02d}"
        barrier.wait()
        session.edit(gid, title=f"{who} {i}")
        ways.append(session.store.rendered_by)
    results.put((who, ways))


def test_two_processes_saving_one_hand_formatted_file_lose_nothing(tmp_path):
    path = tmp_path / "labels.yaml"
    text = hand_text([(True, True, ("block", "flow", "wrapped")[i % 3], (None, "folded", "quoted")[i % 3], True) for i in range(10)])
    path.write_text(text)
    ctx = multiprocessing.get_context("spawn")  # separate interpreters, nothing shared but the file
    barrier, results = ctx.Barrier(2, timeout=60), ctx.Queue()
    workers = [ctx.Process(target=_analyst, args=(str(path), who, barrier, results)) for who in ("ana", "bob")]
    try:
        for worker in workers:
            worker.start()
        ways = dict(results.get(timeout=120) for _ in workers)
        for worker in workers:
            worker.join(timeout=30)
            assert worker.exitcode == 0
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
    final = LabelsStore.load(path)
    for i in range(ROUNDS):
        assert final.get(f"H{(2 * i) % 10:02d}").title == f"ana {i}" and final.get(f"H{(2 * i + 1) % 10:02d}").title == f"bob {i}"
    written = path.read_text()
    assert re.findall(r"#[^\n]*", written) == re.findall(r"#[^\n]*", text)  # every comment kept, in order
    assert ways == {"ana": ["item_merge"] * ROUNDS, "bob": ["item_merge"] * ROUNDS}
