"""The packets view (issue 14): ``p`` from each entry point, the field filter, ``f``, the dissection, ``ctrl+s``.

Pilot tests on the tiny data (Parquet: frames synthesized from the fields) and on a
small real capture (tests/pcapbuild.py: its packets' own bytes, a hostile payload);
each compares what the screen holds with a polars count of the same packets. The
lazy scapy import is checked in a fresh interpreter (other tests import scapy).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from textual.widgets import Input

from collabbuild import candidate, group
from pcapbuild import Rec, ether, ipv4, tcp, write_pcap
from tuihelp import make_app, run_app, screen_text, settle, snapshot_ready, tiny_frame
from scantui.tui.screens.packets import PacketsScreen
from scantui.tui.screens.packets_dissect import DissectionScreen
from scantui.tui.screens.packets_freq import FrequencyScreen
from scantui.tui.screens.packets_view import PacketsView, filter_term, flags_text
from scantui.tui.widgets.paged_table import PAGE_ROWS, PagedTable

SRC_10 = (192 << 24) | (2 << 8) | 10  # 192.0.2.10: 512 probes on 443 and 80 over 4 days
SRC_5 = (203 << 24) | (113 << 8) | 5  # 203.0.113.5: 40 ports x 3 probes
HOSTILE = b"[bold red]evil\x1b[31m\x07"


def _ip(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


async def _packets(app, pilot) -> PacketsScreen:
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, PacketsScreen), type(screen).__name__
    return screen


def _shown(screen: PacketsScreen) -> pl.DataFrame:
    """Every packet the screen's selection holds (what paging through it would show)."""
    return screen.lf.collect()


def _key(df: pl.DataFrame) -> list[tuple]:
    return sorted(df.select("ts", "src", "dst", "sport", "dport").iter_rows())


# ------------------------------------------------------------ entry points


def test_scanner_row_opens_its_packets_in_time_order(tiny_parquet, tui_cache):
    """``p`` on the scanner list: the cursor row's source, every packet, time-ordered, the count in the title."""

    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        row = app.screen.table.selected_row
        await pilot.press("p")
        screen = await _packets(app, pilot)
        want = tiny_frame().filter(pl.col("src") == row["src"])
        got = _shown(screen)
        assert _key(got) == _key(want)
        assert got["ts"].is_sorted()
        assert screen.table.row_count == want.height == screen.total
        assert f"{want.height:,} rows" in str(screen.title)
        text = screen_text(app)
        assert "time (UTC)" in text and "dport" in text
        first = want.sort("ts").row(0, named=True)
        assert first["ts"].strftime("%Y-%m-%d %H:%M:%S") in text

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_scanner_detail_p_and_timing_row_P(tiny_parquet, tui_cache):
    """The scanner detail: ``p`` its source; ``P`` on the timing plot's port row: that source on that port."""

    async def scenario(app, pilot):
        state = app.state
        app.open_scanner(state.scanners.row(SRC_10))
        await settle(app, pilot)
        await pilot.press("p")
        screen = await _packets(app, pilot)
        assert screen.table.row_count == tiny_frame().filter(pl.col("src") == SRC_10).height
        await pilot.press("escape")
        await settle(app, pilot)
        timing = app.screen.timing
        keys = [int(k) for k in timing.grid.sources]
        timing.move_cursor(keys.index(80))
        await pilot.press("P")
        screen = await _packets(app, pilot)
        want = tiny_frame().filter((pl.col("src") == SRC_10) & (pl.col("dport") == 80))
        assert _key(_shown(screen)) == _key(want)
        assert "port 80" in str(screen.title)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def _scan():
    """A candidate scan of the tiny data's two research sources on 443, its span cutting both."""
    start = dt.datetime(2024, 3, 1, 1, 0, 30, tzinfo=dt.timezone.utc)
    end = dt.datetime(2024, 3, 1, 2, 0, 10, tzinfo=dt.timezone.utc)
    return candidate(port=443, day="2024-03-01", sources=("192.0.2.10", "192.0.2.11"),
                     start_us=int(start.timestamp() * 1e6), end_us=int(end.timestamp() * 1e6)), start, end


def test_candidate_scan_and_group_scan_open_their_sources_port_and_span(tiny_parquet, tui_cache):
    """A candidate scan's detail ``p``, a suggested group's ``p`` (its selected scan): the scan's sources on its
    port within its span (both ends included)."""
    scan, start, end = _scan()
    want = tiny_frame().filter(pl.col("src").is_in(list(scan.sources)) & (pl.col("dport") == 443)
                               & pl.col("ts").is_between(start, end))

    async def scenario(app, pilot):
        app.open_candidate(scan)
        await settle(app, pilot)
        await pilot.press("p")
        screen = await _packets(app, pilot)
        assert 0 < want.height < tiny_frame().filter(pl.col("src").is_in(list(scan.sources))).height
        assert _key(_shown(screen)) == _key(want)
        assert "port 443" in str(screen.title) and "2024-03-01" in str(screen.title)
        await pilot.press("escape")
        await settle(app, pilot)
        timing = app.screen.timing  # P: the plot's row (a member) in the scan's span, then in the zoomed window
        member = int(timing.grid.sources[timing.cursor_row])
        await pilot.press("P")
        screen = await _packets(app, pilot)
        assert _key(_shown(screen)) == _key(want.filter(pl.col("src") == member))
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("plus", "plus")
        await settle(app, pilot)
        window = app.screen.timing.view_range
        assert app.screen.timing.zoomed
        lo, hi = (dt.datetime.fromtimestamp(t / 1e6, dt.timezone.utc) for t in window)
        await pilot.press("P")
        screen = await _packets(app, pilot)
        assert (screen.view.start_us, screen.view.end_us + 1) == window
        zoomed = tiny_frame().filter((pl.col("src") == member) & (pl.col("dport") == 443) & (pl.col("ts") >= lo)
                                     & (pl.col("ts") < hi))
        assert _key(_shown(screen)) == _key(zoomed)
        await pilot.press("escape", "escape")
        app.open_group(group([scan], group_id="S07"))
        await settle(app, pilot)
        await pilot.press("p")
        screen = await _packets(app, pilot)
        assert _key(_shown(screen)) == _key(want)
        assert "group S07" in str(screen.title)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_labelled_group_and_its_track_open_its_packets(tiny_parquet, tui_cache, tmp_path):
    """``p`` on the labels list and on the track screen: a group's members (a CIDR) on its recorded scans' port
    and day."""
    labels = tmp_path / "labels.yaml"
    labels.write_text("scantui_labels: 1\ngroups:\n  - id: G1\n    verdict: collaborative\n"
                      "    members: [192.0.2.10/31]\n"
                      "    scans:\n      - {port: 443, day: 2024-03-01, sources: [192.0.2.10, 192.0.2.11]}\n")
    want = tiny_frame().filter(pl.col("src").is_between(SRC_10, SRC_10 + 1) & (pl.col("dport") == 443)
                               & (pl.col("ts").dt.date() == dt.date(2024, 3, 1)))

    async def scenario(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        await pilot.press("p")
        screen = await _packets(app, pilot)
        assert want.height > 0 and _key(_shown(screen)) == _key(want)
        assert "group G1" in str(screen.title)
        await pilot.press("escape")
        await settle(app, pilot)
        app.open_track("G1")
        await settle(app, pilot)
        await pilot.press("p")
        screen = await _packets(app, pilot)
        assert _key(_shown(screen)) == _key(want)

    run_app(make_app([tiny_parquet], tui_cache, labels_path=labels), scenario)


def test_view_of_a_labelled_group_with_cidr_members():
    """A labelled group's members: addresses and CIDRs; its recorded scans' ports and days."""
    from scantui.labels.model import Group, Scan

    group = Group(id="g1", members=("192.0.2.10", "198.51.100.0/24"), scans=(Scan(443, dt.date(2024, 3, 1)),))
    view = PacketsView.of_labelled(group)
    assert view.srcs == (SRC_10,)
    assert view.nets == ((_ip("198.51.100.0"), _ip("198.51.100.255")),)
    assert view.ports == (443,) and view.days == (dt.date(2024, 3, 1),)
    sel = view.selection()
    assert sel.nets == view.nets and sel.ports == (443,)
    assert "group g1" in view.what()


def test_timing_window_is_inclusive_of_its_last_packet():
    view = PacketsView.of_sources([1], port=22, window=(1_000_000, 2_000_000))
    sel = view.selection()
    assert sel.since == dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.timezone.utc)
    assert sel.until == dt.datetime(1970, 1, 1, 0, 0, 2, tzinfo=dt.timezone.utc)  # exclusive: 1.999999 s kept


def test_a_time_range_to_the_calendars_end_selects_to_its_last_microsecond():
    sel = PacketsView.of_sources([1], port=22).selection((dt.date.min, dt.date.max))  # the day after overflowed
    assert sel.since == dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
    assert sel.until == dt.datetime.max.replace(tzinfo=dt.timezone.utc)


# ------------------------------------------------------------ the field filter and the frequency table

def test_help_lists_the_packets_keys_and_the_filter_keys(tiny_parquet, tui_cache):
    from scantui.tui.screens.help import HelpScreen, key_rows

    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        assert any(d == "Packets" for _g, _k, d in key_rows(app.screen))
        await pilot.press("p")
        screen = await _packets(app, pilot)
        rows = {d: k for _g, k, d in key_rows(screen)}
        assert rows["Frequency"] == "f" and rows["Filter"] == "/" and "s" in rows["Export"]
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "flags:+S" in str(app.screen.for_screen.HELP)  # the field filter's keys, written once below

    run_app(make_app([tiny_parquet], tui_cache), scenario)





def test_filter_narrows_rows_and_a_bad_term_is_named(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        app.open_packets(PacketsView.of_sources([SRC_10, SRC_5]))
        screen = await _packets(app, pilot)
        both = tiny_frame().filter(pl.col("src").is_in([SRC_10, SRC_5]))
        assert screen.table.row_count == both.height
        await pilot.press("slash", *"dport:8000-8009", "enter")
        await settle(app, pilot)
        want = both.filter(pl.col("dport").is_between(8000, 8009))
        assert 0 < want.height < both.height
        assert screen.table.row_count == want.height
        assert _key(_shown(screen)) == _key(want)
        assert f"{want.height:,} rows" in str(screen.title)
        await pilot.press("slash", "ctrl+u")
        await pilot.pause(0.5)  # the filter runs after a pause in the typing
        await settle(app, pilot)
        assert screen.table.row_count == both.height
        field = screen.query_one("#filter", Input)
        field.value = "bogus:1"
        await pilot.press("enter")
        await settle(app, pilot)
        assert field.has_class("-invalid")
        assert "bogus" in screen.query_one("#packets-status").render().plain
        assert any("bogus" in n.message for n in app._notifications)
        assert screen.table.row_count == both.height  # the last good filter stays

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_frequency_counts_match_polars_and_enter_filters(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        app.open_packets(PacketsView.of_sources([SRC_5]))
        screen = await _packets(app, pilot)
        table = screen.query_one(PagedTable)
        table.move_column([c.key for c in table.columns].index("dport"))
        await pilot.press("f")
        await settle(app, pilot)
        freq = app.screen
        assert isinstance(freq, FrequencyScreen)
        want = tiny_frame().filter(pl.col("src") == SRC_5).group_by("dport").len()
        got = {int(v): int(c) for v, c in freq.counts.select("value", "count").iter_rows()}
        assert got == dict(want.iter_rows())
        value = freq.table.selected_row["value"]
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is screen
        assert f"dport:{value}" in screen.query_one("#filter", Input).value
        assert screen.table.row_count == got[int(value)]

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_filter_terms_of_frequency_values():
    assert filter_term("tcp_flags", "SA") == "flags:SA"
    assert filter_term("src", "192.0.2.10") == "src:192.0.2.10"
    assert filter_term("ip_id", "54321") == "ipid:54321"
    assert filter_term("sensor", "east 1") == 'sensor:"east 1"'
    assert filter_term("ts", "2024-03-01T00:00:00Z") is None
    assert filter_term("sensor", "a\x1b[31m") is None and filter_term("sensor", "a\\x1b[31m") is None
    assert flags_text(18) == "SA" and flags_text(0) == "none"


# ------------------------------------------------------------ dissection and export (a real capture)


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    """A small capture: 300 SYNs from two sources (one with a hostile payload) to port 23."""
    folder = tmp_path_factory.mktemp("pkcap")
    records = []
    for k in range(300):
        src = 0x0A000001 + k % 2
        payload = HOSTILE if src == 0x0A000002 else b""
        data = ether(ipv4(src=src, dst=0xC6120000 + k % 256, ip_id=4000 + k, ttl=50 + k % 2,
                          payload=tcp(sport=40000 + k, dport=23, seq=1000 + k, flags=2, window=1024) + payload))
        records.append(Rec(data, ts=1_700_000_000.0 + k))
    return write_pcap(folder / "small.pcap", records)


def test_dissection_shows_the_packets_values_and_escapes_a_hostile_payload(capture, tui_cache):
    async def scenario(app, pilot):
        app.open_packets(PacketsView.of_sources([0x0A000002]))
        screen = await _packets(app, pilot)
        assert screen.table.row_count == 150
        row = screen.table.selected_row
        await pilot.press("enter")
        await settle(app, pilot)
        dis = app.screen
        assert isinstance(dis, DissectionScreen)
        layers = {layer.name: dict(layer.fields) for layer in dis.dissection.layers}
        assert {"IP", "TCP"} <= set(layers)
        assert layers["IP"]["src"] == "10.0.0.2" and layers["IP"]["ttl"] == str(row["ttl"])
        assert layers["IP"]["id"] == str(row["ip_id"])
        assert layers["TCP"]["sport"] == str(row["sport"]) and layers["TCP"]["seq"] == str(row["tcp_seq"])
        text = screen_text(app)
        assert "TCP" in text and "10.0.0.2" in text
        assert "\x1b" not in text and "\x07" not in text
        assert dis.dissection.from_capture and "Raw" in layers  # the record's own bytes, payload included
        assert "[bold red]" in text  # the payload as data in the hex view's ASCII column, never markup
        assert HOSTILE.hex() in "".join(layers["Raw"].values())

    run_app(make_app([capture], tui_cache), scenario, size=(160, 48))


@pytest.mark.parametrize("suffix", [".pcap", ".csv", ".parquet"])
def test_export_of_the_filtered_packets_rereads_the_same(capture, tui_cache, tmp_path, suffix):
    from scantui.io.loader import open_inputs

    out = tmp_path / f"out{suffix}"

    async def scenario(app, pilot):
        app.open_packets(PacketsView.of_sources([0x0A000001, 0x0A000002]))
        screen = await _packets(app, pilot)
        await pilot.press("slash", *"ttl:50", "enter")
        await settle(app, pilot)
        assert screen.table.row_count == 150
        want = _shown(screen)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        field = app.screen.query_one("#prompt-path", Input)
        field.value = str(out)
        await pilot.press("enter")
        await settle(app, pilot)
        assert out.exists(), [n.message for n in app._notifications]
        assert any("wrote 150" in n.message for n in app._notifications)
        if suffix == ".pcap":
            back = open_inputs([out]).lf.collect()
        elif suffix == ".csv":
            back = pl.read_csv(out)
            assert back.height == 150 and sorted(back["ip_id"].to_list()) == sorted(want["ip_id"].to_list())
            return
        else:
            back = pl.read_parquet(out)
        assert _key(back) == _key(want)

    run_app(make_app([capture], tui_cache), scenario)


def test_bad_export_path_stays_in_the_prompt(tiny_parquet, tui_cache, tmp_path):
    async def scenario(app, pilot):
        app.open_packets(PacketsView.of_sources([SRC_5]))
        await _packets(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        app.screen.query_one("#prompt-path", Input).value = str(tmp_path / "x.doc")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "unknown format .doc" in screen_text(app)
        assert not (tmp_path / "x.doc").exists()
        app.screen.query_one("#prompt-path", Input).value = str(tmp_path / "missing" / "x.pcap")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PacketsScreen)  # the error is a notification; the screen stays
        assert any(n.title == "export failed" for n in app._notifications)
        assert not (tmp_path / "missing").exists()

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_hostile_sensor_text_is_shown_as_data(tmp_path, tui_cache):
    """A sensor name with markup and terminal escapes: in the table and the frequency table, plain escaped text."""
    hostile = "[bold red]east\x1b[31m\x07"
    frame = tiny_frame().with_columns(pl.lit(hostile).alias("sensor"))
    path = tmp_path / "sensor.parquet"
    frame.write_parquet(path)

    async def scenario(app, pilot):
        app.open_packets(PacketsView.of_sources([SRC_5]))
        screen = await _packets(app, pilot)
        table = screen.table
        assert table.columns[-1].key == "sensor"
        table.move_column(len(table.columns) - 1)
        await pilot.pause()
        text = screen_text(app)
        assert "[bold red]east\\" in text and "\x1b" not in text and "\x07" not in text  # ESC shown as \x1b
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FrequencyScreen)
        text = screen_text(app)
        assert "[bold red]east\\x1b[31m\\x07" in text and "\x1b" not in text
        assert "sensor: 1 value ─" in text  # one value, not "1 values"
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is screen and "\x1b" not in screen.query_one("#filter", Input).value
        assert any("no filter term" in n.message for n in app._notifications)  # never typed into the bar
        assert screen.table.row_count == frame.filter(pl.col("src") == SRC_5).height

    run_app(make_app([path], tui_cache), scenario, size=(160, 48))


# ------------------------------------------------------------ paging, laziness


def test_pages_are_read_as_they_are_shown(tmp_path, tui_cache):
    """More rows than a page: the first page, then the count, then later pages only when scrolled to."""
    n = PAGE_ROWS * 6
    start = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
    frame = tiny_frame().head(1).select(pl.exclude("ts")).join(
        pl.DataFrame({"ts": [start + dt.timedelta(milliseconds=k) for k in range(n)]}).with_columns(
            pl.col("ts").dt.cast_time_unit("us")), how="cross").select(tiny_frame().columns)
    frame = frame.with_columns(pl.int_range(0, n).cast(pl.UInt16).alias("ip_id"))
    path = tmp_path / "many.parquet"
    frame.write_parquet(path)
    src = int(frame["src"][0])

    async def scenario(app, pilot):
        app.open_packets(PacketsView.of_sources([src]))
        screen = await _packets(app, pilot)
        table = screen.table
        assert table.row_count == n and table.total_known
        assert sorted(table.pages.keys()) == [0]
        await pilot.press("G")
        await settle(app, pilot)
        assert table.selected_row["ip_id"] == n - 1
        assert 5 in table.pages.keys() and len(table.pages.keys()) <= 3

    run_app(make_app([path], tui_cache), scenario)


def test_scapy_is_imported_with_the_first_packet_opened(tiny_parquet, tmp_path):
    """Start the app and open the scanners: no scapy; open a packet: scapy (in a fresh interpreter)."""
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = {[str(Path(__file__).parent), str(Path(__file__).parents[1])]!r}
        from pathlib import Path
        from tuihelp import make_app, run_app, settle
        seen = []
        async def scenario(app, pilot):
            await pilot.press("2"); await settle(app, pilot)
            seen.append("scapy" in sys.modules)
            await pilot.press("p"); await settle(app, pilot)
            seen.append("scapy" in sys.modules)
            await pilot.press("enter"); await settle(app, pilot)
            seen.append(type(app.screen).__name__)
            seen.append("scapy" in sys.modules)
        run_app(make_app([{str(tiny_parquet)!r}], Path({str(tmp_path / "cache")!r})), scenario)
        print(seen)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[False, False, 'DissectionScreen', True]"


# ------------------------------------------------------------ snapshots


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", ["packets", "dissection"])
def test_snapshots(snap_compare, tiny_here, tui_cache, size, view):
    """The packets of the scanner list's first row (filtered), and its first packet's dissection."""
    keys = ["2", "p", "slash", *"dport:443", "enter", "right", "right"] + (["enter"] if view == "dissection" else [])

    async def run_before(pilot):
        await snapshot_ready(pilot, keys)

    assert snap_compare(make_app([tiny_here], tui_cache), terminal_size=size, run_before=run_before)


def test_the_apps_time_range_limits_the_packets_view(tiny_parquet, tui_cache):
    """The App's time range (issue 14 part 3) applies to the packets view too: opened inside a range it reads
    only those days, and setting or clearing the range while it is open reads again."""
    src = SRC_10
    days = sorted(tiny_frame().filter(pl.col("src") == src)["ts"].dt.date().unique().to_list())
    one = days[1]

    async def scenario(app, pilot):
        await settle(app, pilot)
        app.set_time_range((one, one))
        await settle(app, pilot)
        app.open_packets(PacketsView.of_sources([src]))
        screen = await _packets(app, pilot)
        want = tiny_frame().filter((pl.col("src") == src) & (pl.col("ts").dt.date() == one))
        assert 0 < want.height
        assert _key(_shown(screen)) == _key(want)
        assert screen.total == want.height
        assert f"days {one}..{one}" in str(screen.title)
        app.action_clear_time_range()
        await settle(app, pilot)
        await settle(app, pilot)
        every = tiny_frame().filter(pl.col("src") == src)
        assert screen.total == every.height > want.height

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_space_marks_packets_sources_and_l_labels_them_ctrl_s_exports_theirs(tiny_parquet, tui_cache, tmp_path):
    """Multi-select in the packets view (issue 14 part 5): ``space`` marks a packet's source (every packet of it
    shows the mark), ``ctrl+s`` then writes only the marked sources' packets, ``l`` labels them (YAML on disk)."""
    import ipaddress

    from scantui.labels import LabelsStore
    from scantui.tui.screens.prompt import PromptScreen

    labels = tmp_path / "labels.yaml"
    app = make_app([tiny_parquet], tui_cache, labels_path=labels)
    out = tmp_path / "marked.parquet"

    async def scenario(app, pilot):
        await settle(app, pilot)
        app.open_packets(PacketsView.of_sources([SRC_10, SRC_5]))
        screen = await _packets(app, pilot)
        table = screen.table
        first = table.selected_row["src"]
        await pilot.press("space")
        await settle(app, pilot)
        assert table.marks == {first}
        assert "1 source marked" in screen_text(app)
        same = [i for i in range(min(table.row_count, 40)) if (table.loaded_row(i) or {}).get("src") == first]
        assert same and all(table.is_marked(i) for i in same)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = str(out)
        await pilot.press("enter")
        for _ in range(20):
            await settle(app, pilot)
            if out.exists():
                break
        got = pl.read_parquet(out)
        want = tiny_frame().filter(pl.col("src") == first)
        assert got.height == want.height and set(got["src"].to_list()) == {first}
        await pilot.press("l")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        (group,) = LabelsStore.load(labels, must_exist=True).groups
        assert list(group.members) == [str(ipaddress.IPv4Address(first))]
        assert table.marks == set()

    run_app(app, scenario)


def test_column_picker_in_the_packets_view_hides_a_column_and_keeps_the_rows(tiny_parquet, tui_cache, tmp_path,
                                                                            monkeypatch):
    """``c`` in the packets view (a wide table at 80x24, issue 14 part 7): a hidden column goes, the rows stay,
    and the choice is remembered for the next packets view (the config file)."""
    from scantui.tui.screens.column_picker import ColumnPickerScreen

    config = tmp_path / "config.yaml"
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))
    hidden = None

    async def scenario(app, pilot):
        nonlocal hidden
        await settle(app, pilot)
        app.open_packets(PacketsView.of_sources([SRC_10]))
        screen = await _packets(app, pilot)
        table = screen.table
        rows = table.row_count
        before = [c.key for c in table.columns]
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, ColumnPickerScreen)
        await pilot.press("space", "enter")  # the first column the picker lets go
        await settle(app, pilot)
        after = [c.key for c in table.columns]
        (hidden,) = set(before) - set(after)
        assert table.row_count == rows and table.virtual_size.height == rows + 1
        assert table.selected_row is not None
        assert hidden in config.read_text()

    run_app(make_app([tiny_parquet], tui_cache), scenario)

    async def again(app, pilot):
        await settle(app, pilot)
        app.open_packets(PacketsView.of_sources([SRC_10]))
        screen = await _packets(app, pilot)
        assert hidden not in [c.key for c in screen.table.columns]

    run_app(make_app([tiny_parquet], tui_cache), again)


def test_help_lists_no_key_the_packets_table_refuses(tiny_parquet, tui_cache):
    """The help listed ``s r < >`` (sort) and ``*`` (mark all) on the packets screen, where the rows stay in time
    order and every row is never in memory: each only says so. The help lists only keys that work there."""
    from scantui.tui.screens.help import key_rows

    async def scenario(app, pilot):
        app.open_packets(PacketsView.of_sources([SRC_10, SRC_5]))
        screen = await _packets(app, pilot)
        rows = key_rows(screen)
        keys = {k for _g, ks, _d in rows for k in ks.split()}
        descriptions = {d for _g, _k, d in rows}
        assert not keys & {"s", "r", "<", ">", "*"}, rows
        assert not descriptions & {"Sort", "Reverse", "Sort by previous column", "Sort by next column", "Mark all shown"}
        assert {"Mark row", "Frequency", "Filter", "Export"} <= descriptions  # what works is still there
        await pilot.press("s")  # the key still answers, with why
        await settle(app, pilot)
        assert any("stay in their order" in str(n.message) for n in app._notifications)

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_slash_filters_the_screen_shown_or_says_it_has_none(tiny_parquet, tui_cache):
    """``/`` on a scanner's detail left it for the scanner list's query bar: a pushed screen with a filter (the
    packets) focuses its own; one without (a detail, a packet's dissection) stays and says so."""
    from scantui.tui.screens.detail import ScannerDetailScreen

    def said(app, text):
        return any(text in str(n.message) for n in app._notifications)

    async def scenario(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        detail = app.screen
        assert isinstance(detail, ScannerDetailScreen)
        await pilot.press("slash")
        await settle(app, pilot)
        assert app.screen is detail and said(app, "no filter on this screen")
        await pilot.press("p")
        screen = await _packets(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        assert app.screen is screen and app.focused is screen.query_one("#filter", Input)
        await pilot.press(*"dport:443", "enter")
        await settle(app, pilot)
        assert screen.table.row_count > 0 and set(_shown(screen)["dport"].to_list()) == {443}
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DissectionScreen)
        app._notifications.clear()
        await pilot.press("slash")
        await settle(app, pilot)
        assert isinstance(app.screen, DissectionScreen) and said(app, "no filter on this screen")

    run_app(make_app([tiny_parquet], tui_cache), scenario)


def test_the_filter_placeholder_and_a_bad_key_fit_80_columns(tiny_parquet, tui_cache):
    async def scenario(app, pilot):
        app.open_packets(PacketsView.of_sources([SRC_5]))
        screen = await _packets(app, pilot)
        lines = screen_text(app).splitlines()
        assert any("field filter, e.g." in line and line.rstrip().endswith("(? for all)") for line in lines), lines[:3]
        field = screen.query_one("#filter", Input)
        field.value = "bogus:1"
        field.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        status = screen.query_one("#packets-status").render().plain.strip()
        assert "unknown key 'bogus'" in status and "?" in status  # short, and says where the keys are
        assert any(line.strip() == status for line in screen_text(app).splitlines())  # drawn whole, not cut
        said = [n.message for n in app._notifications if "bogus" in n.message]
        assert said and "one of: ack" in said[-1] and "ttl" in said[-1]  # the notification has the whole list

    run_app(make_app([tiny_parquet], tui_cache), scenario)
