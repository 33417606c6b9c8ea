"""Helpers for the TUI tests: a tiny deterministic data set (with a hostile AS name) and Pilot helpers.

Pilot tests are plain functions running ``asyncio.run``: no pytest-asyncio
needed. :func:`settle` waits on the App's workers (never a fixed sleep).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import polars as pl

from scantui.io.schema import conform

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "telescope.parquet"
HOSTILE_AS_NAME = "[bold red]evil\x1b[31m"
HOSTILE_HOSTNAME = "[link=http://x.test]click[/link]\x07"
TELESCOPE = (198 << 24) | (18 << 16)  # 198.18.0.0, 256 addresses used


def _ip(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


# (source, asn, as_name, hostname, category, ip_id or None, ports, days active, destinations per port and day)
SOURCES = (
    ("192.0.2.10", 64500, "EXAMPLE-RESEARCH", "scan1.example.test", "research", 54321, (443, 80), (0, 1, 2, 3), 64),
    ("192.0.2.11", 64500, "EXAMPLE-RESEARCH", "scan2.example.test", "research", 54321, (443,), (0, 2), 48),
    ("198.51.100.7", 64501, HOSTILE_AS_NAME, HOSTILE_HOSTNAME, "other", None, (22, 23, 2222), (1, 2), 40),
    ("203.0.113.5", 64502, "EXAMPLE-CLOUD", None, "commercial", None, tuple(range(8000, 8040)), (3,), 3),
    ("203.0.113.9", None, None, None, None, None, (3389,), (0, 1, 2, 3), 10),
)


def tiny_frame() -> pl.DataFrame:
    """About 2,400 canonical packets over 4 days: probes of five sources, some backscatter and UDP."""
    start = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
    cols: dict[str, list] = {k: [] for k in ("ts", "src", "dst", "proto", "sport", "dport", "ip_id", "ttl", "ip_len",
                                              "tcp_flags", "tcp_seq", "tcp_ack", "tcp_window", "tcp_mss",
                                              "asn", "as_name", "hostname", "category")}

    def add(ts, src, dst, proto, dport, flags, ip_id, enrich):
        for key, value in zip(("ts", "src", "dst", "proto", "sport", "dport", "ip_id", "ttl", "ip_len"),
                              (ts, src, dst, proto, 40000 + dst % 1000, dport, ip_id, 64, 44 if proto == 6 else 60)):
            cols[key].append(value)
        tcp = proto == 6
        cols["tcp_flags"].append(flags if tcp else None)
        cols["tcp_seq"].append((src * 7 + dst) % (1 << 32) if tcp else None)
        cols["tcp_ack"].append(0 if tcp else None)
        cols["tcp_window"].append(65535 if tcp else None)
        cols["tcp_mss"].append(1460 if tcp else None)
        for key, value in zip(("asn", "as_name", "hostname", "category"), enrich):
            cols[key].append(value)

    for n, (ip, asn, as_name, host, cat, ip_id, ports, days, per) in enumerate(SOURCES):
        src = _ip(ip)
        for day in days:
            for p_i, port in enumerate(ports):
                for k in range(per):
                    ts = start + dt.timedelta(days=day, hours=n + 1, seconds=p_i * 300 + k)
                    dst = TELESCOPE + (k * 7 + p_i) % 256
                    add(ts, src, dst, 6, port, 2, ip_id if ip_id is not None else (k * 31 + n) % 65536, (asn, as_name, host, cat))
    victim = _ip("192.0.2.200")
    for k in range(60):  # backscatter: SYN-ACKs from a victim
        add(start + dt.timedelta(hours=12, seconds=k), victim, TELESCOPE + k, 6, 1024 + k, 18, k, (None, None, None, None))
    for k in range(40):  # UDP
        add(start + dt.timedelta(days=1, hours=6, seconds=k), _ip("192.0.2.99"), TELESCOPE + k, 17, 53, 0, k, (None, None, None, None))
    df = pl.DataFrame(cols, schema_overrides={"asn": pl.UInt32}, strict=False).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    return conform(df.lazy()).collect().sort("ts")


def make_app(paths, cache: Path, **kwargs):
    from scantui.tui.app import ScantuiApp
    from scantui.tui.state import LoadRequest

    import tempfile

    # never the default ./scantui-labels.yaml: each app gets a fresh labels file unless told
    kwargs.setdefault("labels_path", Path(tempfile.mkdtemp(prefix="scantui-labels-")) / "labels.yaml")
    # the thesis' calendar day: these tests' counts, ranks and screens are of its candidates, whatever the
    # app's default window (bursts: tests/tui/test_tui_candidates.py checks that default on its own)
    kwargs.setdefault("window", "day")
    poll = kwargs.pop("labels_poll", None)  # no timer racing the test's own writes; tests call check_labels_file
    app = ScantuiApp(LoadRequest(tuple(str(p) for p in paths), cache_dir=cache, **kwargs))
    app.labels_poll = poll
    return app


async def until_said(app, pilot, words: str, seconds: float = 10.0) -> str:
    """The screen's text once it shows *words* (a worker's status while it runs), looked at every 20 ms."""
    for _ in range(int(seconds / 0.02)):
        await pilot.pause(0.02)
        if words in (text := screen_text(app)):
            return text
    raise AssertionError(f"never said {words!r}:\n{screen_text(app)}")


async def settle(app, pilot, rounds: int = 50) -> None:
    """Wait until no worker runs and the messages they posted are handled (chained workers included)."""
    from textual.worker import WorkerCancelled

    quiet = 0
    for _ in range(rounds):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:  # an exclusive worker superseded by a newer one (a newer request of its kind, a rebin under load): wait again
            pass
        await pilot.pause()
        busy = any(not w.is_finished for w in app.workers) or app.workers_busy()
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return
    raise AssertionError("the App's workers did not settle")


def run_app(app, scenario: Callable[..., Awaitable[None]], size: tuple[int, int] = (80, 24)) -> None:
    """Run *app* headless at *size*, wait for loading, then ``await scenario(app, pilot)``."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


def screen_strips(app):
    """The current screen as drawn (Textual's compositor strips: text plus styles)."""
    return app.screen._compositor.render_strips()


def screen_text(app) -> str:
    """Everything on the current screen as plain text (what a user reads)."""
    return "\n".join(strip.text for strip in screen_strips(app))


async def until_followed(app, pilot, check, what: str, seconds: float = 60.0) -> None:
    """Wake a ``--follow`` app's watcher until *check()* holds (*what* names it in the timeout's error)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app._follow_wake.set()
        await pilot.pause(0.05)
        if check():
            return
    raise AssertionError(f"timed out waiting for {what}")


async def snapshot_ready(pilot, keys=()) -> None:
    """Settle, press *keys* (settling after each), stop input cursors blinking and clear notifications:
    the screen as a snapshot should see it."""
    from textual.widgets import Input

    app = pilot.app
    await settle(app, pilot)
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)
    for field in app.screen.query(Input):
        field.cursor_blink = False
    app.clear_notifications()
    await pilot.pause()
