"""``scantui`` as a real process behind real pipes: one-line messages, tables, closed pipes, write errors.

Every run is a subprocess with stdout/stderr on pipes (never a terminal), with ``COLUMNS``
unset or narrow, so what is asserted is what a script or ``| head`` sees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import scantui

SRC = str(Path(scantui.__file__).resolve().parents[1])

LABELS = """\
scantui_labels: 1
groups:
  - id: G01
    title: "collaborative scan of the telescope from two providers, long enough to wrap at forty columns"
    verdict: collaborative
    members: [192.0.2.10, 192.0.2.11, 198.51.100.0/28]
    ports: [8080, 8081]
    tags: [hosting]
  - id: G02
    title: "second"
    verdict: unsure
    members: [203.0.113.7]
"""


def scantui_proc(args, *, columns: str | None = None, stdout=subprocess.PIPE, extra_env=None):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(extra_env or {}, PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""))
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.Popen([sys.executable, "-m", "scantui", *args], stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE, env=env)


def scantui_run(args, *, columns: str | None = None, timeout: float = 120):
    proc = scantui_proc(args, columns=columns)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def deep_labels(tmp_path):
    """A labels file behind a path far longer than any terminal line."""
    folder = tmp_path.joinpath(*[f"a-rather-long-folder-name-{i:02d}" for i in range(8)])
    folder.mkdir(parents=True)
    path = folder / "labels.yaml"
    path.write_text(LABELS)
    assert len(str(path)) > 250
    return path


# ---------------------------------------------------------------- item 1: nothing wrapped


@pytest.mark.parametrize("columns", [None, "40"])
def test_messages_on_stderr_are_one_line_whatever_the_width(deep_labels, columns):
    code, out, err = scantui_run(["labels", "validate", str(deep_labels)], columns=columns)
    assert code == 0 and out == ""
    assert err == f"{deep_labels}: valid, 2 groups, 4 members\n"
    missing = deep_labels.with_name("missing-" + "x" * 80 + ".yaml")
    code, out, err = scantui_run(["labels", "list", str(missing)], columns=columns)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("scantui: error: ") and str(missing) in err


@pytest.mark.parametrize("columns", [None, "40"])
def test_a_piped_table_never_folds_a_cell(deep_labels, columns):
    code, out, err = scantui_run(["labels", "list", str(deep_labels)], columns=columns)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "labels"
    row = next(line for line in lines if "G01" in line)
    assert "collaborative scan of the telescope from two providers, long enough to wrap at forty columns" in row
    assert "collaborative" in row.split("│")[3]  # the verdict cell, whole
    assert len({len(line) for line in lines[1:]}) == 1  # one table, every line the same width


# ---------------------------------------------------------------- item 20: closed pipes, bare scantui


def test_bare_scantui_prints_the_help():
    code, out, err = scantui_run([])
    assert code == 0 and err == ""
    assert out.startswith("Usage: scantui") and "scanners" in out


def test_no_help_shows_docstring_markup():
    """Every command's and subcommand's --help is plain text: a docstring's ``code`` (RST) showed its backquotes
    doubled (``scantui lists --help``)."""
    import click

    from scantui.cli.main import cli

    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    seen = 0
    for path, command in walk(cli, []):
        with click.Context(command, info_name=" ".join(["scantui", *path])) as ctx:
            text = command.get_help(ctx)
        seen += 1
        for markup in ("``", ":func:", ":mod:", ":class:", ":data:"):
            assert markup not in text, (path, markup)
    assert seen > 20


def _read_one_line_and_close(proc) -> tuple[bytes, int, str]:
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return first, proc.wait(timeout=120), err


def test_csv_into_a_pipe_closed_after_one_line_ends_quietly(canonical_parquet, tmp_path):
    """``scantui scanners ... --csv | head -1``: exit 0 (or SIGPIPE's 141), nothing on stderr."""
    proc = scantui_proc(["scanners", str(canonical_parquet), "--csv"], extra_env={"SCANTUI_CACHE_DIR": str(tmp_path / "cache")})
    first, code, err = _read_one_line_and_close(proc)
    assert first.startswith(b"src,packets,")
    assert code in (0, 141)
    assert all(line.startswith("scantui: note: ") for line in err.splitlines()), err  # no traceback, no "Exception ignored"


@pytest.mark.parametrize("args", [["labels", "list", "{labels}", "--csv"], ["labels", "list", "{labels}"],
                                  ["labels", "list", "{labels}", "--json"], ["--help"]])
def test_output_into_an_already_closed_pipe_ends_quietly(deep_labels, args):
    """A small output is written at exit: the broken pipe must not surface there either."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = scantui_proc([a.format(labels=deep_labels) for a in args], stdout=write)
    finally:
        os.close(write)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) in (0, 141)
    assert err == ""


# ---------------------------------------------------------------- item 28: read-only and full file systems


def _can_mount() -> str | None:
    """None when a private mount namespace with a tmpfs works here, else why not."""
    if not shutil.which("unshare") or not shutil.which("mount"):
        return "unshare or mount is not installed"
    try:
        done = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && mount -o remount,ro /mnt"],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    return None if done.returncode == 0 else f"no private tmpfs mount here: {done.stderr.decode().strip()}"


def in_tmpfs(tmp_path, script: str, *, read_only: bool) -> subprocess.CompletedProcess:
    """Run *script* (sh) with ``$FS`` a fresh 64 KiB tmpfs (read-only when asked), in a private mount namespace."""
    why = _can_mount()
    if why:
        pytest.skip(why)
    fs = tmp_path / "fs"
    fs.mkdir()
    mount = f"mount -t tmpfs -o size=64k tmpfs {fs}" + (f" && mount -o remount,ro {fs}" if read_only else "")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update(PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""), FS=str(fs), PY=sys.executable,
               SCANTUI_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.run(["unshare", "-rm", "sh", "-c", f"{mount} && {script}"], capture_output=True, env=env,
                          timeout=300, cwd=tmp_path)


def test_output_on_a_read_only_file_system_names_the_file(tmp_path, canonical_parquet):
    done = in_tmpfs(tmp_path, f'$PY -m scantui ingest {canonical_parquet} -o "$FS/out.parquet"; echo "rc=$?";'
                              f'$PY -m scantui sample "$FS/demo"; echo "rc=$?"', read_only=True)
    fs = tmp_path / "fs"
    assert done.stdout.decode().split() == ["rc=2", "rc=2"], done.stderr
    assert done.stderr.decode().splitlines() == [
        f"scantui: error: {fs}/out.parquet: cannot write: Read-only file system",
        f"scantui: error: {fs}/demo: cannot write: Read-only file system",
    ]


def test_a_full_disk_names_the_file_and_stdout(tmp_path, canonical_parquet):
    done = in_tmpfs(tmp_path, 'dd if=/dev/zero of="$FS/fill" bs=1024 count=100 2>/dev/null;'
                              f'$PY -m scantui ingest {canonical_parquet} -o "$FS/out.parquet"; echo "rc=$?";'
                              f'$PY -m scantui scanners {canonical_parquet} --json > "$FS/list.json"; echo "rc=$?"',
                    read_only=False)
    fs = tmp_path / "fs"
    assert done.stdout.decode().split() == ["rc=2", "rc=2"], done.stderr
    errors = [line for line in done.stderr.decode().splitlines() if not line.startswith("scantui: note: ")]
    assert errors == [
        f"scantui: error: {fs}/out.parquet: cannot write: No space left on device",
        "scantui: error: <stdout>: cannot write: No space left on device",
    ]
