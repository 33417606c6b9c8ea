"""fd 2 through a pipe (scantui.io.native_stderr): what native code writes there reaches a sink, and the CLI's
sink (PanicFilter) passes everything on at once except Rust's panic blocks, which it holds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scantui.io.native_stderr import PanicFilter

ROOT = Path(__file__).resolve().parents[1]

# as Rust 1.89's default hook writes them (the note comes with a process's first panic only)
FIRST = (b"\nthread 'tokio-rt-worker' (8897) panicked at crates/polars-io/src/utils/byte_source.rs:585:9:\n"
         b"assertion failed: range.end as u64 <= self.size\n"
         b"note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n")
SECOND = (b"\nthread 'async-executor-0' (8901) panicked at crates/polars-stream/src/nodes/io_sources/parquet/mod.rs:432:30:\n"
          b"called `Result::unwrap()` on an `Err` value: JoinError::Panic(Id(12), \"\\x1b]0;evil\", ...)\n")


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)

    def written() -> bytes:
        try:
            return os.read(read_fd, 1 << 20)
        except BlockingIOError:
            return b""

    yield write_fd, written
    os.close(read_fd)
    os.close(write_fd)


def test_other_text_goes_on_at_once_even_without_its_line_end(pipe):
    out, written = pipe
    panics = PanicFilter(out)
    panics.write(b"reading 10%\r")
    assert written() == b"reading 10%\r"  # a progress line rewritten in place: not held for a newline
    panics.write(b"reading 20%\rwarning from libfoo\n")
    assert written() == b"reading 20%\rwarning from libfoo\n"
    panics.write(b"a line that mentions thread 'x' but is no panic\n")
    assert written() == b"a line that mentions thread 'x' but is no panic\n"


def test_panic_blocks_are_held_then_dropped_or_written_out(pipe):
    out, written = pipe
    for drop in (True, False):
        panics = PanicFilter(out)
        panics.write(b"before\n" + FIRST[:30])  # a header cut across two reads
        assert written() == b"before\n"
        panics.write(FIRST[30:] + b"between\n")  # ended by its note: what follows goes on
        assert written() == b"between\n"
        panics.write(SECOND)
        panics.idle()  # the burst is over: the second block (no note) ends here
        panics.write(b"after\n")
        assert written() == b"after\n"
        assert panics.held == [FIRST, SECOND]
        panics.finish(drop_panics=drop)
        assert written() == (b"" if drop else FIRST + SECOND)
        panics.write(SECOND + b"late\n")  # another thread's panic after the command's end
        panics.idle()
        assert written() == (b"" if drop else b"") and panics.held == ([] if drop else [SECOND + b"late\n"])


def test_fd_2_reaches_the_sink_while_pushed_and_is_the_same_file_again_after(tmp_path):
    """In a process of its own: fd 2 is the test runner's otherwise."""
    script = textwrap.dedent("""
        import os, sys
        from scantui.io import native_stderr
        class Sink:
            def __init__(self): self.data, self.bursts = b"", 0
            def write(self, data): self.data += data
            def idle(self): self.bursts += 1
        before = os.fstat(2).st_ino
        sink = Sink()
        native_stderr.push(sink)
        assert os.fstat(2).st_ino != before and native_stderr.redirected()
        os.write(2, b"\\x1b[2Jfrom C\\n")
        native_stderr.pop(sink)
        assert os.fstat(2).st_ino == before and not native_stderr.redirected()
        os.write(2, b"straight to the file\\n")
        print(repr(sink.data), sink.bursts)
    """)
    err = tmp_path / "err"
    with err.open("wb") as stderr:
        proc = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=stderr, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=60)
    assert proc.returncode == 0, err.read_text()
    assert proc.stdout == "b'\\x1b[2Jfrom C\\n' 1\n"  # all of it, before pop returned; one burst
    assert err.read_bytes() == b"straight to the file\n"


def test_the_cli_passes_native_text_on_and_keeps_python_stderr_a_terminal_stream(tmp_path):
    """A command's native writes that are no panic reach stderr beside Python's own lines (not necessarily in
    the order written: Python's go to the terminal directly, native ones through the filter's thread); a panic
    block is written out when the command does not end in an input's error line (nothing is lost)."""
    script = textwrap.dedent("""
        import os, sys, click
        from scantui.cli import main as cli_main

        @click.command("native")
        def native():
            os.write(2, b"libfoo: warning\\n")
            print("python line", file=sys.stderr)
            os.write(2, %r)

        cli_main.cli.add_command(native)
        cli_main.main(["native"])
    """) % (FIRST,)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("SCANTUI_DEBUG", None)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.endswith(FIRST)  # held to the end
    assert sorted(proc.stderr[:-len(FIRST)].splitlines()) == [b"libfoo: warning", b"python line"]


def test_with_scantui_debug_the_cli_leaves_fd_2_alone():
    script = ("import os, sys\nfrom scantui.cli import main as cli_main\nimport click\n"
              "@click.command('native')\ndef native():\n    os.write(2, %r)\n"
              "    print(os.fstat(2).st_ino == os.fstat(sys.stderr.fileno()).st_ino and sys.stderr is sys.__stderr__)\n"
              "cli_main.cli.add_command(native)\ncli_main.main(['native'])\n") % (FIRST,)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SCANTUI_DEBUG": "1"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"True\n", FIRST)


def test_pop_ends_the_reader_once_the_pipe_is_empty_though_a_child_process_still_holds_fd_2(tmp_path):
    """A child started while fd 2 is the pipe (multiprocessing's resource tracker, a Dask worker) holds its write
    side for as long as it lives: pop must not wait for the pipe's end (it waited DRAIN_WAIT at every exit)."""
    script = textwrap.dedent("""
        import os, subprocess, sys
        from scantui.io import native_stderr
        class Sink:
            def __init__(self): self.data = b""
            def write(self, data): self.data += data
            def idle(self): pass
        sink = Sink()
        native_stderr.push(sink)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # fd 2: the pipe
        os.write(2, b"before pop\\n")
        reader = native_stderr._thread
        native_stderr.pop(sink)
        print(reader.is_alive(), repr(sink.data))
        child.kill()
        child.wait()
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "False b'before pop\\n'\n"
