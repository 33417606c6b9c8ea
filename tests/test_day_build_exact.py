"""The day build's cheaper steps give the tables of the code they replaced (issue 12 part 6, session 10):
bursts cut on sorted run ids against a per-source Python oracle, fingerprints of the held day against
those of its packet table's order, and ``port_day`` under sessions set in place against the left join
of every row it replaced."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from canonical import make_canonical
from scantui.analysis import bursts as bw
from scantui.analysis import day_state as ds
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import port_day_files as pdf
from scantui.analysis import rollup as ru
from scantui.analysis import rollup_days as rd
from scantui.analysis import rollup_layout as rl
from scantui.analysis.day_packets import SORT
from scantui.analysis.fingerprints import TOOLS, unicorn_eligible, unicorn_key
from scantui.io.schema import conform

DAY0 = dt.date(2024, 2, 1)
T0 = int(dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc).timestamp()) * bw.SECOND_US


def _oracle_bursts(probes: pl.DataFrame) -> pl.DataFrame:
    """The module doc's rule, one (day, port, source) at a time in Python."""
    rows = []
    for (day, dport, src), part in probes.sort("day", "dport", "src", "t", maintain_order=True).group_by(
            "day", "dport", "src", maintain_order=True):
        t, dst = part["t"].to_numpy(), part["dst"].to_list()
        day0 = int(dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc).timestamp()) * bw.SECOND_US
        thr = bw.FLOOR_US if len(t) == 1 else int(min(max(np.median(np.diff(t)) * bw.GAP_FACTOR, bw.FLOOR_US), bw.CEIL_US))
        cuts = [0, *[i for i in range(1, len(t)) if t[i] - t[i - 1] > thr], len(t)]
        for a, b in zip(cuts[:-1], cuts[1:]):
            start, end, dsts = int(t[a]), int(t[b - 1]), len(set(dst[a:b]))
            edge = start - day0 < thr or day0 + bw.DAY_US - end <= thr
            if dsts >= bw.MIN_DSTS or edge:
                rows.append((src, dport, day, start, end, b - a, dsts, thr))
    return pl.DataFrame(rows, schema=bw.SCHEMA, orient="row")


def test_bursts_on_sorted_run_ids_equal_the_rule_per_source():
    """Sources with a few steady runs, a slow trickle, repeated timestamps and single probes, over two days:
    :func:`bursts.day_bursts` (sorted or not as given) holds exactly the oracle's rows."""
    rng = np.random.default_rng(7)
    parts = []
    for i in range(60):
        n = int(rng.integers(1, 40))
        step = int(rng.choice([2, 30, 900, 5000])) * bw.SECOND_US
        t = T0 + int(rng.integers(0, 2 * bw.DAY_US)) + np.cumsum(rng.integers(0, 2 * step, n))
        t[rng.random(n) < 0.1] = t[0]  # ties in time
        parts.append(pl.DataFrame({"src": pl.Series([i % 17] * n, dtype=pl.UInt32),
                                   "dport": pl.Series([int(rng.choice([22, 80, 443]))] * n, dtype=pl.UInt16),
                                   "t": pl.Series(np.sort(t), dtype=pl.Int64),
                                   "dst": pl.Series(rng.integers(0, 12, n), dtype=pl.UInt32)}))
    probes = pl.concat(parts).with_columns(
        pl.from_epoch("t", time_unit="us").dt.date().alias("day")).select("src", "dport", "day", "t", "dst")
    want = _oracle_bursts(probes).sort("dport", "src", "start_us")
    shuffled = probes.sample(fraction=1.0, shuffle=True, seed=3)
    got = bw.day_bursts(shuffled.lazy()).collect().sort("dport", "src", "start_us")
    assert want.height > 60 and want["packets"].max() > 5
    assert_frame_equal(got, want)
    presorted = bw.day_bursts(probes.sort("day", "dport", "src", "t").lazy(), presorted=True).collect()
    assert_frame_equal(presorted.sort("dport", "src", "start_us"), want)


def test_fingerprints_of_the_held_day_equal_those_of_its_packet_table():
    day = make_canonical(n=4000, seed=11, days=1).with_columns(pl.col("src") % 60)  # ~40 probes a source
    held = fk.day_fingerprints(day.lazy())
    table = fk.day_fingerprints(day.sort(*SORT, nulls_last=True, maintain_order=True).lazy())
    assert held.height > 10
    assert_frame_equal(held, table)


def _old_port_day_rows(state, sessions: pl.DataFrame, packets) -> pl.DataFrame:
    """Session 9's :func:`rollup_days.port_day_rows`: a left join of every base row with the moved counts."""
    hits = pl.scan_parquet(state / rd.GROUPS).join(sessions.lazy(), on="unicorn_key", how="semi").drop("unicorn_key")
    singles = pl.scan_parquet(state / rd.KEYS).filter(pl.col("n") < 2).join(sessions.lazy(), on="unicorn_key", how="semi")
    singles = singles.select("unicorn_key").collect()
    frames = [hits]
    if singles.height:
        tooled = ru.prepare(packets(), sessions=pl.DataFrame(schema=rd.SESSIONS_SCHEMA))
        frames.append(tooled.filter(unicorn_eligible()).with_columns(unicorn_key())
                      .join(singles.lazy(), on="unicorn_key", how="semi")
                      .group_by(*rl.GROUP_KEYS, "tool").agg(pl.len().cast(pl.UInt32).alias("packets")))
    moved = pl.concat(frames).group_by(rl.GROUP_KEYS).agg(
        [pl.col("packets").filter(pl.col("tool") == t).sum().cast(pl.UInt32).alias(f"moved_{t}") for t in TOOLS])
    moved_cols = [f"moved_{t}" for t in TOOLS]
    rows = pl.scan_parquet(state / rd.PORT_DAY_BASE).join(moved.collect().lazy(), on=list(rl.GROUP_KEYS), how="left",
                                                          nulls_equal=True, maintain_order="left")
    rows = rows.with_columns(pl.col(moved_cols).fill_null(0)).with_columns(
        *[(pl.col(c) - pl.col(f"moved_{t}")).alias(c) for t, c in zip(TOOLS, ru.TOOL_COLUMNS) if t != "unicorn"],
        (pl.col("tool_unicorn") + pl.sum_horizontal(moved_cols)).cast(pl.UInt32).alias("tool_unicorn"),
    ).drop(moved_cols)
    return rows.collect(engine="streaming")


def _session_day(seed: int) -> pl.DataFrame:
    """Random traffic plus session-like SYN keys (same src, sport, dport, seq) seen 1 to 40 times; a sensor
    column on half the rows (null on the rest: the join's null keys)."""
    rng = np.random.default_rng(seed)
    base = make_canonical(n=3000, seed=seed, days=1)
    keys = []
    for i in range(30):
        n = int(rng.choice([1, 1, 2, 5, 40]))
        keys.append(base.head(n).with_columns(
            pl.lit(0x0A000000 + i % 9, pl.UInt32).alias("src"), pl.lit(40000 + i, pl.UInt16).alias("sport"),
            pl.lit(int(rng.choice([22, 8080])), pl.UInt16).alias("dport"), pl.lit(6, pl.UInt8).alias("proto"),
            pl.lit(2, pl.UInt8).alias("tcp_flags"), pl.lit(1000 + i, pl.UInt32).alias("tcp_seq"),
            pl.lit(0, pl.UInt32).alias("tcp_ack"), pl.lit(1024, pl.UInt16).alias("tcp_window"),
            pl.lit(1460, pl.UInt16).alias("tcp_mss"), pl.lit(64, pl.UInt8).alias("ttl"),
            pl.lit(44, pl.UInt16).alias("ip_len")))
    day = pl.concat([base, *keys], how="vertical_relaxed")
    sensor = pl.when(pl.col("src") % 2 == 0).then(pl.lit("s1")).otherwise(None).alias("sensor")
    return conform(day.with_columns(sensor).lazy()).collect()


def test_port_day_under_sessions_set_in_place_equals_the_left_join(tmp_path):
    """Session sets of keys seen once (read again from the packets) and several times, touching sources with and
    without a sensor: the same rows, in the same order, as the left join of every base row."""
    for seed in (1, 2):
        day = _session_day(seed)
        state = tmp_path / f"s{seed}"
        rd.build_day_state(day.lazy(), state)
        keys = pl.read_parquet(state / rd.KEYS)
        for pick in (keys.filter(pl.col("n") >= 2), keys.filter(pl.col("n") < 2).head(5), keys.sample(20, seed=seed)):
            sessions = pick.select("unicorn_key", pl.lit(True).alias("unicorn_session")).sort("unicorn_key").cast(
                dict(rd.SESSIONS_SCHEMA))
            old = _old_port_day_rows(state, sessions, lambda: day.lazy())
            new = pdf.port_day_rows(state, sessions, lambda: day.lazy())
            assert_frame_equal(new, old)
            assert not new.equals(pl.read_parquet(state / rd.PORT_DAY_BASE))  # some rows did move


def test_packet_table_of_a_day_in_time_order_equals_the_three_column_sort(tmp_path):
    """Session 11: packets in time order sort by (dport, src) alone; ties in time (same dport and src) and
    null ports kept as the (dport, src, ts) sort keeps them; a day out of time order takes that sort."""
    from scantui.analysis.day_packets import day_packets_files, write_day_packets

    day = make_canonical(n=5000, seed=3, days=1).with_columns(pl.col("src") % 40)
    day = day.with_columns(pl.col("ts").dt.truncate("1m"))  # many equal times within a (dport, src)
    day = day.with_columns(pl.when(pl.col("src") == 3).then(None).otherwise(pl.col("dport")).alias("dport"))
    timed = day.sort("ts", maintain_order=True)
    for i, frame in enumerate((timed, day.sample(fraction=1.0, shuffle=True, seed=4))):
        (tmp_path / str(i)).mkdir()
        write_day_packets(frame.lazy(), tmp_path / str(i))
        want = frame.sort(*SORT, nulls_last=True, maintain_order=True)
        assert_frame_equal(pl.read_parquet(day_packets_files(tmp_path / str(i))), want)
    assert timed["dport"].null_count() and timed.select(SORT).is_duplicated().any()


def test_day_state_of_the_held_day_equals_the_scanned_one(tmp_path):
    """Session 11: a held day classified and tooled once gives the tables of the per-table plans."""
    day = _session_day(8)
    path = tmp_path / "day.parquet"
    day.write_parquet(path)
    rd.build_day_state(pl.scan_parquet(path), tmp_path / "scanned")
    rd.build_day_state(day.lazy(), tmp_path / "held", held=True)
    names = sorted(p.name for p in (tmp_path / "scanned").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "held").iterdir()) and len(names) >= 8
    for name in names:
        a, b = pl.read_parquet(tmp_path / "scanned" / name), pl.read_parquet(tmp_path / "held" / name)
        if name in (rd.ENRICHMENT, rd.DAY_TOTALS):  # written by an unsorted group-by (either way)
            a, b = a.sort(a.columns, nulls_last=True), b.sort(b.columns, nulls_last=True)
        assert_frame_equal(a, b)
    assert pl.read_parquet(tmp_path / "held" / rd.GROUPS).height > 0


def test_pairs_and_key_counts_sorted_by_packed_rows_equal_unique_then_sort():
    """Session 13: a day's distinct (src, kind, dst) from one sort of packed rows, and its key counts sorted as
    one packed column, equal ``unique`` then :func:`sort_by` and the frame's sort: duplicates, every kind, the
    extreme addresses; a null source, kind or destination (and a null key) take the old path, nulls first."""
    from scantui.analysis.sort_keys import sort_by

    rng = np.random.default_rng(13)
    n = 20_000
    src = rng.choice(np.array([0, 1, 7, 2**31, 2**32 - 1] + list(rng.integers(0, 2**32, 60)), dtype=np.uint32), n)
    dst = rng.choice(np.array([0, 5, 2**32 - 1] + list(rng.integers(0, 2**32, 40)), dtype=np.uint32), n)
    kind = pl.Series("kind", rng.choice(list(ru.KINDS), n), dtype=ru.KIND_DTYPE)
    pairs = pl.DataFrame({"src": src, "kind": kind, "dst": dst})
    assert pairs.is_duplicated().any() and pairs["kind"].n_unique() == len(ru.KINDS)
    for frame in (pairs, pairs.with_columns(pl.when(pl.col("dst") == 5).then(None).otherwise(pl.col(c)).alias(c)
                                            for c in ("src", "kind", "dst"))):
        got = ds._distinct_pairs_sorted(frame)
        assert_frame_equal(got, sort_by(frame.unique(), ("src", "kind", "dst")))
        assert got.schema == rd.PAIRS_SCHEMA and not got.is_duplicated().any()
    keys = pl.DataFrame({"unicorn_key": rng.choice(2**32, 5000, replace=False).astype(np.uint32),
                         "n": rng.integers(1, 2**32, 5000).astype(np.uint32)})
    keys = pl.concat([keys, pl.DataFrame({"unicorn_key": [0, 2**32 - 1], "n": [2**32 - 1, 1]},
                                         schema=keys.schema)]).unique("unicorn_key")
    assert_frame_equal(ds._keys_sorted(keys), keys.sort("unicorn_key"))
    with_null = pl.concat([keys, pl.DataFrame({"unicorn_key": [None], "n": [3]}, schema=keys.schema)])
    assert_frame_equal(ds._keys_sorted(with_null), with_null.sort("unicorn_key"))


def _sensor_day() -> pl.DataFrame:
    """A day of several sensors (one of them null), ports null on some UDP rows (as ICMP has none), the extreme sources, and session keys."""
    day = _session_day(5)
    i = pl.int_range(pl.len(), dtype=pl.UInt32)
    return day.with_columns(
        pl.when(i % 5 == 0).then(None).otherwise(pl.lit(["s1", "s2", "tel-10", "é"], dtype=pl.List(pl.String)).list.get(i % 4))
        .alias("sensor"),
        pl.when((i % 3 == 0) & (pl.col("proto") != 6)).then(None).otherwise(pl.col("dport")).alias("dport"),
        pl.when(i % 97 == 0).then(pl.lit(0, pl.UInt32)).when(i % 89 == 0).then(pl.lit(2**32 - 1, pl.UInt32))
        .otherwise(pl.col("src")).alias("src"))


def test_held_port_day_and_key_counts_equal_the_group_bys_sorted(tmp_path):
    """Session 15: the held day's ``port_day`` grouped by its packed sort key (unpacked after) and its key counts
    sorted in runs write the files of the column group-bys sorted after (the scanned day's way), byte for byte,
    with several sensors and a null one, null ports and the extreme sources; packets of two days (or a null key)
    group by the columns."""
    day = _sensor_day()
    path = tmp_path / "day.parquet"
    day.write_parquet(path)
    tooled = ru.prepare(day.lazy(), sessions=pl.DataFrame(schema=rd.SESSIONS_SCHEMA)).collect()
    assert ds._packed_port_day(tooled) is not None and ds._counted_keys(day.lazy()) is not None
    rd.build_day_state(pl.scan_parquet(path), tmp_path / "scanned")
    rd.build_day_state(day.lazy(), tmp_path / "held", held=True)
    rows = pl.read_parquet(tmp_path / "held" / rd.PORT_DAY_BASE)
    assert rows["sensor"].n_unique() == 5 and rows["dport"].null_count() and rows["src"].min() == 0
    for name in (rd.PORT_DAY_BASE, rd.KEYS, rd.GROUPS, rd.PAIRS):
        assert (tmp_path / "scanned" / name).read_bytes() == (tmp_path / "held" / name).read_bytes(), name
    two = pl.concat([day, day.with_columns(pl.col("ts") + dt.timedelta(days=1))])
    assert ds._packed_port_day(ru.prepare(two.lazy(), sessions=pl.DataFrame(schema=rd.SESSIONS_SCHEMA)).collect()) is None
    nulled = day.with_columns(pl.when(pl.col("sport") == 40003).then(None).otherwise(pl.col("sport")).alias("sport"))
    assert ds._counted_keys(nulled.lazy()) is None


def test_port_sorted_copy_from_port_day_order_equals_the_whole_sort(tmp_path):
    """Session 15: ``port_day`` rows (in their file's order) sorted by (kind, dport) alone give the port-sorted copy's
    whole order; with sensors null beside values (nulls first in one order, last in the other) the whole sort runs."""
    from scantui.analysis.sort_keys import sort_by

    day = _sensor_day()
    rd.build_day_state(day.lazy(), tmp_path / "mixed", held=True)
    rd.build_day_state(day.with_columns(pl.col("sensor").fill_null("s0")).lazy(), tmp_path / "full", held=True)
    for name in ("mixed", "full"):
        rows = pl.read_parquet(tmp_path / name / rd.PORT_DAY_BASE)
        assert rows.height > 1000 and rows.select("kind", "dport").is_duplicated().any()
        assert_frame_equal(pdf._by_port_sorted(rows), sort_by(rows, rl.BY_PORT_ORDER, nulls_last=True))
        rd.write_by_port(tmp_path / name / rd.PORT_DAY_BASE)
        want = sort_by(rows, rl.BY_PORT_ORDER, nulls_last=True)
        assert_frame_equal(pl.read_parquet(rd.by_port(tmp_path / name / rd.PORT_DAY_BASE)), want)


def test_kinds_and_tools_from_enum_literals_equal_the_strings_cast():
    """Session 15: the held day's ``kind`` and ``tool`` chosen among enum literals equal the string chains cast
    after, for every TCP flag byte on TCP, UDP, ICMP, another protocol and a null one, and null flags."""
    from scantui.analysis.fingerprints import TOOL_DTYPE, with_tool
    from scantui.analysis.traffic import traffic_class, traffic_kind

    flags = [*range(256), None]
    rows = pl.DataFrame({"proto": pl.Series([p for p in (6, 17, 1, 47, None) for _ in flags], dtype=pl.UInt8),
                         "tcp_flags": pl.Series(flags * 5, dtype=pl.UInt8)})
    got = rows.select(traffic_kind(ru.KIND_DTYPE))["traffic"]
    assert got.dtype == ru.KIND_DTYPE and got.null_count() == 0 and got.n_unique() == len(ru.KINDS)
    assert got.equals(rows.select(traffic_class())["traffic"].cast(ru.KIND_DTYPE))
    day = make_canonical(n=3000, seed=21, days=1)
    day = pl.concat([day, day.head(300).with_columns(pl.lit(2, pl.UInt8).alias("tcp_flags"), pl.lit(6, pl.UInt8).alias("proto"),
                                                     pl.lit(54321, pl.UInt16).alias("ip_id"))])
    day = day.with_columns(pl.when(pl.int_range(pl.len()) % 13 == 0).then(None).otherwise(pl.col("proto")).alias("proto"))
    sessions = (day.lazy().select(unicorn_key()).unique().head(50).with_columns(pl.lit(True).alias("unicorn_session"))
                .collect().cast(dict(rd.SESSIONS_SCHEMA)))
    for s in (pl.DataFrame(schema=rd.SESSIONS_SCHEMA), sessions):
        tool = with_tool(day.lazy(), sessions=s).collect()["tool"]
        assert tool.dtype == TOOL_DTYPE and tool.null_count() == 0 and tool.n_unique() >= 2
