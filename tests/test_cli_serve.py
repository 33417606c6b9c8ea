"""``scantui serve``: loopback unless --public (then a warning on stderr), bad options as one line and exit 2
(a port in use says so), and each browser session's command: the real ``scantui open`` on the same absolute
paths, the same labels file and the options given. The browser itself: tests/tui/test_tui_serve_browser.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from clihelp import SAMPLE, run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_error_line(err: str, *words: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("scantui: error: "), err
    for word in words:
        assert word in lines[0], (word, err)


def test_another_host_needs_public(capsys):
    code, out, err = run(["serve", SAMPLE, "--host", "0.0.0.0", "--port", str(free_port())], capsys)
    assert code == 2 and out == ""
    one_error_line(err, "--public", "no authentication")


def test_a_port_in_use_says_so(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run(["serve", SAMPLE, "--port", str(port)], capsys)
    assert code == 2
    one_error_line(err, f"port {port}", "in use", "--port")


@pytest.mark.parametrize("argv, words", [
    (["--port", "0"], ["--port"]),
    (["--port", "70000"], ["--port"]),
    (["--window", "sometimes"], ["--window"]),
    (["--telescope", "1.2.3.0/24", "--telescope-size", "256"], ["exclude each other"]),
    (["--host", "no-such-host.invalid", "--public"], ["--host"]),
    (["--public-url", "scans.example.org"], ["--public-url", "http"]),
])
def test_bad_options_are_one_line_and_exit_2(argv, words, capsys):
    code, out, err = run(["serve", SAMPLE, *argv], capsys)
    assert code == 2 and out == ""
    one_error_line(err, *words)


def test_missing_data_and_stdin_fail_before_serving(tmp_path, capsys):
    code, _, err = run(["serve", str(tmp_path / "nothing.parquet"), "--port", str(free_port())], capsys)
    assert code == 2
    one_error_line(err, "nothing.parquet", "no such file")
    code, _, err = run(["serve", "-", "--port", str(free_port())], capsys)
    assert code == 2
    one_error_line(err, "standard input")


def test_each_session_runs_scantui_open_on_the_same_files_and_options(tmp_path, monkeypatch):
    import click

    from scantui.cli.data_cmds import open_cmd
    from scantui.cli.serve_cmds import serve_cmd, session_command

    monkeypatch.chdir(tmp_path)
    ctx = serve_cmd.make_context("serve", ["data.parquet", "more/", "--labels", "team.yaml", "--window", "day",
                                           "--by", "asn", "--follow", "--interval", "2", "--sensor", "tokyo"])
    values = dict(ctx.params)
    argv = session_command(values.pop("paths"), values)
    assert argv[:4] == [sys.executable, "-m", "scantui", "open"]
    assert argv[argv.index("--labels") + 1] == str(tmp_path / "team.yaml")  # every session: one labels file
    assert argv[argv.index("--") + 1:] == [str(tmp_path / "data.parquet"), str(tmp_path / "more")]
    assert "--public" not in argv and "--port" not in argv
    opened = open_cmd.make_context("open", argv[4:])  # the TUI's own command takes it as it is
    assert opened.params["window"] == "day" and opened.params["by"] == "asn" and opened.params["follow"] is True
    assert opened.params["interval"] == 2.0 and opened.params["sensor"] == "tokyo"
    assert opened.params["labels_path"] == str(tmp_path / "team.yaml")
    assert isinstance(opened, click.Context)

    ctx = serve_cmd.make_context("serve", ["data.parquet"])
    values = dict(ctx.params)
    argv = session_command(values.pop("paths"), values)
    assert argv[4:] == ["--labels", str(tmp_path / "scantui-labels.yaml"), "--", str(tmp_path / "data.parquet")]


def test_a_file_name_is_one_argument_of_the_session_command(tmp_path):
    import json
    import shlex

    from scantui.cli.serve_cmds import serve_cmd, session_command, shell_command

    odd = tmp_path / "it's a \"scan\"; touch pwned $(touch pwned) `x`.parquet"
    ctx = serve_cmd.make_context("serve", [str(odd), "--labels", str(tmp_path / "a b.yaml")])
    values = dict(ctx.params)
    argv = session_command(values.pop("paths"), values)
    line = shell_command((str(odd),), values)
    # textual-serve runs the line through /bin/sh: here with a Python that prints the arguments it got
    head = shlex.join([sys.executable, "-m", "scantui"])
    assert line.startswith(head + " ")
    probe = shlex.join([sys.executable, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))"])
    got = subprocess.run(["sh", "-c", probe + line[len(head):]], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(got.stdout) == argv[3:]
    assert argv[-1] == str(odd) and argv[argv.index("--labels") + 1] == str(tmp_path / "a b.yaml")
    assert not (tmp_path / "pwned").exists()


def test_public_prints_a_warning_on_stderr_and_the_page_uses_the_public_url(tmp_path):
    import urllib.request

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an http_proxy
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "scantui", "serve", SAMPLE, "--host", "0.0.0.0", "--public",
                             "--port", str(port), "--public-url", "https://scans.example.test/"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env={**os.environ, "SCANTUI_CONFIG": str(tmp_path / "c.yaml")})
    try:
        first = proc.stderr.readline().decode()
        deadline = time.monotonic() + 30
        while True:  # and it serves: the page sends browsers to the public URL's websocket
            try:
                with direct.open(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                    page = resp.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "not serving"
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert first.startswith("scantui: warning: ") and "NO authentication" in first and f"0.0.0.0:{port}" in first
    assert "https://scans.example.test" in first
    assert 'data-session-websocket-url="wss://scans.example.test/ws"' in page


def test_every_command_summary_in_help_starts_with_a_capital(capsys):
    code, out, _err = run(["--help"], capsys)
    assert code == 0
    rows = out.split("Commands:", 1)[1].splitlines()
    summaries = {line.split()[0]: line.split(None, 1)[1] for line in rows if line.startswith("  ") and len(line.split()) > 1}
    assert "serve" in summaries and summaries["serve"].startswith("The TUI in a web browser")
    assert [name for name, text in summaries.items() if not text[0].isupper()] == []
