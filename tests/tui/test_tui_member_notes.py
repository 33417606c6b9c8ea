"""Source notes beyond the scanner list (issue 15 part 3, "shown in every table and detail"): the candidates
screen's ``notes`` column and its ``tag:``/``note:`` terms, a candidate's members' notes in its detail, the packets'
``tags`` column; hostile note text shown as data. One Pilot app on the tiny data with candidates put in (it has none)."""

from __future__ import annotations

import polars as pl

from collabbuild import candidate, group
from tuihelp import make_app, run_app, screen_text, settle
from scantui.analysis.collab import CollabResult
from scantui.safetext import safe_line
from scantui.tui.member_notes import NOTES_COLUMN, with_notes_column
from scantui.tui.screens.candidates_frames import CANDIDATE_COLUMNS

PAIR = ("192.0.2.10", "192.0.2.11")
OTHER = ("203.0.113.5", "203.0.113.9")
CANDIDATES = [
    candidate(sources=PAIR, port=443, day="2024-03-01", key_text="192.0.2.0/24", score=95.0),
    candidate(sources=OTHER, port=3389, day="2024-03-04", key_text="203.0.113.0/24", score=80.0),
]
GROUPS = [group([CANDIDATES[0]], group_id="S01"), group([CANDIDATES[1]], group_id="S02")]
HOSTILE = "\x1b[31m[b]honeypot[/b] \u202eevil"
LABELS = f"""\
scantui_labels: 1
groups:
  - id: G01
    verdict: unsure
    members: [192.0.2.0/28]
sources:
  - ip: 192.0.2.10
    tags: [benign, research]
    note: "{HOSTILE.encode('unicode_escape').decode()}\\nsecond line"
  - ip: 203.0.113.9
    tags: [cdn, "[red]x[/red]"]
"""


async def press(app, pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(app, pilot)


def _cells(table, column: str) -> list:
    return table.frame.sort("idx")[column].to_list()


def test_notes_column_detail_packets_and_query(tiny_parquet, tui_cache, tmp_path):
    from scantui.labels.session import LabelSession
    from scantui.labels.store import LabelsStore
    from scantui.tui.screens.packets import PacketsScreen
    from scantui.tui.screens.packets_view import PacketsView

    labels = tmp_path / "labels.yaml"
    labels.write_text(LABELS)
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)

    async def scenario(app, pilot):
        assert app.state.labels.store.source("192.0.2.10").note.startswith(HOSTILE)
        app.state.collab = CollabResult(list(CANDIDATES), telescope_size=256)
        app.state.groups = list(GROUPS)
        app.collab_count, app.groups_count = len(CANDIDATES), len(GROUPS)
        await press(app, pilot, "3")
        screen = app.screen
        scans, groups = screen.candidates_table, screen.groups_table
        # the notes column: after the review, how many members are noted and their tags
        for table in (scans, groups):
            assert [c.key for c in table.columns][2] == "notes"
            assert _cells(table, "notes") == ["1 · benign, research", "1 · [red]x[/red], cdn"]
        text = screen_text(app)
        assert NOTES_COLUMN.cell("1 · benign, research") in text  # cut to the column, with …
        assert NOTES_COLUMN.cell("1 · [red]x[/red], cdn") in text  # a tag is data: markup shown as typed
        # tag: and note: match a scan or group when a member's source note does (note: the text, escaped or not)
        for text, wanted in (("tag:cdn", [1]), ("tag:BENIGN", [0]), ("note:honeypot", [0]), ("-tag:benign", [1]),
                             ("tag:cdn,research", [0, 1]), ("tag:nothing", [])):
            assert screen.apply_filter(text, report=True)
            await settle(app, pilot)
            assert sorted(scans.frame["idx"].to_list()) == wanted and sorted(groups.frame["idx"].to_list()) == wanted, text
        screen.action_clear_filter()
        await settle(app, pilot)
        # another analyst tags a source of the first scan: after the file watch the column says so
        bob = LabelSession(LabelsStore.load(labels, author="bob"))
        bob.note_sources(["192.0.2.11"], tags=["scanner"])
        app.check_labels_file()
        await settle(app, pilot)
        assert _cells(scans, "notes")[0] == "2 · benign, research, scanner"
        # the candidate's detail lists its noted members: tags and the note's first line, escaped
        app.open_candidate(CANDIDATES[0])
        await settle(app, pilot)
        text = screen_text(app)
        assert "192.0.2.10 [benign, research] " + safe_line(HOSTILE)[:20] in text
        assert "192.0.2.11 [scanner]" in text and "second line" not in text
        assert "\x1b" not in text and "\u202e" not in text
        # the packets of the pair: the tags column, one lookup per row
        app.open_packets(PacketsView.of_sources([int(c) for c in CANDIDATES[0].sources]))
        await settle(app, pilot)
        assert isinstance(app.screen, PacketsScreen)
        table = app.screen.table
        assert table.columns[-1].key == "src_tags"
        rows = [table.loaded_row(i) for i in range(min(table.row_count, 50))]
        assert {(r["src"], r["src_tags"]) for r in rows} <= {(CANDIDATES[0].sources[0], "benign, research"),
                                                            (CANDIDATES[0].sources[1], "scanner")}
        assert len({r["src"] for r in rows}) >= 1 and all(r["src_tags"] for r in rows)
        # the labels area: a group's details list its members' notes (a CIDR member's sources too), escaped
        await press(app, pilot, "4")
        text = screen_text(app)
        assert "source notes" in text and "192.0.2.11 [scanner]" in text and "203.0.113.9" not in text
        assert safe_line(HOSTILE)[:20] in text and "\x1b" not in text

    run_app(app, scenario, size=(160, 40))


def test_no_source_notes_no_notes_column():
    """Without source notes the candidates' columns are as before (no snapshot moves)."""
    empty = pl.DataFrame({"notes": [None, None]}, schema={"notes": pl.String})
    assert with_notes_column(CANDIDATE_COLUMNS, empty) == CANDIDATE_COLUMNS
    one = pl.DataFrame({"notes": [None, "1 · cdn"]})
    assert with_notes_column(CANDIDATE_COLUMNS, one)[2] == NOTES_COLUMN
