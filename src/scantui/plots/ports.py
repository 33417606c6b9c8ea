"""Scans (or packets) per port: 256 bins of 256 ports over 0-65535, as in the studies' Table III.

Vertical marks at 1024 and 49152 separate well-known, registered and ephemeral
ports; the x axis is in port numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from scantui.plots.bars import draw_bars

PORT_BINS = 256
BIN_WIDTH = 65536 // PORT_BINS
BOUNDARIES = (1024, 49152)  # registered from 1024, ephemeral from 49152
MARK_COLOR = "red"
TICKS = (1024, 16384, 32768, 49152, 65535)


def _numpy(values: np.ndarray | pl.Series) -> np.ndarray:
    return values.to_numpy() if isinstance(values, pl.Series) else np.asarray(values)


def port_bins(ports: np.ndarray | pl.Series, weights: np.ndarray | pl.Series | None = None) -> np.ndarray:
    """Counts (or summed *weights*) per 256-port bin: bin ``i`` holds ports ``256 i`` .. ``256 i + 255``.

    Null ports (ICMP) are left out, with their weights.
    """
    keep = ports.is_not_null().to_numpy() if isinstance(ports, pl.Series) else None
    ports = _numpy(ports.drop_nulls() if keep is not None else ports).astype(np.int64, copy=False)
    if ports.size and (ports.min() < 0 or ports.max() > 65535):
        raise ValueError("ports must lie in 0-65535")
    if weights is not None:
        weights = _numpy(weights).astype(np.float64, copy=False)
        if keep is not None and len(weights) == len(keep):
            weights = weights[keep]
        if len(weights) != len(ports):
            raise ValueError(f"{len(ports)} ports but {len(weights)} weights")
    return np.bincount(ports // BIN_WIDTH, weights=weights, minlength=PORT_BINS)


def port_histogram(plt: Any, bins: np.ndarray, *, title: str = "ports") -> None:
    """Bars per 256-port bin (from :func:`port_bins`) with marks at 1024 and 49152."""
    bins = np.asarray(bins)
    if bins.shape != (PORT_BINS,):
        raise ValueError(f"expected {PORT_BINS} bins, got shape {bins.shape}")
    centres = np.arange(PORT_BINS) * BIN_WIDTH + BIN_WIDTH / 2
    draw_bars(plt, centres, bins, title=title, ticks=TICKS, tick_labels=[str(t) for t in TICKS], xlabel="port")
    plt.xlim(0, 65536)
    for port in BOUNDARIES:
        plt.vline(port, MARK_COLOR)
