"""Headless Chromium driven over its DevTools protocol (a websocket; aiohttp, which textual-serve brings), and a
small PNG reader for its screenshots: what the browser test of ``scantui serve`` needs, without playwright.

:func:`chromium_path` finds the Debian package's binary (None: the test skips). :class:`Browser` starts it with
a throw-away profile and one page; :meth:`Browser.new_page` opens another tab; :meth:`Page.call` sends a command, :meth:`Page.evaluate` runs JavaScript.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

#: Run before the page's own scripts: the xterm.js terminal textual-serve's page builds is kept in
#: ``window.__scantuiTerm`` (the page assigns it to ``this.terminal``; a setter on Object.prototype sees that
#: assignment once, then steps aside), so the test can read the terminal's text and focus it.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    if (value && value.buffer && !window.__scantuiTerm) { window.__scantuiTerm = value; }
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
  },
});
"""

#: The terminal's screen as text, one line per row (what a user reads in the browser).
TERMINAL_TEXT = """
(() => {
  const term = window.__scantuiTerm;
  if (!term) { return null; }
  const buf = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buf.getLine(buf.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()
"""


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One page target's DevTools websocket."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def call(self, method: str, **params):
        ident = next(self._ids)
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=60)
            if msg.get("id") == ident:  # events (no id) are not used here
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for_text(self, expression: str, wanted, timeout: float = 60.0) -> str:
        """Poll *expression* (text) until ``wanted(text)``; the last text in the error otherwise."""
        deadline = time.monotonic() + timeout
        text = None
        while time.monotonic() < deadline:
            text = await self.evaluate(expression)
            if text and wanted(text):
                return text
            await asyncio.sleep(0.25)
        raise AssertionError(f"the page did not show what was expected within {timeout:.0f}s; it showed:\n{text}")

    async def press(self, key: str) -> None:
        """Type one key as a user would (keydown with its text, then keyup): a printable character, " " or "enter"."""
        if key == "enter":
            key, code, text, vk = "Enter", "Enter", "\r", 13
        elif key == " ":
            code, text, vk = "Space", " ", 32
        else:
            code, text = (f"Digit{key}" if key.isdigit() else f"Key{key.upper()}"), key
            vk = ord(key.upper())
        await self.call("Input.dispatchKeyEvent", type="keyDown", key=key, code=code, text=text, unmodifiedText=text,
                        windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk)
        await self.call("Input.dispatchKeyEvent", type="keyUp", key=key, code=code, windowsVirtualKeyCode=vk,
                        nativeVirtualKeyCode=vk)

    async def screenshot(self, scale: float = 1.0) -> bytes:
        metrics = await self.call("Page.getLayoutMetrics")
        view = metrics["cssLayoutViewport"]
        clip = {"x": 0, "y": 0, "width": view["clientWidth"], "height": view["clientHeight"], "scale": scale}
        result = await self.call("Page.captureScreenshot", format="png", clip=clip)
        return base64.b64decode(result["data"])


class Browser:
    """Headless Chromium with a throw-away profile; ``async with Browser(path, profile) as page``."""

    def __init__(self, binary: str, profile: Path, size: tuple[int, int] = (1280, 800)) -> None:
        self.binary, self.profile, self.size = binary, profile, size
        self.proc: subprocess.Popen | None = None
        self.session = None
        self.sockets: list = []

    async def __aenter__(self) -> Page:
        import aiohttp

        self.profile.mkdir(parents=True, exist_ok=True)
        self.log = open(self.profile / "chromium.log", "wb")
        self.proc = subprocess.Popen(
            [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-dev-shm-usage", "--no-proxy-server",
             "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--hide-scrollbars",
             # a tab in the background keeps running (two sessions side by side)
             "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
             "--disable-backgrounding-occluded-windows",
             f"--window-size={self.size[0]},{self.size[1]}", f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Chromium did not start: {(self.profile / 'chromium.log').read_text()[-2000:]}")
            await asyncio.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{self.port}/json/list") as resp:
            targets = json.loads(await resp.text())
        page_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        self.sockets.append(await self.session.ws_connect(page_url, max_msg_size=0))
        return Page(self.sockets[-1])

    async def new_page(self) -> Page:
        """Another tab (another browser session of the served app once it loads the page)."""
        async with self.session.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as resp:
            target = json.loads(await resp.text())
        self.sockets.append(await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0))
        return Page(self.sockets[-1])

    async def __aexit__(self, *exc) -> None:
        for ws in self.sockets:
            await ws.close()
        if self.session is not None:
            await self.session.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG (Chromium's screenshots)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, "an unexpected PNG kind"
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif kind == 4:
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def colour_counts(data: bytes) -> dict[bytes, int]:
    """How many pixels of each colour a PNG has."""
    width, _, rows = png_pixels(data)
    bpp = len(rows[0]) // width
    counts: dict[bytes, int] = {}
    for row in rows:
        for x in range(0, len(row), bpp):
            px = row[x:x + 3]
            counts[px] = counts.get(px, 0) + 1
    return counts
