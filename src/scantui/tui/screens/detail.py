"""Detail of a scanner, a candidate scan or a suggested group: facts, the per-IP timing plot, figures.

Pushed by :meth:`ScantuiApp.open_scanner` (a :class:`~scantui.analysis.scanner_row.ScannerRow`),
``open_candidate`` (a :class:`~scantui.analysis.collab_types.CandidateScan`) and ``open_group``
(a :class:`~scantui.analysis.collab_types.SuggestedGroup`, holding its scans). Each screen
shows its facts at once (from the typed fields, text escaped), then fills its figures
from thread workers, through the state's :class:`~scantui.workspace.Workspace`
(memoized): volumes, ports and tools from the rollup's ``port_day``
(:mod:`scantui.analysis.detail`), the packets of the timing plot read lazily
with the sources, port and time range pushed down (capped, and the cap shown).

* **Scanner**: one timing row per destination port (all ports on top, then the
  top ports by packets, then the rest summed), so a scanner that works port by
  port shows a staircase and one that sprays every port shows full rows;
  packets per day, scans per port (256 bins, marks at 1024 and 49152), tools.
* **Candidate**: the scan's facts and review state, one timing row per member
  on the scan's port over its span plus a margin, each member's destinations
  and share at the row end, and the split (each member's share of the telescope).
* **Group**: the group's facts and review state, its scans side by side (a card
  each: port, day, hours, timing, its first members' strips; below
  :data:`COMPACT_BELOW` rows, one line of scans instead, so the timing plot is on
  the first page); ``left``/``right`` picks a scan and its full timing plot shows
  below; packets per day and ports of the members.
* **Time range** (``app.time_range``, ``t``/``T``): the scanner's timing plot reads only the range's packets
  (first day 00:00 UTC to the day after the last), its figures and tools only its days
  (``Workspace.detail(days=)``), and its facts are recounted when the row was counted for other days; a
  group leaves out its scans outside the range (said how many; all shown, said so, when none is in it), its
  facts say what is in the range beside what the group holds, its pool summary sums the scans shown, and it
  shows its members' figures of those days. Each watches the range and reads again when it changes; titles
  name the days. A candidate scan's detail is its own span, whatever the range.
* **Pools**: a candidate or group of :data:`~scantui.analysis.pool_summary.POOL_MIN_SOURCES` sources or
  more gets a summary above its strips (:mod:`~scantui.tui.screens.detail_pool`, :mod:`~scantui.tui.widgets.pool`).

Keys: ``escape`` back, ``?`` all keys, ``m`` similar sources (scanner); on the timing plot ``+``/``-`` zoom,
``[``/``]`` pan, ``0`` whole range, ``enter`` opens the source under the cursor
(candidate and group). On a candidate or group ``l`` labels, ``a`` accepts,
``x`` rejects, ``n`` marks unsure (:mod:`scantui.tui.labelling`).

The parts they share: the facts panels (:mod:`~scantui.tui.screens.detail_facts`),
the timing plots' data (:mod:`~scantui.tui.screens.detail_timing`), the screen
itself (:mod:`~scantui.tui.screens.detail_base`) and the review keys
(:mod:`~scantui.tui.screens.detail_review`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, HorizontalScroll
from textual.widgets import Static
from textual.worker import get_current_worker

from scantui.safetext import SHOWN_CHARS, safe_line
from scantui.tui.app_views import range_text
from scantui.tui.columns import ip_text
from scantui.tui.screens.detail_base import FACTS_HEIGHT, FIGURES_HEIGHT, TIMING_WHAT, DetailScreen, timing_panel
from scantui.tui.screens.detail_facts import candidate_facts, group_facts, scanner_facts, source_note_facts
from scantui.tui.screens.detail_pool import POOL_HELP, PoolMixin, group_pool, scan_pool
from scantui.tui.screens.detail_review import ReviewMixin
from scantui.tui.screens.detail_timing import (TOP_PORT_ROWS, TimingData, cap_note, port_row_label, port_rows_binner,
                                               scan_timing, timing_cap)
from scantui.tui.widgets.figures import CARD_ROWS, FigurePanel, ScanCard, facts_table, scan_tabs, tools_table

if TYPE_CHECKING:
    from scantui.workspace import Workspace

    from scantui.tui.app_views import TimeRange

    from scantui.analysis.collab_types import CandidateScan, SuggestedGroup
    from scantui.analysis.scanner_row import ScannerRow

MAX_CARDS = 60  # scans of a group drawn as cards
CARD_WIDTH = 24
CARDS_HEIGHT = 11
TABS_HEIGHT = 3  # the one line of scans (and its border) of a group on a short screen
COMPACT_BELOW = 40  # screen rows under which a group's scans are one line, not cards


def name_days(screen: DetailScreen, days: TimeRange | None) -> None:
    """The per-day and per-port figures of *screen* cover *days* (the App's time range; None: every day): their
    titles say so."""
    for panel in screen.query(FigurePanel):
        panel.name_days(range_text(days))


class ScannerDetailScreen(DetailScreen):
    """One scanner: facts, activity per port over time, packets per day, scans per port, tools."""

    HELP = ("One scanning source. The timing plot has one row per destination port: all ports summed on top, "
            "then the top ports by packets, then every other port summed; + and - zoom, [ and ] pan, 0 resets. "
            "With a time range (t) every panel counts only its days, and says so in its title; T shows every day. "
            "Tab moves between the panels; up/down scroll the page from a figure. A value from the data longer "
            f"than {SHOWN_CHARS} characters (a hostname, an AS name, an org) ends in …: the whole of it is in the "
            "scanner list's export (ctrl+s) and in scantui scanners --json.")
    ROWS_ARE_SOURCES = False
    BINDINGS = [*DetailScreen.BINDINGS,
                Binding("m", "similar", "Similar sources", show=False, id="detail.similar", priority=True),
                Binding("n", "note", "Note", show=False, id="detail.note", priority=True),
                *DetailScreen.PACKETS_BINDINGS]

    def __init__(self, row: ScannerRow, *, counted_for: TimeRange | None = None, include_udp: bool = False) -> None:
        """*row*: the scanner list's row, counted for the days *counted_for* (None: every day); under another
        time range the screen recounts it. *include_udp*: the row was counted with UDP probes (the list's ``U``):
        the ports, tools and timing plot are of its probes and UDP packets, and a recount counts them too."""
        super().__init__()
        self.row = row
        self.counted_for = counted_for
        self.include_udp = include_udp
        from scantui.analysis.traffic import kinds_of  # (polars: loaded by the list this row came from)

        self.kinds = kinds_of(include_udp)  # the traffic kinds its figures, timing plot and recount read
        self.days: TimeRange | None = None  # the days the figures and the timing plot show (the App's time range)
        self._recounting = False
        self._no_row_in: TimeRange | None = None  # the range in which the source has no row (no probes)
        self._tools: dict[str, int] | None = None
        self._walk_line: str | None = None

    @property
    def src(self) -> int:
        return self.row.src

    def panels(self) -> ComposeResult:
        facts = Static(self._facts(), id="detail-facts", classes="panel")
        facts.border_title = f"scanner {ip_text(self.src)}"
        yield facts
        yield timing_panel("activity per port", "+ - zoom · [ ] pan · 0 all · s scale")
        with Horizontal(id="detail-figures", classes="detail-row"):
            yield FigurePanel("packets per day", id="detail-per-day", classes="panel")
            yield FigurePanel("scans per port", id="detail-ports", classes="panel")
            tools = Static("reading…", id="detail-tools", classes="panel")
            tools.border_title = "tools"
            yield tools

    def _facts(self) -> Any:
        """The facts panel: the scanner row's facts, then the labels file's tags and note on it (when any); a first
        line when the source has no probes in the time range (the facts are then of the days they were counted for)."""
        session = self.app.state.labels
        source = session.store.source(ip_text(self.src)) if session is not None else None
        note = []
        if self._no_row_in is not None:
            of = range_text(self.counted_for) if self.counted_for is not None else "every day"
            note = [("days", Text(f"no probes in {range_text(self._no_row_in)} · facts of {of}", style="bold"))]
        return facts_table(note + scanner_facts(self.row) + source_note_facts(source))

    def _titles(self) -> None:
        """The facts', the timing plot's and the figures' titles say the days shown (nothing added without a time
        range)."""
        days = f" · days {range_text(self.days)}" if self.days is not None else ""
        recount = " · recounting…" if self._recounting else ""
        self.query_one("#detail-facts", Static).border_title = f"scanner {ip_text(self.src)}{days}{recount}"
        self.timing.border_title = f"activity per port{days}"
        name_days(self, self.days)

    def _labels_changed(self, _value: object = None) -> None:
        self.query_one("#detail-facts", Static).update(self._facts())

    def action_note(self) -> None:
        """``n``: set the tags and note of this source (the labels file's ``sources:``)."""
        from scantui.tui.screens.source_note import note_sources_dialog

        note_sources_dialog(self.app, [ip_text(self.src)])

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.app, "labels_version", self._labels_changed, init=False)
        self.watch(self.app, "time_range", self._time_range_changed, init=False)
        if not self._need_data():
            return
        self._read(self.time_range)

    def _time_range_changed(self, days: TimeRange | None) -> None:
        """``t``/``T`` while open: the facts, figures and timing plot are read again for the new days."""
        if days == self.days or self.app.state.dataset is None or self.app.state.rollup is None:
            return
        self.reading()
        self._tools, self._walk_line = None, None
        self.query_one("#detail-tools", Static).update("reading…")
        self._read(days)

    def _read(self, days: TimeRange | None) -> None:
        """Read the figures and the timing plot of *days*, and recount the facts when the row is of other days."""
        ws, src, bins, kinds = self.app.state.workspace, self.src, self.strips_bins, self.kinds
        self.days = days
        self._recounting = days != self.counted_for
        if not self._recounting and self._no_row_in is not None:  # back to the days the row is of
            self._no_row_in = None
            self._labels_changed()
        if self._recounting:
            state = self.app.state

            def recount() -> tuple[TimeRange | None, ScannerRow | None] | None:
                listed = state.scanners_in(days, self.include_udp)  # what the list shows for these days (memoized)
                return None if listed is None else (days, listed.row(src))

            self.in_thread("detail-facts", recount, self._show_row, "scanner facts")

        def figures() -> tuple[Any, Any, dict[str, int]]:
            found = ws.detail([src], days=days, kinds=kinds)
            return found.per_day, found.ports, found.tools

        self.in_thread("detail-figures", figures, self._show_figures, "scanner figures")
        self.in_thread("detail-timing", lambda: self._read_timing(ws, src, bins, days, kinds), self.show_timing,
                       TIMING_WHAT)
        self.in_thread("detail-walk", lambda: self._walk(ws, src, days, kinds), self._show_walk, "ZMap walk test")
        self._titles()

    def _show_row(self, found: tuple[TimeRange | None, ScannerRow | None] | None) -> None:
        """The row recounted for the days shown; None (no probes in them): the old row stays, and says so."""
        if found is not None and found[0] != self.days:  # a recount for days left since (back to the row's own)
            return
        self._recounting = False
        if found is None:  # the whole list is not there (loading again): the row stays as it was counted
            self._titles()
            return
        days, row = found
        if row is not None:
            self.row, self.counted_for, self._no_row_in = row, days, None
        else:
            self._no_row_in = days
        self._titles()
        self._labels_changed()

    @staticmethod
    def _walk(ws: Workspace, src: int, days: TimeRange | None, kinds: tuple[str, ...] | None) -> str | None:
        """The ZMap walk: the rollup's match of the source when it has one (:mod:`~scantui.analysis.zmap_rollup`:
        pre-screened sources, every day or the days of the time range), else the test on its probes (the timing
        plot's read, memoized), a line or None."""
        from scantui.analysis import zmap_rollup, zmap_walk

        line = zmap_rollup.describe_source(ws.rollup().zmap_walks, src, days)
        if line is not None:
            return line
        found = zmap_walk.detail_walk(ScannerDetailScreen._timing_read(ws, src, days, kinds).packets,
                                      zmap_walk.telescope_arg(ws.telescope_option[0], ws.telescope()[0]))
        return None if found is None else zmap_walk.describe(found)

    @staticmethod
    def _timing_read(ws: Workspace, src: int, days: TimeRange | None, kinds: tuple[str, ...] | None) -> Any:
        """The source's probes (and UDP packets when *kinds* say; of *days* only when given: first day 00:00 UTC to
        the day after the last), capped; one memoized read for the plot and the walk test."""
        from scantui.analysis.detail import day_window_us

        if days is None:
            return ws.timing([src], max_rows=timing_cap(), kinds=kinds)
        start, end = day_window_us(days)
        return ws.timing([src], max_rows=timing_cap(), start_us=start, end_us=end - 1, kinds=kinds)

    @staticmethod
    def _read_timing(ws: Workspace, src: int, bins: int, days: TimeRange | None,
                     kinds: tuple[str, ...] | None) -> TimingData:
        """The source's probes (of *days* only when given: first day 00:00 UTC to the day after the last), one row
        per port; the plot's whole range (``0``) is their first to last packet."""
        import polars as pl

        from scantui.analysis.detail import day_window_us

        window = day_window_us(days) if days is not None else None
        tp = ScannerDetailScreen._timing_read(ws, src, days, kinds)
        top = (tp.packets.group_by("dport").len().sort(["len", "dport"], descending=[True, False])
               .head(TOP_PORT_ROWS)["dport"].cast(pl.Int64).to_list())
        all_ports = tp.packets["dport"].n_unique() if tp.packets.height else 0
        others = all_ports - len(top)
        binner = port_rows_binner(tp.packets, top, others > 0)
        if tp.packets.height:
            lo, hi = tp.packets["ts"].dt.epoch("us").min(), tp.packets["ts"].dt.epoch("us").max()
            grid = binner(int(lo), int(hi) + 1, bins)
        else:
            grid = binner(*(window or (0, 1)), bins)
        labels = [port_row_label(k, others) for k in grid.sources]
        return TimingData(grid, binner, labels, note=cap_note(tp.capped))

    def _show_figures(self, result: tuple[Any, Any, dict[str, int]]) -> None:
        days, ports, tools = result
        self.draw_volumes(days, ports, weight="days")
        self._tools = tools
        self._draw_tools()

    def _show_walk(self, line: str | None) -> None:
        self._walk_line = line
        self._draw_tools()

    def packets_view(self, row: bool) -> Any:
        from scantui.tui.screens.detail_timing import ALL_PORTS, OTHER_PORTS
        from scantui.tui.screens.packets_view import PacketsView

        found = self.timing_row() if row else None
        if found is None:
            return PacketsView.of_sources([self.src]) if not row else None
        port, window = found
        return PacketsView.of_sources([self.src], port=None if port in (ALL_PORTS, OTHER_PORTS) else port, window=window)

    def action_similar(self) -> None:
        """The sources that behave like this one, ranked (:mod:`scantui.tui.screens.similar`)."""
        from scantui.tui.screens.similar import SimilarScreen

        ip = ip_text(self.src)
        self.app.push_screen(SimilarScreen([ip], f"scanner {ip}"))

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield from super().palette_commands()
        yield "detail: similar sources", "Rank the sources that behave like this one (m)", self.action_similar

    def _draw_tools(self) -> None:
        """The tools panel: packets per tool (``zmap`` is the IP-ID tag), then the walk test's line when it matched."""
        if self._tools is None:
            return
        table, line = tools_table(self._tools), self._walk_line
        self.query_one("#detail-tools", Static).update(table if line is None else Group(table, Text(line, style="bold")))



class CandidateDetailScreen(PoolMixin, ReviewMixin, DetailScreen):
    """A candidate collaborative scan: facts, review state, members' timing on its port, the split."""

    HELP = ("A candidate collaborative scan: sources of one /24 or AS that together cover the telescope N times on "
            "one port. The timing plot has one row per member on that port over the scan's span (and a margin), "
            "first active on top; the row ends show each member's destinations and share. Parallel members fill "
            "the same columns, sequential ones take turns. enter opens the member's scanner detail; "
            "l labels, a accepts, x rejects, n marks unsure. " + POOL_HELP)
    BINDINGS = [*DetailScreen.BINDINGS, *ReviewMixin.REVIEW_BINDINGS, *DetailScreen.PACKETS_BINDINGS]
    FACTS = staticmethod(candidate_facts)

    def __init__(self, record: CandidateScan) -> None:
        super().__init__()
        self.record = record
        self.review = None
        n = self.pool_sources = record.n_sources
        self.RESERVED_WIDE = FACTS_HEIGHT + min(n + 6, 16)

    def panels(self) -> ComposeResult:
        facts = Static(self.facts(), id="detail-facts", classes="panel")
        facts.border_title = f"candidate scan · port {self.record.port} · {self.record.day}"
        yield facts
        yield from self.pool_panel()
        yield timing_panel("per-IP timing", "+ - zoom · [ ] pan · 0 all · enter source · s scale")
        from scantui.plots.split import split_rows

        split = FigurePanel("share of the telescope per member", id="detail-split", classes="panel")
        split.styles.height = split_rows(self.record.split) + 2  # every bar drawn; the page scrolls
        yield split

    def on_mount(self) -> None:
        super().on_mount()
        self._draw_split()
        self.watch_review()
        if not self._need_data():
            return
        ws, record, bins = self.app.state.workspace, self.record, self.strips_bins
        self.in_thread("detail-timing", lambda: scan_timing(ws, record, bins), self.show_timing, TIMING_WHAT)
        self.start_pool(lambda: scan_pool(ws, record))

    def between_facts_and_timing(self) -> int:
        return self.pool_rows()

    def reserved_wide(self) -> int:
        return self.RESERVED_WIDE + self.pool_rows()

    def packets_view(self, row: bool) -> Any:
        from scantui.tui.screens.packets_view import PacketsView

        if not row:
            return PacketsView.of_scan(self.record)
        found = self.timing_row()
        span = (self.record.start_us, self.record.end_us + 1)  # not zoomed: the scan's own span
        return None if found is None else PacketsView.of_sources([found[0]], port=self.record.port,
                                                                  window=found[1] or span)

    def _draw_split(self) -> None:
        from scantui.plots.split import split_bars

        sources, split = list(self.record.source_ips), list(self.record.split)
        panel = self.query_one("#detail-split", FigurePanel)
        if not sources or len(sources) != len(split):
            panel.show_text("no split in this record")
            return
        panel.draw(lambda plt: split_bars(plt, sources, split, title=""))

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield from super().palette_commands()
        yield from self.review_commands()


class GroupDetailScreen(PoolMixin, ReviewMixin, DetailScreen):
    """A suggested group: facts, review state, its scans side by side, the selected scan's timing, figures."""

    HELP = ("A suggested group: candidate scans tied by shared IPs, timing and partition. Its scans are the cards "
            "side by side (left/right picks one); the timing plot below is the picked scan's members on its port. "
            "enter opens the member's scanner detail; l labels, a accepts, x rejects, n marks unsure. With a time "
            "range (t) the scans outside it are left out (and counted), the facts and the pool summary are of the "
            "scans left in, and the members' figures are of its days. "
            + POOL_HELP)
    BINDINGS = [
        *DetailScreen.BINDINGS,
        Binding("left", "pick_scan(-1)", "Scan ←", id="detail.previous_scan"),
        Binding("right", "pick_scan(1)", "Scan →", id="detail.next_scan"),
        *ReviewMixin.REVIEW_BINDINGS,
        *DetailScreen.PACKETS_BINDINGS,
    ]
    RESERVED_WIDE = FACTS_HEIGHT + CARDS_HEIGHT + FIGURES_HEIGHT
    FACTS = staticmethod(group_facts)

    def __init__(self, record: SuggestedGroup) -> None:
        super().__init__()
        self.record = record
        self.review = None
        self.selected = 0
        self.scans: list[CandidateScan] = list(record.scans)
        self.days: TimeRange | None = None  # the days shown (the App's time range when it was last read)
        self.scans_note = ""  # the scans left out by the time range, or why none was
        self.none_in_range = False  # a time range holds none of its scans (all of them shown)
        self._cards_generation = 0
        self._pools: dict[tuple[int, ...], Any] = {}  # the pool summaries computed, by the scans they sum (ids)
        self.pool_sources = record.n_members if self.scans else 0  # (a summary needs the scans' packets)

    def _pick_scans(self, days: TimeRange | None) -> None:
        """The scans shown for *days*: those of the time range, said how many were left out; all of them, said
        so, when none is in it."""
        from scantui.analysis.detail import scans_in_days

        every = list(self.record.scans)
        self.days, self.scans, self.scans_note, self.none_in_range = days, every, "", False
        if days is None or not every:
            return
        kept, span = scans_in_days(every, days), range_text(days)
        if not kept:
            self.scans_note, self.none_in_range = f"no scan in {span}: all {len(every)} shown", True
        elif len(kept) < len(every):
            left = len(every) - len(kept)
            self.scans, self.scans_note = kept, f"{left} scan{'s' if left != 1 else ''} outside {span} left out"

    def panels(self) -> ComposeResult:
        self._pick_scans(self.time_range)
        facts = Static(self.facts(), id="detail-facts", classes="panel")
        facts.border_title = self._facts_title()
        yield facts
        yield from self.pool_panel()
        scans = HorizontalScroll(id="detail-scans", classes="panel")
        scans.border_title = "scans side by side"
        scans.can_focus = False
        yield scans
        tabs = Static("", id="detail-scan-tabs", classes="panel")
        tabs.border_title = "scans"
        yield tabs
        yield timing_panel("per-IP timing of the selected scan", "← → scan · + - zoom · [ ] pan · 0 all · s scale")
        with Horizontal(id="detail-figures", classes="detail-row"):
            yield FigurePanel("members' packets per day", id="detail-per-day", classes="panel")
            yield FigurePanel("members' probes per port", id="detail-ports", classes="panel")

    @property
    def compact(self) -> bool:
        """A short screen: the scans are one line above the timing plot, not a row of cards."""
        return self.app.size.height < COMPACT_BELOW

    def between_facts_and_timing(self) -> int:
        return (TABS_HEIGHT if self.compact else CARDS_HEIGHT) + self.pool_rows()

    def reserved_wide(self) -> int:
        return FACTS_HEIGHT + self.between_facts_and_timing() + FIGURES_HEIGHT

    def on_resize(self) -> None:  # DetailScreen.on_resize runs after it (Textual calls each class's handler)
        self.set_class(self.compact, "-compact-scans")
        self._show_tabs()

    def _facts_title(self) -> str:
        """``group S06``; under a time range ``group S06 · days 2024-02-04..2024-02-10``, or where none of its scans
        is in it, the scans panel's note (``group S06 · no scan in 2024-02-29: all 3 shown``)."""
        if self.none_in_range:
            return f"group {safe_line(self.record.group)} · {self.scans_note}"
        days = f" · days {range_text(self.days)}" if self.days is not None else ""
        return f"group {safe_line(self.record.group)}{days}"

    def record_facts(self) -> list[tuple[str, Text | str]]:
        """The group's facts, with what the time range shows of it (:func:`group_facts`)."""
        return group_facts(self.record, self.scans, self.days)

    def _pool_scope(self) -> str:
        """Which scans the pool summary sums under a time range, in its title: ``scans 2 of 3 in
        2024-02-04..2024-02-10`` (all of them: ``scans 3 of 3 in …``), where none is in it the scans' note (``no scan
        in 2024-02-29: all 3 shown``); "" without a range."""
        if self.days is None:
            return ""
        if self.none_in_range:
            return self.scans_note
        return f"scans {len(self.scans)} of {self.record.n_scans} in {range_text(self.days)}"

    def _start_pool(self) -> None:
        """Sum up the pool of the scans shown (the time range's; a summary already made for them comes back at
        once); a summary of other scans, a range left meanwhile, is not shown (:meth:`_show_group_pool`)."""
        if not self.has_pool:
            return
        from scantui.analysis.pool_summary import scans_members
        from scantui.tui.widgets.pool import PoolPanel

        ws, record, scans = self.app.state.workspace, self.record, list(self.scans)
        key = tuple(map(id, scans))
        done = self._pools.get(key)
        if done is None:
            panel = self.query_one("#detail-pool", PoolPanel)
            panel.reading(len(scans_members(scans, record.members)), scope=self._pool_scope())
        self.start_pool(lambda: (key, done if done is not None else group_pool(ws, record, scans)),
                        self._show_group_pool)

    def _show_group_pool(self, found: tuple[tuple[int, ...], Any]) -> None:
        key, summary = found
        if summary is None:
            return
        self._pools[key] = summary
        if key == tuple(map(id, self.scans)):  # else summed for scans shown no more (the range changed since)
            self._show_pool(summary, self._pool_scope())

    def _show_tabs(self) -> None:
        tabs = self.query_one("#detail-scan-tabs", Static)
        tabs.border_title = "scans" + (f" · {self.scans_note}" if self.scans_note else "")
        refs = self.scans[:MAX_CARDS]
        if not refs:
            tabs.update(Text("the candidate scans of this group are not loaded", style="dim"))
            return
        width = max(1, (tabs.content_region.width or self.app.size.width - 4))
        tabs.update(scan_tabs(refs, self.selected, width))
        more = f" (first {MAX_CARDS})" if len(self.scans) > MAX_CARDS else ""
        tabs.border_subtitle = f"{len(self.scans)} scans{more} · ← → pick"

    def on_mount(self) -> None:
        super().on_mount()
        self.watch_review()
        self.watch(self.app, "time_range", self._time_range_changed, init=False)
        self.set_class(self.compact, "-compact-scans")
        name_days(self, self.days)
        self.call_after_refresh(self._show_tabs)
        self._show_tabs()
        self._mount_cards(self.query_one("#detail-scans", HorizontalScroll))
        if not self._need_data():
            return
        self._start_pool()
        self._read()

    def _mount_cards(self, box: HorizontalScroll) -> None:
        box.border_title = "scans side by side" + (f" · {self.scans_note}" if self.scans_note else "")
        if not self.scans:
            box.mount(Static("the candidate scans of this group are not loaded", classes="detail-note"))
            return
        cards = [ScanCard(i, scan, classes="-selected" if i == self.selected else "")
                 for i, scan in enumerate(self.scans[:MAX_CARDS])]
        box.mount_all(cards)
        if len(self.scans) > MAX_CARDS:
            box.mount(Static(f"+{len(self.scans) - MAX_CARDS} more scans", classes="detail-note"))
        box.border_subtitle = f"{len(self.scans)} scan{'' if len(self.scans) == 1 else 's'} · ← → pick"

    def _read(self) -> None:
        """The members' figures of the days shown, the cards' strips and the selected scan's timing plot."""
        ws, members, days = self.app.state.workspace, list(self.record.members), self.days

        def figures() -> tuple[Any, Any]:
            found = ws.detail(members, days=days)
            return found.per_day, found.ports

        self.in_thread("detail-figures", figures, self._show_figures, "group figures")
        if self.scans:
            scans = self.scans[:MAX_CARDS]
            self.in_thread("detail-cards", lambda: self._card_strips(ws, scans), self._show_cards, "scans of the group")
            self._show_scan()

    async def _time_range_changed(self, days: TimeRange | None) -> None:
        """``t``/``T`` while open: the scans of the new days (the selected one kept when it stays), their cards,
        and the members' figures read again, the facts and the pool summary of the scans now shown; a newer change
        while the old cards go wins (its pool too: a summary of scans shown no more is dropped)."""
        if days == self.days:
            return
        shown = self.scans[self.selected] if self.scans else None
        self._pick_scans(days)
        self.selected = self.scans.index(shown) if shown in self.scans[:MAX_CARDS] else 0
        self._cards_generation += 1
        generation = self._cards_generation
        self.query_one("#detail-facts", Static).border_title = self._facts_title()
        name_days(self, days)
        self.show_facts()
        self._show_tabs()
        if self.app.state.dataset is not None and self.app.state.rollup is not None:
            self._start_pool()  # the summary of the scans now shown (at once when made before)
        box = self.query_one("#detail-scans", HorizontalScroll)
        await box.remove_children()
        if generation != self._cards_generation or not self.is_attached:
            return  # a newer range came meanwhile: it mounts its own cards
        self._mount_cards(box)
        if self.app.state.dataset is None or self.app.state.rollup is None:
            return
        self.reading()
        self._read()

    @staticmethod
    def _card_strips(ws: Workspace, scans: list[CandidateScan]) -> list[tuple[list[str], int]]:
        from scantui.plots.timing import render_rows

        out = []
        for scan in scans:
            if get_current_worker().is_cancelled:
                break
            grid = scan_timing(ws, scan, CARD_WIDTH).grid
            head = render_rows(grid, CARD_WIDTH)[:CARD_ROWS]
            out.append((head, max(0, len(grid.sources) - CARD_ROWS)))
        return out

    def _show_cards(self, strips: list[tuple[list[str], int]]) -> None:
        for card, (rows, more) in zip(self.query(ScanCard), strips):
            card.set_strips(rows, more)

    def _show_scan(self) -> None:
        scan = self.scans[self.selected]
        self.timing.border_title = f"per-IP timing · scan {self.selected + 1}/{len(self.scans)} · port {scan.port} · {scan.day}"
        ws = self.app.state.workspace
        if self.app.state.dataset is None or ws is None:
            return
        bins = self.strips_bins
        self.in_thread("detail-timing", lambda: scan_timing(ws, scan, bins), self.show_timing, TIMING_WHAT)

    def action_pick_scan(self, step: int) -> None:
        count = min(len(self.scans), MAX_CARDS)
        if count == 0:
            return
        new = max(0, min(self.selected + step, count - 1))
        if new == self.selected:
            return
        cards = list(self.query(ScanCard))
        cards[self.selected].remove_class("-selected")
        self.selected = new
        cards[new].add_class("-selected")
        self.query_one("#detail-scans", HorizontalScroll).scroll_to_widget(cards[new], animate=False)
        self._show_tabs()
        self.timing.scroll_visible(animate=False)
        self._show_scan()

    def _show_figures(self, result: tuple[Any, Any]) -> None:
        self.draw_volumes(*result, weight="packets")

    def packets_view(self, row: bool) -> Any:
        from scantui.tui.screens.packets_view import PacketsView

        if not self.scans:
            return PacketsView.of_group(self.record) if not row else None
        scan = self.scans[self.selected]
        if not row:
            return PacketsView.of_scan(scan, label=f"group {self.record.group}")
        found = self.timing_row()
        span = (scan.start_us, scan.end_us + 1)
        return None if found is None else PacketsView.of_sources([found[0]], port=scan.port, window=found[1] or span)

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield from super().palette_commands()
        yield "detail: next scan", "Show the next scan of the group (right)", lambda: self.action_pick_scan(1)
        yield "detail: previous scan", "Show the previous scan of the group (left)", lambda: self.action_pick_scan(-1)
        yield from self.review_commands()
