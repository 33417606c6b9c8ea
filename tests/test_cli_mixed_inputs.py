"""A folder of inputs of different kinds (Parquet, captures): days built from several inputs, days whose
optional columns differ, and a broken input among several: ``scantui packets`` lists them all, and an error
names the file that caused it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from canonical import make_canonical
from clihelp import run_captured
from pcapbuild import Rec, ether, ipv4, tcp, write_pcap

DAY2 = dt.datetime(2024, 2, 2, 12, tzinfo=dt.timezone.utc).timestamp()
LATER = dt.datetime(2024, 2, 9, 12, tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture
def mixed(tmp_path, monkeypatch):
    """Parquet over 2024-02-01..04 and a capture with two packets on 02-02 (a day of two inputs, the capture's
    rows with record references) and one on 02-09 (the capture's alone)."""
    folder = tmp_path / "in"
    folder.mkdir()
    make_canonical(n=2000).write_parquet(folder / "a.parquet")
    frame = ether(ipv4(payload=tcp(dport=8443)))
    write_pcap(folder / "b.pcap", [Rec(frame, DAY2), Rec(frame, DAY2 + 1), Rec(frame, LATER)])
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def test_packets_of_days_with_different_columns_are_listed_together(mixed):
    """Days built from a capture carry record references, the others not: was ``scantui: error: schema
    lengths differ``, exit 2, for every listing of such a folder."""
    done = run_captured(["packets", str(mixed), "--json"])
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 2003 and len({tuple(r) for r in rows}) == 1
    assert sorted(r["ts"] for r in rows if r["dport"] == 8443 and r["src"] == "10.0.0.1")[-1].startswith("2024-02-09")
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)
    done = run_captured(["packets", str(mixed), "--csv"])
    assert done.returncode == 0 and done.stdout.count("\n") == 2004
    done = run_captured(["packets", str(mixed), "--limit", "5"])
    assert done.returncode == 0 and "packets: 5" in done.stdout
