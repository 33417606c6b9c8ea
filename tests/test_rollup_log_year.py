"""A yearless syslog LOG input's cached reading follows the year the reader gives it today: a cache built "last
year" is not served "this year" (the key carries :func:`scantui.io.netfilter_log.end_year`)."""

from __future__ import annotations

import gzip

import pytest

from scantui.analysis import rollup_cache
from scantui.analysis import rollup_keys
from scantui.io import netfilter_log
from scantui.io.loader import open_inputs
from scantui.io.options import LoadOptions
from test_io_iptables import TCP_LINE


def days(log, cache) -> list[str]:
    rollup = rollup_cache.open_rollup(open_inputs([log], LoadOptions()), cache_dir=cache)
    return [d.isoformat() for d in rollup.day_totals.collect()["day"].to_list()]


def test_a_cache_built_last_year_is_not_served_this_year(tmp_path, monkeypatch):
    log = tmp_path / "kern.log"
    log.write_text(TCP_LINE.replace("Feb  6", "Dec 10") + "\n")
    monkeypatch.setattr(netfilter_log, "today", lambda: (2025, 12, 20))
    assert days(log, tmp_path / "cache") == ["2025-12-10"]
    monkeypatch.setattr(netfilter_log, "today", lambda: (2026, 1, 5))  # Dec 10 is still of the past twelve months
    assert days(log, tmp_path / "cache") == ["2025-12-10"]
    monkeypatch.setattr(netfilter_log, "today", lambda: (2026, 12, 20))
    assert days(log, tmp_path / "cache") == ["2026-12-10"]  # what a fresh read gives
    assert days(log, tmp_path / "fresh") == ["2026-12-10"]


@pytest.mark.parametrize("tail", ["iso", "trad"])
@pytest.mark.parametrize("pack", [False, True])
def test_end_year_reads_the_last_traditional_line_as_the_reader_does(tmp_path, monkeypatch, tail, pack):
    """From the file's end when a traditional line is there, else from every line (a long ISO tail, a gz file)."""
    monkeypatch.setattr(netfilter_log, "today", lambda: (2026, 3, 1))
    lines = [TCP_LINE.replace("Feb  6", "Dec 30")] + [TCP_LINE.replace("Feb  6 10:00:01", "2026-02-06T10:00:01+00:00")] * 2000
    if tail == "trad":
        lines.append(TCP_LINE)  # Feb 6: this year (Dec 30, the last traditional line else, has not come yet)
    text = "\n".join(lines) + "\n"
    log = tmp_path / ("kern.log.gz" if pack else "kern.log")
    log.write_bytes(gzip.compress(text.encode()) if pack else text.encode())
    assert len(text) > 1 << 16
    assert netfilter_log.end_year(log, LoadOptions()) == (2026 if tail == "trad" else 2025)
    assert netfilter_log.end_year(log, LoadOptions(year=2020)) is None


def test_a_compressed_log_is_searched_for_its_last_line_once_and_its_year_still_moves(tmp_path, monkeypatch):
    """Finding a gzipped log's last line decompresses all of it: kept beside the day splits, keyed by the file's
    identity, so later opens (cached rollups) skip it; the year it gives still follows today's date."""
    log = tmp_path / "kern.log.gz"
    log.write_bytes(gzip.compress((TCP_LINE.replace("Feb  6", "Dec 10") + "\n").encode()))
    searched: list[str] = []
    real = netfilter_log.last_month_day
    monkeypatch.setattr(netfilter_log, "last_month_day", lambda path: searched.append(str(path)) or real(path))
    monkeypatch.setattr(netfilter_log, "today", lambda: (2025, 12, 20))
    assert days(log, tmp_path / "cache") == ["2025-12-10"]
    assert len(searched) == 1
    assert days(log, tmp_path / "cache") == ["2025-12-10"]
    monkeypatch.setattr(netfilter_log, "today", lambda: (2026, 12, 20))
    assert days(log, tmp_path / "cache") == ["2026-12-10"]
    assert len(searched) == 1  # the kept last day, read again under a new date
    assert list((tmp_path / "cache" / "days" / rollup_keys.LOG_ENDS).glob("*.json"))
    log.write_bytes(gzip.compress((TCP_LINE.replace("Feb  6", "Nov 30") + "\n").encode()))  # the file changed
    assert days(log, tmp_path / "cache") == ["2026-11-30"]
    assert len(searched) == 2


@pytest.mark.parametrize("argv", [["info", "--json"], ["scanners", "--json"], ["collab", "--json"], ["rollup", "--json"],
                                  ["ingest", "-o", "OUT"]])
def test_a_guessed_year_is_said_once_on_stderr(tmp_path, monkeypatch, argv):
    """Without --year a yearless syslog LOG input's year is a guess: one note on stderr names the file, the year
    taken and --year (stdout stays one JSON document); with --year, or with ISO times, nothing is said."""
    import json

    from clihelp import run_captured

    monkeypatch.setattr(netfilter_log, "today", lambda: (2026, 12, 20))
    log = tmp_path / "kern.log"
    log.write_text(TCP_LINE.replace("Feb  6", "Dec 10") + "\n")
    iso = tmp_path / "iso.log"
    iso.write_text(TCP_LINE.replace("Feb  6 10:00:01", "2026-02-06T10:00:01+00:00") + "\n")
    argv = [str(tmp_path / "o.parquet") if a == "OUT" else a for a in argv]
    for n, (paths, extra, said) in enumerate([([log, iso], [], 1), ([log], ["--year", "2025"], 0), ([iso], [], 0)]):
        (tmp_path / "o.parquet").unlink(missing_ok=True)
        proc = run_captured([argv[0], *map(str, paths), *argv[1:], *extra], SCANTUI_CACHE_DIR=str(tmp_path / f"c{n}"))
        assert proc.returncode == 0, proc.stderr
        if "--json" in argv:
            json.loads(proc.stdout)
        notes = [line for line in proc.stderr.splitlines() if "carry no year" in line]
        assert len(notes) == said, proc.stderr
        if said:
            assert notes[0].startswith("scantui: note: ") and f"{log.name}: " in notes[0] and iso.name not in notes[0]
            assert "2026 taken for its last line" in notes[0] and "--year N" in notes[0]
            assert "carry no year" not in proc.stdout


@pytest.mark.parametrize("year", ["0", "10000", "-5"])
def test_a_year_out_of_range_is_a_usage_error_not_the_files(tmp_path, year):
    """--year 0 was the LOG file's error ('line 1: bad value 0-02-06T...'): the option is at fault, not the file."""
    from clihelp import run_captured

    log = tmp_path / "kern.log"
    log.write_text(TCP_LINE + "\n")
    proc = run_captured(["info", str(log), "--year", year, "--json"], SCANTUI_CACHE_DIR=str(tmp_path / "c"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("scantui: error: Invalid value for '--year'") and "kern.log" not in proc.stderr
