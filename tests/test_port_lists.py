"""A port's scanner list kept beside the rollup (``port_lists/``): written by the first ``--port`` query, read by
later ones, the same bytes as the computed list; a damaged file is computed again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from clihelp import SAMPLE, run
from canonical import make_canonical
from scantui.enrich.lists import match_names

pytestmark = pytest.mark.usefixtures("shared_rollup_cache")

PORTS = "80,443,8080"


def scanners(capsys, *args: str) -> str:
    code, out, err = run(["scanners", SAMPLE, "--port", PORTS, *args], capsys)
    assert code == 0, err
    return out


def kept_files() -> list[Path]:
    return sorted(Path(os.environ["SCANTUI_CACHE_DIR"]).glob("rollups/*/port_lists/v*-80-443-8080.parquet"))


def test_the_first_port_query_keeps_the_list_and_later_ones_read_it(capsys):
    for path in kept_files():  # another test of the session may have kept it already
        path.unlink()
    # --since before the data: the same window and rows, but not a pure port selection: computed every time
    computed = {args: scanners(capsys, "--since", "2000-01-01", *args)
                for args in [("--json",), ("--csv", "--tool", "zmap"), ("--jsonl", "--sort", "dsts", "--top", "9"),
                             ("--json", "--min-packets", "100", "--top", "20")]}
    assert not kept_files()
    cold = scanners(capsys, "--json")
    [path] = kept_files()
    assert cold == computed[("--json",)] and len(cold) > 100_000
    for args, expect in computed.items():  # read back: filters, sort, cut and formats as computed
        assert scanners(capsys, *args) == expect, args

    # it is the kept table that is read: a change to it shows
    table = pl.read_parquet(path)
    table.with_columns(pl.col("packets") + 1_000_000_000).write_parquet(path)
    [top] = json.loads(scanners(capsys, "--json", "--top", "1"))
    assert top["packets"] > 1_000_000_000

    path.write_bytes(b"not parquet")  # damaged: computed again (and kept again)
    assert scanners(capsys, "--json") == cold
    assert pl.read_parquet(path).sort("src").equals(table.sort("src"))


def test_the_list_column_without_lists_is_empty_lists():
    for n in (0, 3):
        got = match_names(pl.Series("src", range(n), dtype=pl.UInt32), [])
        assert (got.name, got.dtype, got.to_list()) == ("list", pl.List(pl.String), [[]] * n)


def test_rollup_keeps_the_lists_of_the_ports_asked(capsys):
    for path in Path(os.environ["SCANTUI_CACHE_DIR"]).glob("rollups/*/port_lists/v*-8080.parquet"):
        path.unlink()
    code, out, err = run(["rollup", SAMPLE, "--keep-ports", "8080"], capsys)
    assert code == 0 and "kept the scanner list of port 8080" in err, err
    [path] = Path(out.strip()).glob("port_lists/v*-8080.parquet")
    kept = run(["scanners", SAMPLE, "--port", "8080", "--json"], capsys)[1]
    assert kept == run(["scanners", SAMPLE, "--port", "8080", "--since", "2000-01-01", "--json"], capsys)[1]
    assert kept.count('"src"') == pl.read_parquet(path).height > 0
    code, out, err = run(["rollup", SAMPLE, "--keep-ports", "80x"], capsys)
    assert (code, err.strip()) == (2, "scantui: error: --keep-ports: bad port '80x' (0-65535)")


def test_every_build_keeps_the_ports_the_config_asks_for(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    config = Path(os.environ["SCANTUI_CONFIG"])
    df = make_canonical(n=3000, seed=5, days=4)
    df = df.with_columns(pl.when(pl.int_range(pl.len()) % 3 == 0).then(443).otherwise(pl.col("dport"))
                         .cast(pl.UInt16).alias("dport"))
    files = []
    for i, (_, part) in enumerate(sorted(df.group_by(pl.col("ts").dt.date()), key=lambda kv: kv[0])):
        files.append(str(tmp_path / f"day{i}.parquet"))
        part.write_parquet(files[-1])

    def port_list(paths, *args):
        code, out, err = run(["scanners", *paths, "--port", "443", "--json", *args], capsys)
        assert code == 0, err
        return out

    def rollup(paths, *args):
        code, out, err = run(["rollup", *paths, *args], capsys)
        assert code == 0, err
        return out, err

    # asked in the configuration: kept by every build (the busiest ports' lists, kept by default, not here)
    config.write_text("rollup:\n  keep_ports: [443]\n  keep_top_ports: 0\n")
    first = Path(rollup(files[:2])[0].strip())
    assert (first / "port_lists" / "v1-443.parquet").is_file()
    second, err = rollup(files[:3])  # a day added: the new rollup keeps it too
    second = Path(second.strip())
    assert second != first and "extended port list 443" in err and (second / "port_lists" / "v1-443.parquet").is_file()

    config.write_text("rollup: {keep_top_ports: 0}\n")  # no longer asked: not carried (it costs every build)
    added, err = rollup(files)
    kept = Path(added.strip()) / "port_lists" / "v1-443.parquet"
    assert "port list" not in err and not kept.exists()
    config.write_text("rollup:\n  keep_ports: '443'\n  keep_top_ports: 0\n")
    computed = port_list(files, "--since", "2000-01-01")  # not a pure port selection: computed
    assert port_list(files) == computed and computed.count('"src"') == pl.read_parquet(kept).height > 100

    out, _ = rollup(files, "--rebuild", "--json")  # the folder replaced: kept as the config asks
    assert {"action": "built", "what": "port list 443"} in [{k: a[k] for k in ("action", "what")}
                                                           for a in json.loads(out)["actions"]]
    assert kept.is_file() and port_list(files) == computed

    config.write_text("rollup:\n  keep_ports: [https]\n")
    code, _, err = run(["rollup", *files, "--rebuild"], capsys)
    assert (code, err.strip()) == (2, f"scantui: error: {config}: rollup.keep_ports: must be "
                                      "ports (0-65535), e.g. [443, 22]; got 'https'")


def test_every_build_keeps_the_busiest_ports_lists_by_default(tmp_path, monkeypatch, capsys):
    """With no configuration a build keeps the lists of the two busiest ports by probe packets (ranked as the
    ``port_day`` rows sum them) that hold together at most a tenth of the packets, passing over (and saying so) a
    busier one; kept again on every new day, read back as the computed bytes; the count is the config's
    ``rollup.keep_top_ports`` (0: none), a bad one is one error line."""
    import jsonschema
    from importlib import resources

    from scantui.analysis.port_lists import TOP_PORTS_SHARE

    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    config = Path(os.environ["SCANTUI_CONFIG"])
    df = make_canonical(n=4000, seed=7, days=4)
    # port 22 three rows in four (a fifth of the packets, the rest of its rows not probes): too costly to keep by
    # default; 8443 one row in twenty: the busiest kept
    i = pl.int_range(pl.len())
    df = df.with_columns(pl.when(i % 4 != 0).then(22).when(i % 20 == 0).then(8443).otherwise(pl.col("dport"))
                         .cast(pl.UInt16).alias("dport"))
    files = []
    for n, (_, part) in enumerate(sorted(df.group_by(pl.col("ts").dt.date()), key=lambda kv: kv[0])):
        files.append(str(tmp_path / f"day{n}.parquet"))
        part.write_parquet(files[-1])

    def rollup(paths, *args):
        code, out, err = run(["rollup", *paths, *args], capsys)
        assert code == 0, err
        return out, err

    def port_list(port, *args):
        code, out, err = run(["scanners", *files, "--port", str(port), "--json", *args], capsys)
        assert code == 0, err
        return out

    def expected(folder: Path) -> tuple[list[tuple[int, int, int]], int]:
        """(rank, port, packets) of the two ports the rule keeps, from the exact sums; the skipped port's rank."""
        total = pl.scan_parquet(folder / "port_day" / "*" / "*.parquet").select(pl.col("packets").cast(pl.UInt64)
                                                                                 .sum()).collect().item()
        ranked = (pl.scan_parquet(folder / "port_day" / "*" / "*.parquet").filter(pl.col("kind") == "probe")
                  .group_by("dport").agg(pl.col("packets").cast(pl.UInt64).sum())
                  .sort(["packets", "dport"], descending=[True, False]).collect())
        kept, held = [], 0
        for rank, (port, packets) in enumerate(ranked.iter_rows(), 1):
            if port == 22:
                assert rank == 1 and packets > TOP_PORTS_SHARE * total
            elif len(kept) < 2 and held + packets <= TOP_PORTS_SHARE * total:
                kept.append((rank, port, packets))
                held += packets
        assert kept[0][1] == 8443
        return kept, total

    assert not config.exists()
    out, err = rollup(files[:3])
    first = Path(out.strip())
    kept, total = expected(first)
    kept_first = {port for _, port, _ in kept}
    for rank, port, packets in kept:
        assert f"built port list {port} (busiest port {rank}: {packets:,} probe packets, " in err, err
    assert "skipped port list 22 (busiest port 1: " in err
    assert "; the lists kept by default hold at most 10% of the packets together: config rollup.keep_ports keeps it)" in err
    assert sorted(p.name for p in (first / "port_lists").iterdir()) == sorted(  # each with its state (port_list_state)
        f"v1-{p}.{ext}" for _, p, _ in kept for ext in ("parquet", "state"))

    out, err = rollup(files, "--json")  # a day added: the new folder keeps them too (extended from the first's)
    doc = json.loads(out)
    schema = json.loads((resources.files("scantui") / "schemas" / "rollup.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    added = Path(doc["path"])
    kept, _ = expected(added)
    lists = [a for a in doc["actions"] if a["what"].startswith("port list")]
    assert [(a["action"], a["what"]) for a in lists] == [  # a list the first folder kept: brought up to date
        *(("extended" if p in kept_first else "built", f"port list {p}") for _, p, _ in kept), ("skipped", "port list 22")]
    assert lists[0]["action"] == "extended"
    assert all(a["cpu_seconds"] >= 0 for a in lists[:2]) and "cpu_seconds" not in lists[2]
    assert added != first and (added / "port_lists" / "v1-8443.parquet").is_file()
    for _, port, _ in kept:  # read back: the bytes of the computed list, on every source of the four days
        got = port_list(port)
        assert got == port_list(port, "--since", "2000-01-01")
        height = pl.read_parquet(added / "port_lists" / f"v1-{port}.parquet").height
        assert got.count('"src"') == height > (20 if port == 8443 else 0)

    # asked ports first, not twice: the busiest one that fits is 8443, asked already; 22 asked, so not skipped
    config.write_text("rollup:\n  keep_ports: [8443, 22]\n  keep_top_ports: 1\n")
    out, err = rollup(files, "--rebuild")
    assert "built port list 8443 (config rollup.keep_ports; " in err and "built port list 22 (config" in err
    assert err.count("built port list") == 2 and "skipped" not in err
    config.write_text("rollup:\n  keep_ports: [8443]\n  keep_top_ports: 2\n")
    out, err = rollup(files, "--rebuild")
    assert f"built port list {kept[1][1]} (busiest port {kept[1][0]}: " in err and err.count("built port list") == 2
    config.write_text("rollup: {keep_top_ports: 0}\n")
    out, err = rollup(files, "--rebuild")
    assert "port list" not in err and not (Path(out.strip()) / "port_lists").exists()
    config.write_text("rollup: {keep_top_ports: two}\n")
    code, _, err = run(["rollup", *files, "--rebuild"], capsys)
    assert (code, err.strip()) == (2, f"scantui: error: {config}: rollup.keep_top_ports: must be a number of "
                                      "ports (0-100), e.g. 2; got 'two'")


def test_a_list_computed_one_source_range_at_a_time_is_the_same(monkeypatch):
    from scantui.analysis import port_lists
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.analysis.port_list_build import _kept_table
    from scantui.analysis.scanners import ScannerQuery
    from scantui.analysis.scanner_rows import _window, select_rows
    from scantui.analysis.zmap_rollup import walk_sources
    from scantui.io.loader import open_inputs

    rollup = open_rollup(open_inputs([SAMPLE]))
    port_day, source = rollup.port_day_by_port, rollup.packet_source()
    ports = (80, 443, 8080)
    first_day, n_days = _window(rollup.day_totals, ScannerQuery(ports=ports))
    args = (port_day, ports, first_day, n_days, source, walk_sources(rollup.zmap_walks))
    whole = _kept_table(*args)
    rows = select_rows(port_day, ScannerQuery(ports=ports))
    total = rows.select(pl.col("packets").sum()).collect().item()
    assert port_lists.source_ranges(rows) == [None]
    monkeypatch.setattr(port_lists, "PACKETS_PER_RANGE", total // 7)
    ranges = port_lists.source_ranges(rows)
    assert len(ranges) >= 7 and all(a <= b < c for (a, b), (c, _) in zip(ranges, ranges[1:]))
    ranged = _kept_table(*args)
    assert ranged.height == whole.height > 1000
    assert ranged.sort("src").equals(whole.sort("src"))


def test_a_query_computes_the_list_in_its_own_ranges_a_build_in_the_builds(capsys, monkeypatch):
    """The first ``--port`` query cuts the port's sources by :data:`QUERY_PACKETS_PER_RANGE`, ``rollup --keep-ports``
    by :data:`PACKETS_PER_RANGE`; the kept tables and the lists printed are the same."""
    from scantui.analysis import port_lists

    def port_list(*args: str) -> str:
        code, out, err = run(["scanners", SAMPLE, "--port", "443", "--json", *args], capsys)
        assert code == 0, err
        return out

    def kept() -> list[Path]:
        name = f"v{port_lists.VERSION}-443.parquet"
        return sorted(Path(os.environ["SCANTUI_CACHE_DIR"]).glob(f"rollups/*/{port_lists.FOLDER}/{name}"))

    computed = port_list("--since", "2000-01-01")  # not a pure port selection: no ranges
    total = sum(row["packets"] for row in json.loads(computed))
    budgets = []
    real = port_lists.source_ranges

    def spied(rows, budget=None, total_first=False):
        ranges = real(rows, budget, total_first)
        budgets.append((budget or port_lists.PACKETS_PER_RANGE, total_first, len(ranges)))
        return ranges

    monkeypatch.setattr(port_lists, "source_ranges", spied)
    monkeypatch.setattr(port_lists, "PACKETS_PER_RANGE", total // 9)
    monkeypatch.setattr(port_lists, "QUERY_PACKETS_PER_RANGE", total // 2)
    tables = []
    for build in (False, True):
        for path in kept():
            path.unlink()
        if build:
            code, _, err = run(["rollup", SAMPLE, "--keep-ports", "443"], capsys)
            assert code == 0 and "kept the scanner list of port 443" in err, err
        else:
            assert port_list() == computed
        [path] = kept()
        tables.append(pl.read_parquet(path).sort("src"))
        assert port_list() == computed  # read back
    [(query, summed, query_ranges), (build, grouped, build_ranges)] = budgets
    assert (query, summed, build, grouped) == (total // 2, True, total // 9, False)
    assert 2 <= query_ranges <= 3 < 7 <= build_ranges
    assert tables[0].equals(tables[1]) and tables[0].height > 500


def test_a_day_tables_columns_read_in_one_scan_are_the_rows_read_day_by_day():
    """``DayPackets.read_columns`` (one Parquet scan of every day's files, for the exact destinations) gives the rows
    of :meth:`read` (one conformed scan a day), in the same order, with its narrowing."""
    from scantui.analysis.packet_source import DayPackets, FramePackets
    from scantui.analysis.rollup_cache import open_rollup
    from scantui.io.loader import open_inputs

    source = open_rollup(open_inputs([SAMPLE])).packet_source()
    assert isinstance(source, DayPackets) and len(source.days()) > 1
    columns = ("ts", "src", "dst", "proto", "dport", "tcp_flags")
    days = source.days()[1:]
    for ports, srcs in [(None, None), ((443, 80), None), ((443,), [1, 2])]:
        want = source.read(days, ports, srcs).select(columns).collect()
        got = source.read_columns(columns, days, ports, srcs).collect()
        assert got.equals(want) and (got.height > 1000 or srcs)
    frame = FramePackets(source.read().collect().lazy())
    in_one_scan = source.read_columns(columns, None, (443,)).collect()
    assert frame.read_columns(columns, None, (443,)).collect().equals(in_one_scan)
    assert source.read_columns(columns, []).collect().height == 0


def _ranges_one_source_at_a_time(srcs: list[int], packets: list[int], budget: int) -> list[tuple[int, int]]:
    """The ranges as the greedy walk over every source gives them (what ``source_ranges`` did before)."""
    sums, total = [], 0
    for p in packets:
        total += p
        sums.append(total)
    ranges, first, start = [], srcs[0], 0
    for i, (src, total) in enumerate(zip(srcs, sums)):
        if total - start > budget and i > 0 and srcs[i - 1] >= first:
            ranges.append((first, srcs[i - 1]))
            first, start = src, sums[i - 1]
    ranges.append((first, srcs[-1]))
    return ranges


@pytest.mark.parametrize("seed", range(6))
def test_source_ranges_are_the_greedy_walks_ranges(seed):
    """One search a range gives the ranges of the walk over every source, big sources (a range alone) included."""
    import numpy as np

    from scantui.analysis.port_lists import source_ranges

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    srcs = np.sort(rng.choice(1 << 32, n, replace=False)).astype(np.uint32)
    packets = rng.integers(1, 50, n) * np.where(rng.random(n) < 0.01, 1000, 1)  # a few sources above the budget
    # a source's port_day rows over several days: the ranges see their sums
    rows = pl.DataFrame({"src": np.repeat(srcs, 2), "packets": np.repeat(packets, 2).astype(np.uint32)})
    total = int(rows["packets"].sum())
    for budget in (1, 100, 1999, total // 7 + 1, total - 1):
        want = _ranges_one_source_at_a_time(srcs.tolist(), (2 * packets).tolist(), budget)
        assert source_ranges(rows.lazy(), budget) == (want if total > budget else [None]), budget
        assert source_ranges(rows.lazy(), budget, total_first=True) == source_ranges(rows.lazy(), budget)
    one = pl.DataFrame({"src": [7], "packets": [500]}, schema={"src": pl.UInt32, "packets": pl.UInt32})
    assert source_ranges(one.lazy(), 100) == [(7, 7)] and source_ranges(one.lazy(), 500) == [None]


def test_a_kept_list_is_the_same_bytes_whatever_order_its_rows_came_in(tmp_path):
    from scantui.analysis.port_lists import write_kept

    table = pl.DataFrame({"src": [7, 3, 9, 1, 5], "packets": [1, 2, 3, 4, 5]}, schema={"src": pl.UInt32, "packets": pl.UInt64})
    write_kept(tmp_path / "a.parquet", table)
    write_kept(tmp_path / "b.parquet", table.sample(fraction=1.0, shuffle=True, seed=3))
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert pl.read_parquet(tmp_path / "a.parquet")["src"].to_list() == [1, 3, 5, 7, 9]


def test_the_busiest_ports_are_ranked_from_the_exact_packets_per_port_where_the_rollup_has_them():
    """``port_sources`` holds every port's probe packets: the rank and the counts said are those, not the sums of
    the sources' top ten ports (which miss a port's packets from sources with ten busier ports)."""
    from scantui.analysis.port_lists import busiest_ports

    profile = pl.DataFrame({"kind": ["probe"], "top_ports": [[{"port": 80, "packets": 100}]]}).lazy()
    per_port = pl.DataFrame({"dport": pl.Series([80, 443], dtype=pl.UInt16), "packets": pl.Series([100, 300], dtype=pl.UInt64),
                             "sources": pl.Series([1, 7], dtype=pl.UInt32)}).lazy()
    assert busiest_ports(profile, 2, 10_000) == [(80, 100, True)]
    assert busiest_ports(profile, 2, 10_000, per_port=per_port) == [(443, 300, True), (80, 100, True)]
    assert busiest_ports(None, 1, 3_500, per_port=per_port) == [(443, 300, True)]
