"""Many capture files (pcap, pcapng) read as a few streams.

A telescope folder holds thousands of hourly captures. One polars source per
file, concatenated, costs time quadratic in the file count (10,000 sources
never finish), so consecutive capture files are split into at most
:data:`MAX_STREAMS` contiguous runs, each read by one source that decodes its
files in order and hands polars chunks of about ``opts.chunk_records`` rows.
A few large files still get a source each and are decoded in parallel.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

from scantui.io import detect
from scantui.io.options import LoadOptions
from scantui.io.stats import LoadStats

#: The most sources a run of capture files is split into.
MAX_STREAMS = 8


def split_runs(paths: Sequence[Path], streams: int = MAX_STREAMS) -> list[list[Path]]:
    """*paths* in order, in at most *streams* contiguous runs of near-equal length."""
    k = min(len(paths), streams)
    size, extra = divmod(len(paths), k) if k else (0, 0)
    runs, start = [], 0
    for i in range(k):
        end = start + size + (i < extra)
        runs.append(list(paths[start:end]))
        start = end
    return runs


def scan_captures(files: Sequence[tuple[Path, str]], opts: LoadOptions, stats: LoadStats) -> list[pl.LazyFrame]:
    """LazyFrames over capture files (pcap or pcapng, in order): one per file up to
    :data:`MAX_STREAMS` files, else one per run. File headers are checked now."""
    from scantui.io.pcap import output_schema, read_header, scan_pcap
    from scantui.io.pcapng import read_first_block, scan_pcapng
    from scantui.io.sources import scan_batches

    if len(files) <= MAX_STREAMS:
        return [(scan_pcap if fmt == detect.PCAP else scan_pcapng)(path, opts, stats) for path, fmt in files]
    formats = dict(files)
    for path, fmt in files:
        (read_header if fmt == detect.PCAP else read_first_block)(str(path))
    frames = []
    for run in split_runs([p for p, _ in files]):
        label = f"{run[0]} (+{len(run) - 1} more)" if len(run) > 1 else str(run[0])
        members = [(p, formats[p]) for p in run]
        frames.append(scan_batches(lambda members=members: iter_captures(members, opts, stats), output_schema(opts),
                                   "captures", label, stats))
    return frames


def iter_captures(files: Sequence[tuple[Path, str]], opts: LoadOptions, stats: LoadStats) -> Iterator[pl.DataFrame]:
    """Decode capture files one after the other, joining small files' packets into larger chunks."""
    from scantui.io.pcap import iter_pcap_batches
    from scantui.io.pcapng import iter_pcapng_batches

    pending: list[pl.DataFrame] = []
    rows = 0
    limit = max(1, opts.chunk_records)
    for path, fmt in files:
        batches = iter_pcap_batches if fmt == detect.PCAP else iter_pcapng_batches
        for df in batches(path, opts, stats):
            pending.append(df)
            rows += df.height
            if rows >= limit:
                yield pl.concat(pending, rechunk=False)
                pending, rows = [], 0
    if pending:
        yield pl.concat(pending, rechunk=False)
