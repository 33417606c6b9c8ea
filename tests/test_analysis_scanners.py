"""The scanner list from a real rollup: exact columns, filters, sort/top, and the sample's ground truth."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scantui.analysis import enrichment_overlay as eo
from scantui.analysis import rollup as ru
from scantui.analysis.scanners import ScannerQuery, parse_asns, parse_day, parse_ports, parse_source_cidrs, records, scanner_list
from scantui.analysis.traffic import is_probe
from scantui.errors import InputError
from scantui.io.schema import conform

from canonical import make_canonical

T0 = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def pkt(src, dst, dport, day, *, minute=0, tool="other", proto=6, flags=2, **extra) -> dict:
    """One packet; *tool* picks header fields its fingerprint matches (zmap / nmap / other)."""
    ip_id = 54321 if tool == "zmap" else 7
    window, mss = (1024, 1460) if tool == "nmap" else (64240, 1460)
    row = {"ts": T0 + dt.timedelta(days=day, minutes=minute), "src": ip(src), "dst": ip(dst), "proto": proto,
           "sport": 40000, "dport": dport, "ip_id": ip_id, "ttl": 50, "ip_len": 44}
    if proto == 6:
        row |= {"tcp_flags": flags, "tcp_seq": 1000 + minute, "tcp_ack": 0, "tcp_window": window, "tcp_mss": mss}
    return row | extra


def table(rows) -> pl.LazyFrame:
    return conform(pl.LazyFrame(rows, infer_schema_length=None))


def rollup_of(lf: pl.LazyFrame, folder: Path) -> dict:
    ru.build_rollup(lf, folder)
    enrich = folder / ru.ENRICHMENT_DIR
    return {"port_day": ru.scan_port_day(folder), "src_totals": pl.scan_parquet(folder / ru.SRC_TOTALS),
            "day_totals": pl.scan_parquet(folder / ru.DAY_TOTALS),
            "enrichment": eo.scan(enrich) if enrich.exists() else None}


def listing(r: dict, **kw):
    packets = kw.pop("packets", None)
    size = kw.pop("telescope_size", None)
    return scanner_list(r["port_day"], r["src_totals"], r["day_totals"], r["enrichment"],
                        query=ScannerQuery(**kw), telescope_size=size, packets=packets)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """A: 3 zmap + 1 other probe on ports 80/443 over 2 days; B: nmap on 22 + UDP 53; C: backscatter only."""
    rows = [pkt("10.0.0.1", f"198.18.0.{i}", 80, 0, minute=i, tool="zmap") for i in range(3)]
    rows += [pkt("10.0.0.1", "198.18.0.1", 443, 3, tool="other")]
    rows += [pkt("10.0.1.7", f"198.18.0.{i}", 22, d, minute=i, tool="nmap") for d in (0, 1) for i in range(4)]
    rows += [pkt("10.0.1.7", "198.18.0.99", 53, 1, proto=17)]
    rows += [pkt("10.9.9.9", "198.18.0.5", 80, 2, flags=18)]  # SYN-ACK: backscatter
    for r in rows:
        r |= {"asn": 64500 if r["src"] == ip("10.0.0.1") else 64501, "as_name": "EXAMPLE", "sensor": "t1"}
    lf = table(rows)
    return lf, rollup_of(lf, tmp_path_factory.mktemp("crafted") / "r")


def test_columns_tools_and_exact_counts(crafted):
    lf, r = crafted
    res = listing(r)
    df = res.frame
    assert df["src"].to_list() == [ip("10.0.1.7"), ip("10.0.0.1")]  # backscatter-only source is not listed
    a = df.row(1, named=True)
    assert (a["packets"], a["ports"], a["dsts"], a["days_active"], a["tool"]) == (4, 2, 3, 2, "zmap")
    assert a["tools"]["zmap"] == pytest.approx(0.75) and a["tools"]["other"] == pytest.approx(0.25)
    assert a["first_seen"] == T0 and a["last_seen"] == T0 + dt.timedelta(days=3)
    assert a["asn"] == 64500 and a["range_class"] == "focused" and a["schedule"] == "sporadic"
    b = df.row(0, named=True)
    assert (b["packets"], b["dsts"], b["tool"], b["avg_scan_interval_days"], b["picture"]) == (8, 4, "nmap", 1.0, "snapshot")
    assert res.dsts_from == "src_totals" and res.total == 2 and res.n_days == 4
    rec = records(df)[1]
    assert rec["src"] == "10.0.0.1" and rec["tools"] == {"zmap": 0.75, "other": 0.25}
    assert rec["first_seen"].startswith("2024-02-01T00:00:00")
    assert rec["top_ports"][0] == {"port": 80, "proto": 6, "packets": 3, "scans": 1, "coverage": pytest.approx(3 / res.telescope_size, abs=1e-4)}


def test_port_filter_recounts_dsts_exactly_or_says_so(crafted):
    lf, r = crafted
    res = listing(r, ports=(443,), packets=lf)
    assert res.frame["src"].to_list() == [ip("10.0.0.1")]
    assert (res.frame["packets"][0], res.frame["dsts"][0], res.dsts_from) == (1, 1, "packets")
    blind = listing(r, ports=(443,))
    assert blind.frame["dsts"][0] is None and blind.dsts_from == "unavailable" and blind.notes


def test_include_udp(crafted):
    lf, r = crafted
    df = listing(r, include_udp=True, packets=lf).frame
    b = df.filter(pl.col("src") == ip("10.0.1.7")).row(0, named=True)
    assert (b["packets"], b["ports"], b["dsts"]) == (9, 2, 5)
    assert b["tools"]["other"] == pytest.approx(1 / 9)


def test_filters(crafted):
    lf, r = crafted
    assert listing(r, tools=("nmap",)).frame["src"].to_list() == [ip("10.0.1.7")]
    assert listing(r, cidrs=parse_source_cidrs("10.0.0.0/24")).frame["src"].to_list() == [ip("10.0.0.1")]
    assert listing(r, asns=(64501,)).frame["src"].to_list() == [ip("10.0.1.7")]
    assert listing(r, min_packets=5).frame["src"].to_list() == [ip("10.0.1.7")]
    since = listing(r, since=dt.date(2024, 2, 2), packets=lf)
    assert since.frame["packets"].to_list() == [4, 1] and since.n_days == 3
    until = listing(r, until=dt.date(2024, 2, 1), packets=lf).frame
    assert until.filter(pl.col("src") == ip("10.0.0.1"))["packets"][0] == 3
    assert listing(r, cidrs=parse_source_cidrs("192.0.2.0/24")).frame.height == 0


def test_sort_and_top(crafted):
    _, r = crafted
    assert listing(r, sort="dsts", descending=False).frame["src"].to_list() == [ip("10.0.0.1"), ip("10.0.1.7")]
    assert listing(r, sort="src").frame["src"].to_list() == [ip("10.0.1.7"), ip("10.0.0.1")]
    top = listing(r, sort="packets", top=1)
    assert top.frame.height == 1 and top.total == 2
    lf, r = crafted
    by_dsts = listing(r, ports=(22, 80), sort="dsts", packets=lf, top=1).frame
    assert by_dsts["src"].to_list() == [ip("10.0.1.7")] and by_dsts["dsts"].to_list() == [4]


def test_bad_query_values():
    with pytest.raises(InputError, match="--sort"):
        ScannerQuery(sort="tools")
    with pytest.raises(InputError, match="--tool"):
        ScannerQuery(tools=("zmapp",))
    with pytest.raises(InputError, match="--port"):
        parse_ports("80,http")
    with pytest.raises(InputError, match="--asn"):
        parse_asns("ASX")
    with pytest.raises(InputError, match="--cidr"):
        parse_source_cidrs("10.0.0.0/33")
    with pytest.raises(InputError, match="--since"):
        parse_day("yesterday", "--since")
    assert parse_asns("AS13335, 15169") == (13335, 15169)
    assert parse_day("2024-02-03T23:30:00-02:00", "--until") == dt.date(2024, 2, 4)


def test_random_table_matches_direct_aggregates(tmp_path):
    df = make_canonical(3000, seed=5, days=6)
    # a few busy sources so that aggregation is not one packet per source
    df = df.with_columns(pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit(12345, pl.UInt32)).otherwise("src").alias("src"))
    r = rollup_of(df.lazy(), tmp_path / "r")
    got = listing(r).frame.select("src", "packets", "ports", "dsts", "first_seen", "last_seen", "days_active").sort("src")
    probes = df.filter(is_probe())
    want = probes.group_by("src").agg(
        pl.len().cast(pl.UInt64).alias("packets"), pl.col("dport").n_unique().cast(pl.UInt32).alias("ports"),
        pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts"), pl.col("ts").min().alias("first_seen"),
        pl.col("ts").max().alias("last_seen"), pl.col("ts").dt.date().n_unique().cast(pl.UInt32).alias("days_active"),
    ).sort("src")
    assert got.equals(want)
    # with a port filter, the recount from packets equals the direct distinct count
    ports = tuple(sorted(probes["dport"].unique().to_list()[:50]))
    got = listing(r, ports=ports, packets=df.lazy()).frame.select("src", "dsts").sort("src")
    want = probes.filter(pl.col("dport").is_in(ports)).group_by("src").agg(pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts")).sort("src")
    assert got.equals(want)


# ---------------------------------------------------------------- ground truth (issue 3, part 5)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.io.loader import open_inputs

    cache = tmp_path_factory.getbasetemp() / "scantui-cache"
    dataset = open_inputs([str(SAMPLE / "telescope.parquet")])
    rollup = open_rollup(dataset, cache_dir=cache)
    truth = json.loads((SAMPLE / "truth.json").read_text())
    res = scanner_list(rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment, src_profile=rollup.src_profile)
    return truth, res, rollup


@pytest.mark.parametrize("query", [
    {}, {"sort": "coverage_max", "top": 40}, {"tools": ("zmap", "masscan"), "min_packets": 100, "sort": "schedule_strength"},
    {"cidrs": parse_source_cidrs("0.0.0.0/1"), "sort": "avg_scan_interval_days", "descending": False, "top": 25},
    {"asns": (398324, 6939, 10439), "sort": "src"},
])
def test_profile_path_equals_port_day_path(sample, query):
    """The unfiltered list from ``src_profile`` is exactly the list computed from ``port_day``."""
    _, res, rollup = sample
    tables = (rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment)
    fast = scanner_list(*tables, query=ScannerQuery(**query), src_profile=rollup.src_profile) if query else res
    slow = scanner_list(*tables, query=ScannerQuery(**query))
    assert fast.frame.height > 0 and (fast.total, fast.n_days, fast.dsts_from) == (slow.total, slow.n_days, slow.dsts_from)
    assert fast.frame.equals(slow.frame)


CHECKED = ("tool", "range_class", "schedule", "period_days", "picture")


def test_ground_truth_single_scanners(sample):
    truth, res, _ = sample
    by_src = {r["src"]: r for r in records(res.frame)}
    singles = [s for s in truth["scanners"] if s["kind"] == "single"]
    mismatches, checked = [], {k: 0 for k in CHECKED}
    for s in singles:
        got = by_src.get(s["src"])
        assert got is not None, f"{s['label']} {s['src']} not listed"
        for key in CHECKED:
            if key == "picture" and s[key] is None:
                continue  # the truth states no picture for sporadic/acyclic/unlabelled scanners
            checked[key] += 1
            if got[key] != s[key]:
                mismatches.append(f"{s['label']} {s['src']}: {key} {got[key]!r} != truth {s[key]!r}")
        for key in ("ports", "first_seen", "last_seen"):
            # records write RFC 3339 UTC ending in Z, as every output does
            want = s[key] if key == "ports" else dt.datetime.fromisoformat(s[key].replace("Z", "+00:00")).isoformat().replace("+00:00", "Z")
            if s["label"] != "nmap-top1000-os" and got[key] != want:  # its OS probes are not all SYN probes
                mismatches.append(f"{s['label']}: {key} {got[key]} != truth {want}")
        if s["label"] != "nmap-top1000-os" and got["dsts"] != s["dsts"]:
            mismatches.append(f"{s['label']}: dsts {got['dsts']} != truth {s['dsts']}")
    print(f"\nground truth: {len(singles)} single scanners; " + ", ".join(
        f"{k} {checked[k] - sum(m.split(': ')[1].startswith(k + ' ') for m in mismatches)}/{checked[k]}" for k in CHECKED))
    assert not mismatches, "\n".join(mismatches)


def test_ground_truth_org_hosts_tool_range_schedule(sample):
    truth, res, _ = sample
    by_src = {r["src"]: r for r in records(res.frame)}
    hosts = [s for s in truth["scanners"] if s["kind"] == "org"]
    bad = [f"{s['label']} {s['src']}: {k} {by_src[s['src']][k]!r} != {s[k]!r}"
           for s in hosts for k in ("tool", "range_class", "schedule", "period_days") if by_src[s["src"]][k] != s[k]]
    print(f"\norg hosts: {len(hosts)}, tool/range/schedule/period mismatches: {len(bad)}")
    assert not bad, "\n".join(bad)


def test_ground_truth_tool_shares_exact(sample):
    """Tool packet counts summed over all sources equal the truth's ``tool_packets`` (tolerance: none)."""
    truth, res, _ = sample
    df = res.frame
    counts = df.select(
        [(pl.col("tools").struct.field(t) * pl.col("packets")).round(0).sum().cast(pl.Int64).alias(t) for t in truth["tool_packets"]]
    ).row(0, named=True)
    print(f"\ntool packets: {counts} (truth {truth['tool_packets']})")
    assert counts == truth["tool_packets"]
    assert int(df["packets"].sum()) == truth["probes"]
    assert res.telescope_size == truth["telescope"]["size"]


@pytest.mark.parametrize("sensors", [("t1",), ("t1", "t2")])
@pytest.mark.parametrize("query", [{"ports": (22, 80, 443)}, {"include_udp": True, "tools": ("other",)},
                                   {"since": dt.date(2024, 2, 3), "min_packets": 2}])
def test_the_row_path_equals_the_behaviour_functions(tmp_path, sensors, query):
    """The list's aggregates of the selected rows (shared (src, day) pairs and port scans; a port's scan days
    from its port scans when there is one sensor) are the behaviour functions' own, column for column."""
    from scantui.analysis import behaviour as bh
    from scantui.analysis import scanner_rows as sc
    from scantui.analysis.schedule import source_schedules

    df = make_canonical(6000, seed=11, days=12)
    n = df.height
    df = df.with_columns(  # few sources and ports: ports scanned again on other days, at one or two sensors
        (pl.col("src") % 97 + 167772160).cast(pl.UInt32).alias("src"),
        pl.Series([(22, 80, 443, 8080, 53)[i % 5] for i in range(n)], dtype=pl.UInt16).alias("dport"),
        pl.Series([sensors[(i // 7) % len(sensors)] for i in range(n)]).alias("sensor"),
    )
    r = rollup_of(df.lazy(), tmp_path / "r")
    q = ScannerQuery(**query)
    first_day, n_days = sc._window(r["day_totals"], q)
    raw, _ = sc._from_rows(r["port_day"], q, None, first_day, n_days)
    rows = sc.select_rows(r["port_day"], q).select(sc._ROW_COLUMNS).collect().lazy()
    base = sc._source_filters(bh.volume(rows, ru.TOOL_COLUMNS).collect(), q)
    rows = rows.join(base.lazy().select("src"), on="src", how="semi")
    want = bh.join_parts([base, *pl.collect_all(bh.behaviour_counts(rows)), source_schedules(rows, first_day, n_days)])
    assert raw.height > 20 and raw["ports_rescanned"].max() > 1
    assert raw.sort("src").equals(want.sort("src"))


def test_exact_dsts_count_distinct_destinations_like_n_unique():
    """The sorted-key count per source equals polars' ``n_unique`` of the destinations, a null one included."""
    from scantui.analysis.dst_recount import exact_dsts

    rows = [pkt(f"10.0.{s}.{s}", f"198.18.{d % 3}.{d}", 443, day, minute=m) for s in range(1, 40)
            for day in range(3) for d in range(s % 7 + 1) for m in range(2)]  # repeats within and across days
    rows += [pkt("10.0.1.1", "198.18.0.9", 80, 0), pkt("10.0.2.2", "198.18.0.1", 443, 0, flags=18)]  # other port, backscatter
    lf = table(rows)
    srcs = lf.select(pl.col("src").unique()).collect()["src"]
    want = (lf.filter(is_probe() & (pl.col("dport") == 443)).group_by("src")
            .agg(pl.col("dst").n_unique().cast(pl.UInt32).alias("dsts")).collect().sort("src"))
    for few in (srcs, pl.Series(range(20_000), dtype=pl.UInt32).append(srcs)):  # short list / many sources
        assert exact_dsts(lf, ScannerQuery(ports=(443,)), few).sort("src").equals(want)
    assert exact_dsts(lf, ScannerQuery(ports=(443,)), None).sort("src").equals(want)  # every source (none named)
    assert exact_dsts(lf, ScannerQuery(ports=(443,)), srcs.head(3)).height == 3
    with_null = pl.concat([lf, lf.head(1).with_columns(pl.lit(None, pl.UInt32).alias("dst"))])
    got = exact_dsts(with_null, ScannerQuery(ports=(443,)), srcs).sort("src")
    first = lf.head(1).collect()["src"][0]
    assert got.filter(pl.col("src") == first)["dsts"][0] == want.filter(pl.col("src") == first)["dsts"][0] + 1


def test_distinct_keys_sorted_in_place_only_when_the_array_is_the_callers_own():
    """exact_dsts hands over its own copy of the keys (sorted in place: one copy of 8 bytes a packet held, not
    two); a read-only view (polars' buffer) is sorted into a copy and left as it was. Same counts either way."""
    import numpy as np

    from scantui.analysis.dst_recount import _distinct_per_source

    rng = np.random.default_rng(7)
    keys = (rng.integers(1, 50, 5_000, dtype=np.uint64) << np.uint64(32)) | rng.integers(0, 300, 5_000, dtype=np.uint64)
    view = pl.Series(keys).to_numpy()
    assert not view.flags.writeable
    before = view.copy()
    from_view = _distinct_per_source(view)
    assert np.array_equal(view, before)  # not sorted under polars' feet
    owned = pl.Series(keys).to_numpy(writable=True)
    from_owned = _distinct_per_source(owned)
    assert np.array_equal(owned, np.sort(keys))  # sorted where it lay
    assert from_owned.equals(from_view)
    want = (pl.DataFrame({"src": (keys >> np.uint64(32)).astype(np.uint32), "k": keys}).group_by("src")
            .agg(pl.col("k").n_unique().cast(pl.UInt32).alias("dsts")).sort("src"))
    assert from_owned.equals(want)
    # the extremes of both halves (a source's half read as a view of the key), one key, one source
    top, ones = np.uint64(0xFFFFFFFF), np.uint64(1)
    edges = np.array([top << np.uint64(32) | top, top << np.uint64(32), top << np.uint64(32), 0, ones << np.uint64(32),
                      (ones << np.uint64(32)) | top], dtype=np.uint64)
    assert _distinct_per_source(edges.copy()).to_dict(as_series=False) == {"src": [0, 1, 2**32 - 1], "dsts": [1, 2, 2]}
    assert _distinct_per_source(edges[:1].copy()).to_dict(as_series=False) == {"src": [2**32 - 1], "dsts": [1]}
    assert _distinct_per_source(edges[1:3].copy()).to_dict(as_series=False) == {"src": [2**32 - 1], "dsts": [1]}
    # the callers' path: sorted by polars, its read-only buffer counted as it is
    assert _distinct_per_source(pl.Series(keys).sort().to_numpy(), presorted=True).equals(want)
    assert _distinct_per_source(pl.Series(edges).sort().to_numpy(), presorted=True).to_dict(as_series=False) == {
        "src": [0, 1, 2**32 - 1], "dsts": [1, 2, 2]}


_DAY = st.none() | st.dates(dt.date(1969, 12, 30), dt.date(1970, 1, 3)) | st.sampled_from([dt.date(2024, 2, d) for d in (1, 2, 3)])


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from([0, 5, 2**31, 2**32 - 1, None]), _DAY, st.none() | st.integers(0, 3),
                               st.none() | st.sampled_from(["A", "B", ""])), max_size=14),
       window=st.sampled_from([(None, None), (dt.date(2024, 2, 2), None), (None, dt.date(2024, 2, 2))]))
def test_latest_enrichment_is_each_fields_last_non_null_by_day(rows, window):
    """Any rows (out of order or in order, repeated days, null days, null fields, sources at the ends of the
    range): each source's each field is its latest non-null value by day within the window, as sorting by
    (src, day) and taking each group's last non-null gives (a repeated (src, day) with two values: either)."""
    from scantui.analysis.scanners import ENRICHMENT_COLUMNS, latest_enrichment

    df = pl.DataFrame(rows, schema={"src": pl.UInt32, "day": pl.Date, "asn": pl.UInt32, "as_name": pl.String}, orient="row")
    df = df.with_columns(pl.lit(None, pl.String).alias(c) for c in ENRICHMENT_COLUMNS if c not in df.columns)
    got = latest_enrichment(df.lazy(), *window).collect()
    lf = df.lazy().filter(pl.col("src").is_not_null())
    lf = lf.filter(pl.col("day") >= window[0]) if window[0] else lf
    lf = lf.filter(pl.col("day") <= window[1]) if window[1] else lf
    keys = lf.select("src", "day").collect()
    want = (lf.sort("src", "day", nulls_last=False).group_by("src")
            .agg(pl.col(c).drop_nulls().last() for c in ENRICHMENT_COLUMNS).collect())
    assert got["src"].to_list() == sorted(keys["src"].unique().to_list())
    if keys.height == keys.unique().height:  # a (src, day) given twice with two values: either may be the latest
        assert got.select(want.columns).equals(want.sort("src"))
        assert latest_enrichment(df.sample(fraction=1.0, shuffle=True, seed=1).lazy(), *window).collect().equals(got)
