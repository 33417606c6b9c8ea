"""A Rich progress bar on stderr while a long load runs in a worker thread.

Streaming loaders report bytes read through :class:`scantui.io.stats.LoadStats`;
formats polars reads natively show a spinner with the elapsed time. Nothing is
drawn when stderr is not a terminal or the input is small.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

from scantui.io.stats import LoadStats

T = TypeVar("T")

LARGE_INPUT_BYTES = 32 * 1024 * 1024


def run_with_progress(work: Callable[[], T], stats: LoadStats, total_bytes: int, label: str) -> T:
    if not sys.stderr.isatty() or total_bytes < LARGE_INPUT_BYTES:
        return work()
    from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from scantui.cli.output import stderr_console

    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # re-raised in the calling thread
            error.append(exc)

    thread = threading.Thread(target=target, name="scantui-load", daemon=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        task = progress.add_task(label, total=None)
        thread.start()
        while thread.is_alive():
            thread.join(0.1)
            streamed = stats.progress()
            if streamed:
                done = sum(d for d, _ in streamed.values())
                progress.update(task, completed=done, total=total_bytes)
    if error:
        raise error[0]
    return result[0]
