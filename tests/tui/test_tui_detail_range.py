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


def facts_lines(screen) -> dict[str, str]:
    """The facts panel's rows as shown: label → value."""
    table = screen.query_one("#detail-facts").content
    labels, values = (list(c.cells) for c in table.columns)
    return {str(k): getattr(v, "plain", str(v)) for k, v in zip(labels, values)}


def assert_group_facts(screen, group, kept, days) -> None:
    """The group's facts say what is in the range beside what it holds: counted here from the scans in it."""
    facts = facts_lines(screen)
    span = f"{days[0]}..{days[1]}" if days[0] != days[1] else f"{days[0]}"
    members = {m for s in kept for m in s.sources}
    assert facts["group"] == f"{group.group} · scans {len(kept)} of {group.n_scans} in {span} · score {group.score}"
    assert facts["members"].startswith(f"{len(members)} of {group.n_members} sources in those scans · per scan "
                                       + ", ".join(str(s.n_sources) for s in kept))
    first = dt.datetime.fromtimestamp(min(s.start_us for s in kept) / 1e6, dt.timezone.utc)
    last = dt.datetime.fromtimestamp(max(s.end_us for s in kept) / 1e6, dt.timezone.utc)
    n_days = len({s.day for s in kept})
    assert facts["when"] == (f"{first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC · "
                             + (f"{n_days} of {len(group.days)} days" if len(kept) < group.n_scans
                                else f"{n_days} day{'s' if n_days != 1 else ''}"))
    assert facts["where"].startswith("ports " + ", ".join(str(p) for p in sorted({s.port for s in kept})))


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

    def read(ws, src, bins, days=None, *rest):
        if days == slow:
            time.sleep(1.5)
        return real(ws, src, bins, days, *rest)

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

    def scanners_in(days, *rest):
        if days == slow:
            time.sleep(1.5)
        return real_list(days, *rest)

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
    assert_group_facts(screen, group, kept, span)
    assert f"scan 1/{len(kept)}" in str(screen.timing.border_title)
    assert shown_per_day(drawn) == members_per_day(span) and set(shown_per_day(drawn)) <= set(every_day)

    await press(app, pilot, "right")  # the second scan of the range, kept selected when the range changes
    second = screen.scans[1]
    wider = (every_day[1], every_day[3])
    await set_range(app, pilot, f"{wider[0]}..{wider[1]}")
    assert screen.scans == [s for s in group.scans if wider[0] <= s.day <= wider[1]]
    assert screen.scans[screen.selected] == second
    assert shown_per_day(drawn) == members_per_day(wider)
    assert_group_facts(screen, group, screen.scans, wider)

    await set_range(app, pilot, "2024-02-29")  # none of its scans: all shown, and said so
    assert screen.scans == list(group.scans) and shown_per_day(drawn) == {}
    assert f"no scan in 2024-02-29: all {group.n_scans} shown" in screen_text(app)
    facts = facts_lines(screen)  # the facts and their title say so too, the rest of the facts the group's
    assert screen.query_one("#detail-facts").border_title == (
        f"group {group.group} · no scan in 2024-02-29: all {group.n_scans} shown")
    assert facts["group"] == f"{group.group} · {group.n_scans} scans, none in 2024-02-29: all shown · score {group.score}"
    assert facts["members"].startswith(f"{group.n_members} sources · per scan")

    await press(app, pilot, "T")  # no range: as before
    assert screen.scans == list(group.scans) and screen.scans_note == ""
    assert screen.query_one("#detail-facts").border_title == f"group {group.group}"
    assert shown_per_day(drawn) == members_per_day(EVERY)
    assert facts_lines(screen)["group"] == f"{group.group} · {group.n_scans} scans · score {group.score}"
    assert "left out" not in screen_text(app) and "no scan in" not in screen_text(app)


def pool_active(scans, summary) -> tuple[int, ...]:
    """Members active per bin of *summary* over *scans*, by polars on the sample: each scan's probes of its
    members on its port inside its span."""
    parts = [pl.scan_parquet(SAMPLE).filter(is_probe()).filter(
        pl.col("src").is_in(list(scan.sources)) & (pl.col("dport") == scan.port)
        & pl.col("ts").dt.epoch("us").is_between(scan.start_us, scan.end_us)).select("ts", "src")
        for scan in scans]
    counts = (pl.concat(parts).select(((pl.col("ts").dt.epoch("us") - summary.start_us) // summary.bin_us)
                                      .alias("bin"), "src")
              .group_by("bin").agg(pl.col("src").n_unique()).collect())
    found = dict(zip(counts["bin"].to_list(), counts["src"].to_list()))
    return tuple(found.get(k, 0) for k in range(len(summary.active)))


def test_a_groups_pool_sums_the_scans_the_time_range_shows(tui_cache, monkeypatch):
    """The pool group (240 sources, 3 scans on 02-04, 02-07, 02-14): under a range its summary is of the scans
    shown and their members, and says so; a change while open sums again, the latest change wins; T: all."""
    import scantui.tui.screens.detail as detail_mod
    from scantui.tui.widgets.pool import PoolPanel

    async def scenario(app, pilot):
        group = next(g for g in app.state.groups if g.n_members >= 200)
        assert [s.day for s in group.scans] == [D(2024, 2, 4), D(2024, 2, 7), D(2024, 2, 14)]
        await set_range(app, pilot, "2024-02-04..2024-02-10")
        app.open_group(group)
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GroupDetailScreen)
        panel = screen.query_one("#detail-pool", PoolPanel)

        def check(kept, scope):
            members = {m for s in kept for m in s.sources}
            summary = panel.summary
            assert summary is not None and summary.n_sources == len(members) == summary.n_active
            assert (summary.start_us, summary.end_us) == (kept[0].start_us, max(s.end_us for s in kept))
            assert summary.active == pool_active(kept, summary)
            assert sum(k.members for k in summary.prefixes) == len(members)
            assert panel.scope == scope and str(panel.border_title).startswith(
                f"pool · {scope} · {len(members)} sources" if scope else f"pool · {len(members)} sources")
            return summary

        first = check(group.scans[:2], "scans 2 of 3 in 2024-02-04..2024-02-10")
        assert first.n_sources == 232 and first.n_sources < group.n_members
        assert facts_lines(screen)["members"].startswith("232 of 240 sources in those scans")
        assert "scans 2 of 3 in 2024-02-04..2024-02-10 · 232 sources" in screen_text(app)

        await set_range(app, pilot, "2024-02-14")  # changed while open: the facts and pool of the one scan now
        assert check(group.scans[2:], "scans 1 of 3 in 2024-02-14").n_sources == 230
        assert_group_facts(screen, group, list(group.scans[2:]), (D(2024, 2, 14), D(2024, 2, 14)))
        await set_range(app, pilot, "2024-02-01..2024-02-10")  # the same scans as first: its summary at once
        assert check(group.scans[:2], "scans 2 of 3 in 2024-02-01..2024-02-10") is first

        real, slow_day = detail_mod.group_pool, D(2024, 2, 4)

        def group_pool(ws, record, scans=None):  # the sum of the 02-04 scan alone comes in last
            if scans is not None and [s.day for s in scans] == [slow_day]:
                time.sleep(1.5)
            return real(ws, record, scans)

        monkeypatch.setattr(detail_mod, "group_pool", group_pool)
        app.time_range = (slow_day, slow_day)
        await pilot.pause()
        app.time_range = (D(2024, 2, 7), D(2024, 2, 7))
        await settle(app, pilot)
        time.sleep(1.6)  # (the slow sum is done by now; it must not come through)
        await settle(app, pilot)
        check(group.scans[1:2], "scans 1 of 3 in 2024-02-07")
        assert_group_facts(screen, group, list(group.scans[1:2]), (D(2024, 2, 7), D(2024, 2, 7)))
        monkeypatch.setattr(detail_mod, "group_pool", real)

        await set_range(app, pilot, "2024-02-29")  # none in it: all shown, the group's own summary, said so
        assert check(list(group.scans), "no scan in 2024-02-29: all 3 shown").n_sources == group.n_members == 240
        await press(app, pilot, "T")  # no range: as opened without one
        assert check(list(group.scans), "").n_sources == 240
        assert "pool · 240 sources · 2 /24s · 1 AS" in screen_text(app)

    run_app(make_app([SAMPLE], tui_cache), scenario, size=(160, 48))
