"""The CLI's spinner over work on the built rollup (a day span's scanner list: minutes at a year, one source range after
another): it names the source range, and ctrl-c stops the list at its next source range, keeping nothing of it."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time

import pytest

from scantui.analysis import scanner_rows, scanners
from scantui.analysis.scanner_query import ScannerQuery
from scantui.cli import progress as cli_progress
from scantui.cli.data_cmds import on_rollup
from scantui.workspace import Task, Workspace

SPAN = ScannerQuery(since=dt.date(2024, 2, 2), until=dt.date(2024, 2, 3))


def on_a_terminal(monkeypatch) -> None:
    """stderr a terminal and every input large: the spinner is drawn (the captured stream's ``isatty``)."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(cli_progress, "LARGE_INPUT_BYTES", 0)


def counting(monkeypatch, module, name: str, ws) -> list[str]:
    """*module.name* wrapped: each call appends the step *ws*'s task is at (the list returned)."""
    steps: list[str] = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        steps.append(ws.task.message)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return steps


def ctrl_c_at_the_second(monkeypatch, module, name: str, ws, steps: list[str]) -> None:
    """The second call of *module.name* (a step counted in *steps*) waits until ctrl-c, raised in the spinner's poll
    of the main thread once it is reached, has cancelled *ws*'s task."""
    reached = threading.Event()
    real = getattr(module, name)

    def held(*args, **kwargs):
        if len(steps) + 1 == 2:
            reached.set()
            deadline = time.monotonic() + 30
            while not ws.task.cancelled and time.monotonic() < deadline:
                time.sleep(0.01)
        return real(*args, **kwargs)

    def progress():
        if reached.is_set():
            raise KeyboardInterrupt
        return {}

    monkeypatch.setattr(module, name, held)
    monkeypatch.setattr(ws.dataset.stats, "progress", progress)


@pytest.fixture
def span_list(canonical_parquet, tmp_path, monkeypatch):
    """A workspace with its rollup built, the day span's list cut in source ranges of ~100 packets; the calls of each
    source range counted."""
    on_a_terminal(monkeypatch)
    monkeypatch.setattr(scanners, "ROW_PACKETS_PER_RANGE", 100)
    ws = Workspace.open([canonical_parquet], cache_dir=tmp_path / "cache", task=Task())
    ws.rollup()
    ws.opened_from = canonical_parquet
    return ws, counting(monkeypatch, scanner_rows, "_from_rows", ws)


def test_the_spinner_names_each_source_range_and_the_list_is_the_plain_one(span_list):
    ws, calls = span_list
    seen: list[tuple[str, float | None]] = []
    ws.task._listener = lambda message, fraction: seen.append((message, fraction))
    listed = on_rollup(ws, lambda: ws.scanners(SPAN), "counting the scanner list")
    n = len(calls)
    assert n >= 3 and calls == [f"source range {i} of {n}" for i in range(1, n + 1)]
    assert seen[0] == ("counting the scanner list", None)
    assert [f for m, f in seen if m.startswith("source range")] == [i / n for i in range(n)]
    # the same list as without the spinner (another workspace on the same rollup)
    plain = Workspace.open([ws.opened_from], cache_dir=ws.cache_dir).scanners(SPAN)
    assert listed.frame.height > 0 and listed.frame.equals(plain.frame)


def test_ctrl_c_stops_the_list_at_its_next_source_range(span_list, monkeypatch):
    ws, calls = span_list
    real = scanner_rows._from_rows
    ctrl_c_at_the_second(monkeypatch, scanner_rows, "_from_rows", ws, calls)
    with pytest.raises(KeyboardInterrupt):
        on_rollup(ws, lambda: ws.scanners(SPAN), "counting the scanner list")
    # the third source range was told, and stopped there: it never started
    assert ws.task.cancelled and ws.task.message.startswith("source range 3 of") and len(calls) == 2
    # nothing kept: asked again (a new task), the list is counted whole
    ws.task = Task()
    calls.clear()
    monkeypatch.setattr(scanner_rows, "_from_rows", real)
    assert ws.scanners(SPAN).frame.height > 0


def test_scanners_with_a_day_span_counts_under_the_spinner(span_list, capsys, monkeypatch):
    """``scantui scanners --since/--until`` on a terminal: the spinner names the list's source ranges on stderr, the
    JSON on stdout is the list's."""
    from clihelp import run

    ws, calls = span_list
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # (capsys' stream)
    code, out, err = run(["scanners", str(ws.opened_from), "--since", "2024-02-02", "--until", "2024-02-03", "--json"],
                         capsys)
    assert code == 0 and len(calls) >= 3
    assert "counting the scanner list" in err or "source range" in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # no terminal: no spinner, the same JSON
    code2, plain, err2 = run(["scanners", str(ws.opened_from), "--since", "2024-02-02", "--until", "2024-02-03",
                              "--json"], capsys)
    assert code2 == 0 and out == plain and out.startswith("[") and "counting" not in err2


@pytest.fixture
def batched_search(shared_rollup_cache, monkeypatch):
    """The sample's workspace (its rollup from the session's cache), collab's search cut in batches of one probe
    (every (key, port) unit a batch: the same covers, tests/test_collab_batches.py); the batches' reads counted."""
    from clihelp import SAMPLE
    from scantui.analysis import collab as cb
    from scantui.analysis import collab_batches as cbb

    on_a_terminal(monkeypatch)
    monkeypatch.setattr(cbb, "PACKETS_PER_BATCH", 1)
    ws = Workspace.open([SAMPLE], task=Task())
    ws.rollup()
    return ws, counting(monkeypatch, cb, "load_packets", ws)


@pytest.mark.parametrize("window", ["burst", "day"])
def test_collab_names_each_batch_under_the_spinner(batched_search, window):
    from scantui.analysis.collab_query import make_query

    ws, reads = batched_search
    seen: list[tuple[str, float | None]] = []
    ws.task._listener = lambda message, fraction: seen.append((message, fraction))
    found = on_rollup(ws, lambda: ws.collab(make_query(window=window)), "searching candidate scans")
    n = len(reads)
    assert n >= 3 and reads == [f"candidate batch {i} of {n}" for i in range(1, n + 1)] and found.candidates
    assert seen[0] == ("searching candidate scans", None)
    assert [f for m, f in seen if m.startswith("candidate batch")] == [i / n for i in range(n)]


def test_ctrl_c_stops_collab_at_its_next_batch(batched_search, monkeypatch):
    from scantui.analysis import collab as cb

    ws, reads = batched_search
    counted = cb.load_packets
    ctrl_c_at_the_second(monkeypatch, cb, "load_packets", ws, reads)
    with pytest.raises(KeyboardInterrupt):
        on_rollup(ws, lambda: ws.collab(), "searching candidate scans")
    assert ws.task.cancelled and ws.task.message.startswith("candidate batch 3 of") and len(reads) == 2
    ws.task = Task()  # asked again: searched whole (nothing was kept of the stopped search)
    monkeypatch.setattr(cb, "load_packets", counted)
    assert ws.collab().candidates and len(reads) > 3


@pytest.mark.parametrize("command", ["collab", "groups"])
def test_collab_and_groups_search_under_the_spinner(batched_search, command, capsys, monkeypatch):
    from clihelp import SAMPLE, run

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # (capsys' stream)
    code, out, err = run([command, SAMPLE, "--json"], capsys)
    assert code == 0 and ("searching candidate scans" in err or "candidate batch" in err)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    code2, plain, err2 = run([command, SAMPLE, "--json"], capsys)
    assert code2 == 0 and out == plain and "candidate batch" not in err2
