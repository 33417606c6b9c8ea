"""The look-up cache: history per day, refresh after an age, and two processes sharing the file."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import time

import pytest

from scantui.enrich.answers import Answer
from scantui.enrich.cache import AnswerCache
from scantui.enrich.ipinfo_source import IpinfoResult
from scantui.enrich.sources import IpinfoSource
from scantui.errors import InputError

NOW = dt.datetime(2024, 6, 1, 12, tzinfo=dt.timezone.utc)


def test_answers_are_kept_per_day_and_replaced_within_a_day(tmp_path):
    with AnswerCache(tmp_path / "c.sqlite") as cache:
        cache.put("ipinfo", [(1, dt.date(2024, 1, 1), Answer(asn=10, as_name="A"))], looked_up=NOW - dt.timedelta(days=100))
        cache.put("ipinfo", [(1, dt.date(2024, 5, 1), Answer(asn=20, as_name="B"))], looked_up=NOW)
        cache.put("ipinfo", [(1, dt.date(2024, 5, 1), Answer(asn=21, as_name="B2", hostname="h"))], looked_up=NOW)
        cache.put("other", [(1, dt.date(2024, 5, 1), Answer(asn=99))])
        got = cache.get("ipinfo", [1, 2])
        assert [(c.as_of, c.answer.asn, c.answer.hostname) for c in got] == [
            (dt.date(2024, 1, 1), 10, None), (dt.date(2024, 5, 1), 21, "h")]
        assert got[0].looked_up == NOW - dt.timedelta(days=100)
        assert cache.count() == 3
    # reopened: still there, and the journal is WAL
    with AnswerCache(tmp_path / "c.sqlite") as cache:
        assert cache.count("ipinfo") == 2
        assert cache._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_many_ips_are_read_in_chunks(tmp_path):
    with AnswerCache(tmp_path / "c.sqlite") as cache:
        cache.put("ipinfo", [(i, dt.date(2024, 5, 1), Answer(asn=i)) for i in range(2500)])
        assert len(cache.get("ipinfo", range(0, 5000, 2))) == 1250


def test_a_file_that_is_not_a_cache_is_an_input_error(tmp_path):
    bad = tmp_path / "c.sqlite"
    bad.write_bytes(b"this is not sqlite" * 500)
    with pytest.raises(InputError, match="not a usable scantui look-up cache"):
        AnswerCache(bad)


class FakeClient:
    def __init__(self, answers, problem=None):
        self.answers, self.problem, self.asked = answers, problem, []

    def lookup(self, ips):
        self.asked.append(list(ips))
        if self.problem:
            return IpinfoResult(unresolved=len(ips), problem=self.problem)
        return IpinfoResult(answers={i: self.answers[i] for i in ips if i in self.answers})


def _ip(text):
    import ipaddress

    return int(ipaddress.IPv4Address(text))


def test_fresh_answers_come_from_the_cache_and_stale_ones_are_refreshed(tmp_path):
    with AnswerCache(tmp_path / "c.sqlite") as cache:
        cache.put("ipinfo", [(_ip("1.1.1.1"), dt.date(2024, 5, 30), Answer(asn=1))], looked_up=NOW - dt.timedelta(days=2))
        cache.put("ipinfo", [(_ip("2.2.2.2"), dt.date(2024, 1, 1), Answer(asn=2))], looked_up=NOW - dt.timedelta(days=150))
        client = FakeClient({"2.2.2.2": Answer(asn=22), "3.3.3.3": Answer(asn=3)})
        source = IpinfoSource(client, cache, refresh_days=30, now=NOW)
        res = source.lookup([_ip("1.1.1.1"), _ip("2.2.2.2"), _ip("3.3.3.3")])
        assert client.asked == [["2.2.2.2", "3.3.3.3"]]
        rows = sorted(res.answers.select("src", "as_of", "asn").rows())
        assert rows == [(_ip("1.1.1.1"), dt.date(2024, 5, 30), 1), (_ip("2.2.2.2"), dt.date(2024, 1, 1), 2),
                        (_ip("2.2.2.2"), NOW.date(), 22), (_ip("3.3.3.3"), NOW.date(), 3)]
        assert res.stats == {"cached": 2, "stale": 1, "asked": 2, "answered": 2, "requests": 0, "retries": 0}
        assert cache.count("ipinfo") == 4  # the old answer stays: it is the AS of its day


def test_when_the_service_fails_stale_answers_are_still_served(tmp_path):
    with AnswerCache(tmp_path / "c.sqlite") as cache:
        cache.put("ipinfo", [(_ip("2.2.2.2"), dt.date(2024, 1, 1), Answer(asn=2))], looked_up=NOW - dt.timedelta(days=150))
        source = IpinfoSource(FakeClient({}, problem="rate limited (HTTP 429)"), cache, refresh_days=30, now=NOW)
        res = source.lookup([_ip("2.2.2.2"), _ip("3.3.3.3")])
        assert res.unresolved == 2 and res.answers["asn"].to_list() == [2]
        assert res.notes == ["IPinfo: rate limited (HTTP 429); 2 of 2 IPs unresolved (1 of them served from older "
                             "cached answers); the run goes on without them"]


def test_without_a_client_only_the_cache_answers(tmp_path):
    with AnswerCache(tmp_path / "c.sqlite") as cache:
        cache.put("ipinfo", [(_ip("2.2.2.2"), dt.date(2024, 1, 1), Answer(asn=2))], looked_up=NOW - dt.timedelta(days=150))
        res = IpinfoSource(None, cache, now=NOW).lookup([_ip("2.2.2.2"), _ip("3.3.3.3")])
        assert res.answers["asn"].to_list() == [2] and res.unresolved == 0 and res.notes == []


_WORKER = textwrap.dedent("""
    import datetime as dt, os, sys, time
    from pathlib import Path
    from scantui.enrich.answers import Answer
    from scantui.enrich.cache import AnswerCache
    path, go, me = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    (go.parent / f"ready{me}").touch()             # imported: the test starts both at once
    while not go.exists():
        time.sleep(0.001)
    started = time.time()
    cache = AnswerCache(path)                      # both create the same new file at once
    day = dt.date(2024, 2, 1)
    for batch in range(150):
        own = [(me * 100_000 + batch * 4 + k, day, Answer(asn=me, as_name=f"P{me}")) for k in range(4)]
        shared = [(batch, day, Answer(asn=me, as_name=f"P{me}"))]   # both write these keys
        cache.put("ipinfo", own + shared)
        seen = cache.get("ipinfo", [me * 100_000 + batch * 4 + k for k in range(4)])
        assert len(seen) == 4, seen
        if batch == 0:  # on a busy box one could finish before the other is scheduled: wait for its first write
            (go.parent / f"wrote{me}").touch()
            while not (go.parent / f"wrote{3 - me}").exists():
                time.sleep(0.001)
    cache.close()
    print("ok", started, time.time())
""")


def test_two_processes_share_one_cache_file(tmp_path):
    path, go = tmp_path / "shared" / "enrich.sqlite", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(path), str(go), str(me)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for me in (1, 2)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{me}").exists() for me in (1, 2)):  # both are waiting for the start signal
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [p.poll() for p in procs]
        time.sleep(0.01)
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert [out.split()[0] for out, _ in results] == ["ok", "ok"]
    (s1, e1), (s2, e2) = [tuple(map(float, out.split()[1:])) for out, _ in results]
    assert s1 < e2 and s2 < e1, "the two processes did not run at the same time"
    with AnswerCache(path) as cache:
        assert cache.count("ipinfo") == 2 * 150 * 4 + 150
        shared = cache.get("ipinfo", range(150))
        assert len(shared) == 150 and {c.answer.as_name for c in shared} <= {"P1", "P2"}
        assert cache._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_broken_cache_costs_the_cache_not_the_run(tmp_path, monkeypatch):
    from scantui.config import enrich_settings
    from scantui.enrich.sources import configured_sources

    monkeypatch.setenv("SCANTUI_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.delenv("IPINFO_TOKEN", raising=False)
    bad = tmp_path / "c.sqlite"
    bad.write_bytes(b"garbage" * 1000)
    sources, notes = configured_sources(enrich_settings(cache=str(bad)))
    assert sources == [] and notes[0].startswith("look-up cache not used: ") and "no look-up source configured" in notes[1]
