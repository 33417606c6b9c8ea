"""Deterministic generator of a realistic telescope data set with ground truth.

``generate(out_dir, seed=7)`` writes ``telescope.parquet``, ``truth.json`` and the
cuts (see :mod:`scantui.sample.generate`); the committed ``sample_data/`` is its
output for the default seed. Modules: ``catalog`` (ASNs, announced scanners),
``fingerprints`` (per-tool header fields and the reference rules), ``actors``
(vectorized packet synthesis), ``scenario`` (the population; its parts in ``scenario_*``), ``truth``
(``truth.json`` and its layout), ``writers`` (pcap, pcapng, LOG, CSV cuts); ``sensors``: the small
two-sensor data set of ``sample_data/sensors/`` (``python -m scantui.sample.sensors OUT_DIR``).
"""

from .generate import DEFAULT_SEED, generate, sample_frame

__all__ = ["DEFAULT_SEED", "generate", "sample_frame"]
