"""Two apps on one labels file and the review state: what one analyst records is "labelled" for the other,
only for the scans recorded; the rest of the same IPs' scans say "same IPs as G01" and stay to review
(``h`` hides only what is reviewed), and one key records them.

Data: the tiny set plus one collaborative scan repeated on two days (four sources of 203.0.113.0/24 split
the 256-address telescope, given as --telescope-size, on port 445 on 2024-03-02 and on 2024-03-03).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from tuihelp import TELESCOPE, _ip, make_app, screen_text, settle, tiny_frame

from scantui.io.schema import conform
from scantui.labels import LabelsStore
from scantui.tui.screens.candidates import CandidatesScreen
from scantui.tui.screens.candidates_frames import review_text
from scantui.tui.screens.label_as import LabelAsScreen

MEMBERS = [f"203.0.113.{20 + m}" for m in range(4)]
DAYS = ("2024-03-02", "2024-03-03")


def two_day_frame() -> pl.DataFrame:
    base = tiny_frame()
    rows = []
    for day in DAYS:
        start = dt.datetime.fromisoformat(day).replace(hour=4, tzinfo=dt.timezone.utc)
        rows += [{"ts": start + dt.timedelta(seconds=k * 4 + m), "src": _ip(ip), "dst": TELESCOPE + m * 64 + k, "proto": 6,
                  "sport": 40000 + k, "dport": 445, "ip_id": k, "ttl": 64, "ip_len": 44, "tcp_flags": 2, "tcp_seq": k,
                  "tcp_ack": 0, "tcp_window": 65535, "tcp_mss": 1460, "asn": 64666, "as_name": "EXAMPLE-HOSTING",
                  "hostname": None, "category": "other"}
                 for m, ip in enumerate(MEMBERS) for k in range(64)]
    scans = pl.DataFrame(rows, schema_overrides={"asn": pl.UInt32, "hostname": pl.String})
    scans = scans.with_columns(pl.col("ts").dt.cast_time_unit("us"))
    return pl.concat([base, conform(scans.lazy()).collect().select(base.columns)]).sort("ts")


@pytest.fixture(scope="module")
def two_day_data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("two-days") / "packets.parquet"
    two_day_frame().write_parquet(path)
    return path


async def press(app, pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(app, pilot)


def review_of(table, day: str) -> str:
    frame = table.frame
    return review_text(frame.row(frame["day"].cast(pl.String).str.slice(0, 10).to_list().index(day), named=True)["review"])


async def goto_day(app, pilot, table, day: str) -> None:
    screen = app.screen
    while screen.focused is not table:
        await press(app, pilot, "tab")
    index = table.frame["day"].cast(pl.String).str.slice(0, 10).to_list().index(day)
    await press(app, pilot, "home", *["down"] * index)
    assert str(table.selected_row["day"])[:10] == day


def test_one_analysts_recorded_scan_is_labelled_for_the_other_and_the_rest_says_same_ips(two_day_data, tui_cache,
                                                                                         tmp_path):
    labels = tmp_path / "labels.yaml"
    app_a = make_app([two_day_data], tui_cache, labels_path=labels, telescope_size=256)
    app_b = make_app([two_day_data], tui_cache, labels_path=labels, telescope_size=256)

    async def main() -> None:
        async with app_a.run_test(size=(160, 40)) as pa, app_b.run_test(size=(160, 40)) as pb:
            for app, pilot in ((app_a, pa), (app_b, pb)):
                await settle(app, pilot)
                await press(app, pilot, "3")
                assert isinstance(app.screen, CandidatesScreen)
                assert len(app.screen.candidates_table.frame) == 2, screen_text(app)
            a, b = app_a.screen, app_b.screen

            # alice labels the scan of the first day only: a new group, that one scan as evidence
            await goto_day(app_a, pa, a.candidates_table, DAYS[0])
            await press(app_a, pa, "l")
            assert isinstance(app_a.screen, LabelAsScreen)
            await press(app_a, pa, "enter")
            g01 = LabelsStore.load(labels, must_exist=True).get("G01")
            assert sorted(g01.members) == MEMBERS and [s.day.isoformat() for s in g01.scans] == [DAYS[0]]

            # bob's app reads the file again: the recorded scan is labelled, the other day only shares the IPs
            app_b.check_labels_file()
            await settle(app_b, pb)
            scans_b = b.candidates_table
            assert review_of(scans_b, DAYS[0]) == "labelled G01"
            assert review_of(scans_b, DAYS[1]) == "same IPs as G01"
            assert review_text(b.groups_table.frame.row(0, named=True)["review"]) == "same IPs as G01"
            assert "same IPs as G01" in screen_text(app_b) and "labelled G01" in screen_text(app_b)

            # h hides what is reviewed: the labelled scan only; the same-IPs scan and the group stay to review
            await press(app_b, pb, "h")
            shown_days = [str(d)[:10] for d in scans_b.frame["day"].to_list()]
            assert shown_days == [DAYS[1]] and len(b.groups_table.frame) == 1
            await press(app_b, pb, "h")

            # one key records the rest in G01 (bob), and alice sees both scans labelled
            await goto_day(app_b, pb, scans_b, DAYS[1])
            await press(app_b, pb, "e")
            g01 = LabelsStore.load(labels, must_exist=True).get("G01")
            assert sorted(s.day.isoformat() for s in g01.scans) == list(DAYS) and sorted(g01.members) == MEMBERS
            app_a.check_labels_file()
            await settle(app_a, pa)
            assert {review_of(a.candidates_table, d) for d in DAYS} == {"labelled G01"}
            assert review_text(a.groups_table.frame.row(0, named=True)["review"]) == "labelled G01"

    asyncio.run(main())
