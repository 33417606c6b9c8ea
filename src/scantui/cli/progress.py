"""A Rich progress bar on stderr while a long load runs in a worker thread.

Streaming loaders report bytes read through :class:`scantui.io.stats.LoadStats`;
formats polars reads natively show a spinner with the elapsed time. Nothing is
drawn when stderr is not a terminal or the input is small. Given the work's
:class:`~scantui.workspace.Task`, the bar names the step it reports (``rolling
up day=2024-02-05``), and ctrl-c cancels it: the work stops at its next
checkpoint (a rollup build removes its temporary folder) before the CLI exits.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from scantui.io.stats import LoadStats

if TYPE_CHECKING:
    from scantui.workspace import Task

T = TypeVar("T")

LARGE_INPUT_BYTES = 32 * 1024 * 1024
CANCEL_WAIT = 10.0  # seconds ctrl-c waits for a cancelled task to reach its checkpoint and clean up


def run_with_progress(work: Callable[[], T], stats: LoadStats, total_bytes: int, label: str, task: Task | None = None,
                      *, steps: bool = False) -> T:
    """*work* in a thread under the bar (on a terminal, for inputs of :data:`LARGE_INPUT_BYTES` or more). *steps*: the
    bar follows the *task*'s fraction (``source range 3 of 23``), not the bytes read (work on the built rollup)."""
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
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), *(() if steps else (DownloadColumn(),)),
               TimeElapsedColumn())
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        bar = progress.add_task(label, total=None)
        thread.start()
        try:
            while thread.is_alive():
                thread.join(0.1)
                streamed = stats.progress()
                if streamed and not steps:
                    done = sum(d for d, _ in streamed.values())
                    progress.update(bar, completed=done, total=total_bytes)
                if task is not None and task.message:
                    progress.update(bar, description=task.message)
                if steps and task is not None and task.fraction is not None:
                    progress.update(bar, completed=task.fraction, total=1.0)
        except KeyboardInterrupt:
            if task is not None:
                task.cancel()
                thread.join(CANCEL_WAIT)
            raise
    if error:
        raise error[0]
    return result[0]
