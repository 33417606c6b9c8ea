"""A polars panic outside the guarded reads (ingest, the rollup) is one line, never a traceback.

Polars panics (pyo3's ``PanicException``, a BaseException) when a Parquet file is cut after its footer was
read. Here a real file is cut after the rollup was read from its cache and the packets were opened from the
file itself (its day state pruned): ``scantui packets`` then queried it and died with a Rust backtrace and a
Python traceback, exit 1. Now: exit 2, one ``scantui: error: FILE: ...`` line naming the file that changed, and
nothing else on stderr (:mod:`scantui.io.native_stderr`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from scantui.errors import InputError
from scantui.io import read_panics

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def one_day() -> pl.DataFrame:
    return (pl.scan_parquet(ROOT / "sample_data" / "telescope.parquet")
            .filter(pl.col("ts").dt.date() == dt.date(2024, 2, 3)).head(3000).collect())


def _scantui(*args: str, cache: Path, cut: tuple[Path, int] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SCANTUI_CACHE_DIR": str(cache), "RUST_BACKTRACE": "1",
           "SHRINKRUN_AT": "scantui.analysis.packets:select_packets"}
    env.pop("COLUMNS", None)
    env.pop("SCANTUI_DEBUG", None)
    run = [str(ROOT / "tests" / "shrinkrun.py"), str(cut[0]), str(cut[1])] if cut else ["-m", "scantui"]
    return subprocess.run([sys.executable, *run, *args], capture_output=True, text=True, env=env, timeout=300)


def test_a_parquet_file_cut_after_it_was_opened_is_one_line_naming_it(tmp_path, one_day):
    path, cache = tmp_path / "day.parquet", tmp_path / "cache"
    one_day.write_parquet(path, row_group_size=500)
    assert _scantui("packets", str(path), cache=cache).returncode == 0  # the rollup, cached
    for state in (cache / "days" / "state").iterdir():  # pruned: the packets are read from the file itself
        shutil.rmtree(state)
    before = path.stat().st_size
    proc = _scantui("packets", str(path), cache=cache, cut=(path, before * 6 // 10))
    assert path.stat().st_size == before * 6 // 10  # the cut happened
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    # exactly the one line: Rust's panic text (several threads' "thread '...' panicked at ..." blocks, written
    # to fd 2 before and after the exception reached Python) was held by the CLI's fd 2 filter and dropped
    assert proc.stderr.splitlines() == [
        f"scantui: error: {path}: the file changed while it was read ({before:,} bytes when opened, "
        f"{before * 6 // 10:,} bytes now): nothing was written; read it again once it is complete"], proc.stderr[-3000:]
    assert proc.stdout == ""


def test_a_panic_with_no_changed_input_says_polars_first_line(tmp_path, one_day):
    """A file no data set opened (e.g. one read by path elsewhere): polars' innermost panic message."""
    import gc

    gc.collect()  # data sets of other tests, gone
    path = tmp_path / "f.parquet"
    one_day.write_parquet(path, row_group_size=500)
    lf = pl.scan_parquet(path)
    lf.collect_schema()  # its footer read
    os.truncate(path, path.stat().st_size * 6 // 10)
    with pytest.raises(read_panics.FAILURES) as caught:
        lf.collect()
    assert read_panics.is_panic(caught.value) and not isinstance(caught.value, Exception)
    err = read_panics.as_error(caught.value)
    assert isinstance(err, InputError)
    assert re.fullmatch(r"polars failed reading the data: [^\n\"\\]+", err.message), err.message
    assert "JoinError" not in err.message and "unwrap" not in err.message
    assert read_panics.as_error(KeyboardInterrupt()).__class__ is KeyboardInterrupt
    assert not issubclass(KeyboardInterrupt, read_panics.FAILURES) and not issubclass(SystemExit, read_panics.FAILURES)
