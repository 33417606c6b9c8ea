"""The rollup cache: hits without a rescan, never stale, safe under concurrency and crashes."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from scantui.analysis import bursts as bw
from scantui.analysis import collab_burst_sums as cbs
from scantui.analysis import keyed_bursts as kb
from scantui.analysis import day_destinations as dd
from scantui.analysis import day_ports as dp
from scantui.analysis import day_protocols as dpr
from scantui.analysis import collab_sums as cs
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import port_sources as ps
from scantui.analysis import sensor_sources as ss
from scantui.analysis import rollup as ru
from scantui.analysis import rollup_cache as rc
from scantui.analysis import rollup_days as rd
from scantui.analysis import rollup_handle as rh
from scantui.analysis import rollup_keys as rk
from scantui.analysis import zmap_rollup as zr
from scantui.analysis.rollup_store import prune_cache
from scantui.io.loader import Dataset, open_inputs
from scantui.io.options import LoadOptions

ROOT = Path(__file__).resolve().parents[1]
PCAP_CUT = ROOT / "sample_data" / "cuts" / "telescope-cut.pcap"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(rk.CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def packets(tmp_path, canonical_df) -> Path:
    path = tmp_path / "packets.parquet"
    canonical_df.write_parquet(path)
    return path


def _finished(cache_dir: Path) -> list[Path]:
    root = cache_dir / "rollups"
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.exists() else []


def _leftovers(cache_dir: Path) -> list[Path]:
    root = cache_dir / "rollups"
    return sorted(p for p in root.iterdir() if p.name.startswith(".")) if root.exists() else []


class _Poisoned(Dataset):
    @property
    def lf(self) -> pl.LazyFrame:
        raise AssertionError("the packet table was opened")


def _poisoned(dataset: Dataset) -> Dataset:
    """The same inputs, but touching the packet table at all fails."""
    dataset.__class__ = _Poisoned
    return dataset


def test_builds_once_then_hits_without_rescanning(packets, cache_dir):
    first = rc.open_rollup(open_inputs([packets]))
    assert first.path.parent == cache_dir / "rollups"
    assert first.meta["inputs"][0]["path"] == str(packets.resolve())
    again = rc.open_rollup(_poisoned(open_inputs([packets])))
    assert again.path == first.path
    assert again.meta == first.meta
    assert again.port_day.collect().height == first.meta["rows"][ru.PORT_DAY]
    assert _leftovers(cache_dir) == []


def test_hit_reads_only_stat_and_the_edges(tmp_path, canonical_df):
    """Garbage in the middle of an input (same size, head, tail and mtime) goes unseen on a hit."""
    big = tmp_path / "big.parquet"
    pl.concat([canonical_df] * 20).write_parquet(big, compression="uncompressed")
    size = big.stat().st_size
    assert size > 4 * rk.EDGE_BYTES
    ds = open_inputs([big])
    first = rc.open_rollup(ds)
    st = big.stat()
    with open(big, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(b"\xff" * 4096)
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = rc.open_rollup(_poisoned(ds))
    assert again.path == first.path


def test_changed_inputs_rebuild(packets, cache_dir, canonical_df):
    first = rc.open_rollup(open_inputs([packets]))
    st = packets.stat()
    os.utime(packets, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touched: mtime only
    touched = rc.open_rollup(open_inputs([packets]))
    assert touched.path != first.path

    # same size and mtime, one byte changed: the edge hash catches it (a small file is hashed whole)
    st = packets.stat()
    data = bytearray(packets.read_bytes())
    data[len(data) // 2] ^= 0xFF
    packets.write_bytes(bytes(data))
    os.utime(packets, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert packets.stat().st_size == st.st_size
    key = rk.cache_key(rk.describe_inputs(open_inputs([packets])), LoadOptions(), 150)
    assert key not in (first.path.name, touched.path.name)

    # rewritten with other content: a third rollup, with the new numbers
    canonical_df.head(100).write_parquet(packets)
    changed = rc.open_rollup(open_inputs([packets]))
    assert changed.path not in (first.path, touched.path)
    assert changed.meta["packets"] == 100
    assert len(_finished(cache_dir)) == 3


def test_key_depends_on_options_and_threshold(packets):
    ds = open_inputs([packets])
    inputs = rk.describe_inputs(ds)
    base = rk.cache_key(inputs, LoadOptions(), 150)
    assert rk.cache_key(inputs, LoadOptions(chunk_records=10), 150) == base
    assert rk.cache_key(inputs, LoadOptions(sensor="x"), 150) != base
    assert rk.cache_key(inputs, LoadOptions(), 151) != base
    sensor = rc.open_rollup(open_inputs([packets], LoadOptions(sensor="x")), opts=LoadOptions(sensor="x"))
    plain = rc.open_rollup(ds)
    assert sensor.path != plain.path
    assert sensor.day_totals.collect()["sensor"].unique().to_list() == ["x"]


def test_rebuild_replaces_the_cached_rollup(packets, cache_dir):
    first = rc.open_rollup(open_inputs([packets]))
    stamp = first.meta["build_seconds"], (first.path / ru.META).stat().st_mtime_ns
    second = rc.open_rollup(open_inputs([packets]), rebuild=True)
    assert second.path == first.path
    assert (second.path / ru.META).stat().st_mtime_ns != stamp[1]
    assert len(_finished(cache_dir)) == 1 and _leftovers(cache_dir) == []


_WORKER = textwrap.dedent(
    """
    import sys
    from scantui.io.loader import open_inputs
    from scantui.analysis import rollup_cache as rc
    {patch}
    r = rc.open_rollup(open_inputs([sys.argv[1]]))
    print(r.path)
    """
)


def _worker(packets: Path, cache_dir: Path, patch: str = "") -> subprocess.Popen:
    env = {**os.environ, rk.CACHE_ENV: str(cache_dir)}
    code = _WORKER.format(patch=patch)
    return subprocess.Popen([sys.executable, "-c", code, str(packets)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_builders_both_end_with_a_valid_rollup(packets, cache_dir):
    # slow each build's commit a little so the two overlap
    patch = "import time; _b = rc.ru.build_rollup; rc.ru.build_rollup = lambda *a, **k: (time.sleep(0.5), _b(*a, **k))[1]"
    procs = [_worker(packets, cache_dir, patch) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    paths = {o[0].strip() for o in outs}
    assert len(paths) == 1
    assert _finished(cache_dir) == [Path(paths.pop())]
    assert _leftovers(cache_dir) == []
    rollup = rc.load_rollup(_finished(cache_dir)[0])
    assert rollup.port_day.select(pl.col("packets").sum()).collect().item() == pl.read_parquet(packets).height


def test_a_crashed_build_is_never_picked_up(packets, cache_dir):
    # the process dies (SIGKILL) after writing the tables, before meta.json and the rename
    patch = "import os, signal; rc.ru.write_meta = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)"
    proc = _worker(packets, cache_dir, patch)
    proc.communicate(timeout=60)
    assert proc.returncode == -9
    assert _finished(cache_dir) == [] and len(_leftovers(cache_dir)) == 1
    rollup = rc.open_rollup(open_inputs([packets]))
    assert rollup.meta["layout_version"] == ru.LAYOUT_VERSION
    leftovers = _leftovers(cache_dir)
    assert prune_cache(stale_tmp_hours=0) == leftovers
    assert _leftovers(cache_dir) == [] and _finished(cache_dir) == [rollup.path]


def test_a_failed_build_leaves_nothing(packets, cache_dir, monkeypatch):
    def fail(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ru, "write_meta", fail)
    with pytest.raises(RuntimeError):
        rc.open_rollup(open_inputs([packets]))
    assert _finished(cache_dir) == [] and _leftovers(cache_dir) == []


def test_a_final_folder_without_meta_is_rebuilt(packets, cache_dir):
    ds = open_inputs([packets])
    key = rk.cache_key(rk.describe_inputs(ds), LoadOptions(), 150)
    junk = cache_dir / "rollups" / key
    (junk / ru.PORT_DAY).mkdir(parents=True)
    (junk / ru.SRC_TOTALS).write_bytes(b"half written")
    rollup = rc.open_rollup(ds)
    assert rollup.path == junk
    assert rollup.src_totals.collect().height > 0


def test_pcap_input_reports_skipped_and_progress(cache_dir):
    messages = []
    rollup = rc.open_rollup(open_inputs([PCAP_CUT]), progress=lambda m, f: messages.append((m, f)))
    assert rollup.skipped == {"ipv6": 5, "non_ip": 3}
    assert rollup.meta["packets"] == 2643
    assert rollup.meta["inputs"][0]["format"] == "pcap"
    assert messages[0] == ("decoding packets", None) and messages[-1] == ("rollup done", 1.0)
    assert not any(p.name.endswith(".parquet") for p in (cache_dir / "rollups").iterdir())  # the decoded copy is gone
    fractions = [f for _, f in messages if f is not None]
    assert fractions == sorted(fractions)
    # the cache's rollups also keep the merged state the next rollup of more days extends
    assert sorted(p.name for p in rollup.path.iterdir()) == sorted([ru.DAY_TOTALS, rd.MERGE, ru.META, ru.PORT_DAY,
                                                                  ru.PORT_DAY_BY_PORT, ru.SRC_PROFILE, ru.SRC_TOTALS,
                                                                  rh.SESSIONS, cs.TABLE, zr.TABLE, fk.TABLE, bw.TABLE, dd.TABLE.table, dp.TABLE.table, dpr.TABLE.table, ps.FILE, ss.TABLE,
                                                                  cbs.TABLE.table, kb.FILE,
                                                                  "port_lists"])
    again = rc.open_rollup(_poisoned(open_inputs([PCAP_CUT])))
    assert again.path == rollup.path and again.skipped == rollup.skipped


def test_telescope_size_estimate(packets):
    rollup = rc.open_rollup(open_inputs([packets]))
    daily = pl.read_parquet(packets).group_by(pl.col("ts").dt.date()).agg(pl.col("dst").n_unique())
    assert rc.telescope_size_estimate(rollup) == int(daily["dst"].median())


def test_prune_removes_old_rollups_no_process_reads(packets, cache_dir):
    rollup = rc.open_rollup(open_inputs([packets]))
    assert prune_cache(max_age_days=1) == []
    old = rollup.path.stat().st_mtime - 3 * 86400
    os.utime(rollup.path, (old, old))
    assert prune_cache(max_age_days=1) == [] and (rollup.path / "meta.json").is_file()  # this handle reads it
    path = rollup.path
    del rollup
    gc.collect()
    assert prune_cache(max_age_days=1) == [path]
    assert not path.exists() and not [p for p in path.parent.iterdir() if p.name.startswith(".")]


def test_an_older_layout_is_never_served(packets, cache_dir, monkeypatch):
    """A rollup of layout 1 (no ``src_profile``) is neither found under the new key nor accepted at it."""
    with monkeypatch.context() as mp:  # not monkeypatch.undo(): that drops the test's cache folder too
        mp.setattr(ru, "LAYOUT_VERSION", 1)
        old = rc.open_rollup(open_inputs([packets]))
    new = rc.open_rollup(open_inputs([packets]))
    assert new.path != old.path and new.meta["layout_version"] == ru.LAYOUT_VERSION
    assert new.src_profile.collect().height > 0
    meta = ru.read_meta(new.path) | {"layout_version": 1}
    ru.write_meta(new.path, meta)  # an old build at the new key: rebuilt, not served
    assert rc.open_rollup(open_inputs([packets])).meta["layout_version"] == ru.LAYOUT_VERSION


def test_a_one_day_rollup_says_day_not_days(tmp_path, capsys, monkeypatch):
    from canonical import make_canonical
    from clihelp import run

    path = tmp_path / "one.parquet"
    make_canonical(n=500, days=1).write_parquet(path)
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    code, _out, err = run(["rollup", str(path)], capsys)
    assert code == 0
    assert "rollup of 1 day, 500 packets: built 1 input and 1 day, reused 0 inputs and 0 days" in err
    assert "merged rollup of 1 day" in err and "1 days" not in err
