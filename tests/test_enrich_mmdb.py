"""MMDB files written here with mmdb-writer, in the MaxMind and the IPinfo layouts, read through maxminddb."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from mmdb_writer import MMDBWriter, MmdbU32, TreeWriter
from netaddr import IPSet

from clihelp import run
from scantui.enrich.answers import Answer, from_mmdb
from scantui.enrich.sources import MmdbSource
from scantui.errors import InputError
from test_enrich_table import ip, write_packets

CENSYS = "162.142.125.0/24"
GOOGLE = "8.8.8.0/24"

LAYOUTS = {
    # MaxMind GeoLite2 / GeoIP2
    "GeoLite2-ASN": {CENSYS: {"autonomous_system_number": MmdbU32(398324), "autonomous_system_organization": "CENSYS-ARIN-01"},
                     GOOGLE: {"autonomous_system_number": MmdbU32(15169), "autonomous_system_organization": "GOOGLE"}},
    "GeoLite2-Country": {CENSYS: {"country": {"iso_code": "US", "geoname_id": MmdbU32(6252001), "names": {"en": "United States"}},
                                  "continent": {"code": "NA", "names": {"en": "North America"}}},
                         GOOGLE: {"registered_country": {"iso_code": "US", "names": {"en": "United States"}}}},
    # IPinfo free databases
    "ipinfo asn.mmdb": {CENSYS: {"asn": "AS398324", "name": "Censys, Inc.", "domain": "censys.io", "route": CENSYS, "type": "business"},
                        GOOGLE: {"asn": "AS15169", "name": "Google LLC", "domain": "google.com", "route": GOOGLE, "type": "hosting"}},
    "ipinfo country.mmdb": {CENSYS: {"country": "US", "country_name": "United States", "continent": "NA", "continent_name": "North America"},
                            GOOGLE: {"country": "US", "country_name": "United States", "continent": "NA", "continent_name": "North America"}},
    "ipinfo country_asn.mmdb": {CENSYS: {"country": "US", "country_name": "United States", "asn": "AS398324", "as_name": "Censys, Inc.",
                                         "as_domain": "censys.io"}},
    "ipinfo_lite.mmdb": {CENSYS: {"asn": "AS398324", "as_name": "Censys, Inc.", "as_domain": "censys.io", "country_code": "US",
                                  "country": "United States", "continent_code": "NA", "continent": "North America"}},
}

EXPECTED = {
    "GeoLite2-ASN": Answer(asn=398324, as_name="CENSYS-ARIN-01"),
    "GeoLite2-Country": Answer(country="US"),
    "ipinfo asn.mmdb": Answer(asn=398324, as_name="Censys, Inc."),
    "ipinfo country.mmdb": Answer(country="US"),
    "ipinfo country_asn.mmdb": Answer(asn=398324, as_name="Censys, Inc.", country="US"),
    "ipinfo_lite.mmdb": Answer(asn=398324, as_name="Censys, Inc.", country="US"),
}


def write_mmdb(path, database_type: str, networks: dict, *, built: dt.date = dt.date(2024, 2, 1), ip_version: int = 6):
    """An MMDB file (IPv6 tree holding IPv4, as the published databases) with a chosen build date."""
    writer = MMDBWriter(ip_version=ip_version, database_type=database_type, ipv4_compatible=ip_version == 6)
    for cidr, record in networks.items():
        writer.insert_network(IPSet([cidr]), record)
    meta = writer._build_meta()
    meta["build_epoch"] = int(dt.datetime.combine(built, dt.time(6), dt.timezone.utc).timestamp())
    TreeWriter(writer.tree, meta, writer.int_type, writer.float_type).write(str(path))
    return path


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_maps_to_the_same_fields(tmp_path, layout):
    source = MmdbSource(write_mmdb(tmp_path / "db.mmdb", layout, LAYOUTS[layout], ip_version=4))
    result = source.lookup([ip("162.142.125.10"), ip("203.0.113.1")])
    assert source.name == f"mmdb:{layout}" and source.as_of == dt.date(2024, 2, 1)
    rows = result.answers.to_dicts()
    assert [r["src"] for r in rows] == [ip("162.142.125.10")]  # no record, no row
    got = Answer(**{k: rows[0][k] for k in ("asn", "as_name", "country", "hostname", "company")})
    assert got == EXPECTED[layout]


def test_ipv6_database_holding_ipv4(tmp_path):
    source = MmdbSource(write_mmdb(tmp_path / "db.mmdb", "GeoLite2-ASN", LAYOUTS["GeoLite2-ASN"]))
    assert source.lookup([ip("8.8.8.8")]).answers["asn"].to_list() == [15169]


def test_unusual_records():
    assert from_mmdb(None) is None and from_mmdb("text") is None
    assert from_mmdb({"asn": 64500}) == Answer(asn=64500)
    assert from_mmdb({"autonomous_system_number": 2**40}) == Answer()
    assert from_mmdb({"country": "United States"}) == Answer()  # a name where a code belongs is dropped
    assert from_mmdb({"organization": "Some ISP", "isp": "x"}).company == "Some ISP"


def test_bad_files(tmp_path):
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(InputError, match="not a readable MMDB database"):
        MmdbSource(junk)
    with pytest.raises(InputError, match="no such MMDB file"):
        MmdbSource(tmp_path / "missing.mmdb")


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANTUI_CONFIG", str(tmp_path / "config.yaml"))
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IPINFO_TOKEN", raising=False)


def test_cli_asn_and_country_databases_together(tmp_path, capsys, env):
    data = write_packets(tmp_path / "p.parquet", {1: ["162.142.125.10", "8.8.8.8", "203.0.113.9"]})
    asn = write_mmdb(tmp_path / "asn.mmdb", "GeoLite2-ASN", LAYOUTS["GeoLite2-ASN"])
    country = write_mmdb(tmp_path / "country.mmdb", "ipinfo country.mmdb", LAYOUTS["ipinfo country.mmdb"])
    out = tmp_path / "e.parquet"
    code, _, err = run(["enrich", str(data), "-o", str(out), "--mmdb", str(asn), "--mmdb", str(country)], capsys)
    assert code == 0, err
    rows = {r["src"]: r for r in pl.read_parquet(out).iter_rows(named=True)}
    google = rows[ip("8.8.8.8")]
    assert (google["asn"], google["as_name"], google["country"], google["source"]) == (15169, "GOOGLE", "US", "mmdb:GeoLite2-ASN")
    assert rows[ip("162.142.125.10")]["rule"] == "cidr:162.142.125.0/24 → Censys (commercial)"
    assert rows[ip("203.0.113.9")]["asn"] is None
    assert "no look-up source configured" not in err


def test_cli_dated_snapshots_resolve_the_as_per_day(tmp_path, capsys, env):
    """An address block moves from one AS to another between two database builds."""
    data = write_packets(tmp_path / "p.parquet", {d: ["198.51.100.7"] for d in (1, 2, 20, 21)})
    old = write_mmdb(tmp_path / "feb01.mmdb", "GeoLite2-ASN", {"198.51.100.0/24": {
        "autonomous_system_number": MmdbU32(64500), "autonomous_system_organization": "OLD-NET"}}, built=dt.date(2024, 2, 1))
    new = write_mmdb(tmp_path / "feb21.mmdb", "GeoLite2-ASN", {"198.51.100.0/24": {
        "autonomous_system_number": MmdbU32(64511), "autonomous_system_organization": "NEW-NET"}}, built=dt.date(2024, 2, 21))
    out = tmp_path / "e.parquet"
    assert run(["enrich", str(data), "-o", str(out), "--mmdb", str(new), "--mmdb", str(old)], capsys)[0] == 0
    table = pl.read_parquet(out)
    assert table.select("day", "asn", "as_name", "as_of").rows() == [
        (dt.date(2024, 2, 1), 64500, "OLD-NET", dt.date(2024, 2, 1)),
        (dt.date(2024, 2, 20), 64511, "NEW-NET", dt.date(2024, 2, 21)),
    ]
    # collab by AS sees the AS of each day
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.io.loader import open_inputs

    rollup = open_rollup(open_inputs([data, out]))
    per_day = rollup.enrichment.sort("day").select("day", "asn").collect().rows()
    assert [a for _, a in per_day] == [64500, 64500, 64511, 64511]


def test_cli_bad_mmdb_is_one_line_and_exit_2(tmp_path, capsys, env):
    data = write_packets(tmp_path / "p.parquet", {1: ["8.8.8.8"]})
    junk = tmp_path / "junk.mmdb"
    junk.write_text("nope")
    code, _, err = run(["enrich", str(data), "-o", str(tmp_path / "e.parquet"), "--mmdb", str(junk)], capsys)
    assert code == 2 and err.startswith("scantui: error: ") and "junk.mmdb" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "e.parquet").exists()
