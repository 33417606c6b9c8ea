"""Every writer goes through one atomic write and one lock (scantui.fsutil, scantui.lock).

For each writer, a failure between writing the temporary file and renaming it
(the disk fails the fsync of the temporary) leaves the old file exactly as it
was and no temporary behind; a process killed at that moment leaves the old
file too. The lock is shared by processes, and nothing imports fcntl at load.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from scantui import fsutil
from scantui.errors import InputError
from scantui.lock import FileLock, lock_path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "telescope.parquet"
SRC = ROOT / "src"


def fail_temporary_fsyncs(monkeypatch) -> None:
    """From now on the disk fails to flush any temporary file or folder (the helper's last step before the rename)."""
    real = fsutil.fsync_path

    def fsync_path(path):
        if any(fsutil.TMP_MARK in part for part in Path(path).parts):
            raise OSError(errno.EIO, "Input/output error")
        real(path)

    monkeypatch.setattr(fsutil, "fsync_path", fsync_path)


@pytest.fixture
def failing_disk(monkeypatch):
    fail_temporary_fsyncs(monkeypatch)


def listing(folder: Path) -> dict[str, bytes | None]:
    """Every entry below *folder* with its bytes (None for a folder)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


# -- the helper itself --------------------------------------------------------------


def test_an_exception_in_the_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with fsutil.atomic_path(target) as tmp:
            tmp.write_bytes(b"half of the new")
            raise RuntimeError("crash mid-write")
    assert listing(tmp_path) == {"out.bin": b"old"}


def test_a_folder_replaces_a_folder_and_a_failed_one_leaves_it(tmp_path):
    target = tmp_path / "tree"
    (target / "a").mkdir(parents=True)
    (target / "a" / "x").write_bytes(b"old")
    with fsutil.atomic_path(target) as tmp:
        (tmp / "b").mkdir(parents=True)
        (tmp / "b" / "y").write_bytes(b"new")
    assert listing(tmp_path) == {"tree": None, "tree/b": None, "tree/b/y": b"new"}
    with pytest.raises(KeyboardInterrupt):
        with fsutil.atomic_path(target) as tmp:
            (tmp / "c").mkdir(parents=True)
            raise KeyboardInterrupt
    assert listing(tmp_path) == {"tree": None, "tree/b": None, "tree/b/y": b"new"}


def test_a_new_file_gets_the_mode_asked_for(tmp_path):
    target = tmp_path / "private"
    fsutil.write_bytes_atomic(target, b"x", mode=0o600)
    assert target.stat().st_mode & 0o777 == 0o600 and target.read_bytes() == b"x"


# -- each writer, the disk failing before the rename ---------------------------------


def test_labels_save(tmp_path, failing_disk):
    from scantui.labels import Group, LabelsStore

    path = tmp_path / "labels.yaml"
    path.write_text("scantui_labels: 1\ngroups: []\n")
    os.chmod(path, 0o640)
    store = LabelsStore.load(path)
    store.add(Group(id="G1", members=("192.0.2.1",)))
    before = listing(tmp_path)
    with pytest.raises(Exception, match="cannot write"):
        store.save()
    after = {k: v for k, v in listing(tmp_path).items() if k != "labels.yaml.lock"}
    assert after == before  # no .bak either: it too is written atomically, and failed
    assert path.stat().st_mode & 0o777 == 0o640


def test_labels_save_keeps_the_mode_and_the_bak(tmp_path):
    from scantui.labels import Group, LabelsStore

    path = tmp_path / "labels.yaml"
    old = "scantui_labels: 1\ngroups: []\n"
    path.write_text(old)
    os.chmod(path, 0o640)
    store = LabelsStore.load(path)
    store.add(Group(id="G1", members=("192.0.2.1",)))
    store.save()
    assert "G1" in path.read_text() and (tmp_path / "labels.yaml.bak").read_text() == old
    assert path.stat().st_mode & 0o777 == 0o640
    assert not [p for p in tmp_path.iterdir() if fsutil.TMP_MARK in p.name]


def test_enrichment_table(tmp_path, failing_disk):
    from scantui.enrich.table import TABLE_SCHEMA, write_table

    out = tmp_path / "enrich.parquet"
    out.write_bytes(b"old table")
    df = pl.DataFrame({"src": [1], "day": [None]}, schema={"src": pl.UInt32(), "day": pl.Date()})
    df = df.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in TABLE_SCHEMA.items() if c not in df.columns)
    with pytest.raises(OSError):
        write_table(df, out)
    assert listing(tmp_path) == {"enrich.parquet": b"old table"}


@pytest.mark.parametrize("partition_by", [None, "day"])
def test_io_write_parquet(tmp_path, failing_disk, canonical_df, partition_by):
    from scantui.io.write import write_parquet

    out = tmp_path / "out"
    if partition_by:
        (out / "day=2024-01-01").mkdir(parents=True)
        (out / "day=2024-01-01" / "old.parquet").write_bytes(b"old")
    else:
        out.write_bytes(b"old")
    before = listing(tmp_path)
    with pytest.raises(OSError):
        write_parquet(canonical_df.lazy(), out, partition_by=partition_by)
    assert listing(tmp_path) == before


def test_rollup_meta(tmp_path, failing_disk):
    from scantui.analysis import rollup as ru

    (tmp_path / ru.META).write_text('{"old": true}\n')
    with pytest.raises(OSError):
        ru.write_meta(tmp_path, {"new": True})
    assert listing(tmp_path) == {ru.META: b'{"old": true}\n'}


def test_rollup_cache_rebuild(tmp_path, monkeypatch, canonical_df):
    from scantui.analysis import rollup_cache as rc
    from scantui.analysis.rollup_keys import CACHE_ENV
    from scantui.io.loader import open_inputs

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    packets = tmp_path / "packets.parquet"
    canonical_df.write_parquet(packets)
    first = rc.open_rollup(open_inputs([packets]))
    before = listing(tmp_path / "cache")
    fail_temporary_fsyncs(monkeypatch)
    with pytest.raises(OSError):
        rc.open_rollup(open_inputs([packets]), rebuild=True)
    assert listing(tmp_path / "cache") == before
    assert rc.load_rollup(first.path).meta == first.meta


def test_sample_generate(tmp_path, failing_disk):
    from scantui.sample.generate import generate

    (tmp_path / "telescope.parquet").write_bytes(b"old table")
    (tmp_path / "truth.json").write_text("{}\n")
    with pytest.raises(OSError):
        generate(tmp_path, seed=11, days=14, scale=0.2, cuts=False)
    assert listing(tmp_path) == {"telescope.parquet": b"old table", "truth.json": b"{}\n"}


@pytest.mark.parametrize("writer", ["pcap", "pcapng", "log", "csv"])
def test_sample_cut_writers(tmp_path, failing_disk, writer):
    from scantui.sample import writers

    rows = pl.read_parquet(SAMPLE).head(20).to_dicts()
    out = tmp_path / f"cut.{writer}"
    out.write_bytes(b"old cut")
    with pytest.raises(OSError):
        if writer == "pcap":
            writers.write_pcap(out, rows, [])
        elif writer == "pcapng":
            writers.write_pcapng(out, rows, [])
        elif writer == "log":
            writers.write_log(out, rows, 0)
        else:
            writers.write_csv(out, rows)
    assert listing(tmp_path) == {out.name: b"old cut"}


# -- a process killed between the temporary and the rename ---------------------------

_KILLED = textwrap.dedent("""\
    import os, sys
    from pathlib import Path
    from scantui import fsutil
    real = fsutil.fsync_path
    def fsync_path(path):
        if fsutil.TMP_MARK in Path(path).name:
            os._exit(9)  # killed: the temporary is written, the rename never happens
        real(path)
    fsutil.fsync_path = fsync_path
    {body}
    """)


def _killed(body: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-c", _KILLED.format(body=body), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_killed_labels_save_leaves_the_old_file(tmp_path):
    path = tmp_path / "labels.yaml"
    old = "scantui_labels: 1\ngroups: []\n"
    path.write_text(old)
    body = ("from scantui.labels import Group, LabelsStore\n"
            "s = LabelsStore.load(Path(sys.argv[1])); s.add(Group(id='G1', members=('192.0.2.1',))); s.save()")
    proc = _killed(body, str(path))
    assert proc.returncode == 9, proc.stderr
    assert path.read_text() == old
    from scantui.labels import LabelsStore

    assert LabelsStore.load(path).groups == []
    # what is left is hidden and never read
    assert all(p.name.startswith(".") for p in tmp_path.iterdir() if p.name not in ("labels.yaml", "labels.yaml.lock"))


def test_killed_parquet_write_leaves_the_old_file(tmp_path, canonical_parquet):
    out = tmp_path / "out.parquet"
    out.write_bytes(b"old")
    body = ("import polars as pl\nfrom scantui.io.write import write_parquet\n"
            "write_parquet(pl.scan_parquet(sys.argv[1]), Path(sys.argv[2]))")
    proc = _killed(body, str(canonical_parquet), str(out))
    assert proc.returncode == 9, proc.stderr
    assert out.read_bytes() == b"old"


# -- the lock ------------------------------------------------------------------------

_HOLD = textwrap.dedent("""\
    import sys
    from pathlib import Path
    from scantui.lock import FileLock
    with FileLock(Path(sys.argv[1])):
        print("locked", flush=True)
        sys.stdin.read()  # until the test closes our stdin
    """)


def _holder(lock: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(lock)], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_the_lock_is_shared_by_processes(tmp_path):
    lock = lock_path(tmp_path / "target")
    assert lock.name == "target.lock"
    proc = _holder(lock)
    try:
        with pytest.raises(InputError, match=r"locked by another writer for over 0.2 s"):
            with FileLock(lock, timeout=0.2):
                pass
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    with FileLock(lock, timeout=2):
        assert lock.exists()
    assert lock.exists()  # never deleted


def test_the_enrich_cache_waits_for_the_same_lock(tmp_path):
    from scantui.enrich.cache import AnswerCache

    path = tmp_path / "enrich.sqlite"
    proc = _holder(lock_path(path))
    try:
        with pytest.raises(InputError, match="locked by another writer"):
            AnswerCache(path, timeout=0.2)
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    with AnswerCache(path, timeout=2) as cache:
        assert cache.count() == 0


def test_no_writer_imports_fcntl_at_load():
    code = ("import sys; sys.modules['fcntl'] = None\n"  # as on Windows: importing it fails
            "import scantui.lock, scantui.labels.files, scantui.labels.store, scantui.enrich.cache, scantui.io.write\n"
            "print('ok')")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
