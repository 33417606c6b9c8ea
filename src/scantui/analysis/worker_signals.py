"""Dask's preload for the LocalCluster's worker processes (:class:`scantui.analysis.runner.DaskRunner`): ctrl-c is
the front end's to handle.

A ctrl-c on the terminal reaches every process of its foreground group, the workers too: each printed its
``KeyboardInterrupt`` traceback below the CLI's one error line. The front end stops the work and closes the
cluster, which ends the workers.
"""

from __future__ import annotations

import signal
from typing import Any


def dask_setup(worker: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
