"""Decoded once: a pcap is decoded into the cache by the first rollup, and every later read
(collab, detail, track) scans that Parquet copy instead of decoding the capture again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pcapbuild import Rec, ether, ipv4, tcp, write_pcap
from scantui.analysis import collab as cb
from scantui.analysis import detail
from scantui.analysis import rollup_cache as rc
from scantui.analysis import rollup_keys as rk
from scantui.analysis.rollup_store import prune_cache
from scantui.analysis.tracking import track_group
from scantui.cli.collab_cmds import run_collab
from scantui.io import loader
from scantui.io.loader import open_inputs
from scantui.io.options import LoadOptions

T0 = 1_707_350_400.0  # 2024-02-08 00:00 UTC
MEMBERS = [0x334B9265, 0x334B9266, 0x334B9267]  # 51.75.146.101-103
NO_TELESCOPE = ((), None)


def _capture(path: Path, *, extra: int = 0) -> Path:
    """Three sources of one /24 share a sweep of 240 telescope addresses on port 4443 (one day),
    plus a background source; *extra* adds that many more background packets."""
    recs = []
    for i in range(240):
        src = MEMBERS[i % 3]
        recs.append(Rec(ether(ipv4(src, 0x0A010000 + i, payload=tcp(40000, 4443))), ts=T0 + 3600 + i))
    for i in range(30 + extra):
        recs.append(Rec(ether(ipv4(0x01020304, 0x0A010000 + i % 256, payload=tcp(50000, 22))), ts=T0 + 7200 + i))
    recs.sort(key=lambda r: r.ts)
    return write_pcap(path, recs)


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(rk.CACHE_ENV, str(folder))
    return folder


def _no_decoding(monkeypatch) -> None:
    """From here on, building the packet table from the input files fails."""
    def fail(*_a, **_k):
        raise AssertionError("the capture was decoded again")
    monkeypatch.setattr(loader, "_build_frame", fail)


def _reads(paths):
    """collab, a detail read and a track read of *paths*, as plain values to compare."""
    result = run_collab(paths, LoadOptions(), NO_TELESCOPE, cb.make_query(window="24h"))
    dataset = open_inputs(paths)
    rollup = rc.open_rollup(dataset)
    timing = detail.timing_packets(dataset.lf, MEMBERS, port=4443)
    track = track_group(dataset.lf, ["51.75.146.0/24"], telescope_size=256)
    return [(c.port, c.day.isoformat(), c.n_sources, c.sources) for c in result.candidates], timing, track, rollup


def test_later_reads_use_the_decoded_copy(tmp_path, cache_dir, monkeypatch):
    pcap = _capture(tmp_path / "scan.pcap")
    first = _reads([pcap])
    assert first[0] and first[0][0][:3] == (4443, "2024-02-08", 3)
    copies = list((cache_dir / "decoded").iterdir())
    assert len(copies) == 1 and copies[0].suffix == ".parquet"

    _no_decoding(monkeypatch)
    again = _reads([pcap])
    assert again[0] == first[0]
    assert first[1].packets.height == 240 and again[1].packets.equals(first[1].packets)
    assert again[1].capped == first[1].capped
    assert again[2] == first[2]
    assert again[3].path == first[3].path


def test_the_copy_holds_the_decoded_table_and_its_counts(tmp_path, cache_dir):
    pcap = _capture(tmp_path / "scan.pcap")
    decoded = open_inputs([pcap]).lf.collect()
    dataset = open_inputs([pcap])
    rc.open_rollup(dataset)
    fresh = open_inputs([pcap])
    fresh.decode_to(dataset.decoded_path)  # as a cache hit does: the copy is there
    assert fresh.lf.collect().equals(decoded)
    assert fresh.lf.collect_schema() == decoded.schema
    assert [f.to_dict() for f in fresh.stats.files()] == [f.to_dict() for f in dataset.stats.files()]
    assert fresh.stats.files()[0].rows == decoded.height


def test_a_changed_capture_is_decoded_again(tmp_path, cache_dir):
    pcap = _capture(tmp_path / "scan.pcap")
    first = open_inputs([pcap])
    rc.open_rollup(first)
    assert first.lf.collect().height == 270
    _capture(pcap, extra=5)
    second = open_inputs([pcap])
    rc.open_rollup(second)
    assert second.decoded_path != first.decoded_path
    assert second.lf.collect().height == 275
    assert len(list((cache_dir / "decoded").iterdir())) == 2


def test_a_missing_copy_is_written_on_the_first_read(tmp_path, cache_dir, monkeypatch):
    pcap = _capture(tmp_path / "scan.pcap")
    dataset = open_inputs([pcap])
    rc.open_rollup(dataset)
    assert dataset.lf.collect().height == 270  # the first read writes the copy
    dataset.decoded_path.unlink()  # pruned, or a rollup from before the copies existed
    again = open_inputs([pcap])
    rc.open_rollup(again)  # a rollup hit
    assert again.lf.collect().height == 270
    assert again.decoded_path.is_file()
    _no_decoding(monkeypatch)
    third = open_inputs([pcap])
    rc.open_rollup(third)
    assert third.lf.collect().height == 270


def test_parquet_inputs_get_no_copy(tmp_path, cache_dir, canonical_df):
    path = tmp_path / "packets.parquet"
    canonical_df.write_parquet(path)
    dataset = open_inputs([path])
    rc.open_rollup(dataset)
    assert dataset.decoded_path is None and not (cache_dir / "decoded").exists()


def test_prune_removes_old_copies(tmp_path, cache_dir):
    dataset = open_inputs([_capture(tmp_path / "scan.pcap")])
    rollup = rc.open_rollup(dataset)
    dataset.lf  # the first read writes the copy
    assert prune_cache(max_age_days=1) == []
    old = dataset.decoded_path.stat().st_mtime - 3 * 86400
    os.utime(dataset.decoded_path, (old, old))
    assert prune_cache(max_age_days=1) == [dataset.decoded_path]
    assert rollup.path.exists()


def test_an_error_in_the_capture_leaves_no_copy(tmp_path, cache_dir):
    pcap = _capture(tmp_path / "scan.pcap")
    pcap.write_bytes(pcap.read_bytes()[:-7])  # the last record is cut short
    from scantui.errors import InputError

    with pytest.raises(InputError):
        rc.open_rollup(open_inputs([pcap]))
    assert not any(p.suffix == ".parquet" for p in (cache_dir / "decoded").iterdir())


def test_the_copy_is_made_from_the_day_splits_on_the_first_read(tmp_path, cache_dir, monkeypatch):
    """The rollup build decodes each capture once (into its day split); the data set's copy is
    written from those splits when first read, never by decoding again, and not at all by a
    build that nothing reads after (``scantui rollup``)."""
    pcap = _capture(tmp_path / "scan.pcap")
    decoded = open_inputs([pcap]).lf.collect()
    dataset = open_inputs([pcap])
    rc.open_rollup(dataset)
    assert not dataset.decoded_path.exists()
    _no_decoding(monkeypatch)
    assert dataset.lf.collect().equals(decoded)
    assert dataset.decoded_path.is_file()
    fresh = open_inputs([pcap])
    rc.open_rollup(fresh)  # a hit: served from the copy
    assert fresh.lf.collect().equals(decoded)
    assert fresh.stats.files()[0].rows == 270


def test_a_hit_without_the_copy_makes_it_from_the_splits(tmp_path, cache_dir, monkeypatch):
    pcap = _capture(tmp_path / "scan.pcap")
    decoded = open_inputs([pcap]).lf.collect()
    rc.open_rollup(open_inputs([pcap]))  # built; nothing read the copy
    _no_decoding(monkeypatch)
    again = open_inputs([pcap])
    rc.open_rollup(again)
    assert again.lf.collect().equals(decoded)
    assert [f.to_dict() for f in again.stats.files()][0]["rows"] == 270
