"""The :class:`Workspace`: one opened data set and every result computed from it, memoized.

The pipeline both front ends run, written once: inputs
(:func:`~scantui.io.loader.open_inputs`) → rollup (built on first use, cached on
disk: :func:`~scantui.analysis.rollup_cache.open_rollup`; non-Parquet inputs
decoded once into the cache there) → telescope size (``--telescope``,
``--telescope-size`` or the rollup's estimate) → the overview, the scanner list,
candidate collaborative scans, suggested groups, a group's tracking figures, similar sources and
the detail reads (per-source volumes, ports and tools from ``port_day``; the
packets of a timing plot).

Every result is memoized per query (queries are frozen dataclasses), so the
TUI's screens and the CLI's commands share one computation; a result is the
analysis function's own object, to be read, not changed. Each method takes an
optional :class:`~scantui.workspace.task.Task` (default: the one given to
:meth:`Workspace.open`) for progress and cancellation.

Where a cancelled task stops (its checkpoints): before every step here; inside a
rollup build before a capture is decoded, before the stage pass, between its
days and its source buckets, and before its metadata is written (the build's
temporary folder is then removed: no cache entry). What cannot be interrupted is
one polars call: decoding a capture into the cache, the build's stage pass (one
streaming read of the whole input, the longest part of a build), the
collaborative-scan search, the scanner list, a track, a detail read. Each runs to
its end and the task stops at the next checkpoint after it; a decoded copy
finished before that stays in the cache (complete, and reused next time).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from scantui.workspace.memo import Memo
from scantui.workspace.task import Task

if TYPE_CHECKING:
    import datetime as dt

    import polars as pl

    from scantui.analysis.collab import CollabResult
    from scantui.analysis.collab_query import CollabQuery
    from scantui.analysis.collab_types import SuggestedGroup
    from scantui.analysis.detail import TimingPackets
    from scantui.analysis.groups import GroupQuery
    from scantui.analysis.overview import Overview
    from scantui.analysis.packet_source import PacketSource
    from scantui.analysis.rollup_cache import Rollup, RollupUpdate
    from scantui.analysis.runner import Runner
    from scantui.analysis.scanners import ScannerList, ScannerQuery
    from scantui.analysis.similar import SimilarQuery
    from scantui.analysis.similar_types import SimilarResult
    from scantui.analysis.track_types import TrackResult
    from scantui.analysis.tracking import TrackQuery
    from scantui.enrich.rules import Rules
    from scantui.io.loader import Dataset
    from scantui.io.options import LoadOptions
    from scantui.io.packet_refs import CaptureFile

T = TypeVar("T")

#: (``--telescope`` CIDRs as typed, ``--telescope-size``): at most one given; neither: estimated from the data.
TelescopeOption = tuple["str | None", "int | None"]

RESULTS_KEPT = 32  # scanner lists, searches, groups, tracks and detail figures kept (the last asked)
READS_KEPT = 4  # packet reads of timing plots kept (each up to MAX_TIMING_ROWS rows)


@dataclass(frozen=True)
class DetailFigures:
    """What a detail screen shows of some sources besides their packets (from the rollup's ``port_day``)."""

    per_day: pl.DataFrame  # day, packets, sources (every traffic kind)
    ports: pl.DataFrame  # dport, packets, days (probes), most packets first
    tools: dict[str, int]  # packets per tool fingerprint (probes), largest first


class Workspace:
    """One data set and what is computed from it; open with :meth:`open`. Safe to call from several threads."""

    def __init__(self, dataset: Dataset, options: LoadOptions | None = None, telescope: TelescopeOption = (None, None),
                 *, cache_dir: str | os.PathLike[str] | None = None, task: Task | None = None,
                 runner: Runner | None = None) -> None:
        self.dataset = dataset
        self.runner = runner
        self.options = options
        self.telescope_option = telescope
        self.cache_dir = cache_dir
        self.task = task or Task()
        self._pipeline = Memo(size=None)  # the rollup, the telescope size, the overview, the summary
        self._results = Memo(size=RESULTS_KEPT)
        self._reads = Memo(size=READS_KEPT)

    @classmethod
    def open(cls, paths: Sequence[str | os.PathLike[str]], options: LoadOptions | None = None,
             telescope: TelescopeOption = (None, None), *, cache_dir: str | os.PathLike[str] | None = None,
             task: Task | None = None, runner: Runner | None = None) -> Workspace:
        """Expand *paths* and sniff their formats (fast: nothing is decoded or rolled up yet).

        A missing or unreadable input is an :class:`~scantui.errors.InputError` here. *cache_dir* is the
        rollup cache's folder (default ``$SCANTUI_CACHE_DIR`` or the user cache folder). *runner* runs a
        rollup build's steps (:mod:`scantui.analysis.runner`: default in this process; a
        :class:`~scantui.analysis.runner.DaskRunner` on a Dask cluster, same result).
        """
        from scantui.io.loader import open_inputs

        return cls(open_inputs([str(p) for p in paths], options), options, telescope, cache_dir=cache_dir, task=task,
                   runner=runner)

    def _task(self, task: Task | None) -> Task:
        return task if task is not None else self.task

    def _memo(self, memo: Memo, key: Any, task: Task, compute: Callable[[], T]) -> T:
        def run() -> T:
            task.check()
            return compute()

        return memo.get(key, run, task)

    # ------------------------------------------------------------ the pipeline

    def rollup(self, task: Task | None = None, *, rebuild: bool = False) -> Rollup:
        """The rollup of the inputs: from the cache, else built now (the slow step; progress and checkpoints
        between its days and buckets). A cancelled build raises Cancelled and leaves no cache entry.
        *rebuild* builds it again even when cached (the results computed from the old one stay: same inputs)."""
        task = self._task(task)

        def build() -> Rollup:
            from scantui.analysis.rollup_cache import open_rollup

            return open_rollup(self.dataset, opts=self.options, cache_dir=self.cache_dir, rebuild=rebuild,
                               progress=task.reporter(), runner=self.runner)

        if rebuild:
            self._pipeline.forget("rollup")
        return self._memo(self._pipeline, "rollup", task, build)

    def update_rollup(self, task: Task | None = None, *, rebuild: bool = False) -> RollupUpdate:
        """:meth:`rollup`, also saying what was built and what was reused (``scantui rollup``): only the
        days whose inputs changed are built again. The rollup it returns is the one :meth:`rollup` gives next."""
        task = self._task(task)
        found: list[RollupUpdate] = []

        def build() -> Rollup:
            from scantui.analysis.rollup_cache import update_rollup

            found.append(update_rollup(self.dataset, opts=self.options, cache_dir=self.cache_dir, rebuild=rebuild,
                                       progress=task.reporter(), runner=self.runner))
            return found[0].rollup

        self._pipeline.forget("rollup")
        self._memo(self._pipeline, "rollup", task, build)
        if not found:  # another thread built it meanwhile: its update is not ours to tell, ask again from the cache
            from scantui.analysis.rollup_cache import update_rollup

            found.append(update_rollup(self.dataset, opts=self.options, cache_dir=self.cache_dir, progress=task.reporter(),
                                       runner=self.runner))
        return found[0]

    def year_notes(self, task: Task | None = None) -> list[str]:
        """One note per LOG input whose syslog times carry no year, read without ``--year``: the year its last line
        was given (:func:`~scantui.analysis.rollup_log_year.year_notes`: from the rollup's inputs, nothing read again). The
        CLI writes them on stderr, the TUI notifies them."""
        from scantui.analysis.rollup_log_year import year_notes

        return year_notes(self.rollup(task))

    def packets(self, task: Task | None = None) -> pl.LazyFrame:
        """The packets, lazily: once the rollup is open, a non-Parquet input is read from its decoded copy in
        the cache (decoded once, by the first build), never decoded again."""
        self.rollup(task)
        return self.dataset.lf

    def packet_source(self, task: Task | None = None) -> PacketSource:
        """Where the queries read packets: the rollup's per-day tables (only the days, ports and sources a
        query needs), or, for a rollup without them (a day state pruned), the packets themselves."""
        from scantui.analysis.packet_source import FramePackets

        return self.rollup(task).packet_source() or FramePackets(self.packets(task))

    def packet_view(self, task: Task | None = None) -> tuple[PacketSource, list[CaptureFile]]:
        """For the packets view and ``scantui packets``: the packet source (rows with ``ref_file``/``ref_off``
        when the inputs are captures) and the capture files those references index."""
        source = self.packet_source(task)
        return source, source.capture_files()

    def telescope(self, task: Task | None = None) -> tuple[int, str]:
        """(size, origin): ``cidr`` (``--telescope``), ``given`` (``--telescope-size``) or ``estimated`` (the
        rollup's median daily destinations, read only when neither is given)."""
        task = self._task(task)

        def resolve() -> tuple[int, str]:
            from scantui.analysis.rollup_cache import telescope_size_estimate
            from scantui.analysis.telescope import resolve_size

            cidrs, size = self.telescope_option
            given = bool(cidrs) or size is not None
            return resolve_size(cidrs, size, 0 if given else telescope_size_estimate(self.rollup(task)))

        return self._memo(self._pipeline, "telescope", task, resolve)

    @property
    def telescope_size(self) -> int:
        return self.telescope()[0]

    def overview(self, task: Task | None = None) -> Overview:
        """The overview figures (from the rollup tables, never the packets)."""
        task = self._task(task)

        def build() -> Overview:
            from scantui.analysis.overview import overview_from_rollup

            rollup = self.rollup(task)
            size, origin = self.telescope(task)
            return overview_from_rollup(rollup, size, origin, self.dataset)

        return self._memo(self._pipeline, "overview", task, build)

    def summary(self, rules: Rules | None = None, task: Task | None = None) -> dict[str, Any]:
        """``scantui info``'s figures, from the rollup's tables (built on the first call, like every other
        command's); *rules* name organizations. Enrichment tables given as PATHs take part. The dict is the
        caller's to complete (a fresh copy). A rollup without its merged state counts destinations from every day's
        pairs; one without day states either is summarized from the packets.
        """
        task = self._task(task)

        def build() -> dict[str, Any]:
            from scantui.analysis.summary import summarize
            from scantui.analysis.summary_rollup import summarize_rollup

            tables = None
            if self.dataset.enrichment_paths:
                from scantui.enrich.table import scan_tables

                tables = scan_tables(self.dataset.enrichment_paths)
            rollup = self.rollup(task)
            task.check()
            pairs = rollup.destinations  # the days' distinct destinations: a telescope's addresses a day
            if pairs is None:
                pairs = rollup.dst_pairs
            if pairs is None:  # a rollup kept without its merged state: every day's pairs, else the packets
                source = rollup.packet_source()
                if source is None:
                    return summarize(self.packets(task), rules=rules, enrichment=tables)
                pairs = source.pairs()
            return summarize_rollup(rollup.port_day, rollup.src_totals, rollup.day_totals, pairs, rollup.own_enrichment,
                                    list(rollup.meta.get("enrichment_columns", [])), rules=rules, enrichment=tables,
                                    src_profile=rollup.src_profile, protocols=rollup.protocols)

        return dict(self._memo(self._pipeline, ("summary", rules), task, build))

    # ------------------------------------------------------------ sensors (scantui.analysis.sensors)

    def sensor_spaces(self, task: Task | None = None) -> dict[str, int]:
        """Each sensor's space (its median daily distinct destinations), by name; empty without sensors."""
        task = self._task(task)

        def build() -> dict[str, int]:
            from scantui.analysis.sensors import sensor_spaces

            return sensor_spaces(self.rollup(task).day_totals)

        return self._memo(self._pipeline, "sensor_spaces", task, build)

    def sensor_summary(self, task: Task | None = None) -> list[Any]:
        """Per-sensor figures (:class:`~scantui.analysis.sensors.SensorSummary`), by name; empty without sensors."""
        task = self._task(task)

        def build() -> list[Any]:
            from scantui.analysis.sensors import sensor_summary

            rollup = self.rollup(task)
            return sensor_summary(rollup.day_totals, rollup.port_day, rollup.sensor_pairs)

        return self._memo(self._pipeline, "sensor_summary", task, build)

    def sources_of_sensors(self, names: Sequence[str], *, task: Task | None = None) -> pl.Series:
        """The sources seen by any of the sensors *names* (the query's ``sensor:``; case-insensitive)."""
        task = self._task(task)
        names = tuple(sorted({n.lower() for n in names}))

        def build() -> pl.Series:
            from scantui.analysis.sensors import sources_of_sensors

            rollup = self.rollup(task)
            return sources_of_sensors(rollup.port_day, names, rollup.sensor_pairs)

        return self._memo(self._results, ("sources_of_sensors", names), task, build)

    def seen_by_not(self, only: str, not_: str, *, task: Task | None = None) -> pl.DataFrame:
        """The sources seen by sensor *only* but not by *not_* (:func:`~scantui.analysis.sensors.seen_by_not`)."""
        task = self._task(task)

        def build() -> pl.DataFrame:
            from scantui.analysis.sensors import seen_by_not

            return seen_by_not(self.rollup(task).port_day, only, not_)

        return self._memo(self._results, ("seen_by_not", only, not_), task, build)

    # ------------------------------------------------------------ results

    def scanners(self, query: ScannerQuery | None = None, *, rules: Rules | None = None,
                 task: Task | None = None) -> ScannerList:
        """The scanner list (``scantui scanners``) of *query* (default: every probing source); *rules* default to
        the shipped organization rules merged with the user's."""
        task = self._task(task)

        def build() -> ScannerList:
            from scantui.analysis.scanners import scanner_list

            rollup = self.rollup(task)
            size = self.telescope(task)[0]
            task.check()
            port_day = _port_day(rollup, bool(query is not None and query.ports))
            return scanner_list(port_day, rollup.src_totals, rollup.day_totals, rollup.enrichment, query=query,
                                telescope_size=size, packets=self.packet_source(task), src_profile=rollup.src_profile,
                                rules=rules, walks=rollup.zmap_walks, rollup=rollup.path,
                                enrichment_latest=rollup.enrichment_latest, enrichment_parts=rollup.enrichment_parts,
                                progress=task.reporter())  # each source range: a checkpoint

        from scantui.enrich.lists import lists_stamp

        # a list imported, replaced or removed since: computed again (the ``list`` column)
        return self._memo(self._results, ("scanners", query, rules, lists_stamp()), task, build)

    def collab(self, query: CollabQuery | None = None, *, task: Task | None = None) -> CollabResult:
        """Every candidate collaborative scan (``scantui collab``), ranked; only candidates' packets are read."""
        from scantui.analysis.collab_query import CollabQuery

        query = query if query is not None else CollabQuery()
        task = self._task(task)

        def search() -> CollabResult:
            from scantui.analysis.collab import collab_scans

            rollup = self.rollup(task)
            size = self.telescope(task)[0]
            task.check()
            # the pre-filter then reads a few days and ports: from the port-sorted copy (the day window's AS
            # pass too under enrichment tables, whose days' sums are made on first use)
            day_as = not query.bursts and "asn" in query.by
            sums = rollup.collab_sums_with_as() if day_as else rollup.collab_sums
            port_day = _port_day(rollup, bool(query.ports) or sums is not None)
            fingerprints = rollup.fingerprints if "fingerprint" in query.by else None
            result = collab_scans(self.packet_source(task), port_day=port_day, enrichment=rollup.enrichment,
                                  telescope_size=size, query=query, sums=sums, walks=rollup.zmap_walks,
                                  fingerprints=fingerprints, bursts=rollup.bursts, burst_sums=rollup.burst_sums,
                                  keyed_bursts=rollup.keyed_bursts if fingerprints is not None else None,
                                  progress=task.reporter())  # each batch: a checkpoint
            spaces = self.sensor_spaces(task)
            if len(spaces) < 2:
                return result
            import dataclasses

            from scantui.analysis.sensor_collab import with_sensors

            def on_sensor(packets, sensor_port_day, sensor_size):  # the same search on one sensor's space
                return collab_scans(packets, port_day=sensor_port_day, enrichment=rollup.enrichment,
                                    telescope_size=sensor_size, query=query, walks=rollup.zmap_walks,
                                    fingerprints=fingerprints).candidates

            found = with_sensors(result.candidates, self.packet_source(task), rollup.port_day, spaces, query.low,
                                 on_sensor, query.top)
            return dataclasses.replace(result, candidates=found)

        return self._memo(self._results, ("collab", query), task, search)

    def groups(self, query: CollabQuery | None = None, group_query: GroupQuery | None = None, *,
               task: Task | None = None) -> list[SuggestedGroup]:
        """The suggested groups (``scantui groups``) of the candidates of *query*, linked as *group_query* says."""
        from scantui.analysis.collab_query import CollabQuery
        from scantui.analysis.groups import GroupQuery

        query = query if query is not None else CollabQuery()
        group_query = group_query if group_query is not None else GroupQuery()
        task = self._task(task)

        def build() -> list[SuggestedGroup]:
            from scantui.analysis.groups import suggest_groups

            candidates = self.collab(query, task=task).candidates
            task.check()
            return suggest_groups(candidates, group_query)

        return self._memo(self._results, ("groups", query, group_query), task, build)

    def track(self, members: Sequence[str], query: TrackQuery | None = None, *, task: Task | None = None) -> TrackResult:
        """The tracking figures (``scantui track``) of the group whose members are *members* (IPs/CIDRs)."""
        from scantui.analysis.tracking import TrackQuery

        query = query if query is not None else TrackQuery()
        task = self._task(task)
        members = tuple(members)

        def build() -> TrackResult:
            from scantui.analysis.tracking import track_group

            rollup = self.rollup(task)
            size = self.telescope(task)[0]
            task.check()
            return track_group(self.packet_source(task), list(members), telescope_size=size, query=query,
                               enrichment=rollup.enrichment, port_day=rollup.port_day)

        return self._memo(self._results, ("track", members, query), task, build)

    def similar(self, query: SimilarQuery, *, task: Task | None = None) -> SimilarResult:
        """The sources most like the query's seeds (``scantui similar``): the rollup's ``src_profile`` and
        ``port_day``, and the short list's packets from the day tables (bounded: :mod:`scantui.analysis.similar`)."""
        task = self._task(task)

        def build() -> SimilarResult:
            from scantui.analysis.similar import similar_sources

            rollup = self.rollup(task)
            task.check()
            profile = rollup.src_profile
            if profile is None:
                from scantui.errors import InputError

                raise InputError("this rollup has no src_profile table; rebuild it (scantui rollup --rebuild)")
            return similar_sources(profile, rollup.port_day, query, self.packet_source(task))

        return self._memo(self._results, ("similar", query), task, build)

    def sources_on_ports(self, ranges: Sequence[tuple[int, int]], *, task: Task | None = None,
                         days: tuple[dt.date, dt.date] | None = None, kinds: Sequence[str] | None = None) -> pl.Series:
        """The sources that probed any port in *ranges* (inclusive ``(low, high)`` pairs), from ``port_day``;
        with *days* (first, last), on those days only (the TUI's time range, ``scanners --since/--until``).
        *kinds*: the traffic kinds that count (the list's: ``ScannerQuery.kinds``, with ``udp`` under
        ``--include-udp``; None: probes)."""
        task = self._task(task)
        ranges = tuple((int(lo), int(hi)) for lo, hi in ranges)
        kinds = _kinds(kinds)

        def build() -> pl.Series:
            import polars as pl

            port = pl.col("dport")
            hit = pl.any_horizontal([port.is_between(lo, hi) for lo, hi in ranges])
            if days is not None:
                hit = hit & pl.col("day").is_between(days[0], days[1])
            port_day = _port_day(self.rollup(task), True)
            from scantui.analysis.traffic import kind_is

            return port_day.filter(kind_is(kinds) & hit).select("src").unique().collect()["src"]

        key = ("sources_on_ports", ranges) if days is None else ("sources_on_ports", ranges, days)
        key = _with_kinds(key, kinds)
        return self._memo(self._results, key, task, build)

    def sources_on_days(self, spans: Sequence[tuple[dt.date | None, dt.date | None]], *,
                        task: Task | None = None, kinds: Sequence[str] | None = None) -> pl.Series:
        """The sources that probed on any day of *spans* (inclusive ``(first, last)`` days, None: open), from
        ``port_day`` (the scanner query's ``day:``); *kinds* as :meth:`sources_on_ports`."""
        task = self._task(task)
        spans = tuple((lo, hi) for lo, hi in spans)
        kinds = _kinds(kinds)

        def build() -> pl.Series:
            import polars as pl

            day = pl.col("day")
            hits = [pl.all_horizontal([day >= lo if lo is not None else pl.lit(True),
                                       day <= hi if hi is not None else pl.lit(True)]) for lo, hi in spans]
            port_day = _port_day(self.rollup(task), False)
            from scantui.analysis.traffic import kind_is

            return port_day.filter(kind_is(kinds) & pl.any_horizontal(hits)).select("src").unique().collect()["src"]

        return self._memo(self._results, _with_kinds(("sources_on_days", spans), kinds), task, build)

    # ------------------------------------------------------------ what a detail screen reads

    def detail(self, srcs: Sequence[int], *, days: tuple[dt.date, dt.date] | None = None,
               task: Task | None = None, kinds: Sequence[str] | None = None) -> DetailFigures:
        """Per-day volume, ports and tools of the sources *srcs* (IPv4 ints), from the rollup's ``port_day``;
        with *days* (first, last), of those days only (the TUI's time range). Ports and tools are of the
        sources' probes, or of *kinds* (``("probe", "udp")``: the scanner list with UDP counted)."""
        task = self._task(task)
        srcs = tuple(int(s) for s in srcs)
        kinds = _kinds(kinds)

        def build() -> DetailFigures:
            from scantui.analysis import detail

            port_day = self.rollup(task).port_day
            return DetailFigures(detail.per_day(port_day, srcs, days=days),
                                 detail.ports(port_day, srcs, days=days, kinds=kinds),
                                 detail.tools(port_day, srcs, days=days, kinds=kinds))

        key = ("detail", srcs) if days is None else ("detail", srcs, tuple(days))
        return self._memo(self._results, _with_kinds(key, kinds), task, build)

    def timing(self, srcs: Sequence[int], *, port: int | None = None, start_us: int | None = None,
               end_us: int | None = None, max_rows: int | None = None, task: Task | None = None,
               kinds: Sequence[str] | None = None) -> TimingPackets:
        """The sources' probes (or packets of *kinds*) for a timing plot (optionally one port and a time range, in
        µs), capped at *max_rows* (default :data:`~scantui.analysis.detail.MAX_TIMING_ROWS`), from the rollup's day
        tables."""
        from scantui.analysis.detail import MAX_TIMING_ROWS

        task = self._task(task)
        srcs = tuple(int(s) for s in srcs)
        cap = max_rows if max_rows is not None else MAX_TIMING_ROWS
        kinds = _kinds(kinds)

        def read() -> TimingPackets:
            from scantui.analysis.detail import timing_packets

            return timing_packets(self.packet_source(task), srcs, port=port, start_us=start_us, end_us=end_us,
                                  max_rows=cap, port_day=self.rollup(task).port_day, kinds=kinds)

        return self._memo(self._reads, _with_kinds(("timing", srcs, port, start_us, end_us, cap), kinds), task, read)


def _kinds(kinds: Sequence[str] | None) -> tuple[str, ...]:
    """The traffic kinds of a read in one order (None: probes, the default of every list)."""
    from scantui.analysis.traffic import PROBES

    return PROBES if kinds is None else tuple(sorted(set(kinds)))


def _with_kinds(key: tuple, kinds: tuple[str, ...]) -> tuple:
    """A memo key with the kinds read, where they are not the default (probes: the key as before)."""
    from scantui.analysis.traffic import PROBES

    return key if kinds == PROBES else (*key, kinds)


def _port_day(rollup: Rollup, by_port: bool) -> pl.LazyFrame:
    """The rollup's ``port_day``; for a query filtered by port, its copy sorted by port when the rollup has it
    (the same rows: a port filter then reads only that port's row groups of each day)."""
    if by_port:
        sorted_copy = rollup.port_day_by_port
        if sorted_copy is not None:
            return sorted_copy
    return rollup.port_day
