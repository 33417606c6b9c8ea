"""Detail of a scanner, a candidate scan or a suggested group: facts, the per-IP timing plot, figures.

Pushed by :meth:`ScantuiApp.open_scanner` (a scanner row), ``open_candidate``
(a ``collab`` record) and ``open_group`` (a ``groups`` record). Each screen
shows its facts at once (from the record, escaped), then fills its figures
from thread workers: volumes, ports and tools from the rollup's ``port_day``
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

Keys: ``escape`` back, ``?`` all keys; on the timing plot ``+``/``-`` zoom,
``[``/``]`` pan, ``0`` whole range, ``enter`` opens the source under the cursor
(candidate and group). On a candidate or group ``l`` labels, ``a`` accepts,
``x`` rejects, ``n`` marks unsure (:mod:`scantui.tui.labelling`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, HorizontalScroll, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import get_current_worker

from scantui.safetext import safe_line
from scantui.tui.columns import NULL, ip_text, percent_text, time_text, tools_text
from scantui.tui.state import error_text
from scantui.tui.widgets.figures import CARD_ROWS, FigurePanel, ScanCard, facts_table, scan_tabs, tools_table
from scantui.tui.widgets.timing import PINNED, TimingStrips, span_text

if TYPE_CHECKING:
    import polars as pl

    from scantui.plots.timing import TimingGrid
    from scantui.tui.widgets.timing import Binner

TOP_PORT_ROWS = 12  # a scanner's timing rows: all ports, these, then the rest summed
ALL_PORTS, OTHER_PORTS = -1, 65_536  # row keys of the summed rows
MARGIN_SHARE = 0.1  # a scan's timing plot shows this share of its duration before and after it
MIN_MARGIN_US = 60_000_000
MAX_CARDS = 60  # scans of a group drawn as cards
CARD_WIDTH = 24
FACTS_HEIGHT = 9  # the facts panel's usual height (rows + border), to size the timing plot
FIGURES_HEIGHT = 14
CARDS_HEIGHT = 11
TABS_HEIGHT = 3  # the one line of scans (and its border) of a group on a short screen
COMPACT_BELOW = 40  # screen rows under which a group's scans are one line, not cards
TIMING_WHAT = "timing packets"  # what a failing timing read is called in its notification


def iso_us(text: str) -> int:
    """A record's ISO time (``2024-02-05T09:00:02.015475Z``) as µs since the epoch."""
    when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return (when - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def ip_int(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))


def _hm(text: str) -> str:
    return str(text)[11:19]


def _when(text: Any) -> str:
    """``2024-02-04 15:29`` from a record's ISO time."""
    return str(text or NULL)[:16].replace("T", " ")


def _list_text(values: Any, limit: int = 8) -> str:
    values = list(values or [])
    if not values:
        return NULL
    shown = ", ".join(safe_line(v) for v in values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def review_text(state: str, matches: list[dict[str, Any]]) -> Text:
    """``new`` / ``labelled as G1 (collaborative, 100%)`` / ``rejected as ...``: label ids are data."""
    text = Text("same IPs, scans not recorded," if state == "same_ips" else state, style="bold")
    if matches:
        text.append(" as ")
        text.append(", ".join(f"{safe_line(m['id'])} ({safe_line(m.get('verdict'))}, {m['share']:.0%})" for m in matches[:3]))
    return text


# ---------------------------------------------------------------- facts


def scanner_facts(row: dict[str, Any]) -> list[tuple[str, Text | str]]:
    """A scanner row (``scantui scanners``) as facts: who, how much, when, with what, how."""
    def get(key: str) -> Any:
        return row.get(key)

    asn = f"AS{get('asn')} {safe_line(get('as_name') or '')}".rstrip() if get("asn") is not None else "no AS data"
    who = f"{ip_text(get('src'))} · {asn} · {safe_line(get('country') or NULL)}"
    org = f"org {safe_line(get('org') or NULL)} · category {safe_line(get('category') or NULL)} · host {safe_line(get('hostname') or NULL)}"
    traffic = (f"{get('packets') or 0:,} packets · {get('ports') or 0:,} ports · {get('dsts') or 0:,} dsts · "
               f"{get('days_active') or 0} days active")
    seen = f"{time_text(get('first_seen'))} → {time_text(get('last_seen'))}" if get("first_seen") else NULL
    shares = " · ".join(f"{name} {percent_text(get(key))}" for name, key in
                        (("well-known", "well_known_share"), ("registered", "registered_share"), ("ephemeral", "ephemeral_share"))
                        if get(key) is not None)
    period = f" every {get('period_days'):g} days" if get("period_days") and get("schedule") == "periodic" else ""
    strength = f" (strength {get('schedule_strength'):.1f})" if get("schedule_strength") else ""
    coverage = f"coverage max {percent_text(get('coverage_max'))}" if get("coverage_max") is not None else ""
    days = f"days scanned {percent_text(get('days_scanned'))}" if get("days_scanned") is not None else ""
    rule = [("rule", safe_line(get("rule")))] if get("rule") else []
    return [
        ("source", who),
        ("", org),
        *rule,
        ("traffic", traffic),
        ("seen", seen),
        ("tools", tools_text(get("tools")) if get("tools") else safe_line(get("tool") or NULL)),
        ("range", f"{safe_line(get('range_class') or NULL)}" + (f" · {shares}" if shares else "")),
        ("schedule", " · ".join(x for x in (f"{safe_line(get('schedule') or NULL)}{period}{strength}", days, coverage,
                                             f"picture {safe_line(get('picture') or NULL)}") if x)),
    ]


def candidate_facts(c: dict[str, Any]) -> list[tuple[str, Text | str]]:
    """A candidate scan (``collab`` record) as facts: where, who, cover, timing, score."""
    start, end = c.get("start", ""), c.get("end", "")
    try:
        span = " (" + span_text(iso_us(end) - iso_us(start)) + ")"
    except ValueError:
        span = ""
    key, asn = safe_line(c.get("key")), safe_line(c.get("asn") or "")
    window = safe_line(c.get("window") or "day")
    where = f"{c.get('port')}/{safe_line(c.get('proto') or 'tcp')} · {safe_line(c.get('day'))}" + (
        f" ({window} window)" if window != "day" else "") + f" · key {key}" + (f" · {asn}" if asn and asn != key else "")
    union, size, total = c.get("union") or 0, c.get("telescope_size") or 0, c.get("total") or 0
    cover = (f"union {union:,} = {union / size:.2f} × telescope · N {c.get('cover_multiple')} · "
             f"sum {total:,} · overlap {c.get('overlap', 0):.1%}") if size else f"union {union:,}"
    parts = c.get("score_parts") or {}
    weights = {"cover": 50, "timing": 30, "sources": 20}
    score = f"{c.get('score')}" + (" = " + " + ".join(f"{weights.get(k, 1)}×{v:.2f} {k}" for k, v in parts.items()) if parts else "")
    return [
        ("scan", where),
        ("members", f"{c.get('n_sources') or len(c.get('sources') or ())} sources · {c.get('packets', 0):,} packets"),
        ("cover", cover),
        ("timing", f"{safe_line(c.get('timing'))} (containment {c.get('timing_containment', 0):.2f}) · "
                   f"{_hm(start)} → {_hm(end)} UTC{span}"),
        ("score", score),
        ("also", f"keys {_list_text(c.get('also_keys'))} · standalone excluded {_list_text(c.get('excluded_standalone'), 4)}"),
    ]


def group_facts(g: dict[str, Any]) -> list[tuple[str, Text | str]]:
    """A suggested group (``groups`` record) as facts: why, who, where, when, how it splits."""
    links = g.get("links") or {}
    reasons = ", ".join(f"{safe_line(r)} ×{links.get(r, 0)}" for r in g.get("reasons") or ()) or "none (a scan alone)"
    split = g.get("split") or []
    split_text = " ".join(f"{s:.1%}" for s in split[:4]) + (f" … ({len(split)})" if len(split) > 4 else "")
    days = len(g.get("days") or ())
    return [
        ("group", f"{safe_line(g.get('group'))} · {g.get('scans')} scans · score {g.get('score')}"),
        ("links", reasons),
        ("members", f"{g.get('n_members') or len(g.get('members') or ())} sources · per scan {_list_text(g.get('sizes'), 8)}"),
        ("where", f"ports {_list_text(g.get('ports'), 8)} · {_list_text(g.get('asns'), 4)}"),
        ("when", f"{_when(g.get('first_start'))} → {_when(g.get('last_end'))} UTC · {days} day{'s' if days != 1 else ''}"),
        ("split", f"{safe_line(g.get('timing'))} · N {g.get('cover_multiple')} · typical {split_text or NULL}"),
    ]


# ---------------------------------------------------------------- timing data (worker threads)


def port_rows_binner(packets: pl.DataFrame, ports: list[int], others: bool) -> Binner:
    """Rows: all ports summed, then each of *ports*, then (*others*) every other port summed."""
    import numpy as np
    import polars as pl

    from scantui.plots.timing import TimingGrid, timing_grid

    keyed = packets.select("ts", pl.when(pl.col("dport").is_in(ports)).then(pl.col("dport").cast(pl.Int64))
                           .otherwise(OTHER_PORTS).alias("src"))
    rows = list(ports) + ([OTHER_PORTS] if others else [])

    def binner(start_us: int, end_us: int, bins: int) -> TimingGrid:
        grid = timing_grid(keyed, bins=bins, start_us=start_us, end_us=end_us, sources=rows, order="given")
        counts = np.vstack([grid.counts.sum(axis=0, keepdims=True), grid.counts])
        return TimingGrid(sources=[ALL_PORTS, *grid.sources], start_us=grid.start_us, end_us=grid.end_us,
                          bins=grid.bins, counts=counts)

    return binner


def port_row_label(key: int, others: int) -> str:
    if key == ALL_PORTS:
        return "all ports"
    if key == OTHER_PORTS:
        return f"{others:,} other ports"
    return f"port {key}"


class TimingData:
    """What a worker hands the timing plot: first grid, binner, labels, extras, note."""

    def __init__(self, grid: TimingGrid, binner: Binner, labels: list[str] | None = None,
                 extras: list[str] | None = None, extras_header: str = "", note: str = "") -> None:
        self.grid, self.binner, self.labels = grid, binner, labels
        self.extras, self.extras_header, self.note = extras, extras_header, note


#: Packets read for one timing plot (None: :data:`scantui.analysis.detail.MAX_TIMING_ROWS`).
TIMING_CAP: int | None = None


def timing_cap() -> int:
    from scantui.analysis.detail import MAX_TIMING_ROWS

    return TIMING_CAP if TIMING_CAP is not None else MAX_TIMING_ROWS


def cap_note(capped: bool) -> str:
    return f"capped: first {timing_cap():,} packets only" if capped else ""


def scan_timing(packets_lf: pl.LazyFrame, scan: dict[str, Any], bins: int) -> TimingData:
    """A candidate scan's members on its port over its span ± a margin; rows in order of first packet."""
    from scantui.analysis.detail import timing_packets
    from scantui.plots.timing import timing_grid
    from scantui.tui.widgets.timing import packets_binner

    ips = list(scan.get("sources") or ())
    srcs = [ip_int(ip) for ip in ips]
    start, end = iso_us(scan["start"]), iso_us(scan["end"])
    margin = max(int((end - start) * MARGIN_SHARE), MIN_MARGIN_US)
    lo, hi = start - margin, end + margin
    tp = timing_packets(packets_lf, srcs, port=int(scan["port"]), start_us=lo, end_us=hi, max_rows=timing_cap())
    grid = timing_grid(tp.packets, bins=bins, start_us=lo, end_us=hi + 1, sources=srcs, order="first_seen")
    by_ip = dict(zip(ips, scan.get("split") or [None] * len(ips)))
    dsts = scan.get("dsts_per_source") or {}
    labels = grid.row_labels()
    extras = [f"{dsts.get(ip, 0):>6,} {by_ip[ip]:6.1%}" if by_ip.get(ip) is not None else f"{dsts.get(ip, 0):>6,}"
              for ip in labels]
    return TimingData(grid, packets_binner(tp.packets, grid.sources), labels, extras, "  dsts  share",
                      cap_note(tp.capped))


# ---------------------------------------------------------------- the screens


def timing_panel(title: str, keys: str) -> TimingStrips:
    """The screen's timing plot (``#detail-timing``), titled, its keys in the bottom border."""
    strips = TimingStrips(id="detail-timing", classes="panel", empty_text="reading the packets…")
    strips.border_title = title
    strips.border_subtitle = keys
    return strips


class DetailScreen(Screen):
    """What the three detail screens share: layout, workers, the timing plot's keys and commands."""

    BINDINGS = [
        Binding("escape", "app.back", "Back", id="detail.back"),
        Binding("t", "focus_timing", "Timing plot", show=False, id="detail.focus_timing"),
    ]
    #: Rows above and below the timing plot at wide sizes (to fit it on one screen when possible).
    RESERVED_WIDE = FACTS_HEIGHT + FIGURES_HEIGHT
    ROWS_ARE_SOURCES = True

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        with VerticalScroll(id="detail-body"):
            yield from self.panels()
        yield Footer()

    def panels(self) -> ComposeResult:  # pragma: no cover - every screen has its own
        yield from ()

    def on_mount(self) -> None:
        self.set_focus(self.timing, scroll_visible=False)  # the keys drive the plot; the page starts at its top
        self.fit_timing()

    @property
    def timing(self) -> TimingStrips:
        return self.query_one("#detail-timing", TimingStrips)

    def on_resize(self) -> None:
        self.fit_timing()

    def between_facts_and_timing(self) -> int:
        """Rows of the panels between the facts and the timing plot."""
        return 0

    def reserved_wide(self) -> int:
        return self.RESERVED_WIDE

    def fit_timing(self) -> None:
        """Size the timing plot to its rows, at most what leaves the other panels on screen when wide."""
        width, height = self.app.size
        rows = self.timing.row_count if self.timing.grid is not None else 1
        above = FACTS_HEIGHT + self.between_facts_and_timing()
        cap = max(8, height - 2 - above) if width < 120 else max(10, height - 2 - self.reserved_wide())
        self.timing.styles.height = max(6, min(rows + PINNED + 2, cap))

    # ------------------------------------------------------------ workers

    def in_thread(self, group: str, compute: Callable[[], Any], apply: Callable[[Any], None], what: str) -> None:
        """Run *compute* in a thread worker; *apply* its result on the UI thread; a failure is a notification."""
        self.run_worker(lambda: self._job(compute, apply, what), thread=True, exclusive=True, group=group,
                        exit_on_error=False)

    def _job(self, compute: Callable[[], Any], apply: Callable[[Any], None], what: str) -> None:
        worker = get_current_worker()
        try:
            result = compute()
        except Exception as exc:  # noqa: BLE001 - every failure is shown; the screen stays
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, what, exc)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply, apply, result)

    def _apply(self, apply: Callable[[Any], None], result: Any) -> None:
        if self.is_running and self.is_attached:  # the screen may be gone (escape) while the worker ran
            apply(result)

    def _failed(self, what: str, exc: Exception) -> None:
        self.notify(error_text(exc), title=f"could not read the {what}", severity="error", timeout=10, markup=False)
        if not (self.is_running and self.is_attached):
            return
        if what == TIMING_WHAT:
            self.timing.show_text(f"could not read the packets: {error_text(exc)}")
        elif what.endswith("figures"):
            for panel in self.query(FigurePanel):
                if not panel.drawn:
                    panel.show_text(f"could not read the {what}")

    def show_timing(self, data: TimingData) -> None:
        self.timing.show(data.grid, binner=data.binner, labels=data.labels, extras=data.extras,
                         extras_header=data.extras_header, note=data.note)
        self.fit_timing()

    def draw_volumes(self, days: pl.DataFrame, ports: pl.DataFrame, *, weight: str) -> None:
        """Packets per day (``detail.per_day``) and the 256-bin port histogram of ``detail.ports`` by *weight*."""
        from scantui.plots.daily import per_day
        from scantui.plots.ports import port_bins, port_histogram

        per_day_panel = self.query_one("#detail-per-day", FigurePanel)
        if days.height:
            per_day_panel.draw(lambda plt: per_day(plt, days["day"].to_list(), days["packets"].to_list(), title=""))
        else:
            per_day_panel.show_text("no packets")
        ports_panel = self.query_one("#detail-ports", FigurePanel)
        if ports.height:
            bins = port_bins(ports["dport"], weights=ports[weight])
            ports_panel.draw(lambda plt: port_histogram(plt, bins, title=""))
        else:
            ports_panel.show_text("no probes")

    @property
    def strips_bins(self) -> int:
        return self.timing.strip_width or 200

    def _need_data(self) -> bool:
        state = self.app.state
        if state.dataset is None or state.rollup is None:
            self.timing.show_text("the data is not loaded yet")
            for panel in self.query(FigurePanel):
                panel.show_text("the data is not loaded yet")
            return False
        return True

    # ------------------------------------------------------------ keys and commands

    def action_focus_timing(self) -> None:
        self.timing.focus()

    @on(TimingStrips.RowSelected)
    def _row_selected(self, event: TimingStrips.RowSelected) -> None:
        if self.ROWS_ARE_SOURCES:
            self.open_source(event.key)

    def open_source(self, src: int) -> None:
        """The scanner detail of *src* (from the scanner list's rows)."""
        import polars as pl

        scanners = self.app.state.scanners
        found = scanners.frame.filter(pl.col("src") == src) if scanners is not None else None
        if found is None or found.height == 0:
            self.notify(f"{ip_text(src)} is not in the scanner list (no probes?)", title="scanner", markup=False)
            return
        self.app.open_scanner(found.row(0, named=True))

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        strips = self.timing
        yield "detail: back", "Back to the previous screen", self.app.action_back
        yield "detail: focus the timing plot", "Move the keys to the per-IP timing plot", self.action_focus_timing
        yield "detail: zoom in", "Halve the time range of the timing plot (+)", strips.action_zoom_in
        yield "detail: zoom out", "Double the time range of the timing plot (-)", strips.action_zoom_out
        yield "detail: earlier", "Pan the timing plot back in time ([)", lambda: strips.action_pan(-1)
        yield "detail: later", "Pan the timing plot forward in time (])", lambda: strips.action_pan(1)
        yield "detail: whole range", "Zoom the timing plot back out to everything (0)", strips.action_reset_zoom
        yield "detail: log/linear marks", "Switch the timing marks between a log and a linear scale (s)", strips.action_toggle_scale
        if self.ROWS_ARE_SOURCES:
            yield "detail: open source", "Open the scanner detail of the row under the cursor", strips.action_select


class ScannerDetailScreen(DetailScreen):
    """One scanner: facts, activity per port over time, packets per day, scans per port, tools."""

    HELP = ("One scanning source. The timing plot has one row per destination port: all ports summed on top, "
            "then the top ports by packets, then every other port summed; + and - zoom, [ and ] pan, 0 resets. "
            "Tab moves between the panels; up/down scroll the page from a figure.")
    ROWS_ARE_SOURCES = False

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__()
        self.row = row

    @property
    def src(self) -> int:
        return int(self.row["src"])

    def panels(self) -> ComposeResult:
        facts = Static(facts_table(scanner_facts(self.row)), id="detail-facts", classes="panel")
        facts.border_title = f"scanner {ip_text(self.src)}"
        yield facts
        yield timing_panel("activity per port", "+ - zoom · [ ] pan · 0 all · s scale")
        with Horizontal(id="detail-figures", classes="detail-row"):
            yield FigurePanel("packets per day", id="detail-per-day", classes="panel")
            yield FigurePanel("scans per port", id="detail-ports", classes="panel")
            tools = Static("reading…", id="detail-tools", classes="panel")
            tools.border_title = "tools"
            yield tools

    def on_mount(self) -> None:
        super().on_mount()
        if not self._need_data():
            return
        state, src = self.app.state, self.src

        def figures() -> tuple[Any, Any, dict[str, int]]:
            from scantui.analysis import detail

            port_day = state.rollup.port_day
            return detail.per_day(port_day, [src]), detail.ports(port_day, [src]), detail.tools(port_day, [src])

        self.in_thread("detail-figures", figures, self._show_figures, "scanner figures")
        bins = self.strips_bins
        self.in_thread("detail-timing", lambda: self._read_timing(state.dataset.lf, src, bins), self.show_timing,
                       TIMING_WHAT)

    @staticmethod
    def _read_timing(lf: pl.LazyFrame, src: int, bins: int) -> TimingData:
        import polars as pl

        from scantui.analysis.detail import timing_packets

        tp = timing_packets(lf, [src], max_rows=timing_cap())
        top = (tp.packets.group_by("dport").len().sort(["len", "dport"], descending=[True, False])
               .head(TOP_PORT_ROWS)["dport"].cast(pl.Int64).to_list())
        all_ports = tp.packets["dport"].n_unique() if tp.packets.height else 0
        others = all_ports - len(top)
        binner = port_rows_binner(tp.packets, top, others > 0)
        if tp.packets.height:
            lo, hi = tp.packets["ts"].dt.epoch("us").min(), tp.packets["ts"].dt.epoch("us").max()
            grid = binner(int(lo), int(hi) + 1, bins)
        else:
            grid = binner(0, 1, bins)
        labels = [port_row_label(k, others) for k in grid.sources]
        return TimingData(grid, binner, labels, note=cap_note(tp.capped))

    def _show_figures(self, result: tuple[Any, Any, dict[str, int]]) -> None:
        days, ports, tools = result
        self.draw_volumes(days, ports, weight="days")
        self.query_one("#detail-tools", Static).update(tools_table(tools))


class ReviewMixin:
    """Labelling keys and the review state of a candidate or group (``self.record``, ``self.ips``)."""

    REVIEW_BINDINGS = [
        Binding("l", "label", "Label", id="detail.label"),
        Binding("a", "verdict('collaborative')", "Accept", id="detail.accept"),
        Binding("x", "verdict('not_collaborative')", "Reject", id="detail.reject"),
        Binding("n", "verdict('unsure')", "Unsure", show=False, id="detail.unsure"),
    ]

    FACTS: Callable[[dict[str, Any]], list[tuple[str, Text | str]]]
    record: dict[str, Any]
    review: tuple[str, list[dict[str, Any]]] | None = None

    @property
    def ips(self) -> list[str]:
        from scantui.tui.labelling import record_ips

        return record_ips(self.record)

    def watch_review(self: Any) -> None:
        self.watch(self.app, "labels_version", lambda _v: self.refresh_review(), init=False)
        self.refresh_review()

    def refresh_review(self: Any) -> None:
        state, record = self.app.state, self.record
        self.in_thread("detail-review", lambda: state.review_record(record), self._show_review, "review state")

    def _show_review(self: Any, review: tuple[str, list[dict[str, Any]]]) -> None:
        self.review = review
        self.show_facts()

    def facts(self) -> Table:
        """The record's facts (:attr:`FACTS` of it) and the review state."""
        review = ("review", Text("…", style="dim") if self.review is None else review_text(*self.review))
        return facts_table([*type(self).FACTS(self.record), review])

    def show_facts(self: Any) -> None:
        self.query_one("#detail-facts", Static).update(self.facts())

    def action_label(self: Any) -> None:
        from scantui.tui import labelling

        labelling.label_dialog(self.app, self.record)

    def action_verdict(self: Any, verdict: str) -> None:
        from scantui.tui import labelling

        labelling.set_verdict(self.app, self.record, verdict)

    def review_commands(self: Any) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield "detail: label", "Label these sources: a new group or add to one (l)", self.action_label
        yield "detail: accept", "Mark as collaborative (a)", lambda: self.action_verdict("collaborative")
        yield "detail: reject", "Mark as not collaborative; remembered (x)", lambda: self.action_verdict("not_collaborative")
        yield "detail: unsure", "Mark as unsure (n)", lambda: self.action_verdict("unsure")


class CandidateDetailScreen(ReviewMixin, DetailScreen):
    """A candidate collaborative scan: facts, review state, members' timing on its port, the split."""

    HELP = ("A candidate collaborative scan: sources of one /24 or AS that together cover the telescope N times on "
            "one port. The timing plot has one row per member on that port over the scan's span (and a margin), "
            "first active on top; the row ends show each member's destinations and share. Parallel members fill "
            "the same columns, sequential ones take turns. enter opens the member's scanner detail; "
            "l labels, a accepts, x rejects, n marks unsure.")
    BINDINGS = [*DetailScreen.BINDINGS, *ReviewMixin.REVIEW_BINDINGS]
    FACTS = staticmethod(candidate_facts)

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record
        self.review = None
        n = len(record.get("sources") or ())
        self.RESERVED_WIDE = FACTS_HEIGHT + min(n + 6, 16)

    def panels(self) -> ComposeResult:
        facts = Static(self.facts(), id="detail-facts", classes="panel")
        facts.border_title = f"candidate scan · port {self.record.get('port')} · {safe_line(self.record.get('day'))}"
        yield facts
        yield timing_panel("per-IP timing", "+ - zoom · [ ] pan · 0 all · enter source · s scale")
        from scantui.plots.split import split_rows

        split = FigurePanel("share of the telescope per member", id="detail-split", classes="panel")
        split.styles.height = split_rows(self.record.get("split") or ()) + 2  # every bar drawn; the page scrolls
        yield split

    def on_mount(self) -> None:
        super().on_mount()
        self._draw_split()
        self.watch_review()
        if not self._need_data():
            return
        lf, record, bins = self.app.state.dataset.lf, self.record, self.strips_bins
        self.in_thread("detail-timing", lambda: scan_timing(lf, record, bins), self.show_timing, TIMING_WHAT)

    def _draw_split(self) -> None:
        from scantui.plots.split import split_bars

        sources, split = list(self.record.get("sources") or ()), list(self.record.get("split") or ())
        panel = self.query_one("#detail-split", FigurePanel)
        if not sources or len(sources) != len(split):
            panel.show_text("no split in this record")
            return
        panel.draw(lambda plt: split_bars(plt, sources, split, title=""))

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield from super().palette_commands()
        yield from self.review_commands()


class GroupDetailScreen(ReviewMixin, DetailScreen):
    """A suggested group: facts, review state, its scans side by side, the selected scan's timing, figures."""

    HELP = ("A suggested group: candidate scans tied by shared IPs, timing and partition. Its scans are the cards "
            "side by side (left/right picks one); the timing plot below is the picked scan's members on its port. "
            "enter opens the member's scanner detail; l labels, a accepts, x rejects, n marks unsure.")
    BINDINGS = [
        *DetailScreen.BINDINGS,
        Binding("left", "pick_scan(-1)", "Scan ←", id="detail.previous_scan"),
        Binding("right", "pick_scan(1)", "Scan →", id="detail.next_scan"),
        *ReviewMixin.REVIEW_BINDINGS,
    ]
    RESERVED_WIDE = FACTS_HEIGHT + CARDS_HEIGHT + FIGURES_HEIGHT
    FACTS = staticmethod(group_facts)

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record
        self.review = None
        self.selected = 0
        self.scans: list[dict[str, Any]] = []

    def panels(self) -> ComposeResult:
        facts = Static(self.facts(), id="detail-facts", classes="panel")
        facts.border_title = f"group {safe_line(self.record.get('group'))}"
        yield facts
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
        return TABS_HEIGHT if self.compact else CARDS_HEIGHT

    def reserved_wide(self) -> int:
        return FACTS_HEIGHT + self.between_facts_and_timing() + FIGURES_HEIGHT

    def on_resize(self) -> None:  # DetailScreen.on_resize runs after it (Textual calls each class's handler)
        self.set_class(self.compact, "-compact-scans")
        self._show_tabs()

    def _show_tabs(self) -> None:
        tabs = self.query_one("#detail-scan-tabs", Static)
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
        state = self.app.state
        if state.collab is not None:
            from scantui.analysis.groups import scans_of

            self.scans = scans_of(self.record, state.collab.candidates)
        self.set_class(self.compact, "-compact-scans")
        self.call_after_refresh(self._show_tabs)
        self._show_tabs()
        box = self.query_one("#detail-scans", HorizontalScroll)
        if not self.scans:
            box.mount(Static("the candidate scans of this group are not loaded", classes="detail-note"))
        else:
            cards = [ScanCard(i, scan, classes="-selected" if i == 0 else "") for i, scan in enumerate(self.scans[:MAX_CARDS])]
            box.mount_all(cards)
            if len(self.scans) > MAX_CARDS:
                box.mount(Static(f"+{len(self.scans) - MAX_CARDS} more scans", classes="detail-note"))
            box.border_subtitle = f"{len(self.scans)} scans · ← → pick"
        if not self._need_data():
            return
        members = [ip_int(ip) for ip in self.ips]

        def figures() -> tuple[Any, Any]:
            from scantui.analysis import detail

            port_day = state.rollup.port_day
            return detail.per_day(port_day, members), detail.ports(port_day, members)

        self.in_thread("detail-figures", figures, self._show_figures, "group figures")
        if self.scans:
            lf, scans = state.dataset.lf, self.scans[:MAX_CARDS]
            self.in_thread("detail-cards", lambda: self._card_strips(lf, scans), self._show_cards, "scans of the group")
            self._show_scan()

    @staticmethod
    def _card_strips(lf: pl.LazyFrame, scans: list[dict[str, Any]]) -> list[tuple[list[str], int]]:
        from scantui.plots.timing import render_rows

        out = []
        for scan in scans:
            if get_current_worker().is_cancelled:
                break
            grid = scan_timing(lf, scan, CARD_WIDTH).grid
            head = render_rows(grid, CARD_WIDTH)[:CARD_ROWS]
            out.append((head, max(0, len(grid.sources) - CARD_ROWS)))
        return out

    def _show_cards(self, strips: list[tuple[list[str], int]]) -> None:
        for card, (rows, more) in zip(self.query(ScanCard), strips):
            card.set_strips(rows, more)

    def _show_scan(self) -> None:
        scan = self.scans[self.selected]
        self.timing.border_title = f"per-IP timing · scan {self.selected + 1}/{len(self.scans)} · port {scan.get('port')} · {safe_line(scan.get('day'))}"
        if self.app.state.dataset is None:
            return
        lf, bins = self.app.state.dataset.lf, self.strips_bins
        self.in_thread("detail-timing", lambda: scan_timing(lf, scan, bins), self.show_timing, TIMING_WHAT)

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

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        yield from super().palette_commands()
        yield "detail: next scan", "Show the next scan of the group (right)", lambda: self.action_pick_scan(1)
        yield "detail: previous scan", "Show the previous scan of the group (left)", lambda: self.action_pick_scan(-1)
        yield from self.review_commands()
