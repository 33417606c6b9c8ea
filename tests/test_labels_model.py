"""The labels model: group values, membership, and validation messages with file, line and field."""

from __future__ import annotations

import datetime as dt
import ipaddress
import textwrap

import pytest

from scantui.errors import InputError
from scantui.labels import Group, LabelsInvalid, LabelsStore, Scan, check_file, parse_member
from scantui.labels.model import NO_MEMBERS

UTC = dt.timezone.utc

VALID = """\
# shared labels
scantui_labels: 1
groups:
  - id: AK01
    title: AKAMAI-01
    verdict: collaborative        # collaborative | not_collaborative | unsure
    category: other               # research | commercial | other | unknown
    members: [192.0.2.10, 192.0.2.11, 198.51.100.0/28]
    ports: [8080, 8081]
    asns: [63949]
    scans:                        # the evidence the analyst confirmed
      - {port: 8080, day: 2024-02-06, sources: [192.0.2.10, 192.0.2.11]}
    tags: [hosting]
    notes: |
      one covers 5/6, the other 1/6
    created: 2026-11-21T10:00:00Z
    updated: 2026-11-21T10:05:00Z
"""


def write(tmp_path, text, name="labels.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text) if text.startswith("\n") else text)
    return path


def problems_of(tmp_path, text):
    _, problems = check_file(write(tmp_path, text))
    return [(p.line, p.field, p.why) for p in problems]


def test_contract_example_loads_into_values(tmp_path):
    group = LabelsStore.load(write(tmp_path, VALID)).get("AK01")
    assert group.title == "AKAMAI-01" and group.verdict == "collaborative" and group.category == "other"
    assert group.members == ("192.0.2.10", "192.0.2.11", "198.51.100.0/28")
    assert group.ports == (8080, 8081) and group.asns == (63949,) and group.tags == ("hosting",)
    assert group.scans == (Scan(8080, dt.date(2024, 2, 6), ("192.0.2.10", "192.0.2.11")),)
    assert group.notes == "one covers 5/6, the other 1/6\n"
    assert group.created == dt.datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    assert group.to_dict()["updated"] == "2026-11-21T10:05:00Z"


def test_contains_honours_cidrs_and_exposes_integer_ranges():
    group = Group("G", members=["192.0.2.10", "198.51.100.0/28", "10.0.0.0/8"])
    assert group.contains("192.0.2.10") and not group.contains("192.0.2.11")
    assert group.contains("198.51.100.15") and not group.contains("198.51.100.16")
    assert group.contains(int(ipaddress.IPv4Address("10.200.1.1")))
    assert group.contains(ipaddress.IPv4Address("10.0.0.0"))
    assert group.member_ranges == ((int(ipaddress.IPv4Address("192.0.2.10")), 32), (int(ipaddress.IPv4Address("198.51.100.0")), 28), (10 << 24, 8))
    assert Group("all", members=["0.0.0.0/0"]).contains("255.255.255.255")


def test_members_are_canonical_and_host_bits_are_an_error():
    assert parse_member("192.0.2.1/32") == "192.0.2.1/32"
    assert parse_member("198.51.100.0/28") == "198.51.100.0/28"
    with pytest.raises(ValueError, match=r"did you mean 198\.51\.100\.0/28"):
        parse_member("198.51.100.5/28")
    for bad in ("10.0.0.300", "2001:db8::1", "", " 10.0.0.1", "10.0.0.0/33", "010.0.0.1"):
        with pytest.raises(ValueError):
            parse_member(bad)


def test_group_rejects_bad_values_and_drops_duplicates():
    assert Group("G", members=["10.0.0.1", "10.0.0.1"], ports=[80, 80], tags=["a", "a"]).members == ("10.0.0.1",)
    for bad in ({"verdict": "yes"}, {"category": "evil"}, {"ports": [70000]}, {"ports": [True]}, {"members": ["x"]}, {"title": 3}):
        with pytest.raises(ValueError):
            Group("G", **{"members": ["10.0.0.1"], **bad})
    with pytest.raises(ValueError):
        Group(" G", members=["10.0.0.1"])


def test_times_are_kept_in_utc():
    group = Group("G", members=["10.0.0.1"], created=dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    assert group.created == dt.datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert Group("G", members=["10.0.0.1"], updated=dt.datetime(2026, 1, 1)).updated.tzinfo == UTC


# -- validation: one case each, with line and field ----------------------------------

CASES = [
    ("bad member", """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [10.0.0.1, 10.0.0.300]
""", (5, "groups[0].members[1]", "bad IP or CIDR '10.0.0.300'")),
    ("host bits", """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members:
      - 10.0.0.1
      - 198.51.100.5/28
""", (7, "groups[0].members[1]", "host bits set in '198.51.100.5/28' (did you mean 198.51.100.0/28?)")),
    ("duplicate id", """\
scantui_labels: 1
groups:
  - {id: A, verdict: unsure, members: [10.0.0.1]}
  - id: A
    verdict: unsure
    members: [10.0.0.1]
""", (4, "groups[1].id", "duplicate id 'A' (first at line 3)")),
    ("missing required", """\
scantui_labels: 1
groups:
  - id: A
    members: [10.0.0.1]
""", (3, "groups[0].verdict", "missing (required)")),
    ("bad verdict", """\
scantui_labels: 1
groups:
  - id: A
    verdict: maybe
    members: [10.0.0.1]
""", (4, "groups[0].verdict", "bad verdict 'maybe' (one of collaborative, not_collaborative, unsure)")),
    ("bad category", """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    category: evil
    members: [10.0.0.1]
""", (5, "groups[0].category", "bad category 'evil' (one of research, commercial, other, unknown)")),
    ("bad port", """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [10.0.0.1]
    ports: [80, 65536]
""", (6, "groups[0].ports[1]", "bad port 65536 (0-65535)")),
    ("bad time", """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [10.0.0.1]
    updated: last tuesday
""", (6, "groups[0].updated", "bad time 'last tuesday' (ISO 8601 UTC like 2026-11-21T10:00:00Z)")),
    ("bad scan day", """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [10.0.0.1]
    scans:
      - {port: 80, day: 2024-02-30, sources: []}
""", (7, "groups[0].scans[0].day", "bad day '2024-02-30' (a date like 2024-02-06)")),
    ("bad scan source", """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [10.0.0.1]
    scans:
      - port: 80
        day: 2024-02-06
        sources: [10.0.0.1, 10.0.0.0/24]
""", (9, "groups[0].scans[0].sources[1]", "bad IP address '10.0.0.0/24'")),
    ("id not text", """\
scantui_labels: 1
groups:
  - id: 17
    verdict: unsure
    members: [10.0.0.1]
""", (3, "groups[0].id", "id must be text (put 17 in quotes)")),
    ("members not a list", """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: 10.0.0.1
""", (5, "groups[0].members", "must be a list")),
    ("duplicate member", """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [10.0.0.1, 10.0.0.1]
""", (5, "groups[0].members[1]", "duplicate of groups[0].members[0]")),
    ("missing version", """\
groups: []
""", (1, "scantui_labels", "missing; add 'scantui_labels: 1' at the top")),
    ("wrong version", """\
scantui_labels: 2
groups: []
""", (1, "scantui_labels", "unsupported version 2 (this scantui reads version 1)")),
    ("group not a mapping", """\
scantui_labels: 1
groups:
  - just a string
""", (3, "groups[0]", "must be a mapping (id, verdict, members, ...)")),
    ("not a mapping", """\
- a
- b
""", (1, "", "not a labels file: the top level must be a mapping with 'scantui_labels: 1' and 'groups:'")),
    ("empty file", "", (None, "", "empty file; a labels file starts with 'scantui_labels: 1'")),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_names_line_and_field(tmp_path, text, expected):
    assert problems_of(tmp_path, text) == [expected]
    with pytest.raises(LabelsInvalid) as err:
        LabelsStore.load(tmp_path / "labels.yaml")
    line, field, why = expected
    where = f"line {line}: " if line else ""
    assert err.value.message == f"{tmp_path / 'labels.yaml'}: {where}{field + ': ' if field else ''}{why}"
    assert err.value.exit_code == 2 and "\n" not in err.value.message


def test_every_problem_is_listed_and_the_message_counts_the_rest(tmp_path):
    text = """\
scantui_labels: 1
groups:
  - id: A
    verdict: nope
    members: [1.2.3.4.5]
    ports: [-1]
"""
    assert [p[:2] for p in problems_of(tmp_path, text)] == [(4, "groups[0].verdict"), (5, "groups[0].members[0]"), (6, "groups[0].ports[0]")]
    with pytest.raises(LabelsInvalid, match=r"and 2 more problems"):
        LabelsStore.load(tmp_path / "labels.yaml")


def test_columns_are_known_for_editors(tmp_path):
    _, problems = check_file(write(tmp_path, "scantui_labels: 1\ngroups:\n  - {id: A, verdict: unsure, members: [1.2.3.4, bad]}\n"))
    assert (problems[0].line, problems[0].column) == (3, 49)  # 1-based: the "b" of "bad"


def test_unreadable_files_are_one_line_input_errors(tmp_path):
    cases = {
        "syntax.yaml": ("scantui_labels: 1\ngroups:\n  - id: A\n    verdict: [unsure\n", r"line \d+: YAML syntax error"),
        "dupkey.yaml": ("scantui_labels: 1\nscantui_labels: 1\n", r"line 2: YAML syntax error: .*duplicate key"),
        "latin1.yaml": (b"scantui_labels: 1\n# caf\xe9\n", r"line 2: not UTF-8 text"),
    }
    for name, (content, pattern) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        for load in (check_file, LabelsStore.load):
            with pytest.raises(InputError, match=pattern) as err:
                load(path)
            assert "\n" not in err.value.message and err.value.message.startswith(str(path))
    with pytest.raises(InputError, match="no such file"):
        check_file(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="is a folder"):
        LabelsStore.load(tmp_path)


def test_untrusted_values_are_escaped_in_messages(tmp_path):
    text = 'scantui_labels: 1\ngroups:\n  - id: A\n    verdict: "\\e[31mred"\n    members: [10.0.0.1]\n'
    [(_, _, why)] = problems_of(tmp_path, text)
    assert "\x1b" not in why and "\\x1b[31mred" in why


def test_quoted_times_and_days_are_accepted(tmp_path):
    text = """\
scantui_labels: 1
groups:
  - id: A
    verdict: unsure
    members: [10.0.0.1]
    scans: [{port: 1, day: '2024-02-06', sources: []}]
    created: '2026-11-21T10:00:00+01:00'
"""
    group = LabelsStore.load(write(tmp_path, text)).get("A")
    assert group.created == dt.datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert group.scans[0].day == dt.date(2024, 2, 6)


# -- one rule for the file, the store and the edit form (issue 10, item 6) ---------------------


def test_a_group_without_members_is_refused_by_the_file_the_model_and_the_store(tmp_path):
    text = "scantui_labels: 1\ngroups:\n  - id: A\n    verdict: unsure\n    members: []   # emptied by hand\n"
    assert problems_of(tmp_path, text) == [(5, "groups[0].members", NO_MEMBERS)]
    with pytest.raises(ValueError, match="at least one member"):
        Group("A")
    store = LabelsStore(tmp_path / "new.yaml")
    store.add(Group("A", members=["10.0.0.1", "10.0.0.2"]))
    with pytest.raises(InputError, match="at least one member"):
        store.remove_members("A", ["10.0.0.1", "10.0.0.2"])
    with pytest.raises(InputError, match="at least one member"):
        store.update("A", members=())


# each case: the fields as in the file, then as typed in the edit form
RULES = [
    ("no members", {"members": []}, {"members": ""}),
    ("a member", {"members": ["10.0.0.1"]}, {"members": "10.0.0.1"}),
    ("host bits", {"members": ["10.0.0.1/24"]}, {"members": "10.0.0.1/24"}),
    ("a CIDR", {"members": ["10.0.0.0/24"]}, {"members": "10.0.0.0/24"}),
    ("not an IP", {"members": ["10.0.0.300"]}, {"members": "10.0.0.300"}),
    ("IPv6", {"members": ["2001:db8::1"]}, {"members": "2001:db8::1"}),
    ("port 0", {"ports": [0]}, {"ports": "0"}),
    ("port 65535", {"ports": [65535]}, {"ports": "65535"}),
    ("port 65536", {"ports": [65536]}, {"ports": "65536"}),
    ("port -1", {"ports": [-1]}, {"ports": "-1"}),
    ("port text", {"ports": ["http"]}, {"ports": "http"}),
    ("verdicts", {"verdict": "collaborative"}, {"verdict": "collaborative"}),
    ("bad verdict", {"verdict": "maybe"}, {"verdict": "maybe"}),
    ("bad category", {"category": "evil"}, {"category": "evil"}),
]


@pytest.mark.parametrize("file_fields, form_fields", [c[1:] for c in RULES], ids=[c[0] for c in RULES])
def test_the_edit_form_and_validate_accept_and_refuse_the_same(tmp_path, file_fields, form_fields):
    from ruamel.yaml import YAML

    from scantui.tui.screens.edit_group import form_changes

    doc = {"scantui_labels": 1, "groups": [{"id": "A", "verdict": "unsure", "members": ["10.0.0.9"], **file_fields}]}
    path = tmp_path / "labels.yaml"
    with path.open("w") as out:
        YAML().dump(doc, out)
    file_problems = check_file(path)[1]
    group = Group("A", members=["10.0.0.9"])
    form = {"title": "", "verdict": "unsure", "category": None, "members": "10.0.0.9", "ports": "", "tags": "", "notes": "",
            **form_fields}
    try:
        form_changes(group, **form)
        form_error = None
    except ValueError as exc:
        form_error = str(exc)
    assert (form_error is None) == (file_problems == []), (form_error, file_problems)
    if form_error:
        assert file_problems[0].why == form_error  # the same words too


def test_the_form_leaves_a_field_it_cannot_show_exactly_alone():
    from scantui.tui.screens.edit_group import form_changes, form_texts

    group = Group("A", members=["10.0.0.9"], title="  padded ", tags=("two words", "x,y"), notes="kept\n")
    unchanged = {**form_texts(group), "verdict": "unsure", "category": None}
    assert form_changes(group, **unchanged) == {}
    assert form_changes(group, **{**unchanged, "verdict": "collaborative"}) == {"verdict": "collaborative"}
