"""TUI benchmark: time to first paint, time until the candidate list is ready, and
keystroke-to-render latency while scrolling the scanner list, beside Textual's own
DataTable holding the same rows, in one run.

    python benchmarks/bench_tui.py                 # the sample data, and the 50 M data if its rollup is cached
    python benchmarks/bench_tui.py --only sample

Each measurement runs in its own subprocess (the App headless via ``App.run_test`` at
120x40; a real terminal adds its own drawing). *First paint* is from just before the
child process was started to the first refresh after the App mounted (interpreter
start and imports included). *Candidates ready* is when the suggested groups are
counted (rollup opened or built, overview, scanner list, collab, groups). Latency is from
sending the key event to the next composed screen update handed to the display (the
key handled, the changed lines rendered and composed; headless, the terminal write
itself is skipped), 200 x ``down`` then 50 x ``pagedown``, median and
95th percentile. The peer loads the
same scanner rows (capped at 100,000: ~0.12 ms per row) into Textual's ``DataTable``
and scrolls it the same way. Peak RSS per child (``os.wait4``). Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLE = [str(ROOT / "sample_data" / "telescope.parquet")]
BIG = [str(HERE / "data" / "packets-50M.parquet"), str(HERE / "data" / "planted-collab.parquet")]
BIG_CACHE = HERE / "data" / "work" / "collab" / "cache"
PEER_CAP = 100_000
SIZE = (120, 40)


# ---------------------------------------------------------------- child jobs


def _percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"median_ms": 1e3 * values[len(values) // 2], "p95_ms": 1e3 * values[int(len(values) * 0.95) - 1]}


async def _scroll(app, keys: list[str]) -> dict[str, float]:
    """Keystroke-to-render: from sending the key event to the next composed screen update after it.

    Headless, Textual composes the update and hands it to ``App._display`` (which then
    skips the terminal); that hand-over is timed.
    """
    import asyncio

    from textual import events

    driver = app._driver
    writes: list[float] = []
    original = app._display

    def display(screen, renderable) -> None:
        if renderable is not None:
            writes.append(time.perf_counter())
        original(screen, renderable)

    app._display = display
    lat = []
    try:
        for key in keys:
            await asyncio.sleep(0.03)  # let the previous frame go out
            seen = len(writes)
            t = time.perf_counter()
            driver.send_message(events.Key(key, None))
            while len(writes) == seen:
                await asyncio.sleep(0.0005)
                if time.perf_counter() - t > 5:
                    break
            lat.append((writes[seen] if len(writes) > seen else time.perf_counter()) - t)
    finally:
        app._display = original
    return _percentiles(lat)


def job_scantui(paths: list[str], cache: str, t_spawn: float) -> dict:
    import asyncio

    from scantui.tui.app import ScantuiApp
    from scantui.tui.state import LoadRequest

    marks: dict[str, float] = {}

    class BenchApp(ScantuiApp):
        def on_mount(self) -> None:
            super().on_mount()
            self.call_after_refresh(lambda: marks.setdefault("first_paint", time.time()))

    labels = Path(tempfile.mkdtemp()) / "labels.yaml"
    app = BenchApp(LoadRequest(tuple(paths), cache_dir=cache, labels_path=labels))

    async def main() -> dict:
        async with app.run_test(size=SIZE) as pilot:
            while "scanners" not in marks or "candidates" not in marks:
                await asyncio.sleep(0.02)
                if app.scanners_version and "scanners" not in marks:
                    marks["scanners"] = time.time()
                if app.groups_count is not None and not app.counting and "candidates" not in marks:
                    marks["candidates"] = time.time()
                if not app.loading and app.scanners_version == 0 and app.progress_text.startswith("failed"):
                    raise SystemExit(app.progress_text)
            await pilot.press("2")
            await pilot.pause()
            rows = app.state.scanners.frame.height
            down = await _scroll(app, ["down"] * 200)
            page = await _scroll(app, ["pagedown"] * 50)
            return {"rows": rows, "down": down, "pagedown": page}

    out = asyncio.run(main())
    return {
        "first_paint_s": marks["first_paint"] - t_spawn,
        "scanners_ready_s": marks["scanners"] - t_spawn,
        "candidates_ready_s": marks["candidates"] - t_spawn,
        "candidates": app.collab_count, "groups": app.groups_count, **out,
    }


def job_datatable(paths: list[str], cache: str, t_spawn: float) -> dict:
    import asyncio

    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from scantui.tui.state import DataState, LoadRequest

    state = DataState(LoadRequest(tuple(paths), cache_dir=cache))
    state.open_inputs()
    state.open_rollup()
    state.build_overview()
    state.build_scanners()
    import polars as pl

    frame = state.scanners.frame.head(PEER_CAP)
    columns = [c for c in frame.columns if frame[c].dtype.is_numeric() or frame[c].dtype == pl.String][:10]
    rows = [tuple("" if v is None else str(v) for v in r) for r in frame.select(columns).iter_rows()]

    class Peer(App):
        def compose(self) -> ComposeResult:
            yield DataTable()

    app = Peer()

    async def main() -> dict:
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(DataTable)
            t = time.perf_counter()
            table.add_columns(*columns)
            table.add_rows(rows)
            await pilot.pause()
            load = time.perf_counter() - t
            table.focus()
            down = await _scroll(app, ["down"] * 200)
            page = await _scroll(app, ["pagedown"] * 50)
            return {"rows": len(rows), "load_rows_s": load, "down": down, "pagedown": page}

    return asyncio.run(main())


def child(job: str, paths: str, cache: str, t_spawn: str, result: str) -> None:
    fn = {"scantui": job_scantui, "datatable": job_datatable}[job]
    out = fn(json.loads(paths), cache, float(t_spawn))
    Path(result).write_text(json.dumps(out))


# ---------------------------------------------------------------- the parent (imports nothing heavy)


def run(job: str, paths: list[str], cache: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "out.json"
        t_spawn = time.time()
        proc = subprocess.Popen([sys.executable, __file__, "--child", job, json.dumps(paths), str(cache), repr(t_spawn), str(result)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if status != 0 or not result.exists():
            return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {status}"}
        out = json.loads(result.read_text())
    out["peak_rss_mb"] = usage.ru_maxrss / 1024
    return out


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} CPUs ({cpu}), {mem} GiB RAM, Python {platform.python_version()}"


def table(results: list[tuple[str, str, dict]]) -> str:
    lines = ["| data | app | first paint (s) | scanner list ready (s) | candidates ready (s) | rows | load rows (s) | "
             "down median / p95 (ms) | pagedown median / p95 (ms) | peak RSS (MB) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for data, job, r in results:
        if "error" in r:
            lines.append(f"| {data} | {job} | error: {r['error']} |||||||")
            continue
        f = lambda k: f"{r[k]:.2f}" if r.get(k) is not None else "—"  # noqa: E731
        lat = lambda k: f"{r[k]['median_ms']:.1f} / {r[k]['p95_ms']:.1f}"  # noqa: E731
        lines.append(f"| {data} | {job} | {f('first_paint_s')} | {f('scanners_ready_s')} | {f('candidates_ready_s')} | "
                     f"{r.get('rows') or '—':,} | {f('load_rows_s')} | {lat('down')} | {lat('pagedown')} | {r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["sample", "big"], default=None)
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    datasets = []
    if args.only in (None, "sample"):
        cache = Path(tempfile.mkdtemp(prefix="bench-tui-cache-"))
        run("scantui", SAMPLE, cache)  # build the sample's rollup once: both runs below use the cached rollup
        datasets.append(("sample (959 k packets)", SAMPLE, cache))
    if args.only in (None, "big"):
        if all(Path(p).exists() for p in BIG) and BIG_CACHE.exists():
            datasets.append(("50 M + planted (71 M packets), cached rollup", BIG, BIG_CACHE))
        else:
            print("skipping the 50 M data: run bench_analysis.py and bench_collab.py first", file=sys.stderr)
    results = []
    for name, paths, cache in datasets:
        for job in ("scantui", "datatable"):
            print(f"{name}: {job} ...", file=sys.stderr, flush=True)
            results.append((name, job, run(job, paths, cache)))
    load = os.getloadavg()[0]
    print(f"\n{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {machine()} · load average {load:.1f} · "
          f"headless App.run_test at {SIZE[0]}x{SIZE[1]}")
    print(table(results))


if __name__ == "__main__":
    main()
