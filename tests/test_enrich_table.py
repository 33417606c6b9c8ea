"""The enrichment table: building it, its rows per source and day, and every command using it when given as a PATH."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clihelp import SAMPLE, run
from scantui.enrich.answers import Answer
from scantui.enrich.build import build_table
from scantui.enrich.sources import Lookup, answers_frame
from scantui.enrich.table import TABLE_SCHEMA, expand, overlay
from scantui.io.schema import conform

D = dt.date


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def write_packets(path, ips_by_day: dict[int, list[str]], enrichment: dict[str, dict] | None = None, ports=(22, 80)):
    """Probes from each IP on each day of February 2024 (two ports each), with optional per-IP enrichment columns."""
    rows = []
    for day, ips in ips_by_day.items():
        for addr in ips:
            for i, port in enumerate(ports):
                rows.append({"ts": dt.datetime(2024, 2, day, 12, i, tzinfo=dt.timezone.utc), "src": ip(addr),
                             "dst": (198 << 24) | (18 << 16) | port, "proto": 6, "sport": 40000, "dport": port,
                             "tcp_flags": 2, **(enrichment or {}).get(addr, {})})
    frame = pl.DataFrame(rows, infer_schema_length=None)
    conform(frame.lazy()).collect().write_parquet(path)
    return path


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANTUI_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IPINFO_TOKEN", raising=False)


class FakeSource:
    """A source answering from a dict {ip: [(as_of, Answer)]}."""

    def __init__(self, name, answers, fields=("asn", "as_name", "country", "hostname", "company")):
        self.name, self.fields, self.answers, self.asked = name, fields, answers, []

    def lookup(self, ips):
        self.asked.append(sorted(ips))
        rows = [(i, d, a) for i in ips for d, a in self.answers.get(i, [])]
        return Lookup(answers_frame(rows))


def _active(pairs):
    return pl.LazyFrame({"src": [ip(a) for a, _ in pairs], "day": [d for _, d in pairs]},
                        schema={"src": pl.UInt32, "day": pl.Date})


# ---------------------------------------------------------------- building


def test_input_columns_are_kept_and_only_incomplete_sources_asked():
    active = _active([("1.2.3.4", D(2024, 2, 1)), ("5.6.7.8", D(2024, 2, 1))])
    known = pl.LazyFrame({"src": [ip("1.2.3.4")], "day": [D(2024, 2, 1)], "asn": [64500], "as_name": ["MINE"],
                          "country": ["DE"], "hostname": ["h.example"]},
                         schema_overrides={"src": pl.UInt32, "asn": pl.UInt32})
    src = FakeSource("fake", {ip("1.2.3.4"): [(D(2024, 3, 1), Answer(asn=1, as_name="THEIRS", company="Co"))],
                              ip("5.6.7.8"): [(D(2024, 3, 1), Answer(asn=2, as_name="OTHER"))]},
                     fields=("asn", "as_name", "country", "hostname"))
    table, report = build_table(active, known, [src])
    assert src.asked == [[ip("5.6.7.8")]]  # 1.2.3.4 is complete in the data
    rows = {r["src"]: r for r in table.iter_rows(named=True)}
    assert (rows[ip("1.2.3.4")]["asn"], rows[ip("1.2.3.4")]["source"]) == (64500, "input")
    assert (rows[ip("5.6.7.8")]["asn"], rows[ip("5.6.7.8")]["source"], rows[ip("5.6.7.8")]["as_of"]) == (2, "fake", D(2024, 3, 1))
    assert table.schema == TABLE_SCHEMA and report.looked_up == 1


def test_per_day_resolution_takes_the_nearest_answer_and_writes_a_row_where_it_changes():
    days = [D(2024, 2, d) for d in (1, 2, 3, 10, 11)]
    active = _active([("1.2.3.4", d) for d in days])
    src = FakeSource("mmdb:X", {ip("1.2.3.4"): [(D(2024, 2, 1), Answer(asn=100, as_name="OLD")),
                                               (D(2024, 2, 11), Answer(asn=200, as_name="NEW"))]})
    table, _ = build_table(active, None, [src])
    assert table.select("day", "asn", "as_of").rows() == [(D(2024, 2, 1), 100, D(2024, 2, 1)), (D(2024, 2, 10), 200, D(2024, 2, 11))]


def test_input_org_is_kept_as_input_and_a_rule_names_the_rest():
    active = _active([("162.142.125.10", D(2024, 2, 1)), ("9.9.9.9", D(2024, 2, 1))])
    known = pl.LazyFrame({"src": [ip("9.9.9.9")], "day": [D(2024, 2, 1)], "org": ["Quad9"], "category": ["other"]},
                         schema_overrides={"src": pl.UInt32})
    table, report = build_table(active, known, [])
    rows = {r["src"]: r for r in table.iter_rows(named=True)}
    assert (rows[ip("9.9.9.9")]["org"], rows[ip("9.9.9.9")]["rule"]) == ("Quad9", "input")
    assert rows[ip("162.142.125.10")]["rule"] == "cidr:162.142.125.0/24 → Censys (commercial)"
    assert report.identified == {"commercial": 1, "other": 1}


def test_expand_and_overlay_hold_a_row_from_its_day_and_prefer_the_data():
    t = pl.DataFrame({"src": [7, 7], "day": [D(2024, 2, 3), D(2024, 2, 5)], "asn": [1, 2], "org": [None, "X"],
                      "rule": [None, "asn:AS2 → X (other)"], "source": ["mmdb:a", "mmdb:a"]})
    table = pl.concat([pl.DataFrame(schema=TABLE_SCHEMA), t], how="diagonal_relaxed").lazy()
    active = pl.LazyFrame({"src": [7] * 5 + [8], "day": [D(2024, 2, d) for d in (1, 3, 4, 5, 9)] + [D(2024, 2, 1)]},
                          schema={"src": pl.UInt32, "day": pl.Date})
    ex = expand(table, active)
    assert ex.sort("day").select("day", "asn").rows() == [
        (D(2024, 2, 1), 1), (D(2024, 2, 3), 1), (D(2024, 2, 4), 1), (D(2024, 2, 5), 2), (D(2024, 2, 9), 2)]
    own = pl.LazyFrame({"src": [7], "day": [D(2024, 2, 9)], "asn": [99], "org": [None], "category": [None]},
                       schema={"src": pl.UInt32, "day": pl.Date, "asn": pl.UInt32, "org": pl.String, "category": pl.String})
    ov = overlay(own, table, active)
    last = ov.filter(pl.col("day") == D(2024, 2, 9)).row(0, named=True)
    assert (last["asn"], last["org"], last["rule"]) == (99, "X", "asn:AS2 → X (other)")


def _expand_by_asof_joins(table: pl.LazyFrame, active: pl.LazyFrame) -> pl.DataFrame:
    """The reference: the two as-of joins by source :func:`expand` used before (the last row at or before the
    day, else the first after it)."""
    from scantui.enrich.table import VALUE_COLUMNS, conform_table

    tab = conform_table(table).unique(["src", "day"], keep="last", maintain_order=True).sort("day").collect()
    act = active.select(pl.col("src").cast(pl.UInt32), pl.col("day").cast(pl.Date)).unique().sort("day").collect()
    values = [c for c in TABLE_SCHEMA.names() if c not in ("src", "day")]
    marked = tab.with_columns(pl.col("day").alias("_from"))
    back = act.join_asof(marked, on="day", by="src", strategy="backward", check_sortedness=False)
    fwd = act.join_asof(marked, on="day", by="src", strategy="forward", check_sortedness=False)
    fwd = fwd.select("src", "day", *[pl.col(c).alias(f"{c}_f") for c in [*values, "_from"]])
    both = back.join(fwd, on=["src", "day"], how="left")
    use_back = pl.col("_from").is_not_null()
    return both.select("src", "day", *[pl.when(use_back).then(pl.col(c)).otherwise(pl.col(f"{c}_f")).alias(c) for c in values]
                       ).filter(pl.col("source").is_not_null() | pl.any_horizontal([pl.col(c).is_not_null() for c in VALUE_COLUMNS]))


_DAYS = st.dates(D(1969, 12, 25), D(2024, 3, 1)) | st.sampled_from([D(2024, 2, d) for d in range(1, 6)])


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from([0, 1, 7, 2**32 - 1]), _DAYS, st.none() | st.integers(0, 5),
                               st.none() | st.sampled_from(["mmdb:a", "input"])), max_size=12),
       pairs=st.lists(st.tuples(st.sampled_from([0, 1, 7, 8, 2**32 - 1]), _DAYS), max_size=16))
def test_expand_is_the_as_of_joins_result(rows, pairs):
    """Any table (repeated days: the last row wins; rows of no value dropped; days before 1970) over any
    (src, day) pairs: the same rows as the two as-of joins, sorted by (src, day)."""
    table = pl.DataFrame({"src": [r[0] for r in rows], "day": [r[1] for r in rows], "asn": [r[2] for r in rows],
                          "source": [r[3] for r in rows]}, schema={"src": pl.UInt32, "day": pl.Date, "asn": pl.UInt32,
                                                                    "source": pl.String}).lazy()
    active = pl.LazyFrame({"src": [p[0] for p in pairs], "day": [p[1] for p in pairs]}, schema={"src": pl.UInt32, "day": pl.Date})
    got = expand(table, active)
    assert got.schema == TABLE_SCHEMA
    assert got.equals(got.sort("src", "day"))
    assert got.equals(_expand_by_asof_joins(table, active).sort("src", "day"))


# ---------------------------------------------------------------- used as a PATH by every command


@pytest.fixture
def enriched(tmp_path):
    """Packets of four sources over two days (one /24 of two sources), and a table from an MMDB-like source."""
    data = write_packets(tmp_path / "packets.parquet",
                         {1: ["203.0.113.5", "203.0.113.6", "162.142.125.10", "100.64.1.1"],
                          2: ["203.0.113.5", "203.0.113.6", "100.64.1.1"]})
    table = pl.DataFrame({
        "src": [ip("203.0.113.5"), ip("203.0.113.6"), ip("100.64.1.1")], "day": [D(2024, 2, 1)] * 3,
        "asn": [64501, 64501, 64777], "as_name": ["EXAMPLE-SCAN-NET", "EXAMPLE-SCAN-NET", "ACME UNIVERSITY"],
        "hostname": ["a.example", None, "x.acme.edu"], "source": ["mmdb:test"] * 3})
    out = tmp_path / "enrich.parquet"
    pl.concat([pl.DataFrame(schema=TABLE_SCHEMA), table], how="diagonal_relaxed").write_parquet(out)
    return data, out


def test_loader_recognizes_the_table_by_its_columns(enriched, tmp_path):
    from scantui.errors import InputError
    from scantui.io.loader import open_inputs

    data, table = enriched
    ds = open_inputs([data, table])
    assert [f.format for f in ds.inputs] == ["parquet", "enrichment"] and ds.enrichment_paths == (table,)
    assert ds.lf.select(pl.len()).collect().item() == 14
    with pytest.raises(InputError, match="only enrichment tables given"):
        open_inputs([table])


def test_scanners_show_org_category_and_rule_from_the_table(enriched, capsys):
    data, table = enriched
    code, out, err = run(["scanners", str(data), str(table), "--json"], capsys)
    assert code == 0, err
    rows = {r["src"]: r for r in json.loads(out)}
    assert rows["203.0.113.5"]["asn"] == 64501 and rows["203.0.113.5"]["org"] == "EXAMPLE-SCAN-NET"
    assert rows["203.0.113.5"]["rule"] == "keyword 'scan' in as_name → commercial (low confidence)"
    assert rows["100.64.1.1"]["category"] == "research"
    assert rows["162.142.125.10"]["org"] == "Censys" and rows["162.142.125.10"]["asn"] is None
    assert "no AS or hostname enrichment" not in err
    # without the table: only the address rule, and the note says how to enrich, once
    code, out, err = run(["scanners", str(data), "--json"], capsys)
    rows = {r["src"]: r for r in json.loads(out)}
    assert rows["203.0.113.5"]["org"] is None and rows["162.142.125.10"]["org"] == "Censys"
    assert " ".join(err.split()).count("scantui enrich PATH... -o enrich.parquet") == 1


def test_collab_by_asn_uses_the_table(enriched, capsys):
    data, table = enriched
    _, _, err = run(["collab", str(data), "--by", "asn", "--json"], capsys)
    assert "asn" in err  # a notice that the data carries no AS
    code, _, err = run(["collab", str(data), str(table), "--by", "asn", "--json"], capsys)
    assert code == 0 and "asn" not in err


def test_rollup_is_reused_and_the_overlay_follows_the_table(enriched, tmp_path):
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.io.loader import open_inputs

    data, table = enriched
    plain = open_rollup(open_inputs([data]))
    first = open_rollup(open_inputs([data, table]))
    assert first.path == plain.path and plain.enrichment is None  # same packet aggregates, no rebuild
    assert first.enrichment.filter(pl.col("src") == ip("203.0.113.5")).select("asn").collect()["asn"].to_list() == [64501, 64501]
    changed = pl.read_parquet(table).with_columns(pl.lit(64999, pl.UInt32).alias("asn"))
    changed.write_parquet(table)
    second = open_rollup(open_inputs([data, table]))
    assert second.path == plain.path and second.enrichment_path != first.enrichment_path
    assert set(second.enrichment.select("asn").collect()["asn"].drop_nulls()) == {64999}


def test_the_scanner_lists_enrichment_from_the_overlays_latest_fields_is_every_rows(enriched):
    """The overlay keeps each source's latest fields: a list over every day joins them, one with --since reads the
    rows of its days; both as computed from every row."""
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.analysis.scanners import ScannerQuery, scanner_list
    from scantui.io.loader import open_inputs

    data, table = enriched
    r = open_rollup(open_inputs([data, table]))
    assert r.enrichment_latest is not None and r.enrichment_latest.collect().height == 3
    for query in (ScannerQuery(), ScannerQuery(since=D(2024, 2, 2))):
        lists = [scanner_list(r.port_day, r.src_totals, r.day_totals, r.enrichment, query=query, src_profile=r.src_profile,
                              enrichment_latest=latest).frame for latest in (None, r.enrichment_latest)]
        assert lists[0].equals(lists[1]) and lists[0]["as_name"].drop_nulls().len() >= 2


def test_info_reports_the_identified_share_by_category(enriched, capsys):
    data, table = enriched
    code, out, err = run(["info", str(data), str(table), "--json"], capsys)
    assert code == 0, err
    orgs = json.loads(out)["organizations"]
    # 14 packets: 8 from the two scan-net sources (commercial, keyword), 2 Censys (cidr), 4 from ACME (research, keyword)
    by = orgs["by_category"]
    assert (by["commercial"]["packets"], by["commercial"]["sources"], by["commercial"]["organizations"]) == (10, 3, 2)
    assert by["research"]["packets"] == 4 and by["unidentified"] == {"packets": 0, "sources": 0, "share": 0.0}
    assert orgs["identified_share"] == 1.0 and orgs["low_confidence_share"] == round(12 / 14, 4)
    assert orgs["top"][0] == {"org": "EXAMPLE-SCAN-NET", "category": "commercial", "packets": 8, "sources": 2,
                              "rule": "keyword 'scan' in as_name → commercial (low confidence)", "share": round(8 / 14, 4)}
    assert orgs["known_from"] == ["enrichment table", "rules"]
    code, out, err = run(["info", str(data), "--json"], capsys)
    assert json.loads(out)["organizations"]["identified_share"] == round(2 / 14, 4)
    assert "scantui enrich" in err


def test_info_on_the_sample_uses_its_columns(capsys, shared_rollup_cache):
    code, out, _ = run(["info", SAMPLE, "--json"], capsys)
    orgs = json.loads(out)["organizations"]
    truth = json.loads((__import__("pathlib").Path(SAMPLE).parent / "truth.json").read_text())
    planted = sum(o["packets"] for o in truth["orgs"])
    assert orgs["known_from"] == ["data columns", "rules"]
    # the planted organizations, plus one synthetic source that sits in a Palo Alto Networks range
    assert orgs["identified_packets"] >= planted
    assert {t["org"] for t in orgs["top"]} >= {o["org"] for o in truth["orgs"]}


def test_enrich_command_offline_writes_a_table_and_says_how_to_enable_lookups(enriched, tmp_path, capsys):
    data, _ = enriched
    out = tmp_path / "new.parquet"
    code, _, err = run(["enrich", str(data), "-o", str(out)], capsys)
    assert code == 0
    flat = " ".join(err.split())
    assert flat.count("no look-up source configured") == 1 and "IPINFO_TOKEN" in flat
    table = pl.read_parquet(out)
    assert table.schema == TABLE_SCHEMA and table.height == 4
    assert table.filter(pl.col("org").is_not_null())["org"].to_list() == ["Censys"]


def test_enrich_refuses_a_missing_output_folder(enriched, tmp_path, capsys):
    data, _ = enriched
    code, _, err = run(["enrich", str(data), "-o", str(tmp_path / "nope" / "x.parquet")], capsys)
    assert code == 2 and "output folder does not exist" in err


@pytest.mark.parametrize("name", ["enrich.csv", "enrich.JSON", "enrich.csv.gz"])
def test_enrich_refuses_an_output_name_of_another_format(tmp_path, capsys, name):
    """``enrich -o enrich.csv`` wrote a Parquet table under a .csv name (as ingest did before session 13): a usage
    error naming the option, exit 2, before any input is read, nothing written."""
    code, out, err = run(["enrich", str(tmp_path / "nope.parquet"), "--offline", "--no-cache", "-o", str(tmp_path / name)],
                         capsys)
    assert code == 2 and out == ""
    assert "'-o' / '--output'" in err and "enrich writes Parquet only" in err and "nope.parquet" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(("columns", "why"), [
    ({"src": pl.Series(["x"]), "day": pl.Series([D(2024, 2, 1)])}, "enrichment table column 'src' is String, expected UInt32"),
    ({"src": pl.Series([-1], dtype=pl.Int64), "day": pl.Series([D(2024, 2, 1)])}, "unusable enrichment table: conversion"),
])
def test_a_bad_enrichment_table_is_one_error_line_naming_it_and_leaves_nothing(enriched, tmp_path, capsys, columns, why):
    data, good = enriched
    bad = tmp_path / "bad-enrich.parquet"
    pl.DataFrame(columns).write_parquet(bad)
    code, out, err = run(["scanners", str(data), str(bad), "--json"], capsys)
    lines = [line for line in err.splitlines() if line.startswith("scantui: error:")]
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith(f"scantui: error: {bad}: {why}")
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.io.loader import open_inputs

    folder = open_rollup(open_inputs([data])).path
    assert not [p for p in folder.iterdir() if "enrichment-" in p.name]  # no overlay, no half-made folder
    assert run(["scanners", str(data), str(good), "--json"], capsys)[0] == 0
    assert [p for p in folder.iterdir() if p.name.startswith("enrichment-")]  # (the same cache: a good table's is there)
