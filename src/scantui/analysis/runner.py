"""Where the rollup build's steps run: in this process, or as tasks on a Dask cluster.

The day builder (:mod:`scantui.analysis.day_builder`) and the merges
(:mod:`scantui.analysis.rollup_days`) hand their loops to a runner's
:meth:`~LocalRunner.map`: the per-input day splits, the per-day states and tool
counts and the Unicorn key ranges (the source ranges of the final merge run in this
process: each folds into the previous rollup's kept state, see ``rollup_days.merge_days``). Each item is
a small picklable value (paths as strings, small dicts and dataclasses of
paths), never a frame, and each task calls the same function the local build
calls, so the result is the same file for file.

- :class:`LocalRunner` (the default): a loop in this process.
- :class:`DaskRunner`: ``client.map`` and ``as_completed`` on a
  ``dask.distributed`` cluster: a ``LocalCluster`` of *workers* processes
  (``--workers N``, started on the first map, so a cached rollup starts none)
  or an existing scheduler (``--scheduler ADDRESS``, connected at once with a
  short timeout). Every worker must see the cache folder and the inputs under
  the same paths (a shared file system) and import the same scantui.

``step(i, total, item)`` is called before each item locally (*i* items done
before it) and as each task completes on Dask (*item* the i+1-th to complete,
so messages and fractions read the same); it may raise (a cancelled :class:`~scantui.workspace.task.Task`),
which cancels the tasks not yet finished. A task's exception is raised here as
it was raised on the worker (an :class:`~scantui.errors.InputError` stays one).
Dask is imported only by :class:`DaskRunner`: a plain run never imports it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from scantui.analysis.rollup_layout import serial
from scantui.errors import InputError, UsageError

T = TypeVar("T")
R = TypeVar("R")

#: ``step(i, total, item)``: progress (and a checkpoint) between items.
Step = Callable[[int, int, Any], None]

#: Seconds to wait for a ``--scheduler`` before giving up (a wrong address fails quickly, not after minutes).
CONNECT_TIMEOUT = 5


def _refused_at_once(address: str) -> None:
    """Raise ``ConnectionRefusedError`` when nothing listens at a TCP scheduler *address*: Dask's client would
    retry it until :data:`CONNECT_TIMEOUT`. Any other outcome (it answers, a name that does not resolve, no
    answer, TLS or another transport) is left to the client and its timeout. A scheduler that listens sees a
    connection closed before its handshake (one INFO line in its log)."""
    import socket

    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, _, port = rest.rpartition(":")
    if not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except ConnectionRefusedError:
        raise ConnectionRefusedError(f"nothing listens at {host}:{port}: connection refused") from None
    except OSError:
        return


class LocalRunner:
    """Every item in this process, one after the other."""

    local = True

    def map(self, fn: Callable[[T], R], items: Sequence[T], step: Step | None = None) -> list[R]:
        return serial(fn, items, step)

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


class DaskRunner:
    """Each item a task on a Dask cluster: a LocalCluster of *workers* processes, or the one at *scheduler*."""

    local = False

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None) -> None:
        if (workers is None) == (scheduler is None):
            raise UsageError("give one of --workers and --scheduler")
        if workers is not None and workers < 1:
            raise UsageError(f"--workers must be at least 1, not {workers}")
        self.workers = workers
        self.scheduler = scheduler
        self._client: Any = None
        self._cluster: Any = None
        self._lock = threading.Lock()
        if scheduler is not None:
            self.client()  # a wrong address is an error now, before any data is read

    def start(self) -> None:
        """Start the LocalCluster (or connect) now. A front end that takes over the terminal calls this first:
        once Textual has replaced ``sys.stderr``, multiprocessing cannot start the worker processes
        (its resource tracker passes ``sys.stderr``'s descriptor on: "Nanny failed to start")."""
        self.client()

    def client(self) -> Any:
        """The Dask client (the LocalCluster started, or the scheduler connected, on the first call)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        try:
            import logging

            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise UsageError("--workers and --scheduler need Dask: pip install 'scantui[scale]'") from exc
        if self.scheduler is None:
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=logging.CRITICAL,  # task errors are raised here, once
                                         preload=["scantui.analysis.worker_signals"])
            return Client(self._cluster)
        try:
            _refused_at_once(self.scheduler)
            return Client(self.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"cannot reach the Dask scheduler ({why})", path=self.scheduler) from None

    def map(self, fn: Callable[[T], R], items: Sequence[T], step: Step | None = None) -> list[R]:
        if not items:
            return []
        client = self.client()  # first: without Dask it says what to install
        from distributed import as_completed

        futures = client.map(fn, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                i = index[future.key]
                out[i] = future.result()  # a task's error is raised here, as the worker raised it
                if step is not None:
                    step(done - 1, len(futures), items[i])
        except BaseException:
            client.cancel(futures)
            raise
        return out

    def close(self) -> None:
        with self._lock:
            client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


Runner = LocalRunner | DaskRunner


def make_runner(workers: int | None = None, scheduler: str | None = None) -> Runner:
    """The runner ``--workers`` / ``--scheduler`` ask for (a :class:`LocalRunner` when neither is given)."""
    if workers is None and scheduler is None:
        return LocalRunner()
    return DaskRunner(workers=workers, scheduler=scheduler)
