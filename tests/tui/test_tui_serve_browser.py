"""``scantui serve`` in a real browser: headless Chromium (the Debian package ``chromium``) loads the page of a
server started as a subprocess on the tiny data; a screenshot shows the overview, a key typed in the page
reaches the app (``2``: the scanners, their source IPs in the terminal's text); two tabs on one labels file are
two terminals (both labels kept, the second told its id was taken). Skipped without Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from ruamel.yaml import YAML

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


@contextlib.contextmanager
def serving(paths, tui_cache, tmp_path):
    """``scantui serve PATHS`` on a free port in a subprocess: yields (port, labels file, its log)."""
    port = free_port()
    labels = tmp_path / "labels.yaml"
    log = tmp_path / "serve.log"
    env = {**os.environ, "SCANTUI_CACHE_DIR": str(tui_cache)}
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "scantui", "serve", *map(str, paths), "--port", str(port), "--labels", str(labels),
             "--window", "day"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        wait_for_port(port, server, log)
        yield port, labels, log
    finally:
        stop(server)


async def open_app(page, port: int) -> str:
    """Load the served page in *page*; the overview's text once the app has loaded the data."""
    await page.call("Page.enable")
    await page.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
    await page.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
    return await page.wait_for_text(TERMINAL_TEXT, lambda t: "packets per day" in t and "1,108" in t)


async def type_keys(page, *keys: str) -> None:
    await page.call("Page.bringToFront")
    await page.evaluate("window.__scantuiTerm.focus()")
    for key in keys:
        await page.press(key)
        await asyncio.sleep(0.3)  # as a person types: each key handled before the next


def test_the_overview_in_a_browser_and_keys_typed_in_the_page_reach_the_app(tiny_parquet, tui_cache, tmp_path):
    with serving([tiny_parquet], tui_cache, tmp_path) as (port, labels, log):
        asyncio.run(drive(port, tmp_path))
    served = "".join(log.read_text().split())  # the console wraps long lines
    assert f"scantuiopen--labels{labels}" in served and f"--{tiny_parquet}" in served  # the real TUI, same files


def test_two_browser_sessions_on_one_labels_file_are_two_terminals(tiny_parquet, tui_cache, tmp_path):
    with serving([tiny_parquet], tui_cache, tmp_path) as (port, labels, _):
        asyncio.run(two_sessions(port, labels, tmp_path))


async def two_sessions(port: int, labels, tmp_path) -> None:
    browser = Browser(CHROMIUM, tmp_path / "chromium")
    async with browser as alice:
        bob = await browser.new_page()
        await open_app(alice, port)
        await open_app(bob, port)
        await type_keys(alice, "2")
        await alice.wait_for_text(TERMINAL_TEXT, lambda t: "192.0.2.10" in t)
        await type_keys(alice, " ", "l")  # mark the first source, label it: the dialog's default is a new group
        await alice.wait_for_text(TERMINAL_TEXT, lambda t: "G01" in t)
        await type_keys(alice, "enter")
        deadline = time.monotonic() + 30
        while not (labels.exists() and "192.0.2.10" in labels.read_text()):
            assert time.monotonic() < deadline, "the first session's label was not saved"
            await asyncio.sleep(0.25)
        # the other session labels another source meanwhile: its group gets the next free id, nothing is lost
        await type_keys(bob, "2")
        await bob.wait_for_text(TERMINAL_TEXT, lambda t: "192.0.2.10" in t)
        await type_keys(bob, "j", " ", "l")
        await bob.wait_for_text(TERMINAL_TEXT, lambda t: "G0" in t)
        await type_keys(bob, "enter")
        # (whether bob is told "G01 was taken" depends on whether his file watch has read alice's save before his
        # own: either way his group gets the next free id and nothing is lost, as in two terminals)
        await type_keys(bob, "4")
        await bob.wait_for_text(TERMINAL_TEXT, lambda t: "2 groups" in t and "G02" in t)
        await type_keys(alice, "4")  # the first session has read the file again (its file watch)
        await alice.wait_for_text(TERMINAL_TEXT, lambda t: "2 groups" in t and "G01" in t and "G02" in t)
    doc = YAML(typ="safe").load(labels.read_text())
    assert [(g["id"], g["members"]) for g in doc["groups"]] == [("G01", ["192.0.2.10"]), ("G02", ["198.51.100.7"])]


async def drive(port: int, tmp_path) -> None:
    async with Browser(CHROMIUM, tmp_path / "chromium") as page:
        overview = await open_app(page, port)
        assert "scantui" in overview and "192.0.2.10" not in overview
        shot = await page.screenshot()
        (tmp_path / "overview.png").write_bytes(shot)  # kept for a look when the test fails
        colours = colour_counts(await page.screenshot(scale=0.25))
        total = sum(colours.values())
        assert len(colours) >= 8, f"the screenshot is nearly blank: {len(colours)} colours"
        assert max(colours.values()) < 0.9 * total, "one colour fills the screenshot"

        await type_keys(page, "2")
        scanners = await page.wait_for_text(TERMINAL_TEXT, lambda t: "192.0.2.10" in t and "203.0.113.9" in t)
        assert "packets per day" not in scanners
        after = await page.screenshot()
        (tmp_path / "scanners.png").write_bytes(after)
        assert after != shot
