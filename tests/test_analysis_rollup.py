"""The rollup tables equal the same aggregates computed directly from the packets.

Expected values are computed eagerly, in memory, with plain polars written
independently of :mod:`scantui.analysis.rollup`; the rollup itself is built
with the streaming engine onto real Parquet under ``tmp_path``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scantui.analysis import day_destinations as dd
from scantui.analysis import day_ports as dp
from scantui.analysis import day_protocols as dpr
from scantui.analysis import enrichment_overlay as eo
from scantui.analysis import collab_sums as cs
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import port_sources as ps
from scantui.analysis import sensor_sources as ss
from scantui.analysis import rollup as ru
from scantui.analysis import zmap_rollup as zr
from scantui.analysis.fingerprints import TOOLS, with_tool
from scantui.analysis.schedule import schedules
from scantui.analysis.summary import summarize
from scantui.analysis.traffic import traffic_class
from scantui.io.loader import open_inputs
from scantui.io.schema import ENRICHMENT, conform

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "telescope.parquet"
UTC = dt.timezone.utc


# ---------------------------------------------------------------- the reference computation


def _packets(lf: pl.LazyFrame) -> pl.DataFrame:
    df = with_tool(lf).collect(engine="in-memory")
    if "sensor" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("sensor"))
    return df.with_columns(
        pl.col("ts").dt.date().alias("day"),
        traffic_class().cast(pl.String).alias("kind"),
    )


def _distinct(df: pl.DataFrame, keys: list[str], col: str, name: str) -> pl.DataFrame:
    """Count distinct non-null *col* per *keys* by deduplicating pairs (not with n_unique)."""
    return df.filter(pl.col(col).is_not_null()).unique([*keys, col]).group_by(keys).agg(pl.len().alias(name))


def expected_port_day(df: pl.DataFrame) -> pl.DataFrame:
    keys = list(ru.PORT_DAY_KEYS)
    tools = df.group_by(keys).agg([(pl.col("tool") == t).sum().alias(f"tool_{t}") for t in TOOLS])
    base = df.group_by(keys).agg(pl.len().alias("packets"), pl.col("ts").min().alias("first_ts"), pl.col("ts").max().alias("last_ts"))
    out = base.join(_distinct(df, keys, "dst", "dsts"), on=keys, nulls_equal=True).join(tools, on=keys, nulls_equal=True)
    return out.with_columns(pl.col("kind").cast(ru.KIND_DTYPE)).select(ru.PORT_DAY_SCHEMA.names()).cast(dict(ru.PORT_DAY_SCHEMA))


def expected_src_totals(df: pl.DataFrame) -> pl.DataFrame:
    keys = ["src", "kind"]
    base = df.group_by(keys).agg(pl.len().alias("packets"), pl.col("ts").min().alias("first_ts"), pl.col("ts").max().alias("last_ts"))
    out = base
    for col, name in (("dst", "dsts"), ("dport", "ports"), ("day", "days")):
        out = out.join(_distinct(df, keys, col, name), on=keys, how="left").with_columns(pl.col(name).fill_null(0))
    return out.with_columns(pl.col("kind").cast(ru.KIND_DTYPE)).select(ru.SRC_TOTALS_SCHEMA.names()).cast(dict(ru.SRC_TOTALS_SCHEMA))


def expected_day_totals(df: pl.DataFrame) -> pl.DataFrame:
    keys = ["day", "sensor"]
    base = df.group_by(keys).agg(
        pl.len().alias("packets"),
        (pl.col("kind") == "probe").sum().alias("probes"),
        (pl.col("kind") == "backscatter").sum().alias("backscatter"),
    )
    out = base.join(_distinct(df, keys, "src", "srcs"), on=keys, nulls_equal=True)
    out = out.join(_distinct(df, keys, "dst", "dsts"), on=keys, nulls_equal=True)
    return out.select(ru.DAY_TOTALS_SCHEMA.names()).cast(dict(ru.DAY_TOTALS_SCHEMA))


def expected_enrichment(df: pl.DataFrame) -> pl.DataFrame:
    cols = [c for c in ENRICHMENT if c in df.columns]
    rows = df.sort("ts").group_by("src", "day", maintain_order=True).agg([pl.col(c).drop_nulls().first() for c in cols])
    return rows.with_columns([pl.lit(None, dtype=d).alias(c) for c, d in ENRICHMENT.items() if c not in cols]).select(
        ru.ENRICHMENT_SCHEMA.names()
    ).cast(dict(ru.ENRICHMENT_SCHEMA))


def expected_src_profile(df: pl.DataFrame) -> pl.DataFrame:
    """Per (src, kind), straight from the packets: volume, tools, days, port classes, intervals,
    best one-day coverage counts, schedule (over the data's day range) and the top ports."""
    keys = ["src", "kind"]
    df = df.with_columns(pl.col("kind").cast(ru.KIND_DTYPE))
    base = df.group_by(keys).agg(
        pl.len().alias("packets"), pl.col("ts").min().alias("first_seen"), pl.col("ts").max().alias("last_seen"),
        *[(pl.col("tool") == t).sum().alias(f"tool_{t}") for t in TOOLS], pl.col("day").n_unique().alias("days_active"))
    port = pl.col("dport")
    ports = df.filter(port.is_not_null()).unique([*keys, "dport"]).group_by(keys).agg(
        pl.len().alias("ports"), (port < 1024).sum().alias("ports_well_known"),
        ((port >= 1024) & (port < 49152)).sum().alias("ports_registered"), (port >= 49152).sum().alias("ports_ephemeral"))
    scans = df.unique([*keys, "sensor", "proto", "dport", "day"]).group_by([*keys, "sensor", "proto", "dport"]).agg(
        pl.len().alias("n"), pl.col("day").min().alias("d0"), pl.col("day").max().alias("d1")).filter(pl.col("n") > 1)
    intervals = scans.group_by(keys).agg(
        ((pl.col("d1") - pl.col("d0")).dt.total_days() / (pl.col("n") - 1)).mean().alias("avg_scan_interval_days"),
        pl.len().alias("ports_rescanned"))
    # a port's best day: distinct (sensor, dst) pairs that day; its packets and scan days
    per_day = df.group_by([*keys, "proto", "dport", "day"]).agg(pl.len().alias("p"), pl.struct("sensor", "dst").n_unique().alias("d"))
    per_port = per_day.group_by([*keys, "proto", "dport"]).agg(
        pl.col("p").sum().alias("packets"), pl.len().alias("scans"), pl.col("d").max().alias("dsts"))
    cover = per_port.group_by(keys).agg(
        pl.col("dsts").max().alias("coverage_dsts_max"), pl.col("dsts").mean().alias("coverage_dsts_mean"))
    item = pl.struct(port.alias("port"), "proto", "packets", "scans", "dsts")
    top = per_port.sort([*keys, "packets", "dport", "proto"], descending=[False, False, True, False, False]).group_by(
        keys, maintain_order=True).agg(item.head(10).alias("top_ports"))
    first = df["day"].min()
    n_days = (df["day"].max() - first).days + 1 if first else 0
    sched = pl.concat([schedules(df.filter(pl.col("kind") == k).select("src", "day"), first, n_days)
                       .with_columns(pl.lit(k, ru.KIND_DTYPE).alias("kind")) for k in df["kind"].unique()]
                      + [pl.DataFrame(schema={**schedules(pl.DataFrame(), None, 0).schema, "kind": ru.KIND_DTYPE})])
    out = base
    for part in (ports, intervals, cover, top, sched):
        out = out.join(part, on=keys, how="left")
    out = out.with_columns(pl.col("ports", "ports_rescanned").fill_null(0))
    return out.select(ru.SRC_PROFILE_SCHEMA.names()).cast(dict(ru.SRC_PROFILE_SCHEMA))


def _same(actual: pl.DataFrame, expected: pl.DataFrame, keys: list[str]) -> None:
    assert actual.schema == expected.schema
    assert_frame_equal(actual.sort(keys, nulls_last=True), expected.sort(keys, nulls_last=True))


def _check_all(folder: Path, lf: pl.LazyFrame) -> None:
    df = _packets(lf)
    _same(ru.scan_port_day(folder).collect(), expected_port_day(df), list(ru.PORT_DAY_KEYS))
    _same(pl.read_parquet(folder / ru.SRC_TOTALS), expected_src_totals(df), ["src", "kind"])
    _same(pl.read_parquet(folder / ru.DAY_TOTALS), expected_day_totals(df), ["day", "sensor"])
    _same(pl.read_parquet(folder / ru.SRC_PROFILE), expected_src_profile(df), ["src", "kind"])
    if any(c in df.columns for c in ENRICHMENT):
        own = eo.scan(folder / ru.ENRICHMENT_DIR).collect()
        _same(own, expected_enrichment(df), ["src", "day"])
        assert own.equals(own.sort("src", "day", nulls_last=True))  # the parts in (src, day) order
    else:
        assert not (folder / ru.ENRICHMENT_DIR).exists()


# ---------------------------------------------------------------- crafted packets


def _pkt(ts, src, dst, proto=6, sport=40000, dport=80, flags=2, sensor="a", **extra):
    tcp = proto == 6
    return {
        "ts": ts, "src": src, "dst": dst, "proto": proto,
        "sport": sport if proto in (6, 17) else None, "dport": dport if proto in (6, 17) else None,
        "ip_id": 1, "ttl": 64, "ip_len": 40,
        "tcp_flags": flags if tcp else None, "tcp_seq": 7 if tcp else None, "tcp_ack": 0 if tcp else None,
        "tcp_window": 1024 if tcp else None, "tcp_mss": None, "sensor": sensor, **extra,
    }


def crafted() -> pl.DataFrame:
    """Two sensors (and a null one), ICMP and UDP, backscatter, a ZMap packet, a day boundary, nulls."""
    d1 = dt.datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC)
    d2 = dt.datetime(2024, 3, 2, 0, 0, 1, tzinfo=UTC)
    rows = [
        _pkt(d1, 10, 100, asn=64500, org=None),
        _pkt(d1, 10, 100, asn=64500, org="Acme Research"),  # same dst twice: dsts counts it once
        _pkt(d1, 10, 101, dport=443, asn=None, org=None),
        _pkt(d2, 10, 100, asn=64501, org=None),  # next day, AS changed
        _pkt(d1, 10, 100, sensor="b", asn=64500),
        _pkt(d1, 10, 102, sensor=None, asn=64500),
        _pkt(d1, 11, 100, proto=1, asn=None),  # ICMP: null ports
        _pkt(d2, 11, 105, proto=1, asn=None),
        _pkt(d2, 11, 106, proto=17, dport=53, asn=None),
        _pkt(d2, 12, 100, flags=18, asn=None),  # SYN-ACK: backscatter
        _pkt(d2, 12, 101, flags=4, asn=None),  # RST: backscatter
        _pkt(d2, 13, 100, flags=16, asn=None),  # bare ACK: other_tcp
        {**_pkt(d2, 14, 103, asn=None), "ip_id": 54321},  # ZMap
        _pkt(d2, 15, 104, proto=47, asn=None),  # GRE: other
    ]
    return conform(pl.DataFrame(rows).lazy()).collect()


@pytest.fixture(scope="module")
def sample_rollup(sample_cache) -> tuple[Path, pl.LazyFrame]:
    """The sample's rollup folder, the session's (``tests/conftest.py``: the cache builds it by the same days and
    merge as :func:`~scantui.analysis.rollup.build_rollup`, which the crafted tables below build), and its packets."""
    from scantui.workspace.core import Workspace

    return Workspace.open([SAMPLE], cache_dir=sample_cache).rollup().path, open_inputs([SAMPLE]).lf


def _build(tmp_path: Path, df: pl.DataFrame, name: str = "r", buckets: int = 3) -> tuple[Path, pl.LazyFrame]:
    src = tmp_path / f"{name}.parquet"
    df.write_parquet(src)
    lf = open_inputs([src]).lf
    out = tmp_path / name
    ru.build_rollup(lf, out, buckets=buckets)
    return out, lf


# ---------------------------------------------------------------- tests


def test_sample_tables_equal_direct_aggregates(sample_rollup):
    folder, lf = sample_rollup
    _check_all(folder, lf)


def test_sample_meta_and_telescope_size(sample_rollup):
    folder, lf = sample_rollup
    meta = ru.read_meta(folder)
    info = summarize(lf)
    assert meta["layout_version"] == ru.LAYOUT_VERSION
    assert meta["packets"] == info["packets"] == 1_038_908
    assert meta["days"] == info["days"]
    assert meta["first_ts"] == info["first_seen"] and meta["last_ts"] == info["last_seen"]
    assert meta["rows"][ru.PORT_DAY] == ru.scan_port_day(folder).select(pl.len()).collect().item()
    assert meta["enrichment_columns"] == list(ENRICHMENT)
    size = ru.telescope_size_from_day_totals(pl.scan_parquet(folder / ru.DAY_TOTALS))
    assert size == info["telescope_size_estimate"] == 4096
    # tool packet counts over probes agree with `info`
    probes = ru.scan_port_day(folder).filter(pl.col("kind") == "probe").select(pl.col(ru.TOOL_COLUMNS).sum()).collect().row(0, named=True)
    assert {t: probes[f"tool_{t}"] for t in TOOLS} == {t: v["packets"] for t, v in info["tools"].items()}


def test_crafted_tables_with_nulls_icmp_and_sensors(tmp_path):
    df = crafted()
    folder, lf = _build(tmp_path, df)
    _check_all(folder, lf)
    pd_ = ru.scan_port_day(folder).collect()
    icmp = pd_.filter(pl.col("kind") == "icmp")
    assert icmp["dport"].null_count() == icmp.height == 2
    assert set(pd_["sensor"].to_list()) == {"a", "b", None}
    totals = pl.read_parquet(folder / ru.SRC_TOTALS)
    ten = totals.filter(pl.col("src") == 10).row(0, named=True)
    assert (ten["kind"], ten["packets"], ten["dsts"], ten["ports"], ten["days"]) == ("probe", 6, 3, 2, 2)
    assert totals.filter(pl.col("src") == 11, pl.col("kind") == "icmp")["ports"].item() == 0
    enrich = eo.scan(folder / ru.ENRICHMENT_DIR).collect().filter(pl.col("src") == 10).sort("day")
    assert enrich["asn"].to_list() == [64500, 64501]
    assert enrich["org"].to_list() == ["Acme Research", None]
    assert pd_.filter(pl.col("src") == 14)["tool_zmap"].item() == 1


@pytest.mark.parametrize("buckets", [1, 5])
def test_bucket_count_does_not_change_the_tables(tmp_path, buckets):
    folder, lf = _build(tmp_path, crafted(), buckets=buckets)
    _check_all(folder, lf)
    assert sorted(p.name for p in folder.iterdir()) == sorted([ru.PORT_DAY, ru.PORT_DAY_BY_PORT, ru.SRC_TOTALS, ru.SRC_PROFILE,
                                                               ru.DAY_TOTALS, ru.ENRICHMENT_DIR, ru.META, cs.TABLE,
                                                               zr.TABLE, fk.TABLE, dd.TABLE.table, dp.TABLE.table, dpr.TABLE.table,
                                                               ps.FILE, ss.TABLE])
    keys = list(ru.PORT_DAY_KEYS)
    # each port's probe packets and probing sources, summed over the source ranges (disjoint): the distinct ones
    # however many
    expected = (ru.scan_port_day(folder).filter((pl.col("kind") == "probe") & pl.col("dport").is_not_null())
                .group_by("dport").agg(pl.col("packets").cast(pl.UInt64).sum(),
                                       pl.col("src").n_unique().cast(pl.UInt32).alias("sources")).sort("dport").collect())
    assert expected.height > 1 and expected["sources"].max() > 1
    assert ps.read(folder).equals(expected)
    assert ru.scan_port_day(folder, ru.PORT_DAY_BY_PORT).collect().sort(keys, nulls_last=True).equals(
        ru.scan_port_day(folder).collect().sort(keys, nulls_last=True))


def test_input_without_sensor_or_enrichment(tmp_path, canonical_df):
    folder, lf = _build(tmp_path, canonical_df)
    _check_all(folder, lf)
    assert ru.scan_port_day(folder).select(pl.col("sensor").is_null().all()).collect().item()
    assert pl.read_parquet(folder / ru.DAY_TOTALS)["sensor"].is_null().all()
    assert ru.read_meta(folder)["enrichment_columns"] == []


def test_dtypes_are_the_contract(tmp_path):
    folder, _ = _build(tmp_path, crafted())
    assert ru.scan_port_day(folder).collect_schema() == ru.PORT_DAY_SCHEMA
    assert pl.read_parquet_schema(folder / ru.SRC_TOTALS) == dict(ru.SRC_TOTALS_SCHEMA)
    assert pl.read_parquet_schema(folder / ru.DAY_TOTALS) == dict(ru.DAY_TOTALS_SCHEMA)
    assert eo.scan(folder / ru.ENRICHMENT_DIR).collect_schema() == ru.ENRICHMENT_SCHEMA
    assert pl.read_parquet_schema(folder / ru.SRC_PROFILE) == dict(ru.SRC_PROFILE_SCHEMA)


def test_port_day_is_a_plain_hive_layout(tmp_path):
    folder, _ = _build(tmp_path, crafted())
    days = sorted(p.name for p in (folder / ru.PORT_DAY).iterdir())
    assert days == ["day=2024-03-01", "day=2024-03-02"]
    # no `day` column inside the files: the folder name carries it
    for part in (folder / ru.PORT_DAY).glob("day=*/*.parquet"):
        assert "day" not in pl.read_parquet_schema(part)
    lf = pl.scan_parquet(folder / ru.PORT_DAY, hive_partitioning=True)
    assert lf.collect_schema()["day"] == pl.Date
    one_day = lf.filter(pl.col("day") == dt.date(2024, 3, 2)).collect()
    assert one_day.height > 0 and one_day["day"].unique().to_list() == [dt.date(2024, 3, 2)]


def test_telescope_estimate_ignores_a_spike_day(tmp_path):
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    rows = [_pkt(start + dt.timedelta(days=d, seconds=i), 1, 1000 + i) for d in range(5) for i in range(20)]
    rows += [_pkt(start + dt.timedelta(days=2, seconds=j), 2, 5000 + j) for j in range(500)]  # the spike
    folder, _ = _build(tmp_path, conform(pl.DataFrame(rows).lazy()).collect())
    assert ru.telescope_size_from_day_totals(pl.scan_parquet(folder / ru.DAY_TOTALS)) == 20


def test_empty_input_builds_empty_tables(tmp_path):
    folder, _ = _build(tmp_path, crafted().clear())
    assert ru.scan_port_day(folder).collect().height == 0
    assert ru.scan_port_day(folder).collect_schema() == ru.PORT_DAY_SCHEMA
    assert pl.read_parquet(folder / ru.SRC_TOTALS).height == 0
    meta = ru.read_meta(folder)
    assert meta["packets"] == 0 and meta["first_ts"] is None


def test_unicorn_threshold_is_global_not_per_day(tmp_path):
    """A Unicorn session split over two days (below the threshold on each) still counts as Unicorn."""
    start = dt.datetime(2024, 3, 1, 12, tzinfo=UTC)
    n = 100
    src, sport = 77, 5555
    rows = []
    for i in range(2 * n):
        dport = 1000 + i
        key = 0xABCDEF
        seq = key ^ src ^ ((sport << 16) + dport)
        rows.append({**_pkt(start + dt.timedelta(hours=i // n * 24, seconds=i), src, 200 + i, sport=sport, dport=dport), "tcp_seq": seq})
    folder, _ = _build(tmp_path, conform(pl.DataFrame(rows).lazy()).collect())
    by_day = ru.scan_port_day(folder).group_by("day").agg(pl.col("tool_unicorn").sum()).sort("day").collect()
    assert by_day["tool_unicorn"].to_list() == [n, n]


def test_refuses_an_existing_folder(tmp_path):
    (tmp_path / "r").mkdir()
    with pytest.raises(FileExistsError):
        ru.build_rollup(pl.LazyFrame(crafted()), tmp_path / "r")
