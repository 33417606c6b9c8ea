"""Running the ``scantui`` command in-process for tests: exit code, stdout, stderr."""

from __future__ import annotations

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
