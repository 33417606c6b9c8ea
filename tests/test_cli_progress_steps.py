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


@pytest.fixture
def span_list(canonical_parquet, tmp_path, monkeypatch):
    """A workspace with its rollup built, the day span's list cut in source ranges of ~100 packets; the calls of each
    source range counted."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(cli_progress, "LARGE_INPUT_BYTES", 0)
    monkeypatch.setattr(scanners, "ROW_PACKETS_PER_RANGE", 100)
    ws = Workspace.open([canonical_parquet], cache_dir=tmp_path / "cache", task=Task())
    ws.rollup()
    ws.opened_from = canonical_parquet
    calls: list[str] = []
    real = scanner_rows._from_rows

    def counted(*args, **kwargs):
        calls.append(ws.task.message)
        return real(*args, **kwargs)

    monkeypatch.setattr(scanner_rows, "_from_rows", counted)
    return ws, calls


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
    reached = threading.Event()
    real = scanner_rows._from_rows

    def held(*args, **kwargs):  # the second source range waits until ctrl-c has cancelled the task
        if len(calls) + 1 == 2:
            reached.set()
            deadline = time.monotonic() + 30
            while not ws.task.cancelled and time.monotonic() < deadline:
                time.sleep(0.01)
        return real(*args, **kwargs)

    monkeypatch.setattr(scanner_rows, "_from_rows", held)

    def progress():  # ctrl-c, raised in the main thread's poll once the list is at its second source range
        if reached.is_set():
            raise KeyboardInterrupt
        return {}

    monkeypatch.setattr(ws.dataset.stats, "progress", progress)
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
