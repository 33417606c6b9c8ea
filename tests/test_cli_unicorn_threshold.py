"""The Unicorn session threshold (a session key needs more SYN probes than this) set in the config file,
``rollup: {unicorn_min_packets: N}``: the rollup built with it, and every command that opens that rollup."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl

from clihelp import run
from scantui.io.schema import conform

SRC = 0x0A000001  # 10.0.0.1
SESSION = 100  # SYN probes sharing one Unicorn session key: under the default threshold (150), over 50


def _unicorn_file(path: Path) -> str:
    start = dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc)
    sport = 5555
    rows = [{"ts": start + dt.timedelta(seconds=i), "src": SRC, "dst": 0xC6120000 + i, "proto": 6, "sport": sport,
             "dport": 1000 + i, "ip_id": 1, "ttl": 64, "ip_len": 40, "tcp_flags": 2,
             "tcp_seq": 0xABCDEF ^ SRC ^ ((sport << 16) + 1000 + i), "tcp_ack": 0, "tcp_window": 1024, "tcp_mss": None}
            for i in range(SESSION)]
    conform(pl.DataFrame(rows).lazy()).collect().write_parquet(path)
    return str(path)


def _tool(capsys, data: str) -> str:
    code, out, err = run(["scanners", data, "--json"], capsys)
    assert code == 0, err
    (row,) = json.loads(out)
    return row["tool"]


def test_the_config_sets_the_unicorn_threshold_of_the_rollup_and_the_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    config = Path(os.environ["SCANTUI_CONFIG"])
    data = _unicorn_file(tmp_path / "p.parquet")
    assert _tool(capsys, data) == "other"  # 100 probes: not more than the default 150

    config.write_text("rollup: {unicorn_min_packets: 50}\n")
    code, out, err = run(["rollup", data, "--json"], capsys)
    assert code == 0, err
    folder = Path(json.loads(out)["path"])
    assert json.loads((folder / "meta.json").read_text())["unicorn_min_packets"] == 50
    assert _tool(capsys, data) == "unicorn"  # the rollup just built, not another one
    code, out, _ = run(["rollup", data, "--json"], capsys)
    assert Path(json.loads(out)["path"]) == folder

    config.write_text("rollup: {unicorn_min_packets: lots}\n")
    code, out, err = run(["scanners", data], capsys)
    assert (code, out, err.strip()) == (2, "", f"scantui: error: {config}: rollup.unicorn_min_packets: must be a "
                                               "number of packets (1 or more), e.g. 150; got 'lots'")


def test_a_library_caller_of_update_rollup_gets_the_configured_threshold_unless_it_passes_one(tmp_path, monkeypatch):
    from scantui.analysis.rollup_cache import update_rollup
    from scantui.io.loader import open_inputs

    Path(os.environ["SCANTUI_CONFIG"]).write_text("rollup: {unicorn_min_packets: 50}\n")
    data = _unicorn_file(tmp_path / "p.parquet")
    configured = update_rollup(open_inputs([data]), cache_dir=tmp_path / "cache").rollup
    given = update_rollup(open_inputs([data]), cache_dir=tmp_path / "cache", unicorn_min_packets=150).rollup
    assert [json.loads((r.path / "meta.json").read_text())["unicorn_min_packets"] for r in (configured, given)] == [50, 150]
