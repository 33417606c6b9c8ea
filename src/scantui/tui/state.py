"""What the TUI knows about the data it shows: the model behind every screen (no Textual here).

:class:`DataState` walks the loading pipeline one step at a time, each step a
plain blocking call the App runs in a thread worker:

1. :meth:`DataState.open_inputs` expands the paths and sniffs formats (fast);
2. :meth:`DataState.open_rollup` opens the cached rollup or builds it (the slow
   step, with ``progress(message, fraction)``);
3. :meth:`DataState.build_overview` reads the overview figures from the rollup
   tables (``day_totals``, ``src_totals``, ``src_profile``, ``port_day``), never the packets;
4. :meth:`DataState.build_scanners` computes the scanner list (as ``scantui scanners``);
5. :meth:`DataState.build_collab` and :meth:`DataState.build_groups` count the
   candidate collaborative scans and suggested groups waiting for review.

Beside the pipeline, :meth:`DataState.open_labels` opens the labels file (a
:class:`~scantui.labels.session.LabelSession`: every change saved at once,
undoable); :meth:`DataState.review_record` says whether a candidate or group is new,
labelled or rejected there, or only shares its IPs with a labelled group (its scans not recorded).

Each step stores its result on the state, so screens added later (candidates,
detail, labels) read ``state.dataset``, ``state.rollup``, ``state.scanners``,
``state.collab`` and ``state.groups`` instead of recomputing them.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
TOP_PORTS_SHOWN = 10


@dataclass(frozen=True)
class LoadRequest:
    """What ``scantui PATH...`` asked for."""

    paths: tuple[str, ...]
    opts: LoadOptions | None = None
    telescope_size: int | None = None
    telescope_cidrs_text: str | None = None
    cache_dir: str | os.PathLike[str] | None = None
    labels_path: str | os.PathLike[str] | None = None
    window: str = "day"  # the collaborative-scan search options, as typed (``scantui PATH --window 24h``...)
    tolerance: str | None = None
    by: str = "both"

    def collab_query(self) -> Any:
        """The :class:`~scantui.analysis.collab.CollabQuery` of the search options (InputError on a bad one)."""
        from scantui.analysis.collab import make_query

        return make_query(by=self.by, window=self.window, tolerance=self.tolerance, telescope_cidrs=self.telescope_cidrs_text)

    @property
    def title(self) -> str:
        """The data's name for the header: the first path's file name (+ how many more)."""
        if not self.paths:
            return "no data"
        name = Path(self.paths[0]).name or str(self.paths[0])
        return name if len(self.paths) == 1 else f"{name} +{len(self.paths) - 1}"


@dataclass(frozen=True)
class ToolShare:
    tool: str
    packets: int
    share: float  # of probes
    sources: int


@dataclass(frozen=True)
class PortShare:
    port: int
    packets: int
    sources: int
    share: float  # of probes


@dataclass(frozen=True)
class Overview:
    """The overview screen's figures, all from the rollup tables."""

    packets: int
    sources: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    days: int
    telescope_size: int
    telescope_from: str  # "cidr" | "given" | "estimated"
    traffic: dict[str, int]  # kind -> packets (probe, backscatter, other_tcp, udp, icmp, other)
    tools: tuple[ToolShare, ...]
    top_ports: tuple[PortShare, ...]
    day_list: tuple[dt.date, ...]
    day_packets: tuple[int, ...]
    day_probes: tuple[int, ...]
    skipped: dict[str, int] = field(default_factory=dict)
    sensors: tuple[str, ...] = ()
    inputs: tuple[tuple[str, str, int], ...] = ()  # (path, format, bytes)

    @property
    def probes(self) -> int:
        return self.traffic.get("probe", 0)

    @property
    def backscatter(self) -> int:
        return self.traffic.get("backscatter", 0)

    @property
    def other(self) -> int:
        return self.packets - self.probes - self.backscatter


def overview_from_rollup(rollup: Rollup, telescope_size: int, telescope_from: str, dataset: Dataset | None = None) -> Overview:
    """The overview figures of a rollup (a few small scans of its tables; ``port_day`` for the top ports).

    *dataset* (optional) names the input files.
    """
    import polars as pl

    from scantui.analysis.fingerprints import TOOLS
    from scantui.analysis.rollup import TOOL_COLUMNS

    days = (rollup.day_totals.group_by("day").agg(pl.col("packets", "probes").sum()).sort("day")).collect()
    kinds = rollup.src_totals.group_by("kind").agg(pl.col("packets").sum()).collect()
    traffic = {str(k): int(n) for k, n in kinds.iter_rows()}
    sources = rollup.src_totals.select(pl.col("src").n_unique()).collect().item()
    probes = traffic.get("probe", 0)
    profile = rollup.src_profile
    if profile is not None:
        per_src = profile.filter(pl.col("kind") == "probe")
    else:  # a layout-1 folder: the same sums from port_day
        per_src = rollup.port_day.filter(pl.col("kind") == "probe").group_by("src").agg(pl.col(TOOL_COLUMNS).sum())
    tool_row = per_src.select(
        *[pl.col(c).sum().alias(f"p_{t}") for t, c in zip(TOOLS, TOOL_COLUMNS)],
        *[(pl.col(c) > 0).sum().alias(f"s_{t}") for t, c in zip(TOOLS, TOOL_COLUMNS)],
    ).collect().row(0, named=True)
    tools = tuple(
        ToolShare(t, int(tool_row[f"p_{t}"] or 0), (tool_row[f"p_{t}"] or 0) / probes if probes else 0.0, int(tool_row[f"s_{t}"] or 0))
        for t in TOOLS
    )
    ports = (
        rollup.port_day.filter(pl.col("kind") == "probe")
        .group_by("dport").agg(pl.col("packets").sum().alias("packets"), pl.col("src").n_unique().alias("sources"))
        .sort(["packets", "dport"], descending=[True, False]).head(TOP_PORTS_SHOWN).collect()
    )
    top_ports = tuple(
        PortShare(int(p), int(n), int(s), n / probes if probes else 0.0) for p, n, s in ports.select("dport", "packets", "sources").iter_rows()
    )
    sensors = rollup.day_totals.select(pl.col("sensor").drop_nulls().unique().sort()).collect().to_series().to_list()
    inputs = tuple((str(f.path), f.format, _size(f.path)) for f in dataset.inputs) if dataset is not None else ()
    meta = rollup.meta
    return Overview(
        packets=int(days["packets"].sum() or 0),
        sources=int(sources or 0),
        first_seen=_parse_ts(meta.get("first_ts")),
        last_seen=_parse_ts(meta.get("last_ts")),
        days=days.height,
        telescope_size=telescope_size,
        telescope_from=telescope_from,
        traffic=traffic,
        tools=tools,
        top_ports=top_ports,
        day_list=tuple(days["day"].to_list()),
        day_packets=tuple(int(v) for v in days["packets"].to_list()),
        day_probes=tuple(int(v) for v in days["probes"].to_list()),
        skipped=rollup.skipped,
        sensors=tuple(sensors),
        inputs=inputs,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _parse_ts(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


class DataState:
    """The loaded data and everything computed from it, filled step by step (see the module doc).

    Steps are called from one worker thread at a time; readers on the UI thread
    only see attributes once the App has been told (by a message) that the
    step finished.
    """

    def __init__(self, request: LoadRequest) -> None:
        self.request = request
        self.dataset: Dataset | None = None
        self.rollup: Rollup | None = None
        self.telescope_size: int | None = None
        self.telescope_from: str | None = None
        self.overview: Overview | None = None
        self.scanners: ScannerList | None = None
        self.collab: CollabResult | None = None
        self.groups: list[SuggestedGroup] | None = None
        self.labels: LabelSession | None = None
        self._port_cache: dict[tuple[tuple[int, int], ...], pl.Series] = {}
        self._review_groups: tuple[Any, ...] = ()
        self._review_cache: dict[tuple[Any, ...], tuple[str, list[dict[str, Any]]]] = {}
        self._review_index: Any = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ the pipeline

    def open_inputs(self) -> Dataset:
        from scantui.io.loader import open_inputs

        self.dataset = open_inputs(list(self.request.paths), self.request.opts)
        return self.dataset

    def open_rollup(self, progress: Progress | None = None) -> Rollup:
        from scantui.analysis.rollup_cache import open_rollup

        dataset = self.dataset or self.open_inputs()
        self.rollup = open_rollup(dataset, opts=self.request.opts, cache_dir=self.request.cache_dir, progress=progress)
        return self.rollup

    def resolve_telescope(self) -> tuple[int, str]:
        """The telescope size (``--telescope``, ``--telescope-size`` or the rollup's estimate) and its origin."""
        from scantui.analysis.rollup_cache import telescope_size_estimate
        from scantui.analysis.telescope import resolve_size

        req = self.request
        given = bool(req.telescope_cidrs_text) or req.telescope_size is not None
        estimate = 0 if given or self.rollup is None else telescope_size_estimate(self.rollup)
        self.telescope_size, self.telescope_from = resolve_size(req.telescope_cidrs_text, req.telescope_size, estimate)
        return self.telescope_size, self.telescope_from

    def build_overview(self) -> Overview:
        rollup = self._need_rollup()
        size, origin = self.resolve_telescope()
        self.overview = overview_from_rollup(rollup, size, origin, self.dataset)
        return self.overview

    def build_scanners(self) -> ScannerList:
        from scantui.analysis.scanners import scanner_list

        rollup = self._need_rollup()
        size = self.telescope_size if self.telescope_size is not None else self.resolve_telescope()[0]
        self.scanners = scanner_list(
            rollup.port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment,
            telescope_size=size, packets=self.dataset.lf if self.dataset else None, src_profile=rollup.src_profile,
        )
        return self.scanners

    def build_collab(self) -> CollabResult:
        """Candidate collaborative scans with the request's search options (as ``scantui collab``).

        A search started before the options changed (:meth:`ScantuiApp.search_again`) does not store its result.
        """
        from scantui.analysis.collab import collab_scans

        request = self.request
        rollup = self._need_rollup()
        size = self.telescope_size if self.telescope_size is not None else self.resolve_telescope()[0]
        result = collab_scans(self.dataset.lf, port_day=rollup.port_day, enrichment=rollup.enrichment, telescope_size=size,
                              query=request.collab_query())
        if self.request is request:
            self.collab = result
        return result

    def build_groups(self) -> list[SuggestedGroup] | None:
        """Suggested groups of the candidates; None while :mod:`scantui.analysis.groups` is not there."""
        try:
            from scantui.analysis.groups import suggest_groups
        except ImportError:
            return None
        request = self.request
        candidates = self.collab.candidates if self.collab is not None else self.build_collab().candidates
        groups = suggest_groups(candidates)
        if self.request is request:
            self.groups = groups
        return groups

    def open_labels(self) -> LabelSession:
        """The labels file of the request (``./scantui-labels.yaml`` by default; created on the first change)."""
        from scantui.labels.session import LabelSession

        path = self.request.labels_path or "scantui-labels.yaml"
        self.labels = LabelSession.open(str(path))
        return self.labels

    def review(self, ips: list[str], scans: list[Any] | None = None) -> tuple[str, list[dict[str, Any]]]:
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
        """:meth:`review` of a candidate scan or a suggested group: its IPs and its scans."""
        from scantui.tui.labelling import record_ips

        return self.review(record_ips(record), self.record_scans(record))

    # ------------------------------------------------------------ queries the screens ask

    def sources_on_ports(self, ranges: tuple[tuple[int, int], ...]) -> pl.Series:
        """The sources that probed any port in *ranges* (from ``port_day``; cached per ranges)."""
        import polars as pl

        with self._lock:
            if ranges in self._port_cache:
                return self._port_cache[ranges]
        rollup = self._need_rollup()
        port = pl.col("dport")
        hit = pl.any_horizontal([port.is_between(lo, hi) for lo, hi in ranges])
        srcs = rollup.port_day.filter((pl.col("kind") == "probe") & hit).select("src").unique().collect()["src"]
        with self._lock:
            self._port_cache[ranges] = srcs
        return srcs

    def _need_rollup(self) -> Rollup:
        if self.rollup is None:
            raise RuntimeError("the rollup is not open yet")
        return self.rollup


def error_text(exc: BaseException) -> str:
    """One line for a notification: a ScantuiError's message, else the exception's type and first line."""
    from scantui.errors import ScantuiError

    if isinstance(exc, ScantuiError):
        return exc.message
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
