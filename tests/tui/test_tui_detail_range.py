"""The detail screens under the App's time range (``t``/``T``): a scanner's and a group's detail count only the
range's days, read again when it changes while they are open (the latest change wins), and are as before
without one. Real Apps driven with Pilot on the sample data; every figure checked against polars' own count of
``sample_data/telescope.parquet``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import time

import polars as pl

from tuihelp import SAMPLE, make_app, run_app, screen_text, settle
from scantui.analysis.fingerprints import with_tool
from scantui.analysis.traffic import is_probe
from scantui.tui.screens.detail import GroupDetailScreen, ScannerDetailScreen
from scantui.tui.screens.detail_base import DetailScreen
from scantui.tui.screens.packets import PacketsScreen

D = dt.date
SRC = "104.152.52.61"  # probed on 2024-02-04 (39,321 packets) and 2024-02-05 (26,215)
EVERY = (D(2024, 2, 1), D(2024, 2, 29))


async def press(app, pilot, *keys: str) -> None:
    await pilot.press(*[{".": "full_stop", "/": "slash", " ": "space"}.get(k, k) if len(k) == 1 else k for k in keys])
    await settle(app, pilot)


async def set_range(app, pilot, text: str) -> None:
    """``t``, the days typed as a user does, enter."""
    await press(app, pilot, "t")
    await press(app, pilot, "ctrl+u", *text, "enter")


def sample_packets(src: str, days: tuple[dt.date, dt.date]) -> pl.DataFrame:
    """The source's packets on *days* (inclusive), by polars itself."""
    return (pl.scan_parquet(SAMPLE).filter(pl.col("src") == int(ipaddress.IPv4Address(src)))
            .with_columns(day=pl.col("ts").dt.date()).filter(pl.col("day").is_between(*days)).collect())


def per_day(frame: pl.DataFrame) -> dict[dt.date, int]:
    counts = frame.group_by("day").len()
    return dict(zip(counts["day"].to_list(), counts["len"].to_list()))


def shown_per_day(drawn: list) -> dict[dt.date, int]:
    """What the last ``draw_volumes`` drew as packets per day."""
    days = drawn[-1][0]
    return dict(zip(days["day"].to_list(), days["packets"].to_list()))


def timing_packets(screen) -> int:
    """The packets the timing plot holds: its "all ports" row (every port summed) over its whole range."""
    strips = screen.timing
    assert strips.labels and strips.labels[0] == "all ports" and not strips.zoomed
    return strips._row_counts[0]


def test_the_detail_screens_follow_the_time_range(tui_cache, monkeypatch):
    drawn: list = []
    real_draw = DetailScreen.draw_volumes

    def draw(self, days, ports, *, weight):  # what the per-day and per-port figures were given
        drawn.append((days, ports))
        real_draw(self, days, ports, weight=weight)

    monkeypatch.setattr(DetailScreen, "draw_volumes", draw)

    async def scenario(app, pilot):
        depth = len(app.screen_stack)
        await _scanner_without_a_range_is_every_day(app, pilot, drawn)
        await _back(app, pilot, depth)
        await _scanner_under_a_range_and_changes_while_open(app, pilot, drawn)
        await _back(app, pilot, depth)
        await _the_latest_range_wins(app, pilot, monkeypatch)
        await _back(app, pilot, depth)
        await _group_leaves_out_the_scans_outside_the_range(app, pilot, drawn)

    run_app(make_app([SAMPLE], tui_cache), scenario, size=(80, 24))


async def _back(app, pilot, depth: int) -> None:
    while len(app.screen_stack) > depth:
        await press(app, pilot, "escape")
    await press(app, pilot, "T")


async def _open_scanner(app, pilot) -> ScannerDetailScreen:
    """From the scanner list, as a user: ``2``, ``/`` the address, enter, enter."""
    await press(app, pilot, "2", "/", "ctrl+u", *SRC, "enter")
    await press(app, pilot, "enter")
    screen = app.screen
    assert isinstance(screen, ScannerDetailScreen) and screen.src == int(ipaddress.IPv4Address(SRC))
    return screen


async def _scanner_without_a_range_is_every_day(app, pilot, drawn):
    screen = await _open_scanner(app, pilot)
    every = sample_packets(SRC, EVERY)
    assert screen.days is None and screen.row.packets == every.height == 65_536
    assert screen.query_one("#detail-facts").border_title == f"scanner {SRC}"
    assert screen.timing.border_title == "activity per port"
    assert timing_packets(screen) == every.filter(is_probe()).height
    assert shown_per_day(drawn) == per_day(every) and len(per_day(every)) == 2
    assert "days 20" not in screen_text(app)


async def _scanner_under_a_range_and_changes_while_open(app, pilot, drawn):
    await set_range(app, pilot, "2024-02-05..2024-02-06")
    screen = await _open_scanner(app, pilot)
    inside = sample_packets(SRC, (D(2024, 2, 5), D(2024, 2, 6)))
    assert screen.days == (D(2024, 2, 5), D(2024, 2, 6))
    assert screen.row.packets == inside.height == 26_215  # the list's row, counted for the range
    assert timing_packets(screen) == inside.filter(is_probe()).height
    full = screen.timing.full_range
    assert full[0] >= int(dt.datetime(2024, 2, 5, tzinfo=dt.timezone.utc).timestamp() * 1e6)
    assert full[1] <= int(dt.datetime(2024, 2, 7, tzinfo=dt.timezone.utc).timestamp() * 1e6)
    assert shown_per_day(drawn) == per_day(inside) == {D(2024, 2, 5): 26_215}
    ports = drawn[-1][1]
    assert int(ports["packets"].sum()) == inside.filter(is_probe()).height
    tools = with_tool(inside.lazy()).filter(is_probe()).group_by("tool").len().collect()
    assert screen._tools == {str(t): n for t, n in tools.iter_rows()}
    text = screen_text(app)
    assert f"scanner {SRC} · days 2024-02-05..2024-02-06" in text and "26,215 packets" in text
    await press(app, pilot, "p")  # the packets view of the detail: the range's too
    assert isinstance(app.screen, PacketsScreen) and app.screen.total == inside.height
    await press(app, pilot, "escape")

    await set_range(app, pilot, "2024-02-04")  # changed while open: everything read again, the facts recounted
    assert app.screen is screen and screen.days == (D(2024, 2, 4), D(2024, 2, 4))
    day4 = sample_packets(SRC, (D(2024, 2, 4), D(2024, 2, 4)))
    assert screen.row.packets == day4.height == 39_321 and screen.counted_for == screen.days
    assert timing_packets(screen) == day4.filter(is_probe()).height
    assert shown_per_day(drawn) == per_day(day4)
    text = screen_text(app)
    assert f"scanner {SRC} · days 2024-02-04" in text and "39,321 packets" in text and "recounting" not in text

    await set_range(app, pilot, "2024-02-10..2024-02-11")  # no probes there: the facts stay, and say of which days
    assert screen.row.packets == 39_321 and timing_packets(screen) == 0 and shown_per_day(drawn) == {}
    assert "no probes in 2024-02-10..2024-02-11 · facts of 2024-02-04" in screen_text(app)

    await press(app, pilot, "T")  # every day again: as opened without a range
    every = sample_packets(SRC, EVERY)
    assert screen.days is None and screen.row.packets == every.height and screen.counted_for is None
    assert timing_packets(screen) == every.filter(is_probe()).height and shown_per_day(drawn) == per_day(every)
    assert screen.query_one("#detail-facts").border_title == f"scanner {SRC}"
    assert "no probes in" not in screen_text(app)


async def _the_latest_range_wins(app, pilot, monkeypatch):
    """Two changes in a row: the first one's read, slower and finishing last, is not drawn over the second's."""
    screen = await _open_scanner(app, pilot)
    slow, fast = (D(2024, 2, 4), D(2024, 2, 4)), (D(2024, 2, 5), D(2024, 2, 5))
    real = ScannerDetailScreen._read_timing

    def read(ws, src, bins, days=None):
        if days == slow:
            time.sleep(1.5)
        return real(ws, src, bins, days)

    monkeypatch.setattr(ScannerDetailScreen, "_read_timing", staticmethod(read))
    app.time_range = slow
    await pilot.pause()
    app.time_range = fast
    await settle(app, pilot)
    time.sleep(0.2)  # (the slow read's thread is done by now; its result must not come through)
    await settle(app, pilot)
    assert screen.days == fast and screen.counted_for == fast
    assert timing_packets(screen) == sample_packets(SRC, fast).filter(is_probe()).height == 26_215
    monkeypatch.setattr(ScannerDetailScreen, "_read_timing", staticmethod(real))

    # back to the days the row is of while a recount for other days still runs: that recount is not shown
    state, real_list = app.state, app.state.scanners_in

    def scanners_in(days):
        if days == slow:
            time.sleep(1.5)
        return real_list(days)

    monkeypatch.setattr(state, "scanners_in", scanners_in)
    app.time_range = slow
    await pilot.pause()
    app.time_range = fast
    await settle(app, pilot)
    time.sleep(0.2)
    await settle(app, pilot)
    assert screen.days == fast and screen.counted_for == fast and screen.row.packets == 26_215
    assert "recounting" not in screen_text(app)
    monkeypatch.setattr(state, "scanners_in", real_list)


async def _group_leaves_out_the_scans_outside_the_range(app, pilot, drawn):
    group = next(g for g in app.state.groups if len({s.day for s in g.scans}) >= 5)
    every_day = sorted({s.day for s in group.scans})
    members = [int(ipaddress.IPv4Address(m)) for m in group.member_ips]

    def members_per_day(days):
        frame = (pl.scan_parquet(SAMPLE).filter(pl.col("src").is_in(members))
                 .with_columns(day=pl.col("ts").dt.date()).filter(pl.col("day").is_between(*days)).collect())
        return per_day(frame)

    span = (every_day[1], every_day[2])  # two of its days, with the days between them
    await set_range(app, pilot, f"{span[0]}..{span[1]}")
    app.open_group(group)
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, GroupDetailScreen)
    kept = [s for s in group.scans if span[0] <= s.day <= span[1]]
    assert screen.scans == kept and 0 < len(kept) < group.n_scans
    left = group.n_scans - len(kept)
    text = screen_text(app)
    assert f"{left} scans outside {span[0]}..{span[1]} left out" in text
    assert f"group {group.group} · days {span[0]}..{span[1]}" in text
    assert f"scan 1/{len(kept)}" in str(screen.timing.border_title)
    assert shown_per_day(drawn) == members_per_day(span) and set(shown_per_day(drawn)) <= set(every_day)

    await press(app, pilot, "right")  # the second scan of the range, kept selected when the range changes
    second = screen.scans[1]
    wider = (every_day[1], every_day[3])
    await set_range(app, pilot, f"{wider[0]}..{wider[1]}")
    assert screen.scans == [s for s in group.scans if wider[0] <= s.day <= wider[1]]
    assert screen.scans[screen.selected] == second
    assert shown_per_day(drawn) == members_per_day(wider)

    await set_range(app, pilot, "2024-02-29")  # none of its scans: all shown, and said so
    assert screen.scans == list(group.scans) and shown_per_day(drawn) == {}
    assert f"no scan in 2024-02-29: all {group.n_scans} shown" in screen_text(app)

    await press(app, pilot, "T")  # no range: as before
    assert screen.scans == list(group.scans) and screen.scans_note == ""
    assert screen.query_one("#detail-facts").border_title == f"group {group.group}"
    assert shown_per_day(drawn) == members_per_day(EVERY)
    assert "left out" not in screen_text(app) and "no scan in" not in screen_text(app)
