"""The query bar's parser and compiler (no Textual): terms, combination, errors, untrusted text."""

from __future__ import annotations

import ipaddress

import polars as pl
import pytest

from scantui.analysis.query import QueryError, compile_query, parse_query

from collabbuild import candidate, group


@pytest.fixture
def state(tiny_state):
    return tiny_state


def matches(state, text: str, *, resolver=True) -> set[str]:
    frame = state.scanners.frame
    compiled = compile_query(parse_query(text), frame, state.sources_on_ports if resolver else None,
                             state.sources_on_days if resolver else None)
    rows = frame.filter(compiled.expr) if compiled.expr is not None else frame
    return {str(ipaddress.IPv4Address(s)) for s in rows["src"].to_list()}


def test_each_key_filters_its_column(state):
    assert matches(state, "tool:zmap") == {"192.0.2.10", "192.0.2.11"}
    assert matches(state, "port:443") == {"192.0.2.10", "192.0.2.11"}
    assert matches(state, "port:8000-8005") == {"203.0.113.5"}
    assert matches(state, "192.0.2.0/24") == {"192.0.2.10", "192.0.2.11"}
    assert matches(state, "198.51.100.7") == {"198.51.100.7"}
    assert matches(state, "src:203.0.113.0/28") == {"203.0.113.5", "203.0.113.9"}
    assert matches(state, "as:64501") == matches(state, "as:AS64501") == {"198.51.100.7"}
    assert matches(state, "as:example-cloud") == {"203.0.113.5"}
    assert matches(state, "cat:research") == {"192.0.2.10", "192.0.2.11"}
    assert matches(state, "cat:unknown") == {"203.0.113.9"}
    assert matches(state, "range:wide") == {"203.0.113.5"}
    assert matches(state, "host:scan2") == {"192.0.2.11"}
    assert matches(state, "ports>=40") == {"203.0.113.5"}
    assert matches(state, "days=4") == {"192.0.2.10", "203.0.113.9"}


def test_same_key_ors_different_keys_and(state):
    assert matches(state, "port:443 port:3389") == {"192.0.2.10", "192.0.2.11", "203.0.113.9"}
    assert matches(state, "port:443,3389") == matches(state, "port:443 port:3389")
    assert matches(state, "port:443,3389 tool:zmap") == {"192.0.2.10", "192.0.2.11"}
    assert matches(state, "port:443 cat:commercial") == set()
    assert matches(state, "-tool:zmap port:443,3389") == {"203.0.113.9"}
    assert matches(state, "!cat:research tool:zmap") == set()
    assert matches(state, "") == matches(state, "   ") and len(matches(state, "")) == 5


def test_without_port_index_ports_match_top_ports(state):
    frame = state.scanners.frame
    compiled = compile_query(parse_query("port:443"), frame)
    assert any("top ports" in n for n in compiled.notes)
    assert matches(state, "port:443", resolver=False) == {"192.0.2.10", "192.0.2.11"}


def test_text_matches_literally_never_as_regex_or_markup(state):
    assert matches(state, 'as:"[bold red]evil"') == {"198.51.100.7"}
    assert matches(state, "evil") == {"198.51.100.7"}
    assert matches(state, "as:(.*") == set()  # a regex metacharacter is just text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("foo:bar", "unknown key 'foo'"),
        ("port:99999", "bad port range"),
        ("port:abc", "bad port"),
        ("tool:zzz", "unknown tool 'zzz'"),
        ("range:huge", "unknown range"),
        ("443", "bare number is ambiguous"),
        ('as:"unclosed', "unreadable query"),
        ("packets>lots", "is not a number"),
        ("color>3", "cannot compare 'color'"),
        ("1.2.3.400", "not an IPv4 address"),
        ("tool:", "no value"),
    ],
)
def test_bad_terms_name_the_problem(text, says):
    with pytest.raises(QueryError, match=None) as err:
        parse_query(text)
    assert says in str(err.value)


def test_terms_on_missing_enrichment_match_nothing_with_a_note():
    frame = pl.DataFrame({"src": [1, 2], "asn": [None, None], "as_name": [None, None], "tool": ["zmap", "other"]},
                         schema_overrides={"src": pl.UInt32, "asn": pl.UInt32, "as_name": pl.String})
    compiled = compile_query(parse_query("as:14061"), frame)
    assert frame.filter(compiled.expr).height == 0
    assert any("no asn" in n for n in compiled.notes)


# ------------------------------------------------------------ candidates and groups: the same syntax, their keys


CANDIDATE = candidate(port=8080, day="2024-02-06", key_text="198.18.5.0/24", asn=14061, also_keys=("AS14061",),
                      sources=("198.18.5.7", "198.18.5.9"), timing="sequential", score=61.5)
_MEMBERS = ("80.82.77.130", "80.82.77.131", "80.82.77.132")
GROUP = group([candidate(port=6379, day="2024-02-03", sources=_MEMBERS, key_text="80.82.77.0/24", asn=202425),
               candidate(port=9200, day="2024-02-12", sources=_MEMBERS, key_text="80.82.77.0/24", asn=202425),
               *[candidate(port=9200, day=f"2024-02-0{d}", sources=_MEMBERS, key_text="80.82.77.0/24", asn=202425)
                 for d in (5, 7)]],
              group_id="S03", asns=(202425,), score=80.0)


def record_match(text: str, record, review: str = "new") -> bool:
    from scantui.analysis.query import RECORD_FIELDS, filter_records

    return filter_records(parse_query(text, RECORD_FIELDS), [record], [(review, [])]) == [0]


def test_candidate_and_group_filters_share_the_syntax():
    example = "port:8080 as:14061 198.18.5.0/24 day:2024-02-06 timing:sequential review:new"
    assert record_match(example, CANDIDATE) and not record_match(example, CANDIDATE, "labelled")
    assert record_match("port:80,8000-8100", CANDIDATE) and not record_match("port:443", CANDIDATE)
    assert record_match("ip:198.18.5.9", CANDIDATE) and not record_match("198.18.6.0/24", CANDIDATE)
    assert record_match("as:AS14061", CANDIDATE) and not record_match("as:13335", CANDIDATE)
    assert record_match("day:2024-02-05,2024-02-06", CANDIDATE) and not record_match("day:2024-02-05", CANDIDATE)
    assert record_match("n>=2 score>60", CANDIDATE) and not record_match("n>2", CANDIDATE)
    assert record_match("198.18.5", CANDIDATE)  # a bare word: the key
    assert record_match("-timing:parallel", CANDIDATE) and not record_match("!review:new", CANDIDATE)
    # groups: any of their ports, members, days, ASes; the scans' comparisons leave them alone
    assert record_match("port:9200 80.82.77.0/24 day:2024-02-12 as:202425 timing:parallel", GROUP)
    assert record_match("scans>3 ips=3 n>100", GROUP) and not record_match("scans>4", GROUP)
    assert record_match("s03", GROUP) and not record_match("port:80", GROUP)
    for review, wanted in (("same", "review:same"), ("same_ips", "review:todo"), ("unsure", "review:reviewed"),
                           ("rejected", "review:rejected"), ("labelled", "review:labelled,rejected")):
        assert record_match(wanted, GROUP, review), (review, wanted)
    assert not record_match("review:todo", GROUP, "labelled")


@pytest.mark.parametrize("text, message", [
    ("tool:zmap", "unknown key 'tool' (one of: port src as day seen timing review label sensor tag note)"),
    ("day:06-02-2024", "is not a day"),
    ("timing:fast", "unknown timing 'fast'"),
    ("review:maybe", "unknown review 'maybe'"),
    ("packets>3", "cannot compare 'packets'"),
])
def test_candidate_filter_errors_name_the_term(text, message):
    from scantui.analysis.query import RECORD_FIELDS

    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_query(text, RECORD_FIELDS)
    assert parse_query("tool:zmap")  # the scanner list keeps its keys


# ------------------------------------------------------------ days and spans (issue 14)

def test_day_and_seen_terms_on_the_scanner_list(state):
    """The tiny data: 192.0.2.10 and 203.0.113.9 every day of 03-01..03-04, 192.0.2.11 on 03-01 and 03-03,
    198.51.100.7 on 03-02 and 03-03, 203.0.113.5 on 03-04."""
    every = {"192.0.2.10", "203.0.113.9"}
    assert matches(state, "day:2024-03-02") == every | {"198.51.100.7"}
    assert matches(state, "day:2024-03-02", resolver=False) == every | {"198.51.100.7", "192.0.2.11"}  # first..last
    assert matches(state, "day:2024-03-04..") == matches(state, "day:2024-03-04") == every | {"203.0.113.5"}
    assert matches(state, "day:..2024-03-01") == every | {"192.0.2.11"}
    assert matches(state, "day:2024-03-02..2024-03-03") == every | {"198.51.100.7", "192.0.2.11"}
    assert matches(state, "day:2024-03-01,2024-03-04") == every | {"192.0.2.11", "203.0.113.5"}
    assert matches(state, "-day:2024-03-04") == {"192.0.2.11", "198.51.100.7"}
    assert matches(state, "seen:>2024-03-03") == matches(state, "seen:>=2024-03-04") == every | {"203.0.113.5"}
    assert matches(state, "seen:<2024-03-02") == matches(state, "seen<2024-03-02") == every | {"192.0.2.11"}
    assert matches(state, "seen:2024-03-02..2024-03-02") == every | {"198.51.100.7", "192.0.2.11"}
    assert matches(state, "seen:2024-03-05..") == set()
    assert matches(state, "day:2024-03-02 port:443") == {"192.0.2.10"}


def test_day_and_seen_terms_on_candidates_and_groups():
    assert record_match("day:2024-02-05..2024-02-09", CANDIDATE) and record_match("day:..2024-02-06", CANDIDATE)
    assert not record_match("day:2024-02-07..", CANDIDATE) and record_match("day:2024-02-07..,2024-02-06", CANDIDATE)
    # the group's days: 02-03, 02-05, 02-07, 02-12
    assert record_match("day:2024-02-04..2024-02-05", GROUP) and not record_match("day:2024-02-08..2024-02-11", GROUP)
    assert record_match("seen:2024-02-08..2024-02-11", GROUP)  # active over its whole span
    assert record_match("seen:>2024-02-11", GROUP) and not record_match("seen:>2024-02-12", GROUP)
    assert record_match("seen:<2024-02-04", GROUP) and not record_match("seen:<2024-02-03", GROUP)
    assert not record_match("seen:>2024-02-06", CANDIDATE) and record_match("seen:<=2024-02-06", CANDIDATE)


def test_label_term_matches_the_labelled_group_id_or_title():
    from scantui.analysis.query import RECORD_FIELDS, filter_records

    def hit(text, labels):
        return filter_records(parse_query(text, RECORD_FIELDS), [GROUP], [("labelled", labels)]) == [0]

    labels = [("G01", "Mirai botnet, Feb"), ("G07", None)]
    assert hit("label:G01", labels) and hit("label:g07", labels) and hit("label:mirai", labels)
    assert hit("label:G02,G07", labels) and not hit("label:G02", labels) and not hit("label:G0", labels)
    assert not hit("label:G01", []) and hit("-label:G01", [])


def test_tag_and_note_terms_match_a_members_source_note():
    """``tag:`` (exactly, any case) and ``note:`` (text contains) match a candidate or group when a member's note in
    the labels file's sources: does; without notes nothing matches (and the negation everything)."""
    import ipaddress

    from scantui.analysis.query import RECORD_FIELDS, filter_records
    from scantui.labels.model import Source

    notes = {int(ipaddress.IPv4Address(ip)): Source(ip, tags=tags, note=note) for ip, tags, note in (
        ("80.82.77.131", ("Mirai",), "Same TTL as the pool"), ("198.51.100.1", ("cdn",), None))}

    def hit(text, record, sources=notes):
        return filter_records(parse_query(text, RECORD_FIELDS), [record], [("new", [])], sources) == [0]

    assert hit("tag:mirai", GROUP) and hit("note:ttl", GROUP) and hit('note:"same ttl"', GROUP)
    assert not hit("tag:mir", GROUP) and not hit("tag:cdn", GROUP) and not hit("tag:mirai", CANDIDATE)
    assert hit("-tag:cdn", GROUP) and not hit("-note:pool", GROUP) and hit("tag:cdn,mirai port:9200", GROUP)
    assert not hit("tag:mirai", GROUP, None) and hit("-tag:mirai", GROUP, {})
    assert filter_records(parse_query("tag:mirai", RECORD_FIELDS), [CANDIDATE, GROUP], [("new", [])] * 2, notes) == [1]


@pytest.mark.parametrize("text, message", [
    ("day:2024-02-09..2024-02-05", "day:2024-02-09..2024-02-05: the span ends before it starts"),
    ("day:..", "day:..: '..' needs a day on at least one side"),
    ("seen:>02/10/2024", "seen:>02/10/2024: '02/10/2024' is not a day"),
    ("day:2024-02-31", "day:2024-02-31: '2024-02-31' is not a day"),
    ("seen!=2024-02-10", "cannot compare 'seen'"),
])
def test_day_terms_errors_name_the_term(text, message):
    from scantui.analysis.query import RECORD_FIELDS

    for fields in (RECORD_FIELDS, None):
        with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_query(text, fields) if fields else parse_query(text)


def test_the_syntax_is_documented_once_readme_and_help_from_the_same_text():
    from pathlib import Path

    from scantui.analysis.query_help import QUERY_HELP, RECORD_QUERY_HELP
    from scantui.tui.screens.candidates import CandidatesScreen
    from scantui.tui.screens.scanners import ScannersScreen

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "## Query syntax" in readme and QUERY_HELP in readme and RECORD_QUERY_HELP in readme
    assert ScannersScreen.HELP.endswith(QUERY_HELP) and CandidatesScreen.HELP.endswith(RECORD_QUERY_HELP)
