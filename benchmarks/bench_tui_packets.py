"""TUI packets view benchmark: ``p`` on a 300-source scan of the 50 M-packet data to its first rows on screen.

    python benchmarks/bench_tui_packets.py --days /work/benchdata/days-600000 --cache CACHE

The rollup must be cached already in CACHE (``scantui rollup PATH --cache-dir CACHE``
builds it); the child process opens it (not timed), picks the scan as
``bench_packets.py`` does (the first day's busiest port by sources, its 300 busiest
sources), then, headless at 120x40, times from ``open_packets`` to the first frame
drawn with the first page of rows (no placeholder left on screen), to the row count
in the title, to ``G`` (the last page on screen), and to the filtered first rows
after a field filter is submitted. Beside it, the model's own first page
(:func:`scantui.analysis.packets.packet_page`) in the same process: what the screen
adds is the difference. Peak RSS of the child (``os.wait4``). Run by hand, not in CI.
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
SIZE = (120, 40)


def _scan(source, day: dt.date) -> tuple[int, list[int]]:
    """(port, 300 sources): the day's busiest port by sources, its 300 busiest sources (as bench_packets.py)."""
    import polars as pl

    lf = source.read([day])
    port = (lf.group_by("dport").agg(pl.col("src").n_unique().alias("n")).sort("n", descending=True)
            .collect()["dport"][0])
    srcs = (lf.filter(pl.col("dport") == port).group_by("src").len().sort(["len", "src"], descending=[True, False])
            .head(300).collect()["src"].to_list())
    return int(port), [int(s) for s in srcs]


def job(days: str, cache: str) -> dict:
    import asyncio

    from scantui.analysis import packets as P
    from scantui.tui.app import ScantuiApp
    from scantui.tui.screens.packets import PacketsScreen
    from scantui.tui.screens.packets_view import PacketsView
    from scantui.tui.state import LoadRequest
    from scantui.tui.widgets.table import PENDING

    labels = Path(tempfile.mkdtemp()) / "labels.yaml"
    app = ScantuiApp(LoadRequest((days,), cache_dir=cache, labels_path=labels), autoload=False)
    state = app.state
    t0 = time.perf_counter()
    state.open_inputs()
    state.open_rollup()
    t_open = time.perf_counter() - t0
    source, _files = state.workspace.packet_view()
    port, srcs = _scan(source, source.days()[0])
    t1 = time.perf_counter()
    model_rows = P.packet_page(P.select_packets(source, P.PacketSelection(srcs=tuple(srcs), ports=(port,))), 0, 256).height
    t_model = time.perf_counter() - t1

    frames: list[float] = []
    original = app._display

    def display(screen, renderable) -> None:
        if renderable is not None:
            frames.append(time.perf_counter())
        original(screen, renderable)

    async def until(check, limit: float = 120.0) -> float:
        """When *check* held and the next frame was drawn (the moment polled, if no frame follows within 1 s)."""
        start = time.perf_counter()
        while not check():
            await asyncio.sleep(0.002)
            if time.perf_counter() - start > limit:
                raise SystemExit("timed out")
        seen, held = len(frames), time.perf_counter()
        while len(frames) == seen and time.perf_counter() - held < 1.0:
            await asyncio.sleep(0.001)
        return frames[seen] if len(frames) > seen else held

    async def main() -> dict:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app._display = display
            marks: dict[str, float] = {}
            mount, show = PacketsScreen.on_mount, PacketsScreen._show_first

            def on_mount(self) -> None:
                marks.setdefault("mounted", time.perf_counter())
                mount(self)

            def show_first(self, *a) -> None:
                marks.setdefault("page_in", time.perf_counter())
                show(self, *a)

            PacketsScreen.on_mount, PacketsScreen._show_first = on_mount, show_first
            t = time.perf_counter()
            app.open_packets(PacketsView(srcs=tuple(srcs), ports=(port,)))

            def screen() -> PacketsScreen | None:
                return app.screen if isinstance(app.screen, PacketsScreen) else None

            def drawn() -> bool:
                s = screen()
                return s is not None and s.lf is not None and 0 in s.table.pages.keys()

            first = await until(drawn) - t
            mounted, page_in = marks["mounted"] - t, marks["page_in"] - t
            counted = await until(lambda: screen().total is not None) - t
            total = screen().total
            t = time.perf_counter()
            await pilot.press("G")
            last = await until(lambda: screen().table.selected_row is not None) - t
            text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
            assert PENDING not in text
            t = time.perf_counter()
            screen().apply_filter("flags:S ttl>=100", report=True)
            filtered = await until(lambda: screen().where == "flags:S ttl>=100" and screen().total is not None) - t
            return {"screen_mounted_s": mounted, "first_page_in_s": page_in, "first_rows_s": first, "count_s": counted, "packets": total, "last_page_s": last,
                    "filtered_count_s": filtered, "filtered_packets": screen().total}

    out = asyncio.run(main())
    return {"open_rollup_s": t_open, "model_first_page_s": t_model, "model_rows": model_rows, "port": port,
            "sources": len(srcs), **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", required=True, help="the 50 M-packet day files (a folder)")
    parser.add_argument("--cache", required=True, help="a cache folder holding their rollup")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(job(args.days, args.cache)))
        return
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", "--days", args.days, "--cache", args.cache],
                            stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"child failed ({status})")
    result = json.loads(out)
    result.update(peak_rss_mb=usage.ru_maxrss / 1024, wall_s=time.perf_counter() - t, machine=platform.machine(),
                  cpus=os.cpu_count(), load=os.getloadavg()[0], date=dt.datetime.now(dt.timezone.utc).isoformat())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
