"""Pilot tests of the candidates screen and the labelling workflow, on the sample (35 candidate scans,
12 suggested groups, by the default --by all; the labelling walk: --by both's 31 and 10), with the labels file on disk checked after every change; and its snapshots.

The sample's suggestions (``scantui groups``): S01 = 80.82.77.130-138 (6 scans on 3306/9000/27017),
S05 = 71.6.232.6-7, S08 = 51.75.146.101-103. The rollup is built once per session (``tui_cache``).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

from tuihelp import HOSTILE_AS_NAME, SAMPLE, make_app, run_app, screen_text, settle
from scantui.labels import LabelsStore
from scantui.labels.model import Group
from scantui.tui.screens.candidates import CandidatesScreen
from scantui.tui.screens.candidates_frames import review_text
from scantui.tui.screens.detail import CandidateDetailScreen, GroupDetailScreen
from scantui.tui.screens.help import HelpScreen
from scantui.tui.screens.label_as import LabelAsScreen

S01 = [f"80.82.77.{n}" for n in range(130, 139)]
S05 = ["71.6.232.6", "71.6.232.7"]
LABELS = """\
# the team's labels (a comment that must survive)
scantui_labels: 1
groups:
  - id: G01
    title: example
    verdict: collaborative
    members: [80.82.77.128/28]
  - id: R01
    verdict: not_collaborative
    members: [71.6.232.6, 71.6.232.7]
  - id: U01
    verdict: unsure
    members: [51.75.146.101, 51.75.146.102, 51.75.146.103]
"""

_S01_SOURCES = ", ".join(S01)
#: LABELS with the evidence recorded: S01's six scans in G01, S05's three in R01 (U01 records none: "same IPs").
LABELS_RECORDED = LABELS.replace("    members: [80.82.77.128/28]\n", "    members: [80.82.77.128/28]\n    scans:\n" + "".join(
    f"      - {{port: {port}, day: {day}, sources: [{_S01_SOURCES}]}}\n"
    for port in (3306, 9000, 27017) for day in ("2024-02-05", "2024-02-12"))).replace(
    "    members: [71.6.232.6, 71.6.232.7]\n", "    members: [71.6.232.6, 71.6.232.7]\n    scans:\n" + "".join(
        f"      - {{port: {port}, day: {day}, sources: [71.6.232.6, 71.6.232.7]}}\n"
        for port, day in ((8888, "2024-02-03"), (10000, "2024-02-06"), (8888, "2024-02-10"))))


def sample_app(cache: Path, labels: Path, **kwargs):
    return make_app([SAMPLE], cache, labels_path=labels, **kwargs)


def on_disk(path: Path) -> dict[str, Group]:
    return {g.id: g for g in LabelsStore.load(path, must_exist=True).groups}


async def press(app, pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(app, pilot)


async def candidates(app, pilot) -> CandidatesScreen:
    await press(app, pilot, "3")
    assert isinstance(app.screen, CandidatesScreen)
    return app.screen


async def goto(app, pilot, table, column: str, value) -> None:
    """Focus *table* with tab and walk its cursor with the keys to the row whose *column* is *value*."""
    screen = app.screen
    if screen.focused is not table:
        await press(app, pilot, "tab")
    assert screen.focused is table
    index = table.frame[column].to_list().index(value)
    await press(app, pilot, "home", *["down"] * index)
    assert table.selected_row[column] == value


def review(table, column: str, value) -> str:
    return review_text(table.frame.row(table.frame[column].to_list().index(value), named=True)["review"])


def test_counting_shows_progress_then_the_ranked_lists_and_enter_opens(tui_cache, tmp_path, monkeypatch):
    from scantui.tui.state import DataState

    entered, release = threading.Event(), threading.Event()
    real = DataState.build_collab

    def slow_collab(self):
        entered.set()
        release.wait(20)
        return real(self)

    monkeypatch.setattr(DataState, "build_collab", slow_collab)
    app = sample_app(tui_cache, tmp_path / "labels.yaml")

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            assert await asyncio.to_thread(entered.wait, 60)
            await pilot.press("3")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, CandidatesScreen) and app.counting
            assert "finding candidates…" in screen_text(app)
            assert screen.groups_table.row_count == 0 and screen.query_one("#candidates-progress").display
            release.set()
            await settle(app, pilot)
            text = screen_text(app)
            assert "35 candidate scans in 12 suggested groups" in text  # with the fingerprint pool FPP, the ZMap walk ZMW
            assert "suggested groups · 12 · 12 new" in text and "candidate scans · 35 · 35 new" in text
            assert not screen.query_one("#candidates-progress").display
            groups, scans = screen.groups_table, screen.candidates_table
            assert groups.frame["group"].to_list() == [f"S{n:02d}" for n in range(1, 13)]  # ranked
            assert scans.frame["rank"].to_list() == list(range(1, 36))
            assert scans.frame["score"].to_list() == sorted(scans.frame["score"].to_list(), reverse=True)
            # enter opens a suggestion, escape comes back, tab switches lists, enter opens a candidate scan
            await press(app, pilot, "enter")
            assert isinstance(app.screen, GroupDetailScreen) and app.screen.record.group == "S01"
            await press(app, pilot, "escape")
            assert app.screen is screen
            await goto(app, pilot, scans, "rank", 3)
            await press(app, pilot, "enter")
            assert isinstance(app.screen, CandidateDetailScreen)
            assert app.screen.record is app.state.collab.candidates[2]
            await press(app, pilot, "escape")
            assert app.screen is screen and screen.focused is scans
            # the keys of the screen, and its palette commands
            await press(app, pilot, "question_mark")
            assert isinstance(app.screen, HelpScreen)
            described = {description for _group, _keys, description in app.screen.rows}
            assert {"Open", "Label", "Accept", "Reject", "Unsure", "Switch list", "Hide/show reviewed", "Undo"} <= described
            assert "Label" in screen_text(app)
            await press(app, pilot, "escape")
            names = [name for name, _help, _cb in app.palette_commands(screen)]
            wanted = {"open selected", "label selected", "accept selected", "reject selected", "mark selected unsure",
                      "undo last label change", "hide reviewed rows", "go to suggested groups", "sort by score"}
            assert {f"candidates: {w}" for w in wanted} <= set(names)

    asyncio.run(main())


def test_label_accept_reject_unsure_undo_merge_and_reopen(tui_cache, tmp_path):
    path = tmp_path / "labels.yaml"

    async def first_session(app, pilot):
        screen = await candidates(app, pilot)
        groups, scans = screen.groups_table, screen.candidates_table
        # l on S01: a new group; the title typed holds markup and (pasted) a terminal escape
        await press(app, pilot, "l")
        assert isinstance(app.screen, LabelAsScreen)
        assert app.screen.query_one("#label-id", Input).value == "G01"
        title = app.screen.query_one("#label-title", Input)
        assert title.value == "AS202425"
        title.value = ""
        await press(app, pilot, "tab", *HOSTILE_AS_NAME[:14])
        title.value += HOSTILE_AS_NAME[14:]
        await press(app, pilot, "enter")
        g01 = on_disk(path)["G01"]
        assert g01.verdict == "collaborative" and g01.title == HOSTILE_AS_NAME
        assert sorted(g01.members) == sorted(S01) and set(g01.ports) == {3306, 9000, 27017}
        assert len(g01.scans) == 6 and {(s.port, s.day.isoformat()) for s in g01.scans} >= {(3306, "2024-02-05"), (9000, "2024-02-12")}
        assert review(groups, "group", "S01") == "labelled G01"
        assert review(scans, "rank", 1) == "labelled G01"  # its scans are reviewed too
        assert groups.frame["group"][-1] == "S01" and groups.selected_row["group"] == "S02"  # next to review
        assert "suggested groups · 10 · 9 new" in screen_text(app)

        # l on a candidate scan (S07's 8000 on 02-07), added to G01: the hostile title shows literally
        await goto(app, pilot, scans, "rank", 10)
        await press(app, pilot, "l")
        assert "[bold red]evil\\x1b[31m" in screen_text(app)
        app.screen.query_one("#label-id", Input).value = "G01"
        await press(app, pilot, "enter")  # an id in use: said in the modal, which stays
        assert isinstance(app.screen, LabelAsScreen) and "G01 exists" in screen_text(app)
        assert "⏎ Create group" in screen_text(app).splitlines()[-1]  # the id field has focus
        for _ in range(4):
            if isinstance(app.focused, OptionList):
                break
            await press(app, pilot, "tab")
        assert isinstance(app.focused, OptionList)
        assert "⏎ Add to group" in screen_text(app).splitlines()[-1] and "Create" not in screen_text(app).splitlines()[-1]
        await press(app, pilot, "enter")
        g01 = on_disk(path)["G01"]
        assert {"89.38.97.20", "89.38.97.23"} <= set(g01.members) and 8000 in g01.ports and len(g01.scans) == 7
        assert review(scans, "rank", 10) == "labelled G01"

        # x rejects (a new R01: remembered), a accepts (G02), n marks unsure (G03), u undoes
        await goto(app, pilot, scans, "rank", 17)  # 6379 on 02-03, AS14061
        await press(app, pilot, "x")
        r01 = on_disk(path)["R01"]
        assert r01.verdict == "not_collaborative" and len(r01.members) == 3 and r01.ports == (6379,)
        assert review(scans, "rank", 17) == "rejected R01" and scans.frame["rank"][-1] == 17  # rejected last
        await goto(app, pilot, scans, "rank", 12)
        await press(app, pilot, "a")
        assert on_disk(path)["G02"].verdict == "collaborative"
        await goto(app, pilot, scans, "rank", 14)
        await press(app, pilot, "n")
        assert on_disk(path)["G03"].verdict == "unsure" and review(scans, "rank", 14) == "unsure G03"
        await press(app, pilot, "u")
        assert "G03" not in on_disk(path) and review(scans, "rank", 14) == "new"
        await goto(app, pilot, groups, "group", "S02")
        await press(app, pilot, "x")  # on a suggestion labelled nowhere: a new rejected group, all its scans
        r02 = on_disk(path)["R02"]
        assert len(r02.members) == 8 and set(r02.ports) == {2375, 8081} and len(r02.scans) == 6
        await goto(app, pilot, groups, "group", "S02")
        await press(app, pilot, "a")  # accepting it later changes the verdict of the group it matches
        assert on_disk(path)["R02"].verdict == "collaborative" and review(groups, "group", "S02") == "labelled R02"

        # another analyst saves S05 as theirs meanwhile: our next change merges, nothing is lost
        theirs = LabelsStore.load(path)
        theirs.add(Group("AN01", verdict="collaborative", members=S05, title="theirs"))
        theirs.save()
        await goto(app, pilot, scans, "rank", 14)  # S08's one scan, new again since the undo
        await press(app, pilot, "a")
        disk = on_disk(path)
        assert {"G01", "R01", "G02", "R02", "AN01", "G03"} <= set(disk) and disk["G01"].title == HOSTILE_AS_NAME
        # AN01 holds S05's IPs but records none of its scans: not reviewed, h keeps it; e records them in one step
        assert review(groups, "group", "S05") == "same IPs as AN01"
        assert "suggested groups · 10 · 3 new · 4 same IPs" in screen_text(app)
        assert "labels: labels.yaml, 6 groups" in screen_text(app)
        await goto(app, pilot, groups, "group", "S05")
        await press(app, pilot, "e")
        an01 = on_disk(path)["AN01"]
        assert an01.title == "theirs" and len(an01.scans) == 3 and review(groups, "group", "S05") == "labelled AN01"
        await goto(app, pilot, groups, "group", "S05")
        await press(app, pilot, "e")  # nothing left to record: said, nothing written
        assert on_disk(path)["AN01"] == an01
        said = [n for n in app._notifications if "recorded in AN01 already" in n.message]
        assert said and said[-1].title == "labels unchanged"  # titled as the other "nothing changed" notes

        # h hides the reviewed rows; the palette does what the keys do
        await goto(app, pilot, groups, "group", "S03")
        await press(app, pilot, "h")
        shown = {review_text(v) for v in groups.frame["review"]}
        assert shown == {"new", "same IPs as G01", "same IPs as G02", "same IPs as R01"} and groups.row_count == 6
        assert "reviewed hidden" in screen_text(app)
        await press(app, pilot, "h")
        assert groups.row_count == 10
        await goto(app, pilot, groups, "group", "S10")
        await press(app, pilot, "ctrl+p", *"reject selected")
        await press(app, pilot, "enter")
        assert on_disk(path)["G03"].verdict == "not_collaborative"  # the group S10 was accepted into
        await press(app, pilot, "q")
        assert not app.is_running

    # --by both: the ranks and suggestion ids this walk visits are the location keys' (the fingerprint pool
    # would add a suggestion and two scans among them)
    run_app(sample_app(tui_cache, path, by="both"), first_session)

    async def second_session(app, pilot):  # reopened: the decisions are there, rejections not new again
        screen = await candidates(app, pilot)
        assert review(screen.candidates_table, "rank", 17) == "rejected R01"
        assert review(screen.groups_table, "group", "S01") == "labelled G01"
        assert review(screen.groups_table, "group", "S10") == "rejected G03"
        assert screen.groups_table.frame["group"].to_list()[-1] == "S10"

    run_app(sample_app(tui_cache, path, by="both"), second_session)


def test_a_broken_labels_file_is_an_error_and_the_app_keeps_running(tui_cache, tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text(LABELS)

    async def scenario(app, pilot):
        screen = await candidates(app, pilot)
        assert review(screen.groups_table, "group", "S01") == "same IPs as G01"  # via the member CIDR, no scan recorded
        broken = "scantui_labels: 1\ngroups: [ {id: G01\n"
        path.write_text(broken)  # another analyst saves a broken file
        await press(app, pilot, "x")
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "labels.yaml" in errors[-1].message
        assert path.read_text() == broken  # never overwritten
        assert app.is_running and app.screen is screen
        assert review(screen.groups_table, "group", "S02") == "new"  # nothing changed in memory either
        await press(app, pilot, "down", "enter")
        assert isinstance(app.screen, GroupDetailScreen)

    run_app(sample_app(tui_cache, path), scenario)
    app = sample_app(tui_cache, path)  # broken from the start: an error, and labelling says why it is off

    async def broken_at_start(app, pilot):
        assert any(n.severity == "error" and "labels" in (n.title or "") for n in app._notifications)
        screen = await candidates(app, pilot)
        assert screen.groups_table.row_count == 12 and "not open" in screen_text(app)
        app.clear_notifications()
        await press(app, pilot, "l")
        assert not isinstance(app.screen, LabelAsScreen)
        assert any("not open" in n.message for n in app._notifications)

    run_app(app, broken_at_start)


# ------------------------------------------------------------ snapshots


@pytest.fixture
def labelled_here(tmp_path, monkeypatch):
    """The sample and a labels file with one labelled, one rejected (their scans recorded) and one unsure
    group (its IPs only: "same IPs as U01"), by relative paths."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "telescope.parquet").symlink_to(SAMPLE)
    (tmp_path / "team-labels.yaml").write_text(LABELS_RECORDED)
    return "telescope.parquet", "team-labels.yaml"


async def _shown(pilot, keys=()) -> None:
    app = pilot.app
    await settle(app, pilot)
    for key in keys:
        await press(app, pilot, key)
    for field in app.screen.query(Input):
        field.cursor_blink = False
    app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_candidates_snapshot(snap_compare, labelled_here, tui_cache, size):
    data, labels = labelled_here

    async def run_before(pilot):
        await _shown(pilot, ["3"])

    assert snap_compare(make_app([data], tui_cache, labels_path=labels), terminal_size=size, run_before=run_before)


def test_label_as_snapshot(snap_compare, labelled_here, tui_cache):
    data, labels = labelled_here

    async def run_before(pilot):
        await _shown(pilot, ["3", "l"])

    assert snap_compare(make_app([data], tui_cache, labels_path=labels), terminal_size=(80, 24), run_before=run_before)


# ------------------------------------------------------------ search options (window, tolerance, by)


def test_slash_filters_then_options_search_again_with_a_24h_window(tui_cache, tmp_path):
    """One app on the sample for two independent checks (one start instead of two): ``/`` filters the
    candidates and groups, not the scanner list; then ``o`` searches again with a 24h window and finds the
    midnight scan."""
    async def scenario(app, pilot):
        await _slash_filters_the_candidates_and_groups_not_the_scanner_list(app, pilot)
        await _options_search_again_with_a_24h_window_and_find_the_midnight_scan(app, pilot)

    run_app(sample_app(tui_cache, tmp_path / "labels.yaml"), scenario)


async def _options_search_again_with_a_24h_window_and_find_the_midnight_scan(app, pilot):
    from scantui.tui.screens.prompt import PromptScreen

    screen = await candidates(app, pilot)
    assert app.collab_count == 35 and "window day" in app.screen.sub_title  # with FPP-01/02 and ZMW-01/02
    midnight = (4443, "2024-02-08", "51.75.146.0/24")
    assert midnight not in {(c.port, c.day.isoformat(), c.key.text) for c in app.state.collab.candidates}
    await press(app, pilot, "o")
    assert isinstance(app.screen, PromptScreen)
    window = app.screen.query_one("#prompt-window", Input)
    assert window.value == "day" and app.screen.query_one("#prompt-by", Input).value == "all"
    window.value = "7x"
    await press(app, pilot, "enter")  # a bad value: said in the modal, which stays with what was typed
    assert isinstance(app.screen, PromptScreen) and "expected 'day' or a span" in screen_text(app)
    window.value = "24h"
    await press(app, pilot, "enter")
    assert app.screen is screen and app.state.request.window == "24h"
    assert app.collab_count == 37 and not app.counting  # with the midnight scan
    found = {(c.port, c.day.isoformat(), c.key.text): c for c in app.state.collab.candidates}
    assert midnight in found and found[midnight].window == "24h"
    assert "window 24h · by all · tol 1.64%,2.46%" in screen.sub_title
    assert "37 candidate scans" in screen_text(app) and "window 24h" in screen_text(app)
    assert len(screen.candidates_table.frame) == 37  # the lists follow
    await press(app, pilot, "o")
    app.screen.query_one("#prompt-by", Input).value = "asn"
    await press(app, pilot, "escape")  # cancelled: nothing runs again
    assert app.state.request.by == "all" and app.collab_count == 37


def test_the_default_window_is_bursts_and_finds_the_midnight_scan(tui_cache, tmp_path, monkeypatch, capsys):
    from clihelp import run
    from scantui.tui.app import ScantuiApp
    from scantui.tui.state import LoadRequest

    seen = {}
    with monkeypatch.context() as mp:  # not monkeypatch.undo(): that drops the test's own config file too
        mp.setattr(ScantuiApp, "run", lambda app: seen.setdefault("request", app.state.request))
        code, _out, err = run([SAMPLE.as_posix(), "--labels", str(tmp_path / "l.yaml")], capsys)
    assert code == 0 and seen["request"].window == "burst" and seen["request"].by == "all", err

    async def scenario(app, pilot):
        screen = await candidates(app, pilot)
        assert app.collab_count == 46 and "window burst · by all" in screen.sub_title  # the sample's 27, MID-01 and issue 13's 18 scans (FPP's 2 by fingerprint, ZMW's 2 by generator)
        found = {(c.port, c.day.isoformat(), c.key.text): c for c in app.state.collab.candidates}
        assert found[(4443, "2024-02-08", "51.75.146.0/24")].window == "burst"
        await press(app, pilot, "o")
        assert app.screen.query_one("#prompt-window", Input).value == "burst"
        await press(app, pilot, "escape")

    app = ScantuiApp(LoadRequest((str(SAMPLE),), cache_dir=tui_cache, labels_path=tmp_path / "labels.yaml"))  # no window
    app.labels_poll = None
    run_app(app, scenario)


def test_the_search_flags_reach_the_state_and_a_bad_one_is_one_line(monkeypatch, capsys, tmp_path):
    from clihelp import run
    from scantui.tui.app import ScantuiApp

    seen = {}
    monkeypatch.setattr(ScantuiApp, "run", lambda app: seen.setdefault("request", app.state.request))
    argv = [SAMPLE.as_posix(), "--labels", str(tmp_path / "l.yaml")]
    code, _out, err = run([*argv, "--window", "24h", "--tolerance", "2%,2.5%", "--by", "asn"], capsys)
    assert code == 0, err
    request = seen.pop("request")
    assert (request.window, request.tolerance, request.by) == ("24h", "2%,2.5%", "asn")
    query = request.collab_query()
    assert query.window_us == 24 * 3600 * 10**6 and query.by == ("asn",) and (query.low, query.high) == (0.02, 0.025)
    code, _out, err = run([*argv, "--window", "7x"], capsys)
    assert code == 2 and "request" not in seen
    assert err.count("\n") == 1 and err.startswith("scantui: error:") and "--window" in err


async def _slash_filters_the_candidates_and_groups_not_the_scanner_list(app, pilot):
    from scantui.tui.screens.scanners import ScannersScreen

    screen = await candidates(app, pilot)
    groups, scans = screen.groups_table, screen.candidates_table
    assert not screen.query_one("#filter-row").display
    await press(app, pilot, "slash")
    assert app.screen is screen and not isinstance(app.screen, ScannersScreen)
    assert screen.focused is screen.filter_input and screen.query_one("#filter-row").display
    await press(app, pilot, *"port:3306")
    assert groups.frame["group"].to_list() == ["S01"] and sorted(scans.frame["rank"].to_list()) == [1, 4]
    text = screen_text(app)
    assert "suggested groups · 12 · 12 new · 1 match /port:3306" in text and "candidate scans · 35 · 35 new · 2 match" in text
    await press(app, pilot, "enter")  # applied: back to the list, the filter stays
    assert screen.focused is groups and groups.row_count == 1
    await press(app, pilot, "slash", "ctrl+u")  # (the bar's own clear-line key)
    screen.filter_input.value = "as:6939 day:2024-02-07 timing:parallel review:new"
    await settle(app, pilot)
    assert scans.frame["rank"].to_list() == [8] and groups.frame["group"].to_list() == ["S04"]
    screen.filter_input.value = "tool:zmap"
    await settle(app, pilot)
    assert screen.filter_input.has_class("-invalid") and "unknown key 'tool'" in screen_text(app)
    assert scans.frame["rank"].to_list() == [8]  # a bad term keeps the last good filter
    await press(app, pilot, "escape")  # escape clears
    assert groups.row_count == 12 and scans.row_count == 35 and "match" not in screen_text(app)
    assert not screen.query_one("#filter-row").display and app.screen is screen
    await press(app, pilot, "slash", *"review:same")
    assert groups.row_count == 0 and "nothing matches the filter" in screen_text(app)
    await press(app, pilot, "escape", "escape")  # cleared, then back to the area shown before
    assert not isinstance(app.screen, CandidatesScreen)


def test_cut_titles_end_with_an_ellipsis_at_80_columns(labelled_here, tui_cache, tmp_path):
    """The status line under the header and the panes' titles were cut at 80 columns mid-word with no sign: a
    cut one ends with "…" (the labels file's long name, a long filter)."""
    data, labels = labelled_here
    long_labels = "team-labels-of-the-whole-research-group-for-the-february-study.yaml"
    Path(long_labels).write_text(Path(labels).read_text())

    async def scenario(app, pilot):
        await _shown(pilot, ["3"])
        screen = app.screen
        screen.apply_filter("review:new review:new review:new review:new", report=True)
        await settle(app, pilot)
        for name in ("#candidates-status", "#groups-title"):
            widget = screen.query_one(name)
            line = "".join(s.text for s in widget.render_lines(widget.region.reset_offset)[:1]).rstrip()
            assert line.endswith("…"), (name, line)
            assert len(line) <= 80

    run_app(make_app([data], tui_cache, labels_path=Path(long_labels)), scenario, size=(80, 24))
