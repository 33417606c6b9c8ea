"""What the TUI knows about the data it shows: the model behind every screen (no Textual here).

:class:`DataState` walks the loading pipeline one step at a time, each step a
plain blocking call the App runs in a thread worker, each a thin call on the
state's :class:`~scantui.workspace.Workspace` (which memoizes every result, so
the screens and the CLI share one pipeline):

1. :meth:`DataState.open_inputs` expands the paths and sniffs formats (fast);
2. :meth:`DataState.open_rollup` opens the cached rollup or builds it (the slow
   step; its progress and cancellation go through a :class:`~scantui.workspace.Task`);
3. :meth:`DataState.build_overview` reads the overview figures from the rollup
   tables (:mod:`scantui.analysis.overview`), never the packets;
4. :meth:`DataState.build_scanners` computes the scanner list (as ``scantui scanners``);
5. :meth:`DataState.build_collab` and :meth:`DataState.build_groups` count the
   candidate collaborative scans and suggested groups waiting for review.

The App hands each step a :class:`~scantui.workspace.Task` (:meth:`DataState.task_for`)
and cancels it with the step's worker, so a rollup build stops at its next checkpoint.

Beside the pipeline, :meth:`DataState.open_labels` opens the labels file (a
:class:`~scantui.labels.session.LabelSession`: every change saved at once,
undoable); :meth:`DataState.review_record` says whether a candidate or group is new,
labelled or rejected there, or only shares its IPs with a labelled group (its scans not recorded).

Each step stores its result on the state, so screens added later (candidates,
detail, labels) read ``state.dataset``, ``state.rollup``, ``state.scanners``,
``state.collab`` and ``state.groups`` instead of recomputing them; the detail
and track screens read through ``state.workspace``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scantui.analysis.overview import Overview
from scantui.workspace import Task, Workspace

if TYPE_CHECKING:  # the model modules are imported by the steps, in the worker thread
    import polars as pl

    from scantui.analysis.collab import CollabResult
    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup
    from scantui.analysis.rollup_cache import Rollup
    from scantui.analysis.scanners import ScannerList
    from scantui.io.loader import Dataset
    from scantui.io.options import LoadOptions
    from scantui.labels.session import LabelSession

Progress = Callable[[str, "float | None"], None]


@dataclass(frozen=True)
class LoadRequest:
    """What ``scantui PATH...`` asked for."""

    paths: tuple[str, ...]
    opts: LoadOptions | None = None
    telescope_size: int | None = None
    telescope_cidrs_text: str | None = None
    cache_dir: str | os.PathLike[str] | None = None
    labels_path: str | os.PathLike[str] | None = None
    window: str = "burst"  # the collaborative-scan search options, as typed (``scantui PATH --window 24h``...)
    tolerance: str | None = None
    by: str = "all"
    follow: bool = False  # ``--follow``: fold each complete new file under *paths* in while the app runs
    follow_interval: float = 10.0  # seconds between looks
    follow_settle: float = 30.0  # a file is complete once unchanged for this long
    files: tuple[str, ...] | None = None  # with --follow: the complete files under *paths* to read (None: *paths*)
    runner: Any = field(default=None, compare=False)  # builds the rollup (scantui.analysis.runner); None: here

    def collab_query(self) -> Any:
        """The :class:`~scantui.analysis.collab_query.CollabQuery` of the search options (InputError on a bad one)."""
        from scantui.analysis.collab_query import make_query

        return make_query(by=self.by, window=self.window, tolerance=self.tolerance, telescope_cidrs=self.telescope_cidrs_text)

    @property
    def title(self) -> str:
        """The data's name for the header: the first path's file name (+ how many more)."""
        if not self.paths:
            return "no data"
        name = Path(self.paths[0]).name or str(self.paths[0])
        return name if len(self.paths) == 1 else f"{name} +{len(self.paths) - 1}"


class DataState:
    """The loaded data and everything computed from it, filled step by step (see the module doc).

    Steps are called from one worker thread at a time; readers on the UI thread
    only see attributes once the App has been told (by a message) that the
    step finished.
    """

    def __init__(self, request: LoadRequest) -> None:
        self.request = request
        self.workspace: Workspace | None = None
        self.dataset: Dataset | None = None
        self.rollup: Rollup | None = None
        self.year_notes: list[str] = []
        self.telescope_size: int | None = None
        self.telescope_from: str | None = None
        self.overview: Overview | None = None
        self.scanners: ScannerList | None = None
        self.collab: CollabResult | None = None
        self.groups: list[SuggestedGroup] | None = None
        self.labels: LabelSession | None = None
        self._review_groups: tuple[Any, ...] = ()
        self._review_cache: dict[tuple[Any, ...], tuple[str, list[dict[str, Any]]]] = {}
        self._review_index: Any = None
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ the pipeline

    def task_for(self, step: str, listener: Progress | None = None) -> Task:
        """A fresh token for *step* (``rollup``, ``collab``...), telling *listener* its progress: the App makes
        one before it runs the step and cancels it with the step's worker."""
        task = Task(listener)
        with self._lock:
            self._tasks[step] = task
        return task

    def step_task(self, step: str) -> Task:
        """The token :meth:`task_for` made for *step* (a fresh one when there is none)."""
        with self._lock:
            return self._tasks.get(step) or Task()

    def open_inputs(self) -> Dataset:
        req = self.request
        self.workspace = Workspace.open(req.files if req.files is not None else req.paths, req.opts,
                                        (req.telescope_cidrs_text, req.telescope_size),
                                        cache_dir=req.cache_dir, runner=req.runner)
        self.dataset = self.workspace.dataset
        return self.dataset

    def open_rollup(self, progress: Task | Progress | None = None) -> Rollup:
        """The rollup (built on first use); *progress* is the step's Task, or a ``progress(message, fraction)`` callback."""
        if self.workspace is None:
            self.open_inputs()
        task = progress if isinstance(progress, Task) else Task(progress) if progress is not None else self.step_task("rollup")
        self.rollup = self.workspace.rollup(task)
        self.year_notes = self.workspace.year_notes(task)  # notified once by the App (LOG inputs without a year)
        return self.rollup

    def resolve_telescope(self) -> tuple[int, str]:
        """The telescope size (``--telescope``, ``--telescope-size`` or the rollup's estimate) and its origin."""
        self._need_rollup()
        self.telescope_size, self.telescope_from = self.workspace.telescope()
        return self.telescope_size, self.telescope_from

    def build_overview(self) -> Overview:
        self._need_rollup()
        self.resolve_telescope()
        self.overview = self.workspace.overview()
        return self.overview

    def build_scanners(self) -> ScannerList:
        self._need_rollup()
        if self.telescope_size is None:
            self.resolve_telescope()
        self.scanners = self.workspace.scanners(task=self.step_task("scanners"))
        return self.scanners

    def build_collab(self) -> CollabResult:
        """Candidate collaborative scans with the request's search options (as ``scantui collab``).

        A search started before the options changed (:meth:`ScantuiApp.search_again`) does not store its result.
        """
        request = self.request
        self._need_rollup()
        result = self.workspace.collab(request.collab_query(), task=self.step_task("collab"))
        if self.request is request:
            self.collab = result
        return result

    def build_groups(self) -> list[SuggestedGroup] | None:
        """Suggested groups of the candidates (as ``scantui groups`` with its default options)."""
        request = self.request
        self._need_rollup()
        groups = self.workspace.groups(request.collab_query(), task=self.step_task("groups"))
        if self.request is request:
            self.groups = groups
        return groups

    def open_labels(self) -> LabelSession:
        """The labels file of the request (``./scantui-labels.yaml`` by default; created on the first change)."""
        from scantui.labels.session import LabelSession

        path = self.request.labels_path or "scantui-labels.yaml"
        self.labels = LabelSession.open(str(path))
        return self.labels

    def review(self, ips: list[str] | list[int], scans: list[Any] | None = None) -> tuple[str, list[dict[str, Any]]]:
        """(``new`` | ``same_ips`` | ``labelled`` | ``rejected``, matching labelled groups) of IPs and their scans.

        *scans* are (port, day, sources) (:func:`scantui.labels.match.scan_key`); a record is reviewed only
        when its scans are recorded in a group (see :mod:`scantui.labels.match`); without *scans*, IPs only.
        Memoized until the labelled groups change (groups are immutable: a change replaces the object),
        so the candidates screen, the overview counts and a verdict key share one computation.
        """
        from scantui.labels.match import Review, ScanIndex

        if self.labels is None:
            return Review.NEW, []
        groups = tuple(self.labels.store.groups)
        key = (tuple(ips), None if scans is None else tuple((p, d, tuple(s)) for p, d, s in scans))
        with self._lock:
            if (self._review_index is None or len(groups) != len(self._review_groups)
                    or any(a is not b for a, b in zip(groups, self._review_groups))):
                self._review_groups, self._review_cache = groups, {}
                self._review_index = ScanIndex(groups)
            hit = self._review_cache.get(key)
            cache, index = self._review_cache, self._review_index
        if hit is None:
            hit = index.review(ips, scans)
            with self._lock:
                cache[key] = hit
        return hit[0], list(hit[1])

    def record_scans(self, record: CandidateScan | SuggestedGroup) -> list[tuple[int, str, tuple[str, ...]]]:
        """The scans of a candidate (itself) or of a suggested group (its scans), as scan keys."""
        from scantui.labels.match import scan_key
        from scantui.tui.labelling import record_candidates

        return [scan_key(c.port, c.day, c.source_ips) for c in record_candidates(record)]

    def review_record(self, record: CandidateScan | SuggestedGroup) -> tuple[str, list[dict[str, Any]]]:
        """:meth:`review` of a candidate scan or a suggested group: its IPs (as integers: the member index reads
        them so, and dotted text would be written out and parsed back for every record of a list) and its scans."""
        from scantui.workspace.member_notes import record_addresses

        return self.review(list(record_addresses(record)), self.record_scans(record))

    # ------------------------------------------------------------ queries the screens ask

    def sources_on_ports(self, ranges: tuple[tuple[int, int], ...], days: tuple[Any, Any] | None = None,
                         kinds: tuple[str, ...] | None = None) -> pl.Series:
        """The sources that probed any port in *ranges* (the scanner query's ``port:``; memoized by the workspace),
        on the days (first, last) only when given (the time range); *kinds*: the list's (``udp`` too with UDP)."""
        self._need_rollup()
        return self.workspace.sources_on_ports(ranges, days=days, kinds=kinds)

    def scanners_in(self, time_range: tuple[Any, Any] | None, include_udp: bool = False,
                    task: Task | None = None) -> ScannerList | None:
        """The scanner list recounted for the days of *time_range* (as ``scanners --since/--until``; memoized by
        the workspace), with UDP probes counted when *include_udp* (``--include-udp``); the whole list for None
        without UDP. *task*: told each source range of the recount, and cancelled to stop it there."""
        if time_range is None and not include_udp:
            return self.scanners
        from scantui.analysis.scanners import ScannerQuery

        self._need_rollup()
        first, last = time_range or (None, None)
        return self.workspace.scanners(ScannerQuery(since=first, until=last, include_udp=include_udp), task=task)

    def sources_on_days(self, spans: tuple[tuple[Any, Any], ...], kinds: tuple[str, ...] | None = None) -> pl.Series:
        """The sources that probed on any day of *spans* (the scanner query's ``day:``; memoized by the workspace);
        *kinds* as :meth:`sources_on_ports`."""
        self._need_rollup()
        return self.workspace.sources_on_days(spans, kinds=kinds)

    def sources_of_sensors(self, names: tuple[str, ...]) -> pl.Series:
        """The sources seen by any of the sensors *names* (the scanner query's ``sensor:``; memoized by the workspace)."""
        self._need_rollup()
        return self.workspace.sources_of_sensors(names)

    def _need_rollup(self) -> Rollup:
        if self.rollup is None or self.workspace is None:
            raise RuntimeError("the rollup is not open yet")
        return self.rollup


def explained(exc: BaseException) -> BaseException:
    """*exc*, its :func:`error_text` worked out now: a worker thread that caught it calls this before handing it to the
    UI thread, so that the search of the cache for a damaged file (:func:`scantui.analysis.cache_damage.read_failure`:
    0.4 s at 84 days, seconds at a year) runs there, not on the UI thread when the error is shown (the answer is
    kept on the exception)."""
    from scantui.analysis.cache_damage import read_failure

    read_failure(exc)
    return exc


def error_text(exc: BaseException) -> str:
    """One line for a notification: a ScantuiError's message, else the exception's type and first line
    (a polars error or panic: :func:`scantui.analysis.cache_damage.read_failure`, else
    :func:`scantui.io.read_panics.panic_error`)."""
    from scantui.analysis.cache_damage import read_failure
    from scantui.errors import ScantuiError
    from scantui.io.read_panics import as_error

    # a polars error or panic: the changed input's error or the damaged cache file's, else polars' own first line
    exc = read_failure(exc) or as_error(exc)
    if isinstance(exc, ScantuiError):
        return exc.message
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
