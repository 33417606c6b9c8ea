"""A damaged cache file (cut short, its footer overwritten) is one error line naming it; its entry is set aside and
the next command builds it anew, with the same output as before the damage (:mod:`scantui.analysis.cache_damage`).
Real rollups of a slice of the sample data, real files cut on disk."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from clihelp import SAMPLE, run
from scantui.analysis import cache_damage as cd

ROOT = Path(__file__).resolve().parents[1]
DAYS = (dt.date(2024, 2, 3), dt.date(2024, 2, 4), dt.date(2024, 2, 5))


@pytest.fixture
def data(tmp_path, monkeypatch) -> tuple[str, Path]:
    """Three days of the sample in one file, and this test's own cache (damaged here: not the session's)."""
    path = tmp_path / "three.parquet"
    (pl.scan_parquet(SAMPLE).filter(pl.col("ts").dt.date().is_in(DAYS)).head(60_000).collect().write_parquet(path))
    cache = tmp_path / "cache"
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(cache))
    cd._ROOTS.clear()
    cd._RECENT = None
    gc.collect()  # earlier tests' data sets, whose files may be gone: a changed input would explain the failure first
    return str(path), cache


def _rollup(path: str, capsys) -> Path:
    code, out, err = run(["rollup", path, "--json"], capsys)
    assert code == 0, err
    return Path(json.loads(out)["path"])


def _cut(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def _one_error(code: int, out: str, err: str) -> str:
    assert (code, out, err.count("\n")) == (2, "", 1), (code, out, err)
    assert err.startswith("scantui: error: "), err
    return err[len("scantui: error: "):].rstrip("\n")


def test_a_day_states_packet_file_cut_short_is_named_set_aside_and_built_again(data, capsys):
    path, cache = data
    day = DAYS[1].isoformat()
    command = ["packets", path, "--day", day, "--json", "--limit", "100000"]
    code, before, err = run(command, capsys)
    assert code == 0, err
    (state,) = (cache / "days" / "state").glob(f"{day}-*")
    (part,) = (state / "packets").glob("*.parquet")
    size = part.stat().st_size // 2
    _cut(part, size)

    message = _one_error(*run(command, capsys))
    assert message == (f"{part}: a damaged cache file: cut short or overwritten ({size:,} bytes, no Parquet end marker); "
                       f"set aside day state {state.name}: opening the data again builds it anew")
    assert not state.exists()
    assert [p.name for p in state.parent.iterdir() if p.name.startswith(".")] == [f".{state.name}.damaged"]

    code, out, err = run(["rollup", path], capsys)  # the rollup is reused; the day built again
    assert code == 0, err
    assert err.splitlines()[0].startswith(f"built day {day} (") and err.splitlines()[-1].endswith(
        ": unchanged (built 1 day state again)"), err
    assert (state / "state.json").is_file() and not [p for p in state.parent.iterdir() if p.name.startswith(".")]
    code, after, err = run(command, capsys)
    assert (code, after) == (0, before), err


def test_a_rollup_table_cut_short_sets_the_rollup_aside_and_the_next_command_builds_it(data, capsys):
    path, cache = data
    command = ["scanners", path, "--json"]
    code, before, err = run(command, capsys)
    assert code == 0, err
    rollup = _rollup(path, capsys)
    table = rollup / "src_totals.parquet"
    size = table.stat().st_size - 3
    _cut(table, size)  # its end marker cut off

    message = _one_error(*run(command, capsys))
    assert message == (f"{table}: a damaged cache file: cut short or overwritten ({size:,} bytes, no Parquet end marker); "
                       f"set aside rollup {rollup.name}: opening the data again builds it anew")
    assert not rollup.exists()
    code, after, err = run(command, capsys)
    assert (code, after) == (0, before), err
    assert rollup.is_dir()


def test_what_each_check_finds(tmp_path):
    good = tmp_path / "good.parquet"
    pl.DataFrame({"a": range(1000), "b": ["x"] * 1000}).write_parquet(good)
    data = good.read_bytes()
    footer = int.from_bytes(data[-8:-4], "little")
    assert cd.damage(good) is None

    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[:-1])
    assert cd.damage(cut) == f"cut short or overwritten ({len(data) - 1:,} bytes, no Parquet end marker)"
    lying = tmp_path / "lying.parquet"  # the footer's length past the file's start
    lying.write_bytes(data[:4] + (len(data)).to_bytes(4, "little") + b"PAR1")
    assert cd.damage(lying) == "cut short (12 bytes, less than its footer says)"
    garbled = tmp_path / "garbled.parquet"  # both markers and the length intact, the footer overwritten
    start = len(data) - 8 - footer
    garbled.write_bytes(data[:start + 4] + b"\xab" * (footer - 8) + data[-12:])
    assert cd.damage(garbled).startswith("its footer does not read (")
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert cd.damage(empty) == "cut short or overwritten (0 bytes, no Parquet end marker)"
    for name in ("gone.parquet", "gone.json"):  # removed between the listing and the read (a sweep beside): not damage
        assert cd.damage(tmp_path / name) is None
    index = tmp_path / "index.json"
    index.write_text('{"days": ["2024-02-03"]}')
    assert cd.damage(index) is None
    index.write_text('{"days": ["2024-02-03"')
    assert cd.damage(index) == f"not valid JSON at line 1 ({index.stat().st_size} bytes: cut short or overwritten)"


def test_each_kind_of_entry_is_set_aside_whole_and_only_it(tmp_path):
    top = tmp_path / "cache"
    good = pl.DataFrame({"a": [1]})
    files = {
        "rollups/r1/port_day/range-0.parquet": "rollup r1",
        "days/state/2024-02-03-ab/packets/part-00000.parquet": "day state 2024-02-03-ab",
        "days/inputs/c0ffee/day=2024-02-03/00000000.parquet": "day split c0ffee",
        "decoded/k3.parquet": "decoded copy k3.parquet",
    }
    for name in [*files, "rollups/r2/src_totals.parquet", "days/state/2024-02-04-cd/port_day.parquet"]:
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        good.write_parquet(top / name)
    for name in files:
        _cut(top / name, 5)
    (top / "rollups" / ".r9.tmp").mkdir()  # a build's temporary: never checked
    (top / "rollups" / ".r9.tmp" / "x.parquet").write_bytes(b"half")
    cd.track(top)
    try:
        err = cd.damaged_cache_error()
    finally:
        cd._ROOTS.clear()
    assert err is not None
    first = top / "rollups" / "r1" / "port_day" / "range-0.parquet"
    assert err.message == (f"{first}: a damaged cache file (and 3 more): cut short or overwritten (5 bytes, no Parquet "
                           f"end marker); set aside {', '.join(files.values())}: opening the data again builds them anew")
    assert cd._entries(["day state 2024-02-05-ab", "rollup r1", "day state 2024-02-03-cd", "day state 2024-02-04-ef",
                        "decoded copy k.parquet", "decoded copy j.parquet"]) == \
        "rollup r1, 3 day states (2024-02-03 to 2024-02-05), 2 decoded copies"
    for name, what in files.items():
        assert what in err.message
        assert not (top / name).exists()
    assert (top / "rollups" / "r2" / "src_totals.parquet").is_file()
    assert (top / "days" / "state" / "2024-02-04-cd" / "port_day.parquet").is_file()
    assert (top / "rollups" / ".r9.tmp" / "x.parquet").is_file()
    leftovers = [p.relative_to(top).as_posix() for p in top.rglob("*") if "damaged" in p.name]
    assert leftovers == ["days/state/.2024-02-03-ab.damaged"]  # the mark: built again by the next open


def test_no_damage_found_keeps_polars_own_line_and_sets_nothing_aside(data, capsys):
    """Damage inside a data page under an intact footer: not found (no page checksums); polars' own error, nothing
    removed."""
    path, cache = data
    rollup = _rollup(path, capsys)
    table = rollup / "src_totals.parquet"
    raw = bytearray(table.read_bytes())
    raw[4:len(raw) // 2] = b"\xff" * (len(raw) // 2 - 4)  # the pages overwritten, the footer kept
    table.write_bytes(bytes(raw))
    assert cd.damage(table) is None
    assert cd.damaged_cache_error() is None
    assert table.is_file() and rollup.is_dir()


def test_a_cache_write_stopped_short_names_the_cache_not_the_input_and_leaves_nothing(data):
    """Polars' write error names no file ("File too large (os error 27)", as a full disk's "(os error 28)"): it was
    said as the input's ("unreadable data"). A real kernel limit in a process of its own: RLIMIT_FSIZE (no mount)."""
    path, cache = data
    script = ("import resource, signal, sys\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))\n"
              "from scantui.cli.main import main\n"
              f"main(['scanners', {path!r}])\n")
    env = {**os.environ, "SCANTUI_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT / "src")}
    env.pop("SCANTUI_DEBUG", None)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr == (f"scantui: error: {cache}: cannot write the cache: File too large; a limit on file sizes "
                           "(ulimit -f) stopped it\n")
    assert [p for p in cache.rglob("*") if p.is_file()] == []  # the build's temporaries removed as it failed


def test_reads_failing_on_the_same_damage_at_once_say_the_same(data, monkeypatch):
    """The TUI reads several tables at once: the first failure finds the damage and sets it aside, the others (on
    the same files, before that) find nothing left, and said polars' line. Now they say the first one's error."""
    path, cache = data
    rollup = Path(json.loads(_cli(["rollup", path, "--json"]))["path"])
    table = rollup / "src_totals.parquet"
    _cut(table, table.stat().st_size - 3)
    failures = []
    for _ in range(2):
        with pytest.raises(pl.exceptions.PolarsError) as caught:
            pl.read_parquet(table)
        failures.append(caught.value)
    first = cd.read_failure(failures[0])
    assert first is not None and "set aside rollup" in first.message and not rollup.exists()
    assert cd.read_failure(failures[1]) is first
    assert cd.read_failure(pl.exceptions.ComputeError("cannot compare string with numeric type")) is None  # another cause
    assert cd.read_failure(pl.exceptions.ComputeError("parquet: File out of specification")) is first  # meanwhile
    cd.track(cache)  # the data opened again (the rollup built anew): its reads fail on something else now
    assert cd.read_failure(pl.exceptions.ComputeError("parquet: File out of specification")) is None
    cd._RECENT = (time.monotonic(), first)
    monkeypatch.setattr(cd, "RECENT_S", 0.0)
    assert cd.read_failure(pl.exceptions.ComputeError("parquet: File out of specification")) is None  # long after


def _cli(argv: list[str]) -> str:
    from clihelp import run_captured

    proc = run_captured(argv)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_cut_index_of_an_input_split_is_named_and_the_input_split_again(data, tmp_path, capsys):
    """A JSON index cut short was an internal error (``JSONDecodeError``, exit 70) on every later build."""
    path, cache = data
    code, _, err = run(["rollup", path], capsys)
    assert code == 0, err
    (split,) = (cache / "days" / "inputs").iterdir()
    index = split / "index.json"
    index.write_text("{")
    other = tmp_path / "other.parquet"  # another input: the build reads the first one's split index
    pl.read_parquet(path).head(100).with_columns(pl.col("src") + 1).write_parquet(other)

    message = _one_error(*run(["rollup", path, str(other)], capsys))
    assert message == (f"{index}: a damaged cache file: not valid JSON at line 1 (1 bytes: cut short or overwritten); "
                       f"set aside day split {split.name}: opening the data again builds it anew")
    assert not split.exists()
    code, _, err = run(["rollup", path, str(other)], capsys)
    assert code == 0, err
    days = pl.read_parquet(path)["ts"].dt.date().unique().sort()
    assert json.loads(index.read_text())["days"] == [d.isoformat() for d in days]  # split again


def test_rollup_check_reads_every_cache_file_and_builds_what_it_set_aside(data, capsys):
    """``scantui rollup --check`` after a crash or a restore: every Parquet and JSON file of the cache read, the damaged
    entries set aside and built anew by the same command; nothing said damaged in a sound cache."""
    path, cache = data
    code, before, err = run(["scanners", path, "--json"], capsys)
    assert code == 0, err
    code, out, err = run(["rollup", path, "--check", "--json"], capsys)
    assert code == 0, err
    checked = json.loads(out)["checked"]
    assert checked["files"] > 20 and (checked["damaged"], checked["set_aside"]) == ([], [])
    code, _, err = run(["rollup", path, "--check"], capsys)
    assert code == 0 and re.fullmatch(rf"{checked['files']:,} cache files checked: none damaged \(\d+\.\d s\)",
                                      err.splitlines()[0]), err
    rollup = Path(json.loads(out)["path"])
    (state, *_) = sorted((cache / "days" / "state").iterdir())
    _cut(state / "src_dsts.parquet", 100)
    (rollup / "meta.json").write_text("{")

    code, out, err = run(["rollup", path, "--check"], capsys)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[:2] == [f"damaged: {rollup / 'meta.json'}: not valid JSON at line 1 (1 bytes: cut short or overwritten)",
                         f"damaged: {state / 'src_dsts.parquet'}: cut short or overwritten (100 bytes, no Parquet end "
                         "marker)"]
    assert re.fullmatch(rf"{checked['files']:,} cache files checked: 2 damaged: set aside rollup {rollup.name}, day "
                        rf"state {state.name}, built anew by this and later commands \(\d+\.\d s\)", lines[2]), lines[2]
    held = pl.read_parquet(path)["ts"].dt.date().n_unique()
    assert f"built day {state.name[:10]} (" in err and lines[-1].endswith(
        f"built 0 inputs and 1 day, reused 1 input and {held - 1} day{'' if held == 2 else 's'}"), err
    assert Path(out.strip()) == rollup and (rollup / "meta.json").is_file()
    code, after, err = run(["scanners", path, "--json"], capsys)
    assert (code, after) == (0, before), err
