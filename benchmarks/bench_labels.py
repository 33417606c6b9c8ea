"""Benchmark: a team's labels file of hundreds to thousands of groups, opened, saved, a teammate's save picked up
(session 18, wt-labels18), for the code under PYTHONPATH, beside plain ruamel.yaml and PyYAML on the same file.

    PYTHONPATH=src python benchmarks/bench_labels.py OUT_DIR [--sizes 200,1000,5000] [--hand-saves-max 1000] [--memory]

Two shapes a size: ``tui``, the groups as the TUI writes them (``LabelsStore.add`` + ``save``: 3-12 members, 1-3
scans with their keys, a note on every 4th; ~15 lines a group), and ``hand``, formatted by hand (a comment line
above each group, an inline comment, quoted titles, block and wrapped flow lists, folded notes). Files are made
once in OUT_DIR and copied for each run. Measured, process CPU seconds (``time.process_time``):

* ``open``: ``LabelsStore.load``; ``tree``: ``store.prepare()``, the round-trip tree a save needs (the TUI builds it
  in a worker after opening; older code built it in ``open``, and has no ``prepare``: 0);
* ``save``: one group's title changed and saved (the first save after ``tree``);
* ``pickup``: a teammate (another store) changes one group and saves; ``LabelSession.reload`` reads it again, then
  ``pickup_tree`` (``prepare``); ``save_after``: our next one-group save;
* ``merge``: the teammate saves again and our one-group save merges it without a reload;
* ``list`` / ``validate``: what ``scantui labels list`` / ``labels validate`` read (``LabelsStore.load(...).groups``,
  ``check_file_sources``);
* peers on the same bytes: ``ruamel_rt_load`` (``YAML(typ="rt").load``), ``ruamel_rt_dump`` (of that tree),
  ``pyyaml_csafe_load`` (``yaml.load(..., Loader=yaml.CSafeLoader)``).

The hand-formatted file's saves render the whole file (its comments stop the splice) and grow faster than the
file; above ``--hand-saves-max`` groups they are skipped (null). ``--memory`` adds a second pass under
``tracemalloc`` giving each phase's peak (MiB of Python allocations; slower, so not with the times). Prints one
JSON line per file. By hand only.

``--ops`` (session 19) measures instead one-group changes saved one at a time through a ``LabelSession`` (title,
verdict, note, a member added and removed, a group added, one deleted and the delete undone, the first and the last
group's title), each row with the way each save rendered the file (``ops_way``); ``--ops-max`` skips larger files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import shutil
import time
import tracemalloc
from pathlib import Path

T0 = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.timezone.utc)


def _ip(n: int) -> str:
    return f"{10 + (n >> 24) % 200}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def tui_file(path: Path, n: int) -> None:
    from scantui.labels.model import Group, Scan
    from scantui.labels.store import LabelsStore

    store = LabelsStore(path, now=lambda: T0, author="ana")
    for i in range(n):
        m = [_ip(i * 16 + k) for k in range(3 + i % 10)]
        scans = tuple(Scan(8000 + (i + k) % 50, dt.date(2024, 2, 1 + k), tuple(m[:3]), {"key_kind": "prefix24", "key": f"{m[0]}/24"})
                      for k in range(1 + i % 3))
        store.add(Group(id=f"G{i:04d}", title=f"group {i}", verdict="collaborative", category="research", members=tuple(m),
                        ports=tuple(sorted({s.port for s in scans})), scans=scans, tags=("bench",),
                        notes=f"note {i}\nline two" if i % 4 == 0 else None))
    store.save()


def hand_file(path: Path, n: int) -> None:
    out = ["# team labels file\nscantui_labels: 1\n\ngroups:\n"]
    for i in range(n):
        m = [_ip(i * 16 + k) for k in range(3 + i % 10)]
        q = '"' if i % 3 == 0 else ""
        out.append(f"  # --- group {i}\n  - id: H{i:04d}\n    title: {q}hand {i}{q}   # a title\n"
                   f"    verdict: {'unsure' if i % 5 else 'collaborative'}\n")
        if i % 2:
            out.append("    members:\n" + "".join(f"      - {x}\n" for x in m))
        elif len(m) > 4:
            out.append(f"    members: [{', '.join(m[:4])},\n              {', '.join(m[4:])}]\n")
        else:
            out.append(f"    members: [{', '.join(m)}]\n")
        out.append(f"    ports: [{8000 + i % 50}]\n    scans:\n      - {{port: {8000 + i % 50}, day: 2024-02-0{1 + i % 9}, "
                   f"sources: [{m[0]}, {m[1]}]}}\n")
        out.append(f"    notes: >\n      folded note {i}\n      more\n    created: 2026-11-21T10:00:00Z\n\n")
    path.write_text("".join(out))


def _cpu(fn, memory: bool):
    if memory:
        tracemalloc.start()
        try:
            fn()
            return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        finally:
            tracemalloc.stop()
    t = time.process_time()
    fn()
    return round(time.process_time() - t, 3)


def run(path: Path, saves: bool, memory: bool) -> dict:
    from ruamel.yaml import YAML
    import yaml

    from scantui.labels.session import LabelSession
    from scantui.labels.store import LabelsStore, check_file_sources

    out: dict = {}
    held: dict = {}

    def measure(name, fn):
        out[name] = _cpu(fn, memory)

    def prepare(store):
        if hasattr(store, "prepare"):
            store.prepare()

    measure("open", lambda: held.update(ana=LabelsStore.load(path, author="ana", now=lambda: T0)))
    ana = held["ana"]
    measure("tree", lambda: prepare(ana))
    gid = ana.ids[len(ana.ids) // 2]

    def own(store, title):
        store.update(gid, title=title)
        store.save()

    def teammate(pick, title):
        bob = LabelsStore.load(path, author="bob", now=lambda: T0)
        bob.update(bob.ids[len(bob.ids) // pick], title=title)
        bob.save()

    if saves:
        measure("save", lambda: own(ana, "edited by ana"))
    session = LabelSession(ana)
    teammate(3, "edited by bob")
    measure("pickup", session.reload)
    measure("pickup_tree", lambda: prepare(session.store))
    if saves:
        measure("save_after", lambda: own(session.store, "edited again"))
        teammate(4, "bob again")
        measure("merge", lambda: own(session.store, "ana merges"))
    else:
        out.update(save=None, save_after=None, merge=None)
    measure("list", lambda: LabelsStore.load(path, must_exist=True).groups)
    measure("validate", lambda: check_file_sources(path))
    text = path.read_text()
    measure("ruamel_rt_load", lambda: held.update(tree=YAML(typ="rt").load(text)))
    measure("ruamel_rt_dump", lambda: YAML(typ="rt").dump(held["tree"], io.StringIO()))
    measure("pyyaml_csafe_load", lambda: yaml.load(text, Loader=yaml.CSafeLoader))
    return out


def run_ops(path: Path) -> tuple[dict, dict]:
    """Session 19: one-group changes to the file, one save each through a :class:`LabelSession` (as the TUI makes
    them), the tree built first (as the TUI's worker does): CPU seconds of each, and how the save rendered the file
    (``LabelsStore.rendered_by``; ``?`` for code without it)."""
    from scantui.labels.session import LabelSession

    session = LabelSession.open(str(path), author="ana", now=lambda: T0)
    if hasattr(session.store, "prepare"):
        session.store.prepare()
    ids = session.store.ids
    mid, other = ids[len(ids) // 2], ids[len(ids) // 3]
    steps = [
        ("title", lambda: session.edit(mid, title="edited by ana")),
        ("verdict", lambda: session.set_verdict(mid, "not_collaborative")),
        ("note", lambda: session.edit(mid, notes="a new note\non two lines")),
        ("member_add", lambda: session.add_to(mid, ["192.0.2.77"])),
        ("member_remove", lambda: session.remove_members(mid, ["192.0.2.77"])),
        ("group_add", lambda: session.create(["198.18.5.5"], group_id="NEW1", verdict="unsure")),
        ("group_delete", lambda: session.delete(other)),
        ("undo_delete", session.undo),
        ("first_title", lambda: session.edit(ids[0], title="first, edited")),
        ("last_title", lambda: session.edit(ids[-1], title="last, edited")),
    ]
    cpu, way = {}, {}
    for name, step in steps:
        cpu[name] = _cpu(step, False)
        way[name] = getattr(session.store, "rendered_by", "?")
    return cpu, way


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--sizes", default="200,1000,5000")
    ap.add_argument("--shapes", default="tui,hand")
    ap.add_argument("--hand-saves-max", type=int, default=1000)
    ap.add_argument("--memory", action="store_true", help="a second pass: each phase's peak Python allocation (MiB)")
    ap.add_argument("--ops", action="store_true", help="one-group changes saved one by one (session 19), instead of the phases")
    ap.add_argument("--ops-max", type=int, default=1000000, help="--ops only up to this many groups")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for n in (int(s) for s in args.sizes.split(",")):
        for shape in args.shapes.split(","):
            made = args.out / f"{shape}{n}.yaml"
            if not made.exists():
                (tui_file if shape == "tui" else hand_file)(made, n)
            saves = shape == "tui" or n <= args.hand_saves_max
            row = {"shape": shape, "groups": n, "bytes": made.stat().st_size, "lines": made.read_text().count("\n")}
            for memory in (False, True) if args.memory else (False,):
                work = args.out / "work" / made.name
                if work.parent.exists():
                    shutil.rmtree(work.parent)
                work.parent.mkdir()
                shutil.copyfile(made, work)
                if args.ops:
                    if n <= args.ops_max:
                        row["ops_cpu_s"], row["ops_way"] = run_ops(work)
                    break
                row["peak_mib" if memory else "cpu_s"] = run(work, saves, memory)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
