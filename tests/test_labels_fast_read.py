"""Reading a labels file fast gives exactly what the whole round-trip parse gives.

The values read with libyaml (:mod:`scantui.labels.fast_read`) and a teammate's
save read item by item (:mod:`scantui.labels.stitch`) are checked against
``check_labels(document.parse(text))`` on random files: comments, quoting
styles, flow and block lists, scalars whose type YAML 1.1 and 1.2 read
differently, hand formatting, broken files (the same error, with its line).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scantui.errors import InputError
from scantui.labels import LabelsStore, document
from scantui.labels.fast_read import read_data
from scantui.labels.session import LabelSession
from scantui.labels.store import check_file_sources, read_snapshot
from scantui.labels.validate import LabelsInvalid, check_labels, plain
from test_labels_save_bytes import EDITS, HANDS, T0, _edit, hand_format, reference_bytes, written_by_writer_n

#: Scalars whose value depends on the YAML version, the parser, or the quoting.
TRICKY = ["010", "0o17", "0x1F", "0b11", "1_000", "+5", "-0", "-7", "0", "12", "1e3", "1.5", "-2.25", ".5", "1.", ".inf", "-.inf",
          ".nan", "yes", "No", "on", "OFF", "y", "n", "true", "False", "TRUE", "null", "Null", "~", "", "2024-02-30", "2024-02-06",
          "2024-2-6", "2026-11-21T10:00:00Z", "2026-11-21 10:00:00", "2026-11-21T10:00:00+02:00", "2026-11-21t10:00:00.5-05",
          "2026-11-21T10:00:00.123456Z", "12:30", "1:20:30", "=", "<<", "a: b", "#x", "x #y", "x#y", "@x", "`x", "%x", "!x",
          "!!str 5", "&a x", "*a", "| x", "> x", "-", "- x", "?", "? x", ": x", "[a]", "{a: 1}", "a, b", "a,b", "'q'", '"dq"',
          "it's", "tab\tx", "nel\x85x", "ls\u2028x", "bom\ufeffx", "ctrl\x07", "snow \u2603", "\U0001f600", "trail ", " lead",
          "two\nlines", "ends\n", "192.0.2.1", "010.0.0.1", "10.0.0.0/24", "10.0.0.1/24", "G01", "collaborative"]


def _scalar(value: str, style: int, indent: str) -> str:
    if style == 0:
        return value.replace("\n", " ")  # plain: whatever the parsers make of it
    if style == 1:
        return "'" + value.replace("'", "''").replace("\n", "\n\n") + "'"
    if style == 2:
        return json.dumps(value)
    if style == 3:
        body = value if value.endswith("\n") else value + "\n"
        return "|" + ("" if value.endswith("\n") else "-") + "\n" + "".join(indent + "  " + line + "\n" for line in body[:-1].split("\n"))[:-1]
    return ">-\n" + indent + "  " + value.replace("\n", " ")




@st.composite
def stamps(draw) -> str:
    """Dates and times as people and tools write them, valid or not, near the calendar's ends too."""
    text = "-".join(draw(st.sampled_from(parts)) for parts in (["2024", "1970", "0001", "9999", "12345"], ["01", "1", "12", "13", "00"],
                                                               ["01", "1", "28", "29", "31", "00"]))
    if draw(st.booleans()):
        text += draw(st.sampled_from(["T", "t", " ", "  "])) + ":".join(
            draw(st.sampled_from(parts)) for parts in (["0", "00", "9", "23", "24"], ["00", "59", "60", "5"], ["00", "59", "60", "5"]))
        if draw(st.booleans()):
            text += "." + draw(st.text("0123456789", min_size=1, max_size=10))
        text += draw(st.sampled_from(["", "Z", "z", " Z", "+02:00", "-05", " -5", "+5:30", "+0530", "-12:00", "+14:00", "+24:00"]))
    return text


#: Number-like words: signs, exponents, bases, underscores, sexagesimals, in any order.
NUMBERISH = st.text("0123456789-+:._eExXoObB", min_size=1, max_size=10)
SCALAR = st.tuples(st.one_of(st.sampled_from(TRICKY), stamps(), NUMBERISH), st.integers(0, 4))
KEYS = st.sampled_from(["id", "title", "verdict", "category", "members", "ports", "asns", "tags", "notes", "created", "updated",
                        "created_by", "extra", "score", "when", "seen", "flag"])


@st.composite
def labels_texts(draw) -> str:
    """A labels file: random groups (valid or not) in random styles, with comments and blank lines."""
    lines = []
    if draw(st.booleans()):
        lines.append("# the team's labels")
    lines.append(draw(st.sampled_from(["scantui_labels: 1", "scantui_labels: 1   # version", "scantui_labels: '1'", "scantui_labels: 2"])))
    if draw(st.integers(0, 4)) == 0:
        lines.append("owner: " + _scalar(*draw(SCALAR), ""))
    off = draw(st.sampled_from([2, 0]))
    dash, key = " " * off, " " * (off + 2)
    for block, attr in (("groups", "id"), ("sources", "ip")):
        if block == "sources" and draw(st.booleans()):
            continue
        lines.append(block + ":" + draw(st.sampled_from(["", "", "   # the list"])))
        for i in range(draw(st.integers(0, 4))):
            if draw(st.integers(0, 3)) == 0:
                lines.append(draw(st.sampled_from([f"{dash}# item {i}", "", "# at the edge"])))
            ident = f"G{i:02d}" if attr == "id" else f"192.0.2.{i}"
            first = f"{dash}- {attr}: " + draw(st.sampled_from([ident, f"'{ident}'", f'"{ident}"', ident + "   # id"]))
            lines.append(first)
            if attr == "id":
                lines.append(f"{key}verdict: " + draw(st.sampled_from(["collaborative", "unsure", "'unsure'", "maybe"])))
                members = draw(st.lists(st.sampled_from(["192.0.2.1", "192.0.2.2", "10.0.0.0/24", "010.0.0.1", "10.0.0.1/24", "x"]),
                                        min_size=0, max_size=3, unique=True))
                if draw(st.booleans()):
                    lines.append(f"{key}members: [{', '.join(members)}]")
                else:
                    lines.append(f"{key}members:" + "".join(f"\n{key}  - {m}" for m in members))
                if draw(st.booleans()):
                    port = draw(st.sampled_from(["80", "080", "0x50", '"80"']))
                    day = draw(st.sampled_from(["2024-02-06", "2024-02-30", "2024-2-6", '"2024-02-06"']))
                    lines.append(f"{key}scans:\n{key}  - {{port: {port}, day: {day}, sources: [{', '.join(members[:1])}]}}")
            for _ in range(draw(st.integers(0, 4))):
                name = draw(KEYS)
                value, style = draw(SCALAR)
                if draw(st.integers(0, 5)) == 0:
                    lines.append(f"{key}{name}: [{_scalar(value, min(style, 2), key)}, {_scalar(*draw(SCALAR)[:1], 0, key)}]")
                elif draw(st.integers(0, 5)) == 0:
                    lines.append(f"{key}{name}:\n{key}  deep: {{k: [{_scalar(value, min(style, 2), key)}]}}")
                else:
                    lines.append(f"{key}{name}: {_scalar(value, style, key)}" + draw(st.sampled_from(["", "", "  # why"])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n# the end\n"]))


def _whole(text: str, name: str = "f"):
    """What the whole round-trip parse gives: (groups, sources, problems), or the error's text."""
    return _parsed(text, name)[1]


def _parsed(text: str, name: str = "f"):
    """(the round-trip tree or None, :func:`_whole`'s answer): one parse for both (checking reads the tree only)."""
    try:
        doc = document.parse(text, name)
    except InputError as exc:
        return None, str(exc)
    return doc, check_labels(doc)


def _error(text: str, name: str) -> str:
    """The error reading *text* gives, by the whole parse (as before the fast read)."""
    whole = _whole(text, name)
    return whole if isinstance(whole, str) else str(LabelsInvalid(whole[2], path=name))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=labels_texts())
# found by a CI run: a time without a zone is UTC in the round-trip values (plain); the fast read left it naive
@example(text="scantui_labels: 1\ngroups:\nsources:\n  - ip: 192.0.2.1\n    id:\n      deep: {k: [2026-11-21 10:00:00]}\n")
@example(text="scantui_labels: 1\ncreated: 2026-11-21T10:00:00+02:00\ngroups:\n")
# times UTC cannot hold (year 10000 or 0 there): the round-trip values keep them as written, and so does the fast read
@example(text="scantui_labels: 1\nwhen: 9999-12-31T23:00:00-05\ngroups:\n")
@example(text="scantui_labels: 1\ngroups:\n  - id: G1\n    verdict: unsure\n    extra: {k: [0001-01-01 00:30:00 +01:00]}\n")
# signs and underscores alone match ruamel's int pattern, and its int reader failed on them: text, as YAML 1.2 says
@example(text="scantui_labels: 1\nwhen: [-_, 0x_, +__]\ngroups:\n")
def test_the_fast_read_gives_the_round_trip_values_or_declines(text):
    doc, whole = _parsed(text)
    values = read_data(text)
    if values is not None:
        assert not isinstance(whole, str), whole  # what the round-trip parse refuses is never read fast as valid
        assert values == plain(doc)
        assert check_labels(values)[:2] == whole[:2] or check_labels(values)[2]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=labels_texts())
def test_reading_a_file_gives_the_whole_parse_groups_or_its_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fast") / "labels.yaml"
    path.write_text(text, encoding="utf-8")
    doc, whole = _parsed(text, str(path))
    if isinstance(whole, str) or whole[2]:
        with pytest.raises(InputError) as raised:
            read_snapshot(path)
        assert str(raised.value) == _error(text, str(path))
        if not isinstance(whole, str):
            assert check_file_sources(path) == whole  # every problem, with its line
        return
    snap = read_snapshot(path)
    assert (snap.groups, snap.sources) == whole[:2]
    assert check_file_sources(path) == whole
    assert plain(snap.doc) == plain(doc)  # the tree, built when first used


def test_a_time_utc_cannot_hold_is_a_problem_at_its_line(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups:\n  - id: G1\n    verdict: unsure\n    members: [192.0.2.1]\n"
                    "    created: 9999-12-31T23:00:00-05\n    title: -_\n")
    with pytest.raises(InputError) as raised:
        read_snapshot(path)
    assert str(raised.value) == f"{path}: line 6: groups[0].created: 9999-12-31T23:00:00-05:00 is outside the years 1-9999 in UTC"
    path.write_text(path.read_text().replace("created: 9999-12-31T23:00:00-05", "created: 9999-12-31T23:00:00Z"))
    group = read_snapshot(path).groups[0]
    assert group.title == "-_" and group.created == dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone.utc)


def _counting(monkeypatch) -> list[int]:
    parsed: list[int] = []
    parse = document.parse
    monkeypatch.setattr(document, "parse", lambda text, name: parsed.append(len(text)) or parse(text, name))
    return parsed


def test_opening_and_listing_do_not_parse_round_trip(tmp_path, monkeypatch):
    path = tmp_path / "labels.yaml"
    written_by_writer_n(path, 40)
    parsed = _counting(monkeypatch)
    store = LabelsStore.load(path)
    assert check_file_sources(path)[0] == store.groups and len(store) == 40
    assert parsed == []
    store.prepare()  # the tree a save needs
    assert parsed == [len(path.read_text())]


def test_a_teammates_save_is_parsed_only_where_it_changed(tmp_path, monkeypatch):
    path = tmp_path / "labels.yaml"
    written_by_writer_n(path, 40)
    ana = LabelSession(LabelsStore.load(path, now=lambda: T0, author="ana"))
    ana.store.prepare()
    bob = LabelsStore.load(path, now=lambda: T0, author="bob")
    bob.update("G17", title="bob's title")
    bob.save()
    parsed = _counting(monkeypatch)
    ana.reload()
    size = len(path.read_text())
    assert ana.store.get("G17").title == "bob's title" and ana.store.groups == read_snapshot(path).groups
    assert parsed and max(parsed) < size / 10  # G17 alone
    ana.store.set_verdict("G03", "collaborative")
    previous = path.read_bytes()
    ana.store.save()
    assert max(parsed) < size / 3  # nor the save after it
    assert path.read_bytes() == reference_bytes(previous, ana.store.groups, ana.store.sources)


@pytest.mark.parametrize("off", [2, 0])
# 10 examples a run (each a teammate's save of up to ~10 edits read again: 1-3 s), the suite's slowest property; the
# reread itself is drawn 200 times above and the saves' bytes in test_labels_save_bytes.py
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hand=HANDS, theirs=EDITS, ours=EDITS, by_hand=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 999)), max_size=3))
def test_a_teammates_save_read_item_by_item_is_the_whole_parse(tmp_path_factory, off, hand, theirs, ours, by_hand):
    """Random hand formatting, a teammate's random saves (and hand edits) read again by an open session: the same
    groups and notes as a whole parse, and its next save writes the reference's bytes."""
    path = tmp_path_factory.mktemp("stitch") / "labels.yaml"
    written_by_writer_n(path, 10, off)
    path.write_text(hand_format(path.read_text(), hand, off))
    ana = LabelSession(LabelsStore.load(path, now=lambda: T0, author="ana"))
    ana.store.prepare()
    bob = LabelsStore.load(path, now=lambda: T0, author="bob")
    for _who, batch in theirs:
        for op, pick, text in batch:
            _edit(bob, op, pick, text)
        bob.save()
    if by_hand:
        path.write_text(hand_format(path.read_text(), by_hand, off))
    ana.reload()
    fresh = read_snapshot(path)
    assert ana.store.groups == fresh.groups and ana.store.sources == fresh.sources
    assert ana.store.groups == check_labels(document.parse(path.read_text(), "f"))[0]
    for _who, batch in ours:
        for op, pick, text in batch:
            _edit(ana.store, op, pick, text)
        previous = path.read_bytes()
        result = ana.store.save()
        data = path.read_bytes()
        assert data == (reference_bytes(previous, ana.store.groups, ana.store.sources) if result.written else previous)


def test_a_broken_save_by_a_teammate_is_the_same_error(tmp_path):
    path = tmp_path / "labels.yaml"
    written_by_writer_n(path, 5)
    ana = LabelSession(LabelsStore.load(path, now=lambda: T0, author="ana"))
    ana.store.prepare()
    text = path.read_text()
    for broken in (text.replace("verdict: unsure", "verdict: maybe", 1), text.replace("- id: G03", "- id: G01", 1),
                   text.replace("    title: group 2", "    title: [group 2", 1)):
        path.write_text(broken)
        with pytest.raises(InputError) as raised:
            ana.reload()
        assert str(raised.value) == _error(broken, str(path)) and "line" in str(raised.value)
    path.write_text(text)
    ana.reload()
    assert ana.store.groups == read_snapshot(Path(path)).groups and ana.store.get("G00").created is not None
    assert isinstance(ana.store.get("G00").created, dt.datetime)
