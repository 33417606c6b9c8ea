"""The labels file's word on scanner-list rows (:func:`scantui.workspace.source_notes.annotate_sources`) and the
query terms that read it: members through addresses and CIDR blocks, tags, notes, review states."""

from __future__ import annotations

import ipaddress

import polars as pl

from scantui.analysis.query import filter_scanners, parse_query
from scantui.labels import LabelsStore
from scantui.workspace.source_notes import annotate_sources

IPS = ["192.0.2.10", "192.0.2.11", "198.51.100.5", "203.0.113.9", "10.0.0.1"]


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"src": [int(ipaddress.IPv4Address(ip)) for ip in IPS], "packets": [5, 4, 3, 2, 1]},
                        schema={"src": pl.UInt32, "packets": pl.Int64})


def _store(tmp_path) -> LabelsStore:
    path = tmp_path / "labels.yaml"
    path.write_text(
        "scantui_labels: 1\ngroups:\n"
        "  - {id: G01, title: Mirai Pool, verdict: collaborative, members: [192.0.2.10, 198.51.100.0/24]}\n"
        "  - {id: R01, verdict: not_collaborative, members: [192.0.2.0/28, 192.0.2.10]}\n"
        "sources:\n  - {ip: 203.0.113.9, tags: [Benign], note: 'Univ: see the WEB page'}\n")
    return LabelsStore.load(path)


def _srcs(frame: pl.DataFrame) -> list[str]:
    return [str(ipaddress.IPv4Address(s)) for s in frame["src"].to_list()]


def test_annotate_groups_by_address_and_block(tmp_path):
    out = annotate_sources(_frame(), _store(tmp_path))
    assert out["src"].dtype == pl.UInt32 and out.columns[:2] == ["src", "packets"]
    assert out["src_label_ids"].to_list() == [["g01", "r01"], ["r01"], ["g01"], [], []]
    assert out["tags"].to_list() == [None, None, None, "Benign", None]
    assert out["note"].to_list()[3] == "Univ: see the WEB page"


def test_query_terms_on_the_annotated_list(tmp_path):
    frame = annotate_sources(_frame(), _store(tmp_path))
    got = lambda text: _srcs(filter_scanners(frame, parse_query(text))[0])  # noqa: E731
    assert got("label:G01") == ["192.0.2.10", "198.51.100.5"]
    assert got("label:mirai") == ["192.0.2.10", "198.51.100.5"]
    assert got("label:r01 -label:g01") == ["192.0.2.11"]
    assert got("tag:benign") == ["203.0.113.9"] and got("tag:ben") == []  # a tag is matched whole
    assert got("note:web") == ["203.0.113.9"] and got('note:"see the web"') == ["203.0.113.9"]
    assert got("review:new") == ["10.0.0.1"]
    assert got("review:labelled") == IPS[:3] and got("review:noted") == ["203.0.113.9"]
    assert got("review:reviewed") == IPS[:4]


def test_no_labels_file_every_source_is_new():
    frame = annotate_sources(_frame(), None)
    assert _srcs(filter_scanners(frame, parse_query("review:new"))[0]) == IPS
    assert filter_scanners(frame, parse_query("tag:x"))[0].height == 0
