"""What native code writes to file descriptor 2 (Rust's panic hook, C libraries), kept off the terminal.

Polars' Rust panic hook writes ``thread '...' panicked at ...`` and the panic's message (which can quote the
file) straight to fd 2, below Python: no ``sys.stderr`` redirection sees it, and no setting silences it. So
fd 2 itself is pointed (``os.dup2``) at a pipe, read by a thread that hands each piece to a *sink*:

- :func:`push` routes fd 2 to *sink* (the first push makes the pipe; the terminal is kept as
  :func:`terminal_fd`); :func:`pop` hands fd 2 back to the sink below, or, with none left, points fd 2
  at the terminal again (or ``/dev/null``), drains what the pipe still holds into *sink* and ends the thread
  (once the pipe is empty: a child process, such as multiprocessing's resource tracker or a Dask worker,
  may hold its write side for as long as it lives). What such a child writes after that is lost (its write
  fails: no reader). In the CLI that is only the resource tracker's leak warnings at exit (internals, after
  the command's last line): the ``--workers`` cluster is closed with the click context, before fd 2 is handed
  back, and a worker's failure reaches the front end as the task's exception, not as text on fd 2.
- :class:`PanicFilter` is the CLI's sink: every byte on to the terminal at once, except Rust's panic
  blocks, held until the command ends (dropped when its one error line says what failed).
- The TUI's sink keeps what arrives and shows it as data (:mod:`scantui.tui.native_output`).

A sink has ``write(data: bytes)`` and ``idle()``: the latter is called when nothing more arrived for
:data:`IDLE` seconds after some data (a panic hook's lines come within microseconds of each other: a
burst is over). Both run on the reader thread.
"""

from __future__ import annotations

import os
import re
import select
import threading
from typing import Protocol

IDLE = 0.05  # seconds of quiet that end a burst (see the module doc)
DRAIN_WAIT = 2.0  # seconds pop waits at most for the pipe to be drained (a child process may still be writing)


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...

    def idle(self) -> None: ...


_lock = threading.RLock()  # pop may run in a signal handler (ctrl-z in the TUI)
_sinks: list[Sink] = []
_terminal: int | None = None  # a copy of fd 2 as it was before the first push
_thread: threading.Thread | None = None
_wake: int | None = None  # the write side of the pipe that tells the reader fd 2 was handed back


def terminal_fd() -> int:
    """Where fd 2 pointed before it was redirected (the terminal): a copy of it while redirected, else 2."""
    return 2 if _terminal is None else _terminal


def redirected() -> bool:
    return bool(_sinks)


def push(sink: Sink) -> None:
    """Route what is written to fd 2 to *sink* (until :func:`pop`); the first push redirects fd 2."""
    global _terminal, _thread, _wake
    with _lock:
        if not _sinks:
            read_fd, write_fd = os.pipe()
            wake_fd, _wake = os.pipe()
            _terminal = os.dup(2)
            os.dup2(write_fd, 2)
            os.close(write_fd)
            _thread = threading.Thread(target=_read, args=(read_fd, wake_fd), name="scantui-native-stderr",
                                       daemon=True)
            _sinks.append(sink)
            _thread.start()
        else:
            _sinks.append(sink)


def pop(sink: Sink, *, then_devnull: bool = False) -> None:
    """Stop routing fd 2 to *sink*. With no sink left, fd 2 points at the terminal again (at ``/dev/null``
    with *then_devnull*: what native threads still write as the process ends goes nowhere), and what
    the pipe holds still reaches *sink* before this returns (unless a child process keeps writing to it)."""
    global _terminal, _thread, _wake
    with _lock:
        if sink not in _sinks:
            return
        if len(_sinks) > 1 or _sinks[-1] is not sink:
            _sinks.remove(sink)
            return
        target = os.open(os.devnull, os.O_WRONLY) if then_devnull else _terminal
        assert target is not None
        os.dup2(target, 2)  # the pipe's last write side in this process: all this process wrote is in the pipe
        if then_devnull:
            os.close(target)
        thread, _thread = _thread, None
        if _wake is not None:  # the reader stops once the pipe is empty (not at its end: a child may hold it)
            os.write(_wake, b"x")
            os.close(_wake)
            _wake = None
    if thread is not None:
        thread.join(DRAIN_WAIT)
    with _lock:
        if sink in _sinks:
            _sinks.remove(sink)
        if not _sinks and _terminal is not None:
            os.close(_terminal)
            _terminal = None


def _current() -> Sink | None:
    with _lock:
        return _sinks[-1] if _sinks else None


def _read(read_fd: int, wake_fd: int) -> None:
    pending = False  # data was handed on since the last idle()
    draining = False  # pop handed fd 2 back: end when the pipe is quiet for IDLE
    poll = select.poll()  # (not select.select: a descriptor number past 1023 is fine)
    poll.register(read_fd, select.POLLIN)
    poll.register(wake_fd, select.POLLIN)
    try:
        while True:
            ready = {fd for fd, _ in poll.poll(IDLE * 1000 if pending or draining else None)}
            if not ready:
                sink = _current()
                if sink is not None and pending:
                    sink.idle()
                pending = False
                if draining:
                    return
                continue
            if wake_fd in ready:
                poll.unregister(wake_fd)
                draining = True
                if read_fd not in ready:
                    continue
            data = os.read(read_fd, 65536)
            sink = _current()
            if not data:
                if sink is not None and pending:
                    sink.idle()
                return
            if sink is not None:
                sink.write(data)
                pending = True
    finally:
        os.close(read_fd)
        os.close(wake_fd)


# ---------------------------------------------------------------------------------------------- the CLI's sink

# Rust's default panic hook: a blank line and "thread 'NAME' (ID) panicked at FILE:LINE:COL:" (as polars' current
# builds write it; older Rust: no blank line, no "(ID)"), then the message (older Rust: on the same line), then,
# for the process's first panic only, the note below.
_PANIC = re.compile(rb"thread '[^\n]*?'(?: \(\d+\))? panicked at ")
_NOTE = b"note: run with `RUST_BACKTRACE=1`"
_HEAD = b"thread '"


class PanicFilter:
    """The CLI's sink: writes everything on to *out_fd* as it comes, except Rust panic blocks (a
    ``thread '...' panicked at`` line, the message lines after it up to the ``note: run with
    `RUST_BACKTRACE=1``` line or the end of the burst), which are held: :meth:`finish` drops them
    (the command's one error line says what failed) or writes them out."""

    def __init__(self, out_fd: int) -> None:
        self.out_fd = out_fd
        self.held: list[bytes] = []  # panic blocks
        self._block: bytearray | None = None  # the panic block being read
        self._tail = b""  # the start of a line that could still turn into a panic header
        self._lock = threading.Lock()
        self._line_start = True  # what was written out so far ends a line
        self.dropping = False

    def write(self, data: bytes) -> None:
        with self._lock:
            self._feed(self._tail + data)

    def idle(self) -> None:
        with self._lock:
            tail, self._tail = self._tail, b""
            if self._block is not None:
                self._block += tail
                self._end_block()
            elif tail:
                self._out(tail)

    def finish(self, *, drop_panics: bool) -> None:
        """The command is over: the panic blocks held are dropped (*drop_panics*) or written out."""
        self.idle()
        with self._lock:
            blocks, self.held = self.held, []
            self.dropping = drop_panics
            if not drop_panics:
                for block in blocks:
                    self._out(block)

    def _feed(self, data: bytes) -> None:
        self._tail = b""
        while data:
            if self._block is not None:
                end = data.find(b"\n")
                if end < 0:  # a line not complete yet: it may still be the block's note or a new header
                    self._tail = data
                    return
                line, data = data[:end + 1], data[end + 1:]
                if _PANIC.match(line) and self._block.strip():  # (not after the blank line that leads a block)
                    self._end_block()
                    self._block = bytearray(line)
                    continue
                self._block += line
                if line.startswith(_NOTE):
                    self._end_block()
                continue
            match = _PANIC.search(data)
            if match is not None:
                start = match.start()
                blank = self._blank_line_before(data, start)
                self._out(data[:start - blank])
                self._block = bytearray(data[start - blank:start])
                data = data[start:]
                continue
            # no header here; the end could be the start of one (and its blank line): held until it is known
            cut = len(data) - _possible_head(data)
            cut -= self._blank_line_before(data, cut)
            self._out(data[:cut])
            self._tail = data[cut:]
            return

    def _blank_line_before(self, data: bytes, end: int) -> int:
        """1 when ``data[end - 1]`` is an empty line's newline (the blank line Rust prints before a panic)."""
        if end >= 1 and data[end - 1:end] == b"\n" and (data[end - 2:end - 1] == b"\n" if end >= 2 else self._line_start):
            return 1
        return 0

    def _end_block(self) -> None:
        if self._block and not self.dropping:
            self.held.append(bytes(self._block))
        self._block = None

    def _out(self, data: bytes) -> None:
        if data:
            self._line_start = data.endswith(b"\n")
        while data:
            try:
                data = data[os.write(self.out_fd, data):]
            except InterruptedError:
                continue
            except OSError:  # the terminal is gone: nothing to show it on
                return


def _possible_head(data: bytes) -> int:
    """How many bytes at the end of *data* could begin a panic header (a line not ended yet that starts
    like one, or a prefix of ``thread '``)."""
    start = data.rfind(_HEAD)
    if start >= 0 and b"\n" not in data[start:] and (len(data) - start < 300):
        return len(data) - start
    for size in range(min(len(_HEAD) - 1, len(data)), 0, -1):
        if data.endswith(_HEAD[:size]):
            return size
    return 0
