"""Collab's pre-filter from the per-day group sums (``collab_sums``, issue 12 part 4): the same pre-filter
rows, standalone scanners and candidates as the pre-filter over every ``port_day`` row, on generated data
with planted covers under many queries; the detailed rows of the groups it prunes are never read; a
rollup without the table takes the full pre-filter; under an enrichment overlay the AS part comes from the
overlay's own per-day sums."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from canonical import TELESCOPE_BASE, make_canonical
from scantui.analysis import collab as cb
from scantui.analysis import collab_sums as cs
from scantui.analysis import rollup as ru
from scantui.analysis.collab_cover import Limits
from scantui.analysis.collab_prune import candidate_rows, day_rows
from scantui.io.schema import conform
from scantui.workspace.core import Workspace

T = 1024  # the generated telescope: TELESCOPE_BASE + 0..1023
DAY0 = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)


def _net(a: int, b: int, c: int) -> int:
    return (a << 24) | (b << 16) | (c << 8)


def _scan(src: int, dsts, start: dt.datetime, *, port: int, seconds: float = 3600, ip_id: int | None = None,
          asn: int | None = None, sensor: str | None = None) -> pl.DataFrame:
    """One source's SYN probes to *dsts* (offsets into the telescope), spread over *seconds* from *start*."""
    dsts = np.asarray(list(dsts), dtype=np.uint32)
    n = len(dsts)
    rng = np.random.default_rng(src ^ port)
    ts = [start + dt.timedelta(seconds=seconds * i / max(n, 1)) for i in range(n)]
    return pl.DataFrame({
        "ts": pl.Series(ts).dt.cast_time_unit("us"), "src": np.full(n, src, np.uint32), "dst": TELESCOPE_BASE + dsts,
        "proto": np.full(n, 6, np.uint8), "sport": rng.integers(1024, 65536, n, dtype=np.uint16),
        "dport": np.full(n, port, np.uint16),
        "ip_id": np.full(n, ip_id, np.uint16) if ip_id is not None else rng.integers(0, 54000, n, dtype=np.uint16),
        "ttl": np.full(n, 50, np.uint8), "ip_len": np.full(n, 44, np.uint16), "tcp_flags": np.full(n, 2, np.uint8),
        "tcp_seq": rng.integers(0, 2**32, n, dtype=np.uint32), "tcp_ack": np.zeros(n, np.uint32),
        "tcp_window": np.full(n, 65535 if ip_id == 54321 else 29200, np.uint16), "tcp_mss": np.full(n, 1460, np.uint16),
        "asn": pl.Series([asn] * n, dtype=pl.UInt32), "sensor": pl.Series([sensor] * n, dtype=pl.String),
    })


def planted(seed: int = 3) -> pl.DataFrame:
    """Six days of background noise with covers of a 1024-address telescope planted in it: calendar-day
    covers, a 2-fold cover, one across midnight whose second day is a light group (fewer than FLOOR
    destinations), ZMap's, one found only by AS (two /24s), standalone scanners beside covers, a
    near-miss (two sources summing just under the cover), one only ``--tool zmap`` finds (a member that is
    standalone over both sensors but not over its ZMap sensor) and many light groups on the covers' ports."""
    rng = np.random.default_rng(seed)
    d = [DAY0 + dt.timedelta(days=i) for i in range(6)]
    a, b, c, z, m, g = (_net(45, 1, i) for i in range(1, 7))
    parts = [
        *[_scan(a + 1 + i, range(256 * i, 256 * i + 256), d[1] + dt.timedelta(hours=2), port=443, asn=64500)
          for i in range(4)],  # a /24 cover split four ways
        _scan(a + 99, range(T), d[1] + dt.timedelta(hours=5), port=443, asn=64500),  # standalone in that /24
        _scan(a + 99, range(T), d[4] + dt.timedelta(hours=5), port=443, asn=64500),  # and on another day
        *[_scan(b + 1 + i, range(i % 2, T, 2), d[2] + dt.timedelta(hours=1, minutes=10 * i),
                port=80, asn=64501) for i in range(4)],  # a 2-fold cover
        _scan(c + 7, range(1000), d[2] + dt.timedelta(hours=22, minutes=30), port=22, seconds=1500, asn=64502),
        _scan(c + 8, range(1000, T), d[3] + dt.timedelta(minutes=10), port=22, seconds=600, asn=64502),  # 24 dsts
        *[_scan(z + 1 + i, range(512 * i, 512 * i + 512), d[3] + dt.timedelta(hours=3), port=8080, ip_id=54321,
                asn=64503) for i in range(2)],  # ZMap's
        _scan(_net(46, 2, 1) + 5, range(600), d[4] + dt.timedelta(hours=8), port=3389, asn=64510),
        _scan(_net(46, 2, 9) + 6, range(600, T), d[4] + dt.timedelta(hours=8), port=3389, asn=64510),  # AS only
        _scan(m + 1, range(500), d[5] + dt.timedelta(hours=1), port=443, asn=64504),
        _scan(m + 2, range(500, 1000), d[5] + dt.timedelta(hours=2), port=443, asn=64504),  # 1000 < cover_min
        _scan(g + 1, range(600), d[3] + dt.timedelta(hours=9), port=9000, ip_id=54321, sensor="s1"),
        _scan(g + 1, range(600, T), d[3] + dt.timedelta(hours=9), port=9000, sensor="s2"),  # standalone over both
        _scan(g + 2, range(600, T), d[3] + dt.timedelta(hours=9), port=9000, ip_id=54321, sensor="s1"),
    ]
    for day in d:  # light groups: 20 sources of one /24 a day on a cover's port, a few addresses each
        for i in range(20):
            port = int(rng.choice([443, 80, 22]))
            parts.append(_scan(_net(47, int(rng.integers(0, 4)), int(rng.integers(0, 3))) + i,
                               rng.choice(T, int(rng.integers(1, 6)), replace=False),
                               day + dt.timedelta(hours=int(rng.integers(0, 23))), port=port, asn=64505))
    noise = make_canonical(n=6000, seed=seed, days=6).with_columns(pl.lit(None, pl.UInt32).alias("asn"),
                                                                    pl.lit(None, pl.String).alias("sensor"))
    packets = pl.concat([*parts, noise.select(parts[0].columns)], how="vertical_relaxed").sort("ts")
    return conform(packets.lazy()).collect()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(input file, cache folder) of the planted data, built once: tests copy the cache before changing it."""
    folder = tmp_path_factory.mktemp("collab-sums")
    planted().write_parquet(folder / "in.parquet")
    Workspace.open([folder / "in.parquet"], cache_dir=folder / "cache").rollup()
    return folder / "in.parquet", folder / "cache"


def _copy(built, tmp_path: Path) -> Workspace:
    shutil.copytree(built[1], tmp_path / "cache")
    return Workspace.open([built[0]], cache_dir=tmp_path / "cache")


def _plain(result: cb.CollabResult) -> tuple:
    return [c.to_json() for c in result.candidates], result.telescope_size, result.notes, result.stats


def _search(ws: Workspace, query: cb.CollabQuery, *, sums: bool) -> cb.CollabResult:
    r = ws.rollup()
    return cb.collab_scans(ws.packet_source(), port_day=r.port_day_by_port if sums else r.port_day,
                           enrichment=r.enrichment, telescope_size=T, query=query,
                           sums=r.collab_sums if sums else None)


#: The summed kinds (--by both): the table pre-filters those only (a query of every kind: test_collab_fingerprint).
BOTH = ("prefix24", "asn")
QUERIES = {
    "day": cb.CollabQuery(by=BOTH),
    "24h": cb.CollabQuery(by=BOTH, window_us=cb.parse_window("24h")),
    "48h": cb.CollabQuery(by=BOTH, window_us=cb.parse_window("48h")),
    "90m-prefix": cb.CollabQuery(window_us=cb.parse_window("90m"), by=("prefix24",)),
    "zmap": cb.CollabQuery(by=BOTH, tools=("zmap",)),
    "zmap-other": cb.CollabQuery(tools=("zmap", "other"), by=("asn",)),
    "masscan-48h": cb.CollabQuery(by=BOTH, tools=("masscan",), window_us=cb.parse_window("48h")),
    "ports": cb.CollabQuery(by=BOTH, ports=(22, 443, 3389)),
    "port-24h": cb.CollabQuery(by=BOTH, ports=(22,), window_us=cb.parse_window("24h")),
    "min3": cb.CollabQuery(by=BOTH, min_sources=3),
    "min1": cb.CollabQuery(by=BOTH, min_sources=1),
    "loose": cb.CollabQuery(by=BOTH, low=0.03, high=0.03),
    "tight": cb.CollabQuery(by=BOTH, low=0.0, high=0.0, window_us=cb.parse_window("24h")),
    "40d": cb.CollabQuery(by=BOTH, window_us=cb.parse_window("40d")),  # the table cannot prune: every row
}


@pytest.mark.parametrize("query", list(QUERIES.values()), ids=list(QUERIES))
def test_the_prefilter_from_the_sums_equals_the_one_over_every_row(built, query):
    ws = Workspace.open([built[0]], cache_dir=built[1])
    r = ws.rollup()
    assert r.collab_sums is not None and r.collab_sums.kinds == ("prefix24", "asn")
    cover_min = Limits(T, query.low, query.high, query.min_sources).cover_min
    full = day_rows(r.port_day, query)
    for kind in query.by:
        need = cs.needed(r.collab_sums.table, kind, query, cover_min)
        assert (need is None) == (query.window_us == cb.parse_window("40d"))
        rows = full if need is None else day_rows(cs.read_needed(r.port_day_by_port, need, kind), query)
        old = pl.collect_all(candidate_rows(full, kind, r.enrichment, query, cover_min))
        new = pl.collect_all(candidate_rows(rows, kind, r.enrichment, query, cover_min))
        for o, n in zip(old, new):
            assert_frame_equal(n.sort(n.columns), o.sort(o.columns))
    with_sums, without = _search(ws, query, sums=True), _search(ws, query, sums=False)
    assert _plain(with_sums) == _plain(without)


def test_the_planted_covers_are_found(built):
    ws = Workspace.open([built[0]], cache_dir=built[1])
    found = {q: _search(ws, QUERIES[q], sums=True).candidates for q in ("day", "24h", "zmap")}
    by_port = {c.port: c for c in found["day"]}
    assert {443, 80, 8080, 3389} <= set(by_port) and 22 not in by_port
    assert by_port[80].cover_multiple == 2 and by_port[3389].key.kind.value == "asn"
    assert _net(45, 1, 1) + 99 in by_port[443].excluded_standalone
    assert any(c.port == 22 and len(c.sources) == 2 for c in found["24h"])  # across midnight, 24 dsts the 2nd day
    assert {c.port for c in found["zmap"]} == {8080, 9000} and 9000 not in by_port


def test_the_table_holds_only_heavy_groups_sorted_by_port(built):
    ws = Workspace.open([built[0]], cache_dir=built[1])
    r = ws.rollup()
    table = r.collab_sums.table.collect()
    assert table["s"].min() >= cs.FLOOR and table.height < r.port_day.select(pl.len()).collect().item() / 10
    day = pl.read_parquet(next((r.path / cs.TABLE).glob("day=2024-02-03/*.parquet")))
    assert day.height and day.equals(day.sort("key_kind", "dport", "key"))
    # the light second day of the midnight cover is not in it; its day is read all the same
    c22 = (_net(45, 1, 3) >> 8)
    groups = table.filter((pl.col("key_kind") == "prefix24") & (pl.col("dport") == 22) & (pl.col("key") == c22))
    assert groups["day"].to_list() == [dt.date(2024, 2, 3)]


def _poison(ws: Workspace, keep: pl.DataFrame) -> None:
    """Rewrite every day's ``port_day_by_port`` file: the rows of the days, ports and /24s in *keep* (what
    ``read_needed`` narrows to) as they are, every other row made to look like a half cover (so a
    pre-filter reading them finds more)."""
    r = ws.rollup()
    days, ports, keys = (keep[c].unique().implode() for c in ("day", "dport", "key"))
    for path in sorted((r.path / ru.PORT_DAY_BY_PORT).glob("day=*/*.parquet")):
        day = dt.date.fromisoformat(path.parent.name.removeprefix("day="))
        rows = pl.read_parquet(path)
        key = (pl.col("src") // 256).cast(pl.UInt32)
        hit = pl.lit(day).is_in(days) & pl.col("dport").is_in(ports) & key.is_in(keys)
        half = pl.lit(T // 2 + 10, pl.UInt32)
        rows = rows.with_columns(pl.when(hit).then(pl.col("dsts")).otherwise(half).alias("dsts"))
        path.unlink()  # a hard link into the day state: never written through
        rows.write_parquet(path)


@pytest.mark.parametrize("query", [QUERIES["day"], QUERIES["48h"], QUERIES["ports"]], ids=["day", "48h", "ports"])
def test_the_rows_of_pruned_groups_are_not_read(built, tmp_path, query):
    query = dataclasses.replace(query, by=("prefix24",))
    ws = _copy(built, tmp_path)
    before = _search(ws, query, sums=True)
    assert before.candidates
    need = cs.needed(ws.rollup().collab_sums.table, "prefix24", query,
                     Limits(T, query.low, query.high, query.min_sources).cover_min)
    _poison(ws, need)
    again = Workspace.open([built[0]], cache_dir=tmp_path / "cache")
    assert _plain(_search(again, query, sums=True)) == _plain(before)
    # the poison is there: the pre-filter over every (port-sorted) row now keeps more
    poisoned = cb.collab_scans(again.packet_source(), port_day=again.rollup().port_day_by_port,
                               enrichment=again.rollup().enrichment, telescope_size=T, query=query)
    assert poisoned.stats["prefilter_rows_prefix24"] > before.stats["prefilter_rows_prefix24"]


def test_the_workspace_searches_with_the_sums_and_without_them_alike(built, tmp_path):
    ws = _copy(built, tmp_path)
    query = QUERIES["24h"]
    with_sums = ws.collab(query)
    assert ws.rollup().collab_sums is not None and with_sums.candidates
    shutil.rmtree(ws.rollup().path / cs.TABLE)  # e.g. a rollup cached before the table existed
    again = Workspace.open([built[0]], cache_dir=tmp_path / "cache")
    assert again.rollup().collab_sums is None
    assert _plain(again.collab(query)) == _plain(with_sums)


def _overlay(built, tmp_path: Path, asn: pl.Expr, name: str) -> Workspace:
    """The planted data with an enrichment table giving every probing (src, day) the AS *asn* (of ``src``, ``asn``)."""
    ws = Workspace.open([built[0]], cache_dir=tmp_path / "cache")
    r = ws.rollup()
    own = r.enrichment.select("src", "day", pl.col("asn").alias("own"))
    table = (r.port_day.filter(pl.col("kind") == "probe").select("src", "day").unique()
             .join(own, on=["src", "day"], how="left").select("src", "day", asn.cast(pl.UInt32).alias("asn")).collect())
    path = tmp_path / name
    table.write_parquet(path)
    return Workspace.open([built[0], path], cache_dir=tmp_path / "cache")


def test_an_enrichment_overlay_gets_the_as_sums_of_its_own_numbers(built, tmp_path):
    """AS numbers from enrichment tables the day tables never saw: the collab sums keep only their /24 part, and
    the day windows' AS pass gets each day's AS rows under the tables (made once per day and tables, in the day
    states): the same candidates as the AS pre-filter over every row, for one AS over everything and for ASes
    that regroup the sources (the data's AS moved, two ASes merged, sources of no AS)."""
    shutil.copytree(built[1], tmp_path / "cache")
    one = _overlay(built, tmp_path, pl.lit(64999), "one.parquet")
    regrouped = _overlay(built, tmp_path, pl.when(pl.col("own").is_in([64500, 64501])).then(pl.lit(65000))
                         .when(pl.col("own") == 64510).then(None).otherwise(pl.col("own") + 7), "regrouped.parquet")
    states = one.rollup().day_states
    for over in (one, regrouped):
        r = over.rollup()
        assert r.enrichment_path is not None and r.collab_sums.kinds == ("prefix24",)
        assert r.collab_sums_with_as().kinds == ("prefix24", "asn")
        for name in ("day", "24h", "zmap-other", "ports", "min1"):
            query = dataclasses.replace(QUERIES[name], by=("asn",))
            result = over.collab(query)
            plain = cb.collab_scans(over.packet_source(), port_day=r.port_day, enrichment=r.enrichment,
                                    telescope_size=over.telescope()[0], query=query)
            # the data names two sensors (s1, s2): the workspace adds the scans found on one sensor's space alone
            # and every candidate's cover of each sensor (analysis.sensor_collab); the whole telescope's search is the same
            whole = [dataclasses.replace(c, sensor_cover=()) for c in result.candidates if c.sensor is None]
            assert _plain(dataclasses.replace(result, candidates=whole)) == _plain(plain), name
        assert {c.port for c in over.collab(dataclasses.replace(QUERIES["day"], by=("asn",))).candidates} >= {443, 80}
    # each tables' own file in every day state, made once: a second workspace reads them
    files = {p.name for state in states.values() for p in state.glob(f"{cs.TABLE}_asn-*.parquet")}
    assert len(files) == 2 and all(len(list(s.glob(f"{cs.TABLE}_asn-*.parquet"))) == 2 for s in states.values())
    stamps = {p: p.stat().st_mtime_ns for s in states.values() for p in s.glob(f"{cs.TABLE}_asn-*.parquet")}
    again = Workspace.open([built[0], tmp_path / "one.parquet"], cache_dir=tmp_path / "cache")
    again.collab(dataclasses.replace(QUERIES["day"], by=("asn",)))
    assert {p: p.stat().st_mtime_ns for s in states.values() for p in s.glob(f"{cs.TABLE}_asn-*.parquet")} == stamps


def test_the_overlays_as_sums_need_every_day_state(tmp_path):
    """A day state gone (pruned) or a rollup without day states: no AS sums (the pre-filter reads every row)."""
    rows = pl.LazyFrame(schema={"src": pl.UInt32, "day": pl.Date, "asn": pl.UInt32})
    assert cs.overlay_as_sums({}, rows, "k") is None
    assert cs.overlay_as_sums({dt.date(2024, 2, 1): tmp_path / "gone"}, rows, "k") is None
