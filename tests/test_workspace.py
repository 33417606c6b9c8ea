"""The Workspace: the pipeline both front ends call gives what the CLI prints, memoizes per query
(also across threads), reports progress through one Task, and stops a cancelled rollup build
with a clear exception and no half-written cache."""

from __future__ import annotations

import json
import threading
import time

import pytest

from clihelp import SAMPLE, run
from scantui.analysis import collab as cb
from scantui.analysis import detail
from scantui.analysis.groups import GroupQuery
from scantui.analysis.scanners import ScannerQuery
from scantui.analysis.scanners_text import scanners_json
from scantui.analysis.tracking import TrackQuery
from scantui.cli.shapes import collab_rows, group_rows
from scantui.errors import ScantuiError
from scantui.workspace import Cancelled, Task, Workspace

NO_TELESCOPE = (None, None)


@pytest.fixture
def sample_ws(shared_rollup_cache):
    return Workspace.open([SAMPLE])


def _cli_json(argv, capsys):
    code, out, err = run(argv, capsys)
    assert code == 0, err
    return json.loads(out)


def test_results_equal_the_cli_json(sample_ws, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./scantui-labels.yaml: every group's review is "new"
    query = cb.make_query(window="24h")
    assert collab_rows(sample_ws.collab(query).candidates) == _cli_json(["collab", SAMPLE, "--window", "24h", "--json"], capsys)
    groups = sample_ws.groups(query, GroupQuery(min_scans=2))
    assert group_rows(groups, [("new", [])] * len(groups)) == _cli_json(["groups", SAMPLE, "--window", "24h", "--min-scans", "2", "--json"], capsys)
    scanners = sample_ws.scanners(ScannerQuery(ports=(3306,), top=20))
    assert json.loads(scanners_json(scanners.frame)) == _cli_json(["scanners", SAMPLE, "--port", "3306", "--top", "20", "--json"], capsys)
    s01 = sample_ws.groups(cb.make_query())[0]
    doc = {"group": "S01", "origin": "suggestion", "title": None, **sample_ws.track(s01.member_ips, TrackQuery()).to_json()}
    assert doc == _cli_json(["track", SAMPLE, "--group", "S01", "--json"], capsys)
    size, origin = sample_ws.telescope()
    assert origin == "estimated" and size == sample_ws.overview().telescope_size > 0


def test_the_telescope_given_wins_over_the_estimate(shared_rollup_cache):
    assert Workspace.open([SAMPLE], telescope=("198.18.0.0/23", None)).telescope() == (512, "cidr")
    assert Workspace.open([SAMPLE], telescope=(None, 61000)).telescope() == (61000, "given")
    with pytest.raises(ScantuiError, match="--telescope-size: must be positive"):
        Workspace.open([SAMPLE], telescope=(None, 0)).telescope()


def test_a_result_is_computed_once_per_query(sample_ws, monkeypatch):
    calls = []
    real = cb.collab_scans

    def counted(*args, **kwargs):
        calls.append(kwargs["query"])
        return real(*args, **kwargs)

    monkeypatch.setattr(cb, "collab_scans", counted)
    first = sample_ws.collab(cb.make_query(window="24h"))
    assert sample_ws.collab(cb.make_query(window="24h")) is first  # an equal query, built anew
    assert len(calls) == 1
    other = sample_ws.collab(cb.make_query(window="day"))
    assert other is not first and len(calls) == 2
    groups = sample_ws.groups(cb.make_query(window="24h"))
    assert sample_ws.groups(cb.make_query(window="24h")) is groups and len(calls) == 2  # groups reuse the search
    members = groups[0].member_ips
    assert sample_ws.track(members) is sample_ws.track(list(members))
    src = int(sample_ws.scanners().frame["src"][0])
    figures = sample_ws.detail([src])
    assert sample_ws.detail([src]) is figures
    assert figures.tools == detail.tools(sample_ws.rollup().port_day, [src])
    assert sample_ws.timing([src], port=3306) is sample_ws.timing([src], port=3306)


def test_threads_asking_at_once_share_one_computation(sample_ws, monkeypatch):
    calls = []
    real = cb.collab_scans

    def slow(*args, **kwargs):
        calls.append(threading.get_ident())
        time.sleep(0.3)  # the other threads ask meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(cb, "collab_scans", slow)
    query = cb.make_query(window="48h")
    results = []
    threads = [threading.Thread(target=lambda: results.append(sample_ws.collab(query))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(calls) == 1 and len(results) == 3 and all(r is results[0] for r in results)


def test_the_task_hears_the_rollup_build(canonical_parquet, tmp_path):
    heard = []
    task = Task(lambda message, fraction: heard.append((message, fraction)))
    ws = Workspace.open([canonical_parquet], cache_dir=tmp_path / "cache", task=task)
    rollup = ws.rollup()
    days = [m for m, _ in heard if m.startswith("rolling up 2024")]
    assert days == [f"rolling up 2024-02-0{d}" for d in (1, 2, 3, 4)]
    fractions = [f for _, f in heard if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert (task.message, task.fraction) == ("rollup done", 1.0)
    count = len(heard)
    assert ws.rollup() is rollup and len(heard) == count  # a memo hit: nothing built, nothing reported
    rebuilt = ws.rollup(rebuild=True)
    assert rebuilt is not rollup and rebuilt.path == rollup.path and len(heard) > count and heard[-1] == ("rollup done", 1.0)
    assert ws.rollup() is rebuilt


def test_a_cancelled_build_stops_with_a_clear_error_and_leaves_no_cache(canonical_parquet, tmp_path):
    cache = tmp_path / "cache"
    ws = Workspace.open([canonical_parquet], cache_dir=cache)
    built = []

    def cancel_on_the_second_day(message, _fraction):
        built.append(message)
        if message == "rolling up 2024-02-02":
            task.cancel()

    task = Task(cancel_on_the_second_day)
    with pytest.raises(Cancelled, match="^cancelled while rolling up 2024-02-02$") as raised:
        ws.rollup(task)
    assert raised.value.exit_code == 130
    assert "rollup done" not in built and "rolling up 2024-02-03" not in built  # it stopped there
    assert list((cache / "rollups").iterdir()) == []  # neither a rollup nor a temporary folder
    # finished day states stay (complete, reused next time); no half-built one is left
    assert not [p for p in (cache / "days").rglob("*") if p.name.startswith(".")]
    rollup = ws.rollup(Task())  # nothing was memoized: a fresh token builds it
    assert [p.name for p in (cache / "rollups").iterdir()] == [rollup.path.name]
    assert rollup.port_day.collect().height > 0


def test_a_cancelled_task_runs_nothing(sample_ws, monkeypatch):
    monkeypatch.setattr(cb, "collab_scans", lambda *a, **k: pytest.fail("a cancelled task searched"))
    task = Task()
    task.cancel()
    with pytest.raises(Cancelled, match="^cancelled$"):
        sample_ws.collab(cb.make_query(window="72h"), task=task)


def test_ctrl_c_under_the_cli_progress_bar_cancels_the_build(canonical_parquet, tmp_path, monkeypatch):
    """The CLI's adapter: ctrl-c in the main thread (here raised by the byte-progress poll) cancels the Task,
    the build thread stops at its next checkpoint and removes its temporary folder, then the interrupt goes on."""
    import sys

    from scantui.cli import progress as cli_progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(cli_progress, "LARGE_INPUT_BYTES", 0)
    reached = threading.Event()

    def hold(message, _fraction):  # the build waits on its first day until ctrl-c has cancelled it
        if message.startswith("rolling up 20"):
            reached.set()
            deadline = time.monotonic() + 30
            while not task.cancelled and time.monotonic() < deadline:
                time.sleep(0.01)

    task = Task(hold)
    cache = tmp_path / "cache"
    ws = Workspace.open([canonical_parquet], cache_dir=cache, task=task)

    def progress():
        if reached.is_set():
            raise KeyboardInterrupt
        return {}

    monkeypatch.setattr(ws.dataset.stats, "progress", progress)
    with pytest.raises(KeyboardInterrupt):
        cli_progress.run_with_progress(ws.rollup, ws.dataset.stats, 1, "rolling up", task=task)
    assert task.cancelled and task.message == "rolling up 2024-02-01"
    assert list((cache / "rollups").iterdir()) == []


def test_a_capture_is_decoded_once_for_every_read(tmp_path, monkeypatch):
    """The decoded-packet store: a second Workspace on the same pcap (another command, the TUI) serves the
    search, a track, a detail and a timing read from the cache without decoding the capture again."""
    from clihelp import SAMPLE_DIR
    from scantui.io import loader

    pcap = SAMPLE_DIR / "cuts" / "telescope-cut.pcap"
    cache = tmp_path / "cache"
    first = Workspace.open([pcap], cache_dir=cache)
    expected = first.collab(cb.make_query(window="24h")).candidates
    src = int(first.scanners().frame["src"][0])
    expected_timing = first.timing([src])

    def decoding(*_args, **_kwargs):
        raise AssertionError("the capture was decoded again")

    monkeypatch.setattr(loader, "_build_frame", decoding)
    again = Workspace.open([pcap], cache_dir=cache)
    assert again.timing([src]).packets.equals(expected_timing.packets)  # first: it opens the rollup itself
    assert again.collab(cb.make_query(window="24h")).candidates == expected
    assert again.detail([src]).per_day.height > 0 and again.track([str(src >> 24) + ".0.0.0/8"]).members
    assert again.packets().collect().height == first.packets().collect().height


def test_detail_of_some_days_counts_only_those_days(sample_ws):
    """``detail(days=...)`` (the TUI's time range on a detail screen) against polars' own count of the sample's
    packets: 104.152.52.61 probed on 2024-02-04 and 2024-02-05; the range 02-05..02-06 holds only the second."""
    import datetime as dt
    import ipaddress

    import polars as pl

    from scantui.analysis.fingerprints import with_tool
    from scantui.analysis.traffic import is_probe

    src = int(ipaddress.IPv4Address("104.152.52.61"))
    days = (dt.date(2024, 2, 5), dt.date(2024, 2, 6))
    pk = pl.scan_parquet(SAMPLE).filter(pl.col("src") == src).with_columns(day=pl.col("ts").dt.date())
    inside = pk.filter(pl.col("day").is_between(*days))
    per_day = inside.group_by("day").len().sort("day").collect()
    every = sample_ws.detail([src])
    some = sample_ws.detail([src], days=days)
    assert some is not every and sample_ws.detail([src], days=days) is some  # its own memo key
    assert some.per_day["day"].to_list() == per_day["day"].to_list() == [dt.date(2024, 2, 5)]
    assert some.per_day["packets"].to_list() == per_day["len"].to_list()
    assert every.per_day.height == 2 and every.per_day["packets"].sum() > some.per_day["packets"].sum()
    probes = inside.filter(is_probe())
    ports = probes.group_by("dport").agg(pl.len().alias("packets"), pl.col("day").n_unique().alias("days")).collect()
    assert dict(zip(some.ports["dport"].to_list(), some.ports["packets"].to_list())) == \
        dict(zip(ports["dport"].to_list(), ports["packets"].to_list()))
    assert set(some.ports["days"].to_list()) == {1}
    tools = with_tool(probes).group_by("tool").len().collect()
    assert some.tools == {str(t): n for t, n in tools.iter_rows()} and some.tools != every.tools
    empty = sample_ws.detail([src], days=(dt.date(2024, 2, 10), dt.date(2024, 2, 11)))
    assert empty.per_day.height == 0 and empty.ports.height == 0 and empty.tools == {}
