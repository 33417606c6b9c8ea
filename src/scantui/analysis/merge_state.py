"""The merge of the days into the rollup folder and its merged state (step 5 of :mod:`scantui.analysis.rollup_days`).

:func:`merge_days` writes the rollup's tables and ``merge/`` from the days, one source range at a
time (:func:`_merge_range`), extending an older rollup's state when it holds every one of its days
(:func:`extends`); :func:`held_days`, :func:`held_files` and :func:`dst_pair_files` read a finished
merged state.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scantui.analysis import bursts as bw
from scantui.analysis import collab_sums as cs
from scantui.analysis import day_destinations as dd
from scantui.analysis import day_ports as dp
from scantui.analysis import enrichment_overlay as eo
from scantui.analysis import collab_burst_sums as cbs
from scantui.analysis import day_protocols as dpr
from scantui.analysis import fingerprint_keys as fk
from scantui.analysis import keyed_bursts as kb
from scantui.analysis import port_sources as ps
from scantui.analysis import sensor_sources as ss
from scantui.analysis import merge_fold as mf
from scantui.analysis import rollup as ru
from scantui.analysis import zmap_rollup as zr
from scantui.analysis.merge_partials import (
    _ORDER, _as_base, _cover, _day_partials, _fold, _fold_sums, _grown_ports, _intervals, _key_sorted, _tool_sums,
    distinct_pairs,
)
from scantui.analysis.merge_plan import (
    _Catalog, _Range, _day_groups, _held_bounds, _held_nets, _net_rows, _overlaps, _plan_rows,
)
from scantui.analysis.merge_sources import HeldProfile, finish_sources
from scantui.analysis.port_day_files import DayFiles, by_port
from scantui.analysis.rollup_layout import (
    BASE, BASE_SCHEMA, COVER, DAY_TOTALS, DSTS, ENRICHMENT, INTERVALS, LAYERED, LAYERED_RANGE_SCALE, MERGE,
    MERGE_DAYS, MERGE_VERSION, PAIRS, PAIRS_SCHEMA, PORTS, PORT_SCANS, PROFILE_ROW_GROUP, ROW_GROUP, SRC_DAYS,
    SRC_DAYS_SCHEMA, _SCHEMAS, _SUMS, Progress,
)
from scantui.analysis.sort_keys import sort_by


def merge_days(days: Sequence[DayFiles], out: Path, *, enrich: bool, buckets: int = 1,
               progress: Progress | None = None, previous: Path | None = None, keep_state: bool = True) -> bool:
    """The rollup tables (all but ``meta.json``) and the merged state (``merge/``) into the
    existing, empty folder *out*; True when it extended *previous*' merged state.

    *enrich*: write ``src_day_enrichment/`` (the inputs have enrichment
    columns). *buckets*: at least this many source ranges (the result does not
    depend on it). *previous*: an older rollup folder; when every day of its
    merged state is one of *days* with the same state (:func:`extends`), only
    the other days and the days whose ``port_day`` file changed are folded into
    it, else every day is merged. *keep_state*: False removes ``merge/`` at the end
    (a build that keeps no days: nothing could extend it).
    """
    report = progress or (lambda _m, _f: None)
    days = sorted(days, key=lambda d: d.day)
    (out / ru.PORT_DAY).mkdir()
    sorted_by_port = all(by_port(d.port_day).is_file() for d in days)
    with_sums = all((d.state / cs.DAY_FILE).is_file() for d in days)
    with_fps = all((d.state / fk.DAY_FILE).is_file() for d in days)
    for d in days:
        folder = out / ru.PORT_DAY / f"day={d.day.isoformat()}"
        folder.mkdir()
        _link_or_copy(d.port_day, folder / "00000000.parquet")
        if sorted_by_port:
            folder = out / ru.PORT_DAY_BY_PORT / f"day={d.day.isoformat()}"
            folder.mkdir(parents=True)
            _link_or_copy(by_port(d.port_day), folder / "00000000.parquet")
        if with_sums:
            folder = out / cs.TABLE / f"day={d.day.isoformat()}"
            folder.mkdir(parents=True)
            _link_or_copy(d.state / cs.DAY_FILE, folder / "00000000.parquet")
        if with_fps:
            folder = out / fk.TABLE / f"day={d.day.isoformat()}"
            folder.mkdir(parents=True)
            _link_or_copy(d.state / fk.DAY_FILE, folder / "00000000.parquet")
    bw.link_days([(d.day, d.state) for d in days], out, _link_or_copy)
    for table in (dd.TABLE, dp.TABLE, dpr.TABLE, cbs.TABLE):
        table.link([(d.day, d.state) for d in days], out, _link_or_copy)
    kb.write(out)  # from the linked bursts and fingerprints: every burst of the sources keyed on some day
    _concat([d.state / DAY_TOTALS for d in days], ru.DAY_TOTALS_SCHEMA, out / ru.DAY_TOTALS, ["day", "sensor"])
    if enrich:
        eo.write_days([d.state / ENRICHMENT for d in days], out / ru.ENRICHMENT_DIR, ru.ENRICHMENT_SCHEMA)
    zr.merge([d.state for d in days], out)
    state = out / MERGE
    for sub in (*_SCHEMAS, SRC_DAYS, DSTS, *_SUMS, ss.TABLE):
        (state / sub).mkdir(parents=True)
    incremental = previous is not None and extends(previous, days) > 0
    old = previous / MERGE if incremental else None
    held_files: dict[str, list[Path]] | None = None
    layered: tuple[str, ...] = ()
    deltas = folds = 0
    fold = mf.FULL
    same_window = False
    if old is not None:
        index = _read_json_file(old / MERGE_DAYS)
        held = index["days"]
        # the files the index names, not a listing: a state folder missing one fails (and is merged anew)
        held_files = {t: [old / t / name for name in names] for t, names in index["files"].items()}
        new = [d for d in days if d.day.isoformat() not in held]
        changed = [(d, d.state / held[d.day.isoformat()][1]) for d in days
                   if d.day.isoformat() in held and held[d.day.isoformat()][1] != d.port_day.name]
        # what the index says of its files (a state written before it did: read from the files)
        held_nets = _held_nets(old, index)
        # add a layer, or fold the layers back: those above the base (middle), or all (full; merge_fold)
        fold, deltas, folds = mf.plan(index)
        if fold != mf.FULL:
            layered = mf.TIERED
        for t in layered:
            for f in mf.kept(fold, held_files[t]):
                _link_or_copy(f, state / t / f.name)
        held_days = sorted(held)
        same_window = bool(days) and (held_days[0], held_days[-1]) == (days[0].day.isoformat(), days[-1].day.isoformat())
        sizing = [*held_files[PORTS], *held_files[DSTS]]
        sized = [] if held_nets is not None else [str(f) for f in sizing]
        sized += [str(d.port_day) for d in new] + [str(d.state / PAIRS) for d in new]
    else:
        new, changed = list(days), []
        held_nets = None
        sized = [str(d.port_day) for d in days] + [str(d.state / PAIRS) for d in days]
    first_day = days[0].day if days else None
    n_days = (days[-1].day - days[0].day).days + 1 if days else 0
    nets = _net_rows(sized)  # one read of the files' sources, for the ranges and for the runs of days
    # larger ranges only where no held rows are held in memory: a layer (a middle fold folds the rows above the base)
    ranges = _plan_rows([*nets.values(), *([held_nets] if held_nets is not None else [])], buckets,
                        LAYERED_RANGE_SCALE if fold == mf.LAYER else 1)
    groups = _day_groups(new, ranges, nets)
    # the rows per /16 of the ports and dsts files the new index names: the held ones kept (layered), and
    # what each range writes (added by _merge_range)
    kept_nets = []
    if layered:
        kept_nets = [held_nets] if held_nets is not None else [nets[str(f)] for f in sizing]
    catalog = _Catalog(kept_nets)
    del nets  # a row per /16 per file: tens of MiB at 84 full-size days, not needed past the plan
    bounds = {}
    if held_files:
        bounds = _held_bounds(old, index, held_files)
        for t in layered:  # the files linked into the new state keep their bounds
            catalog.bounds[t].update({f.name: bounds[f] for f in held_files[t]})
    parts = out / ".parts"
    parts.mkdir()
    held_profile = None if old is None else HeldProfile(previous, same_window)  # read on, range after range
    held_sources = None if old is None else ps.read(previous)
    port_sources = ps.Tally()
    if held_sources is not None:
        port_sources.add(held_sources)
    counting = old is None or held_sources is not None  # each range's (source, port) pairs counted as it goes
    for i, (lo, hi) in enumerate(ranges):
        report(f"source totals and profiles, part {i + 1}/{len(ranges)}", i / len(ranges))
        r = _Range(i, len(days), lo, hi)
        # only the held files holding sources of the range: each is opened (its footer parsed) once a range
        mine = None if held_files is None else {t: [f for f in files if _overlaps(bounds[f], lo, hi)]
                                                for t, files in held_files.items()}
        upper = {t: mf.upper(mine[t]) for t in mf.TIERED} if fold == mf.MIDDLE else None
        touched, grown, written = _merge_range(r, new, changed, mine, state, layered, groups[i], catalog, upper)
        if counting:  # a full merge: the range's sources; an extension: its pairs none held
            if old is None:
                port_sources.add_rows(written[PORTS], written[PORT_SCANS])
            else:
                port_sources.add(grown["port_sources"])
        _range_sensors(r, written, grown, mine, state, catalog)
        layers = None
        if layered:
            layers = {t: mf.layer_files(state, t, mine[t], r, fold) for t in LAYERED}
        totals, profile = finish_sources(state, r, first_day, n_days,
                                         None if old is None else (previous, touched, same_window), layers, grown,
                                         tables=written, held=held_profile)
        # scratch, read once by _concat below: not worth compressing
        totals.write_parquet(parts / f"{i:05d}-src_totals.parquet", compression="uncompressed")
        profile.write_parquet(parts / f"{i:05d}-src_profile.parquet", compression="uncompressed")
        # nothing of a range is needed by the next: freed before it starts (else its tables, held here, add
        # to the next range's peak)
        del touched, grown, written, layers, mine, totals, profile
    files = {t: sorted(f.name for f in (state / t).glob("*.parquet")) for t in (*_SCHEMAS, SRC_DAYS, DSTS, *_SUMS, ss.TABLE)}
    if not counting:  # the previous rollup was merged before the table: counted once from the state's files
        _port_sources(state, files, ranges, port_sources)
    ps.write(port_sources.frame(), out)
    (out / ss.TABLE).mkdir()
    for name in files[ss.TABLE]:  # the pairs in the rollup too: its merged state goes when a later rollup extends it
        _link_or_copy(state / ss.TABLE / name, out / ss.TABLE / name)
    _write_json_file(state / MERGE_DAYS, {"version": MERGE_VERSION, "deltas": deltas, "folds": folds,
                                          "days": {d.day.isoformat(): [d.state.name, d.port_day.name] for d in days},
                                          "files": files, **catalog.write(state, files)})
    # the ranges' parts in range order, each sorted by (src, kind) (finish_sources): sorted as they are
    _concat(sorted(parts.glob("*-src_totals.parquet")), ru.SRC_TOTALS_SCHEMA, out / ru.SRC_TOTALS, None)
    # lz4: the scanner list reads this table whole on every call; lz4 decodes ~1.5x faster than zstd here.
    # Row groups of PROFILE_ROW_GROUP rows: the next extension reads it one source range at a time
    _concat(sorted(parts.glob("*-src_profile.parquet")), ru.SRC_PROFILE_SCHEMA, out / ru.SRC_PROFILE, None,
            compression="lz4", row_group_size=PROFILE_ROW_GROUP)
    shutil.rmtree(parts)
    if not keep_state:
        shutil.rmtree(state)
    return incremental


def _range_sensors(r: _Range, written: dict[str, pl.DataFrame], grown: dict[str, pl.DataFrame] | None,
                   held: dict[str, list[Path]] | None, state: Path, catalog: _Catalog) -> None:
    """The range's distinct (src, sensor) pairs (:mod:`~scantui.analysis.sensor_sources`) into
    ``state/src_sensors/<range>``: a full merge's from its folded ``ports`` rows; an extension's from the new days'
    and the held pairs of the range (from its held ``ports`` rows where the held state has no such table)."""
    pairs = ss.pairs((written[PORTS] if grown is None else grown[PORTS]).lazy())
    if held is not None:
        if ss.TABLE in held:
            files, schema = held[ss.TABLE], ss.PAIRS_SCHEMA
        else:  # merged before the table: once, from every held layer of the range's ports rows
            files, schema = held[PORTS], _SCHEMAS[PORTS]
        kept = pl.scan_parquet(files, schema=schema, glob=False).filter(r.where) if files else pl.LazyFrame(schema=schema)
        pairs = ss.pairs(pl.concat([kept.select("src", "sensor"), pairs]))
    df = pairs.collect()
    if df.height:
        df.write_parquet(state / ss.TABLE / r.name, compression="lz4", row_group_size=ROW_GROUP)
        catalog.wrote(ss.TABLE, r.name, df)


def _port_sources(state: Path, files: dict[str, list[str]], ranges: Sequence[tuple[int, int]], tally: ps.Tally) -> None:
    """:meth:`~scantui.analysis.port_sources.Tally.add_rows` of each source range of the merged state's ``ports`` and
    ``port_scans`` files (every layer) into *tally*: one range's rows held at a time (the files are sorted by source)."""
    for lo, hi in ranges:
        rows = []
        for table in (PORTS, PORT_SCANS):
            names = [state / table / name for name in files[table]]
            lf = pl.scan_parquet(names, schema=_SCHEMAS[table], glob=False) if names else pl.LazyFrame(schema=_SCHEMAS[table])
            rows.append(lf.filter(pl.col("src").is_between(lo, hi)).select("src", "kind", "dport", *(
                ["packets"] if table == PORT_SCANS else [])))
        tally.add_rows(*pl.collect_all(rows))


def dst_pair_files(rollup: Path) -> list[Path] | None:
    """The files of a rollup's merged destination pairs (disjoint distinct (src, kind, dst) over the whole
    data), as its merged state's index names them; None for a rollup kept without its merged state."""
    index = rollup / MERGE / MERGE_DAYS
    if not index.exists():
        return None
    return [rollup / MERGE / DSTS / name for name in _read_json_file(index)["files"][DSTS]]


def scan_dst_pairs(rollup: Path) -> pl.LazyFrame | None:
    """:func:`dst_pair_files` as one LazyFrame (None without a merged state)."""
    files = dst_pair_files(rollup)
    if files is None:
        return None
    return pl.scan_parquet(files, glob=False) if files else pl.LazyFrame(schema=PAIRS_SCHEMA)


def scan_src_days(rollup: Path) -> pl.LazyFrame | None:
    """The (src, kind, day) rows of the rollup's merged state (every layer: each day's rows are in one file), as
    its index names the files: the data's active (source, day) pairs without a read of every ``port_day`` row
    (a seventh of the rows); None for a rollup kept without its merged state."""
    index = rollup / MERGE / MERGE_DAYS
    if not index.exists():
        return None
    files = [rollup / MERGE / SRC_DAYS / name for name in _read_json_file(index)["files"][SRC_DAYS]]
    return pl.scan_parquet(files, glob=False) if files else pl.LazyFrame(schema=SRC_DAYS_SCHEMA)


def held_days(previous: Path) -> set[str]:
    """The days (ISO dates) the merged state of the rollup folder *previous* holds (empty without one)."""
    try:
        return set(_read_json_file(previous / MERGE / MERGE_DAYS)["days"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def held_files(previous: Path) -> dict[str, tuple[str, str]]:
    """Per day the merged state of the rollup folder *previous* holds: its state folder's name and the
    ``port_day`` file name merged (empty without a readable index)."""
    try:
        held = _read_json_file(previous / MERGE / MERGE_DAYS)["days"]
        return {day: (str(entry[0]), str(entry[1])) for day, entry in held.items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {}


def extends(previous: Path, days: Sequence[DayFiles]) -> int:
    """How many of *days* the merged state of the rollup folder *previous* holds, when every day
    it holds is one of *days* with the same state folder; 0 when it cannot be extended."""
    try:
        index = _read_json_file(previous / MERGE / MERGE_DAYS)
    except (OSError, ValueError):
        return 0
    if not isinstance(index, dict) or index.get("version") != MERGE_VERSION:
        return 0
    held = index.get("days") or {}
    mine = {d.day.isoformat(): d.state.name for d in days}
    if not held or any(mine.get(day) != entry[0] for day, entry in held.items()):
        return 0
    return len(held)


def _merge_range(r: _Range, new: Sequence[DayFiles], changed: Sequence[tuple[DayFiles, Path]],
                 old: dict[str, list[Path]] | None, state: Path, layered: Sequence[str] = (),
                 runs: Sequence[Sequence[DayFiles]] | None = None, catalog: _Catalog | None = None,
                 upper: dict[str, list[Path]] | None = None
                 ) -> tuple[pl.DataFrame, dict[str, pl.DataFrame] | None, dict[str, pl.DataFrame]]:
    """The merged state of one source range into ``state/<table>/<range>.parquet``; the (src,
    kind) with packets in *new* (the days not in *old*, all days in a full merge).

    *old*: the files of the merged state being extended, by table (None: a full merge). :data:`BASE`:
    its rows are folded with the new days' partials; each (day, old file) of *changed* swaps the
    old file's tool sums for the day's current ones. The tables in *layered* (held files already
    linked into *state*) gain one file, ``<range>``'s :attr:`_Range.delta`, holding the new days'
    partials alone; the other tables are folded whole (every held layer and the new days). The new
    days' distinct destination pairs not held in *old* go to one more disjoint ``dsts`` file when
    ``dsts`` is in *layered* (only the pairs of sources already held are matched, against the held
    pairs of those sources), else into one file with the range's held pairs.

    *runs*: *new* cut into runs of days (:func:`_day_groups`); each run's partials are computed on their
    own, one run's rows in memory at a time, and folded (sums, minima, maxima and day counts over disjoint
    days: the same rows). Default: one run.

    *catalog*: told of every file written (:class:`_Catalog`).

    *upper* (a middle fold, :mod:`~scantui.analysis.merge_fold`): the held files above the base of each layered
    table; the range's new rows and theirs go to one middle file per table, in place of a delta.

    Returns the touched (src, kind) (an extension; empty in a full merge), what :func:`_grown_ports`
    found (an extension) and, in a full merge, each table as written (for :func:`finish_sources`, which need
    not read them back; in an extension only :data:`BASE`, :data:`INTERVALS` and :data:`COVER`, whose finish
    reads its layers for the rest).
    """
    where = r.where
    catalog = catalog or _Catalog()
    runs = [run for run in (runs or [new]) if run]
    parts = [_day_partials(run, where, collect=len(runs) > 1) for run in runs]
    keys = ["src", "kind"]
    # only an extension reads the touched sources (a full merge's would be every source of the range)
    touched = (pl.concat([p[3].select(keys) for p in parts]).unique().collect(engine="streaming")
               if parts and old is not None else pl.DataFrame(schema={"src": pl.UInt32(), "kind": ru.KIND_DTYPE}))

    def held(table: str) -> list[pl.LazyFrame]:
        files = [] if old is None else [str(f) for f in old[table]]
        schema = {SRC_DAYS: SRC_DAYS_SCHEMA, DSTS: PAIRS_SCHEMA, **_SUMS}.get(table) or _SCHEMAS[table]
        return [pl.scan_parquet(files, schema=schema, glob=False).filter(where)] if files else []

    counts = []
    wanted = pl.DataFrame(schema=PAIRS_SCHEMA)
    if new:  # sorted by (src, kind, dst)
        wanted = distinct_pairs([str(d.state / PAIRS) for d in new], r.lo, r.hi)
    pairs = ["src", "kind", "dst"]
    if old is not None and DSTS not in layered:  # fold the held pair files of the range back into one
        kept = (pl.concat(held(DSTS)) if old[DSTS] else pl.LazyFrame(schema=PAIRS_SCHEMA)).collect(engine="streaming")
        wanted = wanted.join(kept, on=pairs, how="anti")
        merged = pl.concat([kept, wanted])
        if merged.height:
            merged = sort_by(merged, pairs)
            merged.write_parquet(state / DSTS / r.name, row_group_size=ROW_GROUP)
            catalog.wrote(DSTS, r.name, merged)
        del kept, merged
    elif old is not None and old[DSTS] and wanted.height:
        # only sources held before can have held pairs: the others' pairs are all new
        known = pl.concat(held(BASE)).select(keys).join(touched.lazy(), on=keys, how="semi").collect(engine="streaming")
        if known.height:
            candidates = wanted.join(known, on=keys, how="semi")
            lo, hi = known["src"].min(), known["src"].max()  # the held files are sorted by source
            seen = (pl.scan_parquet([str(f) for f in old[DSTS]], schema=PAIRS_SCHEMA, glob=False)
                    .filter(where & pl.col("src").is_between(lo, hi))
                    .join(candidates.lazy(), on=pairs, how="semi").collect(engine="streaming"))
            wanted = wanted.join(seen, on=pairs, how="anti")
            del candidates, seen
        del known
    if upper is not None:  # the held pairs above the base and the new ones: one middle file
        mf.middle_dsts(upper[DSTS], wanted, r, state, catalog)
    if wanted.height:
        if old is None:  # as distinct_pairs sorted them
            wanted.write_parquet(state / DSTS / r.name, row_group_size=ROW_GROUP)
            catalog.wrote(DSTS, r.name, wanted)
        elif DSTS in layered and upper is None:
            wanted = sort_by(wanted, pairs)
            wanted.write_parquet(state / DSTS / r.delta, row_group_size=ROW_GROUP)
            catalog.wrote(DSTS, r.delta, wanted)
        counts.append(_as_base(wanted.lazy().group_by(keys).agg(pl.len().cast(pl.UInt64).alias("n"))))

    base = [*held(BASE), *[p[0] for p in parts], *counts]
    for d, before in changed:
        base += [_tool_sums(before, -1, where), _tool_sums(d.port_day, 1, where)]
    frames = [_fold(base, BASE) if base else pl.LazyFrame(schema=BASE_SCHEMA)]
    names = [r.name]
    # the tables whose frame is a full merge's one run of partials, already in order when packed
    ordered = set()
    grown = None if old is None else _grown_ports(parts, held)
    for table, i in ((PORTS, 1), (PORT_SCANS, 2), (SRC_DAYS, 3)):
        mine = [p[i] for p in parts]
        names.append((r.delta if upper is None else mf.middle_name(r)) if table in layered else r.name)
        if old is None and len(parts) == 1 and parts[0].ordered:
            ordered.add(table)
        if table == SRC_DAYS:  # one row per day: nothing to fold
            mine = mine if table in layered else held(table) + mine
            frames.append(pl.concat(mine) if mine else pl.LazyFrame(schema=SRC_DAYS_SCHEMA))
            if upper is not None:
                frames[-1] = mf.middle(table, upper[table], frames[-1], r, catalog)
        elif table in layered:  # the new days' partials, folded once for the layer and the profiles
            frames.append(grown[table].lazy())
            if upper is not None:
                frames[-1] = mf.middle(table, upper[table], frames[-1], r, catalog)
        else:
            mine = held(table) + mine
            if len(mine) == 1 and old is None:  # a full merge: the new days' partials are folded already
                frames.append(mine[0].cast(dict(_SCHEMAS[table])))
            else:
                frames.append(_fold(mine, table) if mine else pl.LazyFrame(schema=_SCHEMAS[table]))
    if grown is not None:  # the held integer partials, plus what the new days changed (only the ports they scanned)
        frames += [_fold_sums([*held(INTERVALS), grown[INTERVALS].lazy()], INTERVALS),
                   _fold_sums([*held(COVER), grown[COVER].lazy()], COVER)]
    names += [r.name, r.name]
    results = pl.collect_all(frames, engine="streaming")
    del frames, parts, base, counts, wanted, mine  # the range's rows: only the results are needed from here
    if grown is None:  # a full merge: the integer partials of every port row
        results += pl.collect_all([_fold_sums([_intervals(results[1].lazy())], INTERVALS),
                                   _fold_sums([_cover(results[2].lazy())], COVER)])
    written = {}
    for i, (table, name) in enumerate(zip((BASE, PORTS, PORT_SCANS, SRC_DAYS, INTERVALS, COVER), names)):
        df, results[i] = results[i], None  # the unsorted frame goes as its sorted copy is made
        if table in layered and df.height == 0:
            continue
        # sorted by source first (a later range reads its rows by row-group statistics), then by the rest of
        # the table's key: a defined order, so that the same rows make the same bytes
        df = df if table in ordered else _key_sorted(df, _ORDER[table])
        df.write_parquet(state / table / name, compression="lz4", row_group_size=ROW_GROUP)
        catalog.wrote(table, name, df)
        if old is None or table in (BASE, INTERVALS, COVER):  # finish_sources' (an extension's: only these)
            written[table] = df
        del df
    return touched, grown, written


def _write_json_file(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _read_json_file(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _concat(files: Sequence[Path], schema: pl.Schema, target: Path, sort: list[str] | None, *, compression: str = "zstd",
            row_group_size: int | None = None) -> None:
    """*files* into one, sorted by *sort* (None: the files' rows in the files' order)."""
    lf = pl.scan_parquet([str(f) for f in files], glob=False) if files else pl.LazyFrame(schema=schema)
    lf = lf.select(schema.names()).cast(dict(schema))
    (lf if sort is None else lf.sort(sort, nulls_last=True)).sink_parquet(
        target, compression=compression, row_group_size=row_group_size, engine="streaming")


def _link_or_copy(source: Path, target: Path) -> None:
    """Day files are never changed once written, so a hard link is as good as a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
