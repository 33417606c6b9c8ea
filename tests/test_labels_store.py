"""The labels store on real files: round trips, minimal diffs, atomic writes, merges, concurrent writers."""

from __future__ import annotations

import datetime as dt
import difflib
import multiprocessing
import os
import re
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scantui.errors import InputError
from scantui.labels import Group, LabelsConflict, LabelsInvalid, LabelsStore, LabelsWriteError, Scan, UnknownGroup, check_file
from scantui.labels import document
from scantui.lock import FileLock

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 12, 1, 8, 30, tzinfo=UTC)

ORIGINAL = """\
# Labels shared by the team. Keep ids stable.
scantui_labels: 1
owner: "research group"   # top-level keys scantui does not know are kept
groups:
  - id: AK01
    title: AKAMAI-01
    verdict: collaborative        # collaborative | not_collaborative | unsure
    category: other               # research | commercial | other | unknown
    members: [192.0.2.10, 192.0.2.11, 198.51.100.0/28]
    ports: [8080,
            8081]                 # wrapped by hand
    asns: [63949]
    scans:                        # the evidence the analyst confirmed
      - {port: 8080, day: 2024-02-06, sources: [192.0.2.10, 192.0.2.11]}
    tags: [hosting]
    notes: |
      one covers 5/6, the other 1/6
    created: 2026-11-21T10:00:00Z
    updated: 2026-11-21T10:05:00Z
    x-reviewer: {name: 'Ana', "when": 2026-11-22}   # unknown key

  # DigitalOcean pool, still growing
  - id: 'DO25'
    verdict: unsure
    members:
      - 10.0.0.1
      - 10.0.0.0/24   # the pool
    notes: "quoted, with [bold]markup[/bold] and 'quotes'"
"""


def labels_file(tmp_path: Path, text: str = ORIGINAL) -> Path:
    path = tmp_path / "labels.yaml"
    path.write_text(text)
    return path


def load(path: Path) -> LabelsStore:
    return LabelsStore.load(path, now=lambda: T0)


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0) if line[:1] in "+-" and line[:3] not in ("+++", "---")]


# -- round trip and minimal diffs ----------------------------------------------------


def test_unchanged_store_rewrites_nothing_and_re_emits_byte_identical(tmp_path):
    path = labels_file(tmp_path)
    store = load(path)
    result = store.save()
    assert not result.written and path.read_text() == ORIGINAL and not (tmp_path / "labels.yaml.bak").exists()
    snap_doc = document.parse(ORIGINAL, "x")
    groups = LabelsStore.load(path).groups
    assert document.rewrite(ORIGINAL, snap_doc, groups)[0] == ORIGINAL


def test_single_field_edit_changes_only_its_lines(tmp_path):
    path = labels_file(tmp_path)
    store = load(path)
    store.set_verdict("DO25", "collaborative")
    assert store.dirty
    assert store.save().written and not store.dirty
    assert changed_lines(ORIGINAL, path.read_text()) == [
        "-    verdict: unsure", "+    verdict: collaborative",
        "+    updated: 2026-12-01T08:30:00Z",
    ]


def test_list_edits_keep_style_comments_and_neighbours(tmp_path):
    path = labels_file(tmp_path)
    store = load(path)
    store.add_members("AK01", ["192.0.2.12"])
    store.remove_members("DO25", ["10.0.0.1"])
    store.update("AK01", notes="one covers 5/6,\nthe other 1/6\n", updated=dt.datetime(2026, 11, 21, 10, 5, tzinfo=UTC))
    store.save()
    assert changed_lines(ORIGINAL, path.read_text()) == [
        "-    members: [192.0.2.10, 192.0.2.11, 198.51.100.0/28]", "+    members: [192.0.2.10, 192.0.2.11, 198.51.100.0/28, 192.0.2.12]",
        "-      one covers 5/6, the other 1/6", "+      one covers 5/6,", "+      the other 1/6",
        "-      - 10.0.0.1",
        "+    updated: 2026-12-01T08:30:00Z",
    ]
    assert LabelsStore.load(path).get("DO25").members == ("10.0.0.0/24",)


def test_new_and_removed_groups(tmp_path):
    path = labels_file(tmp_path)
    store = load(path)
    store.remove("DO25")
    store.add(Group("GEM", verdict="collaborative", members=[f"203.0.113.{i}" for i in range(1, 38)], ports=[22], tags=["research", "[red]x[/red]"]))
    store.save()
    text = path.read_text()
    assert "DO25" not in text and "# the pool" not in text
    assert ORIGINAL.split("  - id: 'DO25'")[0] in text  # everything before the removed group is untouched
    assert "    members: [203.0.113.1, 203.0.113.2," in text and " 203.0.113.37]\n" in text and "    ports: [22]\n" in text
    assert max(map(len, text.splitlines())) <= document.WRAP_WIDTH  # a long list wrapped, not one line per IP
    assert "    created: 2026-12-01T08:30:00Z\n" in text
    back = LabelsStore.load(path)
    assert back.ids == ["AK01", "GEM"] and back.get("GEM") == store.get("GEM")


def test_missing_file_is_an_empty_store_created_on_first_save(tmp_path):
    path = tmp_path / "new.yaml"
    store = load(path)
    assert len(store) == 0 and not path.exists()
    store.add(Group("A", members=["192.0.2.1"]))
    store.save()
    assert path.read_text().startswith("scantui_labels: 1\ngroups:\n  - id: A\n")
    assert not (tmp_path / "new.yaml.bak").exists()
    with pytest.raises(InputError, match="folder does not exist"):
        LabelsStore.load(tmp_path / "nowhere" / "x.yaml")
    with pytest.raises(InputError, match="no such file"):
        LabelsStore.load(tmp_path / "other.yaml", must_exist=True)


def test_empty_group_list_grows_in_block_style(tmp_path):
    path = labels_file(tmp_path, "scantui_labels: 1\ngroups: []   # none yet\n")
    store = load(path)
    store.add(Group("A", members=["192.0.2.1"]))
    store.save()
    assert LabelsStore.load(path).ids == ["A"] and "\n  - id: A\n" in path.read_text()


def test_indentation_of_the_file_is_kept(tmp_path):
    text = "scantui_labels: 1\ngroups:\n- id: A\n  verdict: unsure\n  members:\n  - 192.0.2.1\n"
    path = labels_file(tmp_path, text)
    store = load(path)
    store.add_members("A", ["192.0.2.2"])
    store.save()
    assert changed_lines(text, path.read_text()) == ["+  - 192.0.2.2", "+  updated: 2026-12-01T08:30:00Z"]


# -- the editing API ------------------------------------------------------------------


def test_editing_api(tmp_path):
    store = load(labels_file(tmp_path))
    group = store.record_scan("DO25", 443, dt.date(2024, 3, 1), ["10.0.0.7", "10.9.9.9"])
    assert group.scans == (Scan(443, dt.date(2024, 3, 1), ("10.0.0.7", "10.9.9.9")),)
    assert group.ports == (443,) and group.members == ("10.0.0.1", "10.0.0.0/24", "10.9.9.9")  # 10.0.0.7 is in the /24
    merged = store.merge("AK01", "DO25")
    assert "DO25" not in store and merged.ports == (8080, 8081, 443) and "10.0.0.0/24" in merged.members
    assert merged.notes.startswith("one covers") and "markup" in merged.notes
    assert [g.id for g in store.containing("10.0.0.99")] == ["AK01"]
    with pytest.raises(UnknownGroup, match="no group 'nope'"):
        store.get("nope")
    with pytest.raises(KeyError):
        store.remove("nope")
    with pytest.raises(InputError, match="bad IP or CIDR"):
        store.add_members("AK01", ["10.0.0.256"])
    with pytest.raises(InputError, match="bad verdict"):
        store.set_verdict("AK01", "perhaps")
    with pytest.raises(InputError, match="already exists"):
        store.add(Group("AK01", members=["192.0.2.1"]))
    assert store.get("AK01") == merged  # failed edits changed nothing


# -- atomic writes and the backup ------------------------------------------------------


def test_backup_holds_the_previous_content(tmp_path):
    path = labels_file(tmp_path)
    store = load(path)
    store.set_verdict("DO25", "collaborative")
    store.save()
    first = path.read_text()
    assert (tmp_path / "labels.yaml.bak").read_text() == ORIGINAL
    store.set_verdict("DO25", "not_collaborative")
    store.save()
    assert (tmp_path / "labels.yaml.bak").read_text() == first


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def test_a_serializer_failing_midway_leaves_the_file_untouched(tmp_path, monkeypatch):
    path = labels_file(tmp_path)
    store = load(path)
    store.set_verdict("DO25", "collaborative")
    real_dump = document.dump
    calls = []

    def failing_dump(doc, layout):
        calls.append(1)
        if len(calls) == 2:  # the re-emission after the edit, after the tree was patched
            raise RuntimeError("serializer failed")
        return real_dump(doc, layout)

    monkeypatch.setattr(document, "dump", failing_dump)
    with pytest.raises(RuntimeError):
        store.save()
    assert path.read_text() == ORIGINAL and not (tmp_path / "labels.yaml.bak").exists() and not _leftovers(tmp_path)


def test_a_write_failing_midway_leaves_the_file_untouched(tmp_path, monkeypatch):
    path = labels_file(tmp_path)
    store = load(path)
    store.set_verdict("DO25", "collaborative")
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(dst) == path:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(InputError, match="cannot write: No space left on device"):
        store.save()
    assert path.read_text() == ORIGINAL and not _leftovers(tmp_path)
    assert (tmp_path / "labels.yaml.bak").read_text() == ORIGINAL
    assert store.dirty  # the edit is still in memory, to save again
    monkeypatch.setattr(os, "replace", real_replace)
    store.save()
    assert LabelsStore.load(path).get("DO25").verdict == "collaborative"


def test_fsync_failure_is_reported_and_nothing_replaced(tmp_path, monkeypatch):
    path = labels_file(tmp_path)
    store = load(path)
    store.set_verdict("DO25", "collaborative")
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    with pytest.raises(InputError, match="Input/output error"):
        store.save()
    assert path.read_text() == ORIGINAL and not _leftovers(tmp_path)


def test_a_rewrite_that_would_not_read_back_is_refused(tmp_path, monkeypatch):
    path = labels_file(tmp_path)
    store = load(path)
    store.set_verdict("DO25", "collaborative")
    monkeypatch.setattr(document, "rewrite", lambda *args, **kwargs: ["scantui_labels: 1\ngroups: []\n"])
    monkeypatch.setattr("scantui.labels.store.save_items", lambda *args: None)  # (the whole-file path: the fallback)
    with pytest.raises(LabelsWriteError):
        store.save()
    assert path.read_text() == ORIGINAL


# -- concurrent edits (one process, two stores) ------------------------------------------


def test_groups_added_on_both_sides_are_all_kept(tmp_path):
    path = labels_file(tmp_path)
    a, b = load(path), load(path)
    a.add(Group("A1", members=["192.0.2.100"]))
    b.add(Group("B1", members=["192.0.2.200"]))
    b.remove("AK01")
    assert not a.save().merged
    result = b.save()
    assert result.merged and result.written and not result.conflicts
    assert LabelsStore.load(path).ids == ["DO25", "A1", "B1"]
    assert b.ids == ["DO25", "A1", "B1"]  # the store now holds what was written
    assert not b.save().written


def test_edits_to_different_fields_of_one_group_merge(tmp_path):
    path = labels_file(tmp_path)
    a, b = load(path), load(path)
    a.update("AK01", title="Akamai pair")
    a.add_members("AK01", ["192.0.2.12"])
    a.remove_members("AK01", ["192.0.2.10"])
    b.update("AK01", category="commercial", tags=("hosting", "cdn"))
    b.add_members("AK01", ["192.0.2.13"])
    a.save()
    assert not b.save().conflicts
    group = LabelsStore.load(path).get("AK01")
    assert group.title == "Akamai pair" and group.category == "commercial" and group.tags == ("hosting", "cdn")
    assert group.members == ("192.0.2.11", "198.51.100.0/28", "192.0.2.12", "192.0.2.13")


def test_a_merge_that_would_empty_the_members_keeps_theirs_and_says_so(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups:\n  - {id: G, verdict: unsure, members: [192.0.2.1, 192.0.2.2]}\n")
    a, b = load(path), load(path)
    a.remove_members("G", ["192.0.2.1"])
    b.remove_members("G", ["192.0.2.2"])
    a.save()
    result = b.save()  # before: the merged group had no members, which the model refuses (a ValueError)
    assert [(c.group, c.field) for c in result.conflicts] == [("G", "members")]
    assert LabelsStore.load(path).get("G").members == ("192.0.2.2",)


def test_same_field_edited_on_both_sides_is_a_reported_conflict(tmp_path):
    path = labels_file(tmp_path)
    a, b = load(path), load(path)
    a.set_verdict("AK01", "unsure")
    b.set_verdict("AK01", "not_collaborative")
    b.add_members("AK01", ["192.0.2.50"])
    a.save()
    before = path.read_bytes()
    with pytest.raises(LabelsConflict) as err:
        b.save(strict=True)
    assert path.read_bytes() == before and err.value.exit_code == 1
    result = b.save()
    [conflict] = result.conflicts
    assert (conflict.group, conflict.field, conflict.ours, conflict.theirs) == ("AK01", "verdict", "not_collaborative", "unsure")
    assert "kept theirs 'unsure', ours was 'not_collaborative'" in conflict.describe()
    on_disk = LabelsStore.load(path).get("AK01")
    assert on_disk.verdict == "unsure" and "192.0.2.50" in on_disk.members  # the rest of our edit is kept
    assert b.get("AK01") == on_disk


def test_a_group_removed_on_one_side_and_edited_on_the_other_is_kept(tmp_path):
    path = labels_file(tmp_path)
    a, b = load(path), load(path)
    a.remove("DO25")
    b.add_members("DO25", ["10.1.0.1"])
    a.save()
    [conflict] = b.save().conflicts
    assert conflict.group == "DO25" and conflict.field == "(group)" and conflict.theirs == "removed"
    assert "10.1.0.1" in LabelsStore.load(path).get("DO25").members


def test_a_file_made_invalid_on_disk_is_not_overwritten(tmp_path):
    path = labels_file(tmp_path)
    store = load(path)
    store.set_verdict("DO25", "collaborative")
    path.write_text(ORIGINAL.replace("verdict: unsure", "verdict: ???"))
    with pytest.raises(LabelsInvalid, match="changed on disk and now invalid, not saved: groups.1..verdict"):
        store.save()
    assert "???" in path.read_text()


def test_a_held_lock_times_out_with_a_clear_error(tmp_path):
    path = labels_file(tmp_path)
    store = LabelsStore.load(path, lock_timeout=0.2)
    store.set_verdict("DO25", "collaborative")
    with FileLock(tmp_path / "labels.yaml.lock"):
        with pytest.raises(InputError, match="locked by another writer"):
            store.save()
    assert store.save().written


def test_authors_are_stamped_validated_and_follow_the_later_edit(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(ORIGINAL)
    alice = LabelsStore.load(path, author="alice", now=lambda: T0)
    bob = LabelsStore.load(path, author="bob", now=lambda: T0 + dt.timedelta(minutes=1))
    alice.add(Group("NEW", members=["192.0.2.1"]))
    alice.update("AK01", notes="alice")
    alice.save()
    bob.update("AK01", title="bob's")  # concurrent, later: the merged group was last changed by bob
    bob.save()
    disk = {g.id: g for g in LabelsStore.load(path).groups}
    assert (disk["NEW"].created_by, disk["NEW"].updated_by) == ("alice", "alice")
    assert (disk["AK01"].notes, disk["AK01"].title, disk["AK01"].updated_by) == ("alice", "bob's", "bob")
    assert "# Labels shared by the team" in path.read_text()
    path.write_text("scantui_labels: 1\ngroups:\n  - id: X\n    verdict: unsure\n    members: [10.0.0.1]\n    created_by: 7\n")
    with pytest.raises(LabelsInvalid, match="created_by"):
        LabelsStore.load(path)


def test_an_edit_under_the_lock_sees_the_file_as_it_is_now(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(ORIGINAL)
    mine = LabelsStore.load(path)
    theirs = LabelsStore.load(path)
    theirs.add(Group("G01", members=["192.0.2.1"]))
    theirs.save()
    seen: list[list[str]] = []
    mine.save(edit=lambda store: (seen.append(store.ids), store.add(Group("G02", members=["192.0.2.2"]))))
    assert "G01" in seen[0] and [g.id for g in LabelsStore.load(path).groups][-2:] == ["G01", "G02"]
    # an edit that fails writes nothing; revert() makes memory the file again
    before = path.read_bytes()
    with pytest.raises(InputError):
        mine.save(edit=lambda store: (store.discard("G02"), store.add(Group("G01", members=["192.0.2.3"]))))
    mine.revert()
    assert path.read_bytes() == before and "G02" in mine and not mine.dirty


# -- property tests -----------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_word = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=12).filter(lambda s: s == s.strip())
_tricky = st.sampled_from(["[bold]x[/bold]", "'single'", '"double"', "yes", "null", "~", "1e3", "0x10", "- dash", "a: b", "# hash", "@at", "`tick`", "%p", "  lead", "trail  ", "multi\nline\n", "\t", "é中🙂"])
_ip = st.integers(0, 2**32 - 1).map(lambda n: f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")


@st.composite
def _cidr(draw):
    plen = draw(st.integers(0, 32))
    net = draw(st.integers(0, 2**32 - 1)) & ((2**32 - 1) << (32 - plen)) & (2**32 - 1)
    return f"{net >> 24}.{net >> 16 & 255}.{net >> 8 & 255}.{net & 255}/{plen}"


_time = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(lambda t: t.replace(tzinfo=UTC))
_scan = st.builds(Scan, port=st.integers(0, 65535), day=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)), sources=st.lists(_ip, max_size=4).map(tuple))


@st.composite
def _group(draw, gid):
    return Group(
        gid,
        verdict=draw(st.sampled_from(["collaborative", "not_collaborative", "unsure"])),
        members=draw(st.lists(st.one_of(_ip, _cidr()), min_size=1, max_size=12)),
        title=draw(st.none() | _text | _tricky),
        category=draw(st.none() | st.sampled_from(["research", "commercial", "other", "unknown"])),
        ports=draw(st.lists(st.integers(0, 65535), max_size=10)),
        asns=draw(st.lists(st.integers(0, 2**32 - 1), max_size=3)),
        scans=draw(st.lists(_scan, max_size=3)),
        tags=draw(st.lists(_word | _tricky, max_size=4)),
        notes=draw(st.none() | _text | _tricky),
        created=draw(st.none() | _time),
        created_by=draw(st.none() | _word | _tricky),
        updated=draw(st.none() | _time),
        updated_by=draw(st.none() | _word | _tricky),
    )


@st.composite
def _label_sets(draw):
    ids = draw(st.lists(_word | _tricky.filter(lambda s: s == s.strip() and "\t" not in s and "\n" not in s), min_size=0, max_size=6, unique=True))
    return [draw(_group(gid)) for gid in ids]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=_label_sets())
def test_random_label_sets_round_trip_exactly(groups):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "labels.yaml"
        store = LabelsStore(path, now=lambda: T0)
        for group in groups:
            store.add(group.replace(created=group.created or T0, updated=group.updated or T0))
        expected = store.groups
        store.save()
        back = LabelsStore.load(path)
        assert back.groups == expected
        assert not back.save().written


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=_label_sets(), second=_label_sets())
def test_random_edits_of_an_existing_file_round_trip_exactly(first, second):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "labels.yaml"
        path.write_text(ORIGINAL)
        store = LabelsStore.load(path)
        for group in first:
            if group.id not in store:
                store.add(group)
        store.save()
        store = LabelsStore.load(path)
        for group in second:  # replace, add and drop groups of the rewritten file
            if group.id in store:
                store.update(group.id, **{f: getattr(group, f) for f in ("verdict", "members", "title", "ports", "tags", "notes", "scans")})
            else:
                store.add(group)
        if "AK01" in store and len(second) % 2:
            store.remove("AK01")
        expected = store.groups
        store.save()
        assert LabelsStore.load(path).groups == expected
        assert check_file(path)[1] == []
        if "DO25" in store and store.get("DO25").members == ("10.0.0.1", "10.0.0.0/24"):
            assert "# the pool" in path.read_text()


# -- two real processes ----------------------------------------------------------------------

ROUNDS = 20


def _writer(path: str, name: str, barrier, results) -> None:
    """One writer process: every round load, edit, wait for the other, save, wait again."""
    other = "B" if name == "A" else "A"
    seen = []
    for i in range(ROUNDS):
        store = LabelsStore.load(path, lock_timeout=30)
        store.add(Group(f"{name}-{i}", members=[f"10.{ord(name)}.{i}.1"]))
        store.add_members("SHARED", [f"172.{ord(name) - 60}.{i}.1"])
        store.update("SHARED", title=f"{name} {i}")  # both edit the title: one conflict a round
        if name == "A":
            store.update("SHARED", notes=f"A notes {i}")
        else:
            store.update("SHARED", category="research" if i % 2 else "commercial")
        barrier.wait()
        result = store.save()
        seen.extend((c.group, c.field, c.ours, c.theirs) for c in result.conflicts)
        barrier.wait()
    results.put((name, seen, other))


def test_two_processes_editing_concurrently_never_lose_a_label(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups:\n  - id: SHARED   # edited by both\n    verdict: unsure\n    members: [192.0.2.99]\n")
    ctx = multiprocessing.get_context("spawn")  # separate interpreters, nothing shared but the file
    barrier, results = ctx.Barrier(2, timeout=60), ctx.Queue()
    workers = [ctx.Process(target=_writer, args=(str(path), name, barrier, results)) for name in ("A", "B")]
    stop, reads, bad = threading.Event(), [0], []

    def reader():
        while not stop.is_set():
            try:
                _, problems = check_file(path)
                bad.extend(problems)
            except InputError as exc:
                bad.append(exc.message)
            reads[0] += 1
            stop.wait(0.005)

    watcher = threading.Thread(target=reader)
    watcher.start()
    try:
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=90) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
            assert worker.exitcode == 0
    finally:
        stop.set()
        watcher.join()
        for worker in workers:
            if worker.is_alive():
                worker.kill()
    assert not bad and reads[0] > 0
    final = LabelsStore.load(path)
    assert set(final.ids) == {"SHARED"} | {f"{n}-{i}" for n in "AB" for i in range(ROUNDS)}
    shared = final.get("SHARED")
    assert set(shared.members) == {"192.0.2.99"} | {f"172.{ord(n) - 60}.{i}.1" for n in "AB" for i in range(ROUNDS)}
    assert shared.notes == f"A notes {ROUNDS - 1}" and shared.category == ("research" if (ROUNDS - 1) % 2 else "commercial")
    conflicts = [c for _, seen, _ in outcomes for c in seen]
    assert len(conflicts) == ROUNDS  # the second saver of each round, on the title only
    for name, seen, other in outcomes:
        for group, field, ours, theirs in seen:
            assert (group, field) == ("SHARED", "title") and ours.startswith(name) and theirs.startswith(other)
    assert "# edited by both" in path.read_text()


# -- big groups stay diffable (issue 10, item 8) -----------------------------------------------

_BIG_IPS = [f"203.0.{i // 250}.{i % 250 + 1}" for i in range(240)]


def _lines_changed(before: str, after: str) -> tuple[int, int]:
    """(lines removed, lines added) of a unified diff."""
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
    added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
    return removed, added


def test_a_240_member_group_is_written_in_short_lines_and_one_more_member_is_a_small_diff(tmp_path):
    path = tmp_path / "labels.yaml"
    store = LabelsStore(path, now=lambda: T0)
    store.add(Group("BIG", verdict="collaborative", members=_BIG_IPS, ports=[80, 443],
                    scans=[Scan(80, dt.date(2024, 2, 6), tuple(_BIG_IPS)), Scan(443, dt.date(2024, 2, 7), tuple(_BIG_IPS[:3]))]))
    store.save()
    text = path.read_text()
    assert max(map(len, text.splitlines())) <= document.WRAP_WIDTH + 2  # before: scan lines of ~3,300 characters
    assert 20 <= len(text.splitlines()) <= 100  # wrapped flow lists: not one line, not one line per IP
    assert "  - {port: 443, day: 2024-02-07, sources: [203.0.0.1, 203.0.0.2, 203.0.0.3]}\n" in text  # a short scan: one line
    assert LabelsStore.load(path).groups == store.groups

    store = LabelsStore.load(path, now=lambda: T0)
    store.add_members("BIG", ["198.51.100.7"])
    store.save()
    after = path.read_text()
    assert _lines_changed(text, after) == (1, 1)  # the last line of the members list
    store = LabelsStore.load(path, now=lambda: T0)
    store.record_scan("BIG", 8080, dt.date(2024, 2, 8), _BIG_IPS[:2], add_members=False)
    store.save()
    removed, added = _lines_changed(after, path.read_text())
    assert added >= 1 and removed <= 1  # the new scan's line, and the ports line


_big_scan = st.builds(Scan, port=st.integers(0, 65535), day=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)),
                      sources=st.lists(_ip, min_size=0, max_size=300).map(tuple))


@st.composite
def _big_group(draw, gid):
    return Group(gid, verdict="collaborative", members=draw(st.lists(st.one_of(_ip, _cidr()), min_size=1, max_size=300)),
                 ports=draw(st.lists(st.integers(0, 65535), max_size=80)), scans=draw(st.lists(_big_scan, max_size=3)),
                 tags=draw(st.lists(_word | _tricky, max_size=30)), title=draw(st.none() | _text | _tricky))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_big_groups_round_trip_exactly_in_short_lines(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "labels.yaml"
        path.write_text(ORIGINAL)
        store = LabelsStore.load(path, now=lambda: T0)
        big = data.draw(_big_group("BIG"))
        store.add(big)
        store.update("AK01", members=data.draw(st.lists(_ip, min_size=1, max_size=300)))
        expected = store.groups
        store.save()
        assert LabelsStore.load(path).groups == expected
        text = path.read_text()
        # lists of IPs (members, a scan's sources) are wrapped; a title or a long quoted tag may be long by itself
        for line in text.splitlines():
            if re.fullmatch(r"\s+(- \{port: \d+, day: [\d-]+, sources: \[|members: \[)?[\d./]+(, [\d./]+)*[,\]}]*", line):
                assert len(line) <= document.WRAP_WIDTH + 2, line
        store = LabelsStore.load(path, now=lambda: T0)
        store.add_members("BIG", ["198.51.100.255"])
        expected = store.groups
        store.save()
        assert LabelsStore.load(path).groups == expected
