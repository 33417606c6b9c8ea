"""The console script sets polars' jemalloc options (one arena per CPU) before polars loads, unless
the user set them (``scantui.cli.allocator``; measured in benchmarks/RESULTS.md, "Session 9")."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from scantui.cli import allocator

SRC = str(Path(allocator.__file__).resolve().parents[2])
#: The CLI's entry point in a fresh interpreter, then what the process' environment holds and whether polars loaded.
PROBE = ("import os, sys\nfrom scantui.cli.main import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
         "print(os.environ.get('_RJEM_MALLOC_CONF'), 'polars' in sys.modules)")


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != allocator.CONF_VAR}
    done = subprocess.run([sys.executable, "-c", PROBE], env={**clean, "PYTHONPATH": SRC, **env},
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_the_console_script_sets_one_arena_per_cpu_before_polars_loads():
    assert _probe() == f"narenas:{os.cpu_count()} False"


def test_a_setting_of_the_user_is_kept():
    assert _probe(_RJEM_MALLOC_CONF="dirty_decay_ms:500") == "dirty_decay_ms:500 False"


def test_nothing_is_set_once_polars_is_loaded(monkeypatch):
    importlib.import_module("polars")  # loaded: its jemalloc has read its options already
    monkeypatch.delenv(allocator.CONF_VAR, raising=False)
    assert allocator.settle() is None and allocator.CONF_VAR not in os.environ
