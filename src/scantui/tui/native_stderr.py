"""Native code's writes to fd 2 while the App runs: kept, and shown as data, never onto the screen.

Textual draws on ``sys.__stderr__`` (fd 2), and so does Rust's panic hook (polars' ``thread '...'
panicked at ...`` lines and the message, which can quote the file) or any C library, below Python:
written there, they land on the screen at the cursor and mark it until it is redrawn (an escape
in them would even act on the terminal). So while the App holds the terminal
(:class:`CapturingDriver`: application mode, again after a ctrl-z), fd 2 goes to
:mod:`scantui.io.native_stderr`'s pipe and Textual writes to a copy of the terminal's descriptor.
What arrives is kept by :class:`NativeOutput` (the last :data:`KEEP_LINES` lines) and each burst is
posted to the App as :class:`NativeOutputArrived`; the App shows it escaped
(:mod:`scantui.tui.app_native`). Leaving application mode (quit, a crash, ctrl-z) hands fd 2 back.
"""

from __future__ import annotations

import codecs
import collections
import os
import threading
from typing import Any

from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from scantui.io import native_stderr

KEEP_LINES = 500
LINE_LIMIT = 2000  # characters kept of one line


class NativeOutputArrived(Message):
    """A burst of native output came (its lines, as text: still unsafe to show as it is)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines


class NativeOutput:
    """The sink the App gives :func:`scantui.io.native_stderr.push`: decodes what arrives (UTF-8, bad bytes
    replaced), keeps the last lines, and posts each burst to *app* (from the reader thread: ``post_message`` is
    thread-safe)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lines: collections.deque[str] = collections.deque(maxlen=KEEP_LINES)
        self.total = 0  # lines seen, kept or not
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._burst: list[str] = []
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            text = self._partial + self._decoder.decode(data)
            *complete, self._partial = text.split("\n")
            for line in complete:
                self._keep(line)

    def idle(self) -> None:
        with self._lock:
            if self._partial:
                self._keep(self._partial)
                self._partial = ""
            burst, self._burst = self._burst, []
        if burst and any(line.strip() for line in burst):
            try:
                self.app.post_message(NativeOutputArrived(burst))
            except RuntimeError:  # the App's loop is closed (it quit): the lines stay kept
                pass

    def _keep(self, line: str) -> None:
        line = line.rstrip("\r")[:LINE_LIMIT]
        self.lines.append(line)
        self.total += 1
        if len(self._burst) < KEEP_LINES:
            self._burst.append(line)

    def capture(self) -> None:
        """fd 2 to this sink (until :meth:`release`)."""
        if os.name == "posix":
            native_stderr.push(self)

    def release(self) -> None:
        """fd 2 back to where it was; what the pipe still held is read first."""
        native_stderr.pop(self)


class CapturingDriver(LinuxDriver):
    """Textual's Linux driver drawing on its own copy of the terminal's descriptor, with fd 2 captured by the
    App's :class:`NativeOutput` (``app.native_output``) while in application mode."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._encoding = getattr(self._file, "encoding", None) or "utf-8"
        self._open_terminal()

    def _open_terminal(self) -> None:
        # where fd 2 pointed before anything redirected it (the CLI filters it too: scantui.cli.main)
        fd = os.dup(native_stderr.terminal_fd())
        self._file = self._terminal = open(fd, "w", encoding=self._encoding, errors="replace", closefd=True)  # noqa: SIM115

    def start_application_mode(self) -> None:
        if self._terminal.closed:  # a suspend (SIGTSTP) closed the driver; SIGCONT draws again
            self._open_terminal()
        self._app.native_output.capture()
        super().start_application_mode()

    def stop_application_mode(self) -> None:
        try:
            super().stop_application_mode()
        finally:
            self._app.native_output.release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            try:
                self._terminal.close()
            except OSError:
                pass
