"""What native code writes to fd 2 while the TUI runs (a Rust panic, a C library): kept off the screen, shown as data.

Textual draws on fd 2; so do polars' Rust panic hook and C libraries, below Python. The App's driver points fd 2
at a pipe while it holds the terminal (scantui.tui.native_stderr); here, headless, the test captures with the
same sink the driver uses (``app.native_output.capture()``).
"""

from __future__ import annotations

import asyncio
import os
import shutil

from tuihelp import make_app, run_app, screen_text, settle, tiny_frame


async def _wait_for(pilot, predicate, rounds: int = 100) -> None:
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0.05)
        await pilot.pause()


def test_native_writes_to_fd_2_come_back_as_escaped_data_and_fd_2_is_restored(tmp_path, tiny_parquet, tui_cache, capfd):
    before = os.fstat(2).st_ino

    async def scenario(app, pilot):
        app.native_output.capture()
        try:
            assert os.fstat(2).st_ino != before
            os.write(2, b"\x1b[2J\x1b]0;pwned\x07libfoo: bad \xff\xfe bytes\n")
            await _wait_for(pilot, lambda: any(n.title == "native error output" for n in app._notifications))
            notes = [n for n in app._notifications if n.title == "native error output"]
            assert [n.severity for n in notes] == ["warning"]
            assert notes[0].message.startswith("\\x1b[2J\\x1b]0;pwned\\x07libfoo: bad \ufffd\ufffd bytes\n"), notes[0].message
            assert "\x1b" not in screen_text(app) and "\x07" not in screen_text(app)
            app.action_native_output()
            await pilot.pause()
            assert type(app.screen).__name__ == "NativeOutputScreen"
            shown = screen_text(app)
            assert "\\x1b]0;pwned\\x07libfoo" in shown and "\x1b" not in shown
            await pilot.press("escape")
            await pilot.pause()
            assert app.is_running
        finally:
            app.native_output.release()
        assert os.fstat(2).st_ino == before

    run_app(make_app([tiny_parquet], tui_cache), scenario)
    assert "pwned" not in capfd.readouterr().err  # nothing reached the real fd 2


def test_a_real_polars_panic_is_a_notification_and_its_rust_text_never_reaches_fd_2(tmp_path, capfd):
    """A query on a Parquet file cut after it was loaded: polars panics; Rust's hook writes ``thread ...
    panicked at ...`` to fd 2. The step's error notification says what failed; the Rust text is kept and
    notified as data; the app keeps running."""
    day = tmp_path / "day.parquet"
    tiny_frame().write_parquet(day, row_group_size=64)
    cache = tmp_path / "cache"

    async def scenario(app, pilot):
        app.native_output.capture()
        try:
            app.state.workspace.packets().collect_schema()  # the file's table, validated while it was whole
            for state in (cache / "days" / "state").iterdir():
                shutil.rmtree(state)
            os.truncate(day, day.stat().st_size // 10)
            await pilot.press("2")
            await settle(app, pilot)
            await pilot.press("p")
            await settle(app, pilot)
            await _wait_for(pilot, lambda: any(n.title == "native error output" for n in app._notifications))
            errors = [n.message for n in app._notifications if n.severity == "error"]
            assert any(m.startswith(f"{day}: the file changed while it was read") for m in errors), errors
            native = [n.message for n in app._notifications if n.title == "native error output"]
            assert native and "panicked at" in native[0] and "RUST_BACKTRACE" not in native[0], native
            assert any("panicked at" in line for line in app.native_output.lines)
            assert "panicked" not in screen_text(app)  # the packets screen under the toasts: no raw text
            await pilot.press("escape")
            await pilot.pause()
            assert app.is_running
        finally:
            app.native_output.release()

    run_app(make_app([day], cache), scenario)
    assert "panicked" not in capfd.readouterr().err


def test_the_app_draws_through_the_capturing_driver_on_linux():
    from textual.drivers.linux_driver import LinuxDriver

    from scantui.tui.app import ScantuiApp
    from scantui.tui.native_stderr import CapturingDriver
    from scantui.tui.state import LoadRequest

    driver = ScantuiApp(LoadRequest(("x",))).get_driver_class()
    assert driver is CapturingDriver and issubclass(driver, LinuxDriver)


PTY_APP = """
import os, sys
from scantui.tui.app import ScantuiApp
from scantui.tui.state import LoadRequest

before = os.fstat(2).st_ino

class App(ScantuiApp):
    def on_mount(self):
        super().on_mount()
        self.set_timer(0.5, lambda: os.write(2, b"\\x1b]0;pwned\\x07\\x1b[2JRAWNATIVE\\n"))
        self.set_timer(0.5, self.check)

    def check(self):
        if not self.native_output.lines:
            self.set_timer(0.1, self.check)
            return
        self.seen = os.fstat(2).st_ino != before
        self.set_timer(0.3, self.exit)  # the toast drawn first

app = App(LoadRequest(("x",)), autoload=False)
app.run()
os.write(2, b"fd 2 after the app: " + (b"the terminal" if os.fstat(2).st_ino == before else b"elsewhere") + b"\\n")
os.write(2, b"captured while running: " + repr([app.seen, list(app.native_output.lines)]).encode() + b"\\n")
"""


def _run_on_a_terminal(script: str, cwd, *, on_output=None) -> tuple[int, bytes]:
    """Run *script* on a real pseudo-terminal (80x24); its return code and all it wrote there.
    *on_output(proc, output)* is called after each read. Killed after a minute."""
    import fcntl
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time
    from pathlib import Path

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=slave, stdout=slave, stderr=slave, env=env,
                            cwd=cwd, start_new_session=True)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 60
    try:
        while True:
            if not select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0]:
                proc.kill()  # hung: what it wrote so far is the failure's evidence
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child's side is closed
                break
            if not chunk:
                break
            output += chunk
            if on_output is not None:
                on_output(proc, output)
    finally:
        os.close(master)
        proc.wait(timeout=60)
    return proc.returncode, output


def test_the_real_driver_captures_fd_2_on_a_terminal_and_gives_it_back(tmp_path):
    """A real pseudo-terminal, Textual's Linux driver (CapturingDriver): the raw write never reaches the terminal
    (no OSC title, no clear), the App saw it, and fd 2 is the terminal again once the App is gone."""
    returncode, output = _run_on_a_terminal(PTY_APP, tmp_path)
    assert returncode == 0, output[-2000:]
    assert b"\x1b]0;pwned" not in output and b"\x1b[2JRAWNATIVE" not in output  # never raw on the terminal
    assert b"fd 2 after the app: the terminal" in output
    assert b"captured while running: [True, ['\\x1b]0;pwned\\x07\\x1b[2JRAWNATIVE']]" in output, output[-500:]


PTY_SUSPEND_APP = """
import os, signal
from scantui.tui.app import ScantuiApp
from scantui.tui.state import LoadRequest

class App(ScantuiApp):
    def on_mount(self):
        super().on_mount()
        self.app_resume_signal.subscribe(self, self.resumed)
        self.set_timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTSTP))  # as a shell's ctrl-z

    def resumed(self, _app):
        self.set_timer(0.5, self.note)

    def note(self):
        os.write(2, b"\\x1b]0;pwned\\x07RAWAFTERRESUME\\n")  # captured again after the resume
        self.set_timer(0.5, self.exit)

app = App(LoadRequest(("x",)), autoload=False)
app.run()
os.write(2, b"captured after the resume: " + repr(list(app.native_output.lines)).encode() + b"\\n")
"""


def test_after_a_suspend_and_a_resume_the_real_driver_draws_again(tmp_path):
    """SIGTSTP (a shell's ctrl-z) suspends the App (the driver leaves application mode and is closed), SIGCONT (fg)
    resumes it: the driver must draw on the terminal again (the alternate screen, the toast of what native code
    wrote after the resume) and capture fd 2 again."""
    import signal
    import time

    stopped_at: list[int] = []

    def resume_once_stopped(proc, output):
        if stopped_at or output.count(b"\x1b[?1049l") < 1:  # the App has not left the alternate screen yet
            return
        for _ in range(200):
            with open(f"/proc/{proc.pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "T":
                    break
            time.sleep(0.05)
        stopped_at.append(len(output))
        os.kill(proc.pid, signal.SIGCONT)

    returncode, output = _run_on_a_terminal(PTY_SUSPEND_APP, tmp_path, on_output=resume_once_stopped)
    assert returncode == 0, output[-2000:]
    assert stopped_at, output[-2000:]
    after = output[stopped_at[0]:]
    assert b"\x1b[?1049h" in after and b"native error output" in after, after[-2000:]  # drawn again: the toast
    assert b"\x1b]0;pwned" not in output  # never raw on the terminal
    assert b"captured after the resume: ['\\x1b]0;pwned\\x07RAWAFTERRESUME']" in output, output[-500:]
