"""The candidates area's filter over the records' fields (session 10): :func:`shown_frames` keeps the rows the
Python filter keeps, from the review cells and the fields built once per list of records (no Pilot app)."""

from __future__ import annotations

import ipaddress

from collabbuild import candidate, group

from record_oracle import filter_records

from scantui.analysis.query import RECORD_FIELDS, parse_query, review_of, with_span
from scantui.labels.model import Source
from scantui.tui.screens.candidates_filter import list_fields, shown_frames
from scantui.tui.screens.candidates_frames import candidate_frame, group_frame

SCANS = [candidate(sources=("192.0.2.10", "192.0.2.11"), port=443, day="2024-03-01", asn=14061, score=95.0),
         candidate(sources=("203.0.113.5",), port=3389, day="2024-03-04", key_text="AS202425", score=80.0),
         candidate(sources=("192.0.2.10",), port=3306, day="2024-03-02", timing="sequential", score=70.0)]
GROUPS = [group(SCANS[:2], group_id="S01", asns=(14061,)), group(SCANS[2:], group_id="S02")]
MATCHES = {0: ("labelled", [{"id": "G01", "verdict": "collaborative"}]), 1: ("new", []),
           2: ("same_ips", [{"id": "G02", "verdict": "unsure"}, {"id": "G01", "verdict": "collaborative"}])}
TITLES = {"G01": "alpha pair", "G02": "Beta Other"}
NOTES = {int(ipaddress.IPv4Address("192.0.2.11")): Source("192.0.2.11", tags=("Mirai",), note="same TTL")}


def _review(record):
    return MATCHES[SCANS.index(record) if record in SCANS else GROUPS.index(record)]


def test_shown_rows_are_the_python_filters_rows():
    import datetime as dt

    records = {"groups": GROUPS, "candidates": SCANS}
    frames = {"groups": group_frame(GROUPS, _review), "candidates": candidate_frame(SCANS, _review)}
    fields = {name: list_fields(recs, None) for name, recs in records.items()}
    assert list_fields(SCANS, fields["candidates"]) is fields["candidates"]  # the same records: built once
    assert list_fields(list(SCANS), fields["candidates"]) is not fields["candidates"]
    texts = ("port:3306", "label:beta", "label:g01 -review:same", "review:todo", "tag:mirai", "note:ttl as:14061",
             "scans>1", "n<2", "timing:sequential,parallel 192.0.2.0/24", "-s01", "as2024", "")
    for hide in (False, True):
        for text in texts:
            for span in (None, (dt.date(2024, 3, 2), None)):
                query = with_span(parse_query(text, RECORD_FIELDS), span)
                shown = shown_frames(frames, {n: f[1] for n, f in fields.items()}, hide_reviewed=hide,
                                     query=query if query else None, titles=TITLES, notes=NOTES)
                for name, recs in records.items():
                    reviews = [review_of(*_review(r), TITLES) for r in recs]
                    want = filter_records(query, recs, reviews, NOTES)
                    if hide:
                        want = [i for i in want if reviews[i][0] in ("new", "same")]
                    assert sorted(shown[name]["idx"].to_list()) == want, (name, text, span, hide)


def test_the_lists_frames_are_built_as_polars_builds_them_from_rows():
    """The rows frames, built a column at a time, equal polars' own frame of the same rows (every cell, dtype)."""
    import polars as pl

    from scantui.tui.screens.candidates_frames import _rows_frame

    for frame in (group_frame(GROUPS, _review, lambda r: "1 · cdn" if r is GROUPS[0] else None),
                  candidate_frame(SCANS, _review), group_frame([], _review)):
        rows = frame.to_dicts()
        assert _rows_frame(rows, frame.schema).equals(pl.DataFrame(rows, schema=frame.schema), null_equal=True)
        assert _rows_frame(rows, frame.schema).schema == frame.schema
    assert group_frame(GROUPS, _review)["review"].struct.field("labels").to_list() == [["G01"], []]


def test_a_labels_change_redoes_the_review_and_notes_cells_only():
    """:func:`relabelled` (the rows after a labels change, the same records) equals a whole new build."""
    from scantui.tui.screens.candidates_frames import relabelled

    def after(record):  # every row now rejected as R01
        return "rejected", [{"id": "R01", "verdict": "not_collaborative"}]

    def notes(record):
        return "2 · cdn" if record is SCANS[1] else None

    for build, records in ((group_frame, GROUPS), (candidate_frame, SCANS), (candidate_frame, [])):
        before = build(records, _review)
        assert relabelled(before, records, after, notes).equals(build(records, after, notes), null_equal=True)
        assert relabelled(before, records, _review).equals(before, null_equal=True)
