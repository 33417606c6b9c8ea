"""Analysis benchmark: the rollup build, tool counts, a per-source aggregate and the scanner
list from a cached rollup, in polars (scantui), DuckDB SQL and pandas, in one run.

    python benchmarks/bench_analysis.py                    # 50 M packets, pandas on a 1/10 subset
    python benchmarks/bench_analysis.py --rows 20000000    # smaller machine

The packet table is generated once under ``benchmarks/data/`` (chunked numpy,
bounded memory): a ~61,000-address telescope, ~400 k sources with a heavy-tailed
packet count, skewed ports, and a share of each tool's fingerprint. Every job runs
in its own subprocess; wall time is measured inside the job (imports excluded),
peak RSS by ``os.wait4`` for that child. pandas runs on every 10th row and is
extrapolated linearly (time and memory), labelled as such. Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

# ---------------------------------------------------------------- data generation

TELESCOPE_SIZE = 61_000
TELESCOPE_BASE = (44 << 24) | (128 << 16)  # addresses drawn from 44.128.0.0/16
DAYS = 21
START_US = int(dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc).timestamp() * 1e6)
# share of packets per traffic kind / tool fingerprint
MIX = {
    "zmap": 0.30, "masscan": 0.22, "mirai": 0.03, "unicorn": 0.02, "nmap": 0.01, "other_syn": 0.30,
    "backscatter": 0.08, "udp": 0.03, "icmp": 0.01,
}
TOP_PORTS = [80, 443, 22, 23, 8080, 3389, 445, 21, 25, 3306, 8443, 5900, 6379, 9200, 2323, 8081, 7547, 5555, 1433, 53]
UDP_PORTS = [53, 123, 161, 1900, 5060, 11211, 500, 389]
SOURCES_PER_KIND = {"zmap": 20_000, "masscan": 20_000, "mirai": 60_000, "unicorn": 200, "nmap": 5_000,
                    "other_syn": 250_000, "backscatter": 40_000, "udp": 20_000, "icmp": 10_000}


def _sources(rng, kind: str, n: int):
    import numpy as np

    pool = np.random.default_rng(zlib.crc32(kind.encode())).integers(1 << 24, 0xDF000000, SOURCES_PER_KIND[kind], dtype=np.uint32)
    # heavy tail: a few sources send most packets (Zipf-like ranks)
    ranks = np.minimum(rng.zipf(1.3, n) - 1, len(pool) - 1)
    return pool[ranks]


def _ports(rng, n: int):
    import numpy as np

    top = np.array(TOP_PORTS, dtype=np.uint16)[np.minimum(rng.zipf(1.6, n) - 1, len(TOP_PORTS) - 1)]
    return np.where(rng.random(n) < 0.35, rng.integers(0, 65536, n, dtype=np.uint16), top).astype(np.uint16)


def generate_chunk(rng, telescope, n: int, t0: int, t1: int):
    """*n* packets with times in [t0, t1), sorted by time, as a polars DataFrame."""
    import numpy as np
    import polars as pl

    kinds = list(MIX)
    kind = rng.choice(len(kinds), size=n, p=list(MIX.values()))
    order = np.argsort(kind, kind="stable")
    counts = np.bincount(kind, minlength=len(kinds))
    cols = {c: np.zeros(n, dtype=np.int64) for c in ("src", "sport", "dport", "ip_id", "tcp_flags", "tcp_seq", "tcp_ack", "tcp_window", "tcp_mss", "proto")}
    dst = telescope[rng.integers(0, len(telescope), n)].astype(np.int64)
    start = 0
    for k, name in enumerate(kinds):
        m = int(counts[k])
        idx = order[start:start + m]
        start += m
        if m == 0:
            continue
        d = dst[idx]
        src = _sources(rng, name, m).astype(np.int64)
        sport = rng.integers(1024, 65536, m)
        dport = _ports(rng, m).astype(np.int64)
        seq = rng.integers(0, 1 << 32, m)
        ip_id = rng.integers(0, 65536, m)
        flags = np.full(m, 2)
        window = np.full(m, 64240)
        mss = np.full(m, 1460)
        proto = np.full(m, 6)
        if name == "zmap":
            ip_id[:] = 54321
            window[:] = 65535
        elif name == "masscan":
            window[:] = 1024
            mss[:] = -1
            ip_id = (d ^ dport ^ seq) & 0xFFFF
        elif name == "mirai":
            dport = np.where(rng.random(m) < 0.9, 23, 2323)
            seq = d.copy()
        elif name == "unicorn":
            sport[:] = 40000 + (src % 8)  # a handful of sessions per source, each far over 150 packets
            key = (src * 2654435761) & 0xFFFFFFFF
            seq = key ^ src ^ ((sport << 16) + dport)
        elif name == "nmap":
            window[:] = 1024
        elif name == "backscatter":
            flags = np.where(rng.random(m) < 0.6, 18, 4)
            dport = rng.integers(1024, 65536, m)
            sport = np.array([80, 443, 22, 53])[rng.integers(0, 4, m)]
        elif name in ("udp", "icmp"):
            proto[:] = 17 if name == "udp" else 1
            flags[:] = seq[:] = window[:] = mss[:] = -1
            if name == "udp":
                dport = np.array(UDP_PORTS)[np.minimum(rng.zipf(1.5, m) - 1, len(UDP_PORTS) - 1)]
            else:
                sport[:] = dport[:] = -1
        for c, v in (("src", src), ("sport", sport), ("dport", dport), ("ip_id", ip_id), ("tcp_flags", flags),
                     ("tcp_seq", seq), ("tcp_window", window), ("tcp_mss", mss), ("proto", proto)):
            cols[c][idx] = v
    cols["tcp_ack"] = np.where(cols["proto"] == 6, 0, -1)
    ts = np.sort(rng.integers(t0, t1, n))
    perm = rng.permutation(n)  # rows in time order, kinds interleaved
    from scantui.io.schema import CANONICAL, TS_DTYPE

    raw = {"ts": ts, "dst": dst[perm], "ttl": rng.integers(30, 250, n), "ip_len": np.full(n, 44),
           **{c: v[perm] for c, v in cols.items()}}
    exprs = [pl.from_epoch(pl.col("ts"), time_unit="us").cast(TS_DTYPE).alias("ts")]
    for name, dtype in CANONICAL.items():
        if name != "ts":
            e = pl.col(name)
            exprs.append(pl.when(e < 0).then(None).otherwise(e).cast(dtype).alias(name))
    return pl.DataFrame(raw).select(exprs).with_columns(pl.lit("tel-1").alias("sensor"))


def generate(path: Path, rows: int, seed: int = 11, chunk: int = 2_000_000) -> None:
    """Write *rows* packets over :data:`DAYS` days to *path* (zstd Parquet), chunk by chunk."""
    import numpy as np
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    telescope = np.sort(rng.choice(1 << 16, TELESCOPE_SIZE, replace=False)).astype(np.uint32) + TELESCOPE_BASE
    span = DAYS * 86_400_000_000
    chunks = max(1, -(-rows // chunk))
    tmp = path.with_name(path.name + ".tmp")
    writer = None
    for i in range(chunks):
        n = min(chunk, rows - i * chunk)
        t0, t1 = START_US + span * i // chunks, START_US + span * (i + 1) // chunks
        table = generate_chunk(rng, telescope, n, t0, t1).to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=512 * 1024)
        print(f"  generated {min(rows, (i + 1) * chunk):,} / {rows:,} rows", file=sys.stderr, end="\r")
    writer.close()
    os.replace(tmp, path)
    print(file=sys.stderr)


def subset(src: Path, dst: Path, every: int) -> None:
    import polars as pl

    pl.scan_parquet(src).gather_every(every).sink_parquet(dst)


# ---------------------------------------------------------------- the jobs (run in a subprocess each)

DUCK_TOOL_SQL = """
CASE
  WHEN NOT (proto = 6 AND NOT coalesce((tcp_flags & 2 <> 0 AND tcp_flags & 16 <> 0) OR tcp_flags & 4 <> 0, false)) THEN 'other'
  WHEN syn_only AND ip_id::UINTEGER = (xor(xor(dst, dport::UINTEGER), tcp_seq) & 65535) THEN 'masscan'
  WHEN syn_only AND unicorn THEN 'unicorn'
  WHEN syn_only AND tcp_seq = dst AND dport IN (23, 2323) THEN 'mirai'
  WHEN (tcp_flags = 2 AND tcp_window = 1024 AND tcp_mss = 1460 AND tcp_ack = 0)
    OR (tcp_flags IN (0, 1, 41, 17, 16) AND tcp_window = 1024 AND tcp_mss IS NULL)
    OR (tcp_flags = 2 AND ((tcp_window IN (1, 4, 16, 63, 512) AND tcp_mss IN (265, 536, 640, 1400, 1460)) OR (tcp_window = 4 AND tcp_mss IS NULL)))
    OR (tcp_flags & 194 = 194 AND tcp_window = 3)
    OR (tcp_mss = 265 AND ((tcp_flags = 0 AND tcp_window = 128) OR (tcp_flags = 43 AND tcp_window = 256) OR (tcp_flags = 16 AND tcp_window = 1024)
        OR (tcp_flags = 2 AND tcp_window = 31337) OR (tcp_flags = 16 AND tcp_window = 32768) OR (tcp_flags = 41 AND tcp_window = 65535))) THEN 'nmap'
  WHEN syn_only AND ip_id = 54321 THEN 'zmap'
  ELSE 'other'
END
"""
DUCK_KIND_SQL = """
CASE
  WHEN proto = 6 AND tcp_flags & 2 <> 0 AND tcp_flags & 16 = 0 THEN 'probe'
  WHEN proto = 6 AND ((tcp_flags & 2 <> 0 AND tcp_flags & 16 <> 0) OR tcp_flags & 4 <> 0) THEN 'backscatter'
  WHEN proto = 6 THEN 'other_tcp' WHEN proto = 17 THEN 'udp' WHEN proto = 1 THEN 'icmp' ELSE 'other'
END
"""
DUCK_KEY_SQL = "xor(xor(tcp_seq, src), ((sport::UINTEGER << 16) + dport::UINTEGER))"


def _duck_prepare(con, data: str) -> None:
    """Views: the packets with ``tool``, ``kind`` and ``day`` (Unicorn keys counted over the whole input)."""
    con.execute(f"CREATE VIEW raw AS SELECT * FROM read_parquet('{data}')")
    con.execute(f"""CREATE TEMP TABLE unicorn_keys AS
        SELECT {DUCK_KEY_SQL} AS k FROM raw
        WHERE proto = 6 AND tcp_flags & 2 <> 0 AND tcp_flags & 16 = 0
        GROUP BY k HAVING count(*) > 150""")
    con.execute(f"""CREATE VIEW packets AS
        WITH p AS (SELECT raw.*, (proto = 6 AND tcp_flags & 2 <> 0 AND tcp_flags & 16 = 0) AS syn_only,
                          u.k IS NOT NULL AS unicorn
                   FROM raw LEFT JOIN unicorn_keys u ON {DUCK_KEY_SQL} = u.k)
        SELECT *, ({DUCK_TOOL_SQL}) AS tool, ({DUCK_KIND_SQL}) AS kind, (ts AT TIME ZONE 'UTC')::DATE AS day FROM p""")


def job_polars(task: str, data: str, out: str) -> dict:
    import polars as pl

    from scantui.analysis import rollup as ru
    from scantui.analysis.fingerprints import collect_unicorn_sessions, with_tool
    from scantui.io.loader import open_inputs

    lf = open_inputs([data]).lf if task in ("rollup", "tools", "per_source", "scanners_port") else None
    if task == "rollup":
        ru.build_rollup(lf, out)
        return {"rows": ru.read_meta(out)["rows"]}
    if task == "tools":
        # the Unicorn session keys first (a small frame), so the join never buffers packets
        df = with_tool(lf, sessions=collect_unicorn_sessions(lf)).group_by("tool").agg(pl.len()).collect(engine="streaming")
        return {"rows": df.height, "tools": dict(df.select(pl.col("tool").cast(pl.String), "len").iter_rows())}
    if task == "per_source":
        df = lf.group_by("src").agg(
            pl.len().alias("packets"), pl.col("dst").n_unique().alias("dsts"), pl.col("dport").n_unique().alias("ports"),
            pl.col("ts").dt.date().n_unique().alias("days"), pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"),
        ).collect(engine="streaming")
        return {"rows": df.height}
    if task in SCANNER_QUERIES:
        return {"rows": polars_scanner_list(out, task, lf).height}
    if task == "scanner_core":
        from scantui.analysis import rollup_cache as rc

        rollup = rc.load_rollup(out)
        return {"rows": rollup_scanner_core(rollup.src_totals, rollup.port_day).collect().height}
    raise ValueError(task)


#: The project's scanner list from the cached rollup: the full list, the first 50, and a
#: port-filtered top 50 (rows narrowed below the source: the slower ``port_day`` path, with
#: ``dsts`` recounted from the packets for the 50, as ``scantui scanners --port`` does).
SCANNER_QUERIES = {
    "scanners": {}, "scanners_top50": {"top": 50}, "scanners_port": {"ports": (80, 443, 22), "top": 50},
}


def polars_scanner_list(rollup_dir: str, task: str = "scanners", packets=None):
    """The scanner list from a rollup (:mod:`scantui.analysis.scanners`), as the CLI computes it."""
    from scantui.analysis import rollup_cache as rc
    from scantui.analysis.scanners import ScannerQuery, scanner_list

    rollup = rc.load_rollup(rollup_dir)
    query = ScannerQuery(**SCANNER_QUERIES[task])
    return scanner_list(rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment, query=query,
                        packets=packets, src_profile=rollup.src_profile).frame


def rollup_scanner_core(src_totals, port_day):
    """Per probing source: packets, exact ports/dsts/days, first/last seen, dominant tool."""
    import polars as pl

    from scantui.analysis.fingerprints import TOOLS

    totals = src_totals.filter(pl.col("kind") == "probe").drop("kind")
    tools = port_day.filter(pl.col("kind") == "probe").group_by("src").agg([pl.col(f"tool_{t}").sum() for t in TOOLS])
    dominant = pl.concat_list([pl.col(f"tool_{t}") for t in TOOLS]).list.arg_max()
    return (
        totals.join(tools, on="src", how="left")
        .with_columns(pl.lit(pl.Series(TOOLS)).get(dominant).alias("tool"))
        .sort("packets", descending=True)
    )


def job_duckdb(task: str, data: str, out: str) -> dict:
    import duckdb

    con = duckdb.connect()
    if task == "rollup":
        _duck_prepare(con, data)
        tools = ", ".join(f"count(*) FILTER (WHERE tool = '{t}')::UINTEGER AS tool_{t}" for t in ("zmap", "masscan", "mirai", "unicorn", "nmap", "other"))
        Path(out).mkdir()
        con.execute(f"""COPY (SELECT day, sensor, src, proto, CASE WHEN proto IN (6, 17) THEN dport END AS dport, kind,
                count(*)::UINTEGER AS packets, count(DISTINCT dst)::UINTEGER AS dsts, min(ts) AS first_ts, max(ts) AS last_ts, {tools}
            FROM packets GROUP BY ALL) TO '{out}/port_day' (FORMAT parquet, PARTITION_BY (day))""")
        con.execute(f"""COPY (SELECT src, kind, count(*)::UBIGINT AS packets, count(DISTINCT dst)::UINTEGER AS dsts,
                count(DISTINCT dport)::UINTEGER AS ports, count(DISTINCT day)::USMALLINT AS days, min(ts) AS first_ts, max(ts) AS last_ts
            FROM packets GROUP BY ALL) TO '{out}/src_totals.parquet' (FORMAT parquet)""")
        con.execute(f"""COPY (SELECT day, sensor, count(*)::UBIGINT AS packets, count(*) FILTER (WHERE kind = 'probe')::UBIGINT AS probes,
                count(*) FILTER (WHERE kind = 'backscatter')::UBIGINT AS backscatter, count(DISTINCT src)::UINTEGER AS srcs,
                count(DISTINCT dst)::UINTEGER AS dsts
            FROM packets GROUP BY ALL) TO '{out}/day_totals.parquet' (FORMAT parquet)""")
        return {}
    if task == "tools":
        _duck_prepare(con, data)
        return {"rows": len(con.execute("SELECT tool, count(*) FROM packets GROUP BY tool").fetchall())}
    if task == "per_source":
        rows = con.execute(f"""SELECT src, count(*) AS packets, count(DISTINCT dst) AS dsts, count(DISTINCT dport) AS ports,
                count(DISTINCT (ts AT TIME ZONE 'UTC')::DATE) AS days, min(ts), max(ts)
            FROM read_parquet('{data}') GROUP BY src""").to_arrow_table()
        return {"rows": rows.num_rows}
    if task == "scanner_core":
        tools = ("zmap", "masscan", "mirai", "unicorn", "nmap", "other")
        sums = ", ".join(f"sum(tool_{t}) AS tool_{t}" for t in tools)
        rows = con.execute(f"""
            WITH t AS (SELECT * EXCLUDE (kind) FROM read_parquet('{out}/src_totals.parquet') WHERE kind = 'probe'),
                 k AS (SELECT src, {sums} FROM read_parquet('{out}/port_day/*/*.parquet', hive_partitioning = true)
                       WHERE kind = 'probe' GROUP BY src)
            SELECT t.*, k.* EXCLUDE (src),
                   list_extract({list(tools)}, list_position([{', '.join(f'k.tool_{t}' for t in tools)}],
                                greatest({', '.join(f'k.tool_{t}' for t in tools)}))) AS tool
            FROM t LEFT JOIN k USING (src) ORDER BY packets DESC""").to_arrow_table()
        return {"rows": rows.num_rows}
    raise ValueError(task)


def job_pandas(task: str, data: str, out: str) -> dict:
    """The usual pandas way: read the columns, vectorized numpy rules, groupby/agg with nunique."""
    import numpy as np
    import pandas as pd

    if task == "scanner_core":
        totals = pd.read_parquet(f"{out}/src_totals.parquet")
        totals = totals[totals["kind"] == "probe"]
        pdays = pd.read_parquet(f"{out}/port_day")
        pdays = pdays[pdays["kind"] == "probe"]
        cols = [f"tool_{t}" for t in ("zmap", "masscan", "mirai", "unicorn", "nmap", "other")]
        tools = pdays.groupby("src", observed=True)[cols].sum()
        tools["tool"] = tools[cols].idxmax(axis=1).str.removeprefix("tool_")
        res = totals.merge(tools, left_on="src", right_index=True, how="left").sort_values("packets", ascending=False)
        return {"rows": len(res)}
    df = pd.read_parquet(data)
    if task == "per_source":
        df["day"] = df["ts"].dt.floor("D")
        res = df.groupby("src").agg(packets=("dst", "size"), dsts=("dst", "nunique"), ports=("dport", "nunique"),
                                    days=("day", "nunique"), first=("ts", "min"), last=("ts", "max"))
        return {"rows": len(res)}
    df = pandas_with_tool(df)
    if task == "tools":
        return {"rows": len(df["tool"].value_counts())}
    if task == "rollup":
        df["day"] = df["ts"].dt.floor("D")
        for t in ("zmap", "masscan", "mirai", "unicorn", "nmap", "other"):
            df[f"tool_{t}"] = (df["tool"] == t).astype(np.uint32)
        keys = ["day", "sensor", "src", "proto", "dport", "kind"]
        aggs = dict(packets=("dst", "size"), dsts=("dst", "nunique"), first_ts=("ts", "min"), last_ts=("ts", "max"),
                    **{f"tool_{t}": (f"tool_{t}", "sum") for t in ("zmap", "masscan", "mirai", "unicorn", "nmap", "other")})
        Path(out).mkdir()
        df.groupby(keys, dropna=False, observed=True).agg(**aggs).reset_index().to_parquet(f"{out}/port_day", partition_cols=["day"])
        df.groupby(["src", "kind"], observed=True).agg(
            packets=("dst", "size"), dsts=("dst", "nunique"), ports=("dport", "nunique"), days=("day", "nunique"),
            first_ts=("ts", "min"), last_ts=("ts", "max")).reset_index().to_parquet(f"{out}/src_totals.parquet")
        df.groupby(["day", "sensor"], dropna=False).agg(
            packets=("dst", "size"), probes=("kind", lambda k: int((k == "probe").sum())),
            backscatter=("kind", lambda k: int((k == "backscatter").sum())), srcs=("src", "nunique"),
            dsts=("dst", "nunique")).reset_index().to_parquet(f"{out}/day_totals.parquet")
        return {}
    raise ValueError(task)


def pandas_with_tool(df):
    import numpy as np

    u = lambda c: df[c].to_numpy(dtype=np.int64, na_value=-1)  # noqa: E731
    proto, flags, ip_id, dst, dport, seq, src, sport = (u(c) for c in ("proto", "tcp_flags", "ip_id", "dst", "dport", "tcp_seq", "src", "sport"))
    window, mss, ack = u("tcp_window"), u("tcp_mss"), u("tcp_ack")
    tcp = proto == 6
    syn_only = tcp & (flags & 2 != 0) & (flags & 16 == 0)
    backscatter = tcp & (((flags & 2 != 0) & (flags & 16 != 0)) | (flags & 4 != 0))
    key = seq ^ src ^ ((sport << 16) + dport)
    counts = df.assign(k=key)[syn_only & ~backscatter].groupby("k").size()
    unicorn = np.isin(key, counts[counts > 150].index.to_numpy())
    nmap = ((flags == 2) & (window == 1024) & (mss == 1460) & (ack == 0)) | (np.isin(flags, [0, 1, 41, 17, 16]) & (window == 1024) & (mss < 0)) \
        | ((flags == 2) & ((np.isin(window, [1, 4, 16, 63, 512]) & np.isin(mss, [265, 536, 640, 1400, 1460])) | ((window == 4) & (mss < 0)))) \
        | ((flags & 194 == 194) & (window == 3))
    df["tool"] = np.select(
        [~tcp | backscatter, syn_only & (ip_id == ((dst ^ dport ^ seq) & 0xFFFF)), syn_only & unicorn,
         syn_only & (seq == dst) & np.isin(dport, [23, 2323]), nmap, syn_only & (ip_id == 54321)],
        ["other", "masscan", "unicorn", "mirai", "nmap", "zmap"], "other")
    df["kind"] = np.select([syn_only, backscatter, tcp, proto == 17, proto == 1], ["probe", "backscatter", "other_tcp", "udp", "icmp"], "other")
    return df


def job_prep(task: str, data: str, out: str) -> dict:
    """Set-up steps, also in a child so the parent stays small (a child inherits its parent's peak RSS)."""
    if task == "generate":
        generate(Path(out), int(data))
    elif task == "subset":
        every, src = data.split(":", 1)
        subset(Path(src), Path(out), int(every))
    elif task == "versions":
        return {"versions": versions()}
    return {}


JOBS = {"polars": job_polars, "duckdb": job_duckdb, "pandas": job_pandas, "prep": job_prep}


def run_job_wait4(engine: str, task: str, data: Path, out: Path) -> dict:
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    log = out.with_name(out.name + ".json")
    cmd = [sys.executable, __file__, "--job", engine, task, str(data), str(out), "--result", str(log)]
    proc = subprocess.Popen(cmd)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"engine": engine, "task": task, "error": f"exit {proc.returncode}"}
    result = json.loads(log.read_text())
    log.unlink()
    return {"engine": engine, "task": task, **result, "peak_mb": usage.ru_maxrss / 1024}


def child(engine: str, task: str, data: str, out: str, result: str) -> None:
    import resource

    import numpy  # noqa: F401 - the baseline includes what every engine imports
    import polars  # noqa: F401

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    extra = JOBS[engine](task, data, out)
    seconds = time.perf_counter() - started
    Path(result).write_text(json.dumps({"seconds": seconds, "base_mb": base, **extra}))


# ---------------------------------------------------------------- report


def machine() -> str:
    model = "?"
    try:
        model = next(line.split(":", 1)[1].strip() for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name"))
    except (StopIteration, OSError):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs ({model}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def versions() -> str:
    import duckdb
    import pandas
    import polars

    return f"polars {polars.__version__}, duckdb {duckdb.__version__}, pandas {pandas.__version__}"


ROLLUP_TASKS = ("scanner_core", *SCANNER_QUERIES)
_SCANNER_NOTES = {
    "scanners": "full `scanner_list` (every source, every column) from the cached rollup's `src_profile`",
    "scanners_top50": "`scanner_list`, `--top 50`",
    "scanners_port": "`scanner_list --port 80,443,22 --top 50`: the `port_day` path, dsts recounted from packets",
}


def table(results: list[dict], rows: int, pandas_factor: int) -> str:
    lines = ["| task | engine | time (s) | peak RSS (MB) | time vs polars | note |", "|---|---|---:|---:|---:|---|"]
    base = {r["task"]: r for r in results if r["engine"] == "polars" and "seconds" in r}
    for task in SCANNER_QUERIES:
        base[task] = base.get("scanner_core", {})  # other engines only run the core query
    for r in results:
        if "error" in r:
            lines.append(f"| {r['task']} | {r['engine']} | — | — | — | failed: {r['error']} |")
            continue
        secs, mb, note = r["seconds"], r["peak_mb"], ""
        if r["engine"] == "pandas" and r["task"] not in ROLLUP_TASKS:
            secs, mb = secs * pandas_factor, r["base_mb"] + (mb - r["base_mb"]) * pandas_factor
            note = f"extrapolated ×{pandas_factor} from {rows // pandas_factor:,} rows (measured {r['seconds']:.1f} s, {r['peak_mb']:.0f} MB)"
        ref = base.get(r["task"])
        ratio = f"{secs / ref['seconds']:.2f}×" if ref else "—"
        if r["task"] in SCANNER_QUERIES:
            ratio, note = "—", _SCANNER_NOTES[r["task"]]
        lines.append(f"| {r['task']} | {r['engine']} | {secs:.2f} | {mb:.0f} | {ratio} | {note} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=50_000_000)
    ap.add_argument("--pandas-every", type=int, default=10, help="pandas runs on every Nth row (then extrapolated)")
    ap.add_argument("--tasks", default="rollup,tools,per_source,scanner_core,scanners,scanners_top50,scanners_port")
    ap.add_argument("--engines", default="polars,duckdb,pandas")
    ap.add_argument("--job", nargs=4, metavar=("ENGINE", "TASK", "DATA", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.job:
        child(*args.job, args.result)
        return

    DATA.mkdir(exist_ok=True)
    data = DATA / f"packets-{args.rows // 1_000_000}M.parquet"
    small = DATA / f"packets-{args.rows // 1_000_000}M-every{args.pandas_every}.parquet"
    if not data.exists():
        print(f"generating {args.rows:,} packets -> {data}", file=sys.stderr)
        t = time.perf_counter()
        _prep("generate", str(args.rows), data)
        print(f"  {time.perf_counter() - t:.0f} s, {data.stat().st_size / 2**20:.0f} MiB", file=sys.stderr)
    if not small.exists() and "pandas" in args.engines:
        _prep("subset", f"{args.pandas_every}:{data}", small)

    work = DATA / "work"
    work.mkdir(exist_ok=True)
    results = []
    tasks = args.tasks.split(",")
    for task in tasks:
        for engine in args.engines.split(","):
            input_ = small if engine == "pandas" and task not in SCANNER_QUERIES else data
            out = work / f"{engine}-{task}"
            if task in ROLLUP_TASKS:
                if task in SCANNER_QUERIES and engine != "polars":
                    continue
                out = work / "polars-rollup"  # every engine reads the same rollup
                r = run_job_wait4_keep(engine, task, input_, out)
            else:
                r = run_job_wait4(engine, task, input_, out)
            print(f"  {task:10s} {engine:7s} {r.get('seconds', float('nan')):8.2f} s  {r.get('peak_mb', float('nan')):7.0f} MB {r.get('error', '')}", file=sys.stderr)
            results.append(r)

    libs = _prep("versions", "", work / "versions")["versions"]
    print(f"\n{args.rows:,} packets ({data.name}, {data.stat().st_size / 2**20:.0f} MiB); {machine()}; {libs}\n")
    print(table(results, args.rows, args.pandas_every))
    for r in results:
        if r["engine"] == "polars" and r["task"] == "rollup" and "rows" in r:
            print(f"\nrollup rows: {r['rows']}")
        if r["engine"] == "polars" and r["task"] == "tools" and "tools" in r:
            print(f"tool packet counts (polars): {r['tools']}")


def _prep(task: str, data: str, out: Path) -> dict:
    r = run_job_wait4("prep", task, Path(data), out)
    if "error" in r:
        raise SystemExit(f"{task} failed: {r['error']}")
    return r


def run_job_wait4_keep(engine: str, task: str, data: Path, rollup_dir: Path) -> dict:
    """Like :func:`run_job_wait4` but on an existing rollup folder (read-only)."""
    log = rollup_dir.with_name(rollup_dir.name + f".{task}.json")
    cmd = [sys.executable, __file__, "--job", engine, task, str(data), str(rollup_dir), "--result", str(log)]
    proc = subprocess.Popen(cmd)
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return {"engine": engine, "task": task, "error": f"exit {os.waitstatus_to_exitcode(status)}"}
    result = json.loads(log.read_text())
    log.unlink()
    return {"engine": engine, "task": task, **result, "peak_mb": usage.ru_maxrss / 1024}


if __name__ == "__main__":
    main()
