"""Export of any table as shown (ctrl+s), marks (space) and what acts on them, the column picker (c): Pilot
tests on the tiny data, every file re-read from disk."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from textual.widgets import Input, SelectionList

from collabbuild import candidate, group
from tuihelp import HOSTILE_AS_NAME, make_app, screen_text, settle, snapshot_ready
from scantui.analysis.collab import CollabResult
from scantui.labels import LabelsStore
from scantui.safetext import csv_safe
from scantui.tui.screens.column_picker import ColumnPickerScreen
from scantui.tui.screens.prompt import PromptScreen
from scantui.tui.table_export import export_frame
from scantui.tui.widgets.table import VirtualTable


async def press(app, pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(app, pilot)


def run(app, scenario, size=(80, 24)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


async def export_to(app, pilot, path: Path) -> str:
    """ctrl+s, type *path*, enter; the newest notification's text."""
    await press(app, pilot, "ctrl+s")
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one(Input).value = str(path)
    await press(app, pilot, "enter")
    assert not isinstance(app.screen, PromptScreen)
    return list(app._notifications)[-1].message


def csv_back(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """*frame* as the CSV cells say it: numbers as text, times ISO UTC with Z, nested values as JSON."""
    out = {}
    for name, dtype in frame.schema.items():
        values = frame[name].to_list()
        if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            out[name] = [None if v is None else v.replace(tzinfo=None).isoformat() + "Z" for v in values]
        elif isinstance(dtype, (pl.List, pl.Struct)):
            out[name] = [None if v is None else json.dumps(v, default=str) for v in values]
        elif dtype == pl.String:
            out[name] = [None if v in (None, "") else csv_safe(v) for v in values]  # CSV: empty is null
        else:
            out[name] = [None if v is None else str(v) for v in values]
    return pl.DataFrame(out, schema={k: pl.String for k in out})


def assert_csv_is(path: Path, expected: pl.DataFrame) -> None:
    back, want = csv_back(path), as_text(expected)
    assert back.columns == want.columns
    for name in want.columns:
        assert back[name].to_list() == want[name].to_list(), name


def scanners_table(app) -> VirtualTable:
    return app.screen.query_one("#scanner-table", VirtualTable)


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


@contextlib.contextmanager
def read_only_folder(path: Path):
    """A folder nobody can write in, for real: immutable (root ignores modes), else mode 0o555."""
    path.mkdir()
    if os.geteuid() == 0:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("no way to make a folder read-only for root here")
        undo = ["chattr", "-i", str(path)]
    else:
        path.chmod(0o555)
        undo = None
    try:
        yield path
    finally:
        if undo:
            subprocess.run(undo, check=True)
        else:
            path.chmod(0o755)


def test_scanners_export_as_shown_in_each_format(tiny_parquet, tui_cache, tmp_path):
    """Filtered and sorted, the visible columns in order, IPs dotted, times UTC; the hostile AS name is data."""
    app = make_app([tiny_parquet], tui_cache)

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        table = scanners_table(app)
        app.screen.apply_filter("-ip:203.0.113.9", report=True)
        await settle(app, pilot)
        await press(app, pilot, "less_than_sign")  # sorted by another column
        assert table.row_count == 4 and table.sort_key != "packets"
        expected = export_frame(table)
        assert expected.columns == [c.key for c in table.columns if c.key in table.frame.columns]
        assert expected["src"].to_list() == [str(__import__("ipaddress").IPv4Address(v)) for v in table.frame["src"]]
        assert "203.0.113.9" not in expected["src"].to_list()
        note = await export_to(app, pilot, tmp_path / "all.csv")
        assert note == f"wrote 4 rows to {tmp_path / 'all.csv'}"
        assert_csv_is(tmp_path / "all.csv", expected)
        raw = (tmp_path / "all.csv").read_text()
        assert HOSTILE_AS_NAME not in raw and "\x1b" not in raw  # the hostile AS name: escaped text, data
        assert csv_safe(HOSTILE_AS_NAME) in raw and "[bold red]evil\\x1b[31m" in raw
        assert "T" in csv_back(tmp_path / "all.csv")["first_seen"][0] and csv_back(tmp_path / "all.csv")["first_seen"][0].endswith("Z")
        await export_to(app, pilot, tmp_path / "all.parquet")
        assert pl.read_parquet(tmp_path / "all.parquet").equals(expected)
        assert await export_to(app, pilot, tmp_path / "all.txt") == f"wrote 4 IPs to {tmp_path / 'all.txt'}"
        assert (tmp_path / "all.txt").read_text().split() == expected["src"].to_list()

        # marked rows only: the prompt says so
        await press(app, pilot, "home", "space", "down", "space")
        assert table.marked_shown == 2 and "2 marked" in screen_text(app)
        await press(app, pilot, "ctrl+s")
        assert "the 2 marked rows" in screen_text(app)
        await press(app, pilot, "escape")
        await export_to(app, pilot, tmp_path / "marked.parquet")
        back = pl.read_parquet(tmp_path / "marked.parquet")
        assert back.equals(expected.filter(pl.col("src").is_in([expected["src"][0], expected["src"][2]])))

    run(app, scenario)


def test_export_errors_are_notifications_and_write_nothing(tiny_parquet, tui_cache, tmp_path):
    app = make_app([tiny_parquet], tui_cache)

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        await export_to(app, pilot, tmp_path / "list.xlsx")
        assert "cannot tell the format" in notes(app)[-1]
        await export_to(app, pilot, tmp_path / "nowhere" / "list.csv")
        assert "does not exist" in notes(app)[-1]
        with read_only_folder(tmp_path / "ro") as ro:
            await export_to(app, pilot, ro / "list.csv")
            assert notes(app)[-1].endswith("not permitted") or "denied" in notes(app)[-1], notes(app)[-1]
            assert list(ro.iterdir()) == []
        assert app.is_running and not (tmp_path / "list.xlsx").exists()

    run(app, scenario)


PAIR = ("192.0.2.10", "192.0.2.11")
OTHER = ("203.0.113.5", "203.0.113.9")
CANDIDATES = [
    candidate(sources=PAIR, port=443, day="2024-03-01", key_text="192.0.2.0/24", score=95.0),
    candidate(sources=OTHER, port=3389, day="2024-03-04", key_text="203.0.113.0/24", score=80.0),
    candidate(sources=PAIR, port=80, day="2024-03-03", key_text="192.0.2.0/24", score=70.0),
]
GROUPS = [group([CANDIDATES[0], CANDIDATES[2]], group_id="S01"), group([CANDIDATES[1]], group_id="S02")]


async def with_candidates(app, pilot) -> None:
    """The candidates area with three candidate scans and two suggested groups (the tiny data has none)."""
    app.state.collab = CollabResult(list(CANDIDATES), telescope_size=256)
    app.state.groups = list(GROUPS)
    app.collab_count, app.groups_count = len(CANDIDATES), len(GROUPS)
    await press(app, pilot, "3")
    await settle(app, pilot)


def on_disk(path: Path):
    return {g.id: g for g in LabelsStore.load(path, must_exist=True).groups}


def test_candidates_and_groups_export_as_shown(tiny_parquet, tui_cache, tmp_path):
    app = make_app([tiny_parquet], tui_cache)

    async def scenario(app, pilot):
        await with_candidates(app, pilot)
        screen = app.screen
        for table, ips in ((screen.groups_table, [*PAIR, *OTHER]), (screen.candidates_table, [*PAIR, *OTHER])):
            table.focus()
            await press(app, pilot, "less_than_sign")
            expected = export_frame(table)
            assert expected.height == table.row_count and "idx" not in expected.columns
            await export_to(app, pilot, tmp_path / f"{table.id}.parquet")
            assert pl.read_parquet(tmp_path / f"{table.id}.parquet").equals(expected)
            await export_to(app, pilot, tmp_path / f"{table.id}.csv")
            assert_csv_is(tmp_path / f"{table.id}.csv", expected)
            await export_to(app, pilot, tmp_path / f"{table.id}.txt")
            assert sorted((tmp_path / f"{table.id}.txt").read_text().split()) == sorted(ips)
        # a filtered list: only its rows' members
        screen.apply_filter("port:3389", report=True)
        await settle(app, pilot)
        await export_to(app, pilot, tmp_path / "filtered.txt")
        assert (tmp_path / "filtered.txt").read_text().split() == list(OTHER)

    run(app, scenario)


def test_marked_candidates_rejected_in_one_write_and_undone_whole(tiny_parquet, tui_cache, tmp_path):
    labels = tmp_path / "labels.yaml"
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)

    async def scenario(app, pilot):
        await with_candidates(app, pilot)
        screen = app.screen
        table = screen.candidates_table
        table.focus()
        await press(app, pilot, "space", "space", "space")
        assert table.marked_shown == 3 and "3 marked" in screen_text(app)
        assert [r["idx"] for r in table.chosen_rows()] == table.frame["idx"].to_list()
        stamp = labels.stat().st_mtime_ns if labels.exists() else None
        await press(app, pilot, "x")
        disk = on_disk(labels)
        assert stamp != labels.stat().st_mtime_ns
        assert all(g.verdict == "not_collaborative" for g in disk.values())
        recorded = sorted((s.port, str(s.day)) for g in disk.values() for s in g.scans)
        assert recorded == sorted((c.port, str(c.day)) for c in CANDIDATES)  # one verdict per record
        assert table.marks == set() and app.state.labels.undo_description.startswith("rejected 3 rows")
        await press(app, pilot, "u")
        assert on_disk(labels) == {}  # the whole action undone at once

    run(app, scenario)


def test_marked_suggestions_labelled_as_one_group(tiny_parquet, tui_cache, tmp_path):
    labels = tmp_path / "labels.yaml"
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)

    async def scenario(app, pilot):
        await with_candidates(app, pilot)
        await press(app, pilot, "asterisk")
        assert app.screen.groups_table.marked_shown == 2
        await press(app, pilot, "l")
        await press(app, pilot, "enter")  # the dialog's default: a new group, id and title prefilled
        (only,) = on_disk(labels).values()
        assert set(only.members) == {*PAIR, *OTHER} and len(only.scans) == 3

    run(app, scenario)


def test_marked_sources_labelled_from_the_scanners_list(tiny_parquet, tui_cache, tmp_path):
    labels = tmp_path / "labels.yaml"
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)

    async def scenario(app, pilot):
        await press(app, pilot, "2")
        table = scanners_table(app)
        await press(app, pilot, "space", "space", "space")
        marked = [__import__("ipaddress").IPv4Address(r["src"]).exploded for r in table.chosen_rows()]
        assert len(marked) == 3
        await press(app, pilot, "s")  # marks follow sorting
        assert table.marked_shown == 3
        app.screen.apply_filter(marked[0], report=True)
        await settle(app, pilot)
        assert table.marked_shown == 1 and "2 more filtered out" in screen_text(app)
        app.screen.apply_filter("", report=True)
        await settle(app, pilot)
        await press(app, pilot, "l")
        await press(app, pilot, "enter")
        (only,) = on_disk(labels).values()
        assert sorted(only.members) == sorted(marked)
        assert table.marks == set()

    run(app, scenario)


def test_labels_table_exports_as_shown(tiny_parquet, tui_cache, tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text("scantui_labels: 1\ngroups:\n  - id: G01\n    title: '=cmd|x'\n    verdict: collaborative\n"
                      "    members: [192.0.2.10]\n  - id: G02\n    title: two\n    verdict: unsure\n    members: [192.0.2.11]\n")
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)

    async def scenario(app, pilot):
        await press(app, pilot, "4")
        await settle(app, pilot)
        table = app.screen.query_one(VirtualTable)
        expected = export_frame(table)
        assert expected.height == 2
        await export_to(app, pilot, tmp_path / "groups.parquet")
        assert pl.read_parquet(tmp_path / "groups.parquet").equals(expected)
        await export_to(app, pilot, tmp_path / "groups.csv")
        assert_csv_is(tmp_path / "groups.csv", expected)
        assert "'=cmd|x" in (tmp_path / "groups.csv").read_text()  # a formula stays text
        await export_to(app, pilot, tmp_path / "members.txt")
        assert sorted((tmp_path / "members.txt").read_text().split()) == ["192.0.2.10", "192.0.2.11"]
        await press(app, pilot, "end", "space")
        assert "1 marked" in screen_text(app) and [r["id"] for r in table.chosen_rows()] == [expected["id"][-1]]
        await export_to(app, pilot, tmp_path / "one.parquet")
        assert pl.read_parquet(tmp_path / "one.parquet").equals(expected.tail(1))

    run(app, scenario)


def test_column_picker_hides_reorders_and_is_remembered(tiny_parquet, tui_cache, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("# mine\nlabels:\n  author: alice\n")
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def pick(app, pilot):
        await press(app, pilot, "2", "c")
        assert isinstance(app.screen, ColumnPickerScreen)
        picks = app.screen.query_one(SelectionList)
        assert picks.get_option_at_index(0).disabled  # src: pinned
        assert picks.highlighted == 1  # packets
        await press(app, pilot, "space", "down", "shift+up")  # hide packets; ports moves above it
        await press(app, pilot, "enter")
        table = scanners_table(app)
        keys = [c.key for c in table.columns]
        assert keys[:3] == ["src", "ports", "dsts"] and "packets" not in keys
        assert "packets" not in export_frame(table).columns

    run(make_app([tiny_parquet], tui_cache), pick)
    text = config.read_text()
    assert text.startswith("# mine\nlabels:\n  author: alice\n") and "scanner-table" in text

    async def again(app, pilot):
        await press(app, pilot, "2")
        keys = [c.key for c in scanners_table(app).columns]
        assert keys[:3] == ["src", "ports", "dsts"] and "packets" not in keys
        assert " packets " not in screen_text(app).split("\n")[5]

    run(make_app([tiny_parquet], tui_cache), again)
    config.write_text(text.replace("hidden: [", "hidden: [no_such_column, "))  # an unknown column is ignored
    run(make_app([tiny_parquet], tui_cache), again)


# ---------------------------------------------------------------- snapshots (80x24)


def test_snapshot_marked_scanners(snap_compare, tiny_here, tui_cache):
    """Two sources marked: ● in the gutter, "2 marked" in the status line."""
    async def run_before(pilot):
        await snapshot_ready(pilot, ["2", "space", "down", "space"])

    assert snap_compare(make_app([tiny_here], tui_cache), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_column_picker(snap_compare, tiny_here, tui_cache):
    async def run_before(pilot):
        await snapshot_ready(pilot, ["2", "c", "space", "down", "shift+up"])

    assert snap_compare(make_app([tiny_here], tui_cache), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_scanners_with_columns_hidden(snap_compare, tiny_here, tui_cache, tmp_path, monkeypatch):
    """At 80x24 with a few columns hidden the chosen ones show (dsts, days and tool after src and packets)."""
    from scantui.config import save_table_columns

    config = tmp_path / "picked.yaml"
    save_table_columns("scanner-table", ["packets", "dsts", "days_active", "tool"], ["ports", "first_seen", "last_seen"],
                       path=config)
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))

    async def run_before(pilot):
        await snapshot_ready(pilot, ["2"])

    assert snap_compare(make_app([tiny_here], tui_cache), terminal_size=(80, 24), run_before=run_before)


# ---------------------------------------------------------------- chosen_rows on a bare table


def test_chosen_rows_marks_follow_sort_and_filter():
    from textual.app import App

    from scantui.tui.columns import Column, int_text

    columns = (Column("id", "id", 6, "right", int_text), Column("v", "v", 6, "right", int_text))
    df = pl.DataFrame({"id": list(range(10)), "v": [9 - i for i in range(10)]})

    class One(App):
        def compose(self):
            yield VirtualTable(columns, df.clear(), sort_key="id", descending=False)

    async def main():
        app = One()
        async with app.run_test(size=(40, 16)) as pilot:
            table = app.query_one(VirtualTable)
            assert table.chosen_rows() == []  # empty: nothing to act on
            table.set_frame(df)
            await pilot.pause()
            assert table.chosen_rows() == [{"id": 0, "v": 9}]  # no marks: the cursor row
            table.focus()
            await pilot.press("space", "down", "space")
            assert [r["id"] for r in table.chosen_rows()] == [0, 2] and table.cursor_row == 3
            table.sort_by("v", descending=False)  # marks follow the rows, in the new table order
            await pilot.pause()
            assert [r["id"] for r in table.chosen_rows()] == [2, 0]
            table.set_frame(df.filter(pl.col("id") != 2))  # filtered out: still marked, not acted on
            await pilot.pause()
            assert [r["id"] for r in table.chosen_rows()] == [0] and table.marks == {0, 2}
            assert table.marks_text() == "1 marked (1 more filtered out: not acted on)"
            await pilot.press("minus")  # every mark goes, the filtered-out one too
            assert table.marks == set() and len(table.chosen_rows()) == 1
            await pilot.press("asterisk")
            assert len(table.chosen_rows()) == 9 and table.marks == set(range(10)) - {2}

    asyncio.run(main())
