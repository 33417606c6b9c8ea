"""TUI benchmark: key-to-paint latency while the candidates and labels filters and the ``--follow`` watch run
over a planted large case (session 9, wt-tuithread), for the code under PYTHONPATH.

    PYTHONPATH=src:tests python benchmarks/bench_tui_offthread.py --candidates 5000 --labelled 2000 [--cache DIR]

The App runs headless (``App.run_test`` at 120x40) on the tests' tiny data, with *candidates* planted candidate
scans and as many suggested groups (one scan each; 4 sources, one port of 40, one day), and a labels file of
*labelled* groups (4 members each, one recorded scan), every candidate's sources a labelled group's members on
another day (so each is a watch hit). Measured, one App:

- candidates: the query ``port:3306`` typed into the filter bar one key every 50 ms (a fast typist): the
  latency of each key (from sending the key event to the next composed screen update handed to the display,
  as ``bench_tui.py``), and the time from the last key until the filtered rows are shown;
- labels: the same with the words ``generated 12`` on the labels area's list;
- watch: ``watch_candidates()`` (what runs after each ``--follow`` search): how long it holds the UI thread,
  the latency of ``down``/``up`` keys sent while its matching runs, and the time until the hits are known;
- the event loop's stalls over each phase (a task that wakes every 2 ms: the longest delay, and the time
  spent in delays over 20 ms: what a key pressed then would wait);
- verdict (session 10): ``x`` on the first suggested group, then ``down``/``up`` keys while the labels change
  rebuilds both lists' review cells: the key latencies, the stalls, the time until no worker runs;
- the process's CPU seconds over each phase (``time.process_time``; the 1-min load beside every figure).

Run it with the old code's ``src`` first on PYTHONPATH to compare (the same script drives both). By hand only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

SIZE = (120, 40)
GAP = 0.05  # seconds between typed keys


def _percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"median_ms": round(1e3 * values[len(values) // 2], 1), "max_ms": round(1e3 * values[-1], 1), "n": len(values)}


def _ip(n: int) -> str:
    return f"{10 + (n >> 24) % 200}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def labels_text(groups: int) -> str:
    lines = ["scantui_labels: 1", "groups:"]
    for i in range(groups):
        ips = [_ip(i * 4 + k) for k in range(4)]
        lines += [f"  - id: G{i:05d}", f"    title: generated group {i}", "    verdict: collaborative",
                  f"    members: [{', '.join(ips)}]", f"    ports: [{3000 + i % 40}]", "    scans:",
                  f"      - {{port: {3000 + i % 40}, day: 2024-02-01, sources: [{', '.join(ips)}]}}",
                  "    tags: [generated]"]
    return "\n".join(lines) + "\n"


def planted(candidates: int, labelled: int) -> tuple[list, list]:
    from collabbuild import candidate, group

    scans = []
    for i in range(candidates):
        g = i % labelled
        scans.append(candidate(sources=tuple(_ip(g * 4 + k) for k in range(4)), port=3300 + i % 40,
                               day=f"2024-03-{1 + i % 28:02d}", key_text=f"{_ip(g * 4).rsplit('.', 1)[0]}.0/24",
                               score=float(100 - i % 100)))
    return scans, [group([c], group_id=f"S{i + 1:02d}") for i, c in enumerate(scans)]


async def _keys(app, keys: list[str], gap: float = GAP) -> list[float]:
    """Key-to-paint latency of each key (as bench_tui.py: the next composed update handed to the display)."""
    from textual import events

    driver, writes, original = app._driver, [], app._display

    def display(screen, renderable) -> None:
        if renderable is not None:
            writes.append(time.perf_counter())
        original(screen, renderable)

    app._display = display
    lat = []
    try:
        for key in keys:
            await asyncio.sleep(gap)
            seen, t = len(writes), time.perf_counter()
            driver.send_message(events.Key(key, key if len(key) == 1 else None))
            while len(writes) == seen and time.perf_counter() - t < 60:
                await asyncio.sleep(0.0005)
            lat.append((writes[seen] if len(writes) > seen else time.perf_counter()) - t)
    finally:
        app._display = original
    return lat


class Stalls:
    """The event loop's stalls while it runs: a task asks to wake every 2 ms and records how late it wakes
    (a key pressed during a stall waits that long before anything happens)."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._task = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.002)
            self.gaps.append(time.perf_counter() - t - 0.002)

    def stop(self) -> dict[str, float]:
        self._task.cancel()
        late = [g for g in self.gaps if g > 0.02]
        return {"max_stall_ms": round(1e3 * max(self.gaps, default=0.0), 1),
                "stalled_over_20ms_s": round(sum(late), 3), "stalls_over_20ms": len(late)}


async def _settled(app, pilot) -> float:
    """Wait until no worker runs; the time it took."""
    from textual.worker import WorkerCancelled

    t = time.perf_counter()
    quiet = 0
    while quiet < 2:
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:  # (a newer request of its kind replaced it)
            pass
        await pilot.pause()
        quiet = 0 if any(not w.is_finished for w in app.workers) or app.workers_busy() else quiet + 1
    return time.perf_counter() - t


def child(candidates: int, labelled: int, cache: str) -> dict:
    from tuihelp import make_app, tiny_frame

    from scantui.analysis.collab import CollabResult

    tmp = Path(tempfile.mkdtemp(prefix="bench-offthread-"))
    data = tmp / "tiny.parquet"
    tiny_frame().write_parquet(data)
    labels = tmp / "labels.yaml"
    labels.write_text(labels_text(labelled))
    scans, groups = planted(candidates, labelled)
    app = make_app([data], Path(cache), labels_path=labels)
    out: dict = {"candidates": candidates, "labelled": labelled}

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await _settled(app, pilot)
            app.state.collab = CollabResult(list(scans), telescope_size=256)
            app.state.groups = list(groups)
            app.collab_count, app.groups_count = len(scans), len(groups)
            await pilot.press("3")
            out["candidates_rows_s"] = round(await _settled(app, pilot), 3)
            screen = app.screen
            await pilot.press("slash")
            await _settled(app, pilot)
            cpu, load = time.process_time(), os.getloadavg()[0]
            stalls = Stalls()
            lat = await _keys(app, list("port:3306"))
            ready = await _settled(app, pilot)
            out["candidates_filter"] = {**_percentiles(lat), **stalls.stop(), "rows_after_last_key_s": round(ready, 3),
                                        "cpu_s": round(time.process_time() - cpu, 2), "load1": round(load, 1),
                                        "rows": [screen.groups_table.row_count, screen.candidates_table.row_count]}
            screen.groups_table.focus()
            await pilot.press("4")
            await _settled(app, pilot)
            await pilot.press("slash")
            await _settled(app, pilot)
            cpu, load = time.process_time(), os.getloadavg()[0]
            stalls = Stalls()
            lat = await _keys(app, list("generated 12"))
            ready = await _settled(app, pilot)
            out["labels_filter"] = {**_percentiles(lat), **stalls.stop(), "rows_after_last_key_s": round(ready, 3),
                                    "cpu_s": round(time.process_time() - cpu, 2), "load1": round(load, 1),
                                    "rows": app.screen.table.row_count}
            app.screen.table.focus()
            await pilot.press("3")
            app.screen.action_clear_filter()
            app.screen.groups_table.focus()
            await _settled(app, pilot)
            app.state.request = dataclasses.replace(app.state.request, follow=True)
            cpu, load = time.process_time(), os.getloadavg()[0]
            stalls = Stalls()
            await asyncio.sleep(0.01)
            t = time.perf_counter()
            app.watch_candidates()
            held = time.perf_counter() - t
            lat = await _keys(app, ["down", "up"] * 10, gap=0.02) if app._watch_state is not app.state else []
            while app._watch_state is not app.state:
                await asyncio.sleep(0.005)
            done = time.perf_counter() - t
            out["watch"] = {"ui_thread_held_s": round(held, 3), "hits_known_s": round(done, 3), **stalls.stop(),
                            "down_during": _percentiles(lat) if lat else None, "hits": len(app._watch_known or ()),
                            "cpu_s": round(time.process_time() - cpu, 2), "load1": round(load, 1)}
            # a verdict (x on the first group): the labels change rebuilds both lists' review cells (session 10)
            await _settled(app, pilot)
            cpu, load = time.process_time(), os.getloadavg()[0]
            stalls, version = Stalls(), app.labels_version
            t = time.perf_counter()
            lat = await _keys(app, ["x"], gap=0.01)
            while app.labels_version == version and time.perf_counter() - t < 120:
                await asyncio.sleep(0.005)
            lat += await _keys(app, ["down", "up"] * 10, gap=0.02)
            ready = await _settled(app, pilot)
            out["verdict"] = {"x_ms": round(1e3 * lat[0], 1), "keys_after": _percentiles(lat[1:]), **stalls.stop(),
                              "rows_rebuilt_s": round(time.perf_counter() - t, 3),
                              "cpu_s": round(time.process_time() - cpu, 2), "load1": round(load, 1)}
            await pilot.press("q")

    asyncio.run(main())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=5000)
    ap.add_argument("--labelled", type=int, default=2000)
    ap.add_argument("--cache", default=None)
    args = ap.parse_args()
    cache = args.cache or tempfile.mkdtemp(prefix="bench-offthread-cache-")
    result = child(args.candidates, args.labelled, cache)
    result["when"] = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    result["src"] = next((p for p in sys.path if p.endswith("src")), "?")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
