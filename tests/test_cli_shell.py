"""``scantui`` as a shell user drives it: options before or after the paths, a pipe closed early (``| head -1``),
stderr closed (``2>&-``), stdout closed (``>&-``).

The closed-pipe and closed-stderr tests run real processes; the option routing runs through click's runner and a
real process. None depends on the terminal's size (``COLUMNS`` is removed).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import scantui
from scantui.cli import output
from scantui.cli.main import cli
from clihelp import SAMPLE

SRC = str(Path(scantui.__file__).resolve().parents[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ---------------------------------------------------------------- options before the paths


@pytest.fixture
def opened(monkeypatch):
    """``run_tui`` replaced by a recorder: what ``open`` would have started the TUI with."""
    import scantui.tui.launch

    calls: list[tuple[list[str], dict]] = []

    def record(paths, **kwargs):
        calls.append((list(paths), kwargs))
        return 0

    monkeypatch.setattr(scantui.tui.launch, "run_tui", record)
    return calls


@pytest.mark.parametrize("args", [
    ["--labels", "L.yaml", "--follow", "--interval", "5", "--telescope", "198.18.0.0/16", "A", "B"],
    ["A", "B", "--labels", "L.yaml", "--follow", "--interval", "5", "--telescope", "198.18.0.0/16"],
    ["--labels", "L.yaml", "A", "--follow", "B", "--interval=5", "--telescope", "198.18.0.0/16"],
    ["--follow", "--labels=L.yaml", "--interval", "5", "--telescope=198.18.0.0/16", "--", "A", "B"],
])
def test_options_of_open_before_or_after_the_paths(opened, args):
    done = CliRunner().invoke(cli, args, prog_name="scantui")
    assert done.exit_code == 0, done.output
    assert len(opened) == 1
    paths, kw = opened[0]
    assert paths == ["A", "B"]
    assert (kw["labels_path"], kw["follow"], kw["follow_interval"], kw["telescope_cidrs_text"]) == \
        ("L.yaml", True, 5.0, "198.18.0.0/16")


def test_a_path_named_like_an_option_after_double_dash(opened, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(cli, ["--follow", "--", "--odd-name"], prog_name="scantui")
    assert done.exit_code == 0, done.output
    assert opened[0][0] == ["--odd-name"]


def test_the_groups_own_options_and_commands_are_untouched(opened):
    runner = CliRunner()
    helped = runner.invoke(cli, ["--help"], prog_name="scantui")
    assert helped.exit_code == 0 and helped.output.startswith("Usage: scantui [OPTIONS] COMMAND")
    assert runner.invoke(cli, ["-h"], prog_name="scantui").output == helped.output
    version = runner.invoke(cli, ["--version"], prog_name="scantui")
    assert version.exit_code == 0 and version.output == f"scantui, version {scantui.__version__}\n"
    sub = runner.invoke(cli, ["labels", "--help"], prog_name="scantui")
    assert sub.exit_code == 0 and sub.output.startswith("Usage: scantui labels")
    open_help = runner.invoke(cli, ["--labels", "L.yaml", "--help"], prog_name="scantui")  # open's options, since one was given
    assert open_help.exit_code == 0 and "--follow" in open_help.output
    assert opened == []


def test_unknown_option_and_mistyped_command(opened, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(cli, ["--no-such-option", "A"], prog_name="scantui")
    assert bad.exit_code == 2 and "No such option '--no-such-option'" in bad.output
    typo = runner.invoke(cli, ["scaners", "x"], prog_name="scantui")
    assert typo.exit_code == 2
    assert "'scaners' is neither a command nor a file or folder; did you mean 'scantui scanners'?" in typo.output
    assert opened == []
    Path("scaners").write_text("")  # a file of that name is a path: open is run on it
    assert runner.invoke(cli, ["scaners"], prog_name="scantui").exit_code == 0
    assert opened[0][0] == ["scaners"]


def test_a_file_named_like_a_command_is_said_when_the_command_lacks_its_paths(opened, tmp_path, monkeypatch):
    """``scantui scanners`` beside a file named scanners: the command runs (no paths: a usage error), and the
    error says how to open the file; ``./scanners`` and ``-- scanners`` open it."""
    monkeypatch.chdir(tmp_path)
    from clihelp import run_captured

    Path("scanners").write_text("")
    done = run_captured(["scanners"])
    assert done.returncode == 2
    assert done.stderr.endswith("(see 'scantui scanners --help'); to open the file 'scanners' here: "
                                "'scantui ./scanners'\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["./scanners"], prog_name="scantui").exit_code == 0
    assert runner.invoke(cli, ["--", "scanners"], prog_name="scantui").exit_code == 0
    assert [paths for paths, _ in opened] == [["./scanners"], ["scanners"]]
    Path("scanners").unlink()
    assert "to open the file" not in run_captured(["scanners"]).stderr


def test_options_before_the_paths_in_a_real_process(tmp_path):
    """The options are taken (the bad --window is what fails, before any TUI), and a typo is one clear line."""
    labels = tmp_path / "labels.yaml"
    done = subprocess.run([sys.executable, "-m", "scantui", "--labels", str(labels), "--window", "nonsense",
                           "--telescope", "198.18.0.0/16", SAMPLE], capture_output=True, env=_env(),
                          stdin=subprocess.DEVNULL, timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == b""
    err = done.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("scantui: error: --window: ") and "nonsense" in err
    typo = subprocess.run([sys.executable, "-m", "scantui", "scaners", SAMPLE], capture_output=True, env=_env(),
                          stdin=subprocess.DEVNULL, timeout=120, cwd=tmp_path)
    assert typo.returncode == 2 and typo.stdout == b""
    assert typo.stderr.decode() == ("scantui: error: 'scaners' is neither a command nor a file or folder; "
                                    "did you mean 'scantui scanners'? (see 'scantui --help')\n")


# ---------------------------------------------------------------- a closed pipe


class _ClosingStdout(io.TextIOWrapper):
    """stdout whose reader goes away after the first write: counts what it was offered."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8")
        self.offered = 0
        self.writes = 0
        self._raw = self
        self._bin = _Counting(self)

    @property
    def buffer(self):  # noqa: D401 - the binary layer write_out writes to
        return self._bin


class _Counting:
    def __init__(self, owner: _ClosingStdout) -> None:
        self.owner = owner

    def write(self, data) -> int:
        self.owner.writes += 1
        self.owner.offered += len(data)
        if self.owner.writes > 1:
            raise BrokenPipeError(32, "Broken pipe")
        return len(data)

    def flush(self) -> None:
        pass


ROWS = [{"src": f"192.0.2.{i % 256}", "port": i, "note": "x" * (i % 40)} for i in range(807)]
PIECE = 100  # rows a piece in these tests (CHUNK_ROWS), so that the table has 9 pieces



@pytest.mark.parametrize("printer", [
    lambda: output.print_table("t", ["src", "port", "note"], [list(r.values()) for r in ROWS]),
    lambda: output.print_csv(ROWS, ["src", "port", "note"]),
    lambda: output.print_json(ROWS),
    lambda: output.print_jsonl(ROWS),
])
def test_every_printer_stops_at_the_first_write_after_the_reader_left(monkeypatch, printer):
    """Pieces of CHUNK_ROWS rows: after the reader left, the next piece fails and nothing more is rendered."""
    monkeypatch.setattr(output, "CHUNK_ROWS", PIECE)
    full = io.StringIO()
    monkeypatch.setattr(sys, "stdout", full)
    printer()
    total = len(full.getvalue().encode())
    closing = _ClosingStdout()
    monkeypatch.setattr(sys, "stdout", closing)
    with pytest.raises(BrokenPipeError):
        printer()
    assert closing.writes == 2
    assert closing.offered < total / 3


def test_pieces_are_the_whole_output(monkeypatch):
    """The bytes written in pieces are those of one json.dumps / one table (compared to a single piece)."""
    monkeypatch.setattr(output, "CHUNK_ROWS", PIECE)
    pieces = io.StringIO()
    monkeypatch.setattr(sys, "stdout", pieces)
    output.print_json(ROWS)
    assert json.loads(pieces.getvalue()) == ROWS
    assert pieces.getvalue() == json.dumps(ROWS, ensure_ascii=False) + "\n"
    table = io.StringIO()
    monkeypatch.setattr(sys, "stdout", table)
    output.print_table("t", ["src", "port", "note"], [list(r.values()) for r in ROWS])
    monkeypatch.setattr(output, "CHUNK_ROWS", len(ROWS) + 1)
    whole = io.StringIO()
    monkeypatch.setattr(sys, "stdout", whole)
    output.print_table("t", ["src", "port", "note"], [list(r.values()) for r in ROWS])
    assert table.getvalue() == whole.getvalue()
    lines = table.getvalue().splitlines()
    assert len(lines) == 1 + 4 + len(ROWS) and len({len(line) for line in lines[1:]}) == 1


@pytest.mark.parametrize(("args", "first_line"), [
    (["packets", SAMPLE, "--limit", "9000"], b"packets: 9,000\n"),
    (["packets", SAMPLE, "--limit", "9000", "--csv"], b"ts,src,dst,proto,sport,dport,"),
    (["packets", "--json", "--limit", "9000", SAMPLE], b'[{"ts": '),
    (["scanners", SAMPLE, "--jsonl"], b'{"src": '),
    (["scanners", SAMPLE], b"scanners"),
    (["info", SAMPLE], b"scantui info\n"),
])
def test_a_pipe_closed_after_the_first_line_ends_quietly_with_status_0(args, first_line):
    """``scantui ... | head -1``: no traceback, no error line, exit 0 (the pieces that stop it: the test above)."""
    proc = subprocess.Popen([sys.executable, "-m", "scantui", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env())
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0
    assert first.startswith(first_line)
    # a short output may be written whole before the reader leaves: its "showing 50 of ..." line and the note of the
    # columns left out to fit ("scanners: 13 columns left out ...") are then said
    said = ("scantui: note: ", "showing ", f"{args[0]}: ")
    assert [line for line in err.splitlines() if not line.startswith(said)] == []


# ---------------------------------------------------------------- stderr closed


@pytest.mark.parametrize(("args", "code"), [
    (["info", SAMPLE], 0),
    (["scanners", SAMPLE, "--csv"], 0),
    (["info", "/no/such/file.parquet"], 2),
    (["scanners", SAMPLE, "--since", "not-a-day"], 2),
])
def test_a_closed_stderr_changes_nothing_but_where_messages_go(args, code):
    """``scantui ... 2>&-``: the command does its work, its output is the same, its status the usual one."""
    closed = subprocess.run([sys.executable, "-m", "scantui", *args], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=_env(), timeout=300, preexec_fn=lambda: os.close(2))
    open_ = subprocess.run([sys.executable, "-m", "scantui", *args], capture_output=True,
                           stdin=subprocess.DEVNULL, env=_env(), timeout=300)
    assert (closed.returncode, open_.returncode) == (code, code)
    assert closed.stdout == open_.stdout
    if code == 2:
        assert open_.stderr.startswith(b"scantui: error: ")


def test_a_closed_stderr_through_a_shell(tmp_path):
    script = f'"{sys.executable}" -m scantui info "{SAMPLE}" --json 2>&- > out.json; echo "rc=$?"'
    done = subprocess.run(["sh", "-c", script], capture_output=True, env=_env(), cwd=tmp_path, timeout=300)
    assert done.stdout.decode() == "rc=0\n" and done.stderr == b""
    assert json.loads((tmp_path / "out.json").read_text())["packets"] > 0


# ---------------------------------------------------------------- stdout closed


@pytest.mark.parametrize("args", [
    ["info", SAMPLE],
    ["scanners", SAMPLE, "--csv"],
    ["scanners", "--json", SAMPLE],
    ["--help"],
    ["--version"],
])
def test_a_closed_stdout_is_one_error_line_and_status_2(args):
    """``scantui ... >&-``: said in one line, exit 2, as ``ls >&-`` (was a traceback: ``sys.stdout`` is None)."""
    done = subprocess.run([sys.executable, "-m", "scantui", *args], stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, env=_env(), timeout=300, preexec_fn=lambda: os.close(1))
    assert done.returncode == 2
    assert done.stderr.decode().splitlines()[-1:] == ["scantui: error: <stdout>: cannot write: stdout is closed"]
    assert "Traceback" not in done.stderr.decode()


def test_a_closed_stdout_through_a_shell_when_the_output_is_a_file(tmp_path):
    """``packets -o OUT >&-`` writes nothing to stdout: it works, and the capture is not disturbed."""
    script = (f'"{sys.executable}" -m scantui packets "{SAMPLE}" --port 23 -o out.pcap >&-; echo "rc=$?" >&2; '
              f'"{sys.executable}" -m scantui packets "{SAMPLE}" --port 23 -o again.pcap')
    done = subprocess.run(["sh", "-c", script], capture_output=True, env=_env(), cwd=tmp_path, timeout=300)
    assert "rc=0" in done.stderr.decode().splitlines()
    assert (tmp_path / "out.pcap").read_bytes() == (tmp_path / "again.pcap").read_bytes()


# ---------------------------------------------------------------- the TUI without a terminal


def test_the_tui_without_a_terminal_is_one_error_line_not_a_spinning_app(tmp_path):
    # cron, '< /dev/null': Textual's terminal driver would read end-of-file from stdin forever
    done = subprocess.run([sys.executable, "-m", "scantui", str(SAMPLE), "--labels", str(tmp_path / "l.yaml")],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("scantui: error: the TUI needs a terminal: standard input")
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
    assert not (tmp_path / "l.yaml").exists()


# ---------------------------------------------------------------- whole outputs made a piece at a time


def _invoke_into(stdout, monkeypatch, args) -> None:
    monkeypatch.setattr(sys, "stdout", stdout)
    with cli.make_context("scantui", args) as ctx:
        cli.invoke(ctx)


@pytest.mark.parametrize("fmt", ["--json", "--csv"])
def test_packets_json_and_csv_stop_converting_when_the_reader_left(monkeypatch, tmp_path, sample_cache, fmt):
    """``packets --json | head -c 100``: the rows after the first pieces are never made (they were all made
    into dicts before the first byte); the whole output is the same bytes as json.dumps / csv of every row."""
    from scantui.analysis import packets

    # the session's cache (sample_cache): the sample's rollup built once, not once a test
    monkeypatch.setattr(output, "CHUNK_ROWS", PIECE)
    made = []
    display = packets.display_frame
    monkeypatch.setattr(packets, "display_frame", lambda df: made.append(df.height) or display(df))
    args = ["packets", SAMPLE, "--limit", "5000", fmt]
    whole = io.StringIO()
    _invoke_into(whole, monkeypatch, args)
    assert sum(made) == 5000 and len(made) > 3
    written = tmp_path / "packets.parquet"  # the same packets through -o (no printer): the reference rows
    _invoke_into(io.StringIO(), monkeypatch, ["packets", SAMPLE, "--limit", "5000", "-o", str(written)])
    rows = display(pl.read_parquet(written)).to_dicts()
    if fmt == "--json":
        assert whole.getvalue() == output.json_text(rows) + "\n"
    else:
        reference = io.StringIO()
        monkeypatch.setattr(sys, "stdout", reference)
        output.print_csv(rows, list(rows[0]))
        assert whole.getvalue() == reference.getvalue()
    made.clear()
    closing = _ClosingStdout()
    with pytest.raises(BrokenPipeError):
        _invoke_into(closing, monkeypatch, args)
    assert closing.writes == 2 and sum(made) <= 3 * PIECE


@pytest.mark.parametrize("fmt", ["--json", "--jsonl", "--csv"])
def test_scanners_lists_stop_encoding_when_the_reader_left(monkeypatch, sample_cache, fmt):
    from scantui.analysis import scanners_text

    # the session's cache (sample_cache): the sample's rollup built once, not once a test
    monkeypatch.setattr(output, "CHUNK_ROWS", 20)
    encoded = []
    texts = scanners_text._texts  # each slice of rows' columns, encoded in one select

    def counted(df, mode, scanner):
        encoded.append(df.height)
        return texts(df, mode, scanner)

    monkeypatch.setattr(scanners_text, "_texts", counted)
    _invoke_into(io.StringIO(), monkeypatch, ["scanners", SAMPLE, fmt])
    assert sum(encoded) > 200 and len(encoded) > 3
    encoded.clear()
    closing = _ClosingStdout()
    with pytest.raises(BrokenPipeError):
        _invoke_into(closing, monkeypatch, ["scanners", SAMPLE, fmt])
    assert closing.writes == 2 and sum(encoded) <= 3 * 20
