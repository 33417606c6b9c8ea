"""Shared fixtures: small canonical tables written to real files."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from canonical import make_canonical

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
MAX_WORKERS = 8  # past this, each worker's own session fixtures (the sample's rollup) cost more than they save


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto`` (pyproject's addopts): one pytest-xdist worker per usable core (the affinity mask, not the
    host's count) and one more, at most :data:`MAX_WORKERS`; none (a plain serial run) on one core and for
    ``--snapshot-update``, whose removal of unused snapshots syrupy does only without workers.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set, as in pytest-xdist."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").isdigit():
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    if config.getoption("update_snapshots", False):
        return 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    # one more than the cores: the TUI tests wait on their apps' workers and timers, others on child processes;
    # with one worker per core a quarter of 2 cores sat idle (2 workers: 728 s, 3 workers: 601 s, 1,127 CPU s)
    return 0 if usable < 2 else min(usable + 1, MAX_WORKERS)


#: Where the run's temporary folders go when the system's is on a disk: a memory file system (Linux's /dev/shm)
#: with at least this much free space (a whole run writes ~0.7 GB; each passed test's folder is removed as it ends).
MEMORY_TEMP, MEMORY_TEMP_FREE = Path("/dev/shm"), 4 << 30


def _temp_in_memory(config) -> None:
    """The tests' temporary folders (``tmp_path``, the rollup caches in them) on a memory file system: the rollups,
    day states and labels files the tests write are fsynced file by file (as scantui writes them anywhere), and a
    disk's fsync (~5 ms each here; ``test_layers_are_folded_back_after_max_deltas`` alone makes 4,600) only
    waits, while on tmpfs it returns at once. The same writes, renames and fsync calls run; only where the files
    live changes. Not where ``--basetemp``, ``TMPDIR`` or ``PYTEST_DEBUG_TEMPROOT`` says where they go, nor in an
    xdist worker (its folder is the controller's choice)."""
    if (config.option.basetemp or os.environ.get("PYTEST_XDIST_WORKER")
            or any(os.environ.get(name) for name in ("TMPDIR", "PYTEST_DEBUG_TEMPROOT"))):
        return
    try:
        stat = os.statvfs(MEMORY_TEMP)
    except OSError:
        return
    if stat.f_bavail * stat.f_frsize >= MEMORY_TEMP_FREE and os.access(MEMORY_TEMP, os.W_OK | os.X_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY_TEMP)  # (read by pytest when it first makes the run's folder)


def pytest_configure(config) -> None:
    _temp_in_memory(config)
    _compiled_once(config)


def _compiled_once(config) -> None:
    """Under ``PYTHONDONTWRITEBYTECODE`` (set on this box) no process writes bytecode, so each one compiled every
    module of ``src/scantui`` it imported from source: each xdist worker, and each ``scantui`` subprocess a
    test starts (``scanners --json`` on the sample, warm cache: 0.88 CPU s, 0.68 with bytecode). The first
    process (the xdist controller, or a serial run) compiles ``src`` and the tests' helper modules once into
    their ``__pycache__`` folders (ignored by git), as any run without that setting would (~0.6 CPU s; ~0.03
    when nothing changed); every later process reads them. Python checks each file's size and time before it
    uses its bytecode, and compiles a changed file anew."""
    if not sys.dont_write_bytecode or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    import compileall
    import re

    root = Path(__file__).resolve().parents[1]
    compileall.compile_dir(root / "src", quiet=1)
    # not the test modules: pytest compiles those itself, with their asserts rewritten (_rewritten_once)
    compileall.compile_dir(root / "tests", quiet=1, rx=re.compile(r"(^|/)(test_[^/]*|conftest)\.py$"))
    _rewritten_once(config, root / "tests")


def _rewritten_once(config, tests: Path) -> None:
    """The test modules with their asserts rewritten, written once into pytest's own cache files beside them
    (``__pycache__/*-pytest-*.pyc``, which any pytest run without ``PYTHONDONTWRITEBYTECODE`` writes and which
    pytest reads whatever that setting), instead of each xdist worker rewriting and compiling every module
    (~5 CPU s each on this box; 3 workers: 29 -> 15 CPU s to collect the suite). Done in one forked process
    per usable core, for the modules the run collects; a module whose cache file is current is left as it is, and pytest rewrites anew any module whose size or time changed since. Only where
    pytest rewrites asserts (not ``--assert=plain``) and its hook for passing asserts is off, as the workers'."""
    import multiprocessing

    try:
        from _pytest.assertion import rewrite
    except ImportError:  # (pytest's own module: without it the workers rewrite the tests themselves, as before)
        return
    if (config.getoption("assertmode") != "rewrite" or config.getini("enable_assertion_pass_hook")
            or not config.getoption("numprocesses", None)):  # (a serial run rewrites what it imports, once)
        return
    asked = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]
    stale = [fn for fn in sorted(tests.rglob("*.py")) if fn.name == "conftest.py" or fn.name.startswith("test_")
             and any(fn == path or path in fn.parents for path in asked)
             if rewrite._read_pyc(fn, rewrite.get_cache_dir(fn) / (fn.name[:-3] + rewrite.PYC_TAIL)) is None]

    def write(files: list[Path]) -> None:
        for fn in files:
            cache = rewrite.get_cache_dir(fn)
            part = cache / f"{fn.name[:-3]}{rewrite.PYC_TAIL}.{os.getpid()}"
            try:
                cache.mkdir(exist_ok=True)
                stat, code = rewrite._rewrite_test(fn, config)
                with open(part, "wb") as out:
                    rewrite._write_pyc_fp(out, stat, code)
                os.replace(part, cache / (fn.name[:-3] + rewrite.PYC_TAIL))  # (atomic: a reader sees all or nothing)
            except (OSError, SyntaxError, ValueError):  # (left to the worker importing it, which says what is wrong)
                continue

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if len(stale) < 8 or usable < 2 or "fork" not in multiprocessing.get_all_start_methods():
        write(stale)
        return
    forks = [multiprocessing.get_context("fork").Process(target=write, args=(stale[i::usable],)) for i in range(usable)]
    for proc in forks:
        proc.start()
    for proc in forks:
        proc.join()


# The files that run longest, longest first (the test time per file of a whole run on 2 cores, session 33).
# They are handed out first: with --dist loadfile a long file handed out last kept one worker busy after the others
# ran dry. xdist's own order (most tests first, pyproject's --no-loadscope-reorder turns it off) put some late
# (session 19: test_labels_fast_read.py, 7 tests and a worker's 235 s, began at 1,062 s of that worker's 1,488;
# session 33: the rollup files of few, long tests added since session 19 came last).
LONGEST_FILES = (
    "tests/test_rollup_days.py", "tests/tui/test_tui_packets.py", "tests/tui/test_tui_popup_wording.py",
    "tests/test_rollup_stepping_stone.py", "tests/tui/test_tui_detail.py", "tests/tui/test_tui_candidates.py",
    "tests/tui/test_tui_labels.py", "tests/tui/test_tui_figure_titles.py", "tests/tui/test_tui_detail_range.py",
    "tests/test_labels_fast_read.py", "tests/test_labels_save_bytes.py", "tests/tui/test_tui_time_range.py",
    "tests/tui/test_tui_footer.py", "tests/tui/test_tui_table_actions.py", "tests/test_rollup_dask.py",
    "tests/test_labels_undo_place.py", "tests/tui/test_tui_type_ahead.py", "tests/tui/test_tui_app.py",
    "tests/test_rollup_growing_day.py", "tests/tui/test_tui_type_ahead_fields.py", "tests/tui/test_tui_dialog_footer.py",
    "tests/test_port_list_state.py", "tests/tui/test_tui_filter_moves_ahead.py", "tests/test_rollup_late_days.py",
    "tests/test_io_compressed.py", "tests/test_io_hostile_inputs.py", "tests/test_cli_shell.py",
    "tests/tui/test_tui_hostile.py", "tests/tui/test_tui_config_and_watch.py", "tests/test_io_inputs_changed.py",
    "tests/tui/test_tui_scanners_udp.py", "tests/test_collab_bursts.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    """The files of :data:`LONGEST_FILES` first, in that order, then the others with the most tests first (as
    xdist orders them); a file's tests stay together and in their order."""
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    files = [item.nodeid.split("::")[0] for item in items]
    count = Counter(files)
    order = sorted(range(len(items)), key=lambda i: (rank.get(files[i], len(rank)), -count[files[i]]))
    items[:] = [items[i] for i in order]


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch, session_cache_dir):
    """Every test reads its own config file (absent unless the test writes it), never the user's: the
    known-scanner lists live beside it (issue 15 part 2) and would change ``scanners`` output, and the
    TUI writes the column picker, views and theme to it. A test that needs a config sets its own.
    Its rollups and day splits go to the session's cache folder (this xdist worker's), never the user's
    cache, which every worker, and every other run on the machine, would share; a test can set its own."""
    monkeypatch.setenv("SCANTUI_CONFIG", str(tmp_path / "scantui-config.yaml"))
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(session_cache_dir))


@pytest.fixture
def canonical_df() -> pl.DataFrame:
    return make_canonical()


@pytest.fixture
def canonical_parquet(tmp_path, canonical_df):
    path = tmp_path / "packets.parquet"
    canonical_df.write_parquet(path)
    return path


# the fixtures whose tests read the sample's rollup from the session's cache folder
SAMPLE_ROLLUP_FIXTURES = frozenset({"sample_cache", "shared_rollup_cache", "sample_collab_runs", "tui_cache"})


@pytest.fixture(scope="session")
def session_cache_dir(tmp_path_factory, request) -> Path:
    """The session's one rollup cache folder (``shared_rollup_cache``, ``sample_collab_runs``, the TUI tests'
    ``tui_cache``): each data set read there is rolled up once per session. Where a collected test reads the
    sample's rollup, the folder starts with it, built once for the whole run (:func:`_with_sample_rollup`)."""
    folder = tmp_path_factory.getbasetemp() / "scantui-cache"
    folder.mkdir(exist_ok=True)
    if any(SAMPLE_ROLLUP_FIXTURES.intersection(getattr(item, "fixturenames", ())) for item in request.session.items):
        _with_sample_rollup(folder, tmp_path_factory)
    return folder


def _with_sample_rollup(folder: Path, tmp_path_factory) -> None:
    """Put the sample's rollup (~9 CPU s to build) in *folder*. Under xdist the first worker to get here builds it
    in a folder beside the workers' own (under a lock) and every worker copies it into its folder, instead of
    each worker building it: the copy is the worker's, for tests that rewrite or delete it."""
    import fcntl
    import shutil

    from scantui.workspace.core import Workspace

    def build(into: Path) -> None:
        with pytest.MonkeyPatch.context() as mp:  # no user config (its port lists would be kept in the rollup)
            mp.setenv("SCANTUI_CONFIG", str(into / "no-config.yaml"))
            Workspace.open([SAMPLE_DIR / "telescope.parquet"], cache_dir=into).rollup()

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        build(folder)
        return
    shared = tmp_path_factory.getbasetemp().parent / "sample-rollup"  # the run's folder, above each worker's
    shared.mkdir(exist_ok=True)
    with open(shared.parent / "sample-rollup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built").exists():
            build(shared)
            (shared / "built").touch()
    shutil.copytree(shared, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("built"))


@pytest.fixture(scope="session")
def sample_cache(session_cache_dir) -> Path:
    """:func:`session_cache_dir` with the sample's rollup in it: read it, or ``shutil.copytree`` it before
    deleting or rewriting anything (instead of building the sample's rollup again)."""
    from scantui.workspace.core import Workspace

    Workspace.open([SAMPLE_DIR / "telescope.parquet"], cache_dir=session_cache_dir).rollup()
    return session_cache_dir


@pytest.fixture
def shared_rollup_cache(monkeypatch, session_cache_dir):
    """Point the rollup cache at the session's folder, so the sample's rollup is built once."""
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(session_cache_dir))


@pytest.fixture(scope="session")
def sample_collab_runs(session_cache_dir):
    """(truth, {"day": CollabResult, "24h": CollabResult}): collab on the sample data through the cached rollup (its
    ZMap walks too, as the CLI passes them: the ``zmap_generator`` key of the default ``--by all``)."""
    import json

    from scantui.analysis import collab as cb
    from scantui.analysis.rollup_cache import open_rollup, telescope_size_estimate
    from scantui.io.loader import open_inputs

    sample = SAMPLE_DIR
    with pytest.MonkeyPatch.context() as mp:  # a session fixture cannot use the function-scoped monkeypatch
        mp.setenv("SCANTUI_CACHE_DIR", str(session_cache_dir))
        dataset = open_inputs([sample / "telescope.parquet"])
        rollup = open_rollup(dataset)
        size = telescope_size_estimate(rollup)
        runs = {
            w: cb.collab_scans(dataset.lf, port_day=rollup.port_day, enrichment=rollup.enrichment, telescope_size=size,
                               query=cb.CollabQuery(window_us=cb.parse_window(w)), walks=rollup.zmap_walks)
            for w in ("day", "24h")
        }
    truth = json.loads((sample / "truth.json").read_text())
    return truth, runs
