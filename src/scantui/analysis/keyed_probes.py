"""A day's TCP SYN probes of its fingerprint-keyed sources, kept apart: collab's packet reads of pools.

A pool split across providers (collab's ``fingerprint`` key, :mod:`~scantui.analysis.fingerprint_keys`)
has its members spread over the address space, so the day's packet table (sorted by port, then
source: :mod:`~scantui.analysis.day_packets`) can skip none of a busy port's row groups for them:
at 200 M packets collab decoded ~870 k rows a day of ports 80, 53 and 22 to keep the ~14 k probes
of five such pools (1.4 of its 3.8 CPU s; ``benchmarks/RESULTS.md``, "Session 22").

:func:`write_day_keyed_probes` writes :data:`DAY_FILE` into a day state, once: the probes
(``ts``, ``src``, ``dport``, ``dst``) of every source whose signature is a key that day
(:func:`~scantui.analysis.fingerprint_keys.rare_keys`) and which sent at most
:data:`MAX_SOURCE_PROBES` probes that day, sorted by (src, dport, ts, dst) (the same bytes from the
day held in memory or from its packet table). **What a reader may rely on**: a source in the file
has *every* probe of its day there, on every port; whichever rule picked it. So
:meth:`~scantui.analysis.packet_source.DayPackets.probes_each` reads a (day, port, source) row's
probes from here when its source is in the file (:func:`sources`) and from the packet table
otherwise, and gets the same rows either way (a state without the file: the packet table).

Cost (benchmark data, a 2.4 M-packet day: ~48 k probes of ~160 sources, 0.2 % of the day's sources): one filter
of the day's probes by the keyed sources, a sort and a write, 0.07 CPU s while the day is held (0.15-0.2 from the
packet table for a state built before); 0.56 MB, ~12 bytes a probe kept.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import polars as pl

from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import rollup_layout as rl
from scantui.analysis.traffic import is_probe
from scantui.fsutil import atomic_path

DAY_FILE = "keyed_probes.parquet"
COLUMNS = ("src", "dport", "ts", "dst")
#: The Parquet footer's key holding the file's sources: base64 of their sorted little-endian ``uint32`` values.
SOURCES_KEY = "scantui.keyed_sources"
#: A keyed source with more probes than this in a day stays in the packet table only: a pool member probes a
#: share of the telescope, and a heavy scanner that happens to share a rare signature would copy its day here
#: (a /16 telescope on four ports is 262,144 probes).
MAX_SOURCE_PROBES = 262_144


def write_day_keyed_probes(state: Path, packets: Callable[[], pl.LazyFrame], *, table: bool = True) -> None:
    """The day state's :data:`DAY_FILE`, once, from its fingerprints (:data:`~fingerprint_keys.DAY_FILE`, written
    before) and its packet table (``packets/``) or, with *table* False or without one, the day's *packets*."""
    target = state / DAY_FILE
    signatures = state / fk.DAY_FILE
    if target.is_file() or not signatures.is_file():
        return
    from scantui.analysis.day_packets import DAY_PACKETS, day_packets_files

    keyed = (fk.rare_keys(pl.scan_parquet(signatures, glob=False).with_columns(day=pl.lit(0, pl.Int32)))
             .select("src").unique().collect()["src"])
    lf = pl.scan_parquet(day_packets_files(state), glob=False) if table and (state / DAY_PACKETS).is_dir() else packets()
    rows = (lf.filter(pl.col("src").is_in(keyed.implode()) & is_probe()).select(COLUMNS)
            .filter(pl.len().over("src") <= MAX_SOURCE_PROBES)
            .sort(COLUMNS).collect())
    kept = rows["src"].unique(maintain_order=True).to_numpy().astype("<u4")
    with atomic_path(target) as tmp:
        rows.write_parquet(tmp, row_group_size=rl.ROW_GROUP, metadata={SOURCES_KEY: base64.b64encode(kept.tobytes()).decode()},
                           **rl.DAY_CODEC)


def sources(state: Path) -> pl.Series | None:
    """The sources whose every probe of the day :data:`DAY_FILE` holds (sorted), or None when the state has
    no such file or no list in its footer (a state built before it: every read goes to the packet table). From the footer
    (:data:`SOURCES_KEY`): 84 days' lists in ~5 ms, where reading their ``src`` and day took ~0.3 CPU s."""
    path = state / DAY_FILE
    text = pl.read_parquet_metadata(path).get(SOURCES_KEY) if path.is_file() else None
    if text is None:
        return None
    return pl.Series("src", np.frombuffer(base64.b64decode(text), dtype="<u4"), dtype=pl.UInt32)


def sources_by_day(states: Mapping[dt.date, Path]) -> dict[dt.date, set[int]]:
    """:func:`sources` of each of *states* that has the file, as sets."""
    out = {}
    for day, state in states.items():
        kept = sources(state)
        if kept is not None:
            out[day] = set(kept.to_list())
    return out
