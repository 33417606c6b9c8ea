"""Entry point of the sample generator: build the scenario, check it, write the files.

``generate(out_dir, seed=7)`` writes ``telescope.parquet`` (canonical table +
``sensor`` + enrichment, zstd, sorted by ``ts``), ``truth.json`` (layout in
:mod:`scantui.sample.truth`) and, unless ``cuts=False``, the cuts in
``cuts/`` (pcap, pcapng, iptables LOG, iptables CSV). It prints nothing; pass
``progress`` (a callable taking one message string) to follow it.
:func:`sample_frame` returns the table and truth without writing anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from ..fsutil import atomic_path, write_bytes_atomic
from ..io.schema import CANONICAL, ENRICHMENT, TS_DTYPE
from .fingerprints import COLUMNS, Packets, classify_probes, rule_overlaps, scrub_accidental
from .scenario import Scenario
from .scenario_layout import SENSOR
from .truth import build_truth

DEFAULT_SEED = 7
Progress = Callable[[str], None] | None


def _check(sc: Scenario, pk: Packets, labels: np.ndarray) -> None:
    ts = pk.cols["ts"]
    if ts.min() < sc.t_start or ts.max() >= sc.t(sc.days):
        raise AssertionError("packets outside the observation window")
    wrong = labels != pk.tool
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise AssertionError(f"{int(wrong.sum())} probes classify differently than planted "
                             f"(first: planted {pk.tool[i]!r}, rules say {labels[i]!r})")
    if rule_overlaps(pk.cols):
        raise AssertionError("some probes match more than one fingerprint rule")
    if not np.isin(pk.cols["dst"], sc.telescope).all():
        raise AssertionError("destination outside the telescope")


def to_frame(cols: dict[str, np.ndarray], enrich: dict[int, dict]) -> pl.DataFrame:
    """int64 columns (-1 = null) -> the canonical polars table with sensor and enrichment."""
    raw = pl.DataFrame({c: cols[c] for c in COLUMNS})
    exprs = [pl.from_epoch(pl.col("ts"), time_unit="us").cast(TS_DTYPE).alias("ts")]
    for name, dtype in CANONICAL.items():
        if name == "ts":
            continue
        e = pl.col(name)
        exprs.append(pl.when(e < 0).then(None).otherwise(e).cast(dtype).alias(name))
    df = raw.select(exprs).with_columns(pl.lit(SENSOR, dtype=pl.String).alias("sensor"))
    srcs = sorted(enrich)
    table = pl.DataFrame({"src": pl.Series(srcs, dtype=pl.UInt32),
                          **{k: pl.Series([enrich[s][k] for s in srcs], dtype=dt) for k, dt in ENRICHMENT.items()}})
    return df.join(table, on="src", how="left", maintain_order="left")


def sample_frame(seed: int = DEFAULT_SEED, days: int = 21, start: str = "2024-02-01", scale: float = 1.0,
                 progress: Progress = None) -> tuple[pl.DataFrame, dict]:
    """The sample table (sorted by ts) and its truth dict, in memory."""
    sc = Scenario(seed, days, start, scale)
    sc.build(progress)
    if progress:
        progress("assembling packets")
    pk = Packets.concat(sc.batches)
    scrub_accidental(pk, sc.rng("scrub"))
    pk = pk.take(np.argsort(pk.cols["ts"], kind="stable"))
    labels = classify_probes(pk.cols)
    _check(sc, pk, labels)
    truth = build_truth(sc, pk.cols, labels)
    return to_frame(pk.cols, sc.enrich), truth


def generate(out_dir: Path, seed: int = DEFAULT_SEED, days: int = 21, start: str = "2024-02-01",
             scale: float = 1.0, *, cuts: bool = True, progress: Progress = None) -> dict:
    """Write the sample data set into ``out_dir``; return the truth dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame, truth = sample_frame(seed, days, start, scale, progress)
    if progress:
        progress("writing telescope.parquet")
    with atomic_path(out_dir / "telescope.parquet") as tmp:
        frame.write_parquet(tmp, compression="zstd", compression_level=12, statistics=True, row_group_size=1 << 20)
    if cuts:
        from .writers import write_cuts

        if progress:
            progress("writing cuts")
        truth["cuts"] = write_cuts(frame, out_dir / "cuts", truth)
    write_bytes_atomic(out_dir / "truth.json", (json.dumps(truth, indent=1) + "\n").encode())
    return truth
