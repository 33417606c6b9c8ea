"""Running the ``scantui`` command in-process for tests: exit code, stdout, stderr."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
from pathlib import Path

import pytest

from scantui.cli.main import main

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
SAMPLE = str(SAMPLE_DIR / "telescope.parquet")


def run(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return done.value.code, out, err


def run_captured(argv, **env: str) -> subprocess.CompletedProcess:
    """The command in-process with *env* set (and no ``COLUMNS``), as a subprocess would report it: exit code,
    stdout, stderr (an exception escaping it fails the test, where a subprocess would print a traceback). For a
    test that needs no process of its own: a Python start costs ~0.6 CPU s, more than a small input's command."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("COLUMNS", raising=False)
        with pytest.raises(SystemExit) as done:
            main(list(argv))
    return subprocess.CompletedProcess(list(argv), done.value.code, out.getvalue(), err.getvalue())


def left_out(err: str, command: str, width: int) -> list[str]:
    """The columns named by the one stderr line saying which the table left out (none: no such line)."""
    said = [line for line in err.splitlines() if " left out to fit " in line]
    if not said:
        return []
    assert len(said) == 1, err
    head, names, tail = re.fullmatch(r"(.*?) \((.*)\): (.*)", said[0]).groups()
    names = names.split(", ")
    assert head == f"{command}: {len(names)} column{'s' if len(names) > 1 else ''} left out to fit {width} columns"
    assert tail == "--json/--csv or a wider COLUMNS shows them"
    return names

