"""``run_tui``: what ``scantui PATH...`` calls. Importing this module imports no Textual.

Textual, polars and the screens are imported inside :func:`run_tui`, so the
CLI stays quick to answer ``--help``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any


def run_tui(
    paths: Sequence[str],
    *,
    opts: Any = None,
    labels_path: str | os.PathLike[str] | None = None,
    telescope_size: int | None = None,
    telescope_cidrs_text: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    window: str = "burst",
    tolerance: str | None = None,
    by: str = "all",
    follow: bool = False,
    follow_interval: float = 10.0,
    follow_settle: float = 30.0,
    runner: Any = None,
    auto_pilot: Any = None,
) -> int:
    """Run the TUI on *paths* until the user quits; returns the exit status: 0, or 2 when the data
    failed to load and nothing else was opened before quitting (the App's ``return_code``).

    *opts* are the :class:`~scantui.io.options.LoadOptions`; *telescope_size* /
    *telescope_cidrs_text* override the estimated telescope size; *cache_dir*
    overrides ``$SCANTUI_CACHE_DIR``; *labels_path* is the shared labels file; *window*, *tolerance*
    and *by* are the collaborative-scan search options (as ``scantui collab``; the candidates screen's ``o``).
    *follow* keeps watching *paths*: each complete new file is folded in (see ``scantui.tui.app_follow``).
    *runner* builds the rollup (:mod:`scantui.analysis.runner`; ``--workers``/``--scheduler``); its
    cluster is started before the App takes the terminal. *auto_pilot* (tests): run headless, driven by it.
    Problems met while loading were shown as notifications; they are repeated
    on stderr after the App exits (with the traceback of unexpected ones when
    ``SCANTUI_DEBUG`` is set).
    """
    from scantui.safetext import safe_line
    from scantui.tui.app import ScantuiApp
    from scantui.tui.state import LoadRequest

    request = LoadRequest(
        paths=tuple(str(p) for p in paths), opts=opts, telescope_size=telescope_size,
        telescope_cidrs_text=telescope_cidrs_text, cache_dir=cache_dir, labels_path=labels_path,
        window=window, tolerance=tolerance, by=by, runner=runner,
        follow=follow, follow_interval=follow_interval, follow_settle=follow_settle,
    )
    if runner is not None:
        if getattr(runner, "workers", None):
            print(f"scantui: starting {runner.workers} Dask workers...", file=sys.stderr)
        runner.start()  # worker processes cannot be started once the App holds sys.stderr
    app = ScantuiApp(request)
    if auto_pilot is None:
        app.run()
    else:
        app.run(headless=True, auto_pilot=auto_pilot)
    code = app.return_code or 0
    for step, text, trace in app.failures:
        print(f"scantui: {safe_line(step)}: {safe_line(text)}", file=sys.stderr)  # file names and content are data
        if trace and os.environ.get("SCANTUI_DEBUG"):
            print(trace, file=sys.stderr)
    if app.workers_busy():
        # Quit while a step was still running (a rollup build, the candidate search): its thread
        # cannot be interrupted and would keep the process alive until done. An unfinished
        # rollup build is a hidden temporary folder that is never read (and pruned later).
        print("scantui: quit while the analysis was running; its unfinished work is discarded", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        if runner is not None:
            try:
                runner.close()  # os._exit skips the command's own close: stop the cluster's processes here
            except Exception:  # noqa: BLE001 - leaving anyway
                pass
        os._exit(code)
    return code
