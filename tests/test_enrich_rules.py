"""Organization rules: the shipped file names the sample's announced scanners; precedence; user files; errors."""

from __future__ import annotations

import json

import polars as pl
import pytest

from clihelp import SAMPLE, SAMPLE_DIR, run
from scantui.enrich.rules import _regex, classify, glob_matches, load_rules
from scantui.errors import InputError
from test_enrich_table import ip


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANTUI_CONFIG", str(tmp_path / "cfg" / "config.yaml"))


def frame(rows: list[dict]) -> pl.DataFrame:
    schema = {"src": pl.UInt32, "asn": pl.UInt32, "as_name": pl.String, "hostname": pl.String, "company": pl.String,
              "org": pl.String, "category": pl.String, "rule": pl.String}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def test_shipped_rules_name_every_announced_scanner_of_the_sample():
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())
    data = (pl.scan_parquet(SAMPLE).select("src", "asn", "as_name", "hostname", "org", "category").unique("src")
            .filter(pl.col("org").is_not_null()).collect())
    named = classify(data.with_columns(pl.lit(None, pl.String).alias("org"), pl.lit(None, pl.String).alias("category")))
    got = {r["src"]: (r["org"], r["category"]) for r in named.iter_rows(named=True)}
    for org in truth["orgs"]:
        for addr in org["sources"]:
            assert got[ip(addr)] == (org["org"], org["category"]), (addr, org["label"])
    assert named["rule"].is_not_null().all() and not named["rule"].str.contains("low confidence").any()


USER = """\
scantui_rules: 1
organizations:
  - org: Wide Net
    category: other
    cidrs: [10.0.0.0/8]
  - org: Narrow Net
    category: research
    cidrs: [10.1.0.0/16]
  - org: ByASN
    category: commercial
    asns: [AS64500]
  - org: ByHost
    category: commercial
    hostnames: ["*.scanner.example"]
  - org: ByCompany
    category: other
    companies: ["Example Corp*"]
  - org: ByASName
    category: research
    as_names: ["re:^example-(res|lab)"]
"""


@pytest.fixture
def user_rules(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(USER)
    return load_rules(path)


def test_precedence(user_rules):
    rows = frame([
        {"src": ip("10.1.2.3"), "asn": 64500, "hostname": "x.scanner.example"},  # longest prefix
        {"src": ip("10.2.0.1"), "asn": 64500},  # the /8
        {"src": ip("192.0.2.1"), "asn": 64500, "hostname": "x.scanner.example", "company": "Example Corp"},  # AS > host
        {"src": ip("192.0.2.2"), "hostname": "X.Scanner.Example", "company": "Example Corp"},  # host > company
        {"src": ip("192.0.2.3"), "company": "Example Corporation", "as_name": "EXAMPLE-LAB"},  # company > as name
        {"src": ip("192.0.2.4"), "as_name": "EXAMPLE-LAB-2"},
        {"src": ip("192.0.2.5"), "as_name": "SCAN UNIVERSITY NET"},  # research keywords before commercial
        {"src": ip("192.0.2.6"), "hostname": "probe7.some-isp.co.uk"},
        {"src": ip("192.0.2.7"), "as_name": "TELIA-SCANDINAVIA"},  # an exception, not the keyword "scan"
        {"src": ip("10.1.9.9"), "org": "Given", "category": "other"},  # the data's own org wins
        {"src": ip("10.1.9.8"), "org": "Stale", "category": "other", "rule": "asn:AS1 → Stale (other)"},  # named again
    ])
    out = classify(rows, user_rules)
    got = [(r["org"], r["category"], r["rule"]) for r in out.iter_rows(named=True)]
    assert got == [
        ("Narrow Net", "research", "cidr:10.1.0.0/16 → Narrow Net (research) [user rules]"),
        ("Wide Net", "other", "cidr:10.0.0.0/8 → Wide Net (other) [user rules]"),
        ("ByASN", "commercial", "asn:AS64500 → ByASN (commercial) [user rules]"),
        ("ByHost", "commercial", "hostname:*.scanner.example → ByHost (commercial) [user rules]"),
        ("ByCompany", "other", "company:Example Corp* → ByCompany (other) [user rules]"),
        ("ByASName", "research", "as_name:re:^example-(res|lab) → ByASName (research) [user rules]"),
        ("SCAN UNIVERSITY NET", "research", "keyword 'university' in as_name → research (low confidence)"),
        ("some-isp.co.uk", "commercial", "keyword 'probe' in hostname → commercial (low confidence)"),
        (None, None, None),
        ("Given", "other", "input"),
        ("Narrow Net", "research", "cidr:10.1.0.0/16 → Narrow Net (research) [user rules]"),
    ]
    assert out.columns == rows.columns  # nothing else added, order kept


def test_lazy_frames_and_missing_columns(user_rules):
    lf = pl.LazyFrame({"src": [ip("10.1.2.3"), ip("8.8.8.8")]}, schema={"src": pl.UInt32})
    out = classify(lf, user_rules)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["org"].to_list() == ["Narrow Net", None]


def test_user_entries_replace_shipped_ones_of_the_same_name(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("organizations:\n  - org: censys\n    category: research\n    hostnames: ['*.censys-scanner.com']\n")
    rules = load_rules(path)
    assert not [r for r in rules.rules if r.org == "Censys"]  # the shipped entry is gone (ranges included)
    out = classify(frame([{"src": ip("162.142.125.10")}, {"src": ip("1.2.3.4"), "hostname": "s.censys-scanner.com"},
                          {"src": ip("1.2.3.5"), "hostname": "scan-1.shadowserver.org"}]), rules)
    assert out["org"].to_list() == [None, "censys", "The Shadowserver Foundation"]
    path.write_text("builtin: false\nkeywords: {other: [honeypot]}\norganizations:\n"
                    "  - org: Mine\n    category: other\n    asns: [1]\n")
    rules = load_rules(path)
    assert {r.org for r in rules.rules} == {"Mine"} and rules.keywords == (("other", "honeypot"),)


def test_the_user_file_comes_from_the_config_or_beside_it(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    cfg.mkdir(exist_ok=True)
    (cfg / "rules.yaml").write_text("organizations:\n  - org: Beside\n    category: other\n    asns: [7]\n")
    assert load_rules().rules[-1].org != "Beside"  # user rules come first within their kind
    assert [r.org for r in load_rules().rules if r.kind == "asn"][0] == "Beside"
    other = tmp_path / "elsewhere.yaml"
    other.write_text("organizations:\n  - org: Configured\n    category: other\n    asns: [8]\n")
    (cfg / "config.yaml").write_text(f"enrich:\n  rules: {other}\n")
    assert [r.org for r in load_rules().rules if r.kind == "asn"][0] == "Configured"


@pytest.mark.parametrize("text, message", [
    ("organizations:\n  - org: A\n    category: other\n    cidrs: [10.0.0.5/8]\n",
     "line 4: organizations[0].cidrs[0]: bad IPv4 CIDR '10.0.0.5/8': 10.0.0.5/8 has host bits set (did you mean 10.0.0.0/8?)"),
    ("organizations:\n  - org: A\n    category: spooky\n    asns: [1]\n",
     "line 3: organizations[0].category: category must be one of research, commercial, other, got 'spooky'"),
    ("organizations:\n  - org: A\n    category: other\n    hostname: ['x']\n", "line 4: organizations[0]: unknown key 'hostname'"),
    ("organizations:\n  - org: A\n    category: other\n    as_names: ['re:(unclosed']\n",
     "line 4: organizations[0].as_names[0]: bad pattern 're:(unclosed'"),
    ("organizations:\n  - org: A\n    category: other\n    asns: [AS99999999999]\n",
     "line 4: organizations[0].asns[0]: bad AS number 'AS99999999999'"),
    ("organizations:\n  - category: other\n    asns: [1]\n", "organizations[0].org: needs an org name"),
    ("organizations:\n  - org: A\n    category: other\n", "organizations[0]: names no cidrs"),
    ("organisations: []\n", "line 1: organisations: unknown key"),
    ("scantui_rules: 2\n", "unsupported version 2"),
    ("- just a list\n", "a rules file is a mapping"),
    ("organizations: [\n", "not valid YAML"),
    ("organizations:\n  - org: \"\x07\"\n", "line 2: not valid YAML: unacceptable character #x0007"),
])
def test_bad_rules_files_say_where(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_rules(path)
    assert message in err.value.message and str(path) in err.value.message
    assert "\n" not in err.value.message and "<unicode string>" not in err.value.message


def test_bad_rules_file_fails_before_the_data_is_read(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("organizations:\n  - org: A\n    category: nope\n    asns: [1]\n")
    code, _, err = run(["scanners", str(tmp_path / "missing.parquet"), "--rules", str(path)], capsys)
    assert code == 2 and "bad.yaml: line 3: organizations[0].category" in err


def test_rules_command_lists_them_in_order(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text(USER)
    code, out, _ = run(["rules", "--rules", str(path), "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["files"][1] == str(path)
    kinds = [r["kind"] for r in doc["rules"]]
    assert kinds == sorted(kinds, key=["cidr", "asn", "hostname", "company", "as_name", "keyword"].index)
    cidrs = [r["pattern"] for r in doc["rules"] if r["kind"] == "cidr"]
    lengths = [int(c.split("/")[1]) for c in cidrs]
    assert lengths == sorted(lengths, reverse=True) and cidrs[-2:] == ["10.1.0.0/16", "10.0.0.0/8"]
    assert doc["rules"][-1]["rule"].endswith("(low confidence)")
    code, out, _ = run(["rules"], capsys)
    assert code == 0 and "Censys" in out


@pytest.mark.parametrize("pattern", ["*.censys-scanner.com", "scan-*.shadowserver.org", "*shadow*", "exact.host",
                                     "researchscan*.comsys.rwth-aachen.de", "a*b", "*", "x?z", "re:^scan-\\d+\\."])
def test_fast_glob_tests_agree_with_the_regular_expression(pattern):
    names = ["scanner-03.ch1.censys-scanner.com", "censys-scanner.com", "x.censys-scanner.com.evil", "scan-07.shadowserver.org",
             "scan-.shadowserver.org", "shadowserver", "exact.host", "exact.hostx", "researchscan1.comsys.rwth-aachen.de",
             "ab", "a", "b", "axxb", "xyz", "", None]
    s = pl.Series(names, dtype=pl.String)
    fast = pl.select(glob_matches(pl.lit(s), pattern)).to_series()
    slow = s.str.contains(_regex(pattern))
    assert fast.to_list() == slow.to_list()
