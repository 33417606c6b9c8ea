"""The detail screens and the per-IP timing plot.

Unit tests of :class:`TimingStrips` on crafted packets (parallel and sequential
rows, 330 rows drawn line by line, zoom keeping the rows), Pilot tests on the
sample data (a candidate, a group with ~200 sources, a scanner from the list,
labelling keys, the palette) and on the tiny data (hostile text), snapshots of
the three screens at 80x24 and 160x48.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
from textual.app import App
from textual.widgets import Static

import scantui.plots.timing as timing_mod
from collabbuild import candidate
from tuihelp import HOSTILE_AS_NAME, HOSTILE_HOSTNAME, SAMPLE, make_app, run_app, screen_strips, screen_text, settle
from scantui.analysis.scanner_row import ScannerRow
from scantui.plots.timing import TimingGrid, timing_grid
from scantui.tui.screens.help import HelpScreen
from scantui.tui.screens.detail import CandidateDetailScreen, GroupDetailScreen, ScannerDetailScreen
from scantui.tui.widgets.figures import FigurePanel, ScanCard, scan_tabs
from scantui.tui.widgets.timing import AXIS_LINE, LEGEND_LINE, PINNED, TimingStrips, packets_binner

T0 = int(dt.datetime(2024, 2, 5, 9, tzinfo=dt.timezone.utc).timestamp() * 1_000_000)
HOUR = 3_600_000_000
SIZES = [(80, 24), (160, 48)]


def crafted(pattern: str, n_src: int = 3, per: int = 400) -> pl.DataFrame:
    """Packets of *n_src* sources over two hours: ``parallel`` all along, ``sequential`` one after the other."""
    ts, src = [], []
    for i in range(n_src):
        if pattern == "parallel":
            times = T0 + np.linspace(0, 2 * HOUR - 1, per).astype(np.int64)
        else:
            slot = 2 * HOUR // n_src
            times = T0 + i * slot + np.linspace(0, slot - 1, per).astype(np.int64)
        ts.extend(times.tolist())
        src.extend([0x0A000001 + i] * per)
    return pl.DataFrame({"ts": ts, "src": src}, schema={"ts": pl.Int64, "src": pl.UInt32}).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC"))).sort("ts")


class StripsApp(App):
    def compose(self):
        yield TimingStrips(id="strips")


async def _quiet(app, pilot) -> None:
    for _ in range(5):
        await app.workers.wait_for_complete()
        await pilot.pause()


def run_strips(scenario, size=(60, 12)) -> None:
    async def main():
        app = StripsApp()
        async with app.run_test(size=size) as pilot:
            await scenario(app, app.query_one(TimingStrips), pilot)

    asyncio.run(main())


def _strip_part(strips: TimingStrips, y: int) -> str:
    label_w, strip_w, _c, _e = strips._layout()
    return strips.render_line(y).text[label_w + 1 : label_w + 1 + strip_w]


# ---------------------------------------------------------------- TimingStrips, unit


def test_parallel_rows_are_marked_over_the_same_span():
    packets = crafted("parallel")
    grid = timing_grid(packets, bins=50)

    async def scenario(app, strips, pilot):
        strips.show(grid, binner=packets_binner(packets, grid.sources))
        await _quiet(app, pilot)
        assert strips.grid.bins == strips.strip_width  # re-binned to one bin per cell
        rows = [_strip_part(strips, PINNED + i) for i in range(3)]
        assert all(" " not in row and len(row) == strips.strip_width for row in rows)
        assert strips.render_line(PINNED).text.startswith("10.0.0.1")
        assert "400" in strips.render_line(PINNED).text  # packets of the row in the range
        axis = strips.render_line(AXIS_LINE).text
        assert "09:30" in axis or "10:00" in axis  # the time axis

    run_strips(scenario)


def test_a_5_to_1_split_reads_on_the_linear_scale_and_the_legend_says_what_marks_mean():
    """Two members in parallel, one sending 5 times the other's packets: alike on the log scale, 5:1 on the linear."""
    heavy, light = crafted("parallel", n_src=1, per=1000), crafted("parallel", n_src=1, per=200)
    packets = pl.concat([heavy, light.with_columns(pl.lit(0x0A000002, dtype=pl.UInt32).alias("src"))]).sort("ts")
    grid = timing_grid(packets, bins=50)

    async def scenario(app, strips, pilot):
        strips.show(grid, binner=packets_binner(packets, grid.sources))
        await _quiet(app, pilot)
        strips.focus()
        log_rows = [_strip_part(strips, PINNED + i).strip() for i in range(2)]
        legend = strips.render_line(LEGEND_LINE).text
        assert legend.startswith(" log: ") and "packets per mark" in legend and "s linear" in legend
        peak = int(strips._peak)
        assert f"-{peak}" in legend  # the top glyph's range ends at the busiest cell
        await pilot.press("s")
        assert strips.scale == "linear"
        lin_rows = [_strip_part(strips, PINNED + i).strip() for i in range(2)]
        legend = strips.render_line(LEGEND_LINE).text
        assert legend.startswith(" linear: ") and "s log" in legend
        assert lin_rows != log_rows
        glyphs = " ▁▂▃▄▅▆▇█"
        level = lambda row: max(glyphs.index(c) for c in row)  # noqa: E731
        assert level(log_rows[1]) >= 5  # log: the light member looks more than half as busy
        assert level(lin_rows[0]) == 8 and level(lin_rows[1]) <= 3  # linear: about a fifth
        await pilot.press("s")
        assert [_strip_part(strips, PINNED + i).strip() for i in range(2)] == log_rows

    run_strips(scenario, size=(80, 12))


def test_sequential_rows_take_turns():
    packets = crafted("sequential", n_src=2)
    grid = timing_grid(packets, bins=60)

    async def scenario(app, strips, pilot):
        strips.show(grid, binner=packets_binner(packets, grid.sources))
        await _quiet(app, pilot)
        first, second = _strip_part(strips, PINNED), _strip_part(strips, PINNED + 1)
        half = len(first) // 2
        assert first[:half].strip() and not first[half + 1 :].strip()
        assert second[half + 1 :].strip() and not second[:half].strip()

    run_strips(scenario)


def test_330_rows_render_only_the_visible_lines(monkeypatch):
    packets = crafted("parallel", n_src=330, per=20)
    grid = timing_grid(packets, bins=40)
    calls = []
    real = timing_mod.render_row

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(timing_mod, "render_row", counting)

    async def scenario(app, strips, pilot):
        strips.show(grid, binner=packets_binner(packets, grid.sources))
        strips.focus()
        await _quiet(app, pilot)
        visible = strips.scrollable_content_region.height - PINNED
        assert 0 < len(calls) <= 2 * visible  # at most a repaint after the re-binning
        calls.clear()
        await pilot.press("end")
        await pilot.pause()
        assert strips.cursor_row == 329 and 0 < len(calls) <= visible  # the rows now on screen, not all 330
        assert "10.0.1.74" in screen_text(app)  # 10.0.0.1 + 329
        await pilot.press("pageup", "up", "k", "home")
        await pilot.pause()
        assert strips.cursor_row == 0 and "10.0.0.1 " in screen_text(app)

    run_strips(scenario, size=(70, 20))


def test_zoom_in_out_pan_and_reset_keep_the_rows():
    packets = crafted("sequential", n_src=4)
    grid = timing_grid(packets, bins=50, order="ip")

    async def scenario(app, strips, pilot):
        strips.show(grid, binner=packets_binner(packets, grid.sources))
        strips.focus()
        await _quiet(app, pilot)
        full = strips.full_range
        await pilot.press("plus")
        await _quiet(app, pilot)
        span = strips.grid.span_us
        assert abs(span - (full[1] - full[0]) / 2) <= 2 and strips.grid.sources == grid.sources
        centre = (full[0] + full[1]) // 2
        assert abs((strips.grid.start_us + strips.grid.end_us) // 2 - centre) <= 2
        assert "zoom ×2" in strips.render_line(0).text
        first = _strip_part(strips, PINNED)  # source 1 is active in the first quarter only: off screen now
        assert not first.strip()
        await pilot.press("right_square_bracket")
        await _quiet(app, pilot)
        assert strips.grid.start_us > full[0] + span // 2 - 2 and strips.grid.span_us == span
        await pilot.press("equals_sign", "minus")
        await _quiet(app, pilot)
        assert strips.grid.span_us == span
        await pilot.press("0")
        await _quiet(app, pilot)
        assert (strips.grid.start_us, strips.grid.end_us) == full and not strips.zoomed
        await pilot.press("minus")  # never wider than everything
        await _quiet(app, pilot)
        assert (strips.grid.start_us, strips.grid.end_us) == full
        for _ in range(16):  # never narrower than a second (two hours / 2**13 is less)
            await pilot.press("plus")
        await _quiet(app, pilot)
        assert strips.grid.span_us >= 1_000_000 and strips.grid.sources == grid.sources

    run_strips(scenario)


def test_labels_extras_and_the_cap_note():
    grid = TimingGrid(sources=[1, 2], start_us=T0, end_us=T0 + HOUR, bins=10,
                      counts=np.array([[1] * 10, [0] * 5 + [3] * 5]))

    async def scenario(app, strips, pilot):
        with pytest.raises(ValueError):
            strips.show(grid, labels=["only one"])
        strips.show(grid, labels=["a\x1b[31m", "b"], extras=["12 dsts", "3 dsts"], extras_header="dsts",
                    note="capped: first 10 packets only")
        await pilot.pause()
        text = screen_text(app)
        assert "a\\x1b[31m" in text and "12 dsts" in text and "capped: first 10 packets only" in text
        await pilot.press("plus")  # no binner: zoom says why instead
        await pilot.pause()
        assert any("zoom is off" in n.message for n in app._notifications)

    run_strips(scenario, size=(100, 10))


# ---------------------------------------------------------------- the screens on the sample


def _candidate(app, predicate):
    return next(c for c in app.state.collab.candidates if predicate(c))


async def _back_to_the_area(app, pilot, depth: int) -> None:
    """Escape until the screen stack is *depth* deep again (the area the scenario began on)."""
    for _ in range(8):
        if len(app.screen_stack) <= depth:
            return
        await pilot.press("escape")
        await settle(app, pilot)
    raise AssertionError(f"still {len(app.screen_stack)} screens deep")


def test_sample_details_at_80x24(tui_cache, monkeypatch):
    """One app on the sample at 80x24 for four independent checks (one start instead of four): a candidate's
    parallel and sequential members, a group's timing plot without scrolling, a scanner's detail from the list,
    then (the labelling entry points replaced from there on) the labelling keys of the detail screens."""
    async def scenario(app, pilot):
        depth = len(app.screen_stack)
        for check in (_candidate_detail_shows_parallel_and_sequential_members,
                      _group_at_80x24_shows_its_timing_plot_without_scrolling_and_every_scan_counted,
                      _scanner_detail_from_the_list):
            await check(app, pilot)
            await _back_to_the_area(app, pilot, depth)
        await _labelling_keys_call_the_labelling_entry_points(app, pilot, monkeypatch)

    run_app(make_app([SAMPLE], tui_cache), scenario, size=(80, 24))


async def _candidate_detail_shows_parallel_and_sequential_members(app, pilot):
    sts = _candidate(app, lambda c: c.key.text == "80.82.77.0/24")
    app.open_candidate(sts)
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, CandidateDetailScreen)
    strips = screen.timing
    assert strips.row_count == 9 and app.focused is strips
    start, end = strips._layout()[1] // 10, strips._layout()[1] * 9 // 10
    rows = [_strip_part(strips, PINNED + i) for i in range(9)]
    assert all(" " not in row[start:end] for row in rows)  # all nine busy over the same span
    assert "port 3306" in screen_text(app) and "parallel" in screen_text(app)
    assert screen.query_one("#detail-split", FigurePanel).drawn
    await pilot.press("escape")
    await pilot.pause()
    assert not isinstance(app.screen, CandidateDetailScreen)

    cr01 = _candidate(app, lambda c: c.source_ips == ("71.6.232.6", "71.6.232.7"))
    app.open_candidate(cr01)
    await settle(app, pilot)
    strips = app.screen.timing
    assert strips.labels == ["71.6.232.6", "71.6.232.7"] or strips.labels == ["71.6.232.7", "71.6.232.6"]
    first, second = _strip_part(strips, PINNED), _strip_part(strips, PINNED + 1)
    half = len(first) // 2
    assert first[:half].strip() and not first[half + 2 :].strip()
    assert second[half + 2 :].strip() and not second[: half - 2].strip()
    text = screen_text(app)
    assert "sequential" in text and "50.0%" in text and "2,048" in text
    await pilot.press("plus")
    await settle(app, pilot)
    assert strips.zoomed and strips.row_count == 2
    await pilot.press("enter")  # the member under the cursor: its scanner detail
    await settle(app, pilot)
    assert isinstance(app.screen, ScannerDetailScreen) and app.screen.row.src == strips.grid.sources[0]
    await pilot.press("escape")
    await pilot.pause()
    assert app.screen.timing is strips
    assert "why" not in text.split()  # a plain cover has no reasons row

    n2 = _candidate(app, lambda c: c.port == 8000)  # the sample's double cover: its reasons in the facts
    app.open_candidate(n2)
    await settle(app, pilot)
    assert "why" in screen_text(app).split() and "2-fold cover of 4 sources" in screen_text(app)


def test_group_detail_scans_side_by_side_and_hundreds_of_sources(tui_cache):
    async def scenario(app, pilot):
        hur = next(g for g in app.state.groups if g.n_members >= 200)
        app.open_group(hur)
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GroupDetailScreen)
        cards = list(screen.query(ScanCard))
        assert len(cards) == hur.n_scans == 3 and cards[0].has_class("-selected")
        assert "more" in str(cards[0].render())  # strips drawn, the rest counted
        strips = screen.timing
        first = strips.row_count
        assert first == hur.sizes[0] > 150
        await pilot.press("end")
        await pilot.pause()
        assert strips.cursor_row == first - 1
        assert strips.labels[-1] in screen_text(app)
        await pilot.press("right")
        await settle(app, pilot)
        assert cards[1].has_class("-selected") and not cards[0].has_class("-selected")
        assert strips.row_count == hur.sizes[1] and "scan 2/3" in str(strips.border_title)
        await pilot.press("left", "left")
        await settle(app, pilot)
        assert screen.selected == 0 and strips.row_count == first
        assert screen.query_one("#detail-per-day", FigurePanel).drawn
        assert screen.query_one("#detail-ports", FigurePanel).drawn
        names = [name for name, _help, _cb in app.palette_commands(screen)]
        assert {"detail: zoom in", "detail: next scan", "detail: accept", "detail: label"} <= set(names)

    run_app(make_app([SAMPLE], tui_cache), scenario, size=(160, 48))


async def _group_at_80x24_shows_its_timing_plot_without_scrolling_and_every_scan_counted(app, pilot):
    """At 80x24 the timing plot was below two screens of cards, and the third card was cut off."""
    group = next(g for g in app.state.groups if g.n_scans >= 6)
    app.open_group(group)
    await settle(app, pilot)
    screen = app.screen
    assert screen.has_class("-compact-scans") and not screen.query_one("#detail-scans").display
    timing, body = screen.timing, screen.query_one("#detail-body")
    assert body.scroll_offset.y == 0
    assert timing.region.y + timing.region.height <= app.size.height - 1  # above the footer, whole
    assert timing.region.height >= 8 and timing.row_count == group.sizes[0]
    text = screen_text(app)
    assert "per-IP timing" in text and timing.labels[0] in text
    for step in range(group.n_scans):
        tabs = screen.query_one("#detail-scan-tabs", Static).render().plain
        shown = tabs.count("src")
        hidden = [int(n) for n in re.findall(r"◂(\d+)|(\d+)▸", tabs) for n in n if n]
        assert shown + sum(hidden) == group.n_scans  # whole scans drawn, the others counted
        assert len(tabs) <= screen.query_one("#detail-scan-tabs").content_region.width
        assert f"scan {step + 1}/{group.n_scans}" in str(timing.border_title)
        await pilot.press("right")
        await settle(app, pilot)


def test_scan_tabs_elide_whole_scans():
    nine = tuple(f"192.0.2.{k}" for k in range(1, 10))
    refs = [candidate(port=p, day="2024-02-05", sources=nine) for p in (3306, 27017, 9000, 3306, 27017, 9000)]
    for selected in range(6):
        for width in (20, 40, 76, 200):
            text = scan_tabs(refs, selected, width)
            line = text.plain
            assert f" {refs[selected].port} 02-05 9src " in line
            assert len(line) <= width or line.count("src") == 1
            hidden = sum(int(n) for pair in re.findall(r"◂(\d+)|(\d+)▸", line) for n in pair if n)
            assert line.count("src") + hidden == 6
            assert any("reverse" in str(span.style) for span in text.spans)


async def _scanner_detail_from_the_list(app, pilot):
    await pilot.press("2")
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ScannerDetailScreen)
    strips = screen.timing
    assert strips.labels[0] == "all ports" and strips.row_count >= 2
    assert all(panel.drawn for panel in screen.query(FigurePanel))
    assert "masscan" in screen_text(app) or "zmap" in screen_text(app)
    await pilot.press("question_mark")
    await settle(app, pilot)
    assert isinstance(app.screen, HelpScreen)
    described = {description for _group, _keys, description in app.screen.rows}
    assert {"Back", "Zoom", "Unzoom", "Earlier", "Later", "Whole range"} <= described
    assert "all ports summed" in str(app.screen.query_one("#help-notes", Static).render())
    await pilot.press("escape", "escape")
    await pilot.pause()
    assert not isinstance(app.screen, ScannerDetailScreen)


async def _labelling_keys_call_the_labelling_entry_points(app, pilot, monkeypatch):
    import scantui.tui.labelling as labelling

    calls = []
    monkeypatch.setattr(labelling, "label_dialog", lambda app, record: calls.append(("label", record.port)))
    monkeypatch.setattr(labelling, "set_verdict",
                        lambda app, record, verdict: calls.append((verdict, getattr(record, "group", None))))
    app.open_candidate(app.state.collab.candidates[0])
    await settle(app, pilot)
    await pilot.press("l", "a")
    assert calls == [("label", app.state.collab.candidates[0].port), ("collaborative", None)]
    assert isinstance(app.screen, CandidateDetailScreen)  # l labels here, it does not switch areas
    await pilot.press("escape")
    app.open_group(app.state.groups[0])
    await settle(app, pilot)
    await pilot.press("x", "n")
    group = app.state.groups[0].group
    assert calls[2:] == [("not_collaborative", group), ("unsure", group)]
    assert app.screen.review == ("new", [])  # shown in the facts panel


# ---------------------------------------------------------------- hostile text (tiny data)


def test_hostile_text_in_the_scanner_detail_renders_literally(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        frame = app.state.scanners.frame
        app.open_scanner(ScannerRow.from_row(frame.filter(pl.col("asn") == 64501).row(0, named=True)))
        await settle(app, pilot)
        text = screen_text(app)
        for hostile in (HOSTILE_AS_NAME, HOSTILE_HOSTNAME):
            assert hostile.replace("\x1b", "\\x1b").replace("\x07", "\\x07") in text
        for strip in screen_strips(app):
            for segment in strip:
                assert "\x1b" not in segment.text and "\x07" not in segment.text
                assert segment.style is None or not segment.style.link
        assert {"port 22", "port 23", "port 2222"} <= set(app.screen.timing.labels)

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(160, 48))


def test_a_failing_read_is_a_notification_and_escape_works(tiny_parquet, tui_cache, monkeypatch):
    import scantui.analysis.detail as detail

    def broken(*args, **kwargs):
        raise OSError("the disk went away")

    monkeypatch.setattr(detail, "timing_packets", broken)

    async def scenario(app, pilot):
        row = ScannerRow.from_row(app.state.scanners.frame.row(0, named=True))
        app.open_scanner(row)
        await pilot.press("escape")  # gone before its workers finish: their results are dropped
        app.open_scanner(row)
        await settle(app, pilot)
        assert any("the disk went away" in n.message and n.severity == "error" for n in app._notifications)
        assert "could not read the packets" in screen_text(app)
        assert app.screen.query_one("#detail-per-day", FigurePanel).drawn  # the rest of the screen still works
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ScannerDetailScreen)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_a_capped_read_says_so(tiny_parquet, tui_cache, monkeypatch):
    import scantui.tui.screens.detail_timing as detail_timing

    monkeypatch.setattr(detail_timing, "TIMING_CAP", 50)

    async def scenario(app, pilot):
        app.open_scanner(ScannerRow.from_row(app.state.scanners.frame.sort("packets", descending=True).row(0, named=True)))
        await settle(app, pilot)
        strips = app.screen.timing
        assert "capped: first 50 packets only" in strips.render_line(0).text
        assert sum(strips._row_counts[:1]) == 50  # the "all ports" row holds what was read

    run_app(make_app([tiny_parquet], tui_cache), scenario, size=(160, 48))


# ---------------------------------------------------------------- snapshots


@pytest.fixture
def ordered_plotext(monkeypatch):
    """plotext dedupes (tick, label) pairs through a ``set``: which of two close labels it draws, and where,
    depends on the string hash seed of the process. Keep their order, so a snapshot does not."""
    import plotext._utility as plotext_utility

    from scantui.plots.plotext_order import stable_tick_order

    monkeypatch.setattr(plotext_utility, "no_duplicates", plotext_utility.no_duplicates)  # restored after the test
    stable_tick_order()


def _opening(open_detail):
    async def run_before(pilot):
        app = pilot.app
        await settle(app, pilot)
        open_detail(app)
        await settle(app, pilot)
        app.clear_notifications()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_scanner_detail_snapshot(snap_compare, tiny_here, tui_cache, size, ordered_plotext):
    def open_detail(app):
        app.open_scanner(ScannerRow.from_row(app.state.scanners.frame.filter(pl.col("asn") == 64500).sort("src").row(0, named=True)))

    assert snap_compare(make_app([tiny_here], tui_cache), terminal_size=size, run_before=_opening(open_detail))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_candidate_detail_snapshot(snap_compare, tui_cache, size, ordered_plotext):
    def open_detail(app):
        app.open_candidate(_candidate(app, lambda c: c.source_ips == ("71.6.232.6", "71.6.232.7")))

    assert snap_compare(make_app([SAMPLE], tui_cache), terminal_size=size, run_before=_opening(open_detail))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_group_detail_snapshot(snap_compare, tui_cache, size, ordered_plotext):
    def open_detail(app):
        app.open_group(next(g for g in app.state.groups if "80.82.77.130" in g.member_ips))

    assert snap_compare(make_app([SAMPLE], tui_cache), terminal_size=size, run_before=_opening(open_detail))


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "nord", "gruvbox"])
def test_in_16_colours_the_blurred_timing_cursor_row_stands_out(theme):
    """The timing plot's unfocused cursor row, as a 16-colour terminal draws it, differs from the other rows
    and from the focused cursor (the table had the same defect: its tints all came out as one grey)."""
    from rich.color import ColorSystem

    def shown(style):
        fg, bg = (c.downgrade(ColorSystem.STANDARD).number if c else None for c in (style.color, style.bgcolor))
        return (bg, fg) if style.reverse else (fg, bg)

    async def main():
        app = StripsApp()
        app.console._color_system = ColorSystem.STANDARD  # what Rich picks for TERM=xterm without COLORTERM
        async with app.run_test(size=(60, 12)) as pilot:
            app.theme = theme
            strips = app.query_one(TimingStrips)
            strips.blur()
            await pilot.pause()
            base = strips.rich_style
            row = shown(base + strips.get_component_rich_style("timing-strips--label"))
            cursor = shown(base + strips.get_component_rich_style("timing-strips--cursor"))
            assert cursor[1] != row[1] or cursor[0] != row[0], (cursor, row)
            assert cursor[1] != shown(base)[1] or cursor[0] != shown(base)[0]
            strips.focus()
            await pilot.pause()
            focused = shown(base + strips.get_component_rich_style("timing-strips--cursor"))
            assert focused != cursor and focused != row

    asyncio.run(main())


def test_scanner_detail_shows_the_zmap_walk(tmp_path, tui_cache):
    """A simulated ZMap 4.1 scan (random IP-ID: tool ``other``) opened with ``--telescope``: the tools
    panel adds the walk test's line with the scan's generator; a random-order source gets none."""
    from pcapbuild import write_pcap
    from zmapbuild import zmap41_records

    from scantui.sample import zmap_walk as zw

    scan = zw.Scan.from_words(0x5EED, 0xF00D, zw.Allowed(), threads=2)
    ts, dst, _ = zw.probes(scan, rate=40_000.0, keep=zw.cidr_addresses("44.1.0.0/16"), limit=1_000_000, seed=1)
    zmap_src, other_src = 0x50000001, 0x50000002
    rng = np.random.default_rng(4)
    records = zmap41_records(zmap_src, ts, dst, 443, 1) + zmap41_records(
        other_src, np.sort(rng.uniform(0, 60, 40)), 0x2C010000 + rng.integers(0, 65536, 40), 443, 2)
    path = write_pcap(tmp_path / "zmap41.pcap", sorted(records, key=lambda r: r.ts))

    async def scenario(app, pilot):
        for src, expected in ((zmap_src, f"zmap (walk) g={scan.generator}"), (other_src, None)):
            app.open_scanner(ScannerRow.from_row(app.state.scanners.frame.filter(pl.col("src") == src).row(0, named=True)))
            await settle(app, pilot)
            text = screen_text(app)
            assert "other" in text
            assert (expected in text) if expected else ("zmap (walk)" not in text)
            await pilot.press("escape")
            await settle(app, pilot)

    run_app(make_app([path], tui_cache, telescope_cidrs_text="44.1.0.0/16"), scenario, size=(160, 48))
