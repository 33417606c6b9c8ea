"""A labels save writes exactly the bytes of the save before it kept the file's parse (a frozen reference of that path).

The store keeps the tree it read or wrote and parses the file again only when
its bytes changed; the line merge skips its diff when the file is as ruamel
writes it. :func:`reference_bytes` is the save's rendering as it was before
(parse the file, patch, splice with the full line diff, read back): every save
of random edits by two analysts on one file must write those bytes, and each
must still see the other's changes. A file scantui wrote is saved by splicing
only the changed groups and notes into its text (:mod:`scantui.labels.splice`):
the draws reach it (first/last group, removals, new groups, notes added and
removed, several edits in one save), and it must write those same bytes.
A hand-formatted file (random comments and layout anywhere) is spliced around the change when a window
proves it (:mod:`scantui.labels.local_splice`): every save must write the reference's bytes too.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scantui.errors import InputError
from scantui.labels import Group, LabelsStore, document, line_merge, splice
from scantui.labels.model import Scan, Source
from scantui.labels.store import read_snapshot
from scantui.labels.validate import check_labels, plain

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 12, 1, 8, 30, tzinfo=UTC)

HAND = """\
\ufeff# Labels shared by the team.
scantui_labels: 1
owner: "research group"   # kept
groups:
  - id: AK01
    title: AKAMAI-01
    verdict: collaborative        # a comment
    members: [192.0.2.10, 192.0.2.11, 198.51.100.0/28]
    ports: [8080,
            8081]                 # wrapped by hand
    scans:
      - {port: 8080, day: 2024-02-06, sources: [192.0.2.10, 192.0.2.11]}
    notes: |
      one covers 5/6
  # a pool
  - id: 'DO25'
    verdict: unsure
    members:
      - 10.0.0.1
      - 10.0.0.0/24   # the pool
    notes: "quoted, with [bold]markup[/bold] and 'quotes'"
sources:
  - ip: 192.0.2.10
    note: noisy
"""

HOSTILE = ["plain", "a: b", "- x", "# not a comment", "'q'", '"dq"', "two\nlines", "  lead", "tab\there", "[red]x[/red]",
           "\x1b[31mred", "snow \u2603 \U0001f600", "?x", ": x", "nel\x85", "ends \n", "{a: 1}", "&anchor *alias", "%TAG"]


#: What each writer below left the first time (the file and its sidecars: suffix, bytes, mode), by its arguments:
#: the same arguments write the same bytes (fixed clock and authors), so later calls (a Hypothesis example each)
#: put those files in a fresh folder instead of adding, rendering and reading back every group again.
_WRITTEN: dict[tuple[Any, ...], list[tuple[str, bytes, int]]] = {}


def _as_written(path: Path, key: tuple[Any, ...], write) -> None:
    """``write(path)``, or the files it left for *key* the first time (when *path* has none of its own yet)."""
    def own() -> list[Path]:
        return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name)) if path.parent.is_dir() else []

    if own():  # (a folder holding the file or a sidecar already: written as asked)
        write(path)
        return
    if key not in _WRITTEN:
        write(path)
        _WRITTEN[key] = [(p.name[len(path.name):], p.read_bytes(), p.stat().st_mode & 0o777) for p in own()]
        return
    for suffix, data, mode in _WRITTEN[key]:
        target = path.with_name(path.name + suffix)
        target.write_bytes(data)
        target.chmod(mode)


def written_by_writer(path: Path) -> None:
    _as_written(path, ("writer",), _written_by_writer)


def _written_by_writer(path: Path) -> None:
    store = LabelsStore.load(path, now=lambda: T0, author="w")
    for i in range(6):
        ips = tuple(f"10.1.{i}.{k}" for k in range(3))
        store.add(Group(f"G{i:02d}", title=f"group {i}", verdict="unsure", members=ips, ports=(80 + i,),
                        scans=(Scan(80 + i, dt.date(2024, 2, 1 + i), ips[:2], {}),), notes="two\nlines" if i % 2 else None))
    store.set_source("10.1.0.0", tags=("noisy",), note="seen")
    store.save()


#: The text :func:`reference_bytes` last returned and its parse (the read back it checked): a run of saves passes
#: that text back as the next save's *previous*, and its parse is taken instead of parsing the same text again
#: (the parse is a pure function of the text; the tree is used once, then patched).
_LAST_READ: dict[str, Any] = {}


def reference_bytes(previous: bytes, groups: list[Group], sources: list[Source]) -> bytes:
    """What the save wrote for *groups*/*sources* over a file holding *previous*, before this session's change."""
    text = document.decode(previous, "f")
    doc = _LAST_READ.pop(text, None)
    _LAST_READ.clear()
    if doc is None:
        doc = document.parse(text, "f")
    top = plain({k: v for k, v in doc.items() if k not in ("groups", "sources")})
    layout = document.Layout.guess(text)
    before = document.dump(doc, layout)
    document.patch_document(doc, groups, sources, text)
    after = document.dump(doc, layout)
    spliced = "".join(line_merge.merge_by_diff(text.splitlines(True), before.splitlines(True), after.splitlines(True)))
    for candidate in ([spliced, after] if spliced != after else [after]):
        try:
            back = document.parse(candidate, "f")
        except InputError:
            continue
        g, s, problems = check_labels(back)
        if not problems and g == groups and s == sources and plain({k: v for k, v in back.items() if k not in ("groups", "sources")}) == top:
            _LAST_READ[candidate] = back
            return (("\ufeff" if previous.startswith("\ufeff".encode()) else "") + candidate).encode()
    raise AssertionError("the reference would not write")


def _edit(store: LabelsStore, op: int, pick: int, text: str) -> None:
    ids = store.ids
    gid = ids[pick % len(ids)] if ids else None
    try:
        if op == 0 and gid:
            store.set_verdict(gid, ("collaborative", "not_collaborative", "unsure")[pick % 3])
        elif op == 1 and gid:
            store.update(gid, notes=text)
        elif op == 2 and gid:
            store.update(gid, title=text)
        elif op == 3 and gid:
            store.add_members(gid, [f"203.0.113.{pick % 250}"])
        elif op == 4:
            store.add(Group(f"N{pick:03d}", title=text, verdict="unsure", members=(f"198.18.0.{pick % 250}",)))
        elif op == 5 and len(ids) > 1:
            store.remove(gid)
        elif op == 6:
            store.set_source(f"192.0.2.{pick % 4 + 10}", note=text or None, tags=("t",) if pick % 2 else ())
        elif op == 7 and gid:
            store.record_scan(gid, 443, dt.date(2024, 3, 1 + pick % 28), [f"203.0.113.{pick % 250}"])
        elif op == 8 and ids:  # the first or the last group
            store.update(ids[-(pick % 2)], notes=text, title=f"renamed {pick}")
        elif op == 9 and len(ids) > 1:  # the last or the first group removed
            store.remove(ids[-1 + pick % 2])
        elif op == 10 and len(ids) > 1:  # one group folded into another: a change and a removal
            store.merge(ids[pick % len(ids)], ids[(pick + 1) % len(ids)])
        elif op == 11:
            store.set_source(f"10.1.{pick % 3}.0", note=None, tags=())  # a source note removed (when there is one)
    except (InputError, ValueError):
        pass  # an edit the model refuses (an id taken, text a field cannot hold): nothing changed


#: Saves in turn: (analyst, the edits before the save: one, or many at once).
EDITS = st.lists(st.tuples(st.integers(0, 1), st.lists(st.tuples(st.integers(0, 11), st.integers(0, 999), st.sampled_from(HOSTILE)),
                                                       min_size=1, max_size=4)), min_size=1, max_size=8)


@pytest.mark.parametrize("start", ["hand", "writer"])
@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
# found by a CI run: each analyst removes one of the hand file's two groups, the second under "# a pool"
@example(edits=[(0, [(9, 1, "plain")]), (1, [(9, 0, "plain")])])
def test_two_analysts_saves_write_the_reference_bytes_and_merge(tmp_path_factory, start, edits):
    path = tmp_path_factory.mktemp("save") / "labels.yaml"
    if start == "hand":
        path.write_bytes(HAND.encode())
    else:
        written_by_writer(path)
    stores = [LabelsStore.load(path, now=lambda: T0, author=who) for who in ("ana", "bob")]
    for who, batch in edits:
        store, other = stores[who], stores[1 - who]
        for op, pick, text in batch:
            _edit(store, op, pick, text)
        previous = path.read_bytes()
        result = store.save()
        data = path.read_bytes()
        if result.written:  # the reference is the text that reads back to the store's groups and sources
            assert data == reference_bytes(previous, store.groups, store.sources)
        else:
            assert data == previous
            fresh = read_snapshot(path)
            assert store.groups == fresh.groups and store.sources == fresh.sources  # the store holds what is on disk
        assert not other.dirty  # the other analyst's next save merges from the disk
    # both stores end with the same groups once each saved again (nothing lost, nothing mixed)
    for store in stores:
        store.save()
    stores[0].save()
    assert stores[0].groups == stores[1].groups == read_snapshot(path).groups


def test_the_last_group_removed_under_a_comment_line_saves_an_empty_list(tmp_path):
    """A file's last group removed where a comment line heads it: ``groups: []``, read back with no group, the other
    comments and the source notes kept (the comment went before the ``[]``: not saved, "a scantui bug")."""
    path = tmp_path / "labels.yaml"
    path.write_bytes(HAND.encode())
    store = LabelsStore.load(path, now=lambda: T0, author="ana")
    store.remove("AK01")
    store.save()
    assert "  # a pool\n  - id: 'DO25'" in path.read_text(encoding="utf-8-sig")
    store.remove("DO25")
    assert store.save().written
    text = path.read_text(encoding="utf-8-sig")
    fresh = read_snapshot(path)
    assert fresh.groups == [] and [s.ip for s in fresh.sources] == ["192.0.2.10"]
    assert "groups: []\n" in text and 'owner: "research group"   # kept' in text and "# Labels shared" in text


def test_a_save_parses_the_file_again_only_when_its_bytes_changed(tmp_path, monkeypatch):
    path = tmp_path / "labels.yaml"
    path.write_bytes(HAND.encode())
    ana = LabelsStore.load(path, now=lambda: T0, author="ana")
    bob = LabelsStore.load(path, now=lambda: T0, author="bob")
    ana.prepare(), bob.prepare()  # (the tree a save needs: reading the file leaves it for its first use)
    parsed: list[str] = []
    parse = document.parse
    monkeypatch.setattr(document, "parse", lambda text, name: parsed.append(text) or parse(text, name))

    def saved(store: LabelsStore) -> Any:
        parsed.clear()
        before = path.read_text(encoding="utf-8-sig")
        result = store.save()
        # the window of items around the change (here both groups) and its read back: never the file itself
        assert len(parsed) == 2 and not {before, path.read_text(encoding="utf-8-sig")} & set(parsed)
        assert store.rendered_by == "item_merge"
        return result

    ana.set_verdict("AK01", "unsure")
    saved(ana)
    ana.set_verdict("DO25", "collaborative")
    saved(ana)
    # bob's store read the file before ana's saves: his save reads the changed file and merges ana's edits
    bob.update("AK01", title="bob's title")
    result = saved(bob)
    assert result.merged
    assert [g.verdict for g in bob.groups] == ["unsure", "collaborative"] and bob.get("AK01").title == "bob's title"
    # a hand edit of the file (same groups, a new comment) is read again and kept by ana's next save
    path.write_bytes(path.read_bytes().replace(b"# a pool", b"# a pool, by hand"))
    ana.set_verdict("DO25", "unsure")
    ana.save()
    text = path.read_text(encoding="utf-8-sig")
    assert "# a pool, by hand" in text and "bob's title" in text and "verdict: unsure" in text.split("DO25")[1]


def test_line_merge_shortcut_is_the_diff_merge(tmp_path):
    path = tmp_path / "labels.yaml"
    written_by_writer(path)
    text = path.read_text()
    lines = text.splitlines(True)
    edited = lines[:5] + ["    extra: 1\n"] + lines[5:9] + lines[10:]
    assert line_merge.merge_lines(lines, list(lines), edited) == line_merge.merge_by_diff(lines, list(lines), edited) == edited
    assert list(difflib.unified_diff(lines, edited))  # the edit is a real change


def test_a_save_of_a_writer_made_file_renders_and_reads_back_only_the_changed_groups(tmp_path, monkeypatch):
    path = tmp_path / "labels.yaml"
    written_by_writer(path)
    store = LabelsStore.load(path, now=lambda: T0, author="ana")
    store.prepare()  # (with the tree built the splices come first; without, the item merge: no tree needed)
    store.set_verdict("G00", "collaborative")
    store.save()  # spliced from the change's neighbourhood alone (scantui.labels.local_splice)
    assert store._kept.spliced
    parsed: list[int] = []
    dumped: list[int] = []
    parse, dump = document.parse, document.dump
    size = len(path.read_text())
    for change in (lambda: store.update("G05", notes="last\ngroup"), lambda: store.remove("G00"),
                   lambda: store.add(Group("N1", title="new", members=("198.18.0.1",))),
                   lambda: store.set_source("10.1.0.0", note="changed"), lambda: store.set_source("10.1.2.0", note="added")):
        previous = path.read_bytes()
        change()
        with monkeypatch.context() as m:
            m.setattr(document, "parse", lambda text, name: parsed.append(len(text)) or parse(text, name))
            m.setattr(document, "dump", lambda doc, layout: dumped.append(len(doc.get("groups", ()))) or dump(doc, layout))
            store.save()
        assert path.read_bytes() == reference_bytes(previous, store.groups, store.sources)
        assert store._kept.spliced
    # nothing but one-item documents was parsed or dumped: the changed groups and notes, not the file
    assert parsed and max(parsed) < size / 3 and set(dumped) <= {0, 1}
    assert read_snapshot(path).groups == store.groups and [s.ip for s in read_snapshot(path).sources] == ["10.1.0.0", "10.1.2.0"]


def test_a_splice_whose_item_would_not_read_back_falls_back_to_the_whole_file(tmp_path, monkeypatch):
    path = tmp_path / "labels.yaml"
    written_by_writer(path)
    store = LabelsStore.load(path, now=lambda: T0, author="ana")
    store.prepare()  # (with the tree built the splices come first; without, the item merge: no tree needed)
    store.set_verdict("G00", "collaborative")
    store.save()
    assert store._kept.spliced
    # the tree is patched, then the item is refused (both splices render items through splice.render_items)
    monkeypatch.setattr(splice, "read_back", lambda *args: None)
    previous = path.read_bytes()
    store.update("G01", notes="changed")
    store.remove("G03")
    store.save()
    assert path.read_bytes() == reference_bytes(previous, store.groups, store.sources)
    assert not store._kept.spliced and read_snapshot(path).groups == store.groups


def written_by_writer_n(path: Path, n: int, off: int = 2) -> None:
    """A file scantui wrote with *n* groups; its lists' dashes *off* columns in (0: ``groups:\n- id: G00``)."""
    _as_written(path, ("writer_n", n, off), lambda p: _written_by_writer_n(p, n, off))


def _written_by_writer_n(path: Path, n: int, off: int) -> None:
    store = LabelsStore.load(path, now=lambda: T0, author="w")
    for i in range(n):
        ips = tuple(f"10.1.{i}.{k}" for k in range(3 + i % 4))
        store.add(Group(f"G{i:02d}", title=f"group {i}", verdict="unsure", members=ips, ports=(80 + i,),
                        scans=tuple(Scan(80 + i, dt.date(2024, 2, 1 + (i + j) % 28), ips[:2], {}) for j in range(1 + i % 3)), notes="two\nlines" if i % 2 else None))
    for k in range(3):
        store.set_source(f"10.1.{k}.0", tags=("noisy",), note="seen")
    store.save()
    if off != 2:
        path.write_text(document.dump(document.parse(path.read_text(), "f"), document.Layout(2, off + 2, off)))


def hand_format(text: str, changes: list[tuple[int, int]], off: int = 2) -> str:
    """*text* (a file scantui wrote, dashes *off* columns in) with an analyst's hand formatting: comments, wrapped
    lists, odd spacing."""
    lines = text.splitlines(True)
    dash, key = " " * off, " " * (off + 2)
    for kind, pick in changes:
        starts = [k for k, line in enumerate(lines) if line.startswith(f"{dash}- ")]
        keyed = [k for k, line in enumerate(lines) if line.startswith((f"{key}title: ", f"{key}verdict: ", f"{key}ports: "))]
        lists = [k for k, line in enumerate(lines) if line.startswith(f"{key}members: [") and ", " in line]
        if kind == 0:
            lines.insert(starts[pick % len(starts)], f"{dash}# reviewed {pick}\n")  # a comment line between items
        elif kind == 1:
            k = keyed[pick % len(keyed)]
            lines[k] = lines[k].rstrip("\n") + f"   # why {pick}\n"
        elif kind == 2:
            k = keyed[pick % len(keyed)]
            lines[k] = lines[k].replace(": ", ":   ", 1)
        elif kind == 3 and lists:
            k = lists[pick % len(lists)]
            lines[k] = lines[k].replace(", ", ",\n" + " " * (off + 12), 1 + pick % 2)  # a list wrapped by hand
        elif kind == 4:
            lines.insert(starts[pick % len(starts)], "\n")
        elif kind == 5:
            lines.insert(0, f"# the team's labels ({pick})\n")
        elif kind == 6:  # a one-line plain title quoted (not a block scalar's header, nor a value going on below)
            k = keyed[pick % len(keyed)]
            value = lines[k][len(f"{key}title: "):]
            below = lines[k + 1] if k + 1 < len(lines) else ""
            if (lines[k].startswith(f"{key}title: ") and "'" not in lines[k] and value[:1] not in ("|", ">", '"')
                    and not below.startswith(key + " ")):
                lines[k] = lines[k].replace("title: ", "title: '", 1).rstrip("\n") + "'\n"
        elif kind == 7 and not any(line.startswith("owner:") for line in lines):
            lines.insert(1, f"owner: analyst {pick}   # kept\n")
        elif kind == 8:
            k = lines.index("groups:\n") if "groups:\n" in lines else 0
            lines[k] = lines[k].rstrip("\n") + "   # the groups\n"
    return "".join(lines)


def test_hand_formatting_quotes_only_one_line_plain_titles():
    """A title written as a block scalar (``|-`` and its lines) is left as it is: quoting its header alone broke the
    file (a Hypothesis draw of ``test_labels_fast_read``, where the test, not a save, wrote the bad YAML)."""
    text = "scantui_labels: 1\ngroups:\n  - id: G1\n    title: |-\n      two\n      lines\n  - id: G2\n    title: one\n"
    assert hand_format(text, [(6, 0)]) == text
    assert hand_format(text, [(6, 1)]) == text.replace("title: one", "title: 'one'")


HANDS = st.lists(st.tuples(st.integers(0, 8), st.integers(0, 999)), min_size=1, max_size=6)


@pytest.mark.parametrize("off", [2, 0])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hand=HANDS, edits=EDITS)
def test_a_hand_formatted_file_saves_the_reference_bytes(tmp_path_factory, off, hand, edits):
    """Random hand formatting and comments anywhere, random edits by two analysts: the saves that splice around the
    change (:mod:`scantui.labels.local_splice`) and those that render the whole file write the reference's bytes
    (lists indented under their key, or at its column)."""
    path = tmp_path_factory.mktemp("hand") / "labels.yaml"
    written_by_writer_n(path, 10, off)
    path.write_text(hand_format(path.read_text(), hand, off))
    stores = [LabelsStore.load(path, now=lambda: T0, author=who) for who in ("ana", "bob")]
    for who, batch in edits:
        store = stores[who]
        for op, pick, text in batch:
            _edit(store, op, pick, text)
        previous = path.read_bytes()
        result = store.save()
        data = path.read_bytes()
        assert data == (reference_bytes(previous, store.groups, store.sources) if result.written else previous)
        if not result.written:  # written: the reference is the text that reads back to the store's groups and sources
            fresh = read_snapshot(path)
            assert store.groups == fresh.groups and store.sources == fresh.sources
    for store in stores:
        store.save()
    assert stores[0].groups == read_snapshot(path).groups


@pytest.mark.parametrize("off", [2, 0])
def test_a_save_of_a_hand_formatted_file_renders_only_the_changed_group(tmp_path, monkeypatch, off):
    path = tmp_path / "labels.yaml"
    written_by_writer_n(path, 30, off)
    path.write_text(hand_format(path.read_text(), [(5, 0), (0, 3), (0, 17), (1, 40), (3, 8), (2, 70), (7, 1), (4, 25)], off))
    store = LabelsStore.load(path, now=lambda: T0, author="ana")
    store.prepare()  # (the tree a save needs: reading the file leaves it for its first use)
    size = len(path.read_text())
    parsed: list[int] = []
    dumped: list[int] = []
    parse, dump = document.parse, document.dump
    for change in (lambda: store.set_verdict("G12", "collaborative"), lambda: store.remove("G20"),
                   lambda: store.add(Group("N1", title="new", members=("198.18.0.1",))), lambda: store.update("G29", notes="last"),
                   lambda: store.set_source("10.1.1.0", note="changed")):
        previous = path.read_bytes()
        change()
        with monkeypatch.context() as m:
            m.setattr(document, "parse", lambda text, name: parsed.append(len(text)) or parse(text, name))
            m.setattr(document, "dump", lambda doc, layout: dumped.append(len(doc.get("groups", ()))) or dump(doc, layout))
            store.save()
        assert path.read_bytes() == reference_bytes(previous, store.groups, store.sources)
        assert store._kept.spliced
    # the first save after reading too: no whole-file dump, no whole-file parse
    assert parsed and max(parsed) < size / 3 and set(dumped) <= {0, 1}
    text = path.read_text()
    assert "# reviewed 3" in text and "# why 40" in text and "title: 'N1'" not in text and "\n" + " " * off + "- id: N1\n" in text
    # a change to a hand-formatted group renders the whole file, as before, with the same bytes
    hand = text[:text.index("# why 40")].rsplit("\n" + " " * off + "- id: ", 1)[1].split("\n")[0]  # the group holding that comment
    previous = path.read_bytes()
    store.update(hand, title="by hand")
    store.save()
    assert path.read_bytes() == reference_bytes(previous, store.groups, store.sources)
    assert not store._kept.spliced


def test_the_whole_file_fallback_renders_from_the_kept_tree_without_parsing_the_file_again(tmp_path, monkeypatch):
    """After a spliced save, a save the splices decline (a hand-formatted group; an item that would not read back)
    renders the whole file from the tree the store kept: the only whole-file parse is the written text's read back.
    (The item merge, which saves such a change from its window alone, declines here: what it cannot prove.)"""
    monkeypatch.setattr("scantui.labels.store.save_items", lambda *args: None)
    path = tmp_path / "labels.yaml"
    written_by_writer_n(path, 30)
    path.write_text(hand_format(path.read_text(), [(1, 40), (0, 3)]))
    store = LabelsStore.load(path, now=lambda: T0, author="ana")
    store.prepare()  # (with the tree built the splices come first; without, the item merge: no tree needed)
    store.set_verdict("G12", "collaborative")
    store.save()
    assert store._kept.spliced
    hand = path.read_text()[:path.read_text().index("# why 40")].rsplit("  - id: ", 1)[1].split("\n")[0]
    parse = document.parse
    for change, refuse in ((lambda: store.update(hand, title="by hand"), False), (lambda: store.set_verdict("G20", "unsure"), True),
                           (lambda: (store.remove("G25"), store.set_verdict("G21", "collaborative")), True)):
        size = len(path.read_text())
        previous = path.read_bytes()
        change()
        parsed: list[int] = []
        with monkeypatch.context() as m:
            m.setattr(document, "parse", lambda text, name: parsed.append(len(text)) or parse(text, name))
            if refuse:  # both splices render items through splice.read_back: the local one patches, then gives up
                m.setattr(splice, "read_back", lambda *args: None)
            store.save()
        assert path.read_bytes() == reference_bytes(previous, store.groups, store.sources)
        assert len([n for n in parsed if n > size / 2]) == 1, parsed
        assert read_snapshot(path).groups == store.groups
        store.set_verdict("G12", "unsure" if store.get("G12").verdict == "collaborative" else "collaborative")  # spliced again
        store.save()
        assert store._kept.spliced
