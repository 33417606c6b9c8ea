"""The candidates' and groups' query (:mod:`scantui.analysis.query_records`, behind
:func:`scantui.analysis.query.filter_records`) keeps exactly the records the per-record Python filter scantui had
before keeps (``record_oracle.py``): random queries over random records."""

from __future__ import annotations

import datetime as dt
import ipaddress

import polars as pl
from collabbuild import candidate, group
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scantui.analysis.collab_types import SensorCover
from record_oracle import filter_records as python_filter

from scantui.analysis.query import RECORD_FIELDS, QueryError, filter_records, parse_query, with_span
from scantui.analysis.query_records import filter_record_fields, matching_rows, record_fields, with_reviews
from scantui.labels.model import Source

IPS = ("192.0.2.1", "192.0.2.77", "198.51.100.9", "203.0.113.200", "10.1.2.3")
DAYS = tuple(f"2024-02-{d:02d}" for d in (3, 5, 6, 9))
TITLES = {"G01": "Mirai pool", "g02": "Census ASN", "R01": None}
WORDS = ("new", "same", "same_ips", "labelled", "unsure", "rejected")
NOTES = {int(ipaddress.IPv4Address(ip)): Source(ip, tags=tags, note=note) for ip, tags, note in (
    ("192.0.2.77", ("Mirai", "cdn"), "Same TTL as the pool"), ("203.0.113.200", ("bench",), None),
    ("10.1.2.3", (), "noisy"))}

TERMS = (
    "port:443", "port:80-443", "p:22,8080", "src:192.0.2.0/24", "198.51.100.9", "ip:10.0.0.0/8,203.0.113.0/25",
    "as:14061", "as:AS202425", "as:as1", "asn:census", "day:2024-02-05", "day:..2024-02-05", "day:2024-02-06..",
    "day:2024-02-04..2024-02-08", "seen:>2024-02-05", "seen<=2024-02-05", "seen:2024-02-09", "timing:parallel",
    "timing:sequential,mixed", "review:new", "review:same", "review:reviewed", "review:todo,rejected",
    "label:G01", "label:g02", "label:mirai", "label:pool,r01", "tag:mirai", "tag:cdn,bench", "note:ttl",
    "note:noisy", "sensor:east", "sensor:WEST,north", "n>=2", "n<3", "scans>1", "ips!=2", "score>=50",
    "score<40.5", "score=90", "score!=90", "sources>1", "n>nan", "score<=nan", "192.0.2", "zmap", "as2", "s0",
    '""', "/24",
)


def _record(draw, i: int):
    n = draw(st.integers(1, 3))
    sources = tuple(sorted(set(draw(st.lists(st.sampled_from(IPS), min_size=n, max_size=n))),
                           key=lambda s: int(ipaddress.IPv4Address(s))))
    sensors = draw(st.lists(st.sampled_from(("East", "west", "north")), max_size=2, unique=True))
    return candidate(port=draw(st.sampled_from((22, 80, 443, 8080, 9200))), day=draw(st.sampled_from(DAYS)),
                     sources=sources, key_text=draw(st.sampled_from(("192.0.2.0/24", "AS14061", "AS202425"))),
                     asn=draw(st.sampled_from((None, 0, 14061, 1))),
                     also_keys=tuple(draw(st.lists(st.sampled_from(("AS1", "198.51.100.0/24")), max_size=2, unique=True))),
                     timing=draw(st.sampled_from(("parallel", "sequential", "mixed"))),
                     score=draw(st.sampled_from((90.0, 40.5, 12.0, 50, float("nan")))),
                     sensor_cover=tuple(SensorCover(s, 5, 10, draw(st.booleans())) for s in sensors))


@st.composite
def cases(draw):
    records = []
    for i in range(draw(st.integers(0, 6))):
        scans = [_record(draw, i) for _ in range(draw(st.integers(1, 2)))]
        if draw(st.booleans()):
            records.extend(scans)
        else:
            records.append(group(scans, group_id=f"S{i:02d}", asns=tuple(draw(st.lists(st.sampled_from((14061, 1, 3)), max_size=2))),
                                 timing=draw(st.sampled_from((None, scans[0].timing)))))
    reviews = [(draw(st.sampled_from(WORDS)), [(g, TITLES[g] or "") for g in draw(st.lists(st.sampled_from(sorted(TITLES)), max_size=2, unique=True))])
               for _ in records]
    terms = draw(st.lists(st.tuples(st.booleans(), st.sampled_from(TERMS)), max_size=4))
    text = " ".join(("-" if neg and t != '""' else "") + (f'"{t}"' if " " in t else t) for neg, t in terms)
    span = draw(st.sampled_from((None, (None, None), (dt.date(2024, 2, 5), None), (None, dt.date(2024, 2, 5)))))
    notes = draw(st.sampled_from((None, {}, NOTES)))
    return records, reviews, text, span, notes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_vectorised_filter_keeps_exactly_what_the_python_filter_keeps(case):
    records, reviews, text, span, notes = case
    try:
        query = with_span(parse_query(text, RECORD_FIELDS), span)
    except QueryError:
        return
    want = python_filter(query, records, reviews, notes)
    assert filter_record_fields(query, records, reviews, notes) == want, text
    assert filter_records(query, records, reviews, notes) == want, text  # the CLI's and the watch's path


def test_a_query_that_reads_no_column_keeps_every_record_or_none():
    """``-tag:x`` / ``-note:x`` with no source notes is a literal true: every record, not the first only (found by
    the property test above); none of an empty list."""
    records = [candidate(port=443, sources=("192.0.2.77",)), candidate(port=80, day="2024-02-09"), candidate(port=22)]
    reviews = [("new", [])] * 3
    for notes in (None, {}):
        for text in ("-tag:mirai", "-note:ttl", "-tag:mirai -note:x port:1-65535"):
            query = parse_query(text, RECORD_FIELDS)
            assert filter_record_fields(query, records, reviews, notes) == [0, 1, 2], text
            assert filter_records(query, records, reviews, notes) == [0, 1, 2], text
            assert filter_record_fields(query, [], [], notes) == [], text
        assert filter_record_fields(parse_query("tag:mirai", RECORD_FIELDS), records, reviews, notes) == []


def test_the_tuis_frame_of_reviews_gives_the_same_rows():
    """:func:`with_reviews` (the TUI's path: the review cells' words and ids, titles by id) as the Python filter."""
    scans = [candidate(port=443, sources=("192.0.2.77",)), candidate(port=80, day="2024-02-09", asn=14061)]
    records = [*scans, group(scans, group_id="S07")]
    reviews = [("labelled", [("G01", "Mirai pool")]), ("new", []), ("same_ips", [("R01", ""), ("g02", "Census ASN")])]
    frame = with_reviews(record_fields(records), pl.Series([w for w, _ in reviews]),
                         pl.Series([[g for g, _ in p] for _, p in reviews]), TITLES)
    for text in ("label:mirai", "label:census", "label:r01", "review:todo", "-review:same tag:cdn", "as:14061 port:80",
                 "scans>1", "n<2 seen:2024-02-09", "s07", ""):
        query = parse_query(text, RECORD_FIELDS)
        got = pl.arg_where(matching_rows(query, frame, NOTES), eager=True).to_list()
        assert got == python_filter(query, records, reviews, NOTES), text
    assert filter_records(parse_query("label:mirai", RECORD_FIELDS), records, reviews) == [0]
