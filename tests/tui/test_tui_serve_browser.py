"""``scantui serve`` in a real browser: headless Chromium (the Debian package ``chromium``) loads the page of a
server started as a subprocess on the tiny data; a screenshot shows the overview, a key typed in the page
reaches the app (``2``: the scanners, their source IPs in the terminal's text). Skipped without Chromium."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from cdphelp import CATCH_TERMINAL, TERMINAL_TEXT, Browser, chromium_path, colour_counts

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it when apt is there)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, log, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"scantui serve exited ({proc.returncode}): {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"scantui serve did not listen on {port}: {log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)  # textual-serve quits its sessions on SIGINT/SIGTERM
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_the_overview_in_a_browser_and_keys_typed_in_the_page_reach_the_app(tiny_parquet, tui_cache, tmp_path):
    port = free_port()
    labels = tmp_path / "labels.yaml"
    log = tmp_path / "serve.log"
    env = {**os.environ, "SCANTUI_CACHE_DIR": str(tui_cache)}
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "scantui", "serve", str(tiny_parquet), "--port", str(port), "--labels", str(labels),
             "--window", "day"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        wait_for_port(port, server, log)
        asyncio.run(drive(port, tmp_path))
    finally:
        stop(server)
    served = "".join(log.read_text().split())  # the console wraps long lines
    assert f"scantuiopen--labels{labels}" in served and f"--{tiny_parquet}" in served  # the real TUI, same files


async def drive(port: int, tmp_path) -> None:
    async with Browser(CHROMIUM, tmp_path / "chromium") as page:
        await page.call("Page.enable")
        await page.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
        await page.call("Page.navigate", url=f"http://127.0.0.1:{port}/")

        overview = await page.wait_for_text(TERMINAL_TEXT, lambda t: "packets per day" in t and "1,108" in t)
        assert "scantui" in overview and "192.0.2.10" not in overview
        shot = await page.screenshot()
        (tmp_path / "overview.png").write_bytes(shot)  # kept for a look when the test fails
        colours = colour_counts(await page.screenshot(scale=0.25))
        total = sum(colours.values())
        assert len(colours) >= 8, f"the screenshot is nearly blank: {len(colours)} colours"
        assert max(colours.values()) < 0.9 * total, "one colour fills the screenshot"

        await page.evaluate("window.__scantuiTerm.focus()")
        await page.press("2")
        scanners = await page.wait_for_text(TERMINAL_TEXT, lambda t: "192.0.2.10" in t and "203.0.113.9" in t)
        assert "packets per day" not in scanners
        after = await page.screenshot()
        (tmp_path / "scanners.png").write_bytes(after)
        assert after != shot
