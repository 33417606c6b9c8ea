"""Key kinds beyond the /24 and the AS: how each keys collab's ``port_day`` rows, and what its keys are called.

The /24 (from the address) and the AS (from the enrichment) are built into the pre-filter
(:func:`scantui.analysis.collab_prune.candidate_rows`). Every other kind is a row of
:data:`KEY_TABLES`: ``kind -> builder(KeyInputs) -> KeyTable``. A :class:`KeyTable` holds

* ``rows``: (``day``, ``src``, ``key``) — the key (an integer) each source has on a day
  (with a ``dport`` column too when the key is per port, as the ZMap generator);
  the pre-filter joins ``port_day``'s (day, dport, src) rows to it, and the same cover
  test decides (no kind makes a candidate by itself);
* ``labels``: key ids -> short readable text (the candidate's ``key`` and ``also_keys``,
  via :attr:`~scantui.analysis.collab_types.CandidateKey.label`).

Adding a kind: append it to ``KEY_KINDS`` (:mod:`~scantui.analysis.collab_query`) and
``KeyKind`` (:mod:`~scantui.analysis.collab_types`), put what it needs from the rollup on
:class:`KeyInputs` (with a fallback computed from the packets), and add its builder here.
The per-day group sums (:mod:`~scantui.analysis.collab_sums`) hold /24s and ASes only, so
such a kind's pre-filter reads every ``port_day`` row (fine below a year of data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import zmap_rollup as zr
from scantui.analysis.packet_source import PacketSource


@dataclass(frozen=True)
class KeyInputs:
    """What the builders may read: the packets, and the rollup's tables for them (None: compute from the packets)."""

    source: PacketSource
    fingerprints: pl.LazyFrame | None = None
    walks: pl.LazyFrame | None = None


@dataclass(frozen=True)
class KeyTable:
    """One kind's keys: (day, src, key) rows, and the text of key ids."""

    rows: pl.LazyFrame
    labels: Callable[[Sequence[int]], dict[int, str]]


def fingerprint_table(inputs: KeyInputs) -> KeyTable:
    """Rare header-artifact signatures (:mod:`~scantui.analysis.fingerprint_keys`)."""
    table = inputs.fingerprints
    if table is None:
        table = fk.fingerprints_from_packets(inputs.source.read())
    # collected once: the pre-filter, the windows and the day window each read it (the rare-key group-bys over every
    # day's signatures, ~0.12 CPU s at 200 M packets, ran each time); its rows are the keyed (day, source) pairs
    return KeyTable(fk.rare_keys(table).collect().lazy(), lambda ids: fk.labels(table, list(ids)))


def zmap_generator_table(inputs: KeyInputs) -> KeyTable:
    """The generator the ZMap walk test recovered per (day, source, port) (:mod:`~scantui.analysis.zmap_rollup`;
    built with the rollup only: collab skips the kind, with a note, without it)."""
    walks = inputs.walks if inputs.walks is not None else pl.LazyFrame(schema=zr.KEY_SCHEMA)
    return KeyTable(zr.generator_keys(walks), lambda ids: {int(i): f"zmap g={int(i)}" for i in ids})


KEY_TABLES: dict[str, Callable[[KeyInputs], KeyTable]] = {
    "zmap_generator": zmap_generator_table,
    "fingerprint": fingerprint_table,
}
