"""The rollup built on Dask (``--workers``/``--scheduler``, issue 12 part 3): the same tables as the
local build, from scratch and incrementally, through the CLI too; a wrong scheduler is one line.

A real LocalCluster of 2 worker processes (a few seconds to start): the tests are few and small.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scantui.analysis import rollup_cache as rc
from scantui.analysis.runner import DaskRunner
from scantui.errors import InputError
from scantui.io.loader import open_inputs
from scantui.io.options import LoadOptions
from clihelp import run_captured
from test_rollup_days import DAY1, _built, _by_day, _data, _tables
from test_rollup_same_bytes import _day_inputs, _files

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def runner():
    dask = DaskRunner(workers=2)
    yield dask
    dask.close()


def _inputs(tmp_path: Path) -> list[Path]:
    """The first two days as one file (split by day on a worker), then one file per day (read in place)."""
    files = _by_day(_data(), tmp_path / "in")
    both = tmp_path / "in" / "first-two.parquet"
    pl.concat([pl.read_parquet(f) for f in files[:2]]).write_parquet(both)
    return [both, *files[2:]]


def _assert_same(mine: rc.RollupUpdate, theirs: rc.RollupUpdate) -> None:
    a, b = _tables(mine.rollup), _tables(theirs.rollup)
    assert a.keys() == b.keys()
    for name in a:
        assert_frame_equal(a[name], b[name])
    for field in ("key", "packets", "days", "first_ts", "last_ts", "rows", "enrichment_columns", "skipped", "files"):
        assert mine.rollup.meta[field] == theirs.rollup.meta[field], field


def test_a_dask_build_and_a_dask_update_equal_the_local_builds(tmp_path, runner):
    files = _inputs(tmp_path)
    local = rc.update_rollup(open_inputs(files), cache_dir=tmp_path / "local")
    dask = rc.update_rollup(open_inputs(files[:-1]), cache_dir=tmp_path / "dask", runner=runner)
    assert len(_built(dask, "day")) == 3 and len(_built(dask, "input")) == 2

    added = rc.update_rollup(open_inputs(files), cache_dir=tmp_path / "dask", runner=runner)
    last = files[-1].stem
    assert _built(added, "input") == [f"input {files[-1]}"] and _built(added, "day") == [f"day {last}"]
    assert _built(added, "tools") == [f"tools {DAY1}", f"tools {last}"]  # the session crossing days, redone
    _assert_same(added, local)
    assert added.rollup.port_day.select(pl.col("tool_unicorn").sum()).collect().item() == 351

    scratch = rc.update_rollup(open_inputs(files), cache_dir=tmp_path / "dask2", runner=runner)
    _assert_same(scratch, local)


def test_a_cancelled_dask_build_stops_between_tasks_and_keeps_no_rollup(tmp_path, runner):
    from scantui.workspace import Cancelled, Task, Workspace

    seen = []

    def listener(message, _fraction):
        seen.append(message)
        if message.startswith("rolling up"):  # after the first day state finished on a worker
            task.cancel()

    task = Task(listener)
    ws = Workspace.open([str(f) for f in _inputs(tmp_path)], cache_dir=tmp_path / "c", task=task, runner=runner)
    with pytest.raises(Cancelled):
        ws.rollup()
    assert not any("tool counts" in m or "source totals" in m for m in seen)
    assert not [p for p in (tmp_path / "c" / "rollups").iterdir() if not p.name.startswith(".")]


def test_an_error_in_a_task_is_the_same_error(tmp_path, runner):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 7)
    with pytest.raises(InputError) as local:
        rc.update_rollup(open_inputs([bad]), cache_dir=tmp_path / "local")
    with pytest.raises(InputError) as dask:
        rc.update_rollup(open_inputs([bad]), cache_dir=tmp_path / "dask", runner=runner)
    assert dask.value.message == local.value.message
    assert not [p for p in (tmp_path / "dask").rglob("*") if p.is_file()]  # nothing half-written


def test_the_workers_leave_ctrl_c_to_the_front_end(runner):
    """A ctrl-c reaches the whole foreground process group: a worker that took it printed its KeyboardInterrupt
    traceback below the CLI's one error line. The workers ignore SIGINT; the front end closes the cluster."""
    import signal

    assert runner.map(lambda _: str(signal.getsignal(signal.SIGINT)), [0, 1]) == [str(signal.SIG_IGN)] * 2


def _scantui(*args: str, cache: Path, code: int = 0, here: bool = False) -> subprocess.CompletedProcess:
    """The command in a process of its own, or *here* (in-process: a run without Dask needs no process)."""
    if here:
        proc = run_captured(args, SCANTUI_CACHE_DIR=str(cache))
        assert proc.returncode == code, proc.stderr
        return proc
    env = {**os.environ, "PYTHONPATH": SRC, "SCANTUI_CACHE_DIR": str(cache)}
    env.pop("COLUMNS", None)
    proc = subprocess.run([sys.executable, "-m", "scantui", *args], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == code, proc.stderr
    return proc


def test_the_commands_with_workers_print_what_the_local_build_prints(tmp_path):
    files = [str(f) for f in _inputs(tmp_path)]
    local = _scantui("rollup", *files, cache=tmp_path / "local", here=True)
    dask = _scantui("rollup", *files, "--workers", "2", cache=tmp_path / "dask")
    assert Path(dask.stdout.strip()).name == Path(local.stdout.strip()).name  # the same key
    assert dask.stderr.splitlines()[-1] == local.stderr.splitlines()[-1]  # built 2 inputs and 4 days...
    a, b = rc.load_rollup(local.stdout.strip()), rc.load_rollup(dask.stdout.strip())
    for table in ("port_day", "src_totals", "src_profile", "day_totals"):
        assert_frame_equal(getattr(a, table).collect(), getattr(b, table).collect())

    scanners_local = _scantui("scanners", *files, "--json", cache=tmp_path / "local", here=True)
    scanners_dask = _scantui("scanners", *files, "--json", "--workers", "2", cache=tmp_path / "dask-scanners")
    assert scanners_dask.stdout == scanners_local.stdout and json.loads(scanners_dask.stdout)
    info_local = _scantui("info", *files, "--json", cache=tmp_path / "local", here=True)
    info_dask = _scantui("info", *files, "--json", "--workers", "2", cache=tmp_path / "dask-info")
    assert info_dask.stdout == info_local.stdout and json.loads(info_dask.stdout)["packets"]
    assert list((tmp_path / "dask-info" / "rollups").iterdir())  # info built its rollup on the cluster


def test_a_wrong_scheduler_is_one_line_and_a_plain_run_imports_no_dask(tmp_path):
    files = [str(f) for f in _inputs(tmp_path)]
    for address in ("tcp://127.0.0.1:1", "no-port-here"):
        proc = _scantui("scanners", *files, "--scheduler", address, cache=tmp_path / "c", code=2)
        assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
        assert proc.stderr.startswith(f"scantui: error: {address}: cannot reach the Dask scheduler")
        assert ("connection refused" in proc.stderr) == (address == "tcp://127.0.0.1:1")  # at once, not after 5 s of retries
    assert not (tmp_path / "c").exists()  # failed before any data was read

    script = ("import sys\nfrom scantui.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    env = {**os.environ, "PYTHONPATH": SRC, "SCANTUI_CACHE_DIR": str(tmp_path / "plain")}
    proc = subprocess.run([sys.executable, "-c", script, "rollup", *files], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.stdout.splitlines()[-1] == "[]", proc.stderr
    assert (tmp_path / "plain" / "rollups").is_dir()


def test_an_existing_scheduler_and_the_tui_state_build_the_same_rollup(tmp_path, runner):
    from scantui.tui.state import DataState, LoadRequest

    files = [str(f) for f in _inputs(tmp_path)]
    local = _scantui("scanners", *files, "--json", cache=tmp_path / "local", here=True)
    address = runner.client().scheduler.address  # the fixture's cluster, as a `dask scheduler` would be
    remote = _scantui("scanners", *files, "--json", "--scheduler", address, cache=tmp_path / "remote")
    assert remote.stdout == local.stdout
    assert "built" not in _scantui("rollup", *files, cache=tmp_path / "remote", here=True).stderr  # the same rollup: reused

    state = DataState(LoadRequest(paths=tuple(files), cache_dir=tmp_path / "tui", runner=runner))  # scantui PATH --workers
    state.open_inputs()
    assert state.workspace.runner is runner
    assert state.open_rollup().path.name == rc.load_rollup(_scantui("rollup", *files, cache=tmp_path / "local", here=True)
                                                           .stdout.strip()).path.name


_TUI_WITH_WORKERS = r"""
import json, sys
from scantui.analysis.runner import make_runner
from scantui.tui.launch import run_tui

seen = {}

async def drive(pilot):
    app = pilot.app
    for _ in range(1200):  # up to 2 minutes on a loaded machine
        await pilot.pause(0.1)
        if app.failures or (app.overview is not None and not app.workers_busy()):
            break
    seen["failures"] = [f[:2] for f in app.failures]
    seen["packets"] = None if app.overview is None else app.overview.packets
    app.exit(0)

runner = make_runner(2, None)  # as `scantui PATH --workers 2`
code = run_tui(sys.argv[1:], cache_dir=sys.argv[1] + ".cache", runner=runner, auto_pilot=drive)
runner.close()
print(json.dumps({**seen, "code": code}))
"""


def test_the_tui_with_workers_builds_on_its_cluster(tmp_path):
    """``scantui PATH --workers 2``: the LocalCluster is started before the App takes the terminal (once
    Textual holds sys.stderr, multiprocessing cannot start processes: "Nanny failed to start")."""
    files = [str(f) for f in _inputs(tmp_path)]
    env = {**os.environ, "PYTHONPATH": SRC}
    env.pop("COLUMNS", None)
    proc = subprocess.run([sys.executable, "-c", _TUI_WITH_WORKERS, *files], capture_output=True, text=True, env=env,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["failures"] == [] and seen["code"] == 0
    assert seen["packets"] == sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)
    assert list(Path(files[0] + ".cache", "rollups").iterdir())  # built there, on the cluster


def test_workers_without_dask_installed_is_one_line_saying_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as in a venv without scantui[scale]: import fails
    files = [str(f) for f in _inputs(tmp_path)]
    proc = run_captured(["rollup", *files, "--workers", "2"], SCANTUI_CACHE_DIR=str(tmp_path / "c"))
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.splitlines()[-1] == "scantui: error: --workers and --scheduler need Dask: pip install 'scantui[scale]'"
    assert not list((tmp_path / "c" / "rollups").glob("*"))  # nothing cached


def test_a_dask_build_of_a_day_of_several_inputs_is_the_local_builds_bytes(tmp_path, runner):
    """Every file of the cache, as a local build writes it (the day states' tables are sorted on their keys)."""
    inputs = _day_inputs(tmp_path / "in")
    opts = LoadOptions(year=2024)
    rc.update_rollup(open_inputs(inputs, opts), cache_dir=tmp_path / "local")
    rc.update_rollup(open_inputs(inputs, opts), cache_dir=tmp_path / "dask", runner=runner)
    local, dask = _files(tmp_path / "local"), _files(tmp_path / "dask")
    assert any("port_day_by_port/day=" in name for name in local)
    assert sorted(name for name in local.keys() | dask.keys() if local.get(name) != dask.get(name)) == []


def test_a_dask_update_through_a_stepping_stone_equals_the_local_build(tmp_path, runner):
    """Daily files cut at 23:00 UTC (each changes the newest day and adds the next): on the cluster each update makes
    the stone of the days before the newest, extending the one before, then extends it; the same tables as a local
    build from scratch."""
    import datetime as dt

    from test_rollup_days import _recurring
    from test_rollup_stepping_stone import T0, _cut, _merges

    files = _cut(_recurring(4).sort("ts"), tmp_path / "in", [T0 - dt.timedelta(hours=1) + dt.timedelta(days=k) for k in range(5)])
    rc.update_rollup(open_inputs(files[:3]), cache_dir=tmp_path / "dask", runner=runner)
    added = rc.update_rollup(open_inputs(files), cache_dir=tmp_path / "dask", runner=runner)
    assert [m.split(" (")[0] for m in _merges(added)] == ["the 3 days before the newest", "rollup of 4 days"]
    assert all("(extending " in m for m in _merges(added))
    _assert_same(added, rc.update_rollup(open_inputs(files), cache_dir=tmp_path / "local"))
