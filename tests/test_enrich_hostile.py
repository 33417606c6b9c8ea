"""Hostile strings from a look-up service: markup, control characters, huge values, stored and shown safely."""

from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
import pytest

from clihelp import run
from scantui.enrich.answers import LIMITS, clean_text, from_ipinfo
import test_enrich_ipinfo
from test_enrich_ipinfo import TOKEN
from test_enrich_table import ip, write_packets

ESC = "\x1b"
NASTY_HOST = f"{ESC}]0;owned{chr(7)}scan.{ESC}[2Jevil‮moc.example\u200b.net\r\nX-Injected: 1"
NASTY_ORG = "AS64666 [bold red]Pwned[/] [link=file:///etc/passwd]click[/link] " + ESC + "[31mRED" + "\x9b" + "1m"
HUGE = "Z" * 2_000_000

# the look-up server and the CLI environment that uses it, as fixtures of this module
ipinfo_server = test_enrich_ipinfo.ipinfo_server
cli_env = test_enrich_ipinfo.cli_env


def test_clean_text():
    assert clean_text(f"a{ESC}[31mb\x07c\x9bd") == "a[31mbcd"
    assert clean_text("right‮to-left\u200bzero\u2028line\r\nnext\tx") == "rightto-leftzero line next x"
    assert clean_text("[bold]markup[/bold]") == "[bold]markup[/bold]"  # kept as text; shown literally
    assert clean_text(HUGE, 50) == "Z" * 49 + "…"
    assert clean_text("   ") is None and clean_text({"a": 1}) is None and clean_text(None) is None


def test_from_ipinfo_with_hostile_values():
    a = from_ipinfo({"hostname": NASTY_HOST, "org": NASTY_ORG, "country": "<script>", "company": {"name": HUGE},
                     "asn": {"asn": "AS1 OR 1=1", "name": ["list"]}})
    assert a.asn == 64666  # from org, the asn block's value is not an AS number
    assert ESC not in a.hostname and "\r" not in a.hostname and "\u202e" not in a.hostname
    assert a.hostname.startswith("]0;ownedscan.[2jevilmoc.example.net x-injected: 1")
    assert a.as_name.startswith("[bold red]Pwned[/] [link=file:///etc/passwd]click[/link] [31mRED1m")
    assert a.country is None and len(a.company) == LIMITS["company"]
    assert from_ipinfo("not a dict") is None and from_ipinfo({"bogon": True}).is_empty()


def test_hostile_answers_are_stored_and_shown_safely(tmp_path, capsys, cli_env, monkeypatch):
    cli_env.details["8.8.8.8"] = {"ip": "8.8.8.8", "hostname": NASTY_HOST, "org": NASTY_ORG, "country": "U\x00S",
                                  "company": {"name": HUGE}}
    data = write_packets(tmp_path / "p.parquet", {1: ["8.8.8.8"]})
    out = tmp_path / "e.parquet"
    code, _, err = run(["enrich", str(data), "-o", str(out)], capsys)
    assert code == 0, err
    row = pl.read_parquet(out).row(0, named=True)
    stored = "".join(str(v) for v in row.values())
    assert ESC not in stored and "\x9b" not in stored and "\r" not in stored and len(stored) < 1000
    # the cache holds the same cleaned values
    import sqlite3

    conn = sqlite3.connect(tmp_path / "cache" / "enrich.sqlite")
    cached = "".join(str(v) for v in conn.execute("SELECT * FROM answers").fetchone())
    conn.close()
    assert ESC not in cached and len(cached) < 1000 and TOKEN not in cached
    monkeypatch.setenv("COLUMNS", "250")
    for fmt in ([], ["--json"], ["--csv"]):
        code, stdout, err = run(["scanners", str(data), str(out), *fmt], capsys)
        assert code == 0, err
        assert ESC not in stdout and "\x9b" not in stdout and "\x07" not in stdout
    code, stdout, _ = run(["scanners", str(data), str(out), "--json"], capsys)
    rec = json.loads(stdout)[0]
    assert rec["as_name"].startswith("[bold red]Pwned[/]")  # markup is data, printed as is
    code, stdout, _ = run(["scanners", str(data), str(out)], capsys)
    assert "[bold red]Pwned[/]" in stdout  # the table shows the brackets as text, not red


_CLASSIFY = """
import sys, polars as pl
from scantui.enrich.rules import classify
name = sys.stdin.read()
df = pl.DataFrame({"src": [int(sys.argv[1])] * 2000, "hostname": [name + str(i) for i in range(2000)]},
                  schema={"src": pl.UInt32, "hostname": pl.String})
print(classify(df).height)
"""


@pytest.mark.parametrize("name", ["x" * 100_000, "(a+)+$" * 50, "." * 253])
def test_rules_stay_fast_on_hostile_hostnames(name):
    # A backtracking regex engine takes hours on such names; the work is about 1 s of CPU for the longest. The
    # timeout is a hang guard far above that (not a speed claim), and a subprocess so that a hang can be stopped.
    proc = subprocess.run([sys.executable, "-c", _CLASSIFY, str(ip("192.0.2.1"))], input=name,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and proc.stdout.split() == ["2000"], proc.stderr
